"""Headless, incremental, parallel execution of the project's notebooks (``make figures``).

Each notebook runs in its own kernel (nbclient; no Jupyter server) with ``ANALYSIS_OUTPUT_DIR``
pointing at a private staging folder. Only when every cell succeeds are its files moved into
``figures/``; a failing cell leaves the previous outputs untouched, and the run exits non-zero
naming the notebook and the cell. A notebook is rerun only when its inputs changed: the notebook
itself, the package's code, the data, or the pinned environment (a SHA-256 over their bytes,
stored in ``build/stamps/``), or when one of the files it wrote last time has gone.

Two notebooks run at a time by default: on a 2-core machine a third kernel gains nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from analysis import paths

__all__ = ["NotebookResult", "discover", "input_hash", "run_notebooks"]

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


def _shared_inputs(root: Path) -> list[Path]:
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
    shared = _shared_inputs(root)
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

    def work(item: tuple[Path, str]) -> NotebookResult:
        nb, digest = item
        start = time.perf_counter()
        (build / EXECUTED_DIR).mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f"{nb.stem}.", dir=build))
        try:
            code, err = _execute(nb, stage, build / EXECUTED_DIR / nb.name, timeout)
            seconds = time.perf_counter() - start
            if code != 0:
                return NotebookResult(nb.stem, "failed", seconds, error=err)
            stamp = _stamp_path(build, nb)
            previous: list[str] = []
            if stamp.exists():
                try:
                    previous = json.loads(stamp.read_text()).get("outputs", [])
                except ValueError:
                    previous = []
            produced = _publish(stage, figures, previous)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"inputs": digest, "outputs": produced}, indent=1))
            return NotebookResult(nb.stem, "ran", seconds, outputs=produced)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(work, item): item[0] for item in todo}
        for future in as_completed(futures):
            result = future.result()
            done += 1
            results[result.name] = result
            if result.status == "ran":
                log(
                    f"[{done}/{total}] {result.name}: {result.seconds:.1f} s, "
                    f"{len(result.outputs)} files"
                )
            else:
                log(f"[{done}/{total}] {result.name}: FAILED after {result.seconds:.1f} s")
                log("    " + result.error.replace("\n", "\n    "))
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


def _execute(notebook: Path, stage: Path, executed: Path, timeout: int) -> tuple[int, str]:
    """Run one notebook in a fresh kernel, staging its outputs; return (exit code, message)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(notebook, as_version=4)
    env = dict(os.environ)
    env[paths.OUTPUT_ENV] = str(stage)
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONHASHSEED", "0")
    # One BLAS thread per kernel: the runner already keeps every core busy with notebooks, and
    # oversubscribed threads slow them all down.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
        shutdown_kernel="immediate",
        record_timing=False,
        # The kernel talks to this process only, on loopback; keep its log to errors.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute(env=env)
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
        where = f"cell {index}" if index is not None else "a cell"
        first = str(err).strip().splitlines()
        summary = next((ln for ln in reversed(first) if ln.strip()), "") if first else ""
        return 1, f"{notebook.name}: {where} {kind}: {summary}"
    finally:
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed)
    return 0, ""
