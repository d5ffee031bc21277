"""Differential 2T2R synapse of two weak-RESET HfOx devices (seed 004 section IV).

W_real = ln(R_BL / R_BLb); the binary weight read by the precharge sense amplifier is its sign
(+1 when R_BL >= R_BLb). Only RESET pulses are used: an update dW > 0 sends
n = floor(learning_rate |dW|) pulses to the BL device (raising W), dW < 0 sends them to BLb.
"""
from __future__ import annotations

import numpy as np

from cosim.validate import check_range, real_array, real_scalar
from cosim.devices.variability import as_generator
from cosim.devices.weak_reset import PULSES_MAX, WeakResetHfOx, WeakResetNoise, WeakResetOptions, WeakResetVariability

__all__ = ["DifferentialSynapse2T2R", "update_pulse_counts"]


def update_pulse_counts(delta_w, learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(BL counts, BLb counts) for real-weight updates ``delta_w``: floor(learning_rate |dW|) each.

    ``learning_rate`` is in pulses per unit of W (> 0); counts are rounded down, as in the paper.
    """
    dw = real_array("delta_w", delta_w)
    if dw.ndim != 1:
        raise ValueError(f"delta_w must be a finite 1-D array; got shape {dw.shape}")
    learning_rate = real_scalar("learning_rate", learning_rate, unit="pulses per unit W")
    check_range("learning_rate", learning_rate, low=0.0, low_inclusive=False, unit="pulses per unit W")
    n = np.floor(learning_rate * np.abs(dw))
    if np.any(n > PULSES_MAX):
        raise ValueError(f"learning_rate * |delta_w| must be <= {PULSES_MAX} pulses; got {np.max(n):.3g}")
    n = n.astype(np.int64)
    return np.where(dw > 0, n, 0), np.where(dw < 0, n, 0)


class DifferentialSynapse2T2R:
    """``n`` synapses, each a pair (BL, BLb) of weak-RESET devices held in two device arrays."""

    def __init__(self, bl: WeakResetHfOx, blb: WeakResetHfOx):
        if not isinstance(bl, WeakResetHfOx) or not isinstance(blb, WeakResetHfOx):
            raise ValueError("bl and blb must be WeakResetHfOx device arrays")
        if bl.n != blb.n:
            raise ValueError(f"bl and blb must hold the same number of cells; got {bl.n} and {blb.n}")
        self.bl, self.blb = bl, blb

    @classmethod
    def create(cls, n: int, rng=None, *, variability: WeakResetVariability = WeakResetVariability(),
               noise: WeakResetNoise = WeakResetNoise(),
               options: WeakResetOptions = WeakResetOptions()) -> "DifferentialSynapse2T2R":
        """Both device arrays drawn from one generator (BL first, then BLb)."""
        rng = as_generator(rng)
        kw = dict(variability=variability, noise=noise, options=options)
        return cls(WeakResetHfOx(n, rng, **kw), WeakResetHfOx(n, rng, **kw))

    @property
    def n(self) -> int:
        return self.bl.n

    def weight(self) -> np.ndarray:
        """(n,) real weight W = ln(R_BL / R_BLb)."""
        return np.log(self.bl.resistance() / self.blb.resistance())

    def binary_weight(self) -> np.ndarray:
        """(n,) int8 binary weight: +1 where R_BL >= R_BLb, else -1."""
        return np.where(self.weight() >= 0, 1, -1).astype(np.int8)

    def update(self, delta_w, learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """Apply the pulses of ``update_pulse_counts`` and return them (BL counts, BLb counts)."""
        to_bl, to_blb = update_pulse_counts(delta_w, learning_rate)
        if to_bl.shape != (self.n,):
            raise ValueError(f"delta_w must have shape ({self.n},); got {to_bl.shape}")
        self.bl.checked_counts(to_bl)           # both checked before either device changes
        self.blb.checked_counts(to_blb)
        self.bl.apply_pulses(to_bl)
        self.blb.apply_pulses(to_blb)
        return to_bl, to_blb
