"""Mapped layers on the event engine: tiles written by co-simulated pulse schemes, aged by its laws.

``EngineProgrammer`` makes every physical crossbar of a layer an :class:`~cosim.sim.array.Array` on
one :class:`~cosim.Engine` (the layer's circuit values; VTEAM switching dynamics with each cell's own
fabricated R_on / R_off window) and programs it with a scheme (write-verify by default): the
achieved conductances are what the pulses left in the devices. ``EngineAging`` ages programmed
conductances by the engine's laws (seed 000 retention with temperature in equivalent time, the
published endurance law), the same ones an array on the clock obeys.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosim.devices import VTEAM
from cosim.nn.aging import AgingHistory
from cosim.nn.config import ArrayConfig
from cosim.nn.programming import CellArray
from cosim.sim import Engine
from cosim.sim.aging import AgingState, default_endurance, default_retention

__all__ = ["EngineProgrammer", "EngineAging"]


@dataclass
class EngineProgrammer:
    """Program tiles by full pulse simulation on an engine (slow: every pulse is co-simulated).

    Attributes:
        config: the layer's array configuration (circuit values, cell kind).
        scheme: programming scheme ("write-verify", "1t1r-row", "v/2", "v/3"). tolerance: relative.
        preset: VTEAM parameter set giving the switching dynamics.
        engine: the clock the arrays live on. arrays: every array programmed so far.
    """

    config: ArrayConfig
    scheme: str = "write-verify"
    tolerance: float = 0.01
    preset: str = "Pt/Hf/Ti"
    engine: Engine = field(default_factory=Engine)
    arrays: list = field(default_factory=list)

    def program(self, target_g: np.ndarray, cells: CellArray, rng: np.random.Generator) -> np.ndarray:
        target = np.asarray(target_g, dtype=np.float64)
        if target.shape != cells.shape:
            raise ValueError(f"target_g must have shape {cells.shape}; got {target.shape}")
        rows, cols = target.shape[-2:]
        flat_t = target.reshape(-1, rows, cols)
        g_on = cells.g_on.reshape(-1, rows, cols)
        g_off = cells.g_off.reshape(-1, rows, cols)
        achieved = np.empty_like(flat_t)
        cfg = self.config
        for k in range(flat_t.shape[0]):
            seed = int(rng.integers(2 ** 31))
            device = VTEAM.preset(self.preset, n=rows * cols, rng=seed,
                                  r_on=1.0 / g_on[k].ravel(), r_off=1.0 / g_off[k].ravel())
            arr = self.engine.array(rows, cols, cell=cfg.cell, device=device, seed=seed, r_wl=cfg.r_wl,
                                    r_bl=cfg.r_bl, r_source=cfg.r_source, r_sense=cfg.r_sense,
                                    r_on_transistor=cfg.r_transistor)
            lo, hi = arr.conductance_bounds()
            arr.program(np.clip(flat_t[k], lo, hi), scheme=self.scheme, tolerance=self.tolerance)
            achieved[k] = arr.conductances()
            self.arrays.append(arr)
        return cells.hold_faults(achieved.reshape(target.shape))


@dataclass(frozen=True)
class EngineAging:
    """Aging by the engine's laws for cells between ``r_on`` and ``r_off`` ohm.

    Endurance first (all cycles of the history), then every bake in order with the retention law
    in equivalent time at each bake's temperature (see :mod:`cosim.sim.aging`).
    """

    r_on: float
    r_off: float

    def conductance(self, g_programmed: np.ndarray, history: AgingHistory, rng: np.random.Generator) -> np.ndarray:
        g = np.asarray(g_programmed, dtype=np.float64)
        state = AgingState(1.0 / g.ravel())
        r = state.r_programmed.copy()
        if history.cycles:
            r = r * state.endurance_factor(default_endurance(self.r_on, self.r_off), np.ones(r.size, bool),
                                           int(history.cycles))
            state.reprogrammed(np.ones(r.size, bool), r)
        retention = default_retention(self.r_on, self.r_off)
        for seconds, kelvin in history.bakes:
            if seconds > 0:
                r = r * state.retention_factor(retention, seconds, kelvin)
        return (1.0 / r).reshape(g.shape)
