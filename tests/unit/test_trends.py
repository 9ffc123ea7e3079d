"""The rate-trend model against an independent fit of the same Poisson likelihood.

The counts are the published CINCSE2018-CINCSE2025 values (DfE, children in need census table
C3: assessments with child sexual exploitation as a factor, years to March 2018-2025) and the
exposures are the ONS mid-year estimates of children aged 0-17 for the previous year
(POP0017_2017-POP0017_2024), written here by hand from data/published/. The negative binomial
fit is checked against a direct maximisation of the NB2 likelihood written out here, on
gamma-Poisson counts drawn with a fixed seed.
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


def test_quasipoisson_uses_t_on_n_minus_2_df_and_the_pearson_dispersion():
    beta, se, _, pearson = _independent_poisson_fit(CSE, POP_PREVIOUS_MID_YEAR, YEARS, YEARS.mean())
    assert pearson > 1  # national counts scatter far more than Poisson noise
    t6 = stats.t.ppf(0.975, 6)  # 8 years, 2 parameters
    fit = trends.fit_rate_trend(CSE, POP_PREVIOUS_MID_YEAR, YEARS, method="quasipoisson")
    assert (fit.distribution, fit.df) == ("t", 6)
    assert fit.critical_value == pytest.approx(t6, rel=1e-12)
    assert fit.dispersion == pytest.approx(pearson, rel=1e-5)
    assert fit.scale == pytest.approx(pearson, rel=1e-5)
    assert fit.rate_ratio == pytest.approx(math.exp(beta[1]), rel=1e-5)
    assert fit.ci_low == pytest.approx(math.exp(beta[1] - t6 * se * math.sqrt(pearson)), rel=1e-5)
    assert fit.ci_high == pytest.approx(math.exp(beta[1] + t6 * se * math.sqrt(pearson)), rel=1e-5)


# Four yearly points, as child criminal exploitation has (2022-2025): counts chosen by hand to
# scatter around a rising line, exposure constant.
FOUR_YEARS = np.array([2022.0, 2023.0, 2024.0, 2025.0])
FOUR_COUNTS = np.array([1000.0, 1180.0, 1290.0, 1560.0])
FOUR_EXPOSURE = np.full(4, 1e6)


def test_four_points_use_t_on_two_df():
    # t on 2 df at 95% is 4.3027 (closed form: t_2 quantile = (2p - 1) sqrt(2 / (1 - (2p-1)^2))
    # at p = 0.975, i.e. 0.95 * sqrt(2 / (1 - 0.9025)) = 4.30265)
    t2 = 0.95 * math.sqrt(2 / (1 - 0.95**2))
    assert t2 == pytest.approx(4.30265, rel=1e-5)
    beta, se, z, pearson = _independent_poisson_fit(
        FOUR_COUNTS, FOUR_EXPOSURE, FOUR_YEARS, FOUR_YEARS.mean()
    )
    fit = trends.fit_rate_trend(FOUR_COUNTS, FOUR_EXPOSURE, FOUR_YEARS, method="quasipoisson")
    assert fit.df == 2 and fit.critical_value == pytest.approx(t2, rel=1e-9)
    scale = max(pearson, 1.0)
    assert fit.ci_low == pytest.approx(math.exp(beta[1] - t2 * se * math.sqrt(scale)), rel=1e-5)
    assert fit.ci_high == pytest.approx(math.exp(beta[1] + t2 * se * math.sqrt(scale)), rel=1e-5)
    # the z interval of the same fit is much narrower
    z_half = z * se * math.sqrt(scale)
    assert math.log(fit.ci_high / fit.ci_low) == pytest.approx(2 * t2 / z * z_half, rel=1e-5)


def test_quasipoisson_dispersion_is_floored_at_one():
    # Counts almost exactly on a log-linear line (100 * 1.1^t rounded): Pearson X^2 / (n - 2) is
    # far below 1, and the interval must not be narrower than the Poisson one widened to t
    years = np.arange(6, dtype=float)
    counts = np.round(1000 * 1.1**years)
    exposure = np.full(6, 1e5)
    beta, se, _, pearson = _independent_poisson_fit(counts, exposure, years, years.mean())
    assert pearson < 0.05
    fit = trends.fit_rate_trend(counts, exposure, years, method="quasipoisson")
    assert fit.scale == 1.0 and fit.dispersion == pytest.approx(pearson, rel=1e-4)
    t4 = stats.t.ppf(0.975, 4)
    assert fit.ci_high == pytest.approx(math.exp(beta[1] + t4 * se), rel=1e-5)
    poisson = trends.fit_rate_trend(counts, exposure, years)
    assert poisson.distribution == "z" and poisson.df is None
    assert fit.ci_high > poisson.ci_high and fit.ci_low < poisson.ci_low


def _independent_negbin_fit(y, e, t, centre):
    """NB2 by direct maximisation of its log-likelihood, SEs from a numerical Hessian.

    log f(y) = lgamma(y + 1/a) - lgamma(1/a) - lgamma(y + 1) + (1/a) log(1 / (1 + a mu))
               + y log(a mu / (1 + a mu)),  mu = e exp(b0 + b1 (t - centre)),
    with a = exp(log_a) so the search is unconstrained.
    """
    from scipy.special import gammaln

    x = np.column_stack([np.ones_like(t), t - centre])

    def negloglik(theta):
        b, log_a = theta[:2], theta[2]
        a = math.exp(log_a)
        mu = e * np.exp(x @ b)
        r = 1 / a
        ll = (
            gammaln(y + r)
            - gammaln(r)
            - gammaln(y + 1)
            + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )
        return -float(ll.sum())

    start = np.array([math.log(y.sum() / e.sum()), 0.0, math.log(0.01)])
    res = optimize.minimize(
        negloglik,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    res = optimize.minimize(negloglik, res.x, method="BFGS", options={"gtol": 1e-9})
    theta = res.x
    # numerical Hessian in (b0, b1, a) by central differences, for the Wald SEs
    a_hat = math.exp(theta[2])

    def nll_a(p):
        return negloglik(np.array([p[0], p[1], math.log(p[2])]))

    p0 = np.array([theta[0], theta[1], a_hat])
    h = np.array([1e-4, 1e-5, a_hat * 1e-3])
    hess = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            hess[i, j] = (
                nll_a(p0 + ei + ej)
                - nll_a(p0 + ei - ej)
                - nll_a(p0 - ei + ej)
                + nll_a(p0 - ei - ej)
            ) / (4 * h[i] * h[j])
    cov = np.linalg.inv(hess)
    return theta[:2], a_hat, math.sqrt(cov[1, 1])


def test_negative_binomial_matches_an_independent_fit():
    # Over-dispersed counts, made here: gamma-Poisson with a known seed (shape 20, so the NB2
    # alpha is about 1/20), exposure varying, ten years of a 3% yearly fall
    rng = np.random.default_rng(2012)
    years = np.arange(2010, 2020, dtype=float)
    exposure = np.linspace(0.9e6, 1.1e6, 10)
    mu = exposure * 2e-3 * 0.97 ** (years - 2010)
    counts = rng.poisson(mu * rng.gamma(20.0, 1 / 20.0, size=10)).astype(float)
    b, alpha, se_b1 = _independent_negbin_fit(counts, exposure, years, years.mean())
    fit = trends.fit_rate_trend(counts, exposure, years, method="negbin")
    assert fit.slope == pytest.approx(b[1], rel=1e-4, abs=1e-6)
    assert fit.intercept == pytest.approx(b[0], rel=1e-5)
    assert fit.dispersion == pytest.approx(alpha, rel=1e-3)
    assert fit.se_slope == pytest.approx(se_b1, rel=1e-3)
    z = stats.norm.ppf(0.975)
    assert fit.ci_high == pytest.approx(math.exp(fit.slope + z * fit.se_slope), rel=1e-12)


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
    beta, se, _, pearson = _independent_poisson_fit(CSE, POP_PREVIOUS_MID_YEAR, YEARS, YEARS.mean())
    t6 = stats.t.ppf(0.975, 6)
    half = t6 * se * math.sqrt(max(pearson, 1.0))
    row = table.loc[("child sexual exploitation", "quasipoisson")]
    assert row["rate_ratio_per_year"] == pytest.approx(math.exp(beta[1]), rel=1e-5)
    assert row["ci_low"] == pytest.approx(math.exp(beta[1] - half), rel=1e-5)
    assert row["ci_high"] == pytest.approx(math.exp(beta[1] + half), rel=1e-5)


def test_notebook_08_criminal_exploitation_interval_uses_t_on_two_df():
    """Four yearly points: notebook 08's quasi-Poisson interval is t on 2 df, not z."""
    import pandas as pd

    from analysis import paths

    path = paths.PROJECT_ROOT / "figures" / "tables" / "08_assessment_trends.csv"
    if not path.exists():
        pytest.skip("figures/ not built: run `make figures`")
    row = (
        pd.read_csv(path)
        .set_index(["factor", "method"])
        .loc[("child criminal exploitation", "quasipoisson")]
    )
    assert row["n_years"] == 4 and row["interval"] == "t" and row["df"] == 2
    # t on 2 df at 95%, in closed form: 0.95 * sqrt(2 / (1 - 0.95^2))
    assert row["critical_value"] == pytest.approx(0.95 * math.sqrt(2 / (1 - 0.95**2)), rel=1e-6)
    assert row["dispersion_used"] >= 1
    assert row["ci_low"] < row["rate_ratio_per_year"] < row["ci_high"]


def test_a_converged_fit_passes_and_a_stopped_one_is_refused():
    from statsmodels.discrete.discrete_model import NegativeBinomial

    rng = np.random.default_rng(6)
    exposure = rng.uniform(1_000, 5_000, 300)
    mu = exposure / 100
    y = rng.negative_binomial(1 / 0.3, 1 / (1 + 0.3 * mu)).astype(float)  # alpha = 0.3
    model = NegativeBinomial(y, np.ones((300, 1)), offset=np.log(exposure))
    fit = model.fit(disp=0, maxiter=200)
    trends.check_converged(fit, "the over-dispersed model")  # converged: no error
    assert 0.2 < fit.params[-1] < 0.4
    with pytest.warns(Warning):
        stopped = model.fit(disp=0, maxiter=1)
    with pytest.raises(trends.ModelFitError, match="over-dispersed model did not converge"):
        trends.check_converged(stopped, "the over-dispersed model")


@pytest.mark.parametrize("as_series", [True, False])
def test_a_stopped_fit_at_alpha_near_zero_names_the_poisson_boundary(as_series):
    # a model given arrays has ndarray params; its names are the model's exog_names
    from types import SimpleNamespace

    import pandas as pd

    names = ["const", "x", "alpha"]
    values = np.array([0.5, 0.1, 2e-6])
    result = SimpleNamespace(
        mle_retvals={"converged": False},
        model=SimpleNamespace(exog_names=names),
        params=pd.Series(values, index=names) if as_series else values,
    )
    with pytest.raises(trends.ModelFitError, match="alpha ran to 2e-06.*Poisson"):
        trends.check_converged(result, "the fake model")
