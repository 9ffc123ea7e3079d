"""Primary sources: England's looked-after children read from the releases' own data files.

The ``LAC....D`` rows of ``data/published/looked_after.csv`` are the national rows of the
mirrored DfE files; the loader prefers them to the press copies of the same figures. The values
expected here were written by hand from the project's reference notes (the press and release
pages traced before the files were mirrored), and, where the mirror is available, read again
from the files' national rows by the test's own CSV reading.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from analysis import external, published, sources

#: id of the primary row -> (id it corroborates, value as traced in the reference notes).
EXPECTED = {
    "LAC2012D": ("LAC2012", 67050),
    "LAC2013D": ("LAC2013", 68110),
    "LAC2014D": ("LAC2014", 68840),
    "LAC2015D": ("LAC2015", 69540),
    "LAC2021RD": ("LAC2021R", 80780),
    "LAC2022RD": ("LAC2022R", 82090),
    "LAC2023RD": ("LAC2023R", 83750),
    "LAC2024RD": ("LAC2024R", 83530),
    "LAC2025D": ("LAC2025", 81770),
}


def test_loader_prefers_the_release_data_and_keeps_the_press_copy_as_corroboration() -> None:
    lac = published.load_looked_after()
    assert lac.attrs["corroborating"] == {k: v[0] for k, v in EXPECTED.items()}
    ids = set(lac["figure_id"])
    for primary, (press, value) in EXPECTED.items():
        assert primary in ids and press not in ids
        assert published.value(primary) == value == published.value(press)
    everything = published.load_looked_after(corroborating=True)
    assert {*EXPECTED, *(v[0] for v in EXPECTED.values())} <= set(everything["figure_id"])
    assert published.figure("LAC2012")["source_id"] == "SRC-LAC2012"  # still found by id


def test_primary_rows_cite_the_download_registry() -> None:
    downloads = external.registry(registry_file=sources.downloads_path()).set_index("source_id")
    register = sources.load_register()
    for primary in EXPECTED:
        source_id = published.figure(primary)["source_id"]
        assert source_id in downloads.index, primary
        assert primary in register[source_id].figures.split(";")


def test_a_primary_record_that_disagrees_is_an_error(published_copy: Path) -> None:
    path = published_copy / "looked_after.csv"
    path.write_text(
        path.read_text().replace(
            "LAC2013D,children looked after at 31 March,68110",
            "LAC2013D,children looked after at 31 March,68111",
        )
    )
    frame = published.read_table(path)
    with pytest.raises(published.PublishedDataError, match="LAC2013D .*68111.* LAC2013"):
        published.prefer_primary(frame)


def _national_cla_mar(path: Path, year: int) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if r["geog_l"].strip() == "NATIONAL"]
    assert len(rows) == 1
    return int(rows[0][f"CLA_Mar{year}"])


def _national_2021_2025(path: Path) -> dict[int, int]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {
            int(r["time_period"]): int(r["children_count"])
            for r in csv.DictReader(handle)
            if r["geographic_level"] == "National"
            and r["population_type"] == "Children looked after on 31 March each year"
        }


def test_primary_values_equal_the_national_rows_of_the_mirrored_files() -> None:
    if external.mirror_dir() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ANALYSIS_DATA_MIRROR is not set (.ci/run sets it)")
        pytest.skip("ANALYSIS_DATA_MIRROR is not set (outside CI)")
    registry = sources.downloads_path()
    for year in (2012, 2013, 2014, 2015):
        path = external.fetch(f"cla_{year}", progress=False, registry_file=registry)
        assert _national_cla_mar(path, year) == EXPECTED[f"LAC{year}D"][1]
    later = _national_2021_2025(
        external.fetch("cla_2021_2025", progress=False, registry_file=registry)
    )
    assert later == {
        int(fid[3:7]): value for fid, (_, value) in EXPECTED.items() if int(fid[3:7]) >= 2021
    }
