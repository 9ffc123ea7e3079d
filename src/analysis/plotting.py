"""The house style of every chart: one visual language, two sizes, source lines, a figure check.

Every chart the project publishes is made with :func:`figure` and saved with :func:`save_figure`,
which writes, side by side:

- ``NAME.png`` (for the README and the report) and ``NAME.svg`` (for papers; text stays text),
  byte-identical when rebuilt (no timestamps, a fixed SVG hash salt, no ``Software`` tag);
- ``NAME.csv``: the data behind the chart, so a reader can check a point without rerunning anything;
- ``NAME.json``: ``title`` (the finding, the same string as on the chart), ``caption`` (one line),
  ``assumes`` (one line per kind of interval drawn, saying what it assumes), ``source_line`` (the
  short line on the chart), ``sources`` (full citations), ``synthetic``, ``size`` and ``notes``.

**The visual language.**

* :data:`COLORS` is a semantic, colour-blind-safe palette (Okabe and Ito): each colour has one
  meaning on every chart (:data:`MEANINGS`): ``published`` (a published figure), ``claim`` (the
  evidence's claim), ``estimate`` (an estimate or model), ``synthetic`` (synthetic data),
  ``flagged`` (a flagged area), plus ``published_alt``, ``assumption``, ``reference`` and
  ``context``. Verdicts have their own ordered scale, :data:`VERDICT_COLORS`, from corroborated
  (dark green) through the unchecked verdicts (greys) to contradicted (dark red, with its own
  marker), so that "contradicted" cannot be mistaken for anything else.
* Two sizes (:data:`SIZES`): full width (:data:`FULL_WIDTH`, 7 in) and one column
  (:data:`COLUMN_WIDTH`, 3.4 in). Text is at least :data:`MIN_FONT_SIZE` (8 pt) at the saved size.
* The chart's title states the finding and is the JSON ``title``. A short source line
  (:func:`source_line`: producer, title, year, from the provenance register) sits at the foot;
  full citations go in the JSON. Synthetic charts carry :data:`SYNTHETIC_LABEL` as a banner above
  the title and a faint diagonal watermark; published-data charts never do.
* Log axes say so in their label (:func:`log_axis`), bars start at zero on linear axes, and bounds
  or ranges are drawn as ranges (:func:`draw_range`), never as bars.

**The figure check.** :func:`save_figure` lays out the header and footer, runs constrained layout
once the texts are final (as ``savefig`` does), freezes that layout (so every file shows the one checked layout and
no ``savefig`` lays the figure out again), places the point labels, renders the PNG into memory
and runs the checks of :func:`check_figure` on every text that render drew, before writing
anything: every text inside the canvas, no two texts overlapping, no label on the data and no
legend over it, no text under 8 pt, the width one of the two sizes, the synthetic mark present
exactly when the data are synthetic, the chart's title equal to the JSON title, no internal ids
(source ids, figure ids, field names) in any text, log axes labelled as such and bars based at
zero. A violation raises :class:`FigureCheckError` naming the figure and the artist, which fails
the notebook and so the build.

Tables go through :func:`save_table` (CSV, Markdown and JSON).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox
from PIL import Image

from analysis import paths
from analysis.sources import cite, get
from analysis.tables import atomic_write

__all__ = [
    "COLORS",
    "COLUMN_WIDTH",
    "FULL_WIDTH",
    "MEANINGS",
    "MIN_FONT_SIZE",
    "PALETTE",
    "SIGNIFICANCE_SCALE",
    "SIZES",
    "SYNTHETIC_LABEL",
    "VERDICT_COLORS",
    "VERDICT_LABELS",
    "VERDICT_MARKERS",
    "VERDICT_ORDER",
    "FigureCheckError",
    "annotate_points",
    "bar_with_interval",
    "check_figure",
    "draw_interval",
    "draw_range",
    "figure",
    "funnel_note",
    "funnel_plot",
    "hex_map",
    "legend_below",
    "house_style",
    "log_axis",
    "mark_synthetic",
    "percent_axis",
    "save_figure",
    "save_table",
    "source_line",
    "thousands_axis",
    "to_markdown",
    "use_house_style",
    "year_axis",
]

SYNTHETIC_LABEL = "SYNTHETIC DATA, ILLUSTRATIVE ONLY"

#: The Okabe-Ito colour-blind-safe colours. Charts use them through :data:`COLORS`, by meaning;
#: this tuple stays for code that predates the semantic palette.
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

#: The semantic palette: one colour, one meaning, on every chart (see :data:`MEANINGS`).
COLORS: dict[str, str] = {
    "published": "#0072B2",
    "published_alt": "#56B4E9",
    "claim": "#D55E00",
    "estimate": "#009E73",
    "synthetic": "#CC79A7",
    "flagged": "#E69F00",
    "assumption": "#F0E442",
    "reference": "#333333",
    "context": "#A6A6A6",
}
#: What each colour of :data:`COLORS` means, wherever it appears.
MEANINGS: dict[str, str] = {
    "published": "a published figure",
    "published_alt": "a second published series, or a revised value, beside the first",
    "claim": "the evidence's claim: what the 2012 evidence states",
    "estimate": "an estimate, model or derived quantity computed by this project",
    "synthetic": "synthetic data made by the project's seeded generators",
    "flagged": "an area flagged by a funnel plot or a test",
    "assumption": "an assumed value or range (drawn as a fill)",
    "reference": "a reference: no-effect line, baseline, control limits, planted truth",
    "context": "context: comparison groups, areas not flagged, shaded periods",
}
#: Verdicts in order, from the data agreeing to the data disagreeing.
VERDICT_ORDER: tuple[str, ...] = (
    "corroborated",
    "corroborated_with_caveat",
    "self_reported",
    "not_traced",
    "contradicted",
)
#: Verdict colours on an ordered scale (greens, greys, then a dark red no other verdict shares).
VERDICT_COLORS: dict[str, str] = {
    "corroborated": "#1B7837",
    "corroborated_with_caveat": "#A6DBA0",
    "self_reported": "#E0E0E0",
    "not_traced": "#969696",
    "contradicted": "#B2182B",
}
#: Markers that repeat the verdict for readers who cannot tell the colours apart.
VERDICT_MARKERS: dict[str, str] = {
    "corroborated": "o",
    "corroborated_with_caveat": "o",
    "self_reported": "s",
    "not_traced": "s",
    "contradicted": "X",
}
VERDICT_LABELS: dict[str, str] = {
    "corroborated": "corroborated",
    "corroborated_with_caveat": "corroborated, with a caveat",
    "self_reported": "self-reported (cannot be checked)",
    "not_traced": "not traced (no source found)",
    "contradicted": "contradicted",
}
#: Funnel significance on an ordered diverging scale, highest first (orange-purple, colour-blind
#: safe): high at the widest level, high, not significant, low, low at the widest level. Used only
#: on significance maps, where orange (the flagged colour) means flagged high.
SIGNIFICANCE_SCALE: tuple[str, ...] = ("#E66101", "#FDB863", "#EEEEEE", "#B2ABD2", "#5E3C99")
#: Colour of the synthetic-data banner and watermark (a dark shade of ``COLORS["synthetic"]``).
_SYNTHETIC_MARK = "#7B2869"

#: Figure widths in inches: full width and one column.
FULL_WIDTH = 7.0
COLUMN_WIDTH = 3.4
SIZES: dict[str, float] = {"full": FULL_WIDTH, "column": COLUMN_WIDTH}
_DEFAULT_HEIGHT: dict[str, float] = {"full": 4.3, "column": 3.2}
#: The smallest text allowed on a chart, in points at the saved size.
MIN_FONT_SIZE = 8.0
_TITLE_SIZE: dict[str, float] = {"full": 10.5, "column": 9.0}
_FOOT_SIZE = 8.0
_MARGIN_IN = 0.08
_GAP_IN = 0.06

_RC: dict[str, Any] = {
    "figure.figsize": (FULL_WIDTH, _DEFAULT_HEIGHT["full"]),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    # Panel titles sit just above their axes. Left to matplotlib (None), a title's height is
    # worked out again from every tick label in each layout pass and draw, only to move it
    # above tick labels at the top, which house charts do not have.
    "axes.titley": 1.0,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": _TITLE_SIZE["full"],
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(
        color=[COLORS[k] for k in ("published", "published_alt", "estimate", "reference")]
    ),
    "lines.linewidth": 1.5,
    "lines.markersize": 5,
    "legend.frameon": False,
    "svg.hashsalt": "ceop-lcg09",
    "svg.fonttype": "none",  # text stays text: smaller, faster, editable in a paper
    "path.simplify": True,
    # Glyphs are drawn from their outlines, not snapped to the pixel grid: at 200 dpi
    # hinting buys no visible sharpness, and it was about a third of the time spent on text.
    "text.hinting": "no_hinting",
}


def house_style() -> dict[str, Any]:
    """Return the project's matplotlib rcParams (a copy; nothing is changed)."""
    return dict(_RC)


def use_house_style() -> None:
    """Apply the house style to matplotlib and seaborn (call once at the top of a notebook)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=list(PALETTE))
    plt.rcParams.update(_RC)


# --------------------------------------------------------------------------------------------
# Making a figure, and axis helpers
# --------------------------------------------------------------------------------------------


def figure(
    size: str = "full",
    height: float | None = None,
    *,
    nrows: int = 1,
    ncols: int = 1,
    **subplots_kw: Any,
) -> tuple[Figure, Any]:
    """Make a figure at one of the two house sizes, laid out by matplotlib's constrained layout.

    Parameters
    ----------
    size : {"full", "column"}
        Full width (7 in) or one column (3.4 in).
    height : float, optional
        Total height in inches, title and source line included (defaults: 4.3 and 3.2).
    nrows, ncols, **subplots_kw
        Passed to :func:`matplotlib.pyplot.subplots`.

    Returns
    -------
    (Figure, Axes or array of Axes)

    Examples
    --------
    >>> fig, ax = figure("column", 2.8)
    >>> [float(v) for v in fig.get_size_inches()]
    [3.4, 2.8]
    >>> plt.close(fig)
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}; got {size!r}")
    h = float(height) if height is not None else _DEFAULT_HEIGHT[size]
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(SIZES[size], h), layout="constrained", **subplots_kw
    )
    return fig, axes


def percent_axis(ax: Axes, axis: str = "x", decimals: int = 0) -> None:
    """Format a share axis (values in [0, 1]) as percentages."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.{decimals}f}%"))


def log_axis(ax: Axes, axis: str = "x", label: str | None = None) -> None:
    """Put an axis on a log scale, with plain numbers and a label that says "log scale".

    Examples
    --------
    >>> fig, ax = figure()
    >>> log_axis(ax, "x", "children a year")
    >>> ax.get_xlabel(), ax.get_xscale()
    ('children a year (log scale)', 'log')
    >>> plt.close(fig)
    """
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}" if v < 1 else f"{v:,.0f}"))
    # No minor ticks: the house style draws no tick marks and labels only the major ones, so
    # the log locator's eight minor ticks a decade would be built and placed on every draw
    # for nothing.
    target.set_minor_locator(NullLocator())
    text = label if label is not None else target.get_label_text()
    if "log" not in text.lower():
        text = f"{text} (log scale)".strip()
    target.set_label_text(text)


def draw_range(
    ax: Axes,
    position: float,
    low: float,
    high: float,
    *,
    color: str,
    label: str | None = None,
    horizontal: bool = True,
    width: float = 7.0,
    alpha: float = 0.45,
    open_low: bool = False,
    open_high: bool = False,
    zorder: float = 2,
    cap_color: str | None = None,
) -> None:
    """Draw a range (bounds, a span a claim's wording allows, a deterministic range) as a range.

    A thick translucent band between ``low`` and ``high`` with a thin line at each closed end, at
    ``position`` on the other axis. Open ends (a "more than" or "less than" with no second bound)
    get an arrowhead instead of an end line (in ``cap_color`` if given, e.g. for a pale fill
    colour). Never a bar: a range has no base at zero.
    """
    xs, ys = ([low, high], [position, position]) if horizontal else ([position] * 2, [low, high])
    ax.plot(
        xs,
        ys,
        color=color,
        lw=width,
        alpha=alpha,
        solid_capstyle="butt",
        zorder=zorder,
        label=label,
    )
    cap = "|" if horizontal else "_"
    for end, is_open, arrow in (
        (low, open_low, "<" if horizontal else "v"),
        (high, open_high, ">" if horizontal else "^"),
    ):
        x, y = (end, position) if horizontal else (position, end)
        ax.plot(
            [x],
            [y],
            marker=arrow if is_open else cap,
            color=cap_color or color,
            ms=width * 1.1,
            mew=1.4,
            ls="none",
            zorder=zorder + 0.1,
        )


def draw_interval(
    ax: Axes,
    position: float,
    estimate: float,
    low: float,
    high: float,
    *,
    color: str,
    marker: str = "o",
    label: str | None = None,
    horizontal: bool = True,
    filled: bool = True,
    markersize: float = 5.5,
    zorder: float = 3,
) -> None:
    """Draw an estimate with its interval: a point with whiskers and small caps."""
    whisker = [[estimate - low], [high - estimate]]
    where = (
        {"x": [estimate], "y": [position], "xerr": whisker}
        if horizontal
        else {
            "x": [position],
            "y": [estimate],
            "yerr": whisker,
        }
    )
    ax.errorbar(
        **where,
        fmt=marker,
        color=color,
        mfc=color if filled else "white",
        ms=markersize,
        capsize=2.5,
        elinewidth=1.2,
        label=label,
        zorder=zorder,
    )


def legend_below(
    fig: Figure,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    **kwargs: Any,
) -> Any:
    """Put one legend for the whole figure under the plot area, above the source line.

    Without ``handles`` the legend collects the labelled artists of every axes (each label
    once). :func:`save_figure` places it between the axes and the footer.
    """
    if handles is None:
        seen: dict[str, Any] = {}
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab and not lab.startswith("_"):
                    seen.setdefault(lab, h)
        handles, labels = list(seen.values()), list(seen)
    elif labels is None:
        labels = [h.get_label() for h in handles]
    ncols = ncols if ncols is not None else min(len(handles), 3)
    leg = fig.legend(handles, labels, loc="lower center", ncols=ncols, **kwargs)
    leg.set_gid(_GID_LEGEND)
    leg.set_in_layout(False)
    return leg


def _text_box(text: Text, renderer: Any) -> Any:
    """The box of a text's glyphs alone (an annotation's arrow left out), in display pixels."""
    from matplotlib.text import Annotation

    if isinstance(text, Annotation):
        text.update_positions(renderer)
    return Text.get_window_extent(text, renderer)


def _renderer(fig: Figure) -> Any:
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        return canvas.get_renderer()
    return fig._get_renderer()  # type: ignore[attr-defined]  # pragma: no cover


_GID_AUTO = "auto-label"
#: The dpi at which the placement's and the check's pixel tolerances are stated (the house
#: ``figure.dpi``); at another dpi they scale, so they mean the same length on the chart.
_CHECK_DPI = 100.0
_DIRECTIONS = ((1, 1), (1, 0), (1, -1), (0, 1), (0, -1), (-1, 1), (-1, 0), (-1, -1))


def annotate_points(
    ax: Axes,
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    *,
    fontsize: float = 8,
    color: str = "#222222",
    offset: float = 4.0,
) -> list[Text]:
    """Label points without letting labels overlap each other or the data (greedy, 8 directions).

    Each label is tried to the upper right, right, lower right, above, below, upper left, left
    and lower left of its point (``offset`` points away); the first position that overlaps no
    label already placed, no line or marker, and stays inside the axes is kept, else the one
    that overlaps least; farther rings (2.5 to 10 times the offset) are tried next, with a thin
    leader line to the point. The labels are placed by :func:`save_figure` once the figure's
    layout is final (all axes in one pass), so they fit the saved chart; until then they sit to
    the upper right of their points.
    """
    texts = []
    for xi, yi, lab in zip(x, y, labels, strict=True):
        t = ax.annotate(
            str(lab),
            (xi, yi),
            xytext=(offset, offset),
            textcoords="offset points",
            fontsize=fontsize,
            color=color,
            zorder=6,
            gid=_GID_AUTO,
            arrowprops={
                "arrowstyle": "-",
                "color": "#888888",
                "lw": 0.5,
                "shrinkA": 0,
                "shrinkB": 2,
            },
        )
        t.set_in_layout(False)
        t._analysis_offset = offset  # type: ignore[attr-defined]
        texts.append(t)
    return texts


def _place_all_labels(fig: Figure) -> None:
    """Place the automatic labels of every axes against the figure's current (final) layout.

    Needs no draw: the layout engine has positioned the axes and the transforms are live; the
    aspect of fixed-aspect axes is applied first, as a draw would.
    """
    renderer = None
    for ax in fig.axes:
        if any(t.get_gid() == _GID_AUTO for t in ax.texts):
            renderer = renderer or _renderer(fig)
            locator = ax.get_axes_locator()
            ax.apply_aspect(locator(ax, renderer) if locator else None)
            _place_labels(ax, renderer)


def _place_labels(ax: Axes, renderer: Any) -> None:
    """Place the axes' automatic labels greedily (the result does not depend on where they were)."""
    texts = [t for t in ax.texts if t.get_gid() == _GID_AUTO]
    if not texts:
        return
    px = ax.figure.dpi / _CHECK_DPI
    ax_box = ax.get_window_extent(renderer)
    others = [_text_box(t, renderer) for t in ax.texts if t.get_gid() != _GID_AUTO]
    marks = _Marks(ax)
    placed: list[Any] = []
    for t in texts:
        offset = getattr(t, "_analysis_offset", 4.0)
        best, best_cost = None, math.inf
        for dx, dy in [(dx * k, dy * k) for k in (1, 2.5, 4.5, 7, 10) for dx, dy in _DIRECTIONS]:
            t.xyann = (dx * offset, dy * offset)
            t.set_ha("left" if dx > 0 else ("right" if dx < 0 else "center"))
            t.set_va("bottom" if dy > 0 else ("top" if dy < 0 else "center"))
            box = _text_box(t, renderer)
            cost = sum(_overlap_area(box, p) for p in placed + others)
            if marks.hit(_shrink(box, px)):
                cost += box.width * box.height
            if not _inside(box, ax_box, tol=0.5 * px):
                cost += box.width * box.height * 4
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        dx, dy = best
        t.xyann = (dx * offset, dy * offset)
        t.set_ha("left" if dx > 0 else ("right" if dx < 0 else "center"))
        t.set_va("bottom" if dy > 0 else ("top" if dy < 0 else "center"))
        placed.append(_text_box(t, renderer))


def _overlap_area(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _inside(box: Any, outer: Any, tol: float) -> bool:
    return (
        box.x0 >= outer.x0 - tol
        and box.y0 >= outer.y0 - tol
        and box.x1 <= outer.x1 + tol
        and box.y1 <= outer.y1 + tol
    )


# --------------------------------------------------------------------------------------------
# Source lines from the provenance register
# --------------------------------------------------------------------------------------------

#: Short names of producers on the charts' source lines (full names stay in the citations).
_PRODUCER_SHORT: dict[str, str] = {
    "Department for Education": "DfE",
    "Department for Children, Schools and Families": "DCSF",
    "Office for National Statistics": "ONS",
    "Office of the Children's Commissioner": "Children's Commissioner",
    "Child Exploitation and Online Protection Centre": "CEOP",
    "House of Commons Home Affairs Committee": "Home Affairs Committee",
    "Independent Inquiry into Child Sexual Abuse": "IICSA",
    "HM Government": "HM Government",
    "Children and Young People Now": "CYP Now",
}


def _short_producer(producer: str) -> str:
    main = re.split(r"\s*[(;,]|\s+as quoted", producer, maxsplit=1)[0].strip()
    main = re.split(r"\s+/\s+", main, maxsplit=1)[0]
    return _PRODUCER_SHORT.get(main, main)


def _short_title(title: str) -> str:
    text = re.sub(r"\s*[\(\[][^)\]]*[\)\]]", "", title)  # (SFR 27/2010), [LCG 07], (press release)
    text = re.sub(r"\s+year ending 31 March \d{4}", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .,:;")
    return text


def _year(date_published: str) -> str:
    match = re.match(r"(\d{4})", str(date_published).strip())
    return match.group(1) if match else "undated"


def _years_text(years: Sequence[str]) -> str:
    known = sorted({int(y) for y in years if y.isdigit()})
    parts: list[str] = []
    start = prev = None
    for y in known:
        if start is None:
            start = prev = y
        elif y == prev + 1:
            prev = y
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = y
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    if any(not y.isdigit() for y in years):
        parts.append("(undated)")
    return ", ".join(parts)


def source_line(source_ids: Iterable[str], *, prefix: str | None = None) -> str:
    """Return the short source line for a chart: producer, title, year, from the register.

    Sources with the same producer and title (e.g. one DfE release a year) are merged, their
    years condensed (``2009-2013``). Producers are shortened (``DfE``, ``ONS``), bracketed
    details dropped from titles; the full citations stay in the figure's JSON.

    Examples
    --------
    >>> source_line(["SRC-LAC2012"])
    'Source: DfE, Children looked after in England 2012'
    >>> print(source_line(["SRC-LAC2010", "SRC-LAC2011", "SRC-POP0017_2012"]))
    Sources: DfE, Children looked after in England 2010-2011; ONS mid-year population estimates 2012 to 2024
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for sid in dict.fromkeys(s for s in source_ids if s):
        record = get(sid)
        key = (_short_producer(record.producer), _short_title(record.title))
        groups.setdefault(key, []).append(_year(record.date_published))
    items = []
    for (producer, title), years in groups.items():
        lead = "" if title.startswith(producer) else f"{producer}, "
        when = "" if re.search(r"\b(19|20)\d{2}\b", title) else f" {_years_text(years)}"
        items.append(f"{lead}{title}{when}")
    if prefix is None:
        prefix = "Source: " if len(items) == 1 else "Sources: "
    return prefix + "; ".join(items)


# --------------------------------------------------------------------------------------------
# Synthetic mark, header and footer
# --------------------------------------------------------------------------------------------

_GID_TITLE = "figure-title"
_GID_MARK = "synthetic-mark"
_GID_WATERMARK = "synthetic-watermark"
_GID_FOOTER = "figure-footer"
_GID_LEGEND = "legend-below"


def _text_width(renderer: Any, text: str, size: float, weight: str = "normal") -> float:
    prop = FontProperties(family=_RC["font.family"], size=size, weight=weight)
    width, _, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


#: Widths of single words, keyed by (dpi, word, size, weight): only ever used to guess where a
#: line breaks (:func:`_wrap` measures the lines themselves), so a stale entry costs a
#: measurement, never a different wrap.
_WORD_WIDTHS: dict[tuple[float, str, float, str], float] = {}


def _word_width(renderer: Any, word: str, size: float, weight: str) -> float:
    key = (float(renderer.dpi), word, size, weight)
    if key not in _WORD_WIDTHS:
        if len(_WORD_WIDTHS) > 20_000:
            _WORD_WIDTHS.clear()
        _WORD_WIDTHS[key] = _text_width(renderer, word, size, weight)
    return _WORD_WIDTHS[key]


#: How far (pixels) a line's width, guessed as the sum of its words' widths and spaces, may be
#: from the wrap width before :func:`_wrap` measures the line itself. On the house font the
#: guess is exact (kerning does not reach across a space); the margin keeps the wrap exact if
#: another font's guess is off by a little.
_WRAP_MARGIN_PX = 2.0


def _wrap(renderer: Any, text: str, width_px: float, size: float, weight: str = "normal") -> str:
    """Break each paragraph greedily into lines no wider than ``width_px`` (a long word alone).

    The same lines as adding one word at a time and measuring each trial line, since a line
    only grows as words are added, but with few measurements: the sum of the words' widths
    guesses each line's width, and a line is measured only when its guess lies within
    :data:`_WRAP_MARGIN_PX` of ``width_px``, where the guess alone could be wrong.
    """
    space = _word_width(renderer, "x x", size, weight) - _word_width(renderer, "xx", size, weight)
    margin = _WRAP_MARGIN_PX * float(renderer.dpi) / _CHECK_DPI

    def fits(words: Sequence[str], guess: float) -> bool:
        if abs(guess - width_px) > margin:
            return guess < width_px
        return _text_width(renderer, " ".join(words), size, weight) <= width_px

    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        widths = [_word_width(renderer, w, size, weight) for w in words]
        start = 0
        while start < len(words):
            end, guess = start + 1, widths[start]  # the line is words[start:end]
            while end < len(words) and guess + space + widths[end] <= width_px:
                guess += space + widths[end]
                end += 1
            while end > start + 1 and not fits(words[start:end], guess):
                end -= 1
                guess -= space + widths[end]
            while end < len(words) and fits(words[start : end + 1], guess + space + widths[end]):
                guess += space + widths[end]
                end += 1
            lines.append(" ".join(words[start:end]))
            start = end
        if not words:
            lines.append("")
    return "\n".join(lines)


def _remove_gid(fig: Figure, gid: str) -> None:
    for t in list(fig.texts):
        if t.get_gid() == gid:
            t.remove()


def _size_name(fig: Figure) -> str:
    width = float(fig.get_size_inches()[0])
    for name, w in SIZES.items():
        if abs(width - w) < 0.01:
            return name
    return "full" if width > (FULL_WIDTH + COLUMN_WIDTH) / 2 else "column"


def mark_synthetic(
    fig: Figure, label: str = SYNTHETIC_LABEL, *, top_in: float | None = None
) -> float:
    """Stamp a figure with the synthetic-data mark; return the height it takes at the top (in).

    The mark is a banner (white on dark purple, 8 pt bold) at the top left, above the title, and a
    faint diagonal watermark across the plot area so that it survives cropping. Idempotent.
    """
    _remove_gid(fig, _GID_MARK)
    _remove_gid(fig, _GID_WATERMARK)
    width_in, height_in = (float(v) for v in fig.get_size_inches())
    top = height_in - _MARGIN_IN if top_in is None else top_in
    pad_pt = 2.4
    banner = fig.text(
        (_MARGIN_IN + pad_pt / 72) / width_in,
        (top - pad_pt / 72) / height_in,
        label,
        fontsize=8,
        color="white",
        ha="left",
        va="top",
        weight="bold",
        gid=_GID_MARK,
        bbox={
            "boxstyle": f"square,pad={pad_pt / 8:.2f}",
            "facecolor": _SYNTHETIC_MARK,
            "edgecolor": "none",
        },
        zorder=1001,
    )
    banner.set_in_layout(False)
    renderer = _renderer(fig)
    # The watermark spans about 70% of the shorter diagonal, whatever the size of the figure.
    size = (
        10.0
        * 0.7
        * min(width_in, height_in * 2.2)
        * fig.dpi
        / _text_width(renderer, label, 10.0, "bold")
    )
    water = fig.text(
        0.5,
        0.5,
        label,
        fontsize=min(max(size, 9.0), 26.0),
        color=_SYNTHETIC_MARK,
        alpha=0.10,
        ha="center",
        va="center",
        rotation=22,
        weight="bold",
        zorder=1000,
        gid=_GID_WATERMARK,
    )
    water.set_in_layout(False)
    fig._analysis_synthetic_marked = True  # type: ignore[attr-defined]
    return 8 * 1.2 / 72 + 2 * pad_pt / 72 + _GAP_IN


def _finish(
    fig: Figure,
    *,
    title: str,
    synthetic: bool,
    footer: Sequence[str],
) -> None:
    """Lay out the header (synthetic banner, title) and footer (assumptions, source line)."""
    for gid in (_GID_TITLE, _GID_FOOTER):
        _remove_gid(fig, gid)
    size = _size_name(fig)
    width_in, height_in = (float(v) for v in fig.get_size_inches())
    renderer = _renderer(fig)
    width_px = (width_in - 2 * _MARGIN_IN) * fig.dpi
    top = height_in - _MARGIN_IN
    if synthetic:
        top -= mark_synthetic(fig, top_in=top)
    else:
        _remove_gid(fig, _GID_MARK)
        _remove_gid(fig, _GID_WATERMARK)
    title_size = _TITLE_SIZE[size]
    wrapped = _wrap(renderer, title, width_px, title_size, "bold")
    heading = fig.suptitle(
        wrapped,
        x=_MARGIN_IN / width_in,
        y=top / height_in,
        ha="left",
        va="top",
        fontsize=title_size,
        fontweight="bold",
    )
    heading.set_gid(_GID_TITLE)
    heading.set_in_layout(False)
    top -= heading.get_window_extent(renderer).height / fig.dpi + _GAP_IN
    bottom = _MARGIN_IN
    lines = [_wrap(renderer, line, width_px, _FOOT_SIZE) for line in footer if line]
    if lines:
        foot = fig.text(
            _MARGIN_IN / width_in,
            _MARGIN_IN / height_in,
            "\n".join(lines),
            fontsize=_FOOT_SIZE,
            color="#444444",
            ha="left",
            va="bottom",
            gid=_GID_FOOTER,
            linespacing=1.25,
        )
        foot.set_in_layout(False)
        bottom += foot.get_window_extent(renderer).height / fig.dpi + _GAP_IN
    for leg in fig.legends:
        if leg.get_gid() == _GID_LEGEND:
            leg.set_bbox_to_anchor((0.5, bottom / height_in), transform=fig.transFigure)
            bottom += leg.get_window_extent(renderer).height / fig.dpi + _GAP_IN
    engine = fig.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine):
        fig.set_layout_engine("constrained")
        engine = fig.get_layout_engine()
    engine.set(rect=(0.0, bottom / height_in, 1.0, max(top - bottom, 0.5) / height_in))


def _settle(fig: Figure) -> None:
    """Lay the figure out once its texts are final, as a plain ``savefig`` would.

    Only the layout is computed (no artist is drawn). The layout engine runs once (constrained
    layout makes two passes of its own); if an axis label is then longer than its axes it is
    wrapped (:func:`_fit_axis_labels`) and the engine runs once more for the wrapped labels.
    :func:`save_figure` then freezes the result (:func:`_frozen_layout`), so the check and every
    saved file see this one layout, and the check on the rendered PNG catches any text the
    layout left overlapping or outside the figure.
    """
    engine = fig.get_layout_engine()
    if engine is None or not fig.axes:
        return
    for run in range(2):
        try:
            engine.execute(fig)
        except ValueError:  # pragma: no cover - as Figure.draw: a degenerate size
            pass
        if run or not _fit_axis_labels(fig):
            break
    # The layout's solver varies in the last bit from one process to the next (seen in the SVG's
    # clip-path ids); rounding the positions to a billionth of the figure keeps the files
    # byte-identical. set_position would take the axes out of the layout: keep its flag.
    for ax in fig.axes:
        in_layout = ax.get_in_layout()
        bounds = np.round(ax.get_position(original=True).bounds, 9)
        ax.set_position(Bbox.from_bounds(*bounds), which="both")
        ax.set_in_layout(in_layout)


@contextmanager
def _at_dpi(fig: Figure, dpi: float) -> Iterator[None]:
    """Set the figure's dpi while the block runs (sizes in inches and points do not change)."""
    before = fig.dpi
    fig.set_dpi(dpi)
    try:
        yield
    finally:
        fig.set_dpi(before)


@contextmanager
def _frozen_layout(fig: Figure) -> Iterator[None]:
    """Keep the axes where the layout put them: no layout engine while the block runs.

    Without an engine a draw (the check's, each ``savefig``) only draws: it neither re-runs
    constrained layout nor needs the extra layout draw ``savefig`` makes, so the PNG, the SVG
    and the check all show the one settled layout. The engine is restored afterwards.
    """
    engine = fig.get_layout_engine()
    with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    try:
        yield
    finally:
        fig.set_layout_engine(engine)


def _fit_axis_labels(fig: Figure) -> bool:
    """Wrap any axis label longer than its axes onto more lines; return whether one changed."""
    renderer = _renderer(fig)
    changed = False
    for ax in fig.axes:
        if not ax.axison:
            continue
        box = ax.get_window_extent(renderer)
        for label, room in ((ax.xaxis.label, box.width), (ax.yaxis.label, box.height)):
            text = label.get_text()
            if not text:
                continue
            extent = label.get_window_extent(renderer)
            length = extent.width if label is ax.xaxis.label else extent.height
            if length > room * 1.02:
                size = float(label.get_fontsize())
                wrapped = _wrap(renderer, " ".join(text.split()), room * 0.98, size)
                if wrapped != text:
                    label.set_text(wrapped)
                    changed = True
    return changed


# --------------------------------------------------------------------------------------------
# The figure check
# --------------------------------------------------------------------------------------------


class FigureCheckError(ValueError):
    """A chart broke a house rule; the message names the figure, the rule and the artist."""


@dataclass(frozen=True)
class _Drawn:
    artist: Text
    text: str
    corners: np.ndarray  # 4 x 2, pixels
    box: Any  # axis-aligned Bbox

    def describe(self, fig: Figure) -> str:
        snippet = " ".join(self.text.split())
        if len(snippet) > 60:
            snippet = snippet[:57] + "..."
        x, y = self.box.x0 / fig.dpi, self.box.y0 / fig.dpi
        return f"text {snippet!r} at ({x:.2f} in, {y:.2f} in)"


@contextmanager
def _recording_texts() -> Iterator[list[tuple[Text, Any]]]:
    """Collect every text drawn while the block runs (visible, not blank, not transparent)."""
    drawn: list[tuple[Text, Any]] = []
    original = Text.draw

    def recording_draw(self: Text, renderer: Any) -> None:
        original(self, renderer)
        if (
            self.get_visible()
            and self.get_text().strip()
            and (self.get_alpha() is None or self.get_alpha() > 0)
        ):
            drawn.append((self, renderer))

    Text.draw = recording_draw  # type: ignore[method-assign]
    try:
        yield drawn
    finally:
        Text.draw = original  # type: ignore[method-assign]


def _drawn_boxes(drawn: Sequence[tuple[Text, Any]]) -> list[_Drawn]:
    """The box of each recorded text, rotation included, in the pixels it was drawn at."""
    out = []
    for artist, renderer in drawn:
        box = _text_box(artist, renderer)
        angle = float(artist.get_rotation()) % 180
        if min(angle, 180 - angle) < 1e-6 or abs(angle - 90) < 1e-6:
            corners = np.array(
                [[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]]
            )
        else:
            artist.set_rotation(0)
            flat = _text_box(artist, renderer)
            artist.set_rotation(angle)
            w, h = flat.width / 2, flat.height / 2
            t = math.radians(angle)
            rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
            local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]])
            centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
            corners = local @ rot.T + centre
        out.append(_Drawn(artist, artist.get_text(), corners, box))
    return out


def _record_drawn_texts(fig: Figure) -> list[_Drawn]:
    """Draw the figure (no output) and return every text actually drawn, with its box."""
    with _recording_texts() as drawn:
        fig.draw_without_rendering()
    return _drawn_boxes(drawn)


def _polygons_overlap(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Separating-axis test for two convex quadrilaterals, overlapping by more than ``tol`` px."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            norm = np.array([-edge[1], edge[0]])
            length = float(np.hypot(*norm))
            if length == 0:
                continue
            norm = norm / length
            pa, pb = a @ norm, b @ norm
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= tol:
                return False
    return True


@lru_cache(maxsize=1)
def _known_ids() -> frozenset[str]:
    """Figure ids of every published figure (loaded once; empty if the tables cannot be read)."""
    try:
        from analysis import published

        return frozenset(published.load_all()["figure_id"])
    except Exception:  # pragma: no cover - a broken table fails elsewhere, loudly
        return frozenset()


_ID_LIKE = re.compile(r"^[A-Z]{1,}[A-Z0-9]*\d{2,}[A-Z0-9_]*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_ALLOWED_ID = re.compile(r"^SYNF?\d{2,3}$")  # synthetic area and force codes are their names


def _internal_ids(text: str) -> list[str]:
    found = []
    if "SRC-" in text:
        found.append("a source id (SRC-...)")
    known = _known_ids()
    for token in re.findall(r"[A-Za-z0-9_]+", text):
        if _ALLOWED_ID.match(token):
            continue
        if token in known or _ID_LIKE.match(token):
            found.append(f"an internal id ({token})")
        elif _SNAKE.match(token):
            found.append(f"a field name ({token})")
    return found


def _bars_problems(ax: Axes) -> list[str]:
    from matplotlib.container import BarContainer

    problems = []
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    tops: list[tuple[float, float]] = []
    for c in containers:
        for p in c.patches:
            if c.orientation == "horizontal":
                tops.append((round(p.get_y() + p.get_height() / 2, 6), p.get_x() + p.get_width()))
            else:
                tops.append((round(p.get_x() + p.get_width() / 2, 6), p.get_y() + p.get_height()))
    for c in containers:
        horizontal = c.orientation == "horizontal"
        scale = ax.get_xscale() if horizontal else ax.get_yscale()
        if scale != "linear":
            problems.append("bars on a log axis (use a dot plot)")
            continue
        lo, hi = ax.get_xlim() if horizontal else ax.get_ylim()
        if min(lo, hi) > 0 or max(lo, hi) < 0:
            problems.append("a bar axis that does not include zero")
        for p in c.patches:
            pos = round(
                p.get_y() + p.get_height() / 2 if horizontal else p.get_x() + p.get_width() / 2, 6
            )
            base = p.get_x() if horizontal else p.get_y()
            stacked = any(abs(t - base) < 1e-9 and q == pos for q, t in tops)
            if abs(base) > 1e-12 and not stacked:
                problems.append(f"a bar based at {base:g}, not zero (draw a range instead)")
                break
    return problems


def _segments_hit_box(p: np.ndarray, q: np.ndarray, box: Any) -> np.ndarray:
    """Which segments ``p[i]``-``q[i]`` pass through ``box`` (Liang-Barsky clipping, vectorised)."""
    d = q - p
    t0 = np.zeros(len(p))
    t1 = np.ones(len(p))
    missed = np.zeros(len(p), dtype=bool)
    for edge_p, edge_q in (
        (-d[:, 0], p[:, 0] - box.x0),
        (d[:, 0], box.x1 - p[:, 0]),
        (-d[:, 1], p[:, 1] - box.y0),
        (d[:, 1], box.y1 - p[:, 1]),
    ):
        missed |= (edge_p == 0) & (edge_q < 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = edge_q / edge_p
        t0 = np.maximum(t0, np.where(edge_p < 0, t, -np.inf))
        t1 = np.minimum(t1, np.where(edge_p > 0, t, np.inf))
    return ~missed & (t0 <= t1)


def _points_in(box: Any, xy: np.ndarray) -> bool:
    """Whether any point lies in ``box`` or on its edge (as :meth:`Bbox.contains`)."""
    if len(xy) == 0:
        return False
    (x0, x1), (y0, y1) = sorted((box.x0, box.x1)), sorted((box.y0, box.y1))
    x, y = xy[:, 0], xy[:, 1]
    return bool(np.any((x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1)))


def _shrink(box: Any, px: float) -> Any:
    return Bbox.from_extents(box.x0 + px, box.y0 + px, box.x1 - px, box.y1 - px)


class _Marks:
    """The lines, markers, points and bars of an axes in display pixels, to test boxes against.

    Built once for the current layout (the transforms are evaluated here), then
    :meth:`hit` answers for as many boxes as needed: the greedy label placement tries dozens.
    """

    def __init__(self, ax: Axes) -> None:
        from matplotlib.collections import PathCollection
        from matplotlib.container import BarContainer

        px_per_pt = ax.figure.dpi / 72
        #: (description, vertices, whether the line is drawn, marker radius or None)
        self.lines: list[tuple[str, np.ndarray, bool, float | None]] = []
        for line in ax.lines:
            if not line.get_visible():
                continue
            xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy) == 0:
                continue
            drawn_line = (
                line.get_linestyle() not in ("None", "none", "", " ") and line.get_linewidth() > 0
            )
            has_marker = line.get_marker() not in (None, "None", "none", "", " ")
            label = line.get_label()
            what = f"line {label!r}" if label and not label.startswith("_") else "a line"
            radius = line.get_markersize() * px_per_pt / 2 if has_marker else None
            self.lines.append((what, xy, drawn_line, radius))
        #: (points, radius) of each scatter
        self.points: list[tuple[np.ndarray, float]] = []
        for coll in ax.collections:
            if isinstance(coll, PathCollection) and coll.get_visible():
                offsets = coll.get_offset_transform().transform(
                    np.asarray(coll.get_offsets(), dtype=float)
                )
                offsets = offsets[np.isfinite(offsets).all(axis=1)]
                sizes = coll.get_sizes()
                r = math.sqrt(float(sizes.max()) if len(sizes) else 0.0) * px_per_pt / 2
                self.points.append((offsets, r))
        extents = [
            patch.get_window_extent().extents
            for container in ax.containers
            if isinstance(container, BarContainer)
            for patch in container.patches
            if patch.get_visible() and patch.get_width() and patch.get_height()
        ]
        bars = np.array(extents, dtype=float).reshape(-1, 4)
        #: each bar as (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1
        self.bars = np.column_stack(
            [
                np.minimum(bars[:, 0], bars[:, 2]),
                np.minimum(bars[:, 1], bars[:, 3]),
                np.maximum(bars[:, 0], bars[:, 2]),
                np.maximum(bars[:, 1], bars[:, 3]),
            ]
        )

    def hit(self, box: Any) -> str | None:
        """Describe the first line, marker, point or bar that enters ``box`` (display pixels)."""
        for what, xy, drawn_line, radius in self.lines:
            if drawn_line and len(xy) > 1 and _segments_hit_box(xy[:-1], xy[1:], box).any():
                return what
            if radius is not None and _points_in(_shrink(box, -radius), xy):
                return f"a marker of {what}"
        for offsets, radius in self.points:
            if _points_in(_shrink(box, -radius), offsets):
                return "a point"
        if len(self.bars):
            (x0, x1), (y0, y1) = sorted((box.x0, box.x1)), sorted((box.y0, box.y1))
            b = self.bars
            if np.any((b[:, 0] <= x1) & (x0 <= b[:, 2]) & (b[:, 1] <= y1) & (y0 <= b[:, 3])):
                return "a bar"
        return None


def check_figure(fig: Figure, *, name: str, title: str, synthetic: bool) -> list[str]:
    """Check a figure against the house rules; return the problems (empty when it passes).

    Run on the figure object itself after layout: it draws the figure once and inspects every
    text actually drawn. (:func:`save_figure` runs the same checks on the texts its PNG render
    drew, with the pixel tolerances scaled from 100 dpi to the PNG's dpi.)

    Rules: every text lies inside the canvas; no two texts overlap (the diagonal synthetic
    watermark excepted); no label placed on an axes (``ax.text``, ``ax.annotate``) sits on a
    line, marker or bar of that axes (give a deliberate label on a bar ``gid="over-data"``), and
    no axes legend covers one; no text is smaller than :data:`MIN_FONT_SIZE`; the width is
    :data:`FULL_WIDTH` or :data:`COLUMN_WIDTH`; a synthetic figure carries the mark and a
    published-data one does not; the chart's title equals ``title``; no text holds a source id,
    a figure id or a field name; a log axis says "log" in its label; bars start at zero on a
    linear axis and never sit on a log axis.

    Parameters
    ----------
    fig : Figure
    name : str
        The figure's file stem, used in the messages.
    title : str
        The title recorded in the JSON.
    synthetic : bool
        Whether the figure shows synthetic data.

    Returns
    -------
    list of str
        One message per problem, each naming the figure and the artist.
    """
    return _check_drawn(fig, _record_drawn_texts(fig), name=name, title=title, synthetic=synthetic)


def _check_drawn(
    fig: Figure, drawn: Sequence[_Drawn], *, name: str, title: str, synthetic: bool
) -> list[str]:
    """:func:`check_figure` on texts already drawn (by a draw at the figure's current dpi).

    Tolerances are stated in pixels at :data:`_CHECK_DPI` and scaled to the figure's dpi, so
    the check means the same whether it sees the 100 dpi figure or the 200 dpi PNG render.
    """
    px = fig.dpi / _CHECK_DPI
    problems: list[str] = []
    width, height = (float(v) for v in fig.get_size_inches())
    if not any(abs(width - w) < 0.01 for w in SIZES.values()):
        problems.append(
            f"{name}: width {width:.2f} in is neither full width ({FULL_WIDTH} in) nor one column "
            f"({COLUMN_WIDTH} in)"
        )
    canvas = fig.bbox
    body = [d for d in drawn if d.artist.get_gid() != _GID_WATERMARK]
    for d in drawn:
        size = float(d.artist.get_fontsize())
        if size < MIN_FONT_SIZE - 1e-9:
            problems.append(f"{name}: {d.describe(fig)} is {size:g} pt, under {MIN_FONT_SIZE:g} pt")
        xs, ys = d.corners[:, 0], d.corners[:, 1]
        if (
            xs.min() < -px
            or ys.min() < -px
            or xs.max() > canvas.width + px
            or ys.max() > canvas.height + px
        ):
            problems.append(f"{name}: {d.describe(fig)} runs outside the canvas")
        if d.artist.get_gid() not in (_GID_MARK, _GID_WATERMARK):
            for what in _internal_ids(d.text):
                problems.append(f"{name}: {d.describe(fig)} shows {what}")
    for i, a in enumerate(body):
        for b in body[i + 1 :]:
            if (
                a.box.x1 < b.box.x0
                or b.box.x1 < a.box.x0
                or a.box.y1 < b.box.y0
                or b.box.y1 < a.box.y0
            ):
                continue
            if _polygons_overlap(a.corners, b.corners, tol=px):
                problems.append(f"{name}: {a.describe(fig)} overlaps {b.describe(fig)}")
    for k, ax in enumerate(fig.axes, start=1):
        marks = _Marks(ax)
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent()
            if box.overlaps(ax.get_window_extent()):
                hit = marks.hit(_shrink(box, 2.0 * px))
                if hit:
                    problems.append(f"{name}: axes {k}: the legend covers {hit}")
        placed = {id(t) for t in ax.texts}
        for d in drawn:
            if id(d.artist) in placed and d.artist.get_gid() not in ("over-data",):
                hit = marks.hit(_shrink(d.box, 1.5 * px))
                if hit:
                    problems.append(f"{name}: axes {k}: {d.describe(fig)} sits on {hit}")
    marks = [d for d in drawn if d.artist.get_gid() == _GID_MARK]
    if synthetic and not marks:
        problems.append(f"{name}: synthetic figure without the synthetic-data mark")
    if not synthetic:
        for d in drawn:
            if (
                d.artist.get_gid() in (_GID_MARK, _GID_WATERMARK)
                or SYNTHETIC_LABEL.lower() in d.text.lower()
            ):
                problems.append(
                    f"{name}: published-data figure carries the synthetic mark ({d.describe(fig)})"
                )
    shown = fig.get_suptitle() if hasattr(fig, "get_suptitle") else fig._suptitle.get_text()
    if " ".join(shown.split()) != " ".join((title or "").split()):
        problems.append(f"{name}: chart title {shown!r} differs from the JSON title {title!r}")
    for k, ax in enumerate(fig.axes, start=1):
        if not ax.axison:
            continue
        for axis, scale in (("x", ax.get_xscale()), ("y", ax.get_yscale())):
            label = (ax.get_xlabel() if axis == "x" else ax.get_ylabel()).lower()
            if scale == "log" and "log" not in label:
                problems.append(
                    f"{name}: axes {k}: log {axis} axis whose label does not say so ({label!r})"
                )
        problems += [f"{name}: axes {k}: {p}" for p in _bars_problems(ax)]
    return problems


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def _frame_to_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def _metadata(name: str, record: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of a figure or table: ``record`` holds its ``kind``, ``title``, ``sources``,
    ``synthetic`` and ``notes``; ``extra`` fields are added as they are (and win)."""
    meta: dict[str, Any] = {
        "name": name,
        "kind": record["kind"],
        "title": record["title"] or "",
        "synthetic": bool(record["synthetic"]),
        "sources": [
            {"source_id": s, "citation": cite(s)} for s in dict.fromkeys(record["sources"])
        ],
        "notes": record["notes"] or "",
    }
    if record["synthetic"]:
        meta["label"] = "synthetic data, illustrative only"
    meta.update(extra)
    return meta


def _write_json(meta: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")


#: What a synthetic chart's source line says when it cites no published figure.
SYNTHETIC_SOURCE = (
    "Source: synthetic data made by the project's seeded generator; no real place or person"
)


#: zlib level of the PNGs: for these charts level 3 writes smaller files than the default 6,
#: in about two thirds of the time.
_PNG_COMPRESS_LEVEL = 3


def save_figure(
    fig: Figure,
    name: str,
    *,
    data: pd.DataFrame,
    synthetic: bool,
    sources: Iterable[str] = (),
    title: str | None = None,
    caption: str | None = None,
    assumes: Sequence[str] | Mapping[str, str] = (),
    notes: str | None = None,
    source_text: str | None = None,
    footnote: bool = True,
    formats: Sequence[str] = ("png", "svg"),
    out_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
    check: bool = True,
) -> list[Path]:
    """Lay out, check and save a figure with the data behind it and its metadata.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The chart, made with :func:`figure` (full width or one column).
    name : str
        File stem, starting with the notebook's number (``"01_missing_chain"``).
    data : pandas.DataFrame
        The numbers drawn, written to ``NAME.csv``.
    synthetic : bool
        Whether the chart shows synthetic data (required; no default). When true the chart is
        marked :data:`SYNTHETIC_LABEL` and the CSV gains a ``synthetic`` column.
    sources : iterable of str
        Provenance ids of published figures shown; required unless ``synthetic``.
    title : str
        The finding, drawn as the chart's title and recorded as the JSON ``title``. Required;
        if the figure already has a figure title (``fig.suptitle``) it must be the same string.
    caption : str, optional
        One line for the report under "Figure N".
    assumes : sequence of str, or mapping of interval name to assumption
        One line per kind of interval on the chart saying what it assumes (e.g. ``"Wilson 95%
        interval: treats the 100 LSCBs as a random sample of England's"``). Drawn in the
        footer above the source line and recorded as the JSON ``assumes``.
    notes : str, optional
        Longer notes, recorded in the JSON only.
    source_text : str, optional
        Replaces the source line built by :func:`source_line`.
    footnote : bool
        Draw the source line (and the assumptions) at the foot of the chart.
    formats : sequence of str
        Image formats to write (``png``, ``svg``, ``pdf``).
    out_dir : Path, optional
        Defaults to :func:`analysis.paths.output_dir` (``figures/``, or the runner's staging folder).
    extra : dict, optional
        More JSON fields.
    check : bool
        Run :func:`check_figure` and refuse to save a figure that breaks a house rule.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        If a published-data figure names no source, ``name`` is not prefixed by a number, or
        no title is given.
    FigureCheckError
        If the figure breaks a house rule (the message names the figure and each artist).
    """
    sources = [s for s in sources if s]
    if not synthetic and not sources:
        raise ValueError(f"{name}: a published-data figure must name its sources")
    if not name[:2].isdigit():
        raise ValueError(f"{name}: figure names start with their notebook's number, e.g. '01_...'")
    existing = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if getattr(fig, "_analysis_finished_title", None) == existing:
        existing = ""
    if title is None:
        if not existing:
            raise ValueError(f"{name}: a figure needs a title stating its finding")
        title = " ".join(existing.split())
    elif existing and " ".join(existing.split()) != " ".join(title.split()):
        raise FigureCheckError(
            f"{name}: chart title {existing!r} differs from the JSON title {title!r}"
        )
    assumptions = (
        [f"{k}: {v}" for k, v in assumes.items()] if isinstance(assumes, Mapping) else list(assumes)
    )
    if source_text is None:
        source_text = source_line(sources) if sources else SYNTHETIC_SOURCE
    footer = [*assumptions, source_text] if footnote else []
    out = Path(out_dir) if out_dir is not None else paths.output_dir()
    written: list[Path] = []
    # (the PNG is encoded by _render_png, with no text chunks)
    metadata_by_format = {
        "svg": {"Date": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Producer": None},
    }
    dpi = matplotlib.rcParams["savefig.dpi"]
    dpi = fig.dpi if dpi == "figure" else float(dpi)
    # The whole save runs at the PNG's dpi: the layout then measures its texts with the renderer
    # the PNG is drawn with, so the draw finds every measurement in matplotlib's text cache.
    with (
        plt.rc_context({"svg.hashsalt": _RC["svg.hashsalt"], "svg.fonttype": "none"}),
        _at_dpi(fig, dpi),
    ):
        _finish(fig, title=title, synthetic=synthetic, footer=footer)
        fig._analysis_finished_title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""  # type: ignore[attr-defined]
        _settle(fig)
        with _frozen_layout(fig):
            _place_all_labels(fig)
            rendered: dict[str, bytes] = {}
            problems: list[str] = []
            if "png" in formats:
                with _recording_texts() as recorded:
                    png = _render_png(fig, dpi)
                if check:
                    problems = _check_drawn(
                        fig, _drawn_boxes(recorded), name=name, title=title, synthetic=synthetic
                    )
                rendered["png"] = png
            elif check:
                problems = check_figure(fig, name=name, title=title, synthetic=synthetic)
            if problems:
                raise FigureCheckError(
                    f"{name}: the figure check failed ({len(problems)} problem"
                    f"{'s' if len(problems) > 1 else ''}):\n  " + "\n  ".join(problems)
                )
            for fmt in formats:
                target = out / f"{name}.{fmt}"
                if fmt in rendered:
                    atomic_write(target, lambda tmp, data=rendered[fmt]: tmp.write_bytes(data))
                else:
                    atomic_write(
                        target,
                        lambda tmp, fmt=fmt: fig.savefig(
                            tmp, format=fmt, metadata=metadata_by_format[fmt], bbox_inches=None
                        ),
                    )
                written.append(target)
    width_in, height_in = (float(v) for v in fig.get_size_inches())
    figure_meta = {
        "caption": caption or "",
        "assumes": assumptions,
        "source_line": source_text if footnote else "",
        "size": _size_name(fig),
        "width_in": round(width_in, 3),
        "height_in": round(height_in, 3),
    }
    record = dict(kind="figure", title=title, sources=sources, synthetic=synthetic, notes=notes)
    _write_data(data, out, name, written, record, {**figure_meta, **(extra or {})})
    if "png" in formats:
        _show_saved(fig, out / f"{name}.png")
    return written


class _RawSink:
    """A write-only "file" that keeps what ``savefig(format="raw")`` writes, without copying.

    Agg writes its canvas as one block (the renderer's RGBA buffer); keeping a view of it
    instead of copying it into a ``BytesIO`` saves two passes over some five megabytes a chart.
    """

    def __init__(self) -> None:
        self.blocks: list[memoryview] = []

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.blocks.append(view)
        return view.nbytes

    def seek(self, *args: Any) -> int:  # matplotlib takes an object with ``seek`` for a file
        return 0

    def pixels(self, width: int) -> np.ndarray:
        """The canvas as a (rows, ``width``, 4) array of RGBA bytes, sharing its memory.

        Agg's buffer carries its shape; any other write (several blocks, flat bytes, another
        width than the figure's) is refused rather than read skewed.
        """
        if len(self.blocks) != 1 or self.blocks[0].shape[1:] != (width, 4):
            shapes = [block.shape for block in self.blocks]
            raise ValueError(f"expected one canvas {width} pixels wide from Agg, got {shapes}")
        return np.asarray(self.blocks[0])


def _render_png(fig: Figure, dpi: float) -> bytes:
    """Draw the figure at ``dpi`` with Agg and encode it as PNG, in RGB when it is opaque.

    ``savefig`` would write the same pixels as RGBA; a chart on an opaque background has no
    use for the alpha channel, and without it the file is smaller and quicker to encode. The
    PNG carries the dpi (its pHYs chunk) and, as ``metadata={"Software": None}`` asks of
    ``savefig``, no text chunks, so the bytes depend on the pixels alone.
    """
    sink = _RawSink()
    fig.savefig(sink, format="raw", dpi=dpi, bbox_inches=None)
    width = int(fig.bbox.width)  # the figure is at ``dpi`` here, as Agg sized its canvas
    image = Image.fromarray(sink.pixels(width))  # RGBA, sharing the canvas's memory
    if image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # opaque: drop alpha in one pass (no strided copy)
    out = io.BytesIO()
    image.save(out, format="png", dpi=(dpi, dpi), compress_level=_PNG_COMPRESS_LEVEL)
    return out.getvalue()


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
    record = dict(kind="table", title=title, sources=sources, synthetic=synthetic, notes=notes)
    _write_data(table, out, name, written, record, extra or {}, markdown=True)
    return written


def _write_data(
    data: pd.DataFrame,
    out: Path,
    name: str,
    written: list[Path],
    record: Mapping[str, Any],
    extra: Mapping[str, Any],
    *,
    markdown: bool = False,
) -> None:
    """Write ``NAME.csv`` (and ``NAME.md``), then ``NAME.json`` listing every file written.

    ``record`` and ``extra`` are the JSON's fields, as :func:`_metadata` takes them.
    """
    title = record["title"]
    frame = data.copy()
    if record["synthetic"] and "synthetic" not in frame.columns:
        frame["synthetic"] = True
    target = out / f"{name}.csv"
    atomic_write(target, lambda tmp: _frame_to_csv(frame, tmp))
    written.append(target)
    if markdown:
        target = out / f"{name}.md"
        atomic_write(target, lambda tmp: tmp.write_text(to_markdown(frame, title=title), "utf-8"))
        written.append(target)
    meta = _metadata(name, record, {"files": [p.name for p in written], **extra})
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


# --------------------------------------------------------------------------------------------
# Chart helpers shared by the notebooks
# --------------------------------------------------------------------------------------------


def bar_with_interval(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    *,
    color: str | Sequence[str] = COLORS["published"],
    horizontal: bool = True,
) -> Axes:
    """Draw bars from zero with optional interval whiskers (shares with Wilson intervals etc.)."""
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
    # Spiegelhalter's adjustments widen a normal approximation, whatever the unadjusted limits.
    if applied == "multiplicative":
        limits = "Normal-approximation limits"
        adjustment = f"limits widened by phi = {attrs['phi_applied']:.3g}"
    elif applied == "additive":
        limits = "Normal-approximation limits"
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
    point_color: str = COLORS["published"],
    label_outliers: bool = True,
    legend: bool = True,
    note: bool = True,
    log_x: bool = False,
    max_labels: int | None = None,
    label_side: str = "both",
) -> Axes:
    """Draw a funnel plot from :func:`analysis.stats.proportion_funnel`, ``rate_funnel`` or
    ``ratio_funnel``.

    Draws one point per area, the baseline, and smooth control-limit curves for each level in
    ``funnel_df.attrs["levels"]`` (95% dashed, 99.8% solid by default) computed on a grid of
    denominators with :func:`analysis.stats.funnel_lines`: the same limit method and
    over-dispersion adjustment the table was built with. Points outside the widest limits are
    drawn in ``COLORS["flagged"]`` and labelled without overlap (:func:`annotate_points`). With
    ``note`` a line in the corner names the limit method, the over-dispersion test's p-value,
    phi, tau² and the adjustment applied (:func:`funnel_note`); where it would crowd the points,
    pass ``note=False`` and give :func:`funnel_note` to :func:`save_figure`'s ``assumes``.

    Parameters
    ----------
    funnel_df : pandas.DataFrame
        Output of a funnel function of :mod:`analysis.stats` (its ``.attrs`` must be intact).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new full-width figure is made if omitted.
    label_col : str, optional
        Column holding the area names used for annotations; defaults to the index.
    per : float, optional
        Display scale. For proportion funnels, values are multiplied by ``per`` (``per=100``
        plots percentages); for rate funnels, rates are rescaled from the table's ``per`` to this
        one. Defaults to proportions as fractions and rates per the table's ``per``.
    title : str, optional
        Axes (panel) title.
    point_color : str
        Colour of the areas within the limits: ``COLORS["published"]`` for real areas,
        ``COLORS["synthetic"]`` for synthetic ones.
    label_outliers, legend, note : bool
        Label the points outside the widest limits; draw the axes legend; draw the method note.
    log_x : bool
        Put the denominator on a log axis (before the labels are placed).
    max_labels : int, optional
        Label only this many of the points outside the widest limits, the farthest beyond them
        first (a crowded funnel of real areas).
    label_side : {"both", "high", "low"}
        Which outliers to label (all are drawn in the flagged colour).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
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
        _, ax = figure("full")
    x = funnel_df[denominator].to_numpy(dtype=float)
    y = funnel_df[value_col].to_numpy(dtype=float) * scale
    grid = np.geomspace(max(x.min() * 0.8, 1e-9), x.max() * 1.1, 400)

    styles = ["--", "-", ":", "-."]
    for i, level in enumerate(levels):
        lo, hi = stats.funnel_lines(funnel_df, grid, level)
        style = styles[(i + (len(levels) == 1)) % len(styles)]
        pct = stats.level_text(level)
        ax.plot(
            grid,
            np.asarray(lo) * scale,
            style,
            color=COLORS["reference"],
            lw=0.9,
            label=f"{pct} limits",
        )
        ax.plot(grid, np.asarray(hi) * scale, style, color=COLORS["reference"], lw=0.9)
    ax.axhline(
        baseline * scale,
        color=COLORS["reference"],
        lw=0.7,
        ls=(0, (1, 2)),
        label="Baseline (pooled)",
    )

    widest = levels[-1]
    suffix = stats.level_suffix(widest)
    lo_w = funnel_df[f"lower_{suffix}"].to_numpy(dtype=float) * scale
    hi_w = funnel_df[f"upper_{suffix}"].to_numpy(dtype=float) * scale
    outside = (y > hi_w) | (y < lo_w)
    ax.scatter(
        x[~outside], y[~outside], s=14, color=point_color, alpha=0.8, zorder=3, lw=0, label="Area"
    )
    if outside.any():
        ax.scatter(
            x[outside],
            y[outside],
            s=22,
            color=COLORS["flagged"],
            edgecolor="#222222",
            lw=0.5,
            zorder=4,
            label=f"Outside {stats.level_text(widest)} limits",
        )
    xlabels = {"proportion": "Denominator (n)", "ratio": "Expected count"}
    ax.set_xlabel(xlabels.get(kind, "Population"))
    if log_x:
        log_axis(ax, "x")
    if label_outliers and outside.any():
        names = funnel_df[label_col] if label_col is not None else funnel_df.index.to_series()
        side = {"both": outside, "high": y > hi_w, "low": y < lo_w}[label_side]
        chosen = np.flatnonzero(side)
        if max_labels is not None and len(chosen) > max_labels:
            base = baseline * scale
            beyond = np.where(
                y > hi_w,
                (y - base) / np.maximum(hi_w - base, 1e-12),
                (base - y) / np.maximum(base - lo_w, 1e-12),
            )
            chosen = chosen[np.argsort(-beyond[chosen], kind="stable")[:max_labels]]
        annotate_points(ax, x[chosen], y[chosen], [str(n) for n in names.to_numpy()[chosen]])

    if kind == "proportion":
        ax.set_ylabel("Percentage" if shown_per == 100 else "Proportion")
    elif kind == "ratio":
        ax.set_ylabel("Ratio (observed / expected)")
    else:
        ax.set_ylabel(f"Rate per {shown_per:,.0f}")
    text = funnel_note(attrs) if note else ""
    if text:
        ax.text(
            0.99,
            0.01,
            text,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#444444",
        )
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best")
    return ax


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
    text_color: str | Sequence[str] = "#222222",
    fontsize: float = 8,
) -> Axes:
    """Draw a hex cartogram: one equal-sized hexagon per area, at HexJSON positions.

    Positions follow the HexJSON convention of Open Innovations' hex cartograms: column ``q`` and
    row ``r`` in offset coordinates, ``layout`` one of ``odd-r``/``even-r`` (pointy-topped rows,
    odd or even rows shifted right by half a hexagon) or ``odd-q``/``even-q`` (flat-topped
    columns). Row numbers grow upwards, as in HexJSON.

    Parameters
    ----------
    ax : Axes
    frame : pandas.DataFrame
        One row per area with ``q``, ``r`` and ``color`` columns (and ``label`` if given).
    outline : iterable of bool, optional
        Areas drawn with a thick black outline (e.g. planted hotspots).
    """
    from matplotlib.patches import RegularPolygon

    if layout not in ("odd-r", "even-r", "odd-q", "even-q"):
        raise ValueError(f"layout must be odd-r, even-r, odd-q or even-q; got {layout!r}")
    qs, rs = frame[q].to_numpy(dtype=int), frame[r].to_numpy(dtype=int)
    pointy = layout.endswith("-r")
    odd = layout.startswith("odd")
    if pointy:
        shift = np.where((rs % 2 == 1) == odd, 0.5, 0.0)
        xs, ys = qs + shift, rs * math.sqrt(3) / 2
        orientation = 0.0
    else:
        shift = np.where((qs % 2 == 1) == odd, 0.5, 0.0)
        xs, ys = qs * math.sqrt(3) / 2, rs + shift
        orientation = math.pi / 6
    radius = 1 / math.sqrt(3)
    outlined = list(outline) if outline is not None else [False] * len(frame)
    colours = frame[color].tolist()
    text_colours = [text_color] * len(frame) if isinstance(text_color, str) else list(text_color)
    for i in range(len(frame)):
        ax.add_patch(
            RegularPolygon(
                (xs[i], ys[i]),
                6,
                radius=radius * 0.97,
                orientation=orientation,
                facecolor=colours[i],
                edgecolor="white",
                lw=0.6,
            )
        )
        if outlined[i]:
            ax.add_patch(
                RegularPolygon(
                    (xs[i], ys[i]),
                    6,
                    radius=radius * 0.80,
                    orientation=orientation,
                    fill=False,
                    edgecolor="black",
                    lw=1.6,
                    zorder=3,
                )
            )
        if label is not None:
            ax.text(
                xs[i],
                ys[i],
                str(frame[label].iloc[i]),
                ha="center",
                va="center",
                fontsize=fontsize,
                color=text_colours[i],
                zorder=4,
            )
    ax.set_xlim(xs.min() - 0.6, xs.max() + 0.6)
    ax.set_ylim(ys.min() - 0.6, ys.max() + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def year_axis(
    ax: Axes,
    years: Iterable[int],
    labels: Callable[[int], str] = str,
    *,
    every_year: bool = False,
    step: int = 1,
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
    step : int, default 1
        Label every ``step``-th tick (the others keep their tick, unlabelled), for narrow panels.

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
        [labels(y) if i % step == 0 else "" for i, y in enumerate(years)],
        rotation=45,
        ha="right",
        fontsize=8,
        rotation_mode="anchor",
    )
    ax.set_xlim(min(years) - 0.6, max(years) + 0.6)


def thousands_axis(ax: Axes, *, ticks: int = 6, axis: str = "y") -> None:
    """Format an axis (``y`` by default) with thousands separators and about ``ticks`` ticks.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 12000])
    >>> thousands_axis(ax)
    >>> ax.yaxis.get_major_formatter()(12000, 0)
    '12,000'
    >>> plt.close(fig)
    """
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    target.set_major_locator(MaxNLocator(ticks))
