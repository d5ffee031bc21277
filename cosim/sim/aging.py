"""Aging of an array's cells on the engine clock: retention (time at temperature) and endurance (cycles).

Each cell remembers the resistance it was programmed to (``r_programmed``), its retention stress
and its SET/RESET cycle count. A retention law with a threshold ``x_th(T)`` (seed 000) is applied in
*equivalent time* at the present temperature: at constant temperature this is exactly the law in
time; when the temperature changes, each cell's equivalent time is re-expressed at the new
temperature so that its resistance is continuous (past the threshold: the time at which the law at
the new temperature gives the present resistance; before it: the same fraction of the threshold).
Laws without a threshold (power-law drift) use the time since programming. Endurance laws take the
cycle count.

The laws move each cell by a *factor*: the law's resistance after the new stress over its resistance
before it, applied to the cell's present resistance. So retention and endurance compose, and a cell
nudged by a small disturb keeps both the nudge and its retention history. Wear from switching: every crossing of
the window midpoint sqrt(G_on G_off) by a co-simulated pulse or read counts half a cycle; a SET and a
RESET crossing complete one SET/RESET cycle, which advances the cell's counter and applies one cycle of
the endurance law (as ``cycle(1)`` does). Retention restarts only
when a cell is reprogrammed: when the pulses since its last restart have moved its conductance by
more than ``AgingLaws.restart_fraction`` of its window on the log axis, |ln(G/G_restart)| >
restart_fraction * ln(G_on/G_off) (2 % by default: a half-select disturb of 1e-4 keeps its history, a
SET or RESET restarts it). With an LRS and an HRS law (``TwoStateAging``) the two states drift towards each other
until they meet at the split resistance: the window closes but the states never cross (the power
laws of seed 000 are fitted over a limited range and would otherwise carry a cell past the other
state).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from enum import Enum

import numpy as np

from cosim.devices.aging import EnduranceRetentionLaw, PowerLawDrift, TwoStateAging
from cosim.devices.aging_levels import LevelRetention


@lru_cache(maxsize=256)
def _threshold_at(law, temperature_k: float) -> float:
    """x_th of a single-state law (or of the reference of a level law) at ``temperature_k`` (cached: the
    engine asks at every operation)."""
    return float(law.threshold(temperature_k))


def law_threshold(law, r0: np.ndarray, temperature_k: float) -> np.ndarray | float | None:
    """Stress threshold x_th of ``law`` at ``temperature_k``: one number for laws whose threshold does not
    depend on the level, per cell for two-state laws, None for laws without one."""
    if isinstance(law, (EnduranceRetentionLaw, LevelRetention)):
        return _threshold_at(law, temperature_k)
    if isinstance(law, TwoStateAging):
        return np.where(r0 < law.r_split, _threshold_at(law.lrs, temperature_k), _threshold_at(law.hrs, temperature_k))
    return None


def law_exponent(law, r0: np.ndarray, temperature_k: float) -> np.ndarray:
    """Per-cell gradual exponent p3 (p1 d + p2 T_c) of ``law`` (0 for sudden laws)."""
    def one(single: EnduranceRetentionLaw) -> np.ndarray:
        if single.mode.value != "gradual":
            return np.zeros(r0.shape)
        return np.broadcast_to(single.p3 * single.activation(temperature_k), r0.shape).astype(float)
    if isinstance(law, TwoStateAging):
        return np.where(law.is_lrs(r0), one(law.lrs), one(law.hrs))
    return one(law)


class RetentionModel(Enum):
    """How programmed levels retain their resistance (see :func:`default_retention`)."""

    LEVELS = "levels"        # every level drifts gradually toward the split (LevelRetention)
    TWO_STATE = "two-state"  # LRS law and its mirror for HRS, cut off at the split (TwoStateAging)


def default_retention(r_lrs: float, r_hrs: float, model: RetentionModel = RetentionModel.LEVELS):
    """Retention with temperature for cells between ``r_lrs`` and ``r_hrs`` ohm, split at sqrt(r_lrs r_hrs).

    Both models take the threshold and initial rate from the published Ti/HfOx/TiN LRS fit (seed 000
    Fig. 3B, gradual, thermally activated); the seed publishes no HRS retention fit with temperature.
    ``LEVELS`` (default): :class:`~cosim.devices.aging_levels.LevelRetention`, each level's log-distance
    to the split decays gradually, HRS as fast as LRS (multi-level cells keep their order).
    ``TWO_STATE``: the LRS law, and for HRS the same threshold with the opposite exponent, each cut
    off at the split (levels stay flat, then reach the split within about a decade of time).
    """
    if not isinstance(model, RetentionModel):
        raise TypeError(f"model must be a RetentionModel; got {type(model).__name__} {model!r}")
    if model is RetentionModel.LEVELS:
        return LevelRetention.between(r_lrs, r_hrs)
    lrs = EnduranceRetentionLaw.published("3B_O", "LRS")
    hrs = EnduranceRetentionLaw(mode="gradual", p0=lrs.p0, p1=lrs.p1, p2=lrs.p2, p3=-lrs.p3,
                                cell_size=lrs.cell_size, t_threshold=lrs.t_threshold)
    return TwoStateAging.between(lrs, hrs, r_lrs, r_hrs)


def default_endurance(r_lrs: float, r_hrs: float) -> TwoStateAging:
    """Endurance of seed 000 Fig. 2A (TiN/Hf(Al)O/Hf/TiN, gradual), split between ``r_lrs`` and ``r_hrs``."""
    both = TwoStateAging.published("2A")
    return TwoStateAging.between(both.lrs, both.hrs, r_lrs, r_hrs)


@dataclass
class AgingLaws:
    """The laws an array ages by; ``None`` disables that kind of aging.

    restart_fraction: a cell's retention history restarts when the pulses since its last restart have
    moved its conductance by more than this fraction of its window on the log axis (see the module
    docstring); in [0, 1].
    """

    retention: EnduranceRetentionLaw | TwoStateAging | LevelRetention | PowerLawDrift | None = None
    endurance: EnduranceRetentionLaw | TwoStateAging | None = None
    restart_fraction: float = 0.02

    def __post_init__(self) -> None:
        f = self.restart_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float, np.integer, np.floating)):
            raise TypeError(f"AgingLaws.restart_fraction must be a real number; got {type(f).__name__}")
        if not 0 <= f <= 1:
            raise ValueError(f"AgingLaws.restart_fraction must be in [0, 1]; got {f!r}")


def within_window(law, r0: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Stop each state's drift at the split between LRS and HRS (two-state laws only)."""
    if not isinstance(law, TwoStateAging):
        return r
    return np.where(law.is_lrs(r0), np.minimum(r, law.r_split), np.maximum(r, law.r_split))


class AgingState:
    """Per-cell aging memory of an array of ``n`` cells."""

    def __init__(self, r_programmed: np.ndarray):
        self.r_programmed = np.asarray(r_programmed, float).copy()
        self.equivalent_s = np.zeros_like(self.r_programmed)   # retention stress as time at equivalent_at, s
        self.equivalent_at = 0.0                                # K
        self.time_s = np.zeros_like(self.r_programmed)         # time since programming, s
        self.cycles = np.zeros(self.r_programmed.shape, dtype=np.int64)
        self.pulse_shift = np.zeros_like(self.r_programmed)    # ln(G / G at the last restart) from pulses
        self.crossings = np.zeros(self.r_programmed.shape, dtype=np.int64)   # midpoint crossings not yet a cycle
        self.v_stop = np.full(self.r_programmed.shape, np.nan)  # V, RESET stop voltage last applied (NaN: none)

    ARRAYS = ("r_programmed", "equivalent_s", "time_s", "cycles", "pulse_shift", "crossings", "v_stop")
    OPTIONAL = {"crossings": 0.0, "v_stop": np.nan}      # arrays older saves may lack, and their fill value

    def as_dict(self) -> dict:
        """The memory as arrays (copies) and ``equivalent_at`` (K), for saving."""
        out = {k: getattr(self, k).copy() for k in self.ARRAYS}
        out["equivalent_at"] = np.float64(self.equivalent_at)
        return out

    def load(self, saved: dict) -> None:
        """Inverse of :meth:`as_dict` (shapes checked before anything changes; missing optional arrays are
        filled: "crossings" 0, "v_stop" NaN)."""
        n = self.r_programmed.shape
        arrays = {k: np.asarray(saved[k] if k in saved or k not in self.OPTIONAL else np.full(n, self.OPTIONAL[k])
                                ).copy() for k in self.ARRAYS}
        for k, v in arrays.items():
            if v.shape != n:
                raise ValueError(f"aging state {k} must have shape {n}; got {v.shape}")
        for k, v in arrays.items():
            setattr(self, k, v.astype(np.int64) if k in ("cycles", "crossings") else v.astype(float))
        self.equivalent_at = float(saved["equivalent_at"])

    def reprogrammed(self, cells: np.ndarray, r_now: np.ndarray) -> None:
        """Cells (boolean mask) were just programmed to ``r_now`` (ohm): retention starts again."""
        self.r_programmed[cells] = r_now[cells]
        self.equivalent_s[cells] = 0.0
        self.time_s[cells] = 0.0
        self.pulse_shift[cells] = 0.0

    def pulsed(self, cells: np.ndarray, g_before: np.ndarray, g_after: np.ndarray, window_ln: np.ndarray,
               fraction: float) -> np.ndarray:
        """Pulses moved ``cells`` (indices) from ``g_before`` to ``g_after`` (S); restart the retention of
        those whose accumulated shift exceeds ``fraction`` of ``window_ln`` = ln(G_on/G_off) per cell.
        Returns the boolean mask (all cells) of the restarted ones."""
        self.pulse_shift[cells] += np.log(g_after / g_before)
        restart = np.zeros(self.r_programmed.shape, bool)
        restart[cells] = np.abs(self.pulse_shift[cells]) > fraction * window_ln[cells]
        r_now = np.zeros(self.r_programmed.shape)
        r_now[cells] = 1.0 / g_after
        self.reprogrammed(restart, r_now)
        return restart

    def switched(self, cells: np.ndarray, g_before: np.ndarray, g_after: np.ndarray, g_mid: np.ndarray) -> np.ndarray:
        """Count the crossings of the window midpoint ``g_mid`` (S, per cell) by ``cells`` (indices) moving from
        ``g_before`` to ``g_after``; every second crossing (a SET and a RESET) completes a cycle. Returns the
        boolean mask (all cells) of the cells that completed one (their counters are not yet advanced)."""
        crossed = (g_before > g_mid[cells]) != (g_after > g_mid[cells])
        self.crossings[cells] += crossed
        done = np.zeros(self.r_programmed.shape, bool)
        done[cells] = self.crossings[cells] >= 2
        self.crossings[done] -= 2
        return done

    def _retention_r(self, law, temperature_k: float) -> np.ndarray:
        """The law's resistance (ohm) at the present retention memory."""
        r0 = self.r_programmed
        if law_threshold(law, r0, temperature_k) is None:
            return law.resistance(r0, np.maximum(self.time_s, 1e-300), temperature_k)
        return within_window(law, r0, law.resistance(r0, np.maximum(self.equivalent_s, 1e-300), temperature_k))

    def retention_factor(self, law, seconds: float, temperature_k: float) -> np.ndarray:
        """Advance the retention memory by ``seconds`` at ``temperature_k``; return R_after / R_before
        of the law per cell (1 where the law does not move the cell)."""
        r0 = self.r_programmed
        x_th = law_threshold(law, r0, temperature_k)
        if x_th is not None and self.equivalent_at != temperature_k:
            if np.any(self.equivalent_s > 0):
                self.equivalent_s = self._re_expressed(law, x_th, temperature_k)
            self.equivalent_at = temperature_k
        if x_th is not None and np.all(self.equivalent_s + seconds <= x_th):
            # every cell stays below its threshold, where every threshold law is flat: nothing moves
            self.time_s += seconds
            self.equivalent_s = self.equivalent_s + seconds
            return np.ones_like(r0)
        before = self._retention_r(law, temperature_k)
        self.time_s += seconds
        self.equivalent_s = self.equivalent_s + seconds
        return self._retention_r(law, temperature_k) / before

    def _re_expressed(self, law, x_th_new: np.ndarray, temperature_k: float) -> np.ndarray:
        """Equivalent time at ``temperature_k`` that leaves each cell's resistance where it is."""
        r0, x_old = self.r_programmed, self.equivalent_s
        if isinstance(law, LevelRetention):
            return law.re_expressed(r0, x_old, self.equivalent_at, temperature_k)
        x_th_old = law_threshold(law, r0, self.equivalent_at)
        fraction = x_old / x_th_old
        before = fraction <= 1.0
        k = law_exponent(law, r0, temperature_k)
        r_now = within_window(law, r0, law.resistance(r0, np.maximum(x_old, 1e-300), self.equivalent_at))
        with np.errstate(divide="ignore", invalid="ignore"):
            past = x_th_new * (r_now / r0) ** (1.0 / k)
        past = np.where((k != 0) & np.isfinite(past), np.maximum(past, x_th_new), fraction * x_th_new)
        return np.where(before, fraction * x_th_new, past)

    def endurance_factor(self, law, cells: np.ndarray, n: int) -> np.ndarray:
        """Add ``n`` SET/RESET cycles to ``cells`` (mask); return R_after / R_before of the law per cell.

        Counters are int64 and never wrap: ``n`` that would overflow one is a ValueError (before any change).
        """
        check_cycles(self.cycles, cells, n)
        r0 = self.r_programmed

        stopped = np.isfinite(self.v_stop)      # cells RESET at a recorded stop voltage: the law's window at it

        def r_law() -> np.ndarray:
            if law is None:
                return np.ones_like(r0)
            x = np.maximum(self.cycles, 1).astype(float)
            r = law.resistance(r0, x)
            if stopped.any():
                r[stopped] = law.resistance(r0[stopped], x[stopped], v_stop=self.v_stop[stopped])
            return within_window(law, r0, r)
        before = r_law()
        self.cycles[cells] += n
        return r_law() / before


CYCLES_MAX = np.iinfo(np.int64).max


def check_cycles(counters: np.ndarray, cells: np.ndarray, n) -> int:
    """``n`` as a cycle count that the int64 ``counters`` of ``cells`` (mask) can take without wrapping."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n (cycles) must be an integer; got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"n (cycles) must be a non-negative integer; got {n!r}")
    top = int(counters[cells].max()) if np.any(cells) else 0
    if int(n) > CYCLES_MAX - top:
        raise ValueError(f"n (cycles) = {n} would overflow the cycle counters (now up to {top}, "
                         f"limit {CYCLES_MAX})")
    return int(n)
