"""Weak-RESET HfOx RRAM driven by integer pulse counts (seeds 001/004; MODELS.md section 2).

Each cell's resistance is R = R0 exp(w) with the dimensionless filament gap

    w = w_mean + w_RTN + w_pink
    w_mean = c1 + m1 min(t, t*) + m2 max(t - t*, 0)        (t: cumulative pulse count)
    w_RTN  = a X,     X in {0, 1} a two-state Markov chain stepped once per pulse
    w_pink = alpha sum_{r=0}^{pole} b_r omega_r          (Kasdin FIR of Gaussian white draws)

Device-to-device parameters (m1, c1, t*, m2, R0, a) are drawn once per cell from Table I
(``WeakResetVariability``); cycle-to-cycle constants come from Table II (``WeakResetNoise``).
``WeakResetOptions`` switches D2D variability, RTN and pink noise off (seed 004 Fig. 9 cases).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cosim.devices.pink_noise import PinkNoiseHistory
from cosim.validate import check_memory, check_range, real_scalar
from cosim.devices.variability import Exponential, LogNormal, Normal, ParamValue, Uniform, as_generator, sample

__all__ = [
    "WeakResetVariability", "WeakResetNominal", "WeakResetNoise", "WeakResetOptions", "WeakResetParams",
    "WeakResetHfOx", "rtn_switch_probabilities", "validate_counts", "mean_gap",
]


@dataclass(frozen=True)
class WeakResetVariability:
    """Table I of seed 004: per-cell parameter distributions, truncated as in the authors' code.

    A field may also be a number (all cells equal) or an (n,) array (given per cell).
    """
    a: ParamValue = Uniform(0.0, 0.5)                                      # RTN amplitude (w units)
    m1: ParamValue = Exponential(3.74e-5, 6.56e-4, low=3.74e-5, high=0.0076)  # 1/pulse, first slope
    c1: ParamValue = Normal(5.29e-3, 5.32e-2, low=-0.15, high=0.15)          # w at t = 0
    t_star: ParamValue = LogNormal(0.80, 542.5, low=41.0, high=2000.0)       # pulses, slope change
    m2: ParamValue = Exponential(1.64e-34, 2.89e-5, low=0.0, high=1.3e-4)    # 1/pulse, second slope
    R0: ParamValue = Normal(6988.0, 381.7, low=6252.0, high=7897.0)          # ohm, R at w = 0


@dataclass(frozen=True)
class WeakResetNominal:
    """The device used when D2D variability is off: the mean of each Table I distribution as
    truncated (computed with scipy.stats; checked in tests/test_weak_reset.py)."""
    a: float = 0.25                 # RTN amplitude (w units)
    m1: float = 6.933255e-4         # 1/pulse
    c1: float = 5.063536e-3         # dimensionless
    t_star: float = 628.10988       # pulses
    m2: float = 2.743705e-5         # 1/pulse
    R0: float = 7003.338            # ohm


@dataclass(frozen=True)
class WeakResetNoise:
    """Table II of seed 004: cycle-to-cycle noise constants."""
    p_high: float = 0.0008  # per pulse, P(X: 0 -> 1)
    p_low: float = 0.002    # per pulse, P(X: 1 -> 0)
    alpha: float = 0.025    # pink-noise scale (w units per unit white draw)
    pole: int = 15          # pink-noise history length - 1

    def __post_init__(self) -> None:
        for name in ("p_high", "p_low"):
            value = real_scalar(f"WeakResetNoise.{name}", getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"WeakResetNoise.{name} must be a probability in [0, 1]; got {value}")
        if not 0.0 < self.p_high + self.p_low <= 2.0:
            raise ValueError("WeakResetNoise: p_high + p_low must be > 0")
        check_range("WeakResetNoise.alpha", real_scalar("WeakResetNoise.alpha", self.alpha), low=0.0)
        if isinstance(self.pole, bool) or not isinstance(self.pole, (int, np.integer)) or self.pole < 0:
            raise ValueError(f"WeakResetNoise.pole must be a non-negative integer; got {self.pole!r}")


@dataclass(frozen=True)
class WeakResetOptions:
    """Which parts of the model are on (all on: the full model of seed 004)."""
    d2d: bool = True   # per-cell parameters from Table I; off: every cell is WeakResetNominal
    rtn: bool = True   # random telegraph noise a X
    pink: bool = True  # pink noise alpha sum b_r omega_r


@dataclass(frozen=True)
class WeakResetParams:
    """Per-cell parameters, each a read-only (n,) float64 array (names as in MODELS.md)."""
    m1: np.ndarray
    c1: np.ndarray
    t_star: np.ndarray
    m2: np.ndarray
    R0: np.ndarray
    a: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        """Mapping-style access: ``params["m1"]``."""
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))


def rtn_switch_probabilities(n, p_high: float, p_low: float) -> tuple[np.ndarray, np.ndarray]:
    """(p01(n), p10(n)): probability that X ends flipped after n pulses, from 0 and from 1.

    The n-th power of the two-state transition matrix: p01 = P_h/(P_h+P_l) (1 - (1-P_h-P_l)^n),
    p10 = P_l/(P_h+P_l) (1 - (1-P_h-P_l)^n).
    """
    total = p_high + p_low
    decay = -np.expm1(np.asarray(n, dtype=np.float64) * np.log1p(-total)) if total < 1.0 else \
        1.0 - np.power(1.0 - total, np.asarray(n, dtype=np.float64))
    return p_high / total * decay, p_low / total * decay


def mean_gap(t, c1, m1, m2, t_star, slope_change=None):
    """Two-slope mean model w_mean(t) = c1 + m1 min(t, t*) + m2 max(t - t*, 0) (dimensionless).

    Evaluated as c1 + m2 t + (m1 - m2) min(t, t*), with min(t, t*) = t* - max(t* - t, 0) (no large
    terms cancel, even in float32 at 1e6 pulses), in place where it can, for numpy arrays
    (``WeakResetHfOx``), torch tensors (``cosim.nn``'s device layers) and scalars alike: one law.
    t: cumulative pulse count; m1, m2 in 1/pulse; t* in pulses; slope_change: m1 - m2 if precomputed.
    """
    short = t_star - t
    if isinstance(short, np.ndarray):
        np.maximum(short, 0.0, out=short)
    elif hasattr(short, "clamp_"):      # a torch tensor
        short.clamp_(min=0)
    else:
        return c1 + m2 * t + (m1 - m2) * (t_star - max(short, 0.0))
    short *= -1.0
    short += t_star                     # min(t, t*)
    short *= (m1 - m2) if slope_change is None else slope_change
    short += c1
    short += m2 * t
    return short


PULSES_MAX = int(np.iinfo(np.int64).max)   # the cumulative pulse counters are int64 and never wrap


def validate_counts(counts, n: int) -> np.ndarray:
    """Pulse counts as an (n,) int64 array: integers >= 0 (a scalar applies to every cell)."""
    arr = np.asarray(counts)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"counts must be integers; got dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.shape != (n,):
        raise ValueError(f"counts must be a scalar or have shape ({n},); got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"counts must be integers; counts[{i}] = {arr[i]}")
    if np.any(arr < 0):
        i = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"counts must be >= 0; counts[{i}] = {arr[i]}")
    if np.any(arr > PULSES_MAX):
        i = int(np.flatnonzero(arr > PULSES_MAX)[0])
        raise ValueError(f"counts must be <= {PULSES_MAX} (int64 pulse counters); counts[{i}] = {arr[i]}")
    return arr.astype(np.int64, copy=False)


class WeakResetHfOx:
    """``n`` weak-RESET HfOx cells: state arrays over cells, stepped by integer pulse counts.

    State: ``pulses`` (cumulative count t), ``rtn_state`` (X, starts at 0), the pink-noise history
    (starts full of fresh draws) and ``params`` (per-cell, fixed at construction). All randomness
    comes from ``rng`` (seed or Generator): the same seed gives bit-identical runs.
    """

    def __init__(self, n: int, rng=None, *, variability: WeakResetVariability = WeakResetVariability(),
                 noise: WeakResetNoise = WeakResetNoise(), options: WeakResetOptions = WeakResetOptions(),
                 nominal: WeakResetNominal = WeakResetNominal()):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (number of cells) must be a positive integer; got {n!r}")
        for name, value, kind in (("variability", variability, WeakResetVariability),
                                  ("noise", noise, WeakResetNoise), ("options", options, WeakResetOptions),
                                  ("nominal", nominal, WeakResetNominal)):
            if not isinstance(value, kind):
                raise ValueError(f"{name} must be a {kind.__name__}; got {type(value).__name__}")
        # six parameters, state, work buffers and the pink-noise history (pole + 1 rows) per cell
        check_memory(f"WeakResetHfOx of n={n} cells", 8.0 * n * (14 + noise.pole + 1))
        self.noise, self.options = noise, options
        self._rng = as_generator(rng)
        source = variability if options.d2d else nominal
        values = {f.name: sample(getattr(source, f.name), int(n), self._rng, name=f.name)
                  for f in fields(WeakResetParams)}
        for arr in values.values():
            arr.flags.writeable = False
        self.params = WeakResetParams(**values)
        self._slope_change = self.params.m1 - self.params.m2  # 1/pulse, used by w_mean
        self.pulses = np.zeros(int(n), dtype=np.int64)
        self.rtn_state = np.zeros(int(n), dtype=bool)
        self._scratch, self._flip_p = np.empty(int(n)), np.empty(int(n))  # RTN work buffers
        self._flip = np.empty(int(n), dtype=bool)
        self._pink = PinkNoiseHistory(int(n), noise.pole, self._rng) if options.pink else None

    @property
    def n(self) -> int:
        return self.pulses.size

    def apply_pulses(self, counts) -> None:
        """Apply ``counts[i]`` weak-RESET pulses to cell i ((n,) integers >= 0, or one for all).

        Mean model on the new cumulative count; RTN through the n-step switch probabilities; pink
        noise through n new white draws shifted into the history. Invalid counts raise ValueError
        before anything changes.
        """
        counts = self.checked_counts(counts)
        self.pulses += counts
        if self.options.rtn:
            p_flip = self._switch_probability(counts)
            np.less(self._rng.random(out=self._scratch), p_flip, out=self._flip)
            self.rtn_state ^= self._flip
        if self._pink is not None:
            self._pink.advance(counts, self._rng)

    def checked_counts(self, counts) -> np.ndarray:
        """``counts`` validated for ``apply_pulses`` ((n,) int64), including that no counter would wrap."""
        counts = validate_counts(counts, self.n)
        room = PULSES_MAX - self.pulses
        if np.any(counts > room):
            i = int(np.flatnonzero(counts > room)[0])
            raise ValueError(f"counts[{i}] = {counts[i]} would overflow cell {i}'s pulse counter "
                             f"({self.pulses[i]} pulses so far, limit {PULSES_MAX})")
        return counts

    def _switch_probability(self, counts: np.ndarray) -> np.ndarray:
        """(n,) probability that each cell's RTN state flips over its ``counts`` pulses."""
        lo, hi = int(counts.min()), int(counts.max())
        if lo == hi:  # the same count everywhere: two numbers
            p01, p10 = rtn_switch_probabilities(lo, self.noise.p_high, self.noise.p_low)
            np.copyto(self._flip_p, p01)
            np.copyto(self._flip_p, p10, where=self.rtn_state)
            return self._flip_p
        if hi - lo <= 4096:  # few distinct counts: evaluate the closed form once per count
            p01, p10 = rtn_switch_probabilities(np.arange(lo, hi + 1), self.noise.p_high, self.noise.p_low)
            return np.where(self.rtn_state, p10[counts - lo], p01[counts - lo])
        p01, p10 = rtn_switch_probabilities(counts, self.noise.p_high, self.noise.p_low)
        return np.where(self.rtn_state, p10, p01)

    def w_mean(self) -> np.ndarray:
        """(n,) two-slope mean model (``mean_gap``) at the cumulative pulse count t."""
        p = self.params
        return mean_gap(self.pulses, p.c1, p.m1, p.m2, p.t_star, self._slope_change)

    def w(self) -> np.ndarray:
        """(n,) dimensionless gap w = w_mean + w_RTN + w_pink."""
        w = self.w_mean()
        if self.options.rtn:
            np.add(w, self.params.a, out=w, where=self.rtn_state)
        if self._pink is not None:
            w += self._pink.value(scale=self.noise.alpha)
        return w

    def resistance(self) -> np.ndarray:
        """(n,) resistance R = R0 exp(w) in ohm."""
        r = self.w()
        np.exp(r, out=r)
        r *= self.params.R0
        return r

    def conductance(self) -> np.ndarray:
        """(n,) conductance 1/R in siemens."""
        return 1.0 / self.resistance()
