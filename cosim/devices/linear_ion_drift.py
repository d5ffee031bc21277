"""Linear ion drift memristor model (Strukov et al. 2008; MODELS.md §1.1).

State ``w`` (m) in [0, D]: the width of the doped (conducting) region; ``x = w / D``. One convention
everywhere: ``x = 1`` (w = D) is R_on, ``x = 0`` is R_off (a public implementation mixes them up)::

    R(w)  = R_on x + R_off (1 - x)              I = V / R(w)
    dw/dt = mu_v R_on / D * I * f(x)            (positive current drives towards R_on)

``f`` is a window (default Biolek, which has no terminal-state lock-up; with Joglekar or Prodromakis
a cell that reaches x = 0 or 1 stays there). The model has no threshold: any current moves the state.
A fixed step is forward Euler, clipped to [0, D].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .base import Cells, DeviceArray
from .variability import ParamValue, check_params
from .windows import WINDOW_NAMES, apply_window

__all__ = ["LinearIonDriftParams", "LinearIonDrift", "LINEAR_ION_DRIFT_PRESETS"]


@dataclass(frozen=True)
class LinearIonDriftParams:
    """Linear ion drift parameters. Per-cell fields accept a scalar, an (n,) array or a Distribution."""
    r_on: ParamValue = 100.0         # ohm, resistance at w = D
    r_off: ParamValue = 16e3         # ohm, resistance at w = 0
    d: ParamValue = 10e-9            # m, device thickness D
    mu_v: ParamValue = 1e-14         # m^2/(V s), dopant mobility
    p: ParamValue = 1.0              # 1, window exponent
    j: ParamValue = 1.0              # 1, Prodromakis window scale
    v_read: ParamValue = 0.1         # V, read voltage of conductance()
    window: Literal["none", "joglekar", "biolek", "prodromakis"] = "biolek"
    dt: float = 1e-4                 # s, recommended integration step for this set

    def __post_init__(self) -> None:
        check_params(self, {"window": WINDOW_NAMES})


LINEAR_ION_DRIFT_PRESETS: dict[str, LinearIonDriftParams] = {
    "default": LinearIonDriftParams(),
    # Seed 003's simulations (mobility not given there: the common 1e-14 m^2/(V s)).
    "seed003": LinearIonDriftParams(r_on=1000.0, r_off=2000.0, d=10e-9, p=2.0, dt=1e-3),
}


class LinearIonDrift(DeviceArray):
    """``n`` linear-ion-drift cells; state ``w`` in metres, w = D is the low-resistance bound."""

    Params = LinearIonDriftParams
    PRESETS = LINEAR_ION_DRIFT_PRESETS
    DEFAULT_PRESET = "default"
    STATE_NAME = "w"
    STATE_UNIT = "m"
    SHARED_FIELDS = ("dt", "window")
    KERNEL = "LinearIonDrift"

    def _check_cells(self, c: Cells) -> None:
        for name in ("r_on", "r_off", "d", "mu_v", "p", "j"):
            self._require("LinearIonDrift", name, c[name], c[name] > 0, "> 0")
        self._require("LinearIonDrift", "v_read", c["v_read"], c["v_read"] != 0, "non-zero")
        self._require("LinearIonDrift", "r_off", c["r_off"], c["r_off"] > c["r_on"],
                      "> r_on (w = 0 is the high-resistance bound)")

    def _state_on(self, c: Cells) -> np.ndarray:
        return c["d"]

    def _state_off(self, c: Cells) -> np.ndarray:
        return np.zeros_like(c["d"])

    def _ideal_current(self, v, w, c: Cells) -> np.ndarray:
        x = w / c["d"]
        return v / (c["r_on"] * x + c["r_off"] * (1.0 - x))

    def _rate(self, v, w, c: Cells, i) -> np.ndarray:
        x = w / c["d"]
        window = apply_window(self.params.window, x, i, c["p"], c["j"])
        return c["mu_v"] * c["r_on"] / c["d"] * i * window

    def _polarity(self, v, w, c: Cells) -> np.ndarray:
        return np.sign(v).astype(np.int8)

    def _thresholds(self, w, c: Cells) -> tuple[np.ndarray, ...]:
        return (np.zeros_like(w),)   # the current, and with it the Biolek branch, changes sign at 0 V

    def _state_from_conductance(self, g: np.ndarray, c: Cells) -> np.ndarray:
        x = (c["r_off"] - 1.0 / g) / (c["r_off"] - c["r_on"])
        return x * c["d"]

    def _kernel_options(self) -> dict:
        return dict(window=WINDOW_NAMES.index(self.params.window))
