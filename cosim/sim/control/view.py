"""What a programming controller sees of its array, and the only way it acts on it.

A :class:`ControllerView` holds the array's layout as designed (wire, driver, sense and transistor
resistances), the controller's own device model, and the pulse limits of its configuration. Its
processes issue reads (the controller gets the sense currents, read noise included) and pulses
(co-simulated on the true devices by the array). It never hands out the array's device objects.
"""
from __future__ import annotations

import numpy as np

from cosim.netlist.crossbar import CrossbarLayout
from cosim.sim.control.config import PulseLimits
from cosim.sim.control.model import ControllerModel
from cosim.sim.cosimulate import Bias


class ControllerView:
    """A controller's access to an array (see the module docstring).

    Attributes:
        layout: the array's circuit as designed (a copy). model: the controller's device model.
        limits: pulse limits. read_voltage: the array's default read voltage, V.
        reads, pulses, clipped: operations issued so far (clipped: pulses whose width or line voltages
            were limited).
    """

    def __init__(self, array, model: ControllerModel, limits: PulseLimits, progress=None):
        self._array = array
        self.layout: CrossbarLayout = array.crossbar.layout.copy()
        self.model = model
        self.limits = limits
        self.read_voltage = float(array.timing.read_voltage)
        self.reads = self.pulses = self.clipped = 0
        self._progress = progress

    @property
    def rows(self) -> int:
        return self.layout.rows

    @property
    def cols(self) -> int:
        return self.layout.cols

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.cols

    @property
    def is_1t1r(self) -> bool:
        return self.layout.cell.value == "1T1R"

    def series_resistance(self, row: int, cols: np.ndarray) -> np.ndarray:
        """Designed resistance (ohm) in series with cells (row, cols) on their programming path, 1T1R:
        transistor, bit line below the row and sense; 1R: the word line to the driver and the bit line
        below the row (upper bounds of the IR drop)."""
        lay = self.layout
        r_down = lay.r_bl[row:, cols].sum(axis=0) + lay.r_sense[cols]
        if self.is_1t1r:
            return lay.r_on_transistor[row, cols] + r_down
        return lay.r_source[row] + np.concatenate([[0.0], np.cumsum(lay.r_wl[row])])[cols] + r_down

    def series_resistances(self) -> np.ndarray:
        """(rows, cols) :meth:`series_resistance` of every cell, ohm: how far (electrically) each cell is
        from its drivers in the layout as designed."""
        return np.stack([self.series_resistance(row, np.arange(self.cols)) for row in range(self.rows)])

    # ---- operations (SimPy processes: ``yield from``) ---------------------------------------------------
    def read_row(self, row: int, voltage: float, note: str = "verify"):
        """1T1R: select ``row``, drive it at ``voltage`` (V), others at 0 V; returns the sense currents (A)."""
        v = np.zeros(self.rows)
        v[row] = voltage
        out = yield from self._array.read_process(v, select_rows=[row], note=note)
        self.reads += 1
        return np.asarray(out.currents, float).copy()

    def read_cell(self, row: int, col: int, voltage: float, unselected="grounded"):
        """1R: read cell (row, col) at ``voltage`` (V) with the other lines ``unselected``; the sense current (A)."""
        out = yield from self._array.read_cell_process(row, col, unselected, voltage)
        self.reads += 1
        return float(out.currents[0])

    def cell_bias(self, row: int, col: int, voltage: float, unselected) -> Bias:
        """Line voltages that put ``voltage`` (V) on cell (row, col) with the other lines ``unselected``."""
        return self._array.cell_bias(row, col, voltage, unselected)

    def pulse(self, bias: Bias, width_s: float, select_rows=None, note: str = "", limited: bool = False):
        """Apply ``bias`` for ``width_s`` s, limited to the pulse limits; a limited pulse is counted, as is one
        the controller already ``limited`` itself (e.g. to a disturb limit)."""
        lim = self.limits
        width = float(np.clip(width_s, lim.width_min_s, lim.width_max_s))
        v_wl = np.clip(bias.v_wl, -lim.v_line_max, lim.v_line_max)
        v_bl = np.clip(bias.v_bl, -lim.v_line_max, lim.v_line_max)
        over = limited or width != width_s or np.any(v_wl != bias.v_wl) or np.any(v_bl != bias.v_bl)
        self.clipped += bool(over)
        self.pulses += 1
        yield from self._array.pulse_process(Bias(v_wl, v_bl, bias.floating_wl, bias.floating_bl), width,
                                             select_rows, note)

    def done(self, cells: int) -> None:
        """Tell the progress bar that ``cells`` more cells are finished."""
        if self._progress is not None:
            self._progress.update(cells)

