"""`make report`: the static site builds, every local link resolves, and Chromium loads every page."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from analysis.pipeline import report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (Path(__file__).resolve().parents[2] / "figures" / "01_missing_chain.png").exists():
        pytest.skip("figures/ not built: run `make figures` first")
    out = tmp_path_factory.mktemp("site")
    report.build_site(out, log=lambda _: None)
    return out


def test_site_has_index_notebooks_api_and_gallery(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert "Claims audit" in index and 'class="gallery"' in index
    assert (site / "api" / "analysis.html").exists()
    assert "A01" in (site / "assumptions.html").read_text()
    assert (site / "notebooks" / "01_missing_children.html").exists()
    assert "figures/01_missing_chain.png" in index


def test_index_opens_with_the_answer_then_headlines_gallery_and_claims(site: Path) -> None:
    index = (site / "index.html").read_text()
    order = [
        index.index(h)
        for h in (
            '<h2 id="verdicts">',
            '<h2 id="headlines">',
            '<h2 id="gallery">',
            '<h2 id="claims">',
        )
    ]
    assert order == sorted(order), "the index must go verdicts, headlines, figures, claims"
    answer = index[order[0] : order[1]]
    assert "<td>contradicted</td>" in answer and "quantitative claims" in answer
    headlines = index[order[1] : order[2]]
    assert 1 <= headlines.count('class="headline"') <= report.HEADLINES
    assert '<img src="figures/' in headlines and 'href="#figure-' in headlines
    gallery = index[order[2] : order[3]]
    n = gallery.count("<figure ")
    assert n == len(list((site / "figures").glob("*.png")))
    numbers = [int(m) for m in re.findall(r"<h3>Figure (\d+)\. ", gallery)]
    assert numbers == list(range(1, n + 1))
    for card in gallery.split("<figure ")[1:]:
        assert 'href="notebooks/' in card and "data (CSV)</a>" in card, card[:200]


def test_figures_are_numbered_in_reading_order(tmp_path: Path) -> None:
    """Notebook number first, then the order the notebook saved them (its stamp)."""
    figures, build, notebooks = tmp_path / "figures", tmp_path / "build", tmp_path / "notebooks"
    for folder in (figures, build / "stamps", notebooks):
        folder.mkdir(parents=True)
    for stem in ("01_first", "02_second"):
        (notebooks / f"{stem}.ipynb").write_text("{}")
    for name in ("01_zeta", "01_alpha", "01_unrecorded", "02_beta", "99_orphan"):
        (figures / f"{name}.png").write_bytes(b"png")
    (figures / "01_zeta.json").write_text(
        json.dumps({"title": "Zeta rises", "caption": "Counts of incidents, 2010-2012."})
    )
    (figures / "01_alpha.json").write_text(json.dumps({"title": "Alpha", "notes": "a note"}))
    saved = {"01_zeta.png": "x", "01_zeta.json": "x", "01_alpha.png": "y"}  # zeta saved first
    (build / "stamps" / "01_first.json").write_text(json.dumps({"outputs": saved}))
    numbered = report.figures_in_reading_order(figures, build, notebooks)
    assert [(f.number, f.png.stem) for f in numbered] == [
        (1, "01_zeta"),
        (2, "01_alpha"),
        (3, "01_unrecorded"),
        (4, "02_beta"),
        (5, "99_orphan"),
    ]
    assert (numbered[0].title, numbered[0].caption) == (
        "Zeta rises",
        "Counts of incidents, 2010-2012.",
    )
    assert numbered[1].caption == "a note" and numbered[2].title == "01_unrecorded"
    assert [f.notebook for f in numbered] == ["01_first"] * 3 + ["02_second", None]


def test_headlines_put_the_strongest_computed_finding_first_one_per_figure() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            ("C1", "corroborated", "computed", "figures/01_a.png"),
            ("C2", "contradicted", "computed", "figures/01_b.png"),
            ("C3", "corroborated_with_caveat", "computed", "figures/01_b.png"),
            ("C4", "contradicted", "typed", "figures/01_c.png"),
            ("C5", "corroborated_with_caveat", "computed", "figures/tables/t.csv"),
        ],
        columns=["claim_id", "verdict", "verdict_method", "output"],
    )
    figs = [report.Figure(i, Path(f"01_{c}.png"), "01_x") for i, c in enumerate("abc", 1)]
    picked = report.headline_findings(frame, figs, limit=3)
    assert [h["claim_id"] for h in picked] == ["C2", "C5", "C1"]  # C3 repeats C2's figure
    assert picked[0]["figure"].number == 2 and picked[1]["figure"] is None


def test_plain_python_link_check(site: Path) -> None:
    assert report.check_links(site) == []


def test_link_check_catches_a_broken_link_and_a_cdn(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '<a href="missing.html">x</a><script src="https://cdn.example.org/x.js"></script>'
    )
    problems = report.check_links(tmp_path)
    assert any("broken link missing.html" in p for p in problems)
    assert any("network" in p for p in problems)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
def test_every_page_loads_in_headless_chromium(site: Path) -> None:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run should have installed it")
        pytest.skip("Debian's chromium is not installed here (CI installs it)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

        def evaluate(script: str):
            # A page may redirect (pdoc's api/index.html does): evaluate on where it lands.
            for _ in range(5):
                try:
                    page.wait_for_load_state("load")
                    return page.evaluate(script)
                except PlaywrightError as err:
                    if "context was destroyed" not in str(err):
                        raise
            raise AssertionError(f"{page.url} kept navigating")

        for path in sorted(site.rglob("*.html")):
            response = page.goto(path.as_uri(), wait_until="load")
            if response is not None and not response.ok:
                problems.append(f"{path.name}: status {response.status}")
            broken = evaluate(
                "Array.from(document.images)"
                ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            problems += [f"{path.relative_to(site)}: broken image {src}" for src in broken]
            links = evaluate(
                "Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
                ".filter(h => h.startsWith('file:'))"
            )
            for href in links:
                target = Path(href.split("#", 1)[0].removeprefix("file://"))
                if not target.exists():
                    problems.append(f"{path.relative_to(site)}: broken link {href}")
        browser.close()
    assert problems == []
