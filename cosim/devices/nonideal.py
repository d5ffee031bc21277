"""Device-level non-idealities: finite conductance states, stuck / unformed cells, read noise.

These act on what is *observed* of a cell, not on its physics: the continuous state still evolves,
but every readout (current and read conductance) goes through them.

* Finite states: the read conductance snaps to the nearest of ``levels`` values spread uniformly in
  G (or in R) between the cell's own bounds G(off) and G(on); the current at any voltage is scaled by
  the same factor G_snapped / G, so a nonlinear I-V keeps its shape.
* Faults, chosen once per array by proportion (exact counts ``round(p * n)``, disjoint, drawn from the
  array's Generator): stuck-at-ON cells hold the low-resistance bound, stuck-at-OFF cells the
  high-resistance bound, failed-to-form cells are frozen ohmic resistors of ``r_unformed`` ohm
  (default: the cell's R_off, the convention of seed 003). None of them ever change state.
* Read noise: ``conductance()`` multiplies each read by ``1 + read_noise * N(0, 1)``, redrawn per read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cosim.validate import check_range, real_scalar

__all__ = ["Nonidealities", "Faults", "choose_faults", "snap_to_levels"]


@dataclass(frozen=True)
class Nonidealities:
    """Observation-side non-idealities of a device array (all off by default)."""
    levels: int | None = None               # number of conductance states per cell (>= 2); None = continuous
    level_spacing: Literal["G", "R"] = "G"  # levels uniform in conductance ("G") or resistance ("R")
    stuck_on: float = 0.0                   # proportion of cells stuck at the low-resistance bound
    stuck_off: float = 0.0                  # proportion of cells stuck at the high-resistance bound
    failed_to_form: float = 0.0             # proportion of cells that never formed (frozen, ohmic)
    r_unformed: float | None = None         # ohm, resistance of unformed cells; None = the cell's R_off
    read_noise: float = 0.0                 # relative std of the read conductance, redrawn per read

    def __post_init__(self) -> None:
        if self.levels is not None:
            if isinstance(self.levels, bool) or not isinstance(self.levels, (int, np.integer)) or self.levels < 2:
                raise ValueError(f"Nonidealities.levels must be an integer >= 2 or None; got {self.levels!r}")
        if self.level_spacing not in ("G", "R"):
            raise ValueError(f"Nonidealities.level_spacing must be 'G' or 'R'; got {self.level_spacing!r}")
        for name in ("stuck_on", "stuck_off", "failed_to_form"):
            p = real_scalar(f"Nonidealities.{name} (a proportion)", getattr(self, name))
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"Nonidealities.{name} must be a proportion in [0, 1]; got {p!r}")
        if self.stuck_on + self.stuck_off + self.failed_to_form > 1.0:
            raise ValueError("Nonidealities: stuck_on + stuck_off + failed_to_form must be <= 1; got "
                             f"{self.stuck_on + self.stuck_off + self.failed_to_form}")
        if self.r_unformed is not None:
            check_range("Nonidealities.r_unformed", real_scalar("Nonidealities.r_unformed", self.r_unformed, unit="ohm"),
                        low=0.0, low_inclusive=False, unit="ohm")
        check_range("Nonidealities.read_noise", real_scalar("Nonidealities.read_noise", self.read_noise), low=0.0)


@dataclass(frozen=True)
class Faults:
    """Boolean masks (n,) of the faulty cells; disjoint."""
    stuck_on: np.ndarray
    stuck_off: np.ndarray
    unformed: np.ndarray

    @property
    def frozen(self) -> np.ndarray:
        """Cells whose state never changes."""
        return self.stuck_on | self.stuck_off | self.unformed


def choose_faults(spec: Nonidealities, n: int, rng: np.random.Generator) -> Faults:
    """Pick ``round(p * n)`` distinct cells for each fault kind from one random permutation."""
    counts = [int(round(p * n)) for p in (spec.stuck_on, spec.stuck_off, spec.failed_to_form)]
    masks = [np.zeros(n, dtype=bool) for _ in counts]
    if sum(counts):
        order = rng.permutation(n)
        start = 0
        for mask, count in zip(masks, counts):
            mask[order[start:start + count]] = True
            start += count
    return Faults(*masks)


def snap_to_levels(g: np.ndarray, g_a: np.ndarray, g_b: np.ndarray, levels: int, spacing: str) -> np.ndarray:
    """Snap conductances ``g`` (S) to the nearest of ``levels`` states between ``g_a`` and ``g_b``.

    The states are uniform in G (``spacing="G"``) or in R = 1/G (``"R"``); ties round up, as
    ``floor(t + 0.5)``, the same rule as the Cython kernel.
    """
    lo, hi = np.minimum(g_a, g_b), np.maximum(g_a, g_b)
    if spacing == "R":
        g, lo, hi = 1.0 / g, 1.0 / hi, 1.0 / lo
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    k = np.clip(np.floor((g - lo) / safe * (levels - 1) + 0.5), 0, levels - 1)
    out = np.where(span > 0, lo + k * (safe / (levels - 1)), g)
    return 1.0 / out if spacing == "R" else out
