"""Unit tests for :mod:`analysis.themes.policy`: the timeline and self-reported-counts loaders.

Expected values are the evidence's own numbers and the register's dates, written out here by
hand (e.g. the written evidence is dated 10 September 2012; the draft ACPO plan has 31 actions).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from analysis import claims, paths
from analysis.published import PublishedDataError
from analysis.themes import policy

KNOWN = {"SRC-OCC01", "SRC-CEOP01"}
GOOD_EVENTS = [
    {
        "event_id": "T01",
        "date": "2012-11-21",
        "date_precision": "day",
        "event": "interim report published",
        "kind": "report",
        "basis": "published_source",
        "source_id": "SRC-OCC01",
        "note": "",
    },
    {
        "event_id": "T02",
        "date": "2013-01",
        "date_precision": "month",
        "event": "shadow command starts",
        "kind": "organisation",
        "basis": "evidence_statement",
        "source_id": "",
        "note": "planned",
    },
    {
        "event_id": "T03",
        "date": "2011",
        "date_precision": "year",
        "event": "action plan",
        "kind": "guidance",
        "basis": "evidence_statement",
        "source_id": "",
        "note": "",
    },
]


def write(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(policy.TIMELINE_COLUMNS)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_good_timeline(tmp_path: Path) -> None:
    frame = policy.load_timeline(write(tmp_path / "t.csv", GOOD_EVENTS), known_sources=KNOWN)
    # sorted by date: 2011, Nov 2012, Jan 2013
    assert frame["event_id"].tolist() == ["T03", "T01", "T02"]
    row = frame.set_index("event_id")
    assert row.loc["T03", "date_start"] == pd.Timestamp("2011-01-01")
    assert row.loc["T03", "date_end"] == pd.Timestamp("2011-12-31")
    assert row.loc["T02", "date_end"] == pd.Timestamp("2013-01-31")
    assert row.loc["T01", "date_start"] == row.loc["T01", "date_end"] == pd.Timestamp("2012-11-21")
    # after 10 September 2012
    assert row["after_evidence"].to_dict() == {"T03": False, "T01": True, "T02": True}
    assert frame.attrs["sources"] == ["SRC-OCC01"] and frame.attrs["synthetic"] is False


def bad(tmp_path: Path, line: int, **changes: str) -> PublishedDataError:
    rows = [dict(r) for r in GOOD_EVENTS]
    rows[line - 2].update(changes)
    with pytest.raises(PublishedDataError) as err:
        policy.load_timeline(write(tmp_path / "bad.csv", rows), known_sources=KNOWN)
    assert "bad.csv" in str(err.value) and f"line {line}" in str(err.value)
    return err.value


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"date": "2012-13"}, "date"),  # month out of range
        ({"date": "2012-02-30"}, "date"),  # not a calendar date
        ({"date": "21/11/2012"}, "date"),  # not ISO
        ({"date": "2012-11"}, "date"),  # does not match day precision
        ({"date_precision": "week"}, "date_precision"),
        ({"kind": "press release"}, "kind"),
        ({"basis": "hearsay"}, "basis"),
        ({"source_id": ""}, "source_id"),  # a published_source row needs its source
        ({"source_id": "SRC-NOPE"}, "source_id"),
        ({"event_id": "E1"}, "event_id"),
        ({"event_id": "T03"}, "event_id"),  # duplicate (T03 is on line 4)
        ({"event": ""}, "event"),
    ],
)
def test_bad_timeline_rows(tmp_path: Path, changes: dict, column: str) -> None:
    err = bad(tmp_path, 2, **changes)
    assert err.column == column


def test_source_id_only_on_published_rows(tmp_path: Path) -> None:
    err = bad(tmp_path, 3, source_id="SRC-OCC01")
    assert err.column == "source_id"


def test_reference_note_needs_a_note(tmp_path: Path) -> None:
    err = bad(tmp_path, 4, basis="reference_note", note="")
    assert err.column == "note"


def test_timeline_missing_and_extra_columns(tmp_path: Path) -> None:
    columns = [c for c in policy.TIMELINE_COLUMNS if c != "kind"]
    with pytest.raises(PublishedDataError, match="line 1, column 'kind'"):
        policy.load_timeline(write(tmp_path / "m.csv", GOOD_EVENTS, columns), known_sources=KNOWN)
    with pytest.raises(PublishedDataError, match="column 'comment'"):
        policy.load_timeline(
            write(tmp_path / "e.csv", GOOD_EVENTS, [*policy.TIMELINE_COLUMNS, "comment"]),
            known_sources=KNOWN,
        )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PublishedDataError, match="empty"):
        policy.load_timeline(empty, known_sources=KNOWN)
    with pytest.raises(PublishedDataError, match="file not found"):
        policy.load_timeline(tmp_path / "none.csv", known_sources=KNOWN)


def test_wrong_field_count(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", GOOD_EVENTS)
    path.write_text(path.read_text() + "T09,2012\n")
    with pytest.raises(PublishedDataError, match="line 5"):
        policy.load_timeline(path, known_sources=KNOWN)


def test_committed_timeline() -> None:
    frame = policy.load_timeline()
    assert frame["date_start"].min() == pd.Timestamp("2009-01-01")
    assert frame["date_end"].max() <= pd.Timestamp("2013-12-31")
    row = frame.set_index("event_id")
    # the written evidence is dated 10 September 2012, the oral evidence 12 June 2012
    written = row[(row["kind"] == "evidence") & (row["date"] == "2012-09-10")]
    assert len(written) == 1
    assert (row.loc[row["date"] == "2012-06-12", "kind"] == "evidence").all()
    # the OCC interim report is dated by its provenance record (2012-11-21)
    occ = row[row["source_id"] == "SRC-OCC01"]
    assert occ["date"].tolist() == ["2012-11-21"]
    # the NCA shadow command (Jan 2013) and formal move (Oct 2013) are the evidence's statements
    nca = row[row["kind"] == "organisation"].set_index("date")
    assert nca.loc["2013-01", "basis"] == "evidence_statement"
    assert nca.loc["2013-10", "basis"] == "evidence_statement"
    # the accelerated report: July 2012 per the reference notes
    assert (row.loc[row["basis"] == "reference_note", "date"] == "2012-07").all()
    # every kind appears, and dated sources agree with the register's publication dates
    assert set(frame["kind"]) == set(policy.KINDS)
    from analysis import sources

    for sid, date in zip(frame["source_id"], frame["date"], strict=True):
        if sid:
            assert sources.get(sid).date_published.startswith(date), sid


GOOD_COUNT = {
    "count_id": "S01",
    "claim_id": "C04",
    "quantity": "actions in a draft plan",
    "value": "31",
    "qualifier": "exact",
    "unit": "actions",
    "section": "current action",
    "basis": "evidence_statement",
    "source_id": "",
    "verdict": "self_reported",
    "note": "",
}


def write_counts(path: Path, rows: list[dict]) -> Path:
    return write(path, rows, list(policy.SELF_REPORTED_COLUMNS))


def test_good_counts(tmp_path: Path) -> None:
    frame = policy.load_self_reported(write_counts(tmp_path / "c.csv", [GOOD_COUNT]))
    assert frame["value"].tolist() == [31.0]
    assert frame.attrs["sources"] == ["SRC-LCG09"]


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"value": "31.5"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "many"}, "value"),
        ({"qualifier": "roughly"}, "qualifier"),
        ({"basis": "published_source"}, "basis"),
        ({"source_id": "SRC-OCC01"}, "source_id"),
        ({"verdict": "corroborated"}, "verdict"),
        ({"unit": ""}, "unit"),
        ({"count_id": "X1"}, "count_id"),
        ({"claim_id": "4"}, "claim_id"),
    ],
)
def test_bad_counts(tmp_path: Path, changes: dict, column: str) -> None:
    path = write_counts(
        tmp_path / "bad.csv", [GOOD_COUNT, {**GOOD_COUNT, "count_id": "S02", **changes}]
    )
    with pytest.raises(PublishedDataError) as err:
        policy.load_self_reported(path)
    assert err.value.column == column and err.value.line == 3


def test_committed_counts_are_the_evidences() -> None:
    counts = policy.load_self_reported().set_index("claim_id")
    # the evidence's numbers, with their units (written out from the evidence by hand)
    expected = {
        "C03": (5, "threat areas"),
        "C04": (31, "actions"),
        "C05": (7, "key considerations"),
        "C09": (5, "issues"),
        "C10": (205, "delegates"),
        "C11": (50, "delegates"),
        "C24": (100, "interviews"),
        "C20": (4, "police force areas"),
        "C21": (3, "months"),
        "C06": (4, "commands"),
        "C07": (6, "principles"),
    }
    assert set(counts.index) == set(expected)
    for cid, (value, unit) in expected.items():
        assert (counts.loc[cid, "value"], counts.loc[cid, "unit"]) == (value, unit), cid
    assert counts.loc["C10", "qualifier"] == "about"
    assert counts.loc["C24", "qualifier"] == "more_than"
    assert (counts["basis"] == "evidence_statement").all()


def test_counts_agree_with_claims_register() -> None:
    counts = policy.load_self_reported()
    register = claims.load_register(check_figures=False).set_index("claim_id")
    for row in counts.itertuples():
        claim = register.loc[row.claim_id]
        assert claim["value"] == row.value, row.claim_id
        assert claim["unit"] == row.unit, row.claim_id
        assert claim["qualifier"] == row.qualifier, row.claim_id
        assert claim["verdict"] == row.verdict, row.claim_id


def test_self_reported_table() -> None:
    table = policy.self_reported_table().set_index("claim_id")
    assert table.loc["C24", "stated"] == "more than 100 interviews"
    assert table.loc["C04", "stated"] == "31 actions"


def test_committed_files_are_registered() -> None:
    from analysis import sources

    problems = [p for p in sources.verify() if "timeline" in p or "self_reported" in p]
    assert problems == []
    assert (paths.DATA_PUBLISHED / "timeline.csv").exists()
