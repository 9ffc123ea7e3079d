"""Exact funnels for counts, rates and ratios, and Spiegelhalter's over-dispersion test.

Expectations come from outside the code under test:

* PHEindicatormethods' ratio-funnel test data (ukhsa-collaboration/PHEindicatormethods,
  ``tests/testthat/testdata_funnel_ratio_outputs.csv``; the O = 2 row is also transcribed in the
  project's methods notes): the expected counts at which each funnel line passes an observed
  count. PHE's values come from its own numerical search, good to about 1e-7 relative.
* Closed forms solved here, independently: the defining equations of the exact limits
  (``chi2.ppf(q; 2O + 2) / 2 = E`` and ``chi2.ppf(q; 2O) / 2 = E``) solved with scipy's
  ``brentq`` on ``chi2.ppf`` (the code under test inverts ``chi2.cdf`` in its degrees of
  freedom), Byar's formula written out, and the over-dispersion arithmetic by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.stats import chi2, norm

from analysis import stats

Z95 = 1.959963984540054
Z998 = 3.090232306167813

# PHEindicatormethods ratio-funnel test data: observed count O, then the expected count E at
# which the lower 95%, upper 95%, lower 99.8% and upper 99.8% lines pass through O.
PHE_RATIO_LINES = [
    (2, 7.224687515, 0.242209467, 11.22886836, 0.04540199),  # also in methods.md
    (10, 18.39035799, 4.795387629, 24.13397235, 2.960519925),
    (100, 121.6268111, 81.36400699, 134.9243187, 71.92139974),
]


def _closed_form_lower(e: float, c: float) -> float:
    """The O >= 0 with chi2.ppf(c + (1 - c) / 2; 2O + 2) / 2 = E, or 0 if none (brentq)."""
    q = c + (1 - c) / 2

    def f(o: float) -> float:
        return chi2.ppf(q, 2 * o + 2) / 2 - e

    if f(0.0) >= 0:
        return 0.0
    return optimize.brentq(f, 0.0, e + 50 * math.sqrt(e) + 50, xtol=1e-13, rtol=1e-15)


def _closed_form_upper(e: float, c: float) -> float:
    """The O with chi2.ppf((1 - c) / 2; 2O) / 2 = E (brentq)."""
    q = (1 - c) / 2
    return optimize.brentq(
        lambda o: chi2.ppf(q, 2 * o) / 2 - e, 1e-12, e + 50 * math.sqrt(e) + 50, xtol=1e-13
    )


@pytest.mark.parametrize(("o", "lo95", "hi95", "lo998", "hi998"), PHE_RATIO_LINES)
def test_exact_funnel_lines_match_phe_ratio_funnel_test_data(o, lo95, hi95, lo998, hi998):
    """Where does each of our lines pass through O? At PHE's expected counts, to 1e-6."""

    def e_where(line: str, level: float) -> float:
        def passes(e: float) -> float:
            iv = stats.count_funnel_limits(e, level)
            return (iv.lower if line == "lower" else iv.upper) - o

        return optimize.brentq(passes, 1e-6, 10 * o + 100, xtol=1e-14, rtol=1e-14)

    assert e_where("lower", 0.95) == pytest.approx(lo95, rel=1e-6)
    assert e_where("upper", 0.95) == pytest.approx(hi95, rel=1e-6)
    assert e_where("lower", 0.998) == pytest.approx(lo998, rel=1e-6)
    assert e_where("upper", 0.998) == pytest.approx(hi998, rel=1e-6)
    # and the ratio funnel at PHE's E: O / E on the line
    lo, _ = stats.ratio_funnel_limits(1.0, lo95, 0.95)
    assert lo * lo95 == pytest.approx(o, rel=1e-6)


@pytest.mark.parametrize("e", [0.01, 0.3, 1.0, 3.0, 3.7, 5.0, 10.0, 33.3, 250.0, 1e4, 2.5e6])
@pytest.mark.parametrize("c", [0.8, 0.95, 0.998])
def test_exact_count_limits_solve_the_closed_form(e, c):
    lo, hi = stats.count_funnel_limits(e, c)
    assert lo == pytest.approx(_closed_form_lower(e, c), rel=1e-6, abs=1e-9)
    assert hi == pytest.approx(_closed_form_upper(e, c), rel=1e-6)


def test_exact_lower_limit_is_zero_where_no_count_qualifies():
    # The exact upper limit of O = 0 at 95% is chi2.ppf(0.975; 2) / 2 = -ln(0.025) = 3.6889: at a
    # smaller E no O >= 0 has its upper limit at E, so the lower line is 0 there
    edge = -math.log(0.025)
    lo, _ = stats.count_funnel_limits([0.0, 1.0, edge - 1e-9, edge + 1e-3], 0.95)
    assert lo[:3].tolist() == [0.0, 0.0, 0.0]
    assert lo[3] > 0.0
    lo0, hi0 = stats.count_funnel_limits(0.0)
    assert (lo0, hi0) == (0.0, 0.0)
    with pytest.raises(ValueError, match="expected count must not be negative"):
        stats.count_funnel_limits(-1.0)


def test_rate_funnel_limits_exact_against_normal_at_ten_expected_events():
    # The example: at E = 10 the normal 99.8% upper limit is 10 + 3.0902 sqrt(10) = 19.77;
    # the exact one is the O whose exact lower limit is 10 (solved here), about 21.6
    exact = _closed_form_upper(10.0, 0.998)
    assert 21.55 < exact < 21.65
    lo, hi = stats.rate_funnel_limits(10.0, 10_000, 0.998)  # 10 per 10,000 x 10,000 people
    assert hi == pytest.approx(exact, rel=1e-6)
    assert lo == pytest.approx(_closed_form_lower(10.0, 0.998), rel=1e-6)
    normal = stats.rate_funnel_limits(10.0, 10_000, 0.998, method="normal")
    assert normal.upper == pytest.approx(10 + Z998 * math.sqrt(10), rel=1e-12)
    assert "normal approximation" in normal.method and "not PHE" in normal.method
    assert stats.rate_funnel_limits(10.0, 10_000).method == "exact Poisson (PHE)"
    with pytest.raises(ValueError, match='method="normal"'):
        stats.rate_funnel_limits(10.0, 10_000, phi=2.0)


def _own_interval(x: float, c: float) -> tuple[float, float]:
    """PHE's count interval written out: exact below 10 events, Byar's from 10."""
    if x < 10:
        lo = chi2.ppf((1 - c) / 2, 2 * x) / 2 if x > 0 else 0.0
        return lo, chi2.ppf(c + (1 - c) / 2, 2 * x + 2) / 2
    z = norm.ppf(c + (1 - c) / 2)
    lo = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    x1 = x + 1
    return lo, x1 * (1 - 1 / (9 * x1) + z / (3 * math.sqrt(x1))) ** 3


def _label(x: float, expected: float) -> str:
    """The highest level at which the own interval excludes the expected count."""
    for c, text in ((0.998, "99.8%"), (0.95, "95%")):
        lo, hi = _own_interval(x, c)
        if lo > expected:
            return f"high ({text})"
        if hi < expected:
            return f"low ({text})"
    return "not significant"


def test_rate_funnel_exact_by_hand():
    # Three areas of 10,000 with 45, 60 and 110 events: pooled 215 per 30,000 = 71.667 per
    # 10,000, so each area expects E = 71.667 events
    df = stats.rate_funnel([45, 60, 110], [10_000] * 3, labels=["A", "B", "C"])
    e = 215 / 3
    assert df.attrs["baseline"] == pytest.approx(e)
    assert df["lower_95"].iloc[0] == pytest.approx(_closed_form_lower(e, 0.95), rel=1e-6)
    assert df["upper_99_8"].iloc[0] == pytest.approx(_closed_form_upper(e, 0.998), rel=1e-6)
    assert df["significance"].tolist() == [_label(x, e) for x in (45, 60, 110)]
    assert df["significance"].tolist() == ["low (99.8%)", "not significant", "high (99.8%)"]
    assert df.attrs["limits"] == "exact"
    assert df.attrs["per"] == 10_000
    assert df.attrs["funnel_type"] == "rate"
    assert df.attrs["denominator"] == "population"
    assert (df["statistic"] == "rate per 10,000").all()
    assert "exact Poisson limits (PHE)" in df.attrs["method"]
    assert "own exact (below 10 events) or Byar's interval" in df.attrs["method"]


def test_rate_funnel_small_areas_use_their_own_exact_interval():
    # Baseline 5 per 10,000 given (e.g. England's rate). An area of 2,000 people expects 1 event.
    # With 6 events its exact 99.8% interval starts at chi2.ppf(0.001; 12) / 2 = 1.107 > 1: high
    # at 99.8%. With 5, the 99.8% interval starts at 0.739 but the 95% one at
    # chi2.ppf(0.025; 10) / 2 = 1.62: high at 95%. With 3 the 95% interval starts at 0.62: not
    # significant. With 0 the exact upper limit is -ln(0.025) = 3.69 > 1: not significant.
    x = [6, 5, 3, 0]
    df = stats.rate_funnel(x, [2_000] * 4, baseline=5.0)
    assert chi2.ppf(0.001, 12) / 2 > 1.0 > chi2.ppf(0.001, 10) / 2
    assert chi2.ppf(0.025, 10) / 2 > 1.0 > chi2.ppf(0.025, 6) / 2
    assert df["significance"].tolist() == [_label(v, 1.0) for v in x]
    assert df["significance"].tolist() == [
        "high (99.8%)",
        "high (95%)",
        "not significant",
        "not significant",
    ]
    # the normal approximation, named as such: 95% limits 5 +/- 1.96 sqrt(5 * 10,000 / 2,000)
    # = 5 +/- 9.8 -> (0, 14.8) per 10,000, so 3 events (15 per 10,000) is "high" there
    normal = stats.rate_funnel(x, [2_000] * 4, baseline=5.0, method="normal")
    assert "not PHE's exact method" in normal.attrs["method"]
    assert normal["upper_95"].iloc[0] == pytest.approx(5 + Z95 * math.sqrt(25), rel=1e-12)
    assert normal["lower_95"].iloc[0] == 0.0
    assert normal["significance"].iloc[2] == "high (95%)"


def test_ratio_funnel_by_hand():
    # Observed 10 and 30 against expected 10 and 20: pooled baseline 40 / 30 = 4/3. Area B
    # expects 4/3 * 20 = 26.67; Byar's 95% interval of 30 is (20.24, 42.83): not significant.
    df = stats.ratio_funnel([10, 30], [10.0, 20.0], labels=["A", "B"])
    assert df["ratio"].tolist() == [1.0, 1.5]
    assert df.attrs["baseline"] == pytest.approx(4 / 3)
    assert df.attrs["funnel_type"] == "ratio"
    assert df.attrs["denominator"] == "expected"
    assert (df["statistic"] == "ratio (observed / expected)").all()
    e_b = 4 / 3 * 20
    assert df["upper_95"].iloc[1] == pytest.approx(_closed_form_upper(e_b, 0.95) / 20, rel=1e-6)
    assert df["significance"].tolist() == [_label(10, 4 / 3 * 10), _label(30, e_b)]
    # against an external standard (baseline 1): B expects 20, and 30 is still inside
    ext = stats.ratio_funnel([10, 30], [10.0, 20.0], baseline=1.0)
    assert ext["lower_99_8"].iloc[1] == pytest.approx(_closed_form_lower(20.0, 0.998) / 20)


def test_rate_funnel_overdispersion_hand_example():
    # Ten areas of 10,000 with counts 100 + d, d = -30, -20, -10, -10, 0, 0, 10, 10, 20, 30:
    # pooled rate 100 per 10,000 (0.01 per head), s = sqrt(100 * 10,000 / 10,000) = 10 per
    # 10,000, z = d / 10; winsorised d (10th/90th percentiles, linear): -21, -20, -10, -10, 0,
    # 0, 10, 10, 20, 21 -> sum d^2 = 2082, sum z^2 = 20.82, phi = 2.082. I phi = 20.82 on 9 df:
    # p = 0.0135, so the test rejects at 0.05. tau2 = (20.82 - 9) * 100 / 9 = 131.33.
    d = [-30, -20, -10, -10, 0, 0, 10, 10, 20, 30]
    x = [100 + v for v in d]
    df = stats.rate_funnel(x, [10_000] * 10, overdispersion="multiplicative")
    assert df.attrs["phi"] == pytest.approx(2.082, rel=1e-12)
    assert df.attrs["overdispersion_statistic"] == pytest.approx(20.82, rel=1e-12)
    assert df.attrs["overdispersion_df"] == 9
    assert df.attrs["overdispersion_p_value"] == pytest.approx(chi2.sf(20.82, 9), rel=1e-12)
    assert 0.01 < df.attrs["overdispersion_p_value"] < 0.05
    assert df.attrs["tau2"] == pytest.approx((20.82 - 9) * 100 / 9, rel=1e-12)
    assert df.attrs["overdispersion"] == "multiplicative"
    assert df["upper_95"].iloc[0] == pytest.approx(100 + Z95 * math.sqrt(2.082 * 100), rel=1e-12)
    add = stats.rate_funnel(x, [10_000] * 10, overdispersion="additive")
    assert add["upper_95"].iloc[0] == pytest.approx(
        100 + Z95 * math.sqrt(100 + (20.82 - 9) * 100 / 9), rel=1e-12
    )
    # significance follows the adjusted limits: 95% half-width 1.96 sqrt(231.33) = 29.81, so 70
    # and 130 per 10,000 are just outside, and nothing is outside the 99.8% limits (+/- 47.0)
    assert add["significance"].tolist() == ["low (95%)"] + ["not significant"] * 8 + ["high (95%)"]


def test_overdispersion_test_unequal_weights_by_hand():
    # Three areas, baseline 0, s = 1, 1, 2 (w = 1, 1, 0.25), values 2, -2, 4: z = 2, -2, 2.
    # No winsorising: phi = (4 + 4 + 4) / 3 = 4, I phi = 12 on 2 df, p = exp(-6).
    # sum w = 2.25, sum w^2 = 2.0625, sum w - sum w^2 / sum w = 2.25 - 0.916667 = 1.333333
    # tau2 = (12 - 2) / 1.333333 = 7.5
    t = stats.overdispersion_test([2, -2, 4], 0.0, [1, 1, 2], trim=0.0)
    assert t.phi == pytest.approx(4.0)
    assert t.statistic == pytest.approx(12.0)
    assert t.df == 2
    assert t.p_value == pytest.approx(math.exp(-6), rel=1e-12)
    assert t.tau2 == pytest.approx(7.5, rel=1e-12)
    assert t.rejects(0.05) and not t.rejects(0.001)
    # no more spread than chance: tau2 is 0, not negative
    calm = stats.overdispersion_test([0.1, -0.1, 0.0], 0.0, [1, 1, 2], trim=0.0)
    assert calm.tau2 == 0.0
    one = stats.overdispersion_test([1.0], 0.0, [1.0])
    assert math.isnan(one.p_value) and not one.rejects()
    with pytest.raises(ValueError, match="standard error must be positive"):
        stats.overdispersion_test([1, 2], 0.0, [1, 0])
    with pytest.raises(ValueError, match="trim"):
        stats.overdispersion_test([1, 2], 0.0, 1.0, trim=0.5)


@pytest.mark.parametrize(
    ("funnel", "kwargs"),
    [
        (stats.proportion_funnel, {"x": [10, 30, 45, 12], "n": [100, 100, 100, 40]}),
        (stats.rate_funnel, {"x": [5, 30, 45, 120], "population": [900, 10_000, 8_000, 12_000]}),
        (stats.ratio_funnel, {"observed": [3, 30, 45, 12], "expected": [5.0, 20.0, 40.0, 12.0]}),
    ],
)
@pytest.mark.parametrize("adjustment", ["none", "multiplicative", "additive"])
def test_funnel_lines_redraw_the_table_limits(funnel, kwargs, adjustment):
    df = funnel(**kwargs, overdispersion=adjustment, force_adjustment=True)
    denominator = df[df.attrs["denominator"]].to_numpy()
    for level in df.attrs["levels"]:
        lo, hi = stats.funnel_lines(df, denominator, level)
        sfx = stats.level_suffix(level)
        np.testing.assert_allclose(lo, df[f"lower_{sfx}"], rtol=1e-12, atol=0)
        np.testing.assert_allclose(hi, df[f"upper_{sfx}"], rtol=1e-12, atol=0)
    for key in ("method", "phi", "tau2", "overdispersion_p_value", "overdispersion"):
        assert key in df.attrs
    with pytest.raises(ValueError, match="not a funnel table"):
        stats.funnel_lines(pd.DataFrame({"a": [1]}), [1.0], 0.95)


def test_rounded_share_interval_carries_the_rounding():
    # 29% of 498: 0.285 * 498 = 141.93 and 0.295 * 498 = 146.91, so 142 to 146 children
    assert all(round(100 * k / 498) == 29 for k in range(142, 147))
    assert round(100 * 141 / 498) != 29 and round(100 * 147 / 498) != 29
    assert stats.counts_consistent_with_share(0.29, 498) == (142, 146)
    # three decimals of the fraction: 29.3% of 498 is 145.67 to 146.16 -> only 146
    assert stats.counts_consistent_with_share(0.293, 498, decimals=3) == (146, 146)
    res = stats.rounded_share_interval(0.29, 498)
    lo142 = _wilson(142, 498, Z95)[0]
    hi146 = _wilson(146, 498, Z95)[1]
    assert res.lower == pytest.approx(lo142, rel=1e-12)
    assert res.upper == pytest.approx(hi146, rel=1e-12)
    assert res.details["x_min"] == 142 and res.details["x_max"] == 146
    assert "rounds to 29%" in res.method
    # wider than the interval of the derived count 0.29 * 498 alone
    lo_d, hi_d = res.details["wilson_at_stated"]
    assert res.lower < lo_d < hi_d < res.upper


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    centre = 2 * x + z**2
    spread = z * math.sqrt(z**2 + 4 * x * (1 - x / n))
    return (centre - spread) / (2 * (n + z**2)), (centre + spread) / (2 * (n + z**2))
