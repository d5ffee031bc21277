"""Fit of seed 000's RESET stop voltage window (Fig. 4) to (V_stop, endurance threshold) data.

Model (MODELS.md section 3, :class:`~cosim.devices.aging.ResetStopWindow`): with s = (V - v_min) /
(v_max - v_min) and q(V) = 1 - (2 s - 1)^2 on the window and 0 outside it,

    log10 x_th(V) = L q(V)

so the threshold is 1 at and outside v_min, v_max and peaks at 10^L in the middle. The three
parameters (v_min, v_max, L) are fitted by least squares on log10 x_th (``scipy.optimize.least_squares``
from a grid of starting windows over the data's voltage range). The fitted window is returned as a
``ResetStopWindow`` with ``v_opt`` = the middle of the window, where the scale factor q(V)/q(v_opt) is
the fraction of the peak log-threshold.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .aging import ResetStopWindow, positive_array

__all__ = ["ResetStopFit", "fit_reset_stop_window", "window_log10_threshold"]


def window_log10_threshold(v_stop, v_min: float, v_max: float, peak_log10: float) -> np.ndarray:
    """log10 x_th at ``v_stop`` (V) of the window (v_min, v_max) V with peak 10^peak_log10."""
    v = np.asarray(v_stop, dtype=np.float64)
    s = (v - v_min) / (v_max - v_min)
    return peak_log10 * np.clip(1.0 - (2.0 * s - 1.0) ** 2, 0.0, None)


@dataclass(frozen=True)
class ResetStopFit:
    """A fitted window: ``window`` (v_opt at its middle), ``peak_log10`` = log10 x_th there, and the RMS of
    log10(model / data) over the points (decades)."""

    window: ResetStopWindow
    peak_log10: float
    rms_log10: float

    def threshold(self, v_stop) -> np.ndarray:
        """Endurance threshold x_th (cycles) at ``v_stop`` (V; outside the window: 1)."""
        w = self.window
        return 10.0 ** window_log10_threshold(v_stop, w.v_min, w.v_max, self.peak_log10)


def fit_reset_stop_window(v_stop, threshold) -> ResetStopFit:
    """Least-squares fit of (v_min, v_max, peak) to thresholds (cycles, > 0) measured at ``v_stop`` (V)."""
    v = np.asarray(v_stop, dtype=np.float64)
    y = np.log10(positive_array("threshold", threshold))
    if v.shape != y.shape or v.ndim != 1 or v.size < 4 or not np.all(np.isfinite(v)):
        raise ValueError(f"v_stop and threshold must be finite 1-D arrays of the same length >= 4; got {v.shape}, {y.shape}")

    def residual(p):
        return window_log10_threshold(v, p[0], p[1], p[2]) - y

    lo, hi = float(v.min()), float(v.max())
    span = hi - lo
    best = None
    for a, b in itertools.product(np.linspace(lo, lo + 0.5 * span, 6), np.linspace(lo + 0.5 * span, hi, 6)):
        if b - a < 0.05 * span:
            continue
        start = np.array([a, b, max(float(y.max()), 1e-3)])
        res = optimize.least_squares(residual, start, bounds=([lo - span, lo, 0.0], [hi, hi + span, np.inf]))
        if res.x[1] > res.x[0] and (best is None or res.cost < best.cost):
            best = res
    v_min, v_max, peak = (float(p) for p in best.x)
    rms = math.sqrt(2.0 * best.cost / v.size)
    return ResetStopFit(ResetStopWindow(v_min, v_max, 0.5 * (v_min + v_max)), peak, rms)
