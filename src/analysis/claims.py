"""The claims register: every quantitative claim in CEOP's evidence, and a verdict on each.

``data/published/claims.csv`` holds one row per number the evidence states (counts, shares,
estimates, durations; dates alone are left out), plus the few comparisons it makes without a
number ("disproportionate", "far greater than known", "varies regionally"), each read as a ratio
above 1. Columns:

============  =========================================================================
column        meaning
============  =========================================================================
claim_id      ``C01``, ``C02``, ... in the order the claims appear in the evidence
section       the part of the evidence the claim is in
quantity      what is counted, paraphrased (never the evidence's words)
value         the number; shares as fractions in [0, 1]
unit          what the number counts (people, reports, LSCBs, local authorities, ...)
qualifier     exact / about / more_than / less_than, as the evidence states it
verdict       the *recorded* verdict (:data:`VERDICTS`)
sources       provenance ids (``sources.csv``) of the published figures used, ``;``-separated
output        the figure or table that shows the claim (a path under ``figures/``)
note          why a typed verdict is what it is, and the caveats
theme         the notebook that covers the claim (``01_missing_children``, ...)
figure_ids    the published figures used (optional), ``;``-separated
============  =========================================================================

Verdicts come from a fixed vocabulary. Wherever the published data allow it a verdict is
**computed**: a small rule per claim (:data:`RULES`) reads the published figures through
:mod:`analysis.published` and compares them with the claim under tolerances set by the claim's
qualifier (:func:`claim_interval`). Otherwise the verdict is **typed** and the row's note says
why. :func:`audit` recomputes every computed verdict and raises :class:`ClaimsAuditError` if the
recorded one differs, so the register cannot drift away from the data silently.

Importing this module is cheap (pandas only) and has no side effects: the command line builds
its parser by importing it.
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

from analysis import paths, published, sources, tables
from analysis.published import PublishedDataError
from analysis.tables import CLAIM_ID, EVIDENCE_SOURCE, STATED_QUALIFIERS

__all__ = [
    "ABOUT_TOLERANCE",
    "COLUMNS",
    "QUALIFIERS",
    "RULES",
    "VERDICTS",
    "Assessment",
    "ClaimsAuditError",
    "ClaimsRegisterError",
    "Interval",
    "add_arguments",
    "assess",
    "audit",
    "claim_interval",
    "compare",
    "describe",
    "figure_interval",
    "for_theme",
    "format_value",
    "load_register",
    "readme_summary",
    "register_path",
    "run",
    "update_readme",
]

#: The verdict vocabulary, from the strongest support to no outside check at all.
VERDICTS: tuple[str, ...] = (
    "corroborated",
    "corroborated_with_caveat",
    "contradicted",
    "not_traced",
    "self_reported",
)
#: What each verdict means (for tables and the README).
VERDICT_MEANING: dict[str, str] = {
    "corroborated": "a published source gives the same number, for the same thing",
    "corroborated_with_caveat": "a source gives the number, but its unit, population, period or "
    "author differs from how the evidence uses it",
    "contradicted": "the published figures point elsewhere",
    "not_traced": "no public source in the project gives (or rules out) the number",
    "self_reported": "a fact about the author's own work that no outside source can check",
}
#: How a claim states its number.
QUALIFIERS: tuple[str, ...] = STATED_QUALIFIERS
#: Relative tolerance for "about", "some", "an estimated": within ±10% of the stated value.
ABOUT_TOLERANCE = 0.10
COLUMNS: tuple[str, ...] = (
    "claim_id",
    "section",
    "quantity",
    "value",
    "unit",
    "qualifier",
    "verdict",
    "sources",
    "output",
    "note",
    "theme",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("figure_ids",)
#: Columns that may be left empty.
EMPTY_OK: frozenset[str] = frozenset({"sources", "note", "figure_ids"})
REGISTER_NAME = "claims.csv"
README_START = "<!-- claims-summary:start -->"
README_END = "<!-- claims-summary:end -->"
_CLAIM_ID = CLAIM_ID
_THEME = re.compile(r"^\d{2}_[a-z0-9_]+$")


class ClaimsRegisterError(PublishedDataError):
    """The claims register breaks its schema; the message names the file, line and column."""


class ClaimsAuditError(ValueError):
    """A recorded verdict (or its sources) differs from what the published data now say."""


# --------------------------------------------------------------------------------------------
# Loading and validating the register
# --------------------------------------------------------------------------------------------


def register_path(root: Path | None = None) -> Path:
    """Path of the claims register (``data/published/claims.csv``)."""
    return (root or paths.DATA_PUBLISHED) / REGISTER_NAME


def load_register(path: Path | None = None, *, check_figures: bool = True) -> pd.DataFrame:
    """Read and validate the claims register.

    Parameters
    ----------
    path : Path, optional
        The CSV; defaults to ``data/published/claims.csv``.
    check_figures : bool, default True
        Also check that every ``figure_ids`` entry is a published figure whose source is listed
        in ``sources``.

    Returns
    -------
    pandas.DataFrame
        One row per claim, ``value`` as float, ``figure_ids`` always present; ``attrs`` hold the
        file name and the source ids used.

    Raises
    ------
    ClaimsRegisterError
        Naming the file, line and column: a missing or unknown column, an empty required field,
        a repeated or malformed ``claim_id``, a value that is not a finite number, a share
        outside [0, 1], an unknown qualifier or verdict, a source id missing from the provenance
        register, an unknown figure id, an output outside ``figures/``, a malformed theme, or a
        typed verdict without a note.

    Examples
    --------
    >>> reg = load_register()
    >>> row = reg.set_index("claim_id").loc["C16"]
    >>> float(row["value"]), row["unit"], row["qualifier"]
    (200000.0, 'people', 'about')
    """
    path = Path(path) if path is not None else register_path()
    shown = tables.display_path(path)

    def fail(line: int | None, column: str | None, problem: str) -> None:
        raise ClaimsRegisterError(shown, line, column, problem)

    rows = tables.read_rows(path, COLUMNS, optional=OPTIONAL_COLUMNS, error=ClaimsRegisterError)
    known_sources = set(sources.load_register(path.parent))
    figure_index = published.load_all().set_index("figure_id") if check_figures else None
    seen: dict[str, int] = {}
    records = []
    for line, row in rows:
        for column in COLUMNS:
            if column not in EMPTY_OK and not row[column].strip():
                fail(line, column, "required value is empty")
        cid = row["claim_id"]
        if not _CLAIM_ID.match(cid):
            fail(line, "claim_id", f"{cid!r} is not of the form C01")
        if cid in seen:
            fail(line, "claim_id", f"duplicate claim_id {cid!r} (first on line {seen[cid]})")
        seen[cid] = line
        try:
            number = float(row["value"])
        except ValueError:
            fail(line, "value", f"not a number: {row['value']!r}")
        if not math.isfinite(number) or number < 0:
            fail(line, "value", f"not a finite non-negative number: {row['value']!r}")
        if row["unit"].startswith("proportion") and number > 1:
            fail(line, "value", f"share above 1 ({row['value']}); give shares as fractions")
        if row["qualifier"] not in QUALIFIERS:
            fail(line, "qualifier", f"{row['qualifier']!r} is not one of {', '.join(QUALIFIERS)}")
        if row["verdict"] not in VERDICTS:
            fail(line, "verdict", f"{row['verdict']!r} is not one of {', '.join(VERDICTS)}")
        for sid in tables.split_ids(row["sources"]):
            if sid not in known_sources:
                fail(line, "sources", f"unknown source id {sid!r} (not in sources.csv)")
        if not row["output"].startswith("figures/") or ".." in row["output"]:
            fail(line, "output", f"{row['output']!r} is not a path under figures/")
        if not _THEME.match(row["theme"]):
            fail(line, "theme", f"{row['theme']!r} is not a notebook stem such as 01_missing")
        if cid not in RULES and not row["note"].strip():
            fail(line, "note", "a typed verdict (no rule computes it) needs a note saying why")
        if figure_index is not None:
            listed = set(tables.split_ids(row["sources"]))
            for fid in tables.split_ids(row["figure_ids"]):
                if fid not in figure_index.index:
                    fail(line, "figure_ids", f"unknown published figure {fid!r}")
                sid = figure_index.loc[fid, "source_id"]
                if sid not in listed:
                    fail(line, "sources", f"figure {fid} comes from {sid}, which is not listed")
        row["value"] = number
        records.append(row)
    frame = pd.DataFrame.from_records(records, columns=[*COLUMNS, *OPTIONAL_COLUMNS])
    frame["value"] = frame["value"].astype("float64")
    frame.attrs.update(
        file=path.name,
        sources=sorted({s for cell in frame["sources"] for s in tables.split_ids(cell)}),
        synthetic=False,
    )
    return frame


# --------------------------------------------------------------------------------------------
# Tolerances: what a stated number allows, and what a published figure says
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A range of values, each end open or closed (``inf`` for no bound).

    Examples
    --------
    >>> Interval(0, 0.25, hi_closed=False).contains(0.25)
    False
    >>> Interval(0, 0.2).issubset(Interval(0, 0.25, hi_closed=False))
    True
    """

    lo: float
    hi: float
    lo_closed: bool = True
    hi_closed: bool = True

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the interval."""
        above = x > self.lo or (self.lo_closed and x == self.lo)
        below = x < self.hi or (self.hi_closed and x == self.hi)
        return above and below

    def issubset(self, other: Interval) -> bool:
        """Whether every value of this interval lies in ``other``."""
        lo_ok = self.lo > other.lo or (
            self.lo == other.lo and (other.lo_closed or not self.lo_closed)
        )
        hi_ok = self.hi < other.hi or (
            self.hi == other.hi and (other.hi_closed or not self.hi_closed)
        )
        return lo_ok and hi_ok

    def isdisjoint(self, other: Interval) -> bool:
        """Whether the two intervals share no value."""
        lo, lo_closed = max(
            (self.lo, self.lo_closed), (other.lo, other.lo_closed), key=lambda t: (t[0], not t[1])
        )
        hi, hi_closed = min(
            (self.hi, self.hi_closed), (other.hi, other.hi_closed), key=lambda t: (t[0], t[1])
        )
        return lo > hi or (lo == hi and not (lo_closed and hi_closed))


def _is_share(unit: str) -> bool:
    return unit.startswith("proportion")


def claim_interval(
    value: float, qualifier: str, unit: str = "", *, tolerance: float = ABOUT_TOLERANCE
) -> Interval:
    """Return the values a claim allows, from its qualifier.

    * ``exact``: equal at the stated precision, taken as whole percentage points for shares
      (±0.005) and whole units for counts (±0.5);
    * ``about``: within ``tolerance`` of the value, relatively (±10% by default);
    * ``more_than`` / ``less_than``: the open bound (shares stay within [0, 1]).

    Examples
    --------
    >>> claim_interval(0.64, "exact", "proportion of reports")
    Interval(lo=0.635, hi=0.645, lo_closed=True, hi_closed=True)
    >>> iv = claim_interval(200_000, "about", "people")
    >>> round(iv.lo), round(iv.hi)
    (180000, 220000)
    >>> claim_interval(0.25, "less_than", "proportion of LSCBs")
    Interval(lo=0.0, hi=0.25, lo_closed=True, hi_closed=False)
    """
    share = _is_share(unit)
    top = 1.0 if share else math.inf
    if qualifier == "exact":
        half = 0.005 if share else 0.5
        return Interval(max(value - half, 0.0), min(value + half, top))
    if qualifier == "about":
        return Interval(value * (1 - tolerance), min(value * (1 + tolerance), top))
    if qualifier == "more_than":
        return Interval(value, top, lo_closed=False)
    if qualifier == "less_than":
        return Interval(0.0, value, hi_closed=False)
    raise ValueError(f"qualifier must be one of {QUALIFIERS}; got {qualifier!r}")


def figure_interval(figure: pd.Series) -> Interval:
    """Return what a published figure says: its value, or the range its bound leaves open.

    An ``exact`` or ``about`` figure is taken at its stated value (the tolerance belongs to the
    claim); ``less_than`` / ``up_to`` / ``more_than`` figures are ranges.

    Examples
    --------
    >>> figure_interval(published.figure("BAR01"))
    Interval(lo=0.0, hi=0.5, lo_closed=True, hi_closed=False)
    """
    v, q = float(figure["value"]), figure["qualifier"]
    top = 1.0 if _is_share(figure["unit"]) else math.inf
    if q in ("exact", "about"):
        return Interval(v, v)
    if q == "less_than":
        return Interval(0.0, v, hi_closed=False)
    if q == "up_to":
        return Interval(0.0, v)
    if q == "more_than":
        return Interval(v, top, lo_closed=False)
    raise ValueError(f"unknown qualifier {q!r} on figure {figure.get('figure_id')}")


def compare(claimed: Interval, stated: Interval) -> str:
    """Compare what a claim allows with what a source says.

    Returns ``"implied"`` when the source's range lies inside the claim's (the source
    establishes the claim), ``"conflict"`` when they share no value, and ``"compatible"`` when
    they overlap without the source settling the claim.

    Examples
    --------
    >>> compare(claim_interval(0.64, "exact", "proportion"), Interval(0.64, 0.64))
    'implied'
    >>> compare(claim_interval(0.64, "exact", "proportion"), Interval(0.5, 0.5))
    'conflict'
    >>> compare(claim_interval(0.25, "less_than", "proportion"), Interval(0, 0.5, True, False))
    'compatible'
    """
    if stated.issubset(claimed):
        return "implied"
    if stated.isdisjoint(claimed):
        return "conflict"
    return "compatible"


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------

_QUALIFIER_WORDS = {
    "exact": "",
    "about": "about ",
    "more_than": "more than ",
    "less_than": "less than ",
    "up_to": "up to ",
}


def format_value(value: float, unit: str) -> str:
    """Format a number for prose: shares as percentages, counts with thousands separators.

    Examples
    --------
    >>> format_value(0.64, "proportion of reports"), format_value(0.6667, "proportion of x")
    ('64%', '66.7%')
    >>> format_value(200000, "people"), format_value(8.49, "ratio")
    ('200,000', '8.5')
    """
    if _is_share(unit):
        pct = round(value * 100, 1)
        return f"{pct:g}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def describe(value: float, qualifier: str, unit: str) -> str:
    """Say a claim's number in words, with its qualifier and unit.

    Examples
    --------
    >>> describe(200000, "about", "people")
    'about 200,000 people'
    >>> describe(0.25, "less_than", "proportion of areas")
    'less than 25% of areas'
    >>> describe(1, "more_than", "ratio")
    'more than 1 (ratio)'
    """
    words = _QUALIFIER_WORDS.get(qualifier, "")
    number = format_value(value, unit)
    if _is_share(unit):
        return f"{words}{number} {unit.removeprefix('proportion ')}".strip()
    if unit in ("ratio", "dispersion ratio"):
        return f"{words}{number} ({unit})"
    return f"{words}{number} {unit}"


def _say(figure: pd.Series) -> str:
    """One published figure in words: value, measure, place, period and id."""
    words = describe(float(figure["value"]), figure["qualifier"], figure["unit"])
    return f"{words} ({figure['measure']}; {figure['geography']}, {figure['period']}) [{figure['figure_id']}]"


# --------------------------------------------------------------------------------------------
# Verdict rules, one per claim that published data can check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """A computed verdict, the plain-words finding behind it, and the figures it read."""

    verdict: str
    finding: str
    figure_ids: tuple[str, ...]


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
    finding = f"The source {_OUTCOME_WORDS[outcome]}: {_say(fig)}"
    if caveats and outcome != "conflict":
        finding += "; but " + "; ".join(caveats)
    finding += "."
    if context:
        finding += " See also " + "; ".join(_say(published.figure(f)) for f in context) + "."
    return Assessment(_verdict(outcome, caveats), finding, (figure_id, *context))


@_rule("C01")
def looked_after_overrepresented(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Looked-after children's share of victims against their share of all children.

    CEOP's 2011 assessment found at least ``CEOP08`` of ``CEOP01`` victims in care, with
    ``CEOP10`` victims' backgrounds unrecorded, so the in-care share lies between
    ``CEOP08/CEOP01`` and ``(CEOP08 + CEOP10)/CEOP01``. The population share is
    ``LAC2012 / POP0017_2012``; the claim holds if the victims' share exceeds it times the
    claimed ratio. :func:`analysis.stats.claim_test` tests the lower count (supported ->
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
        "England's children; the OCC report the evidence cites gave no traced share."
    )
    ids = ("CEOP01", "CEOP08", "CEOP10", "LAC2012", "POP0017_2012", "BAR03")
    return Assessment(verdict, finding, ids)


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
    return Assessment(verdict, finding, ("OCC01", "OCC02"))


@_rule("C13")
def protocols_less_than_a_quarter(claim: pd.Series, register: pd.DataFrame) -> Assessment:
    """Share of areas with multi-agency protocols against the Bedfordshire interim findings."""
    out = _match(claim, "JAGO08", attributed_to="National Working Group", year=2010)
    n = int(published.value("JAGO09"))
    finding = out.finding.rstrip(".") + f" (denominator {n} LSCBs, JAGO09)."
    return Assessment(out.verdict, finding, ("JAGO08", "JAGO09"))


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
    claimed = Interval(share * (1 - ABOUT_TOLERANCE), share)
    stated = figure_interval(fig)
    outcome = compare(claimed, stated)
    when = _reference_date(fig)
    month = None if when is None else (when.to_period("M") - PLEDGE_CLAIM_DATE.to_period("M")).n
    said = f"Barnardo's: {_say(fig)}"
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
    return Assessment(verdict, finding + ".", ("BAR01",))


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
    register = load_register(check_figures=False) if register is None else register
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


def audit(*, strict: bool = True, path: Path | None = None) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        :data:`AUDIT_COLUMNS`: ``verdict`` is the computed verdict where a rule exists and the
        recorded one otherwise; ``verdict_method`` is ``computed`` or ``typed``; ``finding``
        says in plain words what the data say; ``stated`` is the claim in words. ``attrs``
        hold the sources used.

    Examples
    --------
    >>> table = audit()
    >>> table.set_index("claim_id").loc["C17", ["verdict", "verdict_method"]].tolist()
    ['corroborated_with_caveat', 'computed']
    """
    register = load_register(path)
    rows, problems = [], []
    for claim in register.to_dict("records"):
        cid = claim["claim_id"]
        out = dict(claim)
        out["stated"] = describe(claim["value"], claim["qualifier"], claim["unit"])
        out["recorded_verdict"] = claim["verdict"]
        rule = rule_for(claim)
        if rule is not None:
            result = rule(pd.Series(claim), register)
            out["verdict"], out["finding"] = result.verdict, result.finding
            out["verdict_method"] = "computed"
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
    frame = pd.DataFrame(rows)[list(AUDIT_COLUMNS)]
    frame.attrs.update(sources=register.attrs["sources"], synthetic=False, problems=problems)
    return frame


def for_theme(prefix: str) -> pd.DataFrame:
    """Return the audited claims a theme notebook covers (``prefix`` such as ``"02"``).

    Examples
    --------
    >>> for_theme("01")["claim_id"].tolist()
    ['C16', 'C17', 'C18']
    """
    table = audit()
    out = table[table["theme"].str.startswith(prefix)].reset_index(drop=True)
    # The claims paraphrase the evidence itself, so a theme's table always cites it.
    used = {s for cell in out["sources"] for s in tables.split_ids(cell)}
    out.attrs.update(sources=sorted(used | {EVIDENCE_SOURCE}), synthetic=False)
    return out


# --------------------------------------------------------------------------------------------
# README summary and command line
# --------------------------------------------------------------------------------------------


def readme_summary(table: pd.DataFrame | None = None) -> str:
    """Return the Markdown summary the README shows between its claims-summary markers.

    Examples
    --------
    >>> "| verdict | claims |" in readme_summary()
    True
    """
    table = audit() if table is None else table
    counts = table["verdict"].value_counts()
    computed = int((table["verdict_method"] == "computed").sum())
    lines = [
        f"The evidence makes **{len(table)} quantitative claims**. {computed} verdicts are "
        "computed from the published data by a rule per claim (`src/analysis/claims.py`); the "
        f"other {len(table) - computed} are typed, each with a note saying why.",
        "",
        "| verdict | claims | meaning |",
        "|---|---:|---|",
    ]
    for verdict in VERDICTS:
        lines.append(f"| {verdict} | {int(counts.get(verdict, 0))} | {VERDICT_MEANING[verdict]} |")
    for verdict, title in (("contradicted", "Contradicted"), ("not_traced", "Not traced")):
        chosen = table[table["verdict"] == verdict]
        lines.append("")
        if chosen.empty:
            lines.append(f"{title}: none.")
            continue
        lines.append(f"{title}:")
        lines.append("")
        for row in chosen.itertuples():
            lines.append(f"- **{row.claim_id}** {row.quantity}: {row.stated}")
    lines += [
        "",
        "Every claim, the notebook that covers it and the output that shows it:",
        "",
        "| claim | what the evidence says (paraphrased) | verdict | notebook | output |",
        "|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        what = f"{row.quantity}: {row.stated}".replace("|", "\\|")
        lines.append(
            f"| {row.claim_id} | {what} | {row.verdict} | `{row.theme}` | `{row.output}` |"
        )
    return "\n".join(lines) + "\n"


def update_readme(path: Path | None = None) -> bool:
    """Rewrite the claims summary between the README's markers; return whether it changed.

    Does nothing (and returns False) if the file or either marker is missing.
    """
    path = Path(path) if path is not None else paths.PROJECT_ROOT / "README.md"
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0 or end < start:
        return False
    new = text[: start + len(README_START)] + "\n" + readme_summary() + text[end:]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


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
