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

Verdicts come from a fixed vocabulary (:data:`VERDICTS`). This module owns the register (loading
and validating it), the value ranges a claim or a published figure stands for
(:class:`ValueRange`, :func:`claim_interval`, :func:`figure_interval`, :func:`compare`) and how a
value is described in words. The rules that compute verdicts, the audit and what theme notebooks
record live one floor up, in :mod:`analysis.verdicts`.

Importing this module is cheap (pandas only) and has no side effects: the command line builds
its parser by importing it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths, published, sources, tables
from analysis.published import PublishedDataError
from analysis.tables import CLAIM_ID, STATED_QUALIFIERS

__all__ = [
    "ABOUT_TOLERANCE",
    "COLUMNS",
    "QUALIFIERS",
    "VERDICTS",
    "ClaimsRegisterError",
    "ValueRange",
    "claim_interval",
    "compare",
    "describe",
    "describe_figure",
    "figure_interval",
    "format_value",
    "load_register",
    "register_path",
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


#: Column rules of the register (cross-column rules are in :func:`load_register`).
_RULES: tuple[tables.Column, ...] = (
    tables.Column(
        "claim_id", pattern=CLAIM_ID.pattern, pattern_text="of the form C01", unique=True
    ),
    *(
        tables.Column(c)
        for c in COLUMNS
        if c not in EMPTY_OK and c not in ("claim_id", "value", "qualifier", "verdict", "theme")
    ),
    tables.Column("value", number=True, minimum=0),
    tables.Column("qualifier", vocabulary=QUALIFIERS),
    tables.Column("verdict", vocabulary=VERDICTS),
    tables.Column(
        "theme", pattern=r"\d{2}_[a-z0-9_]+", pattern_text="a notebook stem such as 01_missing"
    ),
)


class ClaimsRegisterError(PublishedDataError):
    """The claims register breaks its schema; the message names the file, line and column."""


# --------------------------------------------------------------------------------------------
# Loading and validating the register
# --------------------------------------------------------------------------------------------


def register_path(root: Path | None = None) -> Path:
    """Path of the claims register (``data/published/claims.csv``)."""
    return (root or paths.DATA_PUBLISHED) / REGISTER_NAME


def load_register(
    path: Path | None = None,
    *,
    check_figures: bool = True,
    computed: Collection[str] = (),
) -> pd.DataFrame:
    """Read and validate the claims register.

    Parameters
    ----------
    path : Path, optional
        The CSV; defaults to ``data/published/claims.csv``.
    check_figures : bool, default True
        Also check that every ``figure_ids`` entry is a published figure whose source is listed
        in ``sources``.
    computed : collection of str
        Claim ids whose verdict a rule computes (:data:`analysis.verdicts.RULES`); every other
        claim's verdict is typed and needs a note saying why.

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
    tables.check_rows(path, rows, _RULES, error=ClaimsRegisterError)
    records = []
    for line, row in rows:
        cid, number = row["claim_id"], float(row["value"])
        if row["unit"].startswith("proportion") and number > 1:
            fail(line, "value", f"share above 1 ({row['value']}); give shares as fractions")
        for sid in tables.split_ids(row["sources"]):
            if sid not in known_sources:
                fail(line, "sources", f"unknown source id {sid!r} (not in sources.csv)")
        if not row["output"].startswith("figures/") or ".." in row["output"]:
            fail(line, "output", f"{row['output']!r} is not a path under figures/")
        if cid not in computed and not row["note"].strip():
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
        sources=tables.ids_in(frame["sources"]),
        synthetic=False,
    )
    return frame


# --------------------------------------------------------------------------------------------
# Tolerances: what a stated number allows, and what a published figure says
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueRange:
    """A range of values, each end open or closed (``inf`` for no bound).

    Examples
    --------
    >>> ValueRange(0, 0.25, hi_closed=False).contains(0.25)
    False
    >>> ValueRange(0, 0.2).issubset(ValueRange(0, 0.25, hi_closed=False))
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

    def issubset(self, other: ValueRange) -> bool:
        """Whether every value of this interval lies in ``other``."""
        lo_ok = self.lo > other.lo or (
            self.lo == other.lo and (other.lo_closed or not self.lo_closed)
        )
        hi_ok = self.hi < other.hi or (
            self.hi == other.hi and (other.hi_closed or not self.hi_closed)
        )
        return lo_ok and hi_ok

    def isdisjoint(self, other: ValueRange) -> bool:
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
) -> ValueRange:
    """Return the values a claim allows, from its qualifier.

    * ``exact``: equal at the stated precision, taken as whole percentage points for shares
      (±0.005) and whole units for counts (±0.5);
    * ``about``: within ``tolerance`` of the value, relatively (±10% by default);
    * ``more_than`` / ``less_than``: the open bound (shares stay within [0, 1]).

    Examples
    --------
    >>> claim_interval(0.64, "exact", "proportion of reports")
    ValueRange(lo=0.635, hi=0.645, lo_closed=True, hi_closed=True)
    >>> iv = claim_interval(200_000, "about", "people")
    >>> round(iv.lo), round(iv.hi)
    (180000, 220000)
    >>> claim_interval(0.25, "less_than", "proportion of LSCBs")
    ValueRange(lo=0.0, hi=0.25, lo_closed=True, hi_closed=False)
    """
    share = _is_share(unit)
    top = 1.0 if share else math.inf
    if qualifier == "exact":
        half = 0.005 if share else 0.5
        return ValueRange(max(value - half, 0.0), min(value + half, top))
    if qualifier == "about":
        return ValueRange(value * (1 - tolerance), min(value * (1 + tolerance), top))
    if qualifier == "more_than":
        return ValueRange(value, top, lo_closed=False)
    if qualifier == "less_than":
        return ValueRange(0.0, value, hi_closed=False)
    raise ValueError(f"qualifier must be one of {QUALIFIERS}; got {qualifier!r}")


def figure_interval(figure: pd.Series) -> ValueRange:
    """Return what a published figure says: its value, or the range its bound leaves open.

    An ``exact`` or ``about`` figure is taken at its stated value (the tolerance belongs to the
    claim); ``less_than`` / ``up_to`` / ``more_than`` figures are ranges.

    Examples
    --------
    >>> figure_interval(published.figure("BAR01"))
    ValueRange(lo=0.0, hi=0.5, lo_closed=True, hi_closed=False)
    """
    v, q = float(figure["value"]), figure["qualifier"]
    top = 1.0 if _is_share(figure["unit"]) else math.inf
    if q in ("exact", "about"):
        return ValueRange(v, v)
    if q == "less_than":
        return ValueRange(0.0, v, hi_closed=False)
    if q == "up_to":
        return ValueRange(0.0, v)
    if q == "more_than":
        return ValueRange(v, top, lo_closed=False)
    raise ValueError(f"unknown qualifier {q!r} on figure {figure.get('figure_id')}")


def compare(claimed: ValueRange, stated: ValueRange) -> str:
    """Compare what a claim allows with what a source says.

    Returns ``"implied"`` when the source's range lies inside the claim's (the source
    establishes the claim), ``"conflict"`` when they share no value, and ``"compatible"`` when
    they overlap without the source settling the claim.

    Examples
    --------
    >>> compare(claim_interval(0.64, "exact", "proportion"), ValueRange(0.64, 0.64))
    'implied'
    >>> compare(claim_interval(0.64, "exact", "proportion"), ValueRange(0.5, 0.5))
    'conflict'
    >>> compare(claim_interval(0.25, "less_than", "proportion"), ValueRange(0, 0.5, True, False))
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


def describe_figure(figure: pd.Series) -> str:
    """One published figure in words: value, measure, place, period and id."""
    words = describe(float(figure["value"]), figure["qualifier"], figure["unit"])
    return f"{words} ({figure['measure']}; {figure['geography']}, {figure['period']}) [{figure['figure_id']}]"
