"""Public statistical functions are documented with runnable examples and their references."""

from __future__ import annotations

import inspect

import pytest

from analysis import stats

PUBLIC = [
    name
    for name in stats.__all__
    if callable(getattr(stats, name)) and not inspect.isclass(getattr(stats, name))
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_stats_function_has_numpydoc_and_a_doctest(name: str) -> None:
    doc = inspect.getdoc(getattr(stats, name)) or ""
    assert "Parameters" in doc or not inspect.signature(getattr(stats, name)).parameters, name
    assert ">>>" in doc, f"{name}: no runnable example"


def test_hand_written_methods_cite_their_references() -> None:
    for name in (
        "poisson_interval",
        "funnel_limits",
        "proportion_funnel",
        "rate_funnel",
        "ratio_funnel",
        "count_funnel_limits",
        "rate_funnel_limits",
        "ratio_funnel_limits",
        "overdispersion_test",
        "rounded_share_interval",
    ):
        assert "References" in (inspect.getdoc(getattr(stats, name)) or ""), name
