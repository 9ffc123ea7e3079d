"""Property-based tests for :mod:`analysis.stats` (hypothesis).

These check relations every correct implementation must satisfy, whatever the inputs: estimates
inside their intervals, shares within [0, 1], wider intervals at higher confidence, narrower
intervals with more data, and Poisson intervals containing the observed count. Funnel labels
and claim conclusions are checked against computations written out here (the methods notes'
formulas, scipy's distributions), never against the function's own limit columns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import binom, chi2, norm

from analysis import stats

SETTINGS = settings(max_examples=150, deadline=None)
EPS = 1e-12

confidences = st.floats(min_value=0.5, max_value=0.9999, allow_nan=False)


@st.composite
def counts(draw, max_n: int = 1_000_000):
    n = draw(st.integers(min_value=1, max_value=max_n))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


@SETTINGS
@given(xn=counts(), confidence=confidences)
def test_wilson_contains_estimate_and_stays_in_unit_interval(xn, confidence):
    x, n = xn
    lo, hi = stats.wilson_interval(x, n, confidence)
    assert 0.0 <= lo <= x / n + EPS
    assert x / n - EPS <= hi <= 1.0


@SETTINGS
@given(xn=counts(), c1=confidences, c2=confidences)
def test_wilson_wider_at_higher_confidence(xn, c1, c2):
    assume(abs(c1 - c2) > 1e-6)
    low_c, high_c = sorted((c1, c2))
    x, n = xn
    lo1, hi1 = stats.wilson_interval(x, n, low_c)
    lo2, hi2 = stats.wilson_interval(x, n, high_c)
    assert lo2 <= lo1 + EPS
    assert hi2 >= hi1 - EPS
    assert hi2 - lo2 > hi1 - lo1 - EPS


@SETTINGS
@given(
    xn=counts(max_n=1000),
    k1=st.integers(min_value=1, max_value=50),
    k2=st.integers(min_value=1, max_value=50),
    confidence=confidences,
)
def test_wilson_narrower_with_larger_n_at_fixed_share(xn, k1, k2, confidence):
    assume(k1 != k2)
    small, large = sorted((k1, k2))
    x, n = xn
    lo_s, hi_s = stats.wilson_interval(x * small, n * small, confidence)
    lo_l, hi_l = stats.wilson_interval(x * large, n * large, confidence)
    assert hi_l - lo_l < hi_s - lo_s


@SETTINGS
@given(xn=counts(max_n=5000), size=st.integers(min_value=1, max_value=20))
def test_wilson_vectorised_agrees_with_scalar(xn, size):
    x, n = xn
    xs = np.full(size, x)
    lo, hi = stats.wilson_interval(pd.Series(xs), n)
    slo, shi = stats.wilson_interval(x, n)
    assert np.allclose(lo.to_numpy(), slo, rtol=0, atol=1e-15)
    assert np.allclose(hi.to_numpy(), shi, rtol=0, atol=1e-15)


@SETTINGS
@given(
    x=st.integers(min_value=0, max_value=10_000_000),
    confidence=confidences,
    method=st.sampled_from(["auto", "exact"]),
)
def test_poisson_interval_contains_count(x, confidence, method):
    lo, hi = stats.poisson_interval(x, confidence, method=method)
    assert 0.0 <= lo <= x <= hi


@SETTINGS
@given(x=st.integers(min_value=1, max_value=10_000_000), confidence=confidences)
def test_byar_interval_contains_count(x, confidence):
    lo, hi = stats.poisson_interval(x, confidence, method="byar")
    assert 0.0 <= lo <= x <= hi


@SETTINGS
@given(x=st.integers(min_value=0, max_value=100_000), c1=confidences, c2=confidences)
def test_poisson_wider_at_higher_confidence(x, c1, c2):
    assume(abs(c1 - c2) > 1e-6)
    low_c, high_c = sorted((c1, c2))
    lo1, hi1 = stats.poisson_interval(x, low_c)
    lo2, hi2 = stats.poisson_interval(x, high_c)
    assert lo2 <= lo1 + EPS
    assert hi2 >= hi1


@SETTINGS
@given(
    x=st.integers(min_value=0, max_value=100_000),
    population=st.floats(min_value=1.0, max_value=1e8),
    per=st.sampled_from([100, 1000, 10_000, 100_000]),
)
def test_rate_interval_contains_rate(x, population, per):
    row = stats.rate_interval(x, population, per=per).iloc[0]
    assert row["lower"] <= row["rate"] * (1 + 1e-12) + EPS
    assert row["rate"] <= row["upper"] * (1 + 1e-12)
    assert row["method"] == ("exact" if x < 10 else "byar")


@SETTINGS
@given(
    baseline=st.floats(min_value=0.0, max_value=1.0),
    n1=st.floats(min_value=1.0, max_value=1e7),
    n2=st.floats(min_value=1.0, max_value=1e7),
    confidence=confidences,
)
def test_funnel_limits_bracket_baseline_and_narrow_with_n(baseline, n1, n2, confidence):
    assume(abs(n1 - n2) > 1e-6)
    small, large = sorted((n1, n2))
    lo_s, hi_s = stats.funnel_limits(baseline, small, confidence)
    lo_l, hi_l = stats.funnel_limits(baseline, large, confidence)
    assert 0.0 <= lo_s <= lo_l <= baseline <= hi_l <= hi_s <= 1.0


def _independent_phi(z: np.ndarray) -> float:
    """Spiegelhalter's phi written out: 10% winsorised z-scores, mean of squares."""
    zs = np.sort(z)
    k = zs.size

    def quantile(q: float) -> float:  # linear interpolation between order statistics
        pos = q * (k - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, k - 1)
        return float(zs[lo] + (pos - lo) * (zs[hi] - zs[lo]))

    lo, hi = quantile(0.1), quantile(0.9)
    return float(np.mean(np.minimum(np.maximum(z, lo), hi) ** 2))


def _classify(value: float, limits: dict[float, tuple[float, float]]) -> str:
    for level, text in ((0.998, "99.8%"), (0.95, "95%")):
        lo, hi = limits[level]
        if value > hi:
            return f"high ({text})"
        if value < lo:
            return f"low ({text})"
    return "not significant"


@SETTINGS
@given(
    data=st.lists(counts(max_n=10_000), min_size=2, max_size=30),
    adjustment=st.sampled_from(["none", "multiplicative", "additive"]),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
def test_proportion_funnel_labels_agree_with_an_independent_computation(data, adjustment, fraction):
    # real-valued numerators: x - fraction, kept within [0, n]
    x = [max(d[0] - fraction, 0.0) for d in data]
    n = [d[1] for d in data]
    pooled = sum(x) / sum(n)
    assume(0.0 < pooled < 1.0 or adjustment == "none")
    df = stats.proportion_funnel(x, n, overdispersion=adjustment)
    assert df.attrs["baseline"] == pytest.approx(pooled)
    # the limits and labels, recomputed here from the methods notes' formulas
    xs, ns = np.array(x), np.array(n, dtype=float)
    p = xs / ns
    s2 = pooled * (1 - pooled) / ns
    phi, tau2 = 1.0, 0.0
    if adjustment != "none":
        z = (p - pooled) / np.sqrt(s2)
        phi_hat = _independent_phi(z)
        k = len(x)
        p_value = float(chi2.sf(k * phi_hat, k - 1))
        assert df.attrs["phi"] == pytest.approx(phi_hat, rel=1e-9, abs=1e-12)
        assume(abs(p_value - 0.05) > 1e-9)
        if p_value < 0.05:
            w = 1 / s2
            if adjustment == "multiplicative":
                phi = max(phi_hat, 1.0)
            else:
                tau2 = max((k * phi_hat - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()), 0.0)
        assert df.attrs["overdispersion"] == (adjustment if p_value < 0.05 else "none")
    for i, value in enumerate(p):
        limits = {}
        for level, zc in ((0.95, 1.959963984540054), (0.998, 3.090232306167813)):
            half = zc * math.sqrt(phi * s2[i] + tau2)
            limits[level] = (max(pooled - half, 0.0), min(pooled + half, 1.0))
        edges = [v for pair in limits.values() for v in pair]
        assume(all(abs(value - e) > 1e-12 for e in edges))
        assert df["significance"].iloc[i] == _classify(value, limits)


def _own_interval(x: float, c: float) -> tuple[float, float]:
    """PHE's count interval written out: exact (chi-square) below 10 events, Byar's from 10."""
    if x < 10:
        lo = chi2.ppf((1 - c) / 2, 2 * x) / 2 if x > 0 else 0.0
        return lo, chi2.ppf(c + (1 - c) / 2, 2 * x + 2) / 2
    zc = norm.ppf(c + (1 - c) / 2)
    x1 = x + 1
    return (
        x * (1 - 1 / (9 * x) - zc / (3 * math.sqrt(x))) ** 3,
        x1 * (1 - 1 / (9 * x1) + zc / (3 * math.sqrt(x1))) ** 3,
    )


@SETTINGS
@given(
    data=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400), st.floats(min_value=50.0, max_value=1e5)
        ),
        min_size=1,
        max_size=25,
    ),
    given_rate=st.one_of(st.none(), st.floats(min_value=0.1, max_value=500.0)),
)
def test_rate_funnel_labels_agree_with_each_areas_own_interval(data, given_rate):
    x = [d[0] for d in data]
    pop = [d[1] for d in data]
    df = stats.rate_funnel(x, pop, per=10_000, baseline=given_rate)
    rate = 10_000 * sum(x) / sum(pop) if given_rate is None else given_rate
    for i, (xi, pi) in enumerate(data):
        expected = rate / 10_000 * pi
        label = "not significant"
        for c, text in ((0.95, "95%"), (0.998, "99.8%")):
            lo, hi = _own_interval(xi, c)
            tol = 1e-9 * max(expected, 1.0)
            assume(abs(lo - expected) > tol and abs(hi - expected) > tol)
            if lo > expected:
                label = f"high ({text})"
            elif hi < expected:
                label = f"low ({text})"
        assert df["significance"].iloc[i] == label


@SETTINGS
@given(
    e1=st.floats(min_value=0.0, max_value=1e6),
    e2=st.floats(min_value=0.0, max_value=1e6),
    confidence=confidences,
)
def test_exact_count_limits_bracket_expected_and_grow_with_it(e1, e2, confidence):
    assume(abs(e1 - e2) > 1e-6)
    small, large = sorted((e1, e2))
    lo_s, hi_s = stats.count_funnel_limits(small, confidence)
    lo_l, hi_l = stats.count_funnel_limits(large, confidence)
    assert 0.0 <= lo_s <= small <= hi_s
    assert 0.0 <= lo_l <= large <= hi_l
    assert lo_s <= lo_l + 1e-9 and hi_s <= hi_l + 1e-9
    # each line is where the exact interval of the count on it just reaches E
    if lo_l > 0:
        assert chi2.ppf(confidence + (1 - confidence) / 2, 2 * lo_l + 2) / 2 == pytest.approx(
            large, rel=1e-6
        )
    if large > 0:
        assert chi2.ppf((1 - confidence) / 2, 2 * hi_l) / 2 == pytest.approx(large, rel=1e-6)


@SETTINGS
@given(
    values=st.lists(st.floats(min_value=-50, max_value=50), min_size=2, max_size=40),
    se=st.floats(min_value=0.01, max_value=10),
)
def test_overdispersion_test_ranges(values, se):
    t = stats.overdispersion_test(values, 0.0, se)
    assert t.phi >= 0.0
    assert 0.0 <= t.p_value <= 1.0
    assert t.df == len(values) - 1
    assert math.isnan(t.tau2) or t.tau2 >= 0.0
    assert t.statistic == pytest.approx(len(values) * t.phi)


@SETTINGS
@given(
    share=st.floats(min_value=0.0, max_value=1.0),
    n=st.integers(min_value=1, max_value=5000),
    decimals=st.integers(min_value=2, max_value=4),
)
def test_counts_consistent_with_share_round_back(share, n, decimals):
    stated = round(share, decimals)
    x_min, x_max = stats.counts_consistent_with_share(stated, n, decimals)
    half = 0.5 * 10**-decimals
    tol = 1e-9
    if any(stated - half - tol <= k / n <= stated + half + tol for k in range(n + 1)):
        for k in range(max(x_min - 2, 0), min(x_max + 2, n) + 1):
            if x_min <= k <= x_max:
                assert stated - half - tol <= k / n <= stated + half + tol
            else:  # outside the range: not a count that rounds to the stated share
                assert not (stated - half + tol <= k / n < stated + half - tol)
    else:  # no count rounds to it: the nearest count, for both ends
        assert x_min == x_max == round(stated * n)


@SETTINGS
@given(xn=counts(max_n=5000), threshold=st.floats(min_value=0.01, max_value=0.99))
def test_claim_test_conclusion_is_its_test_and_agrees_with_the_interval(xn, threshold):
    x, n = xn
    for direction in ("greater", "less"):
        result = stats.claim_test(x, n, threshold, direction)
        assert 0.0 <= result.lower <= result.estimate <= result.upper <= 1.0
        # the tests, recomputed here: P(X >= x) and P(X <= x) under the threshold
        p_ge = float(binom.sf(x - 1, n, threshold))
        p_le = float(binom.cdf(x, n, threshold))
        p_claimed, p_opposite = (p_ge, p_le) if direction == "greater" else (p_le, p_ge)
        assert result.p_claimed == pytest.approx(p_claimed, rel=1e-6, abs=1e-12)
        assert result.p_opposite == pytest.approx(p_opposite, rel=1e-6, abs=1e-12)
        alpha = result.alpha
        assume(abs(p_claimed - alpha) > 1e-9 and abs(p_opposite - alpha) > 1e-9)
        if p_claimed < alpha:
            expected = "supported"
        elif p_opposite < alpha:
            expected = "contradicted"
        else:
            expected = "inconclusive"
        assert result.conclusion == expected
        decisive = p_opposite if expected == "contradicted" else p_claimed
        assert result.p_value == pytest.approx(decisive, rel=1e-6, abs=1e-12)
        # the interval is the inversion of the same tests
        assume(min(abs(result.lower - threshold), abs(result.upper - threshold)) > 1e-9)
        if direction == "greater":
            claimed_side = result.lower > threshold
        else:
            claimed_side = result.upper < threshold
        assert (expected == "supported") == claimed_side
    greater = stats.claim_test(x, n, threshold, "greater").conclusion
    less = stats.claim_test(x, n, threshold, "less").conclusion
    assert not (greater == "supported" and less == "supported")


@SETTINGS
@given(
    xn=counts(max_n=5000),
    low=st.floats(min_value=1e-4, max_value=0.5),
    width=st.floats(min_value=0.0, max_value=0.5),
)
def test_rate_ratio_interval_contains_ratio(xn, low, width):
    x, n = xn
    high = low + width
    r = stats.rate_ratio(x, n, (low, high))
    assert 0.0 <= r.lower <= r.ratio * (1 + 1e-12) + EPS
    assert r.ratio <= r.upper * (1 + 1e-12)
    lo_range, hi_range = r.details["ratio_range"]
    assert r.lower <= lo_range * (1 + 1e-12) + EPS
    assert hi_range <= r.upper * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    low=st.floats(min_value=-1e6, max_value=1e6),
    width=st.floats(min_value=1e-3, max_value=1e6),
)
def test_propagate_reproducible_and_ordered(seed, low, width):
    inputs = {"u": stats.uniform(low, low + width)}
    a = stats.propagate(lambda u: u, inputs, n=2000, seed=seed)
    b = stats.propagate(lambda u: u, inputs, n=2000, seed=seed)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert low <= a.interval[0] <= a.median <= a.interval[1] <= low + width
