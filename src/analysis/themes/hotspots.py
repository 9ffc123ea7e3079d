"""Hotspots in an annual collection: collate returns, compare areas, model counts, map them.

Notebook 06 uses these functions on the labelled **synthetic** collection (152 areas, codes
``SYN001``-``SYN152``, three financial years; see :mod:`analysis.synthetic`), and the recovery
test runs the same functions on the committed files. The collection is synthetic; the only real
data here are the authorities it is calibrated to, set beside it by :func:`calibration_frame`,
:func:`calibration_summary` and :func:`plot_calibration` (the notebook passes the real frames
in: a theme never loads another theme's data). The tile grid implies no geography: areas sit in
code order on a square grid.

The steps:

0. :func:`calibration_frame` puts the synthetic areas' sizes and rates beside those of the real
   upper-tier authorities their generator copies (:data:`analysis.synthetic.AUTHORITIES`).
1. :func:`collate_returns` runs the validating ingest (:func:`analysis.returns.ingest`) over a
   folder of returns and :func:`ingest_summary` reports what it found;
   :func:`area_period_counts` adds each area's register (children, looked-after children,
   children's homes) to its counts and derives rates per 10,000 children (:func:`rate_per`).
2. :func:`fit_negative_binomial` models area-year counts with a negative binomial (NB2) model:
   period effects, looked-after children per 10,000 children and children's homes per 10,000
   children, with ``log(child_population)`` as offset; :func:`irr_table` gives incidence rate
   ratios (IRRs) with 95% confidence intervals and :func:`generator_irrs` the values implied by
   the generator's parameters, where the model can recover them.
   :func:`looked_after_rate_ratio` estimates the looked-after rate ratio from the returns'
   looked-after breakdown with a model that matches how the records were generated.
3. :func:`area_funnel` compares areas on a funnel: crude rates per 10,000 children
   (:func:`analysis.stats.rate_funnel`) or observed over model-expected counts, i.e. indirectly
   standardised ratios (:func:`analysis.stats.ratio_funnel`), with Spiegelhalter's
   over-dispersion test and, when it rejects, the multiplicative (phi) or additive (tau²)
   adjustment. :func:`flag_summary` counts planted hotspots found and other areas flagged;
   :func:`adjustment_comparison` and :func:`hotspot_limits` set the two adjustments side by
   side.
4. :func:`hex_grid` places areas on a deterministic hex grid and :func:`plot_hex_map` draws it.
5. :func:`suppress_area_counts` applies disclosure control (:func:`analysis.disclosure.suppress`)
   to an area table's counts and withholds rates derived from any suppressed count.

:func:`analyse` runs the whole chain and returns a :class:`HotspotAnalysis`.

Importing this module has no side effects.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import disclosure, paths, plotting, returns, stats, synthetic, trends

__all__ = [
    "HOTSPOT_LEVEL",
    "INCREMENTS",
    "SIGNIFICANCE_ORDER",
    "HotspotAnalysis",
    "GROUPS",
    "analyse",
    "area_period_counts",
    "adjustment_comparison",
    "area_funnel",
    "calibration_frame",
    "calibration_summary",
    "collate_returns",
    "fit_negative_binomial",
    "flag_summary",
    "flagged",
    "funnel_area_table",
    "generator_irrs",
    "hotspot_limits",
    "ingest_summary",
    "irr_table",
    "load_parameters",
    "looked_after_rate_ratio",
    "model_check_table",
    "SIGNIFICANCE_COLORS",
    "hex_grid",
    "plot_calibration",
    "plot_hex_map",
    "rate_per",
    "realised_effects",
    "suppress_area_counts",
    "tile_grid",
]

#: Funnel level at which an area counts as a flagged hotspot in the recovery test.
HOTSPOT_LEVEL = 0.95
#: Change in each covariate that an IRR refers to (per 10,000 children).
INCREMENTS: dict[str, float] = {"lac_rate": 10.0, "homes_rate": 1.0}
#: The funnels' control-limit levels.
FUNNEL_LEVELS: tuple[float, ...] = (0.95, 0.998)
#: Significance labels of the funnels (:func:`analysis.stats.significance_labels`), highest first.
SIGNIFICANCE_ORDER: tuple[str, ...] = stats.significance_labels(FUNNEL_LEVELS)
#: Over-dispersion adjustment of the notebook's funnels (Spiegelhalter's multiplicative phi).
ADJUSTMENT = "multiplicative"
_FORMULA = "count ~ C(period) + lac_rate + homes_rate"
#: Rates are per 10,000 children aged 0 to 17.
PER = 10_000
_COUNT = "identified_at_risk"


# --------------------------------------------------------------------------- inputs


def load_parameters(path: Path | str | None = None) -> dict[str, Any]:
    """Read the synthetic generator's recorded parameters (``synthetic_parameters.json``)."""
    path = Path(path) if path is not None else paths.DATA_SYNTHETIC / "synthetic_parameters.json"
    return json.loads(Path(path).read_text(encoding="utf-8"))


def collate_returns(
    returns_dir: Path | str | None = None, register: Iterable[str] | None = None
) -> returns.IngestResult:
    """Validate and collate a folder of returns with :func:`analysis.returns.ingest`.

    Parameters
    ----------
    returns_dir : path, optional
        Default: the committed synthetic returns.
    register : iterable of str, optional
        Area codes accepted (default: the synthetic register).
    """
    folder = (
        Path(returns_dir) if returns_dir is not None else paths.DATA_SYNTHETIC / "synthetic_returns"
    )
    return returns.ingest(folder, register)


def ingest_summary(result: returns.IngestResult) -> pd.DataFrame:
    """Summarise an ingest: files checked, collated and rejected, errors, rows, areas, periods.

    Examples
    --------
    >>> empty = returns.IngestResult([], [], [], pd.DataFrame(columns=["area_code", "period"]))
    >>> ingest_summary(empty).set_index("item")["value"].tolist()
    [0, 0, 0, 0, 0, 0, 0]
    """
    collated = result.collated
    items = [
        ("files checked", len(result.files)),
        ("files collated", len(result.valid)),
        ("files rejected", len(result.invalid)),
        ("errors reported", len(result.errors)),
        ("rows collated", len(collated)),
        ("areas", int(collated["area_code"].nunique())),
        ("periods", int(collated["period"].nunique())),
    ]
    return pd.DataFrame(items, columns=["item", "value"])


def rate_per(x: Any, population: Any, per: float = 10_000) -> Any:
    """Rate per ``per`` people: ``per * x / population``.

    Examples
    --------
    >>> rate_per(12, 40_000)
    3.0
    >>> rate_per(pd.Series([5, 30]), pd.Series([10_000, 60_000])).tolist()
    [5.0, 5.0]
    """
    return per * x / population


def area_period_counts(
    collated: pd.DataFrame, register: pd.DataFrame, count: str = _COUNT
) -> pd.DataFrame:
    """One row per area and period collated: the count, the register and rates per 10,000.

    Only area-periods with a collated return appear (a missing return is not a zero).

    Parameters
    ----------
    collated : pandas.DataFrame
        Collated returns (``area_code``, ``period`` and the count column).
    register : pandas.DataFrame
        ``area_code, child_population, looked_after, childrens_homes``.
    count : str
        Count column summed (default ``identified_at_risk``).

    Returns
    -------
    pandas.DataFrame
        ``area_code, period, count, child_population, looked_after, childrens_homes, rate``
        (count per 10,000 children), ``lac_rate`` and ``homes_rate`` (looked-after children and
        children's homes per 10,000 children), sorted by area and period.

    Examples
    --------
    >>> col = pd.DataFrame({"area_code": ["A", "A", "B"], "period": ["2012-13"] * 3,
    ...                     "identified_at_risk": [3, 9, 4]})
    >>> reg = pd.DataFrame({"area_code": ["A", "B"], "child_population": [40_000, 20_000],
    ...                     "looked_after": [200, 60], "childrens_homes": [4, 1]})
    >>> area_period_counts(col, reg)[["area_code", "count", "rate", "lac_rate", "homes_rate"]]
      area_code  count  rate  lac_rate  homes_rate
    0         A     12   3.0      50.0         1.0
    1         B      4   2.0      30.0         0.5
    """
    grouped = collated.groupby(["area_code", "period"], as_index=False, observed=True)[count].sum()
    grouped = grouped.rename(columns={count: "count"})
    cols = ["area_code", "child_population", "looked_after", "childrens_homes"]
    out = grouped.merge(register[cols], on="area_code", how="left", validate="many_to_one")
    if out["child_population"].isna().any():
        missing = sorted(out.loc[out["child_population"].isna(), "area_code"].unique())
        raise ValueError(f"areas not in the register: {missing}")
    out["count"] = out["count"].astype("int64")
    out["rate"] = rate_per(out["count"], out["child_population"])
    out["lac_rate"] = rate_per(out["looked_after"], out["child_population"])
    out["homes_rate"] = rate_per(out["childrens_homes"], out["child_population"])
    return out.sort_values(["area_code", "period"]).reset_index(drop=True)


# --------------------------------------------------------------------------- model


def fit_negative_binomial(area_periods: pd.DataFrame, formula: str = _FORMULA) -> Any:
    """Fit an NB2 model of area-period counts with ``log(child_population)`` as offset.

    Uses :func:`statsmodels.formula.api.negativebinomial`, which estimates the dispersion
    ``alpha`` (variance ``mu + alpha * mu**2``) with the coefficients by maximum likelihood;
    a deterministic optimiser (Newton) started from the Poisson fit's coefficients and
    ``alpha = 0.1`` (statsmodels' own start can diverge on large over-dispersed counts), so
    refits give identical results.

    Parameters
    ----------
    area_periods : pandas.DataFrame
        From :func:`area_period_counts` (``count``, ``period``, ``lac_rate``, ``homes_rate``,
        ``child_population``; plus any other column the formula names).
    formula : str
        Patsy formula; default ``count ~ C(period) + lac_rate + homes_rate``.

    Returns
    -------
    statsmodels results
        Raises :class:`analysis.trends.ModelFitError` (a ``RuntimeError``) if the optimiser did
        not converge to finite estimates.
    """
    import statsmodels.formula.api as smf
    from statsmodels.discrete.discrete_model import Poisson

    offset = np.log(area_periods["child_population"].to_numpy(dtype=float))
    model = smf.negativebinomial(formula, area_periods, offset=offset, loglike_method="nb2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        poisson = Poisson(model.endog, model.exog, offset=offset).fit(method="newton", disp=0)
        result = model.fit(
            start_params=np.append(poisson.params, 0.1), method="newton", maxiter=200, disp=0
        )
    trends.check_converged(result, f"the negative binomial model of the returns ({formula})")
    if not np.isfinite(np.asarray(result.params, dtype=float)).all():
        raise trends.ModelFitError(
            f"the negative binomial model ({formula}) has infinite estimates"
        )
    return result


def expected_counts(result: Any, area_periods: pd.DataFrame) -> np.ndarray:
    """Model-expected counts for each area-period (offset included)."""
    offset = np.log(area_periods["child_population"].to_numpy(dtype=float))
    return np.asarray(result.predict(area_periods, offset=offset), dtype=float)


def irr_table(
    result: Any, increments: Mapping[str, float] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Incidence rate ratios with Wald confidence intervals, one row per model term.

    Covariate IRRs refer to a change of ``increments[term]`` (default :data:`INCREMENTS`: 10
    more looked-after children per 10,000 children; 1 more children's home per 10,000 children).
    The intercept is a baseline rate per child (per 10,000 in ``estimate``); ``alpha`` is the NB2
    dispersion, reported as is.

    Returns
    -------
    pandas.DataFrame
        ``term, change, estimate, lower, upper, p_value, kind``.
    """
    increments = dict(INCREMENTS if increments is None else increments)
    params = result.params
    ci = result.conf_int(alpha=1 - confidence)
    rows = []
    for term in params.index:
        b, lo, hi = float(params[term]), float(ci.loc[term, 0]), float(ci.loc[term, 1])
        p = float(result.pvalues[term])
        if term == "alpha":
            rows.append((term, "", b, lo, hi, p, "NB2 dispersion"))
        elif term == "Intercept":
            rows.append(
                (
                    term,
                    "",
                    1e4 * math.exp(b),
                    1e4 * math.exp(lo),
                    1e4 * math.exp(hi),
                    p,
                    "baseline rate per 10,000 children",
                )
            )
        else:
            step = increments.get(term, 1.0)
            change = (
                f"+{step:g} per 10,000 children" if term in increments else "vs reference level"
            )
            rows.append(
                (
                    term,
                    change,
                    math.exp(b * step),
                    math.exp(lo * step),
                    math.exp(hi * step),
                    p,
                    "incidence rate ratio",
                )
            )
    return pd.DataFrame(
        rows, columns=["term", "change", "estimate", "lower", "upper", "p_value", "kind"]
    )


def generator_irrs(
    parameters: Mapping[str, Any],
    register: pd.DataFrame,
    increments: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The IRRs the synthetic generator's recorded parameters imply, and whether they are exact.

    The generator (:func:`analysis.synthetic.area_period_truth`) sets an area's expected count
    proportional to ``trend[t] * (pop - lac + rr * lac) * exp(homes_effect * (d / mean(d) - 1))
    * hotspot`` with ``d`` children's homes per child (``mean`` over areas, unweighted), and a
    gamma area-year effect of shape ``k``. Hence, for the NB2 model of
    :func:`fit_negative_binomial`:

    * period IRRs are ``trend[t] / trend[0]`` (exact);
    * the homes IRR per ``s`` homes per 10,000 children is ``exp(homes_effect * s / mean(d10k))``
      with ``d10k`` homes per 10,000 children (exact: log-linear, as in the model);
    * ``alpha = 1 / k`` (exact when hotspots are in the model, otherwise they inflate it);
    * the looked-after term is ``log(1 + (rr - 1) p)``, *not* linear in the rate ``p``: the
      value given is the slope at the mean area rate, an approximation only;
    * a hotspot indicator's IRR is ``hotspot_multiplier``.

    Parameters
    ----------
    parameters : mapping
        The parameters document (``synthetic_parameters.json``); its ``parameters`` entry is used.
    register : pandas.DataFrame
        The register the data were made from.
    increments : mapping, optional
        As :func:`irr_table`.

    Returns
    -------
    pandas.DataFrame
        ``term, true_value, truth_basis, exact``.

    Examples
    --------
    >>> reg = pd.DataFrame({"child_population": [10_000, 10_000], "looked_after": [50, 70],
    ...                     "childrens_homes": [1, 3]})
    >>> p = {"parameters": {"period_trend": [0.8, 1.0], "periods": ["a", "b"],
    ...      "homes_effect": 0.2, "looked_after_rate_ratio": 11.0, "dispersion_shape": 4.0,
    ...      "hotspot_multiplier": 2.0}}
    >>> t = generator_irrs(p, reg).set_index("term")
    >>> float(t.loc["C(period)[T.b]", "true_value"]), float(t.loc["homes_rate", "true_value"])
    (1.25, 1.1052)
    >>> float(t.loc["lac_rate", "true_value"]), float(t.loc["alpha", "true_value"])
    (1.0095, 0.25)
    """
    increments = dict(INCREMENTS if increments is None else increments)
    par = parameters.get("parameters", parameters)
    trend = [float(v) for v in par["period_trend"]]
    periods = list(par["periods"])
    pop = register["child_population"].to_numpy(dtype=float)
    d10k = 1e4 * register["childrens_homes"].to_numpy(dtype=float) / pop
    p_bar = float(np.mean(register["looked_after"].to_numpy(dtype=float) / pop))
    rr = float(par["looked_after_rate_ratio"])
    rows: list[tuple[str, float, str, bool]] = []
    for period, level in zip(periods[1:], trend[1:], strict=True):
        rows.append(
            (
                f"C(period)[T.{period}]",
                level / trend[0],
                f"period_trend {level:g} / {trend[0]:g}",
                True,
            )
        )
    slope = (rr - 1.0) / (1.0 + (rr - 1.0) * p_bar)
    rows.append(
        (
            "lac_rate",
            math.exp(slope * increments["lac_rate"] / 1e4),
            f"slope of log(1 + (rr - 1) p) at the mean area rate, rr = {rr:g}: approximate, the "
            "generator is not log-linear in the looked-after rate",
            False,
        )
    )
    homes_effect = float(par["homes_effect"])
    rows.append(
        (
            "homes_rate",
            math.exp(homes_effect * increments["homes_rate"] / float(np.mean(d10k))),
            f"exp(homes_effect {homes_effect:g} x step / mean homes per 10,000 "
            f"{float(np.mean(d10k)):.4g})",
            True,
        )
    )
    rows.append(("hotspot", float(par["hotspot_multiplier"]), "hotspot_multiplier", True))
    k = float(par["dispersion_shape"])
    rows.append(("alpha", 1.0 / k, f"1 / dispersion_shape {k:g}", True))
    return pd.DataFrame(rows, columns=["term", "true_value", "truth_basis", "exact"])


def looked_after_rate_ratio(
    collated: pd.DataFrame, register: pd.DataFrame, count: str = _COUNT, confidence: float = 0.95
) -> dict[str, float]:
    """Estimate how many times as likely a looked-after child is to be counted as another child.

    Among an area-period's records with a known looked-after status, the share looked after is
    ``rr * L / (rr * L + N - L)`` for ``L`` looked-after children out of ``N``: a binomial model
    with logit link, intercept ``log(rr)`` and offset ``log(L / (N - L))``, fitted with
    :class:`statsmodels.genmod.generalized_linear_model.GLM`. This matches the synthetic generator
    (status drawn per record; ``unknown`` masks status at random), so ``rr`` is recoverable.

    Returns
    -------
    dict
        ``estimate, lower, upper`` (rate ratio and Wald interval), ``pearson_dispersion``,
        ``looked_after_records``, ``other_records``.

    Examples
    --------
    Two areas, each with 100 looked-after children among 10,100, have 28 + 32 looked-after and
    90 + 90 other records: the rate ratio is (60 / 200) / (180 / 20,000) = 33.33.

    >>> col = pd.DataFrame({"area_code": ["A", "A", "B", "B"], "period": ["p"] * 4,
    ...                     "looked_after": ["yes", "no"] * 2, "identified_at_risk": [28, 90, 32, 90]})
    >>> reg = pd.DataFrame({"area_code": ["A", "B"], "child_population": [10_100, 10_100],
    ...                     "looked_after": [100, 100], "childrens_homes": [1, 1]})
    >>> round(looked_after_rate_ratio(col, reg)["estimate"], 4)
    33.3333
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    known = collated[collated["looked_after"].isin(["yes", "no"])]
    table = known.pivot_table(
        index=["area_code", "period"],
        columns="looked_after",
        values=count,
        aggfunc="sum",
        fill_value=0,
    ).reset_index()
    for col in ("yes", "no"):
        if col not in table:
            table[col] = 0
    table = table.merge(register[["area_code", "child_population", "looked_after"]], on="area_code")
    lac = table["looked_after"].to_numpy(dtype=float)
    offset = np.log(lac / (table["child_population"].to_numpy(dtype=float) - lac))
    endog = np.column_stack([table["yes"].to_numpy(float), table["no"].to_numpy(float)])
    fit = GLM(endog, np.ones((len(table), 1)), family=families.Binomial(), offset=offset).fit()
    lo, hi = fit.conf_int(alpha=1 - confidence)[0]
    return {
        "estimate": float(np.exp(fit.params[0])),
        "lower": float(np.exp(lo)),
        "upper": float(np.exp(hi)),
        "pearson_dispersion": float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid else math.nan,
        "looked_after_records": int(table["yes"].sum()),
        "other_records": int(table["no"].sum()),
    }


# --------------------------------------------------------------------------- funnels


def area_funnel(
    observed: pd.Series,
    denominator: pd.Series,
    kind: str,
    overdispersion: str = ADJUSTMENT,
    levels: Sequence[float] = FUNNEL_LEVELS,
) -> pd.DataFrame:
    """Funnel of areas: crude rates per 10,000 children, or standardised ratios.

    ``kind="crude"``: :func:`analysis.stats.rate_funnel` of counts over the child population,
    per 10,000. ``kind="standardised"``: :func:`analysis.stats.ratio_funnel` of observed over
    model-expected counts (indirect standardisation), baseline ``sum(observed) /
    sum(expected)``. Either way the limits are PHE's exact Poisson limits, Spiegelhalter's
    over-dispersion test is run, and the ``overdispersion`` adjustment (``"multiplicative"``
    phi, ``"additive"`` tau², or ``"none"``) is applied if the test rejects at 5%; the table's
    ``method`` column and ``.attrs`` say which.

    Parameters
    ----------
    observed : pandas.Series
        Counts, indexed by area code.
    denominator : pandas.Series
        Child population (crude) or expected count (standardised), aligned on the area code.
    kind : {"crude", "standardised"}
        Which comparison.
    overdispersion : {"multiplicative", "additive", "none"}, default "multiplicative"
        Adjustment if the over-dispersion test rejects.
    levels : sequence of float, default (0.95, 0.998)
        Control-limit levels.

    Returns
    -------
    pandas.DataFrame
        The funnel table, indexed by area code (see :func:`analysis.stats.rate_funnel`).

    Examples
    --------
    >>> f = area_funnel(pd.Series([10, 10, 40], index=["A", "B", "C"]),
    ...                 pd.Series([20_000, 20_000, 20_000], index=["A", "B", "C"]), "crude")
    >>> f["rate"].tolist(), round(f.attrs["baseline"], 4)
    ([5.0, 5.0, 20.0], 10.0)
    >>> f = area_funnel(pd.Series([10, 30], index=["A", "B"]),
    ...                 pd.Series([10.0, 20.0], index=["A", "B"]), "standardised")
    >>> f["ratio"].tolist(), round(f.attrs["baseline"], 4)
    ([1.0, 1.5], 1.3333)
    """
    denominator = denominator.reindex(observed.index)
    common = {
        "levels": tuple(levels),
        "overdispersion": overdispersion,
        "labels": list(observed.index),
    }
    if kind == "crude":
        return stats.rate_funnel(observed, denominator, per=10_000, **common)
    if kind == "standardised":
        return stats.ratio_funnel(observed, denominator, **common)
    raise ValueError(f'kind must be "crude" or "standardised"; got {kind!r}')


def flagged(funnel: pd.DataFrame, level: float = HOTSPOT_LEVEL) -> pd.Index:
    """Areas flagged high at ``level`` or a stricter level (e.g. 95% includes 99.8%).

    Examples
    --------
    >>> f = pd.DataFrame({"significance": ["high (99.8%)", "high (95%)", "low (95%)"]},
    ...                  index=["A", "B", "C"])
    >>> flagged(f).tolist(), flagged(f, 0.998).tolist()
    (['A', 'B'], ['A'])
    """
    levels = [lv for lv in funnel.attrs.get("levels", FUNNEL_LEVELS) if lv >= level]
    if not levels:
        levels = [level]
    labels = {stats.significance_label("high", lv) for lv in levels}
    return funnel.index[funnel["significance"].isin(labels)]


def flag_summary(
    funnel: pd.DataFrame, hotspots: Iterable[str], level: float = HOTSPOT_LEVEL
) -> dict[str, Any]:
    """How many planted hotspots a funnel flags high at ``level`` and how many other areas.

    Also carries the funnel's over-dispersion test: ``phi``, ``tau2``, ``p_value`` and the
    ``adjustment`` applied (None where the table has no such attributes).

    Examples
    --------
    >>> f = pd.DataFrame({"significance": ["high (99.8%)", "high (95%)", "not significant"]},
    ...                  index=["A", "B", "C"])
    >>> s = flag_summary(f, ["A", "C"])
    >>> s["hotspots_found"], s["hotspots_missed"], s["false_positives"], s["other_areas"]
    (['A'], ['C'], ['B'], 1)
    """
    hot = sorted(set(hotspots))
    flags = set(flagged(funnel, level))
    others = [a for a in funnel.index if a not in set(hot)]
    false_pos = sorted(a for a in others if a in flags)
    return {
        "level": level,
        "hotspots": hot,
        "hotspots_found": [a for a in hot if a in flags],
        "hotspots_missed": [a for a in hot if a not in flags],
        "false_positives": false_pos,
        "other_areas": len(others),
        "false_positive_share": len(false_pos) / len(others) if others else math.nan,
        "phi": funnel.attrs.get("phi"),
        "tau2": funnel.attrs.get("tau2"),
        "p_value": funnel.attrs.get("overdispersion_p_value"),
        "adjustment": funnel.attrs.get("overdispersion"),
    }


def adjustment_comparison(
    result: HotspotAnalysis, level: float = HOTSPOT_LEVEL, pooled: bool = True
) -> pd.DataFrame:
    """The standardised funnel under each over-dispersion adjustment: what each one flags.

    Parameters
    ----------
    result : HotspotAnalysis
        From :func:`analyse`.
    level : float, default 0.95
        Flagging level (that level or stricter).
    pooled : bool, default True
        Periods pooled (else the latest period).

    Returns
    -------
    pandas.DataFrame
        One row per adjustment (``none``, ``multiplicative``, ``additive``): ``applied``,
        ``phi``, ``tau2``, ``p_value``, ``hotspots_found``, ``hotspots_missed``, ``n_found``,
        ``false_positives`` (a count) and ``method``.
    """
    rows = []
    for adjustment in stats.ADJUSTMENTS:
        funnel = _standardised(result, pooled, adjustment)
        s = flag_summary(funnel, result.hotspots, level)
        rows.append(
            {
                "adjustment": adjustment,
                "applied": funnel.attrs["overdispersion"],
                "phi": funnel.attrs["phi"],
                "tau2": funnel.attrs["tau2"],
                "p_value": funnel.attrs["overdispersion_p_value"],
                "hotspots_found": ";".join(s["hotspots_found"]),
                "hotspots_missed": ";".join(s["hotspots_missed"]),
                "n_found": len(s["hotspots_found"]),
                "false_positives": len(s["false_positives"]),
                "method": funnel.attrs["method"],
            }
        )
    return pd.DataFrame(rows)


def hotspot_limits(
    result: HotspotAnalysis, level: float = HOTSPOT_LEVEL, pooled: bool = True
) -> pd.DataFrame:
    """Each planted hotspot against the upper limit of each adjustment, and where they cross.

    Multiplicative limits are ``theta + z sqrt(phi theta / E)``, additive ones
    ``theta + z sqrt(theta / E + tau2)``: they are equal at the expected count
    ``E* = theta (phi - 1) / tau2``. Above ``E*`` (larger areas) the additive limit is the
    wider one, so a hotspot there can be flagged by phi and missed by tau²; below it the
    reverse.

    Parameters
    ----------
    result : HotspotAnalysis
        From :func:`analyse`.
    level : float, default 0.95
        The level whose upper limits are compared.
    pooled : bool, default True
        Periods pooled (else the latest period).

    Returns
    -------
    pandas.DataFrame
        One row per planted hotspot: ``area_code``, ``expected``, ``ratio``,
        ``upper_<adjustment>`` and ``flagged_<adjustment>`` for the multiplicative and additive
        adjustments, and ``above_crossover`` (``expected > E*``); ``.attrs["crossover"]`` is
        ``E*``, ``.attrs["theta"]``, ``.attrs["phi"]`` and ``.attrs["tau2"]`` its inputs.
    """
    funnels = {a: _standardised(result, pooled, a) for a in ("multiplicative", "additive")}
    first = funnels["multiplicative"]
    sfx = stats.level_suffix(level)
    table = pd.DataFrame(
        {
            "area_code": result.hotspots,
            "expected": first.loc[result.hotspots, "expected"].to_numpy(),
            "ratio": first.loc[result.hotspots, "ratio"].to_numpy(),
        }
    )
    for name, funnel in funnels.items():
        flags = set(flagged(funnel, level))
        table[f"upper_{name}"] = funnel.loc[result.hotspots, f"upper_{sfx}"].to_numpy()
        table[f"flagged_{name}"] = [a in flags for a in result.hotspots]
    theta, phi, tau2 = (float(first.attrs[k]) for k in ("baseline", "phi", "tau2"))
    crossover = theta * (phi - 1.0) / tau2 if tau2 > 0 else math.inf
    table["above_crossover"] = table["expected"] > crossover
    table.attrs.update(crossover=crossover, theta=theta, phi=phi, tau2=tau2, level=level)
    return table


def _standardised(result: HotspotAnalysis, pooled: bool, adjustment: str) -> pd.DataFrame:
    ap = result.area_periods
    rows = ap if pooled else ap[ap["period"] == result.latest]
    sums = rows.groupby("area_code")[["count", "expected"]].sum()
    return area_funnel(sums["count"], sums["expected"], "standardised", adjustment)


# --------------------------------------------------------------------------- tile grid


def tile_grid(codes: Sequence[str], ncols: int = 13) -> pd.DataFrame:
    """Place areas on a square grid in code order: left to right, then top to bottom.

    Purely a layout: neighbours on the grid are neighbours in code order, not on the ground.

    Examples
    --------
    >>> tile_grid(["B", "A", "C", "D"], ncols=3).to_numpy().tolist()
    [['A', 0, 0], ['B', 0, 1], ['C', 0, 2], ['D', 1, 0]]
    """
    if ncols < 1:
        raise ValueError("ncols must be at least 1")
    ordered = sorted(codes)
    pos = np.arange(len(ordered))
    return pd.DataFrame({"area_code": ordered, "row": pos // ncols, "col": pos % ncols})


def hex_grid(codes: Sequence[str], ncols: int = 13) -> pd.DataFrame:
    """Place areas on a hex grid in code order, in HexJSON ``odd-r`` coordinates.

    Rows run from the top (highest ``r``, as HexJSON rows grow upwards) and left to right, odd
    rows shifted right by half a hexagon (:func:`analysis.plotting.hex_map`). Synthetic areas have
    no geography, so the layout is arbitrary: neighbours on the grid are neighbours in code order,
    not on the ground. Real areas use their own hex positions instead.

    Examples
    --------
    >>> hex_grid(["B", "A", "C", "D"], ncols=3)
      area_code  q  r
    0         A  0  1
    1         B  1  1
    2         C  2  1
    3         D  0  0
    """
    grid = tile_grid(codes, ncols)
    nrows = int(grid["row"].max()) + 1
    return pd.DataFrame(
        {"area_code": grid["area_code"], "q": grid["col"], "r": nrows - 1 - grid["row"]}
    )


#: Funnel significance on an ordered diverging scale (orange = flagged high, purple = low).
SIGNIFICANCE_COLORS: dict[str, str] = dict(
    zip(SIGNIFICANCE_ORDER, plotting.SIGNIFICANCE_SCALE, strict=True)
)


def plot_hex_map(
    ax: Any,
    grid: pd.DataFrame,
    significance: pd.Series,
    ratio: pd.Series | None = None,
    outline: Iterable[str] = (),
    outline_label: str = "planted hotspot",
) -> Any:
    """Draw a hex map of areas coloured by funnel significance (:func:`analysis.plotting.hex_map`).

    Parameters
    ----------
    ax : matplotlib Axes
    grid : pandas.DataFrame
        ``area_code, q, r`` (from :func:`hex_grid`, or real HexJSON positions).
    significance : pandas.Series
        Significance label per area code (:data:`SIGNIFICANCE_ORDER`).
    ratio : pandas.Series, optional
        A number per area printed under its code (e.g. the standardised ratio).
    outline : iterable of str
        Areas drawn with a black ring inside their hexagon.

    Returns
    -------
    list of legend handles (colours, then the outline)
    """
    from matplotlib.patches import Patch, RegularPolygon

    outlined = set(outline)
    sig = grid["area_code"].map(significance).fillna("not significant")
    frame = grid.assign(
        color=sig.map(SIGNIFICANCE_COLORS).fillna("#FFFFFF"),
        label=[
            c.removeprefix("SYN")
            + (f"\n{ratio[c]:.2f}" if ratio is not None and c in ratio.index else "")
            for c in grid["area_code"]
        ],
    )
    dark = set(SIGNIFICANCE_ORDER[:1] + SIGNIFICANCE_ORDER[-1:])
    plotting.hex_map(
        ax,
        frame,
        label="label",
        outline=grid["area_code"].isin(outlined).tolist(),
        text_color=["white" if s in dark else "#222222" for s in sig],
    )
    handles = [Patch(facecolor=SIGNIFICANCE_COLORS[s], label=s) for s in SIGNIFICANCE_ORDER]
    handles.append(
        RegularPolygon(
            (0, 0), 6, radius=1, fill=False, edgecolor="black", lw=1.6, label=outline_label
        )
    )
    return handles


def suppress_area_counts(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    derived_columns: Sequence[str] = (),
    *,
    threshold: int = 5,
    index: str = "area_code",
    total_columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disclosure control for an area table: suppress its counts, withhold rates derived from them.

    The count columns (rows = areas) go through :func:`analysis.disclosure.suppress` (primary
    and complementary suppression, row totals treated as public unless it withholds them); in
    any row with a suppressed count, ``derived_columns`` (rates, ratios computed from the counts)
    are withheld too. ``total_columns`` are the columns that show or reveal a row's total (the
    pooled count, and rates or ratios computed from it): they are withheld in every row whose
    total :func:`~analysis.disclosure.suppress` withholds (a total of 1 to ``threshold``).
    By default they are read from ``frame.attrs["total_columns"]`` (set by
    :func:`funnel_area_table`).

    Returns
    -------
    (published, counts) : tuple of pandas.DataFrame
        ``published`` is ``frame`` with suppressed cells shown as ``[c]``; ``counts`` is the
        suppressed count block alone (pass it to :func:`analysis.disclosure.check_disclosure`).

    Examples
    --------
    >>> t = pd.DataFrame({"area_code": ["A", "B", "C"], "n": [3, 40, 25], "m": [12, 30, 2],
    ...                   "rate": [1.5, 7.0, 2.7]})
    >>> pub, counts = suppress_area_counts(t, ["n", "m"], ["rate"])
    >>> pub["rate"].tolist()
    ['[c]', 7.0, '[c]']
    >>> disclosure.check_disclosure(counts)
    """
    body = frame.set_index(index)[list(count_columns)]
    counts = disclosure.suppress(body, threshold=threshold)
    symbol = counts.attrs["suppression_symbol"]
    published = frame.set_index(index).astype(object)
    hidden = pd.Series(False, index=published.index)
    for col in count_columns:
        published[col] = counts[col]
        hidden |= counts[col].map(lambda v: isinstance(v, str) and v == symbol)
    for col in derived_columns:
        published.loc[hidden, col] = symbol
    if total_columns is None:
        total_columns = frame.attrs.get("total_columns", ())
    withheld = [label for kind, label in counts.attrs.get("withheld_totals", []) if kind == "row"]
    rows = published.index.isin(withheld)
    for col in total_columns:
        published.loc[rows, col] = symbol
    published = published.reset_index()
    published.attrs.update(counts.attrs)
    return published, counts


def realised_effects(truth: pd.DataFrame) -> pd.DataFrame:
    """What each synthetic area's rate really was, periods pooled (from the generator's truth).

    A planted hotspot's rate is multiplied by its multiplier, but each area-year also has its
    own random effect, which can add to the multiplier or hide it. From the truth file
    (:func:`analysis.synthetic.area_period_truth`): ``random_effect`` is ``sum(rate_lambda) /
    sum(expected_records)``, the area's random effects pooled; ``realised_multiplier`` is
    ``sum(rate_lambda) / sum(expected_records / hotspot_multiplier)``, its rate against an
    ordinary area like it with no random effect (the random effect alone for other areas); and
    ``stands_out`` says whether that is above every area that is not a planted hotspot: only
    such a hotspot is in the data for any method to find.

    Returns
    -------
    pandas.DataFrame
        ``area_code, hotspot, planted_multiplier, random_effect, realised_multiplier,
        stands_out``, one row per area.

    Examples
    --------
    >>> truth = pd.DataFrame({"area_code": ["A", "A", "B", "C"], "hotspot": [True, True, False,
    ...     False], "hotspot_multiplier": [2.0, 2.0, 1.0, 1.0], "expected_records": [10.0, 30.0,
    ...     20.0, 20.0], "rate_lambda": [10.0, 20.0, 30.0, 10.0]})
    >>> realised_effects(truth)[["area_code", "random_effect", "realised_multiplier", "stands_out"]]
      area_code  random_effect  realised_multiplier  stands_out
    0         A           0.75                  1.5       False
    1         B           1.50                  1.5       False
    2         C           0.50                  0.5       False
    """
    frame = truth.assign(baseline=truth["expected_records"] / truth["hotspot_multiplier"])
    sums = frame.groupby("area_code", sort=True).agg(
        hotspot=("hotspot", "first"),
        planted_multiplier=("hotspot_multiplier", "first"),
        lam=("rate_lambda", "sum"),
        expected=("expected_records", "sum"),
        baseline=("baseline", "sum"),
    )
    out = pd.DataFrame(
        {
            "hotspot": sums["hotspot"].astype(bool),
            "planted_multiplier": sums["planted_multiplier"],
            "random_effect": sums["lam"] / sums["expected"],
            "realised_multiplier": sums["lam"] / sums["baseline"],
        }
    )
    ceiling = out.loc[~out["hotspot"], "realised_multiplier"].max()
    out["stands_out"] = out["hotspot"] & (out["realised_multiplier"] > ceiling)
    return out.reset_index()


# --------------------------------------------------------------------------- real authorities

#: The two groups of the calibration chart: what is real and what is synthetic, in words.
GROUPS: dict[bool, str] = {False: "real authorities", True: "synthetic areas"}


def _ecdf(values: pd.Series) -> np.ndarray:
    """Share of the group at or below each value (ties share the highest rank)."""
    return values.rank(method="max").to_numpy() / values.notna().sum()


def calibration_frame(
    result: HotspotAnalysis,
    population: pd.DataFrame,
    rates: pd.DataFrame,
    calibration: synthetic.AuthorityCalibration = synthetic.AUTHORITIES,
    *,
    period: str | None = None,
    threshold: int = 5,
) -> pd.DataFrame:
    """The synthetic areas beside the real authorities they are calibrated to, one row per area.

    Two measures for each group. ``child_population``: children aged 0 to 17, the real
    authorities' ONS estimate at mid-``calibration.population_year`` and the synthetic
    register. ``rate_per_10k``: the real authorities' episodes with child sexual exploitation
    recorded at the end of assessment in ``calibration.rate_year`` (episodes, not children),
    and the synthetic areas' children identified as at risk in ``period`` (default the middle
    period, the mean of the generator's trend), each per 10,000 children. The rows are those
    :func:`analysis.synthetic.calibrate_to_authorities` uses.

    Parameters
    ----------
    result : HotspotAnalysis
        The synthetic collection (:func:`analyse`).
    population, rates : pandas.DataFrame
        The real frames, as :func:`analysis.synthetic.calibrate_to_authorities` takes them.
    calibration : analysis.synthetic.AuthorityCalibration
        Which years (default the committed calibration).
    period : str, optional
        The synthetic period shown.
    threshold : int
        A synthetic area's rate is withheld (``value`` empty) when its count is 1 to
        ``threshold``, as the other tables of this theme do.

    Returns
    -------
    pandas.DataFrame
        ``group, synthetic, measure, year, area_code, planted_hotspot, value,
        share_at_or_below`` (the empirical distribution drawn; ``year`` is ``register`` for the
        synthetic sizes), plus ``events`` and ``children`` behind each rate (drop them before publishing: they are the synthetic
        counts). ``attrs``: ``sources`` (the real frames' provenance ids), ``period``,
        ``withheld`` (synthetic rates withheld).

    Examples
    --------
    >>> pop = pd.DataFrame({"geography": "local authority", "measure": "child_population",
    ...                     "year": 2012, "value": [10_000.0, 30_000.0], "area_code": ["E1", "E2"],
    ...                     "source_id": "P"})
    >>> rates = pd.DataFrame({"year": 2018, "area_code": ["E1", "E2"], "events": [20.0, 30.0],
    ...                       "children": [10_000.0, 30_000.0]})
    >>> ap = pd.DataFrame({"area_code": ["SYN001", "SYN002"], "period": "p", "count": [9, 40],
    ...                    "child_population": [20_000, 20_000]})
    >>> reg = pd.DataFrame({"area_code": ["SYN001", "SYN002"], "child_population": [20_000] * 2})
    >>> res = HotspotAnalysis(None, reg, ap, None, *[None] * 4, ["SYN002"], "p")
    >>> f = calibration_frame(res, pop, rates)
    >>> f[f["measure"] == "rate_per_10k"][["group", "area_code", "value", "share_at_or_below"]]
                  group area_code  value  share_at_or_below
    2  real authorities        E1   20.0                1.0
    3  real authorities        E2   10.0                0.5
    6   synthetic areas    SYN001    4.5                0.5
    7   synthetic areas    SYN002   20.0                1.0
    """
    periods = sorted(result.area_periods["period"].unique())
    period = period if period is not None else str(periods[len(periods) // 2])
    pop = population[
        (population["geography"] == "local authority")
        & (population["measure"] == "child_population")
        & (population["year"] == calibration.population_year)
        & (population["value"] > 0)
    ]
    real_rates = rates[
        (rates["year"] == calibration.rate_year) & rates["events"].notna() & (rates["children"] > 0)
    ]
    ap = result.area_periods[result.area_periods["period"] == period]
    blocks = {
        (False, "child_population", calibration.population_year): pd.DataFrame(
            {"area_code": pop["area_code"], "value": pop["value"]}
        ),
        (False, "rate_per_10k", calibration.rate_year): pd.DataFrame(
            {
                "area_code": real_rates["area_code"],
                "events": real_rates["events"],
                "children": real_rates["children"],
            }
        ),
        (True, "child_population", "register"): result.register[
            ["area_code", "child_population"]
        ].rename(columns={"child_population": "value"}),
        (True, "rate_per_10k", period): pd.DataFrame(
            {
                "area_code": ap["area_code"],
                "events": ap["count"],
                "children": ap["child_population"],
            }
        ),
    }
    frames, withheld = [], 0
    hot = set(result.hotspots)
    for (is_synthetic, measure, year), block in blocks.items():
        block = block.astype({"area_code": str}).reset_index(drop=True)
        if measure == "rate_per_10k":
            block["value"] = rate_per(block["events"].astype(float), block["children"])
            if is_synthetic:
                small = block["events"].between(1, threshold)
                withheld += int(small.sum())
                block.loc[small, "value"] = np.nan
        block = block.assign(
            group=GROUPS[is_synthetic],
            synthetic=is_synthetic,
            measure=measure,
            year=str(year),
            planted_hotspot=block["area_code"].isin(hot) if is_synthetic else False,
        )
        block["share_at_or_below"] = _ecdf(block["value"])
        frames.append(block)
    columns = ["group", "synthetic", "measure", "year", "area_code", "planted_hotspot", "value"]
    out = pd.concat(frames, ignore_index=True)
    out = out[[*columns, "share_at_or_below", "events", "children"]]
    out.attrs.update(
        sources=sorted(set(pop["source_id"].dropna()) - {""} | set(rates.attrs.get("sources", ()))),
        period=period,
        withheld=withheld,
    )
    return out


def calibration_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Real authorities against synthetic areas, one statistic a row (from :func:`calibration_frame`).

    Quartiles and the 10th and 90th percentiles of children per area and of the rate per
    10,000; the national rate (all areas together); and the spread of the rates beyond Poisson
    chance, the DerSimonian-Laird tau² of :class:`analysis.synthetic.AuthorityCalibration` (for
    the synthetic areas also without the planted hotspots, the spread the generator is
    calibrated to).

    Returns
    -------
    pandas.DataFrame
        ``statistic``, then one column per group (:data:`GROUPS`).
    """
    from analysis import stats

    def spread(rows: pd.DataFrame) -> float:
        events = rows["events"].to_numpy(dtype=float)
        children = rows["children"].to_numpy(dtype=float)
        expected = children * events.sum() / children.sum()
        test = stats.overdispersion_test(events / expected, 1.0, np.sqrt(1 / expected), trim=0)
        return float(test.tau2)

    table: dict[str, dict[str, float]] = {}
    for is_synthetic, group in GROUPS.items():
        rows = frame[frame["synthetic"] == is_synthetic]
        sizes = rows.loc[rows["measure"] == "child_population", "value"]
        rates = rows[rows["measure"] == "rate_per_10k"]
        column: dict[str, float] = {"areas": float(len(sizes))}
        for label, values in (("children per area", sizes), ("rate per 10,000", rates["value"])):
            for q in (0.1, 0.25, 0.5, 0.75, 0.9):
                column[f"{label}, {q:.0%} quantile"] = float(values.quantile(q))
        column["national rate per 10,000"] = float(
            PER * rates["events"].sum() / rates["children"].sum()
        )
        column["tau2 of the rates (DerSimonian-Laird)"] = spread(rates)
        if is_synthetic:
            column["tau2 of the rates, planted hotspots left out"] = spread(
                rates[~rates["planted_hotspot"].astype(bool)]
            )
        table[group] = column
    out = pd.DataFrame(table)
    out.index.name = "statistic"
    return out.reset_index()


def plot_calibration(
    axes: Sequence[Any],
    frame: pd.DataFrame,
    calibration: synthetic.AuthorityCalibration = synthetic.AUTHORITIES,
) -> list[Any]:
    """Draw real authorities and synthetic areas as two distributions, one panel a measure.

    The left panel is children per area (log scale) with the committed calibration quantiles
    marked at the real median; the right the rates per 10,000. Real authorities are drawn in
    the published colour, synthetic areas in the synthetic colour, so neither can be taken for
    the other.

    Parameters
    ----------
    axes : two matplotlib Axes
    frame : pandas.DataFrame
        From :func:`calibration_frame`.
    calibration : analysis.synthetic.AuthorityCalibration
        The quantiles marked.

    Returns
    -------
    list of legend handles
    """
    from matplotlib.lines import Line2D

    colours = {False: plotting.COLORS["published"], True: plotting.COLORS["synthetic"]}
    panels = (
        ("child_population", "children aged 0-17 per area"),
        ("rate_per_10k", "rate per 10,000 children in one year"),
    )
    for ax, (measure, xlabel) in zip(axes, panels, strict=True):
        for is_synthetic in (False, True):
            rows = frame[(frame["measure"] == measure) & (frame["synthetic"] == is_synthetic)]
            rows = rows.dropna(subset=["value"]).sort_values("value")
            ax.step(
                rows["value"],
                rows["share_at_or_below"],
                where="post",
                color=colours[is_synthetic],
                lw=1.4,
            )
        if measure == "child_population":
            real = frame[(frame["measure"] == measure) & ~frame["synthetic"].astype(bool)]
            median = float(real["value"].median())
            ax.plot(
                [median * q for q in calibration.size_quantiles],
                calibration.size_probabilities,
                ls="none",
                marker="x",
                ms=5,
                color=plotting.COLORS["reference"],
            )
            plotting.log_axis(ax, "x", xlabel)
            ax.set_ylabel("share at or below")
        else:
            ax.set_xlabel(xlabel)
            ax.set_xlim(left=0)
        ax.set_ylim(0, 1.02)
        plotting.percent_axis(ax, "y")
    rate_year = calibration.rate_year
    period = frame.attrs.get("period", "one period")
    return [
        Line2D(
            [],
            [],
            color=colours[False],
            lw=1.4,
            label=f"real authorities: children at mid-{calibration.population_year} (ONS); "
            f"episodes of CSE at the end of assessment, {rate_year - 1}-{rate_year % 100:02d} "
            "(DfE)",
        ),
        Line2D(
            [],
            [],
            color=colours[True],
            lw=1.4,
            label=f"synthetic areas: the register; children identified at risk, {period}",
        ),
        Line2D(
            [],
            [],
            ls="none",
            marker="x",
            ms=5,
            color=plotting.COLORS["reference"],
            label="committed calibration quantiles, at the real median",
        ),
    ]


# --------------------------------------------------------------------------- whole chain


@dataclass
class HotspotAnalysis:
    """Everything :func:`analyse` computes.

    Attributes
    ----------
    ingest : analysis.returns.IngestResult
    register : pandas.DataFrame
    area_periods : pandas.DataFrame
        :func:`area_period_counts` plus ``expected`` (model-expected count).
    model : statsmodels results
        :func:`fit_negative_binomial` (no hotspot term: what an analyst without the truth fits).
    crude_pooled, crude_latest : pandas.DataFrame
        :func:`area_funnel` (crude) of pooled periods and of the latest period.
    standardised_pooled, standardised_latest : pandas.DataFrame
        :func:`area_funnel` (standardised) of pooled periods and of the latest period.
    hotspots : list of str
        Planted hotspots (from the parameters file).
    latest : str
        The latest period.
    """

    ingest: returns.IngestResult
    register: pd.DataFrame
    area_periods: pd.DataFrame
    model: Any
    crude_pooled: pd.DataFrame
    crude_latest: pd.DataFrame
    standardised_pooled: pd.DataFrame
    standardised_latest: pd.DataFrame
    hotspots: list[str]
    latest: str


def analyse(
    returns_dir: Path | str | None = None,
    register_path: Path | str | None = None,
    parameters_path: Path | str | None = None,
) -> HotspotAnalysis:
    """Run the chain on a collection (default: the committed synthetic one).

    Collate the returns, fit the NB model without any hotspot term, and build crude and
    standardised funnels for the periods pooled and the latest period.
    """
    register = returns.load_area_register(register_path)
    result = collate_returns(returns_dir, register["area_code"].tolist())
    if result.errors:
        raise ValueError(f"{len(result.errors)} errors in the returns; see result.errors")
    ap = area_period_counts(result.collated, register)
    model = fit_negative_binomial(ap)
    ap["expected"] = expected_counts(model, ap)
    latest = str(sorted(ap["period"].unique())[-1])
    pooled = ap.groupby("area_code")[["count", "expected", "child_population"]].agg(
        {"count": "sum", "expected": "sum", "child_population": "sum"}
    )
    last = ap[ap["period"] == latest].set_index("area_code")
    params = load_parameters(parameters_path)
    hot = sorted(params["hotspots"]["area_codes"])
    return HotspotAnalysis(
        ingest=result,
        register=register,
        area_periods=ap,
        model=model,
        crude_pooled=area_funnel(pooled["count"], pooled["child_population"], "crude"),
        crude_latest=area_funnel(last["count"], last["child_population"], "crude"),
        standardised_pooled=area_funnel(pooled["count"], pooled["expected"], "standardised"),
        standardised_latest=area_funnel(last["count"], last["expected"], "standardised"),
        hotspots=hot,
        latest=latest,
    )


# --------------------------------------------------------------------------- notebook tables


def model_check_table(
    result: HotspotAnalysis, parameters: Mapping[str, Any], confidence: float = 0.95
) -> pd.DataFrame:
    """The fitted models beside the generator's true parameters (a synthetic-data check).

    Three estimates are set against the values the generator used
    (:func:`generator_irrs` and ``synthetic_parameters.json``): the negative binomial model
    without any hotspot term (:attr:`HotspotAnalysis.model`), the same model with the planted-
    hotspot indicator (possible only because the data are synthetic), and the binomial
    looked-after rate ratio (:func:`looked_after_rate_ratio`).

    Parameters
    ----------
    result : HotspotAnalysis
        From :func:`analyse`.
    parameters : mapping
        The generator's recorded parameters (:func:`load_parameters`).
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per model and term: ``model, term, change, estimate, lower, upper, p_value,
        kind, true_value, truth_basis, model_matches_generator`` (whether the fitted form is the
        generator's, so that a recovery claim is fair) and ``true_value_in_ci``.
    """
    hot = set(result.hotspots)
    truth = generator_irrs(parameters, result.register).set_index("term")
    with_indicator = result.area_periods.assign(
        hotspot=result.area_periods["area_code"].isin(hot).astype(int)
    )
    fits = {
        "NB2, no hotspot term": result.model,
        "NB2, planted-hotspot indicator (synthetic check only)": fit_negative_binomial(
            with_indicator, _FORMULA + " + hotspot"
        ),
    }
    rows = []
    for name, fit in fits.items():
        irr = irr_table(fit, confidence=confidence)
        irr.insert(0, "model", name)
        rows.append(irr)
    lac = looked_after_rate_ratio(result.ingest.collated, result.register, confidence=confidence)
    lac_term = "looked_after_rate_ratio"
    rows.append(
        pd.DataFrame(
            [
                {
                    "model": "binomial, looked-after share of records with known status",
                    "term": lac_term,
                    "change": "looked after vs not",
                    "estimate": lac["estimate"],
                    "lower": lac["lower"],
                    "upper": lac["upper"],
                    "p_value": np.nan,
                    "kind": "rate ratio",
                }
            ]
        )
    )
    table = pd.concat(rows, ignore_index=True)
    true_value = {**truth["true_value"].to_dict(), lac_term: parameters["parameters"][lac_term]}
    exact = {**truth["exact"].to_dict(), lac_term: True}
    basis = {**truth["truth_basis"].to_dict(), lac_term: f"{lac_term} (the generator's parameter)"}
    table["true_value"] = table["term"].map(true_value)
    table["truth_basis"] = table["term"].map(basis).fillna("")
    # alpha (the NB dispersion) matches the generator only once the hotspots are modelled.
    table["model_matches_generator"] = [
        bool(exact.get(term, False)) and (term != "alpha" or "indicator" in model)
        for model, term in zip(table["model"], table["term"], strict=True)
    ]
    table["true_value_in_ci"] = [
        (lo <= tv <= hi) if pd.notna(tv) else None
        for lo, hi, tv in zip(table["lower"], table["upper"], table["true_value"], strict=True)
    ]
    table.attrs.update(synthetic=True, confidence=confidence)
    return table


def funnel_area_table(result: HotspotAnalysis) -> pd.DataFrame:
    """The data behind notebook 06's four funnels, one row per area, before disclosure control.

    Counts per period and pooled, the child population, each funnel's rate (crude, per 10,000)
    or ratio (standardised) and significance, and the pooled expected count. Pass the frame
    through :func:`suppress_area_counts` (its ``attrs`` name the count and latest-year columns)
    before writing it anywhere.

    Returns
    -------
    pandas.DataFrame
        ``attrs["periods"]``, ``attrs["count_columns"]``, ``attrs["latest_columns"]`` and
        ``attrs["total_columns"]`` say which columns hold counts, which derive from the latest
        period alone, and which show or reveal a row's pooled total.
    """
    wide = result.area_periods.pivot(index="area_code", columns="period", values="count")
    periods = [str(p) for p in wide.columns]
    count_columns = [f"count_{p}" for p in periods]
    wide.columns = count_columns
    data = wide.reset_index()
    data["planted_hotspot"] = data["area_code"].isin(result.hotspots)
    population = result.register.set_index("area_code")["child_population"]
    data["child_population"] = data["area_code"].map(population)
    data["count_pooled"] = data[count_columns].sum(axis=1)
    funnels = {
        "crude_pooled": result.crude_pooled,
        "crude_latest": result.crude_latest,
        "std_pooled": result.standardised_pooled,
        "std_latest": result.standardised_latest,
    }
    for key, funnel in funnels.items():
        aligned = funnel.reindex(data["area_code"])
        value = "rate_per_10k" if key.startswith("crude") else "ratio"
        data[f"{key}_{value}"] = aligned[funnel.attrs["value"]].round(4).to_numpy()
        data[f"{key}_significance"] = aligned["significance"].to_numpy()
    expected = result.standardised_pooled.reindex(data["area_code"])["expected"]
    data["expected_pooled"] = expected.round(2).to_numpy()
    data.attrs.update(
        synthetic=True,
        periods=periods,
        count_columns=count_columns,
        latest_columns=[c for c in data.columns if "_latest_" in c],
        # The pooled count, and the pooled rate and ratio computed from it, reveal a row's total.
        total_columns=["count_pooled", "crude_pooled_rate_per_10k", "std_pooled_ratio"],
    )
    return data
