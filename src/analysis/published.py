"""Loaders for the published aggregate figures, one per table, each validating what it reads.

Every table under ``data/published/`` shares one tidy schema, one row per published figure:

===============  =======================================================================
column           meaning
===============  =======================================================================
figure_id        unique id (e.g. ``LAC2012``; ``LAC2012R`` for a revised value; ``LAC2012D``
                 for the same figure read from the publisher's own release data, which
                 :func:`load_looked_after` prefers to the press copy ``LAC2012``)
measure          what the figure counts, in words
value            the number; shares are fractions in [0, 1]
qualifier        exact / about / more_than / less_than / up_to, as the source states it
unit             children, people, individuals, incidents, reports, calls, episodes, ...;
                 shares are ``proportion of <unit>``
geography        England, Great Britain, UK, ...
period           the period as the source gives it
period_start     first day covered (ISO date), empty if the source does not say
period_end       last day covered (ISO date); equal to ``period_start`` for a stock at a date
vintage          ``first published``, ``revised (...)``, ...: publishers revise figures
definition       the series definition where it changes over time (a break between codes)
location         where in the source (table, page, paragraph)
source_id        the provenance record (``sources.csv``)
confidence       how directly the figure was traced
note             caveats
===============  =======================================================================

A malformed file raises :class:`PublishedDataError` naming the file, line and column: bytes that
are not UTF-8 (or UTF-16, or NUL bytes), a missing or extra column, a row with more or fewer
fields, a value that is not a plain number written with ASCII digits (``64_400``, ``٣`` and
``1e5`` are refused, never guessed), an impossible date (``2010-02-30``). The loaders (:func:`load`
and the ``load_*`` functions) first check the file's checksum against ``MANIFEST.csv`` (once per
file per process), so a data file changed without a reviewed manifest update fails to load.
The frame a loader returns carries ``attrs["sources"]`` (the source ids it uses),
``attrs["table"]`` and ``attrs["synthetic"] = False``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd

from analysis import paths, sources
from analysis.tables import QUALIFIERS, TableError, display_path, read_rows

__all__ = [
    "COLUMNS",
    "QUALIFIERS",
    "TABLES",
    "PublishedDataError",
    "figure",
    "figures",
    "load",
    "load_all",
    "load_assessment_factors",
    "load_children_in_need",
    "load_exploitation",
    "load_looked_after",
    "load_lscb",
    "load_missing_from_care",
    "load_missing_persons",
    "load_population",
    "load_runaways",
    "prefer_primary",
    "stated_months",
    "read_table",
    "value",
]

COLUMNS: tuple[str, ...] = (
    "figure_id",
    "measure",
    "value",
    "qualifier",
    "unit",
    "geography",
    "period",
    "period_start",
    "period_end",
    "vintage",
    "definition",
    "location",
    "source_id",
    "confidence",
    "note",
)
#: Columns that may be left empty.
OPTIONAL: frozenset[str] = frozenset({"period", "period_start", "period_end", "definition", "note"})
CONFIDENCE: tuple[str, ...] = ("High", "Medium-High", "Medium", "Low-Medium", "Low")
#: Units whose values are counts and must be whole numbers.
COUNT_UNITS: frozenset[str] = frozenset(
    {
        "children",
        "people",
        "individuals",
        "incidents",
        "instances",
        "reports",
        "calls",
        "episodes",
        "referrals",
        "offences",
        "cases",
        "groups",
        "LSCBs",
        "local authorities",
        "service users",
    }
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
#: A value as the tables write it: ASCII digits, an optional sign and decimal part; no digit
#: separators, exponents or other scripts' digits (Python's ``float`` would accept all three).
_VALUE = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$", re.ASCII)

#: Published tables: name -> what it holds.
TABLES: dict[str, str] = {
    "missing_persons": "police missing-person reports, incidents, calls and individuals",
    "runaways": "surveys and estimates of children who run away",
    "looked_after": "children looked after at 31 March, England (first-published and revised)",
    "missing_from_care": "looked-after children missing from care: official counts and estimates",
    "children_in_need": "referrals, children in need and child protection plans, England",
    "assessment_factors": "children in need assessments with exploitation or missing as a factor",
    "population": "England's population and child population (ONS)",
    "exploitation": "prevalence and victim characteristics of child sexual exploitation",
    "lscb": "implementation of the 2009 guidance by LSCBs and local authorities",
}


class PublishedDataError(TableError):
    """A published data file breaks its schema; the message names the file, line and column."""


def _fail(path: Path, line: int | None, column: str | None, problem: str) -> None:
    raise PublishedDataError(display_path(path), line, column, problem)


_MONTH_OR_FY = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_TO = re.compile(r"^year to (\d{4}-\d{2}-\d{2})$")


def _period_mismatch(period: str, start: str, end: str) -> str | None:
    """Return a problem if machine-readable ``period`` text disagrees with the ISO dates.

    ``YYYY-MM-DD`` is a stock at that date; ``year to YYYY-MM-DD`` ends on that date; ``YYYY-YY``
    with the second part one year after the first is a financial year (April to March), and any
    other ``YYYY-MM`` is a calendar month.
    """
    period = period.strip()
    if _ISO_DATE.match(period):
        if (start, end) != (period, period):
            return f"a stock at {period} should have period_start = period_end = {period}"
    elif m := _YEAR_TO.match(period):
        if end != m.group(1):
            return f"'{period}' should end on {m.group(1)} (period_end is {end or 'empty'})"
    elif m := _MONTH_OR_FY.match(period):
        first, second = int(m.group(1)), int(m.group(2))
        if second == (first + 1) % 100:
            expected = (f"{first}-04-01", f"{first + 1}-03-31")
            if (start, end) != expected:
                return f"financial year '{period}' should run {expected[0]} to {expected[1]}"
        elif not (start.startswith(period) and end.startswith(period)):
            return f"month '{period}' should start and end in {period} (got {start} to {end})"
    return None


_MONTHS_RE = re.compile(r"\((\d+)\s+months?\)")


def stated_months(period: str) -> int | None:
    """Return the period length a source states in words, e.g. ``"(14 months)"``, else None.

    Where a source states its window's length, that length is used to annualise its count, even
    if its month-level dates suggest another (OCC01: "14 months" for August 2010 to October 2011).

    Examples
    --------
    >>> stated_months("2010-08 to 2011-10 (14 months)")
    14
    >>> stated_months("2011") is None
    True
    """
    match = _MONTHS_RE.search(str(period))
    return int(match.group(1)) if match else None


def read_table(path: Path, *, known_sources: set[str] | None = None) -> pd.DataFrame:
    """Read and validate one published table.

    Parameters
    ----------
    path : Path
        A CSV in the shared schema (see the module docstring).
    known_sources : set of str, optional
        Registered source ids; when given, every ``source_id`` must be among them.

    Returns
    -------
    pandas.DataFrame
        One row per figure, ``value`` as float, dates as ``datetime64``; ``attrs`` hold the
        table name, its source ids and ``synthetic=False``.

    Raises
    ------
    PublishedDataError
        For a missing or extra column, an empty required field, a value that is not a number,
        a negative value, a share above 1, a fractional count, an unknown qualifier or
        confidence, a bad date, a repeated ``figure_id`` or an unknown source id.

    Examples
    --------
    >>> from analysis import paths
    >>> lac = read_table(paths.DATA_PUBLISHED / "looked_after.csv")
    >>> lac.attrs["table"], lac.attrs["synthetic"]
    ('looked_after', False)
    """
    path = Path(path)
    rows = read_rows(path, COLUMNS, error=PublishedDataError)
    seen: dict[str, int] = {}
    records = []
    for line, row in rows:
        for column in COLUMNS:
            if column not in OPTIONAL and not row[column].strip():
                _fail(path, line, column, "required value is empty")
        fid = row["figure_id"]
        if fid in seen:
            _fail(
                path, line, "figure_id", f"duplicate figure_id {fid!r} (first on line {seen[fid]})"
            )
        seen[fid] = line
        if not _VALUE.match(row["value"]):
            _fail(
                path,
                line,
                "value",
                f"not a number written with the digits 0-9 (and a decimal point): {row['value']!r}",
            )
        number = float(row["value"])
        if not math.isfinite(number):  # pragma: no cover - the pattern admits finite numbers only
            _fail(path, line, "value", f"not a finite number: {row['value']!r}")
        if number < 0:
            _fail(
                path, line, "value", f"negative value {row['value']} (counts and shares are >= 0)"
            )
        unit = row["unit"]
        if unit.startswith("proportion") and number > 1:
            _fail(path, line, "value", f"share above 1 ({row['value']}); give shares as fractions")
        if unit in COUNT_UNITS and not number.is_integer():
            _fail(path, line, "value", f"a count of {unit} must be a whole number; got {number}")
        if row["qualifier"] not in QUALIFIERS:
            _fail(path, line, "qualifier", f"{row['qualifier']!r} is not one of {QUALIFIERS}")
        if row["confidence"] not in CONFIDENCE:
            _fail(path, line, "confidence", f"{row['confidence']!r} is not one of {CONFIDENCE}")
        for column in ("period_start", "period_end"):
            if row[column] and not _ISO_DATE.match(row[column]):
                _fail(path, line, column, f"not an ISO date (YYYY-MM-DD): {row[column]!r}")
            if row[column]:
                try:
                    dt.date.fromisoformat(row[column])
                except ValueError:
                    _fail(path, line, column, f"not a date in the calendar: {row[column]!r}")
        if row["period_start"] and row["period_end"] and row["period_end"] < row["period_start"]:
            _fail(path, line, "period_end", "period ends before it starts")
        problem = _period_mismatch(row["period"], row["period_start"], row["period_end"])
        if problem:
            _fail(path, line, "period_start", problem)
        if known_sources is not None and row["source_id"] not in known_sources:
            _fail(path, line, "source_id", f"unknown source id {row['source_id']!r}")
        row["value"] = number
        records.append(row)
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame["value"] = frame["value"].astype("float64")
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column].replace("", None))
    frame.attrs.update(
        table=path.stem,
        sources=sorted(set(frame["source_id"])),
        synthetic=False,
        file=path.name,
    )
    return frame


def _known_sources() -> set[str]:
    return set(sources.load_register())


@cache
def _cached(name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise KeyError(f"no published table {name!r}; tables are: {', '.join(TABLES)}")
    path = paths.DATA_PUBLISHED / f"{name}.csv"
    sources.check_checksum(path)
    sources.check_checksum(sources.register_path())
    return read_table(path, known_sources=_known_sources())


def load(name: str) -> pd.DataFrame:
    """Return a validated copy of the published table ``name`` (see :data:`TABLES`).

    Examples
    --------
    >>> load("missing_from_care").attrs["sources"][:2]
    ['SRC-LACMISS2015', 'SRC-LACMISS2018']
    """
    frame = _cached(name)
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    out.attrs["sources"] = list(frame.attrs["sources"])
    return out


def _loader(name: str) -> Callable[[], pd.DataFrame]:
    def loader() -> pd.DataFrame:
        return load(name)

    loader.__name__ = loader.__qualname__ = f"load_{name}"
    loader.__doc__ = (
        f"Return the validated published table ``{name}``: {TABLES[name]}.\n\n"
        "The frame carries ``attrs['sources']`` (its provenance ids) and ``attrs['synthetic']``.\n\n"
        "Examples\n--------\n"
        f">>> frame = load_{name}()\n"
        f">>> frame.attrs['table'], frame.attrs['synthetic'], frame['figure_id'].is_unique\n"
        f"('{name}', False, True)\n"
    )
    return loader


load_missing_persons = _loader("missing_persons")
load_runaways = _loader("runaways")


#: Suffix of a figure read from the publisher's own release data (``LAC2012D``): the primary
#: record of the figure without it (``LAC2012``), which then stays only as corroboration.
PRIMARY_SUFFIX = "D"


def prefer_primary(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the rows that a primary record gives again, keeping the primary one.

    A row ``X`` + :data:`PRIMARY_SUFFIX` (e.g. ``LAC2012D``, read from the release's own data
    file) is preferred to row ``X`` (e.g. ``LAC2012``, from a press report): ``X`` is dropped and
    listed in ``attrs["corroborating"]`` (id of the kept row -> id of the dropped one). The two
    must agree on value, unit and period; if they do not, they are not the same figure.

    Raises
    ------
    PublishedDataError
        If a primary record and the row it corroborates disagree.

    Examples
    --------
    >>> lac = prefer_primary(load("looked_after"))
    >>> lac.attrs["corroborating"]["LAC2012D"], "LAC2012" in set(lac["figure_id"])
    ('LAC2012', False)
    """
    by_id = frame.set_index("figure_id")
    pairs: dict[str, str] = {}
    for fid in frame["figure_id"]:
        base = fid[: -len(PRIMARY_SUFFIX)]
        if not fid.endswith(PRIMARY_SUFFIX) or base not in by_id.index:
            continue
        primary, other = by_id.loc[fid], by_id.loc[base]
        for column in ("value", "unit", "period_start", "period_end"):
            a, b = primary[column], other[column]
            if a != b and not (pd.isna(a) and pd.isna(b)):
                raise PublishedDataError(
                    frame.attrs.get("file", "published table"),
                    None,
                    column,
                    f"{fid} (primary) gives {a} but {base}, which it corroborates, gives {b}",
                )
        pairs[fid] = base
    out = frame[~frame["figure_id"].isin(set(pairs.values()))].reset_index(drop=True)
    out.attrs = dict(frame.attrs)
    out.attrs.update(sources=sorted(set(out["source_id"])), corroborating=pairs)
    return out


def load_looked_after(*, corroborating: bool = False) -> pd.DataFrame:
    """Return the validated published table ``looked_after``: children looked after at 31 March.

    Where the release's own data give a figure (``LAC2012D``), the press copy of the same figure
    (``LAC2012``) is left out (see :func:`prefer_primary`; ``attrs["corroborating"]`` lists the
    pairs) unless ``corroborating=True``. :func:`figure` still finds every row by id.

    The frame carries ``attrs['sources']`` (its provenance ids) and ``attrs['synthetic']``.

    Examples
    --------
    >>> frame = load_looked_after()
    >>> frame.attrs['table'], frame.attrs['synthetic'], frame['figure_id'].is_unique
    ('looked_after', False, True)
    >>> len(load_looked_after(corroborating=True)) - len(frame) == len(frame.attrs["corroborating"])
    True
    """
    frame = load("looked_after")
    return frame if corroborating else prefer_primary(frame)


load_missing_from_care = _loader("missing_from_care")
load_children_in_need = _loader("children_in_need")
load_assessment_factors = _loader("assessment_factors")
load_population = _loader("population")
load_exploitation = _loader("exploitation")
load_lscb = _loader("lscb")


def load_all() -> pd.DataFrame:
    """Return every published figure in one long frame, with a ``table`` column.

    Raises
    ------
    PublishedDataError
        If a ``figure_id`` appears in two tables.
    """
    frames = []
    for name in TABLES:
        frame = load(name)
        frame.insert(0, "table", name)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    dup = out["figure_id"][out["figure_id"].duplicated()]
    if not dup.empty:
        raise PublishedDataError(
            paths.DATA_PUBLISHED, None, "figure_id", f"in two tables: {dup.iloc[0]}"
        )
    out.attrs.update(table="all", sources=sorted(set(out["source_id"])), synthetic=False)
    return out


@lru_cache(maxsize=1)
def _index() -> pd.DataFrame:
    return load_all().set_index("figure_id")


def figure(figure_id: str) -> pd.Series:
    """Return one published figure (a row of :func:`load_all`) by id.

    Examples
    --------
    >>> row = figure("LAC2012")
    >>> int(row["value"]), row["unit"], row["source_id"]
    (67050, 'children', 'SRC-LAC2012')
    """
    index = _index()
    if figure_id not in index.index:
        raise KeyError(f"no published figure {figure_id!r} in data/published/")
    row = index.loc[figure_id].copy()
    row["figure_id"] = figure_id
    return row


def value(figure_id: str) -> float:
    """Return the value of one published figure.

    Examples
    --------
    >>> value("MP07")
    0.64
    """
    return float(figure(figure_id)["value"])


def figures(*figure_ids: str) -> pd.DataFrame:
    """Return several figures, in the order asked, with ``attrs["sources"]`` set.

    Examples
    --------
    >>> figures("MFC01", "MFC05")["value"].tolist()
    [800.0, 10000.0]
    """
    rows = [figure(fid) for fid in figure_ids]
    out = pd.DataFrame(rows).reset_index(drop=True)
    out.attrs.update(sources=sorted(set(out["source_id"])), synthetic=False)
    return out
