"""Erase before programming (1R): RESET the cells whose target lies below them coarsely to the low bound.

RESET is the slow direction of most filamentary devices (Pt/Hf/Ti: ~0.1-0.25 s for a full RESET, its SET
takes nanoseconds) and, in a 1R array whose cells sit in the low-resistance state, the half-selected cells
of a V/3 pulse draw so much current through the wires that far cells cannot reach their RESET threshold
under the V/3 cap. A test chip therefore erases first and programs afterwards: the cells that must come
down are RESET towards the low-conductance bound with long pulses, verified only against a coarse erase
level (``erase_level`` x the model's low bound, or the target's tolerance band if that is lower), and are
then SET, fast and fine-grained, up to their targets.

- A row whose cells are all addressed is erased as a line, as a chip erases a word line (the cells that
  are already at or below their targets go down with it and are programmed back): its word line is
  driven with every other line at 0 V, so no cell outside the row is half-selected and the pulse may
  exceed the V/3 cap. The first pulse's driver
  voltage is ``erase_v`` (default ``ERASE_OVERDRIVE`` x the model's RESET threshold); a row that fails its
  erase verify gets the next pulse ``ERASE_STEP`` x higher, up to ``limits.v_line_max`` (incremental step
  pulse erase, as flash does: the far cells of a long line in the low-resistance state see little of the
  driver until the near ones have erased, and the erased front stalls where the far cells' current drops
  the rest of the drive along the wire). Every pulse is lowered where the controller's model of the
  array (the layout and its estimates of the cells) predicts that a cell off the row would reach
  ``DISTURB_MARGIN`` of its threshold through the bit lines' IR drop; that is worst at the pulse's start,
  since the row's cells only draw less as they erase. A lowered pulse counts as clipped.
- ``Erase.ARRAY`` first drives every word line at once when every cell of the array is addressed.
- The cells that must come down in rows with cells left alone (NaN targets), and those a line erase left
  above their level, are erased one by one with V/3 inhibition at the V/3 cap (``Erase.CELLS``: all).

Each pulse lasts ``WIDTH_MARGIN`` x the model's time for its slowest reachable cell to reach the bound at
the cell voltage the model predicts at the start (the far cells of a row see more as the near ones erase),
within the generator's limits. Rows are visited in the configured order (``far-first``: the rows whose
cells are farthest from the bit-line ends first, while the other rows' low-resistance cells still hold the
bit lines near 0 V). Only the controller's reads, layout and model are used.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.config import Erase
from cosim.sim.control.disturb import scale_limit
from cosim.sim.control.sequence import row_order
from cosim.sim.cosimulate import Bias

ERASE_OVERDRIVE = 4.0   # default first erase driver voltage, x the model's RESET threshold
ERASE_STEP = 1.5        # each further erase pulse of a line is this x higher (up to the drivers' limit)
DISTURB_MARGIN = 0.8    # an erase keeps every cell it does not erase below this fraction of its threshold
                        # (lower than a V/3 pulse's: an erase pulse is long and near the drivers' limit)
WIDTH_MARGIN = 1.5      # an erase pulse lasts this x the model's time for its slowest cell


class Eraser:
    """The erase phase of a 1R closed-loop controller ``ctrl`` (a :class:`~cosim.sim.control.closed_loop.ClosedLoop`:
    its view, model, array estimate, configuration and pulse counts)."""

    def __init__(self, ctrl):
        self.ctrl = ctrl
        self.view, self.model, self.estimate, self.cfg = ctrl.view, ctrl.model, ctrl.estimate, ctrl.cfg
        self.sign = self.model.polarity(-1)             # the sign of a RESET cell voltage
        self.g_low = self.model.bounds()[0].reshape(self.view.shape)

    def run(self, target: np.ndarray, addressed: np.ndarray):
        """Erase the addressed cells that lie above their tolerance band, and the lines they share with
        other addressed cells (see the module docstring)."""
        cfg, tol = self.cfg, self.ctrl.tolerance
        g = self.estimate.g
        must = addressed & (g > target * (1 + tol))
        if cfg.erase is Erase.NONE or not must.any():
            return
        self.must = must
        self.level = np.where(addressed, np.minimum(cfg.erase_level * self.g_low, target * (1 - tol)), np.inf)
        if cfg.erase is Erase.ARRAY and addressed.all():
            yield from self._lines(np.ones(self.view.rows, bool))
        for row in row_order(self.view, self._pending().any(axis=1), cfg.order):
            if cfg.erase in (Erase.ROWS, Erase.ARRAY) and addressed[row].all():
                rows = np.zeros(self.view.rows, bool)
                rows[row] = True
                yield from self._lines(rows)
            for col in np.flatnonzero(self._pending()[row]):
                yield from self._cell(int(row), int(col))

    def _pending(self) -> np.ndarray:
        return self.must & (self.estimate.g > self.level)

    # ---- whole lines --------------------------------------------------------------------------------
    def _lines(self, rows: np.ndarray):
        """Erase every cell of ``rows`` together, verified after each pulse, up to ``erase_pulses`` pulses."""
        view = self.view
        cells = np.zeros(view.shape, bool)
        cells[rows] = True
        for k in range(self.cfg.erase_pulses):
            pending = self._pending() & cells
            if not pending.any():
                return
            amplitude, width, limited = self._plan_lines(rows, pending, ERASE_STEP ** k)
            v_wl = np.where(rows, self.sign * amplitude, 0.0)
            yield from view.pulse(Bias(v_wl, np.zeros(view.cols)), width, note="erase", limited=limited)
            self.ctrl.pulses[rows] += 1
            yield from self.estimate.scan(self.ctrl.v_read, np.argwhere(cells))

    def _plan_lines(self, rows: np.ndarray, pending: np.ndarray, step: float) -> tuple[float, float, bool]:
        """Driver voltage (V; the first pulse's x ``step``), width (s) and whether the voltage was lowered
        to spare the other cells."""
        m, view = self.model, self.view
        first = self.cfg.erase_v if self.cfg.erase_v is not None else ERASE_OVERDRIVE * m.v_down
        wanted = min(first * step, view.limits.v_line_max)
        unit = predicted_cell_voltages(self.estimate, np.where(rows, 1.0, 0.0), np.zeros(view.cols))
        off = ~rows[:, None] & np.ones(view.shape, bool)
        amplitude = min(wanted, scale_limit(unit, off, m, self.sign, DISTURB_MARGIN))
        return amplitude, self._width(pending, np.abs(unit) * amplitude), amplitude < wanted

    # ---- single cells -------------------------------------------------------------------------------
    def _cell(self, row: int, col: int):
        """Erase cell (row, col) alone at its V/3 line limit (the cap, or less where the model predicts
        disturb), verified after each pulse, up to ``erase_pulses``."""
        for _ in range(self.cfg.erase_pulses):
            if self.estimate.g[row, col] <= self.level[row, col]:
                return
            cap = self.ctrl.line_limit(row, col, self.sign, fresh=True)
            bias = self.view.cell_bias(row, col, self.sign * cap, "v/3")
            v_cells = predicted_cell_voltages(self.estimate, bias.v_wl, bias.v_bl)
            pending = np.zeros(self.view.shape, bool)
            pending[row, col] = True
            yield from self.ctrl.pulse_cell(row, col, self.sign * cap, self._width(pending, np.abs(v_cells)),
                                            note="erase")
            self.ctrl.pulses[row, col] += 1
            yield from self.estimate.read(row, col, self.ctrl.v_read)

    # ---- shared -------------------------------------------------------------------------------------
    def _width(self, pending: np.ndarray, v_cells: np.ndarray) -> float:
        """``WIDTH_MARGIN`` x the model's longest time (s) for a ``pending`` cell to reach the low bound at its
        predicted cell voltage ``v_cells`` (V, magnitudes); the longest pulse when none can move yet."""
        m, view = self.model, self.view
        rr, cc = np.nonzero(pending)
        widths = m.plan_widths(rr * view.cols + cc, self.estimate.g[rr, cc], self.g_low[rr, cc], -1,
                               v_cells[rr, cc], np.zeros(rr.size), 1.0, substeps=4)
        widths = widths[np.isfinite(widths)]
        return WIDTH_MARGIN * float(widths.max()) if widths.size else view.limits.width_max_s


def predicted_cell_voltages(estimate, v_wl: np.ndarray, v_bl: np.ndarray) -> np.ndarray:
    """(rows, cols) cell voltages (V) the controller's model of a 1R array predicts for the line voltages
    ``v_wl``, ``v_bl`` at its present estimates of the cells."""
    estimate.model.set_conductances(estimate.g)
    return np.nan_to_num(estimate.model.solve_bias(v_wl, v_bl).cell_voltages, nan=0.0)
