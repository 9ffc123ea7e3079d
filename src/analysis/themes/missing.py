"""Missing children: the evidence's arithmetic, and unit-consistent alternatives from published data.

The evidence chains three published numbers: about 200,000 people go missing a year (Home Office,
2011: a count of *people*), children are 64% of missing reports (UK Missing Persons Bureau, 2011/12:
a share of *incidents*), and a quarter suffer abuse while missing (The Children's Society: a share
of *runaways* in a survey). Multiplying them mixes three populations. The functions here rebuild
the chain from the published figures and set it beside products whose units agree, each row
carrying its unit and source ids.
"""

from __future__ import annotations

import pandas as pd

from analysis import published
from analysis.tables import sourced_frame

__all__ = ["evidence_chain", "missing_from_care", "unit_consistent_estimates"]

_COLUMNS = ["step", "value", "unit", "unit_consistent", "figure_ids", "source_ids", "note"]


def _sources(*figure_ids: str) -> str:
    return ";".join(dict.fromkeys(published.figure(f)["source_id"] for f in figure_ids))


def evidence_chain() -> pd.DataFrame:
    """Return the evidence's chain 200,000 × 64% × 25%, step by step, with the unit of each step.

    Returns
    -------
    pandas.DataFrame
        Columns ``step, value, unit, unit_consistent, figure_ids, source_ids, note``; the last row
        is the number the chain implies (children abused while missing), whose unit is mixed.

    Examples
    --------
    >>> chain = evidence_chain()
    >>> int(chain["value"].iloc[-1])
    32000
    """
    people = published.figure("MP01")
    child_share = published.figure("MP07")
    harmed_share = published.figure("RS07")
    rows = [
        (
            "people missing a year (about)",
            people["value"],
            people["unit"],
            True,
            "MP01",
            _sources("MP01"),
            "counts individuals (2009/10 data)",
        ),
        (
            "x share of incidents that involve under-18s",
            people["value"] * child_share["value"],
            "people x share of incidents",
            False,
            "MP01;MP07",
            _sources("MP01", "MP07"),
            "64% is a share of 2011/12 police incidents, not of people",
        ),
        (
            "x a quarter harmed (runaway surveys)",
            people["value"] * child_share["value"] * harmed_share["value"],
            "mixed (people x incident share x runaway share)",
            False,
            "MP01;MP07;RS07",
            _sources("MP01", "MP07", "RS07"),
            "the quarter is a share of runaways from home or care, not of police missing reports",
        ),
    ]
    return sourced_frame(rows, _COLUMNS, source_column="source_ids")


def unit_consistent_estimates() -> pd.DataFrame:
    """Return products of published figures whose units agree, for comparison with the chain.

    - child-related missing incidents in 2011/12: incidents × the under-18 share of incidents;
    - distinct people missing in 2011/12 (no published child share of *people* exists);
    - runaways from home or care harmed a year: runaways × the quarter harmed (both children);
    - under-16 runaways with a harmful experience: runaways × 26% (Still Running 3).

    Examples
    --------
    >>> est = unit_consistent_estimates().set_index("figure_ids")
    >>> int(est.loc["MP04;MP07", "value"])
    200320
    """
    f = published.figure
    rows = [
        (
            "missing incidents involving under-18s, 2011/12 (GB)",
            f("MP04")["value"] * f("MP07")["value"],
            "incidents",
            True,
            "MP04;MP07",
            _sources("MP04", "MP07"),
            "one child can be several incidents",
        ),
        (
            "distinct people who went missing, 2011/12 (GB)",
            f("MP05")["value"],
            "individuals",
            True,
            "MP05",
            _sources("MP05"),
            "all ages; the child share of individuals is not published",
        ),
        (
            "runaways from home or care suffering significant harm a year (UK)",
            f("RS05")["value"] * f("RS07")["value"],
            "children",
            True,
            "RS05;RS07",
            _sources("RS05", "RS07"),
            "a quarter of about 100,000 runaways",
        ),
        (
            "under-16 runaways reporting a harmful experience (England)",
            f("RS02")["value"] * f("RS01")["value"],
            "children",
            True,
            "RS02;RS01",
            _sources("RS02", "RS01"),
            "school survey; 26% of 84,000 overnight runaways",
        ),
    ]
    return sourced_frame(rows, _COLUMNS, source_column="source_ids")


def missing_from_care() -> pd.DataFrame:
    """Return the official counts and the estimates of looked-after children missing, 2010-2013.

    DfE's count of children missing for more than 24 hours (800 / 920 / 1,490) sits beside the
    APPG's DfE instances (930), the police-based estimate (about 10,000 children) and a newspaper
    analysis (more than 30,000): an order-of-magnitude gap that is the evidence's data-quality point.

    Examples
    --------
    >>> care = missing_from_care()
    >>> care["figure_id"].tolist()
    ['MFC01', 'MFC02', 'MFC03', 'MFC04', 'MFC05', 'MFC06']
    """
    ids = ["MFC01", "MFC02", "MFC03", "MFC04", "MFC05", "MFC06"]
    table = published.load_missing_from_care().set_index("figure_id").loc[ids].reset_index()
    kind = {
        "MFC01": "official count (DfE)",
        "MFC02": "official count (DfE)",
        "MFC03": "official count (DfE)",
        "MFC04": "official count (DfE)",
        "MFC05": "police-based estimate",
        "MFC06": "newspaper analysis",
    }
    table["kind"] = table["figure_id"].map(kind)
    out = table[
        [
            "figure_id",
            "measure",
            "value",
            "qualifier",
            "unit",
            "period",
            "definition",
            "kind",
            "source_id",
        ]
    ]
    out.attrs.update(sources=sorted(set(out["source_id"])), synthetic=False)
    return out
