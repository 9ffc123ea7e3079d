"""Reproducible statistics for the quantitative claims of CEOP's 2012 evidence on localised grooming.

The package is a house of floors; a module imports only from its own floor or the floors below,
and nothing loops (``tests/unit/test_architecture.py`` derives the real imports and checks them):

1. ground, methods and plumbing that know no project data: ``paths``, ``stats``, ``trends``,
   ``disclosure``, ``tables``;
2. provenance and data: ``sources``, ``published``, ``external``;
3. registers: ``claims``, ``areas``;
4. readers of the collection and of local data, and charts: ``returns``, ``local``, ``plotting``;
5. verdicts, synthetic data and themes: ``verdicts``, ``synthetic``, ``themes.*`` (themes never
   import each other);
6. the pipeline: ``pipeline.*`` (runner, report, lab, bench, cli);
7. the top: ``__main__`` and the notebooks.

Importing :mod:`analysis` is cheap and has no side effects; import the submodule you need.
"""

__version__ = "0.1.0"

#: The floors of the house, lowest first (see the module docstring). ``themes`` and ``pipeline``
#: stand for every module in those sub-packages.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("paths", "stats", "trends", "disclosure", "tables"),
    ("sources", "published", "external"),
    ("claims", "areas"),
    ("returns", "local", "plotting"),
    ("verdicts", "synthetic", "themes"),
    ("pipeline",),
    ("__main__",),
)
