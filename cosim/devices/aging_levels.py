"""Level-dependent retention: every programmed level, LRS, HRS and the levels between, drifts gradually
toward the split between the states (MODELS.md section 3 gives the law it is anchored to).

Seed 000 publishes gradual retention fits for LRS only (Fig. 3B, Ti/HfOx/TiN, with temperature). A
mirrored copy for HRS, cut off at the split, makes every level sit flat and then jump to the split
within a decade of time. ``LevelRetention`` instead lets the log-distance of each cell to the split
decay as a power of the stress beyond the published threshold::

    ln(R / r_split) = ln(r0 / r_split) * f,   f = 1                           for x <= x_th(T)
                                              f = (x / x_th(T))^(-a(T))        for x >  x_th(T)
    x_th(T) = p0 exp(p1 d + p2 T_c)                    (the reference law's threshold)
    a(T)    = p3 (p1 d + p2 T_c) / ln(r_split / r_ref) (LRS levels; times hrs_rate_scale for HRS levels)

so the reference LRS level ``r_ref`` leaves r_ref exactly like the published law (same threshold, same
initial slope d ln R / d ln x = p3 (p1 d + p2 T_c)), every level moves by the same fraction of its
distance to the split (multi-level cells keep their order), and no level crosses the split or jumps.
The HRS rate is an assumption (``hrs_rate_scale``, default 1: as fast as the LRS), since the seed
publishes no HRS retention fit with temperature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .aging import AgingMode, EnduranceRetentionLaw, positive_array

__all__ = ["LevelRetention"]


@dataclass(frozen=True)
class LevelRetention:
    """Gradual drift of every level toward ``r_split`` (see the module docstring).

    Attributes:
        reference: a gradual ``EnduranceRetentionLaw`` with a rising exponent (p3 > 0), e.g. seed 000
            Fig. 3B LRS; gives x_th(T) (s) and the initial slope.
        r_split: ohm, the resistance all levels drift toward (the split between LRS and HRS).
        r_ref: ohm, the LRS level at which the reference law's slope holds (< r_split).
        hrs_rate_scale: rate of levels above the split relative to those below (dimensionless, > 0).
    """

    reference: EnduranceRetentionLaw
    r_split: float
    r_ref: float
    hrs_rate_scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.reference, EnduranceRetentionLaw) or self.reference.mode is not AgingMode.GRADUAL \
                or self.reference.p3 <= 0:
            raise ValueError("LevelRetention.reference must be a gradual EnduranceRetentionLaw with p3 > 0; "
                             f"got {self.reference!r}")
        for name in ("r_split", "r_ref", "hrs_rate_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"LevelRetention.{name} must be a finite number > 0; got {value!r}")
        if not self.r_ref < self.r_split:
            raise ValueError(f"LevelRetention needs r_ref < r_split; got {self.r_ref} >= {self.r_split} ohm")

    @classmethod
    def between(cls, r_lrs: float, r_hrs: float, reference: EnduranceRetentionLaw | None = None,
                hrs_rate_scale: float = 1.0) -> "LevelRetention":
        """Levels between ``r_lrs`` and ``r_hrs`` ohm, split at sqrt(r_lrs r_hrs), reference at r_lrs
        (default reference: seed 000 Fig. 3B Ti/HfOx/TiN LRS)."""
        if not 0 < r_lrs < r_hrs:
            raise ValueError(f"LevelRetention.between needs 0 < r_lrs < r_hrs; got {r_lrs}, {r_hrs}")
        reference = reference or EnduranceRetentionLaw.published("3B_O", "LRS")
        return cls(reference, math.sqrt(r_lrs * r_hrs), float(r_lrs), hrs_rate_scale)

    def is_lrs(self, r0) -> np.ndarray:
        """True where the programmed resistance ``r0`` (ohm) is below the split."""
        return positive_array("r0 (ohm)", r0) < self.r_split

    def threshold(self, temperature=None) -> np.ndarray:
        """x_th (s) of the reference law at ``temperature`` (K)."""
        return self.reference.threshold(temperature)

    def rate(self, r0, temperature=None) -> np.ndarray:
        """Exponent a(T) per cell programmed to ``r0`` (ohm)."""
        law = self.reference
        a = law.p3 * law.activation(temperature) / math.log(self.r_split / self.r_ref)
        return np.where(self.is_lrs(r0), a, a * self.hrs_rate_scale)

    def fraction(self, r0, x, temperature=None) -> np.ndarray:
        """f: the part of each cell's log-distance to the split left after stress ``x`` (s)."""
        x = positive_array("x (stress)", x)
        return np.maximum(x / self.threshold(temperature), 1.0) ** (-self.rate(r0, temperature))

    def resistance(self, r0, x, temperature=None) -> np.ndarray:
        """Resistance (ohm) after ``x`` s at ``temperature`` K of cells programmed to ``r0`` ohm."""
        r0 = positive_array("r0 (ohm)", r0)
        return self.r_split * np.exp(np.log(r0 / self.r_split) * self.fraction(r0, x, temperature))

    def re_expressed(self, r0, x, from_temperature, to_temperature) -> np.ndarray:
        """Stress (s) at ``to_temperature`` that leaves each cell where ``x`` s at ``from_temperature`` did:
        the same fraction of the threshold before it, the same remaining fraction f past it."""
        x = np.asarray(x, dtype=np.float64)
        x_old, x_new = self.threshold(from_temperature), self.threshold(to_temperature)
        f = self.fraction(r0, np.maximum(x, 1e-300), from_temperature)
        past = x_new * f ** (-1.0 / self.rate(r0, to_temperature))
        return np.where(x <= x_old, x * x_new / x_old, past)
