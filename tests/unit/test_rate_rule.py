"""One rate rule project-wide: DfE's (31 March Y over the mid-(Y-1) estimate), in one function.

Notebooks 03 and 08 compute rates of looked-after children per 10,000 through different theme
modules (``looked_after`` and ``timeseries``); both must go through
:func:`analysis.published.rate_population` and agree on every year they share. Expected values
are hand arithmetic from the published tables: LAC2013 = 68,110 children at 31 March 2013,
POP0017_2012 = 11,403,970 children aged 0-17 at mid-2012.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import published
from analysis.themes import looked_after, timeseries


def test_the_rule_divides_31_march_y_by_mid_y_minus_1():
    assert published.rate_population(2013)["figure_id"] == "POP0017_2012"
    assert published.rate_population(2025)["figure_id"] == "POP0017_2024"
    assert published.rate_population(2012) is None  # mid-2011 (0-17) not traced: no rate
    assert "mid-(Y-1)" in published.RATE_RULE and "31 March Y" in published.RATE_RULE


def test_notebooks_03_and_08_agree_on_every_shared_year():
    share = looked_after.looked_after_share((10e6, 13e6)).set_index("year")
    rates = timeseries.rate_per(timeseries.select("looked_after", "LAC")).set_index("year")
    shared = sorted(set(share.index) & set(rates.index))
    assert shared == [2009, 2010, 2011, 2012, 2013]
    for year in shared:
        traced = bool(rates.loc[year, "population_traced"])
        assert traced == (share.loc[year, "pop_low"] == share.loc[year, "pop_high"]), year
        if traced:
            assert share.loc[year, "share"] * 1e4 == pytest.approx(rates.loc[year, "rate"])
        else:
            assert np.isnan(rates.loc[year, "rate"])
    assert share.loc[2013, "share"] * 1e4 == pytest.approx(68_110 / 11_403_970 * 1e4)


def test_a_second_rule_is_refused():
    with pytest.raises(ValueError, match="one rate rule"):
        timeseries.rate_per(timeseries.select("looked_after", "LAC"), lag=0)
