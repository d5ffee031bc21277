"""The controller's own device model: nominal parameters, probed thresholds, and pulse plans.

A controller never sees the array's devices. It holds a separate model — by default the array's
preset with every per-cell parameter at its nominal value (no device-to-device spread, no
cycle-to-cycle redraws, no faults, no read noise) — and plans its pulses from it: thresholds and
polarity found by scanning the model's rate law, times to move a cell between two conductances under
a drive whose share on the cell follows the cell as it moves.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace

import numpy as np

from cosim.devices.base import DeviceArray
from cosim.devices.variability import Distribution, LogNormal, Normal, Uniform

_GRID = np.linspace(0.005, 5.0, 1000)   # V, probe amplitudes
BISECTIONS = 20                           # steps of the voltage search of fit_to_min_width


def nominal_value(value):
    """The nominal (median) value of a parameter given as a scalar, a per-cell array or a Distribution."""
    if isinstance(value, LogNormal):
        x = value.scale
    elif isinstance(value, Normal):
        x = value.mean
    elif isinstance(value, Uniform):
        x = 0.5 * (value.low + value.high)
    elif isinstance(value, Distribution):
        x = float(np.median(value.sample(4001, np.random.default_rng(0))))
    elif isinstance(value, (str, bool)) or value is None:
        return value
    else:
        x = float(np.median(np.asarray(value, float)))
    if isinstance(value, Distribution):
        lo, hi = getattr(value, "low", None), getattr(value, "high", None)
        x = min(max(x, lo if lo is not None else -np.inf), hi if hi is not None else np.inf)
    return float(x)


def nominal_model(params, device_class: type, n: int) -> DeviceArray:
    """``n`` cells of ``device_class`` with every field of ``params`` at its nominal value (no spread,
    no c2c, no faults, no read noise): the datasheet device a controller is designed for."""
    nominal = replace(params, **{f.name: nominal_value(getattr(params, f.name)) for f in fields(params)})
    return device_class(nominal, n)


def controller_model(model, n: int) -> DeviceArray:
    """A private copy of a caller-given controller model, widened to ``n`` cells when it models one."""
    if not isinstance(model, DeviceArray):
        raise TypeError(f"model must be a DeviceArray (the controller's device model) or None; "
                        f"got {type(model).__name__}")
    if model.n == n:
        return copy.deepcopy(model)
    if model.n == 1:
        return type(model)(replace(model.params, **{k: float(v[0]) for k, v in model.cell_params.items()}), n)
    raise ValueError(f"model must model 1 or rows * cols = {n} cells; got n={model.n}")


@dataclass
class ControllerModel:
    """The controller's device model and what it derives from it.

    Attributes:
        device: the model's cells (one per array cell), owned by the controller.
        v_up, v_down: smallest amplitude (V, magnitude) that raises / lowers the conductance.
        sign_up: sign of the cell voltage that raises the conductance (+1 or -1).
    """

    device: DeviceArray
    v_up: float
    v_down: float
    sign_up: int

    @classmethod
    def probe(cls, device: DeviceArray) -> "ControllerModel":
        """Find the thresholds and the polarity of ``device`` by scanning its rate law at mid-range."""
        lo, hi = device.state_bounds()          # (state at low resistance, state at high resistance)
        toward_on = np.sign(lo - hi)
        found = {}
        saved = device.state
        try:
            device.set_state(0.5 * (lo + hi))
            for sign in (+1, -1):
                for v in _GRID:
                    rates = device.rate_of(np.array([0]), np.array([sign * v]))
                    effect = float(rates[0] * toward_on[0])         # > 0: the conductance rises
                    if effect != 0:
                        found[sign] = (float(v), int(np.sign(effect)))
                        break
        finally:
            device.set_state(saved)
        if len(found) < 2 or found[+1][1] == found[-1][1]:
            raise ValueError("could not find a SET and a RESET polarity of the controller's model below 5 V")
        sign_up = +1 if found[+1][1] > 0 else -1
        return cls(device, v_up=found[sign_up][0], v_down=found[-sign_up][0], sign_up=sign_up)

    def threshold(self, direction: int) -> float:
        """Threshold magnitude (V) of the direction: +1 raises the conductance, -1 lowers it."""
        return self.v_up if direction > 0 else self.v_down

    def polarity(self, direction: int) -> int:
        """Voltage sign that moves the conductance up (direction +1) or down (-1)."""
        return self.sign_up if direction > 0 else -self.sign_up

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) conductance of every modelled cell, S."""
        g_a, g_b = self.device.conductance_bounds()
        return np.minimum(g_a, g_b), np.maximum(g_a, g_b)

    def width_for(self, direction: int, v_cell: float, fraction: float) -> float:
        """Width (s) that moves a mid-range cell by ``fraction`` of its range at cell voltage ``v_cell`` (V)."""
        dev, cell = self.device, np.array([0])
        lo, hi = dev.state_bounds()
        saved = dev.state_of(cell)
        try:
            dev.set_state_of(cell, 0.5 * (lo[:1] + hi[:1]))
            rate = abs(float(dev.rate_of(cell, np.array([self.polarity(direction) * abs(v_cell)]))[0]))
        finally:
            dev.set_state_of(cell, saved)
        if rate == 0:
            raise ValueError(f"the controller's model does not move at {v_cell:.3g} V; cannot size pulses")
        return float(fraction * abs(hi[0] - lo[0]) / rate)

    def plan_widths(self, cells: np.ndarray, g_from: np.ndarray, g_to: np.ndarray, direction: int,
                    v_cell: np.ndarray, r_series: np.ndarray, aim: float = 1.0, substeps: int = 8) -> np.ndarray:
        """Widths (s) that move ``cells`` from ``g_from`` a fraction ``aim`` of the way (in state) to ``g_to`` (S).

        The drive is the amplitude that puts ``v_cell`` (V, magnitude, per cell or scalar) on each cell at
        its starting conductance through its series resistance ``r_series`` (ohm); as the cell moves the
        divider shifts its voltage, and the plan integrates that in ``substeps`` equal steps of state with
        the model's rate law (midpoint rule). ``inf`` where the model says the cell cannot move that way.
        """
        dev = self.device
        saved = dev.state_of(cells)
        s_to = dev.state_for(cells, g_to)
        s = dev.state_for(cells, np.nan_to_num(g_from, nan=0.0))
        step = aim * (s_to - s) / substeps
        sign = self.polarity(direction)
        total = np.zeros(cells.size)
        try:
            dev.set_state_of(cells, s)
            drive = np.abs(v_cell) * (1.0 + r_series * dev.conductance_of(cells))
            for _ in range(substeps):
                dev.set_state_of(cells, s + 0.5 * step)
                volts = sign * drive / (1.0 + r_series * dev.conductance_of(cells))
                rate = dev.rate_of(cells, volts)
                ok = (rate != 0) & (np.sign(rate) == np.sign(step))
                total += np.where(ok, np.abs(step) / np.where(ok, np.abs(rate), 1.0), np.inf)
                s = s + step
        finally:
            dev.set_state_of(cells, saved)
        return np.where(step == 0, 0.0, total)

    def fit_to_min_width(self, cells, g_from, g_to, direction: int, v_cell: np.ndarray, r_series,
                         aim: float, width_min_s: float, substeps: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Cell voltages (V) and widths (s): ``v_cell`` where its plan is at least ``width_min_s`` long, else
        the voltage (bisected between the threshold and ``v_cell``) whose plan lasts ``width_min_s``.

        A generator cannot make a pulse shorter than its edges; a slower pulse does the same move.
        """
        v_cell = np.broadcast_to(np.asarray(v_cell, float), cells.shape).copy()
        widths = self.plan_widths(cells, g_from, g_to, direction, v_cell, r_series, aim, substeps)
        short = (widths > 0) & (widths < width_min_s)
        if not short.any():
            return v_cell, widths
        # bisect the overdrive x = v / threshold - 1 on a log scale: the width falls steeply with it
        v_th = self.threshold(direction)
        lo = np.full(short.sum(), np.log(1e-6))
        hi = np.log(np.maximum(v_cell[short] / v_th - 1.0, 2e-6))
        args = (cells[short], np.asarray(g_from)[short], np.asarray(g_to)[short], direction)
        r_s = np.broadcast_to(r_series, cells.shape)[short]
        for _ in range(BISECTIONS):
            mid = 0.5 * (lo + hi)
            w = self.plan_widths(*args, v_th * (1.0 + np.exp(mid)), r_s, aim, max(2, substeps // 4))
            too_short = w < width_min_s
            hi = np.where(too_short, mid, hi)
            lo = np.where(too_short, lo, mid)
        lo = v_th * (1.0 + np.exp(lo))
        v_cell[short] = lo
        widths[short] = self.plan_widths(*args, lo, r_s, aim, substeps)
        return v_cell, widths

    def voltage_for_width(self, direction: int, width_s: float, fraction: float) -> float:
        """Cell voltage (V) at which a pulse of ``width_s`` moves a mid-range cell by ``fraction`` of its range."""
        lo, hi = self.threshold(direction) * (1 + 1e-6), 20.0 * self.threshold(direction)
        if self.width_for(direction, hi, fraction) > width_s:
            return hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.width_for(direction, mid, fraction) > width_s else (lo, mid)
        return hi
