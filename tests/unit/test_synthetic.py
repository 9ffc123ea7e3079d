"""The synthetic generator: calibration, labelling, planted structure, determinism and speed.

Expected values come from the published figures, the committed calibration numbers, hand
arithmetic or the model stated in the module docstring, never from the generator's own output.
(The committed calibration numbers are checked against the real files in
``tests/integration/test_hotspots_recovery.py``.)
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import published, returns, sources, synthetic
from analysis.synthetic import AUTHORITIES, AuthorityCalibration, SyntheticParameters

FIGS = {
    "POP0017_2012": {"value": 1_000_000, "unit": "children", "source_id": "S-POP"},
    "LAC2012": {"value": 6_000, "unit": "children", "source_id": "S-LAC"},
}
SMALL = SyntheticParameters(n_areas=12, n_hotspots=2, records_per_period=800)


@pytest.fixture(scope="module")
def default_data() -> synthetic.SyntheticData:
    return synthetic.simulate()


# --------------------------------------------------------------------------- largest remainder


def test_largest_remainder_by_hand() -> None:
    # quotas 3.5, 1.75, 1.75 -> floors 3, 1, 1; two units left go to the .75 remainders
    assert synthetic.largest_remainder([0.5, 0.25, 0.25], 7).tolist() == [3, 2, 2]
    assert synthetic.largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]
    assert synthetic.largest_remainder([2, 0, 1], 3).tolist() == [2, 0, 1]


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=60).filter(
        lambda w: sum(w) > 1e-6
    ),
    st.integers(0, 20_000_000),
)
def test_largest_remainder_hits_total_and_stays_within_one(weights, total) -> None:
    parts = synthetic.largest_remainder(weights, total)
    assert parts.sum() == total
    quota = np.asarray(weights) / np.sum(weights) * total
    assert np.all(parts >= np.floor(quota) - 1e-6) and np.all(parts <= np.ceil(quota) + 1e-6)


@pytest.mark.parametrize("weights", [[], [0, 0], [-1, 2], [np.nan, 1]])
def test_largest_remainder_rejects_bad_weights(weights) -> None:
    with pytest.raises(ValueError):
        synthetic.largest_remainder(weights, 5)


# --------------------------------------------------------------------------- calibration


def _population(values, year=2012, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geography": "local authority",
            "measure": "child_population",
            "year": year,
            "value": values,
            "source_id": "S-POP",
            **extra,
        }
    )


def test_calibration_of_a_hand_made_fake() -> None:
    """Eleven authorities of 10,000 ... 110,000 children; four with episodes."""
    pop = pd.concat(
        [
            _population([10_000.0 * i for i in range(1, 12)]),
            # left out: another year, another geography, another measure, no estimate
            _population([5_000.0], year=2013),
            _population([11_000_000.0]).assign(geography="national"),
            _population([1.0]).assign(measure="cla"),
            _population([np.nan]),
        ],
        ignore_index=True,
    )
    rates = pd.DataFrame(
        {
            "year": [2018, 2018, 2018, 2018, 2018, 2019],
            "events": [10.0, 30.0, 20.0, np.nan, 5.0, 99.0],
            "children": [20_000.0, 20_000.0, 40_000.0, 10_000.0, np.nan, 1.0],
        }
    )
    rates.attrs["sources"] = ["S-FAC", "S-POP"]
    c = synthetic.calibrate_to_authorities(pop, rates, probabilities=(0.0, 0.1, 0.5, 1.0))
    # sizes 1..11 (x 10,000), median 6: quantiles 1, 2, 6, 11 (positions 0, 1, 5, 10)
    assert c.size_quantiles == (round(1 / 6, 4), round(2 / 6, 4), 1.0, round(11 / 6, 4))
    assert c.population_authorities == 11 and c.population_sources == ("S-POP",)
    # three usable rows: 60 episodes among 80,000 children, 7.5 per 10,000
    assert c.rate_authorities == 3 and c.national_rate == 7.5
    # expected 15, 15, 30; ratios 2/3, 2, 2/3; Q = 15 (1/9 + 1) + 30 / 9 = 20 on 2 df;
    # D = 60 - (225 + 225 + 900) / 60 = 37.5; tau2 = (20 - 2) / 37.5 = 0.48
    assert c.between_area_tau2 == 0.48
    assert c.rate_sources == ("S-FAC", "S-POP") and c.rate_year == 2018


def test_calibration_needs_data_and_sane_numbers() -> None:
    rates = pd.DataFrame({"year": [2018], "events": [3.0], "children": [100.0]})
    with pytest.raises(ValueError, match="fewer than two authorities"):
        synthetic.calibrate_to_authorities(_population([1.0, 2.0]), rates)
    with pytest.raises(ValueError, match="fewer than two authorities"):
        synthetic.calibrate_to_authorities(_population([1.0]), pd.concat([rates, rates]))
    fields = dataclasses.asdict(AUTHORITIES)
    for bad in (
        {"size_quantiles": (1.0, 0.5, 2.0, 3.0, 4.0, 5.0, 6.0)},  # falls
        {"size_probabilities": (0.5, 0.1)},
        {"national_rate": 0.0},
        {"between_area_tau2": -0.1},
    ):
        with pytest.raises(ValueError):
            AuthorityCalibration(**{**fields, **bad})


def test_committed_calibration_cites_registered_sources() -> None:
    for sid in (*AUTHORITIES.population_sources, *AUTHORITIES.rate_sources):
        assert sources.get(sid).source_id == sid
    assert AUTHORITIES.size_quantiles[AUTHORITIES.size_probabilities.index(0.5)] == 1.0


def _flat_register(n: int = 40) -> pd.DataFrame:
    """Areas alike but for size: no looked-after children, homes in proportion to children."""
    pop = np.arange(1, n + 1) * 10_000
    return pd.DataFrame(
        {
            "area_code": synthetic.area_codes(n),
            "child_population": pop,
            "looked_after": 0,
            "childrens_homes": pop // 10_000,
            "synthetic": True,
        }
    )


def test_calibrated_level_and_shape_by_hand() -> None:
    # Every area has the national rate (b = 1), so the expected tau2 is (1/k) (sum E - sum E²/
    # sum E) / D = 1 / k: the shape is 1 / tau2 exactly, and the level rate x children / 10,000.
    reg = _flat_register()
    params = SyntheticParameters(n_areas=40, n_hotspots=0)
    c = synthetic.calibrated_parameters(reg, params)
    assert c.records_per_period == pytest.approx(
        AUTHORITIES.national_rate * reg["child_population"].sum() / 10_000
    )
    assert c.dispersion_shape == pytest.approx(1 / AUTHORITIES.between_area_tau2, rel=1e-9)
    given = dataclasses.replace(params, records_per_period=5.0, dispersion_shape=3.0)
    assert synthetic.calibrated_parameters(reg, given) == given  # given values are kept
    tight = dataclasses.replace(
        params, calibration=dataclasses.replace(AUTHORITIES, between_area_tau2=1e-6)
    )
    with pytest.raises(ValueError, match="give dispersion_shape"):
        synthetic.calibrated_parameters(synthetic.make_register(SMALL, FIGS), tight)


def _dl_tau2(counts: np.ndarray, children: np.ndarray) -> float:
    """DerSimonian-Laird tau2 of rate ratios, written out (no winsorising)."""
    expected = children * counts.sum() / children.sum()
    q = np.sum((counts - expected) ** 2 / expected)
    d = expected.sum() - np.sum(expected**2) / expected.sum()
    return max((q - (len(counts) - 1)) / d, 0.0)


def test_areas_vary_as_much_as_the_real_authorities() -> None:
    """Averaged over seeds, one period of areas (hotspots left out) has the committed tau2."""
    estimates = []
    for seed in range(1, 13):
        p = dataclasses.replace(SyntheticParameters(), seed=seed)
        reg = synthetic.make_register(p)
        truth = synthetic.area_period_truth(reg, p)
        counts = np.random.default_rng(seed).poisson(truth["rate_lambda"].to_numpy())
        frame = truth.assign(count=counts).merge(reg[["area_code", "child_population"]])
        frame = frame[~frame["hotspot"]]
        for _, rows in frame.groupby("period"):
            estimates.append(_dl_tau2(rows["count"].to_numpy(float), rows["child_population"]))
    assert np.mean(estimates) == pytest.approx(AUTHORITIES.between_area_tau2, rel=0.1)


# --------------------------------------------------------------------------- register


def test_register_matches_published_totals_exactly(default_data) -> None:
    reg = default_data.register
    assert reg["child_population"].sum() == published.figure("POP0017_2012")["value"]
    assert reg["looked_after"].sum() == published.figure("LAC2012")["value"]
    assert reg["childrens_homes"].sum() == SyntheticParameters().childrens_homes_total
    assert default_data.calibration["looked_after"]["source_id"] == "SRC-LAC2012"
    assert default_data.calibration["child_population"]["source_id"] == "SRC-POP0017_2012"


def test_register_codes_and_labels(default_data) -> None:
    reg = default_data.register
    assert list(reg.columns) == list(synthetic.REGISTER_COLUMNS)
    assert len(reg) == 152 and reg["area_code"].is_unique
    assert reg["area_code"].iloc[0] == "SYN001" and reg["area_code"].iloc[-1] == "SYN152"
    assert not reg["area_code"].str.fullmatch(r"[ENSW]\d{8}").any()  # never a real ONS code
    assert reg["synthetic"].all()


def test_register_looks_like_local_authorities(default_data) -> None:
    pop = default_data.register["child_population"]
    assert pop.mean() > pop.median()  # right-skewed, as real areas are
    # Sizes follow the committed shape of the real authorities' child populations: at each
    # summarised probability the register's quantile over its median is within 12% of it
    # (152 stratified draws), and no area lies outside the outermost quantiles.
    probs, knots = AUTHORITIES.size_probabilities, np.asarray(AUTHORITIES.size_quantiles)
    ratios = np.quantile(pop, probs) / pop.median()
    assert np.allclose(ratios[1:-1], knots[1:-1], rtol=0.12), (ratios, knots)
    assert pop.max() / pop.min() <= knots[-1] / knots[0] + 1e-9
    lac = default_data.register["looked_after"]
    rate = lac / pop * 10_000  # England about 59 per 10,000 in 2012
    assert 15 <= rate.min() and rate.max() <= 200
    assert (lac <= pop).all() and (default_data.register["childrens_homes"] >= 0).all()


def test_register_uses_stand_in_figures() -> None:
    reg = synthetic.make_register(SMALL, FIGS)
    assert reg["child_population"].sum() == 1_000_000 and reg["looked_after"].sum() == 6_000


# --------------------------------------------------------------------------- records


def test_records_shape_and_categories(default_data) -> None:
    rec = default_data.records
    assert list(rec.columns) == [*synthetic.RECORD_COLUMNS, "synthetic"]
    assert rec["record_id"].is_unique and rec["synthetic"].all()
    assert rec["identified_at_risk"].all()
    assert set(rec["age_band"].cat.categories) == {"0-9", "10-12", "13-15", "16-17", "unknown"}
    assert set(rec["sex"].cat.categories) == {"female", "male", "unknown"}
    assert set(rec["looked_after"].cat.categories) == {"yes", "no", "unknown"}
    assert set(rec["period"].unique()) == {"2010-11", "2011-12", "2012-13"}
    assert (rec["went_missing"] == (rec["missing_episodes"] > 0)).all()
    for column in ("age_band", "sex", "looked_after"):
        share = (rec[column] == "unknown").mean()
        assert 0.005 < share < 0.1, column


def test_records_scale_is_national(default_data) -> None:
    # calibrated: the real authorities' rate per 10,000 of England's children at mid-2012
    expected = AUTHORITIES.national_rate * published.figure("POP0017_2012")["value"] / 10_000
    assert default_data.parameters.records_per_period == pytest.approx(expected, rel=1e-12)
    per_year = len(default_data.records) / 3
    assert per_year == pytest.approx(expected, rel=0.05)  # gamma and Poisson noise only
    confirmed = default_data.records["confirmed_victim"].mean()
    assert 0.2 < confirmed < 0.5


def test_hotspots_planted_with_their_multiplier() -> None:
    """With no extra dispersion and many records, observed / expected-without-hotspot = 2.5."""
    p = dataclasses.replace(
        SyntheticParameters(), dispersion_shape=1e9, records_per_period=2_000_000
    )
    reg = synthetic.make_register(p)
    truth = synthetic.area_period_truth(reg, p)
    rec = synthetic.generate_records(reg, p, truth)
    hot = sorted(truth.loc[truth["hotspot"], "area_code"].unique())
    assert len(hot) == 5 and all(re.fullmatch(r"SYN\d{3}", c) for c in hot)

    # the model in the docstring, computed here from the register alone
    pop, lac, homes = (
        reg[c].to_numpy(float) for c in ("child_population", "looked_after", "childrens_homes")
    )
    d = homes / pop
    base = (pop - lac + 30.0 * lac) * np.exp(0.25 * (d / d.mean() - 1.0))
    observed = rec.groupby("area_code", observed=False).size().to_numpy(float)
    is_hot = reg["area_code"].isin(hot).to_numpy()
    ratio = observed / base
    reference = np.median(ratio[~is_hot])
    assert np.allclose(ratio[is_hot] / reference, 2.5, rtol=0.06)
    assert np.allclose(ratio[~is_hot] / reference, 1.0, rtol=0.06)


def test_looked_after_children_have_higher_rates() -> None:
    p = dataclasses.replace(SyntheticParameters(), records_per_period=500_000)
    data = synthetic.simulate(p)
    rec, reg = data.records, data.register
    lac_children = reg["looked_after"].sum()
    other_children = reg["child_population"].sum() - lac_children
    known = rec[rec["looked_after"] != "unknown"]
    lac_rate = (known["looked_after"] == "yes").sum() / lac_children
    other_rate = (known["looked_after"] == "no").sum() / other_children
    assert 20 < lac_rate / other_rate < 40  # assumed rate ratio 30, modified by area effects
    missing = rec.groupby("looked_after", observed=True)["went_missing"].mean()
    assert missing["yes"] > missing["no"]


def test_counts_are_over_dispersed() -> None:
    """Gamma-Poisson: Var = mu + mu^2 / k, so the Pearson dispersion is well above 1."""
    p = dataclasses.replace(SyntheticParameters(), records_per_period=200_000)
    data = synthetic.simulate(p)
    counts = data.records.groupby(["area_code", "period"], observed=False).size().to_numpy()
    expected = data.truth["expected_records"].to_numpy()
    dispersion = np.mean((counts - expected) ** 2 / expected)
    assert dispersion > 10  # mu ~ 1,300 per area-year and k ~ 6 give about 1 + 1,300 / 6
    flat = dataclasses.replace(p, dispersion_shape=1e9)
    data = synthetic.simulate(flat)
    counts = data.records.groupby(["area_code", "period"], observed=False).size().to_numpy()
    expected = data.truth["expected_records"].to_numpy()
    assert 0.7 < np.mean((counts - expected) ** 2 / expected) < 1.4


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = synthetic.simulate(SMALL, FIGS)
    b = synthetic.simulate(SMALL, FIGS)
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.register, b.register)
    c = synthetic.simulate(dataclasses.replace(SMALL, seed=1), FIGS)
    assert not a.register.equals(c.register)


def test_register_and_hotspots_do_not_depend_on_scale() -> None:
    big = dataclasses.replace(SMALL, records_per_period=50_000)
    a, b = synthetic.simulate(SMALL, FIGS), synthetic.simulate(big, FIGS)
    pd.testing.assert_frame_equal(a.register, b.register)
    assert a.hotspots == b.hotspots


# --------------------------------------------------------------------------- returns


def test_aggregate_returns_by_hand() -> None:
    cat = pd.Categorical
    rec = pd.DataFrame(
        {
            "area_code": cat(["SYN001", "SYN001", "SYN001", "SYN002"]),
            "period": cat(["2011-12"] * 4),
            "age_band": cat(["13-15", "13-15", "0-9", "13-15"], categories=returns.AGE_BANDS),
            "sex": cat(["female", "female", "male", "female"], categories=returns.SEXES),
            "looked_after": cat(["yes", "yes", "no", "yes"], categories=returns.LOOKED_AFTER),
            "identified_at_risk": [True] * 4,
            "confirmed_victim": [True, False, True, False],
            "went_missing": [True, True, False, False],
        }
    )
    ret = synthetic.aggregate_returns(rec)
    assert list(ret.columns) == list(returns.RETURN_COLUMNS)
    assert len(ret) == 2 * 1 * 45
    key = ["area_code", "age_band", "sex", "looked_after"]
    row = ret.set_index(key).loc[("SYN001", "13-15", "female", "yes")]
    assert (row["identified_at_risk"], row["confirmed_victims"], row["went_missing"]) == (2, 1, 2)
    row = ret.set_index(key).loc[("SYN001", "0-9", "male", "no")]
    assert (row["identified_at_risk"], row["confirmed_victims"], row["went_missing"]) == (1, 1, 0)
    assert ret["identified_at_risk"].sum() == 4


def test_returns_obey_the_format(default_data) -> None:
    ret = default_data.returns
    assert (ret["confirmed_victims"] <= ret["identified_at_risk"]).all()
    assert (ret["went_missing"] <= ret["identified_at_risk"]).all()
    assert not ret.duplicated(["area_code", "period", "age_band", "sex", "looked_after"]).any()
    assert ret["identified_at_risk"].sum() == len(default_data.records)


# --------------------------------------------------------------------------- files


def test_write_is_byte_identical_labelled_and_lf(tmp_path: Path) -> None:
    first = synthetic.write_synthetic(tmp_path / "a", SMALL, FIGS)
    second = synthetic.write_synthetic(tmp_path / "b", SMALL, FIGS)
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b and len(files_a) == 4 + 12 * 3
    for rel in files_a:
        data = (tmp_path / "a" / rel).read_bytes()
        assert data == (tmp_path / "b" / rel).read_bytes(), rel
        assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
        assert rel.name.startswith("synthetic_")
    for key in ("register", "records", "truth"):
        frame = pd.read_csv(first[key], dtype=str)
        assert (frame["synthetic"] == "True").all(), key
    ret = pd.read_csv(next(first["returns"].glob("*.csv")), dtype=str)
    assert list(ret.columns) == list(returns.RETURN_COLUMNS)  # no synthetic column: fixed format
    assert second["register"].exists()


def test_parameters_file_records_seed_hotspots_sources_and_assumptions(tmp_path: Path) -> None:
    written = synthetic.write_synthetic(tmp_path, SMALL, FIGS)
    doc = json.loads(written["parameters"].read_text())
    assert doc["synthetic"] is True and doc["seed"] == SMALL.seed
    truth = pd.read_csv(written["truth"])
    assert doc["hotspots"]["area_codes"] == sorted(
        truth.loc[truth["hotspot"], "area_code"].unique()
    )
    assert len(doc["hotspots"]["area_codes"]) == 2 and doc["hotspots"]["rate_multiplier"] == 2.5
    assert doc["calibration"]["child_population"]["source_id"] == "S-POP"
    assert doc["calibration"]["looked_after"]["figure_id"] == "LAC2012"
    assert "ASSUMPTION" in doc["assumptions"]["childrens_homes_total"]
    assert doc["parameters"]["childrens_homes_total"] == 1800
    # the real authorities copied, with their sources, and what was derived from them
    authorities = doc["calibration"]["authorities"]
    assert authorities["national_rate"] == AUTHORITIES.national_rate
    assert authorities["rate_sources"] == list(AUTHORITIES.rate_sources)
    derived = doc["calibration"]["derived"]
    assert derived["records_per_period"] == {"value": 800, "calibrated": False}  # SMALL gives it
    assert derived["dispersion_shape"]["calibrated"] is True
    assert doc["parameters"]["dispersion_shape"] == derived["dispersion_shape"]["value"]
    records = pd.read_csv(written["records"])
    assert doc["totals"]["records"] == len(records)


def test_stale_returns_removed(tmp_path: Path) -> None:
    stale = tmp_path / "synthetic_returns" / "synthetic_return_SYN999_2001-02.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    synthetic.write_synthetic(tmp_path, SMALL, FIGS)
    assert not stale.exists()


def test_cli_functions(tmp_path: Path, capsys) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    synthetic.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--seed", "7", "--records-per-period", "300"])
    assert synthetic.run(args) == 0
    assert "seed 7" in capsys.readouterr().out
    assert json.loads((tmp_path / "synthetic_parameters.json").read_text())["seed"] == 7
    bad = parser.parse_args(["--out", str(tmp_path), "--records-per-period", "-1"])
    assert synthetic.run(bad) == 2


def test_committed_parameters_describe_committed_files() -> None:
    root = Path(__file__).resolve().parents[2] / "data" / "synthetic"
    if not (root / "synthetic_parameters.json").exists():
        pytest.skip("no committed synthetic data")
    doc = json.loads((root / "synthetic_parameters.json").read_text())
    reg = pd.read_csv(root / "synthetic_area_register.csv")
    assert reg["looked_after"].sum() == published.figure("LAC2012")["value"]
    assert set(doc["hotspots"]["area_codes"]) <= set(reg["area_code"])
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 10_000_000


# --------------------------------------------------------------------------- speed


def test_a_million_records_quickly() -> None:
    p = dataclasses.replace(SyntheticParameters(), records_per_period=1_000_000 / 3)
    start = time.perf_counter()
    data = synthetic.simulate(p)
    elapsed = time.perf_counter() - start
    assert len(data.records) > 800_000
    assert elapsed < 10  # about 1 s on two cores; the 10M target is checked by `make bench`


def test_a_drifted_calibration_fails_naming_what_changed() -> None:
    pop = _population([float(v) for v in range(1, 12)])
    rates = pd.DataFrame({"year": 2018, "events": [10.0, 30.0], "children": [2e4, 2e4]})
    rates.attrs["sources"] = ["S-FAC", "S-POP"]
    got = synthetic.calibrate_to_authorities(pop, rates)
    assert synthetic.check_calibration(pop, rates, got) == got
    committed = dataclasses.replace(got, national_rate=got.national_rate + 0.001)
    with pytest.raises(synthetic.CalibrationDriftError, match="national_rate: committed") as err:
        synthetic.check_calibration(pop, rates, committed)
    assert "size_quantiles" not in str(err.value)  # only what changed is named
