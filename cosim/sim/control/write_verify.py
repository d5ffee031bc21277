"""Model-predictive write-verify: each pulse's width planned from the controller's model, a verify after it.

Each cell's pulse is planned so that it covers ``aim`` of the remaining distance (in state) to its
target from its verified conductance, at the planned cell voltage through its known series resistance
(the divider followed as the cell moves, :meth:`ControllerModel.plan_widths`). A plan shorter than the
generator's shortest pulse is made at a lower voltage instead. A 1T1R row's cells get their own widths
by releasing each bit line when its time is up; the drives are corrected for the word line's IR drop
with the controller's model of the row. A cell that does not respond is driven harder (``boost`` per
silent pulse on the planned voltage, up to ``v_max`` x threshold). On a 1R array no pulse goes beyond the line limit that keeps
the other cells clear of their thresholds (:meth:`ClosedLoop.line_limit`); a cell that limit cannot drive
to ``REACH_MARGIN`` x its threshold is reported stuck rather than pulsed for ever near threshold; with
``inhibit="optimal"`` such a cell is driven instead by the best static bias of the controller's model
(:mod:`cosim.sim.control.optimal_bias`) where that reaches further. The
verify reads close the loop on what the model does
not know (device spread, a miscalibrated model, IR drop from the other cells).

With ``learn``, each cell keeps a gain per direction: how far (in the model's state) its last pulse
moved it against how far the model planned. Its next plan aims ``aim / gain`` of the way in the model's
terms, so that it covers ``aim`` of the way in the cell's own; the gain is re-measured after every pulse
that moved the cell the planned way and is kept within [1 / GAIN_SPAN, GAIN_SPAN].
"""
from __future__ import annotations

import numpy as np

from cosim.sim.control.closed_loop import ClosedLoop, drive_row_cells
from cosim.sim.control.config import Inhibit, WriteVerifyConfig
from cosim.sim.control.estimate import G_FLOOR
from cosim.sim.control.optimal_bias import optimal_bias, response_matrix
from cosim.sim.control.view import ControllerView
from cosim.sim.cosimulate import Bias

GAIN_SPAN = 4.0      # learned gains stay within [1 / GAIN_SPAN, GAIN_SPAN]
AIM_MAX = 1.5        # a learned plan aims at most this x the remaining distance in the model's terms
REACH_MARGIN = 1.03  # 1R: a cell the line limit drives to less than this x threshold is called stuck


class WriteVerify(ClosedLoop):
    """Model-predictive write-verify (see the module docstring)."""

    name = "write-verify"

    def __init__(self, view: ControllerView, tolerance: float, config: WriteVerifyConfig):
        super().__init__(view, tolerance, config)
        self.stuck_after = config.stuck_after
        m = self.model
        if config.v_cell is not None and config.v_cell <= max(m.v_up, m.v_down):
            raise ValueError(f"WriteVerifyConfig.v_cell = {config.v_cell} V must exceed the model's thresholds "
                             f"({m.v_up:.3g} V up, {m.v_down:.3g} V down)")
        self.v_cell = {d: config.v_cell if config.v_cell is not None else config.v_plan * m.threshold(d)
                       for d in (+1, -1)}
        # the pulse for cells the model says cannot move: 1 % of the range at the planned voltage
        self.fallback_width = {d: float(np.clip(m.width_for(d, self.v_cell[d], 0.01), view.limits.width_min_s,
                                                view.limits.width_max_s)) for d in (+1, -1)}
        n = view.rows * view.cols
        self.gain = {d: np.ones(n) for d in (+1, -1)}
        # the last plan of every cell: its model state before the pulse, the planned move, its direction
        self._from = np.full(n, np.nan)
        self._move = np.zeros(n)
        self._dir = np.zeros(n, dtype=np.int8)
        self._lp: dict = {}         # 1R optimal inhibition: (row, col, direction) -> (OptimalBias, open-circuit V)
        self._use_lp = False        # the present pulse of the visit uses the LP's bias

    def _learn(self, flat: np.ndarray, g_est: np.ndarray) -> None:
        """Update the gains of ``flat`` from what their last pulses did (states from the verify reads)."""
        had = np.isfinite(self._from[flat]) & (self._move[flat] != 0)
        if not had.any():
            return
        cells = flat[had]
        moved = self.model.device.state_for(cells, g_est[had]) - self._from[cells]
        ratio = moved / self._move[cells]
        for d in (+1, -1):
            ok = (self._dir[cells] == d) & (ratio > 0)
            self.gain[d][cells[ok]] = np.clip(ratio[ok], 1.0 / GAIN_SPAN, GAIN_SPAN)
        self._from[cells] = np.nan

    def _aims(self, flat: np.ndarray, g_est: np.ndarray, target: np.ndarray, d: int) -> np.ndarray:
        """Per-cell aims in the model's terms (``aim`` / gain, within the model's state range), and the plan
        recorded for learning."""
        aim = np.full(flat.size, self.cfg.aim)
        dev = self.model.device
        s_from, s_to = dev.state_for(flat, g_est), dev.state_for(flat, target)
        if self.cfg.learn:
            lo, hi = (b[flat] for b in dev.state_bounds())
            bound = np.where(np.sign(s_to - s_from) == np.sign(lo - hi), lo, hi)    # the bound it moves towards
            room = np.abs(bound - s_from) / np.maximum(np.abs(s_to - s_from), 1e-300)
            aim = np.clip(aim / self.gain[d][flat], 0.0, np.minimum(AIM_MAX, room))
            self._from[flat], self._move[flat], self._dir[flat] = s_from, aim * (s_to - s_from), d
        return aim

    def pulse(self, row, cols, g_est, target, active, quiet):
        cfg, m, view = self.cfg, self.model, self.view
        flat = row * view.cols + cols
        r_series = self.estimate.series_resistance(row, cols)      # 1R: the cell's Thevenin resistance
        direction = np.where(g_est < target, 1, -1)            # +1: conductance must rise
        pulsed = active.copy()
        if cfg.learn:
            self._learn(flat, g_est)
        for d in (+1, -1):
            cells = active & (direction == d)
            if not cells.any():
                continue
            amp = np.full(int(cells.sum()), self.v_cell[d])
            top = np.full(amp.size, cfg.v_max * m.threshold(d))
            goal = target[cells]
            if not view.is_1t1r:
                top, goal = self._within_reach(row, int(cols[0]), d, g_est[0], goal, top)
                if goal is None:
                    pulsed[:] = False
                    return pulsed
                amp = np.minimum(amp, top)
            aim = self._aims(flat[cells], g_est[cells], goal, d)
            amp, widths = m.fit_to_min_width(flat[cells], g_est[cells], goal, d, amp, r_series[cells],
                                             aim, view.limits.width_min_s)
            # a silent cell sees less than the model says: raise the voltage the plan settled on
            amp = np.minimum(amp * cfg.boost ** quiet[cells], np.maximum(amp, top))
            widths = np.where(np.isfinite(widths) & (widths > 0), widths, self.fallback_width[d])
            volts = np.zeros(cols.size)
            volts[cells] = m.polarity(d) * amp
            t_need = np.zeros(cols.size)
            t_need[cells] = widths
            yield from self._pulse_train(row, cols, volts, g_est, r_series, t_need)
        return pulsed

    def _within_reach(self, row: int, col: int, d: int, g_now: float, goal: np.ndarray, amp: np.ndarray):
        """1R: the cell voltage (V) and goal conductance (S) of cell (row, col) within what the line limit can
        drive; a SET cell's voltage falls as it rises (its Thevenin divider), so a goal beyond the
        conductance at which the limit leaves ``REACH_MARGIN`` x threshold on it is brought back to that
        conductance, and the cell is reported stuck (it cannot be reached without disturbing other cells).
        (amp, None): the cell cannot be moved at all."""
        m = self.model
        limit = self.line_limit(row, col, m.polarity(d))
        port = self.estimate.port(row, col, "v/3")
        floor = REACH_MARGIN * m.threshold(d)
        v_open = port.v_open * limit                       # the cell's open-circuit voltage at the limit, V
        short = abs(v_open) / (1.0 + g_now * port.r_th) < floor or (d > 0 and port.cell_voltage(goal[0], limit) < floor)
        if short and self.cfg.inhibit is Inhibit.OPTIMAL:
            lp = self._optimal_open(row, col, d, g_now, port.r_th)
            if lp is not None and abs(lp) > abs(v_open):
                v_open = lp
        self._use_lp = short and self.cfg.inhibit is Inhibit.OPTIMAL and (row, col, d) in self._lp and \
            v_open == self._lp[(row, col, d)][1]
        reach = abs(float(v_open / (1.0 + g_now * port.r_th)))
        if reach < floor:
            self.stuck[row, col] = True
            return amp, None
        if d > 0 and abs(v_open) / (1.0 + goal[0] * port.r_th) < floor:
            goal = np.array([(abs(v_open) / floor - 1.0) / port.r_th])
            self.stuck[row, col] = True
        return np.minimum(amp, reach * (1 - 1e-9)), goal

    def begin_group(self, row, cols):
        super().begin_group(row, cols)
        self._lp.clear()
        self._use_lp = False

    def _optimal_open(self, row: int, col: int, d: int, g_now: float, r_th: float):
        """1R: the open-circuit voltage (V, magnitude) on cell (row, col) of the best static bias of direction
        ``d`` by the controller's model (:mod:`cosim.sim.control.optimal_bias`; kept for the visit), or None
        where the LP has no solution."""
        key = (row, col, d)
        if key not in self._lp:
            m = self.model
            sign = m.polarity(d)
            v_pos, v_neg = (m.v_up, m.v_down) if m.sign_up > 0 else (m.v_down, m.v_up)
            g = np.nan_to_num(self.estimate.g, nan=G_FLOOR)
            response = response_matrix(self.estimate.model, g)
            bias = optimal_bias(response, row, col, sign, v_pos, v_neg, self.view.limits.v_line_max)
            self._lp[key] = (bias, abs(bias.v_cell) * (1.0 + g_now * r_th) if bias.ok else None)
        return self._lp[key][1]

    def _pulse_train(self, row, cols, cell_volts, g_est, r_series, t_need):
        """Drive each cell for its own time (s): one pulse per release time, bit lines released as cells finish."""
        view = self.view
        if view.is_1t1r:
            t_need = self.release_times(t_need)
        on = t_need > 0
        g_model = np.nan_to_num(g_est, nan=0.0)
        t_done = 0.0
        for t_end in np.unique(t_need[on]):
            live = on & (t_need >= t_end)
            wanted = np.where(live, cell_volts, 0.0)
            if view.is_1t1r:    # every bit line of the row is driven: the others are held at 0 V
                yield from drive_row_cells(view, self.estimate, row, cols, wanted, g_model, t_end - t_done, self.name)
            elif self._use_lp:      # the LP's bias, scaled to put ``wanted`` on the cell at its estimate
                col = int(cols[0])
                d = 1 if np.sign(wanted[0]) == self.model.polarity(1) else -1
                bias, v_open = self._lp[(row, col, d)]
                r_th = self.estimate.port(row, col, "v/3").r_th
                g = float(g_model[0]) if np.isfinite(g_model[0]) else G_FLOOR
                scale = min(1.0, abs(float(wanted[0])) * (1.0 + g * r_th) / v_open)
                lines = bias.scaled(scale)
                yield from self.view.pulse(Bias(lines.v_wl, lines.v_bl), t_end - t_done, note=self.name)
            else:
                col = int(cols[0])
                line = self.estimate.line_voltage(row, col, float(wanted[0]), "v/3")
                yield from self.pulse_cell(row, col, line, t_end - t_done)
            t_done = t_end
