"""The physical cells of a stack of crossbars, and how target conductances are written into them.

``CellArray`` holds what fabrication fixed for every cell (its own R_on / R_off bounds after
device-to-device spread, and stuck-at faults); ``fabricate`` draws it. A ``Programmer`` turns target
conductances into achieved ones for those cells: ``IdealProgrammer`` (a perfect write-verify),
``StatisticalProgrammer`` (open-loop write: the target's position in the nominal window lands in the
cell's own window, then programming noise and finite states). An engine-backed programmer (pulse
schemes on the SimPy clock) implements the same one-method protocol.

All arrays have shape (..., rows, cols): any leading axes (tiles, G+/G- arrays) are a stack of
independent physical crossbars. Conductances are in siemens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from cosim.devices.nonideal import snap_to_levels
from cosim.nn.config import ArrayConfig
from cosim.nn.lut import LUTProgrammer, level_table

__all__ = ["CellArray", "fabricate", "Programmer", "IdealProgrammer", "StatisticalProgrammer", "programmer_for"]

STUCK_NONE, STUCK_ON, STUCK_OFF = 0, 1, 2


@dataclass
class CellArray:
    """Fabricated properties of every cell of a stack of crossbars, shape (..., rows, cols).

    g_on, g_off: S, the cell's own high / low conductance bounds (1/R_on, 1/R_off of that cell).
    stuck: int8, 0 = programmable, 1 = stuck at g_on (stuck-at-ON), 2 = stuck at g_off (stuck-at-OFF).
    """

    g_on: np.ndarray
    g_off: np.ndarray
    stuck: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.g_on.shape

    def clip(self, g: np.ndarray) -> np.ndarray:
        """``g`` limited to each cell's own window [min(g_on, g_off), max(g_on, g_off)], S."""
        return np.clip(g, np.minimum(self.g_on, self.g_off), np.maximum(self.g_on, self.g_off))

    def hold_faults(self, g: np.ndarray) -> np.ndarray:
        """``g`` with stuck cells replaced by the bound they are stuck at, S."""
        return np.where(self.stuck == STUCK_ON, self.g_on, np.where(self.stuck == STUCK_OFF, self.g_off, g))


def fabricate(shape: tuple[int, ...], cfg: ArrayConfig, rng: np.random.Generator) -> CellArray:
    """Draw the cells of a stack of crossbars of ``shape`` (..., rows, cols) for ``cfg``.

    Device-to-device spread: R_on of a cell is r_on * exp(d2d_sigma * z), R_off is
    r_off * exp(d2d_off_factor * d2d_sigma * z'). Faults: exactly round(p * rows * cols) cells of
    every crossbar are stuck at ON and round(q * rows * cols) others at OFF (p = stuck_on,
    q = stuck_off). The same random numbers are drawn whatever the config's values, so configs that
    differ only in sigma or in fault proportions get the same underlying devices (a sweep is smooth,
    and the 5 % stuck cells are among the 10 % ones).
    """
    z_on = rng.standard_normal(shape)
    z_off = rng.standard_normal(shape)
    keys = rng.random(shape)
    g_on = cfg.g_on * np.exp(-cfg.d2d_sigma * z_on)
    g_off = cfg.g_off * np.exp(-cfg.d2d_off_factor * cfg.d2d_sigma * z_off)
    rows, cols = shape[-2:]
    flat = keys.reshape(-1, rows * cols)
    rank = np.argsort(np.argsort(flat, axis=1), axis=1).reshape(shape)
    n_on = int(round(cfg.stuck_on * rows * cols))
    n_off = int(round(cfg.stuck_off * rows * cols))
    stuck = np.where(rank < n_on, STUCK_ON, np.where(rank < n_on + n_off, STUCK_OFF, STUCK_NONE)).astype(np.int8)
    return CellArray(g_on, g_off, stuck)


@runtime_checkable
class Programmer(Protocol):
    """Writes target conductances into fabricated cells."""

    def program(self, target_g: np.ndarray, cells: CellArray, rng: np.random.Generator) -> np.ndarray:
        """Achieved conductances (S, ``cells.shape``) after writing ``target_g`` (S, same shape).

        Must not modify its inputs; stuck cells must come out at the bound they are stuck at.
        """


@dataclass(frozen=True)
class IdealProgrammer:
    """A perfect write-verify: every cell takes its target, limited only to its own window; stuck cells stay stuck."""

    def program(self, target_g: np.ndarray, cells: CellArray, rng: np.random.Generator) -> np.ndarray:
        return cells.hold_faults(cells.clip(np.asarray(target_g, dtype=np.float64)))


@dataclass(frozen=True)
class StatisticalProgrammer:
    """An open-loop write with device-to-device spread, programming noise and finite states.

    The target's position t = (G - g_off) / (g_on - g_off) in the nominal window (g_on, g_off in S)
    is written as the same position in the cell's own window; programming noise adds
    ``noise * (cell g_on - cell g_off) * N(0, 1)``; with ``states`` the cell then settles in the
    nearest of ``states`` conductances spread uniformly between its own bounds. The result is kept
    inside the cell's window, and stuck cells stay stuck.
    """

    g_on: float
    g_off: float
    states: int | None = None
    noise: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.g_off < self.g_on:
            raise ValueError(f"StatisticalProgrammer needs 0 < g_off < g_on (S); got g_off={self.g_off}, g_on={self.g_on}")
        if self.states is not None and self.states < 2:
            raise ValueError(f"StatisticalProgrammer.states must be None or >= 2; got {self.states}")
        if not self.noise >= 0:
            raise ValueError(f"StatisticalProgrammer.noise must be >= 0; got {self.noise}")

    @classmethod
    def from_config(cls, cfg: ArrayConfig) -> "StatisticalProgrammer":
        return cls(cfg.g_on, cfg.g_off, cfg.states, cfg.prog_noise)

    def program(self, target_g: np.ndarray, cells: CellArray, rng: np.random.Generator) -> np.ndarray:
        target = np.asarray(target_g, dtype=np.float64)
        if target.shape != cells.shape:
            raise ValueError(f"target_g must have shape {cells.shape}; got {target.shape}")
        t = np.clip((target - self.g_off) / (self.g_on - self.g_off), 0.0, 1.0)
        window = cells.g_on - cells.g_off
        g = cells.g_off + t * window
        g = g + self.noise * window * rng.standard_normal(g.shape)   # drawn always: same stream for every noise
        if self.states is not None:
            g = snap_to_levels(cells.clip(g), cells.g_off, cells.g_on, self.states, "G")
        return cells.hold_faults(cells.clip(g))


def programmer_for(cfg: ArrayConfig) -> Programmer:
    """The programmer a config implies: the level table's for bit-sliced weights, statistical when it
    has finite states, noise or spread, else ideal."""
    if cfg.encoding == "bit-sliced":
        return LUTProgrammer(level_table(cfg))
    return StatisticalProgrammer.from_config(cfg) if cfg.is_statistical else IdealProgrammer()
