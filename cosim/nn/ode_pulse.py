"""Fixed-pulse cells from an ODE device model (VTEAM, linear ion drift): what one pulse of a given
amplitude and width does, integrated by ``cosim.devices``, then applied n times in one tensor operation.

The state change of one pulse depends on the state only (the pulse is fixed), so the n-pulse map is a
walk along one trajectory. At construction the ODE model integrates a single cell pulse by pulse from
the high-resistance bound (SET) and from the low-resistance bound (RESET) until the conductance stops
moving (or ``max_pulses``): two tables G_set[k], G_reset[k]. A cell at conductance G takes n pulses
as ``G' = table[k(G) + n]`` with k(G) the (interpolated) position of G on that polarity's table. The
cells share one nominal device (no spread); their state is the conductance, a tensor on any device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cosim.devices.base import DeviceArray
from cosim.nn.pulse_devices import Polarity, PulseCells, check_counts, check_polarity

__all__ = ["FixedPulse", "pulse_table", "FixedPulseCells"]


@dataclass(frozen=True)
class FixedPulse:
    """A rectangular programming pulse: ``amplitude_v`` (signed, V across the cell) for ``width_s`` seconds."""

    amplitude_v: float
    width_s: float

    def __post_init__(self) -> None:
        for name in ("amplitude_v", "width_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"FixedPulse.{name} must be a finite number; got {value!r}")
        if self.amplitude_v == 0 or self.width_s <= 0:
            raise ValueError(f"FixedPulse needs a non-zero amplitude and a width > 0 s; got {self}")


def pulse_table(model: DeviceArray, pulse: FixedPulse, start: str, max_pulses: int, dt: float | None = None,
                rtol: float = 1e-6) -> np.ndarray:
    """Read conductances (S) of one cell of ``model`` before and after each of up to ``max_pulses`` pulses.

    The cell starts at its "on" or "off" bound (``start``); integration is the model's fixed step
    (``dt``, default the parameter set's, shortened so a whole number of steps fills the pulse). The
    table stops early when a pulse changes G by less than ``rtol`` of the conductance window.
    """
    if model.n != 1:
        raise ValueError(f"model must hold one cell; got {model.n}")
    dt = float(model.params.dt if dt is None else dt)
    steps = max(1, math.ceil(pulse.width_s / dt))
    dt = pulse.width_s / steps
    g_off, g_on = model.conductance_bounds()
    model.set_conductance(g_on if start == "on" else g_off)
    window = abs(float(g_on[0] - g_off[0]))
    volts = np.full(steps, pulse.amplitude_v)
    table = [float(model.conductance(noisy=False)[0])]
    for _ in range(max_pulses):   # a loop over pulses of one cell, at construction only
        model.advance(volts, dt)
        table.append(float(model.conductance(noisy=False)[0]))
        if abs(table[-1] - table[-2]) < rtol * window:
            break
    return np.asarray(table)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of (xp, fp) at x; xp increasing; x clamped to [xp[0], xp[-1]]."""
    x = x.clamp(xp[0], xp[-1])
    i = torch.searchsorted(xp, x.contiguous()).clamp(1, xp.numel() - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    span = torch.where(x1 > x0, x1 - x0, torch.ones_like(x1))
    return f0 + (f1 - f0) * ((x - x0) / span)


class FixedPulseCells(PulseCells):
    """``shape`` cells of one ODE model driven by fixed SET / RESET pulses (see the module docstring).

    Args:
        shape: cell tensor shape. model: a one-cell ``DeviceArray`` (e.g. ``VTEAM.preset("TEAM")``),
        used only to build the tables. set_pulse / reset_pulse: the pulses (a SET pulse must raise G).
        max_pulses: longest table. g_init: initial conductance (S; None: the middle of the window).
    """

    def __init__(self, shape: tuple[int, ...], model: DeviceArray, set_pulse: FixedPulse, reset_pulse: FixedPulse,
                 *, max_pulses: int = 5000, g_init: float | None = None, dt: float | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float64):
        super().__init__(shape)
        if not isinstance(model, DeviceArray):
            raise TypeError(f"model must be a cosim.devices DeviceArray; got {type(model).__name__}")
        for name, p in (("set_pulse", set_pulse), ("reset_pulse", reset_pulse)):
            if not isinstance(p, FixedPulse):
                raise TypeError(f"{name} must be a FixedPulse; got {type(p).__name__}")
        if isinstance(max_pulses, bool) or not isinstance(max_pulses, int) or max_pulses < 1:
            raise ValueError(f"max_pulses must be a positive integer; got {max_pulses!r}")
        g_set = pulse_table(model, set_pulse, "off", max_pulses, dt)
        g_reset = pulse_table(model, reset_pulse, "on", max_pulses, dt)
        if not (g_set[-1] > g_set[0] and np.all(np.diff(g_set) >= 0)):
            raise ValueError(f"set_pulse {set_pulse} does not raise the conductance monotonically (check its sign "
                             "and that it exceeds the model's threshold)")
        if not (g_reset[-1] < g_reset[0] and np.all(np.diff(g_reset) <= 0)):
            raise ValueError(f"reset_pulse {reset_pulse} does not lower the conductance monotonically (check its "
                             "sign and that it exceeds the model's threshold)")
        lo, hi = float(g_set[0]), float(g_reset[0])
        g0 = 0.5 * (lo + hi) if g_init is None else float(g_init)
        if not lo <= g0 <= hi:
            raise ValueError(f"g_init must be within the conductance window [{lo:g}, {hi:g}] S; got {g_init!r}")
        as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)
        self.register_buffer("g_set", as_t(g_set))        # increasing
        self.register_buffer("g_reset", as_t(g_reset))    # decreasing
        self.register_buffer("g", torch.full(shape, g0, dtype=dtype, device=device))
        self.g_init = g0
        self.set_pulse, self.reset_pulse = set_pulse, reset_pulse

    def apply_pulses(self, counts: torch.Tensor, polarity: Polarity) -> None:
        counts = check_counts(counts, self.shape, self.g.device)
        table = self.g_set if check_polarity(polarity) is Polarity.SET else -self.g_reset   # increasing either way
        g = self.g if polarity is Polarity.SET else -self.g
        k = torch.arange(table.numel(), dtype=table.dtype, device=table.device)
        position = _interp(g, table, k) + counts.to(table.dtype)
        new = _interp(position, k, table)
        self.g = new if polarity is Polarity.SET else -new

    def conductance(self) -> torch.Tensor:
        return self.g

    def saturated(self, polarity: Polarity) -> torch.Tensor:
        """True at the end of that polarity's table (its last pulse moved G by < 1e-6 of the window)."""
        end = self.g_set[-1] if check_polarity(polarity) is Polarity.SET else self.g_reset[-1]
        return (self.g >= end) if polarity is Polarity.SET else (self.g <= end)

    def reset_state(self, mask: torch.Tensor) -> None:
        self.g = torch.where(mask, torch.full_like(self.g, self.g_init), self.g)

    def pulse_energy(self, counts: torch.Tensor, polarity: Polarity) -> torch.Tensor:
        """V^2 G width per pulse at the present conductance (J), times the counts (first order in the change)."""
        p = self.set_pulse if check_polarity(polarity) is Polarity.SET else self.reset_pulse
        return counts.to(self.g.dtype) * (p.amplitude_v ** 2 * p.width_s) * self.g
