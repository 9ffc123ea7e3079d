"""Each ingest failure issue 16 found, reproduced: it fails before the fix and passes after.

Returns are small hand-made fakes in the return format; expectations come from reading them.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis import returns, tables

ROOT = Path(__file__).resolve().parents[2]
HEAD = (
    "area_code,period,age_band,sex,looked_after,identified_at_risk,confirmed_victims,went_missing"
)
REGISTER = frozenset({"SYN001", "SYN002", "SYN003", "SYN004"})


def good(area: str = "SYN001", at_risk: int = 11) -> str:
    return f"{HEAD}\n{area},2011-12,13-15,female,no,4,2,1\n{area},2011-12,16-17,male,no,{at_risk},3,2\n"


def folder_with(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp_path / "returns"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def register_file(tmp_path: Path) -> Path:
    path = tmp_path / "register.csv"
    path.write_text("area_code\n" + "\n".join(sorted(REGISTER)) + "\n")
    return path


def run(folder: Path, out: Path, tmp_path: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    returns.add_ingest_arguments(parser)
    argv = [str(folder), "--out", str(out), "--register", str(register_file(tmp_path)), *extra]
    return returns.run_ingest(parser.parse_args(argv))


def report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rules_of(result: returns.IngestResult) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for error in result.errors:
        found.setdefault(error.file, set()).add(error.rule)
    return found


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("count", ["9" * 31, str(2**63 - 1), str(2**53 + 1), "3.0000000000000001"])
def test_huge_or_inexact_counts_are_rejected_and_valid_files_kept(
    tmp_path: Path, count: str
) -> None:
    """A 31-digit count or 2**63 - 1 crashed ingest (nothing written, the valid files lost);
    counts above 2**53 and 3.0000000000000001 were silently changed."""
    folder = folder_with(
        tmp_path,
        {"a.csv": good("SYN001"), "b.csv": good("SYN002").replace(",11,", f",{count},")},
    )
    out = tmp_path / "c.csv"
    assert run(folder, out, tmp_path) == 1
    collated = pd.read_csv(out, dtype=str)
    assert set(collated["source_file"]) == {"a.csv"}
    assert collated["identified_at_risk"].tolist() == ["4", "11"]
    rule = {e["rule"] for e in report(tmp_path / "c.errors.csv")}
    assert rule == ({"R16"} if "." in count else {"R27"})


@pytest.mark.parametrize(
    ("change", "rule"),
    [((",4,", ",٣,"), "R14"), ((",4,", ",３,"), "R14"), (("2011-12", "٢٠١١-١٢"), "R04")],
)
def test_non_ascii_digits_are_rejected(tmp_path: Path, change, rule: str) -> None:
    folder = folder_with(tmp_path, {"a.csv": good().replace(*change)})
    result = returns.ingest(folder, REGISTER)
    assert rule in rules_of(result)["a.csv"]
    assert result.collated.empty


# --------------------------------------------------------------------------- names and pairs


def test_file_name_that_is_not_utf8_is_reported_not_fatal(tmp_path: Path) -> None:
    """A name with an invalid UTF-8 byte crashed ingest; with a valid file nothing was written,
    with an invalid one a stale error report was left beside a new output."""
    folder = folder_with(tmp_path, {"ok.csv": good("SYN001")})
    (folder / os.fsdecode(b"r\xe9turn_SYN002.csv")).write_text(good("SYN002"))
    out = tmp_path / "c.csv"
    (tmp_path / "c.errors.csv").write_text("stale report\n")
    assert run(folder, out, tmp_path) == 1
    rows = report(tmp_path / "c.errors.csv")
    assert [(r["file"], r["rule"]) for r in rows] == [("r\\xe9turn_SYN002.csv", "F17")]
    assert set(pd.read_csv(out, dtype=str)["source_file"]) == {"ok.csv"}


def test_pair_is_both_old_when_a_signal_arrives_before_the_renames(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    folder = folder_with(tmp_path, {"a.csv": good()})
    out, errors = tmp_path / "c.csv", tmp_path / "c.errors.csv"
    out.write_text("old data\n")
    errors.write_text("old report\n")
    real = returns._csv_writer

    def writer(header, rows):
        write = real(header, rows)

        def slow(tmp: Path) -> None:
            write(tmp)
            if header == list(returns.ERROR_COLUMNS) or tuple(header) == returns.ERROR_COLUMNS:
                os.kill(os.getpid(), signal.SIGTERM)  # while the second file is being written

        return slow

    monkeypatch.setattr(returns, "_csv_writer", writer)
    assert run(folder, out, tmp_path) == 128 + signal.SIGTERM
    assert "no output was changed" in capsys.readouterr().err
    assert (out.read_text(), errors.read_text()) == ("old data\n", "old report\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.csv",
        "c.errors.csv",
        "register.csv",
        "returns",
    ]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_pair_is_both_new_when_a_signal_arrives_between_the_renames(
    tmp_path: Path, monkeypatch, capsys, signum: int
) -> None:
    """Killed between its two writes, ingest left the new output beside the old report."""
    folder = folder_with(tmp_path, {"a.csv": good()})
    out, errors = tmp_path / "c.csv", tmp_path / "c.errors.csv"
    out.write_text("old data\n")
    errors.write_text("old report\n")
    real = tables.os.replace
    calls = []

    def replace(src, dst):
        real(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(tables.os, "replace", replace)
    assert run(folder, out, tmp_path) == 128 + signum
    assert "both in place" in capsys.readouterr().err
    assert out.read_text().startswith("area_code,") and errors.read_text().startswith("file,")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


KILLER = """
import sys
from analysis.pipeline import cli
sys.exit(cli.main(["ingest", sys.argv[1], "--out", sys.argv[2], "--register", sys.argv[3],
                   "--progress-every", "0"]))
"""


@pytest.mark.slow
def test_real_sigterm_mid_run_leaves_a_consistent_pair(tmp_path: Path) -> None:
    """Real SIGTERMs at several moments of a run: the pair is always old-old or new-new."""
    folder = folder_with(
        tmp_path,
        {f"r{i:03d}_SYN00{1 + i % 4}.csv": good(f"SYN00{1 + i % 4}", i) for i in range(150)},
    )
    register = register_file(tmp_path)
    out, errors = tmp_path / "c.csv", tmp_path / "c.errors.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", KILLER, str(folder), str(out), str(register)], env=env, check=False
    )
    full = time.monotonic() - start
    new_pair = (out.read_bytes(), errors.read_bytes())
    for fraction in (0.6, 0.85, 0.97):
        out.write_text("old data\n")
        errors.write_text("old report\n")
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLER, str(folder), str(out), str(register)], env=env
        )
        time.sleep(full * fraction)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        pair = (out.read_bytes(), errors.read_bytes())
        assert pair in {(b"old data\n", b"old report\n"), new_pair}, fraction
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- truncation


def test_return_cut_before_the_end_of_a_line_is_flagged(tmp_path: Path) -> None:
    """A return cut two bytes before the end of a line was accepted, 11 read as 1."""
    text = good(at_risk=11) + "SYN001,2011-12,0-9,male,no,5,0,0\n"
    cut = text[: text.index(",11,") + 2]  # ends "...,1": the cell 11 lost its second digit
    folder = folder_with(tmp_path, {"a.csv": cut})
    result = returns.ingest(folder, REGISTER)
    assert "F16" in rules_of(result)["a.csv"]
    assert result.collated.empty


# --------------------------------------------------------------------------- folder entries


def test_links_fifos_and_other_entries_are_reported_or_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(good("SYN004"))
    folder = folder_with(
        tmp_path,
        {
            "a.csv": good("SYN001"),
            "README.txt": "what these files are\n",
            "return.xlsx": b"PK\x03\x04 a spreadsheet",
            ".DS_Store": b"\x00\x01",
        },
    )
    (folder / "sub").mkdir()
    (folder / "dangling.csv").symlink_to(folder / "nowhere.csv")
    (folder / "loop.csv").symlink_to(folder / "loop.csv")
    (folder / "outside.csv").symlink_to(outside)
    (folder / "inside.csv").symlink_to(folder / "a.csv")
    os.mkfifo(folder / "pipe.csv")
    result = returns.ingest(folder, REGISTER)
    assert rules_of(result) == {
        "dangling.csv": {"F13"},
        "loop.csv": {"F13"},
        "outside.csv": {"F14"},
        "pipe.csv": {"F12"},
        # a link inside the folder is followed: it is then a second file for SYN001
        "a.csv": {"X01"},
        "inside.csv": {"X01"},
    }
    assert "SYN004" not in set(result.collated["area_code"])  # the outside file was not read
    skipped = dict(result.skipped)
    assert skipped["README.txt"] == "not a .csv file, so not a return"
    assert "export it as CSV" in skipped["return.xlsx"]
    assert skipped[".DS_Store"] == "hidden file"
    assert skipped["sub"].startswith("a folder")
    messages = {e.file: e.message for e in result.errors}
    assert "nowhere.csv" in messages["dangling.csv"]
    assert str(outside) in messages["outside.csv"]
    assert "FIFO" in messages["pipe.csv"]


def test_large_file_is_rejected_unread_and_fast(tmp_path: Path) -> None:
    """A 50 MB return took 34-122 s and 1.6 GB; now anything over the cap is not parsed."""
    row = "SYN001,2011-12,13-15,female,no,4,2,1\n"
    big = HEAD + "\n" + row * (returns.MAX_FILE_BYTES // len(row) + 10)
    folder = folder_with(tmp_path, {"big.csv": big, "a.csv": good("SYN002")})
    result = returns.ingest(folder, REGISTER)
    assert rules_of(result) == {"big.csv": {"F15"}}
    assert result.valid == ["a.csv"]


def test_error_rows_per_file_are_capped_in_the_report(tmp_path: Path) -> None:
    rows = "".join(f"SYN001,2011-12,13-15,female,no,x{i},0,0\n" for i in range(300))
    folder = folder_with(tmp_path, {"bad.csv": HEAD + "\n" + rows, "a.csv": good("SYN002")})
    out = tmp_path / "c.csv"
    assert run(folder, out, tmp_path) == 1
    found = report(tmp_path / "c.errors.csv")
    assert len(found) == returns.MAX_ERRORS_PER_FILE + 1
    assert found[-1]["rule"] == "F99" and "more errors in this file" in found[-1]["message"]


# --------------------------------------------------------------------------- command line


def test_max_errors_shown_must_not_be_negative(tmp_path: Path, capsys) -> None:
    """``--max-errors-shown -1`` printed "and 1 more errors" with no errors."""
    folder = folder_with(tmp_path, {"a.csv": good()})
    with pytest.raises(SystemExit) as exit_:
        run(folder, tmp_path / "c.csv", tmp_path, "--max-errors-shown", "-1")
    assert exit_.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
    namespace = argparse.Namespace(
        returns_dir=folder, out=tmp_path / "c.csv", register=None, max_errors_shown=-1
    )
    assert returns.run_ingest(namespace) == 2


def test_max_errors_shown_zero_counts_them_all(tmp_path: Path, capsys) -> None:
    folder = folder_with(tmp_path, {"a.csv": good().replace(",4,", ",x,")})
    assert run(folder, tmp_path / "c.csv", tmp_path, "--max-errors-shown", "0") == 1
    err = capsys.readouterr().err
    assert "R14" not in err and "... and 1 more error\n" in err


def test_outputs_get_the_permissions_the_umask_gives(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"a.csv": good()})
    old = os.umask(0o022)
    try:
        assert run(folder, tmp_path / "c.csv", tmp_path) == 0
    finally:
        os.umask(old)
    for name in ("c.csv", "c.errors.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
