"""The house's floors hold: imports point down only, nothing loops, and the README says so.

The import graph is derived from the source with :mod:`ast` (every ``import`` and
``from ... import`` of ``analysis``, including those inside functions), never from a list kept
by hand; the floors come from ``analysis.FLOORS``.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

import analysis

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "analysis"
SUBPACKAGES = ("themes", "pipeline")


def module_name(path: Path, package: Path) -> str:
    """``themes/hotspots.py`` -> ``themes.hotspots``; ``stats.py`` -> ``stats``."""
    rel = path.relative_to(package).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) or "__init__"


def room(module: str) -> str:
    """The floor entry a module belongs to: its sub-package, or itself."""
    head = module.split(".")[0]
    return head if head in SUBPACKAGES else module


def imports_of(path: Path, package: Path) -> set[str]:
    """Modules of ``analysis`` that ``path`` imports (anywhere in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    known = {module_name(p, package) for p in package.rglob("*.py")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("analysis."):
                    found.add(alias.name.removeprefix("analysis."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "analysis":
                for alias in node.names:
                    if alias.name in known or alias.name in SUBPACKAGES:
                        found.add(alias.name)
            elif node.module.startswith("analysis."):
                base = node.module.removeprefix("analysis.")
                subs = {f"{base}.{a.name}" for a in node.names} & known
                found |= subs or {base}
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (``__init__`` files excluded as targets)."""
    graph = {}
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        graph[name] = {m for m in imports_of(path, package) if m != name and m not in SUBPACKAGES}
    return graph


def floor_of(floors: tuple[tuple[str, ...], ...]) -> dict[str, int]:
    return {entry: i for i, floor in enumerate(floors, start=1) for entry in floor}


def violations(package: Path, floors: tuple[tuple[str, ...], ...]) -> list[str]:
    """Every upward import, theme-to-theme import, unplaced module and cycle, in words."""
    graph = import_graph(package)
    where = floor_of(floors)
    problems = []
    for module, targets in graph.items():
        if module.endswith("__init__") or module in SUBPACKAGES:
            continue
        if room(module) not in where:
            problems.append(f"{module} is on no floor of analysis.FLOORS")
            continue
        for target in sorted(targets):
            if room(target) not in where:
                continue  # reported on its own line
            if where[room(target)] > where[room(module)]:
                problems.append(
                    f"{module} (floor {where[room(module)]}) imports {target} "
                    f"(floor {where[room(target)]}): an upward import"
                )
            if room(module) == room(target) == "themes":
                problems.append(f"{module} imports {target}: themes never import each other")
    # Cycles: depth-first search for a back edge.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                problems.append("import cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return problems


def test_every_import_points_down_and_nothing_loops() -> None:
    assert violations(PACKAGE, analysis.FLOORS) == []


def test_every_module_is_on_a_floor() -> None:
    where = floor_of(analysis.FLOORS)
    unplaced = [m for m in import_graph(PACKAGE) if room(m) not in where and "__init__" not in m]
    assert unplaced == []


@pytest.fixture
def copy_of_package(tmp_path: Path) -> Path:
    target = tmp_path / "analysis"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_a_planted_upward_import_fails(copy_of_package: Path) -> None:
    stats = copy_of_package / "stats.py"
    stats.write_text(stats.read_text() + "\n\ndef _planted():\n    from analysis import plotting\n")
    found = violations(copy_of_package, analysis.FLOORS)
    assert any("stats (floor 1) imports plotting (floor 4)" in p for p in found), found


def test_a_planted_theme_to_theme_import_fails(copy_of_package: Path) -> None:
    lscb = copy_of_package / "themes" / "lscb.py"
    lscb.write_text(lscb.read_text() + "\nfrom analysis.themes import missing  # noqa\n")
    found = violations(copy_of_package, analysis.FLOORS)
    assert "themes.lscb imports themes.missing: themes never import each other" in found


def test_a_planted_cycle_fails(copy_of_package: Path) -> None:
    for name, other in (("paths", "tables"), ("tables", "paths")):
        path = copy_of_package / f"{name}.py"
        path.write_text(path.read_text() + f"\nfrom analysis import {other}  # noqa\n")
    found = violations(copy_of_package, analysis.FLOORS)
    assert any(p.startswith("import cycle:") and "paths" in p for p in found), found


def test_readme_module_map_matches_the_floors() -> None:
    """The README's module map lists the floors in the order and with the modules of FLOORS."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- module-map:start -->")[1].split("<!-- module-map:end -->")[0]
    rows = [line for line in block.splitlines() if re.match(r"^\| \d ", line)]
    assert len(rows) == len(analysis.FLOORS)
    for row, floor in zip(rows, analysis.FLOORS, strict=True):
        listed = re.findall(r"`([a-z_]+)(?:/|\.\*)?`", row.split("|")[2])
        assert listed == list(floor), row
    placed = {room(m) for m in import_graph(PACKAGE) if "__init__" not in m}
    assert placed <= set(floor_of(analysis.FLOORS))


def test_notebooks_define_no_functions() -> None:
    """Notebooks tell the story and call the package: a ``def`` or ``class`` belongs in src/."""
    import json

    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate((c for c in cells if c["cell_type"] == "code"), start=1):
            tree = ast.parse("".join(cell["source"]))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    found.append(f"{path.name}, code cell {number}: {node.name}")
    assert found == []
