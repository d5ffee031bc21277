"""A single-cell read as the engine does it: on the tracked path where the read sees the stamped conductances.

Between programming pulses a verify read of one cell differs from the cached factorisation only in the
few cells the pulses moved, so without read noise or TCR it is one rank-k correction at the read's bias
(:meth:`~cosim.solve.crossbar.Crossbar.bias_tracker`; a single-cell bias is a superposition of unit
biases the factorisation keeps), and the full operating point is computed only when asked for.
"""
from __future__ import annotations

import numpy as np

from cosim.sim.cosimulate import Bias, read_scale, stamp
from cosim.solve.crossbar import Crossbar
from cosim.solve.nested import single_threaded_blas


class LazyExtra(dict):
    """``ReadOutcome.extra`` of a tracked read: ``"solution"`` (the full operating point) is computed the first
    time anything looks at the dict."""

    def __init__(self, solve):
        super().__init__()
        self._solve = solve

    def _fill(self) -> None:
        if self._solve is not None:
            solve, self._solve = self._solve, None
            dict.__setitem__(self, "solution", solve())

    def __missing__(self, key):
        self._fill()
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        self._fill()
        return dict.__contains__(self, key)

    def get(self, key, default=None):
        self._fill()
        return dict.get(self, key, default)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def __repr__(self) -> str:
        self._fill()
        return dict.__repr__(self)


def read_cell_now(crossbar: Crossbar, device, bias: Bias, col: int, kelvin: float,
                  tracked: bool = True) -> tuple[float, float, dict]:
    """(sense current of column ``col``, A; power the sources deliver, W; ``ReadOutcome.extra``) of a read with
    the checked ``bias`` at ``kelvin`` K now: tracked where the read sees the stamped conductances (no read
    noise, no TCR) and the tracked path applies (and ``tracked``), else a full solve with the read's
    conductances."""
    scale = read_scale(device, kelvin)
    if scale is None and tracked:
        stamp(crossbar, device)
        with single_threaded_blas():
            tracker = _tracker(crossbar, bias, fresh=False) or _tracker(crossbar, bias, fresh=True)
        if tracker is not None:
            extra = LazyExtra(tracker.solution_later(crossbar.layout, crossbar.conductances))
            return float(tracker.sense_currents()[col]), float(tracker.power), extra
    stamp(crossbar, device, scale)
    try:
        sol = crossbar.solve_bias(bias.v_wl, bias.v_bl, bias.floating_wl, bias.floating_bl)
    finally:
        stamp(crossbar, device)
    return float(np.nan_to_num(sol.sense_currents[col], nan=0.0)), float(sol.power), {"solution": sol}


def _tracker(crossbar: Crossbar, bias: Bias, fresh: bool):
    """A tracker of ``bias`` with no moving cell, or None (not applicable, or its policy refused)."""
    tracker = crossbar.bias_tracker(bias.v_wl, bias.v_bl, bias.floating_wl, bias.floating_bl, fresh=fresh)
    return tracker if tracker is not None and tracker.track(np.zeros(0, np.int64)) else None
