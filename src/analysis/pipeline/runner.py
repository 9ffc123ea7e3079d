"""Headless, incremental, parallel execution of the project's notebooks (``make figures``).

Notebooks run headless in Jupyter kernels driven by nbclient (no Jupyter server), each with
``ANALYSIS_OUTPUT_DIR`` pointing at a private staging folder. Each of the (by default two)
workers keeps one kernel and resets it between notebooks, so the kernel start and the heavy
imports are paid once per worker; ``--fresh-kernels`` starts a new kernel per notebook instead
(the tests check that both give byte-identical files). Only when every cell succeeds are its files moved into
``figures/``; a failing cell leaves the previous outputs untouched, and the run exits non-zero
naming the notebook and the cell. A notebook is rerun only when its inputs changed: the notebook
itself, the package's code, the data, or the pinned environment (a SHA-256 over their bytes,
stored in ``build/stamps/``), or when one of the files it wrote last time has gone.

Two notebooks run at a time by default (longest first, from earlier runs' timings): on a
2-core machine a third kernel gains nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, SimpleQueue

from analysis import paths

__all__ = ["NotebookResult", "discover", "input_hash", "run_notebooks", "shared_inputs"]

STAMP_DIR = "stamps"
EXECUTED_DIR = "notebooks"
TIMINGS = "timings.json"


@dataclass
class NotebookResult:
    """What happened to one notebook in a run."""

    name: str
    status: str  # "ran", "skipped" or "failed"
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    error: str = ""


def discover(notebooks_dir: Path | None = None, only: Sequence[str] = ()) -> list[Path]:
    """Return the notebooks to build, sorted by name (their number), optionally filtered.

    ``only`` holds name prefixes or stems (``"01"`` or ``"01_missing_children"``).
    """
    folder = notebooks_dir or paths.NOTEBOOKS
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.stem.startswith(o) for o in only)]
        if not found:
            raise FileNotFoundError(f"no notebook in {folder} matches {', '.join(only)}")
    return found


def shared_inputs(root: Path) -> list[Path]:
    """Files every notebook depends on: the package's code, the data and the pinned environment."""
    files: list[Path] = []
    for sub in ("src/analysis", "data"):
        base = root / sub
        if base.exists():
            files += [
                p
                for p in base.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
            ]
    for name in ("constraints.txt", "pyproject.toml"):
        if (root / name).exists():
            files.append(root / name)
    return sorted(files)


def input_hash(notebook: Path, shared: Iterable[Path], root: Path) -> str:
    """Return the SHA-256 of a notebook's inputs (its bytes plus the shared code and data)."""
    digest = hashlib.sha256()
    for path in [notebook, *shared]:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _stamp_path(build: Path, notebook: Path) -> Path:
    return build / STAMP_DIR / f"{notebook.stem}.json"


def _is_current(stamp: Path, digest: str, figures: Path) -> bool:
    if not stamp.exists():
        return False
    try:
        record = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if record.get("inputs") != digest:
        return False
    return all((figures / name).exists() for name in record.get("outputs", []))


def _publish(stage: Path, figures: Path, previous: Iterable[str]) -> list[str]:
    """Move staged files into ``figures/``; drop files this notebook wrote before but not now."""
    produced = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    for name in produced:
        target = figures / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / name, target)
    for name in set(previous) - set(produced):
        (figures / name).unlink(missing_ok=True)
    return produced


def run_notebooks(
    only: Sequence[str] = (),
    *,
    force: bool = False,
    jobs: int | None = None,
    timeout: int = 900,
    fresh_kernels: bool = False,
    root: Path | None = None,
    log=print,
) -> list[NotebookResult]:
    """Execute the notebooks whose inputs changed and publish their outputs.

    Parameters
    ----------
    only : sequence of str
        Restrict to notebooks whose names start with these prefixes.
    force : bool
        Rerun even if the inputs are unchanged.
    jobs : int, optional
        Notebooks run at once; defaults to ``min(2, os.cpu_count())``.
    timeout : int
        Seconds a single cell may take.
    fresh_kernels : bool
        Start a new kernel for every notebook. By default each worker keeps its kernel and
        resets it between notebooks (namespace, matplotlib settings, warning filters, output
        folder), which saves the kernel start and the imports; the tests check that both ways
        give byte-identical files.
    root : Path, optional
        Project root (defaults to :data:`analysis.paths.PROJECT_ROOT`).
    log : callable
        Receives one progress line per notebook.

    Returns
    -------
    list of NotebookResult
        One per notebook, in notebook order.
    """
    root = root or paths.PROJECT_ROOT
    figures = root / "figures"
    build = root / "build"
    notebooks = discover(root / "notebooks", only)
    shared = shared_inputs(root)
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    results: dict[str, NotebookResult] = {}
    todo: list[tuple[Path, str]] = []
    for nb in notebooks:
        digest = input_hash(nb, shared, root)
        if not force and _is_current(_stamp_path(build, nb), digest, figures):
            results[nb.stem] = NotebookResult(nb.stem, "skipped")
        else:
            todo.append((nb, digest))
    if not todo:
        log(f"figures: all {len(notebooks)} notebooks up to date")
    # Longest first (times from earlier runs), so two workers finish together.
    timings_path = build / TIMINGS
    timings = _read_json(timings_path)
    todo.sort(key=lambda item: -float(timings.get(item[0].stem, 0.0)))
    total = len(todo)
    queue: SimpleQueue[tuple[Path, str]] = SimpleQueue()
    for item in todo:
        queue.put(item)
    lock = threading.Lock()
    done = 0

    def finish(nb: Path, digest: str, stage: Path, seconds: float, code: int, err: str) -> None:
        nonlocal done
        if code != 0:
            result = NotebookResult(nb.stem, "failed", seconds, error=err)
        else:
            stamp = _stamp_path(build, nb)
            previous = _read_json(stamp).get("outputs", [])
            produced = _publish(stage, figures, previous)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"inputs": digest, "outputs": produced}, indent=1))
            result = NotebookResult(nb.stem, "ran", seconds, outputs=produced)
        with lock:
            done += 1
            results[result.name] = result
            if result.status == "ran":
                log(f"[{done}/{total}] {result.name}: {seconds:.1f} s, {len(result.outputs)} files")
            else:
                log(f"[{done}/{total}] {result.name}: FAILED after {seconds:.1f} s")
                log("    " + result.error.replace("\n", "\n    "))

    (build / EXECUTED_DIR).mkdir(parents=True, exist_ok=True)
    workers = [
        threading.Thread(
            target=_worker,
            args=(queue, build, timeout, fresh_kernels, finish),
            name=f"notebook-worker-{i}",
        )
        for i in range(min(jobs, total))
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    ran = {r.name: round(r.seconds, 2) for r in results.values() if r.status == "ran"}
    if ran:
        timings_path.parent.mkdir(parents=True, exist_ok=True)
        timings_path.write_text(json.dumps({**timings, **ran}, indent=1, sort_keys=True))
    return [results[nb.stem] for nb in notebooks]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONHASHSEED", "0")
    # One BLAS thread per kernel: the runner already keeps every core busy with notebooks, and
    # oversubscribed threads slow them all down.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


#: Run before each notebook in a kernel that has run another: a clean namespace, default
#: matplotlib settings, the warning filters the kernel started with, and this notebook's
#: output folder and working directory. Modules stay imported, which is the point of reuse.
_RESET = """\
%reset -f
import builtins as _b, os as _os, warnings as _w
import matplotlib as _mpl
import matplotlib.pyplot as _plt
_plt.close("all")
_mpl.rcdefaults()
if not hasattr(_b, "_analysis_filters"):
    _b._analysis_filters = list(_w.filters)
_w.filters[:] = _b._analysis_filters
_os.environ[{env!r}] = {stage!r}
_os.chdir({cwd!r})
del _b, _os, _w, _mpl, _plt
"""


def _worker(queue, build: Path, timeout: int, fresh: bool, finish) -> None:
    """Run notebooks from ``queue`` one after another in one kernel (a new one if ``fresh``)."""
    try:
        _work(queue, build, timeout, fresh, finish)
    finally:  # nbclient made this thread an event loop; close it with the thread
        from jupyter_core.utils import ensure_event_loop

        ensure_event_loop().close()


def _work(queue, build: Path, timeout: int, fresh: bool, finish) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    while not queue.empty():
        client = NotebookClient(
            nbformat.v4.new_notebook(),
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(paths.NOTEBOOKS)}},
            shutdown_kernel="immediate",
            record_timing=False,
            # The kernel talks to this process only, on loopback; keep its log to errors.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        with client.setup_kernel(env=_kernel_env()):
            while True:
                try:
                    nb_path, digest = queue.get_nowait()
                except Empty:
                    return
                start = time.perf_counter()
                stage = Path(tempfile.mkdtemp(prefix=f"{nb_path.stem}.", dir=build))
                try:
                    code = 1
                    code, err = _execute(
                        client, nb_path, stage, build / EXECUTED_DIR / nb_path.name
                    )
                    finish(nb_path, digest, stage, time.perf_counter() - start, code, err)
                except DeadKernelError as exc:
                    msg = f"{nb_path.name}: the kernel died ({exc})"
                    finish(nb_path, digest, stage, time.perf_counter() - start, 1, msg)
                    break  # start a new kernel for the rest
                except Exception as exc:  # report it as this notebook's failure, carry on
                    msg = f"{nb_path.name}: the runner failed: {exc!r}"
                    finish(nb_path, digest, stage, time.perf_counter() - start, 1, msg)
                    break
                finally:
                    shutil.rmtree(stage, ignore_errors=True)
                if fresh or code != 0:
                    break  # after a failure (a timed-out cell may still be running): new kernel


def _execute(client, notebook: Path, stage: Path, executed: Path) -> tuple[int, str]:
    """Run one notebook in ``client``'s kernel, staging its outputs; return (code, message)."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(notebook, as_version=4)
    reset = nbformat.v4.new_code_cell(
        _RESET.format(env=paths.OUTPUT_ENV, stage=str(stage), cwd=str(notebook.parent))
    )
    # nbclient writes each executed cell back into client.nb at its index, so the reset cell
    # runs inside a notebook of its own, never in the one being built.
    client.nb = nbformat.v4.new_notebook(cells=[reset])
    client.reset_execution_trackers()
    try:
        client.execute_cell(reset, 0, store_history=False)
        client.nb = nb
        client.reset_execution_trackers()
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                count += 1
                client.execute_cell(cell, index, execution_count=count)
    except (CellExecutionError, CellTimeoutError) as err:
        index = next(
            (
                i
                for i, cell in enumerate(nb.cells)
                if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            ),
            None,
        )
        kind = "timed out" if isinstance(err, CellTimeoutError) else "failed"
        where = f"cell {index}" if index is not None else "the set-up cell"
        lines = str(err).strip().splitlines()
        summary = next((ln for ln in reversed(lines) if ln.strip()), "") if lines else ""
        return 1, f"{notebook.name}: {where} {kind}: {summary}"
    finally:
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed)
    return 0, ""
