"""Theme back-ends: one module per notebook theme of the evidence.

Each module turns the loaders' tables into the numbers and tables its notebook shows
(:mod:`~analysis.themes.missing`, :mod:`~analysis.themes.lscb`, :mod:`~analysis.themes.looked_after`,
:mod:`~analysis.themes.prevalence`, :mod:`~analysis.themes.pilots`, :mod:`~analysis.themes.hotspots`,
:mod:`~analysis.themes.policy`, :mod:`~analysis.themes.timeseries`). Themes import the floors below them
(methods, provenance, registers, loaders, plotting, verdicts, synthetic) and never each other.
"""
