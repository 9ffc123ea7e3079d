"""`make lab` registers the project's pinned environment as a named Jupyter kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analysis.pipeline import lab


def test_kernel_is_registered_with_this_interpreter() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "lab", "--kernel-only"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert lab.KERNEL_NAME in proc.stdout
    spec = json.loads(
        (
            Path(sys.prefix) / "share" / "jupyter" / "kernels" / lab.KERNEL_NAME / "kernel.json"
        ).read_text()
    )
    assert spec["display_name"] == lab.DISPLAY_NAME
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()


def test_lab_requirements_are_pinned_and_locked() -> None:
    root = Path(__file__).resolve().parents[2]
    wanted = [
        line.split("==")
        for line in (root / "requirements-lab.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    lock = (root / "constraints-lab.txt").read_text().lower()
    for name, version in wanted:
        assert f"{name.lower()}=={version}" in lock


def test_lab_lock_agrees_with_the_pipeline_lock() -> None:
    root = Path(__file__).resolve().parents[2]

    def pins(name: str) -> dict[str, str]:
        out = {}
        for line in (root / name).read_text().splitlines():
            if line and not line.startswith("#"):
                package, _, version = line.partition("==")
                out[package.lower().replace("_", "-")] = version
        return out

    pipeline, lab_lock = pins("constraints.txt"), pins("constraints-lab.txt")
    assert {k: lab_lock.get(k) for k in pipeline} == pipeline
