"""Statistics for comparing areas and checking published claims.

Confidence intervals for proportions and counts, crude rates, funnel plots (with optional
Spiegelhalter over-dispersion), ratios of representation, exact tests of worded claims, and
Monte Carlo propagation of uncertain inputs.

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
    "counts_consistent_with_share",
    "BYAR_THRESHOLD",
    "DEFAULT_SEED",
    "ClaimTest",
    "Distribution",
    "Interval",
    "PropagationResult",
    "RatioResult",
    "claim_test",
    "fixed",
    "funnel_limits",
    "normal",
    "poisson_interval",
    "propagate",
    "proportion_funnel",
    "rate_funnel",
    "rate_funnel_limits",
    "rate_interval",
    "rate_ratio",
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
    p_value : float
        One-sided exact binomial p-value against ``H0: share = threshold`` in ``direction``.
    conclusion : {"supported", "contradicted", "inconclusive"}
        From the interval: "supported" if it lies wholly on the claimed side of ``threshold``,
        "contradicted" if wholly on the other side (touching ``threshold`` counts as the other
        side), otherwise "inconclusive".
    method : str
        Names the test and interval.
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
    p_value: float
    conclusion: str
    method: str
    confidence: float

    @property
    def interval(self) -> tuple[float, float]:
        """``(lower, upper)``."""
        return (self.lower, self.upper)


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


def _check_binomial(prep: _Prepared, x: str = "x", n: str = "n") -> None:
    """Binomial inputs: whole-number x >= 0, n > 0, x <= n."""
    xv, nv = prep.arrays[x], prep.arrays[n]
    bad = xv < 0
    if bad.any():
        raise ValueError(
            f"numerator must not be negative; got {x}={prep.first(x, bad)}{prep.where(bad)}"
        )
    bad = nv <= 0
    if bad.any():
        raise ValueError(
            f"denominator must be positive; got {n}={prep.first(n, bad)}{prep.where(bad)}"
        )
    for name, arr in ((x, xv), (n, nv)):
        bad = arr != np.round(arr)
        if bad.any():
            raise ValueError(
                f"{name} must be a whole number (a count); got {name}={prep.first(name, bad)}"
                f"{prep.where(bad)}"
            )
    bad = xv > nv
    if bad.any():
        raise ValueError(
            f"numerator must not exceed denominator; got {x}={prep.first(x, bad)} > "
            f"{n}={prep.first(n, bad)}{prep.where(bad)}"
        )


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    if isinstance(levels, numbers.Real):
        levels = (levels,)
    out = tuple(sorted({_check_confidence(c, "each level") for c in levels}))
    if not out:
        raise ValueError("levels must contain at least one confidence level, e.g. (0.95, 0.998)")
    return out


def _level_suffix(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99_8'."""
    return f"{level * 100:.10g}".replace(".", "_")


def _level_text(level: float) -> str:
    """0.95 -> '95%', 0.998 -> '99.8%'."""
    return f"{level * 100:.10g}%"


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------


def wilson_interval(x: Numeric, n: Numeric, confidence: float = 0.95) -> Interval:
    """Wilson score confidence interval for a proportion ``x / n``.

    Computed with :func:`statsmodels.stats.proportion.proportion_confint` (``method="wilson"``,
    no continuity correction) and clipped to [0, 1]; the lower limit is exactly 0 when
    ``x = 0`` and the upper exactly 1 when ``x = n``.

    Parameters
    ----------
    x : int, array-like or pandas.Series
        Numerator: whole-number counts (floats such as ``20.0`` are accepted).
    n : int, array-like or pandas.Series
        Denominator, positive whole numbers, at least ``x``. Broadcast against ``x``.
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
        If ``confidence`` is not in (0, 1), ``x < 0``, ``n <= 0``, ``x > n``, or ``x``/``n`` are
        not whole numbers.

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
    attrs = {"method": "wilson", "confidence": c}
    return Interval(prep.wrap(lo, "lower", **attrs), prep.wrap(hi, "upper", **attrs), "wilson", c)


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
    summary = _method_summary(names)
    attrs = {"method": summary, "confidence": c}
    return Interval(prep.wrap(lo, "lower", **attrs), prep.wrap(hi, "upper", **attrs), summary, c)


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
    if not (isinstance(per, numbers.Real) and per > 0):
        raise ValueError(f"per must be a positive number, e.g. 10_000; got {per!r}")
    prep = _prepare(x=x, population=population)
    _check_counts(prep, "x")
    pop = prep.arrays["population"]
    bad = pop <= 0
    if bad.any():
        raise ValueError(
            f"population must be positive; got population={prep.first('population', bad)}"
            f"{prep.where(bad)}"
        )
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


def _check_phi(phi: Any) -> float:
    if not (isinstance(phi, numbers.Real) and math.isfinite(phi) and phi > 0):
        raise ValueError(f"phi (over-dispersion factor) must be a positive number; got {phi!r}")
    return float(phi)


def funnel_limits(
    baseline: float, n: Numeric, confidence: float = 0.95, *, phi: float = 1.0
) -> Interval:
    """Funnel-plot control limits for a proportion at denominator(s) ``n``.

    Normal approximation to the binomial around the baseline:
    ``baseline +/- z * sqrt(phi * baseline * (1 - baseline) / n)``, clipped to [0, 1].

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

    Returns
    -------
    Interval
        ``(lower, upper)`` shaped like ``n``. ``.method`` names the approximation and ``phi``.

    Raises
    ------
    ValueError
        If ``baseline`` is outside [0, 1], ``n <= 0``, ``phi <= 0`` or ``confidence`` is not in
        (0, 1).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [2] Public Health England. *Technical Guide: Funnel plots* (APHO, 2008).

    Examples
    --------
    >>> lo, hi = funnel_limits(0.80642448, [598, 110000], 0.95)
    >>> (lo * 100).round(4).tolist(), (hi * 100).round(4).tolist()
    ([77.4758, 80.409], [83.8091, 80.8759])
    """
    c = _check_confidence(confidence)
    phi = _check_phi(phi)
    if not (isinstance(baseline, numbers.Real) and 0.0 <= float(baseline) <= 1.0):
        raise ValueError(f"baseline must be a proportion in [0, 1]; got {baseline!r}")
    prep = _prepare(n=n)
    bad = prep.arrays["n"] <= 0
    if bad.any():
        raise ValueError(
            f"denominator must be positive; got n={prep.first('n', bad)}{prep.where(bad)}"
        )
    p = float(baseline)
    half = z_value(c) * np.sqrt(phi * p * (1.0 - p) / prep.arrays["n"])
    lo = np.clip(p - half, 0.0, 1.0)
    hi = np.clip(p + half, 0.0, 1.0)
    method = "normal approximation to the binomial"
    if phi != 1.0:
        method += f", variance inflated by phi={phi:.4g}"
    attrs = {"method": method, "confidence": c}
    return Interval(prep.wrap(lo, "lower", **attrs), prep.wrap(hi, "upper", **attrs), method, c)


def rate_funnel_limits(
    baseline: float,
    population: Numeric,
    confidence: float = 0.95,
    *,
    per: float = 10_000,
    phi: float = 1.0,
) -> Interval:
    """Funnel-plot control limits for a rate per ``per`` at population(s) ``population``.

    Normal approximation to the Poisson around the baseline rate: with ``lam = baseline / per``
    (events per head), limits are ``per * (lam +/- z * sqrt(phi * lam / population))``, the
    lower limit clipped at 0.

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
    phi : float, default 1.0
        Multiplicative over-dispersion factor for the Poisson variance.

    Returns
    -------
    Interval
        ``(lower, upper)`` per ``per``, shaped like ``population``.

    Raises
    ------
    ValueError
        If ``baseline < 0``, ``population <= 0``, ``per <= 0``, ``phi <= 0`` or ``confidence``
        is not in (0, 1).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.

    Examples
    --------
    >>> lo, hi = rate_funnel_limits(50.0, 10_000, 0.95)
    >>> round(lo, 2), round(hi, 2)
    (36.14, 63.86)
    """
    c = _check_confidence(confidence)
    phi = _check_phi(phi)
    if not (isinstance(per, numbers.Real) and per > 0):
        raise ValueError(f"per must be a positive number, e.g. 10_000; got {per!r}")
    if not (isinstance(baseline, numbers.Real) and float(baseline) >= 0.0):
        raise ValueError(f"baseline rate must be a non-negative number; got {baseline!r}")
    prep = _prepare(population=population)
    bad = prep.arrays["population"] <= 0
    if bad.any():
        raise ValueError(
            f"population must be positive; got population={prep.first('population', bad)}"
            f"{prep.where(bad)}"
        )
    lam = float(baseline) / per
    half = z_value(c) * np.sqrt(phi * lam / prep.arrays["population"])
    lo = np.clip(lam - half, 0.0, None) * per
    hi = (lam + half) * per
    method = "normal approximation to the Poisson"
    if phi != 1.0:
        method += f", variance inflated by phi={phi:.4g}"
    attrs = {"method": method, "confidence": c}
    return Interval(prep.wrap(lo, "lower", **attrs), prep.wrap(hi, "upper", **attrs), method, c)


def _winsorised_phi(z: np.ndarray, trim: float = 0.1) -> float:
    """Spiegelhalter's over-dispersion factor: mean of squared winsorised z-scores."""
    lo, hi = np.quantile(z, [trim, 1.0 - trim])
    zw = np.clip(z, lo, hi)
    return float(np.sum(zw**2) / z.size)


def _funnel_frame(
    *,
    value: np.ndarray,
    z: np.ndarray,
    limits: Callable[[float, float], tuple[np.ndarray, np.ndarray]],
    levels: tuple[float, ...],
    overdispersion: bool,
    index: pd.Index,
    columns: dict[str, np.ndarray],
    baseline: float,
    base_method: str,
    funnel_type: str,
    denominator: str,
    value_col: str,
) -> pd.DataFrame:
    phi_hat = _winsorised_phi(z) if overdispersion else float("nan")
    applied = bool(overdispersion and phi_hat > 1.0)
    phi = phi_hat if applied else 1.0

    df = pd.DataFrame(columns, index=index)
    df[value_col] = value
    df["baseline"] = baseline
    df["z"] = z
    significance = np.full(value.shape, "not significant", dtype=object)
    for level in levels:  # ascending, so the highest level outside wins
        lo, hi = limits(level, phi)
        sfx = _level_suffix(level)
        df[f"lower_{sfx}"] = lo
        df[f"upper_{sfx}"] = hi
        significance = np.where(value > hi, f"high ({_level_text(level)})", significance)
        significance = np.where(value < lo, f"low ({_level_text(level)})", significance)
    df["significance"] = significance.astype(str)

    if not overdispersion:
        method = f"{base_method}; no over-dispersion adjustment"
    elif applied:
        method = (
            f"{base_method}; Spiegelhalter over-dispersion (10% winsorised z-scores), "
            f"variance inflated by phi={phi_hat:.4g}"
        )
    else:
        method = (
            f"{base_method}; Spiegelhalter over-dispersion estimated phi={phi_hat:.4g} <= 1, "
            "not applied"
        )
    df["method"] = method
    df.attrs.update(
        {
            "method": method,
            "levels": levels,
            "baseline": baseline,
            "overdispersion_factor": phi_hat if overdispersion else None,
            "overdispersion_applied": applied,
            "phi": phi,
            "funnel_type": funnel_type,
            "denominator": denominator,
            "value": value_col,
        }
    )
    return df


def _funnel_index(prep: _Prepared, labels: Sequence[Hashable] | None, k: int) -> pd.Index:
    if labels is not None:
        labels = list(labels)
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} entries but there are {k} areas")
        return pd.Index(labels, name="area")
    if prep.index is not None:
        return prep.index
    return pd.RangeIndex(k)


def proportion_funnel(
    x: Numeric,
    n: Numeric,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: bool = False,
    labels: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Funnel-plot table for proportions: pooled baseline, limits and significance per area.

    The baseline is pooled, ``pi = sum(x) / sum(n)`` (not the mean of area proportions). Limits
    at each level are ``pi +/- z * sqrt(phi * pi * (1 - pi) / n)`` at each area's own ``n``,
    clipped to [0, 1] (:func:`funnel_limits`). An area is "high"/"low" at a level when its
    proportion lies strictly outside that level's limits; the label names the highest such
    level.

    With ``overdispersion=True`` the multiplicative over-dispersion factor of Spiegelhalter
    (2005) is estimated: z-scores ``z_i = (p_i - pi) / sqrt(pi (1 - pi) / n_i)`` are winsorised
    at their 10th and 90th percentiles (:func:`numpy.quantile`, linear interpolation: values
    below/above are set to those percentiles), and ``phi = sum(z_w^2) / k`` over the ``k``
    areas. If ``phi > 1`` the variance is multiplied by ``phi``; otherwise no adjustment is
    made. Either way the estimate is reported.

    Parameters
    ----------
    x : array-like or pandas.Series
        Numerators (whole numbers).
    n : array-like or pandas.Series
        Denominators (positive whole numbers, at least ``x``).
    levels : sequence of float, default (0.95, 0.998)
        Control-limit levels as fractions.
    overdispersion : bool, default False
        Estimate and, if ``phi > 1``, apply the Spiegelhalter over-dispersion factor.
    labels : sequence, optional
        Area names, used as the index (named ``"area"``). Defaults to the index of a Series
        input, else 0..k-1.

    Returns
    -------
    pandas.DataFrame
        One row per area with columns ``x``, ``n``, ``proportion``, ``baseline``, ``z`` (the
        unadjusted z-score), ``lower_<L>`` / ``upper_<L>`` for each level (``<L>`` is ``95``,
        ``99_8``, ...), ``significance`` (``"high (99.8%)"``, ``"high (95%)"``,
        ``"low (95%)"``, ``"low (99.8%)"`` or ``"not significant"``) and ``method``.
        ``.attrs``: ``method``, ``levels``, ``baseline``, ``overdispersion_factor`` (estimated
        phi, or None if not requested), ``overdispersion_applied``, ``phi`` (the factor used,
        1.0 if none), ``funnel_type="proportion"``, ``denominator="n"``,
        ``value="proportion"``.

    Raises
    ------
    ValueError
        For invalid counts or levels, or ``overdispersion=True`` with a baseline of 0 or 1
        (z-scores undefined).

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
    lv = _check_levels(levels)
    prep = _prepare(x=x, n=n)
    _check_binomial(prep)
    xv = np.atleast_1d(prep.arrays["x"])
    nv = np.atleast_1d(prep.arrays["n"])
    pi = float(xv.sum() / nv.sum())
    p = xv / nv
    if overdispersion and pi in (0.0, 1.0):
        raise ValueError(
            f"cannot estimate over-dispersion when the pooled baseline is {pi:g}: z-scores are "
            "undefined"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p - pi) / np.sqrt(pi * (1.0 - pi) / nv)

    def limits(level: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = funnel_limits(pi, nv, level, phi=phi)
        return np.asarray(lo), np.asarray(hi)

    return _funnel_frame(
        value=p,
        z=z,
        limits=limits,
        levels=lv,
        overdispersion=overdispersion,
        index=_funnel_index(prep, labels, xv.size),
        columns={"x": xv, "n": nv},
        baseline=pi,
        base_method="proportion funnel: pooled baseline, normal approximation to the binomial",
        funnel_type="proportion",
        denominator="n",
        value_col="proportion",
    )


def rate_funnel(
    x: Numeric,
    population: Numeric,
    per: float = 10_000,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: bool = False,
    labels: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Funnel-plot table for rates per ``per``: pooled baseline rate, limits and significance.

    Uses the normal approximation to the Poisson on the rate (not exact Poisson limits): with
    pooled events per head ``lam = sum(x) / sum(population)``, the variance of an area's rate
    ``x_i / pop_i`` is ``lam / pop_i``, the z-score is ``(x_i / pop_i - lam) / sqrt(lam /
    pop_i)`` and limits are ``per * (lam +/- z * sqrt(phi * lam / pop_i))``
    (:func:`rate_funnel_limits`), the lower clipped at 0. The approximation is poor for areas
    expecting only a handful of events (``lam * pop_i`` below about 10). Over-dispersion is
    handled as in :func:`proportion_funnel` (Spiegelhalter 2005: 10% winsorised z-scores,
    ``phi = sum(z_w^2) / k``, applied only if ``phi > 1``).

    Parameters
    ----------
    x : array-like or pandas.Series
        Event counts, non-negative.
    population : array-like or pandas.Series
        Population at risk, positive.
    per : float, default 10_000
        Rate base (e.g. per 10,000 children).
    levels : sequence of float, default (0.95, 0.998)
        Control-limit levels as fractions.
    overdispersion : bool, default False
        Estimate and, if ``phi > 1``, apply the over-dispersion factor.
    labels : sequence, optional
        Area names for the index (named ``"area"``).

    Returns
    -------
    pandas.DataFrame
        One row per area with columns ``x``, ``population``, ``rate`` (per ``per``),
        ``baseline`` (per ``per``), ``z``, ``lower_<L>`` / ``upper_<L>`` (per ``per``),
        ``significance`` and ``method``. ``.attrs`` as in :func:`proportion_funnel` plus
        ``per``; ``funnel_type="rate"``, ``denominator="population"``, ``value="rate"``.

    Raises
    ------
    ValueError
        For negative counts, non-positive populations, invalid levels or ``per``, or
        ``overdispersion=True`` with no events at all.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
       *Statistics in Medicine* 24:1185-1202.
    .. [2] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
       *Quality and Safety in Health Care* 14:347-351.

    Examples
    --------
    >>> df = rate_funnel([45, 60, 110], [10_000, 10_000, 10_000], labels=["A", "B", "C"])
    >>> round(df.attrs["baseline"], 2)
    71.67
    >>> df["significance"].tolist()
    ['low (99.8%)', 'not significant', 'high (99.8%)']
    """
    lv = _check_levels(levels)
    if not (isinstance(per, numbers.Real) and per > 0):
        raise ValueError(f"per must be a positive number, e.g. 10_000; got {per!r}")
    prep = _prepare(x=x, population=population)
    _check_counts(prep, "x")
    pv = np.atleast_1d(prep.arrays["population"])
    bad = pv <= 0
    if bad.any():
        raise ValueError(
            f"population must be positive; got population={_fmt(pv[bad][0])}"
            f"{prep.where(prep.arrays['population'] <= 0)}"
        )
    xv = np.atleast_1d(prep.arrays["x"])
    lam = float(xv.sum() / pv.sum())
    if overdispersion and lam == 0.0:
        raise ValueError("cannot estimate over-dispersion when there are no events at all")
    r = xv / pv
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (r - lam) / np.sqrt(lam / pv)

    def limits(level: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = rate_funnel_limits(lam * per, pv, level, per=per, phi=phi)
        return np.asarray(lo), np.asarray(hi)

    df = _funnel_frame(
        value=r * per,
        z=z,
        limits=limits,
        levels=lv,
        overdispersion=overdispersion,
        index=_funnel_index(prep, labels, xv.size),
        columns={"x": xv, "population": pv},
        baseline=lam * per,
        base_method="rate funnel: pooled baseline rate, normal approximation to the Poisson",
        funnel_type="rate",
        denominator="population",
        value_col="rate",
    )
    df.attrs["per"] = float(per)
    return df


# --------------------------------------------------------------------------------------------
# Ratios
# --------------------------------------------------------------------------------------------


def rate_ratio(
    x: int,
    n: int,
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
    x : int
        Cases in the group (whole number).
    n : int
        All cases (positive whole number, at least ``x``).
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
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. *Journal of the American Statistical Association* 22:209-212.

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
        Event counts in the two groups (positive; whole numbers for ``"katz"``).
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
        population or is not whole, or ``confidence``/``method`` are invalid.

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

    Runs the exact binomial test of ``H0: share = threshold`` against the one-sided alternative
    in ``direction`` (:func:`scipy.stats.binomtest`) and computes the two-sided Clopper-Pearson
    interval at ``confidence``. The conclusion comes from the interval, not the p-value:

    * "supported": the interval lies wholly on the claimed side (``lower > threshold`` for
      "greater", ``upper < threshold`` for "less");
    * "contradicted": it lies wholly on the other side (``upper <= threshold`` for "greater",
      ``lower >= threshold`` for "less");
    * "inconclusive": it contains the threshold.

    The cases are assumed to be a random sample of those the claim is about.

    Parameters
    ----------
    x : int
        Cases with the characteristic (whole number).
    n : int
        Cases examined (positive whole number, at least ``x``).
    threshold : float
        The share the claim refers to, in (0, 1): 0.5 for "over half", 0.25 for "a quarter".
    direction : {"greater", "less"}
        "greater" for "over/more than", "less" for "under/less than".
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    ClaimTest
        Frozen dataclass with ``x``, ``n``, ``threshold``, ``direction``, ``estimate``,
        ``lower``, ``upper``, ``p_value``, ``conclusion``, ``method`` and ``confidence``.

    Raises
    ------
    ValueError
        For invalid counts or confidence, ``threshold`` outside (0, 1), or an unknown
        ``direction``.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits
       illustrated in the case of the binomial. *Biometrika* 26:404-413.

    Examples
    --------
    >>> t = claim_test(90, 100, 0.5, "greater")
    >>> t.conclusion, round(t.lower, 3), round(t.upper, 3)
    ('supported', 0.824, 0.951)
    >>> claim_test(51, 100, 0.5, "greater").conclusion
    'inconclusive'
    """
    c = _check_confidence(confidence)
    if direction not in ("greater", "less"):
        raise ValueError(f'direction must be "greater" or "less"; got {direction!r}')
    if not (isinstance(threshold, numbers.Real) and 0.0 < float(threshold) < 1.0):
        raise ValueError(f"threshold must be a share in (0, 1), e.g. 0.5; got {threshold!r}")
    prep = _prepare(x=x, n=n)
    if not prep.scalar:
        raise ValueError("claim_test takes a single count x and denominator n")
    _check_binomial(prep)
    xi, ni = int(prep.arrays["x"]), int(prep.arrays["n"])
    t = float(threshold)
    res = _sps.binomtest(xi, ni, p=t, alternative=direction)
    ci = _sps.binomtest(xi, ni).proportion_ci(confidence_level=c, method="exact")
    lo, hi = float(ci.low), float(ci.high)
    if direction == "greater":
        conclusion = "supported" if lo > t else "contradicted" if hi <= t else "inconclusive"
    else:
        conclusion = "supported" if hi < t else "contradicted" if lo >= t else "inconclusive"
    return ClaimTest(
        x=xi,
        n=ni,
        threshold=t,
        direction=direction,
        estimate=xi / ni,
        lower=lo,
        upper=hi,
        p_value=float(res.pvalue),
        conclusion=conclusion,
        method="exact binomial test (one-sided); Clopper-Pearson interval (two-sided)",
        confidence=c,
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

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        If the bounds are not finite or ``low >= high``.

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

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        If the parameters are not finite or not ordered.

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

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        If the parameters are not finite or ``sd <= 0``.

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

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        If ``value`` is not finite.

    Examples
    --------
    >>> fixed(498).mean
    498.0
    """
    _finite(value=value)
    return Distribution("fixed", (float(value),))


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
