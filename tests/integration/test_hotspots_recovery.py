"""The hotspot analysis of notebook 06 finds the planted hotspots, and the synthetic areas copy
the real authorities they are calibrated to.

Runs the same module functions as the notebook on ``data/synthetic/``. The planted hotspot codes
are read from ``synthetic_parameters.json`` (the generator's record), and how large each area's
rate really was from the truth file, never from any output of the analysis. The power test runs
the chain on fresh seeds of the generator. The calibration test recomputes the committed numbers
from the real files in ``ANALYSIS_DATA_MIRROR``: without the mirror it skips locally and **fails
in CI** (``CI=true``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import external, paths, synthetic
from analysis.themes import hotspots

PARAMS = json.loads((paths.DATA_SYNTHETIC / "synthetic_parameters.json").read_text("utf-8"))
PLANTED = sorted(PARAMS["hotspots"]["area_codes"])
TRUTH = "synthetic_area_truth.csv"


@pytest.fixture(scope="module")
def result() -> hotspots.HotspotAnalysis:
    return hotspots.analyse()


def test_ingest_is_clean(result: hotspots.HotspotAnalysis) -> None:
    assert result.ingest.errors == []
    assert len(result.ingest.valid) == 152 * len(PARAMS["parameters"]["periods"])
    by_period = result.area_periods.groupby("period")["count"].sum()
    for period, totals in PARAMS["totals"]["by_period"].items():
        assert by_period[period] == totals["identified_at_risk"]


def _realised() -> pd.Series:
    """Each area's rate, 3 periods pooled, against an ordinary area like it with no noise."""
    truth = pd.read_csv(paths.DATA_SYNTHETIC / TRUTH)
    baseline = truth["expected_records"] / truth["hotspot_multiplier"]
    sums = truth.assign(baseline=baseline).groupby("area_code")[["rate_lambda", "baseline"]].sum()
    return sums["rate_lambda"] / sums["baseline"]


def test_every_planted_hotspot_that_stands_out_is_flagged_with_few_false_positives(
    result: hotspots.HotspotAnalysis,
) -> None:
    assert result.hotspots == PLANTED and len(PLANTED) == 5
    funnel = result.standardised_pooled
    # the over-dispersion test rejects, so the limits are widened by phi
    assert funnel.attrs["overdispersion_p_value"] < 0.05
    assert funnel.attrs["overdispersion"] == "multiplicative" and funnel.attrs["phi"] > 1
    summary = hotspots.flag_summary(funnel, PLANTED, hotspots.HOTSPOT_LEVEL)
    # A planted hotspot is in the data only if its realised rate beats every other area's.
    realised = _realised()
    ceiling = realised.drop(PLANTED).max()
    standing_out = sorted(realised[PLANTED][realised[PLANTED] > ceiling].index)
    assert standing_out, "no planted hotspot stands out: the check would be empty"
    assert set(standing_out) <= set(summary["hotspots_found"]), summary
    # hotspots found rank above every other area on average: the signal is there
    ratio = funnel["ratio"]
    assert ratio[PLANTED].mean() > ratio.drop(PLANTED).quantile(0.9)
    # Few other areas flagged: at most 5% of the 147 non-hotspot areas.
    assert summary["other_areas"] == 147
    assert len(summary["false_positives"]) <= 0.05 * 147, summary["false_positives"]
    # the theme's own helper, used by the notebook, agrees with the sums written out above
    effects = hotspots.realised_effects(pd.read_csv(paths.DATA_SYNTHETIC / TRUTH))
    assert effects.loc[effects["stands_out"], "area_code"].tolist() == standing_out


def test_the_method_finds_planted_hotspots_on_fresh_seeds() -> None:
    """Power: over fresh seeds of the calibrated generator, the pooled standardised funnel at
    95% finds nine in ten planted hotspots on average, and flags at most 5% of other areas."""
    found, false_share = [], []
    for seed in range(1, 11):
        data = synthetic.simulate(dataclasses.replace(synthetic.SyntheticParameters(), seed=seed))
        ap = hotspots.area_period_counts(data.returns, data.register)
        ap["expected"] = hotspots.expected_counts(hotspots.fit_negative_binomial(ap), ap)
        pooled = ap.groupby("area_code")[["count", "expected"]].sum()
        funnel = hotspots.area_funnel(pooled["count"], pooled["expected"], "standardised")
        summary = hotspots.flag_summary(funnel, data.hotspots, hotspots.HOTSPOT_LEVEL)
        found.append(len(summary["hotspots_found"]) / len(data.hotspots))
        false_share.append(summary["false_positive_share"])
    assert np.mean(found) >= 0.9, found
    assert np.mean(false_share) <= 0.05, false_share


@pytest.fixture(scope="module")
def mirror() -> Path:
    """The mirror of public files; skips without it, except in CI, where it fails."""
    folder = external.mirror_dir()
    if folder is None or not folder.is_dir():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"{external.MIRROR_ENV} is not set to the mirror of public files (CI needs it)"
        )
    return folder


def test_committed_calibration_is_what_the_real_files_give(mirror: Path) -> None:
    from analysis.themes import local_authorities as la

    population, rates = la.load("population"), la.assessment_panel("cse")
    assert synthetic.check_calibration(population, rates) == synthetic.AUTHORITIES
    # and, independently of that function: England's rate from the rows themselves
    rows = rates[(rates["year"] == 2018) & rates["events"].notna() & (rates["children"] > 0)]
    rate = 10_000 * rows["events"].sum() / rows["children"].sum()
    assert round(rate, 3) == synthetic.AUTHORITIES.national_rate
    sizes = population.query(
        "geography == 'local authority' and measure == 'child_population' and year == 2012"
    )["value"].dropna()
    assert len(sizes) == synthetic.AUTHORITIES.population_authorities
    # the synthetic areas' sizes: every summarised quantile within 12% of the real one
    reg = pd.read_csv(paths.DATA_SYNTHETIC / "synthetic_area_register.csv")
    probs = synthetic.AUTHORITIES.size_probabilities[1:-1]
    real = np.quantile(sizes, probs) / sizes.median()
    made = np.quantile(reg["child_population"], probs) / reg["child_population"].median()
    assert np.allclose(made, real, rtol=0.12), (made, real)


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


def test_the_two_adjustments_part_ways_at_the_crossover(
    result: hotspots.HotspotAnalysis,
) -> None:
    """tau2 widens the limits of large areas more than phi: a hotspot flagged by phi and missed
    by tau2 is above E*, one flagged by tau2 and missed by phi below it."""
    comparison = hotspots.adjustment_comparison(result).set_index("adjustment")
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
    phi_only = limits["flagged_multiplicative"] & ~limits["flagged_additive"]
    tau2_only = limits["flagged_additive"] & ~limits["flagged_multiplicative"]
    assert limits.loc[phi_only, "above_crossover"].all()
    assert not limits.loc[tau2_only, "above_crossover"].any()


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
