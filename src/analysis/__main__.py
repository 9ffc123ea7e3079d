"""``python -m analysis``: the project's command line (see :mod:`analysis.cli`)."""

from analysis.cli import main

raise SystemExit(main())
