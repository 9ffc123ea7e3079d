"""The command line talks to people: quiet when a reader stops early, one line when all is well,
results on stdout and problems on stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "returns"


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    proc = _bash("python -m analysis claims --format csv | head -1", tmp_path)
    assert proc.stdout.startswith("claim_id,") and proc.stdout.count("\n") == 1
    assert proc.stderr == "", proc.stderr
    # a reader that never reads: the write fails for certain, and still no traceback
    proc = _bash('python -m analysis claims --format csv | true; echo "${PIPESTATUS[0]}"', tmp_path)
    assert proc.stderr == "", proc.stderr
    assert proc.stdout.strip() == "141"  # as a program stopped by SIGPIPE


def test_unknown_notebook_lists_the_choices(tmp_path: Path) -> None:
    proc = _bash("python -m analysis figures 99", tmp_path)
    assert proc.returncode == 2
    assert "no notebook" in proc.stderr and "the notebooks are: 00_claims_audit" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ingest_prints_its_summary_on_stdout_and_its_errors_on_stderr(tmp_path: Path) -> None:
    folder = tmp_path / "returns"
    folder.mkdir()
    shutil.copy(FIXTURES / "good" / "return_SYN001_2011-12.csv", folder)
    shutil.copy(FIXTURES / "bad" / "negative_count.csv", folder)
    proc = _bash(
        f"python -m analysis ingest {folder} --out {tmp_path / 'c.csv'}"
        f" --register {FIXTURES / 'register.csv'}",
        tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("ingest: ") and "checked" in proc.stdout
    assert "negative_count.csv" in proc.stderr and "checked" not in proc.stderr.splitlines()[-1]


@pytest.mark.slow
def test_report_check_prints_one_line_when_the_site_is_sound(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "figures").mkdir(parents=True)
    (site / "figures" / "a.png").write_bytes(b"png")
    (site / "index.html").write_text('<a href="figures/a.png">a</a><a href="#x">x</a>')
    proc = _bash(f"python -m analysis report --check --out {site}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1 and "1 page," in proc.stdout
    assert proc.stderr == ""
    (site / "index.html").write_text('<a href="missing.html">m</a>')
    proc = _bash(f"python -m analysis report --check --out {site}", tmp_path)
    assert proc.returncode == 1
    assert "broken link missing.html" in proc.stderr and "1 problem in" in proc.stderr
