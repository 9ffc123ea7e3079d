"""Benchmarks of the synthetic generator and the ingest, each measured in a fresh subprocess.

``python -m analysis.pipeline.bench`` (``make bench``) prints the timings and peak memory beside their
targets:

* generating and aggregating 10 million synthetic case records: under 30 s and under 4 GB
  (1 million is measured too, as a reference);
* ingesting the 152 areas x 3 periods of synthetic returns (456 files).

Each measurement runs in its own Python process so its peak memory (``ru_maxrss``, the
process's resident-set high-water mark, interpreter and libraries included) is its own.

Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["TARGETS", "bench_generate", "bench_ingest", "main"]

#: Targets: name -> (seconds, megabytes).
TARGETS: dict[str, tuple[float, float]] = {
    "generate_10M": (30.0, 4096.0),
    "ingest_152x3": (30.0, 4096.0),
}


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _scaled_parameters(n_records: int) -> Any:
    """Default parameters rescaled so the expected number of records is ``n_records``."""
    from analysis import synthetic

    params = synthetic.SyntheticParameters()
    register = synthetic.make_register(params)
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
    args = parser.parse_args(argv)
    if args.worker:
        kind = args.worker[0]
        result = _measure_generate(int(args.worker[1])) if kind == "generate" else _measure_ingest()
        print(json.dumps(result))
        return 0

    print(f"{'benchmark':<28}{'time':>11}{'peak':>13}   target")
    met = True
    sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000]
    for n in sizes:
        r = bench_generate(n)
        target = TARGETS["generate_10M"] if n == 10_000_000 else None
        label = f"generate+aggregate {r['n_records'] / 1e6:.1f}M"
        print(_row(label, r["total_s"], r["peak_rss_mb"], target), flush=True)
        if target is not None:
            met &= r["total_s"] < target[0] and r["peak_rss_mb"] < target[1]
    r = bench_ingest()
    label = f"ingest {r['n_files']} returns"
    print(_row(label, r["total_s"], r["peak_rss_mb"], TARGETS["ingest_152x3"]))
    met &= r["total_s"] < TARGETS["ingest_152x3"][0]
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
