"""Computed verdicts follow the published data: change a figure and the verdict changes.

Expected verdicts and arithmetic are worked by hand from the published numbers written here
(e.g. 0.5 x 152 = 76, so "fewer than half" is at most 75 authorities; 0.6 x 152 = 91.2, so
"almost two thirds" needs at least 92), never copied from the module's output.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import claims, published, verdicts

ROOT = Path(__file__).resolve().parents[2]

# Verdicts worked out by hand from the published figures (see the module docstring of claims).
EXPECTED_COMPUTED = {
    "C01": "corroborated_with_caveat",  # 311/2083 = 14.9% in care vs 67,050/11.40m = 0.59%
    "C02": "corroborated_with_caveat",  # 16,500 at high risk a year vs ~2,000 confirmed a year
    "C13": "corroborated_with_caveat",  # < 25% of 101 LSCBs; Bedfordshire, not the NWG
    "C14": "not_traced",  # < 76 of 152 in Jan 2012; >= 92 needed by April 2012
    "C16": "corroborated",  # about 200,000 people (Home Office)
    "C17": "corroborated_with_caveat",  # 64% of incidents, not reports
    "C18": "corroborated_with_caveat",  # a quarter of runaways, not of missing reports
    "C22": "corroborated",  # 100 LSCBs studied
    # real local data (the mirror): 151 rows in the 2012 release + the Isles of Scilly
    "C15": "corroborated_with_caveat",
    # 2016 incidents per missing child differ between regions (F about 5.5 on 8 and 139 df)
    "C19": "corroborated_with_caveat",
    # homes-only NB rate ratio about 1.08 per home per 10,000 children, CI above 1
    "C26": "corroborated_with_caveat",
}


def patch(monkeypatch: pytest.MonkeyPatch, changes: dict[str, dict[str, object]]) -> None:
    """Make ``published.figure`` return changed copies of some figures."""
    original = published.figure

    def fake(figure_id: str) -> pd.Series:
        row = original(figure_id)
        for key, value in changes.get(figure_id, {}).items():
            row[key] = value
        return row

    monkeypatch.setattr(published, "figure", fake)


def verdict(claim_id: str) -> str:
    return verdicts.assess(claim_id).verdict


def test_the_register_agrees_with_the_published_data() -> None:
    table = verdicts.audit()  # strict: raises if a recorded verdict has drifted
    computed = table[table["verdict_method"] == "computed"].set_index("claim_id")
    assert computed["verdict"].to_dict() == EXPECTED_COMPUTED
    assert (table["verdict"] == table["recorded_verdict"]).all()
    assert set(table.loc[table["verdict_method"] == "typed", "claim_id"]).isdisjoint(
        EXPECTED_COMPUTED
    )


def test_findings_carry_the_hand_arithmetic() -> None:
    table = verdicts.audit().set_index("claim_id")
    assert "at most 75 of 152" in table.loc["C14", "finding"]
    assert "at least 92" in table.loc["C14", "finding"]
    assert "101 at two thirds" in table.loc["C14", "finding"]  # 2/3 x 152 = 101.3
    assert "14.9%" in table.loc["C01", "finding"]  # 311 / 2083
    assert "0.59%" in table.loc["C01", "finding"]  # 67,050 / 11,403,970
    assert "incidents, not reports" in table.loc["C17", "finding"]


# --- the 64% of missing reports (MP07) ------------------------------------------------------


def test_64_percent_contradicted_if_the_published_share_were_50(monkeypatch) -> None:
    patch(monkeypatch, {"MP07": {"value": 0.50}})
    assert verdict("C17") == "contradicted"
    with pytest.raises(verdicts.ClaimsAuditError, match="C17"):
        verdicts.audit()


def test_64_percent_fully_corroborated_if_the_source_counted_reports(monkeypatch) -> None:
    patch(monkeypatch, {"MP07": {"unit": "proportion of reports"}})
    assert verdict("C17") == "corroborated"


def test_64_percent_needs_the_same_whole_percentage(monkeypatch) -> None:
    patch(monkeypatch, {"MP07": {"value": 0.66}})  # the 2010/11 share
    assert verdict("C17") == "contradicted"


# --- about 200,000 people a year (MP01) ----------------------------------------------------


@pytest.mark.parametrize(
    ("published_value", "expected"),
    [(100_000, "contradicted"), (215_000, "corroborated"), (230_000, "contradicted")],
)
def test_200000_people_within_ten_percent(monkeypatch, published_value, expected) -> None:
    patch(monkeypatch, {"MP01": {"value": published_value}})
    assert verdict("C16") == expected


def test_200000_people_caveat_if_the_source_counted_reports(monkeypatch) -> None:
    patch(monkeypatch, {"MP01": {"unit": "reports"}})
    assert verdict("C16") == "corroborated_with_caveat"


# --- 100 LSCBs surveyed (JAGO01) -----------------------------------------------------------


def test_100_lscbs_contradicted_by_another_count(monkeypatch) -> None:
    patch(monkeypatch, {"JAGO01": {"value": 90.0}})
    assert verdict("C22") == "contradicted"


# --- almost two thirds of 152 pledged by April 2012 (BAR01) --------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "not_traced"),  # fewer than half in January: needs >= 17 new pledges by April
        ({"value": 0.65, "qualifier": "about"}, "corroborated_with_caveat"),  # January 2012
        ({"value": 0.65, "qualifier": "exact", "period": "2012-04"}, "corroborated"),
        ({"value": 0.40, "qualifier": "exact", "period": "2012-04"}, "contradicted"),
        ({"value": 0.40, "qualifier": "exact", "period": "2012-06"}, "contradicted"),
        ({"value": 0.80, "qualifier": "exact", "period": "2012-01"}, "contradicted"),
        ({"value": 0.80, "qualifier": "exact", "period": "2012-12"}, "not_traced"),
        ({"value": 0.70, "qualifier": "less_than"}, "not_traced"),  # too loose to settle it
    ],
)
def test_pledges_rule(monkeypatch, changes, expected) -> None:
    patch(monkeypatch, {"BAR01": changes})
    assert verdict("C14") == expected


# --- less than a quarter with protocols (JAGO08) -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"value": 0.40, "qualifier": "exact"}, "contradicted"),
        ({"value": 0.50, "qualifier": "less_than"}, "not_traced"),
        ({"value": 0.20, "qualifier": "exact"}, "corroborated_with_caveat"),
    ],
)
def test_protocols_rule(monkeypatch, changes, expected) -> None:
    patch(monkeypatch, {"JAGO08": changes})
    assert verdict("C13") == expected


def test_protocols_caveat_names_the_attribution_and_date() -> None:
    finding = verdicts.assess("C13").finding
    assert "National Working Group" in finding and "undated" in finding


# --- a quarter abused (RS07), over-representation (CEOP08), extent (OCC02) ------------------


def test_quarter_contradicted_if_runaway_share_were_a_tenth(monkeypatch) -> None:
    patch(monkeypatch, {"RS07": {"value": 0.10}})
    assert verdict("C18") == "contradicted"


def test_overrepresentation_follows_the_victim_counts(monkeypatch) -> None:
    # 2 of 2,083 in care even counting every unrecorded background: 0.1% < 0.59%
    patch(monkeypatch, {"CEOP08": {"value": 2.0}, "CEOP10": {"value": 0.0}})
    assert verdict("C01") == "contradicted"


def test_overrepresentation_unsettled_when_backgrounds_are_missing(monkeypatch) -> None:
    # 5 known in care (0.24%) but 1,000 unrecorded: could be either side of 0.59%
    patch(monkeypatch, {"CEOP08": {"value": 5.0}, "CEOP10": {"value": 1000.0}})
    assert verdict("C01") == "not_traced"


def test_extent_contradicted_if_fewer_at_risk_than_confirmed(monkeypatch) -> None:
    patch(monkeypatch, {"OCC02": {"value": 1000.0}})
    assert verdict("C02") == "contradicted"


# --- the command line ----------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analysis", "claims", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_cli_prints_the_audit_as_csv() -> None:
    proc = _cli("--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == len(claims.load_register())
    assert {"claim_id", "verdict", "verdict_method", "finding"} <= set(rows[0])
    by_id = {r["claim_id"]: r for r in rows}
    assert by_id["C16"]["verdict"] == "corroborated"
    assert by_id["C03"]["verdict_method"] == "typed"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_cli_readable_formats(fmt: str) -> None:
    proc = _cli("--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "C25" in proc.stdout and "self_reported" in proc.stdout


def test_cli_fails_when_the_published_data_no_longer_support_a_recorded_verdict(
    tmp_path: Path,
) -> None:
    shutil.copytree(ROOT / "data", tmp_path / "data")  # the local rules read data/reference too
    path = tmp_path / "data" / "published" / "missing_persons.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["figure_id"] == "MP07", "value"] = "0.50"
    frame.to_csv(path, index=False, lineterminator="\n")
    # Unreviewed, the changed file is refused at load (issue 16): one line, no traceback.
    proc = _cli("--format", "csv", env={"ANALYSIS_PROJECT_ROOT": str(tmp_path)})
    assert proc.returncode == 1
    assert "checksum does not match MANIFEST.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Reviewed (the manifest updated), the new value is used and contradicts the verdict.
    from analysis import sources

    sources.update_manifest(tmp_path / "data" / "published")
    proc = _cli("--format", "csv", env={"ANALYSIS_PROJECT_ROOT": str(tmp_path)})
    assert proc.returncode == 1
    assert "C17" in proc.stderr and "contradicted" in proc.stderr


# --- outputs exist after `make figures` ------------------------------------------------------


def test_every_output_exists_after_make_figures(figures_built: Path) -> None:
    register = claims.load_register()
    missing = sorted({p for p in register["output"] if not (ROOT / p).exists()})
    assert not missing, f"claims point at outputs `make figures` did not write: {missing}"


def test_the_readme_summary_reads_the_same_from_the_built_audit(figures_built: Path) -> None:
    # `make figures` summarises the audit notebook 00 wrote instead of running the rules again:
    # the written table must carry everything the summary shows, unchanged by the CSV round trip.
    from analysis.pipeline import report

    built = report.built_audit(figures_built)
    assert built is not None
    assert report.readme_summary(built) == report.readme_summary(verdicts.audit())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(report.README_START)[1].split(report.README_END)[0]
    assert block == "\n" + report.readme_summary(built), "the README's summary is out of date"
