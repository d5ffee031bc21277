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

import numpy as np

from cosim.devices.base import DeviceArray
from cosim.devices.variability import Distribution, LogNormal, Normal, Uniform

_GRID = np.linspace(0.005, 5.0, 1000)   # V, probe amplitudes
SEARCH_POINTS = 24      # log-spaced overdrives of fit_to_min_width's voltage search
SEARCH_REFINE = 3       # interpolation steps inside the bracketing interval (log width vs log overdrive)
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


@dataclass
class _Path:
    """The states a planned move passes through: start ``s0`` and step ``step`` (k,), mid-step states
    ``mids`` (k, substeps), and the model's conductances (S) at the start ``g0`` and at the mid-steps."""

    cells: np.ndarray
    step: np.ndarray
    mids: np.ndarray
    g0: np.ndarray
    g_mid: np.ndarray

    def take(self, mask: np.ndarray) -> "_Path":
        return _Path(self.cells[mask], self.step[mask], self.mids[mask], self.g0[mask], self.g_mid[mask])


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
    def _path(self, cells: np.ndarray, g_from, g_to, aim: float, substeps: int) -> _Path:
        """The states of a move of ``cells`` from ``g_from`` a fraction ``aim`` of the way to ``g_to`` (S)."""
        dev, k = self.device, cells.size
        g_from = np.nan_to_num(np.broadcast_to(np.asarray(g_from, float), cells.shape), nan=0.0)
        ends = dev.state_for(np.concatenate([cells, cells]),
                             np.concatenate([g_from, np.broadcast_to(np.asarray(g_to, float), cells.shape)]))
        s = ends[:k]
        step = aim * (ends[k:] - s) / substeps
        states = s[:, None] + np.arange(-0.5, substeps)[None, :] * step[:, None]    # start (-1/2 step: s) and mids
        states[:, 0] = s
        g = dev.conductance_at(cells, states)
        return _Path(cells, step, states[:, 1:], g[:, 0], g[:, 1:])

    def _widths(self, path: _Path, direction: int, v_cell: np.ndarray, r_series: np.ndarray) -> np.ndarray:
        """Widths (s, (k, m)) of ``path`` at cell voltages ``v_cell`` ((k, m), V at the start conductance)
        through ``r_series`` ((k,), ohm): the midpoint rule over the path's sub-steps, the divider followed."""
        r = r_series[:, None, None]
        drive = np.abs(v_cell)[:, :, None] * (1.0 + r * path.g0[:, None, None])
        volts = self.polarity(direction) * drive / (1.0 + r * path.g_mid[:, None, :])
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
        return self._widths(self._path(cells, g_from, g_to, aim, substeps), direction, v, r)[:, 0]

    def fit_to_min_width(self, cells, g_from, g_to, direction: int, v_cell: np.ndarray, r_series,
                         aim: float, width_min_s: float, substeps: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Cell voltages (V) and widths (s): ``v_cell`` where its plan is at least ``width_min_s`` long, else
        the voltage (between the threshold and ``v_cell``) whose plan lasts ``width_min_s``.

        A generator cannot make a pulse shorter than its edges; a slower pulse does the same move. The
        search evaluates every short cell's plan at ``SEARCH_POINTS`` overdrives ``v / threshold - 1``
        (log-spaced from ``OVERDRIVE_MIN`` to ``v_cell``'s) at once, and refines the bracketing interval by
        ``SEARCH_REFINE`` interpolations of log width in log overdrive (exact for a power-law rate at a
        constant voltage). Widths returned for the short cells are at least ``width_min_s``.
        """
        cells = np.asarray(cells)
        v_cell = np.broadcast_to(np.asarray(v_cell, float), cells.shape).copy()
        r_s = np.broadcast_to(np.asarray(r_series, float), cells.shape)
        path = self._path(cells, g_from, g_to, aim, substeps)
        widths = self._widths(path, direction, v_cell[:, None], r_s)[:, 0]
        short = (widths > 0) & (widths < width_min_s)
        if not short.any():
            return v_cell, widths
        path, r_s = path.take(short), r_s[short]
        v_th = self.threshold(direction)
        v_of = lambda log_x: v_th * (1.0 + np.exp(log_x))
        top = np.log(np.maximum(v_cell[short] / v_th - 1.0, 2.0 * OVERDRIVE_MIN))
        grid = np.linspace(np.log(OVERDRIVE_MIN), top, SEARCH_POINTS, axis=1)       # (k, points)
        with np.errstate(divide="ignore"):
            f = np.log(self._widths(path, direction, v_of(grid), r_s)) - np.log(width_min_s)  # >= 0: long enough
        # bracket: the last grid point still long enough (widths fall with the voltage) and the next one
        i = np.clip(np.sum(f >= 0, axis=1) - 1, 0, SEARCH_POINTS - 2)
        rows = np.arange(i.size)
        a, b, fa, fb = grid[rows, i], grid[rows, i + 1], f[rows, i], f[rows, i + 1]
        best, f_best = a.copy(), fa.copy()
        for _ in range(SEARCH_REFINE):
            usable = np.isfinite(fa) & np.isfinite(fb) & (fa > fb)
            c = np.where(usable, a - fa * (b - a) / np.where(usable, fb - fa, 1.0), 0.5 * (a + b))
            c = np.clip(c, np.minimum(a, b), np.maximum(a, b))
            with np.errstate(divide="ignore"):
                fc = np.log(self._widths(path, direction, v_of(c)[:, None], r_s)[:, 0]) - np.log(width_min_s)
            closer = np.abs(fc) < np.abs(f_best)
            best, f_best = np.where(closer, c, best), np.where(closer, fc, f_best)
            long = fc >= 0
            a, fa = np.where(long, c, a), np.where(long, fc, fa)
            b, fb = np.where(long, b, c), np.where(long, fb, fc)
        v_cell[short] = v_of(best)
        widths[short] = np.maximum(width_min_s * np.exp(f_best), width_min_s)
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
