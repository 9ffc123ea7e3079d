"""Pipeline tooling: the notebook runner, the report, JupyterLab, benchmarks and the command line.

Nothing below this floor imports it; it may import every floor below (see :mod:`analysis`).
"""
