"""An array as hardware on the engine clock: a crossbar circuit, the device state of its cells, its
temperature, per-cell aging memory, and the trace of every operation done to it.

Every operation first ages the cells up to ``now`` (:meth:`Array.catch_up`), so the gaps between
operations and the operations' own durations age the cells like an idle period does (see
:mod:`cosim.sim.engine`). Trace records list the rows and columns each operation addressed explicitly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim.sim.aging import AgingLaws, AgingState, check_cycles, default_endurance, default_retention
from cosim.sim import defects
from cosim.sim.cell_clock import CellClock
from cosim.sim.cell_read import read_cell_now
from cosim.sim.cosimulate import (Bias, CosimConfig, PulseOutcome, Unselected, cell_bias, check_bias, co_simulate,
                                  disturb, may_move, parse_unselected, row_currents, stamp, stamp_read)
from cosim.sim.engine import check_duration, check_temperature
from cosim.sim.trace import Trace, TraceRecord
from cosim.sim.wear import CycleDrive, cycle_energy
from cosim.solve.crossbar import Crossbar
from cosim.validate import real_array


@dataclass(frozen=True)
class Timing:
    """Durations and levels of the array's periphery.

    Attributes:
        read_s: duration of one read (one input vector), s.
        read_voltage: default read voltage, V.
        cycle_s: duration of one SET/RESET cycle (two pulses), s.
        cycle_drive: the pulses of one cycle; ``cycle(n)`` charges n times their energy from the device
            model (:mod:`cosim.sim.wear`). None: the shortcut records no energy.
    """

    read_s: float = 1e-8
    read_voltage: float = 0.1
    cycle_s: float = 2e-7
    cycle_drive: CycleDrive | None = None

    def __post_init__(self) -> None:
        for name in ("read_s", "read_voltage", "cycle_s"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"Timing.{name} must be finite and > 0; got {getattr(self, name)!r}")
        if self.cycle_drive is not None and not isinstance(self.cycle_drive, CycleDrive):
            raise TypeError(f"Timing.cycle_drive must be a CycleDrive or None; got {self.cycle_drive!r}")


@dataclass
class ReadOutcome:
    currents: np.ndarray
    energy_j: float = 0.0
    extra: dict = field(default_factory=dict)


class Array:
    """``rows x cols`` cells of ``device`` in a 1R or 1T1R crossbar on an :class:`Engine`.

    Args:
        engine: the clock and ambient temperature.
        cell: "1R" or "1T1R". device: a device model with ``rows * cols`` cells (default: VTEAM
            "HfOx" seeded by ``seed``, see VTEAM_PRESETS). r_wl, r_bl, r_source, r_sense, r_on_transistor: circuit
            values in ohm (see :class:`~cosim.solve.crossbar.Crossbar`).
        aging: retention / endurance laws (default: seed 000 laws split between the device's states).
        cosim: sub-stepping of pulses. timing: read and cycle durations, read voltage.
    """

    def __init__(self, engine, rows: int, cols: int, cell: str = "1R", device=None, seed=None, *,
                 r_wl=1.0, r_bl=1.0, r_source=0.0, r_sense=0.0, r_on_transistor=1e3,
                 aging: AgingLaws | None = None, cosim: CosimConfig | None = None, timing: Timing | None = None):
        options = (("aging", aging, AgingLaws), ("cosim", cosim, CosimConfig), ("timing", timing, Timing))
        for name, value, kind in options:
            if value is not None and not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__} or None; got {value!r}")
        self.engine = engine
        self.crossbar = Crossbar(rows, cols, cell, r_wl=r_wl, r_bl=r_bl, r_source=r_source, r_sense=r_sense,
                                 r_on_transistor=r_on_transistor)
        if device is None:
            from cosim.devices import VTEAM
            device = VTEAM.preset("HfOx", n=rows * cols, rng=seed)
        if getattr(device, "n", None) != rows * cols:
            raise ValueError(f"device must model rows * cols = {rows * cols} cells; got n={getattr(device, 'n', None)}")
        self.device = device
        self.rng = np.random.default_rng(seed)
        g_off, g_on = device.conductance_bounds()
        r_lrs, r_hrs = float(np.median(1.0 / g_on)), float(np.median(1.0 / g_off))
        laws = aging if aging is not None else AgingLaws(default_retention(r_lrs, r_hrs), default_endurance(r_lrs, r_hrs))
        self.cosim = cosim or CosimConfig()
        self.timing = timing or Timing()
        self.trace = Trace()
        self._window_ln = np.abs(np.log(g_on / g_off))      # the cells' windows, fixed at fabrication
        self._g_mid = np.sqrt(g_on * g_off)                  # S, the window midpoints (wear counting)
        self.clock = CellClock(engine, laws, 1.0 / self.device.conductance(noisy=False), self._age_by,
                               self.device.set_ambient if hasattr(self.device, "set_ambient") else None)
        stamp(self.crossbar, self.device)
        engine.arrays.append(self)

    # ---- state ------------------------------------------------------------------------------
    @property
    def rows(self) -> int:
        return self.crossbar.rows

    @property
    def cols(self) -> int:
        return self.crossbar.cols

    @property
    def shape(self) -> tuple[int, int]:
        return self.crossbar.shape

    @property
    def is_1t1r(self) -> bool:
        return self.crossbar.cell.value == "1T1R"

    @property
    def temperature(self) -> float:
        """The array's temperature, K: the bake temperature while baking, else the ambient."""
        return self.clock.temperature

    @property
    def aging(self) -> AgingState:
        """Per-cell aging memory (programmed resistance, retention stress, cycle counters)."""
        return self.clock.state

    @property
    def aging_laws(self) -> AgingLaws:
        """The laws the cells age by."""
        return self.clock.laws

    @aging_laws.setter
    def aging_laws(self, laws: AgingLaws) -> None:
        if not isinstance(laws, AgingLaws):
            raise TypeError(f"aging_laws must be AgingLaws; got {type(laws).__name__}")
        self.clock.catch_up()
        self.clock.laws = laws

    @property
    def cycles(self) -> np.ndarray:
        """(rows, cols) SET/RESET cycle count of every cell."""
        return self.aging.cycles.reshape(self.shape).copy()

    def conductances(self) -> np.ndarray:
        """(rows, cols) each cell's own conductance at the read voltage (device state, no noise), S."""
        return self.device.conductance(noisy=False).reshape(self.shape)

    def conductance_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) programmable conductance of every cell, each (rows, cols), S."""
        g_a, g_b = self.device.conductance_bounds()
        return np.minimum(g_a, g_b).reshape(self.shape), np.maximum(g_a, g_b).reshape(self.shape)

    # ---- the clock ages the cells (cosim.sim.cell_clock) ----------------------------------------
    def catch_up(self) -> None:
        """Age every cell from the last catch-up to ``now`` at :attr:`temperature` (retention law)."""
        self.clock.catch_up()

    def _age_by(self, factor: np.ndarray) -> None:
        """Multiply the resistance of the cells whose ``factor`` differs from 1 (clipped to their bounds)."""
        cells = np.flatnonzero(factor != 1.0)
        if cells.size == 0:
            return
        g = self.device.conductance_of(cells) / factor[cells]
        self.device.set_state_of(cells, self.device.state_for(cells, g))
        stamp(self.crossbar, self.device)

    def _lines(self, floating, n: int) -> list:
        """Indices of the lines not floating (all when ``floating`` is None)."""
        return np.arange(n).tolist() if floating is None else np.flatnonzero(~np.asarray(floating, bool)).tolist()

    def _selected(self, select_rows) -> np.ndarray:
        """Boolean mask of the rows whose cells conduct (1T1R: the selected rows; 1R: all)."""
        mask = np.ones(self.rows, bool)
        if self.is_1t1r and select_rows is not None:
            rows = np.atleast_1d(np.asarray(select_rows))
            if rows.dtype == bool:
                if rows.shape != (self.rows,):
                    raise ValueError(f"select_rows mask must have shape ({self.rows},); got {rows.shape}")
                mask = rows.copy()
            else:
                mask[:] = False
                mask[self._indices("select_rows", rows, self.rows)] = True
        return mask

    # ---- processes (use inside SimPy processes with ``yield from``) ---------------------------
    def pulse_process(self, bias: Bias, width_s: float, select_rows=None, note: str = ""):
        """Co-simulate one pulse of ``width_s`` s with line voltages ``bias``; 1T1R: ``select_rows`` on."""
        width_s = check_duration(width_s, "pulse width")
        if width_s == 0:
            raise ValueError("pulse width must be > 0 s")
        bias = check_bias(bias, self.rows, self.cols)
        selected = self._selected(select_rows)
        # the cells this pulse can move: one selected 1T1R row, or every cell
        rows = None if select_rows is None else np.atleast_1d(select_rows)
        if self.is_1t1r and rows is not None and rows.size == 1 and rows.dtype != bool:
            cells = int(rows[0]) * self.cols + np.arange(self.cols)
        else:
            cells = np.arange(self.rows * self.cols)
        self.catch_up()
        before = self.device.conductance_of(cells)
        if self.is_1t1r:
            self.crossbar.select_rows(select_rows)
        outcome: PulseOutcome | None = None
        try:
            outcome = co_simulate(self.crossbar, self.device, bias, width_s, self.cosim)
        finally:
            if self.is_1t1r:
                self.crossbar.select_rows(None)
            if outcome is None or outcome.moved is None:     # (a tracked pulse leaves the circuit stamped)
                stamp(self.crossbar, self.device)        # one home: the circuit always holds the devices' state
        if outcome.moved is not None and cells.size == self.rows * self.cols:    # only these cells changed
            cells, before = outcome.moved, before[outcome.moved]
        self._pulsed(cells, before)
        addressed = [r for r in self._lines(bias.floating_wl, self.rows) if selected[r]]
        self.trace.append(TraceRecord(self.engine.now, width_s, "pulse", addressed,
                                      self._lines(bias.floating_bl, self.cols), np.ravel(bias.v_wl).tolist(),
                                      np.ravel(bias.v_bl).tolist(), np.ravel(outcome.sense_currents).tolist(),
                                      outcome.energy_j, self.temperature, note))
        yield self.engine.env.timeout(width_s)
        return outcome

    def read_process(self, V, select_rows=None, note: str = ""):
        """Read: word lines at ``V`` (rows,) or (batch, rows), bit lines at their sense amplifiers.

        The cells conduct at the array's temperature: G(T) = G(300 K) / (1 + tcr (T - 300 K)) where the
        device has a temperature coefficient (``tcr_per_k``); the stored state stays the 300 K one."""
        v = self._check_read_voltages(V)
        selected = self._selected(select_rows)
        self.catch_up()
        row = self._single_driven_row(v, select_rows)
        if row is not None:      # a 1T1R row read: only that row's cells conduct
            self.crossbar.select_rows([row])
            try:
                currents, _ = row_currents(self.crossbar, self.device, row, float(v[row]), np.zeros(self.cols),
                                           noisy=True, kelvin=self.temperature)
            finally:
                self.crossbar.select_rows(None)
            sol_currents, power = currents, float(v[row] * currents.sum())
        else:
            if self.is_1t1r:
                self.crossbar.select_rows(select_rows)
            try:
                stamp_read(self.crossbar, self.device, self.temperature)
                sol = self.crossbar.solve(v)
            finally:
                stamp(self.crossbar, self.device)
                if self.is_1t1r:
                    self.crossbar.select_rows(None)
            sol_currents, power = np.nan_to_num(sol.sense_currents, nan=0.0), float(np.sum(sol.power))
        n_vectors = 1 if v.ndim == 1 else v.shape[0]
        duration = self.timing.read_s * n_vectors
        biases = [Bias(vec, np.zeros(self.cols)) for vec in np.atleast_2d(v)]
        energy = self._disturbed(biases, select_rows, power * self.timing.read_s)
        rows = np.flatnonzero(selected).tolist()
        self.trace.append(TraceRecord(self.engine.now, duration, "read", rows, list(range(self.cols)),
                                      v.ravel().tolist() if v.ndim == 1 else [],
                                      [], np.ravel(sol_currents).tolist() if v.ndim == 1 else [],
                                      energy, self.temperature, note))
        yield self.engine.env.timeout(duration)
        return ReadOutcome(sol_currents, energy)

    def _disturbed(self, biases: list, select_rows, energy_j: float) -> float:
        """Read disturb (``CosimConfig.read_disturb``): co-simulate the reads' biases for their duration when
        a cell can move; returns the reads' energy (J; ``energy_j``, that of the static read, otherwise)."""
        if not (self.cosim.read_disturb and may_move(self.device, biases)):
            return energy_j
        before = self.device.conductance(noisy=False)
        energy = disturb(self.crossbar, self.device, biases, self.timing.read_s, self.cosim, select_rows)
        self._pulsed(np.arange(self.rows * self.cols), before)
        return energy

    def _pulsed(self, cells: np.ndarray, before: np.ndarray) -> None:
        """Tell the clock that ``cells`` moved from conductances ``before`` (retention restarts, wear)."""
        self.clock.pulsed(cells, before, self.device.conductance_of(cells), self._window_ln, self._g_mid)

    def _check_read_voltages(self, V) -> np.ndarray:
        """Word-line read voltages (rows,) or (batch, rows), finite; else an error naming V."""
        v = real_array("V (read voltages)", V, unit="V")
        if v.ndim not in (1, 2) or v.shape[-1] != self.rows:
            raise ValueError(f"V (read voltages) must have shape ({self.rows},) or (batch, {self.rows}); got {v.shape}")
        return v

    def _single_driven_row(self, v: np.ndarray, select_rows) -> int | None:
        """The row of a 1T1R read that selects one row and drives only it (None otherwise)."""
        if not self.is_1t1r or select_rows is None or v.ndim != 1 or v.shape != (self.rows,):
            return None
        rows = np.atleast_1d(select_rows)
        if rows.size != 1 or rows.dtype == bool or np.any(np.delete(v, int(rows[0])) != 0):
            return None
        return int(rows[0]) if self.crossbar.single_row_ladder_applies(int(rows[0])) else None

    def read_cell_process(self, row: int, col: int, unselected="floating", voltage: float | None = None):
        """Read one cell of a 1R array with the other lines ``unselected`` (floating, grounded, v/2, v/3)."""
        bias = self.cell_bias(row, col, self.timing.read_voltage if voltage is None else voltage, unselected)
        self.catch_up()
        current, power, extra = read_cell_now(self.crossbar, self.device, bias, col, self.temperature,
                                              self.cosim.tracked)
        energy = self._disturbed([bias], None, power * self.timing.read_s)
        self.trace.append(TraceRecord(self.engine.now, self.timing.read_s, "read", [row], [col],
                                      bias.v_wl.tolist(), bias.v_bl.tolist(), [current],
                                      energy, self.temperature, f"cell read, unselected {parse_unselected(unselected).value}"))
        yield self.engine.env.timeout(self.timing.read_s)
        return ReadOutcome(np.array([current]), energy, extra)

    def cell_bias(self, row: int, col: int, voltage: float, unselected) -> Bias:
        """Line voltages that put ``voltage`` on cell (row, col) with the other lines ``unselected``."""
        return cell_bias(self.rows, self.cols, row, col, voltage, unselected)

    def bake_process(self, seconds: float, kelvin: float | None = None, note: str = "bake"):
        """Hold the array at ``kelvin`` (default: ambient) for ``seconds``; apply the retention law."""
        seconds = check_duration(seconds, "bake duration")
        kelvin = None if kelvin is None else check_temperature(kelvin)
        with self.clock.baking(kelvin):
            self.trace.append(TraceRecord(self.engine.now, seconds, "bake" if note == "bake" else "idle",
                                          list(range(self.rows)), list(range(self.cols)),
                                          temperature_k=self.temperature, note=note))
            yield self.engine.env.timeout(seconds)

    def cycle_process(self, n: int, rows=None, cols=None):
        """``n`` SET/RESET cycles of the selected cells (default all): counters and the endurance law."""
        mask = np.zeros(self.shape, bool)
        r_idx = np.arange(self.rows) if rows is None else self._indices("rows", rows, self.rows)
        c_idx = np.arange(self.cols) if cols is None else self._indices("cols", cols, self.cols)
        mask[np.ix_(r_idx, c_idx)] = True
        n = check_cycles(self.aging.cycles, mask.ravel(), n)
        drive = self.timing.cycle_drive
        energy = 0.0 if drive is None or n == 0 else n * cycle_energy(self.device, mask.ravel(), drive, self.timing.cycle_s)
        self.clock.cycle(mask.ravel(), n)
        duration = n * self.timing.cycle_s
        self.trace.append(TraceRecord(self.engine.now, duration, "cycle", r_idx.tolist(), c_idx.tolist(),
                                      energy_j=energy, temperature_k=self.temperature, note=f"{n} cycles"))
        yield self.engine.env.timeout(duration)

    @staticmethod
    def _indices(name: str, value, n: int) -> np.ndarray:
        idx = np.atleast_1d(np.asarray(value))
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1 or np.any((idx < 0) | (idx >= n)):
            raise ValueError(f"{name} must be indices in [0, {n}); got {value!r}")
        return idx

    # ---- defects (cosim.sim.defects) -----------------------------------------------------------
    def open_cell(self, row: int, col: int) -> None:
        """Cell (row, col) conducts nothing from now on (recorded in the trace)."""
        defects.open_cell(self, row, col)

    def short_cell(self, row: int, col: int) -> None:
        """Cell (row, col) joins its word-line and bit-line nodes from now on (recorded in the trace)."""
        defects.short_cell(self, row, col)

    def break_line(self, line: str, row: int, col: int) -> None:
        """Break a segment: "wl" row between columns col and col + 1, or "bl" col between rows row and row + 1."""
        defects.break_line(self, line, row, col)

    def unreachable_cells(self, select_rows=None) -> np.ndarray:
        """(rows, cols) True where a cell has no path to any source (it sits at 0 V)."""
        return defects.unreachable_cells(self, select_rows)

    # ---- blocking conveniences ---------------------------------------------------------------
    def pulse(self, v_wl, v_bl=None, width_s: float = 1e-6, floating_wl=None, floating_bl=None,
              select_rows=None, note: str = "") -> PulseOutcome:
        """Apply one co-simulated pulse now and advance the clock by its width."""
        v_bl = np.zeros(self.cols) if v_bl is None else v_bl
        return self.engine.run_process(self.pulse_process(Bias(v_wl, v_bl, floating_wl, floating_bl), width_s,
                                                          select_rows, note))

    def read(self, V, select_rows=None) -> np.ndarray:
        """Sense currents (A) through the full circuit (IR drop, sneak paths) for word-line voltages V."""
        return self.engine.run_process(self.read_process(V, select_rows)).currents

    def read_cell(self, row: int, col: int, unselected="floating", voltage: float | None = None) -> float:
        """Sense current (A) of one cell read with the other lines ``unselected``."""
        return float(self.engine.run_process(self.read_cell_process(row, col, unselected, voltage)).currents[0])

    def bake(self, seconds: float, kelvin: float | None = None) -> None:
        """Bake for ``seconds`` at ``kelvin`` (retention law with temperature)."""
        self.engine.run_process(self.bake_process(seconds, kelvin))

    def idle(self, seconds: float) -> None:
        """Wait ``seconds`` at the ambient temperature (retention at ambient)."""
        self.engine.run_process(self.bake_process(seconds, None, note="idle"))

    def cycle(self, n: int, rows=None, cols=None) -> None:
        """``n`` SET/RESET cycles of the cells at (rows x cols) (default: all)."""
        self.engine.run_process(self.cycle_process(n, rows, cols))

    def program(self, target_G, scheme="write-verify", tolerance: float = 0.01, config=None, model=None, *,
                amplitude=None, progress: bool | None = None):
        """Program the cells to ``target_G`` (rows, cols) siemens with ``scheme``; returns a ProgramReport.

        Schemes (:class:`~cosim.sim.control.Scheme`, or their names): "write-verify" (model-predictive
        widths, a verify read after each pulse), "ispp" (fixed widths, amplitude ladders, verify reads),
        "1t1r-row" (1T1R, open loop, row-parallel), "v/2" and "v/3" (1R, open loop, half-select). A NaN
        target leaves that cell alone. ``config``: the scheme's configuration (WriteVerifyConfig,
        IsppConfig, OpenLoopConfig; None = defaults). ``model``: the controller's device model (None = the
        nominal model of this array's preset: no spread, no c2c, no faults), so a miscalibrated controller
        can be studied; the controller never sees this array's devices. ``amplitude`` (V) overrides the
        config's cell voltage (write-verify, open loop). ``progress``: a progress bar (None: when stderr is
        a terminal).
        """
        from cosim.sim.program import run_program

        return run_program(self, target_G, scheme, tolerance, config, model, amplitude, progress)

    def program_v_stop(self, v_stop, levels, tolerance: float = 0.01, config=None):
        """RESET to the HRS that ``v_stop`` ((rows, cols) V, NaN: leave alone) sets by ``levels`` and record
        the v_stop for the endurance law (:func:`cosim.sim.reset_stop.program_v_stop`)."""
        from cosim.sim.reset_stop import program_v_stop

        return program_v_stop(self, v_stop, levels, tolerance, config)
