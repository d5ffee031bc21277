"""Programming schemes: processes that issue pulses and reads on an array until it holds a target.

- ``write-verify``: pulses with a verify read after every one; 1T1R arrays row by row with the cells
  of a row in parallel (each bit line at its own amplitude), 1R arrays cell by cell with V/3
  inhibition (drive and verify corrected for IR drop with the controller's model of the array).
  Each cell's pulse width is planned from the device model so that the pulse covers ``aim`` of the
  remaining distance to its target from its verified conductance, at a fixed cell voltage of
  ``v_plan`` x threshold through its known series resistance (model-predictive programming; a row's
  cells get their own widths by releasing each bit line when its time is up). The verify reads close
  the loop on what the plan does not know (IR drop from the other cells, device spread). A cell that
  does not respond is driven harder (``boost`` per silent pulse, up to ``v_max``); one that stays
  silent for ``stuck_after`` pulses is reported stuck instead of looped on.
- ``1t1r-row``: open loop, row-parallel: each cell's pulse width is computed from the device model
  at the start state and realised by releasing its bit line when its time is up.
- ``v/2``, ``v/3``: open loop, 1R, cell by cell, unselected lines at V/2 (or V/3 and 2V/3); the
  half-selected cells feel their real circuit voltages and may drift (write disturb).
Every scheme returns a :class:`ProgramReport`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from cosim.sim.array import Array
from cosim.sim.cosimulate import Bias
from cosim.sim.device_probe import DeviceDrive, probe_drive
from cosim.solve.crossbar import Crossbar
from cosim.solve.row_ladder import single_row_voltages

SCHEMES = ("write-verify", "1t1r-row", "v/2", "v/3")


@dataclass
class ProgramReport:
    """Outcome of programming an array.

    Attributes:
        scheme: the scheme's name. pulses: (rows, cols) pulses applied to each cell.
        error: (rows, cols) final relative error (G - target) / target of each cell's own conductance.
        failed: (rows, cols) cells whose |error| exceeds the tolerance. stuck: cells detected as stuck.
        energy: energy of all pulses and reads, J. time: simulated time taken, s.
        operations: number of engine operations (pulses and reads) issued.
    """

    scheme: str
    tolerance: float
    pulses: np.ndarray
    error: np.ndarray
    failed: np.ndarray
    stuck: np.ndarray
    energy: float
    time: float
    operations: int

    @property
    def success_rate(self) -> float:
        """Fraction of cells within tolerance."""
        return float(1.0 - self.failed.mean())

    def summary(self) -> str:
        return (f"{self.scheme}: {self.success_rate:.1%} of cells within {self.tolerance:.1%}, "
                f"median |error| {np.median(np.abs(self.error)):.2e}, {int(self.pulses.sum())} pulses, "
                f"{int(self.stuck.sum())} stuck, energy {self.energy:.3e} J, time {self.time:.3e} s")


@dataclass(frozen=True)
class WriteVerifyConfig:
    """Write-verify parameters.

    aim: fraction of the remaining distance (in state) each pulse plans to cover.
    v_plan: planned cell voltage as a multiple of the threshold.
    boost: amplitude factor per consecutive pulse without response. v_max: the largest amplitude as a
        multiple of the threshold.
    max_pulses: budget per cell. stuck_after: pulses without response before a cell is called stuck.
    read_voltage: verify read voltage, V (None: the array's timing default).
    parallel_columns: 1T1R: cells of a row programmed together (the drivers' current budget and the
        word line's IR drop); None = the whole row.
    """

    aim: float = 0.6
    v_plan: float = 1.4
    boost: float = 1.25
    v_max: float = 2.5
    max_pulses: int = 60
    stuck_after: int = 6
    read_voltage: float | None = None
    parallel_columns: int | None = 32

    def __post_init__(self) -> None:
        if self.parallel_columns is not None and self.parallel_columns < 1:
            raise ValueError(f"WriteVerifyConfig.parallel_columns must be None or >= 1; got {self.parallel_columns}")
        if not 0 < self.aim <= 1:
            raise ValueError(f"WriteVerifyConfig.aim must be in (0, 1]; got {self.aim}")
        if not 1.0 < self.v_plan <= self.v_max:
            raise ValueError(f"WriteVerifyConfig needs 1 < v_plan <= v_max (multiples of the threshold); "
                             f"got {self.v_plan}, {self.v_max}")
        if self.boost < 1 or self.max_pulses < 1 or self.stuck_after < 2:
            raise ValueError("WriteVerifyConfig: boost >= 1, max_pulses >= 1 and stuck_after >= 2 are required")


@dataclass(frozen=True)
class OpenLoopConfig:
    """Open-loop schemes: programming amplitude (V; None = twice the larger device threshold)."""

    amplitude: float | None = None


def make_scheme(arr: Array, name: str, tolerance: float, amplitude, config):
    """The scheme runner called ``name`` for ``arr`` (validated)."""
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; expected one of {', '.join(SCHEMES)}")
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise ValueError(f"tolerance must be a relative error in (0, 1); got {tolerance!r}")
    if amplitude is not None and not (np.isfinite(amplitude) and amplitude > 0):
        raise ValueError(f"amplitude must be a positive number of volts or None; got {amplitude!r}")
    if name in ("1t1r-row",) and not arr.is_1t1r:
        raise ValueError("scheme '1t1r-row' needs a 1T1R array")
    if name in ("v/2", "v/3") and arr.is_1t1r:
        raise ValueError(f"scheme {name!r} is a half-select scheme for 1R arrays; use '1t1r-row' or 'write-verify'")
    if name == "write-verify":
        cfg = config if config is not None else WriteVerifyConfig()
        if not isinstance(cfg, WriteVerifyConfig):
            raise ValueError(f"write-verify takes a WriteVerifyConfig; got {type(cfg).__name__}")
        return WriteVerify(arr, tolerance, amplitude, cfg)
    cfg = config if config is not None else OpenLoopConfig(amplitude)
    if not isinstance(cfg, OpenLoopConfig):
        raise ValueError(f"{name} takes an OpenLoopConfig; got {type(cfg).__name__}")
    if amplitude is not None:
        cfg = OpenLoopConfig(amplitude)
    return (RowParallel if name == "1t1r-row" else HalfSelect)(arr, tolerance, name, cfg)


class _Scheme:
    """Shared machinery: target validation, the device's drive, bookkeeping, the report."""

    name = ""

    def __init__(self, arr: Array, tolerance: float):
        self.arr, self.tolerance = arr, float(tolerance)
        self.drive: DeviceDrive = probe_drive(arr.device)

    def check_target(self, target: np.ndarray) -> np.ndarray:
        if target.shape != self.arr.shape:
            raise ValueError(f"target_G must have shape {self.arr.shape}; got {target.shape}")
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise ValueError("target_G must be finite and > 0 siemens")
        lo, hi = self.arr.conductance_bounds()
        bad = (target < lo * (1 - 1e-9)) | (target > hi * (1 + 1e-9))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"target_G is outside the device's conductance range at {int(bad.sum())} cells "
                             f"(first: ({i}, {j}) = {target[i, j]:.4g} S, range [{lo[i, j]:.4g}, {hi[i, j]:.4g}] S)")
        return target

    def start(self) -> None:
        self.t0 = self.arr.engine.now
        self.n0 = len(self.arr.trace)
        self.pulses = np.zeros(self.arr.shape, dtype=np.int64)
        self.stuck = np.zeros(self.arr.shape, dtype=bool)

    def report(self, target: np.ndarray) -> ProgramReport:
        g = self.arr.conductances()
        error = (g - target) / target
        new = self.arr.trace.records[self.n0:]
        return ProgramReport(self.name, self.tolerance, self.pulses, error, np.abs(error) > self.tolerance,
                             self.stuck, float(sum(r.energy_j for r in new)), self.arr.engine.now - self.t0, len(new))

    def row_bias(self, row: int, cell_voltage: np.ndarray) -> Bias:
        """1T1R row-parallel bias: word line ``row`` at 0 V, bit line j at -cell_voltage[j] (0 = inhibit)."""
        return Bias(np.zeros(self.arr.rows), -np.asarray(cell_voltage, float))

    def divider(self, row: int, g_cells: np.ndarray) -> np.ndarray:
        """Drive / cell-voltage ratio of a 1T1R row's series path at conductances ``g_cells`` (S)."""
        lay = self.arr.crossbar.layout
        r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
        return 1.0 + (lay.r_on_transistor[row] + r_down) * g_cells


class WriteVerify(_Scheme):
    """ISPP with verify reads (see the module docstring)."""

    name = "write-verify"

    def __init__(self, arr: Array, tolerance: float, amplitude, config: WriteVerifyConfig):
        super().__init__(arr, tolerance)
        self.cfg = config
        d = self.drive
        self.v_th = {+1: d.v_up, -1: d.v_down}
        # the planned cell voltage per direction: ``amplitude`` (V) when given, else v_plan x threshold
        if amplitude is not None and amplitude <= max(d.v_up, d.v_down):
            raise ValueError(f"write-verify amplitude {amplitude} V must exceed the device thresholds "
                             f"({d.v_up:.3g} V up, {d.v_down:.3g} V down)")
        self.v_cell = {k: (amplitude if amplitude is not None else config.v_plan * v) for k, v in self.v_th.items()}
        self.v_read = config.read_voltage or arr.timing.read_voltage
        # a pulse for cells the model cannot move (stuck): 1 % of the range at the planned voltage
        self.fallback_width = {k: d.width_for(k, self.v_cell[k] / self.v_th[k], 0.01) for k in (+1, -1)}
        self._response = None   # (row, conductances, LU factors) of the last row ladder model

    def run(self, target):
        target = self.check_target(target)
        self.start()
        if self.arr.is_1t1r:
            group = self.cfg.parallel_columns or self.arr.cols
            for row in range(self.arr.rows):
                for start in range(0, self.arr.cols, group):
                    yield from self._program_cells(target, row, np.arange(start, min(start + group, self.arr.cols)))
        else:
            yield from self._scan()
            for row in range(self.arr.rows):
                for col in range(self.arr.cols):
                    yield from self._program_cells(target, row, np.array([col]))
        return self.report(target)

    def _verify(self, row: int, cols: np.ndarray):
        """Estimated conductance of the cells (row, cols) from a verify read through the circuit."""
        arr = self.arr
        if arr.is_1t1r:
            v = np.zeros(arr.rows)
            v[row] = self.v_read
            out = yield from arr.read_process(v, select_rows=[row], note="verify")
            self.row_g = self._invert_row(row, out.currents)      # the controller's model of the whole row
            return self.row_g[cols]
        col = int(cols[0])
        out = yield from arr.read_cell_process(row, col, "grounded", self.v_read)
        return self._ir_aware_estimate(row, col, float(out.currents[0]))

    def _scan(self):
        """1R: read every cell once to seed the controller's model of the array (IR-drop corrected)."""
        arr = self.arr
        i_meas = np.empty(arr.shape)
        for row in range(arr.rows):
            for col in range(arr.cols):
                out = yield from arr.read_cell_process(row, col, "grounded", self.v_read)
                i_meas[row, col] = float(out.currents[0])
        lay = arr.crossbar.layout
        self.model = Crossbar(arr.rows, arr.cols, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source,
                              r_sense=lay.r_sense)
        # a grounded-lines read of cell (i, j) is v_read * T[i, j]: correct all estimates together
        self.model_g = np.maximum(i_meas / self.v_read, 1e-12)
        for _ in range(self.MODEL_ITERATIONS):
            self.model.set_conductances(self.model_g)
            self.model_g = np.clip(self.model_g * i_meas / (self.v_read * self.model.transfer_matrix()), 1e-12, 1e3)

    MODEL_ITERATIONS = 4

    def _invert_row(self, row: int, currents: np.ndarray) -> np.ndarray:
        """Cell conductances of a selected 1T1R row from its sense currents, through the known periphery."""
        lay = self.arr.crossbar.layout
        u = self.v_read - lay.r_source[row] * currents.sum()
        tail = np.cumsum(currents[::-1])[::-1]                     # current in the segment left of column j
        u = u - np.concatenate([[0.0], np.cumsum(lay.r_wl[row] * tail[1:])])
        r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
        v_cell = u - currents * (lay.r_on_transistor[row] + r_down)
        return currents / np.where(v_cell > 0, v_cell, np.nan)

    def _ir_aware_estimate(self, row: int, col: int, i_meas: float) -> np.ndarray:
        """Cell conductance from a grounded-lines read, corrected for IR drop with the controller's model.

        The model (known wires, estimated cells) predicts the read current for the present estimate;
        the estimate is scaled by measured / predicted until they agree (a contraction: the cell's
        own conductance dominates its read current).
        """
        v = np.zeros(self.arr.rows)
        v[row] = self.v_read
        for _ in range(self.MODEL_ITERATIONS):
            self.model.set_conductances(self.model_g)
            i_model = float(self.model.solve_bias(v).sense_currents[col])
            self.model_g[row, col] = min(max(self.model_g[row, col] * i_meas / i_model, 1e-12), 1e3)
        return np.array([self.model_g[row, col]])

    def _program_cells(self, target: np.ndarray, row: int, cols: np.ndarray):
        cfg, arr = self.cfg, self.arr
        n = cols.size
        flat = row * arr.cols + cols
        r_series = self._series_resistance(row, cols)
        quiet = np.zeros(n, dtype=int)      # consecutive pulses without response
        pulsed = np.zeros(n, dtype=bool)    # cells pulsed since the last verify
        g_prev = None
        while True:
            g_est = yield from self._verify(row, cols)
            err = (g_est - target[row, cols]) / target[row, cols]
            if g_prev is not None:
                still = pulsed & (np.abs(g_est - g_prev) <= 1e-4 * np.abs(g_prev))
                quiet = np.where(still, quiet + 1, np.where(pulsed, 0, quiet))
            self.stuck[row, cols] |= quiet >= cfg.stuck_after
            active = (np.abs(err) > self.tolerance) & ~self.stuck[row, cols] & (self.pulses[row, cols] < cfg.max_pulses)
            if not active.any():
                return
            direction = np.where(err < 0, 1, -1)            # +1: conductance must rise
            for d in (+1, -1):
                cells = active & (direction == d)
                if not cells.any():
                    continue
                v_cell = self.v_cell[d]
                widths = self.drive.plan_widths(flat[cells], g_est[cells], target[row, cols[cells]], d, v_cell,
                                                r_series[cells], cfg.aim)
                widths = np.where(np.isfinite(widths), widths, self.fallback_width[d])   # the model says: cannot move
                amp = np.minimum(v_cell * cfg.boost ** quiet[cells], cfg.v_max * self.v_th[d])
                volts = np.zeros(n)
                volts[cells] = self.drive.polarity(d) * amp
                t_need = np.zeros(n)
                t_need[cells] = widths
                yield from self._pulse_train(row, cols, volts, g_est, r_series, t_need)
            self.pulses[row, cols[active]] += 1
            pulsed = active
            g_prev = g_est

    def _series_resistance(self, row: int, cols: np.ndarray) -> np.ndarray:
        """Known resistance in series with each cell on its programming path (1T1R: transistor + bit line)."""
        if not self.arr.is_1t1r:
            return np.zeros(cols.size)
        lay = self.arr.crossbar.layout
        return (lay.r_on_transistor[row] + lay.r_bl[row:].sum(axis=0) + lay.r_sense)[cols]

    def _pulse_train(self, row: int, cols: np.ndarray, cell_volts: np.ndarray, g_est: np.ndarray,
                     r_series: np.ndarray, t_need: np.ndarray):
        """Drive each cell for its own time ``t_need`` (s): one pulse per distinct release time.

        Times are rounded down onto a grid of ratio sqrt(2), so a row needs few segments. In a 1T1R
        row the drives of each segment are corrected for the word line's IR drop with the controller's
        model of the row (known wires and transistors, the verified conductances).
        """
        on = t_need > 0
        grid = 2.0 ** (np.floor(2.0 * np.log2(t_need[on])) / 2.0)
        t_need = t_need.copy()
        t_need[on] = grid
        g_model = np.nan_to_num(g_est, nan=0.0)
        t_done = 0.0
        for t_end in np.unique(t_need[on]):
            live = on & (t_need >= t_end)
            wanted = np.where(live, cell_volts, 0.0)
            if self.arr.is_1t1r:    # every bit line of the row is driven: the others are held at 0 V
                yield from self._pulse(row, np.arange(self.arr.cols), self._row_drive(row, cols, wanted, g_model),
                                       t_end - t_done)
            else:
                yield from self._pulse(row, cols, wanted * (1.0 + r_series * g_model), t_end - t_done)
            t_done = t_end

    def _row_drive(self, row: int, cols: np.ndarray, wanted: np.ndarray, g_model: np.ndarray) -> np.ndarray:
        """Bit-line drives (V, every column of the row) that put ``wanted`` on the 1T1R cells (row, cols)
        and 0 V on the row's other cells.

        The row is the exact ladder of :mod:`cosim.solve.row_ladder` with the model's conductances; the
        cell voltages are linear in the drives (a matrix built from one batched ladder solve), and the
        drives solve it exactly, so the word line's IR drop is compensated and inhibited cells (wanted
        0 V) stay at 0 V. If the model asks for more than ``DRIVE_LIMIT`` x the largest wanted voltage
        (a word line too resistive to compensate), the divider-only drive is used instead.
        """
        lay = self.arr.crossbar.layout
        n = self.arr.cols
        g = np.maximum(np.nan_to_num(self.row_g, nan=0.0), 1e-12)   # every cell of the row conducts
        g[cols] = np.maximum(g_model, 1e-12)
        r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
        r_t = lay.r_on_transistor[row]
        w = np.zeros(n)
        w[cols] = wanted
        divider = 1.0 + (r_t + r_down) * g
        if self._response is None or self._response[0] != row or not np.array_equal(self._response[1], g):
            # column k of the response: cell voltages for a unit drive on bit line k (bit-line end at -1 V)
            u = single_row_voltages(g, r_t, lay.r_wl[row], float(lay.r_source[row]), r_down, np.zeros(n), -np.eye(n))
            self._response = (row, g, lu_factor(((u + np.eye(n)) / divider[None, :]).T))   # (cell j, drive k)
        drive = lu_solve(self._response[2], w)
        if not np.all(np.isfinite(drive)) or np.max(np.abs(drive)) > self.DRIVE_LIMIT * np.max(np.abs(w) * divider):
            drive = w * divider
        return drive

    DRIVE_LIMIT = 1e3

    def _pulse(self, row: int, cols: np.ndarray, drive: np.ndarray, width: float):
        arr = self.arr
        if arr.is_1t1r:
            v = np.zeros(arr.cols)
            v[cols] = drive
            yield from arr.pulse_process(self.row_bias(row, v), width, select_rows=[row], note="write-verify")
            return
        col = int(cols[0])
        wanted = float(drive[0])
        # IR-drop-aware drive: scale the bias so the controller's model puts ``wanted`` on the cell
        self.model.set_conductances(self.model_g)
        probe = arr.cell_bias(row, col, wanted, "v/3")
        v_model = float(self.model.solve_bias(probe.v_wl, probe.v_bl).cell_voltages[row, col])
        scale = wanted / v_model if v_model * wanted > 0 else 1.0
        # keep the unselected lines (at V/3, 2V/3) under every threshold: no write disturb
        limit = 0.97 * 3.0 * min(self.drive.v_up, self.drive.v_down)
        bias = arr.cell_bias(row, col, float(np.clip(wanted * scale, -limit, limit)), "v/3")
        yield from arr.pulse_process(bias, width, note="write-verify")


class _OpenLoop(_Scheme):
    def __init__(self, arr: Array, tolerance: float, name: str, config: OpenLoopConfig):
        super().__init__(arr, tolerance)
        self.name = name
        self.amplitude = config.amplitude or 2.0 * max(self.drive.v_up, self.drive.v_down)

    def widths(self, target_g: np.ndarray, cells: np.ndarray, cell_volts: np.ndarray) -> np.ndarray:
        """Pulse width (s) per cell to reach ``target_g`` at the model's rate under ``cell_volts``."""
        return self.drive.time_to(target_g, cells, cell_volts)


class RowParallel(_OpenLoop):
    """1T1R row-parallel open-loop programming with per-bit-line pulse widths."""

    def run(self, target):
        target = self.check_target(target)
        self.start()
        arr = self.arr
        for row in range(arr.rows):
            g_now = arr.conductances()[row]
            err = (g_now - target[row]) / target[row]
            for d in (+1, -1):
                need = (np.abs(err) > self.tolerance) & (np.where(err < 0, 1, -1) == d)
                if not need.any():
                    continue
                cell_v = self.drive.polarity(d) * self.amplitude
                cells = row * arr.cols + np.flatnonzero(need)
                t_need = np.zeros(arr.cols)
                t_need[need] = self.widths(target[row, need], cells, np.full(cells.size, cell_v))
                drive_v = cell_v * self.divider(row, g_now)
                t_done = 0.0
                for t_end in np.unique(t_need[need & (t_need > 0)]):
                    on = need & (t_need >= t_end)
                    v = np.where(on, drive_v, 0.0)
                    yield from arr.pulse_process(self.row_bias(row, v), t_end - t_done, select_rows=[row],
                                                 note="1t1r-row")
                    t_done = t_end
                self.pulses[row, need] += 1
        return self.report(target)


class HalfSelect(_OpenLoop):
    """1R cell-by-cell open-loop programming with V/2 or V/3 inhibition of the unselected lines."""

    def run(self, target):
        target = self.check_target(target)
        self.start()
        arr = self.arr
        mode = "v/2" if self.name == "v/2" else "v/3"
        for row in range(arr.rows):
            for col in range(arr.cols):
                g_now = arr.conductances()[row, col]
                err = (g_now - target[row, col]) / target[row, col]
                if abs(err) <= self.tolerance:
                    continue
                d = 1 if err < 0 else -1
                cell_v = self.drive.polarity(d) * self.amplitude
                cell = np.array([row * arr.cols + col])
                width = float(self.widths(target[row, col:col + 1], cell, np.array([cell_v]))[0])
                if width <= 0:
                    continue
                bias = arr.cell_bias(row, col, cell_v, mode)
                yield from arr.pulse_process(bias, width, note=self.name)
                self.pulses[row, col] += 1
        return self.report(target)
