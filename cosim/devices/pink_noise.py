"""Pink (1/f) noise per cell from a short history of Gaussian white draws (Kasdin 1995).

Each cell keeps its newest ``pole + 1`` white draws; its noise value is the FIR sum
``sum_r b_r omega_r`` (omega_0 the newest) with the Kasdin coefficients of a 1/f^alpha spectrum.
Advancing a cell by n pulses draws n new values and shifts them in; only the newest ``pole + 1``
matter, so at most ``pole + 1`` are drawn per cell.

Storage is a ring of ``pole + 1`` rows over all cells with one shared head: the most common shift
(usually 0 or 1) moves the head and costs one row of draws; cells with any other shift are moved
group by group, one group per distinct shift (at most ``pole + 2`` groups, never a loop over cells).
"""
from __future__ import annotations

import numpy as np

__all__ = ["kasdin_coefficients", "PinkNoiseHistory"]


def kasdin_coefficients(pole: int, alpha_psd: float = 1.0) -> np.ndarray:
    """b_0 = 1, b_k = b_{k-1} (alpha_psd/2 + k - 1)/k for k = 1..pole: 1, 0.5, 0.375, ... for 1/f."""
    if isinstance(pole, bool) or not isinstance(pole, (int, np.integer)) or pole < 0:
        raise ValueError(f"pole must be a non-negative integer; got {pole!r}")
    b = np.ones(int(pole) + 1)
    for k in range(1, int(pole) + 1):
        b[k] = b[k - 1] * (alpha_psd / 2.0 + k - 1) / k
    return b


class PinkNoiseHistory:
    """The newest ``pole + 1`` white draws of ``n`` cells and their Kasdin FIR sum.

    The history starts full of fresh draws, so the noise is stationary from the first pulse.
    """

    def __init__(self, n: int, pole: int, rng: np.random.Generator, alpha_psd: float = 1.0):
        self.coefficients = kasdin_coefficients(pole, alpha_psd)  # b_r, newest first
        self._slots = self.coefficients.size                        # pole + 1
        self._ring = rng.standard_normal((self._slots, n))          # physical rows
        self._head = 0                                              # physical row of omega_0

    @property
    def n(self) -> int:
        return self._ring.shape[1]

    def _physical(self, logical: np.ndarray | int) -> np.ndarray:
        return (self._head + np.asarray(logical)) % self._slots

    def history(self) -> np.ndarray:
        """(pole + 1, n) copy of the draws, newest first (for inspection and tests)."""
        return self._ring[self._physical(np.arange(self._slots))]

    def advance(self, counts: np.ndarray, rng: np.random.Generator) -> None:
        """Shift ``counts[i]`` new Gaussian draws into cell i's history (``counts`` validated ints >= 0)."""
        shift = np.minimum(counts, self._slots).astype(np.intp, copy=False)
        per_shift = np.bincount(shift, minlength=self._slots + 1)  # cells per shift 0..pole+1
        common = int(np.argmax(per_shift))
        # Cells whose shift differs from the common one keep a copy of their old rows (physical order).
        groups = []
        for s in np.flatnonzero(per_shift):
            if s != common:
                cells = np.flatnonzero(shift == s)
                groups.append((int(s), cells, self._ring[:, cells]))
        # The common shift moves the shared head; the rows it frees get new draws for every cell.
        old_head = self._head
        self._head = (self._head - common) % self._slots
        for k in range(common):  # drawn straight into the ring rows: no temporary of n values
            rng.standard_normal(out=self._ring[(self._head + k) % self._slots])
        for s, cells, old in groups:
            new = np.empty_like(old)
            fresh = rng.standard_normal((s, cells.size))
            for k in range(self._slots):  # logical slot k: a fresh draw, or old slot k - s
                new[(self._head + k) % self._slots] = fresh[k] if k < s else old[(old_head + k - s) % self._slots]
            self._ring[:, cells] = new

    def value(self, scale: float = 1.0) -> np.ndarray:
        """(n,) FIR sum ``scale * sum_r b_r omega_r`` of each cell (omega: unit Gaussian draws)."""
        weights = np.empty(self._slots)
        weights[self._physical(np.arange(self._slots))] = scale * self.coefficients
        return weights @ self._ring
