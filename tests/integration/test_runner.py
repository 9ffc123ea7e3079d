"""The notebook runner behind `make figures`: headless, incremental, atomic, byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import pytest

from analysis.pipeline.runner import run_notebooks

pytestmark = pytest.mark.slow

GOOD = """
import matplotlib.pyplot as plt
import pandas as pd
from analysis import plotting
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [3, 1, 2])
plotting.save_figure(fig, "99_probe", data=pd.DataFrame({"x": [1, 2, 3]}), synthetic=True)
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
    assert "99_probe.ipynb: cell 2 failed" in result[0].error
    assert "boom in the probe" in result[0].error
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
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [1, 2, 3])
plotting.save_figure(fig, "98_leaky", data=pd.DataFrame({"x": [1]}), synthetic=True)
"""

CLEAN = """
assert "LEAK" not in globals(), "a variable leaked from the previous notebook"
import matplotlib.pyplot as plt
import pandas as pd
from analysis import plotting
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [3, 1, 2])
plotting.save_figure(fig, "99_clean", data=pd.DataFrame({"x": [1]}), synthetic=True)
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
