"""What the README and the design card promise: commands, layout, notebooks without outputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_layout_from_the_design_card() -> None:
    for name in [
        "notebooks",
        "src/analysis",
        "data/synthetic",
        "data/published",
        "figures",
        "tests",
        "environment.yml",
        "pyproject.toml",
        "Makefile",
        "README.md",
        ".ci/run",
        "LICENSE",
        "DATA_LICENSE.md",
    ]:
        assert (ROOT / name).exists(), name


def test_make_alone_prints_every_target_with_help() -> None:
    out = subprocess.run(
        ["make", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    targets = re.findall(r"^([a-z][a-zA-Z_-]*):.*?## ", (ROOT / "Makefile").read_text(), re.M)
    assert {"figures", "test", "bench", "synthetic", "report", "lab", "lint"} <= set(targets)
    for target in targets:
        assert re.search(rf"^\s+{target}\s+\S", out, re.M), f"`make` does not list {target}"


def test_make_clean_removes_the_outputs_and_keeps_the_run_times(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    made = {
        "figures/.gitkeep": "",
        "figures/01_chart.png": "png",
        "figures/tables/01_table.csv": "a\n1\n",
        "build/stamps/01_missing_children.json": "{}",
        "build/notebooks/01_missing_children.ipynb": "{}",
        "build/timings.json": '{"01_missing_children": 1.5}',
        "site/index.html": "<html></html>",
    }
    for name, text in made.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    subprocess.run(["make", "-s", "clean"], cwd=tmp_path, capture_output=True, check=True)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["Makefile", "build/timings.json", "figures/.gitkeep"]
    assert (tmp_path / "build" / "timings.json").read_text() == made["build/timings.json"]


def test_readme_promises_the_two_commands_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make figures" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z]+)`", readme)):
        assert re.search(rf"^{target}:", makefile, re.M), f"README mentions make {target}"


def test_readme_cli_commands_exist() -> None:
    from analysis.pipeline.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    commands = set(re.findall(r"python -m analysis ([a-z]+)", readme))
    sub = next(a for a in parser._actions if a.dest == "command")
    assert commands <= set(sub.choices), commands - set(sub.choices)


def test_ci_runs_the_readme_test_command_and_treats_no_tests_as_failure() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert re.search(r"-eq 5", ci), ".ci/run must turn pytest's exit code 5 into a failure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_clean_and_say_what_they_do(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        assert not cell.get("outputs"), f"{path.name}: committed with outputs"
        assert not cell.get("execution_count"), f"{path.name}: committed with execution counts"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown"
    text = "".join(first["source"])
    assert "Covers" in text or "covers" in text
    assert "Writes" in text or "writes" in text
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]), (
        path.name
    )


def test_cli_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("claims", "ingest", "synthetic", "figures", "report"):
        assert command in out


def test_every_notebook_built_its_outputs(figures_built: Path) -> None:
    for path in NOTEBOOKS:
        prefix = path.stem[:2]
        made = list(figures_built.glob(f"{prefix}_*")) + list(
            (figures_built / "tables").glob(f"{prefix}_*")
        )
        if prefix == "00":
            made += list((figures_built / "tables").glob("claims_audit*"))
        assert made, f"{path.name} wrote nothing to figures/"


def test_every_figure_has_data_and_metadata(figures_built: Path) -> None:
    for png in figures_built.glob("*.png"):
        meta = json.loads(png.with_suffix(".json").read_text())
        assert png.with_suffix(".csv").exists(), png.name
        assert isinstance(meta["synthetic"], bool)
        if meta["synthetic"]:
            assert meta["label"] == "synthetic data, illustrative only"
        else:
            assert meta["sources"], f"{png.name}: published chart without sources"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["figures", "99"], "no notebook"),
        (["claims", "--theme", "99"], "no claims for theme"),
        (["ingest", "/nonexistent-returns", "--out", "x.csv"], "not found"),
    ],
)
def test_cli_usage_errors_are_clear_and_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr
