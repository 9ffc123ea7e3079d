"""The DiD recovers the effect planted in the synthetic pilot panel.

The truth is the generator's planted rate ratio (0.6 by default; 1.0 for the null check). The
seeds are the default and the first three integers, fixed before looking at any result.
Cluster-robust intervals with four treated forces cover the truth less often than their nominal
95% (notebook 05's coverage simulation measures how often, with its Monte Carlo error), so they
are not what these tests rely on for the post-pilot term: for seed 1 its cluster-robust
interval just misses 0.6 (lower limit 0.6007). The cause is the few treated forces, and the
remedy is the placebo (Conley-Taber) interval, whose spread comes from re-assigning the pilot
to comparison forces: both terms are checked against it, with no tolerance widened.
"""

from __future__ import annotations

import pytest

from analysis.themes import pilots

SEEDS = [pilots.DEFAULT_SEED, 1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
def test_truth_inside_cluster_robust_interval(seed: int) -> None:
    panel = pilots.generate_panel(seed=seed)
    est = pilots.fit_did(panel)
    assert est["pilot"].lower <= 0.6 <= est["pilot"].upper
    # reports made are not changed by the definitions
    assert pilots.fit_did(panel, outcome="reports")["pilot"].covers(1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_truth_inside_placebo_interval(seed: int) -> None:
    panel = pilots.generate_panel(seed=seed)
    placebo = pilots.placebo_estimates(panel, 300, seed=seed)
    fitted = pilots.fit_did(panel)
    for term in ("pilot", "post"):
        lo, hi = pilots.placebo_interval(fitted[term], placebo)
        assert lo <= 0.6 <= hi, (term, lo, hi)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_effect_gives_rate_ratio_near_one(seed: int) -> None:
    panel = pilots.generate_panel(seed=seed, rate_ratio=1.0, post_rate_ratio=1.0)
    est = pilots.fit_did(panel)["pilot"]
    assert est.rate_ratio == pytest.approx(1.0, abs=0.1)
    assert (panel["absent"] == 0).all()


def test_other_planted_effect() -> None:
    panel = pilots.generate_panel(seed=pilots.DEFAULT_SEED, rate_ratio=0.8, post_rate_ratio=0.8)
    est = pilots.fit_did(panel)["pilot"]
    assert est.covers(0.8)


def test_event_study_recovers_timing() -> None:
    es = pilots.fit_event_study(pilots.generate_panel()).set_index("rel_month")
    # every pilot month is well below 1; the pre-pilot months are centred near 1
    assert (es.loc[[0, 1, 2], "upper"] < 0.9).all()
    assert es.loc[-12:-2, "rate_ratio"].between(0.8, 1.25).all()


@pytest.mark.slow
def test_estimator_unbiased_over_seeds() -> None:
    sim = pilots.coverage_simulation(range(100, 160))
    # the mean of 60 estimates, each with sd about 0.027 on the rate-ratio scale
    assert sim["rate_ratio"].mean() == pytest.approx(0.6, abs=0.015)
