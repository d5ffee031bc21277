"""The controller's own device model: nominal parameters, probed thresholds, and pulse plans.

A controller never sees the array's devices. It holds a separate model — by default the array's
preset with every per-cell parameter at its nominal value (no device-to-device spread, no
cycle-to-cycle redraws, no faults, no read noise) — and plans its pulses from it: thresholds and
polarity found by scanning the model's rate law, times to move a cell between two conductances under
a drive whose share on the cell follows the cell as it moves.

Plans never touch the model's cells: they evaluate its rate law at the states a move passes through
(:meth:`~cosim.devices.subset.CellSubsetMethods.rate_at`), for all cells, sub-steps and candidate
voltages in one vectorised call.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np

from cosim.devices.base import DeviceArray
from cosim.devices.variability import Distribution, LogNormal, Normal, Uniform

_GRID = np.linspace(0.005, 5.0, 1000)   # V, probe amplitudes
SEARCH_POINTS = 24      # log-spaced overdrives of fit_to_min_width's voltage search ...
SEARCH_FINE = 16        # ... and of its second grid inside the bracketing interval
OVERDRIVE_MIN = 1e-6    # the smallest overdrive v / threshold - 1 the search tries


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


@lru_cache(maxsize=None)
def _unit(points: int) -> np.ndarray:
    """``points`` equal steps over [0, 1] (read-only)."""
    out = np.linspace(0.0, 1.0, points)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def _half_steps(substeps: int) -> np.ndarray:
    """-1/2, 1/2, 3/2, ... substeps - 1/2: the start and the mid-points of ``substeps`` steps, in steps."""
    out = np.arange(-0.5, substeps)
    out.flags.writeable = False
    return out


@dataclass
class _Path:
    """The states a planned move passes through: its step ``step`` (k,), mid-step states ``mids``
    (k, substeps), and the model's conductances (S) at the start ``g0`` and at the mid-steps (None when
    no cell has a series resistance: the divider is then 1)."""

    cells: np.ndarray
    step: np.ndarray
    mids: np.ndarray
    g0: np.ndarray | None
    g_mid: np.ndarray | None

    def take(self, mask: np.ndarray) -> "_Path":
        pick = lambda a: None if a is None else a[mask]
        return _Path(self.cells[mask], self.step[mask], self.mids[mask], pick(self.g0), pick(self.g_mid))


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
        toward_on = np.sign(lo[0] - hi[0])
        cell, mid = np.array([0]), 0.5 * (lo[:1] + hi[:1])
        found = {}
        for sign in (+1, -1):
            effect = device.rate_at(cell, sign * _GRID[None, :], mid)[0] * toward_on   # > 0: the conductance rises
            moving = np.flatnonzero(effect != 0)
            if moving.size:
                found[sign] = (float(_GRID[moving[0]]), int(np.sign(effect[moving[0]])))
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
        rate = abs(float(dev.rate_at(cell, self.polarity(direction) * abs(v_cell), 0.5 * (lo[:1] + hi[:1]))[0]))
        if rate == 0:
            raise ValueError(f"the controller's model does not move at {v_cell:.3g} V; cannot size pulses")
        return float(fraction * abs(hi[0] - lo[0]) / rate)

    # ---- plans ----------------------------------------------------------------------------------------
    def _path(self, cells: np.ndarray, g_from, g_to, aim: float, substeps: int, divider: bool = True) -> _Path:
        """The states of a move of ``cells`` from ``g_from`` a fraction ``aim`` of the way to ``g_to`` (S);
        their conductances only where a ``divider`` is to be followed."""
        dev, k = self.device, cells.size
        ends = np.empty(2 * k)
        ends[:k], ends[k:] = g_from, g_to
        ends[:k][np.isnan(ends[:k])] = 0.0
        ends = dev.state_for(np.concatenate([cells, cells]), ends)
        s = ends[:k]
        step = aim * (ends[k:] - s) / substeps
        states = s[:, None] + _half_steps(substeps)[None, :] * step[:, None]    # start (-1/2 step: s) and mids
        states[:, 0] = s
        if not divider:
            return _Path(cells, step, states[:, 1:], None, None)
        g = dev.conductance_at(cells, states)
        return _Path(cells, step, states[:, 1:], g[:, 0], g[:, 1:])

    def _widths(self, path: _Path, direction: int, v_cell: np.ndarray, r_series: np.ndarray) -> np.ndarray:
        """Widths (s, (k, m)) of ``path`` at cell voltages ``v_cell`` ((k, m), V at the start conductance)
        through ``r_series`` ((k,), ohm): the midpoint rule over the path's sub-steps, the divider followed."""
        volts = self.polarity(direction) * np.abs(v_cell)[:, :, None]
        if path.g0 is not None:
            r = r_series[:, None, None]
            volts = volts * (1.0 + r * path.g0[:, None, None]) / (1.0 + r * path.g_mid[:, None, :])
        rate = self.device.rate_at(path.cells, volts, path.mids[:, None, :])
        step = path.step[:, None, None]
        ok = (rate != 0) & (np.sign(rate) == np.sign(step))
        total = np.where(ok, np.abs(step) / np.where(ok, np.abs(rate), 1.0), np.inf).sum(axis=-1)
        return np.where(step[:, :, 0] == 0, 0.0, total)

    def plan_widths(self, cells: np.ndarray, g_from: np.ndarray, g_to: np.ndarray, direction: int,
                    v_cell: np.ndarray, r_series: np.ndarray, aim: float = 1.0, substeps: int = 8) -> np.ndarray:
        """Widths (s) that move ``cells`` from ``g_from`` a fraction ``aim`` of the way (in state) to ``g_to`` (S).

        The drive is the amplitude that puts ``v_cell`` (V, magnitude, per cell or scalar) on each cell at
        its starting conductance through its series resistance ``r_series`` (ohm); as the cell moves the
        divider shifts its voltage, and the plan integrates that in ``substeps`` equal steps of state with
        the model's rate law (midpoint rule). ``inf`` where the model says the cell cannot move that way.
        The model's cells are not touched (the rate law is evaluated at the path's states).
        """
        cells = np.asarray(cells)
        v = np.broadcast_to(np.asarray(v_cell, float), cells.shape)[:, None]
        r = np.broadcast_to(np.asarray(r_series, float), cells.shape)
        path = self._path(cells, g_from, g_to, aim, substeps, divider=bool(np.any(r != 0)))
        return self._widths(path, direction, v, r)[:, 0]

    def fit_to_min_width(self, cells, g_from, g_to, direction: int, v_cell: np.ndarray, r_series,
                         aim: float, width_min_s: float, substeps: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Cell voltages (V) and widths (s): ``v_cell`` where its plan is at least ``width_min_s`` long, else
        the voltage (between the threshold and ``v_cell``) whose plan lasts ``width_min_s``.

        A generator cannot make a pulse shorter than its edges; a slower pulse does the same move. One
        vectorised evaluation plans every cell at ``v_cell``; for the short plans only, a second one at
        ``SEARCH_POINTS`` overdrives ``v / threshold - 1`` (log-spaced from ``OVERDRIVE_MIN`` to ``v_cell``'s)
        and a third at ``SEARCH_FINE`` overdrives inside the bracketing interval; the voltage then
        interpolates log width linearly in log overdrive (exact for a power-law rate at a constant
        voltage; relative width error ~1e-5 otherwise), and its width is ``width_min_s``. A plan that is
        shorter than ``width_min_s`` even at ``OVERDRIVE_MIN`` keeps its width (the pulse will be clipped).
        """
        cells = np.asarray(cells)
        v_cell = np.broadcast_to(np.asarray(v_cell, float), cells.shape).copy()
        r_s = np.broadcast_to(np.asarray(r_series, float), cells.shape)
        path = self._path(cells, g_from, g_to, aim, substeps, divider=bool(np.any(r_s != 0)))
        v_th = self.threshold(direction)
        v_of = lambda log_x: v_th * (1.0 + np.exp(log_x))
        bottom = np.log(OVERDRIVE_MIN)
        top = np.log(np.maximum(v_cell / v_th - 1.0, 2.0 * OVERDRIVE_MIN))
        widths = self._widths(path, direction, v_cell[:, None], r_s)[:, 0]
        short = (widths > 0) & (widths < width_min_s)
        if not short.any():
            return v_cell, widths
        path, r_s = path.take(short), r_s[short]
        grid = bottom + (top[short] - bottom)[:, None] * _unit(SEARCH_POINTS)[None, :]  # (short, points)
        with np.errstate(divide="ignore"):
            f = np.log(self._widths(path, direction, v_of(grid), r_s)) - np.log(width_min_s)  # >= 0: long enough
        found = f[:, 0] >= 0
        i = np.clip(np.sum(f >= 0, axis=1) - 1, 0, SEARCH_POINTS - 2)
        rows = np.arange(i.size)
        fine = grid[rows, i][:, None] + (grid[rows, i + 1] - grid[rows, i])[:, None] * _unit(SEARCH_FINE)[None, :]
        with np.errstate(divide="ignore"):
            f = np.log(self._widths(path, direction, v_of(fine), r_s)) - np.log(width_min_s)
        j = np.clip(np.sum(f >= 0, axis=1) - 1, 0, SEARCH_FINE - 2)
        a, b, fa, fb = fine[rows, j], fine[rows, j + 1], f[rows, j], f[rows, j + 1]
        usable = found & np.isfinite(fa) & np.isfinite(fb) & (fa > fb) & (fa >= 0) & (fb < 0)
        x = np.where(usable, a - fa * (b - a) / np.where(usable, fb - fa, 1.0), np.where(found, a, fine[:, 0]))
        f_x = np.where(usable, 0.0, np.where(found, fa, f[:, 0]))
        v_cell[short] = v_of(x)
        widths[short] = np.where(found, np.maximum(width_min_s * np.exp(f_x), width_min_s), width_min_s * np.exp(f_x))
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
