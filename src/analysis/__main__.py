"""``python -m analysis``: the project's command line (see :mod:`analysis.pipeline.cli`)."""

from analysis.pipeline.cli import main

raise SystemExit(main())
