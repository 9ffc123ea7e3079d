"""LSCBs and the 2009 guidance: published shares, worded claims and the counts they allow.

The evidence says that LSCBs were slow to implement the 2009 guidance on child sexual exploitation
(CSE), that over half of 100 surveyed LSCBs recorded no data, that fewer than a quarter of areas
had protocols in 2010, and that almost two thirds of England's local authorities had pledged
action plans by April 2012. The published figures behind these are shares of a known number of
LSCBs (the University of Bedfordshire study), worded bounds ("fewer than 25%", "fewer than half")
and response counts. The functions here turn each into the counts it allows, with intervals where
an interval means something, and keep the unit (LSCBs, local authorities) on every row.

Counts are reconstructed from published shares (``x = share x n``); a share rounded to a whole
percent allows a small range of counts, which :func:`analysis.stats.counts_consistent_with_share` returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import published, stats
from analysis.tables import sourced_frame

__all__ = [
    "BEDFORDSHIRE_SHARE_IDS",
    "bedfordshire_shares",
    "counts_allowed_by_bound",
    "data_returns",
    "evidence_claims",
    "new_pledges_implied",
    "pledge_counts",
]

#: Shares of the 100 LSCBs in the Bedfordshire study (JAGO01 is the denominator).
BEDFORDSHIRE_SHARE_IDS: tuple[str, ...] = ("JAGO02", "JAGO03", "JAGO04", "JAGO05")

_EPS = 1e-9


def counts_allowed_by_bound(bound: float, n: int, qualifier: str) -> tuple[int, int]:
    """Return the smallest and largest whole counts ``x`` of ``n`` that a worded bound allows.

    Parameters
    ----------
    bound : float
        The share in the wording ("fewer than 25%" -> 0.25, "over half" -> 0.5).
    n : int
        The denominator (positive whole number).
    qualifier : {"less_than", "more_than", "up_to", "at_least"}
        ``less_than``: ``x / n < bound``; ``more_than``: ``x / n > bound``; ``up_to``:
        ``x / n <= bound``; ``at_least``: ``x / n >= bound``.

    Returns
    -------
    tuple of int
        ``(x_min, x_max)``, both inclusive.

    Raises
    ------
    ValueError
        For a bound outside [0, 1], a non-positive ``n`` or an unknown qualifier, or when no
        whole count satisfies the wording.

    Examples
    --------
    "Fewer than 25%" of 101 LSCBs allows 0 to 25 of them (25 / 101 = 24.75%):

    >>> counts_allowed_by_bound(0.25, 101, "less_than")
    (0, 25)
    >>> counts_allowed_by_bound(0.5, 152, "less_than")  # fewer than half of 152
    (0, 75)
    >>> counts_allowed_by_bound(0.5, 100, "more_than")  # over half of 100
    (51, 100)
    """
    if not (0.0 <= bound <= 1.0):
        raise ValueError(f"bound must be a share in [0, 1]; got {bound!r}")
    if not (isinstance(n, (int, np.integer)) and n > 0):
        raise ValueError(f"n must be a positive whole number; got {n!r}")
    limit = bound * n
    if qualifier == "less_than":
        lo, hi = 0, math.ceil(limit - _EPS) - 1
    elif qualifier == "up_to":
        lo, hi = 0, math.floor(limit + _EPS)
    elif qualifier == "more_than":
        lo, hi = math.floor(limit + _EPS) + 1, int(n)
    elif qualifier == "at_least":
        lo, hi = math.ceil(limit - _EPS), int(n)
    else:
        raise ValueError(
            f"qualifier must be less_than, more_than, up_to or at_least; got {qualifier!r}"
        )
    if lo > hi:
        raise ValueError(f"no whole count of {n} satisfies {qualifier} {bound}")
    return int(lo), int(hi)


def bedfordshire_shares(confidence: float = 0.95) -> pd.DataFrame:
    """Return the Bedfordshire study's shares of 100 LSCBs with Wilson intervals.

    The study published shares (a quarter, 38%, 64%, a third), not counts; ``x`` is
    reconstructed as ``round(share x n)`` with ``n`` = JAGO01, so the intervals inherit the
    rounding of the published share. The Wilson interval treats the 100 LSCBs as a sample of
    England's LSCBs (about two thirds of them), which is a modelling assumption.

    Returns
    -------
    pandas.DataFrame
        Columns ``figure_id, measure, share, qualifier, n, x, lower, upper, unit, kind,
        source_id, note``; ``attrs["sources"]`` lists the source ids (including JAGO01's).

    Examples
    --------
    >>> t = bedfordshire_shares().set_index("figure_id")
    >>> int(t.loc["JAGO02", "x"]), int(t.loc["JAGO02", "n"])
    (25, 100)
    >>> round(float(t.loc["JAGO02", "lower"]), 4), round(float(t.loc["JAGO02", "upper"]), 4)
    (0.1755, 0.3430)
    """
    denominator = published.figure("JAGO01")
    n = int(denominator["value"])
    rows = []
    for fid in BEDFORDSHIRE_SHARE_IDS:
        f = published.figure(fid)
        x = round(float(f["value"]) * n)
        lo, hi = stats.wilson_interval(x, n, confidence)
        rows.append(
            {
                "figure_id": fid,
                "measure": f["measure"],
                "share": float(f["value"]),
                "qualifier": f["qualifier"],
                "n": n,
                "x": int(x),
                "lower": float(lo),
                "upper": float(hi),
                "unit": f["unit"],
                "kind": "published share (Bedfordshire study)",
                "source_id": f"{f['source_id']};{denominator['source_id']}",
                "note": f"x = round({float(f['value'])} x {n}), reconstructed from a rounded share; "
                f"Wilson {confidence:.0%} interval",
            }
        )
    return sourced_frame(rows)


def evidence_claims(
    no_data_bound: float,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return the evidence's two LSCB claims as ranges of counts and shares, with outer limits.

    * "Over half of the 100 LSCBs surveyed recorded no CSE data": not traced in any publication
      (the 100 is JAGO01). ``no_data_bound`` is the share in that wording (0.5 for "over half").
      Allowed counts are ``floor(0.5 n) + 1 .. n``; the outer limit is the Wilson lower limit at
      the smallest allowed count.
    * "Less than a quarter of areas had protocols" (attributed by the evidence to the NWG, 2010):
      the nearest published figure is the Bedfordshire interim finding JAGO08 ("fewer than 25%"
      of JAGO09 = 101 LSCBs). Allowed counts are 0 to 25; the outer limit is the Wilson upper
      limit at the largest allowed count.

    Parameters
    ----------
    no_data_bound : float
        The share in the evidence's "over half" wording (a claim, not a published figure).
    confidence : float, default 0.95
        Level of the outer Wilson limits.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, status, n, x_min, x_max, share_min, share_max, outer_lower,
        outer_upper, unit, figure_ids, source_id, note``.

    Examples
    --------
    >>> c = evidence_claims(0.5).set_index("figure_ids")
    >>> int(c.loc["JAGO08;JAGO09", "x_max"]), int(c.loc["JAGO01", "x_min"])
    (25, 51)
    """
    jago01 = published.figure("JAGO01")
    n100 = int(jago01["value"])
    x_min, x_max = counts_allowed_by_bound(no_data_bound, n100, "more_than")
    outer_lo = float(stats.wilson_interval(x_min, n100, confidence).lower)
    protocols = published.figure("JAGO08")
    n101 = int(published.value("JAGO09"))
    p_min, p_max = counts_allowed_by_bound(float(protocols["value"]), n101, protocols["qualifier"])
    outer_hi = float(stats.wilson_interval(p_max, n101, confidence).upper)
    rows = [
        {
            "claim": "over half of LSCBs recorded no CSE data",
            "status": "claim not traced (denominator traced)",
            "n": n100,
            "x_min": x_min,
            "x_max": x_max,
            "share_min": x_min / n100,
            "share_max": x_max / n100,
            "outer_lower": outer_lo,
            "outer_upper": 1.0,
            "unit": "proportion of LSCBs",
            "figure_ids": "JAGO01",
            "source_id": jago01["source_id"],
            "note": "share bound is the evidence's wording; only the 100 LSCBs is published",
        },
        {
            "claim": "fewer than a quarter of LSCBs had CSE protocols",
            "status": "caveated: interim findings, undated, attributed by the evidence to the NWG",
            "n": n101,
            "x_min": p_min,
            "x_max": p_max,
            "share_min": p_min / n101,
            "share_max": p_max / n101,
            "outer_lower": 0.0,
            "outer_upper": outer_hi,
            "unit": "proportion of LSCBs",
            "figure_ids": "JAGO08;JAGO09",
            "source_id": protocols["source_id"],
            "note": f"'fewer than 25%' of {n101} allows {p_min} to {p_max} LSCBs",
        },
    ]
    return sourced_frame(rows)


def pledge_counts(
    local_authorities: int,
    claimed_share_range: tuple[float, float],
) -> pd.DataFrame:
    """Return the Barnardo's pledge counts: January 2012 (published bound) and April 2012 (claim).

    January 2012 (BAR01): fewer than half of ``local_authorities`` pledged, i.e. at most
    ``ceil(0.5 n) - 1``. April 2012 (the evidence, not traced): "almost two thirds", read as a
    share in ``claimed_share_range``.

    Parameters
    ----------
    local_authorities : int
        England's local authorities (152 in the evidence; an assumption, not a project figure).
    claimed_share_range : (float, float)
        The range read into "almost two thirds" (an assumption).

    Returns
    -------
    pandas.DataFrame
        A row for each date, ``when`` = January 2012 and April 2012, with ``status``, the
        counts ``count_min, count_max, count_point``, the shares ``share_min, share_max`` of
        ``local_authorities``, and ``unit, figure_ids, source_id, note``.

    Examples
    --------
    >>> p = pledge_counts(152, (0.60, 2 / 3)).set_index("when")
    >>> int(p.loc["January 2012", "count_max"]), round(float(p.loc["April 2012", "count_point"]), 2)
    (75, 101.33)
    """
    lo_share, hi_share = claimed_share_range
    if not 0.0 < lo_share < hi_share <= 1.0:
        raise ValueError(
            f"claimed_share_range must be (low, high) in (0, 1]; got {claimed_share_range}"
        )
    bar01 = published.figure("BAR01")
    jan_min, jan_max = counts_allowed_by_bound(
        float(bar01["value"]), local_authorities, bar01["qualifier"]
    )
    apr_min = math.ceil(lo_share * local_authorities - _EPS)
    apr_max = math.floor(hi_share * local_authorities + _EPS)
    rows = [
        {
            "when": "January 2012",
            "status": "published bound (fewer than half)",
            "count_min": jan_min,
            "count_max": jan_max,
            "count_point": float(jan_max),
            "share_min": jan_min / local_authorities,
            "share_max": jan_max / local_authorities,
            "unit": "local authorities",
            "figure_ids": "BAR01",
            "source_id": bar01["source_id"],
            "note": "stated only as fewer than half; the maximum is shown as the point",
        },
        {
            "when": "April 2012",
            "status": "evidence's claim, not traced (almost two thirds)",
            "count_min": apr_min,
            "count_max": apr_max,
            "count_point": hi_share * local_authorities,
            "share_min": lo_share,
            "share_max": hi_share,
            "unit": "local authorities",
            "figure_ids": "",
            "source_id": "",
            "note": f"'almost two thirds' read as {lo_share:.3g}-{hi_share:.3g} (assumption)",
        },
    ]
    return sourced_frame(rows)


def new_pledges_implied(
    local_authorities: int,
    claimed_share_range: tuple[float, float],
    months: float,
    n: int = 100_000,
    seed: int | None = stats.DEFAULT_SEED,
) -> tuple[stats.PropagationResult, pd.DataFrame]:
    """Propagate "almost two thirds by April" against "fewer than half in January".

    The minimum number of new pledges the two statements imply is
    ``share_april x local_authorities - max_january``, where ``max_january`` is the largest count
    "fewer than half" allows (so the result is a lower bound on new pledges: January may have been
    lower). ``share_april`` is drawn uniformly from ``claimed_share_range`` (an assumption: no
    value in the range is preferred) with :func:`analysis.stats.propagate`.

    Parameters
    ----------
    local_authorities : int
        Number of local authorities (assumed; 152 in the evidence).
    claimed_share_range : (float, float)
        Range read into "almost two thirds".
    months : float
        Months between the two statements (assumed, about three).
    n, seed : int
        Monte Carlo draws and seed.

    Returns
    -------
    (PropagationResult, pandas.DataFrame)
        The propagation result for the minimum new pledges, and a one-row summary with
        ``point`` (at two thirds' upper end), ``mean``, ``lower``, ``upper`` and the same per
        month.

    Examples
    --------
    >>> res, summary = new_pledges_implied(152, (0.60, 2 / 3), 3, n=10_000)
    >>> round(float(summary["point"].iloc[0]), 2)
    26.33
    """
    bar01 = published.figure("BAR01")
    _, jan_max = counts_allowed_by_bound(
        float(bar01["value"]), local_authorities, bar01["qualifier"]
    )
    res = stats.propagate(
        lambda share, las, jan: share * las - jan,
        {
            "share": stats.uniform(*claimed_share_range),
            "las": stats.fixed(local_authorities),
            "jan": stats.fixed(jan_max),
        },
        n=n,
        seed=seed,
    )
    point = claimed_share_range[1] * local_authorities - jan_max
    summary = pd.DataFrame(
        [
            {
                "quantity": "minimum new pledges, January to April 2012",
                "unit": "local authorities",
                "point": point,
                "mean": res.mean,
                "lower": res.interval[0],
                "upper": res.interval[1],
                "min": float(res.samples.min()),
                "max": float(res.samples.max()),
                "january_max": jan_max,
                "months": months,
                "point_per_month": point / months,
                "mean_per_month": res.mean / months,
                "not_pledged_in_january_min": local_authorities - jan_max,
                "method": res.method + "; share uniform on the assumed range",
                "source_id": bar01["source_id"],
            }
        ]
    )
    summary.attrs.update(sources=[bar01["source_id"]], synthetic=False)
    return res, summary


def data_returns(lscb_denominator_range: Sequence[int] | None = None) -> pd.DataFrame:
    """Return the two data-return figures: CEOP's 2011 request to LSCBs and the OCC inquiry.

    CEOP03 is a count of LSCBs (England and Wales) with no published denominator; when
    ``lscb_denominator_range`` is given (an assumption), the implied response share is returned
    as a range. OCC05 is a share of local authorities with no published denominator, so no
    interval is given (it is a near-census, not a sample).

    Parameters
    ----------
    lscb_denominator_range : (int, int), optional
        Assumed number of LSCBs in England and Wales in 2011.

    Returns
    -------
    pandas.DataFrame
        Columns ``figure_id, measure, value, unit, geography, share, share_min, share_max,
        share_basis, source_id, note``.

    Examples
    --------
    >>> d = data_returns((150, 180)).set_index("figure_id")
    >>> int(d.loc["CEOP03", "value"]), round(float(d.loc["CEOP03", "share_max"]), 4)
    (13, 0.0867)
    """
    ceop = published.figure("CEOP03")
    occ = published.figure("OCC05")
    count = float(ceop["value"])
    if lscb_denominator_range is not None:
        lo, hi = (int(v) for v in lscb_denominator_range)
        if not 0 < count <= lo <= hi:
            raise ValueError(f"denominator range must be (low, high) with {count:g} <= low <= high")
        share_min, share_max, basis = count / hi, count / lo, f"assumed {lo}-{hi} LSCBs"
        share = count / ((lo + hi) / 2)
    else:
        share_min = share_max = share = float("nan")
        basis = "denominator not published: count only"
    rows = [
        {
            "figure_id": "CEOP03",
            "measure": ceop["measure"],
            "value": count,
            "unit": ceop["unit"],
            "geography": ceop["geography"],
            "share": share,
            "share_min": share_min,
            "share_max": share_max,
            "share_basis": basis,
            "source_id": ceop["source_id"],
            "note": "a count of LSCBs; the number asked is not in the project's data",
        },
        {
            "figure_id": "OCC05",
            "measure": occ["measure"],
            "value": float(occ["value"]),
            "unit": occ["unit"],
            "geography": occ["geography"],
            "share": float(occ["value"]),
            "share_min": float(occ["value"]),
            "share_max": float(occ["value"]),
            "share_basis": "published share (denominator not published)",
            "source_id": occ["source_id"],
            "note": str(occ["note"]),
        },
    ]
    return sourced_frame(rows)
