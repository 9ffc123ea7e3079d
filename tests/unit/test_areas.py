"""The area register, boundary aggregation and name matching on hand-made FAKE files.

The fake geography (see ``tests/fixtures/external_fakes/make_fakes.py``): boroughs A and B
merge into one in 2020; Fakeshire splits into North and South Fakeshire in 2022; Fakeham
changes code in 2024; Fakeport has another code in the 2012 release only.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
import pytest

from analysis import areas, local, returns

FAKES = Path(__file__).resolve().parents[1] / "fixtures" / "external_fakes"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reg() -> pd.DataFrame:
    return areas.register(areas.fake_files(FAKES))


def test_register_derives_codes_years_and_successions(reg: pd.DataFrame) -> None:
    assert reg.index.is_unique and set(reg.index) == {
        "F06000001",
        "F06000002",
        "F06000003",
        "F08000009",
        "F08000001",
        "F09000001",
        "F09000002",
        "F10000001",
        "F06000004",
        "F06000005",
    }
    assert reg.attrs["years"] == list(range(2012, 2026))
    assert reg.at["F06000001", "years"] == tuple(range(2012, 2020))
    assert reg.at["F06000003", "predecessors"] == ("F06000001", "F06000002")
    assert reg.at["F10000001", "successors"] == ("F06000004", "F06000005")
    assert reg.at["F08000009", "years"] == (2012,)
    assert reg.at["F08000009", "successors"] == ("F08000001",)
    assert reg.at["F08000009", "region"] == "Fake North"  # from its successor's number
    links = areas.links(reg).set_index(["predecessor", "successor"])
    assert links.loc[("F09000001", "F09000002"), "kind"] == "code change"
    assert links.loc[("F09000001", "F09000002"), "first_year"] == 2024
    assert links.loc[("F06000001", "F06000003"), "kind"] == "merger"
    assert links.loc[("F10000001", "F06000005"), ["kind", "part"]].tolist() == ["split", "part"]
    assert set(links["evidence"]) == {"derived from the yearly files"}
    per_year = {y: int(reg["years"].map(lambda ys, y=y: y in ys).sum()) for y in range(2012, 2026)}
    assert per_year[2012] == 5 and per_year[2020] == 4 and per_year[2025] == 5


def test_register_attrs_stay_small_and_rows_keep_their_successions(reg: pd.DataFrame) -> None:
    # pandas deep-copies attrs on nearly every operation: no frames or big mappings in them
    for key, value in reg.attrs.items():
        assert not isinstance(value, pd.DataFrame | pd.Series), key
        assert len(repr(value)) < 2_000, key
    # a subset of the register's rows still knows the register's successions and regions
    current = reg[reg["current"]]
    assert areas.links(current).equals(areas.links(reg))
    assert areas.regions(current).equals(areas.regions(reg))
    assert set(areas.regions(reg)["region"]) >= set(current["region"])
    # and the successions are those of the fake geography (see the module docstring)
    pairs = set(zip(areas.links(reg)["predecessor"], areas.links(reg)["successor"], strict=True))
    assert {("F06000001", "F06000003"), ("F06000002", "F06000003")} <= pairs
    # a frame made by hand has none
    assert areas.links(pd.DataFrame({"area_code": ["X"]})).empty


def test_register_neighbours_police_and_hexes(reg: pd.DataFrame) -> None:
    assert reg.at["F06000003", "statistical_neighbours"][:4] == (
        "F08000001",
        "F09000002",
        "F06000004",
        "F06000005",
    )
    assert len(reg.at["F06000003", "statistical_neighbours"]) == 10
    assert reg.at["F06000001", "statistical_neighbours"] == ()  # not a current authority
    # Fakeham is two districts in the lookups; its old code inherits through the code change
    assert reg.at["F09000002", "police_force_area"] == "Fake South Police"
    assert reg.at["F09000001", "police_force_area"] == "Fake South Police"
    # a merged-away borough takes the force of what it became
    assert reg.at["F06000001", "police_force_area"] == "Fake North Police"
    # the hex map predates the split: the renamed Fakeham keeps its hex, the new halves get none
    assert (reg.at["F09000002", "hex_q"], reg.at["F09000002", "hex_r"]) == (0.0, 1.0)
    assert math.isnan(reg.at["F06000004", "hex_q"]) and math.isnan(reg.at["F06000001", "hex_q"])


def test_facts_the_files_contradict_are_refused(tmp_path: Path, monkeypatch) -> None:
    facts = (ROOT / "data" / "reference" / "boundary_changes.csv").read_text(encoding="utf-8")
    row = (
        "F06000001,Fake Borough A,F06000003,Fake Merged Borough,2019-04-01,part,"
        "A fake order,https://www.legislation.gov.uk/fake,a planted contradiction\n"
    )
    planted = tmp_path / "boundary_changes.csv"
    planted.write_text(facts + row, encoding="utf-8")
    monkeypatch.setattr(areas, "BOUNDARY_CHANGES", planted)
    with pytest.raises(areas.AreaDataError, match="the files show 'whole', the table says 'part'"):
        areas.register(areas.fake_files(FAKES))


def test_a_change_the_files_cannot_settle_needs_a_fact(tmp_path: Path) -> None:
    """Two codes into two codes in one region and year: who became whom needs a citation."""
    b1 = (FAKES / "fake_cin_2013_2025.csv").read_text(encoding="utf-8").splitlines()
    kept = [b1[0]]
    for line in b1[1:]:
        year = int(line[:4])
        if year <= 2019 or "F06000003" not in line:
            kept.append(line)
        if year >= 2020 and "F06000003" in line:  # the merged borough becomes two boroughs
            kept.append(line.replace("F06000003", "F06000006").replace(",903,", ",909,"))
            kept.append(line)
    path = tmp_path / "fake_cin_2013_2025.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    files = {**areas.fake_files(FAKES), "cin_2013_2025": path}
    with pytest.raises(areas.AreaDataError, match="cannot derive who succeeded whom in Fake North"):
        areas.register(files)


def test_reference_tables_are_small_cited_facts() -> None:
    facts = pd.read_csv(areas.BOUNDARY_CHANGES, dtype=str)
    assert len(facts) <= 20
    assert facts["url"].str.startswith("https://www.legislation.gov.uk/").all()
    assert facts["legislation"].str.contains(r"\(SI \d{4}/\d+\)").all()
    assert set(facts["effective_date"]) <= {"2019-04-01", "2020-04-01", "2021-04-01", "2023-04-01"}
    names = pd.read_csv(areas.NAME_SPELLINGS, dtype=str, keep_default_na=False)
    assert names["spelling"].map(areas.normalise_name).is_unique
    assert (
        names["spelling"].map(areas.normalise_name) != names["area_name"].map(areas.normalise_name)
    ).all(), "a spelling that only differs by case or '&' needs no row"


def test_lookup_by_code_number_and_name(reg: pd.DataFrame) -> None:
    assert areas.lookup("f06000003", register=reg)["area_name"] == "Fake Merged Borough"
    assert areas.lookup("903", register=reg)["area_code"] == "F06000003"
    assert areas.lookup("FAKEPORT, CITY OF", register=reg)["area_code"] == "F08000001"
    # one name, two codes: the one in use in the year asked (default: the latest)
    assert areas.lookup("Fakeham", register=reg)["area_code"] == "F09000002"
    assert areas.lookup("Fakeham", 2019, register=reg)["area_code"] == "F09000001"
    with pytest.raises(KeyError, match="close matches: North Fakeshire"):
        areas.lookup("North Fakeshyre", register=reg)


def test_match_names_fails_naming_every_unmatched_name(reg: pd.DataFrame) -> None:
    names = ["Fake Borough A", "Fake Burough B", "Fakeshire", "Fakeshire", "Nowhere Town"]
    with pytest.raises(areas.UnmatchedNamesError) as info:
        areas.match_names(names, 2015, register=reg)
    assert set(info.value.unmatched) == {"Fake Burough B", "Nowhere Town"}
    assert info.value.unmatched["Fake Burough B"][0] == "Fake Borough B"
    assert info.value.unmatched["Nowhere Town"] == []
    message = str(info.value)
    assert "'Fake Burough B' (close matches: Fake Borough B" in message
    assert "'Nowhere Town' (no close match)" in message
    # names of authorities that did not exist that year do not match
    with pytest.raises(areas.UnmatchedNamesError):
        areas.match_names(["Fake Merged Borough"], 2015, register=reg)


def hand_register(names: list[str]) -> pd.DataFrame:
    """A register of invented codes carrying real spellings, to test the committed table."""
    frame = pd.DataFrame(
        {
            "area_code": [f"F0{i:07d}" for i in range(len(names))],
            "area_name": names,
            "la_number": [f"{900 + i}" for i in range(len(names))],
            "years": [(2023,)] * len(names),
        }
    ).set_index("area_code", drop=False)
    frame.attrs["years"] = [2023]
    return frame


def test_the_committed_spelling_table_matches_publishers_spellings() -> None:
    reg = hand_register(
        [
            "Bristol, City of",
            "Herefordshire, County of",
            "Kingston upon Hull, City of",
            "St. Helens",
            "County Durham",
            "Telford and Wrekin",
            "Southend-on-Sea",
        ]
    )
    got = areas.match_names(
        [
            "Bristol",
            "Bristol City",
            "Herefordshire",
            "Kingston upon Hull",
            "St Helens",
            "St. Helens",
            "Durham",
            "Telford & Wrekin",
            "Southend on Sea",
        ],
        2023,
        register=reg,
    )
    by_name = dict(zip(reg["area_name"], reg.index, strict=True))
    assert got["Bristol"] == got["Bristol City"] == by_name["Bristol, City of"]
    assert got["Herefordshire"] == by_name["Herefordshire, County of"]
    assert got["Kingston upon Hull"] == by_name["Kingston upon Hull, City of"]
    assert got["St Helens"] == got["St. Helens"] == by_name["St. Helens"]
    assert got["Durham"] == by_name["County Durham"]
    assert got["Telford & Wrekin"] == by_name["Telford and Wrekin"]  # & needs no table row
    assert got["Southend on Sea"] == by_name["Southend-on-Sea"]


def population(reg: pd.DataFrame) -> pd.DataFrame:
    pop = local.load_child_population(FAKES / "fake_population_2012_2024.csv", register=reg)
    return pop[pop["geography"] == "local authority"]


def test_consistent_boundaries_sums_a_merger(reg: pd.DataFrame) -> None:
    out = areas.consistent_boundaries(population(reg), register=reg)
    merged = out[out["area_code"] == "F06000003"].set_index("year")["value"]
    # mid-2018 (year to March 2019): A 1800 + B 1200; then the merged borough itself
    assert merged[2018] == 3000 and merged[2019] == 3100 and merged[2020] == 3150
    assert merged[2012] == (18 * 100) + (12 * 100)  # the formula of the fake for mid-2012
    assert out.attrs["boundaries"]["F06000003"] == ["F06000001", "F06000002", "F06000003"]
    # the total over areas is unchanged by regrouping
    assert out.groupby("year")["value"].sum().equals(population(reg).groupby("year")["value"].sum())


def test_consistent_boundaries_keeps_a_split_together(reg: pd.DataFrame) -> None:
    out = areas.consistent_boundaries(population(reg), register=reg)
    split = out[out["area_code"] == "F06000004+F06000005"].set_index("year")
    assert split["area_name"].iloc[0] == "North Fakeshire + South Fakeshire"
    assert split["la_number"].iloc[0] == "907+908"
    assert split.loc[2012, "value"] == 40 * 100  # Fakeshire before the split
    assert split.loc[2024, "value"] == 22 * 100 + 12 * 5 + 19 * 100 + 12 * 5
    # Fakeham's code change is a relabelling: one series under today's code
    ham = out[out["area_code"] == "F09000002"].set_index("year")["value"]
    assert len(ham) == 13 and ham[2012] == 14 * 100
    # to an earlier year's geography, the merged borough is labelled with its parts
    back = areas.consistent_boundaries(population(reg), to_year=2015, register=reg)
    assert "F06000001+F06000002" in set(back["area_code"])
    assert "F10000001" in set(back["area_code"])


def test_consistent_boundaries_never_sums_past_a_hidden_member(reg: pd.DataFrame) -> None:
    pop = population(reg).copy()
    hide = (pop["area_code"] == "F06000002") & (pop["year"] == 2016)
    pop.loc[hide, ["value", "status"]] = [float("nan"), "suppressed"]
    gone = (pop["area_code"] == "F06000001") & (pop["year"] == 2015)
    out = areas.consistent_boundaries(pop[~gone], register=reg)
    merged = out[out["area_code"] == "F06000003"].set_index("year")
    assert math.isnan(merged.loc[2016, "value"])
    assert merged.loc[2016, "status"] == "incomplete: suppressed"
    assert merged.loc[2015, "status"] == "incomplete: no row for F06000001"


def test_consistent_boundaries_refuses_to_sum_rates(reg: pd.DataFrame) -> None:
    cla = local.load_looked_after_rates(FAKES / "fake_cla_2021_2025.csv", register=reg)
    with pytest.raises(ValueError, match="cannot sum cla_at_31_march_rate.*recomputed"):
        areas.consistent_boundaries(cla, register=reg)
    counts = cla[cla["unit"].isin(areas.SUMMABLE_UNITS)]
    out = areas.consistent_boundaries(counts, register=reg)
    # placeholders for authorities not yet in being are dropped, not summed
    split = out[(out["area_code"] == "F06000004+F06000005") & (out["measure"] == "cla_started")]
    assert split.set_index("year").loc[2021, "value"] == 40 * 1 + 9  # Fakeshire in 2021


def test_reporting_year_and_register_codes(reg: pd.DataFrame) -> None:
    assert areas.reporting_year(2014, "at 30 September") == 2015
    assert areas.reporting_year(2025, "year to 31 March") == 2025
    with pytest.raises(ValueError, match="unknown year convention"):
        areas.reporting_year(2020, "calendar year")
    files = areas.fake_files(FAKES)
    assert areas.register_codes("england:2025", files) == {
        "F06000003",
        "F08000001",
        "F09000002",
        "F06000004",
        "F06000005",
    }
    assert len(areas.register_codes("England", files)) == 10
    with pytest.raises(ValueError, match="not a register name"):
        areas.register_codes("wales", files)


def test_ingest_validates_returns_against_england(tmp_path: Path, reg, monkeypatch) -> None:
    monkeypatch.setattr(areas, "register", lambda files=None: reg)
    good = (ROOT / "tests/fixtures/returns/good/bolton_return_E08000001_2012-13.csv").read_text()
    for code in ("F06000003", "F06000001", "E08000001"):
        folder = tmp_path / code
        folder.mkdir()
        (folder / "return.csv").write_text(good.replace("E08000001", code), encoding="utf-8")
    args = dict(
        out=tmp_path / "c.csv",
        register=Path("england:2025"),
        errors=None,
        progress_every=0,
        max_errors_shown=0,
    )
    assert returns.run_ingest(argparse.Namespace(returns_dir=tmp_path / "F06000003", **args)) == 0
    # a borough merged away before 2025, and a real code not in this (fake) register
    for code in ("F06000001", "E08000001"):
        assert returns.run_ingest(argparse.Namespace(returns_dir=tmp_path / code, **args)) == 1
        report = (tmp_path / "c.errors.csv").read_text()
        assert "R02" in report
    args["register"] = Path("england:1999")
    assert returns.run_ingest(argparse.Namespace(returns_dir=tmp_path / "F06000003", **args)) == 2
