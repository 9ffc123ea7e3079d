"""Unit tests for analysis.themes.hotspots on small hand-made frames (expected values by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import disclosure
from analysis.themes import hotspots


def _register() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "C"],
            "child_population": [40_000, 20_000, 50_000],
            "looked_after": [240, 100, 250],
            "childrens_homes": [6, 1, 10],
        }
    )


def test_rate_per_10000_by_hand() -> None:
    # 12 children among 40,000: 12 / 40,000 * 10,000 = 3 per 10,000.
    assert hotspots.rate_per(12, 40_000) == pytest.approx(3.0)
    # 7 among 35,000 per 1,000: 0.2.
    assert hotspots.rate_per(7, 35_000, per=1_000) == pytest.approx(0.2)


def test_area_period_counts_sums_cells_and_derives_rates() -> None:
    collated = pd.DataFrame(
        {
            "area_code": ["A", "A", "A", "B", "C", "C"],
            "period": ["2011-12", "2011-12", "2012-13", "2012-13", "2012-13", "2012-13"],
            "identified_at_risk": [5, 7, 20, 3, 10, 15],
        }
    )
    out = hotspots.area_period_counts(collated, _register())
    assert list(zip(out["area_code"], out["period"], strict=True)) == [
        ("A", "2011-12"),
        ("A", "2012-13"),
        ("B", "2012-13"),
        ("C", "2012-13"),
    ]
    assert out["count"].tolist() == [12, 20, 3, 25]
    # A: 12 / 40,000 -> 3.0; 20 / 40,000 -> 5.0; B: 3 / 20,000 -> 1.5; C: 25 / 50,000 -> 5.0.
    assert out["rate"].tolist() == pytest.approx([3.0, 5.0, 1.5, 5.0])
    # Looked after per 10,000: A 240 / 4 = 60; B 100 / 2 = 50; C 250 / 5 = 50.
    assert out["lac_rate"].tolist() == pytest.approx([60.0, 60.0, 50.0, 50.0])
    # Homes per 10,000: A 6 / 4 = 1.5; B 1 / 2 = 0.5; C 10 / 5 = 2.0.
    assert out["homes_rate"].tolist() == pytest.approx([1.5, 1.5, 0.5, 2.0])


def test_area_period_counts_rejects_unknown_area() -> None:
    collated = pd.DataFrame({"area_code": ["Z"], "period": ["2012-13"], "identified_at_risk": [1]})
    with pytest.raises(ValueError, match="not in the register"):
        hotspots.area_period_counts(collated, _register())


def test_tile_grid_positions() -> None:
    codes = [f"SYN{i:03d}" for i in range(152, 0, -1)]  # reversed on purpose
    grid = hotspots.tile_grid(codes, ncols=13)
    assert len(grid) == 152
    first = grid.iloc[0]
    assert (first["area_code"], first["row"], first["col"]) == ("SYN001", 0, 0)
    pos = grid.set_index("area_code")
    # SYN013 ends the first row; SYN014 starts the second.
    assert tuple(pos.loc["SYN013", ["row", "col"]]) == (0, 12)
    assert tuple(pos.loc["SYN014", ["row", "col"]]) == (1, 0)
    # SYN152 is the 152nd tile: index 151 = 11 * 13 + 8.
    assert tuple(pos.loc["SYN152", ["row", "col"]]) == (11, 8)
    assert grid["row"].max() == 11 and grid["col"].max() == 12
    assert not grid.duplicated(["row", "col"]).any()


def test_tile_grid_rejects_zero_columns() -> None:
    with pytest.raises(ValueError):
        hotspots.tile_grid(["A"], ncols=0)


def test_crude_funnel_rates_baseline_and_overdispersion_by_hand() -> None:
    counts = pd.Series([20, 10, 90], index=["A", "B", "C"])
    pop = pd.Series([20_000, 40_000, 60_000], index=["A", "B", "C"])
    f = hotspots.area_funnel(counts, pop, "crude")
    # 20 / 20,000 = 10; 10 / 40,000 = 2.5; 90 / 60,000 = 15 per 10,000; pooled 120 / 120,000 = 10.
    assert f["rate"].tolist() == pytest.approx([10.0, 2.5, 15.0])
    assert f.attrs["baseline"] == pytest.approx(10.0)
    # s_i = sqrt(10 * 10,000 / pop): sqrt(5), sqrt(2.5), sqrt(5/3); z = 0, -7.5/sqrt(2.5) =
    # -4.7434 and 5/sqrt(5/3) = 3.8730. Winsorised at the 10th/90th percentiles of three values
    # (positions 0.2 and 1.8): -4.7434 * 0.8 and 3.8730 * 0.8, whose squares are 0.64 * 22.5 =
    # 14.4 and 0.64 * 15 = 9.6. phi = 24 / 3 = 8; I phi = 24 on 2 df, p = exp(-12): rejects.
    assert f.attrs["phi"] == pytest.approx(8.0, rel=1e-12)
    assert f.attrs["overdispersion_p_value"] == pytest.approx(math.exp(-12), rel=1e-9)
    assert f.attrs["overdispersion"] == "multiplicative"
    # A's 95% upper limit: 10 + 1.96 sqrt(8 * 10 * 10,000 / 20,000) = 10 + 1.96 sqrt(40)
    assert f.loc["A", "upper_95"] == pytest.approx(10 + 1.959963984540054 * math.sqrt(40))


def test_standardised_funnel_is_observed_over_expected() -> None:
    obs = pd.Series([12, 30, 8], index=["A", "B", "C"])
    exp = pd.Series([10.0, 30.0, 10.0], index=["A", "B", "C"])
    f = hotspots.area_funnel(obs, exp, "standardised", overdispersion="none")
    assert f["ratio"].tolist() == pytest.approx([1.2, 1.0, 0.8])
    assert f.attrs["baseline"] == pytest.approx(50 / 50)
    # z for A: (1.2 - 1) / sqrt(1 / 10).
    assert f.loc["A", "z"] == pytest.approx(0.2 / math.sqrt(0.1))
    # exact limits at E = 10: the lower 95% line is the O with chi2.ppf(0.975; 2O + 2) / 2 = 10
    from scipy import optimize
    from scipy.stats import chi2

    o = optimize.brentq(lambda v: chi2.ppf(0.975, 2 * v + 2) / 2 - 10, 0, 10, xtol=1e-12)
    assert f.loc["A", "lower_95"] == pytest.approx(o / 10, rel=1e-6)
    with pytest.raises(ValueError, match="kind"):
        hotspots.area_funnel(obs, exp, "smoothed")


def test_flagged_and_flag_summary() -> None:
    f = pd.DataFrame(
        {
            "significance": [
                "high (99.8%)",
                "high (95%)",
                "not significant",
                "low (95%)",
                "high (95%)",
            ]
        },
        index=["H1", "X1", "H2", "X2", "X3"],
    )
    f.attrs["levels"] = (0.95, 0.998)
    assert hotspots.flagged(f, 0.95).tolist() == ["H1", "X1", "X3"]
    assert hotspots.flagged(f, 0.998).tolist() == ["H1"]
    s = hotspots.flag_summary(f, ["H2", "H1"], 0.95)
    assert s["hotspots"] == ["H1", "H2"]
    assert s["hotspots_found"] == ["H1"] and s["hotspots_missed"] == ["H2"]
    assert s["false_positives"] == ["X1", "X3"]
    assert s["other_areas"] == 3 and s["false_positive_share"] == pytest.approx(2 / 3)


def test_generator_irrs_by_hand() -> None:
    reg = pd.DataFrame(
        {"child_population": [10_000, 20_000], "looked_after": [40, 120], "childrens_homes": [2, 2]}
    )
    par = {
        "parameters": {
            "periods": ["p1", "p2", "p3"],
            "period_trend": [0.5, 1.0, 2.0],
            "homes_effect": 0.3,
            "looked_after_rate_ratio": 21.0,
            "dispersion_shape": 5.0,
            "hotspot_multiplier": 3.0,
        }
    }
    t = hotspots.generator_irrs(par, reg).set_index("term")
    assert t.loc["C(period)[T.p2]", "true_value"] == pytest.approx(2.0)
    assert t.loc["C(period)[T.p3]", "true_value"] == pytest.approx(4.0)
    # Homes per 10,000: 2 and 1, mean 1.5; IRR per +1 = exp(0.3 / 1.5).
    assert t.loc["homes_rate", "true_value"] == pytest.approx(math.exp(0.2))
    # Mean looked-after share (0.004 + 0.006) / 2 = 0.005; slope 20 / (1 + 20 * 0.005) = 20 / 1.1;
    # per +10 per 10,000 (0.001): exp(0.02 / 1.1).
    assert t.loc["lac_rate", "true_value"] == pytest.approx(math.exp(0.02 / 1.1))
    assert not t.loc["lac_rate", "exact"]
    assert t.loc["alpha", "true_value"] == pytest.approx(0.2)
    assert t.loc["hotspot", "true_value"] == pytest.approx(3.0)


def test_negative_binomial_recovers_a_known_log_linear_rate() -> None:
    # Gamma-Poisson counts (seeded, so a fixed frame) around pop * 2e-3 * exp(0.2 * homes_rate),
    # gamma shape 10 (alpha = 0.1): the fit's intervals should cover 0.2 and 2e-3.
    homes = np.tile([0.5, 1.0, 1.5, 2.0, 2.5, 3.0], 20)
    pop = np.repeat([10_000, 20_000, 40_000, 80_000], 30)
    rate = 2e-3 * np.exp(0.2 * homes)
    rng = np.random.default_rng(1)
    count = rng.poisson(rate * pop * rng.gamma(10.0, 0.1, homes.size))
    frame = pd.DataFrame({"count": count, "homes_rate": homes, "child_population": pop})
    fit = hotspots.fit_negative_binomial(frame, "count ~ homes_rate")
    irr = hotspots.irr_table(fit).set_index("term")
    assert irr.loc["homes_rate", "lower"] < math.exp(0.2) < irr.loc["homes_rate", "upper"]
    # Intercept reported as a rate per 10,000: 2e-3 * 10,000 = 20.
    assert irr.loc["Intercept", "lower"] < 20 < irr.loc["Intercept", "upper"]
    assert irr.loc["homes_rate", "change"] == "+1 per 10,000 children"
    assert irr.loc["alpha", "lower"] < 0.1 < irr.loc["alpha", "upper"]


def test_looked_after_rate_ratio_by_hand() -> None:
    # 100 looked after of 10,100: odds of a record being looked after = rr * 100 / 10,000.
    # 60 looked-after and 180 other records: rr = (60 / 180) / (100 / 10,000) = 33.3.
    collated = pd.DataFrame(
        {
            "area_code": ["A", "A", "A", "B", "B"],
            "period": ["p"] * 5,
            "looked_after": ["yes", "no", "unknown", "yes", "no"],
            "identified_at_risk": [28, 90, 50, 32, 90],
        }
    )
    reg = pd.DataFrame(
        {
            "area_code": ["A", "B"],
            "child_population": [10_100, 10_100],
            "looked_after": [100, 100],
            "childrens_homes": [1, 1],
        }
    )
    res = hotspots.looked_after_rate_ratio(collated, reg)
    assert res["estimate"] == pytest.approx(100 / 3, rel=1e-6)
    assert res["lower"] < 100 / 3 < res["upper"]
    assert res["looked_after_records"] == 60 and res["other_records"] == 180


def test_suppress_area_counts_hides_small_counts_and_their_rates() -> None:
    frame = pd.DataFrame(
        {
            "area_code": ["A", "B", "C", "D"],
            "y1": [3, 40, 25, 18],
            "y2": [12, 30, 9, 22],
            "rate": [1.0, 2.0, 3.0, 4.0],
            "pop": [100, 200, 300, 400],
        }
    )
    pub, counts = hotspots.suppress_area_counts(frame, ["y1", "y2"], ["rate"])
    disclosure.check_disclosure(counts)
    row_a = pub.set_index("area_code").loc["A"]
    assert row_a["y1"] == "[c]" and row_a["rate"] == "[c]"
    # Complementary suppression: another cell in A's row and in y1's column is hidden too.
    assert row_a["y2"] == "[c]"
    assert (pub["y1"] == "[c]").sum() >= 2
    # Untouched columns and unsuppressed rows keep their values.
    assert pub["pop"].tolist() == [100, 200, 300, 400]
    hidden_rows = pub.loc[(pub["y1"] == "[c]") | (pub["y2"] == "[c]"), "area_code"]
    assert (pub.set_index("area_code").loc[hidden_rows, "rate"] == "[c]").all()


def test_ingest_summary_counts() -> None:
    from analysis import returns

    collated = pd.DataFrame({"area_code": ["A", "A", "B"], "period": ["p1", "p2", "p1"]})
    res = returns.IngestResult(["a.csv", "b.csv", "c.txt"], ["a.csv", "b.csv"], [], collated)
    s = hotspots.ingest_summary(res).set_index("item")["value"]
    assert s["files checked"] == 3 and s["files collated"] == 2 and s["files rejected"] == 1
    assert s["rows collated"] == 3 and s["areas"] == 2 and s["periods"] == 2


def test_a_small_row_total_is_withheld_with_what_reveals_it() -> None:
    # Area A's two counts (1 and 2) total 3: within the suppression threshold, so the pooled
    # count and the pooled rate computed from it must not be published either.
    frame = pd.DataFrame(
        {
            "area_code": ["A", "B", "C", "D"],
            "n": [1, 40, 25, 33],
            "m": [2, 30, 12, 28],
        }
    )
    frame["pooled"] = frame["n"] + frame["m"]
    frame["pooled_rate"] = frame["pooled"] / 1000
    published, counts = hotspots.suppress_area_counts(
        frame, ["n", "m"], total_columns=["pooled", "pooled_rate"]
    )
    row = published.set_index("area_code").loc["A"]
    assert row["n"] == row["m"] == row["pooled"] == row["pooled_rate"] == "[c]"
    assert published.set_index("area_code").loc["B", "pooled"] == 70


# --------------------------------------------------------------------------- real authorities


def _fake_analysis() -> hotspots.HotspotAnalysis:
    """Four synthetic areas, two periods; SYN004 a planted hotspot."""
    reg = pd.DataFrame(
        {"area_code": [f"SYN00{i}" for i in range(1, 5)], "child_population": [10_000] * 4}
    )
    ap = pd.DataFrame(
        {
            "area_code": [f"SYN00{i}" for i in range(1, 5)] * 2,
            "period": ["p1"] * 4 + ["p2"] * 4,
            "count": [9, 9, 9, 9, 3, 10, 20, 40],
            "child_population": [10_000] * 8,
        }
    )
    return hotspots.HotspotAnalysis(None, reg, ap, None, None, None, None, None, ["SYN004"], "p2")


def _real_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    population = pd.DataFrame(
        {
            "area_code": ["E1", "E2", "E3", "E4", "W1"],
            "geography": ["local authority"] * 4 + ["national"],
            "measure": "child_population",
            "year": 2012,
            "value": [20_000.0, 40_000.0, 60_000.0, 80_000.0, 200_000.0],
            "source_id": "S-POP",
        }
    )
    rates = pd.DataFrame(
        {
            "area_code": ["E1", "E2", "E3", "E4", "E1"],
            "year": [2018, 2018, 2018, 2018, 2019],
            "events": [10.0, 30.0, np.nan, 40.0, 1.0],
            "children": [10_000.0, 20_000.0, 30_000.0, 40_000.0, 10_000.0],
        }
    )
    rates.attrs["sources"] = ["S-FAC", "S-POP"]
    return population, rates


def test_calibration_frame_sets_the_two_groups_side_by_side() -> None:
    population, rates = _real_frames()
    frame = hotspots.calibration_frame(_fake_analysis(), population, rates)
    assert frame.attrs["period"] == "p2" and frame.attrs["sources"] == ["S-FAC", "S-POP"]
    real = frame[~frame["synthetic"]]
    syn = frame[frame["synthetic"]]
    assert set(real["group"]) == {"real authorities"} and set(syn["group"]) == {"synthetic areas"}
    assert not real["area_code"].str.startswith("SYN").any()
    assert syn["area_code"].str.startswith("SYN").all()
    sizes = real[real["measure"] == "child_population"].set_index("area_code")
    assert sizes["value"].to_dict() == {"E1": 20_000, "E2": 40_000, "E3": 60_000, "E4": 80_000}
    assert sizes["share_at_or_below"].tolist() == [0.25, 0.5, 0.75, 1.0]
    # real 2018 rates: 10, 15 and 10 per 10,000 (E3 has no count); tied values share a rank
    r = real[real["measure"] == "rate_per_10k"].set_index("area_code")
    assert r["value"].to_dict() == {"E1": 10.0, "E2": 15.0, "E4": 10.0}
    assert r["share_at_or_below"].to_dict() == {"E1": 2 / 3, "E2": 1.0, "E4": 2 / 3}
    # synthetic p2 counts 3, 10, 20, 40 per 10,000: the 3 (1 to 5) is withheld
    s = syn[syn["measure"] == "rate_per_10k"].set_index("area_code")
    assert np.isnan(s.loc["SYN001", "value"]) and frame.attrs["withheld"] == 1
    assert s["value"].dropna().tolist() == [10.0, 20.0, 40.0]
    assert s["planted_hotspot"].tolist() == [False, False, False, True]
    assert set(syn.loc[syn["measure"] == "child_population", "year"]) == {"register"}


def test_calibration_summary_by_hand() -> None:
    population, rates = _real_frames()
    frame = hotspots.calibration_frame(_fake_analysis(), population, rates)
    table = hotspots.calibration_summary(frame).set_index("statistic")
    real, syn = table["real authorities"], table["synthetic areas"]
    assert real["areas"] == 4 and syn["areas"] == 4
    assert real["children per area, 50% quantile"] == 50_000
    # 80 episodes among 70,000 children; synthetic 73 among 40,000 (the withheld 3 still counts)
    assert real["national rate per 10,000"] == pytest.approx(80 / 7)
    assert syn["national rate per 10,000"] == pytest.approx(73 / 4)
    # real: expected 80/7 x (1, 2, 4) = 11.43, 22.86, 45.71; Q = sum (O - E)² / E; DL tau2
    e = np.array([1, 2, 4]) * 80 / 7
    o = np.array([10.0, 30.0, 40.0])
    q = np.sum((o - e) ** 2 / e)
    d = e.sum() - np.sum(e**2) / e.sum()
    assert real["tau2 of the rates (DerSimonian-Laird)"] == pytest.approx(max((q - 2) / d, 0))
    # synthetic without the hotspot: 3, 10, 20 over 10,000 each, expected 11 each
    e = np.full(3, 11.0)
    o = np.array([3.0, 10.0, 20.0])
    expected = (np.sum((o - e) ** 2 / e) - 2) / (33 - 3 * 121 / 33)
    assert syn["tau2 of the rates, planted hotspots left out"] == pytest.approx(expected)
    assert np.isnan(real["tau2 of the rates, planted hotspots left out"])


def test_plot_calibration_draws_real_and_synthetic_apart() -> None:
    import matplotlib.pyplot as plt

    from analysis import plotting

    population, rates = _real_frames()
    frame = hotspots.calibration_frame(_fake_analysis(), population, rates)
    fig, axes = plt.subplots(1, 2)
    handles = hotspots.plot_calibration(axes, frame)
    colours = {line.get_color() for line in axes[1].get_lines()}
    assert colours == {plotting.COLORS["published"], plotting.COLORS["synthetic"]}
    assert axes[0].get_xscale() == "log" and len(handles) == 3
    assert handles[0].get_label().startswith("real") and "2017-18" in handles[0].get_label()
    assert handles[1].get_label().startswith("synthetic") and "p2" in handles[1].get_label()
    plt.close(fig)


def test_realised_effects_by_hand() -> None:
    # H (a hotspot, x3) had random effects 0.5 and 1.0 on 10 and 30 expected: 5 + 30 = 35
    # against 40 expected (random effect 0.875) and 40 / 3 without the hotspot (realised 2.625).
    truth = pd.DataFrame(
        {
            "area_code": ["H", "H", "A", "A", "B", "B"],
            "hotspot": [True, True, False, False, False, False],
            "hotspot_multiplier": [3.0, 3.0, 1.0, 1.0, 1.0, 1.0],
            "expected_records": [10.0, 30.0, 20.0, 20.0, 10.0, 10.0],
            "rate_lambda": [5.0, 30.0, 30.0, 10.0, 25.0, 5.0],
        }
    )
    e = hotspots.realised_effects(truth).set_index("area_code")
    assert e.loc["H", "random_effect"] == pytest.approx(0.875)
    assert e.loc["H", "realised_multiplier"] == pytest.approx(2.625)
    assert e.loc["A", "realised_multiplier"] == pytest.approx(1.0)
    assert e.loc["B", "realised_multiplier"] == pytest.approx(1.5)
    assert e["stands_out"].to_dict() == {"A": False, "B": False, "H": True}
