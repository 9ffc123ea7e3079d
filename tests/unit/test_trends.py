"""The rate-trend model against an independent fit of the same Poisson likelihood.

The counts are the published CINCSE2018-CINCSE2025 values (DfE, children in need census table
C3: assessments with child sexual exploitation as a factor, years to March 2018-2025) and the
exposures are the ONS mid-year estimates of children aged 0-17 for the previous year
(POP0017_2017-POP0017_2024), written here by hand from data/published/.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from analysis import trends

YEARS = np.arange(2018, 2026, dtype=float)
CSE = np.array([20000, 18720, 18700, 16830, 16330, 15020, 13860, 12400], dtype=float)
POP_PREVIOUS_MID_YEAR = np.array(
    [11716740, 11755593, 11790492, 11787794, 11762878, 11901267, 12059476, 12183016], dtype=float
)


def _independent_poisson_fit(y, e, t, centre):
    """Maximise the Poisson log-likelihood directly; Wald CI from the analytic Fisher information."""
    x = np.column_stack([np.ones_like(t), t - centre])
    offset = np.log(e)

    scale = y.sum()  # the log-likelihood divided by the total count, for a well-scaled optimiser

    def negloglik(beta):
        eta = offset + x @ beta
        return float(np.sum(np.exp(eta) - y * eta)) / scale

    def gradient(beta):
        mu = np.exp(offset + x @ beta)
        return x.T @ (mu - y) / scale

    def hessian(beta):
        mu = np.exp(offset + x @ beta)
        return (x * mu[:, None]).T @ x / scale

    start = np.array([math.log(y.sum() / e.sum()), 0.0])
    res = optimize.minimize(
        negloglik, start, jac=gradient, hess=hessian, method="trust-exact", options={"gtol": 1e-9}
    )
    # at this scale trust-exact may stop with "bad approximation" once the step is below
    # rounding noise; what matters is that the score is zero at the answer
    assert np.max(np.abs(gradient(res.x))) < 1e-8, res
    beta = res.x
    mu = np.exp(offset + x @ beta)
    fisher = (x * mu[:, None]).T @ x  # sum_i mu_i x_i x_i^T
    cov = np.linalg.inv(fisher)
    se = math.sqrt(cov[1, 1])
    z = stats.norm.ppf(0.975)
    pearson = float(np.sum((y - mu) ** 2 / mu) / (len(y) - 2))
    return beta, se, z, pearson


def test_poisson_rate_ratio_and_ci_match_direct_likelihood_maximisation():
    beta, se, z, _ = _independent_poisson_fit(CSE, POP_PREVIOUS_MID_YEAR, YEARS, YEARS.mean())
    fit = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS)
    assert fit.method == "poisson" and fit.level == 0.95 and fit.n == 8
    assert fit.rate_ratio == pytest.approx(math.exp(beta[1]), rel=1e-5)
    assert fit.ci_low == pytest.approx(math.exp(beta[1] - z * se), rel=1e-5)
    assert fit.ci_high == pytest.approx(math.exp(beta[1] + z * se), rel=1e-5)
    # the intercept is the log rate per child at the centre year
    assert fit.intercept == pytest.approx(beta[0], rel=1e-5)


def test_rates_fall_in_every_reading():
    """Hand check of direction: 12,400/12.18m is below 20,000/11.72m, so the ratio is below 1."""
    assert 12400 / 12183016 < 20000 / 11716740
    for method in trends.METHODS:
        fit = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, method=method)
        assert fit.ci_low < fit.rate_ratio < fit.ci_high < 1, method


def test_quasipoisson_scales_the_interval_by_the_pearson_dispersion():
    beta, se, z, pearson = _independent_poisson_fit(CSE, POP_PREVIOUS_MID_YEAR, YEARS, YEARS.mean())
    fit = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, method="quasipoisson")
    assert fit.dispersion == pytest.approx(pearson, rel=1e-5)
    assert fit.rate_ratio == pytest.approx(math.exp(beta[1]), rel=1e-5)
    assert fit.ci_high == pytest.approx(math.exp(beta[1] + z * se * math.sqrt(pearson)), rel=1e-5)


def test_centre_changes_only_the_intercept():
    a = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS)
    b = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, centre=2018)
    assert b.rate_ratio == pytest.approx(a.rate_ratio, rel=1e-9)
    # fitted rate for 2018 is the same whatever the centre
    assert b.rate([2018])[0] == pytest.approx(a.rate([2018])[0], rel=1e-7)


def test_level_widens_the_interval():
    narrow = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, level=0.8)
    wide = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, level=0.99)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"counts": [1, 2], "exposure": [10, 10], "years": [1, 2]}, "at least 3"),
        ({"counts": [1, 2, 3], "exposure": [10, 10], "years": [1, 2, 3]}, "equal length"),
        ({"counts": [1, 2.5, 3], "exposure": [10] * 3, "years": [1, 2, 3]}, "whole numbers"),
        ({"counts": [1, 2, 3], "exposure": [10, 0, 10], "years": [1, 2, 3]}, "positive"),
        ({"counts": [1, 2, 3], "exposure": [10] * 3, "years": [1, 1, 1]}, "all be equal"),
        (
            {"counts": [1, 2, 3], "exposure": [10] * 3, "years": [1, 2, 3], "method": "ols"},
            "method",
        ),
        ({"counts": [1, 2, 3], "exposure": [10] * 3, "years": [1, 2, 3], "level": 95}, "level"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trends.fit_rate_trend(**kwargs)


def test_notebook_08_trend_table_matches_the_independent_fit():
    """The CSE rate ratio reported by notebook 08 (skips if figures/ has not been built)."""
    import pandas as pd

    from analysis import paths

    path = paths.PROJECT_ROOT / "figures" / "tables" / "08_assessment_trends.csv"
    if not path.exists():
        pytest.skip("figures/ not built: run `make figures`")
    table = pd.read_csv(path).set_index(["factor", "method"])
    beta, se, z, pearson = _independent_poisson_fit(CSE, POP_PREVIOUS_MID_YEAR, YEARS, YEARS.mean())
    row = table.loc[("child sexual exploitation", "quasipoisson")]
    assert row["rate_ratio_per_year"] == pytest.approx(math.exp(beta[1]), rel=1e-5)
    assert row["ci_low"] == pytest.approx(math.exp(beta[1] - z * se * math.sqrt(pearson)), rel=1e-5)
    assert row["ci_high"] == pytest.approx(
        math.exp(beta[1] + z * se * math.sqrt(pearson)), rel=1e-5
    )
