"""Disclosure control for tables that leave the project: small-count and complementary suppression.

Every table of counts published from case records or returns goes through :func:`suppress` and
is then checked with :func:`check_disclosure`.

Rules
-----
* **Primary suppression**: counts from 1 to ``threshold`` (default 5) are suppressed. Zeros are
  *not* suppressed, as in UK official statistics practice (a zero reveals no individual, and
  suppressing zeros would hide structural zeros readers need).
* **Secondary (complementary) suppression**: every row total, column total and the grand total
  is assumed public (whether or not the table shows them, the worst case), so further cells are
  suppressed until no suppressed cell can be worked out exactly from the totals and the
  published cells. First, in any row or column with exactly one suppressed cell, the smallest
  other cell is suppressed (non-zero cells preferred; ties go to the first); this repeats to a
  fixed point. Then an exact linear-algebra check finds cells still recoverable from
  combinations of totals (e.g. a cell linking two otherwise protected blocks), and the smallest
  cell that breaks each such recovery is suppressed, until none is left.
* Suppressed cells are shown as ``"[c]"`` (the Government Statistical Service symbol for
  confidential); the returned table carries ``attrs["note"]``: "counts of 1 to 5 suppressed;
  further cells suppressed to prevent recovery from totals".

"Recovered" means determined exactly by the linear equations the totals give. A suppressed cell
can still be *bounded* (e.g. a row total of 12 bounds its suppressed cells by 12); that is
inherent to cell suppression and acceptable here. Totals are not themselves suppressed;
:func:`check_disclosure` (by default) rejects a table that *shows* a total between 1 and the
threshold: combine categories before publishing such a table.

Importing this module has no side effects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "NOTE",
    "SYMBOL",
    "DisclosureError",
    "check_disclosure",
    "count_table",
    "derivable_cells",
    "suppress",
    "suppression_mask",
]

#: Symbol marking a suppressed cell (GSS guidance: ``[c]`` for confidential).
SYMBOL = "[c]"
#: Note attached to a suppressed table; ``{threshold}`` is filled in.
NOTE = (
    "counts of 1 to {threshold} suppressed; further cells suppressed to prevent recovery "
    "from totals; {symbol} marks a suppressed cell; zeros are shown"
)
_TOL = 1e-9


class DisclosureError(ValueError):
    """A table would disclose: a small count is shown or a suppressed cell is recoverable."""


# --------------------------------------------------------------------------- helpers


def _counts(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Validate a table of counts and return it as an int64 DataFrame."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    if frame.empty:
        raise ValueError("table is empty")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("table must hold numbers only") from None
    if not np.all(np.isfinite(values)):
        raise ValueError("table holds missing or infinite values")
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError("table must hold whole-number counts >= 0")
    return pd.DataFrame(values.astype(np.int64), index=frame.index, columns=frame.columns)


def _lines(
    shape: tuple[int, int],
    row_known: Sequence[bool] | None = None,
    col_known: Sequence[bool] | None = None,
    grand_known: bool = True,
) -> list[np.ndarray]:
    """Boolean cell masks of each known total (rows, columns, grand total).

    Row totals count only when there are at least two columns (otherwise a row total is the
    cell itself, not a separate total), and likewise for column totals.
    """
    n_rows, n_cols = shape
    lines: list[np.ndarray] = []
    if n_cols >= 2:
        for i in range(n_rows):
            if row_known is None or row_known[i]:
                line = np.zeros(shape, dtype=bool)
                line[i, :] = True
                lines.append(line)
    if n_rows >= 2:
        for j in range(n_cols):
            if col_known is None or col_known[j]:
                line = np.zeros(shape, dtype=bool)
                line[:, j] = True
                lines.append(line)
    if grand_known:
        lines.append(np.ones(shape, dtype=bool))
    return lines


def _system(mask: np.ndarray, lines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Constraint matrix over the suppressed cells and their flat positions."""
    cells = np.flatnonzero(mask.ravel())
    matrix = np.array([line.ravel()[cells] for line in lines], dtype=float).reshape(
        len(lines), cells.size
    )
    return matrix, cells


def _derivable(mask: np.ndarray, lines: list[np.ndarray]) -> np.ndarray:
    """Boolean array (table shape): suppressed cells determined exactly by the totals."""
    out = np.zeros(mask.shape, dtype=bool)
    matrix, cells = _system(mask, lines)
    if cells.size == 0:
        return out
    if matrix.shape[0] == 0:
        return out
    # A cell is determined iff its unit vector lies in the row space of the constraint
    # matrix, i.e. iff the orthogonal projection onto that row space keeps it whole:
    # P[j, j] = sum_k V[k, j]^2 = 1 over the right singular vectors with non-zero singular value.
    _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int(np.sum(sing > 1e-10 * max(matrix.shape) * (sing[0] if sing.size else 0.0)))
    leverage = np.sum(vt[:rank] ** 2, axis=0)
    determined = leverage > 1 - 1e-8
    out.ravel()[cells[determined]] = True
    return out


def derivable_cells(
    mask: pd.DataFrame | np.ndarray,
    row_known: Sequence[bool] | None = None,
    col_known: Sequence[bool] | None = None,
    grand_known: bool = True,
) -> np.ndarray:
    """Which suppressed cells can be worked out exactly from the totals and published cells.

    Parameters
    ----------
    mask : DataFrame or array of bool
        True where a cell is suppressed.
    row_known, col_known : sequence of bool, optional
        Which row / column totals are public (default: all).
    grand_known : bool
        Whether the grand total is public.

    Returns
    -------
    numpy.ndarray of bool
        True for suppressed cells that are recoverable.

    Examples
    --------
    >>> derivable_cells(np.array([[True, False], [False, False]])).tolist()
    [[True, False], [False, False]]
    >>> derivable_cells(np.array([[True, True], [True, True]])).any()
    np.False_
    """
    m = np.asarray(mask, dtype=bool)
    return _derivable(m, _lines(m.shape, row_known, col_known, grand_known))


def _known_zero(values: np.ndarray) -> np.ndarray:
    """Cells in a row or column whose total is 0: anyone can tell they are 0."""
    rows = values.sum(axis=1, keepdims=True) == 0
    cols = values.sum(axis=0, keepdims=True) == 0
    return rows | cols


def _smallest(values: np.ndarray, candidates: np.ndarray) -> int | None:
    """Flat index of the preferred complementary cell among candidate flat indices.

    Preference: cells not known to be 0 from a zero total (suppressing those protects
    nothing), then non-zero cells, then the smallest value, then the first position.
    """
    if candidates.size == 0:
        return None
    flat = values.ravel()
    zero_line = _known_zero(values).ravel()
    return min(
        candidates.tolist(),
        key=lambda k: (bool(zero_line[k]), int(flat[k]) == 0, int(flat[k]), k),
    )


def _line_pass(values: np.ndarray, mask: np.ndarray, lines: list[np.ndarray]) -> bool:
    """Suppress a complement in the first line holding exactly one suppressed cell."""
    for line in lines:
        if np.count_nonzero(mask & line) == 1:
            candidates = np.flatnonzero((line & ~mask).ravel())
            choice = _smallest(values, candidates)
            if choice is None:
                raise DisclosureError(
                    "table cannot be protected: a total covers a single suppressed cell and no "
                    "other cell; combine categories or do not publish the totals"
                )
            mask.ravel()[choice] = True
            return True
    return False


def _break_recovery(values: np.ndarray, mask: np.ndarray, lines: list[np.ndarray]) -> bool:
    """Suppress one more cell so the first recoverable suppressed cell no longer is."""
    determined = _derivable(mask, lines)
    if not determined.any():
        return False
    target = int(np.flatnonzero(determined.ravel())[0])
    matrix, cells = _system(mask, lines)
    j = int(np.flatnonzero(cells == target)[0])
    free = np.flatnonzero(~mask.ravel())
    if free.size == 0:
        raise DisclosureError("table cannot be protected even with every cell suppressed")
    cand = np.array([line.ravel()[free] for line in lines], dtype=float).reshape(
        len(lines), free.size
    )
    solution, *_ = np.linalg.lstsq(matrix, cand, rcond=None)
    residual = np.abs(matrix @ solution - cand).max(axis=0)
    fixes = free[(residual < 1e-8) & (np.abs(solution[j]) > 1e-8)]
    choice = _smallest(values, fixes)
    if choice is None:
        # No single cell breaks it: suppress the smallest cell sharing the target's row or
        # column (or anywhere) and try again.
        r, c = np.unravel_index(target, mask.shape)
        near = np.zeros(mask.shape, dtype=bool)
        near[r, :] = True
        near[:, c] = True
        choice = _smallest(values, np.flatnonzero((near & ~mask).ravel()))
        if choice is None:
            choice = _smallest(values, free)
    mask.ravel()[choice] = True
    return True


# --------------------------------------------------------------------------- public API


def suppression_mask(table: pd.DataFrame | pd.Series, threshold: int = 5) -> pd.DataFrame:
    """Return the cells to suppress: primary (1..threshold) and secondary (complementary).

    Parameters
    ----------
    table : DataFrame or Series
        Whole-number counts >= 0, without total rows or columns.
    threshold : int
        Largest count suppressed (counts 1 to ``threshold``; zeros are shown).

    Returns
    -------
    pandas.DataFrame of bool
        Same labels as ``table``; ``attrs["primary"]`` holds the primary mask as an array.

    Raises
    ------
    DisclosureError
        If no suppression pattern protects the table (e.g. a single cell of 3 whose total is
        public).

    Examples
    --------
    >>> t = pd.DataFrame({"a": [3, 10], "b": [20, 30]}, index=["x", "y"])
    >>> suppression_mask(t).to_numpy().tolist()
    [[True, True], [True, True]]
    >>> t = pd.DataFrame({"a": [3, 10, 12], "b": [20, 30, 14], "c": [7, 9, 40]})
    >>> suppression_mask(t).to_numpy().astype(int).tolist()
    [[1, 0, 1], [1, 0, 1], [0, 0, 0]]
    """
    if int(threshold) != threshold or threshold < 0:
        raise ValueError("threshold must be a whole number >= 0")
    counts = _counts(table)
    values = counts.to_numpy()
    primary = (values >= 1) & (values <= threshold)
    mask = primary.copy()
    lines = _lines(values.shape)
    while _line_pass(values, mask, lines) or _break_recovery(values, mask, lines):
        pass
    out = pd.DataFrame(mask, index=counts.index, columns=counts.columns)
    out.attrs["primary"] = primary
    return out


def suppress(
    table: pd.DataFrame | pd.Series,
    threshold: int = 5,
    *,
    symbol: str = SYMBOL,
    margins: bool = False,
    total_label: str = "Total",
) -> pd.DataFrame:
    """Suppress a table of counts for publication.

    Parameters
    ----------
    table : DataFrame or Series
        Whole-number counts >= 0 (the body of the table, without totals).
    threshold : int
        Counts from 1 to ``threshold`` are suppressed (default 5); zeros are shown.
    symbol : str
        What a suppressed cell shows (default ``"[c]"``).
    margins : bool
        Append a total column and a total row (from the unsuppressed counts) labelled
        ``total_label``. Totals are never suppressed.
    total_label : str

    Returns
    -------
    pandas.DataFrame
        Object dtype: Python ints, or ``symbol`` in suppressed cells. ``attrs`` holds
        ``note``, ``threshold``, ``suppression_symbol``, ``margins``, ``total_label``,
        ``primary`` and ``secondary`` (lists of ``(row, column)`` labels).

    Examples
    --------
    >>> t = pd.DataFrame({"girls": [3, 40, 25], "boys": [12, 30, 2]},
    ...                  index=["0-12", "13-15", "16-17"])
    >>> out = suppress(t, margins=True)
    >>> out
           girls boys Total
    0-12     [c]  [c]    15
    13-15     40   30    70
    16-17    [c]  [c]    27
    Total     68   44   112
    >>> out.attrs["note"].split(";")[0]
    'counts of 1 to 5 suppressed'
    >>> check_disclosure(out)
    """
    counts = _counts(table)
    mask = suppression_mask(counts, threshold)
    primary = mask.attrs["primary"]
    body = counts.astype(object).copy()
    values = counts.to_numpy()
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            body.iat[i, j] = symbol if mask.iat[i, j] else int(values[i, j])
    if margins:
        body[total_label] = [int(v) for v in values.sum(axis=1)]
        total_row = [int(v) for v in values.sum(axis=0)] + [int(values.sum())]
        body.loc[total_label] = pd.Series(total_row, index=body.columns, dtype=object)
        body = body.astype(object)
    labels = [
        (counts.index[i], counts.columns[j])
        for i, j in zip(*np.nonzero(mask.to_numpy()), strict=True)
    ]
    primary_labels = [
        (counts.index[i], counts.columns[j]) for i, j in zip(*np.nonzero(primary), strict=True)
    ]
    body.attrs.update(
        {
            "note": NOTE.format(threshold=threshold, symbol=symbol),
            "threshold": int(threshold),
            "suppression_symbol": symbol,
            "margins": bool(margins),
            "total_label": total_label,
            "primary": primary_labels,
            "secondary": [cell for cell in labels if cell not in set(primary_labels)],
        }
    )
    return body


def _is_symbol(value: object, symbol: str) -> bool:
    return isinstance(value, str) and value.strip() == symbol


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return None
        return number if np.isfinite(number) else None
    return None


def check_disclosure(
    table: pd.DataFrame | pd.Series,
    threshold: int | None = None,
    *,
    symbol: str | None = None,
    margins: bool | None = None,
    total_label: str | None = None,
    check_totals: bool = True,
) -> None:
    """Raise if a published table discloses a small count.

    The table is read as published: cells are counts or the suppression symbol. It fails if

    * a published cell is a count from 1 to ``threshold``;
    * a suppressed cell can be worked out exactly from the row, column and grand totals and the
      published cells (totals are assumed public unless the table shows them suppressed);
    * ``check_totals`` and a shown total is from 1 to ``threshold``;
    * a cell is neither a whole-number count nor the symbol.

    Parameters
    ----------
    table : DataFrame or Series
        As published, e.g. the output of :func:`suppress`.
    threshold : int, optional
        Default ``table.attrs["threshold"]`` or 5.
    symbol : str, optional
        Default ``table.attrs["suppression_symbol"]`` or ``"[c]"``.
    margins : bool, optional
        Whether the last row and column are totals; default ``table.attrs["margins"]`` or
        False.
    total_label : str, optional
        Unused unless ``margins``; default ``table.attrs["total_label"]`` or ``"Total"``.
    check_totals : bool
        Also reject totals from 1 to ``threshold`` (default True).

    Raises
    ------
    DisclosureError
        Naming every offending cell.

    Examples
    --------
    >>> check_disclosure(pd.DataFrame({"a": [3, 10], "b": [20, 30]}))
    Traceback (most recent call last):
    ...
    analysis.disclosure.DisclosureError: cell (0, 'a') shows 3, a count from 1 to 5
    >>> check_disclosure(pd.DataFrame({"a": ["[c]", 10], "b": [20, 30]}))
    Traceback (most recent call last):
    ...
    analysis.disclosure.DisclosureError: suppressed cell (0, 'a') can be recovered from the totals
    >>> check_disclosure(pd.DataFrame({"a": ["[c]", "[c]"], "b": ["[c]", "[c]"]}))
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    attrs = frame.attrs
    threshold = int(attrs.get("threshold", 5) if threshold is None else threshold)
    symbol = str(attrs.get("suppression_symbol", SYMBOL) if symbol is None else symbol)
    margins = bool(attrs.get("margins", False) if margins is None else margins)
    total_label = str(attrs.get("total_label", "Total") if total_label is None else total_label)
    problems: list[str] = []

    body = frame
    row_known: list[bool] | None = None
    col_known: list[bool] | None = None
    grand_known = True
    if margins:
        if frame.shape[0] < 2 or frame.shape[1] < 2:
            raise ValueError("a table with margins needs a total row and a total column")
        body = frame.iloc[:-1, :-1]
        totals = [*frame.iloc[:-1, -1].items(), *frame.iloc[-1, :].items()]
        row_known = [not _is_symbol(v, symbol) for v in frame.iloc[:-1, -1]]
        col_known = [not _is_symbol(v, symbol) for v in frame.iloc[-1, :-1]]
        grand_known = not _is_symbol(frame.iat[-1, -1], symbol)
        if check_totals:
            for label, v in totals:
                number = _as_number(v)
                if number is not None and 1 <= number <= threshold:
                    problems.append(f"total {label!r} shows {v}, a count from 1 to {threshold}")

    mask = np.zeros(body.shape, dtype=bool)
    for i in range(body.shape[0]):
        for j in range(body.shape[1]):
            value = body.iat[i, j]
            where = (body.index[i], body.columns[j])
            if _is_symbol(value, symbol):
                mask[i, j] = True
                continue
            number = _as_number(value)
            if number is None or number < 0 or not float(number).is_integer():
                problems.append(f"cell {where} is neither a count nor {symbol!r}: {value!r}")
            elif 1 <= number <= threshold:
                problems.append(f"cell {where} shows {value}, a count from 1 to {threshold}")
    recovered = derivable_cells(mask, row_known, col_known, grand_known)
    for i, j in zip(*np.nonzero(recovered), strict=True):
        where = (body.index[i], body.columns[j])
        problems.append(f"suppressed cell {where} can be recovered from the totals")
    if problems:
        raise DisclosureError("; ".join(problems))


def count_table(
    frame: pd.DataFrame,
    index: str,
    columns: str,
    values: str | None = None,
) -> pd.DataFrame:
    """Cross-tabulate records (count rows) or returns (sum ``values``) into a table of counts.

    Every category of a categorical column appears, zeros included.

    Parameters
    ----------
    frame : pandas.DataFrame
        Case records or collated returns.
    index, columns : str
        Columns giving the table's rows and columns.
    values : str, optional
        Count column to sum (e.g. ``"identified_at_risk"``); default: count rows.

    Returns
    -------
    pandas.DataFrame of int64

    Examples
    --------
    >>> df = pd.DataFrame({"area": ["A", "A", "B"], "sex": ["female", "male", "female"],
    ...                    "n": [4, 2, 7]})
    >>> count_table(df, "area", "sex", "n")
    sex   female  male
    area
    A          4     2
    B          7     0
    """
    weights: pd.Series | int
    if values is None:
        grouped = frame.groupby([index, columns], observed=False).size()
    else:
        weights = frame[values]
        grouped = weights.groupby([frame[index], frame[columns]], observed=False).sum()
    table = grouped.unstack(columns, fill_value=0).fillna(0).astype(np.int64)
    table.columns.name = columns
    table.index.name = index
    return table
