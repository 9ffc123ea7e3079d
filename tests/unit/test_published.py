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


# --------------------------------------------------------------------------- issue 16 attacks


def raw_file(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "raw.csv"
    path.write_bytes(",".join(published.COLUMNS).encode() + b"\n" + body)
    return path


def good_line(**change: str) -> bytes:
    row = {**GOOD_ROW, **change}
    return (",".join(row[c] for c in published.COLUMNS) + "\n").encode("utf-8")


def test_invalid_utf8_byte_names_file_line_and_column(tmp_path: Path) -> None:
    body = good_line() + good_line(figure_id="X2").replace(b"main text", b"main t\xe9xt")
    with pytest.raises(PublishedDataError) as err:
        read_table(raw_file(tmp_path, body))
    assert (err.value.line, err.value.column) == (3, "location")
    assert "raw.csv" in str(err.value) and "not UTF-8" in str(err.value)


def test_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    text = ",".join(published.COLUMNS) + "\n" + good_line().decode()
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(PublishedDataError, match=r"utf16.csv, line 1: file is UTF-16"):
        read_table(path)


def test_nul_byte_is_refused(tmp_path: Path) -> None:
    body = good_line(measure="children\x00")
    with pytest.raises(PublishedDataError) as err:
        read_table(raw_file(tmp_path, body))
    assert (err.value.line, err.value.column) == (2, "measure")
    assert "NUL byte" in str(err.value)


@pytest.mark.parametrize("date", ["2010-13-01", "2010-02-30", "2011-02-29"])
def test_impossible_dates_name_file_line_and_column(tmp_path: Path, date: str) -> None:
    bad = {**GOOD_ROW, "period": "", "period_start": date, "period_end": "2012-03-31"}
    with pytest.raises(PublishedDataError) as err:
        read_table(write(tmp_path / "d.csv", [GOOD_ROW, {**bad, "figure_id": "X2"}]))
    assert (err.value.line, err.value.column) == (3, "period_start")
    assert "not a date in the calendar" in str(err.value)


@pytest.mark.parametrize("text", ["64_400", "٣", "３", "٦٧٠٥٠", "1e5", "0x10", " 5", "inf", "nan"])
def test_values_must_be_plain_ascii_numbers(tmp_path: Path, text: str) -> None:
    with pytest.raises(PublishedDataError) as err:
        read_table(write(tmp_path / "v.csv", [{**GOOD_ROW, "value": text}]))
    assert (err.value.line, err.value.column) == (2, "value")


def test_extra_field_on_a_row_is_refused(tmp_path: Path) -> None:
    body = good_line().rstrip(b"\n") + b",surplus\n"
    with pytest.raises(PublishedDataError, match=r"line 2: expected 15 fields, found 16"):
        read_table(raw_file(tmp_path, body))


@pytest.fixture
def fresh_caches():
    """Clear the per-process caches of loaded tables and verified checksums around a test."""
    from analysis import sources

    def clear() -> None:
        published._cached.cache_clear()
        published._index.cache_clear()
        sources._checked.cache_clear()
        sources._default_register.cache_clear()

    clear()
    yield
    clear()


def test_changed_file_without_manifest_update_fails_to_load(
    published_copy: Path, monkeypatch, fresh_caches
) -> None:
    """Issue 16: a changed data file loaded silently when MANIFEST.csv was not updated."""
    from analysis import paths, sources

    monkeypatch.setattr(paths, "DATA_PUBLISHED", published_copy)
    assert published.value("LAC2012") == 67050  # the copy checks out
    published._cached.cache_clear()  # as in a new process
    sources._checked.cache_clear()
    path = published_copy / "looked_after.csv"
    path.write_text(path.read_text().replace("67050", "67051"))
    with pytest.raises(sources.ProvenanceError) as err:
        published.load_looked_after()
    message = str(err.value)
    assert "looked_after.csv" in message and "checksum does not match MANIFEST.csv" in message
    assert "make checksums" in message
    sources.update_manifest(published_copy)  # after review
    assert published.load_looked_after()["value"].isin([67051]).any()


def test_checksum_is_checked_once_per_process(
    published_copy: Path, monkeypatch, fresh_caches
) -> None:
    from analysis import paths, sources

    monkeypatch.setattr(paths, "DATA_PUBLISHED", published_copy)
    calls = []
    real = sources.sha256
    monkeypatch.setattr(sources, "sha256", lambda p: calls.append(p.name) or real(p))
    sources.check_checksum(published_copy / "runaways.csv")
    sources.check_checksum(published_copy / "runaways.csv")
    assert calls == ["runaways.csv"]
