"""Every built figure in the house style: read back from figures/ (after `make figures`).

The figure check runs at save time on the figure object (tests/unit/test_figure_check.py); these
tests read the files a reader gets: the SVG's text (kept as text), the PNG's size and the JSON's
fields. Expectations come from the house rules, not from the figures themselves.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analysis import plotting, published

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_texts(path: Path) -> list[str]:
    """Every text element of an SVG, in document order."""
    root = ET.parse(path).getroot()
    return [
        "".join(el.itertext()).strip()
        for el in root.iter(f"{SVG_NS}text")
        if "".join(el.itertext()).strip()
    ]


def png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path.name
    return struct.unpack(">II", head[16:24])


def figure_stems(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.json"))


def test_no_svg_shows_a_source_id_a_figure_id_or_a_chart_name(figures_built: Path) -> None:
    figure_ids = set(published.load_all()["figure_id"])
    names = set(figure_stems(figures_built))
    problems = []
    for svg in sorted(figures_built.glob("*.svg")):
        for text in svg_texts(svg):
            if "SRC-" in text:
                problems.append(f"{svg.name}: {text!r} shows a source id")
            for token in re.findall(r"[A-Za-z0-9_]+", text):
                if token in figure_ids:
                    problems.append(f"{svg.name}: {text!r} shows the figure id {token}")
                if token in names:
                    problems.append(f"{svg.name}: {text!r} shows the chart name {token}")
    assert not problems, "\n".join(problems)


def test_every_figure_records_title_caption_assumptions_and_size(figures_built: Path) -> None:
    for stem in figure_stems(figures_built):
        meta = json.loads((figures_built / f"{stem}.json").read_text())
        assert meta["kind"] == "figure", stem
        assert meta["title"].strip(), f"{stem}: no title"
        assert isinstance(meta["caption"], str) and "\n" not in meta["caption"], stem
        assert isinstance(meta["assumes"], list), stem
        assert meta["size"] in plotting.SIZES, stem
        assert meta["width_in"] == plotting.SIZES[meta["size"]], stem
        width_px, _ = png_size(figures_built / f"{stem}.png")
        assert width_px == round(meta["width_in"] * plotting.house_style()["savefig.dpi"]), stem
        if not meta["synthetic"]:
            assert meta["source_line"].startswith("Source"), stem
            assert all(s["citation"] for s in meta["sources"]), stem


def test_the_chart_title_is_the_json_title_and_the_mark_follows_the_data(
    figures_built: Path,
) -> None:
    for stem in figure_stems(figures_built):
        meta = json.loads((figures_built / f"{stem}.json").read_text())
        texts = svg_texts(figures_built / f"{stem}.svg")
        words = " ".join(" ".join(texts).split())
        assert " ".join(meta["title"].split()) in words, (
            f"{stem}: the chart's title is not the JSON's"
        )
        marked = any(plotting.SYNTHETIC_LABEL in t for t in texts)
        assert marked == meta["synthetic"], f"{stem}: synthetic mark does not match the data"


def test_no_text_on_any_chart_is_under_8pt(figures_built: Path) -> None:
    small = []
    for svg in sorted(figures_built.glob("*.svg")):
        root = ET.parse(svg).getroot()
        for el in root.iter(f"{SVG_NS}text"):
            match = re.search(r"font-size:\s*([\d.]+)px", el.get("style", ""))
            # The SVG's user unit is the point (72 per inch), so px here are points.
            if match and float(match.group(1)) < plotting.MIN_FONT_SIZE - 1e-6:
                small.append(f"{svg.name}: {''.join(el.itertext())!r} at {match.group(1)} pt")
    assert not small, "\n".join(small)


@pytest.mark.parametrize("stem", ["00_claims_overview", "03_overrepresentation_forest"])
def test_the_two_overview_charts_exist_with_their_data(figures_built: Path, stem: str) -> None:
    for suffix in (".png", ".svg", ".csv", ".json"):
        assert (figures_built / f"{stem}{suffix}").exists(), f"{stem}{suffix}"
