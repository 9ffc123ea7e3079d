"""Unit tests for :mod:`analysis.themes.pilots` (synthetic panel generator and DiD fits).

Expected values come from the design of the generator (43 forces x 78 weeks, 4 pilot forces,
13 pilot weeks) and from statsmodels as an independent fitter, never from this module's output.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.themes import pilots

ONS_CODE = re.compile(r"^[EW]\d{8}$")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pilots.generate_panel()


def test_shape_and_columns(panel: pd.DataFrame) -> None:
    # 43 forces x (52 + 13 + 13) weeks
    assert panel.shape[0] == 43 * 78
    assert list(panel.columns) == list(pilots.PANEL_COLUMNS)
    assert panel["force_code"].nunique() == 43
    assert panel.groupby("force_code").size().eq(78).all()
    assert panel["synthetic"].all() and panel.attrs["synthetic"] is True


def test_periods_and_indicators(panel: pd.DataFrame) -> None:
    weeks = panel.drop_duplicates("week").set_index("week")
    assert (weeks["period"] == "pre").sum() == 52
    assert (weeks["period"] == "pilot").sum() == 13
    assert (weeks["period"] == "post").sum() == 13
    assert weeks.loc[53, "rel_week"] == 0 and weeks.loc[53, "period"] == "pilot"
    treated = panel.loc[panel["treated"], "force_code"].unique()
    assert len(treated) == 4
    assert sorted(treated) == panel.attrs["treated_forces"]
    # indicators are 1 only for pilot forces in the pilot / post weeks
    assert panel["pilot"].sum() == 4 * 13 and panel["post"].sum() == 4 * 13
    assert not panel.loc[~panel["treated"], ["pilot", "post"]].to_numpy().any()
    # months 0-2 are the pilot; -12..-1 before it
    pilot_months = sorted(panel.loc[panel["period"] == "pilot", "rel_month"].unique())
    assert pilot_months == [0, 1, 2]
    assert panel["rel_month"].min() == -12


def test_codes_are_synthetic(panel: pd.DataFrame) -> None:
    codes = panel["force_code"].unique()
    assert all(re.fullmatch(r"SYNF\d{2}", c) for c in codes)
    assert not any(ONS_CODE.match(c) for c in codes)
    assert not any(ONS_CODE.match(c) for c in pilots.force_codes(99))


def test_counts_are_consistent(panel: pd.DataFrame) -> None:
    assert (panel[["reports", "missing", "absent"]] >= 0).all().all()
    assert (panel["reports"] == panel["missing"] + panel["absent"]).all()
    # nothing is recorded as absent outside the pilot forces' pilot and post weeks
    untreated = (panel["pilot"] == 0) & (panel["post"] == 0)
    assert (panel.loc[untreated, "absent"] == 0).all()
    # heterogeneous force sizes: the largest force's mean is several times the smallest's
    sizes = panel.groupby("force_code")["expected"].mean()
    assert sizes.max() / sizes.min() > 3


def test_overdispersion(panel: pd.DataFrame) -> None:
    # Pearson dispersion of reports around the generator's expected value exceeds 1 (Poisson)
    pre = panel[panel["period"] == "pre"]
    pearson = ((pre["reports"] - pre["expected"]) ** 2 / pre["expected"]).mean()
    assert pearson > 2


def test_determinism() -> None:
    a = pilots.generate_panel(seed=7)
    b = pilots.generate_panel(seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    c = pilots.generate_panel(seed=8)
    assert not a["missing"].equals(c["missing"])


def test_planted_thinning_rate() -> None:
    # with rate_ratio r, the share of pilot-week reports recorded as missing is close to r
    panel = pilots.generate_panel(seed=3, rate_ratio=0.5)
    pilot = panel[panel["pilot"] == 1]
    share = pilot["missing"].sum() / pilot["reports"].sum()
    assert share == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    "override",
    [
        {"n_treated": 0},
        {"n_treated": 43},
        {"rate_ratio": 1.5},
        {"rate_ratio": 0.0},
        {"ar_rho": 1.0},
        {"n_forces": 100},
    ],
)
def test_bad_parameters(override: dict) -> None:
    with pytest.raises(ValueError):
        pilots.generate_panel(seed=1, **override)


def test_relative_month() -> None:
    # a "month" is 13/3 weeks: weeks 0-4 -> 0, 5-8 -> 1, 9-12 -> 2, 13 -> 3; -1 -> -1, -52 -> -12
    weeks = np.array([-52, -5, -4, -1, 0, 4, 5, 8, 9, 12, 13])
    expected = [-12, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert pilots.relative_month(weeks).tolist() == expected


def test_fast_fitter_matches_statsmodels(panel: pd.DataFrame) -> None:
    slow = pilots.fit_did(panel)
    fast = pilots.fast_did(panel)
    for term in ("pilot", "post"):
        assert fast[term].beta == pytest.approx(slow[term].beta, abs=1e-8)
        assert fast[term].se == pytest.approx(slow[term].se, rel=1e-6)


def test_fast_fitter_without_post_weeks() -> None:
    panel = pilots.generate_panel(seed=2, weeks_post=0)
    slow, fast = pilots.fit_did(panel), pilots.fast_did(panel)
    assert set(slow) == set(fast) == {"pilot"}
    assert fast["pilot"].beta == pytest.approx(slow["pilot"].beta, abs=1e-8)
    assert fast["pilot"].se == pytest.approx(slow["pilot"].se, rel=1e-6)


def test_event_study_structure(panel: pd.DataFrame) -> None:
    es = pilots.fit_event_study(panel)
    assert es["rel_month"].tolist() == list(range(-12, 6))
    ref = es[es["reference"]]
    assert ref["rel_month"].tolist() == [-1]
    assert ref[["rate_ratio", "lower", "upper"]].to_numpy().tolist() == [[1.0, 1.0, 1.0]]
    assert (es["lower"] <= es["rate_ratio"]).all() and (es["rate_ratio"] <= es["upper"]).all()
    with pytest.raises(ValueError, match="reference month"):
        pilots.fit_event_study(panel, reference=40)


def test_placebo_excludes_real_pilots(panel: pd.DataFrame) -> None:
    placebo = pilots.placebo_estimates(panel, n_draws=20, seed=1)
    real = set(panel.attrs["treated_forces"])
    for forces in placebo["forces"]:
        chosen = forces.split(";")
        assert len(chosen) == 4 and not real & set(chosen)
    # the same seed gives the same draws
    again = pilots.placebo_estimates(panel, n_draws=20, seed=1)
    pd.testing.assert_frame_equal(placebo, again)


@pytest.mark.skipif(
    not (paths.DATA_SYNTHETIC / pilots.PANEL_FILE).exists(), reason="panel not committed"
)
def test_committed_panel_matches_generator(panel: pd.DataFrame) -> None:
    path = paths.DATA_SYNTHETIC / pilots.PANEL_FILE
    params = json.loads((paths.DATA_SYNTHETIC / pilots.PARAMETERS_FILE).read_text("utf-8"))
    assert params["seed"] == pilots.DEFAULT_SEED and params["synthetic"] is True
    assert params["parameters"] == pilots.PilotParameters().to_dict()
    stored = pd.read_csv(path)
    assert stored["synthetic"].all()
    for column in ("force_code", "week", "reports", "missing", "absent", "pilot", "post"):
        assert stored[column].tolist() == panel[column].tolist(), column


def test_write_panel_is_byte_identical(tmp_path) -> None:
    first = pilots.write_panel(seed=5, out_dir=tmp_path / "a")
    second = pilots.write_panel(seed=5, out_dir=tmp_path / "b")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes()
