"""The ingest end to end: the bad-return corpus, usage errors, atomic output, synthetic round trip.

The fixture corpus under ``tests/fixtures/returns/`` was written by hand: each file under
``bad/`` has one problem, named in ``EXPECTED`` below; the files under ``good/`` are valid
(with and without a byte-order mark, LF and CRLF, reordered columns) and their totals were
added up by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import returns, synthetic, tables

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "returns"
COMMITTED = ROOT / "data" / "synthetic"

#: bad fixture file -> the one rule it breaks
EXPECTED: dict[str, str] = {
    "missing_column.csv": "F07",
    "extra_column.csv": "F08",
    "duplicate_column.csv": "F09",
    "wrong_type.csv": "R14",
    "negative_count.csv": "R19",
    "fractional_count.csv": "R24",
    "confirmed_above_identified.csv": "R25",
    "missing_above_identified.csv": "R26",
    "unknown_age_band.csv": "R06",
    "unknown_sex.csv": "R07",
    "unknown_looked_after.csv": "R08",
    "period_years.csv": "R05",
    "period_format.csv": "R04",
    "area_not_in_register.csv": "R02",
    "duplicate_key_row.csv": "R12",
    "empty.csv": "F02",
    "header_only.csv": "F10",
    "semicolon.csv": "F06",
    "binary.csv": "F03",
    "html.csv": "F04",
    "mixed_areas.csv": "R09",
    "mixed_periods.csv": "R10",
    "name_mismatch_SYN028_2011-12.csv": "R11",
    "ragged_row.csv": "F11",
    "latin1.csv": "F03",
    "blank_count.csv": "R13",
    "unclosed_quote.csv": "F05",
    "blank_area.csv": "R01",
    "blank_period.csv": "R03",
    "duplicate_area_period_a.csv": "X01",
    "duplicate_area_period_b.csv": "X01",
}
GOOD = sorted(p.name for p in (FIXTURES / "good").iterdir())
# Hand totals of the good files: five files of (4+3+0, 2+1+0, 1+3+0) and reordered.csv
# with (1+2, 0+2, 0+2).
GOOD_TOTALS = {
    "identified_at_risk": 5 * 7 + 3,
    "confirmed_victims": 5 * 3 + 2,
    "went_missing": 5 * 4 + 2,
}


def args(folder: Path, out: Path, register: Path | None = None, **extra) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    returns.add_ingest_arguments(parser)
    argv = [str(folder), "--out", str(out)]
    if register is not None:
        argv += ["--register", str(register)]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return parser.parse_args(argv)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "returns"
    folder.mkdir()
    for sub in ("good", "bad"):
        for path in (FIXTURES / sub).iterdir():
            shutil.copy(path, folder / path.name)
    return folder


def read_errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


#: bad fixture files that are not returns at all: listed as skipped, with the reason
SKIPPED = {"not_csv_name.txt": "not a .csv file, so not a return"}


def test_corpus_has_enough_kinds_of_bad_return() -> None:
    assert len(set(EXPECTED.values())) >= 15
    assert sorted([*EXPECTED, *SKIPPED]) == sorted(p.name for p in (FIXTURES / "bad").iterdir())


def test_bad_returns_reported_good_ones_collated(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "collated.csv"
    code = returns.run_ingest(args(corpus, out, FIXTURES / "register.csv"))
    assert code == 1

    errors = read_errors(tmp_path / "out" / "collated.errors.csv")
    assert list(errors[0]) == ["file", "row", "column", "rule", "message"]
    rules_by_file: dict[str, set[str]] = {}
    for e in errors:
        rules_by_file.setdefault(e["file"], set()).add(e["rule"])
        assert e["message"]
    assert rules_by_file == {name: {rule} for name, rule in EXPECTED.items()}
    # every rule's message is its own
    by_rule = {e["rule"]: e["message"] for e in errors if e["rule"] != "X01"}
    assert len(set(by_rule.values())) == len(by_rule)

    collated = pd.read_csv(out, dtype=str)
    assert sorted(collated["source_file"].unique()) == GOOD
    for column, total in GOOD_TOTALS.items():
        assert collated[column].astype(int).sum() == total
    assert list(collated.columns) == [*returns.COLUMNS, "source_file"]

    captured = capsys.readouterr()
    stderr = captured.err
    assert "wrong_type.csv, line 2, column identified_at_risk: R14" in stderr
    # the summary is the result, on stdout; the error lines go to stderr
    assert f"{len(GOOD)} valid" in captured.out and "valid and collated" not in stderr
    for name, reason in SKIPPED.items():
        assert f"ingest: skipped {name}: {reason}" in stderr


def test_error_rows_and_columns_point_at_the_problem(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "collated.csv"
    returns.run_ingest(args(corpus, out, FIXTURES / "register.csv"))
    found = {
        (e["file"], e["row"], e["column"]) for e in read_errors(tmp_path / "collated.errors.csv")
    }
    assert ("wrong_type.csv", "2", "identified_at_risk") in found
    assert ("mixed_areas.csv", "4", "area_code") in found  # third data row is SYN026
    assert ("duplicate_key_row.csv", "5", "age_band;sex;looked_after") in found
    assert ("ragged_row.csv", "4", "") in found
    assert ("missing_column.csv", "1", "went_missing") in found
    assert ("extra_column.csv", "1", "ethnicity") in found
    assert ("empty.csv", "", "") in found


def test_duplicate_area_period_neither_collated(corpus: Path, tmp_path: Path) -> None:
    result = returns.ingest(
        corpus, returns.load_area_register(FIXTURES / "register.csv")["area_code"]
    )
    dup = [e for e in result.errors if e.rule == "X01"]
    assert {e.file for e in dup} == {"duplicate_area_period_a.csv", "duplicate_area_period_b.csv"}
    assert "SYN036" not in set(result.collated["area_code"])
    assert "also in duplicate_area_period_b.csv" in dup[0].message


def test_all_valid_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "collated.csv"
    assert returns.run_ingest(args(FIXTURES / "good", out, FIXTURES / "register.csv")) == 0
    assert read_errors(tmp_path / "collated.errors.csv") == []
    collated = pd.read_csv(out, dtype=str)
    # BOM and CRLF files parse exactly like the plain one
    assert set(collated["area_code"]) == {
        "SYN001",
        "SYN002",
        "SYN003",
        "SYN004",
        "SYN005",
        "E08000001",
    }
    assert not collated.apply(lambda c: c.str.contains("\ufeff|\r")).any().any()
    assert out.read_bytes().count(b"\r") == 0


def test_real_codes_need_a_register_that_has_them(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    shutil.copy(FIXTURES / "good" / "bolton_return_E08000001_2012-13.csv", folder)
    result = returns.ingest(folder, {"SYN001"})
    assert {e.rule for e in result.errors} == {"R02"}
    register = tmp_path / "la.csv"
    register.write_text("area_code\nE08000001\n")
    assert returns.run_ingest(args(folder, tmp_path / "c.csv", register)) == 0


@pytest.mark.parametrize("problem", ["no_dir", "no_register", "bad_register", "empty_dir"])
def test_usage_errors_exit_2(tmp_path: Path, problem: str, capsys) -> None:
    folder = tmp_path / "returns"
    folder.mkdir()
    shutil.copy(FIXTURES / "good" / "return_SYN001_2011-12.csv", folder)
    register: Path | None = FIXTURES / "register.csv"
    if problem == "no_dir":
        folder = tmp_path / "missing"
    elif problem == "no_register":
        register = tmp_path / "nope.csv"
    elif problem == "bad_register":
        register = tmp_path / "reg.csv"
        register.write_text("code\nSYN001\n")
    else:
        (folder / "return_SYN001_2011-12.csv").unlink()
    out = tmp_path / "collated.csv"
    assert returns.run_ingest(args(folder, out, register)) == 2
    assert capsys.readouterr().err.startswith("ingest: ")
    assert not out.exists()


def test_interrupted_write_leaves_previous_output(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "collated.csv"
    report = tmp_path / "collated.errors.csv"
    out.write_text("previous collated\n")
    report.write_text("previous errors\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(tables.os, "replace", interrupted)
    assert returns.run_ingest(args(FIXTURES / "good", out, FIXTURES / "register.csv")) == 130
    assert out.read_text() == "previous collated\n"
    assert report.read_text() == "previous errors\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collated.csv", "collated.errors.csv"]


@pytest.mark.parametrize("where", ["out", "errors", "out_in_subfolder"])
def test_outputs_inside_the_returns_folder_are_refused(tmp_path: Path, where: str, capsys) -> None:
    """Issue 16: --out inside the folder silently left that return out and overwrote it."""
    folder = tmp_path / "r"
    shutil.copytree(FIXTURES / "good", folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    target = folder / "return_SYN001_2011-12.csv"  # a return
    extra = {}
    if where == "out":
        out = target
    elif where == "errors":
        out, extra = tmp_path / "c.csv", {"errors": target}
    else:
        out = folder / "sub" / "c.csv"
    assert returns.run_ingest(args(folder, out, FIXTURES / "register.csv", **extra)) == 2
    assert "inside the returns folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_errors_equal_to_out_is_refused(tmp_path: Path, capsys) -> None:
    """Issue 16: --errors equal to --out replaced the collated data with the error report."""
    out = tmp_path / "c.csv"
    code = returns.run_ingest(args(FIXTURES / "good", out, FIXTURES / "register.csv", errors=out))
    assert code == 2
    assert "same file as --out" in capsys.readouterr().err
    assert not out.exists()


def test_progress_lines(tmp_path: Path, capsys) -> None:
    returns.run_ingest(
        args(FIXTURES / "good", tmp_path / "c.csv", FIXTURES / "register.csv", progress_every=2)
    )
    err = capsys.readouterr().err
    assert f"checked 2/{len(GOOD)} files" in err and f"checked {len(GOOD)}/{len(GOOD)}" in err


# --------------------------------------------------------------------------- synthetic round trip


def test_ingest_reproduces_generator_totals(tmp_path: Path) -> None:
    params = synthetic.SyntheticParameters(n_areas=20, n_hotspots=2, records_per_period=3000)
    written = synthetic.write_synthetic(tmp_path / "syn", params)
    out = tmp_path / "collated.csv"
    code = returns.run_ingest(args(written["returns"], out, written["register"]))
    assert code == 0
    collated = pd.read_csv(out, dtype={"area_code": str, "period": str})
    records = pd.read_csv(written["records"], dtype=str)

    # area x period totals: records counted directly versus collated returns
    direct = records.groupby(["area_code", "period"]).agg(
        identified_at_risk=("record_id", "size"),
        confirmed_victims=("confirmed_victim", lambda s: (s == "True").sum()),
        went_missing=("went_missing", lambda s: (s == "True").sum()),
    )
    ingested = collated.groupby(["area_code", "period"])[list(direct.columns)].sum()
    pd.testing.assert_frame_equal(ingested.loc[direct.index], direct, check_dtype=False)
    # areas or periods with no records have all-zero returns
    assert ingested.drop(direct.index).to_numpy().sum() == 0
    assert len(collated) == 20 * 3 * 45

    totals = json.loads(written["parameters"].read_text())["totals"]
    assert totals["records"] == len(records) == collated["identified_at_risk"].sum()
    for period, row in totals["by_period"].items():
        sub = collated[collated["period"] == period]
        for column, value in row.items():
            assert sub[column].sum() == value


@pytest.mark.skipif(not (COMMITTED / "synthetic_returns").exists(), reason="no committed data")
def test_committed_synthetic_returns_ingest_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "collated.csv"
    code = returns.run_ingest(
        args(COMMITTED / "synthetic_returns", out, COMMITTED / "synthetic_area_register.csv")
    )
    assert code == 0
    collated = pd.read_csv(out, dtype={"area_code": str})
    records = pd.read_csv(COMMITTED / "synthetic_case_records.csv", dtype=str)
    assert collated["identified_at_risk"].sum() == len(records)
    assert collated["confirmed_victims"].sum() == (records["confirmed_victim"] == "True").sum()
    assert collated["went_missing"].sum() == (records["went_missing"] == "True").sum()
    assert collated["source_file"].nunique() == 152 * 3


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed data")
def test_committed_synthetic_files_regenerate_byte_identically(tmp_path: Path) -> None:
    from analysis.pipeline import cli

    assert cli.main(["synthetic", "--out", str(tmp_path)]) == 0  # what `make synthetic` runs
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file())
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (COMMITTED / rel).read_bytes(), str(rel)
