"""Disclosure control: hand-worked suppression patterns and property tests.

The property tests check recoverability independently of the module's null-space method: for
each suppressed cell a linear programme minimises and maximises it subject to every total
(scipy's ``linprog``); a cell is recoverable exactly when the two agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analysis.disclosure import (
    SYMBOL,
    DisclosureError,
    check_disclosure,
    count_table,
    derivable_cells,
    suppress,
    suppression_mask,
)


def frame(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))]).rename(
        columns=lambda j: f"c{j}"
    )


def suppressed(out: pd.DataFrame) -> list[list[int]]:
    return (out == SYMBOL).astype(int).to_numpy().tolist()


# --------------------------------------------------------------------------- hand-worked cases


def test_zeros_and_large_counts_are_shown() -> None:
    out = suppress(frame([[0, 10], [6, 0]]))
    assert suppressed(out) == [[0, 0], [0, 0]]
    assert out.iat[0, 0] == 0 and out.iat[0, 1] == 10


def test_threshold_is_inclusive() -> None:
    # 5 is suppressed at threshold 5, 6 is not; its row partner (smallest, 20) and column
    # partners follow.
    out = suppress(frame([[5, 20], [30, 40]]))
    assert suppressed(out) == [[1, 1], [1, 1]]
    assert suppressed(suppress(frame([[6, 20], [30, 40]]))) == [[0, 0], [0, 0]]
    assert suppressed(suppress(frame([[5, 20], [30, 40]]), threshold=4)) == [[0, 0], [0, 0]]


def test_secondary_picks_smallest_non_zero_in_row_and_column() -> None:
    # 2 is primary. Row r0: smallest other non-zero is 8 (c2), not the 0 in c1.
    # Column c0: smallest other is 9 (r2). Then row r2 holds one suppressed cell: its smallest
    # other non-zero is 11 (c2), which also pairs column c2. Rows r0/r2 and columns c0/c2
    # each hold two suppressed cells: a 2 x 2 rectangle, which nothing recovers.
    table = frame([[2, 0, 8, 50], [40, 60, 30, 70], [9, 25, 11, 20]])
    assert suppressed(suppress(table)) == [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0]]


def test_zero_used_as_complement_only_when_nothing_else() -> None:
    # Row r0 holds only a 3 and zeros: the complement must be a zero (first one).
    out = suppress(frame([[3, 0, 0], [10, 20, 30], [12, 14, 16]]))
    mask = suppressed(out)
    assert mask[0] == [1, 1, 0]
    check_disclosure(out)


def test_single_row_table_needs_two_suppressed_cells() -> None:
    out = suppress(pd.Series([3, 40, 12], index=["a", "b", "c"], name="n").to_frame().T)
    assert suppressed(out) == [[1, 0, 1]]


def test_single_column_table() -> None:
    out = suppress(pd.Series([3, 40, 12, 0], index=list("abcd"), name="children"))
    assert suppressed(out) == [[1], [0], [1], [0]]


def test_one_cell_table_cannot_be_protected() -> None:
    with pytest.raises(DisclosureError):
        suppress(frame([[3]]))


def test_margins_and_note() -> None:
    out = suppress(frame([[3, 10], [20, 30]]), margins=True, symbol="c")
    assert out.loc["Total"].tolist() == [23, 40, 63]
    assert out["Total"].tolist() == [13, 50, 63]
    assert out.attrs["note"].startswith(
        "counts of 1 to 5 suppressed; further cells suppressed to prevent recovery from totals"
    )
    assert out.attrs["primary"] == [("r0", "c0")]
    assert sorted(out.attrs["secondary"]) == [("r0", "c1"), ("r1", "c0"), ("r1", "c1")]
    check_disclosure(out)  # symbol, threshold and margins come from attrs


@pytest.mark.parametrize("bad", [[[-1, 2]], [[1.5, 2]], [[np.nan, 2]]])
def test_counts_must_be_whole_and_non_negative(bad) -> None:
    with pytest.raises(ValueError):
        suppress(pd.DataFrame(bad))


def test_check_rejects_small_published_count() -> None:
    with pytest.raises(DisclosureError, match="shows 4"):
        check_disclosure(frame([[4, 10], [20, 30]]))


def test_check_rejects_single_suppressed_in_a_line() -> None:
    table = frame([[10, 20], [30, 40]]).astype(object)
    table.iat[0, 0] = SYMBOL
    table.iat[1, 1] = SYMBOL  # one per row and column: both recoverable
    with pytest.raises(DisclosureError, match="recovered"):
        check_disclosure(table)


def test_check_rejects_small_totals_unless_asked_not_to() -> None:
    out = suppress(frame([[3, 0], [0, 0], [40, 50]]), margins=True)
    with pytest.raises(DisclosureError, match="total"):
        check_disclosure(out)
    check_disclosure(out, check_totals=False)


def test_bridge_between_two_blocks_is_recoverable() -> None:
    """Every row and column holds two or more suppressed cells, yet the linking cell is exact.

    Rows r0, r1 x columns c0, c1 form one block and rows r2, r3 x columns c2, c3 another; cell
    (r0, c2) links them. Summing rows r0 and r1 and subtracting columns c0 and c1 leaves
    exactly the linking cell.
    """
    mask = np.zeros((4, 4), dtype=bool)
    mask[:2, :2] = True
    mask[2:, 2:] = True
    mask[0, 2] = True
    expected = np.zeros((4, 4), dtype=bool)
    expected[0, 2] = True
    assert (derivable_cells(mask) == expected).all()
    assert linprog_recoverable(np.arange(16).reshape(4, 4) + 10, mask).tolist() == expected.tolist()


def test_suppress_breaks_a_bridge() -> None:
    # Primaries at (0,0),(0,1),(1,0),(1,1),(2,2),(2,3),(3,2),(3,3),(0,2): a bridge pattern.
    table = frame(
        [
            [1, 2, 3, 60, 70],
            [2, 1, 80, 90, 95],
            [50, 55, 4, 5, 99],
            [65, 75, 5, 4, 85],
            [30, 35, 40, 45, 52],
        ]
    )
    out = suppress(table)
    check_disclosure(out)
    assert suppressed(out)[0][:3] == [1, 1, 1]


def test_count_table_from_records_and_returns() -> None:
    records = pd.DataFrame(
        {
            "area": pd.Categorical(["A", "A", "B"], categories=["A", "B", "C"]),
            "sex": pd.Categorical(["female", "male", "female"], categories=["female", "male"]),
        }
    )
    table = count_table(records, "area", "sex")
    assert table.to_numpy().tolist() == [[1, 1], [1, 0], [0, 0]]
    returns = pd.DataFrame({"a": ["X", "X", "Y"], "s": ["f", "m", "f"], "n": [7, 0, 2]})
    assert count_table(returns, "a", "s", "n").to_numpy().tolist() == [[7, 0], [2, 0]]


# --------------------------------------------------------------------------- property tests


def linprog_recoverable(values: np.ndarray, mask: np.ndarray, nonneg: bool = False) -> np.ndarray:
    """Suppressed cells whose value is fixed by all row, column and grand totals (via LP)."""
    n_rows, n_cols = values.shape
    cells = list(zip(*np.nonzero(mask), strict=True))
    out = np.zeros(mask.shape, dtype=bool)
    if not cells:
        return out
    lines = []
    if n_cols >= 2:
        lines += [np.s_[i, :] for i in range(n_rows)]
    if n_rows >= 2:
        lines += [np.s_[:, j] for j in range(n_cols)]
    a_eq, b_eq = [], []
    for line in lines + [np.s_[:, :]]:
        sel = np.zeros(mask.shape, dtype=bool)
        sel[line] = True
        a_eq.append([1.0 if sel[c] else 0.0 for c in cells])
        b_eq.append(float(values[sel & mask].sum()))
    bounds = (0, None) if nonneg else (None, None)
    for k, cell in enumerate(cells):
        c = np.zeros(len(cells))
        c[k] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if lo.status == 0 and hi.status == 0 and abs(lo.fun + hi.fun) < 1e-7:
            out[cell] = True
    return out


small_or_large = st.one_of(st.integers(0, 6), st.integers(0, 400))
tables = st.integers(1, 5).flatmap(
    lambda r: st.integers(1 if r > 1 else 2, 5).flatmap(
        lambda c: st.lists(st.lists(small_or_large, min_size=c, max_size=c), min_size=r, max_size=r)
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.integers(1, 10))
def test_property_no_small_cell_shown_and_none_recoverable(rows, threshold) -> None:
    table = frame(rows)
    try:
        out = suppress(table, threshold=threshold)
    except DisclosureError:
        # only when the whole table is a single line whose total equals one small cell
        values = np.array(rows)
        assert ((values >= 1) & (values <= threshold)).sum() == 1 and (values > 0).sum() == 1
        return
    values = table.to_numpy()
    mask = (out == SYMBOL).to_numpy()
    shown = values[~mask]
    assert not ((shown >= 1) & (shown <= threshold)).any()
    assert mask[(values >= 1) & (values <= threshold)].all()
    assert not linprog_recoverable(values, mask).any()
    check_disclosure(out)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_property_primary_cells_not_pinned_when_totals_are_safe(rows) -> None:
    """With every total 0 or above the threshold, even non-negativity pins no primary cell."""
    values = np.array(rows)
    totals = [*values.sum(axis=0), *values.sum(axis=1), values.sum()]
    if any(1 <= t <= 5 for t in totals):
        return
    try:
        mask = suppression_mask(frame(rows)).to_numpy()
    except DisclosureError:
        return
    primary = (values >= 1) & (values <= 5)
    assert not (linprog_recoverable(values, mask, nonneg=True) & primary).any()


@settings(max_examples=60, deadline=None)
@given(tables)
def test_property_margins_are_the_true_totals(rows) -> None:
    values = np.array(rows)
    try:
        out = suppress(frame(rows), margins=True)
    except DisclosureError:
        return
    assert out["Total"].iloc[:-1].tolist() == values.sum(axis=1).tolist()
    assert out.loc["Total"].iloc[:-1].tolist() == values.sum(axis=0).tolist()
    assert out.iat[-1, -1] == values.sum()
    check_disclosure(out, check_totals=False)


def test_publication_scale_table_is_fast_and_safe() -> None:
    rng = np.random.default_rng(1)
    values = rng.negative_binomial(2, 0.15, size=(152, 5))
    out = suppress(pd.DataFrame(values))
    check_disclosure(out)


masks = st.integers(1, 5).flatmap(
    lambda r: st.integers(1, 5).flatmap(
        lambda c: st.lists(st.lists(st.booleans(), min_size=c, max_size=c), min_size=r, max_size=r)
    )
)


@settings(max_examples=150, deadline=None)
@given(masks)
def test_property_derivable_cells_agrees_with_linear_programming(rows) -> None:
    mask = np.array(rows, dtype=bool)
    values = np.arange(mask.size).reshape(mask.shape) + 7
    assert (derivable_cells(mask) == linprog_recoverable(values, mask)).all()
