"""`make report`: the static site builds, every local link resolves, and Chromium loads every page."""

from __future__ import annotations

import os
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
