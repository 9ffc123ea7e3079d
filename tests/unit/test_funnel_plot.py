"""Smoke tests for :func:`analysis.plotting.funnel_plot` (Agg backend, nothing saved)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analysis import stats
from analysis.plotting import funnel_plot

Z998 = 3.090232306167813

# Ten areas of 100 with 10, 15, ..., 40 cases: pooled baseline 0.25; only A (10%) and J (40%) lie
# outside the 99.8% limits 0.25 +/- 3.090232 * sqrt(0.25 * 0.75 / 100) = (0.1162, 0.3838).
X = [10, 15, 20, 20, 25, 25, 30, 30, 35, 40]
N = [100] * 10
LABELS = list("ABCDEFGHIJ")


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
    annotations = sorted(t.get_text() for t in ax.texts)
    assert annotations == ["A", "J"]
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
    assert sorted(t.get_text() for t in ax.texts) == ["Area A", "Area J"]


def test_funnel_plot_rate_with_overdispersion_smoke():
    d = [-30, -20, -10, -10, 0, 0, 10, 10, 20, 30]
    df = stats.rate_funnel([100 + v for v in d], [10_000] * 10, overdispersion=True)
    ax = funnel_plot(df)
    assert ax.get_ylabel() == "Rate per 10,000"
    assert any("over-dispersion" in t.get_text() for t in ax.texts)
