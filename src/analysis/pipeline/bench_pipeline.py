"""Build-speed benchmark for ``make bench``: printed figures beside their targets, never a test.

Measures, with the environment present:

- a cold ``make figures`` (figures and stamps deleted; the median of ``--repeat`` runs), against
  30 s;
- a no-op ``make figures`` straight after, against 2 s;
- the floor: for each notebook, a bare kernel start plus the imports it needs (every module its
  run adds to ``sys.modules`` beyond a bare kernel's, found by running it once); the cold build
  should take at most 1.5 x (sum of floors / cores), and the ratio is printed;
- ``make test``, against 5 minutes (skip with ``--no-test``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import paths

__all__ = ["floor_seconds", "main", "needed_modules", "timed"]


def timed(cmd: list[str], cwd: Path) -> float:
    """Run a command and return its wall time in seconds; raise if it fails."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


_MODULES_CELL = "import json as _j, sys as _s\nprint(_j.dumps(sorted(_s.modules)))"


def _run_cells(cells: list[str], cwd: Path, env: dict[str, str] | None = None) -> list:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    client = NotebookClient(
        nb,
        kernel_name="python3",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(cwd)}},
        timeout=900,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # as the runner's kernels
    )
    client.execute(env=env) if env else client.execute()
    return nb.cells


def _modules_after(cells: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    import json

    out = _run_cells([*cells, _MODULES_CELL], cwd, env)[-1]["outputs"]
    text = "".join(o.get("text", "") for o in out if o.get("output_type") == "stream")
    return set(json.loads(text))


def needed_modules(notebook: Path, baseline: set[str]) -> list[str]:
    """Modules a notebook loads beyond a bare kernel: run it (outputs to a scratch folder) and
    compare ``sys.modules`` with ``baseline``. This counts the imports its code needs, including
    those made inside the package's functions (seaborn, statsmodels), not only its import lines.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, paths.OUTPUT_ENV: scratch, "MPLBACKEND": "Agg"}
        loaded = _modules_after(cells, notebook.parent, env)
    return sorted(loaded - baseline)


def floor_seconds(notebook: Path, modules: list[str]) -> float:
    """Time a fresh kernel that only imports ``modules`` (the floor of the notebook's cost)."""
    code = (
        "import importlib\n"
        f"for _m in {modules!r}:\n"
        "    try:\n        importlib.import_module(_m)\n"
        "    except Exception:\n        pass"
    )
    start = time.perf_counter()
    _run_cells([code], notebook.parent)
    return time.perf_counter() - start


def _row(name: str, value: float, target: str, ok: bool) -> str:
    return f"  {name:<44} {value:>8.2f}   {target:<22} {'met' if ok else 'NOT MET'}"


def main(argv: list[str] | None = None) -> int:
    """Print the build-speed figures; return 0 when every target is met, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m analysis.pipeline.bench_pipeline")
    parser.add_argument("--no-test", action="store_true", help="skip timing `make test`")
    parser.add_argument("--repeat", type=int, default=3, help="cold builds to time (median)")
    args = parser.parse_args(argv)
    root = paths.PROJECT_ROOT
    cores = os.cpu_count() or 1
    python = [sys.executable, "-m", "analysis", "figures"]
    print(f"Build speed ({cores} cores)")
    print(f"  {'measure':<44} {'seconds':>8}   {'target':<22} result")

    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    baseline = _modules_after([], root / "notebooks")
    floors = {nb.stem: floor_seconds(nb, needed_modules(nb, baseline)) for nb in notebooks}
    colds, noops = [], []
    for _ in range(args.repeat):
        shutil.rmtree(root / "build" / "stamps", ignore_errors=True)
        for path in (root / "figures").iterdir():
            if path.name != ".gitkeep":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        colds.append(timed(python, root))
        noops.append(timed(["make", "-s", "figures"], root))
    cold, noop = statistics.median(colds), statistics.median(noops)
    print(f"  cold builds: {', '.join(f'{c:.2f}' for c in colds)} s (median used)")
    bound = 1.5 * sum(floors.values()) / cores
    results = [
        ("cold make figures (figures deleted)", cold, "<= 30 s", cold <= 30),
        ("no-op make figures", noop, "<= 2 s", noop <= 2),
        ("sum of notebook floors / cores", sum(floors.values()) / cores, "(floor)", True),
        (
            f"cold build / floor bound (ratio {cold / bound * 1.5:.2f})",
            cold,
            f"<= 1.5 x floor = {bound:.1f}",
            cold <= bound,
        ),
    ]
    if not args.no_test:
        test = timed(["make", "-s", "test"], root)
        results.append(("make test", test, "<= 300 s", test <= 300))
    for row in results:
        print(_row(*row))
    print("  floors per notebook: " + ", ".join(f"{k[:2]} {v:.1f}s" for k, v in floors.items()))
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
