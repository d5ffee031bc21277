"""Data-driven ReRAM model, 2021 form (Messaris et al.; MODELS.md §1.5), vectorised over cells.

State ``R`` (ohm) in [R_on, R_off]. The state moves towards a voltage-dependent absolute threshold
and never past it::

    V > 0 and R > r_p(V):   dR/dt = s_p(V) (r_p(V) - R)^2      (SET: R falls towards r_p)
    V < 0 and R < r_n(V):   dR/dt = s_n(V) (R - r_n(V))^2      (RESET: R rises towards r_n)
    otherwise               dR/dt = 0
    s(V) = A (exp(|V| / t) - 1),   r(V) = r0 + r1 V
    I = a (1/R) sinh(b V)          (a_p, b_p for V > 0; a_n, b_n for V <= 0)

A fixed step uses the exact solution of the quadratic law at constant V,
``R' = (R + s r (r - R) dt) / (1 + s (r - R) dt)``, which approaches r monotonically (stable for any
dt), then clips to [R_on, R_off].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Cells, DeviceArray
from .variability import ParamValue, check_params

__all__ = ["DataDrivenParams", "DataDriven", "DATA_DRIVEN_PRESETS"]


@dataclass(frozen=True)
class DataDrivenParams:
    """Data-driven (2021) parameters. Per-cell fields accept a scalar, an (n,) array or a Distribution."""
    r_on: ParamValue = 1600.0        # ohm, lowest resistance
    r_off: ParamValue = 3000.0       # ohm, highest resistance
    a_p_rate: ParamValue = 600.10075       # 1/(ohm s), A_p of s_p(V)
    a_n_rate: ParamValue = -34.5988399     # 1/(ohm s), A_n of s_n(V)
    t_p: ParamValue = -0.0212028     # V, voltage scale of s_p
    t_n: ParamValue = -0.05343997    # V, voltage scale of s_n
    r_p0: ParamValue = 2699.2336     # ohm, r_p(V) = r_p0 + r_p1 V
    r_p1: ParamValue = -672.930205   # ohm/V
    r_n0: ParamValue = 649.413746    # ohm, r_n(V) = r_n0 + r_n1 V
    r_n1: ParamValue = -1474.32358   # ohm/V
    a_p: ParamValue = 0.32046175     # V, current prefactor for V > 0 (I = a_p sinh(b_p V) / R)
    a_n: ParamValue = 0.32046175     # V, current prefactor for V <= 0
    b_p: ParamValue = 2.71689828     # 1/V, current exponent for V > 0
    b_n: ParamValue = 2.71689828     # 1/V, current exponent for V <= 0
    v_read: ParamValue = 0.1         # V, read voltage of conductance()
    dt: float = 1e-10                # s, recommended integration step for this set

    def __post_init__(self) -> None:
        check_params(self)


DATA_DRIVEN_PRESETS: dict[str, DataDrivenParams] = {"default": DataDrivenParams()}


class DataDriven(DeviceArray):
    """``n`` data-driven (2021) cells; the state is the resistance ``R`` in ohm."""

    Params = DataDrivenParams
    PRESETS = DATA_DRIVEN_PRESETS
    DEFAULT_PRESET = "default"
    STATE_NAME = "R"
    STATE_UNIT = "ohm"
    KERNEL = "DataDriven"

    def _check_cells(self, c: Cells) -> None:
        req = self._require
        for name in ("r_on", "r_off", "a_p", "a_n", "b_p", "b_n"):
            req("DataDriven", name, c[name], c[name] > 0, "> 0")
        req("DataDriven", "r_off", c["r_off"], c["r_off"] > c["r_on"], "> r_on")
        req("DataDriven", "v_read", c["v_read"], c["v_read"] != 0, "non-zero")
        for name in ("t_p", "t_n"):
            req("DataDriven", name, c[name], c[name] != 0, "non-zero")
        # SET must lower R and RESET raise it: s_p <= 0 and s_n >= 0 for every |V| > 0.
        s_p_sign = np.sign(c["a_p_rate"]) * np.sign(np.expm1(1.0 / c["t_p"]))
        s_n_sign = np.sign(c["a_n_rate"]) * np.sign(np.expm1(1.0 / c["t_n"]))
        req("DataDriven", "a_p_rate", c["a_p_rate"], s_p_sign < 0, "of the sign that makes s_p(V) < 0 (with t_p)")
        req("DataDriven", "a_n_rate", c["a_n_rate"], s_n_sign > 0, "of the sign that makes s_n(V) > 0 (with t_n)")

    def _state_on(self, c: Cells) -> np.ndarray:
        return c["r_on"]

    def _state_off(self, c: Cells) -> np.ndarray:
        return c["r_off"]

    def _ideal_current(self, v, r, c: Cells) -> np.ndarray:
        pos = v > 0
        a = np.where(pos, c["a_p"], c["a_n"])
        b = np.where(pos, c["b_p"], c["b_n"])
        return a * np.sinh(b * v) / r

    def _branch(self, v, r, c: Cells):
        """(s(V), r(V), active mask) of the branch that applies at voltage v and state r."""
        pos = v > 0
        r_p = c["r_p0"] + c["r_p1"] * v
        r_n = c["r_n0"] + c["r_n1"] * v
        target = np.where(pos, r_p, r_n)
        s = np.where(pos, c["a_p_rate"] * np.expm1(np.abs(v) / c["t_p"]),
                     c["a_n_rate"] * np.expm1(np.abs(v) / c["t_n"]))
        active = np.where(pos, r > r_p, (v < 0) & (r < r_n))
        return s, target, active

    def _rate(self, v, r, c: Cells, i) -> np.ndarray:
        s, target, active = self._branch(v, r, c)
        return np.where(active, s * (target - r) ** 2, 0.0)

    def _advance(self, v, r, c: Cells, dt: float, i) -> np.ndarray:
        s, target, active = self._branch(v, r, c)
        su = s * (target - r) * dt
        exact = (r + su * target) / (1.0 + su)
        lo, hi = self._state_range(c)
        return np.clip(np.where(active, exact, r), lo, hi)

    def _polarity(self, v, r, c: Cells) -> np.ndarray:
        _, _, active = self._branch(v, r, c)
        return np.where(active, np.sign(v), 0).astype(np.int8)

    def _thresholds(self, r, c: Cells) -> tuple[np.ndarray, ...]:
        # Branch changes: V = 0, and where r_p(V) or r_n(V) passes through the present R.
        with np.errstate(divide="ignore", invalid="ignore"):
            v_p = np.where(c["r_p1"] != 0, (r - c["r_p0"]) / c["r_p1"], np.inf)
            v_n = np.where(c["r_n1"] != 0, (r - c["r_n0"]) / c["r_n1"], np.inf)
        return np.zeros_like(r), v_p, v_n

    def _state_from_conductance(self, g: np.ndarray, c: Cells) -> np.ndarray:
        v = c["v_read"]
        return self._ideal_current(v, np.ones_like(g), c) / v / g
