"""How far a controller may scale a bias before its own model says a cell it does not address would switch.

The controller's model of a 1R array is linear (the layout as designed, its estimates of the cells), so
the cell voltages of a bias scale with it: from the voltages per volt of the bias (``unit``, V/V), the
largest scale keeps every spared cell below ``DISTURB_MARGIN`` x its threshold in the direction its
voltage would move it. In an array with wires that is not the ideal V/3 picture: the unselected lines
carry the unselected cells' current and sag towards each other, so the half-selected cells far from the
drivers see more than a third of the drive, and a drive raised to push a far cell over its threshold
can switch them.
"""
from __future__ import annotations

import numpy as np

DISTURB_MARGIN = 0.95   # spared cells stay below this fraction of their threshold, as the model predicts


def scale_limit(unit: np.ndarray, spared: np.ndarray, model, sign: int, margin: float = DISTURB_MARGIN) -> float:
    """The largest s >= 0 for which ``s * sign * unit`` (V; ``unit`` the (rows, cols) cell voltages per volt)
    keeps every ``spared`` cell below ``margin`` x the threshold (V) of ``model`` (a ControllerModel) in
    the direction of its voltage; inf when no spared cell sees any voltage."""
    v = sign * np.asarray(unit)[spared]
    v = v[v != 0]
    if v.size == 0:
        return np.inf
    threshold = np.where(np.sign(v) == model.polarity(-1), model.v_down, model.v_up)
    return float(np.min(margin * threshold / np.abs(v)))
