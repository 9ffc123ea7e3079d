"""Property-based tests for :mod:`analysis.stats` (hypothesis).

These check relations every correct implementation must satisfy, whatever the inputs: estimates
inside their intervals, shares within [0, 1], wider intervals at higher confidence, narrower
intervals with more data, and Poisson intervals containing the observed count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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


@SETTINGS
@given(
    data=st.lists(counts(max_n=10_000), min_size=2, max_size=30),
    overdispersion=st.booleans(),
)
def test_proportion_funnel_labels_agree_with_limits(data, overdispersion):
    x = [d[0] for d in data]
    n = [d[1] for d in data]
    pooled = sum(x) / sum(n)
    assume(0.0 < pooled < 1.0 or not overdispersion)
    df = stats.proportion_funnel(x, n, overdispersion=overdispersion)
    assert df.attrs["baseline"] == pytest.approx(pooled)
    assert (df[["lower_95", "upper_95", "lower_99_8", "upper_99_8"]].to_numpy() >= 0).all()
    assert (df[["lower_95", "upper_95", "lower_99_8", "upper_99_8"]].to_numpy() <= 1).all()
    assert (df["lower_99_8"] <= df["lower_95"]).all()
    assert (df["upper_95"] <= df["upper_99_8"]).all()
    for _, row in df.iterrows():
        p = row["proportion"]
        if p > row["upper_99_8"]:
            expected = "high (99.8%)"
        elif p < row["lower_99_8"]:
            expected = "low (99.8%)"
        elif p > row["upper_95"]:
            expected = "high (95%)"
        elif p < row["lower_95"]:
            expected = "low (95%)"
        else:
            expected = "not significant"
        assert row["significance"] == expected
    if overdispersion:
        phi = df.attrs["overdispersion_factor"]
        assert phi >= 0.0
        assert df.attrs["overdispersion_applied"] == (phi > 1.0)


@SETTINGS
@given(xn=counts(max_n=5000), threshold=st.floats(min_value=0.01, max_value=0.99))
def test_claim_test_consistent(xn, threshold):
    x, n = xn
    for direction in ("greater", "less"):
        result = stats.claim_test(x, n, threshold, direction)
        assert 0.0 <= result.lower <= result.estimate <= result.upper <= 1.0
        assert 0.0 <= result.p_value <= 1.0
        if result.conclusion == "supported":
            assert result.lower > threshold if direction == "greater" else result.upper < threshold
        elif result.conclusion == "contradicted":
            assert (
                result.upper <= threshold if direction == "greater" else result.lower >= threshold
            )
        else:
            assert result.lower <= threshold <= result.upper
    # a claim and its opposite cannot both be supported
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
