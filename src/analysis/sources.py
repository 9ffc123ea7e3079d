"""The provenance register: one record per published source, and a checksum per data file.

Every published number in the project leads back to a record in ``data/published/sources.csv``
(producer, title, date published, location in the source, URL, licence, confidence, notes), and
every file under ``data/published/`` is listed with its SHA-256 checksum in
``data/published/MANIFEST.csv``. :func:`verify` reports unregistered files, stale checksums,
empty required fields and dangling source ids; the test suite fails on any of them.

The download registry ``data/published/downloads.csv`` (public files fetched by
:mod:`analysis.external`, each pinned by repository, commit, path, size and SHA-256) is part of
the register: :func:`check_downloads` validates it, and every row points at a provenance record.

The design follows the provenance records of Our World in Data's ``etl`` (one schema for every
source, a checksum per stored file) and the UK Government Analysis Function's data log.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analysis import paths
from analysis.tables import Column, TableError, read_rows, split_ids

__all__ = [
    "CONFIDENCE_LEVELS",
    "DOWNLOAD_COLUMNS",
    "DOWNLOAD_RULES",
    "REQUIRED_FIELDS",
    "ProvenanceError",
    "Source",
    "cite",
    "check_downloads",
    "cite_many",
    "downloads_path",
    "get",
    "load_register",
    "manifest_path",
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


class ProvenanceError(ValueError):
    """A provenance record or data file fails the register's rules."""


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


def downloads_path(root: Path | None = None) -> Path:
    """Path of the download registry (``data/published/downloads.csv``)."""
    return (root or paths.DATA_PUBLISHED) / DOWNLOADS_NAME


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


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
        If a column is missing, a required field is empty (naming the row and field), a
        confidence level is unknown or a source id is repeated.

    Examples
    --------
    >>> register = load_register()
    >>> register["SRC-MFC01"].producer.startswith("House of Commons")
    True
    """
    path = register_path(root)
    rows = _read_csv(path)
    if rows:
        missing = [f for f in REQUIRED_FIELDS if f not in rows[0]]
        if missing:
            raise ProvenanceError(f"{path}: missing column(s) {', '.join(missing)}")
    records: dict[str, Source] = {}
    for line, row in enumerate(rows, start=2):
        for field in REQUIRED_FIELDS:
            if not (row.get(field) or "").strip():
                raise ProvenanceError(f"{path}, line {line}: required field '{field}' is empty")
        if row["confidence"] not in CONFIDENCE_LEVELS:
            raise ProvenanceError(
                f"{path}, line {line}, column 'confidence': {row['confidence']!r} is not one of "
                f"{', '.join(CONFIDENCE_LEVELS)}"
            )
        if row["source_id"] in records:
            raise ProvenanceError(f"{path}, line {line}: duplicate source_id {row['source_id']!r}")
        records[row["source_id"]] = Source(**{k: row.get(k, "") for k in Source.__annotations__})
    return records


@lru_cache(maxsize=1)
def _default_register() -> dict[str, Source]:
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
    return target


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
    :func:`check_downloads`.
    """
    root = root or paths.DATA_PUBLISHED
    problems: list[str] = []
    mpath = manifest_path(root)
    if not mpath.exists():
        return [f"{mpath} is missing: run `make checksums`"]
    listed = {row["file"]: row["sha256"] for row in _read_csv(mpath)}
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
    except ProvenanceError as err:
        return [*problems, str(err)]
    if DOWNLOADS_NAME in present:
        problems += check_downloads(present[DOWNLOADS_NAME], register)
    for name, path in present.items():
        if name in (REGISTER_NAME, DOWNLOADS_NAME) or path.suffix != ".csv":
            continue
        rows = _read_csv(path)
        for column in ("source_id", "sources"):
            if rows and column in rows[0]:
                for line, row in enumerate(rows, start=2):
                    for sid in split_ids(row[column]):
                        if sid not in register:
                            problems.append(f"{name}, line {line}: unknown source id {sid!r}")
    return problems
