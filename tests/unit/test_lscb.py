"""Unit tests for :mod:`analysis.themes.lscb`: expectations are hand arithmetic on the published values.

Published values used (data/published/lscb.csv): JAGO01 = 100 LSCBs; JAGO02 = 0.25, JAGO03 = 0.38,
JAGO04 = 0.64, JAGO05 = 0.333 (shares of LSCBs); JAGO08 = fewer than 0.25 of JAGO09 = 101 LSCBs;
BAR01 = fewer than 0.5 of local authorities; CEOP03 = 13 LSCBs; OCC05 = 0.88.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from analysis import stats
from analysis.themes import lscb

Wilson = Callable[[float, float], tuple[float, float]]  # the fixture in tests/conftest.py


def test_wilson_helper_matches_reference_value(wilson: Wilson) -> None:
    # PHEindicatormethods reference: 65/100 -> (0.552544432969, 0.736357517569)
    lo, hi = wilson(65, 100)
    assert lo == pytest.approx(0.552544432969, abs=1e-9)
    assert hi == pytest.approx(0.736357517569, abs=1e-9)


def test_bedfordshire_counts_reconstructed_from_shares() -> None:
    t = lscb.bedfordshire_shares().set_index("figure_id")
    # 0.25 x 100 = 25; 0.38 x 100 = 38; 0.64 x 100 = 64; 0.333 x 100 = 33.3 -> 33
    assert t["x"].to_dict() == {"JAGO02": 25, "JAGO03": 38, "JAGO04": 64, "JAGO05": 33}
    assert set(t["n"]) == {100}
    assert (t["unit"] == "proportion of LSCBs").all()


def test_bedfordshire_wilson_interval_for_a_quarter(wilson: Wilson) -> None:
    # 25/100 at 95%: centre = (50 + 3.8415) / 207.683 = 0.25925; half-width
    # = 1.96 x sqrt(3.8415 + 75) / 207.683 = 0.08380 -> (0.17545, 0.34305)
    t = lscb.bedfordshire_shares().set_index("figure_id")
    lo, hi = wilson(25, 100)
    assert lo == pytest.approx(0.17545, abs=5e-5)
    assert hi == pytest.approx(0.34305, abs=5e-5)
    assert t.loc["JAGO02", "lower"] == pytest.approx(lo, abs=1e-9)
    assert t.loc["JAGO02", "upper"] == pytest.approx(hi, abs=1e-9)
    lo64, hi64 = wilson(64, 100)
    assert t.loc["JAGO04", "lower"] == pytest.approx(lo64, abs=1e-9)
    assert t.loc["JAGO04", "upper"] == pytest.approx(hi64, abs=1e-9)


@pytest.mark.parametrize(
    ("bound", "n", "qualifier", "expected"),
    [
        (0.25, 101, "less_than", (0, 25)),  # 25/101 = 24.75% < 25%; 26/101 = 25.74%
        (0.5, 152, "less_than", (0, 75)),  # 76/152 is exactly half, not fewer than half
        (0.5, 100, "more_than", (51, 100)),  # over half of 100
        (0.5, 100, "up_to", (0, 50)),
        (2 / 3, 152, "at_least", (102, 152)),  # 152 x 2/3 = 101.33 -> 102
    ],
)
def test_counts_allowed_by_bound(bound, n, qualifier, expected) -> None:
    assert lscb.counts_allowed_by_bound(bound, n, qualifier) == expected


def test_counts_allowed_by_bound_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="qualifier"):
        lscb.counts_allowed_by_bound(0.5, 100, "about")
    with pytest.raises(ValueError, match="bound"):
        lscb.counts_allowed_by_bound(1.5, 100, "less_than")
    with pytest.raises(ValueError, match="no whole count"):
        lscb.counts_allowed_by_bound(0.0, 100, "less_than")


def test_counts_consistent_with_share() -> None:
    # 29% of 498: 141/498 = 28.31%, 142/498 = 28.51%, 146/498 = 29.32%, 147/498 = 29.52%
    assert stats.counts_consistent_with_share(0.29, 498) == (142, 146)
    assert stats.counts_consistent_with_share(0.38, 100) == (38, 38)


def test_evidence_claims_ranges_and_outer_limits(wilson: Wilson) -> None:
    c = lscb.evidence_claims(0.5).set_index("figure_ids")
    over_half = c.loc["JAGO01"]
    assert (over_half["x_min"], over_half["x_max"], over_half["n"]) == (51, 100, 100)
    assert over_half["outer_lower"] == pytest.approx(wilson(51, 100)[0], abs=1e-9)
    protocols = c.loc["JAGO08;JAGO09"]
    assert (protocols["x_min"], protocols["x_max"], protocols["n"]) == (0, 25, 101)
    assert protocols["share_max"] == pytest.approx(25 / 101)
    assert protocols["outer_upper"] == pytest.approx(wilson(25, 101)[1], abs=1e-9)


def test_pledge_counts() -> None:
    p = lscb.pledge_counts(152, (0.60, 2 / 3)).set_index("when")
    assert p.loc["January 2012", "count_max"] == 75  # fewer than 152 / 2 = 76
    # 0.60 x 152 = 91.2 -> at least 92; 2/3 x 152 = 101.33 -> at most 101
    assert p.loc["April 2012", "count_min"] == 92
    assert p.loc["April 2012", "count_max"] == 101
    assert p.loc["April 2012", "count_point"] == pytest.approx(152 * 2 / 3)
    assert p.loc["April 2012", "source_id"] == ""  # the April figure is not traced
    with pytest.raises(ValueError):
        lscb.pledge_counts(152, (0.7, 0.6))


def test_new_pledges_implied() -> None:
    res, s = lscb.new_pledges_implied(152, (0.60, 2 / 3), 3, n=50_000)
    row = s.iloc[0]
    # at two thirds: 152 x 2/3 - 75 = 101.333 - 75 = 26.333
    assert row["point"] == pytest.approx(26.3333, abs=1e-3)
    assert row["point_per_month"] == pytest.approx(26.3333 / 3, abs=1e-3)
    # uniform share: mean = (0.60 + 0.6667) / 2 x 152 - 75 = 96.267 - 75 = 21.267
    assert row["mean"] == pytest.approx(21.267, abs=0.1)
    # every draw between 0.60 x 152 - 75 = 16.2 and 26.333
    assert row["min"] >= 16.2 - 1e-9
    assert row["max"] <= 26.3334
    assert row["not_pledged_in_january_min"] == 152 - 75
    # reproducible with the default seed
    res2, _ = lscb.new_pledges_implied(152, (0.60, 2 / 3), 3, n=50_000)
    assert (res.samples == res2.samples).all()


def test_data_returns() -> None:
    d = lscb.data_returns((150, 180)).set_index("figure_id")
    assert d.loc["CEOP03", "value"] == 13
    assert d.loc["CEOP03", "share_min"] == pytest.approx(13 / 180)  # 0.0722
    assert d.loc["CEOP03", "share_max"] == pytest.approx(13 / 150)  # 0.0867
    assert d.loc["OCC05", "share"] == pytest.approx(0.88)
    count_only = lscb.data_returns().set_index("figure_id")
    assert math.isnan(count_only.loc["CEOP03", "share"])
    with pytest.raises(ValueError):
        lscb.data_returns((10, 150))  # fewer LSCBs than answered
