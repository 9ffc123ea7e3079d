"""Setup and build speed for ``make bench``: printed beside their targets, never a test.

Timings that are compared are measured in turn, A B A B ..., in one run, and reported as
medians and their ratio, so a machine that gets busier during the run slows both sides alike:

- **the environment**: ``.venv`` created from nothing, through the Makefile's own recipe, with uv
  (``INSTALLER=uv``, the default) and with pip (``INSTALLER=pip``), from the same lock, each in a
  temporary folder (package download caches warm for both; the two environments are checked to
  hold the same packages at the same versions). Target: uv takes at most a third of pip's time.
- **the build**: a cold build of every notebook (``python -m analysis figures`` with ``figures/``
  and the stamps deleted) against a sequential ``jupyter nbconvert --execute`` of the same
  notebooks (outputs to a scratch folder). Targets: the build takes at most 0.3 x the sequential
  time, and at most 15 s on 2 cores. Then a no-op ``make figures``: at most 2 s.
- ``make test``: at most 5 minutes (skip with ``--no-test``).

Every step prints a line when it starts and the elapsed time while it runs. The results are
saved in ``build/bench/`` and written into the README between its bench markers
(:func:`analysis.pipeline.bench.update_readme`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from analysis import paths
from analysis.pipeline import bench
from analysis.pipeline.bench import Measure, alternate, timed

__all__ = ["bench_build", "bench_environment", "main", "same_packages"]

#: Targets: cold build <= BUILD_RATIO x sequential nbconvert and <= BUILD_SECONDS (2 cores);
#: uv <= ENV_RATIO x pip; no-op <= NOOP_SECONDS; make test <= TEST_SECONDS.
BUILD_RATIO = 0.3
BUILD_SECONDS = 15.0
ENV_RATIO = 1 / 3
NOOP_SECONDS = 2.0
TEST_SECONDS = 300.0


def _clean_env() -> dict[str, str]:
    """The caller's environment without a parent make's flags or an active venv; Python may
    keep the bytecode it compiles (as the runner's kernels do), so neither side of a
    comparison recompiles the same modules on every run."""
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    drop += (paths.OUTPUT_ENV,)
    return {k: v for k, v in os.environ.items() if k not in drop}


#: Installers, not part of the lock: uv is only in one environment, and ``python -m venv`` adds
#: pip (and, on Python 3.11, setuptools) to the other.
BOOTSTRAP = frozenset({"pip", "setuptools", "wheel", "uv"})


def _freeze(venv: Path) -> set[str]:
    """``name==version`` of every package in ``venv`` but the installers (:data:`BOOTSTRAP`)."""
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.strip().lower().replace("_", "-")
        for line in proc.stdout.splitlines()
        if line.strip() and line.split("==")[0].strip().lower() not in BOOTSTRAP
    }


def same_packages(a: set[str], b: set[str]) -> str:
    """Empty when the two environments agree, else what differs (for the report line)."""
    if a == b:
        return ""
    only_a, only_b = sorted(a - b), sorted(b - a)
    return f"only in the first: {', '.join(only_a) or '-'}; only in the second: {', '.join(only_b) or '-'}"


def bench_environment(root: Path, repeat: int, log=print) -> dict[str, list[float]]:
    """Create ``.venv`` from nothing with uv and with pip, alternately; return the times.

    Each run is the Makefile's own recipe (``make VENV=... INSTALLER=...``), so this measures
    exactly what ``make figures`` does on a fresh clone, installing the same lock.
    """
    scratch = Path(tempfile.mkdtemp(prefix="bench-env-"))
    env = _clean_env()
    made: dict[str, Path] = {}

    def create(installer: str) -> Callable[[], float]:
        def run() -> float:
            venv = scratch / f"venv-{installer}"
            shutil.rmtree(venv, ignore_errors=True)
            ready = f"{venv}/.ready"
            cmd = ["make", "-s", "--no-print-directory", f"VENV={venv}", f"INSTALLER={installer}"]
            seconds = timed([*cmd, ready], root, env=env, log=log)
            made[installer] = venv
            return seconds

        return run

    try:
        times = alternate(
            [Measure("uv", create("uv")), Measure("pip", create("pip"))], repeat, log=log
        )
        difference = same_packages(_freeze(made["uv"]), _freeze(made["pip"]))
        log(
            "  uv and pip installed the same packages at the same versions"
            if not difference
            else f"  uv and pip environments DIFFER: {difference}"
        )
        if difference:
            raise RuntimeError(f"the two environments differ: {difference}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times


def _wipe_outputs(root: Path) -> None:
    shutil.rmtree(root / "build" / "stamps", ignore_errors=True)
    figures = root / "figures"
    if figures.is_dir():
        for path in figures.iterdir():
            if path.name != ".gitkeep":
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def bench_build(root: Path, repeat: int, log=print) -> dict[str, list[float]]:
    """Cold build against a sequential ``jupyter nbconvert --execute``, alternately.

    The cold build deletes ``figures/`` and the stamps and runs ``python -m analysis figures``
    (what ``make figures`` runs after the data check); the run times the runner keeps for
    scheduling stay. nbconvert executes the same notebooks one after another, one kernel each,
    writing the executed copies and the figures to a scratch folder.
    """
    from analysis.pipeline.runner import discover

    notebooks = discover(root / "notebooks")
    scratch = Path(tempfile.mkdtemp(prefix="bench-nbconvert-"))
    env = _clean_env()
    nb_env = {**env, paths.OUTPUT_ENV: str(scratch / "figures"), "MPLBACKEND": "Agg"}
    nbconvert = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
    nbconvert += ["--ExecutePreprocessor.timeout=900", f"--output-dir={scratch / 'executed'}"]
    nbconvert += [str(nb) for nb in notebooks]

    def cold() -> float:
        _wipe_outputs(root)
        return timed([sys.executable, "-m", "analysis", "figures"], root, env=env, log=log)

    def sequential() -> float:
        shutil.rmtree(scratch / "figures", ignore_errors=True)
        (scratch / "figures").mkdir(parents=True)
        return timed(nbconvert, root / "notebooks", env=nb_env, log=log)

    try:
        return alternate(
            [
                Measure("cold build", cold),
                Measure(f"nbconvert --execute, {len(notebooks)} notebooks in turn", sequential),
            ],
            repeat,
            log=log,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Print the setup and build figures; return 0 when every target is met, 1 otherwise."""
    try:
        return _main(argv)
    except RuntimeError as err:  # a step failed: say which, without a traceback
        print(f"\nbench: {err}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.pipeline.bench_pipeline",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of A B per comparison")
    parser.add_argument("--no-env", action="store_true", help="skip the uv / pip comparison")
    parser.add_argument("--no-build", action="store_true", help="skip the build comparison")
    parser.add_argument("--no-test", action="store_true", help="skip timing `make test`")
    parser.add_argument("--no-readme", action="store_true", help="do not update the README")
    args = parser.parse_args(argv)
    root = paths.PROJECT_ROOT
    cores = os.cpu_count() or 1
    rows: list[bench.Row] = []
    print(f"Setup and build speed ({cores} cores; {args.repeat} rounds, A B A B, medians)")

    if not args.no_env:
        print("Environment: .venv from nothing, the same lock, uv then pip in turn", flush=True)
        times = bench_environment(root, args.repeat)
        uv, pip = bench.median(times["uv"]), bench.median(times["pip"])
        rows += [
            bench.Row("create .venv with uv", uv, "", None, times["uv"]),
            bench.Row("create .venv with pip", pip, "", None, times["pip"]),
            bench.Row(
                f"uv / pip (ratio {uv / pip:.2f})",
                uv / pip,
                f"<= {ENV_RATIO:.2f}",
                uv / pip <= ENV_RATIO,
                unit="ratio",
            ),
        ]

    if not args.no_build:
        rows += _build_rows(root, args.repeat)
    if not args.no_test:
        print("make test (the whole suite)", flush=True)
        test = timed(["make", "-s", "test"], root, env=_clean_env())
        rows.append(bench.Row("make test", test, f"<= {TEST_SECONDS:.0f} s", test <= TEST_SECONDS))
    print(bench.table(rows))
    bench.save("pipeline", rows, cores=cores, repeat=args.repeat)
    if not args.no_readme and bench.update_readme():
        print("README: benchmark results updated between the bench markers")
    return 0 if all(r.ok is not False for r in rows) else 1


def _build_rows(root: Path, repeat: int) -> list[bench.Row]:
    """Time the build comparison and the no-op build; return their rows."""
    print("Build: a cold build and a sequential nbconvert of the same notebooks, in turn")
    times = bench_build(root, repeat)
    names = list(times)
    cold, seq = bench.median(times[names[0]]), bench.median(times[names[1]])
    print("No-op: make figures straight after a build", flush=True)
    noop = bench.median(
        [timed(["make", "-s", "figures"], root, env=_clean_env()) for _ in range(repeat)]
    )
    return [
        bench.Row(
            "cold build of every notebook",
            cold,
            f"<= {BUILD_SECONDS:.0f} s",
            cold <= BUILD_SECONDS,
            times[names[0]],
        ),
        bench.Row(names[1], seq, "", None, times[names[1]]),
        bench.Row(
            f"cold build / nbconvert (ratio {cold / seq:.2f})",
            cold / seq,
            f"<= {BUILD_RATIO}",
            cold / seq <= BUILD_RATIO,
            unit="ratio",
        ),
        bench.Row("no-op make figures", noop, f"<= {NOOP_SECONDS:.0f} s", noop <= NOOP_SECONDS),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
