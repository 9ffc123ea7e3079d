"""Plumbing for the project's CSV files: one validated reader, one atomic writer, shared vocabularies.

Every validating loader in the project (published tables, the provenance and claims registers,
the timeline, the self-reported counts, the data systems, the download registry) reads through
:func:`read_rows` and reports problems with :class:`TableError`, which names the file, the line
and the column. Every file the project writes (figures, tables, synthetic data, ingest outputs,
the site) goes through :func:`atomic_write`, so an interrupted run never leaves a half-written
file, and the new file gets the permissions the process's umask gives (not ``mkstemp``'s 0600).

:class:`Column` and :func:`check_row` are a small declarative checker (required, vocabulary,
pattern, numeric range) that loaders use instead of hand-written row checks.

This module knows no project data: it sits on the ground floor with :mod:`analysis.paths`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import paths

__all__ = [
    "CLAIM_ID",
    "EVIDENCE_SOURCE",
    "QUALIFIERS",
    "STATED_QUALIFIERS",
    "Column",
    "Interrupted",
    "TableError",
    "atomic_write",
    "atomic_write_all",
    "atomic_write_text",
    "check_row",
    "check_rows",
    "decode_text",
    "display_path",
    "ids_in",
    "new_file_mode",
    "read_ragged",
    "read_rows",
    "sourced_frame",
    "split_ids",
]

#: How a published figure qualifies its value, as the source states it.
QUALIFIERS: tuple[str, ...] = ("exact", "about", "more_than", "less_than", "up_to")
#: How a claim of the evidence (or a count it reports of its own work) qualifies its value.
STATED_QUALIFIERS: tuple[str, ...] = ("exact", "about", "more_than", "less_than")
#: The provenance id of the evidence itself (CEOP's written evidence, LCG 09).
EVIDENCE_SOURCE = "SRC-LCG09"
#: A claim id of the claims register: ``C`` and two or three digits.
CLAIM_ID = re.compile(r"^C\d{2,3}$")


class TableError(ValueError):
    """A data file breaks its schema; the message names the file, line and column.

    Parameters
    ----------
    file : Path or str
        The file, as the message should show it (see :func:`display_path`).
    line : int, optional
        The line of the file (the header is line 1).
    column : str, optional
        The column at fault.
    problem : str
        What is wrong, in words.

    Examples
    --------
    >>> str(TableError("data/x.csv", 3, "value", "not a number: 'abc'"))
    "data/x.csv, line 3, column 'value': not a number: 'abc'"
    """

    def __init__(self, file: Path | str, line: int | None, column: str | None, problem: str):
        self.file, self.line, self.column, self.problem = str(file), line, column, problem
        where = self.file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {problem}")


def display_path(path: Path | str) -> str:
    """A path as error messages show it: relative to the project root where possible.

    Examples
    --------
    >>> from analysis import paths
    >>> display_path(paths.DATA_PUBLISHED / "sources.csv")
    'data/published/sources.csv'
    """
    try:
        return Path(path).resolve().relative_to(paths.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _where(raw: bytes, offset: int) -> tuple[int, str | None]:
    """Line (1-based) and column name of byte ``offset`` in a CSV's bytes, as far as known."""
    before = raw[:offset].decode("utf-8-sig", errors="replace")
    line = before.count("\n") + 1
    lines = before.split("\n")
    header = next(csv.reader([lines[0]]), []) if line > 1 else []
    partial = next(csv.reader([lines[-1]]), [""]) if lines[-1] else [""]
    index = len(partial) - 1
    return line, header[index] if 0 <= index < len(header) else None


def decode_text(raw: bytes, shown: str, *, error: type[TableError] = TableError) -> str:
    """Decode a CSV file's bytes as UTF-8 (an optional byte-order mark), or raise ``error``.

    UTF-16 files, bytes that are not UTF-8 and NUL bytes are reported with the file, the line
    and (where the header tells) the column, and what to do about it.

    Examples
    --------
    >>> decode_text(b"a,b\\n1,2\\n", "t.csv")
    'a,b\\n1,2\\n'
    >>> decode_text(b"a,b\\n1,\\xe9\\n", "t.csv")
    Traceback (most recent call last):
    ...
    analysis.tables.TableError: t.csv, line 2, column 'b': not UTF-8 text (byte 0xe9, perhaps Latin-1 or Windows-1252): save the file as UTF-8
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(raw) >= 8 and raw[:2000].count(b"\x00") > len(raw[:2000]) // 4
    ):
        raise error(shown, 1, None, "file is UTF-16 text, not UTF-8: save it as UTF-8 (CSV UTF-8)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, column = _where(raw, nul)
        raise error(shown, line, column, "NUL byte in the file (binary content, or a damaged file)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _where(raw, exc.start)
        raise error(
            shown,
            line,
            column,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}, perhaps Latin-1 or Windows-1252): "
            "save the file as UTF-8",
        ) from None


def read_rows(
    path: Path,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    error: type[TableError] = TableError,
    allow_empty: bool = True,
) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV whose header must hold ``columns`` (plus any of ``optional``) and nothing else.

    The one reader behind every validating loader: it checks the file exists, the header, and
    that every row has as many fields as the header; the caller checks the values (often with
    :func:`check_row`). Optional columns absent from the file come back as empty strings.

    Parameters
    ----------
    path : Path
        The CSV file (UTF-8, an optional byte-order mark).
    columns : sequence of str
        Columns the header must contain.
    optional : sequence of str
        Columns the header may contain.
    error : type
        The :class:`TableError` subclass to raise.
    allow_empty : bool
        Whether a file with a header and no data rows is acceptable.

    Returns
    -------
    list of (int, dict)
        The file's line number (the header is line 1) and the row as a mapping of strings.

    Raises
    ------
    TableError
        (or ``error``) naming the file, line and column of the first problem.

    Examples
    --------
    >>> from analysis import paths
    >>> line, row = read_rows(paths.DATA_PUBLISHED / "runaways.csv", ["figure_id"],
    ...                       optional=["measure", "value", "qualifier", "unit", "geography",
    ...                                 "period", "period_start", "period_end", "vintage",
    ...                                 "definition", "location", "source_id", "confidence",
    ...                                 "note"])[0]
    >>> line, row["figure_id"]
    (2, 'RS01')
    """
    shown = display_path(path)
    if not Path(path).exists():
        raise error(shown, None, None, "file not found")
    text = decode_text(Path(path).read_bytes(), shown, error=error)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise error(shown, 1, None, "file is empty (expected a header row)")
        raw_rows = list(reader)
    except csv.Error as exc:
        raise error(shown, reader.line_num, None, f"cannot be read as CSV: {exc}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise error(shown, 1, missing[0], f"missing column(s): {', '.join(missing)}")
    extra = [c for c in header if c not in columns and c not in optional]
    if extra:
        raise error(shown, 1, extra[0], f"unexpected column(s): {', '.join(extra)}")
    out = []
    for line, raw in enumerate(raw_rows, start=2):
        if len(raw) != len(header):
            raise error(shown, line, None, f"expected {len(header)} fields, found {len(raw)}")
        row = dict.fromkeys(optional, "")
        row.update(zip(header, raw, strict=True))
        out.append((line, row))
    if not out and not allow_empty:
        raise error(shown, 2, None, "no data rows")
    return out


def read_ragged(
    path: Path,
    *,
    skip: int = 0,
    error: type[TableError] = TableError,
    strip: bool = False,
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a downloaded (publisher's) CSV: header and rows, tolerating spreadsheet exports.

    Publishers' files carry preamble rows (``skip`` of them before the header), empty trailing
    columns and blank lines, and older ones are in Windows-1252 rather than UTF-8. The header is
    stripped and its empty trailing columns dropped (a column with no name before them is an
    error); blank rows are skipped; a row with fewer
    fields than the header, or with a value beyond it, is an error naming the file and line.

    Parameters
    ----------
    path : Path
        The file.
    skip : int
        Rows before the header.
    error : type
        The :class:`TableError` subclass to raise.
    strip : bool
        Strip blanks around every field.

    Returns
    -------
    (list of str, list of (int, list of str))
        The header, and each row's line number and fields (as many as the header).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_text("Title row,,\\na, b,\\n1,2,\\n,,\\n")
    >>> read_ragged(f, skip=1)
    (['a', 'b'], [(3, ['1', '2'])])
    """
    shown = display_path(path)
    if not Path(path).exists():
        raise error(shown, None, None, "file not found")
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # the 2012-2017 releases' files
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            rows.append((reader.line_num, fields))
    except csv.Error as err:
        raise error(shown, reader.line_num, None, f"not valid CSV: {err}") from None
    if len(rows) <= skip:
        raise error(shown, skip + 1, None, "file is empty (expected a header row)")
    header = [h.strip() for h in rows[skip][1]]
    while header and header[-1] == "":
        header.pop()
    if "" in header:
        raise error(shown, rows[skip][0], None, "a column has no name")
    body = []
    for line, fields in rows[skip + 1 :]:
        if not any(f.strip() for f in fields):
            continue
        extra = fields[len(header) :]
        if len(fields) < len(header) or any(f.strip() for f in extra):
            raise error(shown, line, None, f"expected {len(header)} fields, found {len(fields)}")
        kept = fields[: len(header)]
        body.append((line, [f.strip() for f in kept] if strip else kept))
    return header, body


def split_ids(cell: str | None) -> list[str]:
    """Split a ``;``-separated list of ids (source ids, figure ids), dropping blanks.

    Examples
    --------
    >>> split_ids("SRC-A; SRC-B;;")
    ['SRC-A', 'SRC-B']
    >>> split_ids("")
    []
    """
    return [part.strip() for part in str(cell or "").split(";") if part.strip()]


def ids_in(cells: Iterable[str | None]) -> list[str]:
    """Return the sorted set of ids in a column of ``;``-separated lists (see :func:`split_ids`).

    Examples
    --------
    >>> ids_in(["SRC-B;SRC-A", "SRC-A", None])
    ['SRC-A', 'SRC-B']
    """
    return sorted({part for cell in cells for part in split_ids(cell)})


def sourced_frame(
    rows: Iterable[Mapping[str, object]] | Iterable[Sequence[object]],
    columns: Sequence[str] | None = None,
    *,
    source_column: str = "source_id",
) -> pd.DataFrame:
    """A frame of published-figure rows tagged with the ids they cite and ``synthetic=False``.

    Parameters
    ----------
    rows : iterable of mappings or sequences
        The rows (as :class:`pandas.DataFrame` takes them).
    columns : sequence of str, optional
        Column names (needed for sequence rows).
    source_column : str
        The column of ``;``-separated source ids.

    Examples
    --------
    >>> frame = sourced_frame([{"value": 1, "source_id": "SRC-B;SRC-A"}])
    >>> frame.attrs
    {'sources': ['SRC-A', 'SRC-B'], 'synthetic': False}
    """
    frame = pd.DataFrame(list(rows), columns=None if columns is None else list(columns))
    frame.attrs.update(sources=ids_in(frame[source_column]), synthetic=False)
    return frame


# --------------------------------------------------------------------------- column checks


@dataclass(frozen=True)
class Column:
    """What one column of a table must hold.

    :meth:`problem` strips a value and names the first rule it breaks, in this order: empty
    (only a ``required`` column's error), ``vocabulary``, ``pattern``, then for a ``number`` or
    ``integer`` column finite, whole, ``minimum`` and ``maximum``; :func:`check_rows` adds
    ``unique`` across the rows.

    Parameters
    ----------
    name : str
        The column.
    required : bool
        Whether the value may be empty.
    vocabulary : sequence of str, optional
        The values allowed.
    pattern : str, optional
        A regular expression the whole value must match; ``pattern_text`` says it in words.
    number : bool
        Whether the value must be a finite number.
    minimum, maximum : float, optional
        The inclusive range of a number.
    integer : bool
        Whether a number must be whole.
    unique : bool
        Whether a value may appear only once in the table (checked by :func:`check_rows`).

    Examples
    --------
    >>> Column("share", number=True, minimum=0, maximum=1).problem("1.5")
    'must be at most 1; got 1.5'
    >>> Column("unit", vocabulary=("children", "people")).problem("kids")
    "'kids' is not one of children, people"
    """

    name: str
    required: bool = True
    vocabulary: Sequence[str] | None = None
    pattern: str | None = None
    pattern_text: str = ""
    number: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    unique: bool = False

    def problem(self, value: str) -> str | None:
        """Return what is wrong with ``value``, or None if it is acceptable."""
        text = value.strip()
        if not text:
            return "required value is empty" if self.required else None
        if self.vocabulary is not None and text not in self.vocabulary:
            return f"{text!r} is not one of {', '.join(self.vocabulary)}"
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            return f"{text!r} is not {self.pattern_text or 'of the form ' + self.pattern}"
        if self.number or self.integer:
            try:
                number = float(text)
            except ValueError:
                return f"not a number: {text!r}"
            if not math.isfinite(number):
                return f"not a finite number: {text!r}"
            if self.integer and not number.is_integer():
                return f"must be a whole number; got {text}"
            if self.minimum is not None and number < self.minimum:
                return f"must be at least {self.minimum:g}; got {text}"
            if self.maximum is not None and number > self.maximum:
                return f"must be at most {self.maximum:g}; got {text}"
        return None


def check_row(
    path: Path | str,
    line: int,
    row: Mapping[str, str],
    columns: Iterable[Column],
    *,
    error: type[TableError] = TableError,
) -> None:
    """Check one row against its column rules; raise ``error`` at the first problem.

    Examples
    --------
    >>> rules = [Column("id", pattern=r"C\\d{2}", pattern_text="C and two digits"),
    ...          Column("value", number=True, minimum=0)]
    >>> check_row("claims.csv", 2, {"id": "C01", "value": "3"}, rules)
    >>> check_row("claims.csv", 3, {"id": "X1", "value": "3"}, rules)
    Traceback (most recent call last):
    ...
    analysis.tables.TableError: claims.csv, line 3, column 'id': 'X1' is not C and two digits
    """
    for column in columns:
        problem = column.problem(row.get(column.name, ""))
        if problem:
            raise error(display_path(path), line, column.name, problem)


def check_rows(
    path: Path | str,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    columns: Sequence[Column],
    *,
    error: type[TableError] = TableError,
) -> None:
    """Check every row of a table (:func:`check_row`) and the ``unique`` columns across rows.

    Examples
    --------
    >>> rules = [Column("id", unique=True)]
    >>> check_rows("t.csv", [(2, {"id": "a"}), (3, {"id": "a"})], rules)
    Traceback (most recent call last):
    ...
    analysis.tables.TableError: t.csv, line 3, column 'id': duplicate id 'a' (first on line 2)
    """
    seen: dict[str, dict[str, int]] = {c.name: {} for c in columns if c.unique}
    for line, row in rows:
        check_row(path, line, row, columns, error=error)
        for name, first in seen.items():
            value = row.get(name, "").strip()
            if value in first:
                raise error(
                    display_path(path),
                    line,
                    name,
                    f"duplicate {name} {value!r} (first on line {first[value]})",
                )
            first[value] = line


# --------------------------------------------------------------------------- writing

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's current umask.

    Read from ``/proc/self/status`` where the system has it: ``os.umask`` can only read the
    mask by setting it, and a file another thread creates in between would get the wrong
    permissions. Elsewhere ``os.umask`` is used, under a lock.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def new_file_mode() -> int:
    """The permissions a new file gets here: ``0o666`` less the process's umask.

    For files made by ``mkstemp`` or moved into place from a temporary file (mode ``0o600``),
    which would otherwise be readable by their owner alone.
    """
    return 0o666 & ~_umask()


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived while :func:`atomic_write_all` was writing.

    Attributes
    ----------
    signum : int
        The signal.
    committed : bool
        True if every target had already been replaced (all new); False if none was (all old).
    """

    def __init__(self, signum: int, committed: bool) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.committed = signum, committed


@dataclass
class _SignalState:
    defer: bool = False
    committed: bool = False
    received: list[int] = field(default_factory=list)


@contextmanager
def _signals() -> Iterator[_SignalState]:
    """Handle SIGINT and SIGTERM while files are written.

    Until ``state.defer`` is set they raise :class:`Interrupted` at once (so clean-up code
    runs); afterwards they are only recorded in ``state.received``. Only the main thread can
    set handlers; elsewhere signals keep theirs.
    """
    state = _SignalState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: object) -> None:
        if not state.defer:
            raise Interrupted(signum, committed=False)
        state.received.append(signum)

    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in wanted}
    try:
        for sig in wanted:
            signal.signal(sig, handler)
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _prepare(target: Path, write: Callable[[Path], None]) -> Path:
    """Write a temporary file beside ``target``: content, ``fsync``, umask permissions."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, new_file_mode())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_all(items: Sequence[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Write several files so that they change together: all old or all new.

    Each ``write(tmp_path)`` writes one file's whole content to a temporary file beside its
    target; every temporary file is flushed to disk (``fsync``) and given the permissions the
    umask gives a new file (``0o666 & ~umask``; ``mkstemp`` alone would leave 0600). Only when
    all are written are they renamed over their targets, one ``os.replace`` each, with SIGINT
    and SIGTERM held back until the last rename is done.

    * An exception in a ``write``, or SIGINT or SIGTERM before the renames, removes every
      temporary file and leaves every target as it was (SIGTERM is raised as
      :class:`Interrupted`, with ``committed=False``).
    * SIGINT or SIGTERM during the renames takes effect after them: every target is new, and
      :class:`Interrupted` is raised with ``committed=True``.
    * ``SIGKILL`` (or a power cut) cannot be caught: it can leave ``.<name>.*.tmp`` files beside
      the targets, and if it falls between two renames, some targets new and the rest old. No
      target is ever half-written.

    Parameters
    ----------
    items : sequence of (Path, callable)
        Each target and the function writing its content; folders are created if needed.

    Returns
    -------
    list of Path
        The targets.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> [p.name for p in atomic_write_all([
    ...     (folder / "a.csv", lambda p: p.write_text("a\\n")),
    ...     (folder / "b.csv", lambda p: p.write_text("b\\n"))])]
    ['a.csv', 'b.csv']
    """
    targets = [Path(target) for target, _ in items]
    temps: list[Path] = []
    with _signals() as state:
        try:
            for target, (_, write) in zip(targets, items, strict=True):
                temps.append(_prepare(target, write))
            state.defer = True
            for tmp, target in zip(temps, targets, strict=True):
                os.replace(tmp, target)
            temps = []
            state.committed = True
        except BaseException:
            for tmp in temps:
                tmp.unlink(missing_ok=True)
            raise
    if state.received:
        raise Interrupted(state.received[0], committed=state.committed)
    return targets


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Write ``target`` through a temporary file in the same folder, then ``os.replace`` it.

    ``write`` receives the temporary path and writes the whole file there. The file is flushed
    to disk (``fsync``), given the permissions the umask gives a new file (``0o666 & ~umask``;
    ``mkstemp`` alone would leave 0600), and renamed over ``target`` in one step, so a reader
    sees either the old file or the new one. If ``write`` raises, or SIGINT or SIGTERM arrives
    before the rename, the temporary file is removed and any previous ``target`` is left as it
    was. A ``SIGKILL`` between the write and the rename can leave a ``.<name>.*.tmp`` file
    beside ``target``, never a half-written ``target``. (One file of
    :func:`atomic_write_all`.)

    Parameters
    ----------
    target : Path
        The file to write; its folder is created if needed.
    write : callable
        ``write(tmp_path)`` writes the content.

    Returns
    -------
    Path
        ``target``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> out = atomic_write(folder / "a.txt", lambda p: p.write_text("hello\\n"))
    >>> out.read_text(), oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    ('hello\\n', True)
    """
    return atomic_write_all([(Path(target), write)])[0]


def atomic_write_text(target: Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``target`` with :func:`atomic_write`.

    Examples
    --------
    >>> import tempfile
    >>> atomic_write_text(Path(tempfile.mkdtemp()) / "b.txt", "x,y\\n").read_text()
    'x,y\\n'
    """

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    return atomic_write(target, write)
