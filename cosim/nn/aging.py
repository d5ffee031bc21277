"""Aging of mapped weights by replaying a history: an explicitly chosen alternative to the engine's laws.

By default a mapped layer's cells age on an engine clock under the engine's laws
(:class:`~cosim.nn.engine_bridge.EngineCells`, :mod:`cosim.sim.aging`: seed 000 retention, every level
drifting toward the split between LRS and HRS, and seed 000 endurance). This module holds the
alternative: an ``AgingHistory`` (the bakes since programming and the SET-RESET cycles) and an
``AgingModel`` that turns it into present conductances, chosen by passing ``aging=`` to the layer.

``DriftAging`` is a PCM-style power-law drift, G = G_c (t_eq / t0)^-nu (MODELS.md section 3, "companion
drift law"; not fitted to the RRAM seeds): it *lowers every conductance*, HRS cells included (they fall
below 1/r_off), unlike the RRAM retention of seed 000 where LRS and HRS converge. Endurance first,
R_c = law(R0, cycles) with seed 000's published HfAlO endurance fit (``TwoStateAging.published("2A")``),
then the drift with t_eq the bakes' Arrhenius-equivalent time at ``t_ref_k`` and nu drawn per cell
(mean ``nu``, spread ``nu_sigma``; a uniform drift would only be a gain error that ``tune`` removes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from cosim.devices.aging import AgingLaw, TwoStateAging

__all__ = ["AgingHistory", "AgingModel", "DriftAging", "BOLTZMANN_EV"]

BOLTZMANN_EV = 8.617333262e-5   # eV/K


@dataclass
class AgingHistory:
    """Stress since programming: bakes as (seconds, kelvin) pairs, and SET-RESET cycles."""

    bakes: list[tuple[float, float]] = field(default_factory=list)
    cycles: int = 0

    @property
    def is_fresh(self) -> bool:
        return not self.bakes and self.cycles == 0


@runtime_checkable
class AgingModel(Protocol):
    """Turns programmed conductances and a history into present conductances."""

    def conductance(self, g_programmed: np.ndarray, history: AgingHistory, rng: np.random.Generator) -> np.ndarray:
        """Present conductances (S, same shape) of cells programmed to ``g_programmed`` (S).

        ``rng`` is seeded the same way at every call for a given layer, so per-cell random
        parameters (drawn from it) stay the same across calls.
        """


def _published_endurance() -> AgingLaw:
    return TwoStateAging.published("2A")


@dataclass(frozen=True)
class DriftAging:
    """Power-law retention drift with Arrhenius time acceleration, after an optional endurance law.

    nu: mean drift exponent (dimensionless); nu_sigma: its cell-to-cell standard deviation (per-cell
    nu is clipped at 0). t0_s: s, time of the reference read (no drift before it). activation_ev: eV,
    activation energy of the drift; t_ref_k: K, temperature at which nu holds. endurance: an
    ``AgingLaw`` with ``resistance(r0, cycles)`` (ohm), or None for no cycling damage.
    The drift defaults are illustrative, not a fit: one hour at 85 C (t_eq ~ 2e6 s at 300 K) leaves
    ~75 % of each cell's conductance, +-15 % from cell to cell.
    """

    nu: float = 0.02
    nu_sigma: float = 0.01
    t0_s: float = 1.0
    activation_ev: float = 1.0
    t_ref_k: float = 300.0
    endurance: AgingLaw | None = field(default_factory=_published_endurance)

    def __post_init__(self) -> None:
        for name in ("nu", "nu_sigma", "t0_s", "activation_ev", "t_ref_k"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name in ("t0_s", "t_ref_k") and value == 0):
                raise ValueError(f"DriftAging.{name} must be finite and {'> 0' if name in ('t0_s', 't_ref_k') else '>= 0'}; got {value}")

    def acceleration(self, kelvin: float) -> float:
        """How many seconds at t_ref_k one second at ``kelvin`` is worth (Arrhenius)."""
        return math.exp(self.activation_ev / BOLTZMANN_EV * (1.0 / self.t_ref_k - 1.0 / kelvin))

    def equivalent_seconds(self, history: AgingHistory) -> float:
        """Total bake time converted to seconds at t_ref_k."""
        return float(sum(s * self.acceleration(k) for s, k in history.bakes))

    def conductance(self, g_programmed: np.ndarray, history: AgingHistory, rng: np.random.Generator) -> np.ndarray:
        g = np.asarray(g_programmed, dtype=np.float64)
        z = rng.standard_normal(g.shape)          # drawn at every call: the same per-cell nu each time
        if history.cycles > 0 and self.endurance is not None:
            g = 1.0 / np.asarray(self.endurance.resistance(1.0 / g, float(history.cycles)))
        t_eq = self.equivalent_seconds(history)
        if t_eq > self.t0_s:
            nu = np.maximum(self.nu + self.nu_sigma * z, 0.0)
            g = g * (t_eq / self.t0_s) ** (-nu)
        return g
