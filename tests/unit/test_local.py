"""The local-authority loaders on hand-made FAKE files in the downloads' formats.

Expectations come from the fake files themselves, read by hand (see
``tests/fixtures/external_fakes/make_fakes.py`` for the numbers), never from the loaders.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import areas, local

FAKES = Path(__file__).resolve().parents[1] / "fixtures" / "external_fakes"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reg() -> pd.DataFrame:
    return areas.register(areas.fake_files(FAKES))


def copy_with(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    """A copy of a fake with one piece of text replaced (to plant a fault)."""
    text = (FAKES / name).read_text(encoding="utf-8")
    assert old in text, old
    target = tmp_path / name
    target.write_text(text.replace(old, new, count), encoding="utf-8")
    return target


def one(frame: pd.DataFrame, **where) -> pd.Series:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, (where, len(rows))
    return rows.iloc[0]


# --------------------------------------------------------------------------- the cell parser


def test_parse_value_reads_numbers_and_markers() -> None:
    assert local.parse_value("12") == (12.0, "")
    assert local.parse_value(" 6.5 ") == (6.5, "")
    assert local.parse_value("-460") == (-460.0, "")
    for marker, status in [
        ("c", "suppressed"),
        ("x", "not available"),
        ("z", "not applicable"),
        ("u", "low reliability"),
        ("k", "below 0.5"),
        (":", "not available"),
        ("..", "not available"),
        (".", "not applicable"),
        ("-", "negligible"),
    ]:
        value, got = local.parse_value(marker)
        assert math.isnan(value) and got == status, marker
    # the old releases' own markers, as their metadata documents define them
    assert local.parse_value("x", local.SFR_MARKERS)[1] == "suppressed"
    assert local.parse_value("#VALUE!", local.SFR_MARKERS)[1] == "error in release"


@pytest.mark.parametrize("cell", ["1,250", "12%", "", "n/a", "inf", "nan", "1e400", "3 4", "C"])
def test_parse_value_refuses_what_is_not_a_number_or_a_marker(cell: str) -> None:
    with pytest.raises(ValueError, match="not a number or a known marker"):
        local.parse_value(cell)


@given(
    sign=st.sampled_from(["", "-", "+"]),
    whole=st.integers(min_value=0, max_value=10**9),
    frac=st.one_of(st.none(), st.integers(min_value=0, max_value=999_999)),
    pad=st.sampled_from(["", " ", "  "]),
)
def test_parse_value_agrees_with_an_independent_reading_of_plain_numbers(
    sign: str, whole: int, frac: int | None, pad: str
) -> None:
    text = f"{sign}{whole}" + (f".{frac}" if frac is not None else "")
    expected = int(whole) + (int(str(frac)) / 10 ** len(str(frac)) if frac is not None else 0)
    expected = -expected if sign == "-" else expected
    value, status = local.parse_value(pad + text + pad)
    assert status == ""
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(st.text(min_size=1, max_size=8))
def test_parse_value_never_turns_text_into_a_zero(text: str) -> None:
    """Any cell is a finite number it spells, a known marker (NaN), or an error: never a 0."""
    try:
        value, status = local.parse_value(text)
    except ValueError:
        return
    if status:
        assert math.isnan(value) and text.strip() in local.MARKERS
    else:
        assert re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", text)
        assert value == float(text)


# --------------------------------------------------------------------------- the loaders


def test_children_in_need_keeps_symbols_as_reasons_never_zeros(reg: pd.DataFrame) -> None:
    cin = local.load_children_in_need(FAKES / "fake_cin_2013_2025.csv", register=reg)
    assert list(cin.columns) == list(local.COLUMNS)
    cell = one(cin, area_code="F09000002", year=2025, measure="cin_awaiting_assessment")
    assert math.isnan(cell["value"]) and cell["status"] == "suppressed"
    cell = one(cin, area_code="F06000004", year=2024, measure="cin_children_ended")
    assert math.isnan(cell["value"]) and cell["status"] == "not available"
    cell = one(cin, area_code="F10000001", year=2019, measure="cin_episodes_at_31_march")
    assert math.isnan(cell["value"]) and cell["status"] == "low reliability"
    assert (cin["value"].isna() == (cin["status"] != "")).all()
    # a value, its unit and year convention: Fake Merged Borough, 2025: 31 * 10 + 13
    cell = one(cin, area_code="F06000003", year=2025, measure="cin_episodes_during_year")
    assert (cell["value"], cell["unit"], cell["year_convention"]) == (
        323.0,
        "episodes",
        "year to 31 March",
    )
    assert cin.attrs["sources"] == ["SRC-EXT-CIN-2013-2025"] and cin.attrs["synthetic"] is False


def test_national_equals_the_sum_of_authorities_where_nothing_is_hidden(reg) -> None:
    cin = local.load_children_in_need(FAKES / "fake_cin_2013_2025.csv", register=reg)
    la = cin[cin["geography"] == "local authority"]
    nat = cin[cin["geography"] == "national"].set_index(["measure", "year"])["value"]
    sums = la.groupby(["measure", "year"])["value"].agg(["sum", lambda v: v.isna().sum()])
    sums.columns = ["sum", "hidden"]
    both = sums.join(nat.rename("national"))
    complete = both[both["hidden"] == 0]
    assert (complete["national"] == complete["sum"]).all()
    # where a cell is hidden the national figure still counts it: 3 suppressed in 2025
    assert (
        both.loc[("cin_awaiting_assessment", 2025), "national"]
        - both.loc[("cin_awaiting_assessment", 2025), "sum"]
        == 3
    )


def test_a_malformed_cell_is_named_by_file_line_and_column(tmp_path: Path, reg) -> None:
    bad = copy_with(tmp_path, "fake_cin_2013_2025.csv", ",323,", ",3 23,")
    lines = bad.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if ",3 23," in text)
    with pytest.raises(local.LocalDataError) as info:
        local.load_children_in_need(bad, register=reg)
    message = str(info.value)
    assert "fake_cin_2013_2025.csv" in message
    assert f"line {line}" in message and "column 'Anypoint_episodes'" in message
    assert "'3 23'" in message


@pytest.mark.parametrize("first", ["negative", "malformed"])
def test_the_first_bad_cell_in_the_file_is_the_one_reported(tmp_path: Path, reg, first) -> None:
    # plant a negative count and a malformed cell on two lines; whichever comes first is named
    lines = (FAKES / "fake_cin_2013_2025.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    column = header.index("Anypoint_episodes")
    rows = [i for i, text in enumerate(lines) if i and text.split(",")[column].isdigit()][:2]
    plants = {"negative": "-7", "malformed": "7 7"}
    order = ["negative", "malformed"] if first == "negative" else ["malformed", "negative"]
    for i, kind in zip(rows, order, strict=True):
        fields = lines[i].split(",")
        fields[column] = plants[kind]
        lines[i] = ",".join(fields)
    bad = tmp_path / "fake_cin_2013_2025.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(local.LocalDataError) as info:
        local.load_children_in_need(bad, register=reg)
    message = str(info.value)
    assert f"line {rows[0] + 1}" in message and "column 'Anypoint_episodes'" in message
    assert ("negative value -7" if first == "negative" else "'7 7'") in message


def test_an_unexpected_column_or_level_is_refused(tmp_path: Path, reg) -> None:
    bad = copy_with(tmp_path, "fake_cin_2013_2025.csv", "awaiting_assessment", "awaiting_x")
    with pytest.raises(local.LocalDataError, match="unexpected column.*awaiting_x"):
        local.load_children_in_need(bad, register=reg)
    bad = copy_with(tmp_path, "fake_cin_2013_2025.csv", "Regional", "County")
    with pytest.raises(local.LocalDataError, match="line 3, column 'geographic_level'"):
        local.load_children_in_need(bad, register=reg)


def test_a_negative_count_is_refused_but_a_net_balance_may_be_negative(tmp_path, reg) -> None:
    bad = copy_with(tmp_path, "fake_cin_2013_2025.csv", ",323,", ",-323,")
    with pytest.raises(local.LocalDataError, match="negative value -323"):
        local.load_children_in_need(bad, register=reg)
    cla = local.load_looked_after_release(
        2012,
        FAKES / "fake_cla_2012.csv",
        metadata=FAKES / "fake_cla_2014_metadata.txt",
        register=reg,
    )
    assert one(cla, geography="national", measure="cla_net_gain")["value"] == -35


def test_assessment_factors_cover_cse_missing_and_cce(reg) -> None:
    c3 = local.load_assessment_factors(FAKES / "fake_cin_factors_2018_2025.csv", register=reg)
    cse = c3[(c3["measure"] == "cin_factor_child_sexual_exploitation") & (c3["year"] == 2025)]
    assert one(cse, geography="national")["value"] == 60  # 20 + 15 + 4 (hidden) + 12 + 9
    assert one(cse, area_code="F09000002")["status"] == "suppressed"
    cce = c3[c3["measure"] == "cin_factor_child_criminal_exploitation"]
    assert set(cce.loc[cce["year"] < 2022, "status"]) == {"not available"}
    assert cce.loc[cce["year"] >= 2022, "value"].notna().all()
    assert {"cin_factor_going_missing", "cin_factor_episodes"} <= set(c3["measure"])
    assert set(c3["unit"]) == {"episodes"}


def test_the_2012_release_is_named_by_its_metadata_document(tmp_path, reg) -> None:
    meta = FAKES / "fake_cla_2014_metadata.txt"
    cla = local.load_looked_after_release(
        2012, FAKES / "fake_cla_2012.csv", metadata=meta, register=reg
    )
    assert set(cla["measure"]) == {
        "cla_at_31_march",
        "cla_during_year",
        "cla_placement_foster",
        "cla_placed_inside_boundary",
        "cla_net_gain",
    }  # CLAA_InBound (the 2012 file's spelling) is the document's CLA_InBound
    cell = one(cla, area_code="F09000001", measure="cla_placement_foster")
    assert math.isnan(cell["value"]) and cell["status"] == "suppressed"  # x: one to five
    assert one(cla, area_code="F08000009", measure="cla_at_31_march")["value"] == 75
    regions = cla[cla["geography"] == "regional"]
    assert set(regions["area_name"]) == {"Fake North", "Fake South"}  # DfE's names, not CAPS
    # a code the metadata document does not describe is refused, naming the column
    bad = copy_with(tmp_path, "fake_cla_2012.csv", "CLA_Fost", "CLA_Unknown")
    with pytest.raises(local.LocalDataError, match="column 'CLA_Unknown': not described in"):
        local.load_looked_after_release(2012, bad, metadata=meta, register=reg)


def test_codes_are_harmonised_to_the_code_in_use_that_year(reg) -> None:
    missing = local.load_missing_release(
        "missing_2015",
        FAKES / "fake_missing_2015.csv",
        metadata=FAKES / "fake_cla_2015_metadata.txt",
        register=reg,
    )
    # the 2015 file still uses Fakeport's 2012 code; in 2015 its code was F08000001
    assert "F08000009" not in set(missing["area_code"])
    assert one(missing, area_code="F08000001", measure="missing_incidents")["value"] == 203
    raw = local.load_missing_release(
        "missing_2015",
        FAKES / "fake_missing_2015.csv",
        metadata=FAKES / "fake_cla_2015_metadata.txt",
        harmonise=False,
    )
    assert "F08000009" in set(raw["area_code"])


def test_looked_after_rates_keep_placeholders_and_date_the_denominator(reg) -> None:
    cla = local.load_looked_after_rates(FAKES / "fake_cla_2021_2025.csv", register=reg)
    # Fakeham's later code, given by the file for 2021, becomes the code in use then
    assert not ((cla["area_code"] == "F09000002") & (cla["year"] == 2021)).any()
    assert one(cla, area_code="F09000001", year=2021, measure="cla_at_31_march")["value"] == 51
    # North Fakeshire did not exist in 2021: the file's z stays a reason, not a zero
    cell = one(cla, area_code="F06000004", year=2021, measure="cla_at_31_march")
    assert math.isnan(cell["value"]) and cell["status"] == "not applicable"
    # the rate's denominator is the previous mid-year estimate, dated as such
    den = one(cla, area_code="F06000003", year=2024, measure="cla_rate_denominator")
    assert den["year_convention"] == "mid-year (30 June)" and den["value"] == 3100 + 12 * 5
    rate = one(cla, area_code="F06000003", year=2025, measure="cla_at_31_march_rate")
    assert rate["unit"] == "rate per 10,000 children"


def test_missing_keeps_both_vintages_and_defaults_to_the_later(reg) -> None:
    names = ("missing_2018_2022", "missing_2020_2024")
    files = {n: FAKES / f"fake_{n}.csv" for n in names}
    both = local.load_missing("all", files, releases=names, register=reg)
    pick = dict(area_code="F06000003", year=2021, measure="missing_incidents")
    rows = both
    for k, v in pick.items():
        rows = rows[rows[k] == v]
    assert dict(zip(rows["vintage"], rows["value"], strict=True)) == {
        "2022-11": 31 * 8 + 9,
        "2024-11": 31 * 8 + 9 + 1,
    }
    latest = local.load_missing(files=files, releases=names, register=reg)
    assert one(latest, **pick)["vintage"] == "2024-11"
    earliest = local.load_missing("earliest", files, releases=names, register=reg)
    assert one(earliest, **pick)["vintage"] == "2022-11"
    chosen = local.load_missing("2022-11", files, releases=names, register=reg)
    assert one(chosen, **pick)["vintage"] == "2022-11"
    assert one(chosen, **{**pick, "year": 2024})["vintage"] == "2024-11"  # only one has 2024
    with pytest.raises(ValueError, match="vintage must be"):
        local.load_missing("newest", files, releases=names, register=reg)


def test_providers_count_homes_and_places_by_authority(reg) -> None:
    p14 = local.load_providers(2014, FAKES / "fake_providers_2014.csv", register=reg)
    assert one(p14, area_code="F06000001", measure="childrens_homes")["value"] == 2
    assert one(p14, area_code="F06000001", measure="childrens_homes_places")["value"] == 6
    # the list is Ofsted's full register: no home there is a real zero
    assert one(p14, area_code="F06000002", measure="childrens_homes")["value"] == 0
    # an empty places cell is not a zero either (not given in the 2014 list)
    cell = one(p14, area_code="F09000001", measure="places_secure_training_centre")
    assert math.isnan(cell["value"]) and cell["status"] == "not available"
    assert set(p14["year_convention"]) == {"at 30 September"}
    p23 = local.load_providers(2023, FAKES / "fake_providers_2023.csv", register=reg)
    # two title lines and a note before the header; "Children's Home" counts with the rest
    assert one(p23, area_code="F06000003", measure="childrens_homes")["value"] == 2
    assert one(p23, area_code="F06000003", measure="childrens_homes_places")["value"] == 8
    cell = one(p23, area_code="F08000001", measure="places_independent_fostering_agency")
    assert cell["status"] == "not applicable"
    assert set(p23["unit"]) <= {"homes", "places", "providers"}


def test_an_unmatched_provider_authority_fails_loudly(tmp_path: Path, reg) -> None:
    bad = copy_with(tmp_path, "fake_providers_2014.csv", "Fakeshire", "Fakeshyre")
    bad.write_text(bad.read_text().replace("FAKEHAM", "Fake Ham Town"))
    with pytest.raises(areas.UnmatchedNamesError) as info:
        local.load_providers(2014, bad, register=reg)
    message = str(info.value)
    assert "2 name(s) match no local authority" in message
    assert "'Fakeshyre' (close matches: Fakeshire" in message
    assert "'Fake Ham Town'" in message and "fake_providers_2014.csv" in message


def test_other_tables_load_in_the_same_form(reg) -> None:
    c1 = local.load_referrals(FAKES / "fake_referrals_2013_2025.csv", register=reg)
    assert set(c1["year"]) == {2023, 2024, 2025}
    assert one(c1, area_code="F06000003", year=2025, measure="referrals")["unit"] == "referrals"
    d5 = local.load_child_protection_plans(FAKES / "fake_cpp_2013_2025.csv", register=reg)
    cell = one(d5, area_code="F06000005", year=2025, measure="cpp_2_years_or_more_percent")
    assert cell["status"] == "not applicable"
    pop = local.load_child_population(FAKES / "fake_population_2012_2024.csv", register=reg)
    assert one(pop, geography="national", year=2012)["year_convention"] == "mid-year (30 June)"
    # mid-2019 uses the geography of the year to March 2020: the merged borough
    assert one(pop, area_code="F06000003", year=2019)["value"] == 3100


def fake_frames(reg) -> list[pd.DataFrame]:
    meta14, meta15 = FAKES / "fake_cla_2014_metadata.txt", FAKES / "fake_cla_2015_metadata.txt"
    kw = {"register": reg}
    return [
        local.load_children_in_need(FAKES / "fake_cin_2013_2025.csv", **kw),
        local.load_referrals(FAKES / "fake_referrals_2013_2025.csv", **kw),
        local.load_child_protection_plans(FAKES / "fake_cpp_2013_2025.csv", **kw),
        local.load_assessment_factors(FAKES / "fake_cin_factors_2018_2025.csv", **kw),
        local.load_child_population(FAKES / "fake_population_2012_2024.csv", **kw),
        local.load_looked_after_release(2012, FAKES / "fake_cla_2012.csv", metadata=meta14, **kw),
        local.load_looked_after_rates(FAKES / "fake_cla_2021_2025.csv", **kw),
        local.load_missing_release(
            "missing_2015", FAKES / "fake_missing_2015.csv", metadata=meta15, **kw
        ),
        local.load_missing_release("missing_2020_2024", FAKES / "fake_missing_2020_2024.csv", **kw),
        local.load_providers(2014, FAKES / "fake_providers_2014.csv", **kw),
        local.load_providers(2023, FAKES / "fake_providers_2023.csv", **kw),
    ]


def test_every_frame_has_the_tidy_form_and_its_measures_are_in_the_dictionary(reg) -> None:
    doc = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    for frame in fake_frames(reg):
        assert list(frame.columns) == list(local.COLUMNS), frame.attrs["table"]
        assert set(frame["geography"]) <= set(local.GEOGRAPHIES)
        assert set(frame["status"]) - {""} <= set(local.STATUSES)
        assert frame["year"].dtype == "int64" and frame["value"].dtype == "float64"
        assert frame.attrs["sources"] and frame.attrs["sources"][0].startswith("SRC-EXT-")
        for measure, unit in set(zip(frame["measure"], frame["unit"], strict=True)):
            assert f"| `{measure}` |" in doc, measure
            assert local.describe(measure).unit == unit, measure


def test_the_committed_data_dictionary_matches_the_measures() -> None:
    doc = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    block = doc.split("<!-- measures:start -->\n")[1].split("<!-- measures:end -->")[0]
    assert block == local.data_dictionary_markdown(), (
        "docs/data_dictionary.md is stale: run "
        "python -c 'from analysis import local; local.update_data_dictionary()'"
    )
    conventions = set(areas.YEAR_CONVENTIONS)
    for measure in local.MEASURES.values():
        assert measure.year_convention in conventions or measure.table.startswith("providers")


def test_describe_offers_close_matches() -> None:
    with pytest.raises(KeyError, match="cin_factor_going_missing"):
        local.describe("cin_factor_going_misisng")


def test_each_provider_list_date_is_the_one_its_registry_title_gives() -> None:
    # The registry of downloads describes each list by its date, as Ofsted titles it.
    registry = pd.read_csv(Path(__file__).parents[2] / "data" / "published" / "downloads.csv")
    titles = registry.set_index("name")["description"]
    for year in local.PROVIDER_LIST_DATES:
        assert f"at {local.provider_list_date(year)}" in titles[f"providers_{year}"], year
    with pytest.raises(ValueError, match="not 2019"):
        local.provider_list_date(2019)
