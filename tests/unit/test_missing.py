"""Notebook 01's arithmetic, checked against the publications' own numbers written out here."""

from __future__ import annotations

from analysis.themes import missing


def test_evidence_chain_multiplies_three_different_units() -> None:
    chain = missing.evidence_chain()
    # Home Office strategy (2011): about 200,000 people; UK Missing Persons Bureau 2011/12: 64% of
    # incidents; The Children's Society (2012): a quarter of runaways.
    assert chain["value"].tolist() == [200_000, 128_000, 32_000]
    assert chain["unit"].iloc[0] == "people"
    assert not chain["unit_consistent"].iloc[-1]


def test_unit_consistent_products() -> None:
    est = missing.unit_consistent_estimates().set_index("figure_ids")
    assert est.loc["MP04;MP07", "value"] == 313_000 * 0.64
    assert est.loc["MP04;MP07", "unit"] == "incidents"
    assert est.loc["RS05;RS07", "value"] == 25_000
    assert est.loc["RS02;RS01", "value"] == 84_000 * 0.26
    assert est.loc["MP05", "unit"] == "individuals"


def test_missing_from_care_keeps_children_and_instances_apart() -> None:
    care = missing.missing_from_care().set_index("figure_id")
    assert care.loc[["MFC01", "MFC02", "MFC03"], "value"].tolist() == [800, 920, 1490]
    assert care.loc["MFC04", "unit"] == "instances"
    assert care.loc["MFC06", "qualifier"] == "more_than"
    assert care.loc["MFC05", "value"] / care.loc["MFC03", "value"] > 6
