"""Statistics for comparing areas and checking published claims.

Confidence intervals for proportions and counts, crude rates, funnel plots for proportions,
rates and ratios (PHE's exact Poisson limits; Spiegelhalter's over-dispersion test with the
multiplicative and additive adjustments), ratios of representation, exact tests of worded
claims, rounded shares carried into intervals, and Monte Carlo propagation of uncertain inputs.

For comparing many areas (e.g. England's local authorities) with a baseline:

* :func:`rate_funnel` (counts over populations, rates per ``per``) and :func:`ratio_funnel`
  (observed over expected counts) return one row per area with exact limits at 95% and 99.8%,
  a significance label per area (:func:`significance_labels`) and the over-dispersion test;
  pass ``baseline=`` to compare with a given (e.g. national) value instead of the pooled one.
* :func:`count_funnel_limits`, :func:`rate_funnel_limits` and :func:`ratio_funnel_limits`
  give the limits alone; :func:`funnel_lines` redraws a table's limits on any grid.
* :func:`overdispersion_test` is Spiegelhalter's test and estimates (phi, tau²) on their own.

The methods follow those English official statistics use to compare local areas, as implemented
in PHE/UKHSA's R package PHEindicatormethods: every result says which method and confidence level
produced it (``method`` and ``confidence`` columns, attributes or ``.attrs``), confidence is a
fraction (0.95, never 95), and domain errors raise :class:`ValueError` with a message naming the
offending value.

This module knows no files and draws nothing: it imports neither matplotlib nor any project
module, and importing it has no side effects.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as _sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson_2indep

__all__ = [
    "ADJUSTMENTS",
    "BYAR_THRESHOLD",
    "DEFAULT_SEED",
    "FUNNEL_METHODS",
    "NOT_SIGNIFICANT",
    "OVERDISPERSION_ALPHA",
    "ClaimTest",
    "Distribution",
    "Interval",
    "OverdispersionTest",
    "PropagationResult",
    "RatioResult",
    "claim_test",
    "count_funnel_limits",
    "counts_consistent_with_share",
    "fixed",
    "funnel_limits",
    "funnel_lines",
    "level_suffix",
    "level_text",
    "normal",
    "overdispersion_test",
    "poisson_interval",
    "propagate",
    "proportion_funnel",
    "rate_funnel",
    "rate_funnel_limits",
    "rate_interval",
    "rate_ratio",
    "ratio_funnel",
    "ratio_funnel_limits",
    "rounded_share_interval",
    "significance_label",
    "significance_labels",
    "triangular",
    "two_group_rate_ratio",
    "uniform",
    "wilson_interval",
    "z_value",
]

#: Default seed for :func:`propagate` (the date of the evidence, 10 September 2012).
DEFAULT_SEED = 20120910

#: Counts below this use the exact Poisson interval, counts from it Byar's approximation.
BYAR_THRESHOLD = 10

#: Scalars, numpy arrays, lists or pandas Series of numbers.
Numeric = float | int | np.ndarray | pd.Series | Sequence[float]


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


class Interval(tuple):
    """A ``(lower, upper)`` pair that also records how it was computed.

    Behaves as a plain 2-tuple (``lower, upper = interval``) and carries ``method`` and
    ``confidence`` attributes. ``lower`` and ``upper`` are floats when the inputs were scalars,
    numpy arrays for array inputs and pandas Series (with the input's index, and ``method`` and
    ``confidence`` in ``.attrs``) for Series inputs.
    """

    method: str
    confidence: float

    def __new__(cls, lower: Any, upper: Any, method: str, confidence: float) -> Interval:
        self = super().__new__(cls, (lower, upper))
        self.method = method
        self.confidence = confidence
        return self

    @property
    def lower(self) -> Any:
        """Lower limit."""
        return self[0]

    @property
    def upper(self) -> Any:
        """Upper limit."""
        return self[1]

    def __reduce__(self) -> tuple[Any, ...]:
        """Support pickling and copying."""
        return (Interval, (self[0], self[1], self.method, self.confidence))

    def __repr__(self) -> str:
        """Show the limits, method and confidence."""
        return (
            f"Interval(lower={self[0]!r}, upper={self[1]!r}, method={self.method!r}, "
            f"confidence={self.confidence!r})"
        )


@dataclass(frozen=True)
class RatioResult:
    """A ratio with its confidence interval and the assumptions behind it.

    Attributes
    ----------
    ratio : float
        Point estimate.
    lower, upper : float
        Confidence limits for the ratio.
    method : str
        How the ratio and its interval were computed.
    confidence : float
        Confidence level of the interval, as a fraction.
    details : dict
        Intermediate quantities (shares, rates, the ratio range across an uncertain
        population share, ...), named in the function's docstring.
    """

    ratio: float
    lower: float
    upper: float
    method: str
    confidence: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def interval(self) -> tuple[float, float]:
        """``(lower, upper)``."""
        return (self.lower, self.upper)


@dataclass(frozen=True)
class ClaimTest:
    """Outcome of :func:`claim_test`.

    Attributes
    ----------
    x, n : int
        Cases with the characteristic, and the number examined.
    threshold : float
        The proportion the claim is about (0.5 for "over half").
    direction : {"greater", "less"}
        ``"greater"`` for claims the share exceeds ``threshold``, ``"less"`` for claims it is below.
    estimate : float
        Observed share ``x / n``.
    lower, upper : float
        Two-sided Clopper-Pearson interval for the share at ``confidence``.
    conclusion : {"supported", "contradicted", "inconclusive"}
        The decision of the test named in ``test``: "supported" if the one-sided exact binomial
        test in the claimed direction rejects ``share = threshold`` at level ``alpha``,
        "contradicted" if the test in the opposite direction does, otherwise "inconclusive".
    test : str
        The test the conclusion and ``p_value`` come from (its hypotheses, in words).
    p_value : float
        That test's p-value (the claimed direction's, unless the claim is contradicted).
    alpha : float
        The level ``p_value`` is compared with: ``(1 - confidence) / 2``, the tail of the
        two-sided interval, so the conclusion always agrees with the interval.
    p_claimed, p_opposite : float
        The one-sided p-values in the claimed and in the opposite direction.
    method : str
        Names the tests and the interval.
    confidence : float
        Confidence level of the interval.
    """

    x: int
    n: int
    threshold: float
    direction: str
    estimate: float
    lower: float
    upper: float
    conclusion: str
    test: str
    p_value: float
    alpha: float
    p_claimed: float
    p_opposite: float
    method: str
    confidence: float

    @property
    def interval(self) -> tuple[float, float]:
        """``(lower, upper)``."""
        return (self.lower, self.upper)

    @property
    def summary(self) -> str:
        """The conclusion with the test and p-value it comes from, in one sentence."""
        return (
            f"{self.conclusion}: {self.test}, p = {self.p_value:.3g} "
            f"({'<' if self.p_value < self.alpha else '>='} {self.alpha:g})"
        )


@dataclass(frozen=True, eq=False)
class PropagationResult:
    """Outcome of :func:`propagate`.

    Attributes
    ----------
    samples : numpy.ndarray
        The ``n`` simulated values of the output (read-only).
    mean, median, sd : float
        Summaries of ``samples``.
    interval : tuple of float
        Equal-tailed percentile interval at ``confidence``.
    confidence : float
        Confidence level of ``interval``.
    n : int
        Number of draws.
    seed : int or None
        Seed of the :class:`numpy.random.Generator` used.
    method : str
        Description, including ``n`` and ``seed``.
    """

    samples: np.ndarray
    mean: float
    median: float
    sd: float
    interval: tuple[float, float]
    confidence: float
    n: int
    seed: int | None
    method: str


# --------------------------------------------------------------------------------------------
# Input checking helpers
# --------------------------------------------------------------------------------------------


def _check_confidence(confidence: Any, name: str = "confidence") -> float:
    """Return ``confidence`` as a float in (0, 1) or raise ValueError."""
    ok = (
        isinstance(confidence, numbers.Real)
        and not isinstance(confidence, bool)
        and math.isfinite(float(confidence))
        and 0.0 < float(confidence) < 1.0
    )
    if not ok:
        raise ValueError(f"{name} must be a fraction in (0, 1), e.g. 0.95; got {confidence!r}")
    return float(confidence)


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile for a confidence level.

    Parameters
    ----------
    confidence : float, default 0.95
        Confidence level as a fraction in (0, 1).

    Returns
    -------
    float
        ``z`` such that ``P(-z < Z < z) = confidence``, i.e. ``Phi^-1(c + (1 - c) / 2)``.

    Raises
    ------
    ValueError
        If ``confidence`` is not a fraction in (0, 1).

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA), R package: confidence levels and z.

    Examples
    --------
    >>> round(z_value(0.95), 6), round(z_value(0.998), 6)
    (1.959964, 3.090232)
    """
    c = _check_confidence(confidence)
    return float(_sps.norm.ppf(c + (1.0 - c) / 2.0))


@dataclass
class _Prepared:
    arrays: dict[str, np.ndarray]
    index: pd.Index | None
    scalar: bool

    def wrap(self, values: np.ndarray, name: str | None = None, **attrs: Any) -> Any:
        """Return ``values`` in the shape of the inputs (float, ndarray or Series)."""
        values = np.asarray(values, dtype=float)
        if self.scalar:
            return float(values)
        if self.index is not None:
            out = pd.Series(values, index=self.index, name=name)
            out.attrs.update(attrs)
            return out
        return values

    def interval(self, lower: np.ndarray, upper: np.ndarray, method: str, c: float) -> Interval:
        """The :class:`Interval` of limits ``lower`` and ``upper``, each wrapped as the inputs.

        Series limits carry ``method`` and ``confidence`` in their ``attrs``.
        """
        attrs = {"method": method, "confidence": c}
        return Interval(
            self.wrap(lower, "lower", **attrs), self.wrap(upper, "upper", **attrs), method, c
        )

    def where(self, mask: np.ndarray) -> str:
        """Describe the first position where ``mask`` is true, for error messages."""
        mask = np.broadcast_to(mask, next(iter(self.arrays.values())).shape)
        if mask.ndim == 0:
            return ""
        pos = int(np.flatnonzero(mask.ravel())[0])
        count = int(mask.sum())
        label: Hashable = self.index[pos] if self.index is not None else pos
        kind = "index label" if self.index is not None else "position"
        extra = f"; {count} offending values in all" if count > 1 else ""
        return f" (at {kind} {label!r}{extra})"

    def first(self, name: str, mask: np.ndarray) -> float:
        """Return the first value of input ``name`` where ``mask`` is true."""
        arr = np.broadcast_to(self.arrays[name], mask.shape) if mask.ndim else self.arrays[name]
        return _fmt(arr[mask].ravel()[0] if mask.ndim else arr)


def _fmt(value: Any) -> Any:
    v = float(value)
    return int(v) if v.is_integer() else v


def _prepare(**values: Any) -> _Prepared:
    """Convert named numeric inputs to broadcast float arrays, keeping a Series index."""
    index: pd.Index | None = None
    index_owner = ""
    for name, v in values.items():
        if isinstance(v, pd.Series):
            if index is None:
                index, index_owner = v.index, name
            elif not v.index.equals(index):
                raise ValueError(
                    f"{index_owner} and {name} are Series with different indexes; align them "
                    "first (e.g. with .reindex)"
                )
    arrays: dict[str, np.ndarray] = {}
    for name, v in values.items():
        try:
            if isinstance(v, pd.Series):
                a = v.to_numpy(dtype=float, na_value=np.nan)
            else:
                a = np.asarray(v, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be numeric; got {v!r}") from err
        if np.isnan(a).any():
            raise ValueError(f"{name} contains missing values (NaN); drop or impute them first")
        if np.isinf(a).any():
            raise ValueError(f"{name} must be finite; got an infinite value")
        arrays[name] = a
    try:
        broadcast = np.broadcast_arrays(*arrays.values())
    except ValueError as err:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrays.items())
        raise ValueError(f"inputs have incompatible shapes: {shapes}") from err
    scalar = all(a.ndim == 0 for a in arrays.values())
    out = {k: np.array(b, dtype=float) for k, b in zip(arrays, broadcast, strict=True)}
    if index is not None and next(iter(out.values())).shape != (len(index),):
        raise ValueError("array inputs must have the same length as the Series inputs")
    return _Prepared(out, index, scalar)


def _check_binomial(prep: _Prepared, x: str = "x", n: str = "n", *, whole: str = "") -> None:
    """Binomial inputs: ``0 <= x <= n`` and ``n > 0``.

    Real-valued (weighted or derived) numerators and denominators are accepted, as PHE accepts
    them, unless ``whole`` names a method that needs whole counts (e.g. ``"the exact binomial
    test"``): then both must be whole numbers and the error says which method needs them.
    """
    xv, nv = prep.arrays[x], prep.arrays[n]
    bad = xv < 0
    if bad.any():
        raise ValueError(
            f"numerator must not be negative; got {x}={prep.first(x, bad)}{prep.where(bad)}"
        )
    _check_positive(prep, n, "denominator")
    if whole:
        for name, arr in ((x, xv), (n, nv)):
            bad = arr != np.round(arr)
            if bad.any():
                raise ValueError(
                    f"{name} must be a whole number (a count): {whole} needs whole counts; got "
                    f"{name}={prep.first(name, bad)}{prep.where(bad)}"
                )
    bad = xv > nv
    if bad.any():
        raise ValueError(
            f"numerator must not exceed denominator; got {x}={prep.first(x, bad)} > "
            f"{n}={prep.first(n, bad)}{prep.where(bad)}"
        )


def _check_positive(prep: _Prepared, name: str, what: str | None = None) -> None:
    """Raise if input ``name`` has a value that is not positive (``what`` names it in words)."""
    bad = prep.arrays[name] <= 0
    if bad.any():
        raise ValueError(
            f"{what or name} must be positive; got {name}={prep.first(name, bad)}{prep.where(bad)}"
        )


def _check_per(per: Any) -> float:
    """The rate base: a positive number such as 10,000."""
    if not (isinstance(per, numbers.Real) and not isinstance(per, bool) and per > 0):
        raise ValueError(f"per must be a positive number, e.g. 10_000; got {per!r}")
    return float(per)


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    if isinstance(levels, numbers.Real):
        levels = (levels,)
    out = tuple(sorted({_check_confidence(c, "each level") for c in levels}))
    if not out:
        raise ValueError("levels must contain at least one confidence level, e.g. (0.95, 0.998)")
    return out


# --------------------------------------------------------------------------------------------
# Significance labels (public: plotting, the theme modules and the notebooks use them)
# --------------------------------------------------------------------------------------------

#: The label of an area inside every level's limits.
NOT_SIGNIFICANT = "not significant"


def level_text(level: float) -> str:
    """A confidence level as a percentage for labels: 0.95 -> ``"95%"``, 0.998 -> ``"99.8%"``.

    Parameters
    ----------
    level : float
        Confidence level as a fraction in (0, 1).

    Returns
    -------
    str

    Examples
    --------
    >>> level_text(0.95), level_text(0.998)
    ('95%', '99.8%')
    """
    return f"{_check_confidence(level, 'level') * 100:.10g}%"


def level_suffix(level: float) -> str:
    """A confidence level as a column suffix: 0.95 -> ``"95"``, 0.998 -> ``"99_8"``.

    :func:`level_text` without its ``%`` and with ``_`` for the decimal point: funnel tables
    name their limits ``lower_<suffix>`` and ``upper_<suffix>``.

    Parameters
    ----------
    level : float
        As for :func:`level_text`.

    Returns
    -------
    str
        Digits and underscores only, so it can end a column name.

    Examples
    --------
    >>> level_suffix(0.95), level_suffix(0.998)
    ('95', '99_8')
    """
    return level_text(level).removesuffix("%").replace(".", "_")


def significance_label(direction: Literal["high", "low"], level: float) -> str:
    """The label of an area outside a level's limits: ``"high (99.8%)"``, ``"low (95%)"``.

    Every funnel table's ``significance`` column holds one of these or :data:`NOT_SIGNIFICANT`;
    an area outside several levels' limits carries the highest level.

    Parameters
    ----------
    direction : {"high", "low"}
        Above or below the limits.
    level : float
        Confidence level as a fraction in (0, 1).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For another direction or a level outside (0, 1).

    Examples
    --------
    >>> significance_label("high", 0.998)
    'high (99.8%)'
    """
    if direction not in ("high", "low"):
        raise ValueError(f'direction must be "high" or "low"; got {direction!r}')
    return f"{direction} ({level_text(level)})"


def significance_labels(levels: Sequence[float] = (0.95, 0.998)) -> tuple[str, ...]:
    """Every label a funnel with these levels can give, from highest to lowest.

    Parameters
    ----------
    levels : sequence of float, default (0.95, 0.998)
        The funnel's control-limit levels, in any order.

    Returns
    -------
    tuple of str
        High labels from the highest level down, :data:`NOT_SIGNIFICANT`, then low labels
        from the lowest level up (the order of a legend).

    Examples
    --------
    >>> significance_labels()
    ('high (99.8%)', 'high (95%)', 'not significant', 'low (95%)', 'low (99.8%)')
    """
    lv = _check_levels(levels)
    high = tuple(significance_label("high", level) for level in reversed(lv))
    low = tuple(significance_label("low", level) for level in lv)
    return (*high, NOT_SIGNIFICANT, *low)


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------


def wilson_interval(x: Numeric, n: Numeric, confidence: float = 0.95) -> Interval:
    """Wilson score confidence interval for a proportion ``x / n``.

    Computed with :func:`statsmodels.stats.proportion.proportion_confint` (``method="wilson"``,
    no continuity correction) and clipped to [0, 1]; the lower limit is exactly 0 when
    ``x = 0`` and the upper exactly 1 when ``x = n``.

    The numerator need not be a whole number: the score interval is defined for any
    ``0 <= x <= n``, and PHE accepts weighted or derived numerators (its own test data include
    one), e.g. ``0.29 * 498`` for "29% of 498". A share stated as a rounded percentage stands
    for several possible counts: :func:`rounded_share_interval` carries that rounding into the
    interval.

    Parameters
    ----------
    x : float, array-like or pandas.Series
        Numerator, non-negative and at most ``n``; real values (weighted or derived counts) are
        accepted.
    n : float, array-like or pandas.Series
        Denominator, positive, at least ``x``. Broadcast against ``x``.
    confidence : float, default 0.95
        Confidence level as a fraction in (0, 1).

    Returns
    -------
    Interval
        ``(lower, upper)``: floats for scalar inputs, numpy arrays for arrays, Series with the
        input's index (and ``.attrs["method"]``, ``.attrs["confidence"]``) for Series.
        ``.method`` is ``"wilson"``, ``.confidence`` the level used.

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1), ``x < 0``, ``n <= 0`` or ``x > n``.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. *Journal of the American Statistical Association* 22:209-212.
    .. [2] Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
       comparison of seven methods. *Statistics in Medicine* 17:857-872.
    .. [3] PHEindicatormethods (UKHSA), ``phe_proportion``: Wilson score method.

    Examples
    --------
    >>> lower, upper = wilson_interval(65, 100)
    >>> round(lower, 4), round(upper, 4)
    (0.5525, 0.7364)
    >>> wilson_interval(0, 20).lower
    0.0
    >>> import pandas as pd
    >>> lo, hi = wilson_interval(pd.Series([1, 20], index=["A", "B"]), 100, confidence=0.998)
    >>> hi.round(4).to_dict()
    {'A': 0.1046, 'B': 0.3471}

    A derived numerator (29% of 498 service users):

    >>> [round(v, 4) for v in wilson_interval(0.29 * 498, 498)]
    [0.2519, 0.3313]
    """
    c = _check_confidence(confidence)
    prep = _prepare(x=x, n=n)
    _check_binomial(prep)
    lo, hi = proportion_confint(prep.arrays["x"], prep.arrays["n"], alpha=1.0 - c, method="wilson")
    # The Wilson limits are exactly 0 at x = 0 and exactly 1 at x = n; statsmodels leaves
    # rounding error of ~1e-17 there for some n, so pin them, then clip to [0, 1].
    lo = np.where(prep.arrays["x"] == 0, 0.0, np.clip(np.asarray(lo, dtype=float), 0.0, 1.0))
    hi = np.where(
        prep.arrays["x"] == prep.arrays["n"], 1.0, np.clip(np.asarray(hi, dtype=float), 0.0, 1.0)
    )
    return prep.interval(lo, hi, "wilson", c)


def _poisson_exact(x: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, _sps.chi2.ppf((1.0 - c) / 2.0, 2.0 * x) / 2.0, 0.0)
    hi = _sps.chi2.ppf(c + (1.0 - c) / 2.0, 2.0 * x + 2.0) / 2.0
    return lo, hi


def _poisson_byar(x: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    z = z_value(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3, 0.0)
    x1 = x + 1.0
    hi = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    return np.clip(lo, 0.0, None), hi


def _poisson_core(
    x: np.ndarray, c: float, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower, upper and per-element method names for counts ``x``."""
    if method not in ("auto", "exact", "byar"):
        raise ValueError(f'method must be "auto", "exact" or "byar"; got {method!r}')
    use_exact = x < BYAR_THRESHOLD if method == "auto" else np.full(x.shape, method == "exact")
    e_lo, e_hi = _poisson_exact(x, c)
    b_lo, b_hi = _poisson_byar(x, c)
    lo = np.where(use_exact, e_lo, b_lo)
    hi = np.where(use_exact, e_hi, b_hi)
    names = np.where(use_exact, "exact", "byar")
    return lo, hi, names


def _method_summary(names: np.ndarray) -> str:
    unique = sorted(set(np.atleast_1d(names).tolist()))
    if len(unique) == 1:
        return unique[0]
    return f"exact below {BYAR_THRESHOLD} events, byar from {BYAR_THRESHOLD}"


def _check_counts(prep: _Prepared, name: str) -> None:
    bad = prep.arrays[name] < 0
    if bad.any():
        raise ValueError(
            f"count must not be negative; got {name}={prep.first(name, bad)}{prep.where(bad)}"
        )


def poisson_interval(
    x: Numeric, confidence: float = 0.95, method: Literal["auto", "exact", "byar"] = "auto"
) -> Interval:
    """Confidence interval for a Poisson count.

    ``method="auto"`` (the PHE convention) uses the exact interval below 10 events and Byar's
    approximation from 10; ``"exact"`` or ``"byar"`` forces one.

    * Exact: lower = chi2.ppf((1 - c) / 2; 2x) / 2 (0 when x = 0),
      upper = chi2.ppf(c + (1 - c) / 2; 2x + 2) / 2, via :data:`scipy.stats.chi2`.
    * Byar: lower = x (1 - 1/(9x) - z/(3 sqrt(x)))^3,
      upper = (x + 1) (1 - 1/(9(x + 1)) + z/(3 sqrt(x + 1)))^3; the lower limit is 0 when
      x = 0 and is clipped at 0.

    Parameters
    ----------
    x : float, array-like or pandas.Series
        Observed counts, non-negative (non-integer values are allowed, e.g. weighted counts).
    confidence : float, default 0.95
        Confidence level as a fraction in (0, 1).
    method : {"auto", "exact", "byar"}, default "auto"
        Interval method.

    Returns
    -------
    Interval
        ``(lower, upper)`` for the count, shaped like ``x`` (Series keep their index).
        ``.method`` is ``"exact"``, ``"byar"`` or, for mixed arrays,
        ``"exact below 10 events, byar from 10"``.

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1), ``x < 0`` or ``method`` is unknown.

    References
    ----------
    .. [1] Breslow, N. E. and Day, N. E. (1987). *Statistical Methods in Cancer Research,
       Volume II: The Design and Analysis of Cohort Studies*. IARC Scientific Publications
       No. 82, Lyon (Byar's approximation, p. 69).
    .. [2] Public Health England (2018). *Technical Guide: Confidence Intervals*. PHE
       Fingertips / Association of Public Health Observatories.
    .. [3] Ulm, K. (1990). A simple method to calculate the confidence interval of a
       standardized mortality ratio. *American Journal of Epidemiology* 131:373-375 (exact).

    Examples
    --------
    >>> lo, hi = poisson_interval(0)
    >>> lo, round(hi, 4)
    (0.0, 3.6889)
    >>> iv = poisson_interval(20)
    >>> iv.method, round(iv.lower, 4), round(iv.upper, 4)
    ('byar', 12.2114, 30.8899)
    """
    c = _check_confidence(confidence)
    prep = _prepare(x=x)
    _check_counts(prep, "x")
    lo, hi, names = _poisson_core(prep.arrays["x"], c, method)
    return prep.interval(lo, hi, _method_summary(names), c)


def rate_interval(
    x: Numeric,
    population: Numeric,
    confidence: float = 0.95,
    per: float = 10_000,
    method: Literal["auto", "exact", "byar"] = "auto",
) -> pd.DataFrame:
    """Crude rate per ``per`` population with a Poisson confidence interval.

    The interval for the count (:func:`poisson_interval`: exact below 10 events, Byar's from 10)
    is divided by the population and multiplied by ``per``. The population is treated as known
    exactly.

    Parameters
    ----------
    x : float, array-like or pandas.Series
        Event counts, non-negative.
    population : float, array-like or pandas.Series
        Population at risk, positive. Counts may exceed it (e.g. repeat episodes).
    confidence : float, default 0.95
        Confidence level as a fraction in (0, 1).
    per : float, default 10_000
        Rate base, e.g. 10,000 children.
    method : {"auto", "exact", "byar"}, default "auto"
        Count interval method, as in :func:`poisson_interval`.

    Returns
    -------
    pandas.DataFrame
        One row per input (index from a Series input, else 0..k-1; one row for scalars) with
        columns ``x``, ``population``, ``rate``, ``lower``, ``upper``, ``per``, ``method``
        (``"exact"`` or ``"byar"`` per row) and ``confidence``. ``.attrs`` holds ``method``,
        ``confidence`` and ``per``.

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1), ``x < 0``, ``population <= 0`` or ``per <= 0``.

    References
    ----------
    .. [1] Breslow, N. E. and Day, N. E. (1987). *Statistical Methods in Cancer Research,
       Volume II*. IARC Scientific Publications No. 82 (Byar's approximation).
    .. [2] Public Health England (2018). *Technical Guide: Confidence Intervals*.
    .. [3] PHEindicatormethods (UKHSA), ``phe_rate``.

    Examples
    --------
    >>> df = rate_interval([1, 20], [100, 100], per=100)
    >>> df[["rate", "lower", "upper", "method"]].round(4)
       rate    lower    upper method
    0   1.0   0.0253   5.5716  exact
    1  20.0  12.2114  30.8899   byar
    """
    c = _check_confidence(confidence)
    per = _check_per(per)
    prep = _prepare(x=x, population=population)
    _check_counts(prep, "x")
    _check_positive(prep, "population")
    pop = prep.arrays["population"]
    xv = prep.arrays["x"]
    lo, hi, names = _poisson_core(xv, c, method)
    index = prep.index if prep.index is not None else pd.RangeIndex(np.atleast_1d(xv).size)
    df = pd.DataFrame(
        {
            "x": np.atleast_1d(xv),
            "population": np.atleast_1d(pop),
            "rate": np.atleast_1d(xv / pop * per),
            "lower": np.atleast_1d(lo / pop * per),
            "upper": np.atleast_1d(hi / pop * per),
            "per": float(per),
            "method": np.atleast_1d(names),
            "confidence": c,
        },
        index=index,
    )
    df.attrs.update({"method": _method_summary(names), "confidence": c, "per": float(per)})
    return df


# --------------------------------------------------------------------------------------------
# Funnel plots
# --------------------------------------------------------------------------------------------

#: Funnel kinds: what is compared, and over what denominator.
FunnelKind = Literal["proportion", "rate", "ratio"]
#: Over-dispersion adjustments (Spiegelhalter 2005).
Adjustment = Literal["none", "multiplicative", "additive"]
ADJUSTMENTS: tuple[str, ...] = ("none", "multiplicative", "additive")
#: Funnel limit methods for counts, rates and ratios.
FUNNEL_METHODS: tuple[str, ...] = ("exact", "normal")

#: Default winsorisation of the z-scores before estimating over-dispersion (10% each tail).
WINSORISE = 0.1
#: Default significance level of the over-dispersion test.
OVERDISPERSION_ALPHA = 0.05


@dataclass(frozen=True)
class OverdispersionTest:
    """Spiegelhalter's (2005) test for over-dispersion among areas, and its two estimates.

    Attributes
    ----------
    phi : float
        Multiplicative over-dispersion factor: the mean of the squared z-scores after
        winsorising them at the ``trim`` and ``1 - trim`` quantiles (1 means no more spread
        than chance).
    tau2 : float
        Additive between-area variance, in the squared units of the compared value (e.g.
        (rate per 10,000)²): ``(I phi - (I - 1)) / (sum w - sum w² / sum w)`` with weights
        ``w = 1 / s²``, set to 0 when negative.
    statistic : float
        ``I * phi``, referred to chi-square on ``I - 1`` degrees of freedom.
    df : int
        ``I - 1``.
    p_value : float
        Upper-tail probability of ``statistic``: small values mean the areas vary more than
        chance allows.
    n_areas : int
        ``I``.
    trim : float
        Winsorisation fraction of each tail.
    method : str
        The test in words.
    """

    phi: float
    tau2: float
    statistic: float
    df: int
    p_value: float
    n_areas: int
    trim: float
    method: str

    def rejects(self, alpha: float = OVERDISPERSION_ALPHA) -> bool:
        """True if the test rejects "no over-dispersion" at significance level ``alpha``."""
        return bool(math.isfinite(self.p_value) and self.p_value < alpha)


def overdispersion_test(
    value: Numeric, baseline: float, se: Numeric, *, trim: float = WINSORISE
) -> OverdispersionTest:
    """Test areas for over-dispersion around a baseline and estimate phi and tau².

    Standardises each area, ``z_i = (y_i - theta) / s_i``, winsorises the z-scores at their
    ``trim`` and ``1 - trim`` quantiles (:func:`numpy.quantile`, linear interpolation: values
    beyond are set to those quantiles), and takes ``phi = sum(z_w²) / I``. Under no
    over-dispersion ``I * phi`` is approximately chi-square on ``I - 1`` degrees of freedom
    (:data:`scipy.stats.chi2`); the additive random-effects variance is
    ``tau² = (I phi - (I - 1)) / (sum w_i - sum w_i² / sum w_i)``, ``w_i = 1 / s_i²``, or 0 if
    negative.

    Parameters
    ----------
    value : array-like
        Each area's indicator ``y_i`` (proportion, rate or ratio).
    baseline : float
        The target ``theta``.
    se : array-like
        Each area's standard error ``s_i`` under the baseline (positive), e.g.
        ``sqrt(theta (1 - theta) / n_i)`` for a proportion, ``sqrt(theta / E_i)`` for a ratio.
    trim : float, default 0.1
        Fraction winsorised in each tail, in [0, 0.5).

    Returns
    -------
    OverdispersionTest
        ``phi``, ``tau2``, ``statistic``, ``df``, ``p_value``; NaN throughout when there are
        fewer than two areas.

    Raises
    ------
    ValueError
        If a standard error is not positive or ``trim`` is outside [0, 0.5).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
       *Quality and Safety in Health Care* 14:347-351.
    .. [3] DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials. *Controlled
       Clinical Trials* 7:177-188 (the moment estimator of tau²).

    Examples
    --------
    Four areas of equal precision (``s = 1``) at -2, -1, 1 and 2 from the baseline, no
    winsorising: ``phi = (4 + 1 + 1 + 4) / 4 = 2.5``, ``I phi = 10`` on 3 df, and
    ``tau² = (10 - 3) / (4 - 1) = 7/3``:

    >>> t = overdispersion_test([-2, -1, 1, 2], 0.0, 1.0, trim=0.0)
    >>> t.phi, t.statistic, t.df, round(t.tau2, 4), round(t.p_value, 4)
    (2.5, 10.0, 3, 2.3333, 0.0186)
    """
    if not (isinstance(trim, numbers.Real) and 0.0 <= float(trim) < 0.5):
        raise ValueError(f"trim must be a fraction in [0, 0.5), e.g. 0.1; got {trim!r}")
    prep = _prepare(value=value, se=se)
    _check_positive(prep, "se", "standard error")
    y = np.atleast_1d(prep.arrays["value"])
    s = np.atleast_1d(prep.arrays["se"])
    k = int(y.size)
    method = (
        f"Spiegelhalter over-dispersion test: z-scores winsorised at {trim:.0%} each tail, "
        "phi = mean of squared z, I*phi against chi-square on I - 1 df"
    )
    if k < 2:
        nan = float("nan")
        return OverdispersionTest(nan, nan, nan, max(k - 1, 0), nan, k, float(trim), method)
    z = (y - float(baseline)) / s
    lo, hi = np.quantile(z, [trim, 1.0 - trim])
    phi = float(np.sum(np.clip(z, lo, hi) ** 2) / k)
    statistic = k * phi
    w = 1.0 / s**2
    denominator = float(w.sum() - (w**2).sum() / w.sum())
    if denominator > 0:
        tau2 = max((statistic - (k - 1)) / denominator, 0.0)
    else:  # identical precision for all but rounding: tau² is not identifiable this way
        tau2 = float("nan")
    p = float(_sps.chi2.sf(statistic, k - 1))
    return OverdispersionTest(phi, float(tau2), statistic, k - 1, p, k, float(trim), method)


def _check_phi(phi: Any) -> float:
    if not (isinstance(phi, numbers.Real) and math.isfinite(phi) and phi > 0):
        raise ValueError(f"phi (over-dispersion factor) must be a positive number; got {phi!r}")
    return float(phi)


def _check_tau2(tau2: Any) -> float:
    if not (isinstance(tau2, numbers.Real) and math.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"tau2 (between-area variance) must be a number >= 0; got {tau2!r}")
    return float(tau2)


def _normal_limits(
    centre: float,
    se: np.ndarray,
    c: float,
    phi: float,
    tau2: float,
    upper_clip: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``centre +/- z sqrt(phi s² + tau2)``, clipped to [0, upper_clip]."""
    half = z_value(c) * np.sqrt(phi * se**2 + tau2)
    return np.clip(centre - half, 0.0, upper_clip), np.clip(centre + half, 0.0, upper_clip)


def _adjustment_text(phi: float, tau2: float) -> str:
    if phi != 1.0:
        return f"multiplicative over-dispersion phi={phi:.4g} (normal approximation)"
    if tau2 != 0.0:
        return f"additive over-dispersion tau2={tau2:.4g} (normal approximation)"
    return ""


def funnel_limits(
    baseline: float,
    n: Numeric,
    confidence: float = 0.95,
    *,
    phi: float = 1.0,
    tau2: float = 0.0,
) -> Interval:
    """Funnel-plot control limits for a proportion at denominator(s) ``n``.

    Normal approximation to the binomial around the baseline (the method PHE uses for
    proportion funnels): ``baseline +/- z * sqrt(phi * baseline (1 - baseline) / n + tau2)``,
    clipped to [0, 1]. ``phi`` and ``tau2`` are Spiegelhalter's multiplicative and additive
    over-dispersion adjustments (see :func:`overdispersion_test`); use one or neither.

    Parameters
    ----------
    baseline : float
        Target proportion in [0, 1], usually the pooled ``sum(x) / sum(n)``.
    n : float, array-like or pandas.Series
        Denominator(s), positive. Need not be whole numbers (useful for a smooth grid).
    confidence : float, default 0.95
        Control-limit level as a fraction, e.g. 0.95 or 0.998.
    phi : float, default 1.0
        Multiplicative over-dispersion factor: the binomial variance is multiplied by ``phi``.
    tau2 : float, default 0.0
        Additive between-area variance (proportion units squared).

    Returns
    -------
    Interval
        ``(lower, upper)`` shaped like ``n``. ``.method`` names the approximation and any
        adjustment.

    Raises
    ------
    ValueError
        If ``baseline`` is outside [0, 1], ``n <= 0``, ``phi <= 0``, ``tau2 < 0``, both
        adjustments are given, or ``confidence`` is not in (0, 1).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [2] Public Health England. *Technical Guide: Funnel plots* (APHO, 2008).

    Examples
    --------
    PHEindicatormethods' proportion-funnel test data (pooled baseline 80.642448%):

    >>> lo, hi = funnel_limits(0.80642448, [598, 110000], 0.95)
    >>> (lo * 100).round(4).tolist(), (hi * 100).round(4).tolist()
    ([77.4758, 80.409], [83.8091, 80.8759])
    """
    c = _check_confidence(confidence)
    phi, tau2 = _check_phi(phi), _check_tau2(tau2)
    if phi != 1.0 and tau2 != 0.0:
        raise ValueError("give phi (multiplicative) or tau2 (additive), not both")
    if not (isinstance(baseline, numbers.Real) and 0.0 <= float(baseline) <= 1.0):
        raise ValueError(f"baseline must be a proportion in [0, 1]; got {baseline!r}")
    prep = _prepare(n=n)
    _check_positive(prep, "n", "denominator")
    p = float(baseline)
    se = np.sqrt(p * (1.0 - p) / prep.arrays["n"])
    lo, hi = _normal_limits(p, se, c, phi, tau2, 1.0)
    method = "normal approximation to the binomial"
    if extra := _adjustment_text(phi, tau2):
        method += f", {extra}"
    return prep.interval(lo, hi, method, c)


def _exact_count_limits(expected: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """PHE's exact Poisson funnel limits (counts) at expected counts ``expected >= 0``.

    Lower: the ``O`` whose exact upper limit ``chi2.ppf(q_hi; 2O + 2) / 2`` equals ``E``;
    upper: the ``O`` whose exact lower limit ``chi2.ppf(q_lo; 2O) / 2`` equals ``E``. Since
    ``chi2.ppf(q; v) = x`` exactly when ``chi2.cdf(x; v) = q``, each is the degrees of freedom
    at which the chi-square CDF at ``2E`` equals ``q``: :func:`scipy.special.chdtriv` inverts
    that, and a bracketed root search (:func:`scipy.optimize.brentq` on the regularised gamma
    function) takes over wherever it fails.
    """
    from scipy import special
    from scipy.optimize import brentq

    q_lo, q_hi = (1.0 - c) / 2.0, c + (1.0 - c) / 2.0
    e = np.asarray(expected, dtype=float)
    # below E = -ln(1 - q_hi), the exact upper limit of O = 0, no O >= 0 has its upper limit at E
    has_lower = e > -math.log1p(-q_hi)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        lower = np.where(has_lower, special.chdtriv(q_hi, 2.0 * e) / 2.0 - 1.0, 0.0)
        upper = np.where(e > 0, special.chdtriv(q_lo, 2.0 * e) / 2.0, 0.0)

    def bracket(ev: float) -> float:
        return ev + 40.0 * math.sqrt(ev) + 100.0

    for i in np.flatnonzero(~np.isfinite(lower.ravel())):
        ev = float(e.ravel()[i])
        lower.ravel()[i] = brentq(
            lambda o, ev=ev: special.gammainc(o + 1.0, ev) - q_hi, 0.0, bracket(ev), xtol=1e-12
        )
    for i in np.flatnonzero(~np.isfinite(upper.ravel())):
        ev = float(e.ravel()[i])
        upper.ravel()[i] = brentq(
            lambda o, ev=ev: special.gammainc(o, ev) - q_lo, 1e-300, bracket(ev), xtol=1e-12
        )
    return np.clip(lower, 0.0, None), upper


def count_funnel_limits(expected: Numeric, confidence: float = 0.95) -> Interval:
    """Exact Poisson funnel limits for an observed count, at expected count(s) ``expected``.

    PHE's exact method: at expected count ``E`` the lower limit is the observed count ``O_l``
    whose exact upper Poisson limit just reaches ``E``,
    ``chi2.ppf(c + (1 - c) / 2; 2 O_l + 2) / 2 = E`` (0 where no ``O_l >= 0`` qualifies, i.e.
    ``E <= -ln((1 - c) / 2)``), and the upper limit is the ``O_u`` whose exact lower limit
    just reaches ``E``, ``chi2.ppf((1 - c) / 2; 2 O_u) / 2 = E``; both solved for continuous
    ``O``. A count outside ``(O_l, O_u)`` has an exact interval that excludes ``E``. Divide by
    the population (times the rate base) for a rate funnel (:func:`rate_funnel_limits`), by
    ``E`` for a ratio funnel (:func:`ratio_funnel_limits`).

    Parameters
    ----------
    expected : float, array-like or pandas.Series
        Expected count(s) under the baseline, non-negative (a rate times a population, or a
        model's expected count times the baseline ratio).
    confidence : float, default 0.95
        Control-limit level as a fraction.

    Returns
    -------
    Interval
        ``(lower, upper)`` counts, shaped like ``expected``; ``.method`` is
        ``"exact Poisson (PHE)"``.

    Raises
    ------
    ValueError
        If ``expected < 0`` or ``confidence`` is not in (0, 1).

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA), ``phe_funnel`` / ``calculate_funnel_limits`` for
       ratios and rates: exact Poisson funnel limits.
    .. [2] Public Health England. *Technical Guide: Funnel plots* (APHO, 2008).
    .. [3] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.

    Examples
    --------
    An observed count of 2 lies exactly on the lower 95% line where ``E`` is the exact upper
    95% limit of 2 (PHEindicatormethods' ratio-funnel test data give E = 7.224687515):

    >>> lo, hi = count_funnel_limits(7.224687515)
    >>> round(lo, 6), round(hi, 4)
    (2.0, 13.4152)
    >>> count_funnel_limits([0.0, 1.0]).lower.tolist()
    [0.0, 0.0]
    """
    c = _check_confidence(confidence)
    prep = _prepare(expected=expected)
    bad = prep.arrays["expected"] < 0
    if bad.any():
        raise ValueError(
            "expected count must not be negative; got "
            f"expected={prep.first('expected', bad)}{prep.where(bad)}"
        )
    lo, hi = _exact_count_limits(prep.arrays["expected"], c)
    method = "exact Poisson (PHE)"
    return prep.interval(lo, hi, method, c)


def _poisson_limits(
    baseline: float,
    exposure: np.ndarray,
    scale: float,
    c: float,
    method: str,
    phi: float,
    tau2: float,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Limits for a rate (``scale = per``) or ratio (``scale = 1``) at ``exposure``."""
    lam = baseline / scale  # events per unit of exposure
    if phi != 1.0 or tau2 != 0.0:
        se = np.sqrt(baseline * scale / exposure)
        lo, hi = _normal_limits(baseline, se, c, phi, tau2, None)
        return lo, hi, _adjustment_text(phi, tau2)
    if method == "exact":
        lo, hi = _exact_count_limits(lam * exposure, c)
        return lo / exposure * scale, hi / exposure * scale, "exact Poisson (PHE)"
    se = np.sqrt(baseline * scale / exposure)
    lo, hi = _normal_limits(baseline, se, c, 1.0, 0.0, None)
    return lo, hi, "normal approximation to the Poisson (not PHE's exact method)"


def _check_method(method: Any) -> str:
    if method not in FUNNEL_METHODS:
        raise ValueError(f'method must be "exact" or "normal"; got {method!r}')
    return str(method)


def _check_adjusted_method(method: str, phi: float, tau2: float) -> None:
    if phi != 1.0 and tau2 != 0.0:
        raise ValueError("give phi (multiplicative) or tau2 (additive), not both")
    if method == "exact" and (phi != 1.0 or tau2 != 0.0):
        raise ValueError(
            "over-dispersion-adjusted limits are normal-approximation limits (Spiegelhalter "
            '2005): pass method="normal" with phi or tau2'
        )


def _poisson_funnel_limits(
    baseline: Any,
    denominator: Numeric,
    names: tuple[str, str, str],
    per: Any,
    confidence: float,
    method: str,
    phi: float,
    tau2: float,
) -> Interval:
    """The checks and limits behind :func:`rate_funnel_limits` and :func:`ratio_funnel_limits`."""
    name, what, value = names
    c = _check_confidence(confidence)
    phi, tau2 = _check_phi(phi), _check_tau2(tau2)
    per = _check_per(per)
    method = _check_method(method)
    _check_adjusted_method(method, phi, tau2)
    if not (
        isinstance(baseline, numbers.Real) and math.isfinite(baseline) and float(baseline) >= 0.0
    ):
        raise ValueError(f"baseline {value} must be a non-negative number; got {baseline!r}")
    prep = _prepare(**{name: denominator})
    _check_positive(prep, name, what)
    lo, hi, text = _poisson_limits(float(baseline), prep.arrays[name], per, c, method, phi, tau2)
    return prep.interval(lo, hi, text, c)


def rate_funnel_limits(
    baseline: float,
    population: Numeric,
    confidence: float = 0.95,
    *,
    per: float = 10_000,
    method: Literal["exact", "normal"] = "exact",
    phi: float = 1.0,
    tau2: float = 0.0,
) -> Interval:
    """Funnel-plot control limits for a rate per ``per`` at population(s) ``population``.

    ``method="exact"`` (default, PHE's method): at the expected count
    ``E = baseline / per * population`` the limits are :func:`count_funnel_limits`, divided by
    the population and multiplied by ``per``. ``method="normal"``: the normal approximation
    to the Poisson, ``baseline +/- z * sqrt(phi * baseline * per / population + tau2)``, lower
    clipped at 0; this is also the form of Spiegelhalter's over-dispersion-adjusted limits
    (``phi`` multiplicative, ``tau2`` additive, in (rate per ``per``)²).

    Parameters
    ----------
    baseline : float
        Target rate per ``per`` (non-negative), usually the pooled ``per * sum(x) / sum(pop)``.
    population : float, array-like or pandas.Series
        Population(s), positive.
    confidence : float, default 0.95
        Control-limit level as a fraction.
    per : float, default 10_000
        Rate base of ``baseline`` and of the returned limits.
    method : {"exact", "normal"}, default "exact"
        Limit method; ``phi`` and ``tau2`` need ``"normal"``.
    phi : float, default 1.0
        Multiplicative over-dispersion factor for the Poisson variance.
    tau2 : float, default 0.0
        Additive between-area variance of the rate per ``per``.

    Returns
    -------
    Interval
        ``(lower, upper)`` per ``per``, shaped like ``population``; ``.method`` names the method.

    Raises
    ------
    ValueError
        If ``baseline < 0``, ``population <= 0``, ``per <= 0``, ``phi <= 0``, ``tau2 < 0``,
        an adjustment with ``method="exact"``, an unknown method or ``confidence`` not in (0, 1).

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA): exact Poisson funnel limits for rates.
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.

    Examples
    --------
    At 10 expected events (a baseline of 10 per 10,000 in a population of 10,000) the exact
    99.8% upper limit is 21.6, where the normal approximation gives 19.8:

    >>> round(rate_funnel_limits(10.0, 10_000, 0.998).upper, 1)
    21.6
    >>> round(rate_funnel_limits(10.0, 10_000, 0.998, method="normal").upper, 1)
    19.8
    """
    return _poisson_funnel_limits(
        baseline,
        population,
        ("population", "population", "rate"),
        per,
        confidence,
        method,
        phi,
        tau2,
    )


def ratio_funnel_limits(
    baseline: float,
    expected: Numeric,
    confidence: float = 0.95,
    *,
    method: Literal["exact", "normal"] = "exact",
    phi: float = 1.0,
    tau2: float = 0.0,
) -> Interval:
    """Funnel-plot control limits for a ratio of observed to expected counts.

    ``method="exact"`` (default, PHE's method): at expected count ``E`` the limits are
    :func:`count_funnel_limits` at ``baseline * E``, divided by ``E``. ``method="normal"``:
    ``baseline +/- z * sqrt(phi * baseline / E + tau2)``, lower clipped at 0 (also the form of
    the over-dispersion-adjusted limits).

    Parameters
    ----------
    baseline : float
        Target ratio (non-negative): 1 against an external standard, or the pooled
        ``sum(observed) / sum(expected)``.
    expected : float, array-like or pandas.Series
        Expected count(s), positive.
    confidence : float, default 0.95
        Control-limit level as a fraction.
    method : {"exact", "normal"}, default "exact"
        Limit method; ``phi`` and ``tau2`` need ``"normal"``.
    phi, tau2 : float
        Multiplicative or additive over-dispersion adjustment (``tau2`` in ratio units²).

    Returns
    -------
    Interval
        ``(lower, upper)`` ratios, shaped like ``expected``.

    Raises
    ------
    ValueError
        As :func:`rate_funnel_limits`, for ``expected <= 0``.

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA), ratio funnels (``phe_funnel``): exact Poisson limits.
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.

    Examples
    --------
    At E = 7.224687515 the lower 95% line passes through O = 2 (ratio 2 / E), PHE's test data:

    >>> lo, hi = ratio_funnel_limits(1.0, 7.224687515)
    >>> round(lo * 7.224687515, 6)
    2.0
    """
    return _poisson_funnel_limits(
        baseline,
        expected,
        ("expected", "expected count", "ratio"),
        1.0,
        confidence,
        method,
        phi,
        tau2,
    )


def _check_adjustment(overdispersion: Any) -> str:
    if overdispersion is True:
        return "multiplicative"
    if overdispersion is False or overdispersion is None:
        return "none"
    if overdispersion not in ADJUSTMENTS:
        raise ValueError(
            f'overdispersion must be "none", "multiplicative" or "additive"; got {overdispersion!r}'
        )
    return str(overdispersion)


def _check_alpha(alpha: Any) -> float:
    if not (isinstance(alpha, numbers.Real) and 0.0 < float(alpha) < 1.0):
        raise ValueError(f"overdispersion_alpha must be in (0, 1), e.g. 0.05; got {alpha!r}")
    return float(alpha)


@dataclass(frozen=True)
class _FunnelSpec:
    """What a funnel compares: enough to redraw its limits at any denominator."""

    kind: str  # proportion, rate, ratio
    baseline: float
    scale: float  # per for rates, 1 otherwise
    method: str  # "exact" or "normal" (proportions: "normal")
    adjustment: str  # applied: none, multiplicative, additive
    phi: float  # applied factor (1 unless multiplicative)
    tau2: float  # applied variance (0 unless additive)

    def se(self, denominator: np.ndarray) -> np.ndarray:
        if self.kind == "proportion":
            return np.sqrt(self.baseline * (1.0 - self.baseline) / denominator)
        return np.sqrt(self.baseline * self.scale / denominator)

    def limits(self, denominator: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "proportion":
            return _normal_limits(self.baseline, self.se(denominator), c, self.phi, self.tau2, 1.0)
        lo, hi, _ = _poisson_limits(
            self.baseline, denominator, self.scale, c, self.method, self.phi, self.tau2
        )
        return lo, hi


_FUNNEL_STATISTIC = {
    "proportion": "proportion",
    "rate": "rate per {per:,.10g}",
    "ratio": "ratio (observed / expected)",
}


#: Per kind: the numerator's and denominator's argument names, the value column, and the
#: denominator in words (for errors).
_FUNNEL_INPUTS = {
    "proportion": ("x", "n", "proportion", "denominator"),
    "rate": ("x", "population", "rate", "population"),
    "ratio": ("observed", "expected", "ratio", "expected count"),
}


def _funnel(kind: str, /, **given: Any) -> pd.DataFrame:
    """The one funnel engine behind :func:`proportion_funnel`, :func:`rate_funnel` and
    :func:`ratio_funnel`, which pass it their arguments by name (``locals()``)."""
    num_name, den_name, value_col, what = _FUNNEL_INPUTS[kind]
    levels = _check_levels(given["levels"])
    overdispersion = _check_adjustment(given["overdispersion"])
    alpha = _check_alpha(given["overdispersion_alpha"])
    force_adjustment = bool(given["force_adjustment"])
    baseline = given["baseline"]
    scale = _check_per(given["per"]) if kind == "rate" else 1.0
    method = "normal" if kind == "proportion" else _check_method(given["method"])
    prep = _prepare(**{num_name: given[num_name], den_name: given[den_name]})
    if kind == "proportion":
        _check_binomial(prep, num_name, den_name)
        upper = 1.0
    else:
        _check_counts(prep, num_name)
        _check_positive(prep, den_name, what)
        upper = math.inf
    if baseline is not None and not (
        isinstance(baseline, numbers.Real)
        and math.isfinite(baseline)
        and 0.0 <= float(baseline) <= upper
    ):
        expected = "a proportion in [0, 1]" if kind == "proportion" else "a non-negative number"
        raise ValueError(f"baseline must be {expected}; got {baseline!r}")
    numerator = np.atleast_1d(prep.arrays[num_name])
    denominator = np.atleast_1d(prep.arrays[den_name])
    columns = {num_name: numerator, den_name: denominator}
    denominator_col = den_name
    index = _funnel_index(prep, given["labels"], numerator.size)
    pooled = baseline is None
    if pooled:
        theta = float(numerator.sum() / denominator.sum() * scale)
    else:
        theta = float(baseline)
    value = numerator / denominator * scale
    spec = _FunnelSpec(kind, theta, scale, method, "none", 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = spec.se(denominator)
        z = (value - theta) / se
    if np.all(se > 0) and np.all(np.isfinite(se)):
        test = overdispersion_test(value, theta, se)
    else:
        nan = float("nan")
        test = OverdispersionTest(nan, nan, nan, max(value.size - 1, 0), nan, value.size, 0.1, "")
    if overdispersion != "none":
        if not math.isfinite(test.phi) or (
            overdispersion == "additive" and not math.isfinite(test.tau2)
        ):
            raise ValueError(
                f"cannot estimate over-dispersion here (baseline {theta:g}, {value.size} areas): "
                "it needs at least two areas and a baseline strictly inside the possible range"
            )
    applied = "none"
    if overdispersion != "none" and (force_adjustment or test.rejects(alpha)):
        applied = overdispersion
    phi_used = max(test.phi, 1.0) if applied == "multiplicative" else 1.0
    tau2_used = test.tau2 if applied == "additive" else 0.0
    spec = _FunnelSpec(kind, theta, scale, method, applied, phi_used, tau2_used)

    df = pd.DataFrame(columns, index=index)
    df[value_col] = value
    df["baseline"] = theta
    df["z"] = z
    significance = np.full(value.shape, NOT_SIGNIFICANT, dtype=object)
    own_interval = kind != "proportion" and method == "exact" and applied == "none"
    for level in levels:  # ascending, so the highest level outside wins
        lo, hi = spec.limits(denominator, level)
        sfx = level_suffix(level)
        df[f"lower_{sfx}"] = lo
        df[f"upper_{sfx}"] = hi
        if own_interval:
            # PHE: the area's own exact (below 10 events) or Byar's interval against the
            # baseline's expected count
            c_lo, c_hi, _ = _poisson_core(numerator, level, "auto")
            expected = theta / scale * denominator
            high, low = c_lo > expected, c_hi < expected
        else:
            high, low = value > hi, value < lo
        significance = np.where(high, significance_label("high", level), significance)
        significance = np.where(low, significance_label("low", level), significance)
    df["significance"] = significance.astype(str)

    statistic = _FUNNEL_STATISTIC[kind].format(per=scale)
    base_text = "pooled baseline" if pooled else f"given baseline {theta:.6g}"
    if kind == "proportion":
        limits_text = "limits by the normal approximation to the binomial (PHE)"
        sig_text = "an area is high or low when outside a level's limits"
    elif method == "exact":
        limits_text = "exact Poisson limits (PHE)"
        sig_text = (
            f"significance from each area's own exact (below {BYAR_THRESHOLD} events) or "
            "Byar's interval against the baseline"
        )
    else:
        limits_text = "limits by the normal approximation to the Poisson (not PHE's exact method)"
        sig_text = "an area is high or low when outside a level's limits"
    test_text = (
        f"Spiegelhalter over-dispersion test: I*phi = {test.statistic:.4g} on {test.df} df, "
        f"p = {test.p_value:.3g} (phi = {test.phi:.4g}, tau2 = {test.tau2:.4g})"
    )
    if overdispersion == "none":
        adj_text = "no over-dispersion adjustment requested"
    elif applied == "none":
        adj_text = (
            f"{overdispersion} adjustment requested, not applied (the test does not reject at "
            f"{alpha:g})"
        )
    else:
        why = (
            "forced"
            if force_adjustment and not test.rejects(alpha)
            else f"test rejects at {alpha:g}"
        )
        adj_text = (
            f"{applied} adjustment applied ({why}): limits "
            + (
                f"baseline +/- z*s*sqrt(phi), phi = {phi_used:.4g}"
                if applied == "multiplicative"
                else f"baseline +/- z*sqrt(s^2 + tau2), tau2 = {tau2_used:.4g}"
            )
            + ", normal approximation; an area is high or low when outside them"
        )
        sig_text = ""
    parts = [f"{kind} funnel ({statistic}); {base_text}; {limits_text}"]
    if sig_text:
        parts.append(sig_text)
    parts += [test_text, adj_text]
    method_text = "; ".join(parts)
    df["statistic"] = statistic
    df["method"] = method_text
    df["overdispersion"] = applied
    df["phi"] = test.phi
    df["tau2"] = test.tau2
    df["overdispersion_p_value"] = test.p_value
    df.attrs.update(
        {
            "method": method_text,
            "statistic": statistic,
            "levels": levels,
            "baseline": theta,
            "baseline_pooled": pooled,
            "funnel_type": kind,
            "denominator": denominator_col,
            "value": value_col,
            "limits": "normal" if kind == "proportion" else method,
            "overdispersion": applied,
            "overdispersion_requested": overdispersion,
            "overdispersion_forced": bool(force_adjustment),
            "overdispersion_alpha": alpha,
            "phi": test.phi,
            "tau2": test.tau2,
            "phi_applied": phi_used,
            "tau2_applied": tau2_used,
            "overdispersion_statistic": test.statistic,
            "overdispersion_df": test.df,
            "overdispersion_p_value": test.p_value,
        }
    )
    if kind == "rate":
        df.attrs["per"] = scale
    return df


def _spec_from_attrs(attrs: Mapping[str, Any]) -> _FunnelSpec:
    try:
        kind = attrs["funnel_type"]
        return _FunnelSpec(
            kind,
            float(attrs["baseline"]),
            float(attrs.get("per", 1.0)) if kind == "rate" else 1.0,
            attrs["limits"],
            attrs["overdispersion"],
            float(attrs["phi_applied"]),
            float(attrs["tau2_applied"]),
        )
    except KeyError as err:
        raise ValueError(
            f"not a funnel table from this module: .attrs lacks {err.args[0]!r} (pandas drops "
            "attrs on some operations; keep the table the funnel function returned)"
        ) from None


def funnel_lines(funnel: pd.DataFrame, denominator: Numeric, level: float) -> Interval:
    """The limits a funnel table was built with, at any denominators (to draw smooth lines).

    Reads the table's ``.attrs`` (kind, baseline, limit method and the over-dispersion
    adjustment actually applied) and evaluates the same limits on ``denominator``: ``n`` for a
    proportion funnel, the population for a rate funnel, the expected count for a ratio funnel.

    Parameters
    ----------
    funnel : pandas.DataFrame
        From :func:`proportion_funnel`, :func:`rate_funnel` or :func:`ratio_funnel`.
    denominator : float or array-like
        Positive denominators, e.g. a grid from the smallest to the largest area.
    level : float
        Control-limit level as a fraction.

    Returns
    -------
    Interval
        ``(lower, upper)`` in the units of the table's value column.

    Raises
    ------
    ValueError
        If the table lacks the funnel attributes or a denominator is not positive.

    Examples
    --------
    >>> f = rate_funnel([45, 60, 110], [10_000] * 3)
    >>> lo, hi = funnel_lines(f, [10_000], 0.998)
    >>> bool(lo[0] == f["lower_99_8"].iloc[0]), bool(hi[0] == f["upper_99_8"].iloc[0])
    (True, True)
    """
    spec = _spec_from_attrs(funnel.attrs)
    c = _check_confidence(level, "level")
    prep = _prepare(denominator=denominator)
    _check_positive(prep, "denominator")
    lo, hi = spec.limits(prep.arrays["denominator"], c)
    method = funnel.attrs.get("method", "")
    return prep.interval(lo, hi, method, c)


def _funnel_index(prep: _Prepared, labels: Sequence[Hashable] | None, k: int) -> pd.Index:
    if labels is not None:
        labels = list(labels)
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} entries but there are {k} areas")
        return pd.Index(labels, name="area")
    if prep.index is not None:
        return prep.index
    return pd.RangeIndex(k)


_FUNNEL_RETURNS = """
    Returns
    -------
    pandas.DataFrame
        One row per area: the inputs ({inputs}), ``{value}``, ``baseline``, ``z`` (the
        unadjusted z-score), ``lower_<L>`` / ``upper_<L>`` for each level (``<L>`` from
        :func:`level_suffix`: ``95``, ``99_8``), ``significance`` (:func:`significance_labels`),
        and, as PHE's outputs do, ``statistic`` and ``method`` (in words), ``overdispersion``
        (the adjustment applied: ``"none"``, ``"multiplicative"`` or ``"additive"``), ``phi``,
        ``tau2`` and ``overdispersion_p_value`` (Spiegelhalter's test, always computed).
        ``.attrs``: ``method``, ``statistic``, ``levels``, ``baseline``, ``baseline_pooled``,
        ``funnel_type``, ``denominator``, ``value``, ``limits`` (``"exact"`` or ``"normal"``),
        ``overdispersion``, ``overdispersion_requested``, ``overdispersion_forced``,
        ``overdispersion_alpha``, ``phi``, ``tau2``, ``phi_applied``, ``tau2_applied``,
        ``overdispersion_statistic``, ``overdispersion_df``, ``overdispersion_p_value``{extra}.
        :func:`funnel_lines` redraws the limits from these.
"""

_FUNNEL_OPTIONS = """levels : sequence of float, default (0.95, 0.998)
        Control-limit levels as fractions.
    overdispersion : {{"none", "multiplicative", "additive"}}, default "none"
        Adjustment to apply if the test rejects (``True`` means ``"multiplicative"``).
    labels : sequence, optional
        Area names, used as the index (named ``"area"``). Defaults to the index of a Series
        input, else 0..k-1.{method}
    baseline : float, optional
        Target {value}{per} (e.g. England's) instead of the pooled one.
    force_adjustment : bool, default False
        Apply the requested adjustment even if the test does not reject.
    overdispersion_alpha : float, default 0.05
        Significance level of the over-dispersion test."""

_FUNNEL_METHOD = """
    method : {"exact", "normal"}, default "exact"
        Limits without adjustment: PHE's exact method, or the normal approximation."""

_FUNNEL_OVERDISPERSION = """
    Over-dispersion (Spiegelhalter 2005) is always tested (:func:`overdispersion_test`:
    winsorised z-scores, ``I * phi`` against chi-square on ``I - 1`` df) and reported. With
    ``overdispersion="multiplicative"`` the variance is multiplied by ``phi``, with
    ``"additive"`` the between-area variance ``tau²`` is added, but only when the test rejects
    at ``overdispersion_alpha`` (or always, with ``force_adjustment=True``; ``phi`` is then
    floored at 1, so limits are never narrower than without adjustment). Adjusted limits are
    ``baseline +/- z * sqrt(phi s_i² + tau²)`` (normal approximation, ``s_i`` the area's
    standard error under the baseline) and an area is high or low when outside them. The
    multiplicative form suits variance proportional to the binomial/Poisson variance; the
    additive one suits areas whose true values differ by a fixed spread whatever their size,
    so it widens the limits of large areas most.
"""


def proportion_funnel(
    x: Numeric,
    n: Numeric,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: Adjustment | bool = "none",
    labels: Sequence[Hashable] | None = None,
    *,
    baseline: float | None = None,
    force_adjustment: bool = False,
    overdispersion_alpha: float = OVERDISPERSION_ALPHA,
) -> pd.DataFrame:
    """Funnel-plot table for proportions: baseline, limits and significance per area.

    The baseline is pooled, ``pi = sum(x) / sum(n)`` (not the mean of area proportions), unless
    one is given. Limits at each level are ``pi +/- z * sqrt(pi (1 - pi) / n)`` at each area's
    own ``n``, clipped to [0, 1] (:func:`funnel_limits`, the normal approximation PHE uses for
    proportion funnels). An area is "high"/"low" at a level when its proportion lies strictly
    outside that level's limits; the label names the highest such level. Numerators may be
    real (weighted or derived counts).
    {overdispersion}
    Parameters
    ----------
    x : array-like or pandas.Series
        Numerators, non-negative and at most ``n``.
    n : array-like or pandas.Series
        Denominators, positive.
    {options}
    {returns}
    Raises
    ------
    ValueError
        For invalid counts, levels or options, or an adjustment requested where it cannot be
        estimated (a baseline of 0 or 1, or a single area).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
       *Quality and Safety in Health Care* 14:347-351.
    .. [3] Public Health England. *Technical Guide: Funnel plots* (APHO, 2008).

    Examples
    --------
    >>> df = proportion_funnel([10, 30, 45], [100, 100, 100], labels=["A", "B", "C"])
    >>> round(df.attrs["baseline"], 4)
    0.2833
    >>> df["significance"].tolist()
    ['low (99.8%)', 'not significant', 'high (99.8%)']
    """
    return _funnel("proportion", **locals(), method="normal", per=1.0)


def rate_funnel(
    x: Numeric,
    population: Numeric,
    per: float = 10_000,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: Adjustment | bool = "none",
    labels: Sequence[Hashable] | None = None,
    *,
    method: Literal["exact", "normal"] = "exact",
    baseline: float | None = None,
    force_adjustment: bool = False,
    overdispersion_alpha: float = OVERDISPERSION_ALPHA,
) -> pd.DataFrame:
    """Funnel-plot table for rates per ``per``: baseline rate, limits and significance.

    The baseline is the pooled rate ``per * sum(x) / sum(population)`` unless one is given
    (e.g. England's rate, to compare local authorities with it). With ``method="exact"``
    (default, PHE's method) the limits at each area's population are
    :func:`count_funnel_limits` at its expected count ``baseline / per * population``, divided
    by the population, and an area's significance comes from its own exact (below 10 events)
    or Byar's interval (:func:`poisson_interval`) against that expected count: high when the
    interval lies wholly above it, low when wholly below. ``method="normal"`` uses the normal
    approximation to the Poisson instead (poor below about 10 expected events), named as such
    in the output; areas are then flagged when outside the limits.
    {overdispersion}
    Parameters
    ----------
    x : array-like or pandas.Series
        Event counts, non-negative (real values allowed, e.g. weighted counts).
    population : array-like or pandas.Series
        Population at risk, positive.
    per : float, default 10_000
        Rate base (e.g. per 10,000 children).
    {options}
    {returns}
    Raises
    ------
    ValueError
        For negative counts, non-positive populations, invalid levels, ``per`` or options, or
        an adjustment requested where it cannot be estimated (no events, or a single area).

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA): exact Poisson funnel limits and Byar's interval.
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [3] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
       *Quality and Safety in Health Care* 14:347-351.

    Examples
    --------
    >>> df = rate_funnel([45, 60, 110], [10_000, 10_000, 10_000], labels=["A", "B", "C"])
    >>> round(df.attrs["baseline"], 2), df.attrs["limits"]
    (71.67, 'exact')
    >>> df["significance"].tolist()
    ['low (99.8%)', 'not significant', 'high (99.8%)']
    >>> round(df.attrs["phi"], 2), round(df.attrs["overdispersion_p_value"], 6)
    (6.97, 2.9e-05)
    """
    return _funnel("rate", **locals())


def ratio_funnel(
    observed: Numeric,
    expected: Numeric,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: Adjustment | bool = "none",
    labels: Sequence[Hashable] | None = None,
    *,
    method: Literal["exact", "normal"] = "exact",
    baseline: float | None = None,
    force_adjustment: bool = False,
    overdispersion_alpha: float = OVERDISPERSION_ALPHA,
) -> pd.DataFrame:
    """Funnel-plot table for ratios of observed to expected counts (indirect standardisation).

    The ratio is ``observed / expected``; the baseline is the pooled ``sum(observed) /
    sum(expected)`` unless one is given (1 against an external standard). With
    ``method="exact"`` (default, PHE's method) the limits at an area's expected count ``E``
    are :func:`count_funnel_limits` at ``baseline * E``, divided by ``E``, and its
    significance comes from its own exact (below 10 events) or Byar's interval for the
    observed count against ``baseline * E``. ``method="normal"`` uses the normal approximation
    (``baseline +/- z sqrt(baseline / E)``), named as such.
    {overdispersion}
    Parameters
    ----------
    observed : array-like or pandas.Series
        Observed counts, non-negative.
    expected : array-like or pandas.Series
        Expected counts (e.g. from a model or age-standard rates), positive.
    {options}
    {returns}
    Raises
    ------
    ValueError
        As :func:`rate_funnel`, for non-positive expected counts.

    References
    ----------
    .. [1] PHEindicatormethods (UKHSA), ratio funnels: exact Poisson limits.
    .. [2] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.

    Examples
    --------
    >>> f = ratio_funnel([10, 30], [10.0, 20.0], labels=["A", "B"])
    >>> f["ratio"].tolist(), round(f.attrs["baseline"], 4), f["significance"].tolist()
    ([1.0, 1.5], 1.3333, ['not significant', 'not significant'])
    """
    return _funnel("ratio", **locals(), per=1.0)


for _f, _inputs, _value, _extra, _method in (
    (proportion_funnel, "``x``, ``n``", "proportion", "", ""),
    (rate_funnel, "``x``, ``population``", "rate", ", ``per``", _FUNNEL_METHOD),
    (ratio_funnel, "``observed``, ``expected``", "ratio", "", _FUNNEL_METHOD),
):
    _f.__doc__ = (_f.__doc__ or "").format(
        overdispersion=_FUNNEL_OVERDISPERSION,
        options=_FUNNEL_OPTIONS.format(
            method=_method, value=_value, per=" per ``per``" if _extra else ""
        ),
        returns=_FUNNEL_RETURNS.format(inputs=_inputs, value=_value, extra=_extra),
    )
del _f, _inputs, _value, _extra, _method


# --------------------------------------------------------------------------------------------
# Ratios
# --------------------------------------------------------------------------------------------


def rate_ratio(
    x: float,
    n: float,
    population_share: float | tuple[float, float],
    confidence: float = 0.95,
) -> RatioResult:
    """Over-representation of a group among cases relative to its share of the population.

    The ratio is (share of cases in the group) / (group's share of the population), which equals
    the group's rate divided by the overall rate. E.g. 144 of 498 exploited children looked
    after, against looked-after children being about 0.59% of all children, gives about 49.

    Assumptions: the cases are a random sample from the cases of interest (so the Wilson interval
    describes the case share's sampling error); cases and population refer to the same place and
    period; the population share is either known exactly or known to lie in a range
    ``(low, high)``, treated as bounds, not as a probability distribution.

    * Point: ``(x / n) / s`` with ``s`` the share, or the midpoint ``(low + high) / 2`` of a
      range.
    * Interval: the Wilson interval of ``x / n`` divided by the share; for a range, the lowest
      lower limit (Wilson lower / high) and the highest upper limit (Wilson upper / low), which
      is conservative. To treat the share as a distribution instead, use :func:`propagate`.

    Parameters
    ----------
    x : float
        Cases in the group (a count, or a derived count such as ``0.29 * 498``).
    n : float
        All cases (positive, at least ``x``).
    population_share : float or (float, float)
        The group's share of the population, in (0, 1], or a ``(low, high)`` range.
    confidence : float, default 0.95
        Confidence level as a fraction.

    Returns
    -------
    RatioResult
        ``ratio``, ``lower``, ``upper``, ``method``, ``confidence`` and ``details`` with keys
        ``case_share``, ``case_share_lower``, ``case_share_upper``, ``population_share_low``,
        ``population_share_high`` and ``ratio_range`` (the point ratio at each end of the
        population-share range).

    Raises
    ------
    ValueError
        For invalid counts or confidence, a share outside (0, 1], or a range with
        ``low > high``.

    References
    ----------
    .. [1] Wilson (1927), the score interval of the case share: see :func:`wilson_interval`.

    Examples
    --------
    >>> r = rate_ratio(144, 498, 0.0059)
    >>> round(r.ratio, 1), round(r.lower, 1), round(r.upper, 1)
    (49.0, 42.6, 56.0)
    >>> r = rate_ratio(144, 498, (0.0055, 0.0063))
    >>> round(r.lower, 1), round(r.upper, 1)
    (39.9, 60.1)

    Treating the population share as uniform over the range instead (and the case share as
    normal with its binomial standard error), :func:`propagate` gives a narrower interval:

    >>> share = 144 / 498
    >>> res = propagate(
    ...     lambda case_share, pop_share: case_share / pop_share,
    ...     {
    ...         "case_share": normal(share, (share * (1 - share) / 498) ** 0.5),
    ...         "pop_share": uniform(0.0055, 0.0063),
    ...     },
    ... )
    >>> round(res.mean), [round(v) for v in res.interval]
    (49, [42, 57])
    """
    c = _check_confidence(confidence)
    if isinstance(population_share, numbers.Real):
        low = high = float(population_share)
    else:
        try:
            low, high = (float(v) for v in population_share)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"population share must be a number or a (low, high) pair; got {population_share!r}"
            ) from err
    for v in (low, high):
        if not (math.isfinite(v) and 0.0 < v <= 1.0):
            raise ValueError(f"population share must be a fraction in (0, 1]; got {v!r}")
    if low > high:
        raise ValueError(
            f"population share range must be (low, high) with low <= high; got ({low!r}, {high!r})"
        )
    lo_s, hi_s = wilson_interval(x, n, c)
    share = float(x) / float(n)
    mid = (low + high) / 2.0
    exact = low == high
    method = "case share / population share; Wilson interval of the case share divided by the " + (
        "population share (taken as exact)"
        if exact
        else "population share range (lowest lower limit, highest upper limit)"
    )
    return RatioResult(
        ratio=share / mid,
        lower=lo_s / high,
        upper=hi_s / low,
        method=method,
        confidence=c,
        details={
            "case_share": share,
            "case_share_lower": lo_s,
            "case_share_upper": hi_s,
            "population_share_low": low,
            "population_share_high": high,
            "ratio_range": (share / high, share / low),
        },
    )


def two_group_rate_ratio(
    a: float,
    pop_a: float,
    b: float,
    pop_b: float,
    confidence: float = 0.95,
    method: Literal["poisson", "katz"] = "poisson",
) -> RatioResult:
    """Ratio of two rates ``(a / pop_a) / (b / pop_b)`` with a log-scale confidence interval.

    * ``"poisson"``: counts are Poisson with the populations as exposures;
      ``SE(log RR) = sqrt(1/a + 1/b)`` (Wald on the log scale), via
      :func:`statsmodels.stats.rates.confint_poisson_2indep` (``method="wald-log"``).
    * ``"katz"``: counts are binomial out of the populations (a risk ratio);
      ``SE(log RR) = sqrt(1/a - 1/pop_a + 1/b - 1/pop_b)``, via
      :func:`statsmodels.stats.proportion.confint_proportions_2indep` (``method="log"``).

    Both need ``a > 0`` and ``b > 0``; the groups must be independent.

    Parameters
    ----------
    a, b : float
        Event counts in the two groups (positive; real values such as weighted counts are
        accepted).
    pop_a, pop_b : float
        Populations (exposures) of the two groups, positive (at least the counts for
        ``"katz"``).
    confidence : float, default 0.95
        Confidence level as a fraction.
    method : {"poisson", "katz"}, default "poisson"
        Variance model, see above.

    Returns
    -------
    RatioResult
        ``ratio``, ``lower``, ``upper``, ``method``, ``confidence``; ``details`` has
        ``rate_a`` and ``rate_b`` (events per head).

    Raises
    ------
    ValueError
        If a count is not positive, a population not positive, (``"katz"``) a count exceeds its
        population, or ``confidence``/``method`` are invalid.

    References
    ----------
    .. [1] Katz, D., Baptista, J., Azen, S. P. and Pike, M. C. (1978). Obtaining confidence
       intervals for the risk ratio in cohort studies. *Biometrics* 34:469-474.
    .. [2] Rothman, K. J., Greenland, S. and Lash, T. L. (2008). *Modern Epidemiology*, 3rd
       ed., ch. 14 (rate ratio, Wald interval on the log scale).

    Examples
    --------
    >>> r = two_group_rate_ratio(20, 1000, 10, 2000)
    >>> round(r.ratio, 2), round(r.lower, 2), round(r.upper, 2)
    (4.0, 1.87, 8.55)
    """
    c = _check_confidence(confidence)
    if method not in ("poisson", "katz"):
        raise ValueError(f'method must be "poisson" or "katz"; got {method!r}')
    for name, v in (("a", a), ("b", b)):
        if not (isinstance(v, numbers.Real) and v > 0):
            raise ValueError(f"{name} must be a positive count for a log-scale interval; got {v!r}")
    for name, v in (("pop_a", pop_a), ("pop_b", pop_b)):
        if not (isinstance(v, numbers.Real) and v > 0):
            raise ValueError(f"{name} must be positive; got {v!r}")
    alpha = 1.0 - c
    if method == "poisson":
        lo, hi = confint_poisson_2indep(
            a, pop_a, b, pop_b, method="wald-log", compare="ratio", alpha=alpha
        )
        label = "rate ratio; Wald interval on the log scale, SE = sqrt(1/a + 1/b) (Poisson)"
    else:
        prep = _prepare(a=a, pop_a=pop_a)
        _check_binomial(prep, "a", "pop_a")
        prep = _prepare(b=b, pop_b=pop_b)
        _check_binomial(prep, "b", "pop_b")
        lo, hi = _confint_katz(a, pop_a, b, pop_b, alpha)
        label = "risk ratio; Katz log interval, SE = sqrt(1/a - 1/pop_a + 1/b - 1/pop_b)"
    ra, rb = a / pop_a, b / pop_b
    return RatioResult(
        ratio=float(ra / rb),
        lower=float(lo),
        upper=float(hi),
        method=label,
        confidence=c,
        details={"rate_a": float(ra), "rate_b": float(rb)},
    )


def _confint_katz(a: float, na: float, b: float, nb: float, alpha: float) -> tuple[float, float]:
    lo, hi = confint_proportions_2indep(a, na, b, nb, method="log", compare="ratio", alpha=alpha)
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


def claim_test(
    x: int,
    n: int,
    threshold: float,
    direction: Literal["greater", "less"],
    confidence: float = 0.95,
) -> ClaimTest:
    """Check a worded claim about a share ("over half", "less than a quarter") against data.

    One decision, from one kind of test: the exact binomial test
    (:func:`scipy.stats.binomtest`) of ``H0: share = threshold``, one-sided, each direction at
    level ``alpha = (1 - confidence) / 2``:

    * "supported": the test in the claimed direction rejects (``p_claimed < alpha``);
    * "contradicted": the test in the opposite direction rejects (``p_opposite < alpha``);
    * "inconclusive": neither does.

    ``p_value`` and ``test`` report the test the conclusion came from (the claimed direction's
    unless the claim is contradicted). The two-sided Clopper-Pearson interval at ``confidence``
    is reported beside it and, being the inversion of the same two one-sided tests, agrees: it
    lies wholly on the claimed side exactly when the claim is supported. So at the default 95%
    a p-value of 0.044 is *not* below its level, 0.025, and the claim is inconclusive.

    The cases are assumed to be a random sample of those the claim is about. The exact test
    needs whole counts: carry a rounded share's uncertainty with
    :func:`counts_consistent_with_share` (test each consistent count) rather than passing a
    derived count.

    Parameters
    ----------
    x : int
        Cases with the characteristic (a whole number: the exact binomial test needs counts).
    n : int
        Cases examined (positive whole number, at least ``x``).
    threshold : float
        The share the claim refers to, in (0, 1): 0.5 for "over half", 0.25 for "a quarter".
    direction : {"greater", "less"}
        "greater" for "over/more than", "less" for "under/less than".
    confidence : float, default 0.95
        Confidence level of the interval; each one-sided test uses ``(1 - confidence) / 2``.

    Returns
    -------
    ClaimTest
        Frozen dataclass with ``x``, ``n``, ``threshold``, ``direction``, ``estimate``,
        ``lower``, ``upper``, ``conclusion``, ``test``, ``p_value``, ``alpha``, ``p_claimed``,
        ``p_opposite``, ``method`` and ``confidence``; ``summary`` says it in one sentence.

    Raises
    ------
    ValueError
        For invalid or non-whole counts or confidence, ``threshold`` outside (0, 1), or an
        unknown ``direction``.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits
       illustrated in the case of the binomial. *Biometrika* 26:404-413.

    Examples
    --------
    >>> t = claim_test(90, 100, 0.5, "greater")
    >>> t.conclusion, round(t.lower, 3), round(t.upper, 3)
    ('supported', 0.824, 0.951)
    >>> t = claim_test(59, 100, 0.5, "greater")
    >>> t.summary
    'inconclusive: one-sided exact binomial test of share = 0.5 against share > 0.5, p = 0.0443 (>= 0.025)'
    """
    c = _check_confidence(confidence)
    if direction not in ("greater", "less"):
        raise ValueError(f'direction must be "greater" or "less"; got {direction!r}')
    if not (isinstance(threshold, numbers.Real) and 0.0 < float(threshold) < 1.0):
        raise ValueError(f"threshold must be a share in (0, 1), e.g. 0.5; got {threshold!r}")
    prep = _prepare(x=x, n=n)
    if not prep.scalar:
        raise ValueError("claim_test takes a single count x and denominator n")
    _check_binomial(prep, whole="claim_test's exact binomial test")
    xi, ni = int(prep.arrays["x"]), int(prep.arrays["n"])
    t = float(threshold)
    alpha = (1.0 - c) / 2.0
    opposite = "less" if direction == "greater" else "greater"
    p_claimed = float(_sps.binomtest(xi, ni, p=t, alternative=direction).pvalue)
    p_opposite = float(_sps.binomtest(xi, ni, p=t, alternative=opposite).pvalue)
    ci = _sps.binomtest(xi, ni).proportion_ci(confidence_level=c, method="exact")
    sign = {"greater": ">", "less": "<"}

    def named(side: str) -> str:
        return f"one-sided exact binomial test of share = {t:g} against share {sign[side]} {t:g}"

    if p_claimed < alpha:
        decision = {"conclusion": "supported", "test": named(direction), "p_value": p_claimed}
    elif p_opposite < alpha:
        decision = {"conclusion": "contradicted", "test": named(opposite), "p_value": p_opposite}
    else:
        decision = {"conclusion": "inconclusive", "test": named(direction), "p_value": p_claimed}
    method = (
        f"exact binomial tests, one-sided in each direction at {alpha:g}; two-sided "
        f"Clopper-Pearson interval at {level_text(c)} (the same decision)"
    )
    claim = {"x": xi, "n": ni, "threshold": t, "direction": direction, "estimate": xi / ni}
    interval = {"lower": float(ci.low), "upper": float(ci.high), "confidence": c}
    tests = {"alpha": alpha, "p_claimed": p_claimed, "p_opposite": p_opposite, "method": method}
    return ClaimTest(**claim, **interval, **decision, **tests)


#: Slack for floating-point error when a rounded share's bounds fall exactly on a count.
_ROUNDING_EPS = 1e-9


def counts_consistent_with_share(share: float, n: int, decimals: int = 2) -> tuple[int, int]:
    """Return the range of whole counts ``x`` of ``n`` whose share rounds to ``share``.

    A published "29%" of 498 could be anything from 28.5% to 29.5%, i.e. 142 to 146 children.
    When no count rounds exactly (e.g. "a third" written as 0.333 with ``n = 100``), the nearest
    count ``round(share * n)`` is returned for both ends.

    Parameters
    ----------
    share : float
        The published share, a fraction.
    n : int
        Denominator.
    decimals : int, default 2
        Decimal places the share was rounded to (2 for whole percents).

    Returns
    -------
    tuple of int
        ``(x_min, x_max)``, inclusive.

    Examples
    --------
    >>> counts_consistent_with_share(0.29, 498)
    (142, 146)
    >>> counts_consistent_with_share(0.25, 100)
    (25, 25)
    >>> counts_consistent_with_share(0.333, 100, decimals=3)
    (33, 33)
    """
    if not (isinstance(n, (int, np.integer)) and n > 0):
        raise ValueError(f"n must be a positive whole number; got {n!r}")
    half = 0.5 * 10.0 ** (-decimals)
    lo = math.ceil((share - half) * n - _ROUNDING_EPS)
    hi = math.floor((share + half) * n - _ROUNDING_EPS)  # upper end excluded (rounds up)
    lo, hi = max(lo, 0), min(hi, int(n))
    if lo > hi:
        x = round(share * n)
        return int(x), int(x)
    return int(lo), int(hi)


def rounded_share_interval(
    share: float, n: int, confidence: float = 0.95, decimals: int = 2
) -> RatioResult:
    """Wilson interval for a share stated as a rounded percentage, rounding carried in.

    The stated share is consistent with several whole counts
    (:func:`counts_consistent_with_share`);
    the interval runs from the Wilson lower limit of the smallest to the Wilson upper limit of
    the largest, so it covers every count the rounding allows (conservative: bounds, not a
    distribution over the counts).

    Parameters
    ----------
    share : float
        The stated share as a fraction.
    n : int
        The denominator.
    confidence : float, default 0.95
        Confidence level as a fraction.
    decimals : int, default 2
        Decimal places the share (a fraction) was rounded to: 2 for whole percents.

    Returns
    -------
    RatioResult
        ``ratio`` is the stated share, ``lower``/``upper`` the interval; ``details`` has
        ``x_min`` and ``x_max`` (the consistent counts), ``share_min``/``share_max`` (their
        shares) and ``wilson_at_stated`` (the interval of the derived count ``share * n``).

    Raises
    ------
    ValueError
        If ``n`` is not a positive whole number or ``confidence`` is not in (0, 1).

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. *Journal of the American Statistical Association* 22:209-212.

    Examples
    --------
    >>> r = rounded_share_interval(0.29, 498)
    >>> r.details["x_min"], r.details["x_max"], round(r.lower, 4), round(r.upper, 4)
    (142, 146, 0.2473, 0.3346)
    """
    c = _check_confidence(confidence)
    x_min, x_max = counts_consistent_with_share(share, n, decimals)
    shown = max(int(decimals) - 2, 0)
    lo = float(wilson_interval(x_min, n, c).lower)
    hi = float(wilson_interval(x_max, n, c).upper)
    return RatioResult(
        ratio=float(share),
        lower=lo,
        upper=hi,
        method=(
            f"Wilson interval, from its lower limit at the smallest to its upper limit at the "
            f"largest count whose share rounds to {float(share) * 100:.{shown}f}%"
        ),
        confidence=c,
        details={
            "x_min": x_min,
            "x_max": x_max,
            "share_min": x_min / n,
            "share_max": x_max / n,
            "wilson_at_stated": tuple(float(v) for v in wilson_interval(float(share) * n, n, c)),
        },
    )


# --------------------------------------------------------------------------------------------
# Monte Carlo propagation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """An input distribution for :func:`propagate`.

    Build one with :func:`uniform`, :func:`triangular`, :func:`normal` or :func:`fixed`.

    Attributes
    ----------
    kind : str
        ``"uniform"``, ``"triangular"``, ``"normal"`` or ``"fixed"``.
    params : tuple of float
        The parameters in the order of the helper's arguments.
    """

    kind: str
    params: tuple[float, ...]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values with ``rng``."""
        if self.kind == "uniform":
            return rng.uniform(self.params[0], self.params[1], size)
        if self.kind == "triangular":
            return rng.triangular(*self.params, size)
        if self.kind == "normal":
            return rng.normal(self.params[0], self.params[1], size)
        if self.kind == "fixed":
            return np.full(size, self.params[0])
        raise ValueError(f"unknown distribution kind {self.kind!r}")  # pragma: no cover

    @property
    def mean(self) -> float:
        """Theoretical mean."""
        p = self.params
        if self.kind == "uniform":
            return (p[0] + p[1]) / 2.0
        if self.kind == "triangular":
            return (p[0] + p[1] + p[2]) / 3.0
        return p[0]


#: The Returns and Raises sections of :func:`uniform`, :func:`triangular`, :func:`normal` and
#: :func:`fixed` (filled into their docstrings below each).
_DISTRIBUTION_RETURNS = """
    Returns
    -------
    Distribution
        Its ``params`` in the order of the arguments, for :func:`propagate`.

    Raises
    ------
    ValueError
        If {raises}.
"""


def _finite(**values: Any) -> None:
    for name, v in values.items():
        if not (isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite number; got {v!r}")


def uniform(low: float, high: float) -> Distribution:
    """Make a uniform distribution on [low, high], for "somewhere between" inputs.

    Parameters
    ----------
    low, high : float
        Bounds, ``low < high``.
    {returns}
    Examples
    --------
    >>> uniform(180_000, 220_000).mean  # "about 200,000", +/- 10%
    200000.0
    """
    _finite(low=low, high=high)
    if not low < high:
        raise ValueError(f"uniform needs low < high; got low={low!r}, high={high!r}")
    return Distribution("uniform", (float(low), float(high)))


def triangular(low: float, mode: float, high: float) -> Distribution:
    """Make a triangular distribution, for "about m, surely between low and high" inputs.

    Parameters
    ----------
    low, mode, high : float
        ``low <= mode <= high`` and ``low < high``.
    {returns}
    Examples
    --------
    >>> triangular(180_000, 200_000, 220_000).mean
    200000.0
    """
    _finite(low=low, mode=mode, high=high)
    if not (low <= mode <= high and low < high):
        raise ValueError(
            f"triangular needs low <= mode <= high and low < high; got {low!r}, {mode!r}, {high!r}"
        )
    return Distribution("triangular", (float(low), float(mode), float(high)))


def normal(mean: float, sd: float) -> Distribution:
    """Make a normal distribution with mean ``mean`` and standard deviation ``sd``.

    Parameters
    ----------
    mean : float
    sd : float
        Standard deviation, positive.
    {returns}
    Examples
    --------
    >>> normal(0.29, 0.02).mean
    0.29
    """
    _finite(mean=mean, sd=sd)
    if not sd > 0:
        raise ValueError(f"normal needs a positive sd; got sd={sd!r}")
    return Distribution("normal", (float(mean), float(sd)))


def fixed(value: float) -> Distribution:
    """Make a known constant (no uncertainty).

    Parameters
    ----------
    value : float
    {returns}
    Examples
    --------
    >>> fixed(498).mean
    498.0
    """
    _finite(value=value)
    return Distribution("fixed", (float(value),))


for _f, _raises in (
    (uniform, "the bounds are not finite or ``low >= high``"),
    (triangular, "the parameters are not finite or not ordered"),
    (normal, "the parameters are not finite or ``sd <= 0``"),
    (fixed, "``value`` is not finite"),
):
    _f.__doc__ = (_f.__doc__ or "").format(returns=_DISTRIBUTION_RETURNS.format(raises=_raises))
del _f, _raises


def propagate(
    func: Callable[..., Any],
    inputs: Mapping[str, Distribution | float],
    n: int = 100_000,
    seed: int | None = DEFAULT_SEED,
    confidence: float = 0.95,
) -> PropagationResult:
    """Propagate uncertain inputs through a function by Monte Carlo simulation.

    Draws ``n`` values of each input independently (in the order of ``inputs``, from one
    :func:`numpy.random.default_rng` generator seeded with ``seed``), calls ``func`` once with
    the arrays as keyword arguments, and summarises the output. The same seed gives identical
    results. ``func`` must be vectorised (use numpy operations).

    Parameters
    ----------
    func : callable
        ``func(**{name: ndarray})`` returning an array of ``n`` values (or a scalar).
    inputs : mapping of str to Distribution or float
        Input distributions (:func:`uniform`, :func:`triangular`, :func:`normal`,
        :func:`fixed`); plain numbers are treated as :func:`fixed`.
    n : int, default 100_000
        Number of draws.
    seed : int or None, default DEFAULT_SEED (20120910)
        Seed; ``None`` for fresh entropy (not reproducible).
    confidence : float, default 0.95
        Level of the equal-tailed percentile interval.

    Returns
    -------
    PropagationResult
        ``samples``, ``mean``, ``median``, ``sd``, ``interval``, ``confidence``, ``n``, ``seed``
        and ``method``.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer, ``confidence`` is invalid, an input is not a
        distribution or number, or ``func`` returns the wrong shape or non-finite values.

    References
    ----------
    .. [1] JCGM 101:2008. *Evaluation of measurement data - Supplement 1 to the "Guide to the
       expression of uncertainty in measurement" - Propagation of distributions using a Monte
       Carlo method*.

    Examples
    --------
    >>> res = propagate(
    ...     lambda cases, share, children: cases * share / children * 10_000,
    ...     {"cases": 498, "share": normal(0.29, 0.02), "children": uniform(10e6, 12e6)},
    ...     n=10_000,
    ... )
    >>> round(res.mean, 2)
    0.13
    """
    c = _check_confidence(confidence)
    if not (isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0):
        raise ValueError(f"n must be a positive integer; got {n!r}")
    rng = np.random.default_rng(seed)
    draws: dict[str, np.ndarray] = {}
    for name, dist in inputs.items():
        if isinstance(dist, numbers.Real) and not isinstance(dist, bool):
            dist = fixed(float(dist))
        if not isinstance(dist, Distribution):
            raise ValueError(
                f"input {name!r} must be a Distribution (uniform, triangular, normal, fixed) or "
                f"a number; got {dist!r}"
            )
        draws[name] = dist.sample(rng, int(n))
    out = np.asarray(func(**draws), dtype=float)
    if out.ndim == 0:
        out = np.full(int(n), float(out))
    if out.shape != (int(n),):
        raise ValueError(f"func must return {n} values (one per draw); got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError("func returned non-finite values (e.g. division by zero in some draws)")
    out = out.copy()
    out.setflags(write=False)
    tail = (1.0 - c) / 2.0 * 100.0
    lo, hi = np.percentile(out, [tail, 100.0 - tail])
    return PropagationResult(
        samples=out,
        mean=float(out.mean()),
        median=float(np.median(out)),
        sd=float(out.std(ddof=1)) if n > 1 else 0.0,
        interval=(float(lo), float(hi)),
        confidence=c,
        n=int(n),
        seed=seed,
        method=f"Monte Carlo propagation (n={n}, seed={seed}, independent inputs)",
    )
