"""Open-loop programming: one planned pulse per cell from an assumed start, and no reads at all.

The controller knows nothing of the cells' present states. By default it first erases the addressed
cells to a bound (``OpenLoopConfig.erase_to``) with pulses long enough for its model to reach the
bound from the other one, and assumes they are there; or it assumes the caller's ``assumed_start``.
Each cell's pulse is then planned from the controller's model: its width at the cell voltage
``amplitude`` through the designed series resistance, the divider followed as the cell moves
(:meth:`ControllerModel.plan_widths`). What the real devices do differently (spread, faults, the
other cells' IR drop, half-select disturb) stays in the result.

- ``1t1r-row``: a row at a time, its cells in parallel; the drives compensate the word line's IR drop
  at the assumed conductances, and each bit line is released when its cell's time is up.
- ``v/2``, ``v/3``: 1R, cell by cell in the configured order (by default the cells farthest from the
  drivers first), the unselected lines at V/2 (or V/3 and 2V/3); a row is erased by driving its word
  line with every other line at 0 V.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.closed_loop import ControllerResult, drive_row_cells, release_times
from cosim.sim.control.config import Bound, OpenLoopConfig, Scheme
from cosim.sim.control.estimate import RowEstimate
from cosim.sim.control.sequence import cell_order
from cosim.sim.control.view import ControllerView
from cosim.sim.cosimulate import Bias

ERASE_MARGIN = 2.0    # an erase pulse lasts this x the model's time from one bound to the other


class OpenLoop:
    """Open-loop programming (see the module docstring)."""

    def __init__(self, view: ControllerView, tolerance: float, config: OpenLoopConfig, scheme: Scheme):
        self.view, self.tolerance, self.cfg, self.scheme = view, float(tolerance), config, scheme
        self.model = view.model
        self.name = scheme.value
        self.amplitude = config.amplitude or 2.0 * max(self.model.v_up, self.model.v_down)
        self.pulses = np.zeros(view.shape, dtype=np.int64)
        self.row_model = RowEstimate(view) if view.is_1t1r else None

    def run(self, target: np.ndarray, addressed: np.ndarray):
        view = self.view
        if self.cfg.assumed_start is not None:
            start = np.asarray(self.cfg.assumed_start, float)
            if start.shape != view.shape:
                raise ValueError(f"OpenLoopConfig.assumed_start must have shape {view.shape}; got {start.shape}")
            g_from = start.copy()
        else:
            g_from = yield from self._erase(addressed)
        if view.is_1t1r:
            for row in range(view.rows):
                cols = np.flatnonzero(addressed[row])
                if cols.size:
                    yield from self._program_row(row, cols, g_from[row], target[row])
                    view.done(cols.size)
        else:
            for row, col in cell_order(view, addressed, self.cfg.order):
                yield from self._program_cell(int(row), int(col), g_from[row, col], target[row, col])
                view.done(1)
        return ControllerResult(self.pulses, np.zeros(view.shape, bool), addressed)

    def _direction_cells(self, g_from, target, cols):
        """(direction, mask over ``cols``) of the cells the assumption says are out of tolerance."""
        err = (g_from[cols] - target[cols]) / target[cols]
        need = np.abs(err) > self.tolerance
        for d in (+1, -1):
            yield d, need & (np.where(err < 0, 1, -1) == d)

    def _plan(self, flat, g_from, g_to, d: int, r_series):
        v_cell = np.full(flat.size, self.amplitude)
        return self.model.fit_to_min_width(flat, g_from, g_to, d, v_cell, r_series, 1.0,
                                           self.view.limits.width_min_s, self.cfg.plan_substeps)

    def _program_row(self, row: int, cols: np.ndarray, g_from: np.ndarray, target: np.ndarray):
        view = self.view
        r_series = view.series_resistance(row, cols)
        self.row_model.g_row[row] = np.where(np.isnan(g_from), np.median(self.model.bounds()[0]), g_from)
        for d, cells in self._direction_cells(g_from, target, cols):
            if not cells.any():
                continue
            sel = cols[cells]
            v_cell, widths = self._plan(row * view.cols + sel, g_from[sel], target[sel], d, r_series[cells])
            t_need = np.zeros(view.cols)
            t_need[sel] = np.where(np.isfinite(widths), widths, 0.0)
            t_need = release_times(t_need, view.limits.width_min_s, grid=False)
            volts = np.zeros(view.cols)
            volts[sel] = self.model.polarity(d) * v_cell
            t_done = 0.0
            for t_end in np.unique(t_need[t_need > 0]):
                wanted = np.where(t_need >= t_end, volts, 0.0)
                yield from drive_row_cells(view, self.row_model, row, np.arange(view.cols), wanted,
                                           self.row_model.g_row[row], t_end - t_done, self.name)
                t_done = t_end
            self.pulses[row, sel] += 1

    def _program_cell(self, row: int, col: int, g_from: float, target: float):
        err = (g_from - target) / target
        if abs(err) <= self.tolerance:
            return
        d = 1 if err < 0 else -1
        flat = np.array([row * self.view.cols + col])
        v_cell, width = self._plan(flat, np.array([g_from]), np.array([target]), d, np.zeros(1))
        if not np.isfinite(width[0]) or width[0] <= 0:
            return
        bias = self.view.cell_bias(row, col, self.model.polarity(d) * float(v_cell[0]), self.scheme.value)
        yield from self.view.pulse(bias, float(width[0]), note=self.name)
        self.pulses[row, col] += 1

    # ---- the erase ------------------------------------------------------------------------------------
    def _erase(self, addressed: np.ndarray):
        """Drive every addressed cell to ``erase_to``; returns the conductances (S) the controller assumes."""
        view, m = self.view, self.model
        g_lo, g_hi = m.bounds()
        d = -1 if self.cfg.erase_to is Bound.LOW else +1
        g_to = (g_lo if d < 0 else g_hi).reshape(view.shape)
        g_from = (g_hi if d < 0 else g_lo).reshape(view.shape)
        sign = m.polarity(d)
        for row in range(view.rows):
            cols = np.flatnonzero(addressed[row])
            if cols.size == 0:
                continue
            flat = row * view.cols + cols
            r_series = view.series_resistance(row, cols) if view.is_1t1r else np.zeros(cols.size)
            widths = m.plan_widths(flat, g_from[row, cols], g_to[row, cols], d, np.full(cols.size, self.amplitude),
                                   r_series, 1.0, self.cfg.plan_substeps)
            width = ERASE_MARGIN * float(np.max(widths))
            n_pulses = int(np.ceil(width / view.limits.width_max_s)) if np.isfinite(width) else 1
            width = min(width, view.limits.width_max_s)
            for _ in range(n_pulses):
                if view.is_1t1r:
                    v_bl = np.zeros(view.cols)
                    v_bl[cols] = -sign * self.amplitude * (1.0 + r_series * g_from[row, cols])
                    yield from view.pulse(Bias(np.zeros(view.rows), v_bl), width, select_rows=[row], note="erase")
                else:
                    yield from view.pulse(self._row_erase_bias(row, addressed[row], sign * self.amplitude), width,
                                          note="erase")
            self.pulses[row, cols] += n_pulses
        return np.where(addressed, g_to, np.nan)

    def _row_erase_bias(self, row: int, addressed_row: np.ndarray, voltage: float) -> Bias:
        """1R row erase: word line ``row`` at ``voltage``, the addressed bit lines at 0 V, the other lines at
        0 V when the whole row is addressed (no other cell sees a voltage), else at V/2 (half-select)."""
        view = self.view
        half = 0.0 if addressed_row.all() else 0.5 * voltage
        v_wl = np.full(view.rows, half)
        v_wl[row] = voltage
        v_bl = np.where(addressed_row, 0.0, half)
        return Bias(v_wl, v_bl)
