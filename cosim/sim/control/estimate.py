"""How a controller turns sense currents into conductances, and wanted cell voltages into line drives.

Both go through the array's layout as designed and the controller's running estimate of its cells —
never through the true devices.

- :class:`RowEstimate` (1T1R): a selected row is an exact ladder (:mod:`cosim.solve.row_ladder`); its
  sense currents invert in closed form to the cells' conductances, and the bit-line drives that put
  wanted voltages on chosen cells (0 V on the others) solve a linear system of that ladder.
- :class:`ArrayEstimate` (1R): the controller's own crossbar with the designed wires and its estimated
  cells predicts every grounded-lines read; an estimate is corrected by measured / predicted until they
  agree, and a V/3 drive is scaled so the model puts the wanted voltage on the cell.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from cosim.sim.control.view import ControllerView
from cosim.solve.crossbar import Crossbar
from cosim.solve.row_ladder import single_row_voltages

G_FLOOR, G_CEIL = 1e-12, 1e3       # S, the range an estimate is kept in


class RowEstimate:
    """The controller's model of the selected row of a 1T1R array (see the module docstring)."""

    DRIVE_LIMIT = 1e3     # a compensated drive larger than this x the wanted voltage falls back to the divider

    def __init__(self, view: ControllerView):
        self.view = view
        self.g_row: dict[int, np.ndarray] = {}
        self._response = None    # (row, conductances, LU factors) of the last ladder

    def read(self, row: int, v_read: float):
        """Verify read of ``row``: the estimated conductances (S) of all its cells (NaN: no current)."""
        currents = yield from self.view.read_row(row, v_read)
        lay = self.view.layout
        u = v_read - lay.r_source[row] * currents.sum()
        tail = np.cumsum(currents[::-1])[::-1]                    # current in the segment left of column j
        u = u - np.concatenate([[0.0], np.cumsum(lay.r_wl[row] * tail[1:])])
        v_cell = u - currents * self.view.series_resistance(row, np.arange(self.view.cols))
        g = currents / np.where(v_cell > 0, v_cell, np.nan)
        self.g_row[row] = g
        return g

    def series_resistance(self, row: int, cols: np.ndarray) -> np.ndarray:
        return self.view.series_resistance(row, cols)

    def drives(self, row: int, cols: np.ndarray, wanted: np.ndarray, g_cols: np.ndarray) -> np.ndarray:
        """Bit-line drives (V, every column) putting ``wanted`` (V) on cells (row, cols) and 0 V on the others.

        The cell voltages are linear in the drives (one batched ladder solve gives the matrix); solving it
        compensates the word line's IR drop. If that asks for more than ``DRIVE_LIMIT`` x the largest
        wanted voltage (a word line too resistive to compensate), the divider-only drive is used.
        """
        lay, n = self.view.layout, self.view.cols
        g = np.maximum(np.nan_to_num(self.g_row.get(row, np.full(n, G_FLOOR)), nan=G_FLOOR), G_FLOOR)
        g[cols] = np.maximum(np.nan_to_num(g_cols, nan=G_FLOOR), G_FLOOR)
        r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
        r_t = lay.r_on_transistor[row]
        w = np.zeros(n)
        w[cols] = wanted
        divider = 1.0 + (r_t + r_down) * g
        if self._response is None or self._response[0] != row or not np.array_equal(self._response[1], g):
            # column k of the response: cell voltages for a unit drive on bit line k (bit-line end at -1 V)
            u = single_row_voltages(g, r_t, lay.r_wl[row], float(lay.r_source[row]), r_down, np.zeros(n), -np.eye(n))
            self._response = (row, g, lu_factor(((u + np.eye(n)) / divider[None, :]).T))
        drive = lu_solve(self._response[2], w)
        if not np.all(np.isfinite(drive)) or np.max(np.abs(drive)) > self.DRIVE_LIMIT * np.max(np.abs(w) * divider):
            drive = w * divider
        return drive


class ArrayEstimate:
    """The controller's model of a whole 1R array (see the module docstring)."""

    ITERATIONS = 2          # corrections of one cell's estimate per verify read (its own read dominates;
                            # the scans of the final passes re-estimate every cell together)
    SCAN_ROUNDS = 60        # most rounds of the joint correction of a scan
    SCAN_CONVERGED = 1e-6   # relative change at which a scan's correction stops

    def __init__(self, view: ControllerView):
        self.view = view
        lay = view.layout
        self.model = Crossbar(lay.rows, lay.cols, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source,
                              r_sense=lay.r_sense)
        self.g = np.full(view.shape, np.nan)
        self._ratio: dict = {}      # (row, col, unselected) -> (estimate when computed, line / cell voltage)

    def scan(self, v_read: float, cells: np.ndarray | None = None):
        """Read ``cells`` ((k, 2) row/col pairs; default all) with grounded lines and re-estimate them together."""
        cells = np.argwhere(np.ones(self.view.shape, bool)) if cells is None else cells
        i_meas = np.empty(len(cells))
        for k, (row, col) in enumerate(cells):
            i_meas[k] = yield from self.view.read_cell(int(row), int(col), v_read, "grounded")
        rr, cc = cells[:, 0], cells[:, 1]
        fresh = np.isnan(self.g)
        self.g[rr, cc] = np.clip(i_meas / v_read, G_FLOOR, G_CEIL)
        self.g[fresh & np.isnan(self.g)] = np.nanmedian(self.g)
        # a grounded-lines read of cell (i, j) is v_read * T[i, j]: correct the estimates together until
        # they agree with every read (the error contracts by about the array's IR-drop fraction per round)
        for _ in range(self.SCAN_ROUNDS):
            self.model.set_conductances(self.g)
            t = self.model.transfer_matrix()[rr, cc]
            new = np.clip(self.g[rr, cc] * i_meas / (v_read * t), G_FLOOR, G_CEIL)
            change = np.max(np.abs(new / self.g[rr, cc] - 1.0))
            self.g[rr, cc] = new
            if change < self.SCAN_CONVERGED:
                break
        return self.g.copy()

    def read(self, row: int, col: int, v_read: float):
        """Verify read of cell (row, col): its estimated conductance (S), corrected for IR drop."""
        i_meas = yield from self.view.read_cell(row, col, v_read, "grounded")
        v = np.zeros(self.view.rows)
        v[row] = v_read
        for _ in range(self.ITERATIONS):
            self.model.set_conductances(self.g)
            i_model = float(self.model.solve_bias(v).sense_currents[col])
            self.g[row, col] = min(max(self.g[row, col] * i_meas / i_model, G_FLOOR), G_CEIL)
        return self.g[row, col]

    def line_voltage(self, row: int, col: int, wanted: float, unselected) -> float:
        """Selected-line voltage (V) that the model says puts ``wanted`` (V) on cell (row, col).

        The model's ratio of line to cell voltage is kept per cell and recomputed when the cell's estimate
        has moved by more than ``RATIO_REUSE`` since (the ratio follows the cell's share of the IR drop).
        """
        key = (row, col, unselected)
        g_now = self.g[row, col]
        cached = self._ratio.get(key)
        if cached is None or abs(g_now / cached[0] - 1.0) > self.RATIO_REUSE:
            self.model.set_conductances(self.g)
            probe = self.view.cell_bias(row, col, 1.0, unselected)
            v_model = float(self.model.solve_bias(probe.v_wl, probe.v_bl).cell_voltages[row, col])
            cached = (g_now, 1.0 / v_model if v_model > 0 else 1.0)
            self._ratio[key] = cached
        return wanted * cached[1]

    RATIO_REUSE = 0.05
