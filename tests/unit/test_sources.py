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
    with pytest.raises(
        sources.ProvenanceError,
        match=f"line 2, column '{field}': required field '{field}' is empty",
    ):
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


# --------------------------------------------------------------------------- issue 16 attacks


def edit_first_record(published_copy: Path, field: str, value: str) -> Path:
    import csv
    import io

    path = published_copy / "sources.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows[1][rows[0].index(field)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["64_400", "٢٠١١", "２０１１", "around 2011"])
def test_date_published_must_start_with_an_ascii_year(published_copy: Path, value: str) -> None:
    edit_first_record(published_copy, "date_published", value)
    with pytest.raises(sources.ProvenanceError) as err:
        sources.load_register(published_copy)
    assert (err.value.line, err.value.column) == (2, "date_published")


def test_non_ascii_digits_anywhere_are_refused(published_copy: Path) -> None:
    edit_first_record(published_copy, "location", "table ٣")
    with pytest.raises(sources.ProvenanceError, match=r"line 2, column 'location': '٣'"):
        sources.load_register(published_copy)


def test_extra_field_on_a_sources_row_is_refused(published_copy: Path) -> None:
    path = published_copy / "sources.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += ",surplus"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(sources.ProvenanceError, match=r"line 4: expected 10 fields, found 11"):
        sources.load_register(published_copy)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda b: b.replace(b"Home Office", b"Home\x00Office", 1), "NUL byte"),
        (lambda b: b.replace(b"Home Office", b"Home \xe9ffice", 1), "not UTF-8"),
    ],
)
def test_unreadable_bytes_name_line_and_column(published_copy: Path, damage, words) -> None:
    path = published_copy / "sources.csv"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(sources.ProvenanceError) as err:
        sources.load_register(published_copy)
    assert (err.value.line, err.value.column) == (2, "producer")
    assert words in str(err.value)


def test_utf16_register_is_named(published_copy: Path) -> None:
    path = published_copy / "sources.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(sources.ProvenanceError, match="line 1: file is UTF-16"):
        sources.load_register(published_copy)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda text: text.replace("file,sha256", "name,sha256", 1), "line 1, column 'file'"),
        (lambda text: text.rstrip("\n").rsplit(",", 1)[0] + "\n", "expected 2 fields, found 1"),
        (lambda text: text.replace(".csv,", ".csv,zz", 1), "line 2, column 'sha256': not a SHA"),
    ],
)
def test_verify_reports_a_broken_manifest_instead_of_crashing(
    published_copy: Path, edit, words
) -> None:
    """Issue 16: `sources --verify` crashed on a truncated row or a renamed manifest header."""
    manifest = published_copy / "MANIFEST.csv"
    manifest.write_text(edit(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    problems = sources.verify(published_copy)
    assert len(problems) == 1 and "MANIFEST.csv" in problems[0] and words in problems[0]


def test_verify_reports_an_unreadable_data_table(published_copy: Path) -> None:
    path = published_copy / "runaways.csv"
    path.write_bytes(path.read_bytes().replace(b"Home Office", b"Home \xe9ffice", 1) + b"\xff")
    problems = sources.verify(published_copy)
    assert any("runaways.csv: checksum is stale" in p for p in problems)
    assert any("runaways.csv, line" in p and "not UTF-8" in p for p in problems)


def test_sources_command_prints_problems_and_exits_1(
    published_copy: Path, monkeypatch, capsys
) -> None:
    from analysis import paths
    from analysis.pipeline import cli

    manifest = published_copy / "MANIFEST.csv"
    manifest.write_text(manifest.read_text().replace("file,sha256", "file,hash"))
    monkeypatch.setattr(paths, "DATA_PUBLISHED", published_copy)
    assert cli.main(["sources"]) == 1
    assert "MANIFEST.csv, line 1" in capsys.readouterr().err
