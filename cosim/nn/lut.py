"""Look-up tables of measured read resistances per level, and the bit-sliced encoding that uses them.

Seed 002 codes each weight as a fixed-point binary word and stores one bit per cell (LRS = 1, HRS
= 0), or a digit of ``levels`` levels per cell; every cell's read resistance is drawn from the
distribution measured for its level. A :class:`LevelTable` holds those distributions:

* measured (:meth:`LevelTable.from_csv`): a CSV with a header ``level,resistance_ohm`` and one
  measured read per line (``#`` comments allowed); level 0 is the HRS, level ``levels - 1`` the LRS;
  a cell of level k reads a resistance drawn uniformly from level k's measurements;
* log-normal (:meth:`LevelTable.lognormal`, the default): medians whose conductances are evenly
  spaced between 1/r_off and 1/r_on, one sigma of ln R for all levels, set by ``overlap``: the
  overlap coefficient of the two closest adjacent levels, OVL = 2 Phi(-d / (2 sigma)) with d their
  distance in ln R (0 = no spread, towards 1 = indistinguishable levels).

The periphery decodes linearly: it takes each level's mean conductance and assumes the levels are
evenly spaced from level 0 to the top one (step ``g_step``), so a measured table with uneven level
means gives a systematic error, as the hardware would.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from cosim.nn.config import ArrayConfig

if TYPE_CHECKING:   # programming imports this module
    from cosim.nn.programming import CellArray

__all__ = ["LevelTable", "LUTProgrammer", "level_table"]


@dataclass(frozen=True)
class LevelTable:
    """Read-resistance distributions of ``levels`` levels (0 = HRS ... levels - 1 = LRS).

    samples: measured resistances per level (ohm), or None for log-normal levels given by
    median_ohm (per level) and sigma (of ln R).
    """

    levels: int
    samples: tuple[np.ndarray, ...] | None = None
    median_ohm: tuple[float, ...] = ()
    sigma: float = 0.0

    @classmethod
    def lognormal(cls, r_on: float, r_off: float, levels: int, overlap: float) -> "LevelTable":
        """Log-normal levels evenly spaced in conductance between 1/r_off and 1/r_on (ohm)."""
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1); got {overlap}")
        g = np.linspace(1.0 / r_off, 1.0 / r_on, levels)
        d_min = float(np.min(np.abs(np.diff(np.log(1.0 / g)))))
        sigma = 0.0 if overlap == 0 else d_min / (2.0 * NormalDist().inv_cdf(1.0 - overlap / 2.0))
        return cls(levels, None, tuple(1.0 / g), sigma)

    @classmethod
    def from_csv(cls, path: Path | str, levels: int) -> "LevelTable":
        """Measured table from a CSV ``level,resistance_ohm`` (see the module docstring)."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no such LUT file: {path}")
        lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        reader = csv.DictReader(lines)
        if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != ["level", "resistance_ohm"]:
            raise ValueError(f"{path}: the header must be 'level,resistance_ohm'; got {reader.fieldnames}")
        per_level: dict[int, list[float]] = {}
        for n, row in enumerate(reader, start=2):
            try:
                level, r = int(row["level"]), float(row["resistance_ohm"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}: line {n}: need an integer level and a resistance; got {row}") from None
            if not 0 <= level < levels or not (math.isfinite(r) and r > 0):
                raise ValueError(f"{path}: line {n}: level must be in 0..{levels - 1} and resistance finite and > 0 ohm; "
                                 f"got level {level}, {r} ohm")
            per_level.setdefault(level, []).append(r)
        missing = sorted(set(range(levels)) - set(per_level))
        if missing:
            raise ValueError(f"{path}: no measurements for levels {missing} (levels_per_cell = {levels})")
        table = cls(levels, tuple(np.array(per_level[k]) for k in range(levels)))
        if np.any(np.diff(table.g_mean) <= 0):
            raise ValueError(f"{path}: mean conductance must rise with the level (0 = HRS); got {table.g_mean} S")
        return table

    @property
    def g_mean(self) -> np.ndarray:
        """Mean read conductance of each level, S."""
        if self.samples is not None:
            return np.array([np.mean(1.0 / s) for s in self.samples])
        return np.exp(0.5 * self.sigma ** 2) / np.array(self.median_ohm)

    @property
    def g_step(self) -> float:
        """S per level the periphery assumes: (top mean - bottom mean) / (levels - 1)."""
        g = self.g_mean
        return float((g[-1] - g[0]) / (self.levels - 1))

    def draw(self, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A read resistance (ohm) for every cell of integer ``level`` (any shape)."""
        level = np.asarray(level)
        u = rng.random(level.shape)                 # one draw per cell, whatever the table
        if self.samples is None:
            normal = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
            return np.array(self.median_ohm)[level] * np.exp(self.sigma * normal)
        out = np.empty(level.shape)
        for k, s in enumerate(self.samples):        # a loop over levels, not cells
            mask = level == k
            out[mask] = s[np.minimum((u[mask] * len(s)).astype(int), len(s) - 1)]
        return out


@lru_cache(maxsize=16)
def _cached_table(lut: str | None, levels: int, r_on: float, r_off: float, overlap: float) -> LevelTable:
    if lut is not None:
        return LevelTable.from_csv(lut, levels)
    return LevelTable.lognormal(r_on, r_off, levels, overlap)


def level_table(cfg: ArrayConfig) -> LevelTable:
    """The level table of a bit-sliced config: its CSV, or the log-normal default with its overlap."""
    return _cached_table(cfg.lut, cfg.levels_per_cell, cfg.r_on, cfg.r_off, cfg.lut_overlap)


@dataclass(frozen=True)
class LUTProgrammer:
    """Writes bit-sliced targets: each cell's level is its target's nearest nominal level, and its
    conductance the inverse of a resistance drawn from that level's table; stuck cells stay stuck."""

    table: LevelTable

    def program(self, target_g: np.ndarray, cells: CellArray, rng: np.random.Generator) -> np.ndarray:
        target = np.asarray(target_g, dtype=np.float64)
        if target.shape != cells.shape:
            raise ValueError(f"target_g must have shape {cells.shape}; got {target.shape}")
        g0 = self.table.g_mean[0]
        level = np.clip(np.rint((target - g0) / self.table.g_step), 0, self.table.levels - 1).astype(np.int64)
        return cells.hold_faults(1.0 / self.table.draw(level, rng))
