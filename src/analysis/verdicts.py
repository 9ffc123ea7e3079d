"""What every theme notebook ends with: the verdicts of the claims it covers, saved as a table.

Each notebook ``NN_theme`` writes ``figures/tables/NN_claims.{csv,md,json}``: the rows of the
claims audit (:func:`analysis.claims.for_theme`) for that notebook, citing the evidence itself
and every source the verdicts rest on. This sits above :mod:`analysis.claims` and
:mod:`analysis.plotting` so that neither has to import the other.
"""

from __future__ import annotations

import pandas as pd

from analysis import claims, plotting

__all__ = ["record_theme_claims"]


def record_theme_claims(prefix: str) -> pd.DataFrame:
    """Save the audited claims of notebook ``prefix`` as ``NN_claims`` and return them.

    Parameters
    ----------
    prefix : str
        The notebook's number, e.g. ``"02"``.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`analysis.claims.audit` whose ``theme`` starts with ``prefix``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     os.environ["ANALYSIS_OUTPUT_DIR"] = tmp
    ...     table = record_theme_claims("01")
    ...     written = sorted(os.listdir(os.path.join(tmp, "tables")))
    ...     del os.environ["ANALYSIS_OUTPUT_DIR"]
    >>> table["claim_id"].tolist(), written
    (['C16', 'C17', 'C18'], ['01_claims.csv', '01_claims.json', '01_claims.md'])
    """
    table = claims.for_theme(prefix)
    plotting.save_table(
        table,
        f"{prefix}_claims",
        synthetic=False,
        sources=table.attrs["sources"],
        title=f"Claims covered by notebook {prefix}, with their verdicts",
    )
    return table
