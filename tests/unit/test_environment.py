"""requirements.txt, constraints.txt and environment.yml must list the same packages and versions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: {line!r} is not pinned with =="
        pins[_norm(name)] = version.strip()
    return pins


def test_requirements_are_all_pinned_and_locked() -> None:
    direct = _pins(ROOT / "requirements.txt")
    lock = _pins(ROOT / "constraints.txt")
    for name, version in direct.items():
        assert lock.get(name) == version, f"{name}: requirements {version}, lock {lock.get(name)}"


def test_environment_yml_lists_the_same_packages_and_versions() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda: dict[str, str] = {}
    pip_items: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_items += dep.get("pip", [])
            continue
        name, _, version = dep.partition("=")
        conda[_norm(name)] = version
    assert "conda-forge" in env["channels"]
    assert "-e ." in pip_items, "environment.yml must install this package with pip"
    assert conda.pop("python") == "3.11"
    conda.pop("pip")
    assert conda == _pins(ROOT / "requirements.txt")
