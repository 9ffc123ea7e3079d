"""The hotspot analysis of notebook 06 finds the planted hotspots in the committed synthetic data.

Runs the same module functions as the notebook on ``data/synthetic/``. The planted hotspot codes
are read from ``synthetic_parameters.json`` (the generator's record), not from any output of the
analysis.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import paths
from analysis.themes import hotspots

PARAMS = json.loads((paths.DATA_SYNTHETIC / "synthetic_parameters.json").read_text("utf-8"))
PLANTED = sorted(PARAMS["hotspots"]["area_codes"])


@pytest.fixture(scope="module")
def result() -> hotspots.HotspotAnalysis:
    return hotspots.analyse()


def test_ingest_is_clean(result: hotspots.HotspotAnalysis) -> None:
    assert result.ingest.errors == []
    assert len(result.ingest.valid) == 152 * len(PARAMS["parameters"]["periods"])
    by_period = result.area_periods.groupby("period")["count"].sum()
    for period, totals in PARAMS["totals"]["by_period"].items():
        assert by_period[period] == totals["identified_at_risk"]


def test_every_planted_hotspot_is_flagged_with_few_false_positives(
    result: hotspots.HotspotAnalysis,
) -> None:
    assert result.hotspots == PLANTED and len(PLANTED) == 5
    funnel = result.standardised_pooled
    # the over-dispersion test rejects, so the limits are widened by phi
    assert funnel.attrs["overdispersion_p_value"] < 0.05
    assert funnel.attrs["overdispersion"] == "multiplicative" and funnel.attrs["phi"] > 1
    summary = hotspots.flag_summary(funnel, PLANTED, hotspots.HOTSPOT_LEVEL)
    assert summary["hotspots_missed"] == [], summary
    # Few other areas flagged: at most 5% of the 147 non-hotspot areas.
    assert summary["other_areas"] == 147
    assert len(summary["false_positives"]) <= 0.05 * 147, summary["false_positives"]


def test_model_recovers_generator_effects_where_its_form_matches(
    result: hotspots.HotspotAnalysis,
) -> None:
    truth = hotspots.generator_irrs(PARAMS, result.register).set_index("term")
    irr = hotspots.irr_table(result.model).set_index("term")
    for term in ["homes_rate", *[t for t in truth.index if t.startswith("C(period)")]]:
        assert truth.loc[term, "exact"]
        assert irr.loc[term, "lower"] <= truth.loc[term, "true_value"] <= irr.loc[term, "upper"]
    rr = hotspots.looked_after_rate_ratio(result.ingest.collated, result.register)
    assert rr["lower"] <= PARAMS["parameters"]["looked_after_rate_ratio"] <= rr["upper"]


def test_additive_adjustment_misses_a_large_hotspot_above_the_crossover(
    result: hotspots.HotspotAnalysis,
) -> None:
    """tau2 widens the limits of large areas more than phi: a hotspot missed there is above E*."""
    comparison = hotspots.adjustment_comparison(result).set_index("adjustment")
    assert comparison.loc["multiplicative", "n_found"] == 5
    limits = hotspots.hotspot_limits(result)
    theta, phi, tau2 = (limits.attrs[k] for k in ("theta", "phi", "tau2"))
    assert limits.attrs["crossover"] == pytest.approx(theta * (phi - 1) / tau2)
    z = 1.959963984540054
    for row in limits.itertuples():
        # the two upper limits, written out, and which is wider on which side of E*
        mult = theta + z * (phi * theta / row.expected) ** 0.5
        add = theta + z * (theta / row.expected + tau2) ** 0.5
        assert row.upper_multiplicative == pytest.approx(mult, rel=1e-9)
        assert row.upper_additive == pytest.approx(add, rel=1e-9)
        assert (add > mult) == row.above_crossover
    missed = limits[~limits["flagged_additive"]]
    assert ";".join(missed["area_code"]) == comparison.loc["additive", "hotspots_missed"]
    assert missed["above_crossover"].all()


def test_results_identical_between_runs(result: hotspots.HotspotAnalysis) -> None:
    again = hotspots.analyse()
    pd.testing.assert_frame_equal(result.standardised_pooled, again.standardised_pooled)
    pd.testing.assert_series_equal(result.model.params, again.model.params)


def test_model_check_table_sets_each_estimate_against_the_generator(
    result: hotspots.HotspotAnalysis,
) -> None:
    table = hotspots.model_check_table(result, PARAMS)
    assert set(table["model"].str[:4]) == {"NB2,", "bino"}
    lac = table[table["term"] == "looked_after_rate_ratio"].iloc[0]
    # The true value is the generator's own parameter, read here from its record.
    assert lac["true_value"] == PARAMS["parameters"]["looked_after_rate_ratio"]
    known = table.dropna(subset=["true_value"])
    inside = (known["lower"] <= known["true_value"]) & (known["true_value"] <= known["upper"])
    assert known["true_value_in_ci"].astype(bool).tolist() == inside.tolist()
    # alpha matches the generator's form only in the model that includes the planted hotspots.
    alpha = table[table["term"] == "alpha"].set_index("model")["model_matches_generator"]
    assert not alpha["NB2, no hotspot term"]


def test_funnel_area_table_counts_add_up_and_suppression_leaves_no_small_count(
    result: hotspots.HotspotAnalysis,
) -> None:
    data = hotspots.funnel_area_table(result)
    counts = data.attrs["count_columns"]
    assert len(data) == 152 and data["area_code"].is_unique
    assert (data[counts].sum(axis=1) == data["count_pooled"]).all()
    assert sorted(data.loc[data["planted_hotspot"], "area_code"]) == PLANTED
    by_period = {
        f"count_{p}": t["identified_at_risk"] for p, t in PARAMS["totals"]["by_period"].items()
    }
    assert data[counts].sum().to_dict() == by_period
    published, _ = hotspots.suppress_area_counts(
        data, counts, data.attrs["latest_columns"], threshold=5
    )
    numeric = pd.to_numeric(published[counts].stack(), errors="coerce").dropna()
    assert not ((numeric >= 1) & (numeric <= 5)).any()
    # A row total of 1 to 5 is never published, nor a pooled rate that reveals it.
    pooled = data.set_index("area_code")["count_pooled"]
    small = pooled[(pooled >= 1) & (pooled <= 5)].index
    shown = published.set_index("area_code").loc[small, data.attrs["total_columns"]]
    assert (shown == "[c]").all().all()
