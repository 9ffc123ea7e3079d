"""The local-authority theme on hand-made FAKE data with known answers (no real data here).

Every frame below is invented: codes start with ``X`` or ``F``, names are "Area 1", "Fake ...".
The fake downloads in ``tests/fixtures/external_fakes`` (written by their ``make_fakes.py``) give
the boundary changes; everything else is built in the tests. Expected values come from hand
arithmetic, closed forms or an independent computation in the test, never from the module.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as sps

from analysis import areas, local, trends, verdicts
from analysis.themes import local_authorities as la

FAKES = Path(__file__).resolve().parents[1] / "fixtures" / "external_fakes"


def fake_panel(counts: dict[str, list[float]], children: float | dict = 10_000, region="R"):
    """A rate panel: one row per fake area and year (years 2018, 2019, ...)."""
    rows = []
    for code, series in counts.items():
        for i, x in enumerate(series):
            n = children[code] if isinstance(children, dict) else children
            rows.append(
                {
                    "area_code": code,
                    "area_name": f"Area {code}",
                    "region": region if isinstance(region, str) else region[code],
                    "year": 2018 + i,
                    "events": float(x),
                    "children": float(n),
                    "rate": 10_000 * x / n,
                    "status": "",
                    "population_year": 2017 + i,
                }
            )
    frame = pd.DataFrame(rows)
    frame.attrs.update(unit="episodes", sources=["SRC-FAKE"])
    return frame


# Thirty areas near 50 episodes per 10,000 (spread within Poisson chance), one planted at 150.
BASE = [44, 46, 48, 49, 50, 51, 52, 54, 56, 47, 53, 50, 45, 55, 50] * 2


def test_planted_outlier_is_found_in_the_funnel() -> None:
    counts = {f"X{i:02d}": [v] for i, v in enumerate(BASE)}
    counts["XHOT"] = [150]
    funnel = la.area_funnel(fake_panel(counts), 2018)
    out = la.outliers(funnel, 0.998)
    assert list(out.index) == ["XHOT"]
    assert out.loc["XHOT", "significance"] == "high (99.8%)"
    assert "area_name" in funnel and funnel.loc["XHOT", "area_name"] == "Area XHOT"


def test_suppressed_counts_are_left_out_and_named() -> None:
    panel = fake_panel({"X1": [50], "X2": [40], "X3": [60]})
    panel.loc[panel["area_code"] == "X2", ["events", "status"]] = (np.nan, "suppressed")
    funnel = la.area_funnel(panel, 2018)
    assert set(funnel.index) == {"X1", "X3"}
    assert funnel.attrs["left_out"] == ["X2"]


def test_persistence_separates_persistent_from_once() -> None:
    years = 6
    counts = {f"X{i:02d}": [v] * years for i, v in enumerate(BASE)}
    counts["XHOT"] = [150] * years  # high every year
    counts["XONCE"] = [50, 50, 150, 50, 50, 50]  # high in one year
    counts["XLOW"] = [2] * years  # low every year
    pers = la.persistence(fake_panel(counts)).set_index("area_code")
    assert pers.loc["XHOT", ["years_high", "class"]].tolist() == [6, "persistently high"]
    assert pers.loc["XONCE", ["years_high", "class"]].tolist() == [1, "high in some years"]
    assert pers.loc["XONCE", "pattern"] == "..H..."
    assert pers.loc["XLOW", "class"] == "persistently low"
    assert pers.loc["X00", "class"] == "never outside"
    assert pers.attrs["min_years"] == 4  # more than half of six years
    # chance alone: 0.1% of authority-years above a two-sided 99.8% limit
    assert pers.attrs["expected_by_chance"] == pytest.approx(33 * 6 * 0.001)


def fake_register(neighbours: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    codes = sorted({*neighbours, *(c for v in neighbours.values() for c in v)})
    reg = pd.DataFrame(
        {
            "area_code": codes,
            "area_name": [f"Area {c}" for c in codes],
            "statistical_neighbours": [neighbours.get(c, ()) for c in codes],
        }
    ).set_index("area_code", drop=False)
    return reg


def test_neighbour_median_and_its_order_statistic_interval() -> None:
    # Ten neighbours with rates 1, 2, ..., 10 per 10,000 (events out of 10,000 children).
    nbrs = tuple(f"N{i:02d}" for i in range(1, 11))
    counts = {f"N{i:02d}": [i] for i in range(1, 11)} | {"XA": [40]}
    panel = fake_panel(counts)
    out = la.neighbour_comparison(panel, fake_register({"XA": nbrs})).set_index("area_code")
    row = out.loc["XA"]
    assert row["neighbour_median"] == 5.5  # (5 + 6) / 2
    # Order-statistic interval for a median of ten: (x(k), x(11-k)) covers with probability
    # 1 - 2 P(Bin(10, 1/2) <= k - 1); the largest k with coverage >= 95% is 2.
    coverage = {k: 1 - 2 * sps.binom.cdf(k - 1, 10, 0.5) for k in (2, 3)}
    assert coverage[2] >= 0.95 > coverage[3]
    assert (row["median_lower"], row["median_upper"]) == (2.0, 9.0)
    assert row["position"] == "above"  # 40 per 10,000 with an interval far above 9
    assert row["ratio_to_median"] == pytest.approx(40 / 5.5)
    assert row["neighbours_used"] == 10
    assert row["quartile"] == 4  # highest of the eleven rates


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_median_interval_is_scipys_quantile_test_for_every_size(confidence: float) -> None:
    rng = np.random.default_rng(7)
    for n in range(2, 41):
        values = rng.normal(size=n).round(1)  # rounded: ties occur
        want = sps.quantile_test(values, q=float(np.median(values)), p=0.5).confidence_interval(
            confidence
        )
        got = la.median_interval(list(values), confidence)
        for g, w in zip(got, (want.low, want.high), strict=True):
            assert (math.isnan(g) and math.isnan(w)) or g == w, (n, got, want)


def test_quartile_bands_rank_by_value() -> None:
    bands = la.quartile_bands(pd.Series([5.0, 1.0, 7.0, 3.0, 8.0, 2.0, 6.0, 4.0]))
    assert bands.tolist() == [3, 1, 4, 2, 4, 1, 3, 2]


def test_boundary_change_is_aggregated_in_the_rate_panel() -> None:
    reg = areas.register(areas.fake_files(FAKES))
    factors = local.load_assessment_factors(FAKES / "fake_cin_factors_2018_2025.csv", register=reg)
    pop = local.load_child_population(FAKES / "fake_population_2012_2024.csv", register=reg)
    panel = la.rate_panel(factors, pop, la.FACTORS["cse"], reg=reg, consistent=True)
    # Independently, from the fake files: 2018 episodes of Fake Borough A + B, over their
    # mid-2017 children.
    with open(FAKES / "fake_cin_factors_2018_2025.csv", newline="") as f:
        c3 = [r for r in csv.DictReader(f) if r["geographic_level"] == "Local authority"]
    with open(FAKES / "fake_population_2012_2024.csv", newline="") as f:
        pp = [r for r in csv.DictReader(f) if r["geographic_level"] == "Local authority"]
    ep = {(r["new_la_code"], r["time_period"]): r["Child_sexual_exploitation"] for r in c3}
    ch = {(r["new_la_code"], r["time_period"]): r["population_estimate"] for r in pp}
    merged = panel[(panel["area_code"] == "F06000003")].set_index("year")
    want_e = float(ep[("F06000001", "2018")]) + float(ep[("F06000002", "2018")])
    want_c = float(ch[("F06000001", "2017")]) + float(ch[("F06000002", "2017")])
    assert merged.loc[2018, "events"] == want_e
    assert merged.loc[2018, "children"] == want_c
    assert merged.loc[2018, "rate"] == pytest.approx(10_000 * want_e / want_c)
    assert merged.loc[2021, "events"] == float(ep[("F06000003", "2021")])
    # The split county: its successors are one group in every year.
    split = panel[panel["area_code"] == "F06000004+F06000005"].set_index("year")
    assert split.loc[2018, "events"] == float(ep[("F10000001", "2018")])
    assert split.loc[2023, "events"] == float(ep[("F06000004", "2023")]) + float(
        ep[("F06000005", "2023")]
    )


def test_a_population_put_on_consistent_boundaries_once_serves_every_panel() -> None:
    reg = areas.register(areas.fake_files(FAKES))
    factors = local.load_assessment_factors(FAKES / "fake_cin_factors_2018_2025.csv", register=reg)
    pop = local.load_child_population(FAKES / "fake_population_2012_2024.csv", register=reg)
    once = la.consistent_frame(pop, reg=reg)
    assert la.consistent_frame(once, reg=reg) is once  # not aggregated a second time
    earlier = la.consistent_frame(pop, 2020, reg=reg)  # other boundaries: another aggregate
    assert la.consistent_frame(earlier, 2020, reg=reg) is earlier and not earlier.equals(once)
    for factor in la.FACTORS.values():
        direct = la.rate_panel(factors, pop, factor, reg=reg, consistent=True)
        reused = la.rate_panel(factors, once, factor, reg=reg, consistent=True)
        pd.testing.assert_frame_equal(direct, reused)


def test_shrunk_ratio_is_the_gamma_posterior_mean() -> None:
    rng = np.random.default_rng(20240601)
    n_areas = 40
    children = {f"X{i:02d}": float(c) for i, c in enumerate(rng.integers(2_000, 60_000, n_areas))}
    effect = {k: rng.gamma(5.0, 1 / 5.0) for k in children}
    counts = {
        k: list(rng.poisson(effect[k] * 0.005 * n * np.array([1.0, 0.9, 0.8])))
        for k, n in children.items()
    }
    counts["XSMALL"] = [3, 0, 2]
    children["XSMALL"] = 300.0
    rr = la.shrunk_rate_ratios(fake_panel(counts, children))
    alpha = rr.attrs["alpha"]
    row = rr[(rr["area_code"] == "XSMALL") & (rr["year"] == 2018)].iloc[0]
    o, e = row["observed"], row["expected"]
    # Posterior mean of theta by numerical integration: Poisson(o; e*theta) x Gamma(1/a, 1/a).
    prior = sps.gamma(1 / alpha, scale=alpha)
    num = integrate.quad(lambda t: t * sps.poisson.pmf(o, e * t) * prior.pdf(t), 0, 50)[0]
    den = integrate.quad(lambda t: sps.poisson.pmf(o, e * t) * prior.pdf(t), 0, 50)[0]
    assert row["shrunk_ratio"] == pytest.approx(num / den, rel=1e-6)
    # a small area is pulled towards 1 more than a large one
    big = rr.loc[rr["expected"].idxmax()]
    assert abs(row["shrunk_ratio"] - 1) < abs(row["raw_ratio"] - 1)
    assert big["shrinkage"] > row["shrinkage"]
    assert row["shrunk_lower"] < row["shrunk_ratio"] < row["shrunk_upper"]


def test_concentration_by_hand() -> None:
    # Ten areas, 1,000 children each; nine record 10 episodes, one records 110.
    counts = {f"X{i}": [10] for i in range(9)} | {"XTOP": [110]}
    c = la.concentration(fake_panel(counts, 1_000), share=0.1)
    assert c.areas == 1 and c.top_areas == ("XTOP",)
    assert c.share_of_events == pytest.approx(110 / 200)
    assert c.share_of_children == pytest.approx(0.1)
    assert c.ratio == pytest.approx(5.5)
    # Gini of the Lorenz curve: nine steps of 10/200 and one of 110/200, equal widths 0.1
    cum = np.cumsum([0.05] * 9 + [0.55])
    lower = np.concatenate([[0], cum[:-1]])
    assert c.gini == pytest.approx(1 - np.sum(0.1 * (cum + lower)))


def binomial_deviance(x, n, p):
    x, n, p = (np.asarray(v, dtype=float) for v in (x, n, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(x > 0, x * np.log(x / (n * p)), 0.0)
        b = np.where(n - x > 0, (n - x) * np.log((n - x) / (n * (1 - p))), 0.0)
    return 2 * np.sum(a + b)


def test_regional_dispersion_f_by_hand() -> None:
    # Three regions of five areas; region C higher.
    x = np.array([10, 14, 9, 12, 15, 11, 13, 8, 12, 14, 25, 30, 22, 28, 27], dtype=float)
    n = np.array([100, 120, 90, 110, 130, 105, 115, 95, 100, 125, 110, 120, 100, 115, 105.0])
    region = ["A"] * 5 + ["B"] * 5 + ["C"] * 5
    t = la.regional_dispersion_test(x, n, region)
    pooled = x.sum() / n.sum()
    by = pd.Series(x).groupby(region).sum() / pd.Series(n).groupby(region).sum()
    p_reg = np.array([by[r] for r in region])
    d0, d1 = binomial_deviance(x, n, pooled), binomial_deviance(x, n, p_reg)
    pearson = np.sum((x - n * p_reg) ** 2 / (n * p_reg * (1 - p_reg)))
    want = (d0 - d1) / 2 / (pearson / 12)
    assert t.ratio == pytest.approx(want, rel=1e-6)
    assert (t.df_regions, t.df_residual, t.regions, t.authorities) == (2, 12, 3, 15)
    assert t.p_value == pytest.approx(sps.f.sf(want, 2, 12), rel=1e-6)
    assert t.rejects()


def test_regions_with_the_same_make_up_do_not_differ() -> None:
    x = np.array([10, 20, 30] * 3, dtype=float)
    n = np.array([100.0] * 9)
    t = la.regional_dispersion_test(x, n, ["A", "A", "A", "B", "B", "B", "C", "C", "C"])
    assert t.ratio == pytest.approx(0.0, abs=1e-9)
    assert not t.rejects()


# the exact fit is what statsmodels warns of; the test is that the function then refuses
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_an_exact_fit_within_regions_is_refused_not_divided_by() -> None:
    # every authority's rate is exactly its region's: no spread to scale the regions' by
    x = np.array([10, 10, 10, 20, 20, 20, 30, 30, 30], dtype=float)
    n = np.array([100.0] * 9)
    with pytest.raises(ValueError, match="do not vary within regions"):
        la.regional_dispersion_test(x, n, ["A"] * 3 + ["B"] * 3 + ["C"] * 3, measure="share")


def test_missing_revisions_flag_changed_values() -> None:
    base = dict(
        area_name="Fake", geography="local authority", unit="incidents", measure="missing_incidents"
    )
    m = pd.DataFrame(
        [
            {**base, "area_code": "X1", "year": 2021, "vintage": "2022-11", "value": 100.0},
            {**base, "area_code": "X1", "year": 2021, "vintage": "2024-11", "value": 110.0},
            {**base, "area_code": "X2", "year": 2021, "vintage": "2022-11", "value": 50.0},
            {**base, "area_code": "X2", "year": 2021, "vintage": "2024-11", "value": 50.0},
            {**base, "area_code": "X3", "year": 2021, "vintage": "2022-11", "value": np.nan},
            {**base, "area_code": "X3", "year": 2021, "vintage": "2024-11", "value": 7.0},
            {**base, "area_code": "X1", "year": 2019, "vintage": "2022-11", "value": 90.0},
        ]
    )
    rev = la.missing_revisions(m).set_index("area_code")
    assert rev["revised"].to_dict() == {"X1": True, "X2": False, "X3": True}
    assert rev.loc["X1", "change"] == 10.0
    assert (rev.loc["X1", "earlier_vintage"], rev.loc["X1", "later_vintage"]) == (
        "2022-11",
        "2024-11",
    )
    summary = la.revision_summary(rev.reset_index()).set_index("year")
    # 2021: three authorities in both releases, two changed, net change +10 (X3 had no number).
    assert summary.loc[2021, ["authorities", "revised", "total_change"]].tolist() == [3, 2, 10.0]
    assert 2019 not in summary.index  # given by one release only


def test_hex_values_put_split_successors_on_their_predecessor() -> None:
    reg = areas.register(areas.fake_files(FAKES))
    on_map = set(reg.index[reg["hex_q"].notna()])
    assert "F10000001" in on_map and "F06000004" not in on_map  # the fake cartogram predates it
    values = pd.DataFrame(
        {
            "area_code": ["F06000004", "F06000005", "F06000003"],
            "events": [10.0, 20.0, 5.0],
            "children": [1_000.0, 3_000.0, 2_000.0],
            "area_name": ["North Fakeshire", "South Fakeshire", "Fake Merged Borough"],
        }
    )
    hexes = la.hex_values(values, reg).set_index("hex_code")
    assert hexes.loc["F10000001", "combined"]
    assert hexes.loc["F10000001", "rate"] == pytest.approx(10_000 * 30 / 4_000)
    assert hexes.loc["F10000001", "area_codes"] == "F06000004;F06000005"


# --------------------------------------------------------------------------------------------
# The claims are tied to the data: change the (fake) data and the verdict changes.
# --------------------------------------------------------------------------------------------


def fake_tables(listed: int, in_population: int) -> dict[str, pd.DataFrame]:
    """A fake 2012 release listing ``listed`` authorities and a population table with more."""
    release = pd.DataFrame(
        {
            "geography": "local authority",
            "la_number": [f"{i:03d}" for i in range(listed)],
            "area_name": [f"Fake {i}" for i in range(listed)],
            "measure": "cla_at_31_march",
            "value": [5.0] + [100.0] * (listed - 1),
            "year": 2012,
            "source_id": "SRC-EXT-CLA-2012",
        }
    )
    population = pd.DataFrame(
        {
            "geography": "local authority",
            "la_number": [f"{i:03d}" for i in range(in_population)],
            "area_name": [f"Fake {i}" for i in range(in_population)],
            "measure": "child_population",
            "value": 10_000.0,
            "year": 2012,
            "region": "Fake",
            "source_id": "SRC-EXT-POPULATION-2012-2024",
        }
    )
    return {"cla_2012_raw": release, "population_raw": population}


@pytest.mark.parametrize(
    ("listed", "in_population", "verdict"),
    [
        (151, 152, "corroborated_with_caveat"),  # one authority not reported separately
        (152, 152, "corroborated"),
        (150, 151, "contradicted"),
        (152, 153, "contradicted"),
    ],
)
def test_c15_verdict_follows_the_count(monkeypatch, listed, in_population, verdict) -> None:
    tables = fake_tables(listed, in_population)
    monkeypatch.setattr(la, "load", lambda name: tables[name])
    result = verdicts.assess("C15")
    assert result.verdict == verdict
    assert f"lists {listed} local authorities" in result.finding
    count = la.count_authorities_2012()
    assert count.count == in_population
    assert count.small == ("Fake 0",)  # under ten children looked after


def fake_missing_panel(region_effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for year in (2015, 2016, 2017):
        for r, region in enumerate("ABCDEFGHI"):
            for k in range(8):
                n = 200 + 10 * k
                share = 0.1 * (1 + region_effect * (r % 3)) * (0.9 + 0.2 * (k % 2))
                x = rng.binomial(n, min(share, 0.9))
                rows.append(
                    {
                        "area_code": f"X{region}{k}",
                        "year": year,
                        "region": region,
                        "missing_children": float(x),
                        # incidents per child vary between authorities, as they do: an exact
                        # multiple of the children would leave the F ratio 0/0
                        "missing_incidents": float(
                            rng.poisson(x * (4 + region_effect * 6 * (r % 3)))
                        ),
                        "cla_during_year": float(n) if year == 2015 else np.nan,
                    }
                )
    panel = pd.DataFrame(rows)
    panel.attrs["sources"] = ["SRC-EXT-MISSING-2015"]
    return panel


def test_c19_verdict_follows_the_regional_dispersion(monkeypatch) -> None:
    monkeypatch.setattr(la, "earliest_missing_panel", lambda: fake_missing_panel(1.0))
    assert verdicts.assess("C19").verdict == "corroborated_with_caveat"
    flat = fake_missing_panel(0.0)
    # regions made identical: every area's figures copied from region A's
    a = flat[flat["region"] == "A"].copy()
    same = pd.concat([a.assign(region=r, area_code=a["area_code"] + r) for r in "ABC"])
    monkeypatch.setattr(la, "earliest_missing_panel", lambda: same)
    result = verdicts.assess("C19")
    assert result.verdict == "contradicted"
    assert "2012" in result.finding  # the gap between the evidence and the data is stated


def _ecological_covariates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Fake authorities' covariates for the ecological model (no events yet)."""
    return pd.DataFrame(
        {
            "homes_per_10k": rng.uniform(0, 8, n),
            "lac_per_10k": rng.uniform(40, 120, n),
            "incidents_per_10k": rng.uniform(10, 80, n),
            "children": rng.uniform(20_000, 200_000, n),
        }
    )


def test_c26_verdict_follows_the_association(monkeypatch) -> None:
    rng = np.random.default_rng(11)
    frame = _ecological_covariates(rng, 120)
    for slope, verdict in ((0.15, "corroborated_with_caveat"), (-0.15, "contradicted")):
        mu = frame["children"] / 10_000 * 8 * np.exp(slope * frame["homes_per_10k"])
        # over-dispersed (NB2, alpha 0.1) as the real episodes are: Poisson counts would put
        # the NB2 maximum on its alpha = 0 boundary, which the model refuses
        frame["events"] = rng.negative_binomial(10, 1 / (1 + 0.1 * mu)).astype(float)
        frame.attrs["sources"] = ["SRC-FAKE"]
        monkeypatch.setattr(la, "load", lambda name: None)  # nothing real is read
        fixed = frame.copy()
        monkeypatch.setattr(la, "ecological_frame", lambda *a, fr=fixed, **k: fr)
        assert verdicts.assess("C26").verdict == verdict


def test_ecological_model_refuses_counts_without_over_dispersion() -> None:
    # Poisson counts: the NB2 likelihood rises towards alpha = 0, the edge of its parameter
    # space, and the optimiser stops short; the estimates must not go on into a verdict.
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    rng = np.random.default_rng(11)
    frame = _ecological_covariates(rng, 120)
    mu = frame["children"] / 10_000 * 8 * np.exp(0.15 * frame["homes_per_10k"])
    frame["events"] = rng.poisson(mu).astype(float)
    with (
        pytest.warns(ConvergenceWarning),
        pytest.raises(trends.ModelFitError, match="did not converge.*no over-dispersion.*Poisson"),
    ):
        la.fit_ecological_model(frame)


def test_ecological_irr_recovers_a_planted_effect() -> None:
    rng = np.random.default_rng(3)
    frame = _ecological_covariates(rng, 400)
    mu = frame["children"] / 10_000 * 5 * np.exp(0.1 * frame["homes_per_10k"])
    frame["events"] = rng.negative_binomial(1 / 0.1, 1 / (1 + 0.1 * mu)).astype(float)
    irrs = la.ecological_irrs(la.fit_ecological_model(frame)).set_index("term")
    assert irrs.loc["homes_per_10k", "lower"] < math.exp(0.1) < irrs.loc["homes_per_10k", "upper"]
    assert irrs.loc["lac_per_10k", "lower"] < 1 < irrs.loc["lac_per_10k", "upper"]


def test_profile_unknown_name_gives_close_matches_and_exit_2(monkeypatch, capsys) -> None:
    reg = areas.register(areas.fake_files(FAKES))
    monkeypatch.setattr(la, "load", lambda name: reg)
    with pytest.raises(KeyError, match="Fake Merged Borough"):
        la.profile("Fake Mergd Borogh", panels={}, consistent_panels={}, reg=reg)

    class Args:
        name, chart, csv = "Fake Mergd Borogh", "", ""

    assert la.run(Args()) == 2
    assert "close matches: Fake Merged Borough" in capsys.readouterr().err
