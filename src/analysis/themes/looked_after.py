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
    "age_matched_overrepresentation",
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
    """Return looked-after children at 31 March as a share of England's children, 2009-2013.

    The child population follows the project's one rate rule,
    :func:`analysis.published.rate_population` (DfE's: 31 March ``Y`` over the ONS mid-``Y-1``
    estimate). Where that estimate is traced (2013: mid-2012) the share is a point; where it is
    not (2009-2012: mid-2008 to mid-2011) the assumed population range gives a range of shares.
    Each year uses the first-published looked-after count.

    Parameters
    ----------
    population_range_2009_2011 : (float, float)
        Assumed (low, high) child population for the mid-years not traced (mid-2008 to
        mid-2011).

    Returns
    -------
    pandas.DataFrame
        Columns ``year, figure_id, looked_after, population_year, pop_low, pop_high, share,
        share_low, share_high, population_basis, source_id``.

    Examples
    --------
    >>> t = looked_after_share((11e6, 11.8e6)).set_index("year")
    >>> round(float(t.loc[2013, "share"]) * 100, 3)  # 68110 / 11403970 (mid-2012)
    0.597
    >>> t.loc[2012, "population_basis"]
    'assumed range (mid-2011 not traced)'
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
        pop = published.rate_population(int(r.year))
        if pop is None:
            p_lo, p_hi, psrc = lo, hi, ""
            basis = f"assumed range (mid-{int(r.year) - 1} not traced)"
        else:
            p_lo = p_hi = float(pop["value"])
            basis, psrc = f"{pop['figure_id']} (ONS current vintage)", pop["source_id"]
        rows.append(
            {
                "year": int(r.year),
                "figure_id": r.figure_id,
                "looked_after": float(r.value),
                "population_year": int(r.year) - 1,
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


def _cases(confidence: float) -> list[dict[str, object]]:
    """The case shares set against the population: Barnardo's survey and CEOP's three readings.

    Barnardo's share is published rounded (29% of 498): ``x`` is ``round(0.29 x 498)`` and the
    interval runs from the Wilson lower limit of the smallest to the Wilson upper limit of the
    largest count that rounds to it (:func:`analysis.stats.rounded_share_interval`). CEOP's
    counts are exact (:func:`ceop_in_care_bounds`).
    """
    bar = published.figure("BAR03")
    n_bar = int(published.value("BAR03N"))  # the survey's 498 children
    rounded = stats.rounded_share_interval(float(bar["value"]), n_bar, confidence)
    cases: list[dict[str, object]] = [
        {
            "case_group": "Barnardo's one-day survey",
            "reading": "looked-after share of service users",
            "x": round(float(bar["value"]) * n_bar),
            "x_min": rounded.details["x_min"],
            "x_max": rounded.details["x_max"],
            "n": n_bar,
            "lower": rounded.lower,
            "upper": rounded.upper,
            "geography_note": "England; survey of service users, not a random sample of victims",
            "source_id": bar["source_id"],
        }
    ]
    for r in ceop_in_care_bounds(confidence).itertuples():
        cases.append(
            {
                "case_group": "CEOP thematic assessment",
                "reading": r.reading,
                "x": r.x,
                "x_min": r.x,
                "x_max": r.x,
                "n": r.n,
                "lower": r.lower,
                "upper": r.upper,
                "geography_note": "UK victims against England's looked-after share (geography "
                "mismatch)",
                "source_id": r.source_id,
            }
        )
    return cases


def _against(case: dict[str, object], share_low: float, share_high: float) -> dict[str, object]:
    """A case share against a population share range: the ratio, its interval and its range.

    Point ratio: case share over the middle of the range; interval: the case interval's lower
    limit over the highest share and its upper limit over the lowest (conservative bounds, as
    :func:`analysis.stats.rate_ratio`).
    """
    share = int(case["x"]) / int(case["n"])
    return {
        "share": share,
        "pop_share_low": share_low,
        "pop_share_high": share_high,
        "ratio": share / ((share_low + share_high) / 2),
        "ratio_lower": float(case["lower"]) / share_high,
        "ratio_upper": float(case["upper"]) / share_low,
        "ratio_low_point": share / share_high,
        "ratio_high_point": share / share_low,
    }


_CASE_COLUMNS = ("case_group", "reading", "x", "x_min", "x_max", "n", "lower", "upper")
_OVER_COLUMNS = (
    *_CASE_COLUMNS[:6],
    "share",
    "lower",
    "upper",
    "pop_share_low",
    "pop_share_high",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "ratio_low_point",
    "ratio_high_point",
    "geography_note",
    "source_id",
)


def overrepresentation(
    population_range: tuple[float, float],
    looked_after_ids: Sequence[str] = ("LAC2011",),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return case shares looked after and their ratio to the population share.

    The population share is ``looked_after / child population``: its lowest value uses the
    smallest looked-after count over the highest population, its highest the largest count over
    the lowest population. The ratio's interval is the case share's interval divided by that
    share range (lowest over highest, highest over lowest: conservative), as
    :func:`analysis.stats.rate_ratio` does.

    Case rows: Barnardo's one-day survey (BAR03: a share of 498 service users published rounded
    to 29%, so ``x = round(0.29 x 498)`` and the interval carries every count consistent with
    the rounding, ``x_min..x_max``) and the three readings of :func:`ceop_in_care_bounds`.

    Parameters
    ----------
    population_range : (float, float)
        (low, high) child population for the period the cases refer to.
    looked_after_ids : sequence of str
        Looked-after figures spanning the period (e.g. LAC2009-LAC2011 for CEOP's window).
    confidence : float, default 0.95
        Level of each case share's Wilson interval (carried into the ratio's interval).

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
    >>> [int(o.loc["Barnardo's one-day survey", c]) for c in ("x_min", "x_max")]
    [142, 146]
    """
    lo_pop, hi_pop = population_range
    lac_values = [published.value(f) for f in looked_after_ids]
    share_low = min(lac_values) / hi_pop
    share_high = max(lac_values) / lo_pop
    lac_src = [published.figure(f)["source_id"] for f in looked_after_ids]
    rows = []
    for case in _cases(confidence):
        rows.append(
            {
                **{k: case[k] for k in _CASE_COLUMNS},
                **_against(case, share_low, share_high),
                "geography_note": case["geography_note"],
                "source_id": ";".join(dict.fromkeys([str(case["source_id"]), *lac_src])),
            }
        )
    return sourced_frame(rows)[list(_OVER_COLUMNS)]


def age_matched_overrepresentation(
    older_looked_after: tuple[float, float],
    older_population_fraction: tuple[float, float],
    ages: str = "10-17",
    year: int = 2012,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Over-representation against children of the victims' ages, beside all children 0-17.

    Victims of exploitation are mostly teenagers, while the usual denominator is every child
    aged 0-17, among whom the looked-after share is lower than among older children. For each
    case share (:func:`overrepresentation`'s rows) two readings for ``year``:

    * **all children aged 0-17**: ``LAC<year> / POP0017_<year>`` (both traced);
    * **children aged ``ages``**: looked-after children of those ages over the child population
      of those ages, ``older_looked_after / (POP0017_<year> x older_population_fraction)``,
      each a (low, high) range, so the share is a range too (lowest count over highest
      population, and the reverse).

    ``ratio_change`` is each age-matched ratio over the all-ages one. The age-matched reading
    assumes every case is of those ages (an upper bound on the correction if some are younger).

    Parameters
    ----------
    older_looked_after : (float, float)
        Looked-after children of ``ages`` at 31 March ``year`` (a range; equal ends for a count).
    older_population_fraction : (float, float)
        Share of England's children aged 0-17 who are of ``ages`` (a range).
    ages : str, default "10-17"
        The age band, for labels.
    year : int, default 2012
        Year of the looked-after count and of the mid-year population.
    confidence : float, default 0.95
        As for :func:`overrepresentation`.

    Returns
    -------
    pandas.DataFrame
        One row per case and reading: ``case_group, reading, ages, x, x_min, x_max, n, share,
        lower, upper, pop_share_low, pop_share_high, ratio, ratio_lower, ratio_upper,
        ratio_low_point, ratio_high_point, ratio_change, basis, source_id``.

    Raises
    ------
    ValueError
        If a range is not ``(low, high)`` with ``0 < low <= high`` (fractions at most 1).

    Examples
    --------
    Half of the looked-after children and 40% of all children in the older band: the share
    among older children is 0.5 / 0.4 = 1.25 times the all-ages share, so every ratio falls to
    0.8 of its all-ages value.

    >>> lac = published.value("LAC2012")
    >>> t = age_matched_overrepresentation((lac / 2, lac / 2), (0.4, 0.4))
    >>> t.groupby("ages")["ratio_change"].first().round(4).to_dict()
    {'0-17': 1.0, '10-17': 0.8}
    """
    for name, (lo, hi) in (
        ("older_looked_after", older_looked_after),
        ("older_population_fraction", older_population_fraction),
    ):
        if not 0 < lo <= hi:
            raise ValueError(f"{name} must be (low, high) with 0 < low <= high; got {lo}, {hi}")
    if older_population_fraction[1] > 1:
        raise ValueError("older_population_fraction must be a fraction of all children aged 0-17")
    lac = published.figure(f"LAC{year}")
    pop = published.figure(f"POP0017_{year}")
    all_share = float(lac["value"]) / float(pop["value"])
    older_low = older_looked_after[0] / (float(pop["value"]) * older_population_fraction[1])
    older_high = older_looked_after[1] / (float(pop["value"]) * older_population_fraction[0])
    readings = [
        ("0-17", all_share, all_share, f"{lac['figure_id']} / {pop['figure_id']} (traced)"),
        (
            ages,
            older_low,
            older_high,
            f"looked-after children aged {ages} {older_looked_after[0]:,.0f}-"
            f"{older_looked_after[1]:,.0f} over {pop['figure_id']} x "
            f"{older_population_fraction[0]:.3f}-{older_population_fraction[1]:.3f} (stated "
            "assumptions)",
        ),
    ]
    rows = []
    for case in _cases(confidence):
        base_ratio = None
        for band, s_lo, s_hi, basis in readings:
            row = {
                **{k: case[k] for k in _CASE_COLUMNS[:2]},
                "ages": band,
                **{k: case[k] for k in _CASE_COLUMNS[2:]},
                **_against(case, s_lo, s_hi),
            }
            base_ratio = row["ratio"] if base_ratio is None else base_ratio
            row["ratio_change"] = row["ratio"] / base_ratio
            row["basis"] = basis
            row["source_id"] = ";".join(
                dict.fromkeys([str(case["source_id"]), lac["source_id"], pop["source_id"]])
            )
            rows.append(row)
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


def known_ladder(population_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Return the "known to social services" ladder around 2012, from referral to care.

    Rungs: referrals in 2011-12 (REF2012, a count of *referrals*: a child can be referred more
    than once), children in need at 31 March 2012 (CIN2012), children on a protection plan at
    31 March 2010 and 2013 (CPP2010, CPP2013; 2011 and 2012 not traced) and children looked
    after at 31 March 2012 (LAC2012). Each rung also per 10,000 children aged 0-17 under the
    project's one rate rule (:func:`analysis.published.rate_population`: 31 March ``Y`` over the
    mid-``Y-1`` estimate). Where that estimate is not traced the rate is a range over
    ``population_range`` if given (``per_10000_low``, ``per_10000_high``, midpoint in
    ``per_10000``), else missing.

    Examples
    --------
    >>> k = known_ladder().set_index("figure_id")
    >>> k.index.tolist()
    ['REF2012', 'CIN2012', 'CPP2010', 'CPP2013', 'LAC2012']
    >>> round(float(k.loc["CPP2013", "per_10000"]), 1)  # 43100 / 11403970 * 1e4 (mid-2012)
    37.8
    >>> bool(k["per_10000"].isna().sum() == 4)  # mid-2009 and mid-2011 not traced
    True
    """
    rungs = [
        ("REF2012", "referred to children's social care (in the year)"),
        ("CIN2012", "child in need (at 31 March)"),
        ("CPP2010", "child protection plan (at 31 March)"),
        ("CPP2013", "child protection plan (at 31 March)"),
        ("LAC2012", "looked after (at 31 March)"),
    ]
    rows = []
    for fid, level in rungs:
        f = published.figure(fid)
        year = pd.Timestamp(f["period_end"]).year
        pop = published.rate_population(year)
        value = float(f["value"])
        if pop is not None:
            low = high = value / float(pop["value"]) * 1e4
            basis, psrc = f"{pop['figure_id']} (mid-{year - 1})", pop["source_id"]
        elif population_range is not None:
            low, high = value / population_range[1] * 1e4, value / population_range[0] * 1e4
            basis, psrc = f"assumed range (mid-{year - 1} not traced)", ""
        else:
            low = high = float("nan")
            basis, psrc = f"mid-{year - 1} not traced: no rate", ""
        rows.append(
            {
                "figure_id": fid,
                "level": level,
                "value": value,
                "unit": f["unit"],
                "period": f["period"],
                "per_10000": (low + high) / 2,
                "per_10000_low": low,
                "per_10000_high": high,
                "population_basis": basis,
                "per_unit": f"{f['unit']} per 10,000 children aged 0-17",
                "note": str(f["note"]) if isinstance(f["note"], str) else "",
                "source_id": ";".join(s for s in (f["source_id"], psrc) if s),
            }
        )
    return sourced_frame(rows)
