"""Loaders for the published local-authority tables: one long tidy form, suppression kept as a reason.

Every loader reads one downloaded file (or, given ``path``, a file in the same format; the tests
pass hand-made fakes) and returns **one long tidy frame** with these columns:

===================  ===========================================================================
column               meaning
===================  ===========================================================================
area_code            ONS code (E92000001 England, E12... regions, E13... Inner/Outer London,
                     E06/E08/E09/E10... local authorities)
la_number            DfE's old 3-digit local authority number (empty above local authority)
area_name            name (local authorities as DfE's table B1 spells them, once harmonised)
region               region of the row (London for Inner and Outer London; empty for England)
geography            ``national``, ``regional`` or ``local authority``
year                 int, read with ``year_convention``
year_convention      ``year to 31 March``, ``at 31 March``, ``mid-year (30 June)``,
                     ``at 30 September``
measure              a stable snake_case id, explained in ``docs/data_dictionary.md``
value                float; NaN when the cell holds no number
unit                 episodes, children, incidents, referrals, places, homes, providers,
                     ``rate per 10,000 children``, ``percent of ...``, ``... per child``
status               empty for a value; otherwise why there is none (see :data:`STATUSES`)
release              the publication the value comes from
vintage              when that publication came out (publishers revise: later vintages win)
source_id            the provenance record (``data/published/sources.csv``)
===================  ===========================================================================

DfE's symbols (``c``, ``x``, ``z``, ``u``, ``k``, ``low``, ``:``, ``.``, ``..``, ``-``) and the
2012-2017 releases' own markers (``x`` for a suppressed count of one to five or a cell that would
reveal one, ``..`` for not available, as their metadata documents say) become NaN with the reason
in ``status``: never zeros. Numbers are parsed strictly: anything that is neither a number nor a
known marker raises :class:`LocalDataError` naming the file, line and column.

By default local-authority rows are *harmonised* with the area register
(:func:`analysis.areas.harmonise`): each gets the ONS code in use in that year (DfE's later files
code North Yorkshire's new code back to 2021, its older releases keep Gateshead's pre-2013
code), DfE's number, name and region. ``harmonise=False`` keeps codes and names as published.

Each frame carries ``attrs["sources"]`` (provenance ids), ``attrs["table"]`` (the registry
name), ``attrs["release"]``, ``attrs["vintage"]`` and ``attrs["synthetic"] = False``, as the
published loaders do. Parsed files are cached per process on their path and checksum.

Examples
--------
>>> from analysis import areas, local, paths
>>> fakes = paths.PROJECT_ROOT / "tests" / "fixtures" / "external_fakes"
>>> reg = areas.register(areas.fake_files(fakes))
>>> cse = local.load_assessment_factors(fakes / "fake_cin_factors_2018_2025.csv", register=reg)
>>> row = cse.query("measure == 'cin_factor_child_sexual_exploitation' and year == 2025")
>>> row.query("geography == 'national'")[["value", "unit", "status"]].to_numpy().tolist()
[[60.0, 'episodes', '']]
>>> row.query("status != ''")[["area_name", "status"]].to_numpy().tolist()
[['Fakeham', 'suppressed']]
"""

from __future__ import annotations

import datetime
import difflib
import gc
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import areas, external, paths, sources
from analysis.tables import TableError, display_path, read_ragged

__all__ = [
    "COLUMNS",
    "GEOGRAPHIES",
    "LOADERS",
    "MARKERS",
    "MEASURES",
    "SFR_MARKERS",
    "STATUSES",
    "LocalDataError",
    "Measure",
    "DATA_DICTIONARY",
    "data_dictionary_markdown",
    "describe",
    "load_assessment_factors",
    "load_child_population",
    "load_child_protection_plans",
    "load_children_in_need",
    "load_looked_after",
    "load_looked_after_release",
    "load_looked_after_rates",
    "load_missing",
    "load_missing_release",
    "load_providers",
    "provider_list_date",
    "load_referrals",
    "parse_value",
    "read_metadata",
    "update_data_dictionary",
]

COLUMNS: tuple[str, ...] = (
    "area_code",
    "la_number",
    "area_name",
    "region",
    "geography",
    "year",
    "year_convention",
    "measure",
    "value",
    "unit",
    "status",
    "release",
    "vintage",
    "source_id",
)
GEOGRAPHIES: tuple[str, ...] = ("national", "regional", "local authority")

#: Why a cell holds no number: the values ``status`` takes (empty for a number).
STATUSES: dict[str, str] = {
    "suppressed": "withheld to protect confidentiality (DfE's c; x in the 2012-2017 releases)",
    "not available": "not collected or not published (DfE's x; .. and : in older tables)",
    "not applicable": "the figure cannot exist, e.g. an authority before it was created (z; .)",
    "low reliability": "too unreliable to publish (u)",
    "below 0.5": "rounds to zero but is not zero (k, low)",
    "negligible": "shown as - (nil or negligible in older tables)",
    "error in release": "the release holds a spreadsheet error value (#VALUE!) in this cell",
}
#: DfE's current symbols (explore-education-statistics files) and older table symbols.
MARKERS: dict[str, str] = {
    "c": "suppressed",
    "x": "not available",
    "z": "not applicable",
    "u": "low reliability",
    "k": "below 0.5",
    "low": "below 0.5",
    ":": "not available",
    "..": "not available",
    ".": "not applicable",
    "-": "negligible",
}
#: The 2012-2017 releases (SFR underlying data), as their metadata documents explain them:
#: ``x`` replaces counts of one to five and cells that would reveal them; ``..`` is "not
#: available" (SFR 50/2017); one 2013 cell holds a spreadsheet error.
SFR_MARKERS: dict[str, str] = {
    **MARKERS,
    "x": "suppressed",
    "..": "not available",
    "#VALUE!": "error in release",
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class LocalDataError(TableError):
    """A downloaded local table breaks its format; the message names file, line and column."""


def parse_value(text: str, markers: Mapping[str, str] = MARKERS) -> tuple[float, str]:
    """Parse one cell: a number, or a marker that becomes NaN with its reason.

    Parameters
    ----------
    text : str
        The cell as published (surrounding spaces are ignored).
    markers : mapping of str to str
        Marker -> status; :data:`MARKERS` for DfE's current files, :data:`SFR_MARKERS` for the
        2012-2017 releases.

    Returns
    -------
    (float, str)
        The value and an empty status, or NaN and the marker's status.

    Raises
    ------
    ValueError
        If the cell is neither a plain number (thousands separators, units, percent signs and
        infinities are refused) nor a known marker.

    >>> parse_value("1250")
    (1250.0, '')
    >>> parse_value("c")
    (nan, 'suppressed')
    >>> parse_value("x", SFR_MARKERS)
    (nan, 'suppressed')
    >>> parse_value("1,250")
    Traceback (most recent call last):
    ...
    ValueError: not a number or a known marker: '1,250'
    """
    cell = text.strip()
    if cell in markers:
        return math.nan, markers[cell]
    if _NUMBER.fullmatch(cell):
        value = float(cell)
        if math.isfinite(value):
            return value, ""
    raise ValueError(f"not a number or a known marker: {text!r}")


# --------------------------------------------------------------------------- measures


@dataclass(frozen=True)
class Measure:
    """What a measure counts, in which unit, and how its year reads."""

    id: str
    counts: str
    unit: str
    year_convention: str
    table: str
    signed: bool = False


MEASURES: dict[str, Measure] = {}


def _m(table: str, unit: str, convention: str, **items: str) -> None:
    """Register the measures ``id=what it counts`` of one table (each id once)."""
    for mid, counts in items.items():
        if mid in MEASURES:
            raise ValueError(f"measure {mid} is registered twice")
        MEASURES[mid] = Measure(mid, counts, unit, convention, table)


_TO = "year to 31 March"
_AT = "at 31 March"
_MID = "mid-year (30 June)"

# Children in need (table B1): episodes of need and the children who had them.
_B1 = {
    "Anypoint_episodes": "cin_episodes_during_year",
    "Anypoint_child": "cin_children_during_year",
    "Started_episodes": "cin_episodes_started",
    "Started_child": "cin_children_started",
    "Ended_episodes": "cin_episodes_ended",
    "Ended_child": "cin_children_ended",
    "At31_episodes": "cin_episodes_at_31_march",
    "awaiting_assessment": "cin_awaiting_assessment",
}
_m(
    "cin_2013_2025",
    "episodes",
    _TO,
    cin_episodes_during_year="episodes of need open at any point in the year",
    cin_episodes_started="episodes of need that started in the year",
    cin_episodes_ended="episodes of need that ended in the year",
)
_m(
    "cin_2013_2025",
    "children",
    _TO,
    cin_children_during_year="children with an episode of need at any point in the year",
    cin_children_started="children with an episode of need starting in the year",
    cin_children_ended="children with an episode of need ending in the year",
)
_m(
    "cin_2013_2025",
    "episodes",
    _AT,
    cin_episodes_at_31_march="episodes of need open at 31 March (DfE's children in need at 31 March)",
    cin_awaiting_assessment=(
        "the table's awaiting_assessment column; the mirrored file has no data guidance, so read "
        "it as episodes at 31 March awaiting assessment and check DfE's guidance before use"
    ),
)
# Referrals and re-referrals (table C1).
_C1 = {
    "referral_count": "referrals",
    "rereferral_count": "rereferrals",
    "rereferral_percent": "rereferrals_percent",
    "no_further_action_count": "referrals_no_further_action",
    "no_further_action_percent": "referrals_no_further_action_percent",
    "not_in_need_count": "referrals_assessed_not_in_need",
    "not_in_need_percent": "referrals_assessed_not_in_need_percent",
    "referral_child_count": "children_referred",
    "rereferral_child_count": "children_rereferred",
    "rereferral_child_percent": "children_rereferred_percent",
}
_m(
    "referrals_2013_2025",
    "referrals",
    _TO,
    referrals="referrals to children's social care in the year",
    rereferrals="referrals in the year that were re-referrals (DfE's count)",
    referrals_no_further_action="referrals in the year that led to no further action",
    referrals_assessed_not_in_need="referrals in the year after which the child was assessed as not in need",
)
_m(
    "referrals_2013_2025",
    "percent of referrals",
    _TO,
    rereferrals_percent="re-referrals as a percentage of referrals",
    referrals_no_further_action_percent="no-further-action referrals as a percentage of referrals",
    referrals_assessed_not_in_need_percent="not-in-need referrals as a percentage of referrals",
)
_m(
    "referrals_2013_2025",
    "children",
    _TO,
    children_referred="children referred in the year (a child referred twice counts once)",
    children_rereferred="children referred in the year who were re-referred",
)
_m(
    "referrals_2013_2025",
    "percent of children referred",
    _TO,
    children_rereferred_percent="re-referred children as a percentage of children referred",
)
# Child protection plans at 31 March by duration (table D5).
_D5 = {
    "CPP_At31": "cpp_at_31_march",
    "3_months_or_less": "cpp_3_months_or_less",
    "3_months_or_less_percent": "cpp_3_months_or_less_percent",
    "more_than_3_months_6_months": "cpp_3_to_6_months",
    "more_than_3_months_6_months_percent": "cpp_3_to_6_months_percent",
    "more_than_6_months_less_than_1_year": "cpp_6_months_to_1_year",
    "more_than_6_months_less_than_1_year_percent": "cpp_6_months_to_1_year_percent",
    "1_year_less_than_2_years": "cpp_1_to_2_years",
    "1_year_less_than_2_years_percent": "cpp_1_to_2_years_percent",
    "2_years_or_more": "cpp_2_years_or_more",
    "2_years_or_more_percent": "cpp_2_years_or_more_percent",
}
_m(
    "cpp_2013_2025",
    "children",
    _AT,
    cpp_at_31_march="children who were the subject of a child protection plan at 31 March",
    cpp_3_months_or_less="of those, plans open for 3 months or less",
    cpp_3_to_6_months="of those, plans open for more than 3 and up to 6 months",
    cpp_6_months_to_1_year="of those, plans open for more than 6 months and under 1 year",
    cpp_1_to_2_years="of those, plans open for 1 year and under 2 years",
    cpp_2_years_or_more="of those, plans open for 2 years or more",
)
_m(
    "cpp_2013_2025",
    "percent of child protection plans",
    _AT,
    **{
        f"{k}_percent": f"plans of that duration as a percentage of plans at 31 March ({k})"
        for k in (
            "cpp_3_months_or_less",
            "cpp_3_to_6_months",
            "cpp_6_months_to_1_year",
            "cpp_1_to_2_years",
            "cpp_2_years_or_more",
        )
    },
)
# Factors identified at the end of assessment (table C3): episodes, not children.
_C3_FACTORS = (
    "Alcohol_Misuse_child",
    "Alcohol_Misuse_parent",
    "Alcohol_Misuse_person",
    "Drug_Misuse_child",
    "Drug_Misuse_parent",
    "Drug_Misuse_person",
    "Domestic_Abuse_child",
    "Domestic_Abuse_parent",
    "Domestic_Abuse_person",
    "Mental_Health_child",
    "Mental_Health_parent",
    "Mental_Health_person",
    "Learning_Disability_child",
    "Learning_Disability_parent",
    "Learning_Disability_person",
    "Physical_Disability_child",
    "Physical_Disability_parent",
    "Physical_Disability_person",
    "Young_Carer",
    "Privately_fostered",
    "Unaccompanied_asylum_seeker",
    "Going_missing",
    "Child_sexual_exploitation",
    "Trafficking",
    "Gangs",
    "Socially_unacceptable_behaviour",
    "Self_harm",
    "Neglect",
    "Emotional_Abuse",
    "Physical_Abuse_unknown",
    "Physical_Abuse_child_on_child",
    "Physical_Abuse_adult_on_child",
    "Sexual_Abuse_unknown",
    "Sexual_Abuse_child_on_child",
    "Sexual_Abuse_adult_on_child",
    "Female_Genital_Mutilation",
    "Faith_linked_abuse",
    "Child_criminal_exploitation",
    "Other",
)
_C3 = {"Episodes_with_assessment_factor": "cin_factor_episodes"} | {
    f: f"cin_factor_{f.lower()}" for f in _C3_FACTORS
}
_m(
    "cin_factors_2018_2025",
    "episodes",
    _TO,
    cin_factor_episodes=(
        "episodes with a completed assessment in the year in which at least one factor was "
        "recorded (the denominator for factor shares)"
    ),
    **{
        f"cin_factor_{f.lower()}": (
            f"episodes with a completed assessment in the year in which "
            f"'{f.replace('_', ' ').lower()}' was recorded as a factor"
        )
        for f in _C3_FACTORS
    },
)
MEASURES["cin_factor_child_criminal_exploitation"] = Measure(
    "cin_factor_child_criminal_exploitation",
    "episodes with a completed assessment in which child criminal exploitation was a factor "
    "(first collected in the year to 31 March 2022; earlier years are x, not available)",
    "episodes",
    _TO,
    "cin_factors_2018_2025",
)
# ONS child population.
_m(
    "population_2012_2024",
    "children",
    _MID,
    child_population="children aged 0 to 17 (ONS mid-year estimate, as DfE compiles it)",
)
# Looked-after children: the 2012-2015 releases (codes as their metadata documents explain).
_SFR_CLA = {
    "cla_maryyyy": "cla_at_31_march",
    "cla_yyyy": "cla_during_year",
    "cla_stpyyyy": "cla_short_term_placements_only",
    "cla_male": "cla_male",
    "cla_female": "cla_female",
    "cla_u1": "cla_age_under_1",
    "cla_1to4": "cla_age_1_to_4",
    "cla_5to9": "cla_age_5_to_9",
    "cla_10to15": "cla_age_10_to_15",
    "cla_16over": "cla_age_16_and_over",
    "cla_white": "cla_ethnicity_white",
    "cla_mixed": "cla_ethnicity_mixed",
    "cla_asian": "cla_ethnicity_asian",
    "cla_black": "cla_ethnicity_black",
    "cla_eoth": "cla_ethnicity_other",
    "cla_oth": "cla_ethnicity_not_known",
    "cla_fost": "cla_placement_foster",
    "cla_adopt": "cla_placement_for_adoption",
    "cla_parent": "cla_placement_with_parents",
    "cla_ocom": "cla_placement_other_community",
    "cla_secure": "cla_placement_secure_homes_hostels",
    "cla_ores": "cla_placement_other_residential",
    "cla_rsch": "cla_placement_residential_school",
    "cla_miss": "cla_missing_from_placement",
    "cla_othpl": "cla_placement_other",
    "cla_ico": "cla_legal_interim_care_order",
    "cla_fco": "cla_legal_full_care_order",
    "cla_frad": "cla_legal_freed_for_adoption",
    "cla_placeo": "cla_legal_placement_order",
    "cla_s20": "cla_legal_section_20",
    "cla_cpg": "cla_legal_child_protection",
    "cla_yjls": "cla_legal_youth_justice",
    "cla_uasc": "cla_unaccompanied_asylum_seeking",
    "cla_moth": "cla_mothers",
    "cla_ownp": "cla_provider_own_la",
    "cla_othla": "cla_provider_other_la",
    "cla_othpp": "cla_provider_other_public",
    "cla_priv": "cla_provider_private",
    "cla_vol": "cla_provider_voluntary",
    "cla_par": "cla_provider_parents",
    "cla_nrep": "cla_provider_not_reported",
    "cla_1pla": "cla_one_placement",
    "cla_2pla": "cla_two_placements",
    "cla_3pla": "cla_three_placements",
    "cla_p2yrs": "cla_placement_stability_2_years",
    "cla_inbound": "cla_placed_inside_boundary",
    "cla_outbound": "cla_placed_outside_boundary",
    "cla_extpl": "cla_placed_in_by_other_las",
    "cla_netgain": "cla_net_gain",
}
#: Column names the releases spell differently from their metadata documents.
_SFR_ALIASES = {"claa_inbound": "cla_inbound"}
_m(
    "cla_2012; cla_2013; cla_2014; cla_2015",
    "children",
    _TO,
    cla_short_term_placements_only=(
        "children looked after in the year only under a series of short-term placements"
    ),
)
_m(
    "cla_2012; cla_2013; cla_2014; cla_2015",
    "children",
    _AT,
    cla_male="looked-after children at 31 March: boys",
    cla_female="looked-after children at 31 March: girls",
    cla_age_under_1="looked-after children at 31 March aged under 1",
    cla_age_1_to_4="looked-after children at 31 March aged 1 to 4",
    cla_age_5_to_9="looked-after children at 31 March aged 5 to 9",
    cla_age_10_to_15="looked-after children at 31 March aged 10 to 15",
    cla_age_16_and_over="looked-after children at 31 March aged 16 and over",
    cla_ethnicity_white="looked-after children at 31 March of white ethnic background",
    cla_ethnicity_mixed="looked-after children at 31 March of mixed ethnic background",
    cla_ethnicity_asian="looked-after children at 31 March of Asian ethnic background",
    cla_ethnicity_black="looked-after children at 31 March of Black ethnic background",
    cla_ethnicity_other="looked-after children at 31 March of any other ethnic background",
    cla_ethnicity_not_known="looked-after children at 31 March whose ethnicity is not known",
    cla_placement_foster="looked-after children at 31 March in foster placements",
    cla_placement_for_adoption="looked-after children at 31 March placed for adoption",
    cla_placement_with_parents="looked-after children at 31 March placed with parents",
    cla_placement_other_community="looked-after children at 31 March in other community placements",
    cla_placement_secure_homes_hostels=(
        "looked-after children at 31 March in secure units, children's homes and hostels"
    ),
    cla_placement_other_residential=(
        "looked-after children at 31 March in other residential settings"
    ),
    cla_placement_residential_school="looked-after children at 31 March in residential schools",
    cla_missing_from_placement=(
        "looked-after children at 31 March missing from their agreed placement for over 24 hours "
        "(2012 to 2014 releases only)"
    ),
    cla_placement_other="looked-after children at 31 March in other placements",
    cla_legal_interim_care_order="looked-after children at 31 March on an interim care order",
    cla_legal_full_care_order="looked-after children at 31 March on a full care order",
    cla_legal_freed_for_adoption="looked-after children at 31 March freed for adoption",
    cla_legal_placement_order="looked-after children at 31 March with a placement order",
    cla_legal_section_20="looked-after children at 31 March accommodated under section 20",
    cla_legal_child_protection="looked-after children at 31 March on child protection grounds",
    cla_legal_youth_justice="looked-after children at 31 March under a youth justice legal status",
    cla_unaccompanied_asylum_seeking=(
        "looked-after children at 31 March who are unaccompanied asylum-seeking children"
    ),
    cla_mothers="looked-after children at 31 March who are mothers (2012 to 2014 releases)",
    cla_provider_own_la="looked-after children at 31 March placed in the authority's own provision",
    cla_provider_other_la="looked-after children at 31 March placed in another authority's provision",
    cla_provider_other_public="looked-after children at 31 March placed in other public provision",
    cla_provider_private="looked-after children at 31 March placed in private provision",
    cla_provider_voluntary="looked-after children at 31 March placed in voluntary provision",
    cla_provider_parents="looked-after children at 31 March whose placement is provided by parents",
    cla_provider_not_reported="looked-after children at 31 March whose provider was not reported",
    cla_one_placement="looked-after children at 31 March with one placement in the year (2012 to 2014)",
    cla_two_placements="looked-after children at 31 March with two placements in the year (2012 to 2014)",
    cla_three_placements=(
        "looked-after children at 31 March with three placements in the year, as the metadata "
        "document words it (2012 to 2014)"
    ),
    cla_placement_stability_2_years=(
        "children under 16 at 31 March looked after for at least 2.5 years who had lived in the "
        "same placement for at least 2 years (2012 to 2014)"
    ),
    cla_placed_inside_boundary="looked-after children at 31 March placed inside the authority's boundary",
    cla_placed_outside_boundary=(
        "looked-after children at 31 March placed outside the authority's boundary"
    ),
    cla_placed_in_by_other_las=(
        "children looked after by other authorities placed inside this authority's boundary at "
        "31 March"
    ),
)
_m(
    "cla_2012; cla_2013; cla_2014; cla_2015; cla_2021_2025",
    "children",
    _AT,
    cla_at_31_march="children looked after at 31 March",
)
MEASURES["cla_net_gain"] = Measure(
    "cla_net_gain",
    "the release's net gain of looked-after children placed into the authority by others less "
    "those it placed outside (a balance: England's row is not the sum of the authorities')",
    "children (net balance)",
    _AT,
    "cla_2012; cla_2013; cla_2014; cla_2015",
    signed=True,
)
# Looked-after children 2021-2025: numbers and rates per 10,000 children.
_CLA_TYPES = {
    "Children looked after on 31 March each year": ("cla_at_31_march", _AT),
    "Children starting to be looked after each year": ("cla_started", _TO),
    "Children ceasing to be looked after each year": ("cla_ceased", _TO),
}
_m(
    "cla_2021_2025",
    "children",
    _TO,
    cla_started="children who started to be looked after in the year",
    cla_ceased="children who ceased to be looked after in the year",
)
_m(
    "cla_2021_2025",
    "rate per 10,000 children",
    _AT,
    cla_at_31_march_rate="children looked after at 31 March per 10,000 children aged 0 to 17",
)
_m(
    "cla_2021_2025",
    "rate per 10,000 children",
    _TO,
    cla_started_rate="children starting to be looked after per 10,000 children aged 0 to 17",
    cla_ceased_rate="children ceasing to be looked after per 10,000 children aged 0 to 17",
)
_m(
    "cla_2021_2025",
    "children",
    _MID,
    cla_rate_denominator=(
        "the child population (0 to 17, mid-year) DfE divided by for the next reporting year's "
        "rates: the row for mid-2024 is the denominator of the 2025 rates"
    ),
)
# Looked-after children missing or away from placement.
_SFR_MISSING = {
    "cla_missduringyear": "missing_children",
    "cla_missincs": "missing_incidents",
    "cla_missmoreonce": "missing_children_more_than_once",
    "cla_miss31mar": "missing_children_at_31_march",
    "cla_awayduringyear": "away_children",
    "cla_awayincs": "away_incidents",
    "cla_awaymoreonce": "away_children_more_than_once",
    "cla_away31mar": "away_children_at_31_march",
}
_SFR_MISSING |= {
    k.replace("cla_miss", "miss_miss_").replace("cla_away", "miss_away_"): v
    for k, v in _SFR_MISSING.items()
}
_MISSING_GROUPS = {
    "Children looked after during the year": "cla_during_year",
    "Children who had a missing incident during the year": "missing_children",
    "Number of missing incidents during the year": "missing_incidents",
    "Children who went missing more than once during the year": "missing_children_more_than_once",
    "Children missing at 31 March": "missing_children_at_31_march",
    "Average number of missing incidents per looked after child who went missing": (
        "missing_incidents_per_missing_child"
    ),
    "Percentage of children who had a missing incident during the year": (
        "missing_children_percent"
    ),
    "Children who were away from placement without authorisation during the year": (
        "away_children"
    ),
    "Number of away from placement without authorisation incidents during the year": (
        "away_incidents"
    ),
    "Children who were away from placement without authorisation more than once during the year": (
        "away_children_more_than_once"
    ),
    "Children away from placement without authorisation at 31 March": "away_children_at_31_march",
    "Average number of away from placement without authorisation incidents per looked after child": (
        "away_incidents_per_away_child"
    ),
    "Percentage of children who were away from placement without authorisation during the year": (
        "away_children_percent"
    ),
}
_MISSING_TABLES = "missing_2015; missing_2016; missing_2017; missing_2018_2022; missing_2020_2024"
_m(
    _MISSING_TABLES,
    "children",
    _TO,
    missing_children="looked-after children who had at least one missing incident in the year",
    missing_children_more_than_once="looked-after children who went missing more than once in the year",
    away_children=(
        "looked-after children who were away from placement without authorisation in the year"
    ),
    away_children_more_than_once=(
        "looked-after children away from placement without authorisation more than once in the year"
    ),
)
_m(
    "cla_2012; cla_2013; cla_2014; cla_2015; missing_2018_2022; missing_2020_2024",
    "children",
    _TO,
    cla_during_year="children looked after at any time in the year",
)
_m(
    _MISSING_TABLES,
    "incidents",
    _TO,
    missing_incidents="missing incidents of looked-after children in the year",
    away_incidents="incidents of looked-after children away from placement without authorisation",
)
_m(
    _MISSING_TABLES,
    "children",
    _AT,
    missing_children_at_31_march="looked-after children missing at 31 March",
    away_children_at_31_march="looked-after children away from placement without authorisation at 31 March",
)
_m(
    "missing_2018_2022; missing_2020_2024",
    "incidents per child",
    _TO,
    missing_incidents_per_missing_child="missing incidents per looked-after child who went missing",
    away_incidents_per_away_child=(
        "away incidents per looked-after child who was away (DfE's label says 'per looked after "
        "child'; its national figures equal incidents divided by the children who were away)"
    ),
)
_m(
    "missing_2018_2022; missing_2020_2024",
    "percent of children looked after",
    _TO,
    missing_children_percent="children who went missing as a percentage of children looked after in the year",
    away_children_percent=(
        "children away without authorisation as a percentage of children looked after in the year"
    ),
)
# Ofsted's provider lists: providers and places by authority and provision type.
_PROVISION_TYPES = {
    "children's home": "childrens_home",
    "secure children's home": "secure_childrens_home",
    "residential special school": "residential_special_school",
    "residential special school (>295 days/year)": "residential_special_school_295_days",
    "residential special school (registered as a children's home)": (
        "residential_special_school_childrens_home"
    ),
    "independent fostering agency": "independent_fostering_agency",
    "voluntary adoption agency": "voluntary_adoption_agency",
    "adoption support agency": "adoption_support_agency",
    "residential family centre": "residential_family_centre",
    "boarding school": "boarding_school",
    "further education college": "further_education_college",
    "further education college with residential accommodation": "further_education_college",
    "secure training centre": "secure_training_centre",
    "residential holiday scheme for disabled children": "residential_holiday_scheme",
}
_PROVIDER_TABLES = "providers_2014; providers_2023"
_PROVIDER_YEAR = "at 30 September (2014 list); at 31 March (2023 list)"
_m(
    _PROVIDER_TABLES,
    "homes",
    _PROVIDER_YEAR,
    childrens_homes="children's homes registered with Ofsted in the authority's area",
)
_m(
    _PROVIDER_TABLES,
    "places",
    _PROVIDER_YEAR,
    childrens_homes_places="places in those children's homes",
)
for _slug in sorted(set(_PROVISION_TYPES.values())):
    if _slug == "childrens_home":
        continue
    _m(
        _PROVIDER_TABLES,
        "providers",
        _PROVIDER_YEAR,
        **{f"providers_{_slug}": f"Ofsted-registered providers of type {_slug.replace('_', ' ')}"},
    )
    _m(
        _PROVIDER_TABLES,
        "places",
        _PROVIDER_YEAR,
        **{f"places_{_slug}": f"places of providers of type {_slug.replace('_', ' ')}"},
    )
_PROVIDER_DATES = {"providers_2014": "at 30 September", "providers_2023": "at 31 March"}


def describe(measure: str) -> Measure:
    """Return what ``measure`` counts, its unit and year convention.

    >>> describe("cin_factor_child_sexual_exploitation").unit
    'episodes'
    """
    try:
        return MEASURES[measure]
    except KeyError:
        close = difflib.get_close_matches(measure, list(MEASURES), n=3)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise KeyError(f"no measure {measure!r}{hint}; see docs/data_dictionary.md") from None


# --------------------------------------------------------------------------- reading


def _fetch(name: str) -> Path:
    return Path(external.fetch(name))


def _provenance(name: str) -> tuple[str, str, str]:
    """(source id, release, vintage) of a download: its registry row and provenance record."""
    row = external.record(name)
    return row.source_id, row.description, sources.get(row.source_id).date_published


def _decode(path: Path) -> str:
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # the 2012-2017 releases' text files


def _read(path: Path, *, skip: int = 0) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (stripped) and (line, fields) rows (:func:`analysis.tables.read_ragged`)."""
    return read_ragged(path, skip=skip, error=LocalDataError)


class _Table:
    """Accumulates one file's cells, then parses them strictly into tidy rows.

    :meth:`add` and :meth:`add_row` only record cells; :meth:`frame` parses every distinct cell
    once and checks them all together with numpy (a table repeats its cells, and a Python call
    per cell was the slowest part of loading), failing on the first bad cell in file order.
    """

    def __init__(self, path: Path, markers: Mapping[str, str]):
        self.path, self.markers, self.shown = path, markers, display_path(path)
        # (geo, year, line, measures, cells, columns): the cells of one line
        self.blocks: list[tuple] = []

    def fail(self, line: int | None, column: str | None, problem: str) -> None:
        raise LocalDataError(self.shown, line, column, problem)

    def add(
        self,
        geo: tuple[str, str, str, str, str],
        year: int,
        measure: str,
        cell: str,
        line: int,
        column: str,
    ) -> None:
        self.blocks.append((geo, year, line, (measure,), (cell,), (column,)))

    def add_row(
        self,
        geo: tuple[str, str, str, str, str],
        year: int,
        line: int,
        measures: Sequence[str],
        cells: Sequence[str],
        columns: Sequence[str],
    ) -> None:
        """Record the cells of one line, one per measure (``columns`` name them in errors)."""
        self.blocks.append((geo, year, line, measures, cells, columns))

    def frame(self, name: str) -> pd.DataFrame:
        head = list(COLUMNS[: COLUMNS.index("status") + 1])
        if not self.blocks:
            out = pd.DataFrame.from_records([], columns=head)
            out["year"] = out["year"].astype("int64")
            out["value"] = out["value"].astype("float64")
        else:
            out = pd.DataFrame(dict(zip(head, self._columns(), strict=True)))
        out["_table"] = name
        return out

    def _columns(self) -> list:
        geos, years, lines, measures, cells, columns = zip(*self.blocks, strict=True)
        sizes = np.fromiter((len(c) for c in cells), dtype="int64", count=len(cells))
        block = np.repeat(np.arange(len(sizes)), sizes)  # each cell's row
        cells = _objects(chain.from_iterable(cells))
        measures = _objects(chain.from_iterable(measures))
        # each distinct cell and measure once
        cell_ids, distinct = pd.factorize(cells)
        parsed = [_try_parse(c, self.markers) for c in distinct]
        values = np.array([v for v, _ in parsed], dtype=float)[cell_ids]
        statuses = _objects(s for _, s in parsed)[cell_ids]
        measure_ids, kinds = pd.factorize(measures)
        info = [MEASURES[m] for m in kinds]
        unsigned = np.array([not i.signed for i in info], dtype=bool)[measure_ids]
        # the first cell in file order that is not a number or a marker, or is a negative count
        bad = np.flatnonzero(np.array([s is None for _, s in parsed], dtype=bool)[cell_ids])
        negative = np.flatnonzero((values < 0) & unsigned)
        first = min(int(x[0]) if len(x) else len(cells) for x in (bad, negative))
        if first < len(cells):
            line = lines[block[first]]
            column = list(chain.from_iterable(columns))[first]
            if len(bad) and bad[0] == first:
                try:
                    parse_value(cells[first], self.markers)
                except ValueError as err:
                    self.fail(line, column, str(err))
            self.fail(line, column, f"negative value {cells[first].strip()} for {measures[first]}")
        geo = np.empty((len(geos), 5), dtype=object)
        geo[:] = geos
        return [
            *geo[block].T,
            np.asarray(years, dtype="int64")[block],
            _objects(i.year_convention for i in info)[measure_ids],
            measures,
            values,
            _objects(i.unit for i in info)[measure_ids],
            statuses,
        ]


def _objects(items: Iterable) -> np.ndarray:
    """A 1-D object array of ``items`` (never a 2-D array of tuples)."""
    items = list(items)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _try_parse(cell: str, markers: Mapping[str, str]) -> tuple[float, str | None]:
    """:func:`parse_value`, with status None for a cell that is neither number nor marker."""
    try:
        return parse_value(cell, markers)
    except ValueError:
        return math.nan, None


def _london_part(name: str) -> str | None:
    return {"inner london": "E13000001", "outer london": "E13000002"}.get(name.strip().casefold())


_EES_GEO = areas.EES_GEOGRAPHY


def _ees_rows(table: _Table, header: list[str], rows, *, extra: Sequence[str] = ()):
    """Yield (line, year, geo, fields, index) for each row of a DfE explore-statistics file."""
    ix = {name: i for i, name in enumerate(header)}
    missing = [c for c in (*_EES_GEO, *extra) if c not in ix]
    if missing:
        table.fail(1, missing[0], f"missing column(s): {', '.join(missing)}")
    geography = itemgetter(*(ix[c] for c in _EES_GEO))
    seen: dict[tuple[str, ...], tuple[int, tuple[str, str, str, str, str]]] = {}
    for line, f in rows:
        raw = geography(f)
        known = seen.get(raw)  # the same area and year on many lines of a long file
        if known is None:
            known = seen[raw] = _ees_geo(table, line, dict(zip(_EES_GEO, raw, strict=True)))
        yield line, known[0], known[1], f, ix


def _ees_geo(
    table: _Table, line: int, fields: dict[str, str]
) -> tuple[int, tuple[str, str, str, str, str]]:
    """The year and the (code, number, name, region, geography) of one row's geography columns."""
    get = {c: v.strip() for c, v in fields.items()}
    if not re.fullmatch(r"\d{4}", get["time_period"]):
        table.fail(line, "time_period", f"not a year: {get['time_period']!r}")
    if get["time_identifier"] != "Reporting year":
        table.fail(
            line, "time_identifier", f"expected 'Reporting year': {get['time_identifier']!r}"
        )
    level = get["geographic_level"]
    if level == "National":
        geo = (get["country_code"], "", get["country_name"], "", "national")
    elif level == "Regional":
        name = get["region_name"]
        code = _london_part(name) or get["region_code"]
        region = "London" if _london_part(name) else name
        geo = (code, "", name, region, "regional")
    elif level == "Local authority":
        name = get["region_name"]
        region = "London" if _london_part(name) else name
        geo = (
            get["new_la_code"],
            get["old_la_code"],
            get["la_name"],
            region,
            "local authority",
        )
        if not re.fullmatch(r"\d{3}", get["old_la_code"]):
            table.fail(line, "old_la_code", f"not a 3-digit LA number: {get['old_la_code']!r}")
    else:
        table.fail(line, "geographic_level", f"unknown level {level!r}")
    if not geo[0]:
        table.fail(line, "new_la_code" if level == "Local authority" else "region_code", "no code")
    return int(get["time_period"]), geo


def _ees_wide(
    path: Path,
    name: str,
    columns: Mapping[str, str],
    *,
    allow: Sequence[str] = (),
    required: Sequence[str] = (),
) -> pd.DataFrame:
    """A wide DfE file: one column per measure (``columns`` maps column -> measure id)."""
    table = _Table(path, MARKERS)
    header, rows = _read(path)
    known = set(_EES_GEO) | set(columns) | set(allow)
    unexpected = [c for c in header if c not in known]
    if unexpected:
        table.fail(1, unexpected[0], f"unexpected column(s): {', '.join(unexpected)}")
    present = tuple(c for c in columns if c in header)
    measures = tuple(columns[c] for c in present)
    for line, year, geo, f, ix in _ees_rows(table, header, rows, extra=required):
        table.add_row(geo, year, line, measures, [f[ix[c]] for c in present], present)
    return table.frame(name)


def _sfr_geo(table: _Table, f: list[str], ix: dict[str, int], line: int):
    level = f[ix["geog_l"]].strip()
    code, number, name = (f[ix[c]].strip() for c in ("New_geog_code", "geog_c", "geog_n"))
    if level == "NATIONAL":
        return (code, "", "England" if name.casefold() == "england" else name, "", "national")
    if level == "REGION":
        part = _london_part(name)
        return (part or code, "", name, "LONDON" if part else name, "regional")
    if level == "LA":
        if not re.fullmatch(r"\d{3}", number):
            table.fail(line, "geog_c", f"not a 3-digit LA number: {number!r}")
        return (code, number, name, "", "local authority")
    table.fail(line, "geog_l", f"unknown geography level {level!r}")
    return None


def read_metadata(path: Path | str) -> dict[str, dict[str, str]]:
    """Read a 2012-2017 metadata document: file name -> {column code: description}.

    The documents list, for each underlying-data file, lines ``CODE: description``.

    >>> from analysis import paths
    >>> doc = paths.PROJECT_ROOT / "tests/fixtures/external_fakes/fake_cla_2014_metadata.txt"
    >>> read_metadata(doc)["SFR36_CLA2014.csv"]["CLA_Mar2014"]
    'Children looked after at 31 March 2014 (fake description)'
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in _decode(Path(path)).splitlines():
        line = raw.strip()
        head = re.fullmatch(r"(?:File \d+ Title:\s*)?([\w&.-]+\.csv)", line)
        if head:
            current = sections.setdefault(head.group(1), {})
            continue
        item = re.fullmatch(r"([A-Za-z][\w&]*)\s*:\s*(.+)", line)
        if item and current is not None:
            current[item.group(1)] = item.group(2).strip()
    return sections


def _norm_code(code: str, year: int) -> str:
    code = code.strip().casefold().replace(str(year), "yyyy")
    return _SFR_ALIASES.get(code, code)


def _sfr(
    path: Path,
    name: str,
    year: int,
    mapping: Mapping[str, str],
    metadata: Path,
    section: str,
    *,
    skip_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """A 2012-2017 release: wide, one column per code, named by its metadata document."""
    table = _Table(path, SFR_MARKERS)
    header, rows = _read(path)
    ix = {c: i for i, c in enumerate(header)}
    geo_cols = ("New_geog_code", "geog_l", "geog_c", "geog_n")
    missing = [c for c in geo_cols if c not in ix]
    if missing:
        table.fail(1, missing[0], f"missing column(s): {', '.join(missing)}")
    docs = read_metadata(metadata)
    described = None
    for fname, items in docs.items():
        if fname.casefold() == section.casefold():
            doc_year = re.search(r"(20\d\d)", fname)
            y = int(doc_year.group(1)) if doc_year else year
            described = {_norm_code(k, y): v for k, v in items.items()}
    if described is None:
        table.fail(None, None, f"{display_path(metadata)} does not describe {section}")
    codes = [c for c in header if c not in geo_cols and c not in skip_columns]
    measures = {}
    for column in codes:
        key = _norm_code(column, year)
        if key not in described:
            table.fail(1, column, f"not described in {display_path(metadata)} ({section})")
        if key not in mapping:
            table.fail(1, column, f"no measure id for code {column!r} (add it to local.py)")
        measures[column] = mapping[key]
    for column in header:
        if re.fullmatch(r"CLA_Mar\d{4}", column) and column != f"CLA_Mar{year}":
            table.fail(1, column, f"the file is for {column[-4:]}, not {year}")
    named, ids = tuple(measures), tuple(measures.values())
    for line, f in rows:
        geo = _sfr_geo(table, f, ix, line)
        table.add_row(geo, year, line, ids, [f[ix[c]] for c in named], named)
    return table.frame(name)


# --------------------------------------------------------------------------- cache and finish


def _path(name: str, path: Path | str | None) -> Path:
    return Path(path) if path is not None else _fetch(name)


@lru_cache(maxsize=64)
def _parsed(parser: Callable[..., pd.DataFrame], path: str, sha: str, options: tuple):
    """``parser(path, *options)``, once per process for a file's path and checksum.

    Python's cyclic garbage collector is paused meanwhile: reading a file makes hundreds of
    thousands of small lists and tuples, none in a cycle, and the collections their allocation
    sets off (each walking every object alive) took a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parser(Path(path), *options)
    finally:
        if enabled:
            gc.enable()


def _finish(
    raw: pd.DataFrame,
    name: str,
    path: Path,
    *,
    register: pd.DataFrame | None,
    harmonise: bool,
) -> pd.DataFrame:
    source_id, release, vintage = _provenance(name)
    out = raw.drop(columns="_table")  # a new frame (pandas copies on write)
    out.attrs.pop("first_line", None)  # the provider lists' parse keeps it, for its errors
    out["release"] = release
    out["vintage"] = vintage
    out["source_id"] = source_id
    out = out.loc[:, list(COLUMNS)]
    if harmonise:
        out = areas.harmonise(out, register)
    out = out.sort_values(["measure", "geography", "area_code", "year"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(
        table=name,
        file=display_path(path),
        sources=[source_id],
        release=release,
        vintage=vintage,
        harmonised=harmonise,
        synthetic=False,
    )
    return out


def _load(
    parser: Callable[..., pd.DataFrame],
    name: str,
    path: Path | str | None,
    options: tuple = (),
    *,
    register: pd.DataFrame | None = None,
    harmonise: bool = True,
) -> pd.DataFrame:
    path = _path(name, path)
    if not path.exists():
        raise LocalDataError(display_path(path), None, None, "file not found")
    key = (parser, str(path.resolve()), sources.sha256(path), options)
    if register is None:  # the default register: the finished frame can be cached too
        return _copy(_finished(*key, name, harmonise))
    return _finish(_parsed(*key), name, path, register=register, harmonise=harmonise)


@lru_cache(maxsize=64)
def _finished(parser: Callable, path: str, sha: str, options: tuple, name: str, harmonise: bool):
    raw = _parsed(parser, path, sha, options)
    return _finish(raw, name, Path(path), register=None, harmonise=harmonise)


def _copy(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in frame.attrs.items()}
    return out


# --------------------------------------------------------------------------- parsers


def _parse_b1(path: Path) -> pd.DataFrame:
    return _ees_wide(path, "cin_2013_2025", _B1, allow=("category",), required=tuple(_B1))


def _parse_c1(path: Path) -> pd.DataFrame:
    return _ees_wide(path, "referrals_2013_2025", _C1, allow=("category",), required=tuple(_C1))


def _parse_d5(path: Path) -> pd.DataFrame:
    return _ees_wide(path, "cpp_2013_2025", _D5, allow=("category",), required=tuple(_D5))


def _parse_c3(path: Path) -> pd.DataFrame:
    required = (
        "Episodes_with_assessment_factor",
        "Going_missing",
        "Child_sexual_exploitation",
        "Child_criminal_exploitation",
    )
    return _ees_wide(path, "cin_factors_2018_2025", _C3, allow=("category",), required=required)


def _parse_population(path: Path) -> pd.DataFrame:
    table = _Table(path, MARKERS)
    header, rows = _read(path)
    unexpected = [c for c in header if c not in (*_EES_GEO, "age_group", "population_estimate")]
    if unexpected:
        table.fail(1, unexpected[0], f"unexpected column(s): {', '.join(unexpected)}")
    for line, year, geo, f, ix in _ees_rows(
        table, header, rows, extra=("age_group", "population_estimate")
    ):
        if f[ix["age_group"]].strip() != "Children aged 0 to 17 years":
            table.fail(line, "age_group", f"unexpected age group {f[ix['age_group']]!r}")
        table.add(
            geo, year, "child_population", f[ix["population_estimate"]], line, "population_estimate"
        )
    return table.frame("population_2012_2024")


def _parse_cla_rates(path: Path) -> pd.DataFrame:
    table = _Table(path, MARKERS)
    header, rows = _read(path)
    cols = ("population_type", "population_estimate", "children_count", "rate_per_10000")
    unexpected = [c for c in header if c not in (*_EES_GEO, *cols)]
    if unexpected:
        table.fail(1, unexpected[0], f"unexpected column(s): {', '.join(unexpected)}")
    denominators: dict[tuple, tuple[str, int]] = {}
    for line, year, geo, f, ix in _ees_rows(table, header, rows, extra=cols):
        kind = f[ix["population_type"]].strip()
        if kind not in _CLA_TYPES:
            table.fail(line, "population_type", f"unknown population type {kind!r}")
        measure, _ = _CLA_TYPES[kind]
        table.add(geo, year, measure, f[ix["children_count"]], line, "children_count")
        table.add(geo, year, f"{measure}_rate", f[ix["rate_per_10000"]], line, "rate_per_10000")
        pop = f[ix["population_estimate"]].strip()
        key = (geo[0], year)
        if key in denominators:
            if denominators[key][0] != pop:
                table.fail(
                    line,
                    "population_estimate",
                    f"{pop!r} differs from line {denominators[key][1]} for the same area",
                )
            continue
        denominators[key] = (pop, line)
        table.add(geo, year - 1, "cla_rate_denominator", pop, line, "population_estimate")
    return table.frame("cla_2021_2025")


def _parse_missing_long(path: Path, name: str) -> pd.DataFrame:
    table = _Table(path, MARKERS)
    header, rows = _read(path)
    group = next((c for c in header if c.casefold() == "cla_group"), "cla_group")
    cols = (group, "number")
    unexpected = [c for c in header if c not in (*_EES_GEO, *cols)]
    if unexpected:
        table.fail(1, unexpected[0], f"unexpected column(s): {', '.join(unexpected)}")
    for line, year, geo, f, ix in _ees_rows(table, header, rows, extra=cols):
        label = f[ix[group]].strip()
        if label not in _MISSING_GROUPS:
            table.fail(line, group, f"unknown measure {label!r}")
        table.add(geo, year, _MISSING_GROUPS[label], f[ix["number"]], line, "number")
    return table.frame(name)


_SFR_SECTIONS = {
    "cla_2012": ("cla_2014_metadata", "SFR36_CLA2014.csv", 2012),
    "cla_2013": ("cla_2014_metadata", "SFR36_CLA2014.csv", 2013),
    "cla_2014": ("cla_2014_metadata", "SFR36_CLA2014.csv", 2014),
    "cla_2015": ("cla_2015_metadata", "SFR34_CLA2015.csv", 2015),
    "missing_2015": ("cla_2015_metadata", "SFR34_Missing2015.csv", 2015),
    "missing_2016": ("missing_2016_metadata", "SFR41_Missing2016.csv", 2016),
    "missing_2017": ("missing_2017_metadata", "SFR50_Missing2017.csv", 2017),
}


def _parse_sfr(path: Path, name: str, metadata: str) -> pd.DataFrame:
    _, section, year = _SFR_SECTIONS[name]
    mapping = _SFR_CLA if name.startswith("cla_") else _SFR_MISSING
    return _sfr(path, name, year, mapping, Path(metadata), section, skip_columns=("LA_order",))


def _provider_rows(path: Path, name: str) -> tuple[_Table, list[tuple[int, str, str, float, str]]]:
    """(line, authority name, provision type, places, status) for each provider in a list."""
    if name == "providers_2014":
        table = _Table(path, {"": "not available"})
        header, rows = _read(path)
        cols = ("LA", "Provision Type", "Max/Estimated Places")
    else:
        # three title lines; the third says empty cells are not applicable to the provider type
        table = _Table(path, {"": "not applicable"})
        header, rows = _read(path, skip=3)
        cols = ("Local authority", "Provision type", "Places")
    ix = {c: i for i, c in enumerate(header)}
    missing = [c for c in cols if c not in ix]
    if missing:
        table.fail(1, missing[0], f"missing column(s): {', '.join(missing)}")
    out = []
    for line, f in rows:
        la, kind, places = (f[ix[c]].strip() for c in cols)
        if not la:
            table.fail(line, cols[0], "no local authority")
        if kind.casefold() not in _PROVISION_TYPES:
            table.fail(line, cols[1], f"unknown provision type {kind!r}")
        try:
            value, status = parse_value(places, table.markers)
        except ValueError as err:
            table.fail(line, cols[2], str(err))
        if value < 0:
            table.fail(line, cols[2], f"negative places {places}")
        out.append((line, la, _PROVISION_TYPES[kind.casefold()], value, status))
    return table, out


def _parse_providers(path: Path, name: str) -> pd.DataFrame:
    """Per authority (by name, as listed) and provision type: providers and their places."""
    table, providers = _provider_rows(path, name)
    counts: dict[tuple[str, str], list[float]] = {}
    statuses: dict[tuple[str, str], set[str]] = {}
    first_line: dict[str, int] = {}
    for line, la, slug, value, status in providers:
        counts.setdefault((la, slug), []).append(value)
        if status:
            statuses.setdefault((la, slug), set()).add(status)
        first_line.setdefault(la, line)
    year = 2014 if name == "providers_2014" else 2023
    rows = []
    for (la, slug), values in sorted(counts.items()):
        n_id, p_id = (
            ("childrens_homes", "childrens_homes_places")
            if slug == "childrens_home"
            else (f"providers_{slug}", f"places_{slug}")
        )
        geo = ("", "", la, "", "local authority")
        total = math.nan if any(math.isnan(v) for v in values) else float(sum(values))
        status = ", ".join(sorted(statuses.get((la, slug), ())))
        rows.append(
            (*geo, year, _PROVIDER_DATES[name], n_id, float(len(values)), MEASURES[n_id].unit, "")
        )
        rows.append((*geo, year, _PROVIDER_DATES[name], p_id, total, MEASURES[p_id].unit, status))
    head = COLUMNS[: COLUMNS.index("status") + 1]
    out = pd.DataFrame.from_records(rows, columns=list(head))
    out["_table"] = name
    out.attrs["first_line"] = first_line
    return out


# --------------------------------------------------------------------------- public loaders

_COMMON = """
    Parameters
    ----------
    path : path, optional
        A file in the same format to read instead of the download (the tests pass fakes).
    register : pandas.DataFrame, optional
        The area register to harmonise with (default :func:`analysis.areas.register`).
    harmonise : bool, default True
        Give local-authority rows the register's codes, numbers, names and regions
        (:func:`analysis.areas.harmonise`); False keeps them as published.

    Returns
    -------
    pandas.DataFrame
        The tidy form of :data:`COLUMNS`, with ``attrs["sources"]``.

    Raises
    ------
    LocalDataError
        Naming file, line and column of a malformed cell or layout.
"""


#: The set-up every loader's example starts with: the hand-made fakes and their register.
_EXAMPLE_SETUP = """
    >>> from analysis import areas, paths
    >>> fakes = paths.PROJECT_ROOT / "tests/fixtures/external_fakes"
    >>> reg = areas.register(areas.fake_files(fakes))"""


def _doc(text: str) -> str:
    """A loader's docstring: its own text, the shared sections unless it has its own, then its
    examples (the lines from the first ``>>>``) after the shared set-up of ``fakes`` and ``reg``."""
    head, prompt, examples = text.partition("\n    >>>")
    common = "" if "\n    Parameters\n" in head else "\n" + _COMMON
    shared = "\n    Examples\n    --------" + _EXAMPLE_SETUP + prompt + examples if prompt else ""
    return head.rstrip() + "\n" + common + shared


def _documented(loader: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Complete a loader's docstring with :func:`_doc` (the shared sections and set-up)."""
    loader.__doc__ = _doc(loader.__doc__ or "")
    return loader


@_documented
def load_children_in_need(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Children in need (DfE table B1), 2013-2025: episodes of need and the children who had them.

    >>> cin = load_children_in_need(fakes / "fake_cin_2013_2025.csv", register=reg)
    >>> sorted(cin["unit"].unique())
    ['children', 'episodes']
    """
    return _load(_parse_b1, "cin_2013_2025", path, register=register, harmonise=harmonise)


@_documented
def load_referrals(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Referrals and re-referrals (DfE table C1), 2013-2025, counts and percentages.

    >>> c1 = load_referrals(fakes / "fake_referrals_2013_2025.csv", register=reg)
    >>> sorted(set(c1.loc[c1["measure"].str.endswith("percent"), "unit"]))
    ['percent of children referred', 'percent of referrals']
    """
    return _load(_parse_c1, "referrals_2013_2025", path, register=register, harmonise=harmonise)


@_documented
def load_child_protection_plans(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Children subject of a child protection plan at 31 March by duration (DfE table D5).

    >>> d5 = load_child_protection_plans(fakes / "fake_cpp_2013_2025.csv", register=reg)
    >>> d5.query("measure == 'cpp_at_31_march' and geography == 'national'")["value"].tolist()
    [393.0, 398.0]
    """
    return _load(_parse_d5, "cpp_2013_2025", path, register=register, harmonise=harmonise)


@_documented
def load_assessment_factors(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Factors identified at the end of assessment (DfE table C3), 2018-2025, in episodes.

    Includes child sexual exploitation (``cin_factor_child_sexual_exploitation``), going missing
    (``cin_factor_going_missing``), child criminal exploitation (first collected 2022) and the
    episodes with at least one factor (``cin_factor_episodes``). One child can have several
    episodes: these are not counts of children.

    >>> c3 = load_assessment_factors(fakes / "fake_cin_factors_2018_2025.csv", register=reg)
    >>> cce = c3.query("measure == 'cin_factor_child_criminal_exploitation' and year == 2021")
    >>> sorted(set(cce["status"]))
    ['not available']
    """
    return _load(_parse_c3, "cin_factors_2018_2025", path, register=register, harmonise=harmonise)


@_documented
def load_child_population(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """ONS mid-year estimates of children aged 0 to 17 (as compiled by DfE), 2012-2024.

    ``year`` is the mid-year (30 June) of the estimate: the national 2012 row is England's
    mid-2012 child population (``POP0017_2012`` in ``data/published/population.csv``).

    >>> pop = load_child_population(fakes / "fake_population_2012_2024.csv", register=reg)
    >>> england = pop.query("geography == 'national' and year == 2012")
    >>> england[["value", "year_convention"]].to_numpy().tolist()
    [[10900.0, 'mid-year (30 June)']]
    """
    return _load(
        _parse_population, "population_2012_2024", path, register=register, harmonise=harmonise
    )


@_documented
def load_looked_after_release(
    year: int, path=None, *, metadata=None, register=None, harmonise=True
) -> pd.DataFrame:
    """Looked-after children from one of the 2012-2015 releases (SFR underlying data).

    The releases code their columns (``CLA_Mar2012``, ``CLA_Fost``...); each code is checked
    against the release's metadata document (the 2014 document for 2012-2014, whose codes the
    2012 and 2013 files share; the 2015 document for 2015) and named with a stable measure id.
    ``x`` is a suppressed count (one to five, or a cell that would reveal one). ``metadata``
    gives a metadata document to use instead of the download.

    >>> cla = load_looked_after_release(2012, fakes / "fake_cla_2012.csv",
    ...     metadata=fakes / "fake_cla_2014_metadata.txt", register=reg)
    >>> foster = cla.query("area_name == 'Fakeham' and measure == 'cla_placement_foster'")
    >>> foster["status"].tolist()
    ['suppressed']
    """
    if year not in (2012, 2013, 2014, 2015):
        raise ValueError(f"the 2012-2015 releases are mirrored; no looked-after release {year}")
    name = f"cla_{year}"
    doc = str(_path(_SFR_SECTIONS[name][0], metadata))
    return _load(_parse_sfr, name, path, (name, doc), register=register, harmonise=harmonise)


@_documented
def load_looked_after_rates(path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Looked-after children 2021-2025: at 31 March, started and ceased, numbers and rates.

    Rates are per 10,000 children aged 0 to 17; their denominator (DfE uses the previous
    mid-year estimate) is ``cla_rate_denominator``, dated at its mid-year, so rates can be
    recomputed after aggregating areas. The file lists every authority in every year, with
    ``z`` (not applicable) for authorities that did not exist that year.

    >>> cla = load_looked_after_rates(fakes / "fake_cla_2021_2025.csv", register=reg)
    >>> cla.query("measure == 'cla_rate_denominator'")["year"].agg(["min", "max"]).tolist()
    [2020, 2024]
    """
    return _load(_parse_cla_rates, "cla_2021_2025", path, register=register, harmonise=harmonise)


_CLA_RELEASES = ("cla_2012", "cla_2013", "cla_2014", "cla_2015", "cla_2021_2025")


@_documented
def load_looked_after(
    files: Mapping[str, Path | str] | None = None,
    *,
    releases: Sequence[str] = _CLA_RELEASES,
    register=None,
    harmonise=True,
) -> pd.DataFrame:
    """Looked-after children from every mirrored release: 2012-2015 and 2021-2025 in one frame.

    Parameters
    ----------
    files : mapping of str to path, optional
        Registry name (``cla_2012`` ... ``cla_2015``, ``cla_2021_2025``, ``cla_2014_metadata``,
        ``cla_2015_metadata``) -> file to use instead of the download.
    releases : sequence of str
        Which releases to combine (default all five).
    register, harmonise
        As for :func:`load_looked_after_release`.

    Returns
    -------
    pandas.DataFrame
        The tidy form; ``cla_at_31_march`` runs 2012-2015 and 2021-2025.

    >>> files = {"cla_2012": fakes / "fake_cla_2012.csv",
    ...          "cla_2014_metadata": fakes / "fake_cla_2014_metadata.txt",
    ...          "cla_2021_2025": fakes / "fake_cla_2021_2025.csv"}
    >>> cla = load_looked_after(files, releases=("cla_2012", "cla_2021_2025"), register=reg)
    >>> sorted(cla.query("measure == 'cla_at_31_march'")["year"].unique().tolist())
    [2012, 2021, 2022, 2023, 2024, 2025]
    """
    files = dict(files or {})
    frames = []
    for name in releases:
        if name == "cla_2021_2025":
            frames.append(
                load_looked_after_rates(files.get(name), register=register, harmonise=harmonise)
            )
        else:
            frames.append(
                load_looked_after_release(
                    int(name[-4:]),
                    files.get(name),
                    metadata=files.get(_SFR_SECTIONS[name][0]),
                    register=register,
                    harmonise=harmonise,
                )
            )
    return _concat(frames, "looked_after")


_MISSING_RELEASES = (
    "missing_2015",
    "missing_2016",
    "missing_2017",
    "missing_2018_2022",
    "missing_2020_2024",
)


@_documented
def load_missing_release(
    name: str, path=None, *, metadata=None, register=None, harmonise=True
) -> pd.DataFrame:
    """Looked-after children missing or away from placement, from one release.

    ``name`` is one of ``missing_2015``, ``missing_2016``, ``missing_2017`` (the SFR layouts,
    checked against their metadata documents; ``metadata`` gives a document to use instead of
    the download), ``missing_2018_2022`` and ``missing_2020_2024`` (DfE's long files, 13
    measures). The 2017 release calls these figures experimental statistics.

    >>> m = load_missing_release("missing_2015", fakes / "fake_missing_2015.csv",
    ...     metadata=fakes / "fake_cla_2015_metadata.txt", register=reg)
    >>> m.query("geography == 'national' and measure == 'missing_incidents'")["value"].tolist()
    [887.0]
    """
    if name not in _MISSING_RELEASES:
        raise ValueError(f"no missing-from-care release {name!r}; releases: {_MISSING_RELEASES}")
    if name in _SFR_SECTIONS:
        doc = str(_path(_SFR_SECTIONS[name][0], metadata))
        return _load(_parse_sfr, name, path, (name, doc), register=register, harmonise=harmonise)
    return _load(_parse_missing_long, name, path, (name,), register=register, harmonise=harmonise)


@_documented
def load_missing(
    vintage: str = "latest",
    files: Mapping[str, Path | str] | None = None,
    *,
    releases: Sequence[str] = _MISSING_RELEASES,
    register=None,
    harmonise=True,
) -> pd.DataFrame:
    """Looked-after children missing or away from placement, 2015-2024, from all five releases.

    Two releases cover 2020-2022: the later one revises the earlier. Both are kept as vintages.

    Parameters
    ----------
    vintage : str, default "latest"
        For a year two releases give: ``"latest"`` keeps the later release, ``"earliest"`` the
        earlier, ``"all"`` both (``vintage`` and ``release`` tell them apart), or a ``vintage``
        value (e.g. ``"2022-11"``) picks that release wherever it has the year.
    files : mapping of str to path, optional
        Registry name (a release or a metadata document) -> file to use instead.
    releases : sequence of str
        The releases to read (default all five; the first three with their metadata documents).
    register, harmonise
        As for :func:`load_missing_release`.

    Returns
    -------
    pandas.DataFrame
        The tidy form; ``attrs["vintage_choice"]`` records ``vintage``.

    >>> names = ("missing_2018_2022", "missing_2020_2024")
    >>> files = {n: fakes / f"fake_{n}.csv" for n in names}
    >>> both = load_missing("all", files, releases=names, register=reg)
    >>> sorted(both.query("year == 2021")["vintage"].unique())
    ['2022-11', '2024-11']
    >>> latest = load_missing("latest", files, releases=names, register=reg)
    >>> sorted(latest.query("year == 2021")["vintage"].unique())
    ['2024-11']
    """
    files = dict(files or {})
    frames = []
    for name in releases:
        meta = _SFR_SECTIONS.get(name, ("",))[0]
        frames.append(
            load_missing_release(
                name,
                files.get(name),
                metadata=files.get(meta),
                register=register,
                harmonise=harmonise,
            )
        )
    frame = _concat(frames, "missing")
    order = {v: i for i, v in enumerate(sorted(set(frame["vintage"])))}
    groups = [frame[k] for k in ("area_code", "geography", "year", "measure")]
    if vintage == "all":
        keep = pd.Series(True, index=frame.index)
    elif vintage in ("latest", "earliest"):
        rank = frame["vintage"].map(order)
        best = rank.groupby(groups).transform("max" if vintage == "latest" else "min")
        keep = rank == best
    elif vintage in order:
        chosen = frame["vintage"] == vintage
        keep = chosen | ~chosen.groupby(groups).transform("any")
    else:
        raise ValueError(
            f"vintage must be 'latest', 'earliest', 'all' or one of {', '.join(order)}; "
            f"got {vintage!r}"
        )
    out = frame[keep].reset_index(drop=True)
    out.attrs = dict(frame.attrs, vintage_choice=vintage)
    return out


#: The day each mirrored Ofsted provider list stands at, by the year it is known by (the dates
#: in the lists' titles, ``data/published/downloads.csv``; a test checks them there).
PROVIDER_LIST_DATES: dict[int, datetime.date] = {
    2014: datetime.date(2014, 9, 30),
    2023: datetime.date(2023, 3, 31),
}


def provider_list_date(year: int) -> str:
    """The day a provider list stands at, as its title gives it.

    Examples
    --------
    >>> provider_list_date(2014), provider_list_date(2023)
    ('30 September 2014', '31 March 2023')
    """
    day = _provider_list_day(year)
    return f"{day.day} {day:%B %Y}"


def _provider_list_day(year: int) -> datetime.date:
    try:
        return PROVIDER_LIST_DATES[year]
    except KeyError:
        mirrored = " and ".join(str(y) for y in PROVIDER_LIST_DATES)
        raise ValueError(f"provider lists are mirrored for {mirrored}, not {year}") from None


@_documented
def load_providers(year: int, path=None, *, register=None, harmonise=True) -> pd.DataFrame:
    """Children's homes and other Ofsted-registered providers, and their places, by authority.

    ``year`` is 2014 or 2023, the lists dated by :data:`PROVIDER_LIST_DATES`. The lists
    name authorities, not codes: names are matched to the authorities in use at the list's
    date with :func:`analysis.areas.match_names`, which fails naming every unmatched name.
    Authorities with no provider of a type get 0 (the lists are Ofsted's full registers).
    ``childrens_homes`` counts homes of the type "children's home" (secure children's homes
    and residential special schools registered as children's homes are their own measures).

    >>> homes = load_providers(2014, fakes / "fake_providers_2014.csv", register=reg)
    >>> homes.query("measure == 'childrens_homes'").set_index("area_name")["value"].to_dict()
    {'Fake Borough A': 2.0, 'Fake Borough B': 0.0, 'Fakeport, City of': 0.0, 'Fakeham': 0.0,
     'Fakeshire': 1.0}
    """
    day = _provider_list_day(year)
    name = f"providers_{year}"
    path = _path(name, path)
    raw = _parsed(_parse_providers, str(path.resolve()), sources.sha256(path), (name,))
    if not harmonise:
        return _finish(raw, name, path, register=register, harmonise=False)
    reg = areas.register() if register is None else register
    when = day.year + (day.month > 3)  # the reporting year (to 31 March) holding the list's date
    try:
        codes = areas.match_names(raw["area_name"], when, register=reg)
    except areas.UnmatchedNamesError as err:
        lines = raw.attrs["first_line"]
        where = f"{display_path(path)}, column 'local authority', first seen on line(s) " + (
            ", ".join(str(lines.get(n, "?")) for n in err.unmatched)
        )
        raise areas.UnmatchedNamesError(err.unmatched, when, where=where) from None
    filled = raw.copy()
    filled["area_code"] = filled["area_name"].map(codes)
    # authorities with none of a provision type have zero of it: the list is the full register
    in_use = reg[reg["years"].map(lambda ys: when in ys)]
    grid = pd.MultiIndex.from_product(
        [sorted(in_use.index), sorted(set(filled["measure"]))], names=["area_code", "measure"]
    )
    have = filled.set_index(["area_code", "measure"])
    if have.index.duplicated().any():
        dup = have.index[have.index.duplicated()][0]
        raise LocalDataError(
            display_path(path),
            None,
            "local authority",
            f"two spellings of one authority ({dup[0]}) in the list",
        )
    full = have.reindex(grid)
    absent = full["value"].isna() & full["status"].isna()
    full.loc[absent, "value"] = 0.0
    full.loc[absent, "status"] = ""
    full["unit"] = [MEASURES[m].unit for m in full.index.get_level_values("measure")]
    full["year"] = year
    full["year_convention"] = _PROVIDER_DATES[name]
    full["geography"] = "local authority"
    full["_table"] = name
    full = full.reset_index()
    out = _finish(full, name, path, register=reg, harmonise=True)
    out.attrs["matched_names"] = codes
    return out


#: Registry name -> the loader of that file (a year or release argument where one is needed).
LOADERS: dict[str, Callable[..., pd.DataFrame]] = {
    "cin_2013_2025": load_children_in_need,
    "referrals_2013_2025": load_referrals,
    "cpp_2013_2025": load_child_protection_plans,
    "cin_factors_2018_2025": load_assessment_factors,
    "population_2012_2024": load_child_population,
    **{f"cla_{y}": partial(load_looked_after_release, y) for y in (2012, 2013, 2014, 2015)},
    "cla_2021_2025": load_looked_after_rates,
    **{name: partial(load_missing_release, name) for name in _MISSING_RELEASES},
    **{f"providers_{y}": partial(load_providers, y) for y in (2014, 2023)},
}


def _concat(frames: Sequence[pd.DataFrame], table: str) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {
        "table": table,
        "sources": sorted({s for f in frames for s in f.attrs.get("sources", [])}),
        "tables": [f.attrs.get("table") for f in frames],
        "harmonised": all(f.attrs.get("harmonised") for f in frames),
        "synthetic": False,
    }
    return out


# --------------------------------------------------------------------------- data dictionary


DATA_DICTIONARY: Path = paths.PROJECT_ROOT / "docs" / "data_dictionary.md"
_MARKERS = ("<!-- measures:start -->", "<!-- measures:end -->")


def data_dictionary_markdown() -> str:
    """The measure tables of ``docs/data_dictionary.md``, generated from :data:`MEASURES`.

    A table of the downloads (registry name, publication, provenance id), then one row per
    measure: what it counts, its unit, its year convention and the downloads that give it.
    ``tests/unit/test_local.py`` keeps the committed document in step with this text; after
    changing a measure run :func:`update_data_dictionary`.
    """
    names = sorted({n for m in MEASURES.values() for n in m.table.split("; ")})
    lines = ["### Downloads", "", "| download | publication | provenance |", "|---|---|---|"]
    for name in names:
        row = external.record(name)
        lines.append(f"| `{name}` | {row.description} | `{row.source_id}` |")
    lines += [
        "",
        "### Measures",
        "",
        "| measure | counts | unit | year | downloads |",
        "|---|---|---|---|---|",
    ]
    for m in sorted(MEASURES.values(), key=lambda m: m.id):
        where = ", ".join(f"`{n}`" for n in m.table.split("; "))
        lines.append(f"| `{m.id}` | {m.counts} | {m.unit} | {m.year_convention} | {where} |")
    return "\n".join(lines) + "\n"


def update_data_dictionary(path: Path | str = DATA_DICTIONARY) -> bool:
    """Rewrite the generated part of the data dictionary; return True if it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(_MARKERS[0], 1)
    _, tail = rest.split(_MARKERS[1], 1)
    new = f"{head}{_MARKERS[0]}\n{data_dictionary_markdown()}{_MARKERS[1]}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
