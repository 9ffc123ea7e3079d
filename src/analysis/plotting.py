"""House style, captions, synthetic-data marks and deterministic saving of figures and tables.

Every chart the project publishes goes through :func:`save_figure`, which writes, side by side:

- ``NAME.png`` (for the README and the report) and ``NAME.svg`` (for papers), byte-identical when
  rebuilt (no timestamps, a fixed SVG hash salt, no ``Software`` tag);
- ``NAME.csv``: the data behind the chart, so a reader can check a bar without rerunning anything;
- ``NAME.json``: metadata: title, source ids with full citations, whether the data are synthetic.

A figure must say whether it is synthetic (there is no default). Synthetic figures get a visible
"SYNTHETIC DATA, ILLUSTRATIVE ONLY" mark; published-data figures get a "Sources:" footnote built
from the provenance register. Tables go through :func:`save_table` (CSV, Markdown and JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis import paths
from analysis.sources import cite, cite_many
from analysis.tables import atomic_write

__all__ = [
    "PALETTE",
    "SYNTHETIC_LABEL",
    "add_footnote",
    "house_style",
    "mark_synthetic",
    "save_figure",
    "save_table",
    "to_markdown",
    "use_house_style",
    "bar_with_interval",
    "funnel_note",
    "funnel_plot",
    "hex_map",
]

SYNTHETIC_LABEL = "SYNTHETIC DATA, ILLUSTRATIVE ONLY"
#: Colour-blind-safe palette (Okabe-Ito), in the order the charts use it.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
_RC: dict[str, Any] = {
    "figure.figsize": (8.0, 4.8),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
    "legend.frameon": False,
    "svg.hashsalt": "ceop-lcg09",
    "svg.fonttype": "none",  # text stays text: smaller, faster, editable in a paper
    "path.simplify": True,
}


def house_style() -> dict[str, Any]:
    """Return the project's matplotlib rcParams (a copy; nothing is changed)."""
    return dict(_RC)


def use_house_style() -> None:
    """Apply the house style to matplotlib and seaborn (call once at the top of a notebook)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=list(PALETTE))
    plt.rcParams.update(_RC)


def mark_synthetic(fig: Figure, label: str = SYNTHETIC_LABEL) -> None:
    """Stamp a figure with a visible synthetic-data mark (idempotent).

    The mark is a large translucent diagonal label across the figure plus a small red banner in
    the top right corner, so it survives cropping to the plot area.
    """
    if getattr(fig, "_analysis_synthetic_marked", False):
        return
    fig.text(
        0.5,
        0.5,
        label,
        fontsize=26,
        color="#B00020",
        alpha=0.13,
        ha="center",
        va="center",
        rotation=25,
        weight="bold",
        zorder=1000,
    )
    fig.text(
        0.995,
        0.995,
        label.capitalize() if label.isupper() else label,
        fontsize=8,
        color="white",
        ha="right",
        va="top",
        weight="bold",
        bbox={"boxstyle": "square,pad=0.3", "facecolor": "#B00020", "edgecolor": "none"},
        zorder=1001,
    )
    fig._analysis_synthetic_marked = True  # type: ignore[attr-defined]


def add_footnote(fig: Figure, text: str, *, width: int = 130) -> None:
    """Add a wrapped footnote (e.g. sources) under the plot area."""
    import textwrap

    wrapped = "\n".join(textwrap.wrap(text, width=width))
    lines = wrapped.count("\n") + 1
    # Make room under whatever the layout already reserved (tick labels, axis titles).
    height_in = fig.get_size_inches()[1]
    needed = (0.14 * lines + 0.1) / height_in
    fig.subplots_adjust(bottom=min(fig.subplotpars.bottom + needed, 0.6))
    fig.text(0.01, 0.01, wrapped, fontsize=7, color="#444444", ha="left", va="bottom")


def _frame_to_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def _metadata(
    name: str,
    *,
    title: str | None,
    sources: Sequence[str],
    synthetic: bool,
    kind: str,
    notes: str | None,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "title": title or "",
        "synthetic": bool(synthetic),
        "sources": [{"source_id": s, "citation": cite(s)} for s in dict.fromkeys(sources)],
        "notes": notes or "",
    }
    if synthetic:
        meta["label"] = "synthetic data, illustrative only"
    if extra:
        meta.update(extra)
    return meta


def _write_json(meta: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")


def save_figure(
    fig: Figure,
    name: str,
    *,
    data: pd.DataFrame,
    synthetic: bool,
    sources: Iterable[str] = (),
    title: str | None = None,
    notes: str | None = None,
    footnote: bool = True,
    formats: Sequence[str] = ("png", "svg"),
    out_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Save a figure with the data behind it and its metadata, deterministically and atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The chart.
    name : str
        File stem, starting with the notebook's number (``"01_missing_chain"``).
    data : pandas.DataFrame
        The numbers drawn, written to ``NAME.csv``.
    synthetic : bool
        Whether the chart shows synthetic data (required; no default). When true the chart is
        marked :data:`SYNTHETIC_LABEL` and the CSV gains a ``synthetic`` column.
    sources : iterable of str
        Provenance ids of published figures shown; required unless ``synthetic``.
    title, notes : str, optional
        Recorded in the metadata.
    footnote : bool
        Add a "Sources:" footnote built from the register (published data).
    formats : sequence of str
        Image formats to write (``png``, ``svg``, ``pdf``).
    out_dir : Path, optional
        Defaults to :func:`analysis.paths.output_dir` (``figures/``, or the runner's staging folder).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        If a published-data figure names no source, or ``name`` is not prefixed by a number.
    """
    sources = [s for s in sources if s]
    if not synthetic and not sources:
        raise ValueError(f"{name}: a published-data figure must name its sources")
    if not name[:2].isdigit():
        raise ValueError(f"{name}: figure names start with their notebook's number, e.g. '01_...'")
    out = Path(out_dir) if out_dir is not None else paths.output_dir()
    if synthetic:
        mark_synthetic(fig)
    if footnote and sources:
        add_footnote(
            fig,
            "Sources: " + cite_many(sources, style="short") + f". Full citations in {name}.json.",
        )
    written: list[Path] = []
    metadata_by_format = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Producer": None},
    }
    with plt.rc_context({"svg.hashsalt": _RC["svg.hashsalt"]}):
        for fmt in formats:
            target = out / f"{name}.{fmt}"
            atomic_write(
                target,
                lambda tmp, fmt=fmt: fig.savefig(
                    tmp, format=fmt, metadata=metadata_by_format[fmt], bbox_inches=None
                ),
            )
            written.append(target)
    _write_data(
        data,
        out,
        name,
        written,
        kind="figure",
        title=title,
        sources=sources,
        synthetic=synthetic,
        notes=notes,
        extra=extra,
    )
    if "png" in formats:
        _show_saved(fig, out / f"{name}.png")
    return written


def _show_saved(fig: Figure, png: Path) -> None:
    """In a notebook, show the published PNG (footnote and marks included) and close the figure.

    Showing the saved file rather than re-rendering the figure means the notebook, the report
    and ``figures/`` all show the same bytes, and the chart is drawn once, not twice.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        return
    if get_ipython() is None:
        return
    from IPython.display import Image, display

    display(Image(filename=str(png)))
    plt.close(fig)


def save_table(
    table: pd.DataFrame,
    name: str,
    *,
    synthetic: bool,
    sources: Iterable[str] = (),
    title: str | None = None,
    notes: str | None = None,
    out_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Save a table as CSV and Markdown with JSON metadata under ``figures/tables/``.

    Tables built from record-level or returns data must pass through
    :func:`analysis.disclosure.suppress` first; say so in ``notes``.

    Returns
    -------
    list of Path
        The files written.
    """
    sources = [s for s in sources if s]
    if not synthetic and not sources:
        raise ValueError(f"{name}: a published-data table must name its sources")
    out = (Path(out_dir) if out_dir is not None else paths.output_dir()) / "tables"
    written: list[Path] = []
    _write_data(
        table,
        out,
        name,
        written,
        kind="table",
        title=title,
        sources=sources,
        synthetic=synthetic,
        notes=notes,
        extra=extra,
        markdown=True,
    )
    return written


def _write_data(
    data: pd.DataFrame,
    out: Path,
    name: str,
    written: list[Path],
    *,
    kind: str,
    title: str | None,
    sources: Sequence[str],
    synthetic: bool,
    notes: str | None,
    extra: dict[str, Any] | None,
    markdown: bool = False,
) -> None:
    """Write ``NAME.csv`` (and ``NAME.md``), then ``NAME.json`` listing every file written."""
    frame = data.copy()
    if synthetic and "synthetic" not in frame.columns:
        frame["synthetic"] = True
    target = out / f"{name}.csv"
    atomic_write(target, lambda tmp: _frame_to_csv(frame, tmp))
    written.append(target)
    if markdown:
        target = out / f"{name}.md"
        atomic_write(target, lambda tmp: tmp.write_text(to_markdown(frame, title=title), "utf-8"))
        written.append(target)
    meta = _metadata(
        name,
        title=title,
        sources=sources,
        synthetic=synthetic,
        kind=kind,
        notes=notes,
        extra={"files": [p.name for p in written], **(extra or {})},
    )
    target = out / f"{name}.json"
    atomic_write(target, lambda tmp: _write_json(meta, tmp))
    written.append(target)


def to_markdown(frame: pd.DataFrame, *, title: str | None = None) -> str:
    """Render a frame as a GitHub-flavoured Markdown table (no extra dependency).

    Examples
    --------
    >>> print(to_markdown(pd.DataFrame({"a": [1], "b": ["x|y"]})), end="")
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.10g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(cell(c) for c in frame.columns) + " |")
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def bar_with_interval(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    *,
    color: str | Sequence[str] = PALETTE[0],
    horizontal: bool = True,
) -> Axes:
    """Draw bars with optional interval whiskers (for shares with Wilson intervals and the like)."""
    positions = range(len(labels))
    err = None
    if lower is not None and upper is not None:
        err = [
            [v - lo for v, lo in zip(values, lower, strict=True)],
            [hi - v for v, hi in zip(values, upper, strict=True)],
        ]
    if horizontal:
        ax.barh(list(positions), values, xerr=err, color=color, capsize=3)
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
    else:
        ax.bar(list(positions), values, yerr=err, color=color, capsize=3)
        ax.set_xticks(list(positions), labels)
    return ax


def funnel_note(attrs: dict[str, Any] | Any) -> str:
    """One line naming a funnel's limits and over-dispersion, for a chart corner or caption.

    Names the limit method (exact or normal approximation), the over-dispersion test (its
    p-value), phi, tau² and the adjustment applied, from the ``.attrs`` of a funnel table of
    :mod:`analysis.stats`. Empty if ``attrs`` is not from such a table.

    Examples
    --------
    >>> from analysis import stats
    >>> funnel_note(stats.rate_funnel([45, 60, 110], [10_000] * 3).attrs)
    'Exact Poisson limits (PHE); over-dispersion test p = 2.9e-05, phi = 6.97, tau² = 678; no adjustment'
    """
    if "overdispersion" not in attrs:
        return ""
    limits = (
        "Exact Poisson limits (PHE)"
        if attrs.get("limits") == "exact"
        else "Normal-approximation limits"
    )
    applied = attrs["overdispersion"]
    if applied == "multiplicative":
        adjustment = f"limits widened by phi = {attrs['phi_applied']:.3g}"
    elif applied == "additive":
        adjustment = f"limits widened by tau² = {attrs['tau2_applied']:.3g}"
    else:
        adjustment = "no adjustment"
    return (
        f"{limits}; over-dispersion test p = {attrs['overdispersion_p_value']:.2g}, "
        f"phi = {attrs['phi']:.3g}, tau² = {attrs['tau2']:.3g}; {adjustment}"
    )


def funnel_plot(
    funnel_df: pd.DataFrame,
    ax: Axes | None = None,
    *,
    label_col: str | None = None,
    per: float | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a funnel plot from :func:`analysis.stats.proportion_funnel`, ``rate_funnel`` or
    ``ratio_funnel``.

    Draws one point per area, the baseline, and smooth control-limit curves for each level in
    ``funnel_df.attrs["levels"]`` (95% dashed, 99.8% solid by default) computed on a grid of
    denominators with :func:`analysis.stats.funnel_lines`: the same limit method and
    over-dispersion adjustment the table was built with. Points outside the widest limits are
    annotated with their labels. A note in the corner names the limit method, the
    over-dispersion test's p-value, phi, tau² and the adjustment applied.

    Parameters
    ----------
    funnel_df : pandas.DataFrame
        Output of a funnel function of :mod:`analysis.stats` (its ``.attrs`` must be intact).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if omitted.
    label_col : str, optional
        Column holding the area names used for annotations; defaults to the index.
    per : float, optional
        Display scale. For proportion funnels, values are multiplied by ``per`` (``per=100``
        plots percentages); for rate funnels, rates are rescaled from the table's ``per`` to this
        one. Defaults to proportions as fractions and rates per the table's ``per``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    import numpy as np

    from analysis import stats

    attrs = funnel_df.attrs
    kind = attrs.get("funnel_type", "proportion")
    denominator = attrs.get("denominator", "n" if kind == "proportion" else "population")
    value_col = attrs.get("value", "proportion" if kind == "proportion" else "rate")
    levels = tuple(sorted(attrs.get("levels", (0.95, 0.998))))
    baseline = float(attrs.get("baseline", funnel_df["baseline"].iloc[0]))
    table_per = float(attrs.get("per", 1.0))
    if kind == "proportion":
        scale = float(per) if per is not None else 1.0
    else:
        scale = float(per) / table_per if per is not None else 1.0
    shown_per = per if per is not None else (None if kind == "proportion" else table_per)

    if ax is None:
        _, ax = plt.subplots()
    x = funnel_df[denominator].to_numpy(dtype=float)
    y = funnel_df[value_col].to_numpy(dtype=float) * scale
    grid = np.geomspace(max(x.min() * 0.8, 1e-9), x.max() * 1.1, 400)

    styles = ["--", "-", ":", "-."]
    for i, level in enumerate(levels):
        lo, hi = stats.funnel_lines(funnel_df, grid, level)
        style = styles[(i + (len(levels) == 1)) % len(styles)]
        pct = stats.level_text(level)
        ax.plot(grid, np.asarray(lo) * scale, style, color="#555555", lw=1, label=f"{pct} limits")
        ax.plot(grid, np.asarray(hi) * scale, style, color="#555555", lw=1)
    ax.axhline(baseline * scale, color=PALETTE[0], lw=1, label="Baseline (pooled)")

    widest = levels[-1]
    suffix = stats.level_suffix(widest)
    lo_w = funnel_df[f"lower_{suffix}"].to_numpy(dtype=float) * scale
    hi_w = funnel_df[f"upper_{suffix}"].to_numpy(dtype=float) * scale
    outside = (y > hi_w) | (y < lo_w)
    ax.scatter(x[~outside], y[~outside], s=18, color=PALETTE[0], zorder=3, label="Area")
    if outside.any():
        ax.scatter(
            x[outside],
            y[outside],
            s=24,
            color=PALETTE[1],
            zorder=4,
            label=f"Outside {stats.level_text(widest)} limits",
        )
    names = funnel_df[label_col] if label_col is not None else funnel_df.index.to_series()
    for xi, yi, name in zip(x[outside], y[outside], names.to_numpy()[outside], strict=True):
        ax.annotate(str(name), (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)

    xlabels = {"proportion": "Denominator (n)", "ratio": "Expected count"}
    ax.set_xlabel(xlabels.get(kind, "Population"))
    if kind == "proportion":
        ax.set_ylabel("Percentage" if shown_per == 100 else "Proportion")
    elif kind == "ratio":
        ax.set_ylabel("Ratio (observed / expected)")
    else:
        ax.set_ylabel(f"Rate per {shown_per:,.0f}")
    note = funnel_note(attrs)
    if note:
        ax.text(
            0.99,
            0.01,
            note,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#444444",
        )
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return ax


def year_axis(
    ax: Axes,
    years: Iterable[int],
    labels: Callable[[int], str] = str,
    *,
    every_year: bool = False,
) -> None:
    """Label a yearly x axis with one tick per year, e.g. by financial year.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    years : iterable of int
        The years plotted (repeats are fine).
    labels : callable, default str
        Year -> tick label (e.g. :func:`analysis.themes.timeseries.financial_year`).
    every_year : bool, default False
        Tick every year between the first and last, not only the years given.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> year_axis(ax, [2012, 2014], every_year=True)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['2012', '2013', '2014']
    >>> plt.close(fig)
    """
    years = sorted({int(y) for y in years})
    if every_year:
        years = list(range(years[0], years[-1] + 1))
    ax.set_xticks(
        years,
        [labels(y) for y in years],
        rotation=45,
        ha="right",
        fontsize=8,
        rotation_mode="anchor",
    )
    ax.set_xlim(min(years) - 0.6, max(years) + 0.6)


def thousands_axis(ax: Axes, *, ticks: int = 6) -> None:
    """Format the y axis with thousands separators (``12,000``) and about ``ticks`` ticks.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 12000])
    >>> thousands_axis(ax)
    >>> ax.yaxis.get_major_formatter()(12000, 0)
    '12,000'
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_locator(MaxNLocator(ticks))


def hex_map(
    ax: Axes,
    frame: pd.DataFrame,
    *,
    q: str = "q",
    r: str = "r",
    color: str = "color",
    label: str | None = None,
    outline: Iterable[bool] | None = None,
    layout: str = "odd-r",
    fontsize: float = 7,
) -> Axes:
    """Draw a hex cartogram: one hexagon of the same size per area, at HexJSON positions.

    ``q`` (column) and ``r`` (row) are HexJSON offset coordinates; ``layout`` ``odd-r`` or
    ``even-r`` (pointy-topped hexagons, odd or even rows shifted right by half a hexagon), as
    Open Innovations' cartograms use. Rows grow upwards. ``outline`` rings chosen areas in black.
    """
    import math

    import numpy as np
    from matplotlib.patches import RegularPolygon

    if layout not in ("odd-r", "even-r"):
        raise ValueError(f"layout must be odd-r or even-r; got {layout!r}")
    qs, rs = frame[q].to_numpy(dtype=int), frame[r].to_numpy(dtype=int)
    shift = np.where((rs % 2 == 1) == (layout == "odd-r"), 0.5, 0.0)
    xs, ys = qs + shift, rs * math.sqrt(3) / 2
    rings = list(outline) if outline is not None else [False] * len(frame)
    for i, fill in enumerate(frame[color]):
        ax.add_patch(
            RegularPolygon(
                (xs[i], ys[i]), 6, radius=0.56, facecolor=fill, edgecolor="white", lw=0.5
            )
        )
        if rings[i]:
            ax.add_patch(
                RegularPolygon(
                    (xs[i], ys[i]), 6, radius=0.45, fill=False, edgecolor="black", lw=1.4
                )
            )
        if label is not None:
            ax.text(
                xs[i], ys[i], str(frame[label].iloc[i]), ha="center", va="center", fontsize=fontsize
            )
    ax.set_xlim(xs.min() - 0.7, xs.max() + 0.7)
    ax.set_ylim(ys.min() - 0.7, ys.max() + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
