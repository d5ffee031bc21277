"""What programming an array achieved, as a researcher needs it: accuracy over the addressed cells only,
and the cost (pulses, reads, clipped pulses, energy, time)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProgramReport:
    """Outcome of programming an array.

    Attributes:
        scheme: the scheme's name. tolerance: relative tolerance asked for.
        addressed: (rows, cols) cells with a target. pulses: (rows, cols) pulses the controller applied to
            each cell (a row-parallel pulse counts once for each cell it drove).
        error: (rows, cols) final relative error (G - target) / target of each cell's true conductance
            (NaN where not addressed). failed: addressed cells whose |error| exceeds the tolerance.
        stuck: cells the controller reported stuck.
        reads, pulse_operations: read and pulse operations issued. clipped: pulses whose width or line
            voltages the limits cut.
        energy: energy of every pulse and read, J. time: simulated time taken, s.
    """

    scheme: str
    tolerance: float
    addressed: np.ndarray
    pulses: np.ndarray
    error: np.ndarray
    failed: np.ndarray
    stuck: np.ndarray
    reads: int
    pulse_operations: int
    clipped: int
    energy: float
    time: float

    @property
    def operations(self) -> int:
        """Engine operations issued (pulses and reads)."""
        return self.reads + self.pulse_operations

    @property
    def n_addressed(self) -> int:
        return int(self.addressed.sum())

    @property
    def n_untouched(self) -> int:
        """Addressed cells that no pulse was aimed at."""
        return int((self.addressed & (self.pulses == 0)).sum())

    @property
    def success_rate(self) -> float:
        """Fraction of the addressed cells within tolerance."""
        return float(1.0 - self.failed[self.addressed].mean()) if self.n_addressed else 1.0

    @property
    def pulses_per_cell(self) -> float:
        """Mean pulses per addressed cell."""
        return float(self.pulses[self.addressed].mean()) if self.n_addressed else 0.0

    def summary(self) -> str:
        err = np.abs(self.error[self.addressed])
        median = float(np.median(err)) if err.size else 0.0
        return (f"{self.scheme}: {self.success_rate:.1%} of {self.n_addressed} addressed cells within "
                f"{self.tolerance:.1%} ({self.n_untouched} never pulsed), median |error| {median:.2e}, "
                f"{self.pulses_per_cell:.2f} pulses/cell, {self.reads} reads, {self.clipped} clipped pulses, "
                f"{int(self.stuck.sum())} stuck, energy {self.energy:.3e} J, time {self.time:.3e} s")
