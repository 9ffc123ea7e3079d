"""Yearly series from the published tables, and charts that refuse to join across a break.

Official series change what they count. DfE counted looked-after children missing for more than
24 hours up to 2012 and children with *any* missing incident from 2015; the police's missing-person
"incidents" of 2011/12 became "calls" in 2013/14, and "incidents" then meant something narrower.
The published tables carry this in their ``definition`` column (and in ``unit``).
:func:`plot_series` enforces it: it draws one line per run of equal definition and unit, never a
line across a change, and marks each change with a dashed vertical line labelled
"definition changed". Mixing units on one axis (children with incidents) is refused unless the
caller facets by unit or declares that two unit names denote the same kind of record.

The helpers :func:`select`, :func:`child_population` and :func:`rate_per` build yearly series and
rates per 10,000 children under the project's one rate rule,
:func:`analysis.published.rate_population` (DfE's: a year to 31 March over the previous mid-year
population estimate). :func:`data_systems` loads the table of data systems the 2012 evidence asked
for. Nothing happens on import.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from analysis import paths, published, tables

__all__ = [
    "BREAK_LABEL",
    "EXISTS_NOW",
    "Break",
    "SeriesPlot",
    "child_population",
    "data_systems",
    "find_breaks",
    "financial_year",
    "plot_series",
    "rate_per",
    "runs",
    "select",
    "year_ending",
]

BREAK_LABEL = "definition changed"
#: Allowed values of ``exists_now`` in ``data_systems.csv``.
EXISTS_NOW: tuple[str, ...] = ("yes", "partly", "no", "not traced")
_MARKERS = ("o", "s", "^", "D", "v", "P")
#: How a change in a column other than definition or unit is worded on a chart.
_REASON_WORDS = {"geography": "coverage"}


@dataclass(frozen=True)
class Break:
    """A change of definition (or unit, or another declared column) between two points.

    ``x`` is the midpoint between the last point before and the first point after; ``reason``
    lists what changed, e.g. ``{"definition": ("a", "b")}``.
    """

    x: Any
    x_before: Any
    x_after: Any
    reason: dict[str, tuple[Any, Any]]

    @property
    def label(self) -> str:
        """``"definition changed"`` for a definition or unit change, else e.g. ``"coverage changed"``."""
        if set(self.reason) & {"definition", "unit"} or not self.reason:
            return BREAK_LABEL
        return " and ".join(_REASON_WORDS.get(c, c) for c in self.reason) + " changed"


@dataclass
class SeriesPlot:
    """What :func:`plot_series` drew: the line segments, the breaks and the axes per unit."""

    lines: list[Line2D] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    axes: dict[str, Axes] = field(default_factory=dict)


# --------------------------------------------------------------------------- series helpers


def year_ending(frame: pd.DataFrame) -> pd.Series:
    """Return the calendar year in which each row's period ends (``period_end``).

    A stock at 31 March 2015 and a flow for the year to 31 March 2015 both give 2015.

    Examples
    --------
    >>> year_ending(published.figures("MFC03", "LAC2012")).tolist()
    [2012, 2012]
    """
    ends = pd.to_datetime(frame["period_end"])
    if ends.isna().any():
        missing = frame.loc[ends.isna(), "figure_id"].tolist()
        raise ValueError(f"no period_end for {missing}: cannot place them on a yearly axis")
    return ends.dt.year.astype("int64")


def financial_year(year_end: int) -> str:
    """Label a year to 31 March by its financial year: 2015 -> ``"2014/15"``.

    Examples
    --------
    >>> financial_year(2015), financial_year(2000)
    ('2014/15', '1999/00')
    """
    return f"{int(year_end) - 1}/{int(year_end) % 100:02d}"


def select(table: str, prefix: str, *, suffix: str = "") -> pd.DataFrame:
    """Return the rows of a published table whose id is ``prefix`` + a 4-digit year + ``suffix``.

    Adds a ``year`` column (the year the period ends) and sorts by it; ``attrs["sources"]`` is
    set.

    Examples
    --------
    >>> cse = select("assessment_factors", "CINCSE")
    >>> cse["year"].tolist()[:3], cse["unit"].unique().tolist()
    ([2018, 2019, 2020], ['episodes'])
    >>> select("looked_after", "LAC", suffix="R")["figure_id"].tolist()[:2]
    ['LAC2011R', 'LAC2012R']
    """
    frame = published.load(table)
    pattern = re.compile(rf"^{re.escape(prefix)}\d{{4}}{re.escape(suffix)}$")
    out = frame[frame["figure_id"].map(lambda f: bool(pattern.match(f)))].copy()
    if out.empty:
        raise KeyError(f"no figure in {table!r} matches {pattern.pattern}")
    out["year"] = year_ending(out)
    out = out.sort_values("year", kind="stable").reset_index(drop=True)
    out.attrs.update(sources=sorted(set(out["source_id"])), synthetic=False, table=table)
    return out


def child_population() -> pd.DataFrame:
    """Return England's mid-year estimates of children aged 0-17 (``POP0017_YYYY``), by year.

    Columns ``mid_year, population, figure_id, source_id, vintage``; only the years traced
    into ``data/published/population.csv`` (2012-2024) are present.

    Examples
    --------
    >>> pop = child_population()
    >>> int(pop["mid_year"].min()), int(pop.set_index("mid_year").loc[2024, "population"])
    (2012, 12183016)
    """
    frame = published.load("population")
    frame = frame[frame["figure_id"].str.match(r"^POP0017_\d{4}$")].copy()
    frame["mid_year"] = frame["figure_id"].str[-4:].astype("int64")
    out = frame.rename(columns={"value": "population"})[
        ["mid_year", "population", "figure_id", "source_id", "vintage"]
    ]
    out = out.sort_values("mid_year").reset_index(drop=True)
    out.attrs.update(sources=sorted(set(out["source_id"])), synthetic=False)
    return out


def rate_per(
    counts: pd.DataFrame,
    *,
    per: float = 10_000,
    lag: int | None = None,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add the rate per ``per`` children under the project's one rate rule.

    The rule (:data:`analysis.published.RATE_RULE`, applied by
    :func:`analysis.published.rate_population`) is DfE's: a count for the year to 31 March (or at
    31 March) of year ``Y`` over the ONS mid-year estimate for ``Y - 1``. Years whose population
    is not in the published tables get ``NaN`` and ``population_traced = False``: they are not
    filled in.

    Parameters
    ----------
    counts : pandas.DataFrame
        Rows with ``year``, ``value`` and ``figure_id`` (as from :func:`select`).
    per : float
        Rate base.
    lag : int, optional
        Kept for callers that state the rule; it must be 1 (the rule's lag).
    population : pandas.DataFrame, optional
        Another population table with ``mid_year, population, figure_id, source_id`` columns
        (tests); by default the rule's own lookup.

    Returns
    -------
    pandas.DataFrame
        ``counts`` with ``population_year``, ``population``, ``population_id``,
        ``population_traced`` and ``rate`` added; ``attrs["sources"]`` covers both.

    Examples
    --------
    >>> cse = rate_per(select("assessment_factors", "CINCSE"))
    >>> row = cse.set_index("year").loc[2025]
    >>> int(row["population_year"]), round(float(row["rate"]), 3)
    (2024, 10.178)
    """
    if lag is not None and lag != 1:
        raise ValueError(
            f"lag={lag}: the project uses one rate rule ({published.RATE_RULE}); lag must be 1"
        )
    out = counts.copy()
    rows = []
    for year in out["year"]:
        if population is None:
            pop = published.rate_population(int(year))
        else:
            match = population[population["mid_year"] == int(year) - 1]
            pop = None if match.empty else match.iloc[0]
        rows.append(
            (int(year) - 1, np.nan, None, None)
            if pop is None
            else (
                int(year) - 1,
                float(pop["population"] if "population" in pop else pop["value"]),
                pop["figure_id"],
                pop["source_id"],
            )
        )
    out["population_year"] = [r[0] for r in rows]
    out["population"] = pd.Series([r[1] for r in rows], index=out.index, dtype="float64")
    out["population_id"] = [r[2] for r in rows]
    out["population_traced"] = out["population"].notna()
    out["rate"] = out["value"] / out["population"] * per
    pop_sources = {r[3] for r in rows if r[3]}
    out.attrs = dict(counts.attrs)
    out.attrs["sources"] = sorted(set(counts.attrs.get("sources", [])) | pop_sources)
    out.attrs["rate_base"] = per
    out.attrs["rate_rule"] = published.RATE_RULE
    return out


#: Columns of ``data/published/data_systems.csv``.
DATA_SYSTEMS_COLUMNS: tuple[str, ...] = (
    "system_id",
    "asked_for",
    "exists_now",
    "series",
    "first_year",
    "unit",
    "geography",
    "publisher",
    "source_id",
    "note",
)


def data_systems() -> pd.DataFrame:
    """Load ``data/published/data_systems.csv``: data systems the evidence asked for, then and now.

    Checks that ``exists_now`` is one of :data:`EXISTS_NOW` and that every source id (several
    separated by ``;``) is registered in ``sources.csv``.

    Examples
    --------
    >>> systems = data_systems()
    >>> set(systems["exists_now"]) <= set(EXISTS_NOW)
    True
    """
    from analysis.sources import load_register

    path = paths.DATA_PUBLISHED / "data_systems.csv"
    rows = tables.read_rows(
        path, DATA_SYSTEMS_COLUMNS, allow_empty=False, error=published.PublishedDataError
    )
    register = load_register()
    rules = (
        tables.Column("system_id", unique=True),
        tables.Column("exists_now", vocabulary=EXISTS_NOW),
    )
    tables.check_rows(path, rows, rules, error=published.PublishedDataError)
    for line, row in rows:
        for sid in tables.split_ids(row["source_id"]):
            if sid not in register:
                raise published.PublishedDataError(
                    tables.display_path(path), line, "source_id", f"unknown source id {sid!r}"
                )
    frame = pd.DataFrame([row for _, row in rows], columns=list(DATA_SYSTEMS_COLUMNS))
    frame.attrs.update(
        sources=tables.ids_in(frame["source_id"]), synthetic=False, table="data_systems"
    )
    return frame


# --------------------------------------------------------------------------- breaks


def _key_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    present = [c for c in columns if c in frame.columns]
    return frame[present].astype(object).where(frame[present].notna(), "")


def _break_columns(
    definition_col: str = "definition",
    unit_col: str | None = "unit",
    also_break_on: Sequence[str] = (),
) -> list[str]:
    """The columns whose change is a break (the keywords of :func:`find_breaks`)."""
    return [definition_col, *([unit_col] if unit_col else []), *also_break_on]


def _run_ids(keys: pd.DataFrame) -> pd.Series:
    """Number the runs of equal consecutive rows of ``keys`` 1, 2, ... (a change starts one)."""
    changed = (keys != keys.shift()).any(axis=1)
    if len(changed):
        changed.iloc[0] = True
    return changed.cumsum()


def find_breaks(
    frame: pd.DataFrame,
    x: str,
    *,
    definition_col: str = "definition",
    unit_col: str | None = "unit",
    also_break_on: Sequence[str] = (),
) -> list[Break]:
    """Return the breaks between consecutive points (sorted by ``x``) of one series.

    A break is a change of ``definition_col``, of ``unit_col`` or of any column in
    ``also_break_on`` (e.g. ``geography``) between two consecutive points. Empty definitions
    compare equal to each other.

    Examples
    --------
    >>> frame = pd.DataFrame({"year": [2010, 2011, 2015, 2016],
    ...                       "definition": ["old", "old", "new", "new"],
    ...                       "unit": "children"})
    >>> [(b.x, b.label) for b in find_breaks(frame, "year")]
    [(2013.0, 'definition changed')]
    """
    ordered = frame.sort_values(x, kind="stable")
    return _breaks(ordered, x, _break_columns(definition_col, unit_col, also_break_on))


def _midpoint(a: Any, b: Any) -> Any:
    if isinstance(a, pd.Timestamp | np.datetime64) or isinstance(b, pd.Timestamp | np.datetime64):
        a, b = pd.Timestamp(a), pd.Timestamp(b)
        return a + (b - a) / 2
    return (float(a) + float(b)) / 2


def _breaks(ordered: pd.DataFrame, x: str, columns: Sequence[str]) -> list[Break]:
    keys = _key_columns(ordered, columns)
    xs = ordered[x].tolist()
    out: list[Break] = []
    for i in range(1, len(ordered)):
        before, after = keys.iloc[i - 1], keys.iloc[i]
        reason = {c: (before[c], after[c]) for c in keys.columns if before[c] != after[c]}
        if reason:
            out.append(Break(_midpoint(xs[i - 1], xs[i]), xs[i - 1], xs[i], reason))
    return out


def runs(frame: pd.DataFrame, x: str, **keys: Any) -> list[pd.DataFrame]:
    """Split one series (sorted by ``x``) into runs of equal definition, unit and declared columns.

    ``keys`` are the keywords of :func:`find_breaks` (``definition_col``, ``unit_col``,
    ``also_break_on``): a run ends where it finds a break.

    Examples
    --------
    >>> frame = pd.DataFrame({"year": [2010, 2011, 2015], "definition": ["a", "a", "b"],
    ...                       "unit": "children"})
    >>> [r["year"].tolist() for r in runs(frame, "year")]
    [[2010, 2011], [2015]]
    """
    ordered = frame.sort_values(x, kind="stable").reset_index(drop=True)
    if ordered.empty:
        return []
    run_id = _run_ids(_key_columns(ordered, _break_columns(**keys)))
    return [part for _, part in ordered.groupby(run_id, sort=True)]


# --------------------------------------------------------------------------- drawing


def _mark_break(ax: Axes, brk: Break, *, label: bool = True, fontsize: float = 8.0) -> None:
    drawn: list[Any] = ax.__dict__.setdefault("_analysis_breaks", [])
    if brk.x in drawn:
        return
    drawn.append(brk.x)
    ax.axvline(brk.x, color="#555555", linestyle="--", linewidth=0.9, zorder=1)
    if label:
        transform = blended_transform_factory(ax.transData, ax.transAxes)
        ax.text(
            brk.x,
            0.98,
            " " + brk.label,
            transform=transform,
            rotation=90,
            ha="right",
            va="top",
            fontsize=fontsize,
            color="#444444",
        )


def _draw_one_unit(
    ax: Axes,
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    columns: Sequence[str],
    label: str | None,
    color: str | None,
    line_kwargs: dict[str, Any],
) -> tuple[list[Line2D], list[Break]]:
    ordered = frame.sort_values(x, kind="stable").reset_index(drop=True)
    ordered = ordered[ordered[y].notna()]
    run_id = _run_ids(_key_columns(ordered, columns))
    lines: list[Line2D] = []
    colour = color
    for i, (_, part) in enumerate(ordered.groupby(run_id, sort=True)):
        kwargs = {"marker": _MARKERS[i % len(_MARKERS)], "linewidth": 1.6, "markersize": 5}
        kwargs.update(line_kwargs)
        if colour is not None:
            kwargs["color"] = colour
        (line,) = ax.plot(
            part[x].tolist(), part[y].tolist(), label=label if i == 0 else "_nolegend_", **kwargs
        )
        colour = line.get_color()
        lines.append(line)
    return lines, _breaks(ordered, x, columns)


def plot_series(
    ax: Axes | Mapping[str, Axes] | Sequence[Axes],
    frame: pd.DataFrame,
    x: str = "year",
    y: str = "value",
    *,
    definition_col: str = "definition",
    unit_col: str = "unit",
    facet: str | None = None,
    same_axis_units: Collection[str] = (),
    also_break_on: Sequence[str] = (),
    label: str | None = None,
    color: str | None = None,
    mark_breaks: bool = True,
    label_breaks: bool = True,
    **line_kwargs: Any,
) -> SeriesPlot:
    """Draw one series as line segments that never cross a change of definition or unit.

    Points are sorted by ``x``; consecutive points with the same ``definition_col`` and
    ``unit_col`` (and ``also_break_on`` columns) are joined; a change starts a new segment (a
    new :class:`~matplotlib.lines.Line2D`, new marker shape, same colour) and, with
    ``mark_breaks``, a dashed vertical line half-way between the two points labelled
    "definition changed".

    Parameters
    ----------
    ax : Axes, or mapping unit -> Axes, or sequence of Axes
        Where to draw. A mapping or sequence (one per unit, in order of first appearance)
        only with ``facet="unit"``.
    frame : pandas.DataFrame
        One series: ``x``, ``y``, ``definition_col`` and ``unit_col`` columns.
    x, y : str
        Column names.
    facet : {None, "unit"}
        ``"unit"`` draws each unit on its own axes; breaks found in any unit are marked on
        every facet so the panels line up.
    same_axis_units : collection of str
        Unit names that denote the same kind of record and may share an axis (e.g.
        ``{"incidents", "calls"}`` for the police's renamed missing-person records). They are
        still never joined: a unit change is a break.
    also_break_on : sequence of str
        Further columns whose change is a break (e.g. ``("geography",)``); such a break is
        labelled "<column> changed" ("coverage changed" for geography) unless the definition or
        unit changes too.
    label, color : str, optional
        Legend label (on the first segment only) and colour (shared by all segments).
    mark_breaks, label_breaks : bool
        Draw the dashed break lines, and their text labels.
    **line_kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot`.

    Returns
    -------
    SeriesPlot
        The segments drawn, the breaks and the axes used per unit.

    Raises
    ------
    ValueError
        If the frame mixes units (outside ``same_axis_units``) without ``facet="unit"``, if
        ``facet`` is unknown, if several axes are given without ``facet="unit"`` or if there
        are fewer axes than units.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> frame = pd.DataFrame({"year": [2010, 2011, 2012, 2015, 2018],
    ...                       "value": [800, 920, 1490, 6110, 11530],
    ...                       "definition": ["over_24h"] * 3 + ["any_incident"] * 2,
    ...                       "unit": "children"})
    >>> fig, ax = plt.subplots()
    >>> drawn = plot_series(ax, frame)
    >>> [list(map(int, line.get_xdata())) for line in drawn.lines]
    [[2010, 2011, 2012], [2015, 2018]]
    >>> [(b.x, b.label) for b in drawn.breaks]
    [(2013.5, 'definition changed')]
    >>> mixed = frame.assign(unit=["children"] * 4 + ["incidents"])
    >>> plot_series(ax, mixed)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the series mixes units (children, incidents): facet by unit (facet="unit") ...
    >>> plt.close(fig)
    """
    if facet not in (None, "unit"):
        raise ValueError(f"facet must be None or 'unit'; got {facet!r}")
    units = list(dict.fromkeys(frame[unit_col].tolist()))
    columns = [definition_col, unit_col, *also_break_on]
    result = SeriesPlot()
    if facet is None:
        if not isinstance(ax, Axes):
            raise ValueError("several axes need facet='unit'")
        foreign = [u for u in units if u not in set(same_axis_units)]
        if len(units) > 1 and (foreign or not same_axis_units):
            raise ValueError(
                f"the series mixes units ({', '.join(map(str, units))}): facet by unit "
                '(facet="unit") or declare units that share an axis (same_axis_units=...); '
                "a count of one unit is not a count of another"
            )
        lines, breaks = _draw_one_unit(
            ax, frame, x, y, columns=columns, label=label, color=color, line_kwargs=line_kwargs
        )
        result.lines, result.breaks = lines, breaks
        result.axes = {u: ax for u in units}
        targets = [ax]
    else:
        if isinstance(ax, Axes):
            if len(units) > 1:
                raise ValueError(f"facet='unit' needs one axes per unit ({', '.join(units)})")
            axes_by_unit = {units[0]: ax} if units else {}
        elif isinstance(ax, Mapping):
            missing = [u for u in units if u not in ax]
            if missing:
                raise ValueError(f"no axes given for unit(s) {', '.join(missing)}")
            axes_by_unit = {u: ax[u] for u in units}
        else:
            axes_list = list(ax)
            if len(axes_list) < len(units):
                raise ValueError(
                    f"{len(units)} units ({', '.join(units)}) but {len(axes_list)} axes"
                )
            axes_by_unit = dict(zip(units, axes_list, strict=False))
        colour = color
        for unit in units:
            part = frame[frame[unit_col] == unit]
            lines, breaks = _draw_one_unit(
                axes_by_unit[unit],
                part,
                x,
                y,
                columns=columns,
                label=label,
                color=colour,
                line_kwargs=line_kwargs,
            )
            if lines:
                colour = lines[0].get_color()
            result.lines += lines
            result.breaks += breaks
        result.axes = axes_by_unit
        targets = list(dict.fromkeys(axes_by_unit.values()))
    if mark_breaks:
        for target in targets:
            for brk in result.breaks:
                _mark_break(target, brk, label=label_breaks)
    return result
