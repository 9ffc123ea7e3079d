"""The notebook runner behind `make figures`: headless, incremental, atomic, byte-identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.pipeline.runner import (
    GC_THRESHOLDS,
    discover,
    kernel_group,
    run_notebooks,
    schedule,
)

pytestmark = pytest.mark.slow

GOOD = """
import matplotlib.pyplot as plt
import pandas as pd
from analysis import plotting
fig, ax = plotting.figure()
ax.plot([1, 2, 3], [3, 1, 2])
plotting.save_figure(fig, "99_probe", title="Probe", data=pd.DataFrame({"x": [1, 2, 3]}), synthetic=True)
"""


def make_project(tmp_path: Path, *cells: str) -> Path:
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# probe")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, tmp_path / "notebooks" / "99_probe.ipynb")
    return tmp_path


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_runs_then_skips_then_rebuilds_identically(tmp_path: Path) -> None:
    root = make_project(tmp_path, GOOD)
    lines: list[str] = []
    first = run_notebooks(root=root, log=lines.append)
    assert [r.status for r in first] == ["ran"]
    assert any("99_probe" in line and " s," in line for line in lines), lines
    figures = root / "figures"
    expected = {"99_probe.png", "99_probe.svg", "99_probe.csv", "99_probe.json"}
    assert set(digests(figures)) == expected
    before = digests(figures)

    again = run_notebooks(root=root, log=lines.append)
    assert [r.status for r in again] == ["skipped"]

    for path in figures.iterdir():
        path.unlink()
    rebuilt = run_notebooks(root=root, log=lines.append)
    assert [r.status for r in rebuilt] == ["ran"]
    assert digests(figures) == before, "rebuilt figures differ byte for byte"


def test_failing_cell_names_notebook_and_cell_and_keeps_old_outputs(tmp_path: Path) -> None:
    root = make_project(tmp_path, GOOD)
    run_notebooks(root=root, log=lambda _: None)
    before = digests(root / "figures")

    nb_path = root / "notebooks" / "99_probe.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[1].source = GOOD.replace("[3, 1, 2]", "[2, 2, 2]")
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('boom in the probe')"))
    nbformat.write(nb, nb_path)

    lines: list[str] = []
    result = run_notebooks(root=root, log=lines.append)
    assert [r.status for r in result] == ["failed"]
    # named as a reader finds it: the second code cell, by its first line; no colour codes
    assert (
        "99_probe.ipynb: code cell 2 (raise RuntimeError('boom in the probe')) failed: "
        "RuntimeError: boom in the probe" in result[0].error
    )
    assert "\x1b[" not in result[0].error and "\x1b[" not in "\n".join(lines)
    assert digests(root / "figures") == before, "a failed run must not touch published outputs"
    assert not list((root / "build").glob("99_probe.*")), "staging folder left behind"


def test_cli_exit_code_is_nonzero_on_failure(tmp_path: Path, monkeypatch) -> None:
    from analysis.pipeline import cli, runner

    root = make_project(tmp_path, "raise ValueError('x')")
    monkeypatch.setattr(
        runner, "run_notebooks", lambda *a, **k: run_notebooks(root=root, log=lambda _: None)
    )
    assert cli.main(["figures", "--force"]) == 1


LEAKY = """
import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from analysis import plotting
matplotlib.rcParams["lines.linewidth"] = 9
LEAK = "from notebook 98"
fig, ax = plotting.figure()
ax.plot([1, 2, 3], [1, 2, 3])
plotting.save_figure(fig, "98_leaky", title="Probe", data=pd.DataFrame({"x": [1]}), synthetic=True)
"""

CLEAN = """
assert "LEAK" not in globals(), "a variable leaked from the previous notebook"
import matplotlib.pyplot as plt
import pandas as pd
from analysis import plotting
fig, ax = plotting.figure()
ax.plot([1, 2, 3], [3, 1, 2])
plotting.save_figure(fig, "99_clean", title="Probe", data=pd.DataFrame({"x": [1]}), synthetic=True)
"""


def test_a_reused_kernel_gives_the_same_bytes_as_a_fresh_one(tmp_path: Path) -> None:
    outputs = {}
    for mode in ("reused", "fresh"):
        root = tmp_path / mode
        (root / "notebooks").mkdir(parents=True)
        for name, source in (("98_leaky", LEAKY), ("99_clean", CLEAN)):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
            nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
        results = run_notebooks(
            root=root, jobs=1, fresh_kernels=(mode == "fresh"), log=lambda _: None
        )
        assert [r.status for r in results] == ["ran", "ran"], [r.error for r in results]
        outputs[mode] = digests(root / "figures")
    assert outputs["reused"] == outputs["fresh"]


def test_kernels_collect_garbage_as_a_batch_build_does(tmp_path: Path) -> None:
    probe = (
        "import gc, os, pathlib\n"
        "out = pathlib.Path(os.environ['ANALYSIS_OUTPUT_DIR'], '99_gc.txt')\n"
        "out.write_text(repr((gc.get_threshold(), gc.get_freeze_count() > 0)))\n"
    )
    root = make_project(tmp_path, probe)
    results = run_notebooks(root=root, jobs=1, log=lambda _: None)
    assert [r.status for r in results] == ["ran"], [r.error for r in results]
    thresholds, frozen = eval((root / "figures" / "99_gc.txt").read_text())
    assert thresholds == GC_THRESHOLDS and thresholds[0] > 700  # Python's default is 700
    assert frozen, "the objects alive after the reset were not frozen"


def _env(root: Path) -> dict[str, str]:
    """The environment of a person working in ``root``: no staging folder, the probe project."""
    env = {k: v for k, v in os.environ.items() if k != "ANALYSIS_OUTPUT_DIR"}
    return {**env, "ANALYSIS_PROJECT_ROOT": str(root), "MPLBACKEND": "Agg"}


def _make_figures(root: Path) -> subprocess.CompletedProcess[str]:
    """What `make figures` runs, on the probe project."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", "figures"],
        cwd=root,
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_notebook_run_by_hand_that_changed_an_output_is_rebuilt(tmp_path: Path) -> None:
    root = make_project(tmp_path, GOOD)
    first = _make_figures(root)
    assert first.returncode == 0, first.stderr
    built = digests(root / "figures")

    # Run the notebook outside the pipeline, as Jupyter would, after an unsaved edit: it
    # writes straight into figures/, and the chart it writes differs from the built one.
    edited = nbformat.read(root / "notebooks" / "99_probe.ipynb", as_version=4)
    edited.cells[1].source = GOOD.replace("[3, 1, 2]", "[1, 1, 1]")
    nbformat.write(edited, tmp_path / "edited.ipynb")
    by_hand = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
        + ["--output-dir", str(tmp_path / "scratch"), str(tmp_path / "edited.ipynb")],
        cwd=root / "notebooks",
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert by_hand.returncode == 0, by_hand.stderr
    changed = digests(root / "figures")
    assert changed["99_probe.png"] != built["99_probe.png"], "the hand run changed no output"

    again = _make_figures(root)
    assert again.returncode == 0, again.stderr
    assert "99_probe runs again: figures/99_probe" in again.stdout
    assert "changed outside the pipeline" in again.stdout
    assert "up to date" not in again.stdout
    assert digests(root / "figures") == built, "make figures did not restore the built outputs"
    # and now it is up to date, in the singular
    assert "figures: the notebook is up to date" in _make_figures(root).stdout


def test_a_removed_output_and_a_stray_file_make_the_notebook_run_again(tmp_path: Path) -> None:
    root = make_project(tmp_path, GOOD)
    run_notebooks(root=root, log=lambda _: None)
    built = digests(root / "figures")
    (root / "figures" / "99_probe.csv").unlink()
    lines: list[str] = []
    assert [r.status for r in run_notebooks(root=root, log=lines.append)] == ["ran"]
    assert any("figures/99_probe.csv was removed" in line for line in lines), lines
    assert digests(root / "figures") == built

    # a file with the notebook's number that it did not write (a hand run of an edited copy)
    (root / "figures" / "99_probe_by_hand.png").write_bytes(b"not from the pipeline")
    lines.clear()
    assert [r.status for r in run_notebooks(root=root, log=lines.append)] == ["ran"]
    assert any("99_probe_by_hand.png was not written by it" in line for line in lines), lines
    assert digests(root / "figures") == built, "the stray file is still in figures/"


def test_make_figures_output_is_plain_singular_and_has_no_kernel_warnings(tmp_path: Path) -> None:
    root = make_project(tmp_path, GOOD)
    proc = _make_figures(root)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "figures: running 1 notebook of 1, 1 at a time" in out
    assert "[1/1] 99_probe:" in out and "4 files" in out
    assert "without encryption" not in out and "\x1b[" not in out


def test_a_failing_notebook_is_reported_in_the_singular(tmp_path: Path) -> None:
    root = make_project(tmp_path, "x = 1", "1 / 0  # divide")
    proc = _make_figures(root)
    assert proc.returncode == 1
    assert "figures: 1 notebook failed: 99_probe" in proc.stderr
    assert "code cell 2 (1 / 0  # divide) failed: ZeroDivisionError: division by zero" in (
        proc.stdout
    )
    assert "\x1b[" not in proc.stdout + proc.stderr


def test_notebooks_are_chosen_by_number_and_unknown_ones_list_the_choices(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for stem in ("03_looked_after", "13_other", "30_more"):
        nbformat.write(nbformat.v4.new_notebook(), folder / f"{stem}.ipynb")
    assert [p.stem for p in discover(folder, ["3"])] == ["03_looked_after"]
    assert [p.stem for p in discover(folder, ["03"])] == ["03_looked_after"]
    assert [p.stem for p in discover(folder, ["13_other.ipynb"])] == ["13_other"]
    assert [p.stem for p in discover(folder, ["3", "30"])] == ["03_looked_after", "30_more"]
    with pytest.raises(FileNotFoundError) as err:
        discover(folder, ["7"])
    assert "matches 7" in str(err.value)
    assert "03_looked_after, 13_other, 30_more" in str(err.value)


# --- kernel groups -------------------------------------------------------------------------

# Each probe notebook writes its kernel's process id; the pause lets a second worker's kernel
# start and take the next notebook from the queue before the first worker is free again.
PID = (
    "import os, pathlib, time\n"
    "time.sleep(1.5)\n"
    "pathlib.Path(os.environ['ANALYSIS_OUTPUT_DIR'], '{name}_pid.txt').write_text(str(os.getpid()))\n"
)


def _grouped_project(root: Path, groups: dict[str, str | None], fail: str = "") -> Path:
    (root / "notebooks").mkdir(parents=True)
    for name, group in groups.items():
        source = "raise RuntimeError('planted')" if name == fail else PID.format(name=name)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        if group:
            nb.metadata["analysis"] = {"kernel_group": group}
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
    return root


def _pids(root: Path) -> dict[str, int]:
    return {p.name[:2]: int(p.read_text()) for p in (root / "figures").glob("*_pid.txt")}


def test_schedule_keeps_a_kernel_group_together_and_puts_the_longest_job_first(
    tmp_path: Path,
) -> None:
    root = _grouped_project(tmp_path, {"91_a": None, "92_b": "g", "93_c": None, "94_d": "g"})
    todo = [(nb, "digest") for nb in discover(root / "notebooks")]
    timings = {"91_a": 5.0, "92_b": 1.0, "93_c": 3.0, "94_d": 4.5}
    jobs = schedule(todo, timings)
    # by hand: the group g is one job of 1.0 + 4.5 = 5.5 s, longer than 91_a (5 s) and 93_c (3 s)
    assert [[nb.stem for nb, _ in job] for job in jobs] == [["92_b", "94_d"], ["91_a"], ["93_c"]]
    assert kernel_group(root / "notebooks" / "94_d.ipynb") == "g"
    assert kernel_group(root / "notebooks" / "91_a.ipynb") is None
    broken = root / "notebooks" / "95_broken.ipynb"
    broken.write_text("{ not json")
    assert kernel_group(broken) is None  # running it reports the error, naming the notebook


def test_a_kernel_group_runs_in_one_kernel_and_others_spread_over_the_workers(
    tmp_path: Path,
) -> None:
    grouped = _grouped_project(tmp_path / "grouped", {"91_a": "g", "92_b": "g"})
    results = run_notebooks(root=grouped, jobs=2, log=lambda _: None)
    assert [r.status for r in results] == ["ran", "ran"], [r.error for r in results]
    pids = _pids(grouped)
    assert pids["91"] == pids["92"], "the group's notebooks ran in different kernels"

    apart = _grouped_project(tmp_path / "apart", {"91_a": None, "92_b": None})
    results = run_notebooks(root=apart, jobs=2, log=lambda _: None)
    assert [r.status for r in results] == ["ran", "ran"], [r.error for r in results]
    pids = _pids(apart)
    assert pids["91"] != pids["92"], "two workers should have run the two notebooks"


def test_a_failure_in_a_kernel_group_does_not_stop_the_rest_of_the_group(tmp_path: Path) -> None:
    root = _grouped_project(tmp_path, {"91_a": "g", "92_b": "g", "93_c": "g"}, fail="92_b")
    results = run_notebooks(root=root, jobs=2, log=lambda _: None)
    assert [r.status for r in results] == ["ran", "failed", "ran"], [r.error for r in results]
    pids = _pids(root)
    assert pids["91"] != pids["93"], "after a failure the group goes on in a new kernel"
