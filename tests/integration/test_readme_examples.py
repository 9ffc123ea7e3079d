"""Every code block in the README runs, as written, in an empty folder; the few that must not
run (they start the test suite itself, or a server) say why, and their commands are checked.

The own-data examples (``<!-- example: NAME -->``) also have their results checked below. A block
is run with ``bash`` (``sh``) or the test's interpreter (``python``), in a fresh folder holding only
a ``.venv`` link to the environment running the tests, so ``.venv/bin/python`` and
``source .venv/bin/activate`` work as they do in a checkout. ``JUPYTER_DATA_DIR`` points into that
folder, so a block that registers a kernel for the user does not touch the real home folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MARKER = re.compile(r"^<!-- (example|not-run): ?(.*?) -->$")
RUNNABLE = {"python", "sh", "bash"}
#: "keep those few": more blocks than this that do not run means the README drifted from its tests
MAX_NOT_RUN = 3

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Block:
    line: int  # line of the opening fence, 1-based
    lang: str
    code: str
    kind: str  # "example", "not-run" or ""
    note: str  # the example's name or the reason it is not run

    @property
    def id(self) -> str:
        first = next((ln for ln in self.code.splitlines() if ln.strip()), "")
        return f"L{self.line}:{first[:40]}"


def blocks(text: str) -> list[Block]:
    """Every fenced code block, with the marker on the line just above it, if any."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"README.md line {start + 1}: code block never closed"
        marker = MARKER.match(lines[start - 1]) if start else None
        kind, note = (marker.group(1), marker.group(2).strip()) if marker else ("", "")
        found.append(Block(start + 1, fence.group(1), "\n".join(body) + "\n", kind, note))
        i += 1
    return found


BLOCKS = blocks(README)
EXAMPLES = {b.note: (b.lang, b.code) for b in BLOCKS if b.kind == "example"}
PLAIN = [b for b in BLOCKS if b.kind == "" and b.lang in RUNNABLE]
NOT_RUN = [b for b in BLOCKS if b.kind == "not-run"]


def run(lang: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "ANALYSIS_OUTPUT_DIR")}
    env.update(MPLBACKEND="Agg", JUPYTER_DATA_DIR=str(cwd / "jupyter-data"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    venv = cwd / ".venv"
    if not venv.exists() and sys.prefix != sys.base_prefix:
        venv.symlink_to(sys.prefix, target_is_directory=True)
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-c", code]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# --- every block is accounted for --------------------------------------------------------------


def test_every_block_runs_or_says_why_not() -> None:
    assert BLOCKS, "no code blocks found in README.md"
    for block in BLOCKS:
        if block.kind == "not-run":
            assert len(block.note.split()) >= 4, f"README.md line {block.line}: give the reason"
        else:
            assert block.lang in RUNNABLE, (
                f"README.md line {block.line}: a ```{block.lang} block cannot be run; "
                "make it python or sh, or mark it <!-- not-run: reason -->"
            )
    assert len(NOT_RUN) <= MAX_NOT_RUN, [b.id for b in NOT_RUN]
    assert {"funnel", "ingest", "addfigure"} <= set(EXAMPLES)
    # the quick start's three steps are there, in order, and the report is where it says
    quick = next(b for b in NOT_RUN if "make figures" in b.code)
    steps = [ln.split("#", 1)[0].strip() for ln in quick.code.splitlines()]
    assert steps == ["make figures", "make report", "make test"]
    assert "open site/index.html" in quick.code


@pytest.mark.parametrize("block", NOT_RUN, ids=lambda b: b.id)
def test_blocks_that_do_not_run_hold_real_commands(block: Block) -> None:
    """What a not-run block says is still checked: each make target dry-runs (`make -n`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    for line in block.code.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        assert re.fullmatch(r"make [a-z]+", command), (
            f"README.md line {block.line}: a block that does not run may hold only make "
            f"targets, not {command!r}"
        )
        proc = subprocess.run(
            ["make", "-n", command.split()[1]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"`{command} -n` fails: {proc.stderr}"


# --- the blocks with no marker: each runs and does what the text around it says ---------------


@pytest.mark.parametrize("block", PLAIN, ids=lambda b: b.id)
def test_block_runs(block: Block, tmp_path: Path) -> None:
    needs_venv = ".venv/" in block.code
    if needs_venv and sys.prefix == sys.base_prefix:
        pytest.skip("the tests are not running in a virtual environment (.venv)")
    proc = run(block.lang, block.code, tmp_path)
    assert proc.returncode == 0, f"README.md line {block.line}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    if "import analysis; print('analysis'" in block.code:
        assert proc.stdout.startswith("analysis ")
    if "stats.wilson_interval(29, 100)" in block.code:
        # Wilson 95% interval for 29 of 100, computed here from the closed form
        z, p, n = 1.959963984540054, 0.29, 100
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
        numbers = [float(x) for x in re.findall(r"\d+\.\d+", proc.stdout)]
        assert any(abs(x - (centre - half)) < 1e-9 for x in numbers), proc.stdout
        assert any(abs(x - (centre + half)) < 1e-9 for x in numbers), proc.stdout
    if "ipykernel install --user" in block.code:
        spec = tmp_path / "jupyter-data" / "kernels" / "ceop-evidence" / "kernel.json"
        kernel = json.loads(spec.read_text())
        assert kernel["display_name"] == "CEOP evidence (project .venv)"
        assert Path(kernel["argv"][0]).resolve() == Path(sys.executable).resolve()
    if "BAR03" in block.code:
        assert "Barnardo" in proc.stdout


# --- what the README says about timings and optional parts ------------------------------------

PERFORMANCE = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?\s*(?:ms|s|secs?|seconds?|mins?|minutes?|hours?|h|MB|GB|MiB|GiB)\b"
    r"|\b\d+(?:\.\d+)?\s*(?:x|×|times)\s+(?:faster|slower|quicker|as fast)"
    r"|\b(?:seconds|minutes?|hours?)\b",
    re.I,
)


def test_no_performance_figure_is_typed_outside_what_make_bench_writes() -> None:
    start, end = README.index("<!-- bench:start -->"), README.index("<!-- bench:end -->")
    assert start < end
    outside = README[:start] + README[end:]
    typed = [
        f"line {outside.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
        for m in PERFORMANCE.finditer(outside)
    ]
    assert typed == [], "timings belong between the bench markers (make bench writes them)"


def test_the_pattern_finds_typed_timings() -> None:
    for text in ("takes about 10 s on 2 cores", "in 45 seconds", "about a minute", "3x faster"):
        assert PERFORMANCE.search(text), text
    for text in ("3 months", "152 × 3 returns", "C05: 7 key considerations", "10 million"):
        assert not PERFORMANCE.search(text), text


def test_the_chromium_skip_reason_is_the_one_the_readme_quotes() -> None:
    reason = re.search(
        r'pytest\.skip\("(Debian[^"]+)"\)', (ROOT / "tests/integration/test_report.py").read_text()
    )
    assert reason is not None
    assert reason.group(1) in " ".join(README.split())


# --- the own-data examples, with their results ----------------------------------------------


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
    assert "ingest: " in proc.stdout, "the summary belongs on stdout"
    assert "return_E08000002_2024-25.csv" in proc.stderr, "the error lines belong on stderr"
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
