"""Public data files: downloaded by URL and SHA-256, cached outside git, or taken from a mirror.

The project never commits the local-authority files it analyses. ``data/published/downloads.csv``
(the download registry) pins each one by repository, commit, path, size and SHA-256, and names
its provenance record in ``data/published/sources.csv``; this module fetches a file, verifies it
and keeps it in a cache, so every loader reads exactly the bytes the registry describes.

Where files come from, in order:

1. **The cache**, ``<project>/.cache/external/`` (git-ignored) or ``$ANALYSIS_DATA_CACHE``, laid
   out as ``<owner>/<repo>/<commit>/<path>``. A cached file is used only after its size and
   SHA-256 match the registry; one that does not match is removed and fetched again.
2. **The mirror**, when ``$ANALYSIS_DATA_MIRROR`` names a folder with the same layout (an offline
   copy of the public files, as CI has). The file is *copied into the cache* and verified there;
   the mirror itself is only read, never changed. A file missing from the mirror is an error,
   never a reason to go online: CI must fail, not skip.
3. **The network** otherwise: ``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``
   (path percent-encoded), downloaded by pooch with retries and a progress bar.

A file whose size or SHA-256 does not match is refused: the copy is removed, never used, and
:class:`ChecksumError` names the file, the expected and the actual hash (or size). A file that
cannot be had raises :class:`UnavailableError` with one clear message (which file, which URL or
mirror path, and "connect, or set ANALYSIS_DATA_MIRROR"). Each file is hashed once per process:
later calls only compare its size and modification time, so loaders stay fast.

``python -m analysis fetch`` (and ``make data``) fetches every file with progress and a summary,
and exits 1 with one message per file that could not be had. For tests,
``$ANALYSIS_DATA_REGISTRY`` (or the ``registry_file`` argument) points at another registry, and
``$ANALYSIS_DATA_CACHE`` (or ``cache``) at another cache.

Importing this module has no side effects; pooch and requests are imported only when a file
must be fetched (a cached file needs neither).

Examples
--------
>>> url("hexmap_utla").startswith("https://raw.githubusercontent.com/odileeds/hexmaps/")
True
>>> "%28December__2023%29" in url("lookup_lad_pfa_2023")
True
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from analysis import paths, sources, tables

__all__ = [
    "CACHE_ENV",
    "MIRROR_ENV",
    "RAW_BASE",
    "REGISTRY_ENV",
    "ChecksumError",
    "Download",
    "ExternalDataError",
    "FetchSummary",
    "UnavailableError",
    "UnknownFileError",
    "add_arguments",
    "cache_dir",
    "exit_code",
    "fetch",
    "fetch_all",
    "local_path",
    "mirror_dir",
    "record",
    "registry",
    "registry_path",
    "run",
    "url",
    "verify_file",
]

#: Environment variable naming the cache folder (default ``<project>/.cache/external``).
CACHE_ENV = "ANALYSIS_DATA_CACHE"
#: Environment variable naming an offline mirror laid out as ``<owner>/<repo>/<commit>/<path>``.
MIRROR_ENV = "ANALYSIS_DATA_MIRROR"
#: Environment variable naming another download registry (for tests).
REGISTRY_ENV = "ANALYSIS_DATA_REGISTRY"
#: Where raw files of public repositories are served.
RAW_BASE = "https://raw.githubusercontent.com"
#: Extra download attempts after a failed one (network only; the mirror is not retried).
RETRIES = 2
#: Seconds to wait for the server before giving up on a download.
TIMEOUT = 60
_HINT = "connect, or set ANALYSIS_DATA_MIRROR"
_LAYOUT = "<owner>/<repo>/<commit>/<path>"


class ExternalDataError(Exception):
    """A registered public data file cannot be used; the message says which and why."""


class UnknownFileError(ExternalDataError, LookupError):
    """A name that is not in the download registry."""


class ChecksumError(ExternalDataError, ValueError):
    """A file's size or SHA-256 differs from the registry's; the copy was removed, never used."""

    def __init__(self, name: str, where: str, what: str, expected: str, actual: str, tail: str):
        self.name, self.where, self.what = name, where, what
        self.expected, self.actual = expected, actual
        super().__init__(
            f"{name}: {where} failed verification: expected {what} {expected}, got {actual}; {tail}"
        )


class UnavailableError(ExternalDataError):
    """A file that is neither in the cache nor obtainable from the mirror or the network."""

    def __init__(self, name: str, message: str, *, offline: bool = False):
        self.name, self.offline = name, offline
        super().__init__(message)


@dataclass(frozen=True)
class Download:
    """One row of the download registry (``data/published/downloads.csv``)."""

    name: str
    repository: str
    commit: str
    path: str
    bytes: int
    sha256: str
    source_id: str
    description: str

    @property
    def key(self) -> str:
        """The file's place in the cache and in a mirror: ``<owner>/<repo>/<commit>/<path>``."""
        return f"{self.repository}/{self.commit}/{self.path}"

    @property
    def url(self) -> str:
        """The public URL at the pinned commit, with the path percent-encoded."""
        return f"{RAW_BASE}/{self.repository}/{self.commit}/{quote(self.path, safe='/')}"


def registry_path() -> Path:
    """Path of the download registry: ``$ANALYSIS_DATA_REGISTRY`` or ``data/published/downloads.csv``."""
    override = os.environ.get(REGISTRY_ENV)
    return Path(override) if override else sources.downloads_path()


def cache_dir() -> Path:
    """The cache folder: ``$ANALYSIS_DATA_CACHE`` or ``<project>/.cache/external`` (not created here)."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else paths.CACHE / "external"


def mirror_dir() -> Path | None:
    """The offline mirror named by ``$ANALYSIS_DATA_MIRROR``, or None when it is unset or empty."""
    override = os.environ.get(MIRROR_ENV, "").strip()
    return Path(override).expanduser() if override else None


@lru_cache(maxsize=8)
def _read_registry(path: str, stamp: tuple[int, int]) -> dict[str, Download]:
    del stamp  # part of the cache key only: a changed file is read again
    file = Path(path)
    problems = sources.check_downloads(file)
    if problems:
        raise ExternalDataError(
            f"{file}: the download registry is invalid:\n  " + "\n  ".join(problems)
        )
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    out: dict[str, Download] = {}
    for row in frame.to_dict("records"):
        out[row["name"]] = Download(**{**row, "bytes": int(row["bytes"])})
    return out


def _records(registry_file: Path | str | None = None) -> dict[str, Download]:
    file = Path(registry_file) if registry_file is not None else registry_path()
    if not file.exists():
        raise ExternalDataError(f"{file}: download registry not found")
    stat = file.stat()
    return _read_registry(str(file.resolve()), (stat.st_size, stat.st_mtime_ns))


def record(name: str, *, registry_file: Path | str | None = None) -> Download:
    """Return the registry row of ``name`` (its source id, URL, size and hash).

    Raises
    ------
    UnknownFileError
        Naming the registry and the names it has, if ``name`` is not among them.
    """
    rows = _records(registry_file)
    try:
        return rows[name]
    except KeyError:
        raise UnknownFileError(
            f"{name!r} is not in the download registry {registry_file or registry_path()}; "
            f"registered: {', '.join(rows)}"
        ) from None


def registry(*, registry_file: Path | str | None = None) -> pd.DataFrame:
    """Return the download registry, one row per file, with its ``url``.

    Columns are those of ``downloads.csv`` (``name, repository, commit, path, bytes, sha256,
    source_id, description``) plus ``url``; ``bytes`` is an integer. ``attrs["sources"]``
    lists the provenance ids.

    Examples
    --------
    >>> frame = registry()
    >>> frame["name"].is_unique, frame.attrs["sources"] == sorted(set(frame["source_id"]))
    (True, True)
    """
    rows = list(_records(registry_file).values())
    frame = pd.DataFrame(
        [{**{f.name: getattr(r, f.name) for f in fields(Download)}, "url": r.url} for r in rows],
        columns=[*(f.name for f in fields(Download)), "url"],
    )
    frame["bytes"] = frame["bytes"].astype("int64")
    frame.attrs.update(sources=sorted(set(frame["source_id"])), synthetic=False, table="downloads")
    return frame


def url(name: str, *, registry_file: Path | str | None = None) -> str:
    """Return the public URL of ``name`` at its pinned commit (path percent-encoded).

    Examples
    --------
    >>> url("cla_2014_metadata").endswith("/2014/Meta%20Data%20Document.txt")
    True
    """
    return record(name, registry_file=registry_file).url


def local_path(
    name: str, *, registry_file: Path | str | None = None, cache: Path | None = None
) -> Path:
    """Where ``name`` sits in the cache (it may not be there yet: :func:`fetch` puts it there)."""
    return (Path(cache) if cache is not None else cache_dir()) / record(
        name, registry_file=registry_file
    ).key


# Files already verified in this process: path -> (size, mtime_ns, sha256 expected).
_VERIFIED: dict[str, tuple[int, int, str]] = {}


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(
    path: Path | str, row: Download, *, where: str | None = None, tail: str = ""
) -> Path:
    """Check a file's size and SHA-256 against its registry row; return the path.

    The file is hashed once per process; later calls compare size and modification time only.
    The file is left in place: the caller decides what to do with a bad one.

    Raises
    ------
    ChecksumError
        Naming the file, the expected and the actual size or hash.
    FileNotFoundError
        If there is no file at ``path``.
    """
    path = Path(path)
    stat = path.stat()
    key = str(path.resolve())
    if _VERIFIED.get(key) == (stat.st_size, stat.st_mtime_ns, row.sha256):
        return path
    where = where or str(path)
    tail = tail or "the file is not used"
    if stat.st_size != row.bytes:
        raise ChecksumError(
            row.name, where, "size", f"{row.bytes} bytes", f"{stat.st_size} bytes", tail
        )
    actual = _hash(path)
    if actual != row.sha256:
        raise ChecksumError(row.name, where, "sha256", row.sha256, actual, tail)
    _VERIFIED[key] = (stat.st_size, stat.st_mtime_ns, row.sha256)
    return path


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n}"  # pragma: no cover


class _Bar:
    """The progress object pooch's HTTP downloader drives (``total``, ``update``, ``reset``,
    ``close``): a percentage on one line when stderr is a terminal, nothing otherwise."""

    def __init__(self, label: str):
        self.label, self.total, self.done = label, 0, 0
        self.live = sys.stderr.isatty()

    def update(self, n: int) -> None:
        self.done += n
        if self.live and self.total:
            share = min(self.done / self.total, 1.0)
            sys.stderr.write(f"\r  {self.label}: {share:4.0%} of {_size(self.total)}")
            sys.stderr.flush()

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _MirrorCopy:
    """A pooch downloader that copies a file from the offline mirror (no network)."""

    def __init__(self, source: Path):
        self.source = source

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> Any:
        if check_only:
            return self.source.is_file()
        shutil.copyfile(self.source, output_file)
        return None


class _Verifying:
    """Wrap a pooch downloader: check size and SHA-256 before pooch moves the file into place,
    so a bad file is removed (pooch deletes its temporary file) and never reaches the cache."""

    def __init__(self, inner: Any, row: Download, where: str, tail: str):
        self.inner, self.row, self.where, self.tail = inner, row, where, tail

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> Any:
        result = self.inner(url, output_file, pooch, check_only=check_only)
        if not check_only:
            try:
                verify_file(output_file, self.row, where=self.where, tail=self.tail)
            except ChecksumError:
                Path(output_file).unlink(missing_ok=True)
                raise
        return result


def _unavailable(row: Download, reason: str, *, offline: bool) -> UnavailableError:
    return UnavailableError(
        row.name,
        f"{row.name}: not in the cache and could not be downloaded from {row.url} ({reason}); "
        f"{_HINT} (a folder laid out as {_LAYOUT})",
        offline=offline,
    )


def _fetch(
    name: str,
    *,
    progress: bool,
    registry_file: Path | str | None,
    cache: Path | str | None,
    mirror: Path | str | None,
) -> tuple[Path, str]:
    """Fetch one file; return its verified path and how it was had (cached, mirror, downloaded)."""
    row = record(name, registry_file=registry_file)
    root = Path(cache) if cache is not None else cache_dir()
    target = root / row.key
    if target.is_file():
        try:
            return verify_file(target, row), "cached"
        except ChecksumError as err:
            target.unlink(missing_ok=True)
            _say(f"{name}: the cached copy was refused ({err}); removed, fetching it again")
    import pooch  # not needed for a cached file: imported only when something must be fetched
    import requests

    mirror_root = Path(mirror) if mirror is not None else mirror_dir()
    if mirror_root is not None:
        source = mirror_root / row.key
        if not source.is_file():
            gone = "" if mirror_root.is_dir() else "; that folder does not exist"
            raise UnavailableError(
                name,
                f"{name}: not in the mirror: {source} does not exist ({MIRROR_ENV}={mirror_root}"
                f"{gone}); the mirror must hold every file of the download registry at {_LAYOUT}",
            )
        downloader: Any = _MirrorCopy(source)
        where, retries, how = f"the mirror's copy {source}", 0, "mirror"
        tail = "the copy was removed and not used (the mirror was left as it is: replace its file)"
    else:
        downloader = pooch.HTTPDownloader(
            progressbar=_Bar(name) if progress else False, timeout=TIMEOUT
        )
        where, retries, how = f"the download from {row.url}", RETRIES, "downloaded"
        tail = "the download was removed and not used"
        if progress:
            _say(f"  {name}: downloading {row.url} ({_size(row.bytes)})")

    store = pooch.create(
        path=root,
        base_url="",
        registry={row.key: f"sha256:{row.sha256}"},
        urls={row.key: row.url},
        retry_if_failed=retries,
    )
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        store.fetch(row.key, downloader=_Verifying(downloader, row, where, tail))
    except ChecksumError:
        raise
    except requests.exceptions.HTTPError as err:
        status = err.response.status_code if err.response is not None else "error"
        raise _unavailable(row, f"HTTP {status}", offline=False) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise _unavailable(row, f"no connection: {type(err).__name__}", offline=True) from None
    except requests.exceptions.RequestException as err:
        raise _unavailable(row, type(err).__name__, offline=False) from None
    except ValueError as err:  # pooch's own hash check; ours runs first, so this is a safety net
        target.unlink(missing_ok=True)
        tail = f"the file was removed and not used ({err})"
        raise ChecksumError(name, where, "sha256", row.sha256, "a different hash", tail) from None
    except OSError as err:  # after requests' errors, which are OSErrors too
        raise UnavailableError(
            name, f"{name}: could not copy or write the file into the cache {root}: {err}"
        ) from None
    finally:
        logger.setLevel(level)
    # pooch moves its temporary file (mode 0o600) into place: give the file a new file's mode,
    # so a cache shared by a team, or read by a container as another user, can be read
    target.chmod(tables.new_file_mode())
    return verify_file(target, row), how


def fetch(
    name: str,
    *,
    progress: bool = True,
    registry_file: Path | str | None = None,
    cache: Path | str | None = None,
    mirror: Path | str | None = None,
) -> Path:
    """Return the verified local path of the registered file ``name``, fetching it if needed.

    Parameters
    ----------
    name : str
        A ``name`` of ``data/published/downloads.csv`` (e.g. ``"cla_2012"``).
    progress : bool
        Print what is fetched (and a download's progress, on a terminal) to stderr.
    registry_file, cache, mirror : path, optional
        Override the registry, the cache folder and the mirror (defaults: see
        :func:`registry_path`, :func:`cache_dir`, :func:`mirror_dir`).

    Returns
    -------
    pathlib.Path
        The file in the cache, at ``<cache>/<owner>/<repo>/<commit>/<path>``; its size and
        SHA-256 match the registry.

    Raises
    ------
    UnknownFileError
        If ``name`` is not registered.
    ChecksumError
        If the mirror's or the server's file differs from the registry (the copy is removed).
    UnavailableError
        If the file is missing from the mirror, or cannot be downloaded.
    """
    return _fetch(name, progress=progress, registry_file=registry_file, cache=cache, mirror=mirror)[
        0
    ]


@dataclass
class FetchSummary:
    """What :func:`fetch_all` did: files ready (and how each was had) and files that failed."""

    ready: dict[str, Path] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    cache: Path = field(default_factory=cache_dir)
    mirror: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every file asked for is ready."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        """Number of files per outcome: cached, mirror, downloaded, failed."""
        out = {"cached": 0, "mirror": 0, "downloaded": 0}
        for how in self.how.values():
            out[how] += 1
        out["failed"] = len(self.failed)
        return out

    def text(self) -> str:
        """A one-line summary."""
        n = self.counts()
        total = len(self.ready) + len(self.failed)
        line = (
            f"{len(self.ready)} of {total} files ready and verified in {self.cache} "
            f"({n['cached']} already cached, {n['mirror']} copied from the mirror, "
            f"{n['downloaded']} downloaded)"
        )
        if self.failed:
            line += f"; {len(self.failed)} could not be had"
        return line


def fetch_all(
    names: Iterable[str] | None = None,
    *,
    progress: bool = True,
    registry_file: Path | str | None = None,
    cache: Path | str | None = None,
    mirror: Path | str | None = None,
) -> FetchSummary:
    """Fetch several registered files (default: all) and return a :class:`FetchSummary`.

    A file that fails does not stop the others; its message is in ``summary.failed``. Once a
    download fails for want of a connection, the remaining files are not tried online: each
    gets the same clear message at once.

    Raises
    ------
    UnknownFileError
        Before fetching anything, if a name is not registered.
    """
    rows = _records(registry_file)
    wanted = list(rows) if names is None else list(dict.fromkeys(names))
    for name in wanted:
        record(name, registry_file=registry_file)
    root = Path(cache) if cache is not None else cache_dir()
    mirror_root = Path(mirror) if mirror is not None else mirror_dir()
    summary = FetchSummary(cache=root, mirror=mirror_root)
    offline = False
    for i, name in enumerate(wanted, start=1):
        row = rows[name]
        target = root / row.key
        if offline and mirror_root is None and not target.is_file():
            reason = "no connection: an earlier download failed to connect"
            summary.failed[name] = str(_unavailable(row, reason, offline=True))
            continue
        try:
            path, how = _fetch(
                name, progress=progress, registry_file=registry_file, cache=root, mirror=mirror_root
            )
        except UnavailableError as err:
            summary.failed[name] = str(err)
            offline = offline or err.offline
            continue
        except ChecksumError as err:
            summary.failed[name] = str(err)
            continue
        summary.ready[name], summary.how[name] = path, how
        if progress:
            _say(f"[{i}/{len(wanted)}] {name}: {how} ({_size(row.bytes)}), verified")
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis fetch``."""
    parser.add_argument(
        "names", nargs="*", help="names from data/published/downloads.csv (default: every file)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the registered files and their URLs; fetch nothing",
    )


def exit_code(prog: str, body: Callable[[], int], codes: Mapping[type[Exception], int]) -> int:
    """Run a command's ``body`` and return its exit code, or report the error it raised.

    An error of a type in ``codes`` (the first it is an instance of) is printed on stderr as
    ``prog: message`` and gives that exit code; any other error propagates.

    Examples
    --------
    >>> def body():
    ...     raise KeyError("no such name")
    >>> exit_code("demo", body, {KeyError: 2})  # "demo: no such name" goes to stderr
    2
    >>> exit_code("demo", lambda: 0, {KeyError: 2})
    0
    """
    try:
        return body()
    except tuple(codes) as err:
        code = next(c for kind, c in codes.items() if isinstance(err, kind))
        # a KeyError's str() is the repr of its message: show the message itself
        text = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{prog}: {text}", file=sys.stderr)
        return code


def run(args: argparse.Namespace) -> int:
    """Run ``python -m analysis fetch``: 0 all files ready, 1 some could not be had, 2 usage."""
    codes = {UnknownFileError: 2, ExternalDataError: 1}
    return exit_code("fetch", lambda: _fetch_command(args), codes)


def _fetch_command(args: argparse.Namespace) -> int:
    names: Sequence[str] = getattr(args, "names", None) or []
    if getattr(args, "list", False):
        for row in _records().values():
            if not names or row.name in names:
                print(f"{row.name}\t{row.bytes}\t{row.url}")
        return 0
    mirror = mirror_dir()
    if not getattr(args, "quiet", False):
        origin = f"the mirror {mirror}" if mirror else "the network"
        _say(f"fetch: files not yet in {cache_dir()} come from {origin}")
    summary = fetch_all(names or None, progress=not getattr(args, "quiet", False))
    for message in summary.failed.values():
        print(f"fetch: {message}", file=sys.stderr)
    print(f"fetch: {summary.text()}")
    return 0 if summary.ok else 1
