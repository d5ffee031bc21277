"""The verify loop shared by write-verify and ISPP: read, decide, pulse, until every cell is in tolerance.

1T1R arrays are programmed a row at a time, the cells of a row (``parallel_columns`` at a time)
together: the other rows' transistors are off, so finished rows are not disturbed. 1R arrays are
programmed cell by cell with V/3 inhibition; every cell is read once first (seeding the controller's
IR-drop model), the cells that must come down are erased (``erase``, :mod:`cosim.sim.control.erase`),
the cells are programmed in the configured ``order`` (:mod:`cosim.sim.control.sequence`; by default the
cells farthest from the drivers first), and after the sweep ``final_passes`` re-read every cell and
re-program, in the same order, those that later pulses disturbed. A cell whose estimate does not move for ``stuck_after`` pulses at full drive is
reported stuck instead of looped on. Subclasses decide the pulses (:meth:`ClosedLoop.pulse`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.sim.control.disturb import scale_limit
from cosim.sim.control.erase import Eraser, predicted_cell_voltages
from cosim.sim.control.estimate import ArrayEstimate, RowEstimate
from cosim.sim.control.sequence import cell_order
from cosim.sim.control.view import ControllerView
from cosim.sim.cosimulate import Bias

V3_MARGIN = 0.97    # 1R: |V| <= V3_MARGIN * 3 * threshold keeps the V/3-biased cells under threshold


@dataclass
class ControllerResult:
    """What a controller did: (rows, cols) pulses per cell, cells it found stuck, cells it addressed."""

    pulses: np.ndarray
    stuck: np.ndarray
    addressed: np.ndarray


class ClosedLoop:
    """Verify-driven programming (see the module docstring); ``pulse`` is the scheme's decision."""

    name = ""
    stuck_after = 6

    def __init__(self, view: ControllerView, tolerance: float, config):
        self.view, self.tolerance, self.cfg = view, float(tolerance), config
        self.model = view.model
        self.v_read = config.read_voltage or view.read_voltage
        self.pulses = np.zeros(view.shape, dtype=np.int64)
        self.stuck = np.zeros(view.shape, dtype=bool)
        self.estimate = RowEstimate(view) if view.is_1t1r else ArrayEstimate(view)
        self._limits: dict = {}     # 1R: (row, col, sign) -> line limit of the present visit, V

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self, target: np.ndarray, addressed: np.ndarray):
        view = self.view
        if view.is_1t1r:
            group = self.cfg.parallel_columns or view.cols
            for row in range(view.rows):
                cols_of_row = np.flatnonzero(addressed[row])
                for start in range(0, cols_of_row.size, group):
                    cols = cols_of_row[start:start + group]
                    yield from self._program_group(target, row, cols)
                    view.done(cols.size)
        else:
            yield from self.estimate.scan(self.v_read)
            yield from Eraser(self).run(target, addressed)
            for row, col in cell_order(view, addressed, self.cfg.order):
                yield from self._program_group(target, int(row), np.array([col]), read_first=False)
                view.done(1)
            for _ in range(self.cfg.final_passes):
                g = yield from self.estimate.scan(self.v_read, np.argwhere(addressed))
                redo = addressed & ~self.stuck & (self.pulses < self.cfg.max_pulses) & \
                    (np.abs(g - target) > self.tolerance * target)
                if not redo.any():
                    break
                for row, col in cell_order(view, redo, self.cfg.order):
                    yield from self._program_group(target, int(row), np.array([col]), read_first=False)
        return ControllerResult(self.pulses, self.stuck, addressed)

    def _verify(self, row: int, cols: np.ndarray):
        if self.view.is_1t1r:
            g = yield from self.estimate.read(row, self.v_read)
            return g[cols]
        g = yield from self.estimate.read(row, int(cols[0]), self.v_read)
        return np.array([g])

    def _program_group(self, target: np.ndarray, row: int, cols: np.ndarray, read_first: bool = True):
        """Verify and pulse cells (row, cols) until each is within tolerance, stuck or out of budget.

        ``read_first=False`` (1R) starts from the estimate of the cells' last read (a scan read every cell,
        and the V/3 pulses of other cells since leave them alone; the final passes verify every cell)."""
        quiet = np.zeros(cols.size, dtype=int)      # consecutive full-drive pulses without response
        pulsed = np.zeros(cols.size, dtype=bool)    # cells pulsed since the last verify
        g_prev = None
        self._limits.clear()
        self.begin_group(row, cols)
        while True:
            if read_first or g_prev is not None:
                g_est = yield from self._verify(row, cols)
            else:
                g_est = self.estimate.g[row, cols].copy()
            err = (g_est - target[row, cols]) / target[row, cols]
            if g_prev is not None:
                still = pulsed & self.full_drive(row, cols) & (np.abs(g_est - g_prev) <= 1e-4 * np.abs(g_prev))
                quiet = np.where(still, quiet + 1, np.where(pulsed, 0, quiet))
            self.stuck[row, cols] |= quiet >= self.stuck_after
            active = (np.abs(err) > self.tolerance) & ~self.stuck[row, cols] & \
                (self.pulses[row, cols] < self.cfg.max_pulses)
            if not active.any():
                return
            done = yield from self.pulse(row, cols, g_est, target[row, cols], active, quiet)
            active = active if done is None else done   # the scheme may find a cell it cannot drive
            self.pulses[row, cols[active]] += 1
            pulsed, g_prev = active, g_est

    # ---- what subclasses decide -----------------------------------------------------------------------
    def begin_group(self, row: int, cols: np.ndarray) -> None:
        """Called before a group's first verify."""

    def full_drive(self, row: int, cols: np.ndarray) -> np.ndarray:
        """Cells whose last pulse was at the scheme's full drive (only they can be called stuck)."""
        return np.ones(cols.size, bool)

    def pulse(self, row, cols, g_est, target, active, quiet):  # pragma: no cover - abstract
        """Pulse the ``active`` cells of (row, cols); returns the mask of those pulsed (None: all active)."""
        raise NotImplementedError

    # ---- pulses ---------------------------------------------------------------------------------------
    def pulse_row(self, row: int, cols: np.ndarray, drive: np.ndarray, width_s: float):
        """1T1R: select ``row``, word line at 0 V, bit lines of ``cols`` at -``drive`` (V), the others at 0 V."""
        v_bl = np.zeros(self.view.cols)
        v_bl[cols] = -np.asarray(drive, float)
        yield from self.view.pulse(Bias(np.zeros(self.view.rows), v_bl), width_s, select_rows=[row], note=self.name)

    @property
    def v3_cap(self) -> float:
        """1R: the largest selected-line voltage (V) of a V/3 pulse without wires: its half-selected cells see a
        third of it, under ``V3_MARGIN`` x the lower threshold."""
        return V3_MARGIN * 3.0 * min(self.model.v_up, self.model.v_down)

    def line_limit(self, row: int, col: int, sign: int, fresh: bool = False) -> float:
        """1R: the largest selected-line voltage (V, magnitude) of a V/3 pulse of ``sign`` on cell (row, col):
        the V/3 cap, lowered where the controller's model predicts that another cell would reach
        ``DISTURB_MARGIN`` of its threshold (:mod:`cosim.sim.control.disturb`). Kept for the rest of a visit
        to the cell (the other cells do not change meanwhile) unless ``fresh``."""
        key = (row, col, int(np.sign(sign)))
        if fresh or key not in self._limits:
            bias = self.view.cell_bias(row, col, 1.0, "v/3")
            unit = predicted_cell_voltages(self.estimate, bias.v_wl, bias.v_bl)
            spared = np.ones(self.view.shape, bool)
            spared[row, col] = False
            self._limits[key] = min(self.v3_cap, scale_limit(unit, spared, self.model, key[2]))
        return self._limits[key]

    def pulse_cell(self, row: int, col: int, line_voltage: float, width_s: float, note: str | None = None):
        """1R: cell (row, col) at ``line_voltage`` (V) with V/3 inhibition, kept under :meth:`line_limit`
        (a limited pulse is counted as clipped)."""
        limit = self.line_limit(row, col, 1 if line_voltage >= 0 else -1)
        bias = self.view.cell_bias(row, col, float(np.clip(line_voltage, -limit, limit)), "v/3")
        yield from self.view.pulse(bias, width_s, note=note or self.name, limited=abs(line_voltage) > limit)

    def release_times(self, t_need: np.ndarray, grid: bool = True) -> np.ndarray:
        """Bit-line release times (s) for cells needing ``t_need``: rounded down onto a grid of ratio sqrt(2)
        (``grid``; few pulse segments per row), and merged so that segments last at least ``width_min_s``."""
        return release_times(t_need, self.view.limits.width_min_s, grid)


def drive_row_cells(view: ControllerView, estimate: RowEstimate, row: int, cols: np.ndarray, wanted: np.ndarray,
                    g_cols: np.ndarray, width_s: float, note: str):
    """1T1R: put ``wanted`` (V) on cells (row, cols) for ``width_s`` s, IR drop compensated; when the drives
    would exceed the drivers' ``v_line_max`` (the word line cannot carry all those cells' current), the
    live cells are split in halves pulsed one after the other, as a chip shares its current budget."""
    drive = estimate.drives(row, cols, wanted, g_cols)
    live = np.flatnonzero(wanted)
    if np.max(np.abs(drive)) > view.limits.v_line_max and live.size > 1:
        for part in (live[:live.size // 2], live[live.size // 2:]):
            share = np.zeros_like(wanted)
            share[part] = wanted[part]
            yield from drive_row_cells(view, estimate, row, cols, share, g_cols, width_s, note)
        return
    v_bl = np.zeros(view.cols)
    v_bl[:] = -drive
    yield from view.pulse(Bias(np.zeros(view.rows), v_bl), width_s, select_rows=[row], note=note)


def release_times(t_need: np.ndarray, width_min_s: float, grid: bool = True) -> np.ndarray:
    """See :meth:`ClosedLoop.release_times`; a time closer than ``width_min_s`` to the previous one joins it."""
    on = t_need > 0
    t = t_need.copy()
    t[on] = np.maximum(t_need[on], width_min_s)
    if grid:
        t[on] = np.maximum(2.0 ** (np.floor(2.0 * np.log2(t[on])) / 2.0), width_min_s)
    accepted, last = [], 0.0
    for time in np.unique(t[on]):
        if time - last >= width_min_s * (1 - 1e-9):
            accepted.append(time)
            last = time
    if accepted:
        times = np.array(accepted)
        t[on] = times[np.searchsorted(times, t[on] * (1 + 1e-12), side="right") - 1]
    return t
