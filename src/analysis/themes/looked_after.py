"""Looked-after children: numbers, share of all children, and over-representation among victims.

The evidence says looked-after children are disproportionately represented among exploited
children, and warns that "known to social services" is a loose description. The published figures
are DfE's counts of children looked after at 31 March (first-published and revised), ONS's child
population (only mid-2012 onwards in the project, in ONS's current vintage), Barnardo's one-day
survey (29% of 498 service users looked after) and CEOP's thematic assessment (at least 311 of
2,083 victims in care, 1,087 with no background recorded).

The child population for 2009-2011 was not traced; :func:`child_population_range` derives a range
from stated assumptions, and the over-representation functions take a population range so the
conclusion can be checked across it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import published, stats
from analysis.tables import ids_in, sourced_frame

__all__ = [
    "ceop_in_care_bounds",
    "child_population_range",
    "known_ladder",
    "lac_series",
    "looked_after_share",
    "overrepresentation",
    "ratio_sensitivity",
]


def lac_series(first: int = 2009, last: int = 2013) -> pd.DataFrame:
    """Return children looked after at 31 March, first-published and revised, for ``first..last``.

    Returns
    -------
    pandas.DataFrame
        Columns ``year, figure_id, value, vintage, revised, unit, source_id``; one row per
        published value (a revised value is its own row, ``figure_id`` ending in ``R``).

    Examples
    --------
    >>> s = lac_series()
    >>> s.loc[~s["revised"], "value"].astype(int).tolist()
    [60900, 64400, 65520, 67050, 68110]
    >>> s.loc[s["revised"], "figure_id"].tolist()
    ['LAC2011R', 'LAC2012R', 'LAC2013R']
    """
    lac = published.load_looked_after()
    lac["year"] = lac["period_end"].dt.year
    lac["revised"] = lac["vintage"].str.startswith("revised")
    keep = lac[(lac["year"] >= first) & (lac["year"] <= last)]
    out = keep[["year", "figure_id", "value", "vintage", "revised", "unit", "source_id"]]
    out = out.sort_values(["revised", "year"]).reset_index(drop=True)
    out.attrs.update(sources=ids_in(out["source_id"]), synthetic=False)
    return out


def child_population_range(
    pct_around_2012: float,
    age_16_17_ratio: tuple[float, float],
    share_rounding: float = 0.005,
) -> pd.DataFrame:
    """Derive an assumed range for England's 0-17 population in 2009-2011 (not traced).

    Two derivations, both labelled assumptions, and their envelope:

    * **census share**: ``POP2011 x POP0015`` gives the 0-15s; POP0015 is rounded to a whole
      percent, so it is taken as ``POP0015 +/- share_rounding``. The 16-17s are two single years
      of age, each assumed to hold ``age_16_17_ratio`` times the average single year aged 0-15,
      i.e. ``0-15 x 2/16 x ratio``.
    * **around 2012**: ``POP0017_2012 x (1 +/- pct_around_2012)`` (ONS current vintage).

    Parameters
    ----------
    pct_around_2012 : float
        Half-width of the band around the mid-2012 estimate, as a fraction (0.03 for +/- 3%).
    age_16_17_ratio : (float, float)
        Range of the size of one single year of age 16-17 relative to the mean single year 0-15.
    share_rounding : float, default 0.005
        Half-width of the rounding of POP0015 (whole percent -> 0.005).

    Returns
    -------
    pandas.DataFrame
        Rows ``census share``, ``around 2012`` and ``assumed range (envelope)``; columns
        ``derivation, low, high, figure_ids, source_id, assumption``.

    Examples
    --------
    >>> r = child_population_range(0.03, (0.95, 1.10)).set_index("derivation")
    >>> round(float(r.loc["census share", "low"])), round(float(r.loc["census share", "high"]))
    (10991531, 11779841)
    >>> round(float(r.loc["around 2012", "low"]))
    11061851
    """
    if not 0 < pct_around_2012 < 1:
        raise ValueError(f"pct_around_2012 must be a fraction in (0, 1); got {pct_around_2012!r}")
    r_lo, r_hi = age_16_17_ratio
    if not 0 < r_lo <= r_hi:
        raise ValueError(
            f"age_16_17_ratio must be (low, high) with 0 < low <= high; got {age_16_17_ratio}"
        )
    pop = published.figure("POP2011")
    share = published.figure("POP0015")
    p2012 = published.figure("POP0017_2012")
    s = float(share["value"])
    census_lo = pop["value"] * (s - share_rounding) * (1 + 2 / 16 * r_lo)
    census_hi = pop["value"] * (s + share_rounding) * (1 + 2 / 16 * r_hi)
    around_lo = p2012["value"] * (1 - pct_around_2012)
    around_hi = p2012["value"] * (1 + pct_around_2012)
    rows = [
        {
            "derivation": "census share",
            "low": float(census_lo),
            "high": float(census_hi),
            "figure_ids": "POP2011;POP0015",
            "source_id": f"{pop['source_id']};{share['source_id']}",
            "assumption": f"0-15 share {s:g} +/- {share_rounding:g}; each of ages 16 and 17 = "
            f"{r_lo:g}-{r_hi:g} x the mean single year aged 0-15",
        },
        {
            "derivation": "around 2012",
            "low": float(around_lo),
            "high": float(around_hi),
            "figure_ids": "POP0017_2012",
            "source_id": p2012["source_id"],
            "assumption": f"2009-2011 within +/- {pct_around_2012:.0%} of the mid-2012 estimate "
            "(current ONS vintage)",
        },
    ]
    rows.append(
        {
            "derivation": "assumed range (envelope)",
            "low": min(r["low"] for r in rows),
            "high": max(r["high"] for r in rows),
            "figure_ids": "POP2011;POP0015;POP0017_2012",
            "source_id": ";".join(
                dict.fromkeys([pop["source_id"], share["source_id"], p2012["source_id"]])
            ),
            "assumption": "the widest of the two derivations",
        }
    )
    return sourced_frame(rows)


def looked_after_share(population_range_2009_2011: tuple[float, float]) -> pd.DataFrame:
    """Return looked-after children as a share of England's children, 2009-2013.

    2012 and 2013 use the ONS mid-year estimate of the same year (POP0017_2012/2013, current
    vintage) as a point; 2009-2011 use the assumed population range, giving a range of shares.
    Each year uses the first-published looked-after count.

    Parameters
    ----------
    population_range_2009_2011 : (float, float)
        Assumed (low, high) child population for 2009-2011.

    Returns
    -------
    pandas.DataFrame
        Columns ``year, figure_id, looked_after, pop_low, pop_high, share, share_low,
        share_high, population_basis, source_id``.

    Examples
    --------
    >>> t = looked_after_share((11e6, 11.8e6)).set_index("year")
    >>> round(float(t.loc[2012, "share"]) * 100, 3)  # 67050 / 11403970
    0.588
    """
    lo, hi = population_range_2009_2011
    if not 0 < lo <= hi:
        raise ValueError(
            f"population range must be (low, high) with 0 < low <= high; got {lo}, {hi}"
        )
    series = lac_series()
    first = series[~series["revised"]]
    rows = []
    for r in first.itertuples():
        pid = f"POP0017_{r.year}"
        try:
            pop = published.figure(pid)
        except KeyError:
            p_lo, p_hi, basis, psrc = lo, hi, "assumed range (not traced)", ""
        else:
            p_lo = p_hi = float(pop["value"])
            basis, psrc = f"{pid} (ONS current vintage)", pop["source_id"]
        rows.append(
            {
                "year": int(r.year),
                "figure_id": r.figure_id,
                "looked_after": float(r.value),
                "pop_low": p_lo,
                "pop_high": p_hi,
                "share": float(r.value) / ((p_lo + p_hi) / 2),
                "share_low": float(r.value) / p_hi,
                "share_high": float(r.value) / p_lo,
                "population_basis": basis,
                "source_id": ";".join(s for s in (r.source_id, psrc) if s),
            }
        )
    return sourced_frame(rows)


def ceop_in_care_bounds(confidence: float = 0.95) -> pd.DataFrame:
    """Return bounds on the share of CEOP's victims who were in care.

    311 victims were recorded as in care (CEOP08) among 2,083 (CEOP01); 1,087 had no background
    recorded (CEOP10). Three readings:

    * lower bound: none of the unrecorded were in care, ``311 / 2083``;
    * known background: the unrecorded resemble the recorded, ``311 / (2083 - 1087)``;
    * upper bound: all the unrecorded were in care, ``(311 + 1087) / 2083``.

    Each gets a Wilson interval (sampling error only; the bounds themselves are not statistical).

    Examples
    --------
    >>> b = ceop_in_care_bounds().set_index("reading")
    >>> [int(v) for v in b["x"]], [int(v) for v in b["n"]]
    ([311, 311, 1398], [2083, 996, 2083])
    """
    care = int(published.value("CEOP08"))
    total = int(published.value("CEOP01"))
    unknown = int(published.value("CEOP10"))
    src = ";".join(
        dict.fromkeys(published.figure(f)["source_id"] for f in ("CEOP08", "CEOP01", "CEOP10"))
    )
    readings = [
        ("lower bound (no unrecorded victim in care)", care, total),
        ("known background only", care, total - unknown),
        ("upper bound (every unrecorded victim in care)", care + unknown, total),
    ]
    rows = []
    for reading, x, n in readings:
        lo, hi = stats.wilson_interval(x, n, confidence)
        rows.append(
            {
                "reading": reading,
                "x": x,
                "n": n,
                "share": x / n,
                "lower": float(lo),
                "upper": float(hi),
                "unit": "proportion of victims",
                "geography": published.figure("CEOP08")["geography"],
                "figure_ids": "CEOP08;CEOP01;CEOP10",
                "source_id": src,
            }
        )
    return sourced_frame(rows)


def overrepresentation(
    population_range: tuple[float, float],
    looked_after_ids: Sequence[str] = ("LAC2011",),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return case shares looked after and their ratio to the population share.

    The population share is ``looked_after / child population``: its lowest value uses the
    smallest looked-after count over the highest population, its highest the largest count over
    the lowest population. Ratios use :func:`analysis.stats.rate_ratio` with that share range
    (Wilson interval of the case share divided by the share range, conservatively).

    Case rows: Barnardo's one-day survey (BAR03: share of 498 service users; ``x`` reconstructed
    as ``round(0.29 x 498)``, consistent counts in ``x_min..x_max``) and the three readings of
    :func:`ceop_in_care_bounds`.

    Parameters
    ----------
    population_range : (float, float)
        (low, high) child population for the period the cases refer to.
    looked_after_ids : sequence of str
        Looked-after figures spanning the period (e.g. LAC2009-LAC2011 for CEOP's window).
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        Columns ``case_group, reading, x, x_min, x_max, n, share, lower, upper,
        pop_share_low, pop_share_high, ratio, ratio_lower, ratio_upper, ratio_low_point,
        ratio_high_point, geography_note, source_id``.

    Examples
    --------
    >>> o = overrepresentation((11e6, 11.8e6)).set_index("case_group")
    >>> int(o.loc["Barnardo's one-day survey", "x"])
    144
    """
    lo_pop, hi_pop = population_range
    lac_values = [published.value(f) for f in looked_after_ids]
    share_low = min(lac_values) / hi_pop
    share_high = max(lac_values) / lo_pop
    lac_src = [published.figure(f)["source_id"] for f in looked_after_ids]
    bar = published.figure("BAR03")
    n_bar = int(published.value("BAR03N"))  # the survey's 498 children
    x_bar = round(float(bar["value"]) * n_bar)
    x_min, x_max = stats.counts_consistent_with_share(float(bar["value"]), n_bar)
    cases = [
        (
            "Barnardo's one-day survey",
            "looked-after share of service users",
            x_bar,
            x_min,
            x_max,
            n_bar,
            "England; survey of service users, not a random sample of victims",
            bar["source_id"],
        )
    ]
    for r in ceop_in_care_bounds(confidence).itertuples():
        cases.append(
            (
                "CEOP thematic assessment",
                r.reading,
                r.x,
                r.x,
                r.x,
                r.n,
                "UK victims against England's looked-after share (geography mismatch)",
                r.source_id,
            )
        )
    rows = []
    for group, reading, x, xmn, xmx, n, geo, src in cases:
        rr = stats.rate_ratio(int(x), int(n), (share_low, share_high), confidence)
        rows.append(
            {
                "case_group": group,
                "reading": reading,
                "x": int(x),
                "x_min": int(xmn),
                "x_max": int(xmx),
                "n": int(n),
                "share": rr.details["case_share"],
                "lower": rr.details["case_share_lower"],
                "upper": rr.details["case_share_upper"],
                "pop_share_low": share_low,
                "pop_share_high": share_high,
                "ratio": rr.ratio,
                "ratio_lower": rr.lower,
                "ratio_upper": rr.upper,
                "ratio_low_point": rr.details["ratio_range"][0],
                "ratio_high_point": rr.details["ratio_range"][1],
                "geography_note": geo,
                "source_id": ";".join(dict.fromkeys([src, *lac_src])),
            }
        )
    return sourced_frame(rows)


def ratio_sensitivity(
    x: int,
    n: int,
    looked_after: float,
    populations: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return the over-representation ratio across a grid of assumed child populations.

    For each population ``P`` the population share is ``looked_after / P`` and the ratio is
    ``(x / n) / share`` with the Wilson interval of ``x / n`` divided by the share.

    Examples
    --------
    >>> s = ratio_sensitivity(144, 498, 65520, [11e6])
    >>> round(float(s["ratio"].iloc[0]), 1)  # (144/498) / (65520/11e6)
    48.5
    """
    pops = np.asarray(populations, dtype=float)
    lo, hi = stats.wilson_interval(x, n, confidence)
    share = looked_after / pops
    out = pd.DataFrame(
        {
            "population": pops,
            "pop_share": share,
            "ratio": (x / n) / share,
            "ratio_lower": lo / share,
            "ratio_upper": hi / share,
        }
    )
    return out


def known_ladder(population_id: str = "POP0017_2012") -> pd.DataFrame:
    """Return the "known to social services" ladder around 2012, from referral to care.

    Rungs: referrals in 2011-12 (REF2012, a count of *referrals*: a child can be referred more
    than once), children in need at 31 March 2012 (CIN2012), children on a protection plan at
    31 March 2010 and 2013 (CPP2010, CPP2013; 2011 and 2012 not traced) and children looked
    after at 31 March 2012 (LAC2012). Each rung also per 10,000 children aged 0-17.

    Examples
    --------
    >>> k = known_ladder()
    >>> k["figure_id"].tolist()
    ['REF2012', 'CIN2012', 'CPP2010', 'CPP2013', 'LAC2012']
    >>> round(float(k["per_10000"].iloc[-1]), 1)  # 67050 / 11403970 * 1e4
    58.8
    """
    rungs = [
        ("REF2012", "referred to children's social care (in the year)"),
        ("CIN2012", "child in need (at 31 March)"),
        ("CPP2010", "child protection plan (at 31 March)"),
        ("CPP2013", "child protection plan (at 31 March)"),
        ("LAC2012", "looked after (at 31 March)"),
    ]
    pop = published.figure(population_id)
    rows = []
    for fid, level in rungs:
        f = published.figure(fid)
        rows.append(
            {
                "figure_id": fid,
                "level": level,
                "value": float(f["value"]),
                "unit": f["unit"],
                "period": f["period"],
                "per_10000": float(f["value"]) / float(pop["value"]) * 1e4,
                "per_unit": f"{f['unit']} per 10,000 children aged 0-17 ({population_id})",
                "note": str(f["note"]) if isinstance(f["note"], str) else "",
                "source_id": f"{f['source_id']};{pop['source_id']}",
            }
        )
    return sourced_frame(rows)
