"""``make lab``: JupyterLab with the project's pinned environment registered as a named kernel.

JupyterLab is kept out of the pipeline's environment (the ``jupyter`` metapackage slows every
notebook-runner process by about a second); ``make lab`` installs it on first use from
``requirements-lab.txt`` into the same ``.venv`` and registers the kernel
``ceop-evidence`` (display name "CEOP evidence (project .venv)"), so notebooks opened there run on
exactly the pinned packages.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from analysis import paths

__all__ = ["KERNEL_NAME", "add_arguments", "install_kernel", "run"]

KERNEL_NAME = "ceop-evidence"
DISPLAY_NAME = "CEOP evidence (project .venv)"


def install_kernel(prefix: str | None = None) -> str:
    """Register this interpreter as the Jupyter kernel :data:`KERNEL_NAME`; return its folder."""
    from ipykernel.kernelspec import install

    return install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=prefix or sys.prefix)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis lab``."""
    parser.add_argument(
        "--kernel-only", action="store_true", help="register the kernel and exit (no JupyterLab)"
    )
    parser.add_argument("lab_args", nargs="*", help="extra arguments passed to jupyter lab")


def run(args: argparse.Namespace) -> int:
    """Register the kernel, install JupyterLab if missing, and start it in ``notebooks/``."""
    where = install_kernel()
    print(f"lab: kernel '{KERNEL_NAME}' registered in {where}")
    if args.kernel_only:
        return 0
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("lab: installing JupyterLab (first use only)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(paths.PROJECT_ROOT / "requirements-lab.txt"),
                "-c",
                str(paths.PROJECT_ROOT / "constraints-lab.txt"),
            ],
            check=True,
        )
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={paths.NOTEBOOKS}", *args.lab_args]
    return subprocess.call(cmd)
