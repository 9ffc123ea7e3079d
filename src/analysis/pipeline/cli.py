"""The project's command line: ``python -m analysis <command>`` or the ``analysis`` script.

Commands that belong to a module (claims, ingest, report, lab) let that module add its own
options and run the command: :data:`DELEGATED` maps each to its module and functions.

Output is for people: no colour codes when the output is not a terminal, singular and plural
right, and a reader that stops early (``python -m analysis claims --format csv | head -1``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from analysis import __version__

#: ``build_parser(ALL)`` builds every command's options (the default).
ALL = "*"

DESCRIPTION = (
    "Test the quantitative claims of CEOP's 2012 evidence on localised grooming against "
    "published figures and labelled synthetic data."
)


def _plural(n: int, word: str) -> str:
    """``"1 notebook"``, ``"2 notebooks"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _for_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal that wants colour (``NO_COLOR`` turns it off)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _say(text: str, stream=None) -> None:
    """Print a line, without colour codes unless the stream is a terminal."""
    from analysis.pipeline.runner import plain

    stream = stream or sys.stdout
    print(text if _for_terminal(stream) else plain(text), file=stream, flush=True)


def _cmd_figures(args: argparse.Namespace) -> int:
    from analysis.pipeline.runner import run_notebooks

    try:
        results = run_notebooks(
            args.only,
            force=args.force,
            jobs=args.jobs,
            fresh_kernels=args.fresh_kernels,
            log=_say,
        )
    except FileNotFoundError as err:
        _say(f"figures: {err}", sys.stderr)
        return 2
    failed = [r for r in results if r.status == "failed"]
    if failed:
        names = ", ".join(r.name for r in failed)
        _say(f"figures: {_plural(len(failed), 'notebook')} failed: {names}", sys.stderr)
        return 1
    if not args.only:
        return _update_readme()
    return 0


def _update_readme() -> int:
    """Regenerate the README's claims summary unless neither it nor its inputs changed."""
    from analysis import paths
    from analysis.pipeline import runner

    root = paths.PROJECT_ROOT
    readme, stamp = root / "README.md", paths.BUILD / "readme.sha256"
    if not readme.exists():  # a project without a README (the tests' probes) has none to update
        return 0
    digest = runner.input_hash(readme, runner.shared_inputs(root), root)
    if stamp.exists() and stamp.read_text() == digest:
        return 0
    from analysis.pipeline import report

    # This runs only after every notebook ran or was up to date, so the audit notebook 00 wrote is
    # the current one: the summary is made from it rather than by running every rule again (which
    # would import the statistics stack and load the public tables once more, after the build).
    table = report.built_audit(root / "figures")  # where the runner publishes
    if table is None:  # no audit built (a project without notebook 00): run the rules here
        from analysis import verdicts

        try:
            table = verdicts.audit()
        except verdicts.ClaimsAuditError as err:
            print(
                f"figures: the claims register no longer matches the data: {err}", file=sys.stderr
            )
            return 1
    if report.update_readme(readme, table):
        print("figures: README claims summary updated")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(runner.input_hash(readme, runner.shared_inputs(root), root))
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    from analysis import sources

    if args.update_checksums:
        path = sources.update_manifest()
        print(f"wrote {path}")
    problems = sources.verify()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(sources.load_register())} sources registered; every data file checks out")
    return 1 if problems else 0


def _cmd_synthetic(args: argparse.Namespace) -> int:
    from analysis import synthetic
    from analysis.themes import pilots

    code = synthetic.run(args)
    if code == 0:  # the weekly police panel of notebook 05, from its own seed
        written = pilots.write_panel(out_dir=getattr(args, "out", None))
        print(f"synthetic: wrote {', '.join(p.name for p in written.values())}")
    return code


#: Commands run by their own module: name -> (module, function adding its options, function
#: running it, help line).
DELEGATED: dict[str, tuple[str, str, str, str]] = {
    "claims": ("verdicts", "add_arguments", "run", "print the claims audit (verdict per claim)"),
    "ingest": (
        "returns",
        "add_ingest_arguments",
        "run_ingest",
        "validate and collate annual returns (one CSV per area)",
    ),
    "report": (
        "pipeline.report",
        "add_arguments",
        "run",
        "build the static HTML report into site/",
    ),
    "lab": ("pipeline.lab", "add_arguments", "run", "start JupyterLab with the project's kernel"),
    "fetch": ("external", "add_arguments", "run", "download and verify the public data files"),
    "profile": (
        "themes.local_authorities",
        "add_arguments",
        "run",
        "profile a local authority from published data (unknown names get close matches)",
    ),
}


def _delegate(module: str, function: str):
    """Return a handler that imports ``analysis.<module>`` and calls ``function(args)``."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(f"analysis.{module}"), function)(args)

    return handler


def build_parser(command: str | None = ALL) -> argparse.ArgumentParser:
    """Return the argument parser; modules that own a command add its options themselves.

    Parameters
    ----------
    command : str or None
        The command being run: only its module is imported to add its options, so
        ``figures`` does not load the claims audit and matplotlib to parse its arguments. The
        default, :data:`ALL`, imports every command's module (the full parser).
    """
    parser = argparse.ArgumentParser(prog="analysis", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"analysis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("figures", help="execute the notebooks whose inputs changed into figures/")
    p.add_argument(
        "only", nargs="*", help="notebook numbers or name prefixes, e.g. 1 03 (default: all)"
    )
    p.add_argument("--force", action="store_true", help="rerun even if nothing changed")
    p.add_argument("-j", "--jobs", type=int, default=None, help="notebooks at once (default 2)")
    p.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="a new kernel for every notebook (default: each worker reuses one, reset between)",
    )
    p.set_defaults(func=_cmd_figures)

    for name, (module, adder, runner, text) in DELEGATED.items():
        p = sub.add_parser(name, help=text)
        if command in (ALL, name):
            _add_optional(p, module, adder)
        p.set_defaults(func=_delegate(module, runner))

    p = sub.add_parser(
        "synthetic", help="regenerate the synthetic register, records, returns and pilot panel"
    )
    if command in (ALL, "synthetic"):
        _add_optional(p, "synthetic", "add_arguments")
    p.set_defaults(func=_cmd_synthetic)

    p = sub.add_parser("sources", help="check the provenance register and data checksums")
    p.add_argument(
        "--update-checksums",
        action="store_true",
        help="rewrite data/published/MANIFEST.csv after a deliberate data change",
    )
    p.set_defaults(func=_cmd_sources)

    return parser


def _add_optional(parser: argparse.ArgumentParser, module: str, function: str) -> None:
    """Let a module add its own options (modules own their command's arguments)."""
    import importlib

    try:
        mod = importlib.import_module(f"analysis.{module}")
    except ImportError:
        return
    adder = getattr(mod, function, None)
    if adder is not None:
        adder(parser)


def _command(argv: Sequence[str]) -> str | None:
    """The command word in ``argv`` (its first argument that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failure, 2 usage error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValueError as exc:  # a data file breaking its schema: one line, not a traceback
        from analysis.tables import TableError

        if not isinstance(exc, TableError):
            raise
        print(f"analysis {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader stopped early (`... | head -1`): end quietly, as a program stopped by
        # SIGPIPE does, and point stdout at /dev/null so the exit flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141
