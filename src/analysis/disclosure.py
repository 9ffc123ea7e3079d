"""Disclosure control for tables that leave the project: small-count and complementary suppression.

Every table of counts published from case records or returns goes through :func:`suppress` and
is then checked with :func:`check_disclosure`.

What a reader is assumed to know
--------------------------------
A two-way table (one variable on the rows, one on the columns) is published with its row
totals, column totals and grand total, beside the table (``margins=True``) or, in the worst
case, elsewhere. Row totals exist when the table has two or more columns, column totals when it
has two or more rows, and a separate grand total when it has both (in a one-row table the row
total *is* the grand total, so no total row is printed). A reader knows every published cell
and total, that the totals add up, and that counts are never negative.

The protection rule
-------------------
For each suppressed cell or withheld total, the values consistent with everything published
form its *feasibility interval* ``[lo, hi]`` (Hundepool et al. 2012), found by linear
programming with non-negativity. A suppressed cell is protected when

1. ``hi > threshold``: nobody can show that the cell, or any group of suppressed cells holding
   it, is a count of ``threshold`` or fewer (an interval such as ``[0, 3]`` would still say
   "at most 3 children", so containing 0 is not enough: that is how a zero used as the only
   protection gives a small count away); and
2. ``lo < hi``: it cannot be worked out exactly.

Cells above the threshold that are suppressed to protect others meet rule 1 by their own value,
so for them the rule is simply "not recoverable". For a two-way table the constraint matrix is
totally unimodular, so the interval's ends are whole numbers and the same whether a reader
treats counts as real or as whole numbers.

Rules applied by :func:`suppress`
---------------------------------
* **Primary suppression**: counts from 1 to ``threshold`` (default 5) are suppressed, and so
  are totals from 1 to ``threshold``: a total in that range is never published (the table
  shows ``[c]`` in its place, or ``attrs["withheld_totals"]`` lists it when no margins are
  shown, and it must not be published elsewhere). Zeros are shown, as in UK official
  statistics practice.
* **Secondary (complementary) suppression**: while a suppressed cell breaks the protection
  rule, the cheapest further cells that give it room are suppressed: the cheapest path of
  cells that lets the cell rise above the threshold (or move at all) while every line still
  adds up, found on the network of the table's rows and columns (Cox 1995). Body cells are
  preferred to totals, non-zero cells to zeros, small values to large ones, and ties go to
  the first position, so the result is deterministic. A zero can only ever protect upwards,
  so a zero alone never counts as protection.
* Suppressed cells are shown as ``"[c]"`` (the Government Statistical Service symbol for
  confidential).

:func:`check_disclosure` reads a table as published and applies the rule with scipy's HiGHS
linear-programming solver, independently of the search :func:`suppress` uses.

Tables with sub-totals in more than one direction (three-way tables, given as a
``MultiIndex`` on rows or columns) are outside this model and are refused with a message: their
constraint matrix is not totally unimodular, so the linear programme can call a cell protected
that whole-number reasoning pins down.

References
----------
.. [1] Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E.,
   Spicer, K. and de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley.
   doi:10.1002/9781118348239 (feasibility intervals and protection levels in cell
   suppression).
.. [2] Cox, L. H. (1995). Network models for complementary cell suppression. *Journal of the
   American Statistical Association* 90(432), 1453-1462.

Importing this module has no side effects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra

__all__ = [
    "NOTE",
    "SYMBOL",
    "THREE_WAY",
    "DisclosureError",
    "check_disclosure",
    "count_table",
    "derivable_cells",
    "suppress",
    "suppression_mask",
]

#: Symbol marking a suppressed cell (GSS guidance: ``[c]`` for confidential).
SYMBOL = "[c]"
#: Note attached to a suppressed table; ``{threshold}`` and ``{symbol}`` are filled in.
NOTE = (
    "counts of 1 to {threshold} suppressed; further cells suppressed to prevent recovery "
    "from totals; {symbol} marks a suppressed cell; zeros are shown; totals of 1 to "
    "{threshold}, and any total needed to protect a cell, are withheld"
)
#: Why a table with sub-totals in more than one direction is refused.
THREE_WAY = (
    "three-way tables (a MultiIndex on the rows or columns, so sub-totals are published in "
    "more than one direction) are outside this module's model: its protection check is exact "
    "only for two-way tables. Publish two-way tables whose totals do not overlap, or combine "
    "categories"
)
_TOL = 1e-6


class DisclosureError(ValueError):
    """A table would disclose: a small count is shown or a suppressed cell is not protected."""


# --------------------------------------------------------------------------- the table model


@dataclass(frozen=True)
class _Layout:
    """Which totals a two-way table has, and how its cells and totals are numbered.

    Flat positions: body cell ``(i, j)`` is ``i * n_cols + j``; then the row totals, the
    column totals and the grand total. Positions of totals the table does not have exist but
    take part in nothing.
    """

    n_rows: int
    n_cols: int
    row_totals: bool
    col_totals: bool
    grand: bool

    @classmethod
    def standard(cls, n_rows: int, n_cols: int) -> _Layout:
        return cls(n_rows, n_cols, n_cols >= 2, n_rows >= 2, n_rows >= 2 and n_cols >= 2)

    @property
    def n_body(self) -> int:
        return self.n_rows * self.n_cols

    @property
    def size(self) -> int:
        return self.n_body + self.n_rows + self.n_cols + 1

    def body(self, i: int, j: int) -> int:
        return i * self.n_cols + j

    def row_total(self, i: int) -> int:
        return self.n_body + i

    def col_total(self, j: int) -> int:
        return self.n_body + self.n_rows + j

    @property
    def grand_total(self) -> int:
        return self.size - 1

    def exists(self) -> np.ndarray:
        out = np.zeros(self.size, dtype=bool)
        out[: self.n_body] = True
        out[self.n_body : self.n_body + self.n_rows] = self.row_totals
        out[self.n_body + self.n_rows : -1] = self.col_totals
        out[-1] = self.grand
        return out

    def extend(self, body: np.ndarray) -> np.ndarray:
        """Body values with their totals appended (flat, int64)."""
        out = np.zeros(self.size, dtype=np.int64)
        out[: self.n_body] = body.ravel()
        out[self.n_body : self.n_body + self.n_rows] = body.sum(axis=1)
        out[self.n_body + self.n_rows : -1] = body.sum(axis=0)
        out[-1] = body.sum()
        return out

    def equations(self) -> list[list[tuple[int, float]]]:
        """Each total as an equation ``sum(members) - total = 0`` over flat positions.

        The grand total is tied to the row totals (or the column totals, or the body), so every
        position takes part in at most one "row-side" and one "column-side" equation: the
        matrix is the incidence matrix of a bipartite graph, hence totally unimodular.
        """
        eqs: list[list[tuple[int, float]]] = []
        r, c = self.n_rows, self.n_cols
        if self.row_totals:
            for i in range(r):
                eqs.append([(self.body(i, j), 1.0) for j in range(c)] + [(self.row_total(i), -1.0)])
        if self.col_totals:
            for j in range(c):
                eqs.append([(self.body(i, j), 1.0) for i in range(r)] + [(self.col_total(j), -1.0)])
        if self.grand:
            if self.row_totals:
                members = [self.row_total(i) for i in range(r)]
            elif self.col_totals:
                members = [self.col_total(j) for j in range(c)]
            else:
                members = list(range(self.n_body))
            eqs.append([(k, 1.0) for k in members] + [(self.grand_total, -1.0)])
        return eqs

    def describe(self, k: int, index: Sequence[Hashable], columns: Sequence[Hashable]) -> str:
        if k < self.n_body:
            return f"cell {(index[k // self.n_cols], columns[k % self.n_cols])}"
        if k < self.n_body + self.n_rows:
            return f"row total {index[k - self.n_body]!r}"
        if k < self.size - 1:
            return f"column total {columns[k - self.n_body - self.n_rows]!r}"
        return "grand total"

    def withheld_label(
        self, k: int, index: Sequence[Hashable], columns: Sequence[Hashable]
    ) -> tuple[str, Hashable]:
        if k < self.n_body + self.n_rows:
            return ("row", index[k - self.n_body])
        if k < self.size - 1:
            return ("column", columns[k - self.n_body - self.n_rows])
        return ("grand", None)

    # ------------------------------------------------------------------ network form

    def edges(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Each position as an edge of the table's network (standard layouts only).

        Returns ``(up_from, up_to, n_nodes)``: raising the value at position ``k`` by ``d``
        pushes ``d`` along the edge ``up_from[k] -> up_to[k]``, which every line keeps in
        balance only if ``d`` comes back from ``up_to[k]`` to ``up_from[k]`` through other
        suppressed positions. Row nodes are ``0 .. n_rows`` (the last one for the column
        totals), column nodes follow (the last one for the row totals). A one-row or
        one-column table has just two nodes, its line and the "free" side; a 1 x 1 table has
        no totals at all (see :func:`_rooms`).
        """
        r, c = self.n_rows, self.n_cols
        tail = np.zeros(self.size, dtype=np.int64)  # row-side node
        head = np.zeros(self.size, dtype=np.int64)  # column-side node
        sign = np.ones(self.size, dtype=np.int64)  # +1: value, -1: minus the value
        if r >= 2 and c >= 2:
            n_nodes = r + c + 2
            t_row, t_col = r, r + 1 + c
            for i in range(r):
                for j in range(c):
                    tail[self.body(i, j)], head[self.body(i, j)] = i, r + 1 + j
                tail[self.row_total(i)], head[self.row_total(i)] = i, t_col
                sign[self.row_total(i)] = -1
            for j in range(c):
                tail[self.col_total(j)], head[self.col_total(j)] = t_row, r + 1 + j
                sign[self.col_total(j)] = -1
            tail[self.grand_total], head[self.grand_total] = t_row, t_col
        else:
            n_nodes = 2
            head[:] = 1
            sign[self.n_body : -1] = -1
        up_from = np.where(sign > 0, tail, head)
        up_to = np.where(sign > 0, head, tail)
        return up_from, up_to, n_nodes


def _check_two_way(frame: pd.DataFrame) -> None:
    if isinstance(frame.index, pd.MultiIndex) or isinstance(frame.columns, pd.MultiIndex):
        raise DisclosureError(THREE_WAY)


def _counts(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Validate a two-way table of counts and return it as an int64 DataFrame."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    _check_two_way(frame)
    if frame.empty:
        raise ValueError("table is empty")
    if all(pd.api.types.is_integer_dtype(t) for t in frame.dtypes):
        values = frame.to_numpy(dtype=np.int64)
        if np.any(values < 0):
            raise ValueError("table must hold whole-number counts >= 0")
        return pd.DataFrame(values, index=frame.index, columns=frame.columns)
    try:
        floats = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("table must hold numbers only") from None
    if not np.all(np.isfinite(floats)):
        raise ValueError("table holds missing or infinite values")
    if np.any(floats < 0) or np.any(floats != np.round(floats)) or np.any(floats > 2.0**53):
        raise ValueError("table must hold whole-number counts >= 0 (below 2**53)")
    return pd.DataFrame(floats.astype(np.int64), index=frame.index, columns=frame.columns)


# --------------------------------------------------------------------------- the search


class _Network:
    """Room for each suppressed position to move, by maximum flow on the table's network.

    Capacities are capped at ``cap`` (threshold + 2): the protection rule only asks whether a
    position can rise by up to ``threshold + 1`` or move by 1, and capping every capacity at
    ``cap`` keeps any maximum flow of at least ``cap`` at least ``cap`` (scale the flow down),
    so no decision changes and the integers stay small.
    """

    def __init__(self, layout: _Layout, values: np.ndarray, threshold: int) -> None:
        self.layout = layout
        self.values = values
        self.threshold = threshold
        self.cap = threshold + 2
        self.up_from, self.up_to, self.n_nodes = layout.edges()
        self.free = layout.n_rows == 1 and layout.n_cols == 1  # no totals: nothing binds
        n = self.n_nodes
        self.up_count = np.zeros((n, n), dtype=np.int64)  # suppressed edges raisable this way
        self.down = np.zeros((n, n), dtype=np.int64)  # summed room to fall, the other way

    def add(self, k: int, sign: int = 1) -> None:
        u, w = self.up_from[k], self.up_to[k]
        self.up_count[u, w] += sign
        self.down[w, u] += sign * min(int(self.values[k]), self.cap)

    def capacity(self) -> np.ndarray:
        return np.where(self.up_count > 0, self.cap, np.minimum(self.down, self.cap))

    def protected(self, k: int) -> tuple[bool, int, np.ndarray]:
        """Whether position ``k`` meets the rule; else how far it must still rise, and residuals.

        The room to rise is the maximum flow from ``up_to[k]`` back to ``up_from[k]`` through
        the other suppressed positions (the room to fall, the flow the other way, capped by
        the value); only as much flow is pushed as the decision needs.
        """
        value = int(self.values[k])
        want = max(self.threshold + 1 - value, 1)
        n = self.n_nodes
        if self.free:
            return True, 0, np.zeros((n, n), dtype=np.int64)
        self.add(k, -1)
        try:
            cap = self.capacity()
        finally:
            self.add(k, 1)
        u, w = int(self.up_from[k]), int(self.up_to[k])
        residual = cap.copy()
        rise = _push(residual, w, u, want)
        if rise >= want:
            return True, 0, residual
        if value > self.threshold and _push(cap.copy(), u, w, 1) >= 1:
            return True, 0, residual
        return False, want - rise, residual


def _push(residual: np.ndarray, source: int, sink: int, limit: int) -> int:
    """Push up to ``limit`` units from ``source`` to ``sink`` along shortest augmenting paths.

    Edmonds-Karp on a dense residual-capacity matrix, updated in place; returns the flow
    pushed (the maximum flow when it is below ``limit``).
    """
    flow = 0
    n = residual.shape[0]
    while flow < limit:
        pred = np.full(n, -1, dtype=np.int64)
        pred[source] = source
        frontier = np.array([source])
        while frontier.size and pred[sink] < 0:
            reach = residual[frontier] > 0
            reach[:, pred >= 0] = False
            hit = np.flatnonzero(reach.any(axis=0))
            pred[hit] = frontier[reach[:, hit].argmax(axis=0)]
            frontier = hit
        if pred[sink] < 0:
            return flow
        path = []
        node = sink
        while node != source:
            path.append((int(pred[node]), node))
            node = int(pred[node])
        step = min(limit - flow, *(int(residual[p, q]) for p, q in path))
        for p, q in path:
            residual[p, q] -= step
            residual[q, p] += step
        flow += step
    return flow


def _costs(layout: _Layout, values: np.ndarray) -> np.ndarray:
    """Cost of suppressing each position: non-zero body cells by value, then zeros, then totals."""
    body_max = int(values[: layout.n_body].max()) if layout.n_body else 0
    zero_cost = body_max + 1
    cost = np.where(values > 0, values, zero_cost).astype(float)
    total_base = float(zero_cost) * (layout.n_body + 1)
    cost[layout.n_body :] += total_base
    return cost


def _augment(
    net: _Network,
    k: int,
    mask: np.ndarray,
    exists: np.ndarray,
    cost: np.ndarray,
    need: int,
    residual: np.ndarray,
) -> list[int]:
    """Cheapest published positions whose suppression opens a path raising position ``k``.

    Dijkstra over the network: existing suppressed edges with residual room cost (almost)
    nothing; a published position costs its :func:`_costs` and can carry flow in its raising
    direction freely and in the other direction up to its value. Returns [] if no path exists.
    """
    n = net.n_nodes
    weight = np.full((n, n), np.inf)
    which = np.full((n, n), -1, dtype=np.int64)
    candidates = np.flatnonzero(exists & ~mask)
    # cheapest last, so it wins the assignment for each pair of nodes
    candidates = candidates[np.lexsort((-candidates, -cost[candidates]))]
    up_ok = candidates
    down_ok = candidates[np.minimum(net.values[candidates], net.cap) >= need]
    weight[net.up_from[up_ok], net.up_to[up_ok]] = cost[up_ok]
    which[net.up_from[up_ok], net.up_to[up_ok]] = up_ok
    # a published cell's downward room competes with the upward room of another
    for c in down_ok[::-1]:
        p, q = net.up_to[c], net.up_from[c]
        if cost[c] < weight[p, q]:
            weight[p, q], which[p, q] = cost[c], c
    open_ = residual >= need
    weight[open_] = 1e-9
    which[open_] = -1
    np.fill_diagonal(weight, np.inf)
    source, target = int(net.up_to[k]), int(net.up_from[k])
    dense = np.where(np.isfinite(weight), weight, 0.0)
    _, pred = dijkstra(sparse.csr_array(dense), indices=source, return_predecessors=True)
    if pred[target] < 0:
        return []
    path: list[int] = []
    node = target
    while node != source:
        prev = int(pred[node])
        if which[prev, node] >= 0:
            path.append(int(which[prev, node]))
        node = prev
    return sorted(set(path))


def _suppress_positions(layout: _Layout, values: np.ndarray, threshold: int) -> np.ndarray:
    """Flat mask of suppressed positions (body and totals) meeting the protection rule."""
    exists = layout.exists()
    mask = exists & (values >= 1) & (values <= threshold)
    net = _Network(layout, values, threshold)
    for k in np.flatnonzero(mask):
        net.add(int(k))
    cost = _costs(layout, values)
    queue = deque(int(k) for k in np.flatnonzero(mask))
    while queue:
        k = queue.popleft()
        while True:
            ok, need, residual = net.protected(k)
            if ok:
                break
            new = _augment(net, k, mask, exists, cost, need, residual)
            if not new and need > 1:
                new = _augment(net, k, mask, exists, cost, 1, residual)
            if not new:
                raise DisclosureError(
                    "table cannot be protected by suppression: combine categories"
                )  # pragma: no cover - every total can be withheld, so a path always exists
            for c in new:
                mask[c] = True
                net.add(c)
                queue.append(c)
    return mask


# --------------------------------------------------------------------------- the LP check


def _lp_problem(
    layout: _Layout, known: np.ndarray, unknown: np.ndarray, threshold: int
) -> tuple[np.ndarray, sparse.csr_array, np.ndarray, float]:
    """Equations over the unknown positions: ``A x = b``, ``0 <= x <= big``.

    Returns the unknown positions, ``A``, ``b`` and ``big``: the sum of the published values
    plus ``threshold + 2``. No bounded position of a two-way table exceeds that sum (a vertex
    is a signed sum of published values), so a position reaching ``big`` is unbounded, and any
    value up to ``big`` is a genuine feasible value above the threshold.
    """
    idx = np.flatnonzero(unknown)
    pos = {int(k): p for p, k in enumerate(idx)}
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    for eq in layout.equations():
        members = [(pos[k], coef) for k, coef in eq if unknown[k]]
        rest = -sum(coef * known[k] for k, coef in eq if not unknown[k])
        if not members:
            if abs(rest) > _TOL:
                raise ValueError("the published cells and totals do not add up")
            continue
        for p, coef in members:
            rows.append(len(rhs))
            cols.append(p)
            data.append(coef)
        rhs.append(rest)
    a_eq = sparse.csr_array((data, (rows, cols)), shape=(len(rhs), idx.size))
    big = float(np.abs(known[~unknown]).sum()) + threshold + 2.0
    return idx, a_eq, np.asarray(rhs, dtype=float), big


def _solve_blocks(
    a_eq: sparse.csr_array, rhs: np.ndarray, big: float, objectives: np.ndarray
) -> np.ndarray:
    """Minimise each row of ``objectives`` over the polytope; one solution per row.

    The programmes are solved together by HiGHS as one block-diagonal programme: the blocks
    share no variable, so the joint optimum is each block's own optimum.
    """
    blocks, n = objectives.shape
    m = a_eq.shape[0]
    if m:
        coo = a_eq.tocoo()
        shift = np.repeat(np.arange(blocks), coo.nnz)
        a_big = sparse.csr_array(
            (
                np.tile(coo.data, blocks),
                (np.tile(coo.row, blocks) + shift * m, np.tile(coo.col, blocks) + shift * n),
            ),
            shape=(blocks * m, blocks * n),
        )
        b_big = np.tile(rhs, blocks)
    else:
        a_big, b_big = None, None
    res = linprog(objectives.ravel(), A_eq=a_big, b_eq=b_big, bounds=(0.0, big), method="highs")
    if res.status == 2:
        raise ValueError("the published cells and totals do not add up")
    if res.status != 0:  # pragma: no cover - HiGHS failing on a bounded feasible programme
        raise RuntimeError(f"linear programming failed: {res.message}")
    x = res.x.reshape(blocks, n)
    return np.where(np.abs(x - np.round(x)) < _TOL, np.round(x), x)


def _unprotected(
    layout: _Layout, known: np.ndarray, unknown: np.ndarray, threshold: int
) -> list[tuple[int, str]]:
    """Unknown positions breaking the protection rule, by linear programming (scipy's HiGHS).

    Returns ``(position, "exact" | "small")`` pairs in position order. A position is cleared
    as soon as two feasible tables give it different values, one above the threshold (its
    interval contains both); any other is decided by minimising and maximising it. Feasible
    tables come from a few programmes with fixed pseudo-random objectives and from every
    programme solved on the way: this only saves work, the verdicts are exact.
    """
    exists = layout.exists()
    unknown = np.asarray(unknown, dtype=bool) & exists
    known = np.where(unknown | ~exists, 0.0, np.asarray(known, dtype=float))
    idx, a_eq, rhs, big = _lp_problem(layout, known, unknown, threshold)
    n = idx.size
    if n == 0:
        return []
    verdicts: dict[int, str] = {}
    if 2 * n * n <= 20_000:  # small: every programme at once
        per_lp = 2 * n
        low, high = np.full(n, np.inf), np.full(n, -np.inf)
        pending = list(range(n))
    else:
        per_lp = int(np.clip(20_000 // n, 2, 20))
        rng = np.random.default_rng(0)
        seen = _solve_blocks(a_eq, rhs, big, rng.standard_normal((min(per_lp, 8), n)))
        low, high = seen.min(axis=0), seen.max(axis=0)
        pending = [
            p for p in range(n) if not (high[p] > threshold + 0.5 and high[p] - low[p] > 0.5)
        ]
    while pending:
        chunk = pending[: max(per_lp // 2, 1)]
        objectives = np.zeros((2 * len(chunk), n))
        for b, p in enumerate(chunk):
            objectives[2 * b, p] = -1.0  # maximise
            objectives[2 * b + 1, p] = 1.0  # minimise
        x = _solve_blocks(a_eq, rhs, big, objectives)
        low, high = np.minimum(low, x.min(axis=0)), np.maximum(high, x.max(axis=0))
        for b, p in enumerate(chunk):
            hi_p, lo_p = x[2 * b, p], x[2 * b + 1, p]
            if hi_p - lo_p < 0.5:
                verdicts[int(idx[p])] = "exact"
            elif hi_p < threshold + 0.5:
                verdicts[int(idx[p])] = "small"
        done = set(chunk)
        pending = [
            p
            for p in pending[len(chunk) :]
            if p not in done and not (high[p] > threshold + 0.5 and high[p] - low[p] > 0.5)
        ]
    return sorted(verdicts.items())


# --------------------------------------------------------------------------- exact recovery


def _lines(
    shape: tuple[int, int],
    row_known: Sequence[bool] | None = None,
    col_known: Sequence[bool] | None = None,
    grand_known: bool = True,
) -> list[np.ndarray]:
    """Boolean cell masks of each known total (rows with >= 2 columns, columns with >= 2 rows)."""
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


def derivable_cells(
    mask: pd.DataFrame | np.ndarray,
    row_known: Sequence[bool] | None = None,
    col_known: Sequence[bool] | None = None,
    grand_known: bool = True,
) -> np.ndarray:
    """Which suppressed cells the totals' equations alone determine (ignoring non-negativity).

    A weaker test than :func:`check_disclosure`, which also uses non-negativity and the
    threshold: exact linear algebra (a cell is determined when its unit vector lies in the
    row space of the constraints over the suppressed cells).

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
        True for suppressed cells that are determined.

    Examples
    --------
    >>> derivable_cells(np.array([[True, False], [False, False]])).tolist()
    [[True, False], [False, False]]
    >>> derivable_cells(np.array([[True, True], [True, True]])).any()
    np.False_
    """
    m = np.asarray(mask, dtype=bool)
    lines = _lines(m.shape, row_known, col_known, grand_known)
    out = np.zeros(m.shape, dtype=bool)
    cells = np.flatnonzero(m.ravel())
    if cells.size == 0 or not lines:
        return out
    matrix = np.array([line.ravel()[cells] for line in lines], dtype=float)
    _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int(np.sum(sing > 1e-10 * max(matrix.shape) * (sing[0] if sing.size else 0.0)))
    leverage = np.sum(vt[:rank] ** 2, axis=0)
    out.ravel()[cells[leverage > 1 - 1e-8]] = True
    return out


# --------------------------------------------------------------------------- public API


def _plan(counts: pd.DataFrame, threshold: int) -> tuple[_Layout, np.ndarray, np.ndarray]:
    if int(threshold) != threshold or threshold < 0:
        raise ValueError("threshold must be a whole number >= 0")
    values = counts.to_numpy()
    layout = _Layout.standard(*values.shape)
    extended = layout.extend(values)
    return layout, extended, _suppress_positions(layout, extended, int(threshold))


def _withheld_totals(
    layout: _Layout, mask: np.ndarray, counts: pd.DataFrame
) -> list[tuple[str, Hashable]]:
    """The totals ``mask`` withholds, labelled as in ``attrs["withheld_totals"]``."""
    withheld = np.flatnonzero(mask[layout.n_body :]) + layout.n_body
    return [layout.withheld_label(int(k), counts.index, counts.columns) for k in withheld]


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
        Same labels as ``table``. ``attrs["primary"]`` holds the primary mask as an array;
        ``attrs["withheld_totals"]`` lists the totals that must not be published, as
        ``("row", label)``, ``("column", label)`` or ``("grand", None)``.

    Raises
    ------
    DisclosureError
        For a three-way table (see :data:`THREE_WAY`).

    Examples
    --------
    >>> t = pd.DataFrame({"a": [3, 10], "b": [20, 30]}, index=["x", "y"])
    >>> suppression_mask(t).to_numpy().tolist()
    [[True, True], [True, True]]
    >>> t = pd.DataFrame({"a": [3, 10, 12], "b": [20, 30, 14], "c": [7, 9, 40]})
    >>> suppression_mask(t).to_numpy().astype(int).tolist()
    [[1, 0, 1], [1, 0, 1], [0, 0, 0]]
    """
    counts = _counts(table)
    layout, extended, mask = _plan(counts, threshold)
    values = counts.to_numpy()
    out = pd.DataFrame(
        mask[: layout.n_body].reshape(values.shape), index=counts.index, columns=counts.columns
    )
    out.attrs["primary"] = (values >= 1) & (values <= threshold)
    out.attrs["withheld_totals"] = _withheld_totals(layout, mask, counts)
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
        Whole-number counts >= 0 (the body of a two-way table, without totals).
    threshold : int
        Counts from 1 to ``threshold`` are suppressed (default 5); zeros are shown.
    symbol : str
        What a suppressed cell or withheld total shows (default ``"[c]"``).
    margins : bool
        Append the totals, labelled ``total_label``: a total column when the table has two or
        more columns, a total row when it has two or more rows (a one-row table's total row
        would repeat its cells). Withheld totals show ``symbol``.
    total_label : str

    Returns
    -------
    pandas.DataFrame
        Object dtype: Python ints, or ``symbol`` in suppressed cells. ``attrs`` holds
        ``note``, ``threshold``, ``suppression_symbol``, ``margins``, ``total_label``,
        ``primary`` and ``secondary`` (lists of ``(row, column)`` labels) and
        ``withheld_totals`` (as in :func:`suppression_mask`).

    Raises
    ------
    DisclosureError
        As :func:`suppression_mask` does.

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
    >>> suppress(pd.DataFrame({"a": [3], "b": [0]}), margins=True)
       a  b Total
    0  [c]  0   [c]
    """
    counts = _counts(table)
    layout, extended, mask = _plan(counts, threshold)
    values = counts.to_numpy()
    n_rows, n_cols = values.shape
    shown = np.where(mask, None, extended).tolist()

    def show(k: int) -> object:
        return symbol if shown[k] is None else int(shown[k])

    grid = [[show(layout.body(i, j)) for j in range(n_cols)] for i in range(n_rows)]
    index, columns = list(counts.index), list(counts.columns)
    if margins and layout.row_totals:
        for i in range(n_rows):
            grid[i].append(show(layout.row_total(i)))
        columns.append(total_label)
    if margins and layout.col_totals:
        grid.append([show(layout.col_total(j)) for j in range(n_cols)])
        if layout.row_totals:
            grid[-1].append(show(layout.grand_total))
        index.append(total_label)
    body = pd.DataFrame(
        grid,
        index=pd.Index(index, name=counts.index.name),
        columns=pd.Index(columns, name=counts.columns.name),
        dtype=object,
    )
    primary = (values >= 1) & (values <= threshold)
    body_mask = mask[: layout.n_body].reshape(values.shape)
    primary_labels = [
        (counts.index[i], counts.columns[j]) for i, j in zip(*np.nonzero(primary), strict=True)
    ]
    secondary_labels = [
        (counts.index[i], counts.columns[j])
        for i, j in zip(*np.nonzero(body_mask & ~primary), strict=True)
    ]
    body.attrs.update(
        {
            "note": NOTE.format(threshold=threshold, symbol=symbol),
            "threshold": int(threshold),
            "suppression_symbol": symbol,
            "margins": bool(margins),
            "total_label": total_label,
            "primary": primary_labels,
            "secondary": secondary_labels,
            "withheld_totals": _withheld_totals(layout, mask, counts),
            "totals": _totals_record(layout, extended, mask),
        }
    )
    return body


def _is_symbol(value: object, symbol: str) -> bool:
    return isinstance(value, str) and value.strip() == symbol


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text or not text.isascii():
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        return number if np.isfinite(number) else None
    return None


def _totals_record(layout: _Layout, extended: np.ndarray, mask: np.ndarray) -> dict[str, object]:
    """The totals a table without margins is published with (``None`` where withheld)."""

    def value(k: int) -> int | None:
        return None if mask[k] else int(extended[k])

    return {
        "row": [value(layout.row_total(i)) for i in range(layout.n_rows)]
        if layout.row_totals
        else None,
        "column": [value(layout.col_total(j)) for j in range(layout.n_cols)]
        if layout.col_totals
        else None,
        "grand": value(layout.grand_total) if layout.grand else None,
    }


def _read_published(
    frame: pd.DataFrame,
    symbol: str,
    margins: bool,
    total_label: str,
    threshold: int,
    check_totals: bool,
    totals: dict | None,
) -> tuple[_Layout, np.ndarray, np.ndarray, pd.Index, pd.Index, list[str], bool]:
    """Parse a published table into the model.

    Returns the layout, known values, unknown mask (flat), the body's row and column labels,
    the problems found so far, and whether the totals are known (shown, or given in ``attrs["totals"]``).
    """
    problems: list[str] = []
    total_row = total_col = False
    if margins:
        total_row = frame.shape[0] >= 2 and frame.index[-1] == total_label
        total_col = frame.shape[1] >= 2 and frame.columns[-1] == total_label
        if not (total_row or total_col) and frame.shape != (1, 1):  # 1 x 1: no totals
            raise ValueError(
                "margins=True but neither the last row nor the last column is labelled "
                f"{total_label!r}"
            )
    cells = frame.to_numpy(dtype=object)
    n_rows, n_cols = frame.shape[0] - total_row, frame.shape[1] - total_col
    index, columns = frame.index[:n_rows], frame.columns[:n_cols]
    if n_rows == 0 or n_cols == 0:
        raise ValueError("table has no body cells")
    if margins:
        layout = _Layout(n_rows, n_cols, total_col, total_row, total_row and total_col)
    else:
        layout = _Layout.standard(n_rows, n_cols)
    known = np.zeros(layout.size)
    unknown = np.zeros(layout.size, dtype=bool)

    def read(k: int, value: object, what: str, is_total: bool) -> None:
        if value is None or _is_symbol(value, symbol):
            unknown[k] = True
            return
        number = _as_number(value)
        if number is None or number < 0 or not float(number).is_integer():
            problems.append(f"{what} is neither a count nor {symbol!r}: {value!r}")
            unknown[k] = True
            return
        known[k] = number
        if 1 <= number <= threshold and (check_totals or not is_total):
            problems.append(f"{what} shows {value}, a count from 1 to {threshold}")

    for i in range(n_rows):
        for j in range(n_cols):
            where = (index[i], columns[j])
            read(layout.body(i, j), cells[i, j], f"cell {where}", False)
    totals_known = True
    if margins:
        if total_col:
            for i in range(n_rows):
                read(layout.row_total(i), cells[i, -1], f"total {index[i]!r}", True)
        if total_row:
            for j in range(n_cols):
                read(layout.col_total(j), cells[-1, j], f"total {columns[j]!r}", True)
        if total_row and total_col:
            read(layout.grand_total, cells[-1, -1], f"total {total_label!r}", True)
    elif totals is not None:
        # Totals published elsewhere, as suppress() records them (None: withheld).
        for kind, present, positions, labels in [
            ("row", layout.row_totals, [layout.row_total(i) for i in range(n_rows)], index),
            ("column", layout.col_totals, [layout.col_total(j) for j in range(n_cols)], columns),
        ]:
            given = totals.get(kind)
            if not present:
                continue
            if given is None or len(given) != len(positions):
                raise ValueError(f"attrs['totals'][{kind!r}] does not match the table's shape")
            for k, label, v in zip(positions, labels, given, strict=True):
                read(k, v, f"{kind} total {label!r}", True)
        if layout.grand:
            read(layout.grand_total, totals.get("grand"), "grand total", True)
    else:
        totals_known = False
    return layout, known, unknown, index, columns, problems, totals_known


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
    * ``check_totals`` and a published total is a count from 1 to ``threshold``;
    * a suppressed cell or withheld total breaks the protection rule (module docstring): its
      feasibility interval, by linear programming with non-negativity over the published
      cells and totals (scipy's HiGHS), does not reach above ``threshold`` or is a single
      value;
    * a cell is neither a whole-number count nor the symbol.

    The totals are the ones the table shows (``margins``) or, for a table published without
    them, ``attrs["totals"]`` as :func:`suppress` records them (the worst case: totals are
    public unless withheld). Without either, only exact recovery by the equations can be
    checked (:func:`derivable_cells`); if that finds nothing the function cannot decide and
    raises ``ValueError``.

    Parameters
    ----------
    table : DataFrame or Series
        As published, e.g. the output of :func:`suppress`.
    threshold : int, optional
        Default ``table.attrs["threshold"]`` or 5.
    symbol : str, optional
        Default ``table.attrs["suppression_symbol"]`` or ``"[c]"``.
    margins : bool, optional
        Whether the table shows its totals (a last row and/or column labelled
        ``total_label``); default ``table.attrs["margins"]`` or False.
    total_label : str, optional
        Default ``table.attrs["total_label"]`` or ``"Total"``.
    check_totals : bool
        Also reject published totals from 1 to ``threshold`` (default True).

    Raises
    ------
    DisclosureError
        Naming every offending cell; or for a three-way table.
    ValueError
        If the published cells and totals do not add up, or the totals are needed and
        unknown.

    Examples
    --------
    >>> check_disclosure(pd.DataFrame({"a": [3, 10], "b": [20, 30]}))
    Traceback (most recent call last):
    ...
    analysis.disclosure.DisclosureError: cell (0, 'a') shows 3, a count from 1 to 5
    >>> check_disclosure(pd.DataFrame({"a": ["[c]", 10], "b": [20, 30]}))
    Traceback (most recent call last):
    ...
    analysis.disclosure.DisclosureError: suppressed cell (0, 'a') can be recovered exactly from the totals
    >>> zero_only = pd.DataFrame({"a": ["[c]"], "b": ["[c]"], "c": [40], "Total": [43]})
    >>> check_disclosure(zero_only, margins=True)  # a 3 and a 0 suppressed: together 3
    Traceback (most recent call last):
    ...
    analysis.disclosure.DisclosureError: suppressed cell (0, 'a') can be shown to be a count of 5 or fewer from the totals and published cells; suppressed cell (0, 'b') can be shown to be a count of 5 or fewer from the totals and published cells
    >>> check_disclosure(suppress(pd.DataFrame({"a": [3, 0], "b": [39, 0]}), margins=True))
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    _check_two_way(frame)
    attrs = frame.attrs
    threshold = int(attrs.get("threshold", 5) if threshold is None else threshold)
    symbol = str(attrs.get("suppression_symbol", SYMBOL) if symbol is None else symbol)
    margins = bool(attrs.get("margins", False) if margins is None else margins)
    total_label = str(attrs.get("total_label", "Total") if total_label is None else total_label)
    totals = None if margins else attrs.get("totals")
    layout, known, unknown, index, columns, problems, totals_known = _read_published(
        frame, symbol, margins, total_label, threshold, check_totals, totals
    )
    describe = lambda k: "suppressed " + layout.describe(k, index, columns)  # noqa: E731
    if not totals_known:
        mask = unknown[: layout.n_body].reshape(layout.n_rows, layout.n_cols)
        for k in np.flatnonzero(derivable_cells(mask).ravel()):
            problems.append(f"{describe(int(k))} can be recovered exactly from the totals")
        if mask.any() and not problems:
            raise ValueError(
                "check_disclosure needs the totals to check a table with suppressed cells: "
                "pass the output of suppress() (its attrs carry them) or show them "
                "(margins=True)"
            )
    else:
        for k, kind in _unprotected(layout, known, unknown, threshold):
            if kind == "exact":
                problems.append(
                    f"{describe(k)} can be recovered exactly from the totals and published cells"
                )
            else:
                problems.append(
                    f"{describe(k)} can be shown to be a count of {threshold} or fewer from the "
                    "totals and published cells"
                )
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
