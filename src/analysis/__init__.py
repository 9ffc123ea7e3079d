"""Reproducible statistics for the quantitative claims of CEOP's 2012 evidence on localised grooming.

The package is a set of small modules, each with one job (see the README's module map):

- :mod:`analysis.paths` -- where files live (no side effects);
- :mod:`analysis.stats` -- intervals, funnel plots, ratios, claim tests, uncertainty propagation;
- :mod:`analysis.sources` -- the provenance register, checksums and citations;
- :mod:`analysis.published` -- one validating loader per published table;
- :mod:`analysis.synthetic`, :mod:`analysis.returns`, :mod:`analysis.disclosure` -- the synthetic
  annual collection, its validating ingest and disclosure control;
- :mod:`analysis.plotting` -- house style, deterministic saving, captions and synthetic marks;
- :mod:`analysis.claims` -- the claims register and its computed verdicts;
- :mod:`analysis.runner` -- headless, incremental notebook execution for ``make figures``.

Importing :mod:`analysis` is cheap and has no side effects; import the submodule you need.
"""

__version__ = "0.1.0"
