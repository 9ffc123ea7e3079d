"""How the ACPO "missing" and "absent" pilots should be evaluated: a synthetic weekly panel and a DiD.

The evidence says ACPO and the NPIA supported pilots of new definitions of "missing" and "absent"
in four police force areas over three months (its own, self-reported, statement; no outcome was
published). This module shows how such a pilot should be evaluated, on **synthetic data only**:

1. :func:`generate_panel` builds a weekly panel of missing reports for the 43 territorial police
   forces of England and Wales (codes ``SYNF01`` ... ``SYNF43``, never real codes or names): force
   sizes differ (log-normal), every force shares the same week effects (seasonality), each force
   has slowly wandering noise (AR(1) on the log scale) and weekly counts are over-dispersed
   (gamma-Poisson). Four forces pilot the new definitions for 13 weeks (three months).
2. The **planted effect**: in a pilot force during the pilot, each report that would have been
   recorded as "missing" is recorded as "absent" instead with probability ``1 - rate_ratio``
   (binomial thinning), so the expected number of reports *recorded as missing* falls by the
   factor ``rate_ratio`` (0.6 by default) while the number of reports made does not change. The
   evidence says the pilot areas kept the model after the pilot; by default the same effect
   continues after it (``post_rate_ratio``).
3. :func:`fit_did` fits a difference-in-differences Poisson GLM with force and week fixed effects
   and cluster-robust standard errors by force (a purpose-built Newton solver that the tests
   hold to statsmodels' GLM, fast enough for simulations), and returns the rate ratio
   ``exp(beta)`` with a 95% interval; :func:`fit_event_study` fits treated x relative-month
   indicators (reference: the last month before the pilot) to check for pre-trends and show
   the effect's timing.

Assumptions are recorded in :class:`PilotParameters`. The count of 43 forces is a fact about
England and Wales (the territorial forces, excluding British Transport Police) that no
published source in the project's register records; it is a stated assumption. The 4 forces and
3 months are the evidence's own claims. The weekly scale (about 90 reports a force) is an
assumption of the right order: 313,000 incidents x 64% under-18s (figures ``MP04`` and ``MP07``,
Great Britain, 2011/12) / 52 weeks / 43 forces is about 90.

Importing this module has no side effects.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths
from analysis.tables import atomic_write_text

__all__ = [
    "DEFAULT_SEED",
    "PANEL_FILE",
    "PARAMETERS_FILE",
    "DidResult",
    "PilotParameters",
    "fit_did",
    "fit_event_study",
    "force_codes",
    "generate_panel",
    "group_means",
    "relative_month",
    "coverage_simulation",
    "placebo_estimates",
    "placebo_interval",
    "write_panel",
]

DEFAULT_SEED = 20120910
PANEL_FILE = "synthetic_missing_pilot_panel.csv"
PARAMETERS_FILE = "synthetic_missing_pilot_parameters.json"
_ONS_CODE = re.compile(r"^[EW]\d{8}$")
PANEL_COLUMNS: tuple[str, ...] = (
    "force_code",
    "week",
    "rel_week",
    "rel_month",
    "period",
    "treated",
    "pilot",
    "post",
    "expected",
    "reports",
    "missing",
    "absent",
    "synthetic",
)


@dataclass(frozen=True)
class PilotParameters:
    """Parameters of the synthetic pilot panel (every one an assumption unless noted).

    Attributes
    ----------
    n_forces : int
        Territorial police forces of England and Wales (43: a fact with no source in the
        project's register, stated as an assumption).
    n_treated : int
        Pilot force areas (4: the evidence's own claim).
    weeks_pre, weeks_pilot, weeks_post : int
        52 weeks before, 13 weeks of pilot (three months: the evidence's claim), 13 weeks after.
    rate_ratio : float
        Planted effect during the pilot: the factor by which reports *recorded as missing* fall
        because some are recorded as "absent" instead.
    post_rate_ratio : float
        Effect after the pilot (the evidence says the pilot areas kept the model).
    mean_weekly_reports : float
        Mean expected reports a force a week before seasonality.
    size_sigma : float
        Standard deviation of log force size (heterogeneous force sizes).
    season_amplitude : float
        Amplitude of the common annual cycle on the log scale.
    week_noise_sd : float
        Standard deviation of the common week shocks on the log scale.
    ar_rho, ar_sd : float
        Autocorrelation and innovation standard deviation of each force's log-scale AR(1) noise.
    dispersion : float
        Gamma shape ``k`` of the gamma-Poisson counts (variance ``mu + mu**2 / k``).
    """

    n_forces: int = 43
    n_treated: int = 4
    weeks_pre: int = 52
    weeks_pilot: int = 13
    weeks_post: int = 13
    rate_ratio: float = 0.6
    post_rate_ratio: float = 0.6
    mean_weekly_reports: float = 90.0
    size_sigma: float = 0.6
    season_amplitude: float = 0.15
    week_noise_sd: float = 0.04
    ar_rho: float = 0.5
    ar_sd: float = 0.04
    dispersion: float = 25.0

    def __post_init__(self) -> None:
        if not 0 < self.n_treated < self.n_forces:
            raise ValueError("n_treated must be between 1 and n_forces - 1")
        if self.n_forces > 99:
            raise ValueError("force codes have two digits: at most 99 forces")
        if min(self.weeks_pre, self.weeks_pilot) < 1 or self.weeks_post < 0:
            raise ValueError("need at least one pre-pilot and one pilot week")
        for name in ("rate_ratio", "post_rate_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(
                    f"{name} must be in (0, 1]: the definitions move reports to 'absent'"
                )
        if self.mean_weekly_reports <= 0 or self.dispersion <= 0:
            raise ValueError("mean_weekly_reports and dispersion must be positive")
        if not -1 < self.ar_rho < 1:
            raise ValueError("ar_rho must be in (-1, 1)")

    @property
    def n_weeks(self) -> int:
        """Weeks in the panel."""
        return self.weeks_pre + self.weeks_pilot + self.weeks_post

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (for the JSON record)."""
        return dataclasses.asdict(self)


def force_codes(n: int = 43) -> list[str]:
    """Return synthetic force codes ``SYNF01`` ... (never real ONS or police force codes).

    Examples
    --------
    >>> force_codes(3)
    ['SYNF01', 'SYNF02', 'SYNF03']
    """
    codes = [f"SYNF{i:02d}" for i in range(1, n + 1)]
    assert not any(_ONS_CODE.match(c) for c in codes)
    return codes


def relative_month(rel_week: np.ndarray | pd.Series | int, weeks_pilot: int = 13) -> Any:
    """Map weeks relative to the pilot start to months, where three months span the pilot.

    A "month" is ``weeks_pilot / 3`` weeks (13/3 = 4.33 weeks by default, so 52 weeks are 12
    months); month 0 starts with the pilot, months 0-2 are the pilot and month -1 is the last
    month before it.

    Examples
    --------
    >>> relative_month(np.array([-52, -1, 0, 4, 5, 12, 13])).tolist()
    [-12, -1, 0, 0, 1, 2, 3]
    """
    weeks = np.asarray(rel_week)
    return np.floor(weeks * 3 / weeks_pilot + 1e-9).astype(int)


@dataclass(frozen=True)
class _Draw:
    """One synthetic panel as arrays, forces by weeks (the frame :func:`generate_panel` returns)."""

    treated: np.ndarray  # (forces,) bool
    weeks: np.ndarray  # (weeks,) 1, 2, ...
    rel_week: np.ndarray  # (weeks,) weeks from the start of the pilot
    in_pilot: np.ndarray  # (weeks,) bool
    after: np.ndarray  # (weeks,) bool
    expected: np.ndarray  # (forces, weeks) mean before the planted effect
    reports: np.ndarray  # (forces, weeks) reports made
    missing: np.ndarray  # (forces, weeks) recorded as missing


def _simulate(seed: int, p: PilotParameters) -> _Draw:
    """Draw one panel from ``numpy.random.default_rng(seed)`` (see :func:`generate_panel`)."""
    rng = np.random.default_rng(seed)
    n, t = p.n_forces, p.n_weeks

    # Force sizes: log-normal, scaled so that the mean size is 1.
    size = np.exp(rng.normal(0.0, p.size_sigma, n))
    size /= size.mean()
    treated = np.zeros(n, dtype=bool)
    treated[rng.choice(n, size=p.n_treated, replace=False)] = True

    # Common week effects: an annual cycle plus small shocks shared by every force.
    weeks = np.arange(1, t + 1)
    phase = rng.uniform(0, 2 * np.pi)
    season = p.season_amplitude * np.sin(2 * np.pi * weeks / 52 + phase)
    season = season + rng.normal(0.0, p.week_noise_sd, t)

    # Force-specific AR(1) noise on the log scale (started from its stationary distribution).
    ar = np.empty((n, t))
    ar[:, 0] = rng.normal(0.0, p.ar_sd / math.sqrt(1 - p.ar_rho**2), n)
    shocks = rng.normal(0.0, p.ar_sd, (n, t))
    for j in range(1, t):
        ar[:, j] = p.ar_rho * ar[:, j - 1] + shocks[:, j]

    expected = p.mean_weekly_reports * size[:, None] * np.exp(season[None, :] + ar)
    # Gamma-Poisson (negative binomial) counts of reports made.
    lam = rng.gamma(shape=p.dispersion, scale=expected / p.dispersion)
    reports = rng.poisson(lam)

    rel_week = weeks - (p.weeks_pre + 1)
    in_pilot = (rel_week >= 0) & (rel_week < p.weeks_pilot)
    after = rel_week >= p.weeks_pilot
    keep = np.ones((n, t))
    keep[np.ix_(treated, in_pilot)] = p.rate_ratio
    keep[np.ix_(treated, after)] = p.post_rate_ratio
    missing = rng.binomial(reports, keep)
    return _Draw(treated, weeks, rel_week, in_pilot, after, expected, reports, missing)


def generate_panel(
    seed: int = DEFAULT_SEED, params: PilotParameters | None = None, **overrides: Any
) -> pd.DataFrame:
    """Generate the synthetic weekly panel of missing reports (one row per force and week).

    Parameters
    ----------
    seed : int
        Seed of the :class:`numpy.random.Generator`; the same seed and parameters give an
        identical frame.
    params : PilotParameters, optional
        Defaults to ``PilotParameters()``.
    **overrides
        Fields of :class:`PilotParameters` to change (e.g. ``rate_ratio=1.0``).

    Returns
    -------
    pandas.DataFrame
        Columns ``force_code, week, rel_week, rel_month, period (pre/pilot/post), treated,
        pilot, post`` (0/1 indicators of a pilot force in the pilot / after it), ``expected``
        (the force-week mean before the planted effect), ``reports`` (reports made), ``missing``
        (recorded as missing), ``absent`` (recorded as absent under the new definitions) and
        ``synthetic`` (True). ``attrs`` hold ``synthetic``, ``seed``, ``parameters`` and
        ``treated_forces``.

    Examples
    --------
    >>> panel = generate_panel(seed=1)
    >>> panel.shape
    (3354, 13)
    >>> int(panel.loc[panel["treated"], "force_code"].nunique())
    4
    >>> bool((panel["reports"] == panel["missing"] + panel["absent"]).all())
    True
    """
    p = dataclasses.replace(params or PilotParameters(), **overrides)
    d = _simulate(seed, p)
    codes = force_codes(p.n_forces)
    n, t = p.n_forces, p.n_weeks
    period = np.where(d.in_pilot, "pilot", np.where(d.after, "post", "pre"))
    frame = pd.DataFrame(
        {
            "force_code": np.repeat(codes, t),
            "week": np.tile(d.weeks, n),
            "rel_week": np.tile(d.rel_week, n),
            "rel_month": np.tile(relative_month(d.rel_week, p.weeks_pilot), n),
            "period": np.tile(period, n),
            "treated": np.repeat(d.treated, t),
            "pilot": (d.treated[:, None] & d.in_pilot).ravel().astype(int),
            "post": (d.treated[:, None] & d.after).ravel().astype(int),
            "expected": d.expected.ravel().round(4),
            "reports": d.reports.ravel().astype(int),
            "missing": d.missing.ravel().astype(int),
        }
    )
    frame["absent"] = frame["reports"] - frame["missing"]
    frame["synthetic"] = True
    frame.attrs.update(
        synthetic=True,
        seed=int(seed),
        parameters=p.to_dict(),
        treated_forces=[codes[i] for i in np.flatnonzero(d.treated)],
    )
    return frame


def _fe_poisson(
    y: np.ndarray,
    z: np.ndarray,
    mask: np.ndarray | None = None,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Poisson MLE with force and week fixed effects and CRV1 cluster covariance (by force).

    The model is ``log E[y[f, w]] = alpha[f] + gamma[w] + sum_j beta[j] * z[j, f, w]`` with
    week 0 as the reference week, fitted by Newton-Raphson on the forces x weeks arrays. The
    force block of the Hessian is diagonal, so each step solves only the Schur complement for
    the week and ``z`` coefficients (the elimination of a diagonal block, as in Greene's
    fixed-effects algebra), and a fit takes about a millisecond.

    Parameters
    ----------
    y : numpy.ndarray
        Counts, shape ``(forces, weeks)``.
    z : numpy.ndarray
        Covariates, shape ``(k, forces, weeks)`` (``k`` may be 0).
    mask : numpy.ndarray, optional
        Boolean ``(forces, weeks)``: the cells observed (default: all).
    start : tuple of numpy.ndarray, optional
        ``(alpha, gamma)`` to start from, e.g. those of a fit without ``z``.
    tol : float
        Convergence: the largest Newton step.

    Returns
    -------
    beta : numpy.ndarray
        Coefficients of ``z``.
    cov : numpy.ndarray
        Their cluster-robust covariance, with statsmodels' small-sample correction
        ``G/(G-1) * (N-1)/(N-K)``.
    effects : tuple of numpy.ndarray
        The fitted ``(alpha, gamma)``.
    """
    n_f, n_w = y.shape
    k = z.shape[0]
    observed = None if mask is None else mask.astype(float)
    if observed is not None:
        y = y * observed
    flat_z = z.reshape(k, n_f * n_w)
    if start is None:
        cells = np.full(n_f, n_w) if observed is None else observed.sum(1)
        alpha, gamma = np.log(y.sum(1) / cells + 0.5), np.zeros(n_w)
    else:
        alpha, gamma = start[0].copy(), start[1].copy()
    beta = np.zeros(k)
    m = n_w - 1 + k  # week and z coefficients: the block left after eliminating the forces

    def fitted() -> np.ndarray:
        mu = np.exp(alpha[:, None] + gamma + (beta @ flat_z).reshape(n_f, n_w))
        return mu if observed is None else mu * observed

    def system(mu: np.ndarray) -> tuple[np.ndarray, ...]:
        zmu = (flat_z * mu.ravel()).reshape(k, n_f, n_w)
        diag_f = mu.sum(1)
        cross = np.hstack([mu[:, 1:], zmu.sum(2).T])  # force rows x (week, z) columns
        rest = np.zeros((m, m))
        rest[: n_w - 1, : n_w - 1] = np.diag(mu.sum(0)[1:])
        rest[n_w - 1 :, : n_w - 1] = zmu.sum(1)[:, 1:]
        rest[: n_w - 1, n_w - 1 :] = rest[n_w - 1 :, : n_w - 1].T
        rest[n_w - 1 :, n_w - 1 :] = zmu.reshape(k, n_f * n_w) @ flat_z.T
        scaled = cross / diag_f[:, None]
        return diag_f, scaled, rest - cross.T @ scaled

    def scores(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        by_force = np.hstack([r[:, 1:], (flat_z * r.ravel()).reshape(k, n_f, n_w).sum(2).T])
        return r.sum(1), by_force  # the force block, and the (week, z) block, per cluster

    for _ in range(100):
        mu = fitted()
        diag_f, scaled, schur = system(mu)
        s_f, s_o = scores(y - mu)
        step = np.linalg.solve(schur, s_o.sum(0) - scaled.T @ s_f)
        step_f = s_f / diag_f - scaled @ step
        alpha += step_f
        gamma[1:] += step[: n_w - 1]
        beta += step[n_w - 1 :]
        if max(np.abs(step).max(), np.abs(step_f).max()) < tol:
            break
    mu = fitted()
    diag_f, scaled, schur = system(mu)
    s_f, s_o = scores(y - mu)
    # Rows of the inverse Hessian for beta, by the block inverse: [-S^-1 B' D^-1, S^-1].
    rows_o = np.linalg.solve(schur, np.eye(m)[:, n_w - 1 :]).T
    rows_f = -rows_o @ scaled.T
    spread = rows_f * s_f + rows_o @ s_o.T  # bread x cluster scores, one column per force
    n_obs = y.size if observed is None else int(observed.sum())
    n_par = n_f + m
    correction = n_f / (n_f - 1) * (n_obs - 1) / (n_obs - n_par)
    return beta, spread @ spread.T * correction, (alpha, gamma)


@dataclass(frozen=True)
class DidResult:
    """A difference-in-differences estimate as a rate ratio with its 95% interval."""

    term: str
    beta: float
    se: float
    rate_ratio: float
    lower: float
    upper: float
    p_value: float
    n_obs: int
    n_forces: int
    n_treated: int

    def covers(self, truth: float) -> bool:
        """Whether the 95% interval contains ``truth`` (a rate ratio)."""
        return self.lower <= truth <= self.upper


def _results(
    terms: list[str], beta: np.ndarray, cov: np.ndarray, confidence: float, **counts: int
) -> dict[str, DidResult]:
    """Rate ratios with normal intervals on the log scale (``counts``: the DidResult sizes)."""
    crit = NormalDist().inv_cdf(0.5 + confidence / 2)
    out = {}
    for j, term in enumerate(terms):
        b, se = float(beta[j]), math.sqrt(cov[j, j])
        p_value = math.erfc(abs(b) / se / math.sqrt(2))  # two-sided, normal
        bounds = math.exp(b - crit * se), math.exp(b + crit * se)
        out[term] = DidResult(term, b, se, math.exp(b), *bounds, p_value, **counts)
    return out


def _matrices(
    panel: pd.DataFrame, columns: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """Forces x weeks arrays of row-level ``columns`` (codes sorted, then weeks sorted).

    Returns the force codes, the mask of observed cells (None when the panel is complete) and
    one float array per column (0 where a cell is not observed).
    """
    force, codes = pd.factorize(panel["force_code"], sort=True)
    week, weeks = pd.factorize(panel["week"], sort=True)
    shape = (len(codes), len(weeks))
    observed = np.zeros(shape, dtype=bool)
    observed[force, week] = True
    if observed.sum() != len(panel):
        raise ValueError("the panel must have one row per force and week")
    out = {}
    for name, values in columns.items():
        out[name] = np.zeros(shape)
        out[name][force, week] = np.asarray(values, dtype=float)
    return np.asarray(codes), (None if observed.all() else observed), out


def _sizes(panel: pd.DataFrame, codes: np.ndarray) -> dict[str, int]:
    """The sizes a :class:`DidResult` reports: rows, forces and pilot forces."""
    pilot_forces = panel.loc[panel["treated"].astype(bool), "force_code"].nunique()
    return {"n_obs": len(panel), "n_forces": len(codes), "n_treated": int(pilot_forces)}


def _did_terms(treated: np.ndarray, periods: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """DiD indicators: a pilot force (``treated``, by force) in each period (weeks or cells)."""
    terms = [name for name, weeks in periods.items() if name == "pilot" or weeks.any()]
    z = np.stack([treated[:, None] & (periods[name] > 0) for name in terms]).astype(float)
    return terms, z


def fit_did(
    panel: pd.DataFrame, outcome: str = "missing", confidence: float = 0.95
) -> dict[str, DidResult]:
    """Fit the difference-in-differences Poisson GLM with force and week fixed effects.

    ``outcome ~ C(force_code) + C(week) + pilot + post``, Poisson family, cluster-robust standard
    errors by force (CRV1 with statsmodels' small-sample correction). ``pilot`` and ``post`` are
    1 for a pilot force during and after the pilot, so ``exp(beta_pilot)`` is the rate ratio of
    reports recorded as missing during the pilot against what the force and week effects
    predict. The maximum-likelihood fit is a purpose-built Newton solver on the forces x weeks
    arrays (about a millisecond, so the simulations can refit it thousands of times); the unit
    tests hold it to statsmodels' ``GLM(..., family=Poisson()).fit(cov_type="cluster")``.

    Parameters
    ----------
    panel : pandas.DataFrame
        A frame from :func:`generate_panel` (or one with the same columns and at most one row
        per force and week).
    outcome : str
        Count column to model (``missing``, or ``reports`` for a check that reports made did not
        change).
    confidence : float
        Level of the interval (normal approximation on the log scale).

    Returns
    -------
    dict of str to DidResult
        ``{"pilot": ..., "post": ...}`` (``post`` only if the panel has post-pilot weeks).

    References
    ----------
    Cameron, A. C. and Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources*, 50(2), 317-372.

    Examples
    --------
    >>> est = fit_did(generate_panel(seed=1))["pilot"]
    >>> est.covers(0.6), est.n_forces, est.n_treated
    (True, 43, 4)
    """
    columns = {"y": panel[outcome], "pilot": panel["pilot"], "post": panel["post"]}
    codes, mask, arrays = _matrices(panel, columns)
    terms = ["pilot"] + (["post"] if arrays["post"].any() else [])
    beta, cov, _ = _fe_poisson(arrays["y"], np.stack([arrays[t] for t in terms]), mask)
    return _results(terms, beta, cov, confidence, **_sizes(panel, codes))


def _placebo_fits(
    y: np.ndarray,
    periods: dict[str, np.ndarray],
    n_treated: int,
    n_draws: int,
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Placebo DiD fits among the comparison forces (the rows of ``y``).

    Returns the chosen rows ``(n_draws, n_treated)``, the coefficients ``(n_draws, 2)`` (NaN
    for a post term the panel does not have) and the pilot term's standard errors.
    """
    # Every draw starts from the fixed effects without a pilot, where its estimate is near 0.
    start = _fe_poisson(y, np.zeros((0, *y.shape)), mask)[2]
    chosen = np.empty((n_draws, n_treated), dtype=int)
    betas = np.full((n_draws, 2), math.nan)
    ses = np.empty(n_draws)
    for draw in range(n_draws):
        chosen[draw] = np.sort(rng.choice(y.shape[0], size=n_treated, replace=False))
        fake = np.zeros(y.shape[0], dtype=bool)
        fake[chosen[draw]] = True
        terms, z = _did_terms(fake, periods)
        beta, cov, _ = _fe_poisson(y, z, mask, start)
        betas[draw, : len(terms)] = beta
        ses[draw] = math.sqrt(cov[0, 0])
    return chosen, betas, ses


def placebo_estimates(
    panel: pd.DataFrame, n_draws: int = 500, seed: int = 0, outcome: str = "missing"
) -> pd.DataFrame:
    """Estimates for placebo pilots: as many comparison forces as real pilots, drawn at random.

    The real pilot forces are dropped; each draw labels ``n_treated`` of the comparison forces as
    pilot forces over the same weeks and re-estimates the pilot-period coefficient. With no
    effect by construction, the spread of these estimates is the spread of the estimator for
    four forces (the idea of Conley and Taber, 2011, for DiD with few treated groups).

    Returns
    -------
    pandas.DataFrame
        ``draw, forces`` (";"-joined codes), ``beta``, ``se``, ``rate_ratio`` for the pilot
        period, and ``beta_post`` for the post-pilot period (NaN if the panel has none).

    Examples
    --------
    >>> placebo = placebo_estimates(generate_panel(seed=1), n_draws=5)
    >>> len(placebo), bool(placebo["forces"].str.contains("SYNF").all())
    (5, True)
    """
    columns = {"y": panel[outcome], "treated": panel["treated"]}
    periods = {name: panel["period"].eq(name) for name in ("pilot", "post")}
    codes, mask, arrays = _matrices(panel, {**columns, **periods})
    control = ~arrays["treated"].any(axis=1)
    # The comparison forces, and the weeks in which at least one of them is observed.
    part = (control, slice(None)) if mask is None else np.ix_(control, mask[control].any(0))
    chosen, betas, ses = _placebo_fits(
        arrays["y"][part],
        {name: arrays[name][part] for name in periods},
        int((~control).sum()),
        n_draws,
        np.random.default_rng(seed),
        None if mask is None else mask[part],
    )
    names = codes[control]
    out = pd.DataFrame(
        {
            "draw": np.arange(n_draws),
            "forces": [";".join(names[row]) for row in chosen],
            "beta": betas[:, 0],
            "se": ses,
            "rate_ratio": np.exp(betas[:, 0]),
            "beta_post": betas[:, 1],
        }
    )
    out.attrs["synthetic"] = True
    return out


def _shifted_quantiles(beta: float, placebo: np.ndarray, confidence: float) -> tuple[float, float]:
    lo, hi = np.quantile(placebo, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return math.exp(beta - hi), math.exp(beta - lo)


def placebo_interval(
    estimate: DidResult, placebo: pd.DataFrame, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval for the rate ratio from the placebo distribution (Conley-Taber style).

    If the estimator's error does not depend on which forces piloted, ``beta_hat - beta`` is
    distributed like the placebo estimates, so the interval on the log scale is
    ``[beta_hat - q_hi, beta_hat - q_lo]`` with ``q`` the placebo quantiles: those of the
    pilot-period term, or of the post-pilot term (``beta_post``) for a ``"post"`` estimate.

    Examples
    --------
    >>> est = DidResult("pilot", -0.5, 0.03, 0.61, 0.57, 0.64, 0.0, 100, 43, 4)
    >>> placebo = pd.DataFrame({"beta": [-0.1, 0.0, 0.1]})  # quantiles -0.095 and 0.095
    >>> [round(x, 4) for x in placebo_interval(est, placebo)]  # exp(-0.595), exp(-0.405)
    [0.5516, 0.667]
    """
    column = "beta_post" if estimate.term == "post" else "beta"
    return _shifted_quantiles(estimate.beta, placebo[column].to_numpy(), confidence)


def coverage_simulation(
    seeds: range | list[int],
    truth: float | None = None,
    n_placebo: int = 0,
    params: PilotParameters | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Refit the DiD on panels from many seeds: how often does the 95% interval hold the truth?

    Each panel is what :func:`generate_panel` gives for the seed, fitted as :func:`fit_did`
    fits it, with placebo draws as :func:`placebo_estimates` makes them (seeded with the
    panel's seed); the panels are kept as arrays, never built as frames.

    Parameters
    ----------
    seeds : iterable of int
        Seeds passed to :func:`generate_panel`.
    truth : float, optional
        The planted rate ratio (defaults to the panel's ``rate_ratio``).
    n_placebo : int
        If positive, also compute the placebo interval (:func:`placebo_interval`) from this many
        placebo draws per panel, and whether it holds the truth.
    params : PilotParameters, optional
        Defaults to ``PilotParameters()``.
    **overrides
        Fields of :class:`PilotParameters` to change, as for :func:`generate_panel`.

    Returns
    -------
    pandas.DataFrame
        One row per seed: ``seed, rate_ratio, lower, upper, se, covers`` and, with
        ``n_placebo``, ``placebo_lower, placebo_upper, placebo_covers``.

    Examples
    --------
    >>> sim = coverage_simulation(range(3))
    >>> list(sim.columns)
    ['seed', 'rate_ratio', 'lower', 'upper', 'se', 'covers']
    """
    p = dataclasses.replace(params or PilotParameters(), **overrides)
    target = truth if truth is not None else p.rate_ratio
    counts = {"n_obs": p.n_forces * p.n_weeks, "n_forces": p.n_forces, "n_treated": p.n_treated}
    rows = []
    for seed in seeds:
        d = _simulate(seed, p)
        y = d.missing.astype(float)
        periods = {"pilot": d.in_pilot, "post": d.after}
        terms, z = _did_terms(d.treated, periods)
        beta, cov, _ = _fe_poisson(y, z)
        est = _results(terms, beta, cov, 0.95, **counts)["pilot"]
        row = {
            "seed": seed,
            "rate_ratio": est.rate_ratio,
            "lower": est.lower,
            "upper": est.upper,
            "se": est.se,
            "covers": est.covers(target),
        }
        if n_placebo > 0:
            rng = np.random.default_rng(seed)
            _, betas, _ = _placebo_fits(y[~d.treated], periods, p.n_treated, n_placebo, rng)
            lo, hi = _shifted_quantiles(est.beta, betas[:, 0], 0.95)
            row.update(placebo_lower=lo, placebo_upper=hi, placebo_covers=lo <= target <= hi)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["synthetic"] = True
    return out


def fit_event_study(
    panel: pd.DataFrame, reference: int = -1, outcome: str = "missing", confidence: float = 0.95
) -> pd.DataFrame:
    """Fit the event-study version: treated x relative-month indicators, one month as reference.

    ``outcome ~ C(force_code) + C(week) + sum_m D_m`` where ``D_m`` is 1 for a pilot force in
    relative month ``m`` (``m != reference``), fitted as :func:`fit_did` fits its model. The
    reference (by default the last month before the pilot) has rate ratio 1 by construction.
    Pre-pilot rate ratios near 1 support parallel trends; the pilot months show the effect.

    Returns
    -------
    pandas.DataFrame
        One row per relative month: ``rel_month, period, rate_ratio, lower, upper, beta, se,
        reference`` (True for the reference month, whose interval is the point 1).

    Examples
    --------
    >>> es = fit_event_study(generate_panel(seed=1))
    >>> es.loc[es["reference"], "rel_month"].tolist(), len(es)
    ([-1], 18)
    """
    rel_month = panel["rel_month"].to_numpy()
    months = sorted(int(m) for m in np.unique(rel_month))
    if reference not in months:
        raise ValueError(f"reference month {reference} is not in the panel")
    others = [m for m in months if m != reference]
    treated = panel["treated"].astype(bool).to_numpy()
    columns = {m: treated & (rel_month == m) for m in others}
    codes, mask, arrays = _matrices(panel, {"y": panel[outcome], **columns})
    beta, cov, _ = _fe_poisson(arrays["y"], np.stack([arrays[m] for m in others]), mask)
    fits = _results([str(m) for m in others], beta, cov, confidence, **_sizes(panel, codes))
    weeks_pilot = 3  # months 0-2 are the pilot by construction of relative_month
    rows = []
    for m in months:
        fit = fits.get(str(m))
        period = "pre" if m < 0 else ("pilot" if m < weeks_pilot else "post")
        if fit is None:  # the reference month
            rows.append((m, period, 1.0, 1.0, 1.0, 0.0, 0.0, True))
        else:
            rows.append((m, period, fit.rate_ratio, fit.lower, fit.upper, fit.beta, fit.se, False))
    columns = ["rel_month", "period", "rate_ratio", "lower", "upper", "beta", "se", "reference"]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["synthetic"] = True
    return out


def group_means(panel: pd.DataFrame, column: str = "missing") -> pd.DataFrame:
    """Mean weekly count per force for pilot and comparison forces, week by week.

    Examples
    --------
    >>> means = group_means(generate_panel(seed=1))
    >>> sorted(means["group"].unique()), len(means)
    (['comparison forces', 'pilot forces'], 156)
    """
    group = np.where(panel["treated"].astype(bool), "pilot forces", "comparison forces")
    out = (
        panel.assign(group=group)
        .groupby(["group", "week", "rel_week", "period"], as_index=False)[column]
        .mean()
        .rename(columns={column: f"mean_{column}"})
    )
    out.attrs["synthetic"] = True
    return out


def write_panel(
    seed: int = DEFAULT_SEED,
    out_dir: Path | str | None = None,
    params: PilotParameters | None = None,
) -> dict[str, Path]:
    """Write the panel and a JSON record of its seed and parameters (byte-identical per seed).

    Files: :data:`PANEL_FILE` and :data:`PARAMETERS_FILE` under ``out_dir`` (default
    ``data/synthetic/``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write_panel(seed=1, out_dir=tmp)
    ...     sorted(p.name for p in written.values())
    ['synthetic_missing_pilot_panel.csv', 'synthetic_missing_pilot_parameters.json']
    """
    out = Path(out_dir) if out_dir is not None else paths.DATA_SYNTHETIC
    out.mkdir(parents=True, exist_ok=True)
    panel = generate_panel(seed=seed, params=params)
    record = {
        "synthetic": True,
        "label": "synthetic data, illustrative only",
        "generator": "analysis.themes.pilots.generate_panel",
        "seed": panel.attrs["seed"],
        "parameters": panel.attrs["parameters"],
        "treated_forces": panel.attrs["treated_forces"],
        "planted_effect": (
            "in pilot forces, during the pilot (and after it, post_rate_ratio), each report is "
            "recorded as missing with probability rate_ratio and as absent otherwise"
        ),
        "assumptions": {
            "n_forces": "43 territorial police forces in England and Wales: a fact with no "
            "published source in the project's register",
            "n_treated": "4 pilot force areas: the evidence's own claim (self-reported)",
            "weeks_pilot": "13 weeks = the evidence's 3-month pilot (self-reported)",
            "mean_weekly_reports": "order of 313,000 incidents x 64% under-18s (MP04, MP07; "
            "GB 2011/12) / 52 weeks / 43 forces; an assumption",
        },
        "files": [PANEL_FILE],
    }
    targets = {"panel": out / PANEL_FILE, "parameters": out / PARAMETERS_FILE}
    atomic_write_text(
        targets["panel"],
        panel.loc[:, list(PANEL_COLUMNS)].to_csv(
            index=False, lineterminator="\n", float_format="%.4f"
        ),
    )
    atomic_write_text(targets["parameters"], json.dumps(record, indent=2, sort_keys=True) + "\n")
    return targets


if __name__ == "__main__":  # pragma: no cover - manual regeneration of the committed panel
    for path in write_panel().values():
        print(path)
