"""Validate and collate annual returns: one CSV per area and financial year.

The return format
-----------------
A return is a UTF-8 CSV file (with or without a byte-order mark, LF or CRLF line endings),
comma-separated, whose header holds exactly these columns (in any order):

``area_code, period, age_band, sex, looked_after, identified_at_risk, confirmed_victims,
went_missing``

* ``area_code`` is in the area register in use (by default the synthetic register;
  ``--register`` takes any CSV with an ``area_code`` column, e.g. real codes like E08000001);
* ``period`` is a financial year ``YYYY-YY`` whose second part is the year after the first;
* ``age_band`` is one of ``0-9, 10-12, 13-15, 16-17, unknown``; ``sex`` one of
  ``female, male, unknown``; ``looked_after`` one of ``yes, no, unknown``;
* the three counts are whole numbers >= 0 (``3`` or ``3.0``), with ``confirmed_victims`` and
  ``went_missing`` each at most ``identified_at_risk``;
* each (age_band, sex, looked_after) appears at most once; one area and one period per file;
  if the file name ends ``_<area>_<YYYY-YY>.csv`` it must agree with the rows;
* at least one data row (a nil return lists its cells with zero counts). Cells that are absent
  are not an error: the collated output simply has no row for them.

Cells are read as text first (surrounding spaces are removed, blank lines are skipped) and then
checked, so every error names its file, line and column.

Rules
-----
Each check is a :class:`Rule` with a ``code``, a human ``message``, the ``fields`` it concerns
and a ``check`` function returning the failing row positions, modelled on the open-source
validators of the Department for Education's statutory returns (Social Finance's
quality-lac-data-beta-validator; data-to-insight's CIN census validator). ``F`` rules concern
the file as a whole (their failing position is :data:`FILE_LEVEL` or :data:`HEADER_ROW`),
``R`` rules single rows (positions are 0-based data-row indices) and ``X01`` the collection
(two files for one area and period). :data:`RULES` lists them all.

Ingest
------
:func:`ingest` checks every file in a folder; an invalid file is reported and left out whole,
never partly loaded; two files for the same area and period are both reported and neither is
collated. :func:`run_ingest` (``python -m analysis ingest``) writes the collated valid returns
and an error report ``file,row,column,rule,message`` (``row`` is the line number in the file,
empty for problems with the whole file), both atomically, and exits 0 when every file is
valid, 1 when any is not and 2 for usage errors.

Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import paths
from analysis.tables import atomic_write

__all__ = [
    "AGE_BANDS",
    "LOOKED_AFTER",
    "REGISTER_FILE",
    "RETURNS_DIR",
    "RETURN_COLUMNS",
    "SEXES",
    "return_file_name",
    "AGE_BANDS",
    "COLUMNS",
    "COUNT_COLUMNS",
    "ERROR_COLUMNS",
    "FILE_LEVEL",
    "HEADER_ROW",
    "KEY_COLUMNS",
    "LOOKED_AFTER",
    "RULES",
    "SEXES",
    "IngestResult",
    "RegisterError",
    "ReturnFile",
    "Rule",
    "ValidationError",
    "add_ingest_arguments",
    "default_register_path",
    "ingest",
    "load_area_register",
    "run_ingest",
    "validate",
    "write_outputs",
]

# --------------------------------------------------------------------------- the return's format
# This module owns the annual return's format; the synthetic generator and the themes import it.

#: Columns of an annual return, in order.
RETURN_COLUMNS: tuple[str, ...] = (
    "area_code",
    "period",
    "age_band",
    "sex",
    "looked_after",
    "identified_at_risk",
    "confirmed_victims",
    "went_missing",
)
#: Category codes of a return; ``unknown`` is a valid code in each.
AGE_BANDS: tuple[str, ...] = ("0-9", "10-12", "13-15", "16-17", "unknown")
SEXES: tuple[str, ...] = ("female", "male", "unknown")
LOOKED_AFTER: tuple[str, ...] = ("yes", "no", "unknown")
#: File name of the synthetic area register (the default register returns are checked against).
REGISTER_FILE = "synthetic_area_register.csv"
#: Folder of the synthetic returns under ``data/synthetic/``.
RETURNS_DIR = "synthetic_returns"


def return_file_name(area_code: str, period: str) -> str:
    """Return the file name of one synthetic return.

    Examples
    --------
    >>> return_file_name("SYN007", "2011-12")
    'synthetic_return_SYN007_2011-12.csv'
    """
    return f"synthetic_return_{area_code}_{period}.csv"


#: Columns of a return (any order in the file; this order in the collated output).
COLUMNS: tuple[str, ...] = RETURN_COLUMNS
COUNT_COLUMNS: tuple[str, ...] = ("identified_at_risk", "confirmed_victims", "went_missing")
#: A cell of a return: at most one row per file for each combination.
KEY_COLUMNS: tuple[str, ...] = ("age_band", "sex", "looked_after")
#: Columns of the error report.
ERROR_COLUMNS: tuple[str, ...] = ("file", "row", "column", "rule", "message")
#: Failing position meaning "the whole file" (reported with an empty row).
FILE_LEVEL = -1
#: Failing position meaning "the header line".
HEADER_ROW = -2

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_NAME_AREA_PERIOD = re.compile(r"(?:^|_)([A-Za-z0-9]+)_(\d{4}-\d{2})$")
_MARKUP_START = ("<", "{", "[")


# --------------------------------------------------------------------------- parsed file


@dataclass
class ReturnFile:
    """One return file, parsed as far as its content allows (parsing never raises).

    Build one with :meth:`from_bytes`, :meth:`from_text` or :meth:`from_frame`.

    Attributes
    ----------
    name : str
        File name as reported (relative to the returns folder).
    raw : bytes
        The file's bytes.
    register : frozenset of str
        Area codes accepted.
    text : str or None
        Decoded text (byte-order mark removed); None if not UTF-8 text.
    markup : bool
        True if the text looks like HTML, XML or JSON rather than CSV.
    csv_error : str or None
        The CSV parser's complaint, if it could not read the file.
    header : list of str or None
        Header cells (stripped), if there is a first line.
    header_line : int
        Line number of the header.
    rows : list of list of str
        Data rows (cells stripped, blank lines skipped).
    lines : list of int
        Line number of each data row.
    data : pandas.DataFrame or None
        The data rows as strings, columns :data:`COLUMNS`, when the header and row lengths are
        sound; None otherwise (row rules are then not run).
    """

    name: str
    raw: bytes
    register: frozenset[str]
    text: str | None = None
    markup: bool = False
    csv_error: str | None = None
    header: list[str] | None = None
    header_line: int = 1
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    data: pd.DataFrame | None = None

    @classmethod
    def from_bytes(cls, name: str, raw: bytes, register: Iterable[str]) -> ReturnFile:
        """Parse a return from its bytes.

        Examples
        --------
        >>> f = ReturnFile.from_bytes("r.csv", b"\\xef\\xbb\\xbfarea_code\\r\\nX\\r\\n", {"X"})
        >>> f.header, f.rows, f.lines
        (['area_code'], [['X']], [2])
        """
        ctx = cls(name=name, raw=raw, register=frozenset(register))
        if b"\x00" in raw:
            return ctx
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ctx
        ctx.text = text
        stripped = text.lstrip()
        if not stripped:
            return ctx
        lowered = stripped[:2000].lower()
        if stripped.startswith(_MARKUP_START) or "<html" in lowered or "<!doctype" in lowered:
            ctx.markup = True
            return ctx
        records: list[tuple[int, list[str]]] = []
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            for row in reader:
                cells = [cell.strip() for cell in row]
                if any(cells):
                    records.append((reader.line_num, cells))
        except csv.Error as exc:
            ctx.csv_error = f"line {reader.line_num}: {exc}"
            return ctx
        if not records:
            return ctx
        ctx.header_line, ctx.header = records[0]
        ctx.lines = [line for line, _ in records[1:]]
        ctx.rows = [cells for _, cells in records[1:]]
        if ctx.structure_ok:
            position = {name: i for i, name in enumerate(ctx.header)}
            ctx.data = pd.DataFrame(
                {col: [row[position[col]] for row in ctx.rows] for col in COLUMNS},
                columns=list(COLUMNS),
                dtype=str,
            )
        return ctx

    @classmethod
    def from_text(
        cls, text: str, name: str = "return.csv", register: Iterable[str] = ()
    ) -> ReturnFile:
        """Parse a return from text (encoded as UTF-8).

        Examples
        --------
        >>> ReturnFile.from_text("area_code\\nX\\n", register={"X"}).rows
        [['X']]
        """
        return cls.from_bytes(name, text.encode("utf-8"), register)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, name: str = "return.csv", register: Iterable[str] = ()
    ) -> ReturnFile:
        """Parse a return written from a DataFrame (every cell as text); handy in tests.

        Examples
        --------
        >>> f = ReturnFile.from_frame(pd.DataFrame({"area_code": ["X"]}), register={"X"})
        >>> f.header
        ['area_code']
        """
        text = frame.astype(str).to_csv(index=False, lineterminator="\n")
        return cls.from_text(text, name, register)

    # -- structure -------------------------------------------------------------------

    @property
    def delimiter_problem(self) -> bool:
        """True if the header is a single field holding semicolons, tabs or pipes."""
        return (
            self.header is not None
            and len(self.header) == 1
            and any(sep in self.header[0] for sep in (";", "\t", "|"))
        )

    @property
    def missing_columns(self) -> list[str]:
        """Required columns absent from the header."""
        if self.header is None or self.delimiter_problem:
            return []
        return [col for col in COLUMNS if col not in self.header]

    @property
    def extra_columns(self) -> list[str]:
        """Header cells that are not columns of the return (in header order, unique)."""
        if self.header is None or self.delimiter_problem:
            return []
        return list(dict.fromkeys(c for c in self.header if c not in COLUMNS))

    @property
    def duplicate_columns(self) -> list[str]:
        """Column names appearing more than once in the header."""
        if self.header is None or self.delimiter_problem:
            return []
        seen: set[str] = set()
        dups: list[str] = []
        for col in self.header:
            if col in seen and col not in dups:
                dups.append(col)
            seen.add(col)
        return dups

    @property
    def ragged_rows(self) -> list[int]:
        """Positions of data rows whose number of fields differs from the header's."""
        if self.header is None or self.delimiter_problem:
            return []
        width = len(self.header)
        return [i for i, row in enumerate(self.rows) if len(row) != width]

    @property
    def structure_ok(self) -> bool:
        """True if the header is exactly the return's columns and every row fits it."""
        return (
            self.header is not None
            and not self.delimiter_problem
            and not self.missing_columns
            and not self.extra_columns
            and not self.duplicate_columns
            and not self.ragged_rows
        )

    # -- cell access used by row rules -----------------------------------------------

    def values(self, column: str) -> list[str]:
        """The column's cells as text (empty list when the data could not be read)."""
        return self._columns.get(column, [])

    @cached_property
    def _columns(self) -> dict[str, list[str]]:
        if self.data is None:
            return {}
        return {col: self.data[col].tolist() for col in self.data.columns}

    def counts(self, column: str) -> list[int | None]:
        """The column parsed as whole numbers >= 0; None where a cell is not one."""
        cache = self._counts
        if column not in cache:
            cache[column] = [_as_count(v) for v in self.values(column)]
        return cache[column]

    @cached_property
    def _counts(self) -> dict[str, list[int | None]]:
        return {}

    @property
    def area_period(self) -> tuple[str, str] | None:
        """The file's (area_code, period) if all its rows agree on one, else None."""
        areas = set(self.values("area_code"))
        periods = set(self.values("period"))
        if len(areas) == 1 and len(periods) == 1:
            (area,), (period,) = areas, periods
            if area and period:
                return area, period
        return None


def _as_number(text: str) -> float | None:
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _as_count(text: str) -> int | None:
    value = _as_number(text)
    if value is None or value < 0 or not value.is_integer():
        return None
    return int(value)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """One named validation rule.

    Attributes
    ----------
    code : str
        Short code, e.g. ``R02``; ``F`` rules concern the whole file, ``R`` rules rows.
    message : str
        What is wrong, in words a data manager can act on.
    fields : tuple of str
        Columns the rule concerns (reported in the error's ``column``).
    check : callable
        ``check(return_file) -> list[int]``: failing row positions (0-based data rows), or
        :data:`FILE_LEVEL` / :data:`HEADER_ROW`.
    columns : callable, optional
        For header rules, ``columns(return_file) -> list[str]``: the columns to report, one
        error each (e.g. each missing column).
    """

    code: str
    message: str
    fields: tuple[str, ...]
    check: Callable[[ReturnFile], Sequence[int]]
    columns: Callable[[ReturnFile], list[str]] | None = None

    @property
    def level(self) -> str:
        """``"file"`` for F rules, ``"row"`` for R rules, ``"collection"`` for X rules."""
        return {"F": "file", "R": "row", "X": "collection"}[self.code[0]]

    def __call__(self, ctx: ReturnFile) -> list[int]:
        """Return the sorted failing positions (empty if the rule passes)."""
        if self.level == "row" and ctx.data is None:
            return []
        return sorted(set(self.check(ctx)))


RULES: dict[str, Rule] = {}


def _rule(
    code: str,
    message: str,
    fields: Sequence[str] = (),
    columns: Callable[[ReturnFile], list[str]] | None = None,
) -> Callable[[Callable[[ReturnFile], Sequence[int]]], Callable[[ReturnFile], Sequence[int]]]:
    def register(check: Callable[[ReturnFile], Sequence[int]]):
        if code in RULES:
            raise ValueError(f"duplicate rule code {code}")
        RULES[code] = Rule(code, message, tuple(fields), check, columns)
        return check

    return register


def _file_fails(condition: bool) -> list[int]:
    return [FILE_LEVEL] if condition else []


# -- file-level rules -------------------------------------------------------------------


@_rule("F01", "file name does not end in .csv")
def _f01(ctx: ReturnFile) -> list[int]:
    return _file_fails(not ctx.name.lower().endswith(".csv"))


@_rule("F02", "file is empty")
def _f02(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.text is not None and not ctx.text.strip())


@_rule("F03", "file is not UTF-8 text (binary content, or saved in another encoding)")
def _f03(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.text is None)


@_rule("F04", "file content is HTML, XML or JSON, not CSV")
def _f04(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.markup)


@_rule("F05", "file cannot be read as CSV (for example an unclosed quote)")
def _f05(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.csv_error is not None)


@_rule("F06", "file is not comma-separated (semicolons, tabs or pipes); save it as CSV")
def _f06(ctx: ReturnFile) -> list[int]:
    return [HEADER_ROW] if ctx.delimiter_problem else []


@_rule("F07", "required column is missing", COLUMNS, columns=lambda c: c.missing_columns)
def _f07(ctx: ReturnFile) -> list[int]:
    return [HEADER_ROW] if ctx.missing_columns else []


@_rule(
    "F08",
    "column is not part of the return format",
    columns=lambda c: c.extra_columns,
)
def _f08(ctx: ReturnFile) -> list[int]:
    return [HEADER_ROW] if ctx.extra_columns else []


@_rule("F09", "column appears more than once in the header", columns=lambda c: c.duplicate_columns)
def _f09(ctx: ReturnFile) -> list[int]:
    return [HEADER_ROW] if ctx.duplicate_columns else []


@_rule("F10", "file has a header but no data rows (a nil return lists its cells with zeros)")
def _f10(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.header is not None and not ctx.delimiter_problem and not ctx.rows)


@_rule("F11", "row has a different number of fields from the header")
def _f11(ctx: ReturnFile) -> list[int]:
    return ctx.ragged_rows


# -- row rules --------------------------------------------------------------------------


def _blank(ctx: ReturnFile, column: str) -> list[int]:
    return [i for i, v in enumerate(ctx.values(column)) if v == ""]


@_rule("R01", "area_code is blank", ("area_code",))
def _r01(ctx: ReturnFile) -> list[int]:
    return _blank(ctx, "area_code")


@_rule("R02", "area_code is not in the area register", ("area_code",))
def _r02(ctx: ReturnFile) -> list[int]:
    return [i for i, v in enumerate(ctx.values("area_code")) if v and v not in ctx.register]


@_rule("R03", "period is blank", ("period",))
def _r03(ctx: ReturnFile) -> list[int]:
    return _blank(ctx, "period")


@_rule("R04", "period is not a financial year written YYYY-YY (e.g. 2011-12)", ("period",))
def _r04(ctx: ReturnFile) -> list[int]:
    return [i for i, v in enumerate(ctx.values("period")) if v and not _PERIOD.match(v)]


def _period_years_ok(text: str) -> bool:
    match = _PERIOD.match(text)
    if not match:
        return True  # R04 reports the format
    first, second = int(match.group(1)), int(match.group(2))
    return (first + 1) % 100 == second


@_rule(
    "R05",
    "period's second year is not the year after its first (e.g. 2011-12, not 2011-13)",
    ("period",),
)
def _r05(ctx: ReturnFile) -> list[int]:
    return [i for i, v in enumerate(ctx.values("period")) if not _period_years_ok(v)]


def _not_in(ctx: ReturnFile, column: str, allowed: Sequence[str]) -> list[int]:
    return [i for i, v in enumerate(ctx.values(column)) if v not in allowed]


@_rule("R06", f"age_band is not one of {', '.join(AGE_BANDS)}", ("age_band",))
def _r06(ctx: ReturnFile) -> list[int]:
    return _not_in(ctx, "age_band", AGE_BANDS)


@_rule("R07", f"sex is not one of {', '.join(SEXES)}", ("sex",))
def _r07(ctx: ReturnFile) -> list[int]:
    return _not_in(ctx, "sex", SEXES)


@_rule("R08", f"looked_after is not one of {', '.join(LOOKED_AFTER)}", ("looked_after",))
def _r08(ctx: ReturnFile) -> list[int]:
    return _not_in(ctx, "looked_after", LOOKED_AFTER)


def _differs_from_first(values: list[str]) -> list[int]:
    first = next((v for v in values if v), None)
    return [i for i, v in enumerate(values) if v and v != first]


@_rule("R09", "file holds more than one area_code (one area per file)", ("area_code",))
def _r09(ctx: ReturnFile) -> list[int]:
    return _differs_from_first(ctx.values("area_code"))


@_rule("R10", "file holds more than one period (one period per file)", ("period",))
def _r10(ctx: ReturnFile) -> list[int]:
    return _differs_from_first(ctx.values("period"))


def name_area_period(name: str) -> tuple[str, str] | None:
    """Return the (area, period) a file name ends with (``..._SYN001_2011-12.csv``), if any.

    Examples
    --------
    >>> name_area_period("synthetic_return_SYN001_2011-12.csv")
    ('SYN001', '2011-12')
    >>> name_area_period("return.csv") is None
    True
    """
    stem = Path(name).name
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    match = _NAME_AREA_PERIOD.search(stem)
    return (match.group(1), match.group(2)) if match else None


@_rule(
    "R11",
    "file name gives a different area_code or period from the row",
    ("area_code", "period"),
)
def _r11(ctx: ReturnFile) -> list[int]:
    named = name_area_period(ctx.name)
    if named is None:
        return []
    area, period = named
    return [
        i
        for i, (a, p) in enumerate(zip(ctx.values("area_code"), ctx.values("period"), strict=True))
        if (a and a != area) or (p and p != period)
    ]


@_rule(
    "R12",
    "the same age_band, sex and looked_after appear on more than one row",
    KEY_COLUMNS,
)
def _r12(ctx: ReturnFile) -> list[int]:
    seen: set[tuple[str, ...]] = set()
    dups: list[int] = []
    keys = zip(*(ctx.values(c) for c in KEY_COLUMNS), strict=True)
    for i, key in enumerate(keys):
        if key in seen:
            dups.append(i)
        seen.add(key)
    return dups


def _count_rules(first_code: int, column: str) -> None:
    def blank(ctx: ReturnFile) -> list[int]:
        return _blank(ctx, column)

    def not_number(ctx: ReturnFile) -> list[int]:
        return [i for i, v in enumerate(ctx.values(column)) if v and _as_number(v) is None]

    def negative(ctx: ReturnFile) -> list[int]:
        values = (_as_number(v) for v in ctx.values(column))
        return [i for i, v in enumerate(values) if v is not None and v < 0]

    def fractional(ctx: ReturnFile) -> list[int]:
        values = (_as_number(v) for v in ctx.values(column))
        return [i for i, v in enumerate(values) if v is not None and not v.is_integer()]

    checks = (
        (blank, f"{column} is blank"),
        (not_number, f"{column} is not a number"),
        (negative, f"{column} is negative"),
        (fractional, f"{column} is not a whole number"),
    )
    for offset, (check, message) in enumerate(checks):
        _rule(f"R{first_code + offset:02d}", message, (column,))(check)


_count_rules(13, "identified_at_risk")  # R13-R16
_count_rules(17, "confirmed_victims")  # R17-R20
_count_rules(21, "went_missing")  # R21-R24


def _above_identified(ctx: ReturnFile, column: str) -> list[int]:
    pairs = zip(ctx.counts(column), ctx.counts("identified_at_risk"), strict=True)
    return [
        i for i, (n, total) in enumerate(pairs) if n is not None and total is not None and n > total
    ]


@_rule(
    "R25",
    "confirmed_victims is greater than identified_at_risk",
    ("confirmed_victims", "identified_at_risk"),
)
def _r25(ctx: ReturnFile) -> list[int]:
    return _above_identified(ctx, "confirmed_victims")


@_rule(
    "R26",
    "went_missing is greater than identified_at_risk",
    ("went_missing", "identified_at_risk"),
)
def _r26(ctx: ReturnFile) -> list[int]:
    return _above_identified(ctx, "went_missing")


#: The collection-level rule, applied by :func:`ingest` across files.
DUPLICATE_RULE = Rule(
    "X01",
    "another file holds a return for the same area_code and period; neither is collated",
    ("area_code", "period"),
    lambda ctx: [],
)
RULES[DUPLICATE_RULE.code] = DUPLICATE_RULE


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ValidationError:
    """One line of the error report.

    Attributes
    ----------
    file : str
    row : int or None
        Line number in the file (the header is usually line 1); None for the whole file.
    column : str
        Column(s) concerned, ``;``-separated; empty for the whole file.
    rule : str
        Rule code.
    message : str
    """

    file: str
    row: int | None
    column: str
    rule: str
    message: str

    def as_row(self) -> list[str]:
        """The error as report cells."""
        return [
            self.file,
            "" if self.row is None else str(self.row),
            self.column,
            self.rule,
            self.message,
        ]

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}, line {self.row}"
        col = f", column {self.column}" if self.column else ""
        return f"{where}{col}: {self.rule} {self.message}"


def _detail(ctx: ReturnFile, rule: Rule, pos: int) -> str:
    """What was found, appended to the message: the cell values, or the parser's complaint."""
    if rule.level == "row" and pos >= 0 and rule.fields:
        found = [(f, ctx.values(f)[pos]) for f in rule.fields]
        if len(found) == 1:
            return f" (found {found[0][1]!r})"
        return " (found " + ", ".join(f"{f}={v!r}" for f, v in found) + ")"
    if rule.code == "F05" and ctx.csv_error:
        return f" ({ctx.csv_error})"
    if rule.code == "F11" and pos >= 0 and ctx.header is not None:
        return f" ({len(ctx.rows[pos])} fields, header has {len(ctx.header)})"
    return ""


def validate(ctx: ReturnFile, rules: Iterable[Rule] | None = None) -> list[ValidationError]:
    """Apply rules (default: all file and row rules) to one parsed return.

    Parameters
    ----------
    ctx : ReturnFile
    rules : iterable of Rule, optional

    Returns
    -------
    list of ValidationError
        Empty if the file is valid; in rule order, then row order.

    Examples
    --------
    >>> text = ("area_code,period,age_band,sex,looked_after,identified_at_risk,"
    ...         "confirmed_victims,went_missing\\nSYN001,2011-13,13-15,female,no,3,4,0\\n")
    >>> for e in validate(ReturnFile.from_text(text, register={"SYN001"})):
    ...     print(e.rule, e.row, e.column)
    R05 2 period
    R25 2 confirmed_victims;identified_at_risk
    >>> validate(ReturnFile.from_text(text, register={"SYN001"}))[0].message
    "period's second year is not the year after its first (e.g. 2011-12, not 2011-13) (found '2011-13')"
    """
    chosen = [r for r in RULES.values() if r.level != "collection"] if rules is None else rules
    errors: list[ValidationError] = []
    for rule in chosen:
        for pos in rule(ctx):
            if pos == FILE_LEVEL:
                row = None
            elif pos == HEADER_ROW:
                row = ctx.header_line
            else:
                row = ctx.lines[pos]
            columns = rule.columns(ctx) if rule.columns is not None else [";".join(rule.fields)]
            for column in columns:
                message = rule.message + _detail(ctx, rule, pos)
                errors.append(ValidationError(ctx.name, row, column, rule.code, message))
    return errors


# --------------------------------------------------------------------------- register


class RegisterError(ValueError):
    """The area register cannot be used (missing file, no ``area_code`` column, no codes)."""


def default_register_path() -> Path:
    """Return the synthetic area register's path (the default register).

    Examples
    --------
    >>> default_register_path().name
    'synthetic_area_register.csv'
    """
    return paths.DATA_SYNTHETIC / REGISTER_FILE


def load_area_register(path: Path | str | None = None) -> pd.DataFrame:
    """Read an area register CSV: the one loader of area registers in the project.

    Any CSV with an ``area_code`` column is a register (the synthetic one, or a list of real ONS
    codes); other columns (``child_population``, ``looked_after``, ``childrens_homes``, ...) are
    kept, numbers as numbers. Codes are stripped of surrounding blanks; blank codes are dropped.

    Parameters
    ----------
    path : path, optional
        Defaults to :func:`default_register_path` (the synthetic register).

    Returns
    -------
    pandas.DataFrame
        One row per area, sorted by ``area_code`` (a string column).

    Raises
    ------
    RegisterError
        If the file is missing or unreadable, has no ``area_code`` column or no codes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp, "reg.csv")
    ...     _ = p.write_text("area_code,name\\nE08000001,Bolton\\n", encoding="utf-8")
    ...     load_area_register(p)["area_code"].tolist()
    ['E08000001']
    """
    path = Path(path) if path is not None else default_register_path()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RegisterError(f"area register not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError(f"cannot read area register {path}: {exc}") from None
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
        if "area_code" not in [f.strip() for f in header]:
            raise RegisterError(f"area register {path} has no area_code column")
        frame = pd.read_csv(io.StringIO(text), dtype={"area_code": str}, skipinitialspace=True)
    except (csv.Error, pd.errors.ParserError) as exc:
        raise RegisterError(f"cannot read area register {path}: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    codes = frame["area_code"].fillna("").astype(str).str.strip()
    frame = frame.assign(area_code=codes)[codes != ""]
    if frame.empty:
        raise RegisterError(f"area register {path} lists no area codes")
    return frame.sort_values("area_code", kind="stable").reset_index(drop=True)


def _register_codes(path: Path | str | None = None) -> frozenset[str]:
    """The area codes of :func:`load_area_register`."""
    return frozenset(load_area_register(path)["area_code"])


# --------------------------------------------------------------------------- ingest


@dataclass
class IngestResult:
    """What :func:`ingest` found.

    Attributes
    ----------
    files : list of str
        Every file checked, sorted.
    valid : list of str
        Files collated.
    errors : list of ValidationError
    collated : pandas.DataFrame
        Valid returns: :data:`COLUMNS` (counts as int64) plus ``source_file``; sorted by
        area, period and line.
    """

    files: list[str]
    valid: list[str]
    errors: list[ValidationError]
    collated: pd.DataFrame

    @property
    def invalid(self) -> list[str]:
        """Files left out."""
        ok = set(self.valid)
        return [f for f in self.files if f not in ok]

    @property
    def exit_code(self) -> int:
        """0 if every file is valid, else 1."""
        return 0 if not self.errors else 1

    def errors_frame(self) -> pd.DataFrame:
        """The error report as a DataFrame (columns :data:`ERROR_COLUMNS`, all text)."""
        return pd.DataFrame(
            [e.as_row() for e in self.errors], columns=list(ERROR_COLUMNS), dtype=str
        )


def _empty_collated() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=str) for c in (*COLUMNS, "source_file")})
    for c in COUNT_COLUMNS:
        frame[c] = frame[c].astype("int64")
    return frame


def _list_files(folder: Path, exclude: Iterable[Path]) -> list[Path]:
    skip = {p.resolve() for p in exclude}
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.resolve() not in skip
        ),
        key=lambda p: p.name,
    )


def ingest(
    returns_dir: Path | str,
    register: Iterable[str] | None = None,
    *,
    exclude: Iterable[Path] = (),
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Validate every file in a folder and collate the valid returns.

    Parameters
    ----------
    returns_dir : path
        Folder of returns; every regular, non-hidden file in it (not sub-folders) is checked,
        so nothing is silently skipped (a non-``.csv`` file is reported by F01).
    register : iterable of str, optional
        Area codes accepted; default: the codes of :func:`load_area_register` (the synthetic
        register).
    exclude : iterable of path
        Files to ignore (the outputs, when written into the same folder).
    progress : callable, optional
        Called as ``progress(done, total)`` after each file.

    Returns
    -------
    IngestResult

    Examples
    --------
    >>> import tempfile, pathlib
    >>> head = ("area_code,period,age_band,sex,looked_after,identified_at_risk,"
    ...         "confirmed_victims,went_missing\\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = pathlib.Path(tmp, "a.csv").write_text(
    ...         head + "SYN001,2011-12,13-15,female,no,3,1,0\\n", encoding="utf-8")
    ...     _ = pathlib.Path(tmp, "b.csv").write_text(head + "SYN001;2011-12\\n")
    ...     res = ingest(tmp, {"SYN001"})
    >>> res.valid, [e.rule for e in res.errors], int(res.collated["identified_at_risk"].sum())
    (['a.csv'], ['F11'], 3)
    """
    folder = Path(returns_dir)
    codes = frozenset(register) if register is not None else _register_codes()
    files = _list_files(folder, exclude)
    parsed: list[ReturnFile] = []
    errors: dict[str, list[ValidationError]] = {}
    for done, path in enumerate(files, start=1):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            errors[path.name] = [
                ValidationError(path.name, None, "", "F00", f"file cannot be read: {exc}")
            ]
        else:
            ctx = ReturnFile.from_bytes(path.name, raw, codes)
            parsed.append(ctx)
            errors[path.name] = validate(ctx)
        if progress is not None:
            progress(done, len(files))

    by_key: dict[tuple[str, str], list[ReturnFile]] = defaultdict(list)
    for ctx in parsed:
        key = ctx.area_period
        if key is not None:
            by_key[key].append(ctx)
    for (area, period), group in by_key.items():
        if len(group) > 1:
            for ctx in group:
                others = ", ".join(o.name for o in group if o is not ctx)
                errors[ctx.name].append(
                    ValidationError(
                        ctx.name,
                        None,
                        "area_code;period",
                        DUPLICATE_RULE.code,
                        f"{DUPLICATE_RULE.message} ({area} {period}; also in {others})",
                    )
                )

    valid: list[str] = []
    frames: list[pd.DataFrame] = []
    for ctx in parsed:
        if errors[ctx.name] or ctx.data is None:
            continue
        valid.append(ctx.name)
        frame = ctx.data.copy()
        for col in COUNT_COLUMNS:
            frame[col] = pd.Series(ctx.counts(col), dtype="int64")
        frame["source_file"] = ctx.name
        frame["_line"] = ctx.lines
        frames.append(frame)
    if frames:
        collated = pd.concat(frames, ignore_index=True)
        collated = collated.sort_values(["area_code", "period", "source_file", "_line"])
        collated = collated.drop(columns="_line").reset_index(drop=True)
    else:
        collated = _empty_collated()
    all_errors = [e for name in sorted(errors) for e in errors[name]]
    return IngestResult([p.name for p in files], valid, all_errors, collated)


# --------------------------------------------------------------------------- writing


def _atomic_write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV with :func:`analysis.tables.atomic_write`: an interrupted run leaves any
    previous file at ``path`` intact and no temporary file."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    atomic_write(path, write)


def errors_path_for(out: Path | str) -> Path:
    """Return the error report path beside a collated output: ``X.csv`` -> ``X.errors.csv``.

    Examples
    --------
    >>> errors_path_for("build/collated.csv").name
    'collated.errors.csv'
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.errors.csv")


def write_outputs(
    result: IngestResult, out: Path | str, errors_out: Path | str | None = None
) -> Path:
    """Write the collated returns and the error report atomically; return the report's path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> res = IngestResult([], [], [], _empty_collated())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = write_outputs(res, pathlib.Path(tmp, "c.csv"))
    ...     print(report.read_text().strip())
    file,row,column,rule,message
    """
    out = Path(out)
    report = Path(errors_out) if errors_out is not None else errors_path_for(out)
    columns = [*COLUMNS, "source_file"]
    _atomic_write_csv(out, columns, result.collated.loc[:, columns].itertuples(index=False))
    _atomic_write_csv(report, ERROR_COLUMNS, (e.as_row() for e in result.errors))
    return report


# --------------------------------------------------------------------------- command line


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``python -m analysis ingest`` to ``parser``.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_ingest_arguments(p)
    >>> a = p.parse_args(["returns/", "--out", "c.csv"])
    >>> a.returns_dir.name, a.out.name, a.register
    ('returns', 'c.csv', None)
    """
    parser.add_argument("returns_dir", type=Path, metavar="RETURNS_DIR", help="folder of returns")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="COLLATED.csv", help="collated valid returns"
    )
    parser.add_argument(
        "--register",
        type=Path,
        default=None,
        metavar="REGISTER.csv",
        help="CSV with an area_code column (default: the synthetic area register)",
    )
    parser.add_argument(
        "--errors",
        type=Path,
        default=None,
        metavar="ERRORS.csv",
        help="error report (default: COLLATED.errors.csv beside --out)",
    )
    parser.add_argument(
        "--progress-every",
        type=int,
        default=100,
        metavar="N",
        help="print a progress line every N files (0 for none; default 100)",
    )
    parser.add_argument(
        "--max-errors-shown",
        type=int,
        default=50,
        metavar="N",
        help="errors echoed to stderr (all are in the report; default 50)",
    )


def run_ingest(args: argparse.Namespace) -> int:
    """Run ``python -m analysis ingest``; return 0 (all valid), 1 (some invalid) or 2 (usage).

    Examples
    --------
    >>> run_ingest(argparse.Namespace(returns_dir=Path("/no/such/dir"), out=Path("c.csv"),
    ...            register=None))
    2
    """
    err = sys.stderr
    folder = Path(args.returns_dir)
    if not folder.is_dir():
        print(f"ingest: returns folder not found: {folder}", file=err)
        return 2
    try:
        codes = _register_codes(getattr(args, "register", None))
    except RegisterError as exc:
        print(f"ingest: {exc}", file=err)
        return 2
    out = Path(args.out)
    errors_out = getattr(args, "errors", None)
    report_path = Path(errors_out) if errors_out is not None else errors_path_for(out)
    every = int(getattr(args, "progress_every", 100) or 0)

    def progress(done: int, total: int) -> None:
        if every > 0 and total >= every and (done % every == 0 or done == total):
            print(f"ingest: checked {done}/{total} files", file=err)

    try:
        result = ingest(folder, codes, exclude=(out, report_path), progress=progress)
    except OSError as exc:
        print(f"ingest: cannot read {folder}: {exc}", file=err)
        return 2
    if not result.files:
        print(f"ingest: no files in {folder}", file=err)
        return 2
    try:
        write_outputs(result, out, report_path)
    except OSError as exc:
        print(f"ingest: cannot write output: {exc}", file=err)
        return 2
    shown = int(getattr(args, "max_errors_shown", 50))
    for error in result.errors[:shown]:
        print(error, file=err)
    if len(result.errors) > shown:
        print(f"ingest: ... and {len(result.errors) - shown} more errors", file=err)
    print(
        f"ingest: {len(result.files)} files checked, {len(result.valid)} valid and collated "
        f"({len(result.collated)} rows) to {out}; {len(result.invalid)} invalid, "
        f"{len(result.errors)} errors in {report_path}",
    )
    return result.exit_code
