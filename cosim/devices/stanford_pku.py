"""Stanford-PKU filament-gap RRAM model (MODELS.md §1.4), vectorised over cells.

State ``g`` (m): the gap between the filament tip and the electrode. Nonlinear I-V, Joule heating and
a field-driven, thermally activated gap velocity::

    I     = I0 exp(-g/g0) sinh(V/V0)
    T     = T0 + |V I R_th|
    gamma = gamma0 - beta (g / 1 nm)^3,  set to 0 where gamma |V| / t_ox < F_min   (field threshold)
    dg/dt = -nu0 exp(-q Ea / (kB T)) sinh(gamma a0 q V / (t_ox kB T))  [+ noise]

Positive V closes the gap (SET), negative V opens it (RESET). The gap is confined to
[g(R_on), g(R_off)] with ``g(R) = g0 ln(I0 sinh(V_read/V0) / (V_read/R))`` (R measured at V_read).
A fixed step is forward Euler, clipped. Optional noise (cycle-to-cycle variation): while a cell
switches (field above threshold), each step adds ``gap_noise * sqrt(dt) * N(0, 1)`` (a Wiener term).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Cells, DeviceArray
from .variability import ParamValue, check_params

__all__ = ["StanfordPKUParams", "StanfordPKU", "STANFORD_PKU_PRESETS", "Q_E", "K_B"]

Q_E = 1.6e-19          # C, elementary charge (value of the published parameter set)
K_B = 1.3806503e-23    # J/K, Boltzmann constant (value of the published parameter set)
NM = 1e-9              # m


@dataclass(frozen=True)
class StanfordPKUParams:
    """Stanford-PKU parameters. Per-cell fields accept a scalar, an (n,) array or a Distribution."""
    r_on: ParamValue = 542.0         # ohm, read resistance at the smallest gap
    r_off: ParamValue = 218586.0     # ohm, read resistance at the largest gap
    g0: ParamValue = 0.25e-9         # m, gap scale of the tunnelling current
    v0: ParamValue = 0.25            # V, voltage scale of the current
    i0: ParamValue = 1e-3            # A, current prefactor
    v_read: ParamValue = 0.1         # V, read voltage (defines the gap bounds and conductance())
    t0: ParamValue = 298.0           # K, ambient temperature (on an engine: the array's temperature)
    r_th: ParamValue = 2.1e3         # K/W, effective thermal resistance
    gamma0: ParamValue = 16.0        # 1, field-enhancement factor at zero gap
    beta: ParamValue = 0.8           # 1, its decrease per (gap / 1 nm)^3
    t_ox: ParamValue = 12e-9         # m, oxide thickness
    f_min: ParamValue = 1.4e9        # V/m, minimum field for gap motion
    nu0: ParamValue = 10.0           # m/s, attempt velocity (the model's v0)
    e_a: ParamValue = 0.6            # eV, activation energy
    a0: ParamValue = 0.25e-9         # m, atomic hopping distance
    gap_noise: ParamValue = 0.0      # m/sqrt(s), Wiener noise of the gap while switching (0 = none)
    dt: float = 1e-10                # s, recommended integration step for this set

    def __post_init__(self) -> None:
        check_params(self)


STANFORD_PKU_PRESETS: dict[str, StanfordPKUParams] = {"default": StanfordPKUParams()}


class StanfordPKU(DeviceArray):
    """``n`` Stanford-PKU cells; state ``g`` (gap) in metres; the smallest gap is the ON bound."""

    Params = StanfordPKUParams
    PRESETS = STANFORD_PKU_PRESETS
    DEFAULT_PRESET = "default"
    STATE_NAME = "g"
    STATE_UNIT = "m"
    KERNEL = "StanfordPKU"      # the compiled kernel runs the noise-free model (gap_noise = 0)
    AMBIENT_FIELD = "t0"        # an engine sets it to the array's temperature

    def _check_cells(self, c: Cells) -> None:
        req = self._require
        for name in ("r_on", "r_off", "g0", "v0", "i0", "v_read", "t0", "r_th", "gamma0", "t_ox", "f_min",
                     "nu0", "e_a", "a0"):
            req("StanfordPKU", name, c[name], c[name] > 0, "> 0")
        req("StanfordPKU", "beta", c["beta"], c["beta"] >= 0, ">= 0")
        req("StanfordPKU", "gap_noise", c["gap_noise"], c["gap_noise"] >= 0, ">= 0")
        i_scale = c["i0"] * np.sinh(c["v_read"] / c["v0"]) / c["v_read"]   # 1/ohm at zero gap
        for name in ("r_on", "r_off"):
            req("StanfordPKU", name, c[name], c[name] * i_scale > 1,
                "> V_read / (I0 sinh(V_read/V0)) so that its gap is positive")

    def _gap_of(self, r: np.ndarray, c: Cells) -> np.ndarray:
        return c["g0"] * np.log(c["i0"] * np.sinh(c["v_read"] / c["v0"]) * r / c["v_read"])

    def _state_on(self, c: Cells) -> np.ndarray:
        return self._gap_of(c["r_on"], c)

    def _state_off(self, c: Cells) -> np.ndarray:
        return self._gap_of(c["r_off"], c)

    def _ideal_current(self, v, g, c: Cells) -> np.ndarray:
        return c["i0"] * np.exp(-g / c["g0"]) * np.sinh(v / c["v0"])

    def sinh_law(self) -> tuple[np.ndarray, np.ndarray]:
        """I = I0 exp(-g/g0) sinh(V/V0) = (G/b) sinh(b V) with b = 1/V0 and G = I0 exp(-g/g0) / V0 per cell
        (unformed cells: linear, their fixed conductance)."""
        c = self._cell
        g = c["i0"] * np.exp(-self._state / c["g0"]) / c["v0"]
        b = 1.0 / c["v0"]
        unformed = self._faults.unformed
        if unformed.any():
            g = np.where(unformed, self._unformed_conductance(), g)
            b = np.where(unformed, 0.0, b)
        return g, np.broadcast_to(b, g.shape).copy()

    def _gamma(self, v, g, c: Cells) -> np.ndarray:
        gamma = c["gamma0"] - c["beta"] * (g / NM) ** 3
        return np.where(gamma * np.abs(v) / c["t_ox"] < c["f_min"], 0.0, gamma)

    def _rate(self, v, g, c: Cells, i) -> np.ndarray:
        temp = c["t0"] + np.abs(v * i * c["r_th"])
        kt = K_B * temp
        field_term = np.sinh(self._gamma(v, g, c) * c["a0"] * Q_E * v / (c["t_ox"] * kt))
        return -c["nu0"] * np.exp(-Q_E * c["e_a"] / kt) * field_term

    def _advance(self, v, g, c: Cells, dt: float, i) -> np.ndarray:
        lo, hi = self._state_range(c)
        g_new = g + dt * self._rate(v, g, c, i)
        if self._has_noise():
            kick = c["gap_noise"] * np.sqrt(dt) * self._rng.standard_normal(g.shape)
            g_new = g_new + np.where(self._polarity(v, g, c) != 0, kick, 0.0)
        return np.clip(g_new, lo, hi)

    def _has_noise(self) -> bool:
        return bool(np.any(self._cell["gap_noise"] > 0))

    def _polarity(self, v, g, c: Cells) -> np.ndarray:
        return np.where(self._gamma(v, g, c) != 0, np.sign(v), 0).astype(np.int8)

    def _thresholds(self, g, c: Cells) -> tuple[np.ndarray, ...]:
        gamma = c["gamma0"] - c["beta"] * (g / NM) ** 3
        v_min = np.where(gamma > 0, c["f_min"] * c["t_ox"] / np.where(gamma > 0, gamma, 1.0), np.inf)
        return -v_min, v_min

    def _state_from_conductance(self, gc: np.ndarray, c: Cells) -> np.ndarray:
        return self._gap_of(1.0 / gc, c)
