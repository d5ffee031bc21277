"""VTEAM voltage-threshold memristor model (Kvatinsky et al. 2015; MODELS.md §1.2).

State ``w`` (m) in [w_on, w_off]; the cell is ohmic, ``I = V / R(w)``::

    dw/dt = k_off (v/v_off - 1)^alpha_off f(x)   if v > v_off > 0      (RESET, towards w_off)
          = 0                                     if v_on <= v <= v_off
          = k_on  (v/v_on  - 1)^alpha_on  f(x)   if v < v_on < 0       (SET, towards w_on)
    linear R(w)      = R_on + (R_off - R_on) x,        x = (w - w_on) / (w_off - w_on)
    exponential R(w) = R_on exp(lambda x),  lambda = ln(R_off / R_on)

``f`` is a window of x (``window="none"``, the published sets, means f = 1 and the state is clipped).
A fixed step is forward Euler, clipped to [w_on, w_off]; the compiled kernel
(``cython_ext/device_kernels.pyx``) runs the same step over K samples in one call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .base import Cells, DeviceArray
from .variability import ParamValue, check_params
from .windows import WINDOW_NAMES, apply_window

__all__ = ["VTEAMParams", "VTEAM", "VTEAM_PRESETS"]


_R_MODELS = {"linear": 0, "exponential": 1}


@dataclass(frozen=True)
class VTEAMParams:
    """VTEAM parameters. Per-cell fields accept a scalar, an (n,) array or a Distribution."""
    r_on: ParamValue = 50.0          # ohm, resistance at w = w_on
    r_off: ParamValue = 1000.0       # ohm, resistance at w = w_off
    v_on: ParamValue = -0.2          # V, SET threshold (< 0)
    v_off: ParamValue = 0.02         # V, RESET threshold (> 0)
    k_on: ParamValue = -10.0         # m/s, SET rate constant (< 0)
    k_off: ParamValue = 5e-4         # m/s, RESET rate constant (> 0)
    alpha_on: ParamValue = 3.0       # 1, SET rate exponent
    alpha_off: ParamValue = 1.0      # 1, RESET rate exponent
    w_on: ParamValue = 0.0           # m, state at the low-resistance bound
    w_off: ParamValue = 3e-9         # m, state at the high-resistance bound (the device width D)
    p: ParamValue = 1.0              # 1, window exponent (unused for window="none")
    j: ParamValue = 1.0              # 1, Prodromakis window scale
    v_read: ParamValue = 0.1         # V, read voltage of conductance()
    # 1/K, temperature coefficient of resistance at reads: R(T) = R(300 K) (1 + tcr_per_k (T - 300 K)).
    # 0 in every preset: no seed or MODELS.md gives a TCR for these stacks; set it (e.g. a small positive
    # value for a metallic LRS filament, negative for a semiconducting HRS gap) to study it.
    tcr_per_k: ParamValue = 0.0
    r_model: Literal["linear", "exponential"] = "linear"   # R(w) law
    window: Literal["none", "joglekar", "biolek", "prodromakis"] = "none"
    dt: float = 1e-10                # s, recommended integration step for this set

    def __post_init__(self) -> None:
        check_params(self, {"r_model": tuple(_R_MODELS), "window": WINDOW_NAMES})


VTEAM_PRESETS: dict[str, VTEAMParams] = {
    # TEAM parameters as published with MemTorch (seed 003, Fig. 4).
    "TEAM": VTEAMParams(),
    # Pt/Hf/Ti ReRAM (seed 003 case study); D = w_off = 10 nm.
    "Pt/Hf/Ti": VTEAMParams(r_on=100.0, r_off=2.5e3, v_on=-0.53, v_off=0.5, k_on=-80.0, k_off=4.03e-8,
                            alpha_on=3.0, alpha_off=1.0, w_on=0.0, w_off=10e-9, dt=1e-6),
    # HfOx RRAM as a memory chip has it (the event engine's default device). Figures, each inside the
    # ranges of this project's seeds rather than a fit to one device:
    # - LRS r_on = 5 kohm: between the HfOx LRS of seed 000 (Ti/HfOx/TiN 4.25 kohm, TiN/Hf(Al)O/Hf/TiN
    #   4.4 kohm; MODELS.md section 3 table) and seed 004's R0 = 6.99 kohm (MODELS.md section 2, Table I).
    # - HRS r_off = 100 kohm: seed 000's TiN/ETML/HfOx/TiN HRS, 1.075e5 ohm (same table).
    # - Switching: thresholds 0.7 V (both polarities); exponent 4 and k = 8.8e-3 m/s over a 3 nm gap give
    #   a full switch in ~10 us at 1.0 V, ~200 ns at 1.5 V and ~30 ns at 2 V — seed 004's 1 V / 100 ns
    #   pulses move a cell by about 1 % of its range, a gradual (weak) switch.
    # - Energy: V^2 / R x width, e.g. 1.5 V on 5 kohm for 200 ns = 90 pJ; 1 V on 100 kohm for 100 ns = 1 pJ.
    # - R(w) exponential in the gap (tunnelling through the filament gap), read at 0.1 V (seed 004).
    "HfOx": VTEAMParams(r_on=5e3, r_off=1e5, v_on=-0.7, v_off=0.7, k_on=-8.8e-3, k_off=8.8e-3,
                        alpha_on=4.0, alpha_off=4.0, w_on=0.0, w_off=3e-9, r_model="exponential", dt=1e-9),
}


class VTEAM(DeviceArray):
    """``n`` VTEAM cells; state ``w`` in metres. ``VTEAM.preset("Pt/Hf/Ti", n=100, rng=0)``."""

    Params = VTEAMParams
    PRESETS = VTEAM_PRESETS
    DEFAULT_PRESET = "TEAM"
    STATE_NAME = "w"
    STATE_UNIT = "m"
    SHARED_FIELDS = ("dt", "r_model", "window")
    KERNEL = "VTEAM"
    TCR_FIELD = "tcr_per_k"
    QUIET_BAND_DEPENDS_ON_STATE = False

    def _check_cells(self, c: Cells) -> None:
        req = self._require
        for name in ("r_on", "r_off", "k_off", "alpha_on", "alpha_off", "p", "j"):
            req("VTEAM", name, c[name], c[name] > 0, "> 0")
        req("VTEAM", "v_on", c["v_on"], c["v_on"] < 0, "< 0 V")
        req("VTEAM", "v_off", c["v_off"], c["v_off"] > 0, "> 0 V")
        req("VTEAM", "k_on", c["k_on"], c["k_on"] < 0, "< 0 m/s")
        req("VTEAM", "w_off", c["w_off"], c["w_off"] > c["w_on"], "> w_on")
        req("VTEAM", "r_off", c["r_off"], c["r_off"] > c["r_on"], "> r_on (w_off is the high-resistance bound)")
        req("VTEAM", "v_read", c["v_read"], c["v_read"] != 0, "non-zero")
        req("VTEAM", "tcr_per_k", c["tcr_per_k"], np.isfinite(c["tcr_per_k"]), "finite (1/K)")

    def _state_on(self, c: Cells) -> np.ndarray:
        return c["w_on"]

    def _state_off(self, c: Cells) -> np.ndarray:
        return c["w_off"]

    def _resistance(self, w: np.ndarray, c: Cells) -> np.ndarray:
        x = (w - c["w_on"]) / (c["w_off"] - c["w_on"])
        if self.params.r_model == "linear":
            return c["r_on"] + (c["r_off"] - c["r_on"]) * x
        return c["r_on"] * np.exp(np.log(c["r_off"] / c["r_on"]) * x)

    def _ideal_current(self, v, w, c: Cells) -> np.ndarray:
        return v / self._resistance(w, c)

    def _rate(self, v, w, c: Cells, i) -> np.ndarray:
        reset = v > c["v_off"]
        set_ = v < c["v_on"]
        # Evaluate each branch only where it applies (the base of the power is negative elsewhere).
        drive = np.zeros_like(w)
        if reset.any():
            drive[reset] = c["k_off"][reset] * (v[reset] / c["v_off"][reset] - 1.0) ** c["alpha_off"][reset]
        if set_.any():
            drive[set_] = c["k_on"][set_] * (v[set_] / c["v_on"][set_] - 1.0) ** c["alpha_on"][set_]
        if self.params.window == "none":
            return drive
        x = (w - c["w_on"]) / (c["w_off"] - c["w_on"])
        return drive * apply_window(self.params.window, x, i, c["p"], c["j"])

    def _polarity(self, v, w, c: Cells) -> np.ndarray:
        return (v > c["v_off"]).astype(np.int8) - (v < c["v_on"]).astype(np.int8)

    def _thresholds(self, w, c: Cells) -> tuple[np.ndarray, ...]:
        return c["v_on"], c["v_off"]

    def _rate_needs_current(self) -> bool:
        return self.params.window == "biolek"     # the only window that reads the current (its sign)

    def _quiet_band(self, w, c: Cells) -> tuple[np.ndarray, np.ndarray]:
        return c["v_on"], c["v_off"]          # the rate law is zero for v_on <= v <= v_off, any window

    def _state_from_conductance(self, g: np.ndarray, c: Cells) -> np.ndarray:
        r = 1.0 / g
        if self.params.r_model == "linear":
            x = (r - c["r_on"]) / (c["r_off"] - c["r_on"])
        else:
            x = np.log(r / c["r_on"]) / np.log(c["r_off"] / c["r_on"])
        return c["w_on"] + x * (c["w_off"] - c["w_on"])

    def _kernel_options(self) -> dict:
        return dict(r_model=_R_MODELS[self.params.r_model], window=WINDOW_NAMES.index(self.params.window))
