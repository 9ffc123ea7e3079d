"""Charts never join points across a change of definition or unit; series numbers come from data.

The break cases are the two in the published tables: looked-after children missing for more than
24 hours (DfE, 2010-2012) against children with any missing incident (2015 on), and police
missing-person "incidents" (to 2012/13) against "calls" (from 2013/14).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis import published, sources
from analysis.themes import timeseries


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def _series_lines(ax):
    """Data lines only: break markers are vertical (all x equal)."""
    out = []
    for line in ax.lines:
        xs = np.asarray(line.get_xdata(), dtype=float)
        if len(xs) > 1 and np.all(xs == xs[0]):
            continue
        out.append(line)
    return out


def _assert_no_line_crosses(ax, x_before, x_after):
    for line in ax.lines:
        xs = np.asarray(line.get_xdata(), dtype=float)
        crosses = np.any(xs <= x_before) and np.any(xs >= x_after)
        assert not crosses, f"a line joins points across the break: x = {xs.tolist()}"


def _break_marks(ax):
    return [
        float(np.asarray(line.get_xdata(), dtype=float)[0])
        for line in ax.lines
        if len(line.get_xdata()) == 2
        and line.get_xdata()[0] == line.get_xdata()[1]
        and line.get_linestyle() == "--"
    ]


def _children_missing_from_care() -> pd.DataFrame:
    table = published.load_missing_from_care()
    rows = table[table["figure_id"].str.match(r"^(MFC0[1-3]|LACMISS\d{4})$")].copy()
    rows["year"] = timeseries.year_ending(rows)
    return rows


def test_missing_from_care_is_never_joined_across_the_2015_definition_change(ax):
    frame = _children_missing_from_care()
    # the published table carries the break: three old-definition years, then the new measure
    old = frame[frame["definition"] == "lac_missing_over_24h_to_2012"]
    new = frame[frame["definition"] == "lac_any_missing_incident_from_2015"]
    assert sorted(old["year"]) == [2010, 2011, 2012]
    assert min(new["year"]) == 2015
    drawn = timeseries.plot_series(ax, frame, x="year", y="value")
    _assert_no_line_crosses(ax, 2012, 2015)
    assert len(_series_lines(ax)) >= 2
    assert [b.label for b in drawn.breaks] == ["definition changed"]
    assert _break_marks(ax) == [2013.5]
    texts = [t.get_text().strip() for t in ax.texts]
    assert "definition changed" in texts


def test_police_incidents_and_calls_are_separate_segments(ax):
    table = published.load_missing_persons()
    rows = table[table["figure_id"].isin(["MP09", "MP04", "MPD1415CALLS"])].copy()
    rows["year"] = timeseries.year_ending(rows)
    assert rows.set_index("figure_id").loc["MP04", "year"] == 2012  # 2011/12
    assert rows.set_index("figure_id").loc["MPD1415CALLS", "year"] == 2015  # 2014/15
    with pytest.raises(ValueError, match="mixes units"):
        timeseries.plot_series(ax, rows)
    drawn = timeseries.plot_series(ax, rows, same_axis_units={"incidents", "calls"})
    _assert_no_line_crosses(ax, 2012, 2015)
    assert len(_series_lines(ax)) == 2
    assert set(drawn.breaks[0].reason) == {"definition", "unit"}


def test_naive_frame_gives_one_segment_per_run_and_breaks_on_return_to_old_definition(ax):
    frame = pd.DataFrame(
        {
            "year": [1, 2, 3, 4, 5, 6, 7],
            "value": [5.0, 6, 7, 8, 9, 10, 11],
            "definition": ["a", "a", "b", "b", "b", "a", "a"],
            "unit": "children",
        }
    )
    drawn = timeseries.plot_series(ax, frame)
    segments = _series_lines(ax)
    assert len(segments) == 3
    assert [np.asarray(s.get_xdata()).tolist() for s in segments] == [[1, 2], [3, 4, 5], [6, 7]]
    for brk in drawn.breaks:
        _assert_no_line_crosses(ax, brk.x_before, brk.x_after)
    assert _break_marks(ax) == [2.5, 5.5]


def test_unsorted_input_is_sorted_before_segmenting(ax):
    frame = pd.DataFrame(
        {
            "year": [2015, 2010, 2012, 2011],
            "value": [4.0, 1, 3, 2],
            "definition": ["new", "old", "old", "old"],
            "unit": "children",
        }
    )
    timeseries.plot_series(ax, frame)
    _assert_no_line_crosses(ax, 2012, 2015)
    assert [np.asarray(s.get_xdata()).tolist() for s in _series_lines(ax)] == [
        [2010, 2011, 2012],
        [2015],
    ]


def test_a_helper_that_joined_across_the_break_would_fail(ax):
    """The check itself: a plain ax.plot over the same frame is caught."""
    frame = _children_missing_from_care().sort_values("year")
    ax.plot(frame["year"], frame["value"])
    with pytest.raises(AssertionError, match="across the break"):
        _assert_no_line_crosses(ax, 2012, 2015)


def test_children_and_incidents_are_refused_on_one_axis_and_faceted_on_request():
    table = published.load_missing_from_care()
    rows = table[table["figure_id"].str.match(r"^(MFC0[1-3]|LACMISS\d{4}|LACMISSINC\d{4})$")].copy()
    rows["year"] = timeseries.year_ending(rows)
    fig, (left, right) = plt.subplots(1, 2)
    try:
        with pytest.raises(ValueError, match="mixes units"):
            timeseries.plot_series(left, rows)
        with pytest.raises(ValueError, match="mixes units"):
            timeseries.plot_series(left, rows, same_axis_units={"incidents", "calls"})
        drawn = timeseries.plot_series({"children": left, "incidents": right}, rows, facet="unit")
        assert drawn.axes == {"children": left, "incidents": right}
        for axes in (left, right):
            _assert_no_line_crosses(axes, 2012, 2015)
            assert _break_marks(axes) == [2013.5]
        right_units = {float(v) for line in _series_lines(right) for v in line.get_ydata()}
        incidents = set(rows.loc[rows["unit"] == "incidents", "value"])
        assert right_units == incidents
    finally:
        plt.close(fig)


def test_geography_break_is_optional_and_labelled(ax):
    table = published.load_missing_persons()
    rows = table[table["figure_id"].isin(["MPD1516CHILD", "MPD1617CHILD"])].copy()
    rows["year"] = timeseries.year_ending(rows)
    assert len(timeseries.find_breaks(rows, "year")) == 0
    drawn = timeseries.plot_series(ax, rows, also_break_on=("geography",))
    assert [b.label for b in drawn.breaks] == ["coverage changed"]
    _assert_no_line_crosses(ax, 2016, 2017)


def test_runs_split_where_find_breaks_does():
    # hand-made series: a geography change in 2012, a unit change in 2014, then a gap in years
    frame = pd.DataFrame(
        {
            "year": [2014, 2010, 2011, 2012, 2013, 2016],
            "definition": ["d"] * 6,
            "unit": ["calls", "incidents", "incidents", "incidents", "incidents", "calls"],
            "geography": ["E", "EW", "EW", "E", "E", "E"],
        }
    )
    years = [r["year"].tolist() for r in timeseries.runs(frame, "year")]
    assert years == [[2010, 2011, 2012, 2013], [2014, 2016]]
    years = [
        r["year"].tolist() for r in timeseries.runs(frame, "year", also_break_on=["geography"])
    ]
    assert years == [[2010, 2011], [2012, 2013], [2014, 2016]]
    assert [len(r) for r in timeseries.runs(frame, "year", unit_col=None)] == [6]
    breaks = timeseries.find_breaks(frame, "year", also_break_on=["geography"])
    assert [b.x for b in breaks] == [2011.5, 2013.5]
    assert timeseries.runs(frame.iloc[:0], "year") == []
    with pytest.raises(TypeError):
        timeseries.runs(frame, "year", unit="unit")


def test_rate_per_10000_uses_previous_mid_year_population():
    rates = timeseries.rate_per(timeseries.select("assessment_factors", "CINCSE")).set_index("year")
    # hand arithmetic: CINCSE2025 = 12400 episodes; POP0017_2024 = 12,183,016 children
    assert rates.loc[2025, "rate"] == pytest.approx(12400 / 12183016 * 1e4, rel=1e-12)
    assert rates.loc[2025, "population_id"] == "POP0017_2024"
    # CINCSE2018 = 20000 over POP0017_2017 = 11,716,740
    assert rates.loc[2018, "rate"] == pytest.approx(20000 / 11716740 * 1e4, rel=1e-12)


def test_looked_after_rate_is_missing_where_population_was_not_traced():
    lac = timeseries.rate_per(timeseries.select("looked_after", "LAC")).set_index("year")
    assert lac.loc[2025, "rate"] == pytest.approx(81770 / 12183016 * 1e4, rel=1e-12)
    assert lac.loc[2013, "rate"] == pytest.approx(68110 / 11403970 * 1e4, rel=1e-12)
    for year in (2009, 2010, 2011, 2012):  # mid-2008 to mid-2011 not traced
        assert not lac.loc[year, "population_traced"] and np.isnan(lac.loc[year, "rate"])


def test_revised_vintages_are_kept_apart():
    first = timeseries.select("looked_after", "LAC")
    revised = timeseries.select("looked_after", "LAC", suffix="R")
    assert set(first["vintage"]) == {"first published"}
    assert all(v.startswith("revised") for v in revised["vintage"])
    assert revised.set_index("year").loc[2015, "value"] == 69480


def test_financial_year_labels():
    assert timeseries.financial_year(2012) == "2011/12"
    assert timeseries.financial_year(2015) == "2014/15"


def test_data_systems_cite_only_registered_sources():
    systems = timeseries.data_systems()
    register = sources.load_register()
    cited = {s for v in systems["source_id"] for s in v.split(";") if s}
    assert cited and cited <= set(register)
    assert set(systems["exists_now"]) <= set(timeseries.EXISTS_NOW)
    by_id = systems.set_index("system_id")
    assert by_id.loc["care_home_risk_map", "exists_now"] == "not traced"
    assert by_id.loc["care_home_risk_map", "source_id"] == ""
    assert by_id.loc["missing_from_care_data", "exists_now"] == "yes"


def test_notebook_08_rates_come_from_the_published_numbers():
    """The figure data written by notebook 08 against hand arithmetic (skips if not built)."""
    path = sources_root() / "figures" / "08_assessments_cse_cce.csv"
    if not path.exists():
        pytest.skip("figures/ not built: run `make figures`")
    drawn = pd.read_csv(path).set_index("figure_id")
    assert drawn.loc["CINCSE2025", "rate"] == pytest.approx(12400 / 12183016 * 1e4, rel=1e-9)
    assert drawn.loc["CINCSE2025", "share"] == pytest.approx(12400 / 513250, rel=1e-9)
    assert drawn.loc["CINCCE2022", "rate"] == pytest.approx(10140 / 11762878 * 1e4, rel=1e-9)
    assert set(drawn["unit"]) == {"episodes"}  # CINCSEKIDS2025 (children) is not drawn
    lac = pd.read_csv(sources_root() / "figures" / "08_looked_after_rate.csv")
    row = lac[lac["figure_id"] == "LAC2025"].iloc[0]
    assert row["rate"] == pytest.approx(81770 / 12183016 * 1e4, rel=1e-9)
    assert lac.loc[lac["year"] <= 2012, "rate"].isna().all()


def sources_root():
    from analysis import paths

    return paths.PROJECT_ROOT
