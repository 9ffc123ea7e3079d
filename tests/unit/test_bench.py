"""The benchmark's helpers: comparisons in turn, medians, and the README block it writes.

No timing is asserted here (performance targets live in `make bench`, never in tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from analysis.pipeline import bench
from analysis.pipeline.bench_pipeline import same_packages


def test_comparisons_are_measured_in_turn() -> None:
    order: list[str] = []

    def side(name: str, seconds: float) -> bench.Measure:
        return bench.Measure(name, lambda: order.append(name) or seconds)

    times = bench.alternate([side("uv", 1.0), side("pip", 3.0)], 3, log=lambda *a, **k: None)
    assert order == ["uv", "pip", "uv", "pip", "uv", "pip"]
    assert times == {"uv": [1.0, 1.0, 1.0], "pip": [3.0, 3.0, 3.0]}
    assert bench.median([5.0, 1.0, 4.0]) == 4.0 and bench.median([1.0, 2.0]) == 1.5


def test_timed_reports_progress_while_a_step_runs_and_names_a_failure(tmp_path: Path) -> None:
    marks: list[str] = []
    seconds = bench.timed(
        [sys.executable, "-c", "import time; time.sleep(0.35)"],
        tmp_path,
        log=lambda text, **_: marks.append(text),
        tick=0.1,
    )
    assert seconds >= 0.35 and marks and all(m.endswith(" s...") for m in marks)
    with pytest.raises(RuntimeError, match="exit 3"):
        bench.timed([sys.executable, "-c", "print('why'); raise SystemExit(3)"], tmp_path)


def test_results_are_written_between_the_readme_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{bench.README_START}\nold\n{bench.README_END}\n\nafter\n")
    rows = [
        bench.Row("create .venv with uv", 6.0, runs=[6.0, 5.5, 7.0]),
        bench.Row("uv / pip (ratio 0.13)", 0.13, "<= 0.33", True, unit="ratio"),
        bench.Row("no-op make figures", 2.5, "<= 2 s", False),
    ]
    bench.save("pipeline", rows, folder=tmp_path / "results", cores=2, repeat=3)
    assert bench.update_readme(readme, folder=tmp_path / "results")
    text = readme.read_text()
    assert text.startswith("intro\n\n") and text.endswith(f"{bench.README_END}\n\nafter\n")
    block = text.split(bench.README_START)[1].split(bench.README_END)[0]
    assert "old" not in block and "2 cores" in block and "medians of 3 runs" in block
    assert "| create .venv with uv | 6.0 s |  |  |" in block
    assert "| uv / pip (ratio 0.13) | 0.13 | <= 0.33 | met |" in block
    assert "| no-op make figures | 2.5 s | <= 2 s | NOT MET |" in block
    assert not bench.update_readme(readme, folder=tmp_path / "results"), "rewrote the same text"
    # with nothing measured, the block says so rather than showing numbers
    assert "run `make bench`" in bench.readme_block({})


def test_the_two_environments_are_compared_package_by_package() -> None:
    assert same_packages({"numpy==2.4.6", "pip==23.2.1"}, {"pip==23.2.1", "numpy==2.4.6"}) == ""
    diff = same_packages({"numpy==2.4.6"}, {"numpy==2.4.5"})
    assert "numpy==2.4.6" in diff and "numpy==2.4.5" in diff


def test_a_value_that_rounds_to_its_limit_shows_which_side_it_is_on() -> None:
    assert bench.Row("build", 15.04, "<= 15 s", False).value_text() == "15.04 s"
    assert bench.Row("build", 14.96, "<= 15 s", True).value_text() == "14.96 s"
    assert bench.Row("build", 12.34, "<= 15 s", True).value_text() == "12.3 s"
    assert bench.Row("ratio", 0.304, "<= 0.3", False, unit="ratio").value_text() == "0.304"
    assert bench.Row("ratio", 0.25, "<= 0.3", True, unit="ratio").value_text() == "0.25"
    assert bench.Row("nbconvert", 59.06).value_text() == "59.1 s"
    assert bench.Row("build", 15.0007, "<= 15 s", False).value_text() == "15.001 s"
