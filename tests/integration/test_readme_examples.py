"""The README's own-data examples run as written, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```(python|sh)\n(.*?)```", re.S)
EXAMPLES = {
    name: (lang, code) for name, lang, code in EXAMPLE.findall((ROOT / "README.md").read_text())
}

pytestmark = pytest.mark.slow


def run(lang: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-c", code]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_has_the_own_data_examples() -> None:
    assert {"funnel", "ingest", "addfigure"} <= set(EXAMPLES)


def test_funnel_example(tmp_path: Path) -> None:
    proc = run(*EXAMPLES["funnel"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "my_funnel.png").stat().st_size > 10_000
    # West: 55 cases per 97,000 children = 5.67 per 10,000, far above the pooled rate
    # (134 / 363,000 = 3.69 per 10,000), so it is flagged high.
    west = next(line for line in proc.stdout.splitlines() if line.startswith("West"))
    assert "5.67" in west and "high" in west


def test_ingest_example(tmp_path: Path) -> None:
    proc = run(*EXAMPLES["ingest"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "exit code: 1" in proc.stdout  # one return is invalid: confirmed above identified
    collated = (tmp_path / "collated.csv").read_text().splitlines()
    assert len(collated) == 3 and all("E08000001" in line for line in collated[1:])
    errors = (tmp_path / "collated.errors.csv").read_text()
    assert "return_E08000002_2024-25.csv" in errors and "confirmed_victims" in errors


def test_adding_a_figure_changes_the_audit(tmp_path: Path) -> None:
    proc = run(*EXAMPLES["addfigure"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "C08,not_traced,typed"
    assert (
        "C08: recorded 'not_traced' but the published data now give 'corroborated'" in proc.stdout
    )
    assert lines[-1] == "C08,corroborated,computed"
    # the project's own data are untouched
    assert "SRC-EXAMPLE" not in (ROOT / "data" / "published" / "sources.csv").read_text()
