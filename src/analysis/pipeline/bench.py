"""Benchmarks of the synthetic generator and the ingest, and the timing helpers ``make bench`` shares.

``python -m analysis.pipeline.bench`` (``make bench``) prints the timings and peak memory beside their
targets:

* generating and aggregating 10 million synthetic case records: under 30 s and under 4 GB
  (1 million is measured too, as a reference);
* ingesting the 152 areas x 3 periods of synthetic returns (456 files).

Each measurement runs in its own Python process so its peak memory (``ru_maxrss``, the
process's resident-set high-water mark, interpreter and libraries included) is its own.

The helpers below are what every benchmark here uses: :func:`timed` runs a command and prints
the elapsed time while it runs; :func:`alternate` measures things that are compared in turn
(A B A B ...), so a machine that gets busier slows both alike; :func:`median`; and
:func:`save` / :func:`update_readme` keep the last results in ``build/bench/`` and write them
into the README between ``<!-- bench:start -->`` and ``<!-- bench:end -->``, the only place the
README states a timing.

Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import paths

__all__ = [
    "README_END",
    "README_START",
    "TARGETS",
    "Measure",
    "Row",
    "alternate",
    "bench_generate",
    "bench_ingest",
    "main",
    "median",
    "readme_block",
    "save",
    "table",
    "timed",
    "update_readme",
]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
#: Seconds between two progress marks while a step runs.
TICK = 15.0

#: Targets: name -> (seconds, megabytes).
TARGETS: dict[str, tuple[float, float]] = {
    "generate_10M": (30.0, 4096.0),
    "ingest_152x3": (30.0, 4096.0),
}


@dataclass(frozen=True)
class Measure:
    """One side of a comparison: a name and a function returning seconds."""

    name: str
    run: Callable[[], float]


@dataclass
class Row:
    """One line of a benchmark table: the value, its target and whether it is met."""

    name: str
    value: float
    target: str = ""
    ok: bool | None = None  # None: a reference value, no target
    runs: Sequence[float] = field(default_factory=list)
    unit: str = "s"

    def value_text(self) -> str:
        """The value as the table shows it, with one more decimal when the usual rounding
        would show the target's own limit (``15.0 s`` NOT MET against ``<= 15 s``)."""
        places = 2 if self.unit == "ratio" else 1
        limit = re.search(r"[0-9.]+", self.target)
        while limit and round(self.value, places) == float(limit.group()) and places < 4:
            places += 1
        text = f"{self.value:.{places}f}"
        return text if self.unit == "ratio" else f"{text} s"

    def result_text(self) -> str:
        return "" if self.ok is None else ("met" if self.ok else "NOT MET")


def median(values: Sequence[float]) -> float:
    """The median of the runs (what every comparison reports).

    Examples
    --------
    >>> median([3.0, 1.0, 2.0])
    2.0
    """
    return float(statistics.median(values))


def alternate(
    measures: Sequence[Measure], repeat: int, *, log: Callable[..., Any] = print
) -> dict[str, list[float]]:
    """Run the measures in turn, A B A B ..., ``repeat`` rounds; return each one's times.

    Examples
    --------
    >>> order = []
    >>> def side(name):
    ...     return Measure(name, lambda: order.append(name) or 1.0)
    >>> alternate([side("A"), side("B")], 2, log=lambda *a, **k: None)
    {'A': [1.0, 1.0], 'B': [1.0, 1.0]}
    >>> order
    ['A', 'B', 'A', 'B']
    """
    times: dict[str, list[float]] = {m.name: [] for m in measures}
    for i in range(repeat):
        for measure in measures:
            log(f"  {measure.name}, round {i + 1} of {repeat}:", end="", flush=True)
            seconds = measure.run()
            times[measure.name].append(seconds)
            log(f" {seconds:.1f} s", flush=True)
    return times


def timed(
    cmd: Sequence[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    log: Callable[..., Any] = print,
    tick: float = TICK,
) -> float:
    """Run a command and return its wall time in seconds, printing the elapsed time every
    ``tick`` seconds while it runs; raise (with the end of its output) if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while True:
            try:
                proc.wait(timeout=tick)
                break
            except subprocess.TimeoutExpired:
                log(f" {time.perf_counter() - start:.0f} s...", end="", flush=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            out.seek(0)
            tail = "".join(out.readlines()[-20:])
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return seconds


def table(rows: Sequence[Row]) -> str:
    """The rows as aligned text: measure, median, target, result, and the runs."""
    lines = [f"  {'measure':<52} {'median':>9}   {'target':<10} {'result':<8} runs"]
    for r in rows:
        runs = ", ".join(f"{x:.1f}" for x in r.runs)
        lines.append(
            f"  {r.name:<52} {r.value_text():>9}   {r.target:<10} {r.result_text():<8} {runs}"
        )
    return "\n".join(lines)


def _results_dir() -> Path:
    return paths.BUILD / "bench"


def save(name: str, rows: Sequence[Row], *, folder: Path | None = None, **about: Any) -> Path:
    """Keep a benchmark's results in ``build/bench/NAME.json`` (for :func:`update_readme`)."""
    target = (folder or _results_dir()) / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    record = {
        "when": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "load_average": round(load, 1) if load is not None else None,
        **about,
        "rows": [
            {k: v for k, v in dataclasses.asdict(r).items() if k != "runs"} | {"runs": list(r.runs)}
            for r in rows
        ],
    }
    target.write_text(json.dumps(record, indent=1) + "\n")
    return target


def readme_block(results: dict[str, dict]) -> str:
    """The Markdown the README shows between its bench markers, from the saved results."""
    if not results:
        return "Not measured on this checkout yet: run `make bench`.\n"
    lines = []
    for name in sorted(results):
        record = results[name]
        about = [record.get("when", ""), record.get("machine", "")]
        if record.get("cores"):
            about.append(f"{record['cores']} cores")
        if record.get("load_average") is not None:
            about.append(f"load average {record['load_average']} at the end")
        if record.get("repeat"):
            about.append(f"medians of {record['repeat']} runs, taken in turn")
        lines += [f"Measured by `make bench` ({name}): {'; '.join(a for a in about if a)}.", ""]
        lines += ["| measure | median | target | result |", "|---|---:|---|---|"]
        for r in record.get("rows", []):
            row = Row(**r)
            lines.append(
                f"| {row.name} | {row.value_text()} | {row.target} | {row.result_text()} |"
            )
        lines.append("")
    return "\n".join(lines)


def update_readme(readme: Path | None = None, *, folder: Path | None = None) -> bool:
    """Write the saved results between the README's bench markers; return whether it changed."""
    readme = readme or paths.PROJECT_ROOT / "README.md"
    if not readme.exists():
        return False
    text = readme.read_text("utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    results = {}
    for path in sorted((folder or _results_dir()).glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    new = text[: start + len(README_START)] + "\n" + readme_block(results) + text[end:]
    if new == text:
        return False
    readme.write_text(new, "utf-8")
    return True


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _scaled_parameters(n_records: int) -> Any:
    """Default parameters rescaled so the expected number of records is ``n_records``."""
    from analysis import synthetic

    params = synthetic.SyntheticParameters()
    register = synthetic.make_register(params)
    params = synthetic.calibrated_parameters(register, params)  # the calibrated level, a number
    expected = synthetic.area_period_truth(register, params)["rate_lambda"].sum()
    scale = n_records / expected
    return dataclasses.replace(params, records_per_period=params.records_per_period * scale)


def _measure_generate(n_records: int) -> dict[str, Any]:
    from analysis import synthetic

    params = _scaled_parameters(n_records)
    start = time.perf_counter()
    register = synthetic.make_register(params)
    truth = synthetic.area_period_truth(register, params)
    records = synthetic.generate_records(register, params, truth)
    generated = time.perf_counter()
    returns = synthetic.aggregate_returns(records)
    done = time.perf_counter()
    if int(returns["identified_at_risk"].sum()) != len(records):
        raise RuntimeError("aggregated returns do not add up to the records")
    return {
        "benchmark": "generate",
        "n_records": len(records),
        "generate_s": generated - start,
        "aggregate_s": done - generated,
        "total_s": done - start,
        "peak_rss_mb": _peak_mb(),
    }


def _measure_ingest() -> dict[str, Any]:
    from analysis import returns, synthetic

    with tempfile.TemporaryDirectory() as tmp:
        written = synthetic.write_synthetic(tmp)
        register = frozenset(returns.load_area_register(written["register"])["area_code"])
        start = time.perf_counter()
        result = returns.ingest(written["returns"], register)
        checked = time.perf_counter()
        returns.write_outputs(result, Path(tmp) / "collated.csv")
        done = time.perf_counter()
    if result.errors:
        raise RuntimeError(f"synthetic returns failed validation: {result.errors[:3]}")
    return {
        "benchmark": "ingest",
        "n_files": len(result.files),
        "n_rows": len(result.collated),
        "ingest_s": checked - start,
        "write_s": done - checked,
        "total_s": done - start,
        "peak_rss_mb": _peak_mb(),
    }


def _run_worker(args: Sequence[str]) -> dict[str, Any]:
    src = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.bench", "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_generate(n_records: int = 10_000_000) -> dict[str, Any]:
    """Time generating and aggregating about ``n_records`` synthetic records in a subprocess.

    Parameters
    ----------
    n_records : int
        Expected number of records (the Poisson draw makes the actual number differ slightly;
        it is reported as ``n_records``).

    Returns
    -------
    dict
        ``benchmark, n_records, generate_s, aggregate_s, total_s, peak_rss_mb``.

    Examples
    --------
    >>> r = bench_generate(10_000)  # doctest: +SKIP
    >>> sorted(r)  # doctest: +SKIP
    ['aggregate_s', 'benchmark', 'generate_s', 'n_records', 'peak_rss_mb', 'total_s']
    """
    return _run_worker(["generate", str(int(n_records))])


def bench_ingest() -> dict[str, Any]:
    """Time ingesting the 152 x 3 synthetic returns (written to a temporary folder) in a subprocess.

    Returns
    -------
    dict
        ``benchmark, n_files, n_rows, ingest_s, write_s, total_s, peak_rss_mb``.

    Examples
    --------
    >>> r = bench_ingest()  # doctest: +SKIP
    >>> r["n_files"]  # doctest: +SKIP
    456
    """
    return _run_worker(["ingest"])


def _row(name: str, seconds: float, mb: float, target: tuple[float, float] | None) -> str:
    if target is None:
        return f"{name:<28}{seconds:>9.2f} s{mb:>10.0f} MB   (reference)"
    ok = seconds < target[0] and mb < target[1]
    return (
        f"{name:<28}{seconds:>9.2f} s{mb:>10.0f} MB   "
        f"< {target[0]:.0f} s, < {target[1]:.0f} MB   {'ok' if ok else 'MISSED'}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the benchmark table; return 0 if every target is met, else 1.

    Examples
    --------
    >>> main(["--quick"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m analysis.pipeline.bench", description=__doc__)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="skip the 10 million record run")
    parser.add_argument("--no-readme", action="store_true", help="do not update the README")
    args = parser.parse_args(argv)
    if args.worker:
        kind = args.worker[0]
        result = _measure_generate(int(args.worker[1])) if kind == "generate" else _measure_ingest()
        print(json.dumps(result))
        return 0

    print("Data generation and ingest (each in its own process; time and peak memory)")
    print(f"{'benchmark':<28}{'time':>11}{'peak':>13}   target")
    met = True
    rows: list[Row] = []
    sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000]
    for n in sizes:
        print(f"  generating and aggregating {n / 1e6:.0f} million records ...", flush=True)
        r = bench_generate(n)
        target = TARGETS["generate_10M"] if n == 10_000_000 else None
        label = f"generate+aggregate {r['n_records'] / 1e6:.1f}M"
        print(_row(label, r["total_s"], r["peak_rss_mb"], target), flush=True)
        ok = None if target is None else r["total_s"] < target[0] and r["peak_rss_mb"] < target[1]
        if target is not None:
            met &= bool(ok)
        goal = f"< {target[0]:.0f} s, {target[1] / 1024:.0f} GB" if target else ""
        rows.append(Row(f"{label} ({r['peak_rss_mb']:.0f} MB peak)", r["total_s"], goal, ok))
    print("  ingesting the synthetic returns ...", flush=True)
    r = bench_ingest()
    label = f"ingest {r['n_files']} returns"
    print(_row(label, r["total_s"], r["peak_rss_mb"], TARGETS["ingest_152x3"]))
    ok = r["total_s"] < TARGETS["ingest_152x3"][0]
    met &= ok
    rows.append(Row(label, r["total_s"], f"< {TARGETS['ingest_152x3'][0]:.0f} s", ok))
    save("data", rows)
    if not args.no_readme and update_readme():
        print("README: benchmark results updated between the bench markers")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
