"""Mapped layers on the event engine: tiles written by co-simulated pulse schemes, aged by its laws.

``EngineProgrammer`` makes every physical crossbar of a layer an :class:`~cosim.sim.array.Array` on
one :class:`~cosim.Engine` (the layer's circuit values; VTEAM switching dynamics with each cell's own
fabricated R_on / R_off window) and programs it with a scheme (write-verify by default): the
achieved conductances are what the pulses left in the devices.

``EngineCells`` puts a layer's cells on an engine clock: the conductances stay in the tiles (one home,
read by the fast forward pass), the aging memory and cycle counters are the engine's own
:class:`~cosim.sim.aging.AgingState`, and the laws are the engine's :class:`~cosim.sim.aging.AgingLaws`
(default: the same laws an :class:`~cosim.sim.array.Array` of the layer's cells gets). A bake is the engine
clock running at the bake temperature, so every advance of that clock ages the layer like an array.
``EngineAging`` replays an ``AgingHistory`` through the same structures (for code that holds a history).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from cosim.devices import VTEAM
from cosim.nn.aging import AgingHistory
from cosim.nn.config import ArrayConfig
from cosim.nn.programming import CellArray
from cosim.sim import Engine
from cosim.sim.aging import AgingLaws, AgingState, default_endurance, default_retention
from cosim.sim.cell_clock import CellClock
from cosim.sim.engine import check_duration, check_temperature

__all__ = ["EngineProgrammer", "EngineAging", "EngineCells"]


class EngineCells:
    """The cells of a layer's tiles as hardware on ``engine``: aged by its clock under ``laws``.

    Args:
        tiles: the layer's :class:`~cosim.nn.tiles.TiledMatrix` (holds the conductances).
        engine: the clock (default: a new one at 300 K). laws: default: seed-000 retention (levels drift
            toward the split) and endurance, split between the config's r_on and r_off.
        cycle_s: duration of one SET/RESET cycle on the clock, s.
    """

    def __init__(self, tiles, engine: Engine | None = None, laws: AgingLaws | None = None, cycle_s: float = 2e-7):
        cfg = tiles.cfg
        self.tiles = tiles
        self.engine = engine if engine is not None else Engine()
        laws = laws if laws is not None else AgingLaws(default_retention(cfg.r_on, cfg.r_off),
                                                      default_endurance(cfg.r_on, cfg.r_off))
        self.cycle_s = check_duration(cycle_s, "cycle_s")
        self.clock = CellClock(self.engine, laws, 1.0 / tiles.g.ravel(), self._age_by)

    @property
    def laws(self) -> AgingLaws:
        return self.clock.laws

    @property
    def aging(self) -> AgingState:
        """The cells' aging memory (flat over ``grid.cells_shape``)."""
        return self.clock.state

    @property
    def cycles(self) -> np.ndarray:
        """SET/RESET cycle count per cell (``grid.cells_shape``)."""
        return self.aging.cycles.reshape(self.tiles.g.shape).copy()

    def programmed(self) -> None:
        """The tiles were just written: every cell's retention restarts at its present conductance."""
        self.clock.catch_up()
        self.aging.reprogrammed(np.ones(self.tiles.g.size, bool), 1.0 / self.tiles.g.ravel())

    def bake(self, seconds: float, kelvin: float) -> None:
        """Hold the cells at ``kelvin`` K for ``seconds`` s of engine time."""
        seconds = check_duration(seconds, "seconds")
        with self.clock.baking(check_temperature(kelvin, "kelvin")):
            self.engine.run(until=self.engine.now + seconds)

    def cycle(self, n: int) -> None:
        """``n`` SET/RESET cycles of every cell: counters, the endurance law, ``n * cycle_s`` on the clock."""
        n = self.clock.cycle(np.ones(self.tiles.g.size, bool), n)
        if n > 0:
            self.engine.run(until=self.engine.now + n * self.cycle_s)

    def detach(self) -> None:
        """Leave the engine (the tiles were replaced): its clock no longer ages these cells."""
        self.clock.detach()

    def _age_by(self, factor: np.ndarray) -> None:
        """Multiply each cell's resistance by ``factor`` within its window; stuck cells stay."""
        tiles = self.tiles
        g = np.clip(tiles.g / factor.reshape(tiles.g.shape), tiles.cells.g_off, tiles.cells.g_on)
        tiles.set_conductances(tiles.cells.hold_faults(g))

    def state(self) -> dict:
        """The aging memory as arrays (for ``state_dict``)."""
        return self.aging.as_dict()

    def load_state(self, state: dict) -> None:
        """Inverse of :meth:`state` (shapes checked before anything changes)."""
        self.aging.load(state)


@dataclass
class EngineProgrammer:
    """Program tiles by full pulse simulation on an engine (slow: every pulse is co-simulated).

    Each crossbar's controller sees only its reads, the layout and its own model: the preset at the
    config's nominal R_on / R_off, not the fabricated cells' own windows (targets are only clipped to
    what each cell can hold, so the request is physical).

    Attributes:
        config: the layer's array configuration (circuit values, cell kind).
        scheme: programming scheme ("write-verify", "ispp", "1t1r-row", "v/2", "v/3"). tolerance: relative.
        preset: VTEAM parameter set giving the switching dynamics.
        scheme_config: the scheme's configuration (None: its defaults).
        progress: a progress bar over the crossbars (None: when stderr is a terminal).
        engine: the clock the arrays live on. arrays: every array programmed so far.
    """

    config: ArrayConfig
    scheme: str = "write-verify"
    tolerance: float = 0.01
    preset: str = "Pt/Hf/Ti"
    scheme_config: object = None
    progress: bool | None = None
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
        model = VTEAM.preset(self.preset, n=1, r_on=cfg.r_on, r_off=cfg.r_off)
        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        for k in tqdm(range(flat_t.shape[0]), desc="program crossbars", unit="array", disable=not show):
            seed = int(rng.integers(2 ** 31))
            device = VTEAM.preset(self.preset, n=rows * cols, rng=seed,
                                  r_on=1.0 / g_on[k].ravel(), r_off=1.0 / g_off[k].ravel())
            arr = self.engine.array(rows, cols, cell=cfg.cell, device=device, seed=seed, r_wl=cfg.r_wl,
                                    r_bl=cfg.r_bl, r_source=cfg.r_source, r_sense=cfg.r_sense,
                                    r_on_transistor=cfg.r_transistor)
            lo, hi = arr.conductance_bounds()     # what the cells can hold: the request stays physical
            arr.program(np.clip(flat_t[k], lo, hi), scheme=self.scheme,
                        tolerance=self.tolerance, config=self.scheme_config, model=model, progress=show)
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
