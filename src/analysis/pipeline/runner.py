"""Headless, incremental, parallel execution of the project's notebooks (``make figures``).

Notebooks run headless in Jupyter kernels driven by nbclient (no Jupyter server), each with
``ANALYSIS_OUTPUT_DIR`` pointing at a private staging folder. Each of the (by default two)
workers keeps one kernel and resets it between notebooks, so the kernel start and the heavy
imports are paid once per worker; ``--fresh-kernels`` starts a new kernel per notebook instead
(the tests check that both give byte-identical files). Only when every cell succeeds are its files moved into
``figures/``; a failing cell leaves the previous outputs untouched, and the run exits non-zero
naming the notebook and the code cell. A notebook is rerun when its inputs changed (the notebook
itself, the package's code, the data, or the pinned environment: a SHA-256 over their bytes,
stored in ``build/stamps/``) and also when its outputs did: each stamp records the SHA-256 of
every file the notebook wrote, in the order it wrote them, so a file changed or removed out of
band (a notebook run by hand in Jupyter writes straight into ``figures/``), or a file with the
notebook's number that it did not write, makes it run again. ``make figures`` therefore never
reports "up to date" over figures it did not make.

Two notebooks run at a time by default (longest first, from earlier runs' times in
``build/timings.json``, which ``make clean`` keeps): on a 2-core machine a third kernel gains
nothing. Notebooks of one kernel group (their metadata's ``analysis.kernel_group``,
:func:`kernel_group`) run one after another in one kernel, so the public tables they share are
parsed once (:func:`schedule`). The kernels are tuned as batch processes: one BLAS thread each,
and a garbage collector that runs less often and skips what every notebook
shares (:data:`GC_THRESHOLDS`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, SimpleQueue

from analysis import paths

__all__ = [
    "GC_THRESHOLDS",
    "NotebookResult",
    "discover",
    "input_hash",
    "kernel_group",
    "recorded_outputs",
    "run_notebooks",
    "schedule",
    "shared_inputs",
    "staleness",
]

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

    ``only`` holds numbers, name prefixes or stems (``"3"``, ``"03"``, ``"03_looked"`` or
    ``"03_looked_after_children"``); a bare number means that notebook's two-digit number.

    Raises
    ------
    FileNotFoundError
        If an entry of ``only`` matches no notebook; the message lists the notebooks there are.
    """
    folder = notebooks_dir or paths.NOTEBOOKS
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    wanted = [_prefix(o) for o in only]
    unknown = [o for o, w in zip(only, wanted, strict=True) if not _matching(found, w)]
    if unknown:
        choices = ", ".join(p.stem for p in found) or "none"
        raise FileNotFoundError(
            f"no notebook in {folder} matches {', '.join(unknown)}; the notebooks are: {choices}"
        )
    return [p for p in found if any(_matches(p, w) for w in wanted)]


def _prefix(text: str) -> str:
    """``"3"`` -> ``"03_"`` and ``"03"`` -> ``"03_"``; anything else is a name prefix as given."""
    text = text.strip().removesuffix(".ipynb")
    return f"{int(text):02d}_" if text.isdigit() and len(text) <= 2 else text


def _matches(path: Path, prefix: str) -> bool:
    return path.stem.startswith(prefix)


def _matching(found: Sequence[Path], prefix: str) -> list[Path]:
    return [p for p in found if _matches(p, prefix)]


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_outputs(build: Path, notebook: Path | str) -> dict[str, str]:
    """Return the files a notebook wrote in its last successful run, in the order it wrote them.

    Parameters
    ----------
    build : Path
        The build folder (``build/``) holding the stamps.
    notebook : Path or str
        The notebook, or its stem (``"03_looked_after_children"``).

    Returns
    -------
    dict
        Path relative to ``figures/`` -> SHA-256 of the bytes written (empty when the notebook
        has not been built, or its stamp predates checksums).
    """
    stem = notebook if isinstance(notebook, str) else notebook.stem
    outputs = _read_json(build / STAMP_DIR / f"{stem}.json").get("outputs", {})
    return dict(outputs) if isinstance(outputs, dict) else {}


def _unclaimed(figures: Path, build: Path, notebooks: Sequence[Path]) -> dict[str, list[str]]:
    """Files in ``figures/`` that no stamp records, by the notebook whose number they carry."""
    claimed: set[str] = set()
    for nb in notebooks:
        stamp = _read_json(_stamp_path(build, nb)).get("outputs", [])
        claimed.update(stamp)
    by_notebook: dict[str, list[str]] = {}
    if not figures.is_dir():
        return by_notebook
    for path in sorted(figures.rglob("*")):
        name = path.relative_to(figures).as_posix()
        if not path.is_file() or path.name.startswith(".") or name in claimed:
            continue
        owner = next((nb.stem for nb in notebooks if path.name.startswith(nb.stem[:3])), None)
        if owner is not None:
            by_notebook.setdefault(owner, []).append(name)
    return by_notebook


def staleness(stamp: Path, digest: str, figures: Path, unclaimed: Sequence[str] = ()) -> str | None:
    """Say why a notebook must run again, or return None when its outputs are current.

    Parameters
    ----------
    stamp : Path
        The notebook's stamp (``build/stamps/NAME.json``).
    digest : str
        The SHA-256 of its inputs now (:func:`input_hash`).
    figures : Path
        The published outputs folder.
    unclaimed : sequence of str
        Files under ``figures/`` that carry the notebook's number but that no run recorded.

    Returns
    -------
    str or None
        A reason a person can read ("figures/03_x.png was changed outside the pipeline"), or
        None if the inputs are unchanged and every recorded output has the recorded bytes.
    """
    if not stamp.exists():
        return "not built yet"
    record = _read_json(stamp)
    if record.get("inputs") != digest:
        return "its inputs changed"
    outputs = record.get("outputs")
    if not isinstance(outputs, dict):
        return "its stamp predates output checksums"
    for name, checksum in outputs.items():
        path = figures / name
        if not path.is_file():
            return f"figures/{name} was removed"
        if _sha256(path) != checksum:
            return f"figures/{name} was changed outside the pipeline"
    if unclaimed:
        return f"figures/{unclaimed[0]} was not written by it"
    return None


def _publish(
    stage: Path, figures: Path, previous: Iterable[str], strays: Iterable[str] = ()
) -> dict[str, str]:
    """Move staged files into ``figures/``; drop files this notebook wrote before but not now,
    and files with its number that it did not write (``strays``). Return name -> SHA-256, in
    the order the notebook wrote the files (modification time, then name)."""
    staged = [p for p in stage.rglob("*") if p.is_file()]
    staged.sort(key=lambda p: (p.stat().st_mtime_ns, p.relative_to(stage).as_posix()))
    produced: dict[str, str] = {}
    for path in staged:
        name = path.relative_to(stage).as_posix()
        produced[name] = _sha256(path)
        target = figures / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    for name in (set(previous) | set(strays)) - set(produced):
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
    strays = _unclaimed(figures, build, discover(root / "notebooks"))
    for nb in notebooks:
        digest = input_hash(nb, shared, root)
        reason = staleness(_stamp_path(build, nb), digest, figures, strays.get(nb.stem, ()))
        if force or reason is not None:
            todo.append((nb, digest))
            if not force and reason not in ("not built yet", "its inputs changed"):
                log(f"figures: {nb.stem} runs again: {reason}")
        else:
            results[nb.stem] = NotebookResult(nb.stem, "skipped")
    if not todo:
        log(
            "figures: the notebook is up to date"
            if len(notebooks) == 1
            else f"figures: all {len(notebooks)} notebooks up to date"
        )
    timings_path = build / TIMINGS
    timings = _read_json(timings_path)
    jobs_todo = schedule(todo, timings)
    total = len(todo)
    queue: SimpleQueue[list[tuple[Path, str]]] = SimpleQueue()
    for job in jobs_todo:
        queue.put(job)
    lock = threading.Lock()
    done = 0
    n_workers = min(jobs, len(jobs_todo))
    if total:
        log(
            f"figures: running {_plural(total, 'notebook')} of {len(notebooks)}"
            f", {n_workers} at a time"
        )

    def finish(nb: Path, digest: str, stage: Path, seconds: float, code: int, err: str) -> None:
        nonlocal done
        if code != 0:
            result = NotebookResult(nb.stem, "failed", seconds, error=err)
        else:
            stamp = _stamp_path(build, nb)
            previous = _read_json(stamp).get("outputs", [])
            produced = _publish(stage, figures, previous, strays.get(nb.stem, ()))
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"inputs": digest, "outputs": produced}, indent=1))
            result = NotebookResult(nb.stem, "ran", seconds, outputs=list(produced))
        with lock:
            done += 1
            results[result.name] = result
            if result.status == "ran":
                files = _plural(len(result.outputs), "file")
                log(f"[{done}/{total}] {result.name}: {seconds:.1f} s, {files}")
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
        for i in range(n_workers)
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


#: The notebook metadata key (``metadata["analysis"][KERNEL_GROUP]``) that names a kernel group.
KERNEL_GROUP = "kernel_group"


def kernel_group(notebook: Path) -> str | None:
    """The notebook's kernel group (``metadata.analysis.kernel_group``), or None.

    Notebooks of one group run one after another in the same kernel, so what they share is
    computed once: the parsed public tables and fitted results the package caches in the
    process (``functools.lru_cache``). A group changes only where the time goes, never a file
    (the tests check that fresh and reused kernels write byte-identical files).
    """
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
        group = meta.get("analysis", {}).get(KERNEL_GROUP)
    except (ValueError, AttributeError):  # not a notebook: running it reports the error
        return None
    return str(group) if group else None


def schedule(
    todo: Sequence[tuple[Path, str]], timings: dict[str, float]
) -> list[list[tuple[Path, str]]]:
    """Split the notebooks to run into jobs for the workers, the longest job first.

    A job is one notebook, or every notebook of a kernel group (:func:`kernel_group`), which a
    worker runs in one kernel, each notebook's time from the previous run (``timings``; 0 when
    never run). Jobs go longest first (the longest-processing-time rule) to workers that each
    take the next job when free, so the workers finish close together. Within a job the
    notebooks keep notebook order.

    Parameters
    ----------
    todo : sequence of (Path, str)
        The notebooks to run, each with its input digest, in notebook order.
    timings : dict
        Seconds per notebook stem from earlier runs.

    Returns
    -------
    list of list of (Path, str)
        The jobs, longest first (ties in notebook order).

    References
    ----------
    R. L. Graham, "Bounds on multiprocessing timing anomalies", SIAM Journal on Applied
    Mathematics 17(2), 416-429 (1969): the longest-first list schedule.
    """
    jobs: dict[str, list[tuple[Path, str]]] = {}
    for item in todo:
        group = kernel_group(item[0])
        key = f"group:{group}" if group else f"notebook:{item[0].stem}"
        jobs.setdefault(key, []).append(item)

    def seconds(job: list[tuple[Path, str]]) -> float:
        return sum(float(timings.get(nb.stem, 0.0)) for nb, _ in job)

    return sorted(jobs.values(), key=lambda job: -seconds(job))


def _plural(n: int, word: str) -> str:
    """``_plural(1, "file")`` -> ``"1 file"``; ``_plural(2, "file")`` -> ``"2 files"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    # Kernels keep the bytecode they compile (the environment is installed without it), so each
    # module is compiled once, not in every kernel of every build.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONHASHSEED", "0")
    # One BLAS thread per kernel: the runner already keeps every core busy with notebooks, and
    # oversubscribed threads slow them all down.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


#: The garbage collector's thresholds in the build's kernels. A notebook allocates millions of
#: short-lived objects (matplotlib's artists, pandas' blocks); at Python's default first
#: threshold (700) the collector runs thousands of times a build, and each full collection
#: walks every module object pandas, scipy and matplotlib created on import. The kernels of a
#: batch build collect less often, and freeze what survives the reset before each notebook
#: (the imported modules and their caches), so later collections skip it. Only when memory
#: is reclaimed changes, never a result: the tests check that fresh and reused kernels write
#: byte-identical files.
GC_THRESHOLDS = (10_000, 10, 10)

#: Run before each notebook in a kernel that has run another: a clean namespace, default
#: matplotlib settings, the warning filters the kernel started with, the collector's batch
#: settings (:data:`GC_THRESHOLDS`), and this notebook's output folder and working directory.
#: Modules stay imported, which is the point of reuse.
_RESET = """\
%reset -f
import builtins as _b, gc as _gc, os as _os, warnings as _w
import matplotlib as _mpl
import matplotlib.pyplot as _plt
_plt.close("all")
_mpl.rcdefaults()
if not hasattr(_b, "_analysis_filters"):
    _b._analysis_filters = list(_w.filters)
_w.filters[:] = _b._analysis_filters
_os.environ[{env!r}] = {stage!r}
_os.chdir({cwd!r})
_gc.set_threshold(*{gc!r})
_gc.freeze()
del _b, _gc, _os, _w, _mpl, _plt
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

    pending: list[tuple[Path, str]] = []  # the rest of this worker's job (a kernel group)
    while pending or not queue.empty():
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
                if not pending:
                    try:
                        pending.extend(queue.get_nowait())
                    except Empty:
                        return
                nb_path, digest = pending.pop(0)
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
        _RESET.format(
            env=paths.OUTPUT_ENV, stage=str(stage), cwd=str(notebook.parent), gc=GC_THRESHOLDS
        )
    )
    # nbclient writes each executed cell back into client.nb at its index, so the reset cell
    # runs inside a notebook of its own, never in the one being built.
    client.nb = nbformat.v4.new_notebook(cells=[reset])
    client.reset_execution_trackers()
    current = None  # (code-cell number, cell) being run; None while the set-up cell runs
    try:
        client.execute_cell(reset, 0, store_history=False)
        client.nb = nb
        client.reset_execution_trackers()
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                count += 1
                current = (count, cell)
                client.execute_cell(cell, index, execution_count=count)
    except (CellExecutionError, CellTimeoutError) as err:
        kind = "timed out" if isinstance(err, CellTimeoutError) else "failed"
        return 1, f"{notebook.name}: {_cell_name(current)} {kind}: {_error_line(current, err)}"
    finally:
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed)
    return 0, ""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """Remove terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def _cell_name(current) -> str:
    """Name a cell as a reader finds it: its code-cell number and its first line."""
    if current is None:
        return "the set-up cell"
    number, cell = current
    first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    if len(first) > 60:
        first = first[:57] + "..."
    return f"code cell {number} ({first})" if first else f"code cell {number}"


def _error_line(current, err: Exception) -> str:
    """The exception's type and first line of its message, without colour codes."""
    outputs = current[1].get("outputs", []) if current is not None else []
    for out in outputs:
        if out.get("output_type") == "error":
            value = plain(str(out.get("evalue", ""))).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0] if value else ''}".rstrip(": ")
    lines = [ln for ln in plain(str(err)).strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else type(err).__name__
