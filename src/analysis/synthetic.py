"""Labelled synthetic data for the annual collection: an area register, case records and returns.

Nothing in this module is real data. It builds, from a fixed seed:

1. a **register** of 152 synthetic areas (codes ``SYN001`` ... ``SYN152``, never real ONS codes)
   with each area's child population (aged 0-17), looked-after children and children's homes;
2. **case records** in the shape a monitoring tool would capture, one row per child identified
   as at risk of child sexual exploitation (CSE) in an area and financial year;
3. each area's **annual return** for each financial year, aggregated from its records, in the
   fixed format that :mod:`analysis.returns` validates and collates.

Calibration and assumptions
---------------------------
* The child-population total equals the published England figure ``POP0017_2012`` and the
  looked-after total equals ``LAC2012`` (first published), both read through
  :func:`analysis.published.figure` and both hit *exactly* by largest-remainder rounding.
* The areas are **calibrated to England's real upper-tier authorities**, by a few summary
  numbers (:data:`AUTHORITIES`, made by :func:`calibrate_to_authorities` from the downloaded
  ONS and DfE files and checked against them by a test whenever the files are at hand): area
  sizes follow the shape of the authorities' child populations at mid-2012; the national
  level of children identified as at risk is the rate of episodes with child sexual
  exploitation recorded at the end of assessment in 2017-18 (the earliest year DfE publishes
  by authority), per 10,000 children; and the areas' rates vary between one another, before
  the planted hotspots, as much as those authorities' rates did that year (the
  DerSimonian-Laird tau² of their rate ratios, :func:`calibrated_parameters`). This makes the areas *like* real authorities
  in size and spread; it does not make any of them a real place, and the counts are children
  in a monitoring tool's sense, set to the level of a measure that counts episodes.
* **Assumption** (no published total in the project): England had about 1,800 children's homes
  (``SyntheticParameters.childrens_homes_total``). This is a stated assumption of the right order
  of magnitude for 2012, not a traced figure.
* **Assumption**: about a third of the children identified are confirmed as victims.
* Area-level rates: a child looked after is ``looked_after_rate_ratio`` times as likely to be
  identified as a child who is not; areas with more children's homes per child have higher rates;
  each area-year has a gamma-distributed random effect (gamma-Poisson over-dispersion),
  independent from year to year; and ``n_hotspots`` planted hotspot areas have their rate
  multiplied by ``hotspot_multiplier``. The hotspot codes are recorded in the parameters file
  (``hotspots.area_codes``) and in the area truth file (column ``hotspot``).

Output files (under :data:`analysis.paths.DATA_SYNTHETIC` by default)
--------------------------------------------------------------------
``synthetic_area_register.csv``, ``synthetic_case_records.csv``, ``synthetic_area_truth.csv``,
``synthetic_returns/synthetic_return_<AREA>_<PERIOD>.csv`` and ``synthetic_parameters.json``.
Every CSV carries a ``synthetic`` column (``True``) except the returns, whose column set is fixed
by the return format; their file names carry the label and the parameters file says so. Files
are written byte-identically for a given seed (sorted rows, LF line endings, fixed formatting).

Returns list **every cell** (5 age bands x 3 sexes x 3 looked-after statuses = 45 rows), zeros
included, so a nil return is explicit and a header-only file is an error.

Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths
from analysis.returns import (
    AGE_BANDS,
    LOOKED_AFTER,
    REGISTER_FILE,
    RETURN_COLUMNS,
    RETURNS_DIR,
    SEXES,
    return_file_name,
)
from analysis.tables import atomic_write_text

__all__ = [
    "AUTHORITIES",
    "EXPLOITATION_TYPES",
    "OUTCOMES",
    "PERIODS",
    "RECORD_COLUMNS",
    "REFERRAL_SOURCES",
    "REGISTER_COLUMNS",
    "SIZE_PROBABILITIES",
    "AuthorityCalibration",
    "CalibrationDriftError",
    "SyntheticData",
    "SyntheticParameters",
    "add_arguments",
    "aggregate_returns",
    "area_codes",
    "area_period_truth",
    "calibrate_to_authorities",
    "check_calibration",
    "calibrated_parameters",
    "generate_records",
    "largest_remainder",
    "make_register",
    "run",
    "simulate",
    "write_synthetic",
]

#: Financial years of the committed synthetic collection.
PERIODS: tuple[str, ...] = ("2010-11", "2011-12", "2012-13")
EXPLOITATION_TYPES: tuple[str, ...] = (
    "inappropriate relationship",
    "group or gang",
    "online",
    "peer on peer",
    "trafficking",
    "unknown",
)
REFERRAL_SOURCES: tuple[str, ...] = (
    "police",
    "social care",
    "education",
    "health",
    "voluntary sector",
    "family",
    "other",
    "unknown",
)
OUTCOMES: tuple[str, ...] = (
    "safeguarding plan",
    "specialist support",
    "criminal investigation",
    "no further action",
    "assessment ongoing",
    "unknown",
)

REGISTER_COLUMNS: tuple[str, ...] = (
    "area_code",
    "child_population",
    "looked_after",
    "childrens_homes",
    "synthetic",
)
RECORD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "area_code",
    "period",
    "age_band",
    "sex",
    "looked_after",
    "missing_episodes",
    "exploitation_type",
    "referral_source",
    "outcome",
    "identified_at_risk",
    "confirmed_victim",
    "went_missing",
)
RECORDS_FILE = "synthetic_case_records.csv"
TRUTH_FILE = "synthetic_area_truth.csv"
PARAMETERS_FILE = "synthetic_parameters.json"

_N_CELLS = len(AGE_BANDS) * len(SEXES) * len(LOOKED_AFTER)
#: Rates are per 10,000 children aged 0 to 17.
PER = 10_000


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class AuthorityCalibration:
    """Summary numbers of England's real upper-tier authorities that the synthetic areas copy.

    A handful of numbers, never a table: :func:`calibrate_to_authorities` computes them from the
    downloaded files, :data:`AUTHORITIES` holds the committed values, and a test recomputes them
    from the files whenever the mirror is present (``tests/integration/test_hotspots_recovery.py``;
    notebook 06 does too), so the two cannot drift apart.

    Attributes
    ----------
    population_year : int
        Mid-year of the ONS child-population estimates the area sizes copy (2012: the year of
        the evidence and of the synthetic register's published total).
    population_sources : tuple of str
        Provenance ids of the population file (``data/published/sources.csv``).
    population_authorities : int
        Authorities with an estimate that year.
    size_probabilities, size_quantiles : tuple of float
        Quantiles of the authorities' child populations (:func:`numpy.quantile`, linear) at
        ``size_probabilities``, each divided by the median: the shape of the size
        distribution, free of its scale (the register's total is the published England figure).
    rate_year : int
        Reporting year (to 31 March) of the assessment factors whose rates the areas copy
        (2018, the earliest DfE publishes by authority).
    rate_sources : tuple of str
        Provenance ids of the factors file and of the population estimates behind its rates.
    rate_authorities : int
        Authorities with a count and a population that year.
    national_rate : float
        Episodes of assessment with child sexual exploitation recorded, per 10,000 children
        aged 0 to 17, all those authorities together (episodes, not children).
    between_area_tau2 : float
        How much the authorities' rates vary beyond Poisson chance: the DerSimonian-Laird
        moment estimate of the variance of their rate ratios (observed / expected at the
        national rate), :func:`analysis.stats.overdispersion_test` with no winsorising; its
        square root is the coefficient of variation of the underlying rates.
    method : str
        The above in words.
    """

    population_year: int
    population_sources: tuple[str, ...]
    population_authorities: int
    size_probabilities: tuple[float, ...]
    size_quantiles: tuple[float, ...]
    rate_year: int
    rate_sources: tuple[str, ...]
    rate_authorities: int
    national_rate: float
    between_area_tau2: float
    method: str = (
        "sizes: quantiles of the child populations (aged 0 to 17) of the authorities with an "
        "estimate in the population year, divided by their median; rates: episodes with child "
        "sexual exploitation recorded at the end of assessment per 10,000 children (the "
        "previous mid-year's estimate, as DfE's rates use) in the rate year, all authorities "
        "with a count and a population together, and the DerSimonian-Laird estimate of the "
        "variance of their rate ratios beyond Poisson chance (no winsorising)"
    )

    def __post_init__(self) -> None:
        probs, quants = self.size_probabilities, self.size_quantiles
        if len(probs) < 2 or len(probs) != len(quants):
            raise ValueError("size_probabilities and size_quantiles need one value each, 2 or more")
        if list(probs) != sorted(probs) or not 0 <= probs[0] < probs[-1] <= 1:
            raise ValueError("size_probabilities must rise within [0, 1]")
        if list(quants) != sorted(quants) or quants[0] <= 0:
            raise ValueError("size_quantiles must be positive and not fall")
        if self.national_rate <= 0 or self.between_area_tau2 < 0:
            raise ValueError("national_rate must be positive and between_area_tau2 not negative")


#: Probabilities at which the real authorities' child populations are summarised.
SIZE_PROBABILITIES: tuple[float, ...] = (0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98)

#: The committed calibration, recomputed from the ONS and DfE files as ``check_calibration(
#: local_authorities.load("population"), local_authorities.assessment_panel("cse"))`` by the
#: drift test and by notebook 06 (:mod:`analysis.themes.local_authorities`).
AUTHORITIES = AuthorityCalibration(
    population_year=2012,
    population_sources=("SRC-EXT-POPULATION-2012-2024",),
    population_authorities=149,
    size_probabilities=SIZE_PROBABILITIES,
    size_quantiles=(0.3464, 0.573, 0.7053, 1.0, 1.5541, 2.493, 4.8509),
    rate_year=2018,
    rate_sources=("SRC-EXT-CIN-FACTORS-2018-2025", "SRC-EXT-POPULATION-2012-2024"),
    rate_authorities=149,
    national_rate=17.115,
    between_area_tau2=0.2111,
)


class CalibrationDriftError(ValueError):
    """The downloaded files no longer give the committed calibration (:data:`AUTHORITIES`)."""


def check_calibration(
    population: pd.DataFrame,
    rates: pd.DataFrame,
    committed: AuthorityCalibration | None = None,
) -> AuthorityCalibration:
    """Recompute the calibration from the real files and fail if it differs from the committed.

    :func:`calibrate_to_authorities` with the committed years and probabilities; notebook 06
    and the drift test call this, so ``make figures`` fails when the files and
    :data:`AUTHORITIES` part.

    Parameters
    ----------
    population, rates : pandas.DataFrame
        As for :func:`calibrate_to_authorities`.
    committed : AuthorityCalibration, optional
        Defaults to :data:`AUTHORITIES`.

    Returns
    -------
    AuthorityCalibration
        The recomputed calibration (equal to ``committed``).

    Raises
    ------
    CalibrationDriftError
        Naming each field that differs, with both values, and what to do.
    """
    want = AUTHORITIES if committed is None else committed
    got = calibrate_to_authorities(
        population,
        rates,
        population_year=want.population_year,
        rate_year=want.rate_year,
        probabilities=want.size_probabilities,
    )
    changed = [
        f"{f.name}: committed {getattr(want, f.name)!r}, the files give {getattr(got, f.name)!r}"
        for f in dataclasses.fields(AuthorityCalibration)
        if getattr(want, f.name) != getattr(got, f.name)
    ]
    if changed:
        raise CalibrationDriftError(
            "the real files no longer give the committed calibration of the synthetic areas:\n  "
            + "\n  ".join(changed)
            + "\nupdate analysis.synthetic.AUTHORITIES and run make synthetic"
        )
    return got


def calibrate_to_authorities(
    population: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    population_year: int = 2012,
    rate_year: int = 2018,
    probabilities: tuple[float, ...] = SIZE_PROBABILITIES,
) -> AuthorityCalibration:
    """Summarise real authorities' sizes and rates: the numbers the synthetic areas copy.

    Parameters
    ----------
    population : pandas.DataFrame
        Tidy child-population estimates (:func:`analysis.local.load_child_population`):
        ``geography``, ``measure``, ``year``, ``value`` and ``source_id``. Local-authority rows
        of ``child_population`` in ``population_year`` with a value above 0 are used.
    rates : pandas.DataFrame
        A rate panel (e.g. :func:`analysis.themes.local_authorities.assessment_panel` of child
        sexual exploitation): ``year``, ``events`` and ``children``, one row per authority;
        ``attrs["sources"]`` names its provenance. Rows of ``rate_year`` with a count and a
        population above 0 are used.
    population_year, rate_year : int
        Which year of each.
    probabilities : tuple of float
        Where the size distribution is summarised.

    Returns
    -------
    AuthorityCalibration
        Rounded as committed: quantile ratios to 4 decimals, the rate to 3, tau² to 4.

    References
    ----------
    .. [1] DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials. *Controlled
       Clinical Trials* 7:177-188 (the moment estimator of tau²).
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
       *Quality and Safety in Health Care* 14:347-351 (the same estimator on a funnel's
       z-scores, there after winsorising).

    Examples
    --------
    Five authorities of 10,000 to 50,000 children; two with 10 and 30 episodes per 20,000
    (national rate 10 per 10,000, ratios 0.5 and 1.5 on 20 expected each): ``Q = 20 * 0.25 *
    2 = 10`` on 1 df and ``tau² = (10 - 1) / (40 - 20) = 0.45``.

    >>> pop = pd.DataFrame({"geography": "local authority", "measure": "child_population",
    ...                     "year": 2012, "value": [1e4, 2e4, 3e4, 4e4, 5e4], "source_id": "P"})
    >>> rates = pd.DataFrame({"year": 2018, "events": [10, 30], "children": [2e4, 2e4]})
    >>> rates.attrs["sources"] = ["F", "P"]
    >>> c = calibrate_to_authorities(pop, rates, probabilities=(0.0, 0.5, 1.0))
    >>> c.size_quantiles, c.national_rate, c.between_area_tau2
    ((0.3333, 1.0, 1.6667), 10.0, 0.45)
    """
    from analysis import stats

    pop = population[
        (population["geography"] == "local authority")
        & (population["measure"] == "child_population")
        & (population["year"] == population_year)
        & (population["value"] > 0)
    ]
    if len(pop) < 2:
        raise ValueError(f"fewer than two authorities with a child population in {population_year}")
    sizes = pop["value"].to_numpy(dtype=float)
    quantiles = np.quantile(sizes, probabilities) / np.median(sizes)

    use = rates[(rates["year"] == rate_year) & rates["events"].notna() & (rates["children"] > 0)]
    if len(use) < 2 or use["events"].sum() <= 0:
        raise ValueError(f"fewer than two authorities with a count and a population in {rate_year}")
    events = use["events"].to_numpy(dtype=float)
    children = use["children"].to_numpy(dtype=float)
    expected = children * events.sum() / children.sum()
    test = stats.overdispersion_test(events / expected, 1.0, np.sqrt(1.0 / expected), trim=0.0)
    return AuthorityCalibration(
        population_year=int(population_year),
        population_sources=tuple(sorted(set(pop["source_id"].dropna()) - {""})),
        population_authorities=len(pop),
        size_probabilities=tuple(float(p) for p in probabilities),
        size_quantiles=tuple(round(float(q), 4) for q in quantiles),
        rate_year=int(rate_year),
        rate_sources=tuple(sorted(rates.attrs.get("sources", ()))),
        rate_authorities=len(use),
        national_rate=round(PER * float(events.sum() / children.sum()), 3),
        between_area_tau2=round(float(test.tau2), 4),
    )


@dataclass(frozen=True)
class SyntheticParameters:
    """Everything that determines the synthetic data; the defaults make the committed files.

    Values marked *assumption* are not published figures; they are stated here, in the
    parameters file and in the module docstring.

    Attributes
    ----------
    seed : int
        Seed of :class:`numpy.random.SeedSequence`; the register, the area rates and the records
        use independent child streams, so changing the number of records leaves the register
        and the hotspots unchanged.
    n_areas : int
        Number of synthetic areas (152, the number of English local authorities in 2012).
    periods : tuple of str
        Financial years generated, ``YYYY-YY``.
    population_figure, looked_after_figure : str
        Published figure ids the register totals are calibrated to.
    calibration : AuthorityCalibration
        The real authorities the areas copy (default :data:`AUTHORITIES`): area sizes follow
        the shape of their child populations, the national level their rate of child sexual
        exploitation at assessment, and the spread between areas theirs.
    looked_after_sigma : float
        Standard deviation of the log looked-after rate between areas.
    childrens_homes_total : int
        *Assumption*: children's homes in England (no published total in the project).
    childrens_homes_sigma : float
        Spread of children's homes per looked-after child between areas (lognormal).
    records_per_period : float, optional
        Expected national number of children identified as at risk per year, at the mean of
        ``period_trend``. ``None`` (the default): calibrated, ``calibration.national_rate``
        per 10,000 of the register's children (:func:`calibrated_parameters`).
    period_trend : tuple of float
        Relative level of identification in each period (recording improving over time).
    looked_after_rate_ratio : float
        *Assumption*: rate ratio, looked-after versus other children.
    homes_effect : float
        Log rate change per unit of relative children's-home density (``d / mean(d) - 1``).
    dispersion_shape : float, optional
        Shape ``k`` of the gamma area-year effect (mean 1, coefficient of variation
        ``1 / sqrt(k)``). ``None`` (the default): calibrated so that the areas' rates vary
        between one another, before the planted hotspots, as much as the real authorities'
        (``calibration.between_area_tau2``; :func:`calibrated_parameters`).
    n_hotspots, hotspot_multiplier : int, float
        Planted hotspots: how many areas and their rate multiplier.
    """

    seed: int = 20120704
    n_areas: int = 152
    periods: tuple[str, ...] = PERIODS
    population_figure: str = "POP0017_2012"
    looked_after_figure: str = "LAC2012"
    calibration: AuthorityCalibration = AUTHORITIES
    looked_after_sigma: float = 0.35
    childrens_homes_total: int = 1800
    childrens_homes_sigma: float = 0.5
    records_per_period: float | None = None
    period_trend: tuple[float, ...] = (0.85, 1.0, 1.15)
    looked_after_rate_ratio: float = 30.0
    homes_effect: float = 0.25
    dispersion_shape: float | None = None
    n_hotspots: int = 5
    hotspot_multiplier: float = 2.5
    age_probabilities: tuple[float, ...] = (0.04, 0.16, 0.48, 0.32)
    female_share: float = 0.86
    unknown_age_share: float = 0.04
    unknown_sex_share: float = 0.02
    unknown_looked_after_share: float = 0.05
    missing_mean_looked_after: float = 1.6
    missing_mean_other: float = 0.45
    missing_shape: float = 1.5
    confirmed_base: float = 0.25
    confirmed_if_missing: float = 0.15
    confirmed_if_looked_after: float = 0.05
    exploitation_probabilities: tuple[float, ...] = (0.25, 0.22, 0.20, 0.15, 0.03, 0.15)
    referral_probabilities: tuple[float, ...] = (0.30, 0.25, 0.15, 0.10, 0.08, 0.05, 0.04, 0.03)
    outcome_probabilities_confirmed: tuple[float, ...] = (0.35, 0.30, 0.25, 0.02, 0.05, 0.03)
    outcome_probabilities_other: tuple[float, ...] = (0.25, 0.25, 0.05, 0.25, 0.17, 0.03)
    assumptions: Mapping[str, str] = field(
        compare=False,
        default_factory=lambda: {
            "childrens_homes_total": (
                "ASSUMPTION: about 1,800 children's homes in England in 2012; no published total "
                "is held by the project, so this is an order-of-magnitude assumption"
            ),
            "confirmed_share": (
                "ASSUMPTION: about a third of the children identified as at risk are confirmed "
                "as victims (confirmed_base and its increments); the number identified is "
                "calibrated (see calibration), the share confirmed is not"
            ),
            "looked_after_rate_ratio": (
                "ASSUMPTION: a looked-after child is 30 times as likely to be identified as at "
                "risk as another child (about 15% of records are looked-after children)"
            ),
            "area_rates": (
                "ASSUMPTION: rates rise with children's homes per child (homes_effect), vary "
                "between area-years by a gamma effect (its shape is calibrated so the spread "
                "matches the real authorities'; see calibration), independently from year to "
                "year, and are multiplied by hotspot_multiplier in the planted hotspots"
            ),
        },
    )

    def __post_init__(self) -> None:
        if self.n_areas < 1 or self.n_areas > 999:
            raise ValueError("n_areas must be between 1 and 999 (codes SYN001-SYN999)")
        if len(self.period_trend) != len(self.periods):
            raise ValueError("period_trend needs one value per period")
        if not 0 <= self.n_hotspots <= self.n_areas:
            raise ValueError("n_hotspots must be between 0 and n_areas")
        for name in ("records_per_period", "dispersion_shape"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, or None to calibrate it")

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as JSON-ready plain types (tuples become lists).

        Examples
        --------
        >>> SyntheticParameters().to_dict()["n_areas"]
        152
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = _lists(value)
        return out


def _lists(value: Any) -> Any:
    """Tuples to lists, all the way down (JSON-ready)."""
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class SyntheticData:
    """A complete synthetic collection (see :func:`simulate`): the register, the planted rates,
    the records and the returns, with the parameters and the calibration that made them.

    Attributes
    ----------
    parameters : SyntheticParameters
        As used, the calibrated values filled in (:func:`calibrated_parameters`).
    calibration : dict
        Published figures used (``child_population``, ``looked_after``), the real authorities
        copied (``authorities``) and the values derived from them (``derived``).
    register, truth, records, returns : pandas.DataFrame
        The area register (:data:`REGISTER_COLUMNS`, one row per area); the planted rates, one
        row per area and period (:func:`area_period_truth`); the case records
        (:data:`RECORD_COLUMNS`, categorical columns); every cell of every area's return
        (:data:`RETURN_COLUMNS`).
    """

    parameters: SyntheticParameters
    calibration: dict[str, dict[str, Any]]
    register: pd.DataFrame
    truth: pd.DataFrame
    records: pd.DataFrame
    returns: pd.DataFrame

    @property
    def hotspots(self) -> list[str]:
        """Codes of the planted hotspot areas, sorted."""
        return sorted(self.truth.loc[self.truth["hotspot"], "area_code"].unique().tolist())


# --------------------------------------------------------------------------- helpers


def area_codes(n: int = 152) -> list[str]:
    """Return the synthetic area codes ``SYN001`` ... ``SYNnnn``.

    Examples
    --------
    >>> area_codes(3)
    ['SYN001', 'SYN002', 'SYN003']
    """
    return [f"SYN{i:03d}" for i in range(1, n + 1)]


def largest_remainder(weights: np.ndarray | list[float], total: int) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` so the parts sum to it exactly.

    Each part gets the floor of its quota; the units left over go to the largest fractional
    remainders (ties to the earlier position), the Hamilton / largest-remainder method.

    Parameters
    ----------
    weights : array-like of float
        Non-negative weights, not all zero.
    total : int
        Non-negative whole number to share out.

    Returns
    -------
    numpy.ndarray of int64
        Parts, summing to ``total``.

    Examples
    --------
    >>> largest_remainder([1, 1, 1], 10).tolist()
    [4, 3, 3]
    >>> largest_remainder([0.5, 0.25, 0.25], 7).tolist()
    [3, 2, 2]
    """
    w = np.asarray(weights, dtype=float)
    if total < 0 or int(total) != total:
        raise ValueError("total must be a non-negative whole number")
    if w.ndim != 1 or w.size == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-D array of non-negative finite numbers")
    quota = w / w.sum() * int(total)
    parts = np.floor(quota).astype(np.int64)
    left = int(total) - int(parts.sum())
    if left > 0:
        order = np.argsort(-(quota - parts), kind="stable")
        parts[order[:left]] += 1
    return parts


def _figure(figure_id: str, figures: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Return ``{"figure_id", "value", "unit", "source_id"}`` of a published figure."""
    if figures is not None:
        fig = figures[figure_id]
    else:
        from analysis import published

        fig = published.figure(figure_id)
    value = float(fig["value"])
    if not value.is_integer() or value < 0:
        raise ValueError(f"figure {figure_id} is not a whole-number count: {value}")
    return {
        "figure_id": figure_id,
        "value": int(value),
        "unit": str(fig["unit"]),
        "source_id": str(fig["source_id"]),
    }


def _rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    register_ss, rates_ss, records_ss = np.random.SeedSequence(seed).spawn(3)
    return (
        np.random.default_rng(register_ss),
        np.random.default_rng(rates_ss),
        np.random.default_rng(records_ss),
    )


# --------------------------------------------------------------------------- register


def make_register(
    params: SyntheticParameters | None = None,
    figures: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Build the synthetic area register, calibrated to published England totals.

    Area sizes follow the real authorities' child populations (``params.calibration``): a
    stratified sample of the quantile function through ``size_quantiles`` (linear in log size
    between the summarised probabilities, so no area is smaller or larger than the outermost
    quantiles), scaled so they sum exactly to the published ``params.population_figure``
    (largest-remainder rounding); looked-after children are the
    population times a lognormal area rate, scaled to ``params.looked_after_figure`` exactly;
    children's homes are spread in proportion to looked-after children times a lognormal factor
    and sum to ``params.childrens_homes_total``, which is an **assumption** (no published total).

    Parameters
    ----------
    params : SyntheticParameters, optional
        Defaults to ``SyntheticParameters()``.
    figures : mapping, optional
        Stand-in for :func:`analysis.published.figure`: figure id -> mapping with ``value``,
        ``unit`` and ``source_id``. By default the figures are read from the published tables.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGISTER_COLUMNS`, one row per area in code order;
        ``attrs["calibration"]`` holds the figures used and ``attrs["synthetic"] = True``.

    Examples
    --------
    >>> figs = {"POP0017_2012": {"value": 1000000, "unit": "children", "source_id": "S1"},
    ...         "LAC2012": {"value": 6000, "unit": "children", "source_id": "S2"}}
    >>> reg = make_register(SyntheticParameters(n_areas=10, n_hotspots=2), figures=figs)
    >>> int(reg["child_population"].sum()), int(reg["looked_after"].sum())
    (1000000, 6000)
    >>> reg["area_code"].iloc[0], bool(reg["synthetic"].all())
    ('SYN001', True)
    """
    params = params or SyntheticParameters()
    pop_fig = _figure(params.population_figure, figures)
    lac_fig = _figure(params.looked_after_figure, figures)
    rng, _, _ = _rngs(params.seed)
    n = params.n_areas

    cal = params.calibration
    probs = np.asarray(cal.size_probabilities, dtype=float)
    u = (rng.permutation(n) + rng.random(n)) / n  # one draw in each n-th of [0, 1)
    u = probs[0] + (probs[-1] - probs[0]) * u
    size = np.exp(np.interp(u, probs, np.log(cal.size_quantiles)))
    population = largest_remainder(size, pop_fig["value"])

    lac_rate = rng.lognormal(0.0, params.looked_after_sigma, n)
    looked_after = largest_remainder(population * lac_rate, lac_fig["value"])

    homes_factor = rng.lognormal(0.0, params.childrens_homes_sigma, n)
    homes = largest_remainder(looked_after * homes_factor, params.childrens_homes_total)

    register = pd.DataFrame(
        {
            "area_code": area_codes(n),
            "child_population": population,
            "looked_after": looked_after,
            "childrens_homes": homes,
            "synthetic": np.ones(n, dtype=bool),
        }
    )
    register.attrs["calibration"] = {"child_population": pop_fig, "looked_after": lac_fig}
    register.attrs["synthetic"] = True
    return register


# --------------------------------------------------------------------------- rates


def _looked_after_share(register: pd.DataFrame, ratio: float) -> np.ndarray:
    """Share of an area's records that are looked-after children (before unknowns)."""
    pop = register["child_population"].to_numpy(dtype=float)
    lac = register["looked_after"].to_numpy(dtype=float)
    weighted = ratio * lac
    return weighted / np.maximum(pop - lac + weighted, 1.0)


def _background(register: pd.DataFrame, params: SyntheticParameters) -> tuple[np.ndarray, ...]:
    """Each area's children, its children's-homes multiplier and its weight before hotspots."""
    pop = register["child_population"].to_numpy(dtype=float)
    lac = register["looked_after"].to_numpy(dtype=float)
    homes = register["childrens_homes"].to_numpy(dtype=float)
    density = homes / np.maximum(pop, 1.0)
    rel = density / density.mean() if density.mean() > 0 else np.ones(len(pop))
    homes_mult = np.exp(params.homes_effect * (rel - 1.0))
    return pop, homes_mult, (pop - lac + params.looked_after_rate_ratio * lac) * homes_mult


def calibrated_parameters(
    register: pd.DataFrame, params: SyntheticParameters | None = None
) -> SyntheticParameters:
    """Fill in the calibrated ``records_per_period`` and ``dispersion_shape`` (where ``None``).

    The level: ``calibration.national_rate`` per 10,000 of the register's children. The
    spread: with ``E_i`` area *i*'s expected count at the national rate (mean period) and
    ``b_i`` its rate relative to the national one from looked-after children and children's
    homes (population-weighted mean 1; the planted hotspots come on top), the
    DerSimonian-Laird estimate of :class:`AuthorityCalibration` computed on one period's counts
    has expectation ``(sum E (b - 1)² + sum b - I + (sum E b² - sum E² b² / sum E) / k) / D``,
    ``D = sum E - sum E² / sum E``, for a gamma area-year effect of shape ``k``. Setting it to
    ``calibration.between_area_tau2`` gives ``k``.

    Parameters
    ----------
    register : pandas.DataFrame
        From :func:`make_register`.
    params : SyntheticParameters, optional
        The parameters that made ``register``.

    Returns
    -------
    SyntheticParameters
        ``params`` with both values set (unchanged if they were given).

    Raises
    ------
    ValueError
        If the areas' looked-after and children's-homes effects alone vary more than the
        target, so that no gamma effect can be added (give ``dispersion_shape``).

    References
    ----------
    .. [1] DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials. *Controlled
       Clinical Trials* 7:177-188 (``E[Q] = (I - 1) + tau² D`` under random effects, here with
       the gamma-Poisson variance ``b / E + b² / k`` of each rate ratio).

    Examples
    --------
    The committed collection: 17.115 per 10,000 of England's children at mid-2012
    (``POP0017_2012``) is about 19,500 a year.

    >>> c = calibrated_parameters(make_register())
    >>> round(c.records_per_period), round(c.dispersion_shape, 2)
    (19518, 5.96)
    """
    params = params or SyntheticParameters()
    cal = params.calibration
    pop, _, base = _background(register, params)
    changes: dict[str, float] = {}
    level = params.records_per_period
    if level is None:
        level = changes["records_per_period"] = cal.national_rate * float(pop.sum()) / PER
    if params.dispersion_shape is None:
        e = level * pop / pop.sum()
        b = (base / pop) / (base.sum() / pop.sum())
        d = e.sum() - (e**2).sum() / e.sum()
        fixed = (e * (b - 1.0) ** 2).sum() + b.sum() - len(b)
        per_k = (e * b**2).sum() - (e**2 * b**2).sum() / e.sum()
        inverse = (cal.between_area_tau2 * d - fixed) / per_k
        if not inverse > 0:
            raise ValueError(
                "the areas' looked-after and children's-homes effects alone vary more than the "
                f"real authorities (tau2 {cal.between_area_tau2:g}): give dispersion_shape"
            )
        changes["dispersion_shape"] = 1.0 / float(inverse)
    return dataclasses.replace(params, **changes) if changes else params


def area_period_truth(
    register: pd.DataFrame, params: SyntheticParameters | None = None
) -> pd.DataFrame:
    """Return the planted rates behind the records: one row per area and period.

    The expected number of records in area *i* and period *t* is::

        mean[i, t] = c * trend[t] * ((pop[i] - lac[i]) + rr * lac[i])
                     * exp(homes_effect * (d[i] / mean(d) - 1)) * hotspot[i]
        lam[i, t]  = mean[i, t] * g[i, t],     g ~ Gamma(k, 1/k)   (mean 1)
        records    ~ Poisson(lam[i, t])

    where ``d`` is children's homes per child, ``hotspot`` is ``params.hotspot_multiplier`` in
    the planted hotspots and 1 elsewhere, and ``c`` is set so the national expected total
    ``sum_i mean[i, t]`` is ``params.records_per_period * trend[t]`` (trend scaled to mean 1).
    ``records_per_period`` and ``k`` are calibrated where ``None``
    (:func:`calibrated_parameters`).

    Parameters
    ----------
    register : pandas.DataFrame
        From :func:`make_register`.
    params : SyntheticParameters, optional
        Must be the parameters that made ``register``.

    Returns
    -------
    pandas.DataFrame
        Columns ``area_code, period, hotspot, hotspot_multiplier, homes_multiplier,
        expected_records, dispersion_effect, rate_lambda``; sorted by area then period.

    Examples
    --------
    >>> figs = {"POP0017_2012": {"value": 1000000, "unit": "children", "source_id": "S1"},
    ...         "LAC2012": {"value": 6000, "unit": "children", "source_id": "S2"}}
    >>> p = SyntheticParameters(n_areas=10, n_hotspots=2)
    >>> truth = area_period_truth(make_register(p, figs), p)
    >>> len(truth), int(truth.loc[truth["hotspot"], "area_code"].nunique())
    (30, 2)
    """
    params = calibrated_parameters(register, params)
    _, rng, _ = _rngs(params.seed)
    n, n_periods = len(register), len(params.periods)
    hotspot_idx = np.sort(rng.choice(n, size=params.n_hotspots, replace=False))
    hotspot = np.zeros(n, dtype=bool)
    hotspot[hotspot_idx] = True
    hot_mult = np.where(hotspot, params.hotspot_multiplier, 1.0)

    _, homes_mult, base = _background(register, params)
    base = base * hot_mult

    trend = np.asarray(params.period_trend, dtype=float)
    trend = trend / trend.mean()
    level, k = float(params.records_per_period or 0), float(params.dispersion_shape or 0)
    expected = np.outer(base / base.sum(), level * trend)  # (n, periods)
    gamma = rng.gamma(k, 1.0 / k, size=expected.shape)
    codes = np.asarray(register["area_code"], dtype=object)
    return pd.DataFrame(
        {
            "area_code": np.repeat(codes, n_periods),
            "period": np.tile(np.asarray(params.periods, dtype=object), n),
            "hotspot": np.repeat(hotspot, n_periods),
            "hotspot_multiplier": np.repeat(hot_mult, n_periods),
            "homes_multiplier": np.repeat(homes_mult, n_periods),
            "expected_records": expected.ravel(),
            "dispersion_effect": gamma.ravel(),
            "rate_lambda": (expected * gamma).ravel(),
        }
    )


# --------------------------------------------------------------------------- records


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))


def _draw(rng: np.random.Generator, probs: tuple[float, ...] | np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` category codes (int8) with the given probabilities (inverse-CDF, vectorised)."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int8)


def _mask_unknown(
    rng: np.random.Generator, codes: np.ndarray, share: float, unknown: int
) -> np.ndarray:
    codes[rng.random(codes.size) < share] = unknown
    return codes


def generate_records(
    register: pd.DataFrame,
    params: SyntheticParameters | None = None,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Generate case records from the area rates (vectorised; about 1 s per million records).

    Each area-period gets ``Poisson(rate_lambda)`` records (see :func:`area_period_truth`). A
    record's looked-after status follows its area's share of looked-after children weighted by
    ``looked_after_rate_ratio``; missing episodes are gamma-Poisson with a higher mean for
    looked-after children; confirmation is more likely for children who went missing or are
    looked after; some age, sex and looked-after values are recorded as ``unknown``.

    Parameters
    ----------
    register : pandas.DataFrame
        From :func:`make_register`.
    params : SyntheticParameters, optional
        The parameters that made ``register``; ``records_per_period`` sets the scale.
    truth : pandas.DataFrame, optional
        From :func:`area_period_truth` (computed if not given).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECORD_COLUMNS` plus ``synthetic``; categorical text columns; sorted by
        area, period and ``record_id`` (1, 2, ...).

    Examples
    --------
    >>> figs = {"POP0017_2012": {"value": 1000000, "unit": "children", "source_id": "S1"},
    ...         "LAC2012": {"value": 6000, "unit": "children", "source_id": "S2"}}
    >>> p = SyntheticParameters(n_areas=10, n_hotspots=2, records_per_period=500)
    >>> rec = generate_records(make_register(p, figs), p)
    >>> bool(rec["identified_at_risk"].all()), str(rec["sex"].dtype)
    (True, 'category')
    """
    params = params or SyntheticParameters()
    if truth is None:
        truth = area_period_truth(register, params)
    _, _, rng = _rngs(params.seed)
    n_periods = len(params.periods)

    counts = rng.poisson(truth["rate_lambda"].to_numpy(dtype=float))
    n = int(counts.sum())
    cell = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    area = (cell // n_periods).astype(np.int16)
    period = (cell % n_periods).astype(np.int8)
    del cell

    lac_share = _looked_after_share(register, params.looked_after_rate_ratio)
    lac_true = rng.random(n) < lac_share[area]  # True = looked after
    # Category codes are looked up by name, so reordering a vocabulary cannot relabel records.
    lac_codes = np.where(lac_true, LOOKED_AFTER.index("yes"), LOOKED_AFTER.index("no"))
    lac_codes = lac_codes.astype(np.int8)
    _mask_unknown(rng, lac_codes, params.unknown_looked_after_share, LOOKED_AFTER.index("unknown"))

    age = _draw(rng, params.age_probabilities, n)
    _mask_unknown(rng, age, params.unknown_age_share, AGE_BANDS.index("unknown"))
    female = rng.random(n) < params.female_share
    sex = np.where(female, SEXES.index("female"), SEXES.index("male")).astype(np.int8)
    _mask_unknown(rng, sex, params.unknown_sex_share, SEXES.index("unknown"))

    mean_missing = np.where(lac_true, params.missing_mean_looked_after, params.missing_mean_other)
    k = params.missing_shape
    episodes = rng.poisson(mean_missing * rng.gamma(k, 1.0 / k, n)).astype(np.int16)
    del mean_missing
    went_missing = episodes > 0

    p_confirmed = (
        params.confirmed_base
        + params.confirmed_if_missing * went_missing
        + params.confirmed_if_looked_after * lac_true
    )
    confirmed = rng.random(n) < p_confirmed
    del p_confirmed, lac_true

    exploitation = _draw(rng, params.exploitation_probabilities, n)
    referral = _draw(rng, params.referral_probabilities, n)
    outcome = np.where(
        confirmed,
        _draw(rng, params.outcome_probabilities_confirmed, n),
        _draw(rng, params.outcome_probabilities_other, n),
    ).astype(np.int8)

    codes = tuple(register["area_code"])
    records = pd.DataFrame(
        {
            "record_id": np.arange(1, n + 1, dtype=np.int64),
            "area_code": _categorical(area, codes),
            "period": _categorical(period, tuple(params.periods)),
            "age_band": _categorical(age, AGE_BANDS),
            "sex": _categorical(sex, SEXES),
            "looked_after": _categorical(lac_codes, LOOKED_AFTER),
            "missing_episodes": episodes,
            "exploitation_type": _categorical(exploitation, EXPLOITATION_TYPES),
            "referral_source": _categorical(referral, REFERRAL_SOURCES),
            "outcome": _categorical(outcome, OUTCOMES),
            "identified_at_risk": np.ones(n, dtype=bool),
            "confirmed_victim": confirmed,
            "went_missing": went_missing,
            "synthetic": np.ones(n, dtype=bool),
        },
        copy=False,
    )
    records.attrs["synthetic"] = True
    return records


# --------------------------------------------------------------------------- returns


def aggregate_returns(records: pd.DataFrame) -> pd.DataFrame:
    """Aggregate case records into annual returns: every cell of every area and period.

    Parameters
    ----------
    records : pandas.DataFrame
        Case records with categorical ``area_code``, ``period``, ``age_band``, ``sex`` and
        ``looked_after`` (as :func:`generate_records` makes) and boolean
        ``identified_at_risk``, ``confirmed_victim`` and ``went_missing``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RETURN_COLUMNS`, one row per area, period, age band, sex and
        looked-after status (all 45 cells per area and period, zeros included), in category
        order; counts are int64.

    Examples
    --------
    >>> rec = pd.DataFrame({
    ...     "area_code": pd.Categorical(["SYN001", "SYN001"]),
    ...     "period": pd.Categorical(["2011-12", "2011-12"]),
    ...     "age_band": pd.Categorical(["13-15", "13-15"], categories=AGE_BANDS),
    ...     "sex": pd.Categorical(["female", "female"], categories=SEXES),
    ...     "looked_after": pd.Categorical(["no", "no"], categories=LOOKED_AFTER),
    ...     "identified_at_risk": [True, True], "confirmed_victim": [True, False],
    ...     "went_missing": [False, False]})
    >>> ret = aggregate_returns(rec)
    >>> len(ret), int(ret["identified_at_risk"].sum()), int(ret["confirmed_victims"].sum())
    (45, 2, 1)
    """
    dims = ("area_code", "period", "age_band", "sex", "looked_after")
    cats = []
    codes = []
    for name in dims:
        col = records[name]
        if not isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype("category")
        cats.append(list(col.cat.categories))
        c = col.cat.codes.to_numpy()
        if (c < 0).any():
            raise ValueError(f"records have missing values in {name}")
        codes.append(c.astype(np.int64))
    sizes = [len(c) for c in cats]
    key = np.ravel_multi_index(codes, sizes)
    total = int(np.prod(sizes))
    identified = records["identified_at_risk"].to_numpy(dtype=bool)
    counts = {
        "identified_at_risk": np.bincount(key[identified], minlength=total),
        "confirmed_victims": np.bincount(
            key[identified & records["confirmed_victim"].to_numpy(dtype=bool)], minlength=total
        ),
        "went_missing": np.bincount(
            key[identified & records["went_missing"].to_numpy(dtype=bool)], minlength=total
        ),
    }
    grid = np.unravel_index(np.arange(total), sizes)
    out: dict[str, Any] = {
        name: np.asarray(cat, dtype=object)[g]
        for name, cat, g in zip(dims, cats, grid, strict=True)
    }
    for name, values in counts.items():
        out[name] = values.astype(np.int64)
    frame = pd.DataFrame(out, columns=list(RETURN_COLUMNS))
    for name in dims:
        frame[name] = frame[name].astype(str)
    return frame


# --------------------------------------------------------------------------- all together


def simulate(
    params: SyntheticParameters | None = None,
    figures: Mapping[str, Mapping[str, Any]] | None = None,
) -> SyntheticData:
    """Build the whole synthetic collection in memory.

    Parameters
    ----------
    params : SyntheticParameters, optional
    figures : mapping, optional
        Stand-in for the published figures (see :func:`make_register`).

    Returns
    -------
    SyntheticData

    Examples
    --------
    >>> figs = {"POP0017_2012": {"value": 1000000, "unit": "children", "source_id": "S1"},
    ...         "LAC2012": {"value": 6000, "unit": "children", "source_id": "S2"}}
    >>> data = simulate(SyntheticParameters(n_areas=10, n_hotspots=2), figs)
    >>> int(data.returns["identified_at_risk"].sum()) == len(data.records)
    True
    >>> len(data.hotspots)
    2
    """
    params = params or SyntheticParameters()
    register = make_register(params, figures)
    given = params
    params = calibrated_parameters(register, params)
    truth = area_period_truth(register, params)
    records = generate_records(register, params, truth)
    returns = aggregate_returns(records)
    calibrated = {
        name: {"value": getattr(params, name), "calibrated": getattr(given, name) is None}
        for name in ("records_per_period", "dispersion_shape")
    }
    return SyntheticData(
        parameters=params,
        calibration={
            **register.attrs["calibration"],
            "authorities": _lists(dataclasses.asdict(params.calibration)),
            "derived": {
                "note": (
                    "records_per_period: national_rate per 10,000 of the register's children; "
                    "dispersion_shape: the gamma shape at which the expected tau2 of one "
                    "period's counts, before the planted hotspots, equals between_area_tau2 "
                    "(analysis.synthetic.calibrated_parameters); calibrated false means given"
                ),
                **calibrated,
            },
        },
        register=register,
        truth=truth,
        records=records,
        returns=returns,
    )


# --------------------------------------------------------------------------- writing


def _write_frame(path: Path, frame: pd.DataFrame, float_format: str | None = None) -> None:
    atomic_write_text(
        path, frame.to_csv(index=False, lineterminator="\n", float_format=float_format)
    )


def _parameters_document(data: SyntheticData) -> dict[str, Any]:
    params = data.parameters
    records = data.records
    by_period = (
        data.returns.groupby("period", sort=True)[
            ["identified_at_risk", "confirmed_victims", "went_missing"]
        ]
        .sum()
        .astype(int)
    )
    return {
        "synthetic": True,
        "description": (
            "SYNTHETIC DATA, NOT REAL: a labelled synthetic area register, CSE case records and "
            "annual returns made by analysis.synthetic for testing methods and the ingest."
        ),
        "generator": "analysis.synthetic.simulate",
        "command": "python -m analysis synthetic",
        "seed": params.seed,
        "calibration": {
            "note": (
                "register totals equal these published figures exactly (largest-remainder "
                "rounding); values read through analysis.published.figure; area sizes, the "
                "national level and the spread between areas copy the real authorities "
                "summarised in authorities (analysis.synthetic.AUTHORITIES), which makes the "
                "areas like real authorities, not real places"
            ),
            **data.calibration,
        },
        "assumptions": dict(params.assumptions),
        "hotspots": {
            "note": (
                "planted hotspot areas: their rate is multiplied by rate_multiplier in every "
                "period; synthetic_area_truth.csv has the full planted rates"
            ),
            "area_codes": data.hotspots,
            "rate_multiplier": params.hotspot_multiplier,
        },
        "files": {
            "register": REGISTER_FILE,
            "records": RECORDS_FILE,
            "truth": TRUTH_FILE,
            "returns": f"{RETURNS_DIR}/synthetic_return_<area_code>_<period>.csv",
            "returns_note": (
                "returns have no synthetic column because their column set is fixed by the "
                "return format; the synthetic_ file name prefix and this file label them. Each "
                "return lists all 45 cells (age_band x sex x looked_after), zeros included."
            ),
        },
        "totals": {
            "areas": len(data.register),
            "child_population": int(data.register["child_population"].sum()),
            "looked_after": int(data.register["looked_after"].sum()),
            "childrens_homes": int(data.register["childrens_homes"].sum()),
            "records": len(records),
            "by_period": {
                str(period): {k: int(v) for k, v in row.items()}
                for period, row in by_period.iterrows()
            },
        },
        "parameters": {**params.to_dict(), "calibration": "see calibration.authorities"},
    }


def write_synthetic(
    out_dir: Path | str | None = None,
    params: SyntheticParameters | None = None,
    figures: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Path]:
    """Generate the synthetic collection and write it, byte-identically for a given seed.

    Parameters
    ----------
    out_dir : path, optional
        Destination folder; defaults to :data:`analysis.paths.DATA_SYNTHETIC`.
    params : SyntheticParameters, optional
    figures : mapping, optional
        Stand-in for the published figures (see :func:`make_register`).

    Returns
    -------
    dict
        ``{"register", "records", "truth", "parameters", "returns"}`` -> path written
        (``returns`` is the folder). Stale ``synthetic_return_*.csv`` files are removed.

    Examples
    --------
    >>> import tempfile
    >>> figs = {"POP0017_2012": {"value": 1000000, "unit": "children", "source_id": "S1"},
    ...         "LAC2012": {"value": 6000, "unit": "children", "source_id": "S2"}}
    >>> p = SyntheticParameters(n_areas=4, n_hotspots=1, records_per_period=100)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write_synthetic(tmp, p, figs)
    ...     print(len(list(written["returns"].glob("*.csv"))))
    12
    """
    out = Path(out_dir) if out_dir is not None else paths.DATA_SYNTHETIC
    data = simulate(params, figures)
    params = data.parameters
    written = {
        "register": out / REGISTER_FILE,
        "records": out / RECORDS_FILE,
        "truth": out / TRUTH_FILE,
        "parameters": out / PARAMETERS_FILE,
        "returns": out / RETURNS_DIR,
    }
    _write_frame(written["register"], data.register.loc[:, list(REGISTER_COLUMNS)])

    _write_frame(written["records"], data.records.loc[:, [*RECORD_COLUMNS, "synthetic"]])

    truth = data.truth.copy()
    truth["synthetic"] = True
    _write_frame(written["truth"], truth, float_format="%.6f")

    returns_dir = written["returns"]
    returns_dir.mkdir(parents=True, exist_ok=True)
    wanted: set[str] = set()
    rows = data.returns.loc[:, list(RETURN_COLUMNS)].astype(str).to_numpy()
    header = ",".join(RETURN_COLUMNS) + "\n"
    for start in range(0, len(rows), _N_CELLS):
        block = rows[start : start + _N_CELLS]
        name = return_file_name(block[0, 0], block[0, 1])
        wanted.add(name)
        text = header + "".join(",".join(r) + "\n" for r in block)
        atomic_write_text(returns_dir / name, text)
    for stale in returns_dir.glob("synthetic_return_*.csv"):
        if stale.name not in wanted:
            stale.unlink()

    doc = json.dumps(_parameters_document(data), indent=2) + "\n"
    atomic_write_text(written["parameters"], doc)
    return written


# --------------------------------------------------------------------------- command line


#: The options of ``python -m analysis synthetic``: flag, type and help (every default None).
_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("--out", Path, "folder to write to (default: data/synthetic/ of the project)"),
    ("--seed", int, f"random seed (default {SyntheticParameters.seed}: the committed files)"),
    (
        "--records-per-period",
        float,
        "expected national records per period (default: calibrated, the real authorities' "
        f"{AUTHORITIES.national_rate:g} per 10,000 children)",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis synthetic`` (:data:`_OPTIONS`) to ``parser``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> vars(parser.parse_args(["--seed", "3"]))
    {'out': None, 'seed': 3, 'records_per_period': None}
    """
    for flag, kind, text in _OPTIONS:
        parser.add_argument(flag, type=kind, default=None, help=text)


def run(args: argparse.Namespace) -> int:
    """Run ``python -m analysis synthetic``: regenerate the synthetic files; return the exit code.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     run(argparse.Namespace(out=tmp, seed=None, records_per_period=None))
    0
    """
    changes: dict[str, Any] = {}
    if getattr(args, "seed", None) is not None:
        changes["seed"] = int(args.seed)
    if getattr(args, "records_per_period", None) is not None:
        if args.records_per_period <= 0:
            print("synthetic: --records-per-period must be positive", file=sys.stderr)
            return 2
        changes["records_per_period"] = float(args.records_per_period)
    params = dataclasses.replace(SyntheticParameters(), **changes)
    out = getattr(args, "out", None)
    try:
        written = write_synthetic(out, params)
    except OSError as exc:
        print(f"synthetic: cannot write: {exc}", file=sys.stderr)
        return 2
    doc = json.loads(written["parameters"].read_text(encoding="utf-8"))
    print(
        f"synthetic: wrote {doc['totals']['areas']} areas, {doc['totals']['records']} records and "
        f"{len(list(written['returns'].glob('synthetic_return_*.csv')))} returns to "
        f"{written['register'].parent} (seed {params.seed}; hotspots "
        f"{', '.join(doc['hotspots']['area_codes'])})"
    )
    return 0
