"""Real local authorities compared: exploitation at assessment, missing from care, children's homes.

The back-end of notebooks ``09_local_authorities`` and ``10_care_homes_and_missing`` and of
:func:`profile` (``python -m analysis profile NAME``). Everything here reads **real published
local-authority data** through :mod:`analysis.local` (tidy, suppression kept as a reason) and
:mod:`analysis.areas` (codes, regions, boundary changes, statistical neighbours, hex positions);
nothing is synthetic.

Units matter and are kept apart everywhere:

* DfE's factors identified at the end of assessment (table C3) count **episodes** of assessment,
  not children: a child assessed twice in a year with sexual exploitation recorded both times is
  two episodes. Rates are episodes per 10,000 children aged 0 to 17.
* Missing from care counts **children** who went missing (as a share of the children looked
  after during the year) and **incidents** (per child who went missing).
* Ofsted's provider lists count **homes** and **places**.

The pieces, each a small function that takes a tidy frame (the tests pass hand-made fakes):

1. :func:`rate_panel` joins counts with the ONS child population (the mid-year before each
   reporting year, as DfE does for its own rates), optionally on consistent boundaries
   (:func:`analysis.areas.consistent_boundaries`), and :func:`area_funnel` compares authorities
   with exact Poisson funnels and Spiegelhalter's over-dispersion test
   (:func:`analysis.stats.rate_funnel`).
2. :func:`persistence` counts the years each authority lies outside the 99.8% limits;
   :func:`neighbour_comparison` sets it beside the median of its ten statistical neighbours (an
   order-statistic interval, :func:`scipy.stats.quantile_test`) with LAIT-style quartile bands;
   :func:`shrunk_rate_ratios` gives each authority's yearly rate ratio against the national trend,
   shrunk by a gamma-Poisson empirical-Bayes estimate (the prior fitted by statsmodels' negative
   binomial); :func:`national_against_spread` sets the national fall beside the spread between
   authorities; :func:`concentration` gives the top tenth's share of episodes and of children.
3. :func:`hex_values` puts values on Open Innovations' hex cartogram of upper-tier authorities.
4. Children's homes (:func:`homes_panel`, :func:`homes_change`), missing from care
   (:func:`missing_panel`, :func:`missing_revisions`), the regional dispersion test
   (:func:`regional_dispersion`, a quasi-likelihood F test), the ecological negative binomial
   model (:func:`ecological_frame`, :func:`fit_ecological_model`, :func:`partial_effects`) and the
   evidence's own year (:func:`looked_after_2012_against_homes_2014`).
5. :func:`count_authorities_2012` and :func:`earliest_regional_dispersion` are what the verdict
   rules of claims C15 and C19 (:mod:`analysis.verdicts`) compute.

Real data are downloaded (or taken from ``$ANALYSIS_DATA_MIRROR``) by :mod:`analysis.external`
and parsed once per process (:func:`load`). Importing this module reads nothing; matplotlib and
statsmodels are imported only when a chart or a model is made.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from analysis import areas, local, stats, trends

__all__ = [
    "FACTORS",
    "LEVELS",
    "PER",
    "AuthorityCount",
    "Concentration",
    "Profile",
    "RegionalDispersion",
    "add_arguments",
    "area_funnel",
    "assessment_panel",
    "concentration",
    "consistent_frame",
    "count_authorities_2012",
    "earliest_regional_dispersion",
    "ecological_frame",
    "fit_ecological_model",
    "hex_values",
    "homes_change",
    "homes_panel",
    "load",
    "looked_after_2012_against_homes_2014",
    "missing_panel",
    "missing_revisions",
    "national_against_spread",
    "neighbour_comparison",
    "partial_effects",
    "persistence",
    "profile",
    "rate_panel",
    "regional_dispersion",
    "regional_dispersion_test",
    "run",
    "shrunk_rate_ratios",
    "sources_of",
]

#: Rates are per 10,000 children aged 0 to 17.
PER = 10_000
#: Funnel control limits: 95% and 99.8%, as PHE's tools draw them.
LEVELS: tuple[float, float] = (0.95, 0.998)
#: The factors at the end of assessment this theme follows: key -> DfE measure id.
FACTORS: dict[str, str] = {
    "cse": "cin_factor_child_sexual_exploitation",
    "missing": "cin_factor_going_missing",
    "cce": "cin_factor_child_criminal_exploitation",
}
#: What each factor is, in words.
FACTOR_WORDS: dict[str, str] = {
    "cse": "child sexual exploitation",
    "missing": "going missing",
    "cce": "child criminal exploitation",
}
#: Reporting year (to 31 March) Y uses the ONS mid-year estimate of Y - 1, as DfE's rates do.
POPULATION_LAG = 1
_LA = "local authority"


# --------------------------------------------------------------------------------------------
# Loading (once per process)
# --------------------------------------------------------------------------------------------

_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "register": lambda: areas.register(),
    "factors": lambda: local.load_assessment_factors(register=load("register")),
    "population": lambda: local.load_child_population(register=load("register")),
    "looked_after": lambda: local.load_looked_after(register=load("register")),
    "missing": lambda: local.load_missing("all", register=load("register")),
    "providers_2014": lambda: local.load_providers(2014, register=load("register")),
    "providers_2023": lambda: local.load_providers(2023, register=load("register")),
    # As published (no harmonising): what the claim rules count, quickly.
    "cla_2012_raw": lambda: local.load_looked_after_release(2012, harmonise=False),
    "cla_2015_raw": lambda: local.load_looked_after_release(2015, harmonise=False),
    "missing_2015_raw": lambda: local.load_missing_release("missing_2015", harmonise=False),
    "missing_2016_raw": lambda: local.load_missing_release("missing_2016", harmonise=False),
    "missing_2017_raw": lambda: local.load_missing_release("missing_2017", harmonise=False),
    "population_raw": lambda: local.load_child_population(harmonise=False),
}


@cache
def load(name: str) -> pd.DataFrame:
    """Return one real table, parsed once per process (do not modify the frame returned).

    ``name`` is one of ``register``, ``factors``, ``population``, ``looked_after``, ``missing``
    (every vintage), ``providers_2014``, ``providers_2023``, or the unharmonised
    ``cla_2012_raw``, ``cla_2015_raw``, ``missing_2015_raw`` ... ``missing_2017_raw``,
    ``population_raw``. The files come from :func:`analysis.external.fetch`.
    """
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise KeyError(f"no table {name!r}; tables: {', '.join(_LOADERS)}") from None
    return loader()


def sources_of(*frames: pd.DataFrame) -> list[str]:
    """The provenance ids behind some tidy frames (their ``source_id`` values and attrs)."""
    out: set[str] = set()
    for frame in frames:
        out |= set(frame.attrs.get("sources", ()))
        if "source_id" in frame:  # a set of the plain values: far quicker than Series.unique
            out |= {s for s in set(frame["source_id"].to_numpy(dtype=object)) if pd.notna(s) and s}
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Rates per 10,000 children
# --------------------------------------------------------------------------------------------

_PANEL_COLUMNS = (
    "area_code",
    "area_name",
    "region",
    "year",
    "events",
    "children",
    "rate",
    "status",
    "population_year",
)


def consistent_frame(
    frame: pd.DataFrame, to_year: int | None = None, *, reg: pd.DataFrame
) -> pd.DataFrame:
    """:func:`analysis.areas.consistent_boundaries`, on the rows a boundary change touches only.

    Rows of authorities that no succession links (most of them) are their own group and pass
    through unchanged, so only the few codes in :func:`analysis.areas.links` are aggregated: the
    same result, an order of magnitude faster on a full panel. ``attrs["boundaries"]`` lists
    the groups made. A frame this function has already put on the boundaries of ``to_year``
    (its ``attrs`` say so) is returned as it is, so a population can be aggregated once and
    passed to several rate panels.
    """
    target = reg.attrs["years"][-1] if to_year is None else int(to_year)
    if "boundaries" in frame.attrs and frame.attrs.get("to_year") == target:
        return frame
    links = areas.links(reg)
    attrs = dict(frame.attrs)
    frame = frame.copy(deep=False)
    frame.attrs = {}  # pandas deep-copies attrs on every operation: keep them out of the loop
    if not len(links):
        out = areas.consistent_boundaries(frame, to_year, register=reg)
        out.attrs = {**attrs, **out.attrs}
        return out
    involved = set(links["predecessor"]) | set(links["successor"])
    still = (frame["geography"] == _LA) & ~frame["area_code"].isin(involved)
    moved = areas.consistent_boundaries(frame[~still], to_year, register=reg)
    out = pd.concat([moved, frame[still]], ignore_index=True)
    out = out.sort_values(["geography", "measure", "area_code", "year"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = {**attrs, **moved.attrs}
    return out


def _population_by_year(population: pd.DataFrame) -> pd.DataFrame:
    pop = population[population["measure"] == "child_population"]
    return pop[["area_code", "year", "value", "status"]].rename(
        columns={"value": "children", "status": "population_status", "year": "population_year"}
    )


def rate_panel(
    counts: pd.DataFrame,
    population: pd.DataFrame,
    measure: str,
    *,
    reg: pd.DataFrame | None = None,
    geography: str = _LA,
    consistent: bool = False,
    to_year: int | None = None,
    lag: int = POPULATION_LAG,
) -> pd.DataFrame:
    """Join one measure's counts with the child population and compute rates per 10,000.

    Parameters
    ----------
    counts : pandas.DataFrame
        A tidy frame of :mod:`analysis.local` holding ``measure`` (a count: episodes,
        children, incidents, homes...).
    population : pandas.DataFrame
        The tidy child population (:func:`analysis.local.load_child_population`).
    measure : str
        The measure id to take from ``counts``.
    reg : pandas.DataFrame, optional
        The area register (needed with ``consistent=True``).
    geography : str
        ``local authority`` (default), ``regional`` or ``national`` rows.
    consistent : bool
        Aggregate authorities to the boundaries of ``to_year`` first
        (:func:`analysis.areas.consistent_boundaries`), both counts and population, so one
        authority's series reads across the boundary changes of 2019 to 2023.
    lag : int
        Population year = count year - ``lag``: 1 for counts in a year to 31 March (the
        mid-year estimate before it, as DfE's rates use), 0 for a count at 30 September.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``area_name``, ``region``, ``year``, ``events`` (the count, whatever its
        unit), ``children``, ``rate`` (per 10,000 children), ``status`` (why a count or
        population is missing, empty otherwise) and ``population_year``. ``attrs`` hold the
        unit, the measure and the sources.
    """
    c = counts[(counts["measure"] == measure) & (counts["geography"] == geography)]
    if c.empty:
        raise ValueError(f"no {geography} rows of {measure!r} in the counts")
    p = population[
        (population["measure"] == "child_population") & (population["geography"] == geography)
    ]
    if consistent and geography == _LA:
        c = consistent_frame(c, to_year, reg=reg)
        p = consistent_frame(p, to_year, reg=reg)
    unit = str(c["unit"].iloc[0])
    pop = _population_by_year(p)
    out = c[["area_code", "area_name", "region", "year", "value", "status"]].rename(
        columns={"value": "events"}
    )
    out = out.assign(population_year=out["year"].astype(int) - int(lag))
    out = out.merge(pop, on=["area_code", "population_year"], how="left")
    no_pop = out["children"].isna()
    out["status"] = np.where(
        (out["status"] == "") & no_pop, "no population estimate", out["status"].fillna("")
    )
    out["rate"] = PER * out["events"] / out["children"]
    out = out[list(_PANEL_COLUMNS)].sort_values(["area_code", "year"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(unit=unit, measure=measure, geography=geography, consistent=consistent)
    out.attrs.update(
        sources=sources_of(counts, population), boundaries=dict(c.attrs.get("boundaries", {}))
    )
    return out


def assessment_panel(
    factor: str = "cse", *, consistent: bool = False, geography: str = _LA
) -> pd.DataFrame:
    """Episodes with ``factor`` recorded at the end of assessment, per 10,000 children (real data).

    ``factor`` is a key of :data:`FACTORS` (``cse``, ``missing``, ``cce``). With
    ``consistent=True`` authorities are on the boundaries of the latest year for all years.
    """
    if factor not in FACTORS:
        raise KeyError(f"factor must be one of {', '.join(FACTORS)}; got {factor!r}")
    return rate_panel(
        load("factors"),
        load("population"),
        FACTORS[factor],
        reg=load("register"),
        consistent=consistent,
        geography=geography,
    )


def _usable(rows: pd.DataFrame) -> pd.DataFrame:
    ok = rows["events"].notna() & rows["children"].notna() & (rows["children"] > 0)
    return rows[ok]


def _label(direction: str, level: float) -> str:
    return f"{direction} ({level * 100:.10g}%)"


def area_funnel(
    panel: pd.DataFrame,
    year: int | None = None,
    *,
    pooled: bool = False,
    overdispersion: bool = True,
    levels: Sequence[float] = LEVELS,
) -> pd.DataFrame:
    """Funnel-plot table of authorities' rates per 10,000 children in one year, or pooled.

    Exact Poisson limits around the pooled rate of the authorities shown, PHE's method; with
    ``overdispersion`` Spiegelhalter's test is run and, where it rejects, the limits are widened
    by the multiplicative factor φ (:func:`analysis.stats.rate_funnel` names the method in its
    ``method`` column). Authorities with a suppressed or missing count are left out (listed in
    ``attrs["left_out"]``). ``pooled`` sums each authority's counts and child-years over the
    panel's years (use a consistent-boundary panel).

    Returns
    -------
    pandas.DataFrame
        :func:`analysis.stats.rate_funnel`'s table indexed by area code, plus ``area_name``,
        ``region`` and (pooled) ``years``.
    """
    rows = panel if year is None or pooled else panel[panel["year"] == year]
    if year is None and not pooled:
        year = int(rows["year"].max())
        rows = rows[rows["year"] == year]
    left_out = sorted(set(rows.loc[~rows.index.isin(_usable(rows).index), "area_code"]))
    rows = _usable(rows)
    if pooled:
        rows = (
            rows.groupby(["area_code", "area_name", "region"], sort=True)
            .agg(events=("events", "sum"), children=("children", "sum"), years=("year", "nunique"))
            .reset_index()
        )
    if rows.empty:
        raise ValueError("no authority has both a count and a population")
    f = stats.rate_funnel(
        rows["events"].to_numpy(dtype=float),
        rows["children"].to_numpy(dtype=float),
        PER,
        tuple(levels),
        overdispersion,
        rows["area_code"].tolist(),
    )
    f.insert(0, "area_name", rows["area_name"].to_numpy())
    f.insert(1, "region", rows["region"].to_numpy())
    if pooled:
        f.insert(2, "years", rows["years"].to_numpy())
    f.attrs.update(
        year=None if pooled else year,
        pooled=pooled,
        left_out=left_out,
        unit=panel.attrs.get("unit", ""),
        per=PER,
    )
    return f


def outliers(funnel: pd.DataFrame, level: float = 0.998) -> pd.DataFrame:
    """Authorities outside the ``level`` limits of a funnel table, highest rate first."""
    sig = funnel["significance"]
    out = funnel[sig.isin([_label("high", level), _label("low", level)])]
    return out.sort_values("rate", ascending=False)


# --------------------------------------------------------------------------------------------
# Persistence of outliers across years
# --------------------------------------------------------------------------------------------

PERSISTENCE_CLASSES: tuple[str, ...] = (
    "persistently high",
    "high in some years",
    "never outside",
    "low in some years",
    "persistently low",
    "high in some years, low in others",
)


def persistence(
    panel: pd.DataFrame,
    *,
    level: float = 0.998,
    min_years: int | None = None,
    overdispersion: bool = True,
) -> pd.DataFrame:
    """In how many years each authority lies above (or below) the ``level`` funnel limit.

    One funnel per year (:func:`area_funnel`, over-dispersion allowed for), then per
    authority: the years assessed, the years high and low, a pattern string (one character a
    year: ``H`` high, ``L`` low, ``.`` inside, blank not assessed) and a class from
    :data:`PERSISTENCE_CLASSES`: *persistently* high or low when outside on the same side in at
    least ``min_years`` years (default: more than half of the panel's years).

    Under chance alone an authority lies above a two-sided 99.8% limit in a given year with
    probability 0.001, so ``expected_by_chance`` in ``attrs`` says how many authority-years
    above the limit chance would give.

    Returns
    -------
    pandas.DataFrame
        One row per authority, most years high first.
    """
    years = sorted(int(y) for y in panel["year"].unique())
    min_years = len(years) // 2 + 1 if min_years is None else int(min_years)
    high, low = _label("high", level), _label("low", level)
    status: dict[str, dict[int, str]] = {}
    names = panel.drop_duplicates("area_code").set_index("area_code")[["area_name", "region"]]
    phis = {}
    assessed = 0
    for y in years:
        f = area_funnel(panel, y, overdispersion=overdispersion, levels=sorted({0.95, level}))
        phis[y] = float(f.attrs.get("phi", 1.0))
        assessed += len(f)
        for code, sig in f["significance"].items():
            status.setdefault(code, {})[y] = "H" if sig == high else "L" if sig == low else "."
    rows = []
    for code, by_year in status.items():
        n_high = sum(v == "H" for v in by_year.values())
        n_low = sum(v == "L" for v in by_year.values())
        if n_high and n_low:
            cls = PERSISTENCE_CLASSES[5]
        elif n_high >= min_years:
            cls = PERSISTENCE_CLASSES[0]
        elif n_high:
            cls = PERSISTENCE_CLASSES[1]
        elif n_low >= min_years:
            cls = PERSISTENCE_CLASSES[4]
        elif n_low:
            cls = PERSISTENCE_CLASSES[3]
        else:
            cls = PERSISTENCE_CLASSES[2]
        rows.append(
            {
                "area_code": code,
                "area_name": names.at[code, "area_name"],
                "region": names.at[code, "region"],
                "years_assessed": len(by_year),
                "years_high": n_high,
                "years_low": n_low,
                "pattern": "".join(by_year.get(y, " ") for y in years),
                "class": cls,
            }
        )
    out = pd.DataFrame(rows).sort_values(
        ["years_high", "years_low", "area_code"], ascending=[False, True, True], kind="stable"
    )
    out = out.reset_index(drop=True)
    out.attrs.update(
        years=years,
        level=level,
        min_years=min_years,
        phi=phis,
        expected_by_chance=assessed * (1 - level) / 2,
        method=f"exact Poisson funnel each year, {level:.1%} limits, over-dispersion "
        + (
            "allowed for (Spiegelhalter's multiplicative phi where the test rejects)"
            if overdispersion
            else "not allowed for"
        ),
    )
    return out


# --------------------------------------------------------------------------------------------
# Statistical neighbours and quartile bands
# --------------------------------------------------------------------------------------------


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval for a median from order statistics.

    Uses :func:`scipy.stats.quantile_test` (the binomial order-statistic interval): for ten
    values at 95% it is the 2nd to the 9th smallest.

    References
    ----------
    .. [1] Conover, W. J. (1999). *Practical Nonparametric Statistics*, 3rd ed., Wiley, §3.2.
    """
    x = np.sort(np.asarray([v for v in values if np.isfinite(v)], dtype=float))
    if x.size < 2:
        return (math.nan, math.nan)
    low, high = _median_order_statistics(x.size, confidence)
    return (float(x[low]) if low >= 0 else math.nan, float(x[high]) if high >= 0 else math.nan)


@lru_cache(maxsize=32)
def _median_order_statistics(n: int, confidence: float) -> tuple[int, int]:
    """Which order statistics (0-based; -1 for none) bound the median's interval for ``n`` values.

    The interval depends on ``n`` alone, not on the values: scipy's own
    :func:`scipy.stats.quantile_test` is asked once per ``n``, on the values ``0 .. n - 1``,
    whose order statistics are their indices.
    """
    from scipy import stats as sps

    ranks = np.arange(n, dtype=float)
    ci = sps.quantile_test(ranks, q=float(np.median(ranks)), p=0.5).confidence_interval(confidence)
    return tuple(int(v) if np.isfinite(v) else -1 for v in (ci.low, ci.high))


def quartile_bands(rate: pd.Series) -> pd.Series:
    """LAIT-style quartile bands among all authorities: 1 (lowest quarter) to 4 (highest).

    Recorded exploitation has no "good" direction (a high rate may mean better identification),
    so the bands are ranked by value only, never labelled better or worse.
    """
    ranks = rate.rank(method="first")
    return pd.qcut(ranks, 4, labels=[1, 2, 3, 4]).astype("Int64")


def neighbour_comparison(
    values: pd.DataFrame, reg: pd.DataFrame, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Each authority against the median of its ten DfE statistical neighbours in one year.

    Parameters
    ----------
    values : pandas.DataFrame
        One year's rows of a rate panel (``area_code``, ``events``, ``children``, ``rate``).
    reg : pandas.DataFrame
        The area register (``statistical_neighbours``: ten codes per current authority).

    Returns
    -------
    pandas.DataFrame
        Per authority: its rate and exact/Byar interval (:func:`analysis.stats.rate_interval`),
        the neighbours used (of ten; a neighbour without a rate is left out), their median and
        its order-statistic interval (:func:`median_interval`), the ratio to the median,
        ``position`` (``above`` when the authority's interval lies wholly above the median's
        interval, ``below`` when wholly below, else ``similar``) and ``quartile`` among all
        authorities (:func:`quartile_bands`).
    """
    rows = _usable(values).set_index("area_code")
    ci = stats.rate_interval(
        rows["events"].to_numpy(), rows["children"].to_numpy(), confidence, PER
    )
    # plain dicts: looking values up in Series inside the loop would cost far more
    codes = rows.index.tolist()
    rate = dict(zip(codes, rows["rate"].to_numpy(dtype=float), strict=True))
    lower = dict(zip(codes, np.asarray(ci["lower"], dtype=float), strict=True))
    upper = dict(zip(codes, np.asarray(ci["upper"], dtype=float), strict=True))
    band = dict(zip(codes, quartile_bands(rows["rate"]), strict=True))
    names = dict(zip(codes, rows["area_name"], strict=True))
    regions = dict(zip(codes, rows["region"], strict=True))
    neighbours = dict(zip(reg.index, reg["statistical_neighbours"], strict=True))
    out = []
    for code in codes:
        if code not in neighbours:
            continue
        sns = neighbours[code]
        if not isinstance(sns, tuple) or not sns:
            continue
        nb = [float(rate[c]) for c in sns if c in rate and np.isfinite(rate[c])]
        med = float(np.median(nb)) if nb else math.nan
        lo, hi = median_interval(nb, confidence)
        own_lo, own_hi = float(lower[code]), float(upper[code])
        if np.isfinite(hi) and own_lo > hi:
            position = "above"
        elif np.isfinite(lo) and own_hi < lo:
            position = "below"
        else:
            position = "similar"
        out.append(
            {
                "area_code": code,
                "area_name": names[code],
                "region": regions[code],
                "rate": float(rate[code]),
                "rate_lower": own_lo,
                "rate_upper": own_hi,
                "neighbours_used": len(nb),
                "neighbour_median": med,
                "median_lower": lo,
                "median_upper": hi,
                "ratio_to_median": float(rate[code]) / med if med else math.nan,
                "position": position,
                "quartile": int(band[code]),
            }
        )
    frame = pd.DataFrame(out)
    frame.attrs.update(
        confidence=confidence,
        method=(
            f"authority: exact (under 10 events) or Byar {confidence:.0%} interval; neighbours: "
            f"median of DfE's ten statistical neighbours with a {confidence:.0%} order-statistic "
            "interval (scipy.stats.quantile_test); quartiles among all authorities that year"
        ),
    )
    return frame


# --------------------------------------------------------------------------------------------
# Rate ratios shrunk towards the national trend
# --------------------------------------------------------------------------------------------


def shrunk_rate_ratios(panel: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Each authority's yearly rate ratio against the national trend, raw and shrunk.

    A negative binomial (NB2) model with one effect per year and ``log(children)`` as offset
    (:class:`statsmodels.discrete.discrete_model.NegativeBinomial`) fits the national trend
    and the dispersion α. Its gamma-Poisson form is the empirical-Bayes prior: an authority's
    multiplicative effect θ has a gamma prior of mean 1 and variance α, so given ``O``
    episodes where the trend expects ``E`` its posterior is gamma with shape ``1/α + O`` and rate
    ``1/α + E``. The shrunk ratio is the posterior mean ``(O + 1/α) / (E + 1/α)`` with an
    equal-tailed interval from the gamma quantiles: small authorities (small ``E``) are pulled
    towards 1 (the national trend), large ones barely move. The raw ratio ``O / E`` has an exact
    Poisson interval (:func:`analysis.stats.poisson_interval`).

    Returns
    -------
    pandas.DataFrame
        Per authority-year: ``observed``, ``expected``, ``raw_ratio`` and its interval,
        ``shrunk_ratio`` and its interval, ``shrinkage`` (weight on the authority's own data,
        ``E / (E + 1/α)``). ``attrs``: ``alpha``, ``national`` (the fitted trend, per 10,000),
        ``method``.

    Raises
    ------
    analysis.trends.ModelFitError
        If the NB2 trend did not converge (:func:`analysis.trends.check_converged`).

    References
    ----------
    .. [1] Clayton, D. and Kaldor, J. (1987). Empirical Bayes estimates of age-standardized
       relative risks for use in disease mapping. *Biometrics* 43:671-681.
    .. [2] Cameron, A. C. and Trivedi, P. K. (2013). *Regression Analysis of Count Data*,
       2nd ed., Cambridge University Press, §4.2 (NB2 as a gamma-Poisson mixture).
    """
    from scipy import stats as sps
    from statsmodels.discrete.discrete_model import NegativeBinomial

    rows = _usable(panel).copy()
    years = sorted(rows["year"].unique())
    design = pd.get_dummies(rows["year"].astype(int), prefix="y", dtype=float)
    design = design[[f"y_{y}" for y in years]]
    offset = np.log(rows["children"].to_numpy(dtype=float))
    model = NegativeBinomial(rows["events"].to_numpy(dtype=float), design.to_numpy(), offset=offset)
    fit = model.fit(disp=0, maxiter=200)
    trends.check_converged(fit, "the NB2 national trend of the shrunk rate ratios")
    alpha = float(fit.params[-1])
    trend = dict(zip(years, np.exp(fit.params[:-1]), strict=True))
    expected = rows["children"].to_numpy(dtype=float) * rows["year"].map(trend).to_numpy()
    observed = rows["events"].to_numpy(dtype=float)
    raw = stats.poisson_interval(observed, confidence)
    tail = (1 - confidence) / 2
    shape = 1 / alpha + observed
    rate = 1 / alpha + expected
    out = rows[["area_code", "area_name", "region", "year"]].copy()
    out["observed"] = observed
    out["expected"] = expected
    out["raw_ratio"] = observed / expected
    out["raw_lower"] = np.asarray(raw.lower, dtype=float) / expected
    out["raw_upper"] = np.asarray(raw.upper, dtype=float) / expected
    out["shrunk_ratio"] = shape / rate
    out["shrunk_lower"] = sps.gamma.ppf(tail, shape, scale=1 / rate)
    out["shrunk_upper"] = sps.gamma.ppf(1 - tail, shape, scale=1 / rate)
    out["shrinkage"] = expected / rate
    out = out.reset_index(drop=True)
    out.attrs.update(
        alpha=alpha,
        national={int(y): float(v) * PER for y, v in trend.items()},
        confidence=confidence,
        method=(
            "rate ratio against a national NB2 trend (one effect per year, log children offset, "
            f"alpha = {alpha:.3g}); shrunk: gamma-Poisson empirical-Bayes posterior mean and "
            f"{confidence:.0%} interval (Clayton and Kaldor 1987); raw: exact Poisson interval"
        ),
    )
    return out


# --------------------------------------------------------------------------------------------
# The national fall and the spread between authorities; concentration
# --------------------------------------------------------------------------------------------


def national_against_spread(panel: pd.DataFrame, national: pd.DataFrame) -> pd.DataFrame:
    """England's rate each year beside how widely authorities' rates differ.

    Parameters
    ----------
    panel : pandas.DataFrame
        Authorities' rate panel.
    national : pandas.DataFrame
        The national rate panel (``geography="national"`` of :func:`rate_panel`).

    Returns
    -------
    pandas.DataFrame
        Per year: England's rate, the authorities' 10th, 25th, 50th, 75th and 90th percentile
        rates, the ratio of the 90th to the 10th, and the between-authority standard deviation
        of rates beyond chance, ``sqrt(tau²)`` from Spiegelhalter's test
        (:func:`analysis.stats.overdispersion_test`). ``attrs["trend"]``: England's yearly rate
        ratio (quasi-Poisson, t-based interval, :func:`analysis.trends.fit_rate_trend`).
    """
    rows = []
    for year, g in _usable(panel).groupby("year"):
        r = g["rate"].to_numpy(dtype=float)
        base = PER * g["events"].sum() / g["children"].sum()
        se = np.sqrt(base * PER / g["children"].to_numpy(dtype=float))
        test = stats.overdispersion_test(r, base, se)
        q = np.quantile(r, [0.1, 0.25, 0.5, 0.75, 0.9])
        rows.append(
            {
                "year": int(year),
                "authorities": len(g),
                "p10": q[0],
                "p25": q[1],
                "median": q[2],
                "p75": q[3],
                "p90": q[4],
                "p90_to_p10": q[4] / q[0] if q[0] > 0 else math.nan,
                "between_sd": math.sqrt(test.tau2) if np.isfinite(test.tau2) else math.nan,
                "phi": test.phi,
            }
        )
    out = pd.DataFrame(rows)
    nat = _usable(national).set_index("year")
    out["england"] = out["year"].map(nat["rate"])
    out = out[["year", "england", *[c for c in out.columns if c not in ("year", "england")]]]
    years = nat.index.to_numpy(dtype=float)
    trend = trends.fit_rate_trend(
        nat["events"].round().to_numpy(), nat["children"].to_numpy(), years, method="quasipoisson"
    )
    out.attrs.update(trend=trend, unit=panel.attrs.get("unit", ""))
    return out


@dataclass(frozen=True)
class Concentration:
    """How concentrated a count is among authorities ranked by their rate."""

    share_of_areas: float
    areas: int
    top_areas: tuple[str, ...]
    share_of_events: float
    share_of_children: float
    gini: float
    curve: pd.DataFrame = field(repr=False)

    @property
    def ratio(self) -> float:
        """Share of events over share of children of the top authorities."""
        return self.share_of_events / self.share_of_children


def concentration(values: pd.DataFrame, *, share: float = 0.1) -> Concentration:
    """Share of all events and of all children in the top ``share`` of authorities by rate.

    Authorities are ranked by rate, highest first; the top ``ceil(share * N)`` are taken.
    ``gini`` is the Gini coefficient of events against children (0: every authority has the
    same rate; 1: all events in one authority), from the concentration (Lorenz) curve in
    ``curve`` (cumulative shares of children and events, authorities by rate from lowest).
    """
    if not 0 < share < 1:
        raise ValueError(f"share must be a fraction in (0, 1); got {share!r}")
    rows = _usable(values).sort_values(["rate", "area_code"], ascending=[False, True])
    k = math.ceil(share * len(rows))
    top = rows.iloc[:k]
    total_e, total_c = rows["events"].sum(), rows["children"].sum()
    asc = rows.iloc[::-1]
    cum_c = np.concatenate([[0.0], np.cumsum(asc["children"].to_numpy()) / total_c])
    cum_e = np.concatenate([[0.0], np.cumsum(asc["events"].to_numpy()) / total_e])
    gini = float(1 - np.sum((cum_c[1:] - cum_c[:-1]) * (cum_e[1:] + cum_e[:-1])))
    curve = pd.DataFrame(
        {
            "area_code": ["", *asc["area_code"]],
            "cumulative_share_of_children": cum_c,
            "cumulative_share_of_events": cum_e,
        }
    )
    return Concentration(
        share_of_areas=share,
        areas=k,
        top_areas=tuple(top["area_code"]),
        share_of_events=float(top["events"].sum() / total_e),
        share_of_children=float(top["children"].sum() / total_c),
        gini=gini,
        curve=curve,
    )


# --------------------------------------------------------------------------------------------
# Hex cartogram
# --------------------------------------------------------------------------------------------


def hex_values(values: pd.DataFrame, reg: pd.DataFrame) -> pd.DataFrame:
    """Put authorities' counts on the hex cartogram of upper-tier authorities.

    Each hexagon of the register (``hex_q``, ``hex_r``) shows the authority it belongs to; an
    authority created after the cartogram (the successors of Northamptonshire and Cumbria) is
    drawn on its predecessor's hexagon, so two successors share one hexagon and it shows their
    combined count and rate (``combined`` is True).

    Parameters
    ----------
    values : pandas.DataFrame
        One row per authority with ``area_code``, ``events``, ``children`` (and any other
        columns, kept for single-authority hexagons).

    Returns
    -------
    pandas.DataFrame
        One row per hexagon: ``hex_code``, ``q``, ``r``, ``area_codes`` (``;``-joined),
        ``area_name``, ``events``, ``children``, ``rate``, ``combined``, and the other
        columns of ``values`` for hexagons with one authority.
    """
    on_map = reg[reg["hex_q"].notna()]
    position = {
        c: (int(q), int(r))
        for c, q, r in zip(on_map.index, on_map["hex_q"], on_map["hex_r"], strict=True)
    }
    links = areas.links(reg)
    before: dict[str, list[str]] = {}  # successor -> predecessors, in the order of the links
    for p, s in zip(links["predecessor"], links["successor"], strict=True):
        before.setdefault(s, []).append(p)
    hex_of: dict[str, str] = {}
    for code in values["area_code"]:
        if code in position:
            hex_of[code] = code
            continue
        frontier, seen = [code], {code}
        while frontier and code not in hex_of:
            nxt = []
            for c in frontier:
                for p in before.get(c, ()):
                    if p in position:
                        hex_of[code] = p
                        break
                    if p not in seen:
                        seen.add(p)
                        nxt.append(p)
            frontier = nxt
    v = values[values["area_code"].isin(hex_of)].copy()
    v["hex_code"] = v["area_code"].map(hex_of)
    extra = [c for c in v.columns if c not in ("area_code", "hex_code", "events", "children")]
    # each hexagon's rows by position, and the columns as arrays (no pandas call per hexagon)
    members: dict[str, list[int]] = {}
    for i, hex_code in enumerate(v["hex_code"]):
        members.setdefault(hex_code, []).append(i)
    arrays = {c: v[c].to_numpy() for c in ("area_code", *extra)}
    counts = {c: v[c].to_numpy(dtype=float) for c in ("events", "children")}
    rows = []
    for hex_code in sorted(members):
        at = members[hex_code]
        row = {
            "hex_code": hex_code,
            "q": position[hex_code][0],
            "r": position[hex_code][1],
            "area_codes": ";".join(sorted(arrays["area_code"][at])),
            **{c: np.nan if np.isnan(x[at]).any() else x[at].sum() for c, x in counts.items()},
            "combined": len(at) > 1,
        }
        for col in extra:
            row[col] = (
                arrays[col][at[0]]
                if len(at) == 1
                else (" + ".join(str(x) for x in arrays[col][at]) if col == "area_name" else None)
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["rate"] = PER * out["events"] / out["children"]
    out.attrs["unplaced"] = sorted(set(values["area_code"]) - set(hex_of))
    return out


def hex_colours(values: Iterable[float], *, cmap: str = "viridis", vmin=None, vmax=None):
    """Colours (and the norm and colormap) for a continuous value on the hex map; NaN is grey."""
    import matplotlib as mpl

    arr = np.asarray(list(values), dtype=float)
    finite = arr[np.isfinite(arr)]
    norm = mpl.colors.Normalize(
        vmin=float(finite.min()) if vmin is None else vmin,
        vmax=float(finite.max()) if vmax is None else vmax,
    )
    colormap = mpl.colormaps[cmap]
    colours = [mpl.colors.to_hex(colormap(norm(x))) if np.isfinite(x) else "#d9d9d9" for x in arr]
    return colours, norm, colormap


# --------------------------------------------------------------------------------------------
# Children's homes
# --------------------------------------------------------------------------------------------

#: Provider lists: year -> (table name, population lag). The September 2014 list uses the
#: mid-2014 estimate; the March 2023 list the mid-2022 estimate (the year before 31 March).
PROVIDER_LISTS: dict[int, tuple[str, int]] = {
    2014: ("providers_2014", 0),
    2023: ("providers_2023", 1),
}


def homes_panel(
    providers: pd.DataFrame, population: pd.DataFrame, *, lag: int, **options: Any
) -> pd.DataFrame:
    """Children's homes and their places per 10,000 children, by authority, from a provider list.

    ``lag`` and ``options`` (``reg``, ``consistent``, ``to_year``) are those of
    :func:`rate_panel`.

    Returns
    -------
    pandas.DataFrame
        Per authority: ``homes``, ``places``, ``children``, ``homes_per_10k``,
        ``places_per_10k`` (homes of Ofsted's type "children's home"; secure children's homes
        and residential special schools are not included).
    """
    homes, places = (
        rate_panel(providers, population, measure, lag=lag, **options)
        for measure in ("childrens_homes", "childrens_homes_places")
    )
    out = homes.rename(columns={"events": "homes", "rate": "homes_per_10k"})
    out["places"] = out["area_code"].map(places.set_index("area_code")["events"])
    out["places_per_10k"] = PER * out["places"] / out["children"]
    out.attrs.update(homes.attrs, unit="homes")
    return out


def homes_change(
    first: pd.DataFrame,
    second: pd.DataFrame,
    population: pd.DataFrame,
    *,
    lags: tuple[int, int] = (0, 1),
    reg: pd.DataFrame,
    to_year: int = 2023,
) -> pd.DataFrame:
    """Children's homes per 10,000 children in two provider lists, on the later boundaries.

    Counts of both lists are aggregated to the authorities of ``to_year`` (reporting year)
    before rates are taken, so authorities merged or split in between compare like with like.

    Returns
    -------
    pandas.DataFrame
        Per authority: homes, places, children and rates for each list (suffixes ``_first``
        and ``_second``) and the change in homes per 10,000 children.
    """
    pop = consistent_frame(population, to_year, reg=reg)  # once, for both lists
    a = homes_panel(first, pop, lag=lags[0], reg=reg, consistent=True, to_year=to_year)
    b = homes_panel(second, pop, lag=lags[1], reg=reg, consistent=True, to_year=to_year)
    keep = [
        "area_code",
        "area_name",
        "region",
        "homes",
        "places",
        "children",
        "homes_per_10k",
        "places_per_10k",
    ]
    out = a[keep].merge(
        b[keep], on=["area_code", "area_name", "region"], suffixes=("_first", "_second")
    )
    out["change_homes_per_10k"] = out["homes_per_10k_second"] - out["homes_per_10k_first"]
    out.attrs.update(sources=sources_of(first, second, population))
    return out


# --------------------------------------------------------------------------------------------
# Missing from care
# --------------------------------------------------------------------------------------------

_MISSING_MEASURES = ("missing_children", "missing_incidents", "cla_during_year")


def missing_panel(
    missing: pd.DataFrame,
    looked_after: pd.DataFrame | None = None,
    *,
    vintage: str = "latest",
    geography: str = _LA,
) -> pd.DataFrame:
    """Looked-after children who went missing, and their incidents, by authority and year.

    Parameters
    ----------
    missing : pandas.DataFrame
        :func:`analysis.local.load_missing` with every vintage (``"all"``).
    looked_after : pandas.DataFrame, optional
        Looked-after children (:func:`analysis.local.load_looked_after`): the 2015 release
        gives the children looked after during 2014-15, which the 2015 missing table lacks.
        The 2016 and 2017 releases' denominators are not in the project, so those years have
        incidents per child but no share.
    vintage : {"latest", "earliest"} or a vintage
        Which release a year two releases give is taken from.

    Returns
    -------
    pandas.DataFrame
        Per authority-year: ``missing_children``, ``missing_incidents``, ``cla_during_year``
        (children), ``share_missing`` (children who went missing over children looked after
        during the year), ``incidents_per_child`` (incidents per child who went missing),
        ``vintage`` and ``release`` of the missing figures.
    """
    m = missing[(missing["geography"] == geography) & missing["measure"].isin(_MISSING_MEASURES)]
    order = {v: i for i, v in enumerate(sorted(set(m["vintage"])))}
    rank = m["vintage"].map(order)
    key = [m["area_code"], m["year"], m["measure"]]
    if vintage in ("latest", "earliest"):
        best = rank.groupby(key).transform("max" if vintage == "latest" else "min")
        m = m[rank == best]
    else:
        chosen = m["vintage"] == vintage
        m = m[chosen | ~chosen.groupby(key).transform("any")]
    # one row per authority-year present (a pivot_table with dropna=False would build every
    # combination of code, name, region and year first); "first" skips NaN, as pivot_table's
    wide = (
        m.groupby(["area_code", "area_name", "region", "year", "measure"], dropna=False)["value"]
        .first()
        .unstack("measure")
    )
    wide.attrs = dict(m.attrs)
    meta = m[m["measure"] == "missing_children"].drop_duplicates(["area_code", "year"])
    meta = meta.set_index(["area_code", "year"])[["vintage", "release", "source_id"]]
    wide = wide.reindex(columns=list(_MISSING_MEASURES)).reset_index()
    if looked_after is not None:
        cla = looked_after[
            (looked_after["measure"] == "cla_during_year")
            & (looked_after["geography"] == geography)
        ].set_index(["area_code", "year"])["value"]
        fill = wide["cla_during_year"].isna()
        idx = pd.MultiIndex.from_frame(wide.loc[fill, ["area_code", "year"]])
        wide.loc[fill, "cla_during_year"] = cla.reindex(idx).to_numpy()
    wide = wide.join(meta, on=["area_code", "year"])
    wide["share_missing"] = wide["missing_children"] / wide["cla_during_year"]
    wide["incidents_per_child"] = wide["missing_incidents"] / wide["missing_children"]
    wide = wide[wide["missing_children"].notna() | wide["missing_incidents"].notna()]
    wide = wide.sort_values(["area_code", "year"], kind="stable").reset_index(drop=True)
    wide.attrs.update(
        vintage=vintage,
        sources=sources_of(missing, *(() if looked_after is None else (looked_after,))),
    )
    return wide


def missing_revisions(missing: pd.DataFrame, *, geography: str | None = None) -> pd.DataFrame:
    """Figures two releases give for the same year and authority: both values and the change.

    Returns
    -------
    pandas.DataFrame
        Per area, year and measure given by two vintages: ``earlier``, ``later`` (values),
        ``earlier_vintage``, ``later_vintage``, ``change`` and ``revised`` (True when they
        differ, or when one is a number and the other is not).
    """
    m = missing if geography is None else missing[missing["geography"] == geography]
    counted = m.groupby(["area_code", "year", "measure"])["vintage"].transform("nunique")
    both = m[counted > 1].sort_values("vintage")
    first = both.groupby(["area_code", "year", "measure"], sort=True).first()
    last = both.groupby(["area_code", "year", "measure"], sort=True).last()
    out = pd.DataFrame(
        {
            "area_name": first["area_name"],
            "geography": first["geography"],
            "unit": first["unit"],
            "earlier_vintage": first["vintage"],
            "later_vintage": last["vintage"],
            "earlier": first["value"],
            "later": last["value"],
        }
    ).reset_index()
    # groupby.first skips NaN: take the values per vintage explicitly
    val = both.set_index(["area_code", "year", "measure", "vintage"])["value"]
    out["earlier"] = val.reindex(
        pd.MultiIndex.from_frame(out[["area_code", "year", "measure", "earlier_vintage"]])
    ).to_numpy()
    out["later"] = val.reindex(
        pd.MultiIndex.from_frame(out[["area_code", "year", "measure", "later_vintage"]])
    ).to_numpy()
    out["change"] = out["later"] - out["earlier"]
    e, lt = out["earlier"], out["later"]
    out["revised"] = (e.isna() != lt.isna()) | (e.notna() & lt.notna() & (e != lt))
    return out


def revision_summary(
    revisions: pd.DataFrame,
    measures: Sequence[str] = ("missing_children", "missing_incidents", "cla_during_year"),
) -> pd.DataFrame:
    """Per year and measure: authorities two releases both give, how many changed, net change.

    Parameters
    ----------
    revisions : pandas.DataFrame
        From :func:`missing_revisions`.
    measures : sequence of str
        The measures to keep.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, authorities, revised, total_change`` (later minus earlier, summed).
    """
    kept = revisions[revisions["measure"].isin(list(measures))]
    return (
        kept.groupby(["year", "measure"])
        .agg(
            authorities=("area_code", "nunique"),
            revised=("revised", "sum"),
            total_change=("change", "sum"),
        )
        .reset_index()
    )


@dataclass(frozen=True)
class RegionalDispersion:
    """A test of whether regions differ more than the authorities within them."""

    year: int
    measure: str
    ratio: float
    df_regions: int
    df_residual: int
    p_value: float
    within_dispersion: float
    authorities: int
    regions: int
    method: str

    def rejects(self, alpha: float = 0.05) -> bool:
        """True if regions differ beyond chance at level ``alpha``."""
        return bool(np.isfinite(self.p_value) and self.p_value < alpha)


#: Below this Pearson chi-square per degree of freedom the region model fits every authority
#: exactly, to rounding, and :func:`regional_dispersion_test` refuses to divide by it.
_EXACT_FIT = 1e-9


def regional_dispersion_test(
    x: Sequence[float],
    n: Sequence[float],
    region: Sequence[str],
    *,
    year: int = 0,
    measure: str = "",
    family: str = "binomial",
) -> RegionalDispersion:
    """Quasi-likelihood F test: do regions differ more than authorities within regions do?

    Two generalised linear models of the authorities' counts are fitted with statsmodels, one
    with a common level and one with a level per region: binomial for ``x`` children out of
    ``n`` (``family="binomial"``), or Poisson for ``x`` events with ``log(n)`` as offset
    (``family="poisson"``, e.g. incidents per child who went missing). Authorities vary more than
    binomial or Poisson chance, so the dispersion is estimated from the region model's Pearson
    χ² over its residual degrees of freedom, and the **dispersion ratio**

    ``F = [(D_common - D_region) / (R - 1)] / [X²_region / (N - R)]``

    is referred to an F distribution on ``R - 1`` and ``N - R`` degrees of freedom. ``F`` near 1
    means the regions differ no more than chance and the authorities' own spread predict; above
    1 with a small p-value, the regions differ beyond that.

    References
    ----------
    .. [1] McCullagh, P. and Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed.,
       Chapman and Hall, §4.5 and §9.2 (quasi-likelihood; F tests with estimated dispersion).
    .. [2] Venables, W. N. and Ripley, B. D. (2002). *Modern Applied Statistics with S*,
       4th ed., Springer, §7.5.

    Raises
    ------
    ValueError
        With fewer than two regions or no more authorities than regions, a count above its
        denominator, or when the region model fits every authority exactly (no variation within
        regions beyond rounding), where the ratio is 0/0.
    """
    from scipy import stats as sps
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    xv = np.asarray(x, dtype=float)
    nv = np.asarray(n, dtype=float)
    groups = np.empty(len(xv), dtype=object)
    groups[:] = list(region)
    ok = np.isfinite(xv) & np.isfinite(nv) & (nv > 0) & pd.notna(groups)
    xv, nv, groups = xv[ok], nv[ok], groups[ok]
    levels = sorted(set(groups))
    n_areas, k = len(xv), len(levels)
    if k < 2 or n_areas <= k:
        raise ValueError(
            f"need at least two regions and more authorities than regions; got {k}, {n_areas}"
        )
    # one indicator column per region, in sorted order (pandas.get_dummies, without pandas)
    design = np.array([[g == level for level in levels] for g in groups], dtype=float)
    const = np.ones((n_areas, 1))
    if family == "binomial":
        if np.any(xv > nv):
            raise ValueError("a count exceeds its denominator")
        endog = np.column_stack([xv, nv - xv])
        fam, offset = families.Binomial(), None
        words = "binomial (children who went missing out of children looked after)"
    elif family == "poisson":
        endog, fam, offset = xv, families.Poisson(), np.log(nv)
        words = "Poisson with log-denominator offset"
    else:
        raise ValueError(f"family must be 'binomial' or 'poisson'; got {family!r}")
    common = GLM(endog, const, family=fam, offset=offset).fit()
    full = GLM(endog, design, family=fam, offset=offset).fit()
    df1, df2 = k - 1, n_areas - k
    phi = float(full.pearson_chi2 / df2)
    if not phi > _EXACT_FIT:
        # The region model fits every authority to rounding: F is 0/0, and its value would be
        # whatever the rounding of the two fits left (a different number on another machine).
        raise ValueError(
            f"{measure or 'the rates'}{f' in {year}' if year else ''}: the authorities do not "
            f"vary within regions beyond rounding (Pearson chi-square per degree of freedom "
            f"{phi:.2g}), so the dispersion test is undefined"
        )
    # The models are nested, so the deviance cannot rise with the regions: a negative drop is
    # the fits' rounding.
    ratio = float(max(common.deviance - full.deviance, 0.0) / df1 / phi)
    p = float(sps.f.sf(ratio, df1, df2))
    method = (
        f"quasi-likelihood F test of a region effect in a {words} GLM, dispersion from the "
        "region model's Pearson chi-square (McCullagh and Nelder 1989)"
    )
    # year, measure, ratio, df_regions, df_residual, p_value, within_dispersion, authorities,
    # regions, method: the fields of RegionalDispersion in order
    return RegionalDispersion(int(year), measure, ratio, df1, df2, p, phi, n_areas, k, method)


def regional_dispersion(panel: pd.DataFrame) -> pd.DataFrame:
    """The regional dispersion test year by year, for both missing-from-care measures.

    ``share_missing`` (binomial: children who went missing of children looked after) where the
    year has denominators, and ``incidents_per_child`` (Poisson: incidents with the children
    who went missing as exposure) every year.

    Returns
    -------
    pandas.DataFrame
        One row per year and measure: the fields of :class:`RegionalDispersion`.
    """
    years = panel["year"].to_numpy()
    region = panel["region"].to_numpy(dtype=object)
    counts = {
        c: panel[c].to_numpy(dtype=float)
        for c in ("missing_children", "cla_during_year", "missing_incidents")
    }
    rows = []
    for year in sorted(set(years.tolist())):
        for measure, x, n, fam in (
            ("share_missing", "missing_children", "cla_during_year", "binomial"),
            ("incidents_per_child", "missing_incidents", "missing_children", "poisson"),
        ):
            xv, nv = counts[x], counts[n]
            usable = (years == year) & ~np.isnan(xv) & ~np.isnan(nv) & (nv > 0)
            if usable.sum() < 20:
                continue
            t = regional_dispersion_test(
                xv[usable], nv[usable], region[usable], family=fam, year=int(year), measure=measure
            )
            rows.append(t.__dict__)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The ecological model
# --------------------------------------------------------------------------------------------

#: Covariates of the ecological model, with the step their rate ratio is given per.
ECOLOGICAL_TERMS: dict[str, tuple[str, float]] = {
    "homes_per_10k": ("children's homes per 10,000 children", 1.0),
    "lac_per_10k": ("looked-after children per 10,000 children", 10.0),
    "incidents_per_10k": ("missing-from-care incidents per 10,000 children", 10.0),
}


def ecological_frame(
    factors: pd.DataFrame,
    population: pd.DataFrame,
    providers: pd.DataFrame,
    looked_after: pd.DataFrame,
    missing: pd.DataFrame,
    *,
    year: int = 2023,
    provider_lag: int = 1,
) -> pd.DataFrame:
    """One row per authority for one year: CSE episodes at assessment and the area covariates.

    Columns: ``events`` (episodes with child sexual exploitation recorded), ``children``,
    ``rate``, ``homes_per_10k`` (Ofsted's list at the year's 31 March), ``lac_per_10k``
    (looked-after children at 31 March) and ``incidents_per_10k`` (missing-from-care incidents
    in the year), all per 10,000 children of the same mid-year estimate. Authorities lacking
    any of them are left out.
    """
    cse = rate_panel(factors, population, FACTORS["cse"])
    cse = cse[cse["year"] == year].set_index("area_code")
    homes = rate_panel(providers, population, "childrens_homes", lag=provider_lag).set_index(
        "area_code"
    )
    lac = rate_panel(looked_after, population, "cla_at_31_march")
    lac = lac[lac["year"] == year].set_index("area_code")
    inc = rate_panel(missing, population, "missing_incidents")
    inc = inc[inc["year"] == year].drop_duplicates("area_code", keep="last").set_index("area_code")
    out = cse[["area_name", "region", "events", "children", "rate"]].copy()
    out["homes_per_10k"] = homes["rate"].reindex(out.index)
    out["lac_per_10k"] = lac["rate"].reindex(out.index)
    out["incidents_per_10k"] = inc["rate"].reindex(out.index)
    out = out.dropna(subset=["events", "children", *ECOLOGICAL_TERMS]).reset_index()
    used = [f[f["year"] == year] for f in (factors, looked_after, missing)]
    used.append(population[population["year"] == year - 1])
    out.attrs.update(year=year, sources=sources_of(*used, providers))
    return out


def fit_ecological_model(
    frame: pd.DataFrame, *, terms: Sequence[str] | None = None, cov_type: str = "HC1"
) -> Any:
    """Negative binomial (NB2) model of CSE episodes across authorities, robust errors.

    ``events ~ homes_per_10k + lac_per_10k + incidents_per_10k`` with ``log(children)`` as
    offset (:func:`statsmodels.formula.api.negativebinomial`), α estimated with the coefficients
    and sandwich (``HC1``) standard errors, so the intervals do not rest on the NB variance
    being right.

    Raises
    ------
    analysis.trends.ModelFitError
        If the fit did not converge (:func:`analysis.trends.check_converged`), e.g. on counts
        with no over-dispersion, whose NB2 maximum is the Poisson model.

    References
    ----------
    .. [1] Cameron, A. C. and Trivedi, P. K. (2013). *Regression Analysis of Count Data*,
       2nd ed., Cambridge University Press, §3.3 (NB2) and §2.7 (robust sandwich errors).
    """
    import statsmodels.formula.api as smf

    formula = "events ~ " + " + ".join(ECOLOGICAL_TERMS if terms is None else terms)
    model = smf.negativebinomial(formula, frame, offset=np.log(frame["children"].to_numpy(float)))
    result = model.fit(disp=0, maxiter=300, cov_type=cov_type)
    trends.check_converged(result, f"the ecological NB2 model ({formula})")
    return result


def ecological_irrs(result: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Incidence rate ratios of the ecological model per the step in :data:`ECOLOGICAL_TERMS`."""
    ci = result.conf_int(1 - confidence)
    rows = []
    for term, (words, step) in ECOLOGICAL_TERMS.items():
        if term not in result.params.index:
            continue
        b = float(result.params[term])
        rows.append(
            {
                "term": term,
                "meaning": words,
                "per": step,
                "irr": math.exp(b * step),
                "lower": math.exp(float(ci.loc[term, 0]) * step),
                "upper": math.exp(float(ci.loc[term, 1]) * step),
                "p_value": float(result.pvalues[term]),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        alpha=float(result.params["alpha"]),
        n=int(result.nobs),
        method="NB2 with log(children) offset, HC1 robust standard errors (statsmodels)",
    )
    return out


def partial_effects(
    result: Any, frame: pd.DataFrame, term: str, *, points: int = 40, confidence: float = 0.95
) -> pd.DataFrame:
    """Predicted CSE episodes per 10,000 children across one covariate, the others at their medians.

    The interval is the model's (robust) interval of the mean; ``observed`` points are the
    authorities' own rates, for the chart only.
    """
    grid = np.linspace(frame[term].min(), frame[term].max(), points)
    exog = pd.DataFrame({t: np.full(points, frame[t].median()) for t in ECOLOGICAL_TERMS})
    exog[term] = grid
    pred = result.get_prediction(exog=exog, offset=np.full(points, math.log(PER)))
    summary = pred.summary_frame(alpha=1 - confidence)
    return pd.DataFrame(
        {
            "term": term,
            "value": grid,
            "predicted_rate": summary["predicted"].to_numpy(),
            "lower": summary["ci_lower"].to_numpy(),
            "upper": summary["ci_upper"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------------------------
# The evidence's own year
# --------------------------------------------------------------------------------------------


def looked_after_2012_against_homes_2014(
    looked_after: pd.DataFrame,
    providers_2014: pd.DataFrame,
    population: pd.DataFrame,
    *,
    reg: pd.DataFrame,
) -> pd.DataFrame:
    """Looked-after children per 10,000 at 31 March 2012 beside children's homes in September 2014.

    Both on the boundaries of the reporting year 2015 (the one change in between is Gateshead's
    and Northumberland's new codes). The 2012 rate uses the mid-2012 population estimate, the
    earliest in the project (DfE's own 2012 rates used mid-2011, so these differ slightly).
    """
    population = consistent_frame(population, 2015, reg=reg)  # once, for both panels
    lac = rate_panel(
        looked_after[looked_after["year"] == 2012],
        population,
        "cla_at_31_march",
        reg=reg,
        consistent=True,
        to_year=2015,
        lag=0,
    )
    homes = homes_panel(providers_2014, population, lag=0, reg=reg, consistent=True, to_year=2015)
    out = lac[["area_code", "area_name", "region", "events", "children", "rate"]].rename(
        columns={
            "events": "looked_after_2012",
            "children": "children_2012",
            "rate": "lac_per_10k_2012",
        }
    )
    h = homes.set_index("area_code")
    out["homes_2014"] = out["area_code"].map(h["homes"])
    out["homes_per_10k_2014"] = out["area_code"].map(h["homes_per_10k"])
    out = out.dropna(subset=["lac_per_10k_2012", "homes_per_10k_2014"]).reset_index(drop=True)
    out.attrs.update(sources=sources_of(looked_after, providers_2014, population))
    return out


# --------------------------------------------------------------------------------------------
# What the verdict rules compute (claims C15 and C19)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityCount:
    """England's local authorities with children's services in the 2012 looked-after release."""

    count: int  # listed + omitted
    listed: int  # authorities with a row of their own in the release
    omitted: tuple[str, ...]  # in the population table, not in the release (Isles of Scilly)
    small: tuple[str, ...]  # under ten children looked after at 31 March, or suppressed
    unknown: tuple[str, ...]  # in the release, not in the population table
    sources: tuple[str, ...]


def count_authorities_2012(
    release: pd.DataFrame | None = None, population: pd.DataFrame | None = None
) -> AuthorityCount:
    """Count the authorities of the 2012 looked-after release, its smallest ones included.

    The rule: an authority counts if it has its own row in the release (SFR 20/2012), whatever
    its cells hold; City of London's row has a handful of children and suppressed cells
    (``x``), and still counts (``small`` lists authorities with under ten children looked after
    at 31 March, or with that count suppressed). An authority with its own row in the ONS child
    population table for mid-2012 (DfE's compilation) but no row in the release counts too,
    named in ``omitted``: the release does not report the Isles of Scilly separately. Authorities
    are matched on DfE's three-digit numbers, which do not change with ONS codes.
    ``unknown`` lists release authorities the population table lacks (a problem to look at).
    """
    release = load("cla_2012_raw") if release is None else release
    population = load("population_raw") if population is None else population
    rel = release[release["geography"] == _LA]
    pop = population[
        (population["geography"] == _LA)
        & (population["year"] == 2012)
        & (population["measure"] == "child_population")
    ]
    listed = set(rel["la_number"])
    in_pop = dict(zip(pop["la_number"], pop["area_name"], strict=False))
    omitted = sorted(in_pop[n] for n in set(in_pop) - listed)
    unknown = sorted(set(rel.loc[~rel["la_number"].isin(set(in_pop)), "area_name"]))
    at_march = rel[rel["measure"] == "cla_at_31_march"]
    small = sorted(
        at_march.loc[at_march["value"].isna() | (at_march["value"] < 10), "area_name"].unique()
    )
    return AuthorityCount(
        count=len(listed) + len(omitted),
        listed=len(listed),
        omitted=tuple(omitted),
        small=tuple(small),
        unknown=tuple(unknown),
        sources=tuple(sources_of(release, population)),
    )


def homes_association(year: int = 2023, *, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Children's homes and recorded CSE across authorities: the rate ratio per home per 10,000.

    Two NB2 models of :func:`fit_ecological_model` on :func:`ecological_frame` for ``year``:
    ``homes only`` (the direct reading of the evidence's reasoning: do areas with more homes per
    child record more exploitation?) and ``adjusted`` (with looked-after children and missing
    incidents per 10,000 children). Returns the homes row of :func:`ecological_irrs` for each,
    with a ``model`` column.
    """
    if frame is None:
        frame = ecological_frame(
            load("factors"),
            load("population"),
            load(PROVIDER_LISTS[year][0]) if year in PROVIDER_LISTS else load("providers_2023"),
            load("looked_after"),
            load("missing"),
            year=year,
        )
    rows = []
    for model, terms in (("homes only", ["homes_per_10k"]), ("adjusted", None)):
        irr = ecological_irrs(fit_ecological_model(frame, terms=terms))
        rows.append(irr[irr["term"] == "homes_per_10k"].assign(model=model, authorities=len(frame)))
    out = pd.concat(rows, ignore_index=True)
    out.attrs.update(year=year, sources=frame.attrs.get("sources", []))
    return out


#: The earliest years with missing-from-care figures at authority level: the three releases
#: before DfE's current series (SFR 34/2015, SFR 41/2016, SFR 50/2017).
EARLIEST_MISSING = ("missing_2015_raw", "missing_2016_raw", "missing_2017_raw")


def earliest_missing_panel(
    missing: Sequence[pd.DataFrame] | None = None,
    looked_after: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Missing from care in the earliest releases at authority level (2015 to 2017), with regions.

    The 2015 release gives the denominator too (its looked-after table: children looked after
    during the year); the 2016 and 2017 denominators are not in the project, so those years
    have incidents per child who went missing only. Regions come from the ONS population
    table, matched on DfE's three-digit numbers, so the rule needs no area register.
    """
    missing = [load(n) for n in EARLIEST_MISSING] if missing is None else list(missing)
    looked_after = load("cla_2015_raw") if looked_after is None else looked_after
    population = load("population_raw") if population is None else population
    pop = population[
        (population["geography"] == _LA) & (population["measure"] == "child_population")
    ]
    region_of = pop.drop_duplicates("la_number", keep="last").set_index("la_number")["region"]
    frames = pd.concat(missing, ignore_index=True)
    panel = missing_panel(frames, looked_after)
    number = frames[frames["geography"] == _LA].drop_duplicates(["area_code", "year"])
    number = number.set_index(["area_code", "year"])["la_number"]
    keys = pd.MultiIndex.from_frame(panel[["area_code", "year"]])
    panel["region"] = number.reindex(keys).map(region_of).to_numpy()
    panel.attrs["sources"] = sources_of(*missing, looked_after, population)
    return panel


def earliest_regional_dispersion(
    panel: pd.DataFrame | None = None, *, alpha: float = 0.05
) -> pd.DataFrame:
    """The regional dispersion tests of the earliest years, with Holm's correction across them.

    One :func:`regional_dispersion_test` per year and measure the year allows
    (:func:`regional_dispersion`); ``p_holm`` controls the chance of any false rejection among
    them (Holm's step-down method,
    :func:`statsmodels.stats.multitest.multipletests`) and ``rejects`` says whether the test
    rejects at ``alpha`` after the correction.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       *Scandinavian Journal of Statistics* 6:65-70.
    """
    panel = earliest_missing_panel() if panel is None else panel
    out = regional_dispersion(panel)
    if out.empty:
        raise ValueError("no year of the panel has enough authorities for the test")
    from statsmodels.stats.multitest import multipletests

    out["p_holm"] = multipletests(out["p_value"].to_numpy(), alpha=alpha, method="holm")[1]
    out["rejects"] = out["p_holm"] < alpha
    out.attrs.update(alpha=alpha, sources=panel.attrs.get("sources", []))
    return out


# --------------------------------------------------------------------------------------------
# A profile of one authority
# --------------------------------------------------------------------------------------------

_EPISODES = "episodes per 10,000 children"  # the unit of the three factors at assessment
#: The profile's indicators: key -> (title, unit of the value shown).
INDICATORS: dict[str, tuple[str, str]] = {
    "cse": ("Child sexual exploitation recorded at assessment", _EPISODES),
    "missing_factor": ("Going missing recorded at assessment", _EPISODES),
    "cce": ("Child criminal exploitation recorded at assessment", _EPISODES),
    "lac": ("Children looked after at 31 March", "children per 10,000 children"),
    "missing_share": ("Looked-after children who went missing", "% of children looked after"),
    "incidents": ("Missing incidents per child who went missing", "incidents per child"),
    "homes": ("Children's homes (Ofsted list)", "homes per 10,000 children"),
}
_SCALE = {"missing_share": 100.0, "incidents": 1.0}
_SHORT_TITLES = {
    "cse": "Sexual exploitation (assessments)",
    "missing_factor": "Going missing (assessments)",
    "cce": "Criminal exploitation (assessments)",
    "lac": "Looked after at 31 March",
    "missing_share": "Went missing from care",
    "incidents": "Incidents per child missing",
    "homes": "Children's homes",
}


def _ratio_panel(
    numerator: pd.DataFrame,
    denominator: pd.DataFrame,
    num: str,
    den: str,
    reg: pd.DataFrame,
    *,
    consistent: bool,
) -> pd.DataFrame:
    """A panel of one count over another (both tidy), e.g. children who went missing over
    children looked after, in the ``events``/``children`` columns of a rate panel."""
    a = numerator[(numerator["measure"] == num) & (numerator["geography"] == _LA)]
    b = denominator[(denominator["measure"] == den) & (denominator["geography"] == _LA)]
    if consistent:
        a = consistent_frame(a, reg=reg)
        b = consistent_frame(b, reg=reg)
    a = a.drop_duplicates(["area_code", "year"], keep="last")
    b = b.drop_duplicates(["area_code", "year"], keep="last").set_index(["area_code", "year"])
    out = a[["area_code", "area_name", "region", "year", "value", "status"]].rename(
        columns={"value": "events"}
    )
    out["children"] = (
        b["value"].reindex(pd.MultiIndex.from_frame(out[["area_code", "year"]])).to_numpy()
    )
    out["rate"] = out["events"] / out["children"]
    out["population_year"] = out["year"]
    out.attrs.update(
        sources=sources_of(numerator, denominator), boundaries=dict(a.attrs.get("boundaries", {}))
    )
    return out.reset_index(drop=True)


def _latest_missing() -> pd.DataFrame:
    m = load("missing")
    rank = m["vintage"].map({v: i for i, v in enumerate(sorted(set(m["vintage"])))})
    best = rank.groupby([m["area_code"], m["year"], m["measure"]]).transform("max")
    out = m[rank == best]
    out.attrs = dict(m.attrs)
    return out


def _with_cla_2015(missing: pd.DataFrame) -> pd.DataFrame:
    cla = load("looked_after")
    extra = cla[(cla["measure"] == "cla_during_year") & (cla["year"] == 2015)]
    out = pd.concat([missing, extra], ignore_index=True)
    out.attrs = dict(missing.attrs, sources=sources_of(missing, extra))
    return out


@lru_cache(maxsize=2)
def indicator_panels(consistent: bool = True) -> dict[str, pd.DataFrame]:
    """Every profile indicator as a panel of all authorities (real data, cached).

    With ``consistent`` (default) authorities are on the latest boundaries for every year.
    ``rate`` is per 10,000 children except ``missing_share`` (a fraction) and ``incidents``
    (per child who went missing).
    """
    reg, pop = load("register"), load("population")
    if consistent:
        pop = consistent_frame(pop, reg=reg)  # once, for every panel
    panels = {
        key: rate_panel(load("factors"), pop, FACTORS[f], reg=reg, consistent=consistent)
        for key, f in (("cse", "cse"), ("missing_factor", "missing"), ("cce", "cce"))
    }
    cla = load("looked_after")
    panels["lac"] = rate_panel(cla, pop, "cla_at_31_march", reg=reg, consistent=consistent)
    miss = _with_cla_2015(_latest_missing())
    panels["missing_share"] = _ratio_panel(
        miss, miss, "missing_children", "cla_during_year", reg, consistent=consistent
    )
    panels["incidents"] = _ratio_panel(
        miss, miss, "missing_incidents", "missing_children", reg, consistent=consistent
    )
    homes = []
    for name, lag in PROVIDER_LISTS.values():
        homes.append(
            rate_panel(load(name), pop, "childrens_homes", reg=reg, consistent=consistent, lag=lag)
        )
    panels["homes"] = pd.concat(homes, ignore_index=True)
    panels["homes"].attrs.update(
        sources=sorted({s for h in homes for s in h.attrs["sources"]}),
        boundaries={k: v for h in homes for k, v in h.attrs.get("boundaries", {}).items()},
    )
    return panels


@dataclass(frozen=True)
class _Columns:
    """A rate panel's columns as arrays, for loops over years (pandas per year is slow)."""

    year: np.ndarray
    code: np.ndarray
    events: np.ndarray
    children: np.ndarray
    rate: np.ndarray
    usable: np.ndarray  # what :func:`_usable` keeps

    @classmethod
    def of(cls, panel: pd.DataFrame) -> _Columns:
        events = panel["events"].to_numpy(dtype=float)
        children = panel["children"].to_numpy(dtype=float)
        usable = ~np.isnan(events) & ~np.isnan(children) & (children > 0)
        return cls(
            panel["year"].to_numpy(),
            panel["area_code"].to_numpy(dtype=object),
            events,
            children,
            panel["rate"].to_numpy(dtype=float),
            usable,
        )


def _group_rate(cols: _Columns, rows: np.ndarray, key: str) -> float:
    """The pooled rate of the usable ``rows`` (a mask): summed events over summed children."""
    rows = rows & cols.usable
    if not rows.any():
        return math.nan
    value = cols.events[rows].sum() / cols.children[rows].sum()
    return value * (PER if key not in _SCALE else _SCALE[key])


@dataclass
class Profile:
    """One authority beside its region, England and its statistical neighbours (real data)."""

    area: pd.Series
    label: str
    series: pd.DataFrame
    status: pd.DataFrame
    neighbours: tuple[str, ...]
    notes: list[str]
    sources: list[str]

    def text(self) -> str:
        """The profile as plain text (what ``python -m analysis profile`` prints)."""
        a = self.area
        lines = [
            f"{a['area_name']} ({a['area_code']}, DfE {a['la_number']}), {a['region']}; police "
            f"force area {a.get('police_force_area') or 'not known'}",
            "Statistical neighbours (DfE 2025 model): " + (", ".join(self.neighbours) or "none"),
            "",
        ]
        for row in self.status.itertuples(index=False):
            basis = "" if row.basis == "as published" else f" [{row.basis}]"
            lines.append(f"{row.title} ({row.unit}), {row.year}{basis}:")
            lines.append(
                f"  {a['area_name']} {row.value:.3g} | region {row.region:.3g} | England "
                f"{row.england:.3g} | neighbours' median {row.neighbours_median:.3g}"
            )
            lines.append(f"  funnel: {row.funnel}; trend: {row.trend}")
        lines += ["", *[f"Note: {n}" for n in self.notes]]
        lines.append("Episodes are assessments, not children: a child assessed twice counts twice.")
        return "\n".join(lines) + "\n"

    def chart(self, title: str | None = None):
        """A one-page chart in the house style: each indicator's series for the authority, its
        region, England and the neighbours' median. Returns the figure, not saved; pass it to
        :func:`analysis.plotting.save_figure` (which adds the title and source line), or give
        ``title`` to draw one here (the command line does)."""
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator

        from analysis import plotting

        plotting.use_house_style()
        keys = list(INDICATORS)
        fig, axes = plotting.figure("full", 8.6, nrows=4, ncols=2)
        a = self.area
        styles = {
            "authority": {"color": plotting.COLORS["published"], "lw": 2.0, "ls": "-"},
            "region": {"color": plotting.COLORS["published_alt"], "lw": 1.2, "ls": "-"},
            "England": {"color": plotting.COLORS["reference"], "lw": 1.2, "ls": "-"},
            "neighbours' median": {"color": plotting.COLORS["context"], "lw": 1.2, "ls": "--"},
        }
        for ax, key in zip(axes.ravel(), keys, strict=False):
            s = self.series[self.series["indicator"] == key]
            for col, style in styles.items():
                ax.plot(s["year"], s[col], marker="o", ms=3, **style)
            ax.set_title(_SHORT_TITLES[key])
            ax.set_ylabel(INDICATORS[key][1])
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.set_ylim(bottom=0)
        axes.ravel()[-1].axis("off")
        handles = [
            Line2D(
                [], [], marker="o", ms=3, label=a["area_name"] if col == "authority" else col, **st
            )
            for col, st in styles.items()
        ]
        plotting.legend_below(fig, handles, ncols=4)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        return fig


def _resolve_area(name_or_code: str, reg: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    row = areas.lookup(name_or_code, register=reg)
    notes = []
    if not bool(row["current"]):
        successors = row["successors"]
        if len(successors) == 1:
            notes.append(f"{row['area_name']} is now part of {reg.at[successors[0], 'area_name']}")
            row = reg.loc[successors[0]]
        else:
            names = ", ".join(reg.at[s, "area_name"] for s in successors)
            raise KeyError(
                f"{row['area_name']} ({row['area_code']}) no longer exists; it was split into "
                f"{names}: profile one of those"
            )
    return row, notes


def _label_of(code: str, panel: pd.DataFrame) -> str:
    for label, members in panel.attrs.get("boundaries", {}).items():
        if code in members and code in label.split("+"):
            return label
    return code


def profile(
    name_or_code: str,
    *,
    panels: dict[str, pd.DataFrame] | None = None,
    consistent_panels: dict[str, pd.DataFrame] | None = None,
    reg: pd.DataFrame | None = None,
) -> Profile:
    """Profile one authority by name or code: its series, region, England and neighbours.

    For each indicator of :data:`INDICATORS`: the authority's own figures in the years it
    existed, and before that (for an authority made by a merger or split) its area on the latest
    boundaries (:func:`analysis.areas.consistent_boundaries`: the successors of a split county
    share one combined figure, said in the notes and in the ``basis`` column); its region and
    England (sums of the authorities' counts); the median of its ten statistical neighbours; and
    for the latest year its status in the funnel of all authorities (exact limits,
    over-dispersion allowed for) and, for the rates at assessment, its trend on consistent
    boundaries (quasi-Poisson rate ratio per year, t-based interval,
    :func:`analysis.trends.fit_rate_trend`; fitted with five years or more).

    Parameters
    ----------
    panels, consistent_panels : dict of str to DataFrame, optional
        :func:`indicator_panels` as published each year and on consistent boundaries (tests
        pass fakes); default the real data.

    Raises
    ------
    KeyError
        If no authority matches (the message gives close matches).
    """
    reg = load("register") if reg is None else reg
    area, notes = _resolve_area(name_or_code, reg)
    panels = indicator_panels(False) if panels is None else panels
    consistent_panels = indicator_panels(True) if consistent_panels is None else consistent_panels
    code = str(area["area_code"])
    sns = tuple(c for c in (area["statistical_neighbours"] or ()) if c)
    series_rows, status_rows = [], []
    combined_note = False
    for key, (title, unit) in INDICATORS.items():
        panel, cons = panels[key], consistent_panels[key]
        scale = _SCALE.get(key, 1.0)  # rate panels are per 10,000 already; ratios are fractions
        label = _label_of(code, cons)
        region_codes = set(panel.loc[panel["region"] == area["region"], "area_code"])
        p, pc = _Columns.of(panel), _Columns.of(cons)
        in_region = np.array([a in region_codes for a in p.code], dtype=bool)
        rows = []
        for year in sorted(set(p.year.tolist())):
            at = p.year == year
            own, cols = at & p.usable & (p.code == code), p
            basis = "as published"
            if not own.any():
                own, cols = pc.usable & (pc.code == label) & (pc.year == year), pc
                basis = "consistent boundaries" + (" (combined)" if "+" in label else "")
                combined_note |= "+" in label and bool(own.any())
            usable = at & p.usable
            rates = dict(zip(p.code[usable], p.rate[usable] * scale, strict=True))
            nb = [float(rates[c]) for c in sns if c in rates]
            rows.append(
                {
                    "indicator": key,
                    "year": int(year),
                    "authority": float(cols.rate[own][0] * scale) if own.any() else math.nan,
                    "basis": basis if own.any() else "",
                    "region": _group_rate(p, at & in_region, key),
                    "England": _group_rate(p, at, key),
                    "neighbours' median": float(np.median(nb)) if nb else math.nan,
                    "neighbours_used": len(nb),
                }
            )
        series_rows += rows
        s = pd.DataFrame(rows)
        s = s[s["authority"].notna()]
        if s.empty:
            continue
        latest = int(s["year"].max())
        last = s[s["year"] == latest].iloc[0]
        funnel_text, trend_text = "not assessed (no figure of its own that year)", "not fitted"
        g = _usable(panel[panel["year"] == latest])
        if code in set(g["area_code"]):
            if key == "missing_share":
                f = stats.proportion_funnel(
                    g["events"].to_numpy(float),
                    g["children"].to_numpy(float),
                    LEVELS,
                    True,
                    g["area_code"].tolist(),
                )
            else:
                f = stats.rate_funnel(
                    g["events"].to_numpy(float),
                    g["children"].to_numpy(float),
                    PER if key not in _SCALE else 1.0,
                    LEVELS,
                    True,
                    g["area_code"].tolist(),
                )
            funnel_text = f"{f.at[code, 'significance']} against all authorities"
        if key in ("cse", "missing_factor", "cce"):
            own = _usable(cons[cons["area_code"] == label])
            if len(own) >= 5:
                t = trends.fit_rate_trend(
                    own["events"].round().to_numpy(),
                    own["children"].to_numpy(),
                    own["year"].to_numpy(float),
                    method="quasipoisson",
                )
                trend_text = (
                    f"{t.annual_change:+.1%} a year ({t.level:.0%} CI {t.ci_low - 1:+.1%} to "
                    f"{t.ci_high - 1:+.1%}), {int(own['year'].min())}-{int(own['year'].max())}"
                )
        status_rows.append(
            {
                "indicator": key,
                "title": title,
                "unit": unit,
                "year": latest,
                "value": last["authority"],
                "basis": last["basis"],
                "region": last["region"],
                "england": last["England"],
                "neighbours_median": last["neighbours' median"],
                "funnel": funnel_text,
                "trend": trend_text,
            }
        )
    label = _label_of(code, consistent_panels["cse"])
    if combined_note:
        names = " and ".join(reg.at[c, "area_name"] for c in label.split("+") if c in reg.index)
        notes.append(
            f"before {area['area_name']} existed, its figures are those of {names} together "
            "(their predecessor's area), marked 'consistent boundaries (combined)'"
        )
    src = sorted({s for p in panels.values() for s in p.attrs.get("sources", ())})
    return Profile(
        area=area,
        label=label,
        series=pd.DataFrame(series_rows),
        status=pd.DataFrame(status_rows),
        neighbours=tuple(reg.at[c, "area_name"] for c in sns if c in reg.index),
        notes=notes,
        sources=src,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``profile`` command's options to its sub-parser."""
    parser.add_argument("name", help="an authority's name, ONS code or DfE number, e.g. Rochdale")
    parser.add_argument("--chart", default="", help="also save the one-page chart to this PNG")
    parser.add_argument("--csv", default="", help="also write the series to this CSV")


def run(args: argparse.Namespace) -> int:
    """Print an authority's profile (``python -m analysis profile NAME``); 2 if unknown."""
    from analysis.external import ExternalDataError, exit_code

    return exit_code("profile", lambda: _profile_command(args), {KeyError: 2, ExternalDataError: 1})


def _profile_command(args: argparse.Namespace) -> int:
    result = profile(args.name, reg=load("register"))
    sys.stdout.write(result.text())
    if getattr(args, "csv", ""):
        result.series.to_csv(args.csv, index=False, lineterminator="\n")
        print(f"wrote {args.csv}")
    if getattr(args, "chart", ""):
        fig = result.chart(title=f"{result.area['area_name']}: profile from published local data")
        fig.savefig(args.chart, dpi=150, metadata={"Software": None})
        print(f"wrote {args.chart}")
    return 0
