"""Policy and capacity: the timeline of guidance, reports, pilots and the move into the NCA, and
the evidence's self-reported counts.

Two small published tables, each read through a validating loader:

``data/published/timeline.csv`` (:func:`load_timeline`)
    One row per event named in the evidence, 2009-2013. Columns ``event_id`` (``T01``...),
    ``date`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, matching ``date_precision``:
    year/month/day), ``event`` (paraphrased), ``kind`` (:data:`KINDS`), ``basis``
    (:data:`BASES`), ``source_id`` (the provenance record that dates the event, required when
    ``basis`` is ``published_source`` and empty otherwise) and ``note``.

    ``evidence_statement`` means only the evidence itself dates the event (self-reported);
    ``published_source`` means a source in the register does; ``reference_note`` means the
    project's traced reference notes date it but no provenance record exists yet (the note
    says so).

``data/published/self_reported.csv`` (:func:`load_self_reported`)
    The counts the evidence states about its own (or its partners') work, with their units:
    ``count_id`` (``S01``...), ``claim_id`` (the row of the claims register, ``C..``),
    ``quantity``, ``value``, ``qualifier``, ``unit``, ``section``, ``basis`` (always
    ``evidence_statement``: they come from a published parliamentary document, but no outside
    source checks them), ``source_id`` (empty), ``verdict`` (``self_reported`` or
    ``not_traced``) and ``note``.

A malformed file raises :class:`analysis.published.PublishedDataError` naming the file, line and
column. Importing this module has no side effects.
"""

from __future__ import annotations

import calendar
import re
from pathlib import Path
from typing import NoReturn

import pandas as pd

from analysis import paths
from analysis.published import PublishedDataError
from analysis.tables import CLAIM_ID as _CLAIM_ID
from analysis.tables import EVIDENCE_SOURCE, Column, check_rows, display_path, read_rows
from analysis.tables import STATED_QUALIFIERS as QUALIFIERS

__all__ = [
    "BASES",
    "EVIDENCE_DATE",
    "EVIDENCE_SOURCE",
    "KINDS",
    "PRECISIONS",
    "SELF_REPORTED_COLUMNS",
    "TIMELINE_COLUMNS",
    "VERDICTS",
    "load_self_reported",
    "load_timeline",
    "self_reported_table",
]

TIMELINE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "date",
    "date_precision",
    "event",
    "kind",
    "basis",
    "source_id",
    "note",
)
SELF_REPORTED_COLUMNS: tuple[str, ...] = (
    "count_id",
    "claim_id",
    "quantity",
    "value",
    "qualifier",
    "unit",
    "section",
    "basis",
    "source_id",
    "verdict",
    "note",
)
KINDS: tuple[str, ...] = ("guidance", "report", "pilot", "organisation", "evidence")
BASES: tuple[str, ...] = ("evidence_statement", "published_source", "reference_note")
PRECISIONS: tuple[str, ...] = ("day", "month", "year")
VERDICTS: tuple[str, ...] = ("self_reported", "not_traced")
#: The date of the written evidence, and its record in the provenance register.
EVIDENCE_DATE = pd.Timestamp("2012-09-10")
_DATE_PATTERNS = {
    "year": re.compile(r"^(\d{4})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
}


#: Column rules of the timeline (cross-column rules are in :func:`load_timeline`).
_TIMELINE_RULES: tuple[Column, ...] = (
    Column("event_id", pattern=r"T\d{2}", pattern_text="of the form T01", unique=True),
    Column("date"),
    Column("date_precision", vocabulary=PRECISIONS),
    Column("event"),
    Column("kind", vocabulary=KINDS),
    Column("basis", vocabulary=BASES),
)
#: Column rules of the self-reported counts.
_SELF_REPORTED_RULES: tuple[Column, ...] = (
    Column("count_id", pattern=r"S\d{2}", pattern_text="of the form S01", unique=True),
    Column("claim_id", required=False, pattern=_CLAIM_ID.pattern, pattern_text="of the form C01"),
    *(
        Column(c)
        for c in SELF_REPORTED_COLUMNS
        if c
        not in (
            "count_id",
            "claim_id",
            "value",
            "qualifier",
            "verdict",
            "basis",
            "source_id",
            "note",
        )
    ),
    Column("value", integer=True, minimum=0),
    Column("qualifier", vocabulary=QUALIFIERS),
    Column("verdict", vocabulary=VERDICTS),
    Column("basis", vocabulary=("evidence_statement",)),
)


def _fail(shown: str, line: int, column: str | None, problem: str) -> NoReturn:
    raise PublishedDataError(shown, line, column, problem)


def _read(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV, check its header and field counts; return (line, row) pairs."""
    return read_rows(path, columns, allow_empty=False, error=PublishedDataError)


def _known_sources() -> set[str]:
    from analysis.sources import load_register

    return set(load_register())


def _date_span(text: str, precision: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last day a partial date covers; raise ValueError if invalid."""
    match = _DATE_PATTERNS[precision].match(text)
    if not match:
        raise ValueError(f"{text!r} is not a {precision}-precision date")
    parts = [int(p) for p in match.groups()]
    year = parts[0]
    if precision == "year":
        return pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    month = parts[1]
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} out of range")
    if precision == "month":
        return pd.Timestamp(year, month, 1), pd.Timestamp(
            year, month, calendar.monthrange(year, month)[1]
        )
    day = pd.Timestamp(year, month, parts[2])  # raises ValueError for 2012-02-30
    return day, day


def load_timeline(
    path: Path | str | None = None, *, known_sources: set[str] | None = None
) -> pd.DataFrame:
    """Read and validate the policy timeline.

    Parameters
    ----------
    path : Path, optional
        Defaults to ``data/published/timeline.csv``.
    known_sources : set of str, optional
        Registered source ids; defaults to the provenance register.

    Returns
    -------
    pandas.DataFrame
        The file's columns plus ``date_start``, ``date_end`` (the span the date's precision
        covers), ``date_mid`` and ``after_evidence`` (the event starts after 10 September 2012:
        planned, as far as the evidence is concerned), sorted by ``date_start``. ``attrs`` hold
        ``sources`` (the source ids that date events), ``synthetic=False`` and ``file``.

    Raises
    ------
    PublishedDataError
        For a missing or extra column, a wrong field count, an empty required field, a bad or
        repeated ``event_id``, a date that does not match its precision or is not a calendar
        date, an unknown precision, kind or basis, a ``published_source`` row without a
        registered source id, a source id on a row whose basis is not ``published_source``, or a
        ``reference_note`` row without a note.

    Examples
    --------
    >>> timeline = load_timeline()
    >>> timeline.loc[timeline["event_id"] == "T16", "date_start"].dt.date.astype(str).tolist()
    ['2012-11-21']
    >>> sorted(timeline["kind"].unique())
    ['evidence', 'guidance', 'organisation', 'pilot', 'report']
    """
    path = Path(path) if path is not None else paths.DATA_PUBLISHED / "timeline.csv"
    shown = display_path(path)
    known = known_sources if known_sources is not None else _known_sources()
    rows = _read(path, TIMELINE_COLUMNS)
    check_rows(path, rows, _TIMELINE_RULES, error=PublishedDataError)
    records = []
    for line, row in rows:
        try:
            start, end = _date_span(row["date"], row["date_precision"])
        except ValueError as err:
            _fail(shown, line, "date", f"bad date {row['date']!r}: {err}")
        sid = row["source_id"].strip()
        if row["basis"] == "published_source":
            if not sid:
                _fail(
                    shown,
                    line,
                    "source_id",
                    "a published_source row needs the source id that dates it",
                )
            if sid not in known:
                _fail(shown, line, "source_id", f"unknown source id {sid!r} (not in sources.csv)")
        elif sid:
            _fail(
                shown,
                line,
                "source_id",
                f"only published_source rows carry a source id; basis is {row['basis']!r}",
            )
        if row["basis"] == "reference_note" and not row["note"].strip():
            _fail(shown, line, "note", "a reference_note row must say where the date comes from")
        records.append({**row, "date_start": start, "date_end": end})
    frame = pd.DataFrame.from_records(
        records, columns=[*TIMELINE_COLUMNS, "date_start", "date_end"]
    )
    frame["date_mid"] = frame["date_start"] + (frame["date_end"] - frame["date_start"]) / 2
    frame["after_evidence"] = frame["date_start"] > EVIDENCE_DATE
    frame = frame.sort_values(["date_start", "event_id"], kind="stable").reset_index(drop=True)
    frame.attrs.update(
        sources=sorted({s for s in frame["source_id"] if s}),
        synthetic=False,
        file=path.name,
    )
    return frame


def load_self_reported(path: Path | str | None = None) -> pd.DataFrame:
    """Read and validate the evidence's self-reported counts.

    Parameters
    ----------
    path : Path, optional
        Defaults to ``data/published/self_reported.csv``.

    Returns
    -------
    pandas.DataFrame
        The file's columns, ``value`` as float; ``attrs["sources"]`` is ``["SRC-LCG09"]`` (the
        evidence itself, the only source of these counts) and ``synthetic=False``.

    Raises
    ------
    PublishedDataError
        For a missing or extra column, an empty required field, a bad or repeated id, a value
        that is not a non-negative whole number, an unknown qualifier or verdict, a basis other
        than ``evidence_statement``, or a source id (these counts have no outside source).

    Examples
    --------
    >>> counts = load_self_reported().set_index("claim_id")
    >>> int(counts.loc["C04", "value"]), counts.loc["C04", "unit"]
    (31, 'actions')
    """
    path = Path(path) if path is not None else paths.DATA_PUBLISHED / "self_reported.csv"
    shown = display_path(path)
    rows = _read(path, SELF_REPORTED_COLUMNS)
    check_rows(path, rows, _SELF_REPORTED_RULES, error=PublishedDataError)
    records = []
    for line, row in rows:
        if row["source_id"].strip():
            _fail(
                shown,
                line,
                "source_id",
                "self-reported counts carry no source id (the evidence is the source)",
            )
        row["value"] = float(row["value"])
        records.append(row)
    frame = pd.DataFrame.from_records(records, columns=list(SELF_REPORTED_COLUMNS))
    frame["value"] = frame["value"].astype("float64")
    frame.attrs.update(sources=[EVIDENCE_SOURCE], synthetic=False, file=path.name)
    return frame


_STATED = {
    "exact": "{v}",
    "about": "about {v}",
    "more_than": "more than {v}",
    "less_than": "fewer than {v}",
}


def self_reported_table(counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the presentation table of the self-reported counts (notebook 07).

    Columns ``count_id, claim_id, quantity, stated, value, qualifier, unit, section, basis,
    verdict, note``; ``stated`` renders the qualifier with the number and its unit.

    Examples
    --------
    >>> table = self_reported_table()
    >>> table.set_index("count_id").loc["S05", "stated"]
    'about 205 delegates'
    """
    counts = load_self_reported() if counts is None else counts
    stated = [
        _STATED[q].format(v=f"{v:,.0f}") + f" {u}"
        for q, v, u in zip(counts["qualifier"], counts["value"], counts["unit"], strict=True)
    ]
    out = counts.assign(stated=stated)[
        [
            "count_id",
            "claim_id",
            "quantity",
            "stated",
            "value",
            "qualifier",
            "unit",
            "section",
            "basis",
            "verdict",
            "note",
        ]
    ].reset_index(drop=True)
    out.attrs.update(counts.attrs)
    return out
