"""``make report``: a static HTML site that opens from the file system, offline, with no CDN.

The site (``site/``) has:

- ``index.html``, which opens with the answer: how many claims got each verdict; the few
  headline findings computed from the data, each with its figure as a thumbnail; then every
  figure, numbered (Figure 1 ... N) in the order a reader meets them (notebook number, then
  the order the notebook saved them), each with its caption and links to its notebook, data
  (CSV), metadata (JSON) and sources; then the full claims table;
- ``notebooks/NN_name.html``: each executed notebook (from ``build/notebooks/``, written by
  ``make figures``) with the code hidden, images embedded;
- ``api/``: the API reference generated from the docstrings with pdoc;
- ``figures/``: copies of the PNGs, CSVs and JSON metadata.

The gallery knows no figure by name: it takes every PNG under ``figures/``, its title and
caption from the figure's JSON (``title``, and ``caption`` or else ``notes``), and the save
order from the runner's stamps (:func:`analysis.pipeline.runner.recorded_outputs`).

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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import claims, paths

__all__ = [
    "README_END",
    "README_START",
    "Figure",
    "add_arguments",
    "build_site",
    "check_links",
    "figures_in_reading_order",
    "headline_findings",
    "readme_summary",
    "run",
    "update_readme",
]

#: How many headline findings the index opens with.
HEADLINES = 4

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2} a{color:#0b5fa5} table{border-collapse:collapse;font-size:.85em;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top} th{background:#f2f2f2}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1.2em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em;margin:0} .card img{width:100%;height:auto}
.card h3{font-size:1em;margin:.4em 0} figcaption{font-size:.9em} details{font-size:.9em}
.card li{overflow-wrap:anywhere}
.synthetic{color:#b00020;font-weight:bold} nav a{margin-right:1em} pre{overflow-x:auto}
.verdicts td:nth-child(2){text-align:right;font-weight:bold}
.headlines{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1em}
.headline{display:flex;gap:.8em;border:1px solid #ddd;border-radius:6px;padding:.6em}
.headline>a{flex:0 0 200px} .headline img{width:100%;height:auto} .headline p{margin:.2em 0;font-size:.9em}
.verdict{display:inline-block;padding:0 .4em;border-radius:3px;background:#eee;font-size:.85em}
.jp-InputArea,.input{display:none} img{max-width:100%}
"""


@dataclass
class Figure:
    """One figure of the report: its number, files, notebook and metadata."""

    number: int
    png: Path
    notebook: str | None
    meta: dict = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return f"figure-{self.number}"

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.png.stem)

    @property
    def caption(self) -> str:
        return str(self.meta.get("caption") or self.meta.get("notes") or "")


def figures_in_reading_order(figures: Path, build: Path, notebooks: Path) -> list[Figure]:
    """Number every PNG under ``figures`` in the order a reader meets it.

    Figures follow their notebook's number; within a notebook, the order the notebook saved
    them (recorded by the runner), then any it did not record, by name; figures whose number
    matches no notebook come last.

    Parameters
    ----------
    figures, build, notebooks : Path
        The figures folder, the build folder (stamps) and the notebooks folder.

    Returns
    -------
    list of Figure
        Numbered from 1.
    """
    from analysis.pipeline.runner import recorded_outputs

    stems = sorted(p.stem for p in notebooks.glob("[0-9][0-9]_*.ipynb"))
    pngs = sorted(figures.glob("*.png"))
    ordered: list[tuple[Path, str | None]] = []
    for stem in stems:
        mine = [p for p in pngs if p.name.startswith(stem[:3])]
        saved = list(recorded_outputs(build, stem))
        mine.sort(key=lambda p: (saved.index(p.name) if p.name in saved else len(saved), p.name))
        ordered += [(p, stem) for p in mine]
    taken = {p for p, _ in ordered}
    ordered += [(p, None) for p in pngs if p not in taken]
    result = []
    for number, (png, stem) in enumerate(ordered, start=1):
        meta_path = png.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text("utf-8")) if meta_path.exists() else {}
        except ValueError:
            meta = {}
        result.append(Figure(number, png, stem, meta))
    return result


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


def built_audit(figures: Path | None = None) -> pd.DataFrame | None:
    """The claims audit as notebook 00 wrote it, or None if it has not been built.

    Parameters
    ----------
    figures : Path, optional
        The output folder (default :func:`analysis.paths.output_dir`); the audit is
        ``tables/claims_audit.csv`` inside it.

    Returns
    -------
    pandas.DataFrame or None
        Every column as text, as written (empty cells stay empty strings).
    """
    figures = Path(figures) if figures is not None else paths.output_dir()
    csv_path = figures / "tables" / "claims_audit.csv"
    if not csv_path.exists():
        return None
    return pd.read_csv(csv_path, dtype=str, keep_default_na=False)


def _verdict_label(verdict: str) -> str:
    return verdict.replace("_", " ")


def _verdict_counts(frame) -> str:
    """The answer first: how many claims got each verdict, and how many verdicts are computed."""
    counts = frame["verdict"].value_counts()
    order = [*claims.VERDICTS, *sorted(set(counts.index) - set(claims.VERDICTS))]
    rows = "".join(
        f"<tr><td>{html.escape(_verdict_label(v))}</td><td>{int(counts.get(v, 0))}</td>"
        f"<td>{html.escape(claims.VERDICT_MEANING.get(v, ''))}</td></tr>"
        for v in order
    )
    n = len(frame)
    computed = int((frame["verdict_method"] == "computed").sum())
    lead = (
        f"<p>The evidence makes <strong>{n} quantitative claim{'s' if n != 1 else ''}</strong>. "
        f"{computed} of the verdicts {'is' if computed == 1 else 'are'} computed from the "
        "published data by a rule per claim; the others are typed, each with a note saying "
        "why.</p>"
    )
    head = "<tr><th>verdict</th><th>claims</th><th>meaning</th></tr>"
    return f'{lead}<table class="verdicts">{head}{rows}</table>'


def headline_findings(frame, figures: list[Figure], limit: int = HEADLINES) -> list[dict]:
    """Pick the few findings the report opens with, from the computed verdicts of the audit.

    A computed verdict is one the data decided. The strongest news comes first: contradicted,
    then not traced (the data point elsewhere), then corroborated with a caveat, then
    corroborated; within a verdict, by claim id. Each figure appears once, so the headlines
    show different charts.

    Parameters
    ----------
    frame : pandas.DataFrame
        The claims audit (``figures/tables/claims_audit.csv``).
    figures : list of Figure
        The numbered figures (:func:`figures_in_reading_order`).
    limit : int
        How many findings at most.

    Returns
    -------
    list of dict
        ``claim_id, quantity, stated, verdict, finding, figure`` (a :class:`Figure` or None).
    """
    rank = {"contradicted": 0, "not_traced": 1, "corroborated_with_caveat": 2, "corroborated": 3}
    by_png = {f.png.name: f for f in figures}
    rows = [r for r in frame.to_dict("records") if r.get("verdict_method") == "computed"]
    rows.sort(key=lambda r: (rank.get(r["verdict"], len(rank)), r["claim_id"]))
    chosen: list[dict] = []
    seen: set[str] = set()
    for row in rows:
        figure = by_png.get(Path(row.get("output", "")).name)
        key = figure.png.name if figure is not None else row["claim_id"]
        if key in seen:
            continue
        seen.add(key)
        chosen.append({**row, "figure": figure})
        if len(chosen) == limit:
            break
    return chosen


def _headlines(frame, figures: list[Figure]) -> str:
    cards = []
    for h in headline_findings(frame, figures):
        figure: Figure | None = h["figure"]
        thumb = (
            f'<a href="#{figure.anchor}"><img src="figures/{figure.png.name}" '
            f'alt="Figure {figure.number}: {html.escape(figure.title)}"></a>'
            if figure is not None
            else ""
        )
        see = f' <a href="#{figure.anchor}">Figure {figure.number}</a>' if figure else ""
        cards.append(
            f'<div class="headline">{thumb}<div><p><strong>{html.escape(h["claim_id"])}</strong> '
            f'<span class="verdict">{html.escape(_verdict_label(h["verdict"]))}</span>{see}</p>'
            f"<p>{html.escape(h['quantity'])}</p>"
            f"<p><em>The evidence:</em> {html.escape(h['stated'])}</p>"
            f"<p><em>The data:</em> {html.escape(h['finding'])}</p></div></div>"
        )
    if not cards:
        return "<p>No verdict is computed from the data yet.</p>"
    return '<div class="headlines">' + "\n".join(cards) + "</div>"


def _claims_table(frame, figures: Path, pages: dict[str, str], numbered: list[Figure]) -> str:
    """The audit as a compact table: claim, verdict, and links to its notebook and output."""
    if frame is None:
        return "<p>The claims audit has not been built yet: run <code>make figures</code>.</p>"
    by_png = {f.png.name: f for f in numbered}
    rows = []
    for r in frame.itertuples():
        notebook = pages.get(r.theme)
        nb_cell = (
            f'<a href="{notebook}">{html.escape(r.theme)}</a>' if notebook else html.escape(r.theme)
        )
        output = r.output.removeprefix("figures/")
        figure = by_png.get(output)
        # the site mirrors figures/ (see _gallery and build_site), so the path is the link
        if figure is not None:
            out_cell = f'<a href="#{figure.anchor}">Figure {figure.number}</a>'
        elif (figures / output).exists():
            out_cell = f'<a href="{html.escape(r.output)}">{html.escape(output)}</a>'
        else:
            out_cell = html.escape(output)
        rows.append(
            f"<tr><td>{html.escape(r.claim_id)}</td><td>{html.escape(r.quantity)}: "
            f"<strong>{html.escape(r.stated)}</strong><br><small>{html.escape(r.finding)}</small></td>"
            f"<td>{html.escape(r.verdict)}<br><small>{html.escape(r.verdict_method)}</small></td>"
            f"<td>{nb_cell}</td><td>{out_cell}</td></tr>"
        )
    head = "<tr><th>claim</th><th>what the evidence says, and what the data say</th>"
    head += "<th>verdict</th><th>notebook</th><th>output</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _source_item(source: dict) -> str:
    citation = str(source.get("citation", ""))
    url = citation.rsplit(" ", 1)[-1] if citation.rsplit(" ", 1)[-1].startswith("http") else ""
    text = citation.removesuffix(url).strip() if url else citation
    host = re.sub(r"^https?://(www\.)?", "", url).split("/", 1)[0]
    link = f' <a href="{html.escape(url)}">{html.escape(host)}</a>' if url else ""
    return f"<li>{html.escape(text)}{link}</li>"


def _sources_block(sources: list, items: str) -> str:
    """A figure's sources, folded when there are more than three."""
    if not sources:
        return ""
    n = len(sources)
    if n <= 3:
        return f"<p>Sources:</p><ul>{items}</ul>"
    return f"<details><summary>Sources ({n})</summary><ul>{items}</ul></details>"


def _gallery(site: Path, figures: list[Figure], pages: dict[str, str]) -> str:
    target = site / "figures"
    target.mkdir(parents=True, exist_ok=True)
    cards = []
    for fig in figures:
        png, meta = fig.png, fig.meta
        csv_path, meta_path = png.with_suffix(".csv"), png.with_suffix(".json")
        for path in (png, csv_path, meta_path):
            if path.exists():
                shutil.copy2(path, target / path.name)
        sources = "".join(_source_item(s) for s in meta.get("sources", []))
        label = (
            '<p class="synthetic">Synthetic data, illustrative only</p>'
            if meta.get("synthetic")
            else ""
        )
        links = [
            f'<a href="figures/{path.name}">{what}</a>'
            for path, what in ((csv_path, "data (CSV)"), (meta_path, "metadata (JSON)"))
            if path.exists()
        ]
        notebook = pages.get(fig.notebook or "")
        if notebook:
            links.insert(0, f'<a href="{notebook}">notebook {html.escape(fig.notebook or "")}</a>')
        caption = f"<p>{html.escape(fig.caption)}</p>" if fig.caption else ""
        cards.append(
            f'<figure class="card" id="{fig.anchor}"><a href="figures/{png.name}">'
            f'<img src="figures/{png.name}" alt="Figure {fig.number}: {html.escape(fig.title)}">'
            f"</a><figcaption><h3>Figure {fig.number}. {html.escape(fig.title)}</h3>{caption}"
            f"{label}<p>{' · '.join(links)}</p>"
            f"{_sources_block(meta.get('sources', []), sources)}"
            "</figcaption></figure>"
        )
    if not cards:
        return "<p>No figures yet: run <code>make figures</code>.</p>"
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
    readme = (root / "README.md").read_text("utf-8") if (root / "README.md").exists() else ""
    intro = readme.split("\n\n", 2)[1] if readme.count("\n\n") > 1 else ""
    intro = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(intro), flags=re.S)
    numbered = figures_in_reading_order(figures, root / "build", root / "notebooks")
    frame = built_audit(figures)
    notebook_list = "".join(f'<li><a href="{url}">{stem}</a></li>' for stem, url in pages.items())
    answer = (
        f'<h2 id="verdicts">What the data say</h2>{_verdict_counts(frame)}'
        f'<h2 id="headlines">Headline findings</h2>{_headlines(frame, numbered)}'
        if frame is not None
        else "<p>The claims audit has not been built yet: run <code>make figures</code>.</p>"
    )
    body = (
        "<h1>Checking the numbers: CEOP's 2012 evidence on localised grooming</h1>"
        f"<p>{intro}</p>{answer}"
        f'<h2 id="gallery">Figures</h2>{_gallery(site, numbered, pages)}'
        f'<h2 id="claims">Claims audit</h2>{_claims_table(frame, figures, pages, numbered)}'
        f'<h2 id="notebooks">Notebooks</h2><ul>{notebook_list}</ul>'
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
    """Build the report (unless ``--check``) and run the link check; 0 when every link works.

    ``--check`` prints one line when the site checks out; problems go to stderr, one a line.
    """
    site = args.out or paths.PROJECT_ROOT / "site"
    if not args.check:
        index = build_site(site)
        print(f"report: open {index}")
    problems = check_links(site)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        n = len(problems)
        print(f"report: {n} problem{'s' if n != 1 else ''} in {site}", file=sys.stderr)
        return 1
    if args.check:
        n = len(list(site.rglob("*.html")))
        pages = f"{n} page" if n == 1 else f"{n} pages"
        print(f"report: {site}: {pages}, every local link resolves, nothing from the network")
    return 0


README_START = "<!-- claims-summary:start -->"
README_END = "<!-- claims-summary:end -->"


# --------------------------------------------------------------------------------------------
# The README's claims summary
# --------------------------------------------------------------------------------------------


def readme_summary(table: pd.DataFrame | None = None) -> str:
    """Return the Markdown summary the README shows between its claims-summary markers.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        The claims audit (:func:`analysis.verdicts.audit`, or the table notebook 00 wrote, as
        :func:`built_audit` reads it). Computed afresh when not given.

    Examples
    --------
    >>> "| verdict | claims |" in readme_summary()
    True
    """
    if table is None:
        from analysis import verdicts  # the rules import the statistics stack; only when needed

        table = verdicts.audit()
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


def update_readme(path: Path | None = None, table: pd.DataFrame | None = None) -> bool:
    """Rewrite the claims summary between the README's markers; return whether it changed.

    Does nothing (and returns False) if the file or either marker is missing. ``table`` is the
    claims audit to summarise (see :func:`readme_summary`).
    """
    path = Path(path) if path is not None else paths.PROJECT_ROOT / "README.md"
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0 or end < start:
        return False
    new = text[: start + len(README_START)] + "\n" + readme_summary(table) + text[end:]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True
