"""Smoke tests for :func:`analysis.plotting.funnel_plot` (Agg backend, nothing saved)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Annotation

from analysis import stats
from analysis.plotting import funnel_plot

Z998 = 3.090232306167813

# Ten areas of 100 with 10, 15, ..., 40 cases: pooled baseline 0.25; only A (10%) and J (40%) lie
# outside the 99.8% limits 0.25 +/- 3.090232 * sqrt(0.25 * 0.75 / 100) = (0.1162, 0.3838).
X = [10, 15, 20, 20, 25, 25, 30, 30, 35, 40]
N = [100] * 10
LABELS = list("ABCDEFGHIJ")


def _annotations(ax) -> list[str]:
    return sorted(t.get_text() for t in ax.texts if isinstance(t, Annotation))


def _note(ax) -> str:
    notes = [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]
    assert len(notes) == 1
    return notes[0]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_funnel_plot_proportion_smoke():
    df = stats.proportion_funnel(X, N, labels=LABELS)
    ax = funnel_plot(df, per=100, title="Hand-made funnel")
    assert ax.get_title() == "Hand-made funnel"
    assert ax.get_ylabel() == "Percentage"
    # 2 levels x (lower, upper) curves plus the baseline
    assert len(ax.get_lines()) == 5
    assert _annotations(ax) == ["A", "J"]
    # the chart names its method, the over-dispersion test, phi and tau2
    note = _note(ax)
    assert note.startswith("Normal-approximation limits")
    for word in ("over-dispersion test p = ", "phi = 2.78", "tau² = ", "no adjustment"):
        assert word in note
    baseline = [line for line in ax.get_lines() if line.get_label() == "Baseline (pooled)"][0]
    assert baseline.get_ydata()[0] == pytest.approx(25.0)
    # the curves are smooth (many grid points), and the 99.8% upper curve at n = 100 matches
    upper_998 = [line for line in ax.get_lines() if line.get_linestyle() == "-"][1]
    gx, gy = upper_998.get_xdata(), upper_998.get_ydata()
    assert len(gx) > 100
    expected = 100 * (0.25 + Z998 * math.sqrt(0.25 * 0.75 / 100))
    assert np.interp(100, gx, gy) == pytest.approx(expected, rel=1e-3)


def test_funnel_plot_uses_label_column_and_existing_axes():
    df = stats.proportion_funnel(X, N)
    df["name"] = [f"Area {c}" for c in LABELS]
    fig, ax = plt.subplots()
    out = funnel_plot(df, ax, label_col="name")
    assert out is ax
    assert _annotations(ax) == ["Area A", "Area J"]


def test_funnel_plot_rate_with_overdispersion_smoke():
    # phi = 2.082 for these counts (worked out in test_stats_funnels); the test rejects, and the
    # drawn 95% upper line at 10,000 people is 100 + 1.96 sqrt(2.082 * 100)
    d = [-30, -20, -10, -10, 0, 0, 10, 10, 20, 30]
    df = stats.rate_funnel([100 + v for v in d], [10_000] * 10, overdispersion="multiplicative")
    ax = funnel_plot(df)
    assert ax.get_ylabel() == "Rate per 10,000"
    assert "limits widened by phi = 2.08" in _note(ax)
    upper_95 = [line for line in ax.get_lines() if line.get_linestyle() == "--"][1]
    expected = 100 + 1.959963984540054 * math.sqrt(2.082 * 100)
    assert np.interp(10_000, upper_95.get_xdata(), upper_95.get_ydata()) == pytest.approx(
        expected, rel=1e-3
    )


def test_funnel_plot_exact_ratio_funnel_draws_the_exact_lines():
    # A ratio funnel: the 99.8% upper line at E = 10 is 21.6 / 10 (exact), not 1 + 3.09 / sqrt(10)
    df = stats.ratio_funnel([5, 12, 30, 8], [10.0, 10.0, 25.0, 4.0], baseline=1.0)
    ax = funnel_plot(df)
    assert ax.get_xlabel() == "Expected count"
    assert _note(ax).startswith("Exact Poisson limits (PHE)")
    upper_998 = [line for line in ax.get_lines() if line.get_linestyle() == "-"][1]
    exact = stats.count_funnel_limits(10.0, 0.998).upper / 10
    assert 2.15 < exact < 2.17
    assert np.interp(10.0, upper_998.get_xdata(), upper_998.get_ydata()) == pytest.approx(
        exact, rel=2e-3
    )
