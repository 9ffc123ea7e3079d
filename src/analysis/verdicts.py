"""Computed verdicts: one rule per claim, the audit of the register, and what notebooks record.

Wherever the published data allow it a claim's verdict is **computed**: a small rule per claim
(:data:`RULES`) reads the published figures through :mod:`analysis.published` and compares them
with the claim under tolerances set by the claim's qualifier
(:func:`analysis.claims.claim_interval`). Otherwise the verdict is **typed** and the register's
note says why. :func:`audit` recomputes every computed verdict and raises
:class:`ClaimsAuditError` if the recorded one differs, so the register cannot drift away from the
data silently. ``python -m analysis claims`` prints the audit (:func:`run`).

Each theme notebook ``NN_theme`` ends with :func:`record_theme_claims`, which writes
``figures/tables/NN_claims.{csv,md,json}``: the audited rows for that notebook, citing the
evidence and every source the verdicts rest on.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import plotting, published, sources, tables
from analysis.claims import (
    ABOUT_TOLERANCE,
    VERDICTS,
    ValueRange,
    claim_interval,
    compare,
    describe,
    describe_figure,
    figure_interval,
    load_register,
    register_path,
)
from analysis.published import PublishedDataError
from analysis.tables import EVIDENCE_SOURCE

__all__ = [
    "AUDIT_COLUMNS",
    "RULES",
    "Assessment",
    "ClaimsAuditError",
    "add_arguments",
    "assess",
    "audit",
    "for_theme",
    "record_theme_claims",
    "rule_for",
    "run",
]


class ClaimsAuditError(ValueError):
    """A recorded verdict (or its sources) differs from what the published data now say."""


# --------------------------------------------------------------------------------------------
# Verdict rules, one per claim that published data can check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """A computed verdict, the plain-words finding behind it, and the figures it read.

    ``decided`` is the published value or range, in the claim's own unit, that the verdict rests
    on (drawn by the claims overview chart); None where no single range decides it.
    """

    verdict: str
    finding: str
    figure_ids: tuple[str, ...]
    decided: ValueRange | None = None


Rule = Callable[[pd.Series, pd.DataFrame], Assessment]
#: claim_id -> rule computing its verdict from the published figures.
RULES: dict[str, Rule] = {}


def _rule(claim_id: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        RULES[claim_id] = func
        return func

    return register


def _base_unit(unit: str) -> str:
    return unit.removeprefix("proportion of ").strip()


def _reference_date(figure: pd.Series) -> pd.Timestamp | None:
    """The date a figure refers to: a ``YYYY-MM[-DD]`` period if given, else its period end."""
    period = str(figure.get("period") or "")
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", period):
        return pd.Timestamp(period if len(period) == 10 else f"{period}-01")
    end = figure.get("period_end")
    return None if end is None or pd.isna(end) else pd.Timestamp(end)


def _caveats(
    claim: pd.Series,
    figure: pd.Series,
    *,
    attributed_to: str | None = None,
    year: int | None = None,
) -> list[str]:
    """Ways a source differs from the claim: unit, named author, date."""
    out = []
    if _base_unit(claim["unit"]) != _base_unit(figure["unit"]):
        out.append(
            f"the source counts {_base_unit(figure['unit'])}, not {_base_unit(claim['unit'])}"
        )
    if attributed_to:
        producer = sources.get(figure["source_id"]).producer
        if attributed_to.lower() not in producer.lower():
            out.append(f"it comes from {producer}, not the {attributed_to} the evidence names")
    if year is not None:
        when = _reference_date(figure)
        if when is None:
            out.append(f"the source is undated, so the claimed year {year} is unconfirmed")
        elif when.year != year:
            out.append(f"the source refers to {figure['period']}, not {year}")
    return out


def _verdict(outcome: str, caveats: list[str]) -> str:
    if outcome == "conflict":
        return "contradicted"
    if outcome == "compatible":
        return "not_traced"
    return "corroborated_with_caveat" if caveats else "corroborated"


_OUTCOME_WORDS = {
    "implied": "gives the claimed number",
    "conflict": "points elsewhere",
    "compatible": "is consistent with the claim but too loose to confirm it",
}


def _match(
    claim: pd.Series,
    figure_id: str,
    *,
    context: tuple[str, ...] = (),
    attributed_to: str | None = None,
    year: int | None = None,
) -> Assessment:
    """Compare a claim with one published figure; ``context`` figures go into the finding only."""
    fig = published.figure(figure_id)
    outcome = compare(
        claim_interval(claim["value"], claim["qualifier"], claim["unit"]), figure_interval(fig)
    )
    caveats = _caveats(claim, fig, attributed_to=attributed_to, year=year)
    finding = f"The source {_OUTCOME_WORDS[outcome]}: {describe_figure(fig)}"
    if caveats and outcome != "conflict":
        finding += "; but " + "; ".join(caveats)
    finding += "."
    if context:
        finding += (
            " See also " + "; ".join(describe_figure(published.figure(f)) for f in context) + "."
        )
    return Assessment(
        _verdict(outcome, caveats), finding, (figure_id, *context), figure_interval(fig)
    )


@_rule("C01")
def looked_after_overrepresented(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Looked-after children's share of victims against their share of all children.

    CEOP's 2011 assessment found at least ``CEOP08`` of ``CEOP01`` victims in care, with
    ``CEOP10`` victims' backgrounds unrecorded, so the in-care share lies between
    ``CEOP08/CEOP01`` and ``(CEOP08 + CEOP10)/CEOP01``. The population share is
    ``LAC2012 / POP0017_2012``; the claim holds if the victims' share exceeds it times the
    claimed ratio. The periods differ (victims 2008-11, population share 2012: no child
    population before mid-2012 is traced), and the finding says so. :func:`analysis.stats.claim_test` tests the lower count (supported ->
    corroborated with caveat) and the upper count (contradicted even if every unrecorded victim
    was in care -> contradicted); anything else is not settled (not traced).
    """
    from analysis.stats import claim_test

    victims, in_care, unknown = (published.figure(f) for f in ("CEOP01", "CEOP08", "CEOP10"))
    lac, pop, barnardos = (published.figure(f) for f in ("LAC2012", "POP0017_2012", "BAR03"))
    base = float(lac["value"]) / float(pop["value"])
    threshold = base * float(claim["value"])
    n = int(victims["value"])
    low = claim_test(int(in_care["value"]), n, threshold, "greater")
    high = claim_test(min(int(in_care["value"] + unknown["value"]), n), n, threshold, "greater")
    if low.conclusion == "supported":
        verdict = "corroborated_with_caveat"
    elif high.conclusion == "contradicted":
        verdict = "contradicted"
    else:
        verdict = "not_traced"
    finding = (
        f"At least {int(in_care['value']):,} of {n:,} victims in CEOP's assessment were in care "
        f"({low.estimate:.1%}, 95% CI {low.lower:.1%}-{low.upper:.1%}), against "
        f"{base:.2%} of England's children looked after ({int(lac['value']):,} of "
        f"{pop['value'] / 1e6:.2f} million in 2012): at least {low.estimate / base:.0f} times "
        f"their share; Barnardo's one-day survey: {float(barnardos['value']):.0%} of service "
        f"users looked after ({float(barnardos['value']) / base:.0f} times). Caveats: "
        f"{int(unknown['value']):,} victims had no background recorded; UK victims against "
        f"England's children; a period mismatch: the victims span {in_care['period']} while the "
        f"population share is of {lac['period']} ({lac['figure_id']}) and {pop['period']} "
        f"({pop['figure_id']}), the earliest traced child population; the OCC report the "
        "evidence cites gave no traced share."
    )
    ids = ("CEOP01", "CEOP08", "CEOP10", "LAC2012", "POP0017_2012", "BAR03")
    return Assessment(verdict, finding, ids, ValueRange(low.estimate / base, high.estimate / base))


def _years(figure: pd.Series) -> float:
    """A figure's period in years: its stated length in months if it gives one, else its dates."""
    months = published.stated_months(figure["period"])
    if months:
        return months / 12
    start, end = figure["period_start"], figure["period_end"]
    return ((pd.Timestamp(end) - pd.Timestamp(start)).days + 1) / 365.25


@_rule("C02")
def extent_beyond_known(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Children at high risk in a year (``OCC02``) against confirmed victims a year (``OCC01``).

    Both are annualised from their period dates. A ratio above the claimed one corroborates the
    claim with a caveat (being at high risk is not being a victim); a ratio at or below it
    contradicts it.
    """
    known, risk = published.figure("OCC01"), published.figure("OCC02")
    known_a = float(known["value"]) / _years(known)
    risk_a = float(risk["value"]) / _years(risk)
    ratio = risk_a / known_a
    ok = claim_interval(claim["value"], claim["qualifier"], claim["unit"]).contains(ratio)
    verdict = "corroborated_with_caveat" if ok else "contradicted"
    finding = (
        f"The OCC counted {int(known['value']):,} confirmed victims over {known['period']} "
        f"(about {known_a:,.0f} a year) and {int(risk['value']):,} children at high risk in "
        f"{risk['period']}: {ratio:.1f} times as many"
        + ("" if ok else ", not more than the claimed ratio")
        + ". Caveat: children at high risk are not confirmed victims, and the periods differ."
    )
    return Assessment(verdict, finding, ("OCC01", "OCC02"), ValueRange(ratio, ratio))


@_rule("C13")
def protocols_less_than_a_quarter(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Share of areas with multi-agency protocols against the Bedfordshire interim findings."""
    out = _match(claim, "JAGO08", attributed_to="National Working Group", year=2010)
    n = int(published.value("JAGO09"))
    finding = out.finding.rstrip(".") + f" (denominator {n} LSCBs, JAGO09)."
    return Assessment(out.verdict, finding, ("JAGO08", "JAGO09"), out.decided)


#: The date the pledge claim refers to (the evidence: "in April 2012").
PLEDGE_CLAIM_DATE = pd.Timestamp("2012-04-01")


@_rule("C14")
def pledges_almost_two_thirds(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Barnardo's pledges: "almost two thirds of 152 by April 2012" against ``BAR01``.

    "Almost two thirds" is read as between two thirds less 10% (60%) and two thirds, of the 152
    authorities the claim names (claim C15). Pledges accumulate, so the rule reasons with dates:

    * the published figure lies in the claimed range: corroborated (with a caveat when it is
      dated another month than April 2012);
    * it lies below the range and is dated *before* April 2012, or above it and dated *after*:
      the claim is still possible (pledges could have arrived in between) but nothing shows it:
      not traced, and the finding says how many pledges must have arrived in between;
    * below the range at or after April 2012, or above it at or before: contradicted;
    * undated, or too loose to settle the claim: not traced.
    """
    fig = published.figure("BAR01")
    n_la = float(register.set_index("claim_id").loc["C15", "value"])
    share = float(claim["value"])
    claimed = ValueRange(share * (1 - ABOUT_TOLERANCE), share)
    stated = figure_interval(fig)
    outcome = compare(claimed, stated)
    when = _reference_date(fig)
    month = None if when is None else (when.to_period("M") - PLEDGE_CLAIM_DATE.to_period("M")).n
    said = f"Barnardo's: {describe_figure(fig)}"
    below = stated.hi <= claimed.lo
    if outcome == "implied":
        verdict = "corroborated" if month == 0 else "corroborated_with_caveat"
        finding = f"{said}, within the claimed range"
        if month is None:
            finding += ", but undated"
        elif month != 0:
            finding += f", but dated {when:%B %Y}, not April 2012"
    elif outcome == "conflict" and month is not None and (month >= 0 if below else month <= 0):
        verdict = "contradicted"
        side = "below" if below else "above"
        finding = f"{said}: {side} the claimed range, dated {when:%B %Y}"
    elif outcome == "conflict" and month is not None and below:
        verdict = "not_traced"
        need = math.ceil(claimed.lo * n_la - 1e-9)
        at_two_thirds = round(share * n_la)
        most = math.ceil(stated.hi * n_la) - 1 if not stated.hi_closed else int(stated.hi * n_la)
        finding = (
            f"{said}, that is at most {most} of {n_la:.0f} authorities in {when:%B %Y}. The "
            f"claim needs at least {need} by April 2012 ({at_two_thirds} at two thirds): "
            f"{need - most} to {at_two_thirds - most} more pledges in about {-month} months, "
            "which no published source in the project shows"
        )
    else:
        verdict = "not_traced"
        finding = f"{said}: it neither confirms nor rules out the claim"
    return Assessment(verdict, finding + ".", ("BAR01",), stated)


@_rule("C15")
def authorities_in_england(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """152 local authorities, counted from the 2012 looked-after release (real local data).

    :func:`analysis.themes.local_authorities.count_authorities_2012` counts the authorities with
    their own row in DfE's release for the year to 31 March 2012 (SFR 20/2012), however small
    their figures (City of London's are a handful of children with suppressed cells), plus those
    with their own row in the ONS child population table for mid-2012 that the release leaves
    out (the Isles of Scilly). The count within the claim's tolerance corroborates it, with a
    caveat when the release itself lists fewer rows than the count (the rule had to add
    authorities it omits); any other count contradicts it.
    """
    from analysis.themes import local_authorities

    c = local_authorities.count_authorities_2012()
    ok = claim_interval(claim["value"], claim["qualifier"], claim["unit"]).contains(c.count)
    small = ", ".join(c.small) or "none"
    finding = (
        f"DfE's looked-after release for the year to 31 March 2012 lists {c.listed} local "
        f"authorities (smallest, under ten children looked after or suppressed: {small}); "
    )
    if c.omitted:
        finding += (
            f"the ONS child population table for mid-2012 also has {', '.join(c.omitted)}, which "
            f"the release does not report separately: {c.count} authorities in all"
        )
    else:
        finding += f"every authority of the mid-2012 population table is listed: {c.count}"
    if c.unknown:
        finding += f"; not in the population table: {', '.join(c.unknown)}"
    if not ok:
        verdict = "contradicted"
        finding += f", not {claim['value']:.0f}"
    else:
        verdict = "corroborated_with_caveat" if c.omitted else "corroborated"
        if c.omitted:
            finding += " (caveat: the release itself has one row fewer than the claim)"
    return Assessment(verdict, finding + ".", (), ValueRange(c.count, c.count))


@_rule("C19")
def regional_variation_missing(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Regional variation in reporting children missing from care, in the earliest years.

    :func:`analysis.themes.local_authorities.earliest_regional_dispersion` tests, for each of the
    earliest years published at authority level (2015 to 2017) and each measure the year allows
    (the share of looked-after children who went missing, 2015 only; missing incidents per child
    who went missing, every year), whether regions differ more than the authorities within them
    (a quasi-likelihood F test whose dispersion ratio is 1 when they do not), with Holm's
    correction across the tests. Any rejection corroborates the claim with a caveat (the years
    are 2015 to 2017, not 2012, and the measures show how often children were reported
    missing, not when); every ratio at or below 1 contradicts it; otherwise not traced.
    """
    from analysis.themes import local_authorities

    tests = local_authorities.earliest_regional_dispersion()
    words = {
        "share_missing": "share of looked-after children who went missing",
        "incidents_per_child": "incidents per child who went missing",
    }
    parts = [
        f"{int(t.year)} {words.get(t.measure, t.measure)}: ratio {t.ratio:.2f} "
        f"(F on {int(t.df_regions)} and {int(t.df_residual)} df, Holm-adjusted p "
        f"{t.p_holm:.2g})"
        for t in tests.itertuples()
    ]
    first, last = int(tests["year"].min()), int(tests["year"].max())
    finding = (
        "Across England's nine regions, dispersion ratios (regions against the spread between "
        "authorities within them) in the earliest authority-level years: " + "; ".join(parts)
    )
    if tests["rejects"].any():
        verdict = "corroborated_with_caveat"
        finding += ". Regions differ beyond chance in at least one of those years"
    elif (tests["ratio"] <= 1).all():
        verdict = "contradicted"
        finding += ". No ratio exceeds 1"
    else:
        verdict = "not_traced"
        finding += ". No test shows regions differing beyond chance"
    finding += (
        f". Caveat: the evidence dates from 2012 and the earliest authority-level figures in the "
        f"project are for the years to 31 March {first} to {last}, three to five years later; they "
        "count children reported missing and incidents, not when services report them."
    )
    ratios = tests["ratio"].astype(float)
    return Assessment(verdict, finding, (), ValueRange(float(ratios.min()), float(ratios.max())))


@_rule("C26")
def exploitation_where_homes_are(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """The evidence's reasoning that exploitation goes where vulnerable children are, homes included.

    Read as: authorities with more children's homes per 10,000 children record more child sexual
    exploitation at assessment, a rate ratio per home per 10,000 children above 1.
    :func:`analysis.themes.local_authorities.homes_association` fits a negative binomial model
    across authorities (child population offset, robust errors) for the year to 31 March 2023
    (Ofsted's list at 31 March 2023). A 95% interval wholly above the claimed ratio corroborates
    it with a caveat (an association between areas, of episodes recorded, not of children);
    wholly below contradicts it; an interval containing it leaves it not traced. The model
    adjusted for looked-after children and missing incidents is reported beside it.
    """
    from analysis.themes import local_authorities

    table = local_authorities.homes_association().set_index("model")
    direct, adjusted = table.loc["homes only"], table.loc["adjusted"]
    threshold = float(claim["value"])
    if direct["lower"] > threshold:
        verdict = "corroborated_with_caveat"
    elif direct["upper"] < threshold:
        verdict = "contradicted"
    else:
        verdict = "not_traced"
    year = int(table.attrs["year"])
    finding = (
        f"Across {int(direct['authorities'])} authorities in the year to 31 March {year}, each "
        "extra children's home per 10,000 children goes with a rate ratio of "
        f"{direct['irr']:.3f} (95% robust CI {direct['lower']:.3f}-{direct['upper']:.3f}) in "
        "episodes with child sexual exploitation recorded at assessment; allowing for "
        f"looked-after children and missing incidents, {adjusted['irr']:.3f} "
        f"({adjusted['lower']:.3f}-{adjusted['upper']:.3f}). Caveat: an association between "
        "areas' totals of recorded episodes, which says nothing about individual children."
    )
    return Assessment(
        verdict, finding, (), ValueRange(float(direct["lower"]), float(direct["upper"]))
    )


@_rule("C16")
def people_missing_a_year(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """About 200,000 people a year against the Home Office estimate (``MP01``)."""
    return _match(claim, "MP01", context=("MP02",))


@_rule("C17")
def children_share_of_reports(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """64% of missing reports against the 2011/12 share of incidents (``MP07``)."""
    return _match(claim, "MP07", context=("MP03",))


@_rule("C18")
def quarter_abused_while_missing(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """A quarter harmed, against The Children's Society's runaways (``RS07``)."""
    return _match(claim, "RS07", context=("RS01",))


@_rule("C22")
def lscbs_surveyed(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """The 100 LSCBs surveyed, against the Bedfordshire study (``JAGO01``)."""
    return _match(claim, "JAGO01")


_TYPED_FINDING = {
    "self_reported": "A fact about the author's own work; no outside source can check it.",
    "not_traced": "No published source in the project gives this number.",
    "corroborated": "Checked by hand against the sources listed.",
    "corroborated_with_caveat": "Checked by hand against the sources listed; see the note.",
    "contradicted": "The sources listed point elsewhere; see the note.",
}


def assess(claim_id: str, register: pd.DataFrame | None = None) -> Assessment:
    """Compute the verdict of one claim from the published figures, as the data stand now.

    Raises
    ------
    KeyError
        If no rule exists for ``claim_id`` (its verdict is typed).

    Examples
    --------
    >>> assess("C16").verdict
    'corroborated'
    >>> assess("C17").verdict
    'corroborated_with_caveat'
    """
    register = load_register(check_figures=False, computed=RULES) if register is None else register
    claim = register.set_index("claim_id").loc[claim_id].copy()
    claim["claim_id"] = claim_id
    rule = rule_for(claim)
    if rule is None:
        raise KeyError(f"claim {claim_id} has a typed verdict: no rule computes it")
    return rule(claim, register)


def linked_figure(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """The generic rule: compare a claim with the first published figure in its ``figure_ids``.

    Any claim without a rule of its own becomes computed as soon as a published figure is linked
    to it (its id in ``figure_ids``, its source in ``sources``); further ids are context. This
    is how a newly found source changes the audit without new code.
    """
    first, *context = tables.split_ids(claim["figure_ids"])
    return _match(claim, first, context=tuple(context))


def rule_for(claim: pd.Series | dict) -> Callable[[pd.Series, pd.DataFrame], Assessment] | None:
    """Return the rule that computes a claim's verdict, or None if the verdict is typed."""
    if claim["claim_id"] in RULES:
        return RULES[claim["claim_id"]]
    if tables.split_ids(claim.get("figure_ids", "") or ""):
        return linked_figure
    return None


AUDIT_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "theme",
    "section",
    "quantity",
    "stated",
    "value",
    "unit",
    "qualifier",
    "verdict",
    "verdict_method",
    "recorded_verdict",
    "finding",
    "figure_ids",
    "sources",
    "output",
    "note",
)


def audit(*, strict: bool = True, path: Path | None = None, theme: str = "") -> pd.DataFrame:
    """Return every claim with its verdict, recomputing the ones the data can check.

    Parameters
    ----------
    strict : bool, default True
        Raise :class:`ClaimsAuditError` if a recorded verdict differs from the computed one, or
        if a computed claim's ``figure_ids`` differ from the figures its rule reads. With
        ``strict=False`` the frame is returned anyway; compare ``verdict`` with
        ``recorded_verdict``.
    path : Path, optional
        Another register file (tests).
    theme : str, optional
        Only the claims whose ``theme`` starts with this prefix (a notebook's number, ``"02"``),
        so a theme notebook recomputes its own rules and not every rule in the register;
        notebook 00 and ``python -m analysis claims`` audit them all.

    Returns
    -------
    pandas.DataFrame
        :data:`AUDIT_COLUMNS`: ``verdict`` is the computed verdict where a rule exists and the
        recorded one otherwise; ``verdict_method`` is ``computed`` or ``typed``; ``finding``
        says in plain words what the data say; ``stated`` is the claim in words. ``attrs``
        hold the sources used and ``assessments``: claim id -> the :class:`Assessment` of each
        computed claim (its ``decided`` range is what the claims overview chart draws).

    Examples
    --------
    >>> table = audit()
    >>> table.set_index("claim_id").loc["C17", ["verdict", "verdict_method"]].tolist()
    ['corroborated_with_caveat', 'computed']
    """
    register = load_register(path, computed=RULES)
    rows, problems, assessments = [], [], {}
    selected = register[register["theme"].str.startswith(theme)] if theme else register
    for claim in selected.to_dict("records"):
        cid = claim["claim_id"]
        out = dict(claim)
        out["stated"] = describe(claim["value"], claim["qualifier"], claim["unit"])
        out["recorded_verdict"] = claim["verdict"]
        rule = rule_for(claim)
        if rule is not None:
            result = rule(pd.Series(claim), register)
            out["verdict"], out["finding"] = result.verdict, result.finding
            out["verdict_method"] = "computed"
            assessments[cid] = result
            if result.verdict != claim["verdict"]:
                problems.append(
                    f"{cid}: recorded {claim['verdict']!r} but the published data "
                    f"now give {result.verdict!r} ({result.finding})"
                )
            if set(result.figure_ids) != set(tables.split_ids(claim["figure_ids"])):
                problems.append(
                    f"{cid}: figure_ids {claim['figure_ids']!r} differ from the "
                    f"figures the rule reads ({';'.join(result.figure_ids)})"
                )
        else:
            out["verdict_method"] = "typed"
            out["finding"] = _TYPED_FINDING[claim["verdict"]]
        rows.append(out)
    if problems and strict:
        raise ClaimsAuditError(
            f"{tables.display_path(path or register_path())}: the claims register has drifted from the "
            "published data:\n  " + "\n  ".join(problems)
        )
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame.attrs.update(
        sources=register.attrs["sources"],
        synthetic=False,
        problems=problems,
        assessments=assessments,
    )
    return frame


def for_theme(prefix: str) -> pd.DataFrame:
    """Return the audited claims a theme notebook covers (``prefix`` such as ``"02"``).

    Examples
    --------
    >>> for_theme("01")["claim_id"].tolist()
    ['C16', 'C17', 'C18']
    """
    out = audit(theme=prefix)
    # The claims paraphrase the evidence itself, so a theme's table always cites it.
    used = {s for cell in out["sources"] for s in tables.split_ids(cell)}
    out.attrs.update(sources=sorted(used | {EVIDENCE_SOURCE}), synthetic=False)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``claims`` command's options to its sub-parser."""
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "csv"),
        default="text",
        help="text (default, readable table), markdown or csv (every column)",
    )
    parser.add_argument("--theme", default="", help="only claims of one notebook, e.g. 02")


def _text_table(table: pd.DataFrame) -> str:
    import textwrap

    lines = []
    for row in table.itertuples():
        lines.append(f"{row.claim_id}  {row.verdict} ({row.verdict_method})  [{row.theme}]")
        lines.append(
            textwrap.fill(
                f"{row.quantity}: {row.stated}",
                96,
                initial_indent="     ",
                subsequent_indent="     ",
            )
        )
        lines.append(
            textwrap.fill(row.finding, 96, initial_indent="     ", subsequent_indent="     ")
        )
    counts = table["verdict"].value_counts()
    lines.append("")
    lines.append("; ".join(f"{v}: {int(counts.get(v, 0))}" for v in VERDICTS))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the audit (``python -m analysis claims``); 1 if the register has drifted."""
    try:
        table = audit()
    except (ClaimsAuditError, PublishedDataError) as err:
        print(f"claims: {err}", file=sys.stderr)
        return 1
    theme = getattr(args, "theme", "") or ""
    if theme:
        themes = sorted(set(table["theme"]))
        table = table[table["theme"].str.startswith(theme)]
        if table.empty:
            print(
                f"claims: no claims for theme {theme!r}; themes are {', '.join(themes)}",
                file=sys.stderr,
            )
            return 2
    fmt = getattr(args, "format", "text")
    if fmt == "csv":
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif fmt == "markdown":
        cols = ["claim_id", "theme", "quantity", "stated", "verdict", "verdict_method", "finding"]
        sys.stdout.write(_markdown(table[cols]))
    else:
        sys.stdout.write(_text_table(table))
    return 0


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + "|".join("---" for _ in frame.columns) + "|",
    ]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def record_theme_claims(prefix: str) -> pd.DataFrame:
    """Save the audited claims of notebook ``prefix`` as ``NN_claims`` and return them.

    Parameters
    ----------
    prefix : str
        The notebook's number, e.g. ``"02"``.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`audit` whose ``theme`` starts with ``prefix``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     os.environ["ANALYSIS_OUTPUT_DIR"] = tmp
    ...     table = record_theme_claims("01")
    ...     written = sorted(os.listdir(os.path.join(tmp, "tables")))
    ...     del os.environ["ANALYSIS_OUTPUT_DIR"]
    >>> table["claim_id"].tolist(), written
    (['C16', 'C17', 'C18'], ['01_claims.csv', '01_claims.json', '01_claims.md'])
    """
    table = for_theme(prefix)
    plotting.save_table(
        table,
        f"{prefix}_claims",
        synthetic=False,
        sources=table.attrs["sources"],
        title=f"Claims covered by notebook {prefix}, with their verdicts",
    )
    return table
