"""Scale of exploitation: the prevalence figures side by side, on a common annual basis.

The evidence and the sources around it quote several "how many" figures: CEOP's 2,083 victims
over about three years, the Children's Commissioner's 2,409 confirmed victims in 14 months and
16,500 children at high risk in a year, the "up to 10,000" at the inquiry's launch, Barnardo's
1,190 service users and the 1,065 cases the Bedfordshire researchers reviewed. They count
different things (victims identified, children at risk, service users, case files) over different
periods and places (UK or England). This module puts them on a common annual basis and per 10,000
children, keeping what each counts, its unit and geography on every row, so that a reader sees
they are not estimates of one quantity.

Poisson intervals treat an exact count as one draw from a Poisson process: a modelling
assumption, which describes random variation only, not the (much larger) differences of definition
and recording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import published, stats
from analysis.published import stated_months
from analysis.tables import ids_in

__all__ = [
    "PREVALENCE_IDS",
    "WHAT_IT_COUNTS",
    "annualise",
    "calendar_months",
    "per_children",
    "prevalence_table",
    "stated_months",
]

#: The prevalence figures compared, in display order.
PREVALENCE_IDS: tuple[str, ...] = ("CEOP01", "OCC01", "OCC02", "OCC06", "BAR02", "JAGO06")

#: What each figure counts (the quantity, in words), and the kind of number it is.
WHAT_IT_COUNTS: dict[str, tuple[str, str]] = {
    "CEOP01": ("victims identified by agencies and reported to CEOP", "count of victims"),
    "OCC01": ("victims confirmed by agencies to the OCC inquiry", "count of victims"),
    "OCC02": ("children at high risk (three or more warning signs)", "count of children at risk"),
    "OCC06": ("children who may be affected (launch estimate, 'up to')", "estimate (upper bound)"),
    "BAR02": ("children supported by Barnardo's CSE services", "count of service users"),
    "JAGO06": ("case files reviewed by researchers", "count of cases (a review sample)"),
}


def calendar_months(start: pd.Timestamp | str, end: pd.Timestamp | str) -> int:
    """Return the number of calendar months from ``start`` to ``end``, both months included.

    Examples
    --------
    >>> calendar_months("2008-03-01", "2011-01-31")
    35
    >>> calendar_months("2010-04-01", "2011-03-31")
    12
    """
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if e < s:
        raise ValueError(f"period ends ({e.date()}) before it starts ({s.date()})")
    return (e.year - s.year) * 12 + (e.month - s.month) + 1


def annualise(count: float | np.ndarray, months: float | np.ndarray) -> float | np.ndarray:
    """Return ``count`` over ``months`` expressed per 12 months (a constant rate is assumed).

    Examples
    --------
    >>> round(annualise(2409, 14), 1)
    2064.9
    """
    months_arr = np.asarray(months, dtype=float)
    if np.any(months_arr <= 0):
        raise ValueError(f"months must be positive; got {months!r}")
    return count * 12.0 / months


def per_children(
    count: float | np.ndarray, children: float, per: float = 10_000
) -> float | np.ndarray:
    """Return ``count`` per ``per`` children.

    Examples
    --------
    >>> round(per_children(2064.857, 11_403_970), 3)  # 2064.857 / 11403970 * 10000
    1.811
    """
    if not children > 0:
        raise ValueError(f"children must be positive; got {children!r}")
    return count / children * per


def _row_months(
    fid: str,
    row: pd.Series,
    window_from: Mapping[str, str],
    alternative_windows: Mapping[str, tuple[str, str]],
    assumed_months: Mapping[str, float],
) -> tuple[float, list[float], str]:
    """Return (months used, all candidate months, basis) for one figure."""
    candidates: list[float] = []
    if fid in assumed_months:
        months = float(assumed_months[fid])
        basis = "assumed: period vague"
    elif (stated := stated_months(row["period"])) is not None:
        months, basis = float(stated), "stated by the source"
    elif pd.notna(row["period_start"]) and pd.notna(row["period_end"]):
        months = float(calendar_months(row["period_start"], row["period_end"]))
        basis = "period_start to period_end"
    elif fid in window_from:
        other = published.figure(window_from[fid])
        months = float(calendar_months(other["period_start"], other["period_end"]))
        basis = f"window of {window_from[fid]}"
    else:
        raise ValueError(f"{fid}: no period length; give it in assumed_months")
    candidates.append(months)
    if basis == "stated by the source" and pd.notna(row["period_start"]):
        candidates.append(float(calendar_months(row["period_start"], row["period_end"])))
    if fid in alternative_windows:
        candidates.append(float(calendar_months(*alternative_windows[fid])))
    return months, sorted(set(candidates)), basis


def prevalence_table(
    ids: Sequence[str] = PREVALENCE_IDS,
    *,
    population_id: str = "POP0017_2012",
    window_from: Mapping[str, str] | None = None,
    alternative_windows: Mapping[str, tuple[str, str]] | None = None,
    assumed_months: Mapping[str, float] | None = None,
    per: float = 10_000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return the prevalence figures on a common annual basis and per ``per`` children.

    Period length, in order of preference: ``assumed_months`` (for vague periods), a length the
    source states ("(14 months)"), the row's ``period_start``/``period_end`` (calendar months,
    inclusive), or another figure's window (``window_from``). Every other candidate length (the
    dates when a length is stated, ``alternative_windows``) gives the range ``annual_low`` to
    ``annual_high``.

    An exact count gets a Poisson interval (:func:`analysis.stats.poisson_interval`), scaled by
    ``12 / months``: a modelling assumption (the count as one Poisson draw). A bound or estimate
    (``up_to``, ``about``, ...) gets none.

    Parameters
    ----------
    ids : sequence of str
        Figure ids (default :data:`PREVALENCE_IDS`).
    population_id : str, default "POP0017_2012"
        The child population for the rate (England's 0-17s, ONS current vintage).
    window_from : mapping, optional
        ``{figure: other_figure}``: borrow the other figure's dates (CEOP01 from CEOP08).
    alternative_windows : mapping, optional
        ``{figure: (start, end)}``: another reading of the period, for the range.
    assumed_months : mapping, optional
        ``{figure: months}``: assumed length for a vague period.
    per : float, default 10_000
        Rate base: children in the population per rate.
    confidence : float, default 0.95
        Level of the Poisson interval of an exact count (PHE's convention: exact below 10
        events, Byar's approximation from 10).

    Returns
    -------
    pandas.DataFrame
        Columns ``figure_id, counts, kind, qualifier, value, unit, geography, period, months,
        months_basis, months_range, annual, annual_low, annual_high, poisson_lower,
        poisson_upper, interval_method, per_10000, per_10000_low, per_10000_high,
        per_10000_lower, per_10000_upper, population_id, geography_matches, source_id``
        (``per_10000*`` named for the default ``per``).

    Examples
    --------
    >>> t = prevalence_table(["OCC01"]).set_index("figure_id")
    >>> round(float(t.loc["OCC01", "annual"]), 1), t.loc["OCC01", "months_range"]
    (2064.9, '14-15')
    """
    window_from = dict(window_from or {})
    alternative_windows = dict(alternative_windows or {})
    assumed_months = dict(assumed_months or {})
    pop = published.figure(population_id)
    children = float(pop["value"])
    rows = []
    for fid in ids:
        f = published.figure(fid)
        months, candidates, basis = _row_months(
            fid, f, window_from, alternative_windows, assumed_months
        )
        value = float(f["value"])
        factor = 12.0 / months
        annual = value * factor
        lows = [value * 12.0 / m for m in candidates]
        if f["qualifier"] == "exact":
            iv = stats.poisson_interval(value, confidence)
            p_lo, p_hi, method = float(iv.lower) * factor, float(iv.upper) * factor, iv.method
            method = f"Poisson ({method}), {confidence:.0%}; count as one Poisson draw (assumed)"
        else:
            p_lo = p_hi = float("nan")
            method = f"none: the figure is '{f['qualifier']}', not an exact count"
        counts, kind = WHAT_IT_COUNTS.get(fid, (f["measure"], "count"))
        srcs = [f["source_id"], pop["source_id"]]
        if fid in window_from:
            srcs.insert(1, published.figure(window_from[fid])["source_id"])
        rows.append(
            {
                "figure_id": fid,
                "counts": counts,
                "kind": kind,
                "qualifier": f["qualifier"],
                "value": value,
                "unit": f["unit"],
                "geography": f["geography"],
                "period": f["period"],
                "months": months,
                "months_basis": basis,
                "months_range": "-".join(f"{m:g}" for m in candidates),
                "annual": annual,
                "annual_low": min(lows),
                "annual_high": max(lows),
                "poisson_lower": p_lo,
                "poisson_upper": p_hi,
                "interval_method": method,
                "per_10000": per_children(annual, children, per),
                "per_10000_low": per_children(min(lows), children, per),
                "per_10000_high": per_children(max(lows), children, per),
                "per_10000_lower": per_children(p_lo, children, per),
                "per_10000_upper": per_children(p_hi, children, per),
                "population_id": population_id,
                "geography_matches": f["geography"] == pop["geography"],
                "source_id": ";".join(dict.fromkeys(srcs)),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        sources=ids_in(out["source_id"]),
        synthetic=False,
        per=per,
    )
    return out
