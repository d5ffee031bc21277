"""What a programming controller knows about its devices: thresholds, polarity, rates, times to target.

Found by probing the device model (its ``rate`` law at a mid-range state) without changing it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_GRID = np.linspace(0.005, 5.0, 1000)   # V, probe amplitudes


@dataclass
class DeviceDrive:
    """Thresholds and polarity of a device array (median cell).

    Attributes:
        v_up, v_down: smallest amplitude (V, magnitude) that raises / lowers the conductance.
        sign_up: sign of the voltage that raises the conductance (+1 or -1).
    """

    device: object
    v_up: float
    v_down: float
    sign_up: int

    def polarity(self, direction: int) -> int:
        """Voltage sign that moves the conductance up (direction +1) or down (-1)."""
        return self.sign_up if direction > 0 else -self.sign_up

    def width_for(self, direction: int, multiple: float, fraction: float) -> float:
        """Width (s) that moves the median mid-range cell by ``fraction`` of its range at ``multiple`` x threshold."""
        v_th = self.v_up if direction > 0 else self.v_down
        v = self.polarity(direction) * multiple * v_th
        with _mid_state(self.device) as span:
            rate = np.abs(self.device.rate(np.full(self.device.n, v)))
        moving = rate > 0
        if not moving.any():
            raise ValueError(f"the device does not move at {v:.3g} V; cannot size pulses")
        return float(fraction * np.median(span[moving]) / np.median(rate[moving]))

    def time_to(self, target_g: np.ndarray, cells: np.ndarray, cell_volts: np.ndarray) -> np.ndarray:
        """Time (s) each of ``cells`` (flat indices) needs under ``cell_volts`` (V) to reach ``target_g`` (S).

        From the present state at the present rate (exact for rate laws without a state window);
        0 where the voltage does not move the cell towards its target.
        """
        dev = self.device
        saved = dev.state
        g = _clipped_conductance(dev)
        g[cells] = target_g
        dev.set_conductance(g)
        s_target = dev.state[cells]
        dev.set_state(saved)
        v = np.zeros(dev.n)
        v[cells] = cell_volts
        rate = dev.rate(v)[cells]
        delta = s_target - saved[cells]
        ok = (rate != 0) & (np.sign(rate) == np.sign(delta))
        return np.where(ok, np.abs(delta) / np.where(ok, np.abs(rate), 1.0), 0.0)


    def plan_widths(self, cells: np.ndarray, g_from: np.ndarray, g_to: np.ndarray, direction: int,
                    v_cell: float, r_series: np.ndarray, aim: float, substeps: int = 8) -> np.ndarray:
        """Pulse widths (s) that move ``cells`` from ``g_from`` a fraction ``aim`` of the way to ``g_to`` (S).

        The drive is the amplitude that puts ``v_cell`` (V, magnitude) on each cell at its starting
        conductance through its series resistance ``r_series`` (ohm); as the cell moves, the divider
        shifts its voltage, and the plan integrates that in ``substeps`` equal steps of state using
        the model's rate law. ``inf`` where the model says the cell cannot move that way.
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
            drive = v_cell * (1.0 + r_series * dev.conductance_of(cells))
            for _ in range(substeps):
                volts = sign * drive / (1.0 + r_series * dev.conductance_of(cells))
                rate = dev.rate_of(cells, volts)
                ok = (rate != 0) & (np.sign(rate) == np.sign(step))
                total += np.where(ok, np.abs(step) / np.where(ok, np.abs(rate), 1.0), np.inf)
                s = s + step
                dev.set_state_of(cells, s)
        finally:
            dev.set_state_of(cells, saved)
        return total


class _mid_state:
    """Context: the device temporarily at mid-range states; yields the per-cell state span."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        self.saved = self.device.state
        lo, hi = self.device.state_bounds()
        self.device.set_state(0.5 * (lo + hi))
        return np.abs(hi - lo)

    def __exit__(self, *exc):
        self.device.set_state(self.saved)
        return False


def _clipped_conductance(dev) -> np.ndarray:
    g_a, g_b = dev.conductance_bounds()
    return np.clip(dev.conductance(noisy=False), np.minimum(g_a, g_b), np.maximum(g_a, g_b))


def probe_drive(device) -> DeviceDrive:
    """Find the thresholds and the polarity of ``device`` by scanning its rate law."""
    lo, hi = device.state_bounds()          # (state at low resistance, state at high resistance)
    toward_on = np.sign(lo - hi)
    found = {}
    with _mid_state(device):
        for sign in (+1, -1):
            for v in _GRID:
                rate = device.rate(np.full(device.n, sign * v))
                effect = np.median(rate * toward_on)      # > 0: the conductance rises
                if effect != 0:
                    found[sign] = (float(v), int(np.sign(effect)))
                    break
    if len(found) < 2 or found[+1][1] == found[-1][1]:
        raise ValueError("could not find a SET and a RESET polarity of the device below 5 V")
    sign_up = +1 if found[+1][1] > 0 else -1
    return DeviceDrive(device, v_up=found[sign_up][0], v_down=found[-sign_up][0], sign_up=sign_up)
