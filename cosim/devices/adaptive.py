"""Adaptive-step integration of a ``DeviceArray`` under a piecewise-linear voltage waveform.

Between samples k and k+1 the voltage is the straight line from v[k] to v[k+1] (the last interval
holds v[K-1]). Each cell integrates its own interval with its own sub-steps (vectorised: all cells
advance together, each by its own step), using the Heun-Euler pair: Heun's value is kept, and the
difference from Euler's (both clipped to the state bounds, so a saturated cell has no error) is the
error estimate, kept below ``rtol`` x the cell's state range.

A sub-step never steps over a threshold crossing: the model lists the voltages where its rate law
changes branch (``_thresholds``), the time at which the interpolated voltage reaches each is solved
for in closed form, and the sub-step is shortened to end exactly there. Frozen (faulty) cells do not
move. Cycle-to-cycle redraws happen at the start of the sub-step in which a cell's drive polarity
(taken at the sub-step's mid-point voltage) changes.
"""
from __future__ import annotations

import numpy as np

__all__ = ["simulate_adaptive"]

MAX_SUBSTEPS = 200_000     # per sample interval; more means the problem is not what this solver is for
H_MIN_FRACTION = 1e-12     # of dt: a step this small is accepted whatever its error estimate


def simulate_adaptive(dev, volts: np.ndarray, dt: float, rtol: float) -> np.ndarray:
    """Currents (K, n) at the samples; advances ``dev``'s state over K intervals of ``dt`` s."""
    if dev._has_noise():
        raise ValueError(f"method='adaptive' does not support the stochastic {type(dev).__name__} noise term; "
                         "use method='fixed'")
    n, steps = dev.n, volts.shape[0]
    out = np.empty((steps, n))
    h = np.full(n, dt)
    for k in range(steps):
        v0 = np.broadcast_to(volts[k], (n,))
        v1 = np.broadcast_to(volts[k + 1] if k + 1 < steps else volts[k], (n,))
        s = dev._state
        out[k] = dev._observed_current(v0, s, dev._ideal_current(v0, s, dev._cell))
        _integrate_interval(dev, v0, v1, dt, h, rtol)
    return out


def _next_breakpoint(dev, s, cell, a0, slope, t0, dt) -> np.ndarray:
    """Earliest time in (t0, dt) at which the line a0 + slope t crosses one of the model's thresholds."""
    t_end = np.full(t0.shape, dt)
    moving = slope != 0
    safe = np.where(moving, slope, 1.0)
    for threshold in dev._thresholds(s, cell):
        tc = (threshold - a0) / safe
        valid = moving & (tc > t0 * (1 + 1e-15) + dt * 1e-15) & (tc < dt)
        t_end = np.where(valid, np.minimum(t_end, tc), t_end)
    return t_end


def _integrate_interval(dev, v0: np.ndarray, v1: np.ndarray, dt: float, h: np.ndarray, rtol: float) -> None:
    lo, hi = dev._state_range(dev._cell)
    tol_all = rtol * (hi - lo)
    tau = np.zeros(dev.n)
    active = ~dev._frozen
    for _ in range(MAX_SUBSTEPS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            return
        a0, slope = v0[idx], (v1[idx] - v0[idx]) / dt
        t0 = tau[idx]
        cell = {name: arr[idx] for name, arr in dev._cell.items()}
        t_end = _next_breakpoint(dev, dev._state[idx], cell, a0, slope, t0, dt)
        hh = np.minimum(h[idx], t_end - t0)
        lands = hh >= t_end - t0
        if dev.c2c:
            dev._switching_events(a0 + slope * (t0 + 0.5 * hh), subset=idx)
            cell = {name: arr[idx] for name, arr in dev._cell.items()}
            lo, hi = dev._state_range(dev._cell)
            tol_all = rtol * (hi - lo)
        s = dev._state[idx]
        s_lo, s_hi = lo[idx], hi[idx]
        v_a = a0 + slope * t0
        v_b = a0 + slope * np.where(lands, t_end, t0 + hh)
        f0 = dev._rate(v_a, s, cell, dev._ideal_current(v_a, s, cell))
        s_euler = np.clip(s + hh * f0, s_lo, s_hi)
        f1 = dev._rate(v_b, s_euler, cell, dev._ideal_current(v_b, s_euler, cell))
        s_heun = np.clip(s + 0.5 * hh * (f0 + f1), s_lo, s_hi)
        err = np.abs(s_heun - s_euler)     # both clipped: a cell held at its bound has no error
        tol = tol_all[idx]
        ok = (err <= tol) | (hh <= H_MIN_FRACTION * dt)
        accepted = idx[ok]
        dev._state[accepted] = s_heun[ok]
        tau[accepted] = np.where(lands[ok], t_end[ok], t0[ok] + hh[ok])
        with np.errstate(divide="ignore"):
            factor = np.clip(0.9 * np.sqrt(tol / np.maximum(err, 1e-300)), 0.2, 5.0)
        # A step cut short by a breakpoint says nothing about the step size the cell can take.
        h[idx] = np.minimum(np.where(ok & lands, np.maximum(h[idx], hh * factor), hh * factor), dt)
        active[accepted] = tau[accepted] < dt * (1 - 1e-12)
    raise RuntimeError(f"adaptive step: more than {MAX_SUBSTEPS} sub-steps in one sample interval of "
                       f"{dt:g} s; the model is too stiff for this solver at rtol={rtol:g} (use method='fixed')")
