"""Unit tests for :mod:`analysis.themes.prevalence`: expectations are hand arithmetic on published values.

Published values used: CEOP01 = 2,083 victims (UK; window from CEOP08, 2008-03-01 to 2011-01-31);
OCC01 = 2,409 in "14 months" (dated 2010-08-01 to 2011-10-31); OCC02 = 16,500 (2010-04 to
2011-03); OCC06 = up to 10,000; BAR02 = 1,190 (UK, 2011); JAGO06 = 1,065 cases;
POP0017_2012 = 11,403,970 children.
"""

from __future__ import annotations

import math

import pytest

from analysis.themes import prevalence

Z95 = 1.959963984540054
POP = 11_403_970


def byar(x: float, z: float = Z95) -> tuple[float, float]:
    """Byar's approximation written out from the formula."""
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower, upper


def default_table():
    return prevalence.prevalence_table(
        window_from={"CEOP01": "CEOP08"},
        alternative_windows={"CEOP01": ("2008-01-01", "2011-03-31")},
        assumed_months={"OCC06": 12, "JAGO06": 12},
    ).set_index("figure_id")


def test_annualise_and_rate() -> None:
    assert prevalence.annualise(2409, 14) == pytest.approx(2064.857, abs=1e-3)  # 2409 x 12 / 14
    assert prevalence.annualise(2083, 35) == pytest.approx(714.171, abs=1e-3)  # 2083 x 12 / 35
    # 2,064.857 / 11,403,970 x 10,000 = 1.81065
    assert prevalence.per_children(2409 * 12 / 14, POP) == pytest.approx(1.81065, abs=1e-5)
    with pytest.raises(ValueError):
        prevalence.annualise(10, 0)


def test_calendar_and_stated_months() -> None:
    assert prevalence.calendar_months("2010-08-01", "2011-10-31") == 15
    assert prevalence.calendar_months("2008-03-01", "2011-01-31") == 35
    assert prevalence.calendar_months("2008-01-01", "2011-03-31") == 39
    assert prevalence.stated_months("2010-08 to 2011-10 (14 months)") == 14
    assert prevalence.stated_months("2011") is None
    with pytest.raises(ValueError):
        prevalence.calendar_months("2011-01-01", "2010-01-01")


def test_prevalence_table_annual_basis() -> None:
    t = default_table()
    assert list(t.index) == list(prevalence.PREVALENCE_IDS)
    occ = t.loc["OCC01"]
    assert occ["months"] == 14 and occ["months_basis"] == "stated by the source"
    assert occ["annual"] == pytest.approx(2409 * 12 / 14)  # 2,064.9
    assert occ["annual_low"] == pytest.approx(2409 * 12 / 15)  # 1,927.2 (dates span 15 months)
    ceop = t.loc["CEOP01"]
    assert ceop["months"] == 35 and ceop["months_basis"] == "window of CEOP08"
    assert ceop["annual"] == pytest.approx(2083 * 12 / 35)  # 714.2
    assert ceop["annual_low"] == pytest.approx(2083 * 12 / 39)  # 640.9
    assert t.loc["OCC02", "annual"] == pytest.approx(16_500)
    assert t.loc["JAGO06", "months_basis"].startswith("assumed")
    assert t.loc["OCC02", "per_10000"] == pytest.approx(16_500 / POP * 1e4)  # 14.4686


def test_prevalence_table_intervals_and_flags() -> None:
    t = default_table()
    lo, hi = byar(1190)
    assert t.loc["BAR02", "poisson_lower"] == pytest.approx(lo, rel=1e-9)
    assert t.loc["BAR02", "poisson_upper"] == pytest.approx(hi, rel=1e-9)
    lo, hi = byar(2409)
    assert t.loc["OCC01", "poisson_lower"] == pytest.approx(lo * 12 / 14, rel=1e-9)
    assert t.loc["OCC01", "per_10000_upper"] == pytest.approx(hi * 12 / 14 / POP * 1e4, rel=1e-9)
    assert math.isnan(t.loc["OCC06", "poisson_lower"])  # "up to": no interval
    assert not t.loc["CEOP01", "geography_matches"]  # UK against England's children
    assert not t.loc["BAR02", "geography_matches"]
    assert t.loc["OCC01", "geography_matches"]
    assert t.loc["JAGO06", "unit"] == "cases"


def test_prevalence_table_needs_a_period() -> None:
    with pytest.raises(ValueError, match="CEOP01"):
        prevalence.prevalence_table(["CEOP01"])
