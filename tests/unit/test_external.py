"""Downloads by checksum: the registry, the cache, the offline mirror and the fetch command.

Every file here is a FAKE made by the test (a few bytes of text in a temporary folder, under a
fake repository), never a copy of a real data file. Expected hashes are computed in the test
with hashlib, and expected URLs are written out by hand.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import os
import socket
import stat
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import external, sources
from analysis.pipeline import cli

FAKE_REPO = "fake-owner/fake_repo"
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
FAKE_FILES = {
    "fake_table": ("tables/FAKE table.csv", b"area,value\nFAKE1,1\nFAKE2,2\n"),
    "fake_notes": ("docs/Meta Data (FAKE).txt", b"FAKE metadata: column codes\n"),
}


def _write_registry(path: Path, files: dict[str, tuple[str, bytes]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(sources.DOWNLOAD_COLUMNS)
        for name, (rel, data) in files.items():
            writer.writerow(
                [
                    name,
                    FAKE_REPO,
                    FAKE_COMMIT,
                    rel,
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                    "SRC-FAKE",
                    f"FAKE file {name} (test fixture)",
                ]
            )
    return path


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A fake registry, a fake mirror holding its files, and an empty cache (env vars set)."""
    mirror = tmp_path / "mirror"
    for rel, data in FAKE_FILES.values():
        target = mirror / FAKE_REPO / FAKE_COMMIT / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    registry = _write_registry(tmp_path / "downloads.csv", FAKE_FILES)
    cache = tmp_path / "cache"
    monkeypatch.setenv(external.REGISTRY_ENV, str(registry))
    monkeypatch.setenv(external.CACHE_ENV, str(cache))
    monkeypatch.setenv(external.MIRROR_ENV, str(mirror))
    monkeypatch.setattr(external, "RETRIES", 0)
    return {"mirror": mirror, "registry": registry, "cache": cache, "root": tmp_path}


def _cached(cache: Path, name: str) -> Path:
    return cache / FAKE_REPO / FAKE_COMMIT / FAKE_FILES[name][0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- URLs and the registry ---------------------------------------------------------------------


def test_url_percent_encodes_spaces_and_parentheses(fake: dict[str, Path]) -> None:
    assert external.url("fake_notes") == (
        "https://raw.githubusercontent.com/fake-owner/fake_repo/"
        "0123456789abcdef0123456789abcdef01234567/docs/Meta%20Data%20%28FAKE%29.txt"
    )


_SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@given(st.lists(_SEGMENT, min_size=1, max_size=4))
def test_any_relative_path_round_trips_through_its_url(segments: list[str]) -> None:
    path = "/".join(segments)
    row = external.Download("x", FAKE_REPO, FAKE_COMMIT, path, 1, "0" * 64, "SRC-X", "FAKE")
    prefix = f"https://raw.githubusercontent.com/{FAKE_REPO}/{FAKE_COMMIT}/"
    assert row.url.startswith(prefix)
    encoded = row.url[len(prefix) :]
    assert not set(encoded) & set(" ()#?")  # nothing left that a URL would misread
    assert unquote(encoded) == path
    assert row.key == f"{FAKE_REPO}/{FAKE_COMMIT}/{path}"


def test_real_urls_are_built_from_repository_commit_and_encoded_path() -> None:
    assert external.url("cla_2014_metadata", registry_file=sources.downloads_path()) == (
        "https://raw.githubusercontent.com/BenGoodair/childrens_social_care_data/"
        "ca4389abf37edc6531b03995b1d30be0e1a37807/Raw_Data/LA_level/"
        "Children_Placement_Characteristics/2014/Meta%20Data%20Document.txt"
    )
    assert external.url("lookup_lad_pfa_2023", registry_file=sources.downloads_path()) == (
        "https://raw.githubusercontent.com/jamesLSI/ecom185/"
        "619bb3f048a9f1feb068dd825319929c50493c12/data/Local_Authority_District_to_CSPs_to_"
        "Police_Force_Areas_%28December__2023%29_Lookup_.csv"
    )


def test_real_registry_has_the_agreed_names_and_columns() -> None:
    frame = external.registry(registry_file=sources.downloads_path())
    assert list(frame.columns) == [*sources.DOWNLOAD_COLUMNS, "url"]
    assert list(frame["name"]) == [
        "cla_2012", "cla_2013", "cla_2014", "cla_2014_metadata", "cla_2015",
        "cla_2015_metadata", "missing_2015", "missing_2016", "missing_2016_metadata",
        "missing_2017", "missing_2017_metadata", "missing_2018_2022", "missing_2020_2024",
        "providers_2014", "providers_2023", "cin_2013_2025", "referrals_2013_2025",
        "cin_factors_2018_2025", "cla_2021_2025", "cpp_2013_2025", "population_2012_2024",
        "statistical_neighbours_2025", "lookup_ltla_utla_2023", "lookup_lad_pfa_2023",
        "hexmap_utla",
    ]  # fmt: skip
    assert (frame["bytes"] > 0).all()


def test_every_registry_row_has_a_provenance_record() -> None:
    register = sources.load_register()
    for row in external.registry(registry_file=sources.downloads_path()).itertuples():
        assert row.source_id in register, row.name
        record = register[row.source_id]
        assert record.licence and record.producer and record.title
        # the record cites the copy downloaded: its repository is in the URL or the notes
        assert row.repository in record.url or row.repository in record.notes, row.name


def test_registry_validation_names_line_and_column(tmp_path: Path) -> None:
    path = _write_registry(tmp_path / "downloads.csv", FAKE_FILES)
    text = path.read_text()
    rows = text.splitlines()
    bad = rows[1].split(",")
    bad[5] = "not-a-hash"
    dup = rows[2].split(",")
    dup[0] = "fake_table"
    dup[3] = "../escape.txt"
    path.write_text("\n".join([rows[0], ",".join(bad), ",".join(dup)]) + "\n")
    problems = sources.check_downloads(path, known_sources={"SRC-OTHER"})
    assert any("line 2, column 'sha256'" in p for p in problems)
    assert any("line 3, column 'name': duplicate name 'fake_table'" in p for p in problems)
    assert any("line 3, column 'path'" in p for p in problems)
    assert any("unknown source id 'SRC-FAKE'" in p for p in problems)
    with pytest.raises(external.ExternalDataError, match="download registry is invalid"):
        external.registry(registry_file=path)


def test_wrong_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "downloads.csv"
    path.write_text("name,url\nx,https://example.org/x\n")
    assert "line 1" in sources.check_downloads(path)[0]


def test_unknown_name_is_a_clear_error(fake: dict[str, Path]) -> None:
    with pytest.raises(external.UnknownFileError, match="'nope' is not in the download registry"):
        external.fetch("nope")


# --- fetching from the mirror ------------------------------------------------------------------


def test_fetch_copies_from_the_mirror_into_the_mirrored_layout(fake: dict[str, Path]) -> None:
    path = external.fetch("fake_notes", progress=False)
    assert path == _cached(fake["cache"], "fake_notes")
    assert path.read_bytes() == FAKE_FILES["fake_notes"][1]
    # the mirror is only read; once cached, the file no longer needs it
    (fake["mirror"] / FAKE_REPO / FAKE_COMMIT / FAKE_FILES["fake_notes"][0]).unlink()
    assert external.fetch("fake_notes", progress=False) == path


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_fetched_file_has_the_mode_the_umask_gives_new_files(
    fake: dict[str, Path], umask: int
) -> None:
    old = os.umask(umask)
    try:
        path = external.fetch("fake_notes", progress=False)
        plain = fake["root"] / "plain.txt"
        plain.write_text("made by open()")  # the reference: what the OS gives a new file
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_a_file_is_hashed_once_per_process(
    fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    external.fetch("fake_table", progress=False)
    calls = []
    real = external._hash
    monkeypatch.setattr(external, "_hash", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        external.fetch("fake_table", progress=False)
    assert calls == []


def test_checksum_mismatch_in_the_mirror_is_refused_and_removed(fake: dict[str, Path]) -> None:
    rel, data = FAKE_FILES["fake_table"]
    tampered = data.replace(b"1", b"9")  # same size, other bytes
    (fake["mirror"] / FAKE_REPO / FAKE_COMMIT / rel).write_bytes(tampered)
    with pytest.raises(external.ChecksumError) as info:
        external.fetch("fake_table", progress=False)
    message = str(info.value)
    assert "fake_table" in message
    assert hashlib.sha256(data).hexdigest() in message
    assert hashlib.sha256(tampered).hexdigest() in message
    folder = _cached(fake["cache"], "fake_table").parent
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing left, not even a temp file


def test_size_mismatch_is_refused(fake: dict[str, Path]) -> None:
    rel, data = FAKE_FILES["fake_table"]
    (fake["mirror"] / FAKE_REPO / FAKE_COMMIT / rel).write_bytes(data + b"FAKE3,3\n")
    with pytest.raises(external.ChecksumError, match=f"expected size {len(data)} bytes, got"):
        external.fetch("fake_table", progress=False)
    assert not _cached(fake["cache"], "fake_table").exists()


def test_a_corrupt_cached_copy_is_removed_and_fetched_again(
    fake: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = external.fetch("fake_table", progress=False)
    path.write_bytes(b"FAKE corrupted!!!!!!!!!!!!!")
    assert external.fetch("fake_table", progress=False).read_bytes() == FAKE_FILES["fake_table"][1]
    assert "cached copy was refused" in capsys.readouterr().err


def test_missing_from_the_mirror_names_the_file_and_the_mirror(fake: dict[str, Path]) -> None:
    (fake["mirror"] / FAKE_REPO / FAKE_COMMIT / FAKE_FILES["fake_table"][0]).unlink()
    with pytest.raises(external.UnavailableError) as info:
        external.fetch("fake_table", progress=False)
    message = str(info.value)
    assert "fake_table: not in the mirror" in message
    assert str(fake["mirror"]) in message and "FAKE table.csv" in message


def test_a_mirror_folder_that_does_not_exist_is_named(
    fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(external.MIRROR_ENV, str(fake["root"] / "no_such_mirror"))
    with pytest.raises(external.UnavailableError, match="that folder does not exist"):
        external.fetch("fake_table", progress=False)


# --- fetching from the network -----------------------------------------------------------------


@pytest.fixture
def server(fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local HTTP server serving the fake mirror's folder, standing in for the public host."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(fake["mirror"]))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(external, "RAW_BASE", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.delenv(external.MIRROR_ENV)
    try:
        yield fake["mirror"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_is_verified_and_cached(server: Path, fake: dict[str, Path]) -> None:
    path = external.fetch("fake_notes", progress=False)  # the URL needs its %20, %28 and %29
    assert path.read_bytes() == FAKE_FILES["fake_notes"][1]
    assert path == _cached(fake["cache"], "fake_notes")


def test_download_progress_is_reported(
    server: Path, fake: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    external.fetch_all(["fake_table"], progress=True)
    err = capsys.readouterr().err
    assert "fake_table: downloading http://127.0.0.1" in err
    assert "[1/1] fake_table: downloaded" in err


def test_a_file_missing_on_the_server_is_a_clear_error(server: Path) -> None:
    (server / FAKE_REPO / FAKE_COMMIT / FAKE_FILES["fake_table"][0]).unlink()
    with pytest.raises(external.UnavailableError, match=r"fake_table: .*\(HTTP 404\); connect"):
        external.fetch("fake_table", progress=False)


def test_bad_download_is_refused_and_removed(server: Path, fake: dict[str, Path]) -> None:
    rel, data = FAKE_FILES["fake_notes"]
    (server / FAKE_REPO / FAKE_COMMIT / rel).write_bytes(data.upper())
    with pytest.raises(external.ChecksumError, match="the download from http"):
        external.fetch("fake_notes", progress=False)
    assert not _cached(fake["cache"], "fake_notes").exists()


def test_offline_without_mirror_gives_one_clear_message_per_file(
    fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(external.MIRROR_ENV)
    monkeypatch.setattr(external, "RAW_BASE", f"http://127.0.0.1:{_closed_port()}")
    summary = external.fetch_all(progress=False)
    assert not summary.ok and set(summary.failed) == set(FAKE_FILES)
    for name, message in summary.failed.items():
        assert message.startswith(f"{name}: ")
        assert external.url(name) in message
        assert "connect, or set ANALYSIS_DATA_MIRROR" in message
    with pytest.raises(external.UnavailableError, match="connect, or set ANALYSIS_DATA_MIRROR"):
        external.fetch("fake_table", progress=False)


# --- the command -------------------------------------------------------------------------------


def test_cli_fetch_succeeds_from_the_mirror(
    fake: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["fetch"]) == 0
    out = capsys.readouterr()
    assert "2 of 2 files ready" in out.out and "fake_notes: mirror" in out.err
    assert cli.main(["fetch", "--quiet", "fake_table"]) == 0
    assert "1 already cached" in capsys.readouterr().out


def test_cli_fetch_fails_cleanly_with_an_empty_mirror(
    fake: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty_mirror"
    empty.mkdir()
    monkeypatch.setenv(external.MIRROR_ENV, str(empty))
    assert cli.main(["fetch"]) == 1
    err = capsys.readouterr().err
    assert err.count("not in the mirror") == len(FAKE_FILES)
    assert "Traceback" not in err


def test_cli_fetch_offline_exits_1_with_messages(
    fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(external.MIRROR_ENV)
    monkeypatch.setattr(external, "RAW_BASE", f"http://127.0.0.1:{_closed_port()}")
    assert cli.main(["fetch", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("connect, or set ANALYSIS_DATA_MIRROR") == len(FAKE_FILES)
    assert "Traceback" not in err


def test_cli_fetch_unknown_name_is_a_usage_error(
    fake: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["fetch", "nope"]) == 2
    assert "'nope' is not in the download registry" in capsys.readouterr().err


def test_cli_fetch_list_prints_urls(
    fake: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["fetch", "--list"]) == 0
    assert "Meta%20Data%20%28FAKE%29.txt" in capsys.readouterr().out


def test_exit_code_reports_the_mapped_errors_and_passes_others_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fails(error: Exception):
        def body() -> int:
            raise error

        return body

    codes = {KeyError: 2, external.ExternalDataError: 1}
    assert external.exit_code("demo", lambda: 0, codes) == 0
    assert external.exit_code("demo", fails(KeyError("no such name")), codes) == 2
    assert capsys.readouterr().err == "demo: no such name\n"  # the message, not its repr
    assert external.exit_code("demo", fails(external.UnknownFileError("x")), codes) == 1
    assert capsys.readouterr().err == "demo: x\n"
    with pytest.raises(ValueError):
        external.exit_code("demo", fails(ValueError("not mapped")), codes)


# --- the real mirror ---------------------------------------------------------------------------


def test_every_registered_file_matches_the_real_mirror() -> None:
    """In CI (CI=true) the mirror must be there: a missing mirror or file fails, never skips."""
    mirror = external.mirror_dir()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if mirror is None:
        if in_ci:
            pytest.fail("CI=true but ANALYSIS_DATA_MIRROR is not set (.ci/run sets it)")
        pytest.skip("ANALYSIS_DATA_MIRROR is not set (outside CI)")
    assert mirror.is_dir(), f"ANALYSIS_DATA_MIRROR={mirror} is not a folder"
    rows = list(external.registry(registry_file=sources.downloads_path()).itertuples(index=False))
    missing = [
        r.name for r in rows if not (mirror / f"{r.repository}/{r.commit}/{r.path}").is_file()
    ]
    assert not missing, f"not in the mirror {mirror}: {', '.join(missing)}"
    for r in rows:
        row = external.record(r.name, registry_file=sources.downloads_path())
        external.verify_file(mirror / row.key, row)
