"""The figure check in :func:`analysis.plotting.save_figure`: planted faults must fail the save.

Each test builds a small chart that breaks one house rule (an overlap, a 7 pt label, a title
that differs from the JSON, a wrong width, a missing or stray synthetic mark, an internal id, an
unlabelled log axis, a bar not based at zero) and checks that saving it raises
:class:`~analysis.plotting.FigureCheckError` naming the figure and the artist, and writes nothing.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import plotting
from analysis.plotting import FigureCheckError

DATA = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})


@pytest.fixture(autouse=True)
def _close_figures():
    with matplotlib.rc_context():  # the house style is undone after each test
        plotting.use_house_style()
        yield
    plt.close("all")


def good_figure(size: str = "full"):
    fig, ax = plotting.figure(size, 3.0)
    ax.plot(DATA["x"], DATA["y"], color=plotting.COLORS["published"], label="a published series")
    ax.set_xlabel("year")
    ax.set_ylabel("children")
    ax.legend(loc="upper right")
    return fig, ax


def save(fig, tmp_path: Path, *, name: str = "99_check", synthetic: bool = False, **kw):
    kw.setdefault("title", "Children: the count fell and then rose")
    if not synthetic:
        kw.setdefault("sources", ["SRC-LAC2012"])
    return plotting.save_figure(fig, name, data=DATA, synthetic=synthetic, out_dir=tmp_path, **kw)


def failure(fig, tmp_path: Path, **kw) -> str:
    with pytest.raises(FigureCheckError) as info:
        save(fig, tmp_path, **kw)
    assert not tmp_path.exists() or not list(tmp_path.iterdir()), "a failing figure was written"
    return str(info.value)


@pytest.mark.parametrize("size", ["full", "column"])
def test_a_clean_figure_passes_and_records_title_caption_and_assumptions(tmp_path, size):
    fig, _ = good_figure(size)
    written = save(
        fig,
        tmp_path,
        caption="One line for the report.",
        assumes=["Wilson 95% interval: the sample is random"],
    )
    assert {p.suffix for p in written} == {".png", ".svg", ".csv", ".json"}
    meta = json.loads((tmp_path / "99_check.json").read_text())
    assert meta["title"] == "Children: the count fell and then rose"
    assert meta["caption"] == "One line for the report."
    assert meta["assumes"] == ["Wilson 95% interval: the sample is random"]
    assert meta["size"] == size and meta["width_in"] == plotting.SIZES[size]
    assert meta["source_line"] == "Source: DfE, Children looked after in England 2012"
    assert meta["sources"][0]["source_id"] == "SRC-LAC2012"
    svg = (tmp_path / "99_check.svg").read_text()
    texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert "Children: the count fell" in texts, "SVG text must stay text (svg.fonttype none)"
    assert "SRC-" not in texts


def test_a_planted_overlap_fails_naming_both_labels(tmp_path):
    fig, ax = good_figure()
    ax.text(2, 2, "first label")
    ax.text(2, 2, "second label")
    message = failure(fig, tmp_path)
    assert "99_check" in message
    assert re.search(r"'first label'.*overlaps.*'second label'", message), message


def test_rotated_labels_that_do_not_touch_pass_and_crowded_ones_fail(tmp_path):
    fig, ax = good_figure()
    ax.set_xticks([1.0, 1.1, 1.2], ["2011/12", "2012/13", "2013/14"], rotation=45, ha="right")
    fig.canvas.draw()
    first, second = (t.get_window_extent() for t in ax.get_xticklabels()[:2])
    assert first.overlaps(second), "the upright boxes overlap: only the rotated test can pass"
    save(fig, tmp_path / "apart")
    fig, ax = good_figure()
    ax.set_xticks([1.0, 1.01, 1.02], ["2011/12", "2012/13", "2013/14"], rotation=45, ha="right")
    assert "overlaps" in failure(fig, tmp_path / "crowded")


def test_a_7pt_label_fails(tmp_path):
    fig, ax = good_figure()
    ax.text(1.5, 2.5, "small print", fontsize=7)
    message = failure(fig, tmp_path)
    assert "'small print'" in message and "7 pt, under 8 pt" in message


def test_a_mismatched_title_fails(tmp_path):
    fig, _ = good_figure()
    fig.suptitle("A different finding")
    message = failure(fig, tmp_path)
    assert "A different finding" in message and "JSON title" in message


def test_a_width_that_is_neither_size_fails(tmp_path):
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    ax.plot([1, 2], [1, 2])
    assert "width 9.00 in" in failure(fig, tmp_path)


def test_text_outside_the_canvas_fails(tmp_path):
    fig, ax = good_figure()
    ax.text(1.3, 2, "runs off the edge", transform=ax.transAxes).set_in_layout(False)
    message = failure(fig, tmp_path)
    assert "'runs off the edge'" in message and "outside the canvas" in message


def test_synthetic_figures_carry_the_mark_and_published_ones_do_not(tmp_path):
    fig, _ = good_figure()
    save(fig, tmp_path, synthetic=True, name="99_synthetic")
    meta = json.loads((tmp_path / "99_synthetic.json").read_text())
    assert meta["synthetic"] is True
    svg = (tmp_path / "99_synthetic.svg").read_text()
    assert plotting.SYNTHETIC_LABEL in svg

    fig, ax = good_figure()
    ax.text(1.2, 1.2, plotting.SYNTHETIC_LABEL)
    assert "carries the synthetic mark" in failure(fig, tmp_path / "real")


def test_a_synthetic_figure_without_its_mark_fails():
    fig, _ = good_figure()
    fig.suptitle("A title")
    problems = plotting.check_figure(fig, name="99_x", title="A title", synthetic=True)
    assert any("without the synthetic-data mark" in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("from SRC-LAC2012", "source id"),
        ("LAC2012 and the rest", "internal id (LAC2012)"),
        ("period_start to period_end", "field name (period_start)"),
        ("claim C19", "internal id (C19)"),
    ],
)
def test_internal_ids_and_field_names_on_a_chart_fail(tmp_path, text, what):
    fig, ax = good_figure()
    ax.text(1.1, 1.2, text)
    assert what in failure(fig, tmp_path)


def test_synthetic_area_codes_are_names_and_pass(tmp_path):
    fig, ax = good_figure()
    ax.text(1.1, 1.2, "SYN017")
    save(fig, tmp_path, synthetic=True)


def test_a_log_axis_must_say_so(tmp_path):
    fig, ax = good_figure()
    ax.set_yscale("log")
    assert "log y axis" in failure(fig, tmp_path)
    fig, ax = good_figure()
    plotting.log_axis(ax, "y", "children")
    save(fig, tmp_path)


def test_bars_must_start_at_zero_and_not_sit_on_a_log_axis(tmp_path):
    fig, ax = plotting.figure("full", 3.0)
    ax.barh([0, 1], [5, 8], left=[2, 3])
    ax.set_xlabel("count")
    assert "based at 2" in failure(fig, tmp_path)

    fig, ax = plotting.figure("full", 3.0)
    ax.barh([0, 1], [500, 8000])
    plotting.log_axis(ax, "x", "count")
    assert "bars on a log axis" in failure(fig, tmp_path)

    fig, ax = plotting.figure("full", 3.0)
    ax.bar([0, 1], [5, 8])
    ax.bar([0, 1], [1, 2], bottom=[5, 8])  # stacked bars rest on the bars below
    ax.set_ylabel("count")
    save(fig, tmp_path)


def test_a_figure_without_a_title_is_refused(tmp_path):
    fig, _ = good_figure()
    with pytest.raises(ValueError, match="needs a title"):
        plotting.save_figure(fig, "99_x", data=DATA, synthetic=True, out_dir=tmp_path)


def test_source_line_merges_years_and_shortens_producers():
    line = plotting.source_line(["SRC-LAC2009", "SRC-LAC2010", "SRC-LAC2011", "SRC-LAC2012"])
    # DCSF published 2009; DfE 2010-2012 (the register's producers and dates).
    assert line == (
        "Sources: DCSF, Children looked after in England 2009; "
        "DfE, Children looked after in England 2010-2012"
    )


def test_hex_map_places_odd_rows_half_a_hexagon_right():
    fig, ax = plotting.figure("column", 3.0)
    frame = pd.DataFrame({"q": [0, 0], "r": [0, 1], "color": ["#000000", "#ffffff"]})
    plotting.hex_map(ax, frame, layout="odd-r")
    centres = sorted((round(p.xy[0], 3), round(p.xy[1], 3)) for p in ax.patches)
    assert centres == [(0.0, 0.0), (0.5, 0.866)]


# --------------------------------------------------------------------------------------------
# How save_figure lays out and checks: once, frozen, on the PNG's own render
# --------------------------------------------------------------------------------------------


def test_saving_runs_no_layout_after_the_check_and_restores_the_figure(tmp_path, monkeypatch):
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    events: list[str] = []
    execute = ConstrainedLayoutEngine.execute
    check = plotting._check_drawn
    monkeypatch.setattr(
        ConstrainedLayoutEngine,
        "execute",
        lambda self, fig: (events.append("layout"), execute(self, fig))[1],
    )
    monkeypatch.setattr(
        plotting, "_check_drawn", lambda *a, **k: (events.append("check"), check(*a, **k))[1]
    )
    fig, ax = good_figure()
    save(fig, tmp_path)
    assert "check" in events and "layout" in events
    assert "layout" not in events[events.index("check") :], events  # the checked layout is saved
    assert fig.dpi == 100 and isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    # a failing save restores the figure too
    ax.text(2, 2, "small print", fontsize=7)
    with pytest.raises(FigureCheckError):
        save(fig, tmp_path / "again")
    assert fig.dpi == 100 and isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)


def test_the_check_reads_the_png_render_at_its_dpi(tmp_path, monkeypatch):
    seen: list[float] = []
    check = plotting._check_drawn

    def spy(fig, drawn, **kw):
        seen.append(fig.dpi)
        return check(fig, drawn, **kw)

    monkeypatch.setattr(plotting, "_check_drawn", spy)
    fig, _ = good_figure()
    save(fig, tmp_path)
    assert seen == [plotting.house_style()["savefig.dpi"]]


def test_png_and_svg_show_the_same_layout(tmp_path):
    # The axes' background rectangle, as drawn in each file, must be in the same place.
    fig, ax = good_figure()
    ax.set_facecolor("#ff0000")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)  # nothing drawn over the rectangle's edges
    save(fig, tmp_path)
    image = np.asarray(Image.open(tmp_path / "99_check.png").convert("RGB")).astype(int)
    red = (image[:, :, 0] > 200) & (image[:, :, 1] < 60) & (image[:, :, 2] < 60)
    rows, cols = np.nonzero(red)
    dpi = plotting.house_style()["savefig.dpi"]
    png_box = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]) / dpi
    svg = (tmp_path / "99_check.svg").read_text()
    path = re.search(r'<path d="([^"]+)"[^>]*style="fill: #ff0000', svg)
    assert path, "the axes patch is in the SVG"
    xy = np.array(re.findall(r"(-?[\d.]+) (-?[\d.]+)", path.group(1)), dtype=float) / 72
    svg_box = np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])
    assert np.allclose(png_box, svg_box, atol=1.5 / dpi), (png_box, svg_box)


@pytest.mark.parametrize("transparent", [False, True])
def test_the_png_has_the_pixels_matplotlib_writes(tmp_path, transparent):
    # The reference is matplotlib's own PNG writer at the same dpi: same pixels, and RGB only
    # when every pixel is opaque (a transparent background keeps its alpha channel).
    fig, ax = plotting.figure("full", 3.0)
    ax.plot([0, 1, 2], [2, 0, 1], color="#d62728")
    ax.text(1, 1, "a label", fontsize=9)
    if transparent:
        fig.patch.set_alpha(0.0)
    dpi = 150.0
    fig.savefig(tmp_path / "ref.png", format="png", dpi=dpi)
    reference = Image.open(tmp_path / "ref.png").convert("RGBA")
    with plotting._at_dpi(fig, dpi):  # as save_figure calls it: the figure is at the PNG's dpi
        ours = Image.open(io.BytesIO(plotting._render_png(fig, dpi)))
    assert ours.mode == ("RGBA" if transparent else "RGB")
    assert ours.size == reference.size
    assert ours.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)  # pHYs: pixels a metre
    assert np.array_equal(np.asarray(ours.convert("RGBA")), np.asarray(reference))


def test_a_canvas_of_another_width_is_refused_not_read_skewed():
    sink = plotting._RawSink()
    sink.write(np.zeros((3, 5, 4), dtype=np.uint8))
    assert sink.pixels(5).shape == (3, 5, 4)
    with pytest.raises(ValueError, match="4 pixels wide"):
        sink.pixels(4)
    sink.write(b"\x00" * 4)  # a second block
    with pytest.raises(ValueError):
        sink.pixels(5)


def naive_wrap(renderer, text, width_px, size, weight="normal"):
    """The greedy wrap one word at a time, each trial line measured (the reference)."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and plotting._text_width(renderer, trial, size, weight) > width_px:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("dpi", [100, 200])  # the house figure dpi, and the PNG's (the save's)
def test_wrap_breaks_lines_where_measuring_every_trial_line_would(dpi):
    rng = np.random.default_rng(7)
    vocab = (
        "the of a child children looked-after 2012/13 Wilson 95% interval: LSCBs England's "
        "DfE, ONS; (SFR) supercalifragilisticexpialidocious W i l m iii WWW"
    ).split()
    fig, _ = plotting.figure()
    fig.set_dpi(dpi)
    renderer = fig.canvas.get_renderer()
    for _ in range(150):
        words = rng.choice(vocab, size=rng.integers(0, 30)).tolist()
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.replace(" a ", "\n", 1) + "\n\n  x "
        width = float(rng.uniform(15, 600)) * dpi / 100
        size = float(rng.choice([8.0, 9.0, 10.5]))
        weight = str(rng.choice(["normal", "bold"]))
        assert plotting._wrap(renderer, text, width, size, weight) == naive_wrap(
            renderer, text, width, size, weight
        ), (text, width)


def test_point_labels_are_placed_at_saving_whenever_they_were_made(tmp_path):
    def chart(label_first: bool):
        fig, ax = plotting.figure("full", 3.0)
        x, y = [1, 2, 3, 4], [10, 200, 3000, 40000]
        if label_first:
            plotting.annotate_points(ax, x, y, ["one", "two", "three", "four"])
        ax.plot(x, y, "o-", color=plotting.COLORS["published"])
        plotting.log_axis(ax, "y", "children")
        ax.set_xlabel("year")
        if not label_first:
            plotting.annotate_points(ax, x, y, ["one", "two", "three", "four"])
        return fig, ax

    placed = []
    for first in (True, False):
        fig, ax = chart(first)
        save(fig, tmp_path / str(first))
        placed.append([(t.get_text(), t.xyann, t.get_ha(), t.get_va()) for t in ax.texts])
    assert placed[0] == placed[1]
    assert (tmp_path / "True" / "99_check.png").read_bytes() == (
        tmp_path / "False" / "99_check.png"
    ).read_bytes()
