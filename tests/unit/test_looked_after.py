"""Unit tests for :mod:`analysis.themes.looked_after`: expectations are hand arithmetic on published values.

Published values used: LAC2009-LAC2013 = 60,900 / 64,400 / 65,520 / 67,050 / 68,110 (first
published), revised 65,510 / 67,070 / 68,060; POP2011 = 53,107,200; POP0015 = 0.19;
POP0017_2012 = 11,403,970; BAR03 = 0.29 of 498; CEOP01 = 2,083; CEOP08 = 311; CEOP10 = 1,087;
REF2012 = 605,100; CIN2012 = 369,400; CPP2010 = 39,100; CPP2013 = 43,100.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from analysis.themes import looked_after

Wilson = Callable[[float, float], tuple[float, float]]  # the fixture in tests/conftest.py


def test_lac_series_first_published_and_revised() -> None:
    s = looked_after.lac_series(2009, 2013)
    first = s[~s["revised"]].set_index("year")["value"].to_dict()
    assert first == {2009: 60900, 2010: 64400, 2011: 65520, 2012: 67050, 2013: 68110}
    revised = s[s["revised"]].set_index("year")["value"].to_dict()
    assert revised == {2011: 65510, 2012: 67070, 2013: 68060}


def test_child_population_range() -> None:
    r = looked_after.child_population_range(0.03, (0.95, 1.10)).set_index("derivation")
    # 53,107,200 x 0.185 = 9,824,832; x (1 + 0.95 x 2/16 = 1.11875) = 10,991,530.8
    assert r.loc["census share", "low"] == pytest.approx(10_991_530.8, abs=0.1)
    # 53,107,200 x 0.195 = 10,355,904; x (1 + 1.10 x 2/16 = 1.1375) = 11,779,840.8
    assert r.loc["census share", "high"] == pytest.approx(11_779_840.8, abs=0.1)
    # 11,403,970 x 0.97 = 11,061,850.9; x 1.03 = 11,746,089.1
    assert r.loc["around 2012", "low"] == pytest.approx(11_061_850.9, abs=0.1)
    assert r.loc["around 2012", "high"] == pytest.approx(11_746_089.1, abs=0.1)
    env = r.loc["assumed range (envelope)"]
    assert (env["low"], env["high"]) == pytest.approx((10_991_530.8, 11_779_840.8), abs=0.1)
    with pytest.raises(ValueError):
        looked_after.child_population_range(1.5, (0.95, 1.10))


def test_looked_after_share() -> None:
    t = looked_after.looked_after_share((11_000_000, 12_000_000)).set_index("year")
    # DfE's rule: 31 March 2013 over mid-2012 (traced); 31 March 2012 needs mid-2011 (assumed).
    assert t.loc[2013, "share"] == pytest.approx(68_110 / 11_403_970)  # 0.5972%
    assert t.loc[2012, "share_low"] == pytest.approx(67_050 / 12_000_000)
    assert t.loc[2012, "population_basis"].startswith("assumed")
    assert t.loc[2010, "share_low"] == pytest.approx(64_400 / 12_000_000)
    assert t.loc[2010, "share_high"] == pytest.approx(64_400 / 11_000_000)
    assert t.loc[2010, "population_basis"].startswith("assumed")


def test_ceop_in_care_bounds(wilson: Wilson) -> None:
    b = looked_after.ceop_in_care_bounds().set_index("reading")
    shares = b["share"].tolist()
    # 311/2083 = 0.14930; 311/(2083 - 1087 = 996) = 0.31225; (311 + 1087 = 1398)/2083 = 0.67115
    assert shares == pytest.approx([0.149304, 0.312249, 0.671147], abs=1e-6)
    lo, hi = wilson(311, 2083)
    assert b["lower"].iloc[0] == pytest.approx(lo, abs=1e-9)
    assert b["upper"].iloc[0] == pytest.approx(hi, abs=1e-9)


def test_overrepresentation_barnardos(wilson: Wilson) -> None:
    o = looked_after.overrepresentation((11_000_000, 11_000_000), ("LAC2011",))
    bar = o.set_index("case_group").loc["Barnardo's one-day survey"]
    # 0.29 x 498 = 144.42 -> 144; consistent counts 142..146
    assert (bar["x"], bar["x_min"], bar["x_max"], bar["n"]) == (144, 142, 146, 498)
    pop_share = 65_520 / 11_000_000  # 0.0059564
    assert bar["ratio"] == pytest.approx((144 / 498) / pop_share)  # 48.545
    # the rounding is carried into the interval: Wilson lower limit of 142, upper of 146
    lo, hi = wilson(142, 498)[0], wilson(146, 498)[1]
    assert (bar["lower"], bar["upper"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi))
    assert bar["ratio_lower"] == pytest.approx(lo / pop_share, rel=1e-9)
    assert bar["ratio_upper"] == pytest.approx(hi / pop_share, rel=1e-9)
    # wider than the interval of 144 alone
    assert lo < wilson(144, 498)[0] and hi > wilson(144, 498)[1]


def test_overrepresentation_population_range_is_conservative(wilson: Wilson) -> None:
    o = looked_after.overrepresentation((11e6, 12e6), ("LAC2009", "LAC2011"))
    row = o.iloc[0]
    assert row["pop_share_low"] == pytest.approx(60_900 / 12e6)
    assert row["pop_share_high"] == pytest.approx(65_520 / 11e6)
    lo, hi = wilson(142, 498)[0], wilson(146, 498)[1]
    assert row["ratio_lower"] == pytest.approx(lo / (65_520 / 11e6))
    assert row["ratio_upper"] == pytest.approx(hi / (60_900 / 12e6))


def test_ratio_sensitivity_grows_with_population() -> None:
    s = looked_after.ratio_sensitivity(144, 498, 65_520, np.array([10e6, 11e6, 12e6]))
    assert s["ratio"].tolist() == pytest.approx(
        [(144 / 498) / (65_520 / p) for p in (10e6, 11e6, 12e6)]
    )
    assert s["ratio"].is_monotonic_increasing


def test_known_ladder_per_10000() -> None:
    k = looked_after.known_ladder().set_index("figure_id")
    assert k.loc["REF2012", "unit"] == "referrals"
    # DfE's rule: 31 March 2013 over mid-2012 (traced); 2012 rungs need mid-2011 (not traced).
    assert k.loc["CPP2013", "per_10000"] == pytest.approx(43_100 / 11_403_970 * 1e4)  # 37.8
    assert np.isnan(k.loc["REF2012", "per_10000"]) and np.isnan(k.loc["LAC2012", "per_10000"])
    ranged = looked_after.known_ladder((11_000_000, 12_000_000)).set_index("figure_id")
    assert ranged.loc["REF2012", "per_10000_low"] == pytest.approx(605_100 / 12_000_000 * 1e4)
    assert ranged.loc["CIN2012", "per_10000_high"] == pytest.approx(369_400 / 11_000_000 * 1e4)
    assert ranged.loc["CPP2013", "per_10000_low"] == ranged.loc["CPP2013", "per_10000_high"]
    assert k.loc["CPP2010", "value"] == 39_100 and k.loc["CPP2013", "value"] == 43_100


def test_age_matched_overrepresentation_by_hand(wilson: Wilson) -> None:
    # 2012: 67,050 looked after of 11,403,970 aged 0-17. Suppose 37,720-37,740 of them aged
    # 10-17 and 40%-48% of all children aged 10-17. Share among 10-17s: lowest
    # 37,720 / (11,403,970 x 0.48), highest 37,740 / (11,403,970 x 0.40).
    t = looked_after.age_matched_overrepresentation((37_720, 37_740), (0.40, 0.48))
    bar = t[t["case_group"] == "Barnardo's one-day survey"].set_index("ages")
    all_share = 67_050 / 11_403_970
    assert bar.loc["0-17", "pop_share_low"] == pytest.approx(all_share)
    lo = 37_720 / (11_403_970 * 0.48)
    hi = 37_740 / (11_403_970 * 0.40)
    assert bar.loc["10-17", "pop_share_low"] == pytest.approx(lo)
    assert bar.loc["10-17", "pop_share_high"] == pytest.approx(hi)
    share = 144 / 498
    assert bar.loc["0-17", "ratio"] == pytest.approx(share / all_share)
    assert bar.loc["10-17", "ratio"] == pytest.approx(share / ((lo + hi) / 2))
    assert bar.loc["10-17", "ratio_change"] == pytest.approx(all_share / ((lo + hi) / 2))
    # the rounding of 29% carried: 142..146 of 498
    w_lo, w_hi = wilson(142, 498)[0], wilson(146, 498)[1]
    assert bar.loc["10-17", "ratio_lower"] == pytest.approx(w_lo / hi)
    assert bar.loc["10-17", "ratio_upper"] == pytest.approx(w_hi / lo)
    assert len(t) == 2 * 4  # Barnardo's and CEOP's three readings, each at two age bands
    with pytest.raises(ValueError, match="older_population_fraction"):
        looked_after.age_matched_overrepresentation((1, 2), (0.5, 1.5))
