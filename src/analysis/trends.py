"""Trend models for yearly counts with a population at risk.

:func:`fit_rate_trend` fits a log-linear model for counts ``y_t`` with exposure ``E_t``
(population at risk) over years ``t``::

    log E[y_t] = log E_t + a + b (t - centre)

so ``exp(b)`` is the yearly **rate ratio** (0.95 means rates fall by 5% a year) and
``exp(a)`` the rate per head at the centre year. Three error models are offered:

``poisson``
    Maximum-likelihood Poisson GLM (statsmodels), Wald interval from the Fisher information
    with the normal quantile ``z``. With national counts in the tens of thousands this interval
    is very narrow: it only reflects Poisson noise.
``quasipoisson``
    The same estimate, with the covariance scaled by the Pearson dispersion
    ``phi = X² / (n - p)`` floored at 1 (never narrower than the Poisson model), and Student's
    ``t`` on ``n - p`` degrees of freedom instead of ``z``, because ``phi`` is itself estimated
    from the ``n`` points (``p = 2`` parameters): with four yearly points that is ``t`` on 2 df,
    4.30 at 95% against 1.96. This is the usual correction when years scatter around the line
    far more than Poisson noise allows (over-dispersion).
``negbin``
    Negative binomial (NB2) regression, dispersion estimated by maximum likelihood
    (``statsmodels.discrete.discrete_model.NegativeBinomial`` with the offset); Wald interval
    with ``z`` (a large-sample interval: with a handful of years it is optimistic, and the
    quasi-Poisson interval is the one to quote).

Every result names its method, level, the reference distribution of its interval and the
degrees of freedom. Nothing here reads files or draws.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as _sps

__all__ = [
    "METHODS",
    "ModelFitError",
    "RateTrend",
    "check_converged",
    "fit_rate_trend",
    "trend_table",
]

Method = Literal["poisson", "quasipoisson", "negbin"]
METHODS: tuple[str, ...] = ("poisson", "quasipoisson", "negbin")

_METHOD_TEXT = {
    "poisson": "Poisson GLM, log link, log(exposure) offset; Wald interval (normal)",
    "quasipoisson": (
        "Poisson GLM, log link, log(exposure) offset; Wald interval scaled by the Pearson "
        "dispersion floored at 1 (quasi-Poisson), Student's t on n - 2 df"
    ),
    "negbin": (
        "negative binomial (NB2) regression, log(exposure) offset, dispersion by maximum "
        "likelihood; Wald interval (normal, large-sample)"
    ),
}


#: Below this NB2 dispersion a fit that did not converge has run to the Poisson boundary.
_POISSON_BOUNDARY = 1e-3


class ModelFitError(RuntimeError):
    """A model's maximum-likelihood fit stopped before it converged; its estimates are not used."""


def check_converged(result, what: str) -> None:
    """Refuse the estimates of a statsmodels maximum-likelihood fit that did not converge.

    statsmodels only warns (``ConvergenceWarning``) when its optimiser stops at ``maxiter``
    or fails, and returns the last iterate as if it were the estimate. A result that goes on
    into an interval, a chart or a claim's verdict must have converged.

    Parameters
    ----------
    result : statsmodels results
        A fitted model with ``mle_retvals`` (discrete and count models); results without
        them (GLMs fitted by IRLS) pass.
    what : str
        The model, in words, for the message (e.g. ``"the ecological NB2 model"``).

    Raises
    ------
    ModelFitError
        If ``result.mle_retvals["converged"]`` is false. A negative binomial fit whose
        dispersion ``alpha`` ran towards 0 is named as such: those counts show no
        over-dispersion, the likelihood's maximum is the Poisson model (α = 0, on the edge of
        the parameter space), and a Poisson model with robust errors is the one to fit.

    Examples
    --------
    >>> import numpy as np
    >>> from statsmodels.discrete.discrete_model import Poisson
    >>> fit = Poisson(np.array([3.0, 5, 4, 6]), np.ones((4, 1))).fit(disp=0)
    >>> check_converged(fit, "a Poisson mean")  # converged: nothing happens
    """
    retvals = getattr(result, "mle_retvals", None) or {}
    if retvals.get("converged", True):
        return
    message = f"{what} did not converge"
    if "iterations" in retvals:
        message += f" ({retvals['iterations']} iterations)"
    # NB models name their dispersion "alpha" among the model's parameter names, whether the
    # model was given a frame (params a Series) or arrays (params an ndarray)
    names = list(getattr(getattr(result, "model", None), "exog_names", None) or [])
    alpha = float(np.asarray(result.params)[names.index("alpha")]) if "alpha" in names else None
    if alpha is not None and alpha < _POISSON_BOUNDARY:
        message += (
            f": its dispersion alpha ran to {alpha:.2g}, so the counts show no over-dispersion "
            "and the negative binomial maximum is the Poisson model; fit a Poisson model with "
            "robust errors instead"
        )
    raise ModelFitError(message)


@dataclass(frozen=True)
class RateTrend:
    """A fitted yearly rate trend.

    Attributes
    ----------
    rate_ratio : float
        ``exp(b)``: the multiplicative change in the rate per year.
    ci_low, ci_high : float
        Wald interval for the rate ratio at ``level``: ``exp(b -/+ q * se_slope)`` with ``q``
        the ``critical_value``.
    level : float
        Confidence level (a fraction).
    method : str
        ``poisson``, ``quasipoisson`` or ``negbin``; ``description`` says it in words.
    description : str
        The model in words.
    centre : float
        The year the intercept refers to.
    intercept, slope : float
        ``a`` and ``b`` of the model (log scale).
    se_slope : float
        Standard error of ``b`` used for the interval (for ``quasipoisson``, the Poisson
        standard error times ``sqrt(scale)``).
    dispersion : float
        Pearson ``X² / (n - 2)`` of the Poisson fit (1 means Poisson-like scatter); for
        ``negbin`` the estimated NB2 ``alpha``.
    n : int
        Number of years.
    scale : float
        The dispersion the covariance was multiplied by: ``max(dispersion, 1)`` for
        ``quasipoisson``, 1 otherwise.
    distribution : {"z", "t"}
        Reference distribution of the interval.
    df : int or None
        Degrees of freedom of ``t`` (``n - 2``); None for ``z``.
    critical_value : float
        The quantile used (``z`` or ``t`` at ``level``).
    """

    rate_ratio: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    description: str
    centre: float
    intercept: float
    slope: float
    se_slope: float
    dispersion: float
    n: int
    scale: float = 1.0
    distribution: str = "z"
    df: int | None = None
    critical_value: float = math.nan

    @property
    def annual_change(self) -> float:
        """The yearly change as a fraction (``rate_ratio - 1``)."""
        return self.rate_ratio - 1.0

    def rate(self, years: Sequence[float] | np.ndarray, per: float = 1.0) -> np.ndarray:
        """Return the fitted rate (per ``per`` of exposure) at ``years``."""
        t = np.asarray(years, dtype=float) - self.centre
        return per * np.exp(self.intercept + self.slope * t)

    def as_dict(self) -> dict[str, float | int | str]:
        """Return the fields as a plain dict (for a results table)."""
        return asdict(self)


def _validate(
    counts: Sequence[float], exposure: Sequence[float], years: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    t = np.asarray(years, dtype=float)
    if not (y.ndim == e.ndim == t.ndim == 1) or not (len(y) == len(e) == len(t)):
        raise ValueError(
            f"counts, exposure and years must be 1-D and of equal length; got {y.shape}, "
            f"{e.shape}, {t.shape}"
        )
    if len(y) < 3:
        raise ValueError(f"a trend needs at least 3 years; got {len(y)}")
    for name, arr in (("counts", y), ("exposure", e), ("years", t)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError(f"counts must be non-negative whole numbers; got {y.tolist()}")
    if np.any(e <= 0):
        raise ValueError(f"exposure must be positive; got {e.tolist()}")
    if len(np.unique(t)) < 2:
        raise ValueError("years must not all be equal")
    return y, e, t


def fit_rate_trend(
    counts: Sequence[float],
    exposure: Sequence[float],
    years: Sequence[float],
    *,
    method: Method = "poisson",
    level: float = 0.95,
    centre: float | None = None,
) -> RateTrend:
    """Fit a log-linear trend to yearly counts with a population offset.

    Parameters
    ----------
    counts : sequence of float
        Whole-number counts per year (events, episodes, children...).
    exposure : sequence of float
        Population at risk for each year (e.g. children aged 0-17); enters as ``log(exposure)``.
    years : sequence of float
        The year of each count (any numbering; only differences matter).
    method : {"poisson", "quasipoisson", "negbin"}
        Error model (see the module docstring).
    level : float
        Confidence level for the interval, a fraction in (0, 1).
    centre : float, optional
        Year the intercept refers to; defaults to the mean of ``years``.

    Returns
    -------
    RateTrend
        Rate ratio per year with its Wald interval, the method, the Pearson dispersion, the
        scale, reference distribution, degrees of freedom and critical value of the interval,
        and the fitted coefficients.

    Raises
    ------
    ValueError
        For unequal lengths, fewer than 3 years, negative or fractional counts, non-positive
        exposure, an unknown method or a level outside (0, 1).

    References
    ----------
    .. [1] McCullagh, P. and Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed.,
       Chapman and Hall, sections 4.5 and 6.2 (quasi-likelihood, the Pearson estimate of the
       dispersion, and F and t reference distributions when it is estimated).
    .. [2] Cameron, A. C. and Trivedi, P. K. (2013). *Regression Analysis of Count Data*, 2nd
       ed., Cambridge University Press (the NB2 model).

    Examples
    --------
    Rates that roughly double every year:

    >>> fit = fit_rate_trend([100, 190, 410], [1000, 1000, 1000], [2020, 2021, 2022])
    >>> round(fit.rate_ratio, 3), fit.method
    (2.055, 'poisson')
    >>> round(fit.ci_low, 3), round(fit.ci_high, 3)
    (1.855, 2.277)
    >>> round(float(fit.rate([2021], per=1000)[0]), 1)
    197.6

    The quasi-Poisson interval uses t on n - 2 = 1 degree of freedom here:

    >>> q = fit_rate_trend([100, 190, 410], [1000] * 3, [2020, 2021, 2022], method="quasipoisson")
    >>> q.distribution, q.df, round(q.critical_value, 2)
    ('t', 1, 12.71)
    """
    # the modules themselves, not statsmodels.api, which imports all of statsmodels
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if not (isinstance(level, float | int) and 0 < float(level) < 1):
        raise ValueError(f"level must be a fraction in (0, 1); got {level!r}")
    y, e, t = _validate(counts, exposure, years)
    centre = float(np.mean(t)) if centre is None else float(centre)
    x = add_constant(t - centre, has_constant="add")
    offset = np.log(e)
    poisson = GLM(y, x, family=families.Poisson(), offset=offset).fit()
    dof = len(y) - 2  # at least 1: _validate asks for 3 years
    pearson = float(poisson.pearson_chi2 / dof)
    scale, distribution, df = 1.0, "z", None
    q = float(_sps.norm.ppf(0.5 + level / 2))
    if method == "poisson":
        params, se, dispersion = poisson.params, poisson.bse, pearson
    elif method == "quasipoisson":
        params = poisson.params
        scale = max(pearson, 1.0)
        se = poisson.bse * math.sqrt(scale)
        dispersion = pearson
        distribution, df = "t", dof
        q = float(_sps.t.ppf(0.5 + level / 2, dof))
    else:
        from statsmodels.discrete.discrete_model import NegativeBinomial

        model = NegativeBinomial(y, x, loglike_method="nb2", offset=offset)
        start = np.append(poisson.params, 0.01)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0)
            nb = model.fit(start_params=nb.params, method="newton", maxiter=200, disp=0)
        check_converged(nb, "the negative binomial trend")
        params, se = nb.params[:2], nb.bse[:2]
        dispersion = float(nb.params[2])
    intercept, slope = float(params[0]), float(params[1])
    se_slope = float(se[1])
    return RateTrend(
        rate_ratio=math.exp(slope),
        ci_low=math.exp(slope - q * se_slope),
        ci_high=math.exp(slope + q * se_slope),
        level=float(level),
        method=method,
        description=_METHOD_TEXT[method],
        centre=centre,
        intercept=intercept,
        slope=slope,
        se_slope=se_slope,
        dispersion=dispersion,
        n=len(y),
        scale=scale,
        distribution=distribution,
        df=df,
        critical_value=q,
    )


def trend_table(fits: dict[str, RateTrend]) -> pd.DataFrame:
    """Return several fits as a tidy table, one row per label.

    Examples
    --------
    >>> fit = fit_rate_trend([100, 190, 410], [1000] * 3, [1, 2, 3])
    >>> table = trend_table({"rising": fit})
    >>> table.loc[0, "series"], round(float(table.loc[0, "rate_ratio"]), 3)
    ('rising', 2.055)
    """
    rows = [{"series": label, **fit.as_dict()} for label, fit in fits.items()]
    return pd.DataFrame(rows)
