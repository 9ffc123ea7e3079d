"""The provenance register and the checksum manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import sources


def test_project_register_and_manifest_check_out() -> None:
    assert sources.verify() == []


def test_every_published_source_id_is_registered() -> None:
    from analysis import published

    register = sources.load_register()
    assert set(published.load_all()["source_id"]) <= set(register)


def test_unregistered_file_is_reported(published_copy: Path) -> None:
    (published_copy / "new_table.csv").write_text("a,b\n1,2\n")
    problems = sources.verify(published_copy)
    assert any("new_table.csv: not registered" in p for p in problems)


def test_stale_checksum_is_reported(published_copy: Path) -> None:
    path = published_copy / "looked_after.csv"
    path.write_text(path.read_text().replace("67050", "67051"))
    problems = sources.verify(published_copy)
    assert any("looked_after.csv: checksum is stale" in p for p in problems)


def test_listed_but_missing_file_is_reported(published_copy: Path) -> None:
    (published_copy / "runaways.csv").unlink()
    assert any("runaways.csv: listed" in p for p in sources.verify(published_copy))


@pytest.mark.parametrize("field", ["producer", "url", "licence", "location", "notes"])
def test_empty_required_field_fails(published_copy: Path, field: str) -> None:
    path = published_copy / "sources.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    index = header.index(field)
    import csv
    import io

    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    rows[1][index] = ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())
    with pytest.raises(sources.ProvenanceError, match=f"line 2: required field '{field}' is empty"):
        sources.load_register(published_copy)


def test_unknown_source_id_in_a_table_is_reported(published_copy: Path) -> None:
    path = published_copy / "runaways.csv"
    path.write_text(path.read_text().replace("SRC-RS01", "SRC-RS99", 1))
    sources.update_manifest(published_copy)
    assert any("unknown source id 'SRC-RS99'" in p for p in sources.verify(published_copy))


def test_cite_gives_checkable_citation() -> None:
    text = sources.cite("SRC-MFC01")
    assert "Hansard" in text and "hansard.parliament.uk" in text and "2013-01-21" in text
    with pytest.raises(KeyError, match="add a provenance record"):
        sources.cite("SRC-NOPE")


def test_download_registry_is_checked_with_the_register(published_copy: Path) -> None:
    path = published_copy / "downloads.csv"
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[5] = "0" * 63  # a SHA-256 one digit short
    fields[6] = "SRC-NOT-REGISTERED"
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    sources.update_manifest(published_copy)
    problems = sources.verify(published_copy)
    assert any("downloads.csv, line 2, column 'sha256'" in p for p in problems)
    assert any("unknown source id 'SRC-NOT-REGISTERED'" in p for p in problems)


def test_every_download_has_a_registered_source() -> None:
    register = sources.load_register()
    assert sources.check_downloads(sources.downloads_path(), register) == []
