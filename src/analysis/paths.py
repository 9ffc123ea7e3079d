"""Where the project's files live.

Every path is resolved from this file's location, never from the working directory, so the package
behaves the same from a notebook, the command line or the tests. Set ``ANALYSIS_PROJECT_ROOT`` to point
the package at another checkout (the tests use this to work on a temporary copy).

Importing this module has no side effects: it creates no folders and reads no files.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BUILD",
    "CACHE",
    "DATA",
    "DATA_PUBLISHED",
    "DATA_SYNTHETIC",
    "FIGURES",
    "NOTEBOOKS",
    "PROJECT_ROOT",
    "TABLES",
    "output_dir",
    "project_root",
]

#: Environment variable that redirects figure and table output (the notebook runner stages
#: outputs in a temporary folder and moves them into ``figures/`` only when a notebook succeeds).
OUTPUT_ENV = "ANALYSIS_OUTPUT_DIR"
ROOT_ENV = "ANALYSIS_PROJECT_ROOT"


def project_root() -> Path:
    """Return the project root (``ANALYSIS_PROJECT_ROOT`` if set, else the checkout of this file)."""
    override = os.environ.get(ROOT_ENV)
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2]


PROJECT_ROOT: Path = project_root()
DATA: Path = PROJECT_ROOT / "data"
DATA_PUBLISHED: Path = DATA / "published"
DATA_SYNTHETIC: Path = DATA / "synthetic"
FIGURES: Path = PROJECT_ROOT / "figures"
TABLES: Path = FIGURES / "tables"
NOTEBOOKS: Path = PROJECT_ROOT / "notebooks"
BUILD: Path = PROJECT_ROOT / "build"
#: Downloaded files and other caches (git-ignored; ``analysis.external`` keeps its files here).
CACHE: Path = PROJECT_ROOT / ".cache"


def output_dir() -> Path:
    """Return the folder figures are written to: ``ANALYSIS_OUTPUT_DIR`` if set, else ``figures/``."""
    override = os.environ.get(OUTPUT_ENV)
    return Path(override) if override else FIGURES
