"""The provenance register: one record per published source, and a checksum per data file.

Every published number in the project leads back to a record in ``data/published/sources.csv``
(producer, title, date published, location in the source, URL, licence, confidence, notes), and
every file under ``data/published/`` is listed with its SHA-256 checksum in
``data/published/MANIFEST.csv``. :func:`verify` reports unregistered files, stale checksums,
empty required fields, unreadable files and dangling source ids (it never raises on a broken
file: it reports it); the test suite fails on any of them. The loaders check each file's
checksum before reading it (:func:`check_checksum`, once per file per process), so a data file
changed without a reviewed manifest update fails loudly.

The download registry ``data/published/downloads.csv`` (public files fetched by
:mod:`analysis.external`, each pinned by repository, commit, path, size and SHA-256) is part of
the register: :func:`check_downloads` validates it, and every row points at a provenance record.

The design follows the provenance records of Our World in Data's ``etl`` (one schema for every
source, a checksum per stored file) and the UK Government Analysis Function's data log.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from analysis import paths
from analysis.tables import Column, TableError, display_path, read_rows, split_ids

__all__ = [
    "CONFIDENCE_LEVELS",
    "DOWNLOAD_COLUMNS",
    "DOWNLOAD_RULES",
    "REQUIRED_FIELDS",
    "ProvenanceError",
    "Source",
    "cite",
    "check_checksum",
    "check_downloads",
    "cite_many",
    "downloads_path",
    "get",
    "load_register",
    "manifest_path",
    "read_manifest",
    "register_path",
    "sha256",
    "update_manifest",
    "verify",
]

#: Fields every provenance record must fill.
REQUIRED_FIELDS: tuple[str, ...] = (
    "source_id",
    "producer",
    "title",
    "date_published",
    "location",
    "url",
    "licence",
    "confidence",
    "notes",
)
#: How directly a figure was traced: High = the publisher's own page or Hansard; Medium = reputable
#: reporting of the release or a mirror copy; Low = a leak or an indirect link.
CONFIDENCE_LEVELS: tuple[str, ...] = ("High", "Medium-High", "Medium", "Low-Medium", "Low")

MANIFEST_NAME = "MANIFEST.csv"
REGISTER_NAME = "sources.csv"
DOWNLOADS_NAME = "downloads.csv"
#: Columns of the download registry, in order; every field is required.
DOWNLOAD_COLUMNS: tuple[str, ...] = (
    "name",
    "repository",
    "commit",
    "path",
    "bytes",
    "sha256",
    "source_id",
    "description",
)
#: What each column of the download registry must hold.
DOWNLOAD_RULES: tuple[Column, ...] = (
    Column("name", pattern=r"[a-z][a-z0-9_]*", pattern_text="lower-case letters, digits and _"),
    Column("repository", pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", pattern_text="owner/name"),
    Column("commit", pattern=r"[0-9a-f]{40}", pattern_text="a full 40-character commit hash"),
    Column(
        "path",
        pattern=r"(?!/)(?!.*\\)(?!(.*/)?\.\.(/|$)).+",
        pattern_text="a relative path inside the repository (no leading '/', no '..', '/' only)",
    ),
    Column("bytes", pattern=r"[1-9][0-9]*", pattern_text="a positive whole number of bytes"),
    Column("sha256", pattern=r"[0-9a-f]{64}", pattern_text="64 lower-case hex digits"),
    Column("source_id"),
    Column("description"),
)


class ProvenanceError(TableError):
    """A provenance record or data file fails the register's rules (file, line and column)."""


#: ``date_published`` starts with a year written in ASCII digits, or says the source is undated.
_DATE_PUBLISHED = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?\b|undated\b)", re.ASCII)


@dataclass(frozen=True)
class Source:
    """One published source, as recorded in ``data/published/sources.csv``."""

    source_id: str
    producer: str
    title: str
    date_published: str
    location: str
    url: str
    licence: str
    confidence: str
    figures: str
    notes: str

    def citation(self) -> str:
        """Return a one-line citation: producer (date). *Title*, location. URL."""
        return f"{self.producer} ({self.date_published}). {self.title}, {self.location}. {self.url}"

    def short(self) -> str:
        """Return a caption-length citation: producer, date and source id."""
        return f"{self.producer} ({self.date_published}) [{self.source_id}]"


def register_path(root: Path | None = None) -> Path:
    """Path of the provenance register (``data/published/sources.csv``)."""
    return (root or paths.DATA_PUBLISHED) / REGISTER_NAME


def manifest_path(root: Path | None = None) -> Path:
    """Path of the checksum manifest (``data/published/MANIFEST.csv``)."""
    return (root or paths.DATA_PUBLISHED) / MANIFEST_NAME


def _non_ascii_digit(text: str) -> str | None:
    """The first digit in ``text`` that is not an ASCII digit (e.g. Arabic-Indic), if any."""
    if text.isascii():  # nearly every cell: one C-level pass instead of a loop over characters
        return None
    return next((ch for ch in text if ch.isdigit() and not ch.isascii()), None)


def downloads_path(root: Path | None = None) -> Path:
    """Path of the download registry (``data/published/downloads.csv``)."""
    return (root or paths.DATA_PUBLISHED) / DOWNLOADS_NAME


def load_register(root: Path | None = None) -> dict[str, Source]:
    """Read and validate the provenance register.

    Parameters
    ----------
    root : Path, optional
        Folder holding ``sources.csv``; defaults to ``data/published/``.

    Returns
    -------
    dict of str to Source
        Records keyed by ``source_id``, in file order.

    Raises
    ------
    ProvenanceError
        Naming the file, line and column: if the file is not UTF-8 text or holds a NUL byte, a
        column is missing or unexpected, a row has more or fewer fields than the header, a
        required field is empty, a field holds a digit that is not ASCII, ``date_published``
        does not start with a year (or ``undated``), a confidence level is unknown or a source
        id is repeated.

    Examples
    --------
    >>> register = load_register()
    >>> register["SRC-MFC01"].producer.startswith("House of Commons")
    True
    """
    path = register_path(root)
    shown = display_path(path)
    columns = [*REQUIRED_FIELDS, "figures"]
    rows = read_rows(path, REQUIRED_FIELDS, optional=["figures"], error=ProvenanceError)
    records: dict[str, Source] = {}
    for line, row in rows:
        for field in columns:
            odd = _non_ascii_digit(row[field])
            if odd is not None:
                raise ProvenanceError(
                    shown,
                    line,
                    field,
                    f"{odd!r} ({unicodedata.name(odd, 'a digit')}) is not an ASCII digit: "
                    "write numbers with 0-9",
                )
        for field in REQUIRED_FIELDS:
            if not row[field].strip():
                raise ProvenanceError(shown, line, field, f"required field '{field}' is empty")
        if not _DATE_PUBLISHED.match(row["date_published"].strip()):
            raise ProvenanceError(
                shown,
                line,
                "date_published",
                f"{row['date_published']!r} does not start with a year (YYYY, YYYY-MM or "
                "YYYY-MM-DD) or 'undated'",
            )
        if row["confidence"] not in CONFIDENCE_LEVELS:
            raise ProvenanceError(
                shown,
                line,
                "confidence",
                f"{row['confidence']!r} is not one of {', '.join(CONFIDENCE_LEVELS)}",
            )
        if row["source_id"] in records:
            raise ProvenanceError(
                shown, line, "source_id", f"duplicate source_id {row['source_id']!r}"
            )
        records[row["source_id"]] = Source(**{k: row.get(k, "") for k in Source.__annotations__})
    return records


@lru_cache(maxsize=1)
def _default_register() -> dict[str, Source]:
    check_checksum(register_path())
    return load_register()


def get(source_id: str) -> Source:
    """Return the record for ``source_id``.

    Raises
    ------
    KeyError
        With the unknown id and a hint, if the register has no such source.
    """
    register = _default_register()
    try:
        return register[source_id]
    except KeyError:
        raise KeyError(
            f"no source {source_id!r} in {register_path()}; add a provenance record first"
        ) from None


def cite(source_id: str, style: str = "full") -> str:
    """Return a citation for a caption or footnote.

    Parameters
    ----------
    source_id : str
        A ``source_id`` from the register.
    style : {"full", "short"}
        ``"full"``: producer (date). Title, location. URL. ``"short"``: producer (date) [id].

    Examples
    --------
    >>> cite("SRC-MFC01", style="short")
    'House of Commons (oral answer at Education questions; DfE figures) (2013-01-21) [SRC-MFC01]'
    """
    record = get(source_id)
    if style == "full":
        return record.citation()
    if style == "short":
        return record.short()
    raise ValueError(f"style must be 'full' or 'short'; got {style!r}")


def cite_many(source_ids: Iterable[str], style: str = "short") -> str:
    """Join the citations of several sources with ``"; "`` (duplicates dropped, order kept)."""
    seen: list[str] = []
    for sid in source_ids:
        if sid and sid not in seen:
            seen.append(sid)
    return "; ".join(cite(sid, style=style) for sid in seen)


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _data_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")
    )


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def read_manifest(root: Path | None = None) -> dict[str, str]:
    """Read ``MANIFEST.csv``: file (relative to ``root``) -> SHA-256.

    Raises
    ------
    ProvenanceError
        Naming the file, line and column, if the manifest is missing, is not UTF-8 text, has a
        renamed or extra column, a row with more or fewer fields, an empty file name, a checksum
        that is not 64 hex digits, or a file listed twice.
    """
    path = manifest_path(root)
    shown = display_path(path)
    listed: dict[str, str] = {}
    for line, row in read_rows(path, ("file", "sha256"), error=ProvenanceError):
        name, digest = row["file"].strip(), row["sha256"].strip()
        if not name:
            raise ProvenanceError(shown, line, "file", "required value is empty")
        if not _SHA256.match(digest):
            raise ProvenanceError(
                shown, line, "sha256", f"not a SHA-256 (64 hex digits): {digest!r}"
            )
        if name in listed:
            raise ProvenanceError(shown, line, "file", f"{name!r} is listed twice")
        listed[name] = digest
    return listed


@cache
def _checked(path: str, root: str) -> None:
    listed = read_manifest(Path(root))
    name = Path(path).relative_to(Path(root)).as_posix()
    shown = display_path(path)
    if name not in listed:
        raise ProvenanceError(
            shown,
            None,
            None,
            f"not registered in {MANIFEST_NAME}: review the file, then run `make checksums`",
        )
    if sha256(Path(path)) != listed[name]:
        raise ProvenanceError(
            shown,
            None,
            None,
            f"checksum does not match {MANIFEST_NAME} (the file changed after it was "
            "registered): review the change (git diff), then run `make checksums` and commit "
            "the data with the manifest",
        )


def check_checksum(path: Path | str, root: Path | None = None) -> None:
    """Raise unless ``path``'s SHA-256 is the one ``MANIFEST.csv`` lists for it.

    Each file is checked once per process (the result is cached), so loaders can call this
    every time they read a file.

    Parameters
    ----------
    path : path
        A file under ``root``.
    root : Path, optional
        The folder of the manifest; defaults to ``data/published/``.

    Raises
    ------
    ProvenanceError
        Naming the file and how to refresh the manifest after review.

    Examples
    --------
    >>> check_checksum(paths.DATA_PUBLISHED / "looked_after.csv")
    """
    root = Path(root or paths.DATA_PUBLISHED).resolve()
    _checked(str(Path(path).resolve()), str(root))


def update_manifest(root: Path | None = None) -> Path:
    """Rewrite ``MANIFEST.csv`` with the current checksum of every file under ``root``.

    Run it (``make checksums``) after a deliberate change to published data, and commit the
    data and the manifest together so the change is visible in review.
    """
    root = root or paths.DATA_PUBLISHED
    target = manifest_path(root)
    lines = ["file,sha256"]
    lines += [f"{p.relative_to(root).as_posix()},{sha256(p)}" for p in _data_files(root)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _checked.cache_clear()
    return target


def _source_ids_in(path: Path) -> list[tuple[int, str]]:
    """(line, source id) for every id a data table cites (its ``source_id``/``sources``)."""
    with path.open("rb") as handle:
        head = handle.readline()
    header = head.decode("utf-8-sig", errors="replace").strip().split(",")
    wanted = [c for c in ("source_id", "sources") if c in header]
    if not wanted:
        return []
    rows = read_rows(path, wanted, optional=[c for c in header if c not in wanted])
    return [(line, sid) for line, row in rows for c in wanted for sid in split_ids(row[c])]


def check_downloads(path: Path, known_sources: Iterable[str] | None = None) -> list[str]:
    """Check the download registry; return its problems (empty when all is well).

    The header must hold exactly :data:`DOWNLOAD_COLUMNS`; every row must pass
    :data:`DOWNLOAD_RULES` (``name`` unique, ``repository`` ``owner/name``, ``commit`` a full
    hash, ``path`` relative, ``bytes`` a positive integer, ``sha256`` 64 hex digits, nothing
    empty). When ``known_sources`` is given, every ``source_id`` must be among them. Each
    problem names the file, line and column.
    """
    try:
        rows = read_rows(path, DOWNLOAD_COLUMNS)
    except TableError as err:
        return [str(err)]
    shown = path.name
    known = set(known_sources) if known_sources is not None else None
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        for rule in DOWNLOAD_RULES:
            problem = rule.problem(row[rule.name])
            if problem:
                problems.append(f"{shown}, line {line}, column '{rule.name}': {problem}")
        name = row["name"]
        if name in seen:
            problems.append(
                f"{shown}, line {line}, column 'name': duplicate name {name!r} "
                f"(first on line {seen[name]})"
            )
        seen.setdefault(name, line)
        if known is not None and row["source_id"] and row["source_id"] not in known:
            problems.append(
                f"{shown}, line {line}, column 'source_id': unknown source id {row['source_id']!r}"
            )
    return problems


def verify(root: Path | None = None) -> list[str]:
    """Check the register and the manifest; return a list of problems (empty when all is well).

    Checks that every file under ``root`` is listed in the manifest with its current checksum,
    that every listed file exists, that the register is valid, that every ``source_id``
    used by a data table is registered, and that the download registry (if present) passes
    :func:`check_downloads`. A file that cannot be read (a broken manifest, a truncated row,
    bytes that are not UTF-8) is reported as a problem naming the file, line and column, never
    raised.
    """
    root = root or paths.DATA_PUBLISHED
    problems: list[str] = []
    mpath = manifest_path(root)
    if not mpath.exists():
        return [f"{display_path(mpath)} is missing: run `make checksums`"]
    try:
        listed = read_manifest(root)
    except TableError as err:
        return [f"{err} (fix it, or rewrite it with `make checksums` after review)"]
    present = {p.relative_to(root).as_posix(): p for p in _data_files(root)}
    for name in sorted(set(present) - set(listed)):
        problems.append(f"{name}: not registered in {MANIFEST_NAME} (run `make checksums`)")
    for name in sorted(set(listed) - set(present)):
        problems.append(f"{name}: listed in {MANIFEST_NAME} but missing")
    for name in sorted(set(listed) & set(present)):
        if sha256(present[name]) != listed[name]:
            problems.append(
                f"{name}: checksum is stale (the file changed after it was registered; "
                "review the change, then run `make checksums`)"
            )
    try:
        register = load_register(root)
    except TableError as err:
        return [*problems, str(err)]
    if DOWNLOADS_NAME in present:
        problems += check_downloads(present[DOWNLOADS_NAME], register)
    for name, path in present.items():
        if name in (REGISTER_NAME, DOWNLOADS_NAME) or path.suffix != ".csv":
            continue
        try:
            cited = _source_ids_in(path)
        except TableError as err:
            problems.append(str(err))
            continue
        for line, sid in cited:
            if sid not in register:
                problems.append(f"{name}, line {line}: unknown source id {sid!r}")
    return problems
