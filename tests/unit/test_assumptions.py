"""Every stated assumption in a notebook or a synthetic generator is in docs/assumptions.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = (ROOT / "docs" / "assumptions.md").read_text()


def test_log_ids_are_unique_and_sequential() -> None:
    ids = re.findall(r"^\| (A\d\d) \|", LOG, re.M)
    assert ids == [f"A{i:02d}" for i in range(1, len(ids) + 1)]


def test_every_assumed_parameter_in_a_notebook_is_logged() -> None:
    names = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                names |= set(re.findall(r"\b(ASSUMED_[A-Z0-9_]+)\s*=", "".join(cell["source"])))
    assert names, "no ASSUMED_ parameters found: has the naming convention changed?"
    missing = sorted(n for n in names if n not in LOG)
    assert not missing, f"assumptions not in docs/assumptions.md: {missing}"


def test_synthetic_generators_point_to_the_log() -> None:
    params = json.loads((ROOT / "data" / "synthetic" / "synthetic_parameters.json").read_text())
    assert params["assumptions"], "the generator records its assumptions"
    assert "synthetic_parameters.json" in LOG and "`assumptions`" in LOG
