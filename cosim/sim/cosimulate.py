"""Circuit-device co-simulation inside one pulse: solve -> cell voltages -> step devices -> re-stamp.

Sub-steps follow how fast the state moves: each one lasts at most ``max_change`` of the fastest
cell's state range divided by its rate, so a pulse below every threshold is one solve and no change,
and a switching pulse is resolved finely where the conductances move. Energy is the integral of the
power dissipated in every element (cells, wires, drivers, senses, transistors), by the trapezoid
rule over the sub-steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.solve.crossbar import Crossbar, CrossbarSolution


@dataclass(frozen=True)
class CosimConfig:
    """Sub-stepping of a pulse.

    Attributes:
        max_change: largest state change of any cell per sub-step, as a fraction of its range.
        max_substeps: a pulse needing more sub-steps than this raises (a runaway or a bad config).
    """

    max_change: float = 0.02
    max_substeps: int = 20000

    def __post_init__(self) -> None:
        if not 0 < self.max_change <= 1:
            raise ValueError(f"CosimConfig.max_change must be in (0, 1]; got {self.max_change}")
        if self.max_substeps < 1:
            raise ValueError(f"CosimConfig.max_substeps must be >= 1; got {self.max_substeps}")


@dataclass
class Bias:
    """Line voltages of one operation (V); floating masks disconnect a line's driver / sense end."""

    v_wl: np.ndarray
    v_bl: np.ndarray
    floating_wl: np.ndarray | None = None
    floating_bl: np.ndarray | None = None


@dataclass
class PulseOutcome:
    """What one co-simulated pulse did."""

    energy_j: float
    substeps: int
    final: CrossbarSolution


def stamp(crossbar: Crossbar, device) -> None:
    """Copy the devices' noise-free read conductances into the circuit."""
    crossbar.set_conductances(device.conductance(noisy=False).reshape(crossbar.shape))


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
    lo, hi = device.state_bounds()
    span = np.abs(hi - lo)
    span = np.where(span > 0, span, 1.0)
    t, energy, substeps = 0.0, 0.0, 0
    stamp(crossbar, device)
    sol = solve(crossbar, bias)
    while t < width_s:
        if substeps >= config.max_substeps:
            raise RuntimeError(f"pulse needed more than {config.max_substeps} sub-steps "
                               f"({t:.3e} of {width_s:.3e} s done); raise CosimConfig.max_substeps")
        v_cells = sol.cell_voltages.ravel()
        speed = np.max(np.abs(effective_rate(device, v_cells, lo, hi)) / span)
        dt = width_s - t if speed == 0 else min(width_s - t, config.max_change / speed)
        p_start = float(sol.power)
        device.step(v_cells, dt)
        stamp(crossbar, device)
        sol = solve(crossbar, bias)
        energy += 0.5 * (p_start + float(sol.power)) * dt
        t += dt
        substeps += 1
    return PulseOutcome(energy, substeps, sol)
