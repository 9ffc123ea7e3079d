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
   and cluster-robust standard errors by force, and returns the rate ratio ``exp(beta)`` with a
   95% interval; :func:`fit_event_study` fits treated x relative-month indicators (reference:
   the last month before the pilot) to check for pre-trends and show the effect's timing.

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
    "fast_did",
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
    rng = np.random.default_rng(seed)
    codes = force_codes(p.n_forces)
    n, t = p.n_forces, p.n_weeks

    # Force sizes: log-normal, scaled so that the mean size is 1.
    size = np.exp(rng.normal(0.0, p.size_sigma, n))
    size /= size.mean()
    treated_idx = np.sort(rng.choice(n, size=p.n_treated, replace=False))
    treated = np.zeros(n, dtype=bool)
    treated[treated_idx] = True

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

    period = np.where(in_pilot, "pilot", np.where(after, "post", "pre"))
    frame = pd.DataFrame(
        {
            "force_code": np.repeat(codes, t),
            "week": np.tile(weeks, n),
            "rel_week": np.tile(rel_week, n),
            "rel_month": np.tile(relative_month(rel_week, p.weeks_pilot), n),
            "period": np.tile(period, n),
            "treated": np.repeat(treated, t),
            "pilot": (np.repeat(treated, t) & np.tile(in_pilot, n)).astype(int),
            "post": (np.repeat(treated, t) & np.tile(after, n)).astype(int),
            "expected": expected.ravel().round(4),
            "reports": reports.ravel().astype(int),
            "missing": missing.ravel().astype(int),
        }
    )
    frame["absent"] = frame["reports"] - frame["missing"]
    frame["synthetic"] = True
    frame.attrs.update(
        synthetic=True,
        seed=int(seed),
        parameters=p.to_dict(),
        treated_forces=[codes[i] for i in treated_idx],
    )
    return frame


def _fe_poisson(
    y: np.ndarray, force: np.ndarray, week: np.ndarray, z: np.ndarray, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson MLE with force and week fixed effects and CRV1 cluster covariance (by force).

    Newton-Raphson whose Hessian is assembled block by block from the weights (the fixed-effect
    blocks are diagonal), so a fit takes milliseconds. Week 0 is the reference week. Returns the
    coefficients of ``z`` and their cluster-robust covariance, with statsmodels' small-sample
    correction ``G/(G-1) * (N-1)/(N-K)``.
    """
    n_f, n_w, k = int(force.max()) + 1, int(week.max()) + 1, z.shape[1]
    n_par = n_f + (n_w - 1) + k
    alpha = np.log(
        np.bincount(force, weights=y, minlength=n_f) / np.bincount(force, minlength=n_f) + 0.5
    )
    gamma = np.zeros(n_w)
    beta = np.zeros(k)
    wk = week - 1  # column of week w (w >= 1) in the week block

    def blocks(mu: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.zeros((n_par, n_par))
        fw = np.bincount(force * n_w + week, weights=mu, minlength=n_f * n_w).reshape(n_f, n_w)
        fz = np.stack(
            [np.bincount(force, weights=mu * z[:, j], minlength=n_f) for j in range(k)], 1
        )
        wz = np.stack([np.bincount(week, weights=mu * z[:, j], minlength=n_w) for j in range(k)], 1)
        fi, wi, zi = slice(0, n_f), slice(n_f, n_f + n_w - 1), slice(n_f + n_w - 1, n_par)
        h[fi, fi] = np.diag(fw.sum(1))
        h[wi, wi] = np.diag(fw.sum(0)[1:])
        h[fi, wi] = fw[:, 1:]
        h[fi, zi] = fz
        h[wi, zi] = wz[1:]
        h[zi, zi] = (z * mu[:, None]).T @ z
        h = np.triu(h) + np.triu(h, 1).T
        score = np.concatenate(
            [
                np.bincount(force, weights=r, minlength=n_f),
                np.bincount(week, weights=r, minlength=n_w)[1:],
                z.T @ r,
            ]
        )
        return h, score

    for _ in range(100):
        mu = np.exp(alpha[force] + gamma[week] + z @ beta)
        h, score = blocks(mu, y - mu)
        step = np.linalg.solve(h, score)
        alpha += step[:n_f]
        gamma[1:] += step[n_f : n_f + n_w - 1]
        beta += step[n_f + n_w - 1 :]
        if np.max(np.abs(step)) < tol:
            break
    mu = np.exp(alpha[force] + gamma[week] + z @ beta)
    h, _ = blocks(mu, y - mu)
    r = y - mu
    # Scores summed within each force (the cluster): columns as in the Hessian.
    scores = np.zeros((n_f, n_par))
    scores[np.arange(n_f), np.arange(n_f)] = np.bincount(force, weights=r, minlength=n_f)
    later = week >= 1
    scores[:, n_f : n_f + n_w - 1] = np.bincount(
        force[later] * (n_w - 1) + wk[later], weights=r[later], minlength=n_f * (n_w - 1)
    ).reshape(n_f, n_w - 1)
    for j in range(k):
        scores[:, n_f + n_w - 1 + j] = np.bincount(force, weights=r * z[:, j], minlength=n_f)
    bread = np.linalg.inv(h)
    meat = scores.T @ scores
    n_obs = y.size
    correction = n_f / (n_f - 1) * (n_obs - 1) / (n_obs - n_par)
    cov = bread @ meat @ bread * correction
    zi = slice(n_f + n_w - 1, n_par)
    return beta, cov[zi, zi]


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


def _design(panel: pd.DataFrame) -> pd.DataFrame:
    data = panel.loc[:, ["force_code", "week", "missing", "pilot", "post", "rel_month", "treated"]]
    return data.reset_index(drop=True)


def _fit(formula: str, data: pd.DataFrame) -> Any:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    groups = pd.factorize(data["force_code"], sort=True)[0]
    model = smf.glm(formula, data=data, family=sm.families.Poisson())
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def fit_did(
    panel: pd.DataFrame, outcome: str = "missing", confidence: float = 0.95
) -> dict[str, DidResult]:
    """Fit the difference-in-differences Poisson GLM with force and week fixed effects.

    ``outcome ~ C(force_code) + C(week) + pilot + post``, Poisson family, cluster-robust standard
    errors by force. ``pilot`` and ``post`` are 1 for a pilot force during and after the pilot, so
    ``exp(beta_pilot)`` is the rate ratio of reports recorded as missing during the pilot against
    what the force and week effects predict.

    Parameters
    ----------
    panel : pandas.DataFrame
        A frame from :func:`generate_panel` (or one with the same columns).
    outcome : str
        Count column to model (``missing``, or ``reports`` for a check that reports made did not
        change).
    confidence : float
        Level of the interval (normal approximation on the log scale).

    Returns
    -------
    dict of str to DidResult
        ``{"pilot": ..., "post": ...}`` (``post`` only if the panel has post-pilot weeks).

    Examples
    --------
    >>> est = fit_did(generate_panel(seed=1))["pilot"]
    >>> est.covers(0.6), est.n_forces, est.n_treated
    (True, 43, 4)
    """
    from scipy.stats import norm

    data = _design(panel)
    data["missing"] = panel[outcome].to_numpy()
    terms = ["pilot"] + (["post"] if data["post"].any() else [])
    result = _fit(f"missing ~ C(force_code) + C(week) + {' + '.join(terms)}", data)
    z = norm.ppf(0.5 + confidence / 2)
    out = {}
    for term in terms:
        beta, se = float(result.params[term]), float(result.bse[term])
        out[term] = DidResult(
            term=term,
            beta=beta,
            se=se,
            rate_ratio=math.exp(beta),
            lower=math.exp(beta - z * se),
            upper=math.exp(beta + z * se),
            p_value=float(result.pvalues[term]),
            n_obs=int(result.nobs),
            n_forces=int(data["force_code"].nunique()),
            n_treated=int(panel.loc[panel["treated"].astype(bool), "force_code"].nunique()),
        )
    return out


def _indices(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    force = pd.factorize(panel["force_code"], sort=True)[0]
    week = pd.factorize(panel["week"], sort=True)[0]
    return force.astype(np.intp), week.astype(np.intp)


def fast_did(
    panel: pd.DataFrame, outcome: str = "missing", confidence: float = 0.95
) -> dict[str, DidResult]:
    """Same model and output as :func:`fit_did`, by a purpose-built Newton solver (milliseconds).

    Used for the simulations (coverage, placebo forces), where :func:`fit_did` would take minutes;
    the unit tests check the two agree.

    Examples
    --------
    >>> panel = generate_panel(seed=1)
    >>> a, b = fast_did(panel)["pilot"], fit_did(panel)["pilot"]
    >>> abs(a.beta - b.beta) < 1e-6 and abs(a.se - b.se) < 1e-6
    True
    """
    from scipy.stats import norm

    force, week = _indices(panel)
    terms = ["pilot"] + (["post"] if panel["post"].any() else [])
    z = panel.loc[:, terms].to_numpy(dtype=float)
    beta, cov = _fe_poisson(panel[outcome].to_numpy(dtype=float), force, week, z)
    crit = norm.ppf(0.5 + confidence / 2)
    out = {}
    for j, term in enumerate(terms):
        b, se = float(beta[j]), float(math.sqrt(cov[j, j]))
        out[term] = DidResult(
            term=term,
            beta=b,
            se=se,
            rate_ratio=math.exp(b),
            lower=math.exp(b - crit * se),
            upper=math.exp(b + crit * se),
            p_value=float(2 * norm.sf(abs(b) / se)),
            n_obs=int(len(panel)),
            n_forces=int(force.max() + 1),
            n_treated=int(panel.loc[panel["treated"].astype(bool), "force_code"].nunique()),
        )
    return out


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
    treated = panel["treated"].astype(bool)
    n_treated = int(panel.loc[treated, "force_code"].nunique())
    control = panel.loc[~treated].reset_index(drop=True)
    codes = np.array(sorted(control["force_code"].unique()))
    force, week = _indices(control)
    y = control[outcome].to_numpy(dtype=float)
    in_pilot = (control["period"] == "pilot").to_numpy()
    after = (control["period"] == "post").to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for draw in range(n_draws):
        chosen = np.sort(rng.choice(codes.size, size=n_treated, replace=False))
        fake = np.isin(force, chosen)
        cols = [fake & in_pilot] + ([fake & after] if after.any() else [])
        z = np.column_stack(cols).astype(float)
        beta, cov = _fe_poisson(y, force, week, z)
        rows.append(
            (
                draw,
                ";".join(codes[chosen]),
                float(beta[0]),
                float(math.sqrt(cov[0, 0])),
                math.exp(beta[0]),
                float(beta[1]) if after.any() else math.nan,
            )
        )
    columns = ["draw", "forces", "beta", "se", "rate_ratio", "beta_post"]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["synthetic"] = True
    return out


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
    lo, hi = np.quantile(placebo[column].to_numpy(), [0.5 - confidence / 2, 0.5 + confidence / 2])
    return math.exp(estimate.beta - hi), math.exp(estimate.beta - lo)


def coverage_simulation(
    seeds: range | list[int], truth: float | None = None, n_placebo: int = 0, **overrides: Any
) -> pd.DataFrame:
    """Refit the DiD on panels from many seeds: how often does the 95% interval hold the truth?

    Parameters
    ----------
    seeds : iterable of int
        Seeds passed to :func:`generate_panel`.
    truth : float, optional
        The planted rate ratio (defaults to the panel's ``rate_ratio``).
    n_placebo : int
        If positive, also compute the placebo interval (:func:`placebo_interval`) from this many
        placebo draws per panel, and whether it holds the truth.
    **overrides
        Passed to :func:`generate_panel`.

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
    rows = []
    for seed in seeds:
        panel = generate_panel(seed=seed, **overrides)
        target = truth if truth is not None else panel.attrs["parameters"]["rate_ratio"]
        est = fast_did(panel)["pilot"]
        row = {
            "seed": seed,
            "rate_ratio": est.rate_ratio,
            "lower": est.lower,
            "upper": est.upper,
            "se": est.se,
            "covers": est.covers(target),
        }
        if n_placebo > 0:
            lo, hi = placebo_interval(est, placebo_estimates(panel, n_placebo, seed=seed))
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
    relative month ``m`` (``m != reference``). The reference (by default the last month before
    the pilot) has rate ratio 1 by construction. Pre-pilot rate ratios near 1 support parallel
    trends; the pilot months show the effect.

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
    from scipy.stats import norm

    data = _design(panel)
    data["missing"] = panel[outcome].to_numpy()
    months = sorted(int(m) for m in data["rel_month"].unique())
    if reference not in months:
        raise ValueError(f"reference month {reference} is not in the panel")
    treated = data["treated"].astype(bool).to_numpy()
    names = {}
    for m in months:
        if m == reference:
            continue
        name = f"es_m{abs(m)}" if m < 0 else f"es_p{m}"
        data[name] = (treated & (data["rel_month"].to_numpy() == m)).astype(int)
        names[m] = name
    result = _fit("missing ~ C(force_code) + C(week) + " + " + ".join(names.values()), data)
    z = norm.ppf(0.5 + confidence / 2)
    weeks_pilot = 3  # months 0-2 are the pilot by construction of relative_month
    rows = []
    for m in months:
        if m == reference:
            beta, se = 0.0, 0.0
        else:
            beta, se = float(result.params[names[m]]), float(result.bse[names[m]])
        period = "pre" if m < 0 else ("pilot" if m < weeks_pilot else "post")
        rows.append(
            (
                m,
                period,
                math.exp(beta),
                math.exp(beta - z * se),
                math.exp(beta + z * se),
                beta,
                se,
                m == reference,
            )
        )
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
