"""Circuit-device co-simulation inside one pulse: solve -> cell voltages -> step devices -> re-stamp.

Sub-steps follow how fast the state moves: each one lasts at most ``max_change`` of the fastest
cell's state range divided by its rate, so a pulse below every threshold is one solve and no change,
and a switching pulse is resolved finely where the conductances move. Energy is the integral of the
power dissipated in every element (cells, wires, drivers, senses, transistors), by the trapezoid
rule over the sub-steps. Each sub-step is second order in the circuit-device coupling (explicit
midpoint): the devices take a half step with the cell voltages at its start, the circuit is re-solved at
that predicted state, and the devices then take the whole sub-step from its start with the midpoint's
voltages (by their own ``step``, so each model's update law, c2c events and noise still apply). A pulse's
final state is then accurate to well under 1 % at the default ``max_change`` (the first-order step was
off by several %). A sub-step after which only k cells moved is solved by a rank-k update of the
last factorisation instead of a new one (``Crossbar.low_rank``, :mod:`cosim.solve.low_rank`): a
single-cell pulse factors the array once.

Where the circuit is linear and only a few cells move (a single-cell pulse on a 1R array), the same
sub-steps run on the moving cells only, with each sub-step's circuit a rank-k update in cell space
instead of a solve (:mod:`cosim.sim.tracked_pulse`; the routing decision is
``Quantity.TRACKED_OPERATING_POINT`` in :mod:`cosim.solve.routing`); everything else (sinh cells, 1T1R,
edited layouts, islands, models without a quiet band or with c2c) takes the full-solve loop below.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from cosim import validate
from cosim.solve.crossbar import Crossbar, CrossbarSolution
from cosim.solve.routing import Quantity, SolveRequest, SolverPath
from cosim.sim.row_pulse import RowCircuit, pulse_row
from cosim.sim.tracked_pulse import TrackedPulse
from cosim.solve.nested import single_threaded_blas
from cosim.validate import bool_mask, real_array


@dataclass(frozen=True)
class CosimConfig:
    """Sub-stepping of a pulse.

    Attributes:
        max_change: largest state change of any cell per sub-step, as a fraction of its range.
        max_substeps: a pulse needing more sub-steps than this raises (a runaway or a bad config).
        read_disturb: reads step the devices under the read bias for the read duration, like a pulse
            (skipped, at no cost, when no cell can move at the largest voltage the read can put on it).
        tracked: pulses and single-cell reads take the tracked path where it applies (only the moving
            cells stepped, rank-k updates in cell space: :mod:`cosim.sim.tracked_pulse`); False: full
            solves everywhere (the reference of the tracked path; same results to rounding, slower).
    """

    max_change: float = 0.02
    max_substeps: int = 20000
    read_disturb: bool = True
    tracked: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.max_change, (int, float)) and 0 < self.max_change <= 1):
            raise ValueError(f"CosimConfig.max_change must be in (0, 1]; got {self.max_change}")
        if isinstance(self.max_substeps, bool) or not isinstance(self.max_substeps, (int, np.integer)) \
                or self.max_substeps < 1:
            raise ValueError(f"CosimConfig.max_substeps must be an integer >= 1; got {self.max_substeps!r}")
        for name in ("read_disturb", "tracked"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"CosimConfig.{name} must be a bool; got {getattr(self, name)!r}")


@dataclass
class Bias:
    """Line voltages of one operation (V); floating masks disconnect a line's driver / sense end."""

    v_wl: np.ndarray
    v_bl: np.ndarray
    floating_wl: np.ndarray | None = None
    floating_bl: np.ndarray | None = None


def check_bias(bias: Bias, rows: int, cols: int) -> Bias:
    """A copy of ``bias`` with float voltages of shape (rows,) / (cols,), all finite, and boolean
    floating masks of the same shapes (or None); anything else is an error naming the field."""
    def mask(name: str, value, n: int) -> np.ndarray | None:
        return None if value is None else bool_mask(name, value, n)
    return Bias(real_array("v_wl", bias.v_wl, (rows,), unit="V"), real_array("v_bl", bias.v_bl, (cols,), unit="V"),
                mask("floating_wl", bias.floating_wl, rows), mask("floating_bl", bias.floating_bl, cols))


class Unselected(str, Enum):
    """How the lines of unselected cells are biased during a single-cell operation."""

    FLOATING = "floating"    # disconnected
    GROUNDED = "grounded"    # held at 0 V
    HALF = "v/2"             # held at V/2
    THIRD = "v/3"            # word lines at V/3, bit lines at 2V/3


def parse_unselected(value) -> Unselected:
    try:
        return Unselected(value)
    except ValueError:
        raise ValueError(f"unselected must be one of {[u.value for u in Unselected]}; got {value!r}") from None


def cell_bias(rows: int, cols: int, row: int, col: int, voltage: float, unselected) -> Bias:
    """Line voltages that put ``voltage`` on cell (row, col) with the other lines ``unselected``."""
    mode = parse_unselected(unselected)
    row, col = validate.index("row", row, rows), validate.index("col", col, cols)
    v_wl, v_bl = np.zeros(rows), np.zeros(cols)
    fw = fb = None
    if mode is Unselected.HALF:
        v_wl[:], v_bl[:] = voltage / 2, voltage / 2
    elif mode is Unselected.THIRD:
        v_wl[:], v_bl[:] = voltage / 3, 2 * voltage / 3
    elif mode is Unselected.FLOATING:
        fw, fb = np.ones(rows, bool), np.ones(cols, bool)
        fw[row], fb[col] = False, False
    v_wl[row], v_bl[col] = voltage, 0.0
    return Bias(v_wl, v_bl, fw, fb)


@dataclass
class PulseOutcome:
    """What one co-simulated pulse did: energy (J), sub-steps, sense currents at its end (A), the full
    operating point at its end (None when the pulse ran in row mode), the (rows, cols) mask of cells
    cut off every source (they sat at 0 V; None in row mode, where every cell of the row is driven), and
    the indices of the cells it stepped (the others did not change; None: any cell may have)."""

    energy_j: float
    substeps: int
    sense_currents: np.ndarray
    final: CrossbarSolution | None = None
    unreachable: np.ndarray | None = None
    moved: np.ndarray | None = None


class TrackedOutcome(PulseOutcome):
    """A :class:`PulseOutcome` whose ``final`` operating point is computed on first access (the tracked
    path needs only the moving cells' voltages and the power per sub-step)."""

    def __init__(self, energy_j: float, substeps: int, sense_currents: np.ndarray, solve_final,
                 unreachable: np.ndarray, moved: np.ndarray):
        self._solve_final = solve_final
        super().__init__(energy_j, substeps, sense_currents, None, unreachable, moved)

    @property
    def final(self) -> CrossbarSolution | None:
        if self._final is None and self._solve_final is not None:
            self._final, self._solve_final = self._solve_final(), None
        return self._final

    @final.setter
    def final(self, value) -> None:
        self._final = value


def stamp(crossbar: Crossbar, device, scale: np.ndarray | None = None) -> None:
    """Copy the devices' I-V into the circuit: a nonlinear law I = (G/b) sinh(b V) where the model has one
    (``device.sinh_law()``; the circuit is then solved by Newton on the same stamps), else the noise-free
    read conductances. ``scale``: per-cell factors on G (read noise)."""
    law = device.sinh_law() if hasattr(device, "sinh_law") else None
    g, b = (device.conductance(noisy=False), None) if law is None else law
    if scale is not None:
        g = g * scale
    g = g.reshape(crossbar.shape)
    if not np.array_equal(g, crossbar.conductances):    # unchanged values keep the cached factorisations
        crossbar.set_conductances(g)
    if b is not None or not crossbar.is_linear:
        crossbar.set_nonlinearity(0.0 if b is None else b.reshape(crossbar.shape))


def stamp_read(crossbar: Crossbar, device, kelvin: float) -> None:
    """:func:`stamp` for a read at ``kelvin`` K: the devices' read noise (one draw per cell) and their
    temperature coefficient of resistance (``device.tcr_scale``) on G; the stored state stays the T_ref one."""
    stamp(crossbar, device, read_scale(device, kelvin))


def read_scale(device, kelvin: float) -> np.ndarray | None:
    """Per-cell factors a read at ``kelvin`` K puts on the stamped G (read noise, one draw per cell; TCR), or
    None where they are all exactly 1 (no read noise, no TCR at this temperature): the read then sees the
    stamped conductances and draws no random numbers."""
    nonideal = getattr(device, "nonideal", None)
    quiet = nonideal is not None and nonideal.read_noise == 0
    if quiet and kelvin == getattr(device, "TCR_REFERENCE_K", None):     # 1 / (1 + tcr * 0) = 1 exactly
        return None
    tcr = device.tcr_scale(kelvin)
    if quiet and np.all(tcr == 1.0):
        return None
    return device.conductance(noisy=True) / device.conductance(noisy=False) * tcr


def solve(crossbar: Crossbar, bias: Bias) -> CrossbarSolution:
    return crossbar.solve_bias(bias.v_wl, bias.v_bl, bias.floating_wl, bias.floating_bl)


def effective_rate(device, v_cells: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """d(state)/dt, zero where a cell sits on a bound and is pushed further into it (it cannot move)."""
    rate = device.rate(v_cells)
    s = device.state
    a, b = np.minimum(lo, hi), np.maximum(lo, hi)
    pinned = ((s <= a) & (rate < 0)) | ((s >= b) & (rate > 0))
    return np.where(pinned, 0.0, rate)


def co_simulate(crossbar: Crossbar, device, bias: Bias, width_s: float, config: CosimConfig) -> PulseOutcome:
    """Apply ``bias`` for ``width_s`` seconds, stepping the devices with their real circuit voltages."""
    request = SolveRequest(Quantity.OPERATING_POINT, floating_lines=bias.floating_wl is not None
                           or bias.floating_bl is not None)
    if crossbar.choose_path(request).path is SolverPath.SINGLE_ROW_LADDER:
        return _co_simulate_row(crossbar, device, bias, width_s, config)
    stamp(crossbar, device)
    if not config.tracked:
        return _co_simulate_full(crossbar, device, bias, width_s, config)
    with single_threaded_blas():          # many small products: BLAS threads would only spin
        return _co_simulate_tracked(crossbar, device, bias, width_s, config)


def _co_simulate_tracked(crossbar: Crossbar, device, bias: Bias, width_s: float, config: CosimConfig) -> PulseOutcome:
    """:func:`co_simulate` on the tracked path where it applies (else, or from where it stops, full solves)."""
    pulse = TrackedPulse(crossbar, device, bias)
    if not pulse.start():
        return _co_simulate_full(crossbar, device, bias, width_s, config)
    t, energy, substeps = 0.0, 0.0, 0
    while t < width_s:
        if substeps >= config.max_substeps:
            raise RuntimeError(f"pulse needed more than {config.max_substeps} sub-steps "
                               f"({t:.3e} of {width_s:.3e} s done); raise CosimConfig.max_substeps")
        step = pulse.substep(width_s - t, config.max_change)
        if step is None and pulse.refactor():
            step = pulse.substep(width_s - t, config.max_change)
        if step is None:                          # the tracker cannot go on: full solves from here
            stamp(crossbar, device)
            return _co_simulate_full(crossbar, device, bias, width_s, config, t, energy, substeps)
        dt, p_start, p_end = step
        energy += 0.5 * (p_start + p_end) * dt
        t += dt
        substeps += 1
    stamp(crossbar, device)
    return TrackedOutcome(energy, substeps, pulse.sense_currents(), pulse.final_solution(),
                          np.zeros(crossbar.shape, bool), pulse.moving.copy())


def _co_simulate_full(crossbar: Crossbar, device, bias: Bias, width_s: float, config: CosimConfig,
                      t: float = 0.0, energy: float = 0.0, substeps: int = 0) -> PulseOutcome:
    """:func:`co_simulate` by full solves: every cell stepped, the whole circuit solved twice per sub-step;
    from ``t`` s into the pulse with ``energy`` J and ``substeps`` done (where the tracked path stopped)."""
    lo, hi = device.state_bounds()
    span = np.abs(hi - lo)
    span = np.where(span > 0, span, 1.0)
    stamp(crossbar, device)
    sol = solve(crossbar, bias)
    while t < width_s:
        if substeps >= config.max_substeps:
            raise RuntimeError(f"pulse needed more than {config.max_substeps} sub-steps "
                               f"({t:.3e} of {width_s:.3e} s done); raise CosimConfig.max_substeps")
        v_cells = np.nan_to_num(sol.cell_voltages.ravel(), nan=0.0)   # cells cut off a source sit at 0 V
        speed = np.max(np.abs(effective_rate(device, v_cells, lo, hi)) / span)
        dt = width_s - t if speed == 0 else min(width_s - t, config.max_change / speed)
        p_start = float(sol.power)
        if speed > 0:
            v_cells = _midpoint_voltages(crossbar, device, bias, v_cells, dt)
        device.step(v_cells, dt)
        stamp(crossbar, device)
        sol = solve(crossbar, bias)
        energy += 0.5 * (p_start + float(sol.power)) * dt
        t += dt
        substeps += 1
    unreachable = ~np.isfinite(sol.cell_voltages)
    return PulseOutcome(energy, substeps, np.nan_to_num(sol.sense_currents, nan=0.0), sol, unreachable)


def _midpoint_voltages(crossbar: Crossbar, device, bias: Bias, v_start: np.ndarray, dt: float) -> np.ndarray:
    """Cell voltages (V) at the midpoint of a sub-step of ``dt`` s: the devices take a half step with
    ``v_start`` (the voltages at its start), the circuit is solved at that predicted state, and the devices
    are put back to where they started. Stepping with these voltages is the explicit midpoint rule."""
    start = device.state
    device.step(v_start, 0.5 * dt)
    stamp(crossbar, device)
    v_mid = np.nan_to_num(solve(crossbar, bias).cell_voltages.ravel(), nan=0.0)
    device.set_state(start)
    return v_mid


def _co_simulate_row(crossbar: Crossbar, device, bias: Bias, width_s: float, config: CosimConfig) -> PulseOutcome:
    """:func:`co_simulate` for a 1T1R array with one selected row: only that row's cells carry current.

    Each sub-step solves the row's exact ladder and steps only the row's devices
    (:func:`cosim.sim.row_pulse.pulse_row`). The circuit's row is re-stamped with the cells' conductances
    at the end (the other rows did not change), so the outcome's ``moved`` lists the row's cells.
    """
    row = int(np.flatnonzero(crossbar.selected_rows)[0])
    n = crossbar.cols
    out = pulse_row(crossbar.layout, device, row, float(np.asarray(bias.v_wl, float)[row]),
                    np.asarray(bias.v_bl, float), width_s, config.max_change, config.max_substeps)
    if (device.sinh_law() if hasattr(device, "sinh_law") else None) is not None:
        return PulseOutcome(out.energy_j, out.substeps, out.currents)       # the caller stamps the sinh law
    g = crossbar.conductances
    if not np.array_equal(g[row], out.conductances):
        g[row] = out.conductances
        crossbar.set_conductances(g)
    return PulseOutcome(out.energy_j, out.substeps, out.currents, moved=row * n + np.arange(n))


def row_currents(crossbar: Crossbar, device, row: int, v_row: float, v_bl: np.ndarray,
                 noisy: bool = False, kelvin: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cell currents (A) of the only selected row of a 1T1R array, and the cells' conductances (S).

    The row's exact ladder (:class:`cosim.sim.row_pulse.RowCircuit`) with the devices' (optionally noisy)
    read conductances; ``v_bl`` are the voltages held at the bit-line ends. The cell currents are the
    sense currents of the columns. ``kelvin``: a read at that temperature (K) applies the devices' TCR
    (``device.tcr_scale``); None: none.
    """
    n = crossbar.cols
    cells = row * n + np.arange(n)
    g = device.conductance_of(cells, noisy)
    if kelvin is not None:
        g = g * device.tcr_scale(kelvin)[cells]
    return RowCircuit(crossbar.layout, row).currents(g, v_row, np.asarray(v_bl, float)), g


def may_move(device, biases: list[Bias]) -> bool:
    """Whether any cell could change state under ``biases``: node voltages of a resistive network lie
    between its lowest and highest source voltage (0 V included), so no cell sees more than their
    spread; threshold models that do not move at +-spread do not move at all."""
    volts = np.concatenate([np.concatenate([np.ravel(b.v_wl), np.ravel(b.v_bl)]) for b in biases] + [np.zeros(1)])
    spread = float(volts.max() - volts.min())
    if spread == 0.0:
        return False
    band = device.quiet_band() if hasattr(device, "quiet_band") else None
    if band is not None and float(band[0].max()) <= -spread and float(band[1].min()) >= spread:
        return False                          # every cell's rate is exactly zero on [-spread, spread]
    lo, hi = device.state_bounds()
    return any(np.any(effective_rate(device, np.full(device.n, v), lo, hi) != 0) for v in (spread, -spread))


def disturb(crossbar: Crossbar, device, biases: list[Bias], width_s: float, config: CosimConfig,
            select_rows=None) -> float:
    """Co-simulate each bias of ``biases`` for ``width_s`` s in turn (reads that disturb); returns the energy, J.
    1T1R: ``select_rows`` are on during each."""
    energy = 0.0
    for bias in biases:
        if crossbar.cell.value == "1T1R":
            crossbar.select_rows(select_rows)
        try:
            energy += co_simulate(crossbar, device, bias, width_s, config).energy_j
        finally:
            if crossbar.cell.value == "1T1R":
                crossbar.select_rows(None)
    stamp(crossbar, device)
    return energy
