"""How a controller turns sense currents into conductances, and wanted cell voltages into line drives.

Both go through the array's layout as designed and the controller's running estimate of its cells —
never through the true devices.

- :class:`RowEstimate` (1T1R): a selected row is an exact ladder (:mod:`cosim.solve.row_ladder`); its
  sense currents invert in closed form to the cells' conductances, and so do the bit-line drives that put
  wanted voltages on chosen cells (0 V on the others): the wanted voltages fix the cells' currents.
- :class:`ArrayEstimate` (1R): the controller's own crossbar with the designed wires and its estimated
  cells. A scan of every cell is corrected jointly until the model reproduces all reads; for the cell
  being programmed the rest of the model is a Thevenin source (:mod:`cosim.sim.control.port`), so its
  verify reads invert in closed form and so does the V/3 line voltage that puts a wanted voltage on it.
  The ports of a row's cells come from one factorisation per row visit, kept exact by rank-one updates
  as the row's estimates move (:mod:`cosim.sim.control.row_ports`); layouts that solver does not take
  (ideal or broken segments, edited cells) or stiff conductance spreads use two model solves per cell.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.port import G_CEIL, G_FLOOR, CellPort, cell_ports
from cosim.sim.control.row_ports import RowPorts
from cosim.sim.control.view import ControllerView
from cosim.solve.crossbar import Crossbar

__all__ = ["RowEstimate", "ArrayEstimate", "G_FLOOR", "G_CEIL"]


class RowEstimate:
    """The controller's model of the selected row of a 1T1R array (see the module docstring)."""

    DRIVE_LIMIT = 1e3     # a compensated drive larger than this x the wanted voltage falls back to the divider

    def __init__(self, view: ControllerView):
        self.view = view
        self.g_row: dict[int, np.ndarray] = {}
        self._ladders: dict[int, tuple] = {}

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

        In closed form, O(cols): the wanted voltages fix every cell's current (``wanted * g``; 0 A on the
        others), hence the current in each word-line segment and the word line's voltages ``u`` (from the
        driver at 0 V); a bit line driven to ``-drive`` with ``drive = wanted * (1 + (r_t + r_down) g) - u``
        then carries exactly that current (the word line's IR drop compensated; an undriven cell's bit line
        follows its word-line node). If that asks for more than ``DRIVE_LIMIT`` x the largest divider-only
        drive (a word line too resistive to compensate), the divider-only drive is used.
        """
        r_series, r_wl, r_source = self._ladder(row)
        g = np.fmax(g_cols, G_FLOOR)                                # NaN (unknown) taken as G_FLOOR
        i_cell = np.zeros(r_series.size)
        i_cell[cols] = wanted * g
        plain = np.zeros(r_series.size)
        plain[cols] = wanted * (1.0 + r_series[cols] * g)
        tail = np.cumsum(i_cell[::-1])[::-1]                      # current into the word line from node j on
        u = np.empty(r_series.size)                               # minus the word line's voltages
        u[0] = 0.0
        np.cumsum(r_wl * tail[1:], out=u[1:])
        drive = plain + (u + r_source * tail[0])
        if not np.all(np.isfinite(drive)) or np.max(np.abs(drive)) > self.DRIVE_LIMIT * np.max(np.abs(plain)):
            drive = plain
        return drive

    def _ladder(self, row: int) -> tuple[np.ndarray, np.ndarray, float]:
        """The designed ladder of ``row``: per column the resistance (ohm) in series with its cell (transistor,
        bit line below the row, sense), the word line's segments (ohm) and its driver's resistance (ohm)."""
        if row not in self._ladders:
            lay = self.view.layout
            self._ladders[row] = (lay.r_on_transistor[row] + lay.r_bl[row:].sum(axis=0) + lay.r_sense,
                                  lay.r_wl[row].copy(), float(lay.r_source[row]))
        return self._ladders[row]


class ArrayEstimate:
    """The controller's model of a whole 1R array (see the module docstring).

    Attributes:
        g: (rows, cols) estimated conductances, S (NaN before the first scan).
        model: the controller's crossbar (the designed layout; its conductances are scratch).
        row_ports: the row ports (None where the layout needs the two-solve path); ``row_ports.builds`` counts
            their factorisations.
        port_solves: model solves spent on ports by the two-solve path so far.
    """

    SCAN_ROUNDS = 60        # most rounds of the joint correction of a scan
    SCAN_CONVERGED = 1e-6   # relative change at which a scan's correction stops
    READ_MODE = "grounded"  # how a verify read biases the other lines
    PULSE_MODES = ("v/3",)  # pulse biases whose ports are computed with the read's (one batched solve)

    def __init__(self, view: ControllerView):
        self.view = view
        lay = view.layout
        self.model = Crossbar(lay.rows, lay.cols, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source,
                              r_sense=lay.r_sense)
        self.g = np.full(view.shape, np.nan)
        self.port_solves = 0
        self.row_ports = RowPorts(lay) if RowPorts.applies(lay) else None
        self._biases: dict = {}
        self._ports: dict[str, CellPort] = {}     # mode -> port of the cell ``_port_cell``
        self._port_cell: tuple[int, int] | None = None
        self._port_g: np.ndarray | None = None    # the estimates the ports were computed with

    def scan(self, v_read: float, cells: np.ndarray | None = None):
        """Read ``cells`` ((k, 2) row/col pairs; default all) with grounded lines and re-estimate them together."""
        cells = np.argwhere(np.ones(self.view.shape, bool)) if cells is None else cells
        i_meas = np.empty(len(cells))
        for k, (row, col) in enumerate(cells):
            i_meas[k] = yield from self.view.read_cell(int(row), int(col), v_read, self.READ_MODE)
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

    def port(self, row: int, col: int, unselected) -> CellPort:
        """The :class:`~cosim.sim.control.port.CellPort` of cell (row, col) under the bias ``unselected``
        (``"grounded"``, ``"v/3"``, ...) at the present estimates of the other cells.

        Exact for the present estimates: the row's ports are updated by rank-one corrections as its other
        cells move and refactored after a change elsewhere (:class:`~cosim.sim.control.row_ports.RowPorts`).
        Otherwise (see the module docstring) they are kept while only this cell's estimate changes (the
        port does not depend on it) and recomputed when the cell changes or any other estimate moved; the
        read's and ``PULSE_MODES``' ports then come from one pair of batched solves.
        """
        mode = str(getattr(unselected, "value", unselected))
        if self.row_ports is not None:
            bias = self._unit_bias(row, col, mode)
            if bias.floating_wl is None and bias.floating_bl is None:
                port = self.row_ports.port(self.g, row, col, bias.v_wl, bias.v_bl, key=mode)
                if port is not None:
                    return port
        key = (row, col)
        if self._port_cell != key or not self._others_unchanged(row, col):
            self._ports = {}
            self._port_cell, self._port_g = key, self.g.copy()
        if mode not in self._ports:
            modes = [mode] if self._ports else list(dict.fromkeys((self.READ_MODE, *self.PULSE_MODES, mode)))
            biases = [self.view.cell_bias(row, col, 1.0, m) for m in modes]
            self._ports.update(zip(modes, cell_ports(self.model, self.g, row, col, biases)))
            self.port_solves += 2
        return self._ports[mode]

    def _unit_bias(self, row: int, col: int, mode: str):
        """The view's line voltages for 1 V on cell (row, col) under ``mode`` (kept for the cell in hand)."""
        key = (row, col, mode)
        if key not in self._biases:
            if self._biases and next(iter(self._biases))[:2] != (row, col):
                self._biases = {}
            self._biases[key] = self.view.cell_bias(row, col, 1.0, mode)
        return self._biases[key]

    def _others_unchanged(self, row: int, col: int) -> bool:
        kept = self._port_g
        own = kept[row, col]
        kept[row, col] = self.g[row, col]
        same = np.array_equal(kept, self.g, equal_nan=True)
        kept[row, col] = own
        return same

    def read(self, row: int, col: int, v_read: float):
        """Verify read of cell (row, col): its estimated conductance (S), IR drop and sneak currents of the
        model inverted exactly (closed form through the cell's port)."""
        i_meas = yield from self.view.read_cell(row, col, v_read, self.READ_MODE)
        self.g[row, col] = self.port(row, col, self.READ_MODE).conductance(i_meas, v_read)
        return self.g[row, col]

    def line_voltage(self, row: int, col: int, wanted: float, unselected) -> float:
        """Selected-line voltage (V) that the model says puts ``wanted`` (V) on cell (row, col) at its present
        estimate, the other lines ``unselected``."""
        g = float(np.nan_to_num(self.g[row, col], nan=G_FLOOR))
        return self.port(row, col, unselected).line_voltage(g, wanted)

    def series_resistance(self, row: int, cols: np.ndarray, unselected="v/3") -> np.ndarray:
        """Thevenin resistance (ohm) the model's array presents to cells (row, cols) under ``unselected``
        pulses: the ``r_series`` through which a plan follows a 1R cell's divider as it moves (a drive
        ``line_voltage`` for the start conductance then keeps the plan's meaning)."""
        return np.array([self.port(row, int(c), unselected).r_th for c in np.atleast_1d(cols)])
