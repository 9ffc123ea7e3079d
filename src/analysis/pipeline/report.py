"""``make report``: a static HTML site that opens from the file system, offline, with no CDN.

The site (``site/``) has:

- ``index.html``: what the project is, the claims audit table, and a gallery of every figure
  linking to the notebook that makes it, its data CSV and its sources;
- ``notebooks/NN_name.html``: each executed notebook (from ``build/notebooks/``, written by
  ``make figures``) with the code hidden, images embedded;
- ``api/``: the API reference generated from the docstrings with pdoc;
- ``figures/``: copies of the PNGs, CSVs and JSON metadata.

:func:`check_links` is the plain-Python link check: every local ``href``/``src`` must resolve to a
file, and no page may load a script, style sheet or image from the network.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from analysis import claims, paths, verdicts

__all__ = [
    "README_END",
    "README_START",
    "add_arguments",
    "build_site",
    "check_links",
    "readme_summary",
    "run",
    "update_readme",
]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2} a{color:#0b5fa5} table{border-collapse:collapse;font-size:.85em;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top} th{background:#f2f2f2}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1.2em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em} .card img{width:100%;height:auto}
.synthetic{color:#b00020;font-weight:bold} nav a{margin-right:1em} pre{overflow-x:auto}
.jp-InputArea,.input{display:none} img{max-width:100%}
"""


def _page(title: str, body: str, *, depth: int = 0) -> str:
    up = "../" * depth
    nav = (
        f'<nav><a href="{up}index.html">Overview</a><a href="{up}index.html#gallery">Figures</a>'
        f'<a href="{up}index.html#claims">Claims audit</a><a href="{up}assumptions.html">Assumptions</a>'
        f'<a href="{up}api/analysis.html">API</a></nav>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}'
        f"</title><style>{CSS}</style></head><body>{nav}\n{body}\n</body></html>\n"
    )


def _notebook_pages(site: Path, build: Path, notebooks: Path) -> dict[str, str]:
    """Render each executed notebook with its code hidden; return stem -> relative URL."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    pages: dict[str, str] = {}
    out = site / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for source in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        executed = build / "notebooks" / source.name
        nb = nbformat.read(executed if executed.exists() else source, as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        note = (
            ""
            if executed.exists()
            else "<p><em>Not yet executed: run <code>make figures</code>.</em></p>"
        )
        (out / f"{source.stem}.html").write_text(
            _page(source.stem, f"<h1>{source.stem}</h1>{note}\n{body}", depth=1), "utf-8"
        )
        pages[source.stem] = f"notebooks/{source.stem}.html"
    return pages


def _claims_table(figures: Path, pages: dict[str, str]) -> str:
    """The audit as a compact table: claim, verdict, and links to its notebook and output."""
    csv_path = figures / "tables" / "claims_audit.csv"
    if not csv_path.exists():
        return "<p>The claims audit has not been built yet: run <code>make figures</code>.</p>"
    import pandas as pd

    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    rows = []
    for r in frame.itertuples():
        notebook = pages.get(r.theme)
        nb_cell = (
            f'<a href="{notebook}">{html.escape(r.theme)}</a>' if notebook else html.escape(r.theme)
        )
        output = r.output.removeprefix("figures/")
        # the site mirrors figures/ (see _gallery and build_site), so the path is the link
        out_cell = (
            f'<a href="{html.escape(r.output)}">{html.escape(output)}</a>'
            if (figures / output).exists()
            else html.escape(output)
        )
        rows.append(
            f"<tr><td>{html.escape(r.claim_id)}</td><td>{html.escape(r.quantity)}: "
            f"<strong>{html.escape(r.stated)}</strong><br><small>{html.escape(r.finding)}</small></td>"
            f"<td>{html.escape(r.verdict)}<br><small>{html.escape(r.verdict_method)}</small></td>"
            f"<td>{nb_cell}</td><td>{out_cell}</td></tr>"
        )
    head = "<tr><th>claim</th><th>what the evidence says, and what the data say</th>"
    head += "<th>verdict</th><th>notebook</th><th>output</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _gallery(site: Path, figures: Path, pages: dict[str, str]) -> str:
    target = site / "figures"
    target.mkdir(parents=True, exist_ok=True)
    cards = []
    for png in sorted(figures.glob("*.png")):
        meta_path = png.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        for path in (png, png.with_suffix(".csv"), meta_path):
            if path.exists():
                shutil.copy2(path, target / path.name)
        prefix = png.stem[:2]
        notebook = next((url for stem, url in pages.items() if stem.startswith(prefix)), None)
        sources = "".join(
            f'<li><a href="{html.escape(s["citation"].rsplit(" ", 1)[-1])}">{html.escape(s["source_id"])}</a>'
            f" {html.escape(s['citation'].rsplit('. ', 1)[0])}</li>"
            for s in meta.get("sources", [])
        )
        label = (
            '<p class="synthetic">Synthetic data, illustrative only</p>'
            if meta.get("synthetic")
            else ""
        )
        links = [
            f'<a href="figures/{png.with_suffix(".csv").name}">data (CSV)</a>',
            f'<a href="figures/{meta_path.name}">metadata (JSON)</a>',
        ]
        if notebook:
            links.insert(0, f'<a href="{notebook}">notebook</a>')
        cards.append(
            f'<div class="card"><a href="figures/{png.name}"><img src="figures/{png.name}" '
            f'alt="{html.escape(meta.get("title") or png.stem)}"></a>'
            f"<h3>{html.escape(meta.get('title') or png.stem)}</h3>{label}<p>{' · '.join(links)}</p>"
            f"{'<ul>' + sources + '</ul>' if sources else ''}</div>"
        )
    return '<div class="gallery">' + "\n".join(cards) + "</div>"


def _api(site: Path) -> None:
    import pdoc

    api = site / "api"
    if api.exists():
        shutil.rmtree(api)
    pdoc.render.configure(
        docformat="numpy", math=False, mermaid=False, search=False, show_source=False
    )
    pdoc.pdoc("analysis", output_directory=api)


def _assumptions(site: Path, source: Path) -> None:
    """Render ``docs/assumptions.md`` (Markdown, via mistune, which nbconvert already needs)."""
    import mistune

    text = source.read_text("utf-8") if source.exists() else "No assumptions log found."
    # the log links to repository files; on the site they are plain text
    body = mistune.html(re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]+\)", r"\1", text))
    (site / "assumptions.html").write_text(_page("Assumptions and caveats", body), "utf-8")


def build_site(site: Path | None = None, *, log=print) -> Path:
    """Build the static report into ``site`` (default ``site/``) and return its index page."""
    root = paths.PROJECT_ROOT
    site = site or root / "site"
    figures = root / "figures"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    log("report: rendering notebooks")
    pages = _notebook_pages(site, root / "build", root / "notebooks")
    log("report: writing the API reference")
    _api(site)
    log("report: writing the index and gallery")
    if (figures / "tables").exists():
        shutil.copytree(figures / "tables", site / "figures" / "tables")
    readme = (root / "README.md").read_text("utf-8")
    intro = readme.split("\n\n", 2)[1] if readme.count("\n\n") > 1 else ""
    intro = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(intro), flags=re.S)
    notebook_list = "".join(f'<li><a href="{url}">{stem}</a></li>' for stem, url in pages.items())
    body = (
        "<h1>Checking the numbers: CEOP's 2012 evidence on localised grooming</h1>"
        f"<p>{intro}</p><h2>Notebooks</h2><ul>{notebook_list}</ul>"
        f'<h2 id="claims">Claims audit</h2>{_claims_table(figures, pages)}'
        f'<h2 id="gallery">Figures</h2>{_gallery(site, figures, pages)}'
    )
    log("report: writing the assumptions log")
    _assumptions(site, root / "docs" / "assumptions.md")
    index = site / "index.html"
    index.write_text(_page("CEOP evidence: claims and data", body), "utf-8")
    return index


_REF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
_REMOTE_ASSET = re.compile(
    r"""<(?:script|img|iframe|source)[^>]+src\s*=\s*["'](?:https?:)?//|<link[^>]+href\s*=\s*["'](?:https?:)?//""",
    re.I,
)


def check_links(site: Path | None = None) -> list[str]:
    """Return broken local links and remote assets in the built site (empty when all is well)."""
    site = site or paths.PROJECT_ROOT / "site"
    problems: list[str] = []
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no pages (run `make report`)"]
    for page in pages:
        text = page.read_text("utf-8", errors="replace")
        if _REMOTE_ASSET.search(text):
            problems.append(f"{page.relative_to(site)}: loads an asset from the network")
        for ref in _REF.findall(text):
            if ref.startswith(("http://", "https://", "mailto:", "data:", "#", "javascript:")):
                continue
            target = ref.split("#", 1)[0].split("?", 1)[0]
            if not target:
                continue
            if not (page.parent / target).resolve().exists():
                problems.append(f"{page.relative_to(site)}: broken link {ref}")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis report``."""
    parser.add_argument("--out", type=Path, default=None, help="output folder (default site/)")
    parser.add_argument("--check", action="store_true", help="only run the link check")


def run(args: argparse.Namespace) -> int:
    """Build the report (unless ``--check``) and run the link check; 0 when every link works."""
    site = args.out or paths.PROJECT_ROOT / "site"
    if not args.check:
        index = build_site(site)
        print(f"report: open {index}")
    problems = check_links(site)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


README_START = "<!-- claims-summary:start -->"
README_END = "<!-- claims-summary:end -->"


# --------------------------------------------------------------------------------------------
# The README's claims summary
# --------------------------------------------------------------------------------------------


def readme_summary(table: pd.DataFrame | None = None) -> str:
    """Return the Markdown summary the README shows between its claims-summary markers.

    Examples
    --------
    >>> "| verdict | claims |" in readme_summary()
    True
    """
    table = verdicts.audit() if table is None else table
    counts = table["verdict"].value_counts()
    computed = int((table["verdict_method"] == "computed").sum())
    lines = [
        f"The evidence makes **{len(table)} quantitative claims**. {computed} verdicts are "
        "computed from the published data by a rule per claim (`src/analysis/verdicts.py`); the "
        f"other {len(table) - computed} are typed, each with a note saying why.",
        "",
        "| verdict | claims | meaning |",
        "|---|---:|---|",
    ]
    for verdict in claims.VERDICTS:
        lines.append(
            f"| {verdict} | {int(counts.get(verdict, 0))} | {claims.VERDICT_MEANING[verdict]} |"
        )
    for verdict, title in (("contradicted", "Contradicted"), ("not_traced", "Not traced")):
        chosen = table[table["verdict"] == verdict]
        lines.append("")
        if chosen.empty:
            lines.append(f"{title}: none.")
            continue
        lines.append(f"{title}:")
        lines.append("")
        for row in chosen.itertuples():
            lines.append(f"- **{row.claim_id}** {row.quantity}: {row.stated}")
    lines += [
        "",
        "Every claim, the notebook that covers it and the output that shows it:",
        "",
        "| claim | what the evidence says (paraphrased) | verdict | notebook | output |",
        "|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        what = f"{row.quantity}: {row.stated}".replace("|", "\\|")
        lines.append(
            f"| {row.claim_id} | {what} | {row.verdict} | `{row.theme}` | `{row.output}` |"
        )
    return "\n".join(lines) + "\n"


def update_readme(path: Path | None = None) -> bool:
    """Rewrite the claims summary between the README's markers; return whether it changed.

    Does nothing (and returns False) if the file or either marker is missing.
    """
    path = Path(path) if path is not None else paths.PROJECT_ROOT / "README.md"
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0 or end < start:
        return False
    new = text[: start + len(README_START)] + "\n" + readme_summary() + text[end:]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True
