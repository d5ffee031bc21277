"""The exact ports of every cell of one row of the controller's 1R model, from one factorisation per row visit.

:mod:`cosim.sim.control.port` describes a cell's port (the rest of the model as a Thevenin source). For a
1R controller that programs its array cell by cell, row by row, the ports of a row's cells come from one
factorisation of the model at the present estimates and one batched solve of ``cols + 1`` right-hand
sides: a unit current injected across each cell of the row (``z_j``), and the grounded-lines read of the
row. With all terminals at 0 V, the injections give

- ``P[k, j]``, the voltage across cell k per ampere injected across cell j (``P[j, j]``: the cell's port
  resistance, the rest of the network in parallel with the cell itself);
- ``I[t, j]``, the current into every terminal t (drivers, then senses) per ampere injected across
  cell j. By reciprocity the voltage a bias puts across cell j is ``sum_t V_t I[t, j]``, for every bias
  of the drivers and bit-line ends at once (no floating lines);

and the read gives its terminal currents ``tr``. A cell's port follows in closed form (:meth:`RowPorts.port`).
When the estimate of another cell k of the row moves by ``delta``, the network changes by the rank-one
term ``delta w_k w_k^T`` and every quantity above updates exactly (Sherman-Morrison), in O(cols (rows +
cols)): ``P -= P[:, k] delta P[k, :] / d``, ``I -= I[:, k] delta P[k, :] / d``, ``tr -= I[:, k] delta
y_k / d`` with ``d = 1 + delta P[k, k]`` and ``y_k = I[row, k]`` the read's voltage across cell k. A
change outside the row (a scan) refactors on the next request.

Applies to regular layouts with resistive (finite, non-zero) line segments, which the nested-dissection
solver factors; :func:`RowPorts.applies` tells. Conductances spanning more decades than the direct
solver keeps (e.g. an estimate at its floor beside 1 S wires) are refined on the grid's KCL residuals.
"""
from __future__ import annotations

import numpy as np

from cosim.netlist.crossbar import CrossbarLayout
from cosim.sim.control.port import G_CEIL, G_FLOOR, CellPort
from cosim.solve.nested import NestedDissectionSolver
from cosim.solve.nested_values import NodalValues, right_hand_side
from cosim.solve.refine import REFINE_FAILURE, grid_residual, needs_refinement, refine, voltage_scale


class RowPorts:
    """Ports of the cells of one row of a 1R layout at given cell conductances (see the module docstring).

    Attributes:
        builds: factorisations made so far (one per row visit, or after a change outside the row).
        updates: rank-one updates applied so far.
    """

    def __init__(self, layout: CrossbarLayout):
        if not self.applies(layout):
            raise ValueError("RowPorts needs a regular 1R layout with finite, non-zero line segments")
        self.layout = layout
        self.builds = self.updates = 0
        self.row: int | None = None
        self._g: np.ndarray | None = None       # the conductances the row's quantities hold (S)
        self._raw: np.ndarray | None = None     # the estimates they were given (NaN kept)
        self._stiff = False
        self._memo: dict = {}

    @staticmethod
    def applies(layout: CrossbarLayout) -> bool:
        """Regular 1R layouts whose line segments are all finite and > 0 ohm."""
        return (layout.cell.value == "1R" and layout.is_regular and bool(np.all(layout.r_wl > 0))
                and bool(np.all(layout.r_bl > 0)))

    def port(self, g: np.ndarray, row: int, col: int, v_wl: np.ndarray, v_bl: np.ndarray,
             key=None) -> CellPort | None:
        """The port of cell (row, col) with the other cells at ``g`` ((rows, cols), S; NaN: unknown, taken as
        0.1 mS), under the bias of driver voltages ``v_wl`` and bit-line end voltages ``v_bl`` for 1 V (no
        floating lines). Its ``i_open`` and ``share`` describe the grounded-lines read of the cell (they are
        the read's, whatever the bias). ``key`` names the bias: a port asked for again with the same key
        and nothing moved is returned from a memo. None when the conductances are too stiff for the direct
        solver even after iterative refinement (then the caller takes the two-solve path)."""
        if self.row != row or not _same_outside_row(g, self._raw, row):
            self._build(g, row)
        if self._stiff:
            return None
        clean = _clean(g[row])
        moved = np.flatnonzero(clean != self._g[row])
        moved = moved[moved != col]
        for k in moved:
            self._update(int(k), float(clean[k] - self._g[row, k]))
            self._g[row, k] = clean[k]
        self._raw[row] = g[row]
        memo = None if key is None else (col, key)
        if memo is not None and memo in self._memo:
            return self._memo[memo]
        m = self.layout.rows
        i_j = self._i[:, col]
        p, g_j = self._p[col, col], self._g[row, col]
        scale = 1.0 - g_j * p                    # the cell itself in parallel with the rest: remove it
        y_bias = float(v_wl @ i_j[:m] + v_bl @ i_j[m:])
        y_read, q = i_j[row], i_j[m + col]
        out = CellPort(v_open=y_bias / scale, r_th=float(p / scale),
                       i_open=float(self._tr[m + col] + q * g_j * y_read / scale), share=float(-q / scale))
        if memo is not None:
            self._memo[memo] = out
        return out

    # ---- the row's quantities -------------------------------------------------------------------------
    def _build(self, g_given: np.ndarray, row: int) -> None:
        lay = self.layout
        m, n = lay.rows, lay.cols
        g = _clean(g_given)
        self.row, self._g, self._raw, self._memo = row, g, g_given.copy(), {}
        self._stiff = False
        solver = NestedDissectionSolver(g, lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense, n_threads=1)
        vals = solver.values
        cells, k = row * n + np.arange(n), np.arange(n)
        pin_u = np.zeros(n, bool)
        pin_u[0] = vals.pinned_source[row]
        pin_b = vals.pinned_sense.copy() if row == m - 1 else np.zeros(n, bool)
        rhs = np.zeros((2 * m * n, n + 1))
        rhs[cells[~pin_u], k[~pin_u]] = 1.0               # +1 A into the cell's word-line node
        rhs[m * n + cells[~pin_b], k[~pin_b]] = -1.0      # drawn from its bit-line node (a pinned end: the terminal)
        v_drv = np.zeros((m, n + 1))
        v_drv[row, n] = 1.0
        rhs[:, n:] = right_hand_side(vals, v_drv[:, n:])
        x = solver.solve_rhs(rhs)
        if stiff(lay, g):       # conductances spanning many decades: refine on the grid's KCL residuals
            injected = rhs.copy()
            injected[:, n] = 0.0
            zeros = np.zeros((n, n + 1))
            x, size = refine(x, solver.solve_rhs, lambda xx: injected + grid_residual(lay, g, xx, v_drv, zeros),
                             voltage_scale(x, v_drv))
            if not np.isfinite(size) or size > REFINE_FAILURE:
                self._stiff = True
                return
        term = terminal_currents(vals, x, v_drv)
        # an injection at a pinned end flows straight into (or out of) that terminal
        term[row, 0] += 1.0 if pin_u[0] else 0.0
        term[m + k[pin_b], k[pin_b]] -= 1.0
        self._i = term[:, :n].copy()
        self._tr = term[:, n].copy()
        self._p = x[cells, :n] - x[m * n + cells, :n]
        self.builds += 1

    def _update(self, k: int, delta: float) -> None:
        """Cell k of the row changed by ``delta`` (S): the rank-one update of every held quantity."""
        d = 1.0 + delta * self._p[k, k]
        pk = self._p[k].copy() * (delta / d)
        ik = self._i[:, k].copy()
        self._tr -= ik * (delta * self._i[self.row, k] / d)
        self._i -= np.outer(ik, pk)
        self._p -= np.outer(self._p[:, k], pk)
        self._memo = {}
        self.updates += 1


def _same_outside_row(g: np.ndarray, held: np.ndarray | None, row: int) -> bool:
    return (held is not None and np.array_equal(g[:row], held[:row], equal_nan=True)
            and np.array_equal(g[row + 1:], held[row + 1:], equal_nan=True))


def _clean(g: np.ndarray) -> np.ndarray:
    """Estimates as model conductances: NaN (unknown) as 0.1 mS, all within [G_FLOOR, G_CEIL] S."""
    return np.clip(np.where(np.isnan(g), 1e-4, g), G_FLOOR, G_CEIL)


def terminal_currents(vals: NodalValues, x: np.ndarray, v_drv: np.ndarray, v_bl: np.ndarray | None = None) -> np.ndarray:
    """Currents (A) from the network into every terminal (drivers, then senses; (rows + cols, batch)) for
    node voltages ``x`` (2 M N, batch) with the drivers at ``v_drv`` (M, batch) and the bit-line ends at
    ``v_bl`` (N, batch; default 0 V), KCL at each terminal node (injected currents not included)."""
    m, n = vals.g_cell.shape
    batch = x.shape[1]
    v_bl = np.zeros((n, batch)) if v_bl is None else v_bl
    u = x[: m * n].reshape(m, n, batch)
    b = x[m * n:].reshape(m, n, batch)
    g = vals.g_cell[:, :, None]
    out = np.empty((m + n, batch))
    drv = vals.g_source[:, None] * (u[:, 0] - v_drv)
    pinned = vals.pinned_source
    if pinned.any():
        inflow = g[pinned, 0] * (b[pinned, 0] - v_drv[pinned])
        if n > 1:
            inflow = inflow + vals.g_wl0[pinned, None] * (u[pinned, 1] - v_drv[pinned])
        drv[pinned] = inflow
    out[:m] = drv
    sns = vals.g_sense[:, None] * (b[-1] - v_bl)
    pinned = vals.pinned_sense
    if pinned.any():
        inflow = g[-1, pinned] * (u[-1, pinned] - v_bl[pinned])
        if m > 1:
            inflow = inflow + vals.g_bl_last[pinned, None] * (b[-2, pinned] - v_bl[pinned])
        sns[pinned] = inflow
    out[m:] = sns
    return out


def stiff(layout: CrossbarLayout, g: np.ndarray) -> bool:
    """Do the model's solves at conductances ``g`` (S) need iterative refinement (a spread of conductances
    beyond the direct solver's accuracy)? Then a build refines its solves on the grid's KCL residuals."""
    with np.errstate(divide="ignore"):
        return needs_refinement(g, 1.0 / layout.r_wl, 1.0 / layout.r_bl, 1.0 / layout.r_source, 1.0 / layout.r_sense)
