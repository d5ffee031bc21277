"""ISPP, incremental step pulse programming: the industry's write-verify.

Every pulse has the direction's fixed width; its amplitude at the driver climbs a ladder (``v_start``,
``v_start + v_step``, ... ``v_stop``) one rung per pulse, with a verify read after each. A cell below
its target climbs the SET ladder, above it the RESET ladder; a cell that overshoots turns back and
starts the other ladder from its first rung with half the step it had (coarse-to-fine: the first pulse
that moves it moves it less each time), or, with ``reset_on_overshoot``, is first erased to the
low-conductance bound and climbs again. The controller's model and the layout are used only to derive
default ladders and widths; the loop itself needs nothing but the reads.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.closed_loop import V3_MARGIN, ClosedLoop
from cosim.sim.control.config import IsppConfig, Ladder
from cosim.sim.control.view import ControllerView

RUNGS = 24            # rungs of a derived ladder
OVERDRIVE = 1.6       # a derived ladder stops at this x threshold at the worst-case divider
MIN_STEP_SCALE = 1.0 / 64   # the finest step, as a fraction of the ladder's
MOVE = 0.02           # a derived width moves a mid-range cell this fraction of its range at 1.2 x threshold


class Ispp(ClosedLoop):
    """Incremental step pulse programming (see the module docstring)."""

    name = "ispp"
    stuck_after = 4

    def __init__(self, view: ControllerView, tolerance: float, config: IsppConfig):
        super().__init__(view, tolerance, config)
        lim = view.limits
        self.ladder = {+1: config.set_ladder or self._derived_ladder(+1),
                       -1: config.reset_ladder or self._derived_ladder(-1)}
        given = {+1: config.set_width_s, -1: config.reset_width_s}
        self.width = {d: given[d] if given[d] is not None else
                      float(np.clip(self.model.width_for(d, 1.2 * self.model.threshold(d), MOVE),
                                    lim.width_min_s, lim.width_max_s)) for d in (+1, -1)}
        self.rung = np.zeros(view.shape, dtype=np.int64)
        self.step_scale = np.ones(view.shape)       # halved at every turn
        self.last_direction = np.zeros(view.shape, dtype=np.int8)

    def _derived_ladder(self, direction: int) -> Ladder:
        """From the threshold at the best-case divider to OVERDRIVE x threshold at the worst, within the limits."""
        view, m = self.view, self.model
        v_th = m.threshold(direction)
        v_max = view.limits.v_line_max
        if view.is_1t1r:
            r_s = np.concatenate([view.series_resistance(r, np.arange(view.cols)) for r in range(view.rows)])
            g_lo, g_hi = (float(np.median(b)) for b in m.bounds())
            start, stop = v_th * (1 + r_s.min() * g_lo), OVERDRIVE * v_th * (1 + r_s.max() * g_hi)
        else:
            start, stop = v_th, OVERDRIVE * v_th
            v_max = min(v_max, V3_MARGIN * 3.0 * min(m.v_up, m.v_down))
        stop = max(min(stop, v_max), start)
        start = min(start, stop)
        return Ladder(start, max((stop - start) / RUNGS, 1e-3), stop)

    def begin_group(self, row, cols):
        self.rung[row, cols] = 0
        self.step_scale[row, cols] = 1.0
        self.last_direction[row, cols] = 0

    def full_drive(self, row, cols):
        d = self.last_direction[row, cols]
        top = np.array([self.ladder[int(k)].v_stop if k else np.inf for k in d])
        rung = (self.rung[row, cols] - 1) * self.step_scale[row, cols]
        amp = np.array([self.ladder[int(k)].amplitude(r) if k else 0.0 for k, r in zip(d, rung)])
        return amp >= top * (1 - 1e-12)

    def pulse(self, row, cols, g_est, target, active, quiet):
        m, view = self.model, self.view
        direction = np.where(g_est < target, 1, -1).astype(np.int8)
        turned = active & (self.last_direction[row, cols] != 0) & (direction != self.last_direction[row, cols])
        if turned.any():
            self.rung[row, cols[turned]] = 0
            self.step_scale[row, cols[turned]] = np.maximum(self.step_scale[row, cols[turned]] / 2, MIN_STEP_SCALE)
            if self.cfg.reset_on_overshoot:
                yield from self._erase(row, cols, turned & (direction > 0))
        for d in (+1, -1):
            cells = active & (direction == d)
            if not cells.any():
                continue
            rung = self.rung[row, cols] * self.step_scale[row, cols]
            amp = np.where(cells, self.ladder[d].amplitude(rung), 0.0) * m.polarity(d)
            if view.is_1t1r:
                yield from self.pulse_row(row, cols, amp, self.width[d])
            else:
                yield from self.pulse_cell(row, int(cols[0]), float(amp[0]), self.width[d])
            self.rung[row, cols[cells]] += 1
            self.last_direction[row, cols[cells]] = d

    def _erase(self, row, cols, which):
        """Drive ``which`` cells to the low-conductance bound: the last RESET rung for the longest pulse."""
        if not which.any():
            return
        amp = np.where(which, self.ladder[-1].v_stop * self.model.polarity(-1), 0.0)
        if self.view.is_1t1r:
            yield from self.pulse_row(row, cols, amp, self.view.limits.width_max_s)
        else:
            yield from self.pulse_cell(row, int(cols[0]), float(amp[0]), self.view.limits.width_max_s)
