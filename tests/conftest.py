"""Shared fixtures. Test expectations come from the sources or hand arithmetic, never from our output."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# In CI, property tests draw the same examples every run (a failure can always be replayed) and
# never fail on timing; locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def published_copy(tmp_path: Path) -> Path:
    """A private copy of data/published/ that a test may break."""
    target = tmp_path / "published"
    shutil.copytree(ROOT / "data" / "published", target)
    return target


@pytest.fixture
def figures_built() -> Path:
    """figures/ after `make figures`; skips with a reason if it has not been built."""
    figures = ROOT / "figures"
    if not (figures / "01_missing_chain.png").exists():
        pytest.skip("figures/ not built: run `make figures` (make test does it first)")
    return figures


@pytest.fixture(scope="session")
def wilson() -> Callable[[float, float], tuple[float, float]]:
    """The 95% Wilson score interval for ``x`` of ``n``, written out from the formula.

    ``(2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))`` with ``z = Phi^-1(0.975)``
    (Wilson, 1927): independent of the package and of statsmodels.
    """
    z = 1.959963984540054  # Phi^-1(0.975)

    def interval(x: float, n: float) -> tuple[float, float]:
        centre = 2 * x + z**2
        half = z * math.sqrt(z**2 + 4 * x * (1 - x / n))
        denom = 2 * (n + z**2)
        return (centre - half) / denom, (centre + half) / denom

    return interval
