"""Unit tests for :mod:`analysis.themes.pilots` (synthetic panel generator and DiD fits).

Expected values come from the design of the generator (43 forces x 78 weeks, 4 pilot forces,
13 pilot weeks) and from statsmodels as an independent fitter, never from this module's output.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.themes import pilots

ONS_CODE = re.compile(r"^[EW]\d{8}$")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pilots.generate_panel()


def test_shape_and_columns(panel: pd.DataFrame) -> None:
    # 43 forces x (52 + 13 + 13) weeks
    assert panel.shape[0] == 43 * 78
    assert list(panel.columns) == list(pilots.PANEL_COLUMNS)
    assert panel["force_code"].nunique() == 43
    assert panel.groupby("force_code").size().eq(78).all()
    assert panel["synthetic"].all() and panel.attrs["synthetic"] is True


def test_periods_and_indicators(panel: pd.DataFrame) -> None:
    weeks = panel.drop_duplicates("week").set_index("week")
    assert (weeks["period"] == "pre").sum() == 52
    assert (weeks["period"] == "pilot").sum() == 13
    assert (weeks["period"] == "post").sum() == 13
    assert weeks.loc[53, "rel_week"] == 0 and weeks.loc[53, "period"] == "pilot"
    treated = panel.loc[panel["treated"], "force_code"].unique()
    assert len(treated) == 4
    assert sorted(treated) == panel.attrs["treated_forces"]
    # indicators are 1 only for pilot forces in the pilot / post weeks
    assert panel["pilot"].sum() == 4 * 13 and panel["post"].sum() == 4 * 13
    assert not panel.loc[~panel["treated"], ["pilot", "post"]].to_numpy().any()
    # months 0-2 are the pilot; -12..-1 before it
    pilot_months = sorted(panel.loc[panel["period"] == "pilot", "rel_month"].unique())
    assert pilot_months == [0, 1, 2]
    assert panel["rel_month"].min() == -12


def test_codes_are_synthetic(panel: pd.DataFrame) -> None:
    codes = panel["force_code"].unique()
    assert all(re.fullmatch(r"SYNF\d{2}", c) for c in codes)
    assert not any(ONS_CODE.match(c) for c in codes)
    assert not any(ONS_CODE.match(c) for c in pilots.force_codes(99))


def test_counts_are_consistent(panel: pd.DataFrame) -> None:
    assert (panel[["reports", "missing", "absent"]] >= 0).all().all()
    assert (panel["reports"] == panel["missing"] + panel["absent"]).all()
    # nothing is recorded as absent outside the pilot forces' pilot and post weeks
    untreated = (panel["pilot"] == 0) & (panel["post"] == 0)
    assert (panel.loc[untreated, "absent"] == 0).all()
    # heterogeneous force sizes: the largest force's mean is several times the smallest's
    sizes = panel.groupby("force_code")["expected"].mean()
    assert sizes.max() / sizes.min() > 3


def test_overdispersion(panel: pd.DataFrame) -> None:
    # Pearson dispersion of reports around the generator's expected value exceeds 1 (Poisson)
    pre = panel[panel["period"] == "pre"]
    pearson = ((pre["reports"] - pre["expected"]) ** 2 / pre["expected"]).mean()
    assert pearson > 2


def test_determinism() -> None:
    a = pilots.generate_panel(seed=7)
    b = pilots.generate_panel(seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    c = pilots.generate_panel(seed=8)
    assert not a["missing"].equals(c["missing"])


def test_planted_thinning_rate() -> None:
    # with rate_ratio r, the share of pilot-week reports recorded as missing is close to r
    panel = pilots.generate_panel(seed=3, rate_ratio=0.5)
    pilot = panel[panel["pilot"] == 1]
    share = pilot["missing"].sum() / pilot["reports"].sum()
    assert share == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    "override",
    [
        {"n_treated": 0},
        {"n_treated": 43},
        {"rate_ratio": 1.5},
        {"rate_ratio": 0.0},
        {"ar_rho": 1.0},
        {"n_forces": 100},
    ],
)
def test_bad_parameters(override: dict) -> None:
    with pytest.raises(ValueError):
        pilots.generate_panel(seed=1, **override)


def test_relative_month() -> None:
    # a "month" is 13/3 weeks: weeks 0-4 -> 0, 5-8 -> 1, 9-12 -> 2, 13 -> 3; -1 -> -1, -52 -> -12
    weeks = np.array([-52, -5, -4, -1, 0, 4, 5, 8, 9, 12, 13])
    expected = [-12, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert pilots.relative_month(weeks).tolist() == expected


def statsmodels_fit(data: pd.DataFrame, outcome: str, terms: list[str]):
    """The reference fit: statsmodels' Poisson GLM by formula, cluster-robust by force."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    data = data.reset_index(drop=True)
    groups = pd.factorize(data["force_code"], sort=True)[0]
    formula = f"{outcome} ~ C(force_code) + C(week) + {' + '.join(terms)}"
    model = smf.glm(formula, data=data, family=sm.families.Poisson())
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def assert_matches(ours: pilots.DidResult, reference, term: str) -> None:
    assert ours.beta == pytest.approx(reference.params[term], abs=1e-8)
    assert ours.se == pytest.approx(reference.bse[term], rel=1e-6)
    assert ours.p_value == pytest.approx(reference.pvalues[term], rel=1e-6, abs=1e-300)
    assert ours.n_obs == reference.nobs


@pytest.mark.parametrize("outcome", ["missing", "reports"])
def test_fit_did_matches_statsmodels(panel: pd.DataFrame, outcome: str) -> None:
    reference = statsmodels_fit(panel, outcome, ["pilot", "post"])
    fitted = pilots.fit_did(panel, outcome)
    for term in ("pilot", "post"):
        assert_matches(fitted[term], reference, term)
        assert fitted[term].rate_ratio == pytest.approx(np.exp(reference.params[term]))
        lower, upper = np.exp(reference.conf_int().loc[term])
        assert (fitted[term].lower, fitted[term].upper) == pytest.approx((lower, upper))


def test_fit_did_without_post_weeks() -> None:
    panel = pilots.generate_panel(seed=2, weeks_post=0)
    fitted = pilots.fit_did(panel)
    assert set(fitted) == {"pilot"}
    assert_matches(fitted["pilot"], statsmodels_fit(panel, "missing", ["pilot"]), "pilot")


def test_fit_did_on_an_unbalanced_panel(panel: pd.DataFrame) -> None:
    # a panel with cells missing at random (including pilot-force weeks) and shuffled rows
    rng = np.random.default_rng(11)
    part = panel[rng.random(len(panel)) > 0.1].sample(frac=1.0, random_state=3)
    fitted = pilots.fit_did(part)
    reference = statsmodels_fit(part, "missing", ["pilot", "post"])
    for term in ("pilot", "post"):
        assert_matches(fitted[term], reference, term)
    with pytest.raises(ValueError, match="one row per force and week"):
        pilots.fit_did(pd.concat([panel, panel.iloc[:1]]))


def test_event_study_matches_statsmodels(panel: pd.DataFrame) -> None:
    es = pilots.fit_event_study(panel).set_index("rel_month")
    data = panel.copy()
    names = {}
    for m in sorted(set(panel["rel_month"]) - {-1}):
        names[m] = f"m{m + 100}"
        data[names[m]] = (data["treated"] & (data["rel_month"] == m)).astype(int)
    reference = statsmodels_fit(data, "missing", list(names.values()))
    for m, name in names.items():
        assert es.loc[m, "beta"] == pytest.approx(reference.params[name], abs=1e-8)
        assert es.loc[m, "se"] == pytest.approx(reference.bse[name], rel=1e-6)
        lower, upper = np.exp(reference.conf_int().loc[name])
        assert (es.loc[m, "lower"], es.loc[m, "upper"]) == pytest.approx((lower, upper))


def test_placebo_draw_matches_statsmodels(panel: pd.DataFrame) -> None:
    # draw 0 refitted independently: its four forces labelled as pilots among the comparison forces
    placebo = pilots.placebo_estimates(panel, n_draws=3, seed=4)
    control = panel[~panel["treated"]].copy()
    fake = control["force_code"].isin(placebo.loc[0, "forces"].split(";"))
    control["pilot"] = (fake & (control["period"] == "pilot")).astype(int)
    control["post"] = (fake & (control["period"] == "post")).astype(int)
    reference = statsmodels_fit(control, "missing", ["pilot", "post"])
    assert placebo.loc[0, "beta"] == pytest.approx(reference.params["pilot"], abs=1e-8)
    assert placebo.loc[0, "se"] == pytest.approx(reference.bse["pilot"], rel=1e-6)
    assert placebo.loc[0, "beta_post"] == pytest.approx(reference.params["post"], abs=1e-8)


def test_coverage_simulation_matches_statsmodels() -> None:
    # each row is the DiD on generate_panel(seed), fitted here by statsmodels
    sim = pilots.coverage_simulation([3, 5], rate_ratio=0.7).set_index("seed")
    for seed in (3, 5):
        reference = statsmodels_fit(
            pilots.generate_panel(seed=seed, rate_ratio=0.7), "missing", ["pilot", "post"]
        )
        lower, upper = np.exp(reference.conf_int().loc["pilot"])
        assert sim.loc[seed, "rate_ratio"] == pytest.approx(np.exp(reference.params["pilot"]))
        assert sim.loc[seed, "se"] == pytest.approx(reference.bse["pilot"], rel=1e-6)
        assert (sim.loc[seed, "lower"], sim.loc[seed, "upper"]) == pytest.approx((lower, upper))
        assert sim.loc[seed, "covers"] == (lower <= 0.7 <= upper)


def test_coverage_placebo_columns_follow_placebo_interval() -> None:
    sim = pilots.coverage_simulation([2], n_placebo=6).iloc[0]
    panel = pilots.generate_panel(seed=2)
    placebo = pilots.placebo_estimates(panel, 6, seed=2)
    # the placebo interval by hand: beta_hat minus the 97.5% and 2.5% placebo quantiles
    lo_q, hi_q = np.quantile(placebo["beta"], [0.025, 0.975])
    beta = np.log(sim["rate_ratio"])
    assert (sim["placebo_lower"], sim["placebo_upper"]) == pytest.approx(
        (np.exp(beta - hi_q), np.exp(beta - lo_q))
    )
    assert sim["placebo_covers"] == (sim["placebo_lower"] <= 0.6 <= sim["placebo_upper"])


def test_event_study_structure(panel: pd.DataFrame) -> None:
    es = pilots.fit_event_study(panel)
    assert es["rel_month"].tolist() == list(range(-12, 6))
    ref = es[es["reference"]]
    assert ref["rel_month"].tolist() == [-1]
    assert ref[["rate_ratio", "lower", "upper"]].to_numpy().tolist() == [[1.0, 1.0, 1.0]]
    assert (es["lower"] <= es["rate_ratio"]).all() and (es["rate_ratio"] <= es["upper"]).all()
    with pytest.raises(ValueError, match="reference month"):
        pilots.fit_event_study(panel, reference=40)


def test_placebo_excludes_real_pilots(panel: pd.DataFrame) -> None:
    placebo = pilots.placebo_estimates(panel, n_draws=20, seed=1)
    real = set(panel.attrs["treated_forces"])
    for forces in placebo["forces"]:
        chosen = forces.split(";")
        assert len(chosen) == 4 and not real & set(chosen)
    # the same seed gives the same draws
    again = pilots.placebo_estimates(panel, n_draws=20, seed=1)
    pd.testing.assert_frame_equal(placebo, again)


@pytest.mark.skipif(
    not (paths.DATA_SYNTHETIC / pilots.PANEL_FILE).exists(), reason="panel not committed"
)
def test_committed_panel_matches_generator(panel: pd.DataFrame) -> None:
    path = paths.DATA_SYNTHETIC / pilots.PANEL_FILE
    params = json.loads((paths.DATA_SYNTHETIC / pilots.PARAMETERS_FILE).read_text("utf-8"))
    assert params["seed"] == pilots.DEFAULT_SEED and params["synthetic"] is True
    assert params["parameters"] == pilots.PilotParameters().to_dict()
    stored = pd.read_csv(path)
    assert stored["synthetic"].all()
    for column in ("force_code", "week", "reports", "missing", "absent", "pilot", "post"):
        assert stored[column].tolist() == panel[column].tolist(), column


def test_write_panel_is_byte_identical(tmp_path) -> None:
    first = pilots.write_panel(seed=5, out_dir=tmp_path / "a")
    second = pilots.write_panel(seed=5, out_dir=tmp_path / "b")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes()
