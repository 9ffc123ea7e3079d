"""Validate and collate annual returns: one CSV per area and financial year.

The return format
-----------------
A return is a UTF-8 CSV file (with or without a byte-order mark, LF or CRLF line endings, every
line ending in a line break), comma-separated, whose header holds exactly these columns (in
any order):

``area_code, period, age_band, sex, looked_after, identified_at_risk, confirmed_victims,
went_missing``

* ``area_code`` is in the area register in use (by default the synthetic register;
  ``--register`` takes any CSV with an ``area_code`` column, e.g. real codes like E08000001,
  or ``england`` / ``england:YYYY``: England's real authorities, from the downloaded files);
* ``period`` is a financial year ``YYYY-YY`` (ASCII digits) whose second part is the year
  after the first;
* ``age_band`` is one of ``0-9, 10-12, 13-15, 16-17, unknown``; ``sex`` one of
  ``female, male, unknown``; ``looked_after`` one of ``yes, no, unknown``;
* the three counts are whole numbers from 0 to :data:`MAX_COUNT` (one million) written with the
  ASCII digits 0-9 (``3``, ``+3``, ``3.0``; never ``٣``, ``３``, ``1e3`` or ``3_000``), read
  exactly (never through floating point, so nothing is rounded), with ``confirmed_victims``
  and ``went_missing`` each at most ``identified_at_risk``. The maximum is far above any
  authority's count for one cell (a cell counts the children of one age band, sex and
  looked-after status in one area and year), so a larger number is a typing or export error;
* each (age_band, sex, looked_after) appears at most once; one area and one period per file;
  if the file name ends ``_<area>_<YYYY-YY>.csv`` it must agree with the rows;
* at least one data row (a nil return lists its cells with zero counts). Cells that are absent
  are not an error: the collated output simply has no row for them;
* at most :data:`MAX_FILE_BYTES` (1 MB; a full return of 45 cells is about 3 KB).

Cells are read as text first (surrounding spaces are removed, blank lines are skipped) and then
checked, so every error names its file, line and column.

A file whose last line has no line break is an **error** (F16), not a warning: every export tool
ends a CSV's last line with one, so a missing break is the mark of a file cut short in transfer,
and a cut can fall inside a number (``11`` read as ``1``) while leaving a file that passes every
other rule. Rejecting it costs the sender one re-export; accepting it could collate a wrong
count without a word.

Rules
-----
Each check is a :class:`Rule` with a ``code``, a human ``message``, the ``fields`` it concerns
and a ``check`` function returning the failing row positions, modelled on the open-source
validators of the Department for Education's statutory returns (Social Finance's
quality-lac-data-beta-validator; data-to-insight's CIN census validator). ``F`` rules concern
the file as a whole (their failing position is :data:`FILE_LEVEL` or :data:`HEADER_ROW`),
including what the folder entry is (F00 unreadable, F12 not a regular file, F13 a broken
link, F14 a link leaving the folder, F15 too large, F17 a file name that is not UTF-8); ``R``
rules single rows (positions are 0-based data-row indices); ``X01`` the collection (two files
for one area and period; :func:`find_duplicates` records them on each file first, so X01 is
checked like any other rule). :data:`RULES` lists them all. (F01, "not a .csv file", is
retired: such files are now skipped, see below.)

Ingest
------
:func:`ingest` runs three steps: :func:`read_returns` reads the folder (each entry once, never
following a link out of it, never opening a FIFO or device, never reading more than
:data:`MAX_FILE_BYTES`), :func:`find_duplicates` finds files for the same area and period, and
:func:`collate` stacks the valid files; every file is validated in between. An invalid file is
reported and left out whole, never partly loaded; two files for the same area and period are
both reported and neither is collated. Entries that are not returns (hidden files, folders,
``README.txt``, spreadsheets) are listed as skipped with the reason and change nothing else.
At most :data:`MAX_ERRORS_PER_FILE` error rows are kept per file; a last row (rule ``F99``)
gives the count of the rest.

:func:`run_ingest` (``python -m analysis ingest``) writes the collated valid returns and an
error report ``file,row,column,rule,message`` (``row`` is the line number in the file, empty
for problems with the whole file) as a pair with :func:`analysis.tables.atomic_write_all`: after
SIGINT or SIGTERM the two files are both from the previous run or both from the new one, and no
temporary file is left. ``SIGKILL`` cannot be caught: it can leave ``.<name>.*.tmp`` files
beside the outputs and, if it falls between the two renames, the new collated output beside the
previous run's report (never a half-written file). It exits 0 when every file is valid, 1 when
any is not, 2 for usage errors (including ``--out`` or ``--errors`` inside the returns folder,
or ``--errors`` the same file as ``--out``) and 128 + the signal's number when interrupted.

Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import stat
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import paths
from analysis.tables import Interrupted, atomic_write_all

__all__ = [
    "AGE_BANDS",
    "COLUMNS",
    "COUNT_COLUMNS",
    "ERROR_COLUMNS",
    "FILE_LEVEL",
    "HEADER_ROW",
    "KEY_COLUMNS",
    "LOOKED_AFTER",
    "MAX_COUNT",
    "MAX_ERRORS_PER_FILE",
    "MAX_FILE_BYTES",
    "MORE_ERRORS",
    "Number",
    "REGISTER_FILE",
    "RETURNS_DIR",
    "RETURN_COLUMNS",
    "RULES",
    "SEXES",
    "IngestResult",
    "RegisterError",
    "ReturnFile",
    "Rule",
    "ValidationError",
    "add_ingest_arguments",
    "collate",
    "default_register_path",
    "find_duplicates",
    "ingest",
    "load_area_register",
    "read_number",
    "read_returns",
    "register_codes",
    "return_file_name",
    "run_ingest",
    "validate",
    "write_outputs",
]

# --------------------------------------------------------------------------- the return's format
# This module owns the annual return's format; the synthetic generator and the themes import it.

#: A cell of a return: at most one row per file for each combination.
KEY_COLUMNS: tuple[str, ...] = ("age_band", "sex", "looked_after")
#: The counts of a cell.
COUNT_COLUMNS: tuple[str, ...] = ("identified_at_risk", "confirmed_victims", "went_missing")
#: Columns of an annual return, in order.
RETURN_COLUMNS: tuple[str, ...] = ("area_code", "period", *KEY_COLUMNS, *COUNT_COLUMNS)
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
#: Columns of the error report.
ERROR_COLUMNS: tuple[str, ...] = ("file", "row", "column", "rule", "message")
#: Failing position meaning "the whole file" (reported with an empty row).
FILE_LEVEL = -1
#: Failing position meaning "the header line".
HEADER_ROW = -2

#: Largest count accepted in a cell (see the module docstring).
MAX_COUNT = 1_000_000
#: Largest return read, in bytes; a larger file is rejected unread (F15).
MAX_FILE_BYTES = 1_000_000
#: Error rows kept per file; a last ``F99`` row gives the count of the rest.
MAX_ERRORS_PER_FILE = 100
#: Rule code of the row that counts the errors not listed for a file.
MORE_ERRORS = "F99"

# ASCII digits only: ``\d`` would also match Arabic-Indic, full-width and other digits.
_PERIOD = re.compile(r"^([0-9]{4})-([0-9]{2})$", re.ASCII)
_NUMBER = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?$", re.ASCII)
_NAME_AREA_PERIOD = re.compile(r"(?:^|_)([A-Za-z0-9]+)_([0-9]{4}-[0-9]{2})$", re.ASCII)
#: Spreadsheet formats a return is sometimes sent in instead of CSV.
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
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
    table : dict of str to list of str, or None
        The data rows' cells by column, for the columns :data:`COLUMNS` in that order, when
        the header and row lengths are sound; None otherwise (row rules are then not run).
        :attr:`data` is the same as a frame.
    name_ok : bool
        False if the file name on disk is not valid UTF-8 (``name`` then shows the bad bytes
        as ``\\xNN``).
    entry_problem : tuple of (str, str) or None
        Why the folder entry could not be read as a file: the rule code (F00, F12, F13, F14 or
        F15) and what was found. Its content rules are then not run.
    duplicates : tuple of str
        Other files holding a return for the same area and period (set by
        :func:`find_duplicates`).
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
    table: dict[str, list[str]] | None = None
    name_ok: bool = True
    entry_problem: tuple[str, str] | None = None
    duplicates: tuple[str, ...] = ()

    @classmethod
    def unread(
        cls, name: str, register: Iterable[str], code: str, found: str, name_ok: bool = True
    ) -> ReturnFile:
        """A folder entry that could not be read as a file (rule ``code``; ``found`` says why).

        Examples
        --------
        >>> f = ReturnFile.unread("pipe.csv", set(), "F12", "a FIFO (named pipe)")
        >>> f.entry_problem, f.text is None
        (('F12', 'a FIFO (named pipe)'), True)
        """
        return cls(name, b"", frozenset(register), name_ok=name_ok, entry_problem=(code, found))

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
            ctx.table = {col: [row[position[col]] for row in ctx.rows] for col in COLUMNS}
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

    @cached_property
    def data(self) -> pd.DataFrame | None:
        """The data rows as strings, columns :data:`COLUMNS` (:attr:`table` as a frame), when
        the header and row lengths are sound; None otherwise."""
        if self.table is None:
            return None
        return pd.DataFrame(self.table, columns=list(COLUMNS), dtype=str)

    def values(self, column: str) -> list[str]:
        """The column's cells as text (empty list when the data could not be read)."""
        return self.table.get(column, []) if self.table is not None else []

    def numbers(self, column: str) -> list[Number | None]:
        """The column's cells read as numbers (:func:`read_number`); None where not one."""
        cache = self._numbers
        if column not in cache:
            cache[column] = [read_number(v) for v in self.values(column)]
        return cache[column]

    @cached_property
    def _numbers(self) -> dict[str, list[Number | None]]:
        return {}

    def counts(self, column: str) -> list[int | None]:
        """The column as exact whole numbers from 0 to :data:`MAX_COUNT`; None elsewhere."""
        return [n.count if n is not None else None for n in self.numbers(column)]

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

    @property
    def truncated(self) -> bool:
        """True if the file holds CSV text whose last line has no line break."""
        return (
            self.text is not None
            and not self.markup
            and bool(self.text.strip())
            and not self.text.endswith(("\n", "\r"))
        )


@dataclass(frozen=True)
class Number:
    """A cell read as a number, exactly (no floating point).

    Attributes
    ----------
    negative : bool
        Below zero (``-0`` is not).
    whole : bool
        No non-zero digit after the decimal point.
    too_large : bool
        Above :data:`MAX_COUNT` (and not negative).
    count : int or None
        The value, when it is a whole number from 0 to :data:`MAX_COUNT`.
    """

    negative: bool
    whole: bool
    too_large: bool
    count: int | None


def read_number(text: str) -> Number | None:
    """Read a count cell exactly: ASCII digits, an optional sign and decimal part; else None.

    Nothing is rounded: ``3.0000000000000001`` is not whole, and a number of any length is
    compared with :data:`MAX_COUNT` digit by digit, never converted to a float.

    Examples
    --------
    >>> read_number("007").count, read_number("3.0").count, read_number("-0").count
    (7, 3, 0)
    >>> read_number("3.0000000000000001").whole
    False
    >>> read_number("9" * 31).too_large, read_number("٣"), read_number("1e3")
    (True, None, None)
    """
    match = _NUMBER.match(text)
    if match is None:
        return None
    sign, whole_part, fraction = match.group(1), match.group(2), match.group(3) or ""
    if not whole_part and not fraction:
        return None
    digits = whole_part.lstrip("0")
    fractional = any(ch != "0" for ch in fraction)
    negative = sign == "-" and (bool(digits) or fractional)
    limit = str(MAX_COUNT)
    too_large = not negative and (
        len(digits) > len(limit)
        or (len(digits) == len(limit) and (digits > limit or (digits == limit and fractional)))
    )
    count = int(digits or "0") if not (negative or fractional or too_large) else None
    return Number(negative, not fractional, too_large, count)


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
        if self.level == "row" and ctx.table is None:
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


def _entry(code: str) -> Callable[[ReturnFile], list[int]]:
    def check(ctx: ReturnFile) -> list[int]:
        return _file_fails(ctx.entry_problem is not None and ctx.entry_problem[0] == code)

    return check


_rule("F00", "file cannot be read")(_entry("F00"))


@_rule("F02", "file is empty")
def _f02(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.text is not None and not ctx.text.strip())


@_rule("F03", "file is not UTF-8 text (binary content, or saved in another encoding)")
def _f03(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.text is None and ctx.entry_problem is None)


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


_rule("F12", "not a regular file (a return is a plain file)")(_entry("F12"))
_rule("F13", "symbolic link that leads to no file")(_entry("F13"))
_rule(
    "F14",
    "symbolic link to a file outside the returns folder; refused (copy the file in instead)",
)(_entry("F14"))
_rule(
    "F15",
    f"file is larger than {MAX_FILE_BYTES:,} bytes (a full return is a few kilobytes); not read",
)(_entry("F15"))


@_rule(
    "F16",
    "last line has no line break: the file may have been cut short in transfer; send it "
    "again (if the last row is complete, end it with a line break)",
)
def _f16(ctx: ReturnFile) -> list[int]:
    return _file_fails(ctx.truncated)


@_rule("F17", "file name is not valid UTF-8 text; rename the file")
def _f17(ctx: ReturnFile) -> list[int]:
    return _file_fails(not ctx.name_ok)


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
        return [
            i
            for i, (v, n) in enumerate(zip(ctx.values(column), ctx.numbers(column), strict=True))
            if v and n is None
        ]

    def negative(ctx: ReturnFile) -> list[int]:
        return [i for i, n in enumerate(ctx.numbers(column)) if n is not None and n.negative]

    def fractional(ctx: ReturnFile) -> list[int]:
        return [i for i, n in enumerate(ctx.numbers(column)) if n is not None and not n.whole]

    checks = (
        (blank, f"{column} is blank"),
        (not_number, f"{column} is not a number written with the digits 0-9"),
        (negative, f"{column} is negative"),
        (fractional, f"{column} is not a whole number"),
    )
    for offset, (check, message) in enumerate(checks):
        _rule(f"R{first_code + offset:02d}", message, (column,))(check)


_count_rules(13, "identified_at_risk")  # R13-R16
_count_rules(17, "confirmed_victims")  # R17-R20
_count_rules(21, "went_missing")  # R21-R24


def _above_identified(column: str) -> Callable[[ReturnFile], list[int]]:
    def check(ctx: ReturnFile) -> list[int]:
        pairs = zip(ctx.counts(column), ctx.counts("identified_at_risk"), strict=True)
        return [
            i
            for i, (n, total) in enumerate(pairs)
            if n is not None and total is not None and n > total
        ]

    return check


for _code, _column in (("R25", "confirmed_victims"), ("R26", "went_missing")):
    _rule(_code, f"{_column} is greater than identified_at_risk", (_column, "identified_at_risk"))(
        _above_identified(_column)
    )


def _too_large(column: str) -> Callable[[ReturnFile], list[int]]:
    def check(ctx: ReturnFile) -> list[int]:
        return [i for i, n in enumerate(ctx.numbers(column)) if n is not None and n.too_large]

    return check


for _code, _column in (
    ("R27", "identified_at_risk"),
    ("R28", "confirmed_victims"),
    ("R29", "went_missing"),
):
    _rule(_code, f"{_column} is above {MAX_COUNT:,}, more than any cell can hold", (_column,))(
        _too_large(_column)
    )


@_rule(
    "X01",
    "another file holds a return for the same area_code and period; neither is collated",
    ("area_code", "period"),
)
def _x01(ctx: ReturnFile) -> list[int]:
    return _file_fails(bool(ctx.duplicates))


#: The collection-level rule (two files for one area and period).
DUPLICATE_RULE = RULES["X01"]


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


def _shown(value: str, width: int = 40) -> str:
    """A cell as an error message quotes it: repr, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def _detail(ctx: ReturnFile, rule: Rule, pos: int) -> str:
    """What was found, appended to the message: the cell values, or the parser's complaint."""
    if rule.level == "row" and pos >= 0 and rule.fields:
        found = [(f, ctx.values(f)[pos]) for f in rule.fields]
        if len(found) == 1:
            return f" (found {_shown(found[0][1])})"
        return " (found " + ", ".join(f"{f}={_shown(v)}" for f, v in found) + ")"
    if ctx.entry_problem is not None and rule.code == ctx.entry_problem[0]:
        return f" ({ctx.entry_problem[1]})"
    if rule.code == "F05" and ctx.csv_error:
        return f" ({ctx.csv_error})"
    if rule.code == "F11" and pos >= 0 and ctx.header is not None:
        return f" ({len(ctx.rows[pos])} fields, header has {len(ctx.header)})"
    if rule.code == "X01" and ctx.duplicates:
        area, period = ctx.area_period or ("", "")
        return f" ({area} {period}; also in {', '.join(ctx.duplicates)})"
    return ""


def validate(
    ctx: ReturnFile,
    rules: Iterable[Rule] | None = None,
    *,
    limit: int | None = MAX_ERRORS_PER_FILE,
) -> list[ValidationError]:
    """Apply rules (default: every rule of :data:`RULES`) to one parsed return.

    Parameters
    ----------
    ctx : ReturnFile
    rules : iterable of Rule, optional
    limit : int or None
        Error rows kept (default :data:`MAX_ERRORS_PER_FILE`); when more are found, a last
        row with rule :data:`MORE_ERRORS` gives the count of the rest. None keeps all.

    Returns
    -------
    list of ValidationError
        Empty if the file is valid; in rule order, then row order.

    Notes
    -----
    X01 (another file for the same area and period) fails only on files
    :func:`find_duplicates` has marked.

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
    chosen = list(RULES.values()) if rules is None else list(rules)
    errors: list[ValidationError] = []
    more = 0
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
                if limit is not None and len(errors) >= limit:
                    more += 1
                    continue
                message = rule.message + _detail(ctx, rule, pos)
                errors.append(ValidationError(ctx.name, row, column, rule.code, message))
    if more:
        errors.append(
            ValidationError(
                ctx.name,
                None,
                "",
                MORE_ERRORS,
                f"and {more:,} more error{'s' if more != 1 else ''} in this file, not listed "
                f"(the first {limit} are): fix those and run again",
            )
        )
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
    """The area codes of :func:`load_area_register`, or of England's authorities.

    ``england`` names every real authority code of 2012-2025 and ``england:YYYY`` those of one
    reporting year (:func:`analysis.areas.register_codes`, built from the downloaded files).
    """
    spec = str(path or "").strip()
    if re.fullmatch(r"(?i)england(:\d{4})?", spec) and not Path(spec).exists():
        from analysis import areas, external

        try:
            return areas.register_codes(spec)
        except (ValueError, external.ExternalDataError) as exc:
            raise RegisterError(f"cannot build the register {spec!r}: {exc}") from None
    return frozenset(load_area_register(path)["area_code"])


# --------------------------------------------------------------------------- ingest


@dataclass
class IngestResult:
    """What :func:`ingest` found.

    Attributes
    ----------
    files : list of str
        Every entry checked as a return, sorted.
    valid : list of str
        Files collated.
    errors : list of ValidationError
    collated : pandas.DataFrame
        Valid returns: :data:`COLUMNS` (counts as int64) plus ``source_file``; sorted by
        area, period and line.
    skipped : list of (str, str)
        Entries that are not returns (hidden files, folders, other file types) and why.
    """

    files: list[str]
    valid: list[str]
    errors: list[ValidationError]
    collated: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def invalid(self) -> list[str]:
        """Files left out."""
        ok = set(self.valid)
        return [f for f in self.files if f not in ok]

    @property
    def exit_code(self) -> int:
        """0 if every file is valid, else 1 (skipped entries do not count)."""
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


def _display_name(name: str) -> tuple[str, bool]:
    """The name as reports show it, and whether it is valid UTF-8 (bad bytes as ``\\xNN``).

    Examples
    --------
    >>> _display_name("return.csv")
    ('return.csv', True)
    >>> _display_name(os.fsdecode(b"r\\xe9turn.csv"))
    ('r\\\\xe9turn.csv', False)
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", errors="backslashreplace"), False
    return name, True


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def _skip_reason(name: str) -> str | None:
    """Why a regular file is not read as a return (None: it is a return)."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return None
    if lowered.endswith(_SPREADSHEETS):
        return "a spreadsheet, not a CSV file: export it as CSV (UTF-8) and put the .csv here"
    return "not a .csv file, so not a return"


def _read_entry(path: Path, folder: Path, codes: frozenset[str]) -> ReturnFile | tuple[str, str]:
    """Read one folder entry: a parsed return, or (name, why it is skipped).

    Links are followed only to files inside ``folder``; only regular files are opened (with
    ``O_NONBLOCK``, so even a FIFO swapped in at the last moment cannot block), and at most
    :data:`MAX_FILE_BYTES` + 1 bytes are read.
    """
    name, name_ok = _display_name(path.name)
    if path.name.startswith("."):
        return name, "hidden file"

    def unread(code: str, found: str) -> ReturnFile:
        return ReturnFile.unread(name, codes, code, found, name_ok=name_ok)

    try:
        info = os.lstat(path)
    except OSError as exc:
        return unread("F00", exc.strerror or str(exc))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return unread("F13", f"it points to {os.readlink(path)!r}, which does not exist")
        except (RuntimeError, OSError) as exc:  # a loop (ELOOP), or an unreadable hop
            return unread("F13", f"it cannot be followed ({getattr(exc, 'strerror', None) or exc})")
        if folder not in target.parents:
            return unread("F14", f"it points to {target}")
        try:
            info = os.stat(path)
        except OSError as exc:
            return unread("F00", exc.strerror or str(exc))
    else:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # not a link when looked at: refuse one swapped in
    if stat.S_ISDIR(info.st_mode):
        return name, "a folder (sub-folders are not read)"
    if not stat.S_ISREG(info.st_mode):
        return unread("F12", f"it is {_kind(info.st_mode)}")
    reason = _skip_reason(path.name)
    if reason is not None:
        return name, reason
    if info.st_size > MAX_FILE_BYTES:
        return unread("F15", f"{info.st_size:,} bytes")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return unread("F00", exc.strerror or str(exc))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return unread("F12", f"it is {_kind(opened.st_mode)}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return unread("F00", exc.strerror or str(exc))
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        return unread("F15", f"more than {MAX_FILE_BYTES:,} bytes")
    ctx = ReturnFile.from_bytes(name, raw, codes)
    ctx.name_ok = name_ok
    return ctx


def read_returns(
    returns_dir: Path | str,
    register: Iterable[str],
    *,
    exclude: Iterable[Path] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[ReturnFile], list[tuple[str, str]]]:
    """Step 1 of :func:`ingest`: read every entry of a folder, once.

    Parameters
    ----------
    returns_dir : path
        The folder (sub-folders are not read).
    register : iterable of str
        Area codes accepted.
    exclude : iterable of path
        Entries to skip (listed as skipped).
    progress : callable, optional
        Called as ``progress(done, total)`` after each entry.

    Returns
    -------
    (files, skipped) : list of ReturnFile, list of (str, str)
        Every entry read as a return (parsed, or with its ``entry_problem``), sorted by name;
        and every entry skipped with the reason.
    """
    folder = Path(returns_dir).resolve()
    codes = frozenset(register)
    skip = {Path(p).resolve() for p in exclude}
    entries = sorted(folder.iterdir(), key=lambda p: _display_name(p.name)[0])
    files: list[ReturnFile] = []
    skipped: list[tuple[str, str]] = []
    for done, path in enumerate(entries, start=1):
        if skip and not path.is_symlink() and path.resolve() in skip:
            skipped.append((_display_name(path.name)[0], "an output of this ingest"))
        else:
            read = _read_entry(path, folder, codes)
            if isinstance(read, ReturnFile):
                files.append(read)
            else:
                skipped.append(read)
        if progress is not None:
            progress(done, len(entries))
    return files, skipped


def find_duplicates(files: Sequence[ReturnFile]) -> None:
    """Step 2 of :func:`ingest`: record on each file the others for its area and period.

    Sets :attr:`ReturnFile.duplicates`, which rule X01 checks.

    Examples
    --------
    >>> head = ("area_code,period,age_band,sex,looked_after,identified_at_risk,"
    ...         "confirmed_victims,went_missing\\n")
    >>> row = "SYN001,2011-12,13-15,female,no,3,1,0\\n"
    >>> a, b = (ReturnFile.from_text(head + row, n, {"SYN001"}) for n in ("a.csv", "b.csv"))
    >>> find_duplicates([a, b])
    >>> a.duplicates, [e.rule for e in validate(b)]
    (('b.csv',), ['X01'])
    """
    by_key: dict[tuple[str, str], list[ReturnFile]] = defaultdict(list)
    for ctx in files:
        key = ctx.area_period
        if key is not None:
            by_key[key].append(ctx)
    for group in by_key.values():
        for ctx in group:
            ctx.duplicates = tuple(o.name for o in group if o is not ctx)


def collate(files: Sequence[ReturnFile], errors: dict[str, list[ValidationError]]) -> pd.DataFrame:
    """Step 3 of :func:`ingest`: stack the files without errors into one frame.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` (counts as exact int64) plus ``source_file``, sorted by area, period,
        file and line.
    """
    cells: dict[str, list[Any]] = {col: [] for col in (*COLUMNS, "source_file", "_line")}
    for ctx in files:
        if errors.get(ctx.name) or ctx.table is None:
            continue
        for col in COLUMNS:
            cells[col] += ctx.counts(col) if col in COUNT_COLUMNS else ctx.table[col]
        cells["source_file"] += [ctx.name] * len(ctx.lines)
        cells["_line"] += ctx.lines
    if not cells["_line"]:
        return _empty_collated()
    collated = pd.DataFrame(
        {
            col: pd.Series(values, dtype="int64" if col in COUNT_COLUMNS or col == "_line" else str)
            for col, values in cells.items()
        }
    )
    collated = collated.sort_values(["area_code", "period", "source_file", "_line"])
    return collated.drop(columns="_line").reset_index(drop=True)


def ingest(
    returns_dir: Path | str,
    register: Iterable[str] | None = None,
    *,
    exclude: Iterable[Path] = (),
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Validate every file in a folder and collate the valid returns.

    :func:`read_returns`, :func:`find_duplicates`, :func:`validate` for each file, then
    :func:`collate`.

    Parameters
    ----------
    returns_dir : path
        Folder of returns; every entry in it (not in sub-folders) is either checked as a
        return or listed as skipped with the reason, so nothing is passed over in silence.
    register : iterable of str, optional
        Area codes accepted; default: the codes of :func:`load_area_register` (the synthetic
        register).
    exclude, progress
        As for :func:`read_returns`: entries to skip, and a callback after each entry.

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
    ...     _ = pathlib.Path(tmp, "README.txt").write_text("notes\\n")
    ...     res = ingest(tmp, {"SYN001"})
    >>> res.valid, [e.rule for e in res.errors], int(res.collated["identified_at_risk"].sum())
    (['a.csv'], ['F11'], 3)
    >>> res.skipped
    [('README.txt', 'not a .csv file, so not a return')]
    """
    codes = frozenset(register) if register is not None else _register_codes()
    files, skipped = read_returns(returns_dir, codes, exclude=exclude, progress=progress)
    find_duplicates(files)
    errors = {ctx.name: validate(ctx) for ctx in files}
    collated = collate(files, errors)
    valid = [ctx.name for ctx in files if not errors[ctx.name] and ctx.table is not None]
    all_errors = [e for ctx in files for e in errors[ctx.name]]
    return IngestResult([ctx.name for ctx in files], valid, all_errors, collated, skipped)


# --------------------------------------------------------------------------- writing


def _csv_writer(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    return write


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
    """Write the collated returns and the error report as a pair; return the report's path.

    Both go through :func:`analysis.tables.atomic_write_all`: either both files are replaced
    or neither is (SIGINT and SIGTERM included; see the module docstring for SIGKILL), and
    each gets the permissions the umask gives.

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
    rows = list(result.collated.loc[:, columns].itertuples(index=False))
    atomic_write_all(
        [
            (out, _csv_writer(columns, rows)),
            (report, _csv_writer(ERROR_COLUMNS, [e.as_row() for e in result.errors])),
        ]
    )
    return report


# --------------------------------------------------------------------------- command line


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


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
        "--out",
        type=Path,
        required=True,
        metavar="COLLATED.csv",
        help="collated valid returns (outside RETURNS_DIR)",
    )
    parser.add_argument(
        "--register",
        type=Path,
        default=None,
        metavar="REGISTER.csv",
        help="CSV with an area_code column, or 'england' (England's authorities 2012-2025, from "
        "the downloaded files; 'england:YYYY' for one year); default: the synthetic register",
    )
    parser.add_argument(
        "--errors",
        type=Path,
        default=None,
        metavar="ERRORS.csv",
        help="error report (default: COLLATED.errors.csv beside --out; not --out itself)",
    )
    parser.add_argument(
        "--progress-every",
        type=_non_negative,
        default=100,
        metavar="N",
        help="print a progress line every N files (0 for none; default 100)",
    )
    parser.add_argument(
        "--max-errors-shown",
        type=_non_negative,
        default=50,
        metavar="N",
        help="errors echoed to stderr, 0 or more (all are in the report; default 50)",
    )


# --------------------------------------------------------------------------- register choice


def register_codes(args: argparse.Namespace) -> frozenset[str]:
    """The area codes ``--register`` names (default: the synthetic register).

    The one place the command line's register is resolved.

    Raises
    ------
    RegisterError
        If the register cannot be used.
    """
    return _register_codes(getattr(args, "register", None))


# --------------------------------------------------------------------------- run


def _count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _output_problem(folder: Path, out: Path, report: Path) -> str | None:
    """Why ``--out`` / ``--errors`` cannot be used, or None."""
    where = folder.resolve()
    if out.resolve() == report.resolve():
        return f"--errors {report} is the same file as --out: the report would replace the data"
    for flag, path in (("--out", out), ("--errors", report)):
        resolved = path.resolve()
        if resolved == where or where in resolved.parents:
            return (
                f"{flag} {path} is inside the returns folder {folder}: it would be read as a "
                "return, or overwrite one; write it outside the folder"
            )
        if resolved.is_dir():
            return f"{flag} {path} is a folder; give a file name"
    return None


def run_ingest(args: argparse.Namespace) -> int:
    """Run ``python -m analysis ingest``; return 0 (all valid), 1 (some invalid), 2 (usage).

    Interrupted by SIGINT or SIGTERM, it returns 128 + the signal's number, with the previous
    outputs untouched or both new outputs in place (never one of each).

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
    out = Path(args.out)
    errors_out = getattr(args, "errors", None)
    report_path = Path(errors_out) if errors_out is not None else errors_path_for(out)
    problem = _output_problem(folder, out, report_path)
    if problem is not None:
        print(f"ingest: {problem}", file=err)
        return 2
    every = getattr(args, "progress_every", 100)
    shown = getattr(args, "max_errors_shown", 50)
    for flag, value in (("--progress-every", every), ("--max-errors-shown", shown)):
        if not isinstance(value, int) or value < 0:
            print(f"ingest: {flag} must be a whole number, 0 or more; got {value!r}", file=err)
            return 2
    try:
        codes = register_codes(args)
    except RegisterError as exc:
        print(f"ingest: {exc}", file=err)
        return 2

    def progress(done: int, total: int) -> None:
        if every > 0 and total >= every and (done % every == 0 or done == total):
            print(f"ingest: checked {done}/{total} files", file=err)

    try:
        result = ingest(folder, codes, progress=progress)
        if not result.files:
            skipped = f" ({len(result.skipped)} skipped)" if result.skipped else ""
            print(f"ingest: no returns in {folder}{skipped}", file=err)
            for name, reason in result.skipped:
                print(f"ingest: skipped {name}: {reason}", file=err)
            return 2
        write_outputs(result, out, report_path)
    except Interrupted as exc:
        state = (
            "the new collated output and error report are both in place"
            if exc.committed
            else "no output was changed"
        )
        print(f"ingest: {exc}; {state}", file=err)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("ingest: interrupted; no output was changed", file=err)
        return 130
    except OSError as exc:
        print(f"ingest: cannot read the returns or write the outputs: {exc}", file=err)
        return 2
    for name, reason in result.skipped:
        print(f"ingest: skipped {name}: {reason}", file=err)
    for error in result.errors[:shown]:
        print(error, file=err)
    rest = len(result.errors) - shown
    if rest > 0:
        print(f"ingest: ... and {rest} more error{'s' if rest != 1 else ''}", file=err)
    print(
        f"ingest: {_count(len(result.files), 'file')} checked, {len(result.valid)} valid and "
        f"collated ({_count(len(result.collated), 'row')}) to {out}; "
        f"{len(result.invalid)} invalid, {_count(len(result.errors), 'error')} in "
        f"{report_path}; {len(result.skipped)} skipped",
    )
    return result.exit_code
