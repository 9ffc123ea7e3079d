"""Loaders for published tables: good files load, bad files fail naming file, line and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from analysis import published
from analysis.published import PublishedDataError, read_table

GOOD_ROW = {
    "figure_id": "X1",
    "measure": "children looked after at 31 March",
    "value": "67050",
    "qualifier": "exact",
    "unit": "children",
    "geography": "England",
    "period": "2012-03-31",
    "period_start": "2012-03-31",
    "period_end": "2012-03-31",
    "vintage": "first published",
    "definition": "",
    "location": "main text",
    "source_id": "SRC-LAC2012",
    "confidence": "High",
    "note": "",
}


def write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(published.COLUMNS)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_good_file_loads_with_types_and_attrs(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path / "t.csv", [GOOD_ROW]), known_sources={"SRC-LAC2012"})
    assert frame.loc[0, "value"] == 67050.0
    assert frame["value"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(frame["period_start"])
    assert frame.attrs == {
        "table": "t",
        "sources": ["SRC-LAC2012"],
        "synthetic": False,
        "file": "t.csv",
    }


@pytest.mark.parametrize(
    ("change", "line", "column", "words"),
    [
        ({"value": "lots"}, 3, "value", "not a number"),
        ({"value": "-3"}, 3, "value", "negative"),
        ({"value": "1.2", "unit": "proportion of LSCBs"}, 3, "value", "share above 1"),
        ({"value": "10.5"}, 3, "value", "whole number"),
        ({"qualifier": "roughly"}, 3, "qualifier", "not one of"),
        ({"confidence": "Very high"}, 3, "confidence", "not one of"),
        ({"period_start": "31/03/2012"}, 3, "period_start", "ISO date"),
        ({"measure": ""}, 3, "measure", "empty"),
        ({"figure_id": "X1"}, 3, "figure_id", "duplicate"),
        ({"source_id": "SRC-NOWHERE"}, 3, "source_id", "unknown source"),
    ],
)
def test_bad_value_names_file_line_and_column(
    tmp_path: Path, change: dict[str, str], line: int, column: str, words: str
) -> None:
    bad = {**GOOD_ROW, "figure_id": "X2", **change}
    path = write(tmp_path / "bad.csv", [GOOD_ROW, bad])
    with pytest.raises(PublishedDataError) as err:
        read_table(path, known_sources={"SRC-LAC2012"})
    assert err.value.line == line
    assert err.value.column == column
    assert "bad.csv" in str(err.value) and f"line {line}" in str(err.value)
    assert words in str(err.value)


def test_missing_column_is_named(tmp_path: Path) -> None:
    columns = [c for c in published.COLUMNS if c != "unit"]
    with pytest.raises(PublishedDataError, match=r"line 1, column 'unit': missing column"):
        read_table(write(tmp_path / "m.csv", [GOOD_ROW], columns))


def test_extra_column_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(PublishedDataError, match="unexpected column"):
        read_table(write(tmp_path / "e.csv", [GOOD_ROW], [*published.COLUMNS, "comment"]))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PublishedDataError, match="empty"):
        read_table(empty)


def test_every_table_loads_and_ids_are_unique() -> None:
    everything = published.load_all()
    assert everything["figure_id"].is_unique
    assert set(everything["table"]) == set(published.TABLES)
    for name in published.TABLES:
        frame = published.load(name)
        assert frame.attrs["sources"], name
        assert frame.attrs["synthetic"] is False


def test_values_match_their_publications() -> None:
    # Values as printed by the publishers (see each row's source): DfE SFR 2012, Hansard
    # 21 Jan 2013, UK Missing Persons Bureau 2011/12 release, Barnardo's one-day survey.
    assert published.value("LAC2012") == 67050
    assert published.value("LAC2012R") == 67070
    assert [published.value(f) for f in ("MFC01", "MFC02", "MFC03")] == [800, 920, 1490]
    assert published.value("MP04") == 313000 and published.value("MP07") == 0.64
    assert published.value("BAR03") == 0.29


def test_units_are_data_not_prose() -> None:
    mp = published.load_missing_persons().set_index("figure_id")
    assert mp.loc["MP01", "unit"] == "people"
    assert mp.loc["MP04", "unit"] == "incidents"
    assert mp.loc["MP07", "unit"] == "proportion of incidents"
    assert mp.loc["MP10", "unit"] == "reports"


def test_loader_returns_a_copy() -> None:
    first = published.load_looked_after()
    first.loc[0, "value"] = -1
    assert published.load_looked_after().loc[0, "value"] >= 0


def test_unknown_ids_are_clear_errors() -> None:
    with pytest.raises(KeyError, match="no published figure"):
        published.figure("NOPE")
    with pytest.raises(KeyError, match="no published table"):
        published.load("nope")


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2012-01", "2012-04-01", "2013-03-31"),  # a month read as a financial year
        ("2011-12", "2011-12-01", "2011-12-31"),  # a financial year read as a month
        ("2012-03-31", "2012-03-31", "2012-04-30"),
        ("year to 2012-03-31", "2011-04-01", "2012-03-30"),
    ],
)
def test_period_text_and_dates_must_agree(
    tmp_path: Path, period: str, start: str, end: str
) -> None:
    bad = {**GOOD_ROW, "period": period, "period_start": start, "period_end": end}
    with pytest.raises(PublishedDataError, match="line 2, column 'period_start'"):
        read_table(write(tmp_path / "p.csv", [bad]))
