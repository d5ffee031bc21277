"""RESET stop voltage programming (issue 12 item 8): a ``v_stop`` sets a cell's HRS level and is recorded,
so the endurance law uses seed 000's window (Fig. 4, :class:`~cosim.devices.aging.ResetStopWindow`, fitted
by :mod:`cosim.devices.reset_stop_fit`) at the voltage actually applied.

Mapping v_stop -> HRS level (:class:`ResetStopLevels`): log-linear in the stop voltage,

    ln R_HRS(V) = ln r_at_v_min + s(V) ln(r_at_v_max / r_at_v_min),   s = (V - v_min) / (v_max - v_min),

a deeper RESET (a higher stop voltage) leaves a larger gap and a higher HRS. Seed 000 publishes the
endurance thresholds against v_stop, not the HRS levels, so the two end resistances are the user's choice
(a modelling assumption, not a fit); the window's ends are those of the endurance law's window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosim.devices.aging import EnduranceRetentionLaw, ResetStopWindow, TwoStateAging
from cosim.validate import cell_map, real_array

__all__ = ["ResetStopLevels", "law_window", "program_v_stop"]


@dataclass(frozen=True)
class ResetStopLevels:
    """HRS resistance (ohm) as a log-linear function of the RESET stop voltage over ``window`` (V)."""

    window: ResetStopWindow
    r_at_v_min: float          # ohm, HRS after a RESET stopped at window.v_min
    r_at_v_max: float          # ohm, HRS after a RESET stopped at window.v_max

    def __post_init__(self) -> None:
        if not isinstance(self.window, ResetStopWindow):
            raise TypeError(f"ResetStopLevels.window must be a ResetStopWindow; got {type(self.window).__name__}")
        for name in ("r_at_v_min", "r_at_v_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"ResetStopLevels.{name} must be a finite resistance > 0 ohm; got {value!r}")

    def hrs_resistance(self, v_stop) -> np.ndarray:
        """R_HRS (ohm) at ``v_stop`` (V, within the window; ValueError otherwise)."""
        v = real_array("v_stop", v_stop, unit="V")
        w = self.window
        if np.any((v < w.v_min) | (v > w.v_max)):
            raise ValueError(f"v_stop must lie in the window [{w.v_min}, {w.v_max}] V; got {v_stop!r}")
        s = (v - w.v_min) / (w.v_max - w.v_min)
        return np.exp(math.log(self.r_at_v_min) + s * math.log(self.r_at_v_max / self.r_at_v_min))


def law_window(law) -> ResetStopWindow | None:
    """The RESET stop window an endurance law evaluates v_stop with (a two-state law needs one on both
    states' laws, which must agree); None when it has none."""
    if isinstance(law, EnduranceRetentionLaw):
        return law.reset_stop
    if isinstance(law, TwoStateAging):
        windows = {law.lrs.reset_stop, law.hrs.reset_stop}
        return windows.pop() if len(windows) == 1 else None
    return None


def program_v_stop(array, v_stop, levels: ResetStopLevels, tolerance: float = 0.01, config=None):
    """RESET the cells of ``array`` to the HRS that ``v_stop`` ((rows, cols) V; NaN: leave the cell alone)
    sets by ``levels`` (write-verify to that conductance), then record each cell's v_stop in its aging
    memory, so its endurance law uses the window at that voltage. Returns the ProgramReport.

    Checked before anything changes: shape, values within ``levels.window``, and an endurance law whose
    window (:func:`law_window`) is ``levels.window``.
    """
    if not isinstance(levels, ResetStopLevels):
        raise TypeError(f"levels must be a ResetStopLevels; got {type(levels).__name__}")
    v, given = cell_map("v_stop", v_stop, array.shape, unit="V")   # NaN: leave the cell alone
    window = law_window(array.aging_laws.endurance)
    if window != levels.window:
        raise ValueError(f"the array's endurance law (aging_laws.endurance) must have the RESET stop window "
                         f"{levels.window} to record v_stop; it has {window}")
    target = np.full(array.shape, np.nan)
    target[given] = 1.0 / levels.hrs_resistance(v[given])
    report = array.program(target, "write-verify", tolerance, config)
    array.aging.v_stop[given.ravel()] = v[given]
    return report
