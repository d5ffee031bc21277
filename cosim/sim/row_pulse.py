"""One co-simulated pulse (or read) on the only selected row of a 1T1R array: the row's exact ladder per sub-step.

With one row selected, no current flows in any other row (:mod:`cosim.solve.row_ladder`): the row is
a ladder whose column j shunts through the cell, the transistor and the bit line below the row. A pulse
runs the sub-steps of :func:`cosim.sim.cosimulate.co_simulate` (step size from the fastest cell, explicit
midpoint, trapezoid energy with the power the sources deliver, ``v_row * sum(i) - sum(v_bl * i)``) on the
row's cells only, each sub-step two O(N) ladder solves. The row's cells are one
:class:`~cosim.devices.cell_group.CellGroup` (their parameters sliced once per pulse, no per-call
validation) for deterministic models; models with cycle-to-cycle redraws or state noise go through the
device's validated subset methods (:class:`SubsetCells`), which draw their random numbers as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.solve.row_ladder import single_row_voltages


class RowCircuit:
    """The selected row ``row`` of a 1T1R layout as its ladder: per column, the resistance in series with the
    cell (``r_series``, ohm: the transistor's on-resistance and the bit line below the row to its end, sense
    included); the word line's segments and driver (ohm)."""

    def __init__(self, layout, row: int):
        self.r_series = layout.r_on_transistor[row] + layout.r_bl[row:].sum(axis=0) + layout.r_sense
        self.r_wl = layout.r_wl[row]
        self.r_source = float(layout.r_source[row])
        self._none = np.zeros(layout.cols)        # the series path is all in ``r_series``

    def currents(self, g: np.ndarray, v_row: float, v_bl: np.ndarray) -> np.ndarray:
        """Cell currents (A; the columns' bit-line currents) at cell conductances ``g`` (S), the word-line
        driver at ``v_row`` (V) and the bit-line ends held at ``v_bl`` (V)."""
        return self.currents_at(g, np.array([v_row]), v_bl[None, :])

    def currents_at(self, g: np.ndarray, v_row: np.ndarray, v_bl: np.ndarray) -> np.ndarray:
        """:meth:`currents` with the drive as the ladder solver takes it: ``v_row`` (1,), ``v_bl`` (1, cols)."""
        y = 1.0 / (1.0 / g + self.r_series)
        u = single_row_voltages(g, self.r_series, self.r_wl, self.r_source, self._none, v_row, v_bl)[0]
        return (u - v_bl[0]) * y


class SubsetCells:
    """:class:`~cosim.devices.cell_group.CellGroup`'s interface over ``DeviceArray``'s validated subset methods
    (``state_of``, ``step_of``, ...), for models a cell group does not take (c2c redraws, state noise)."""

    def __init__(self, device, cells: np.ndarray):
        self.device, self.cells = device, cells
        a, b = device.state_bounds()
        self.low, self.high = np.minimum(a, b)[cells], np.maximum(a, b)[cells]

    @property
    def state(self) -> np.ndarray:
        return self.device.state_of(self.cells)

    def set_state(self, s: np.ndarray) -> None:
        self.device.set_state_of(self.cells, s)

    def step(self, v: np.ndarray, dt: float) -> None:
        self.device.step_of(self.cells, v, dt)

    def conductance(self) -> np.ndarray:
        return self.device.conductance_of(self.cells, False)

    def moving_rate(self, v: np.ndarray) -> np.ndarray:
        """d(state)/dt, zero where a cell sits on a bound and is pushed further into it."""
        rate = self.device.rate_of(self.cells, v)
        s = self.state
        return np.where(((s <= self.low) & (rate < 0)) | ((s >= self.high) & (rate > 0)), 0.0, rate)


@dataclass
class RowPulseResult:
    """What a row pulse did: energy (J), sub-steps, the cells' currents at its end (A, the columns' sense
    currents), their noise-free conductances at its end (S)."""

    energy_j: float
    substeps: int
    currents: np.ndarray
    conductances: np.ndarray


def row_cells(device, cells: np.ndarray):
    """The row's cells as a cell group (deterministic models) or through the validated subset methods."""
    return device.cell_group(cells) if device.deterministic else SubsetCells(device, cells)


def pulse_row(layout, device, row: int, v_row: float, v_bl: np.ndarray, width_s: float, max_change: float,
              max_substeps: int) -> RowPulseResult:
    """Co-simulate ``width_s`` s of the word-line driver of ``row`` at ``v_row`` (V) and the bit-line ends at
    ``v_bl`` (V, (cols,)) with only ``row`` selected (see the module docstring; ``max_change`` and
    ``max_substeps`` as in :class:`~cosim.sim.cosimulate.CosimConfig`)."""
    n = layout.cols
    cells = row * n + np.arange(n)
    group = row_cells(device, cells)
    span = np.where(group.high > group.low, group.high - group.low, 1.0)
    circuit = RowCircuit(layout, row)
    e = np.ascontiguousarray(v_bl, dtype=np.float64)[None, :]
    v = np.array([v_row], dtype=np.float64)
    across = v_row - e[0]                     # V from the driver to each bit line's end

    def row_state():
        g = group.conductance()
        i_cell = circuit.currents_at(g, v, e)
        return i_cell / g, float(across @ i_cell), i_cell, g

    t, energy, substeps = 0.0, 0.0, 0
    v_cells, power, i_cell, g = row_state()
    while t < width_s:
        if substeps >= max_substeps:
            raise RuntimeError(f"pulse needed more than {max_substeps} sub-steps "
                               f"({t:.3e} of {width_s:.3e} s done); raise CosimConfig.max_substeps")
        speed = float(np.max(np.abs(group.moving_rate(v_cells)) / span))
        dt = width_s - t if speed == 0 else min(width_s - t, max_change / speed)
        if speed > 0:                          # explicit midpoint, as in co_simulate
            start = group.state
            group.step(v_cells, 0.5 * dt)
            v_cells = row_state()[0]
            group.set_state(start)
        group.step(v_cells, dt)
        v_new, p_new, i_cell, g = row_state()
        energy += 0.5 * (power + p_new) * dt
        v_cells, power = v_new, p_new
        t += dt
        substeps += 1
    return RowPulseResult(energy, substeps, i_cell, g)
