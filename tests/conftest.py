"""Shared fixtures. Test expectations come from the sources or hand arithmetic, never from our output."""

from __future__ import annotations

import os
import shutil
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
