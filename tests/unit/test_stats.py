"""Unit tests for :mod:`analysis.stats` against independent reference values.

Expected numbers never come from running the code under test. The reference vectors are
PHEindicatormethods test data (ukhsa-collaboration/PHEindicatormethods), as transcribed in the
project's methods notes; the hand-made examples are worked out in the comments beside them.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from analysis import stats

Z95 = 1.959963984540054  # Phi^-1(0.975)
Z998 = 3.090232306167813  # Phi^-1(0.999)


def approx_digits(value: float, decimals: int) -> object:
    """pytest.approx with an absolute tolerance of half the last printed digit."""
    return pytest.approx(value, abs=0.5 * 10.0**-decimals)


# --------------------------------------------------------------------------------------------
# Reference values: PHEindicatormethods test data (ukhsa-collaboration/PHEindicatormethods),
# as transcribed in the project's methods notes.
# --------------------------------------------------------------------------------------------

# x, n, confidence, lower, upper (12 decimals)
WILSON_REFERENCE = [
    (65, 100, 0.95, 0.552544432969, 0.736357517569),
    (1045, 5000, 0.95, 0.197955498800, 0.220491303732),
    (65, 100, 0.998, 0.495494657407, 0.778354061409),
    (1045, 5000, 0.998, 0.191793817990, 0.227315629025),
]

# x, n, lower95, upper95, lower99.8, upper99.8 (10 decimals)
PROPORTION_REFERENCE = [
    (1, 100, 0.0017674321, 0.0544861962, 0.0008730657, 0.1045544528),
    (5, 100, 0.0215436792, 0.1117504692, 0.0138653207, 0.1645885228),
    (20, 100, 0.1333669333, 0.2888291656, 0.1051916207, 0.3471109417),
    (222, 3215, 0.0607916904, 0.0783395668, 0.0564710196, 0.0841841419),
]

# x, population, method, lower95, upper95, lower99.8, upper99.8 (rates per 100, 10 decimals)
RATE_REFERENCE = [
    (1, 100, "exact", 0.0253178080, 5.5716433909, 0.0010005003, 9.2334134765),
    (20, 100, "byar", 12.2114288349, 30.8898803692, 8.9228023651, 38.0850356250),
    (65, 100, "byar", 50.1631877105, 82.8491385459, 42.8802614715, 94.0002908443),
]

# Proportion funnel, pooled baseline 80.642448%: n, lower95, upper95, lower99.8, upper99.8 (in %,
# 6 decimals). The baseline is itself rounded to 6 decimals (in %) and the limits move one for one
# with it, so the tolerance is half a digit for the limit plus half a digit for the baseline.
FUNNEL_BASELINE = 0.80642448
FUNNEL_TOLERANCE = 0.5e-6 + 0.5e-6  # in percentage points
FUNNEL_REFERENCE = [
    (598, 77.475765, 83.809131, 75.649608, 85.635287),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize(("x", "n", "conf", "lower", "upper"), WILSON_REFERENCE)
def test_wilson_matches_phe_reference(x, n, conf, lower, upper):
    lo, hi = stats.wilson_interval(x, n, confidence=conf)
    assert lo == approx_digits(lower, 12)
    assert hi == approx_digits(upper, 12)


@pytest.mark.parametrize(("x", "n", "lo95", "hi95", "lo998", "hi998"), PROPORTION_REFERENCE)
def test_proportion_intervals_match_phe_reference(x, n, lo95, hi95, lo998, hi998):
    assert stats.wilson_interval(x, n, 0.95) == (approx_digits(lo95, 10), approx_digits(hi95, 10))
    assert stats.wilson_interval(x, n, 0.998) == (
        approx_digits(lo998, 10),
        approx_digits(hi998, 10),
    )


def test_wilson_vectorised_over_arrays():
    x = np.array([r[0] for r in PROPORTION_REFERENCE])
    n = np.array([r[1] for r in PROPORTION_REFERENCE])
    lo, hi = stats.wilson_interval(x, n)
    assert isinstance(lo, np.ndarray)
    assert lo.shape == (4,)
    np.testing.assert_allclose(lo, [r[2] for r in PROPORTION_REFERENCE], atol=5e-11, rtol=0)
    np.testing.assert_allclose(hi, [r[3] for r in PROPORTION_REFERENCE], atol=5e-11, rtol=0)


def test_wilson_series_in_series_out_with_same_index():
    idx = pd.Index(["E06000001", "E06000002", "E06000003"], name="area")
    x = pd.Series([1, 5, 20], index=idx)
    lo, hi = stats.wilson_interval(x, 100, confidence=0.998)
    assert isinstance(lo, pd.Series)
    assert isinstance(hi, pd.Series)
    assert lo.index.equals(idx)
    assert hi.index.equals(idx)
    assert hi["E06000003"] == approx_digits(0.3471109417, 10)
    assert lo.attrs == {"method": "wilson", "confidence": 0.998}


def test_wilson_both_series_must_share_index():
    x = pd.Series([1, 2], index=["a", "b"])
    n = pd.Series([10, 10], index=["b", "c"])
    with pytest.raises(ValueError, match="different indexes"):
        stats.wilson_interval(x, n)


def test_wilson_scalar_returns_floats_and_records_method():
    iv = stats.wilson_interval(65, 100)
    assert type(iv.lower) is float
    assert type(iv.upper) is float
    assert iv.method == "wilson"
    assert iv.confidence == 0.95
    assert len(iv) == 2
    assert pickle.loads(pickle.dumps(iv)).method == "wilson"


def test_wilson_edge_cases_are_clipped():
    lo, hi = stats.wilson_interval(0, 20)
    assert lo == 0.0  # exactly, not ~3e-17
    assert hi == approx_digits(0.1611251581, 10)
    lo, hi = stats.wilson_interval(20, 20)
    assert lo == approx_digits(0.8388748419, 10)
    assert hi == 1.0


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.998])
def test_wilson_limits_exactly_0_and_1_at_the_extremes(confidence):
    # By the formula, x = 0 gives centre - spread = z^2 - z * z = 0 exactly, and x = n gives an
    # upper limit of exactly 1; floating point in statsmodels leaves ~1e-17 for some n.
    n = np.arange(1, 200)
    lo, _ = stats.wilson_interval(np.zeros_like(n), n, confidence)
    _, hi = stats.wilson_interval(n, n, confidence)
    assert (lo == 0.0).all()
    assert (hi == 1.0).all()


def test_wilson_accepts_whole_number_floats():
    assert stats.wilson_interval(65.0, 100.0) == stats.wilson_interval(65, 100)


@pytest.mark.parametrize(("x", "pop", "method", "lo95", "hi95", "lo998", "hi998"), RATE_REFERENCE)
def test_rate_interval_matches_phe_reference(x, pop, method, lo95, hi95, lo998, hi998):
    for conf, lo, hi in ((0.95, lo95, hi95), (0.998, lo998, hi998)):
        df = stats.rate_interval(x, pop, confidence=conf, per=100)
        row = df.iloc[0]
        assert row["rate"] == pytest.approx(x / pop * 100)
        assert row["lower"] == approx_digits(lo, 10)
        assert row["upper"] == approx_digits(hi, 10)
        assert row["method"] == method
        assert row["confidence"] == conf
        assert row["per"] == 100


def test_rate_interval_columns_and_series_index():
    x = pd.Series([1, 20, 65], index=["A", "B", "C"])
    df = stats.rate_interval(x, 100, per=100)
    assert list(df.columns) == [
        "x",
        "population",
        "rate",
        "lower",
        "upper",
        "per",
        "method",
        "confidence",
    ]
    assert list(df.index) == ["A", "B", "C"]
    assert df["method"].tolist() == ["exact", "byar", "byar"]
    assert df.attrs["method"] == "exact below 10 events, byar from 10"
    assert df.attrs["per"] == 100


def test_rate_interval_default_per_10000():
    # 20 events in 100 people: 2,000 per 10,000; the count interval (Byar) scaled by 10000/100
    df = stats.rate_interval(20, 100)
    assert df["rate"].iloc[0] == pytest.approx(2000)
    assert df["lower"].iloc[0] == approx_digits(1221.14288349, 8)


def test_poisson_switches_at_ten_events():
    assert stats.poisson_interval(9).method == "exact"
    assert stats.poisson_interval(10).method == "byar"
    assert stats.poisson_interval(np.array([9, 10])).method == "exact below 10 events, byar from 10"


def test_poisson_exact_zero():
    lo, hi = stats.poisson_interval(0, method="exact")
    assert lo == 0.0
    assert hi == approx_digits(3.6888794541, 10)
    # auto uses exact at 0 as well
    assert stats.poisson_interval(0) == (0.0, approx_digits(3.6888794541, 10))


def test_poisson_forced_methods_hand_computed():
    # Byar at x = 5, 95%, written out: lower = 5 (1 - 1/45 - z/(3 sqrt 5))^3,
    # upper = 6 (1 - 1/54 + z/(3 sqrt 6))^3
    lower = 5 * (1 - 1 / 45 - Z95 / (3 * math.sqrt(5))) ** 3
    upper = 6 * (1 - 1 / 54 + Z95 / (3 * math.sqrt(6))) ** 3
    iv = stats.poisson_interval(5, method="byar")
    assert iv.method == "byar"
    assert iv == (pytest.approx(lower, rel=1e-12), pytest.approx(upper, rel=1e-12))
    # Exact at x = 1, 95%: chi-square with 2 df has quantile -2 ln(1 - p), so
    # lower = -ln(1 - 0.025) = -ln(0.975)
    iv = stats.poisson_interval(1, method="exact")
    assert iv.lower == pytest.approx(-math.log(0.975), rel=1e-12)


def test_poisson_series_keeps_index():
    x = pd.Series([0, 20], index=["p", "q"])
    lo, hi = stats.poisson_interval(x)
    assert list(lo.index) == ["p", "q"]
    assert hi["q"] == approx_digits(30.8898803692, 10)


def test_poisson_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        stats.poisson_interval(3, method="wald")


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [95, 0, 1, -0.1, 1.5, float("nan"), True])
def test_confidence_must_be_a_fraction(bad):
    with pytest.raises(
        ValueError, match=r"confidence must be a fraction in \(0, 1\), e\.g\. 0\.95"
    ):
        stats.wilson_interval(5, 10, confidence=bad)
    with pytest.raises(ValueError, match="confidence must be a fraction"):
        stats.poisson_interval(5, confidence=bad)
    with pytest.raises(ValueError, match="confidence must be a fraction"):
        stats.claim_test(5, 10, 0.5, "greater", confidence=bad)
    with pytest.raises(ValueError, match="confidence must be a fraction"):
        stats.propagate(lambda a: a, {"a": 1.0}, n=10, confidence=bad)


def test_confidence_message_echoes_value():
    with pytest.raises(ValueError, match="got 95$"):
        stats.wilson_interval(5, 10, confidence=95)


@pytest.mark.parametrize(
    ("x", "n", "pattern"),
    [
        (-1, 10, "numerator must not be negative; got x=-1"),
        (5, 0, "denominator must be positive; got n=0"),
        (5, -3, "denominator must be positive; got n=-3"),
        (11, 10, "numerator must not exceed denominator; got x=11 > n=10"),
        (10.5, 10, "numerator must not exceed denominator; got x=10.5 > n=10"),
    ],
)
def test_binomial_domain_errors(x, n, pattern):
    with pytest.raises(ValueError, match=pattern):
        stats.wilson_interval(x, n)
    with pytest.raises(ValueError, match=pattern):
        stats.proportion_funnel([x, 1], [n, 10])


@pytest.mark.parametrize(("x", "n"), [(0.29 * 498, 498), (2.5, 10), (0.5, 1), (7.25, 7.25)])
def test_wilson_fractional_numerator_matches_the_closed_form(x, n):
    # PHE accepts weighted or derived numerators: the score interval is defined for real x
    for conf, z in ((0.95, Z95), (0.998, Z998)):
        lo, hi = _wilson_by_formula(x, n, z)
        iv = stats.wilson_interval(x, n, conf)
        assert iv.lower == pytest.approx(max(lo, 0.0), rel=1e-12, abs=1e-15)
        assert iv.upper == pytest.approx(min(hi, 1.0), rel=1e-12)


def test_readme_first_example_works():
    # 29% of 498 Barnardo's service users: the README's first example
    lo, hi = stats.wilson_interval(0.29 * 498, 498)
    assert 0.25 < lo < 0.29 < hi < 0.34


@pytest.mark.parametrize(("x", "n", "name"), [(2.5, 10, "x"), (2, 10.5, "n")])
def test_exact_binomial_needs_whole_counts_and_says_so(x, n, name):
    with pytest.raises(ValueError, match=rf"{name} must be a whole number.*exact binomial test"):
        stats.claim_test(x, n, 0.5, "greater")


def test_domain_error_names_the_offending_area():
    x = pd.Series([1, 12, 3], index=["E1", "E2", "E3"])
    with pytest.raises(ValueError, match=r"x=12 > n=10 \(at index label 'E2'\)"):
        stats.wilson_interval(x, 10)


def test_missing_values_rejected():
    with pytest.raises(ValueError, match="missing"):
        stats.wilson_interval([1, np.nan], 10)


def test_poisson_and_rate_domain_errors():
    with pytest.raises(ValueError, match="count must not be negative; got x=-2"):
        stats.poisson_interval(-2)
    with pytest.raises(ValueError, match="population must be positive; got population=0"):
        stats.rate_interval(3, 0)
    with pytest.raises(ValueError, match="per must be a positive number"):
        stats.rate_interval(3, 100, per=0)


# --------------------------------------------------------------------------------------------
# Funnels
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "lo95", "hi95", "lo998", "hi998"), FUNNEL_REFERENCE)
def test_funnel_limits_match_phe_reference(n, lo95, hi95, lo998, hi998):
    tol = FUNNEL_TOLERANCE
    lo, hi = stats.funnel_limits(FUNNEL_BASELINE, n, 0.95)
    assert lo * 100 == pytest.approx(lo95, abs=tol)
    assert hi * 100 == pytest.approx(hi95, abs=tol)
    lo, hi = stats.funnel_limits(FUNNEL_BASELINE, n, 0.998)
    assert lo * 100 == pytest.approx(lo998, abs=tol)
    assert hi * 100 == pytest.approx(hi998, abs=tol)
    # the half-widths do not depend on the baseline's rounding to this precision
    assert (hi - lo) * 100 == pytest.approx(hi998 - lo998, abs=1e-6)


def test_funnel_limits_clip_phi_and_tau2():
    # baseline 0.02 at n = 10: 0.02 - 1.96 sqrt(0.02 * 0.98 / 10) < 0, so clipped to 0
    lo, hi = stats.funnel_limits(0.02, 10, 0.95)
    assert lo == 0.0
    assert hi == pytest.approx(0.02 + Z95 * math.sqrt(0.02 * 0.98 / 10), rel=1e-12)
    # phi multiplies the variance: half-width scales by sqrt(phi)
    lo, hi = stats.funnel_limits(0.5, 100, 0.95, phi=4.0)
    assert (lo, hi) == (
        pytest.approx(0.5 - Z95 * 2 * 0.05, rel=1e-12),
        pytest.approx(0.5 + Z95 * 2 * 0.05, rel=1e-12),
    )
    # tau2 adds to it: sqrt(0.05^2 + 0.03^2) = sqrt(0.0034)
    lo, hi = stats.funnel_limits(0.5, 100, 0.95, tau2=0.0009)
    assert hi == pytest.approx(0.5 + Z95 * math.sqrt(0.0034), rel=1e-12)


def test_funnel_limits_errors():
    with pytest.raises(ValueError, match="baseline must be a proportion"):
        stats.funnel_limits(1.2, 100)
    with pytest.raises(ValueError, match="denominator must be positive"):
        stats.funnel_limits(0.5, [100, 0])
    with pytest.raises(ValueError, match="phi"):
        stats.funnel_limits(0.5, 100, phi=0)
    with pytest.raises(ValueError, match="tau2"):
        stats.funnel_limits(0.5, 100, tau2=-1)
    with pytest.raises(ValueError, match="not both"):
        stats.funnel_limits(0.5, 100, phi=2, tau2=0.1)


# Hand-made funnel: ten areas of 100 each with 10, 15, 20, 20, 25, 25, 30, 30, 35, 40 cases.
# Pooled baseline = 250 / 1000 = 0.25; SE at n = 100 is sqrt(0.25 * 0.75 / 100) = sqrt(0.001875)
#   = 0.04330127.
# 95% limits: 0.25 +/- 1.959964 * 0.04330127 = 0.25 +/- 0.08486893 -> (0.16513, 0.33487)
# 99.8% limits: 0.25 +/- 3.090232 * 0.04330127 = 0.25 +/- 0.13381098 -> (0.11619, 0.38381)
# So 0.10 is low at 99.8%, 0.15 low at 95% only, 0.35 high at 95% only, 0.40 high at 99.8%.
HAND_X = [10, 15, 20, 20, 25, 25, 30, 30, 35, 40]
HAND_N = [100] * 10
HAND_LABELS = list("ABCDEFGHIJ")
HAND_EXPECTED_SIGNIFICANCE = [
    "low (99.8%)",
    "low (95%)",
    "not significant",
    "not significant",
    "not significant",
    "not significant",
    "not significant",
    "not significant",
    "high (95%)",
    "high (99.8%)",
]
# Over-dispersion of the hand-made funnel. Deviations from the baseline in cases per 100:
# d = x - 25 = -15, -10, -5, -5, 0, 0, 5, 5, 10, 15; z = d / (100 * SE) = d / 4.330127.
# Winsorise at the 10th/90th percentiles (linear interpolation over k = 10 sorted values):
#   10th: position 0.1 * 9 = 0.9 -> -15 + 0.9 * (-10 - -15) = -10.5
#   90th: position 0.9 * 9 = 8.1 ->  10 + 0.1 * (15 - 10)   =  10.5
# Winsorised d: -10.5, -10, -5, -5, 0, 0, 5, 5, 10, 10.5
# Sum of d^2 = 110.25 + 100 + 25 + 25 + 0 + 0 + 25 + 25 + 100 + 110.25 = 520.5
# (100 SE)^2 = 10000 * 0.001875 = 18.75, so sum of z^2 = 520.5 / 18.75 = 27.76
# phi = 27.76 / 10 = 2.776; I * phi = 27.76 on 9 df.
# Equal weights w = 1 / s^2: sum w - sum w^2 / sum w = (I - 1) w, so
# tau2 = (I phi - (I - 1)) s^2 / (I - 1) = (27.76 - 9) * 0.001875 / 9 = 0.00390833...
HAND_PHI = 2.776
HAND_TAU2 = (27.76 - 9) * 0.001875 / 9


def test_proportion_funnel_hand_example():
    df = stats.proportion_funnel(HAND_X, HAND_N, labels=HAND_LABELS)
    assert list(df.index) == HAND_LABELS
    assert df.index.name == "area"
    assert df["significance"].tolist() == HAND_EXPECTED_SIGNIFICANCE
    se = math.sqrt(0.25 * 0.75 / 100)
    assert df["baseline"].iloc[0] == pytest.approx(0.25)
    assert df["lower_95"].iloc[0] == pytest.approx(0.25 - Z95 * se, rel=1e-12)
    assert df["upper_99_8"].iloc[0] == pytest.approx(0.25 + Z998 * se, rel=1e-12)
    assert df["z"].iloc[0] == pytest.approx((0.10 - 0.25) / se, rel=1e-12)
    assert df.attrs["baseline"] == pytest.approx(0.25)
    assert df.attrs["levels"] == (0.95, 0.998)
    # the over-dispersion test is reported even when no adjustment is asked for
    assert df.attrs["overdispersion"] == "none"
    assert df.attrs["overdispersion_requested"] == "none"
    assert df.attrs["phi"] == pytest.approx(HAND_PHI, rel=1e-12)
    assert df.attrs["tau2"] == pytest.approx(HAND_TAU2, rel=1e-12)
    assert df.attrs["overdispersion_p_value"] == pytest.approx(chi2_sf(27.76, 9), rel=1e-9)
    assert "no over-dispersion adjustment" in df.attrs["method"]
    assert (df["method"] == df.attrs["method"]).all()
    assert (df["overdispersion"] == "none").all()
    assert (df["statistic"] == "proportion").all()
    for col in ("x", "n", "proportion", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert col in df.columns
    for col in ("phi", "tau2", "overdispersion_p_value"):
        assert df[col].iloc[0] == df.attrs[col]


def chi2_sf(x: float, df: int) -> float:
    """Chi-square upper tail for even df, by its closed form: exp(-x/2) sum_{k<df/2} (x/2)^k/k!

    Odd df use scipy (this closed form only holds for even df).
    """
    if df % 2 == 0:
        h = x / 2
        return math.exp(-h) * sum(h**k / math.factorial(k) for k in range(df // 2))
    from scipy.stats import chi2

    return float(chi2.sf(x, df))


def test_proportion_funnel_baseline_is_pooled_not_mean_of_rates():
    # 1/10 and 50/100: pooled 51/110 = 0.4636..., mean of rates would be 0.3
    df = stats.proportion_funnel([1, 50], [10, 100])
    assert df.attrs["baseline"] == pytest.approx(51 / 110)
    assert df.attrs["baseline"] != pytest.approx(0.3)
    assert df.attrs["baseline_pooled"] is True


# PHEindicatormethods proportion-funnel test data (tests/testthat/testdata_funnel_prop_inputs.csv,
# ukhsa-collaboration/PHEindicatormethods): eight of its areas, with their *fractional*
# numerators, and the significance PHE gives them against the pooled baseline of all its areas
# (80.642448%, the baseline of FUNNEL_REFERENCE). "(0.001)" is PHE's 99.8% level, "(0.025)" 95%.
PHE_FUNNEL_AREAS = [
    ("New Forest PCT", 35078.4880, 41980, "high (99.8%)"),
    ("Norwich PCT", 24803.6256, 31824, "low (99.8%)"),
    ("South Gloucestershire PCT", 50050.7443, 61921, "not significant"),
    ("West Norfolk PCT", 26789.2380, 33012, "high (95%)"),
    ("North Devon PCT", 30277.5312, 37828, "low (95%)"),
    ("Mid Devon PCT", 20759.6500, 25750, "not significant"),
    ("Mid-Hampshire PCT", 34502.0685, 42485, "high (95%)"),
    ("North Norfolk PCT", 18504.9982, 22739, "high (95%)"),
]


def test_proportion_funnel_fractional_numerators_match_phe_significance():
    names = [a[0] for a in PHE_FUNNEL_AREAS]
    x = [a[1] for a in PHE_FUNNEL_AREAS]
    n = [a[2] for a in PHE_FUNNEL_AREAS]
    df = stats.proportion_funnel(x, n, labels=names, baseline=FUNNEL_BASELINE)
    assert df["significance"].tolist() == [a[3] for a in PHE_FUNNEL_AREAS]
    assert df.attrs["baseline_pooled"] is False
    assert "given baseline" in df.attrs["method"]


def test_overdispersion_multiplicative_hand_example():
    df = stats.proportion_funnel(
        HAND_X, HAND_N, overdispersion="multiplicative", labels=HAND_LABELS
    )
    # p = P(chi2_9 > 27.76) ~ 0.001 < 0.05: the test rejects, so the adjustment is applied
    assert df.attrs["overdispersion"] == "multiplicative"
    assert df.attrs["phi"] == pytest.approx(HAND_PHI, rel=1e-12)
    assert df.attrs["phi_applied"] == pytest.approx(HAND_PHI, rel=1e-12)
    assert df.attrs["tau2_applied"] == 0.0
    assert "Spiegelhalter" in df.attrs["method"]
    assert "2.776" in df.attrs["method"]
    assert "multiplicative adjustment applied" in df.attrs["method"]
    # Inflated 95% half-width: 1.959964 * sqrt(2.776 * 0.001875) = 1.959964 * 0.0721457 = 0.141403
    # -> (0.108597, 0.391403): 0.10 and 0.40 are outside; 99.8% half-width 0.22295 -> both inside.
    half = Z95 * math.sqrt(HAND_PHI * 0.001875)
    assert df["lower_95"].iloc[0] == pytest.approx(0.25 - half, rel=1e-12)
    assert df["significance"].tolist() == (["low (95%)"] + ["not significant"] * 8 + ["high (95%)"])
    # True is the multiplicative adjustment, for callers of the old flag
    assert stats.proportion_funnel(HAND_X, HAND_N, overdispersion=True).equals(
        df.reset_index(drop=True)
    )


def test_overdispersion_additive_hand_example():
    df = stats.proportion_funnel(HAND_X, HAND_N, overdispersion="additive", labels=HAND_LABELS)
    assert df.attrs["overdispersion"] == "additive"
    assert df.attrs["tau2_applied"] == pytest.approx(HAND_TAU2, rel=1e-12)
    assert df.attrs["phi_applied"] == 1.0
    # 95%: 0.25 +/- 1.959964 sqrt(0.001875 + 0.0039083) = 0.25 +/- 0.149073 -> (0.10093, 0.39907)
    half = Z95 * math.sqrt(0.001875 + HAND_TAU2)
    assert df["upper_95"].iloc[0] == pytest.approx(0.25 + half, rel=1e-12)
    assert df["significance"].tolist() == (["low (95%)"] + ["not significant"] * 8 + ["high (95%)"])
    assert "additive adjustment applied" in df.attrs["method"]


def test_overdispersion_not_applied_unless_the_test_rejects():
    # Four areas at 22, 28, 25, 25 of 100: z = -3/4.33, 3/4.33, 0, 0; winsorising at the 10th
    # and 90th percentiles (positions 0.3 and 2.7 of 0..3) pulls +/-3 in to +/-(3 - 0.3 * 3) =
    # +/-2.1, so phi = 2 * 2.1^2 / 18.75 / 4 = 0.1176: I phi = 0.47 on 3 df, p ~ 0.93
    x, n = [22, 28, 25, 25], [100] * 4
    phi = 2 * 2.1**2 / 18.75 / 4
    df = stats.proportion_funnel(x, n, overdispersion="multiplicative")
    assert df.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert df.attrs["overdispersion_p_value"] == pytest.approx(chi2_sf(4 * phi, 3), rel=1e-9)
    assert df.attrs["overdispersion"] == "none"
    assert df.attrs["overdispersion_requested"] == "multiplicative"
    assert "not applied" in df.attrs["method"]
    se = math.sqrt(0.25 * 0.75 / 100)
    assert df["upper_95"].iloc[0] == pytest.approx(0.25 + Z95 * se, rel=1e-12)
    # forcing applies it, but never narrows the limits: phi is floored at 1
    forced = stats.proportion_funnel(x, n, overdispersion="multiplicative", force_adjustment=True)
    assert forced.attrs["overdispersion"] == "multiplicative"
    assert forced.attrs["phi_applied"] == 1.0
    assert forced["upper_95"].iloc[0] == pytest.approx(0.25 + Z95 * se, rel=1e-12)
    assert "forced" in forced.attrs["method"]
    # a stricter or looser test level moves the decision for the hand-made funnel (p ~ 0.001)
    p = chi2_sf(27.76, 9)
    assert 0.0005 < p < 0.002
    strict = stats.proportion_funnel(
        HAND_X, HAND_N, overdispersion=True, overdispersion_alpha=0.0005
    )
    assert strict.attrs["overdispersion"] == "none"


def test_overdispersion_needs_a_baseline_strictly_between_0_and_1():
    with pytest.raises(ValueError, match="over-dispersion"):
        stats.proportion_funnel([0, 0], [10, 20], overdispersion="multiplicative")
    # not asked for: reported as not computable
    df = stats.proportion_funnel([0, 0], [10, 20])
    assert math.isnan(df.attrs["phi"])


def test_proportion_funnel_uses_series_index_and_custom_levels():
    x = pd.Series([10, 40], index=pd.Index(["X", "Y"], name="la"))
    df = stats.proportion_funnel(x, 100, levels=(0.9,))
    assert list(df.index) == ["X", "Y"]
    assert {"lower_90", "upper_90"} <= set(df.columns)
    # baseline 0.25, SE 0.0433013, z(0.90) = 1.644854: limits (0.17878, 0.32122)
    assert df["significance"].tolist() == ["low (90%)", "high (90%)"]


def test_proportion_funnel_labels_length_checked():
    with pytest.raises(ValueError, match="labels"):
        stats.proportion_funnel([1, 2], [10, 10], labels=["only one"])


def test_funnel_options_validated():
    with pytest.raises(ValueError, match="overdispersion must be"):
        stats.rate_funnel([1, 2], [10, 10], overdispersion="both")
    with pytest.raises(ValueError, match='method must be "exact" or "normal"'):
        stats.rate_funnel([1, 2], [10, 10], method="byar")
    with pytest.raises(ValueError, match="overdispersion_alpha"):
        stats.rate_funnel([1, 2], [10, 10], overdispersion_alpha=5)
    with pytest.raises(ValueError, match="baseline"):
        stats.rate_funnel([1, 2], [10, 10], baseline=-1)


def test_significance_labels_are_public_and_ordered():
    assert stats.significance_label("high", 0.998) == "high (99.8%)"
    assert stats.significance_label("low", 0.9) == "low (90%)"
    assert stats.NOT_SIGNIFICANT == "not significant"
    assert stats.significance_labels((0.998, 0.95)) == (
        "high (99.8%)",
        "high (95%)",
        "not significant",
        "low (95%)",
        "low (99.8%)",
    )
    assert stats.level_suffix(0.998) == "99_8"
    assert stats.level_text(0.95) == "95%"
    with pytest.raises(ValueError, match="direction"):
        stats.significance_label("up", 0.95)


# --------------------------------------------------------------------------------------------
# Ratios
# --------------------------------------------------------------------------------------------


def _wilson_by_formula(x: int, n: int, z: float) -> tuple[float, float]:
    """Wilson limits written out from the methods notes' formula (independent of statsmodels)."""
    centre = 2 * x + z**2
    spread = z * math.sqrt(z**2 + 4 * x * (1 - x / n))
    denom = 2 * (n + z**2)
    return (centre - spread) / denom, (centre + spread) / denom


def test_rate_ratio_exact_population_share():
    # 144 of 498 exploited children looked after (29%); looked-after share 0.59% of all children
    lo_s, hi_s = _wilson_by_formula(144, 498, Z95)
    r = stats.rate_ratio(144, 498, 0.0059)
    assert r.ratio == pytest.approx((144 / 498) / 0.0059, rel=1e-12)
    assert r.lower == pytest.approx(lo_s / 0.0059, rel=1e-9)
    assert r.upper == pytest.approx(hi_s / 0.0059, rel=1e-9)
    assert r.confidence == 0.95
    assert "Wilson" in r.method
    assert r.details["case_share"] == pytest.approx(144 / 498)


def test_rate_ratio_population_share_range():
    lo_s, hi_s = _wilson_by_formula(144, 498, Z95)
    r = stats.rate_ratio(144, 498, (0.0055, 0.0063))
    # lowest lower limit uses the highest share, highest upper limit the lowest share
    assert r.lower == pytest.approx(lo_s / 0.0063, rel=1e-9)
    assert r.upper == pytest.approx(hi_s / 0.0055, rel=1e-9)
    assert r.ratio == pytest.approx((144 / 498) / 0.0059, rel=1e-12)  # midpoint 0.0059
    assert r.details["ratio_range"] == (
        pytest.approx((144 / 498) / 0.0063),
        pytest.approx((144 / 498) / 0.0055),
    )
    assert "range" in r.method


@pytest.mark.parametrize(
    "share", [0.0, -0.1, 1.5, (0.007, 0.005), (0.0, 0.01), "a lot", (0.1, 0.2, 0.3)]
)
def test_rate_ratio_bad_share(share):
    with pytest.raises(ValueError, match="population share"):
        stats.rate_ratio(10, 100, share)


def test_rate_ratio_bad_counts():
    with pytest.raises(ValueError, match="numerator must not exceed denominator"):
        stats.rate_ratio(600, 498, 0.0059)


def test_two_group_rate_ratio_poisson_hand_computed():
    # (20 / 1000) / (10 / 2000) = 4; SE(log RR) = sqrt(1/20 + 1/10)
    se = math.sqrt(1 / 20 + 1 / 10)
    r = stats.two_group_rate_ratio(20, 1000, 10, 2000)
    assert r.ratio == pytest.approx(4.0)
    assert r.lower == pytest.approx(4 * math.exp(-Z95 * se), rel=1e-9)
    assert r.upper == pytest.approx(4 * math.exp(Z95 * se), rel=1e-9)
    assert r.interval == (r.lower, r.upper)


def test_two_group_rate_ratio_katz_hand_computed():
    se = math.sqrt(1 / 20 - 1 / 1000 + 1 / 10 - 1 / 2000)
    r = stats.two_group_rate_ratio(20, 1000, 10, 2000, confidence=0.95, method="katz")
    assert r.ratio == pytest.approx(4.0)
    assert r.lower == pytest.approx(4 * math.exp(-Z95 * se), rel=1e-9)
    assert r.upper == pytest.approx(4 * math.exp(Z95 * se), rel=1e-9)
    assert "Katz" in r.method


def test_two_group_rate_ratio_errors():
    with pytest.raises(ValueError, match="positive count"):
        stats.two_group_rate_ratio(0, 1000, 10, 2000)
    with pytest.raises(ValueError, match="pop_b must be positive"):
        stats.two_group_rate_ratio(5, 1000, 10, 0)
    with pytest.raises(ValueError, match="method"):
        stats.two_group_rate_ratio(5, 1000, 10, 2000, method="wald")


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "threshold", "direction", "expected"),
    [
        (90, 100, 0.5, "greater", "supported"),  # CI about (0.82, 0.95)
        (10, 100, 0.5, "greater", "contradicted"),  # CI about (0.05, 0.18)
        (51, 100, 0.5, "greater", "inconclusive"),  # CI about (0.41, 0.61)
        (5, 100, 0.25, "less", "supported"),  # "less than a quarter": CI about (0.02, 0.11)
        (60, 100, 0.25, "less", "contradicted"),
        (24, 100, 0.25, "less", "inconclusive"),
    ],
)
def test_claim_test_clear_cases(x, n, threshold, direction, expected):
    result = stats.claim_test(x, n, threshold, direction)
    assert result.conclusion == expected
    assert result.estimate == pytest.approx(x / n)
    assert result.lower <= result.estimate <= result.upper


def _binomial_tail(x: int, n: int, p: float, upper: bool) -> float:
    """P(X >= x) (upper) or P(X <= x) for X ~ Binomial(n, p), summed term by term."""
    ks = range(x, n + 1) if upper else range(0, x + 1)
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in ks)


def test_claim_test_one_test_one_conclusion():
    # 59 of 100 against "more than half": P(X >= 59 | n = 100, p = 0.5) = 0.0443. Each one-sided
    # test runs at (1 - 0.95) / 2 = 0.025, the tail of the two-sided 95% interval, so this is
    # inconclusive, and the p-value reported is the test it came from.
    p = _binomial_tail(59, 100, 0.5, upper=True)
    assert 0.044 < p < 0.045
    result = stats.claim_test(59, 100, 0.5, "greater")
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.alpha == pytest.approx(0.025)
    assert result.conclusion == "inconclusive"
    assert result.test == ("one-sided exact binomial test of share = 0.5 against share > 0.5")
    assert result.summary.startswith("inconclusive: one-sided exact binomial test")
    assert "p = 0.0443 (>= 0.025)" in result.summary
    # the interval agrees: it contains 0.5
    assert result.lower < 0.5 < result.upper
    # at 90% the level is 0.05, and the same test rejects: supported, interval above 0.5
    at90 = stats.claim_test(59, 100, 0.5, "greater", confidence=0.90)
    assert at90.conclusion == "supported"
    assert at90.p_value == pytest.approx(p, rel=1e-9)
    assert at90.p_value < at90.alpha == pytest.approx(0.05)
    assert at90.lower > 0.5


def test_claim_test_contradicted_reports_the_opposite_test():
    # 30 of 100 against "more than half": P(X <= 30 | 0.5) is tiny; the claimed direction's
    # p-value P(X >= 30 | 0.5) is near 1
    result = stats.claim_test(30, 100, 0.5, "greater")
    assert result.conclusion == "contradicted"
    assert result.p_value == pytest.approx(_binomial_tail(30, 100, 0.5, upper=False), rel=1e-9)
    assert result.p_opposite == result.p_value
    assert result.p_claimed == pytest.approx(_binomial_tail(30, 100, 0.5, upper=True), rel=1e-9)
    assert "against share < 0.5" in result.test


def test_claim_test_values_hand_computed():
    # 90/100 vs "over half": P(X >= 90 | n=100, p=0.5) = sum_{k=90}^{100} C(100, k) / 2^100
    p = sum(math.comb(100, k) for k in range(90, 101)) / 2**100
    result = stats.claim_test(90, 100, 0.5, "greater")
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # Clopper-Pearson for x = n: lower = (alpha / 2)^(1/n), upper = 1
    full = stats.claim_test(20, 20, 0.5, "greater")
    assert full.lower == pytest.approx(0.025 ** (1 / 20), rel=1e-9)
    assert full.upper == 1.0
    assert full.conclusion == "supported"
    assert full.method.startswith("exact binomial test")
    assert full.confidence == 0.95


def test_claim_test_is_frozen_and_validates():
    result = stats.claim_test(5, 10, 0.5, "greater")
    with pytest.raises(AttributeError):
        result.conclusion = "supported"  # type: ignore[misc]
    with pytest.raises(ValueError, match="direction"):
        stats.claim_test(5, 10, 0.5, "more")
    with pytest.raises(ValueError, match="threshold"):
        stats.claim_test(5, 10, 50, "greater")
    with pytest.raises(ValueError, match="numerator must not exceed denominator"):
        stats.claim_test(11, 10, 0.5, "greater")
    with pytest.raises(ValueError, match="whole number"):
        stats.claim_test(5.5, 10, 0.5, "greater")


# --------------------------------------------------------------------------------------------
# Monte Carlo propagation
# --------------------------------------------------------------------------------------------


def test_propagate_is_reproducible_with_a_seed():
    inputs = {"a": stats.uniform(180_000, 220_000), "b": stats.normal(0.3, 0.05)}
    first = stats.propagate(lambda a, b: a * b, inputs, n=20_000, seed=7)
    second = stats.propagate(lambda a, b: a * b, inputs, n=20_000, seed=7)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert first.mean == second.mean
    assert first.interval == second.interval
    other = stats.propagate(lambda a, b: a * b, inputs, n=20_000, seed=8)
    assert not np.array_equal(first.samples, other.samples)


def test_propagate_default_seed_is_fixed():
    inputs = {"a": stats.triangular(1, 2, 4)}
    assert stats.DEFAULT_SEED == 20120910
    a = stats.propagate(lambda a: a, inputs, n=1000)
    b = stats.propagate(lambda a: a, inputs, n=1000)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.seed == 20120910


def test_propagate_product_matches_analytic_mean():
    # X ~ U(180000, 220000), Y ~ N(0.3, 0.05), independent.
    # E[XY] = 200000 * 0.3 = 60000.
    # E[X^2] = Var X + (E X)^2 = 40000^2 / 12 + 200000^2; E[Y^2] = 0.05^2 + 0.3^2
    # Var(XY) = E[X^2] E[Y^2] - (E[X] E[Y])^2; MC standard error = sqrt(Var / n).
    n = 100_000
    ex2 = 40_000**2 / 12 + 200_000**2
    ey2 = 0.05**2 + 0.3**2
    var = ex2 * ey2 - 60_000**2
    mcse = math.sqrt(var / n)
    res = stats.propagate(
        lambda x, y: x * y,
        {"x": stats.uniform(180_000, 220_000), "y": stats.normal(0.3, 0.05)},
        n=n,
    )
    assert abs(res.mean - 60_000) < 4 * mcse
    assert res.samples.shape == (n,)
    assert res.interval[0] < res.median < res.interval[1]
    assert res.sd == pytest.approx(math.sqrt(var), rel=0.02)
    assert res.confidence == 0.95
    assert "n=100000" in res.method


def test_propagate_interval_is_percentile_interval():
    # The output equals a uniform(0, 1) input, so the 90% interval is close to (0.05, 0.95)
    res = stats.propagate(lambda u: u, {"u": stats.uniform(0, 1)}, n=200_000, confidence=0.90)
    assert res.interval == (pytest.approx(0.05, abs=0.005), pytest.approx(0.95, abs=0.005))


def test_propagate_fixed_and_numbers():
    res = stats.propagate(lambda a, b: a + b, {"a": stats.fixed(2), "b": 3}, n=10)
    np.testing.assert_array_equal(res.samples, np.full(10, 5.0))
    assert res.interval == (5.0, 5.0)


def test_propagate_samples_are_read_only():
    res = stats.propagate(lambda a: a, {"a": stats.normal(0, 1)}, n=10)
    with pytest.raises(ValueError):
        res.samples[0] = 1.0


def test_propagate_errors():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        stats.propagate(lambda a: a, {"a": 1.0}, n=0)
    with pytest.raises(ValueError, match="must be a Distribution"):
        stats.propagate(lambda a: a, {"a": "about 200,000"}, n=10)
    with pytest.raises(ValueError, match="must return 10 values"):
        stats.propagate(lambda a: np.ones(3), {"a": 1.0}, n=10)
    with pytest.raises(ValueError, match="non-finite"), np.errstate(divide="ignore"):
        stats.propagate(lambda a: 1 / (a - a), {"a": stats.uniform(0, 1)}, n=10)


def test_distribution_helpers_validate():
    with pytest.raises(ValueError, match="low < high"):
        stats.uniform(2, 1)
    with pytest.raises(ValueError, match="low <= mode <= high"):
        stats.triangular(0, 5, 4)
    with pytest.raises(ValueError, match="positive sd"):
        stats.normal(0, -1)
    with pytest.raises(ValueError, match="finite"):
        stats.fixed(float("inf"))
    assert stats.triangular(0, 3, 3).mean == pytest.approx(2.0)


def test_z_value_reference():
    assert stats.z_value(0.95) == pytest.approx(Z95, rel=1e-12)
    assert stats.z_value(0.998) == pytest.approx(Z998, rel=1e-12)


def test_module_imports_no_plotting_library():
    import subprocess
    import sys

    code = (
        "import sys, analysis.stats; "
        "bad = [m for m in ('matplotlib', 'seaborn') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
