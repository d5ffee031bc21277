"""Aging laws: how a programmed resistance changes with stress (cycles, time) and temperature.

Two laws, both vectorised over cells and both with ``resistance(r0, x, temperature=None)``:

* ``EnduranceRetentionLaw`` -- the general metal-oxide RRAM endurance/retention model of seed 000
  (MODELS.md section 3), gradual or sudden, for one state (LRS or HRS);
  ``TwoStateAging`` pairs an LRS and an HRS law and decides per cell which one applies.
* ``PowerLawDrift`` -- conductance drift G(t) = G0 (t/t0)^-nu.

How the event engine uses them: keep per cell the programmed resistance ``r0`` and a stress counter
``x`` (SET-RESET cycles for endurance, seconds since programming for retention) and ask
``law.resistance(r0, x, temperature_k)`` (x > 0; a cell not yet stressed is still at r0). For
LRS and HRS cells in one array use ``TwoStateAging``. A bake at another temperature is carried over
by equivalent stress: the threshold test depends on x only through x / x_th(T), so ``x`` accumulated
at T1 counts as ``law.equivalent_stress(x, T1, T2)`` = x x_th(T2) / x_th(T1) at T2.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Mapping, Protocol

import numpy as np

from cosim.validate import real_array

__all__ = [
    "AgingMode", "AgingLaw", "ResetStopWindow", "EnduranceRetentionLaw", "TwoStateAging", "PowerLawDrift",
]

_LN10 = math.log(10.0)


class AgingMode(enum.Enum):
    """How R leaves its programmed value once the stress passes the threshold x_th."""
    GRADUAL = "gradual"  # R = R0 (x / x_th)^(p3 (p1 d + p2 T_c)): a power law in the stress
    SUDDEN = "sudden"    # R jumps to R_stable

    @classmethod
    def parse(cls, value: "AgingMode | str") -> "AgingMode":
        """Turn the public string ("gradual" / "sudden") into the enum; anything else is a ValueError."""
        if isinstance(value, cls):
            return value
        for mode in cls:
            if value == mode.value:
                return mode
        raise ValueError(f"mode must be 'gradual' or 'sudden'; got {value!r}")


class AgingLaw(Protocol):
    """What the event engine needs of an aging law."""

    def resistance(self, r0, x, temperature=None) -> np.ndarray:
        """Resistance (ohm) of cells programmed to ``r0`` (ohm) after stress ``x``, at ``temperature`` (K)."""


# ----------------------------------------------------------------------------- input checks

def positive_array(name: str, value, allow_zero: bool = False) -> np.ndarray:
    """``value`` as a float64 array whose entries are finite and > 0 (>= 0 with ``allow_zero``)."""
    arr = real_array(name, value)      # rejects strings, booleans, complex numbers, NaN and inf
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        first = arr[bad].flat[0]
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}; found {int(np.sum(bad))} entries violating it (e.g. {first})")
    return arr


def temperature_constant(temperature, t_threshold: float) -> np.ndarray | None:
    """T_c = min(T_th / T, 1) for ``temperature`` in kelvin; None when no temperature is given."""
    if temperature is None:
        return None
    t_k = positive_array("temperature (K)", temperature)
    return np.minimum(t_threshold / t_k, 1.0)


def _check_real(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return float(value)


# ----------------------------------------------------------------------------- RESET stop voltage

@dataclass(frozen=True)
class ResetStopWindow:
    """RESET stop voltage window that scales the endurance threshold (seed 000 Fig. 4).

    With s(V) = (V - v_min)/(v_max - v_min) and q(V) = 1 - (2 s(V) - 1)^2 the threshold becomes
    log10 x_th(V) = log10 x_th(v_opt) * q(V) / q(v_opt): unchanged at v_opt, 1 at v_min and v_max.
    """
    v_min: float = 1.3   # V, lowest usable RESET stop voltage
    v_max: float = 1.9   # V, highest usable RESET stop voltage
    v_opt: float = 1.5   # V, stop voltage at which the law's parameters were measured

    def __post_init__(self) -> None:
        for name in ("v_min", "v_max", "v_opt"):
            _check_real(f"ResetStopWindow.{name}", getattr(self, name))
        if not self.v_min < self.v_opt < self.v_max:
            raise ValueError(f"ResetStopWindow needs v_min < v_opt < v_max; got {self.v_min}, {self.v_opt}, {self.v_max}")

    def shape(self, v_stop) -> np.ndarray:
        """q(V) = 1 - (2 s(V) - 1)^2, in [0, 1] on the window; V outside [v_min, v_max] is a ValueError."""
        v = np.asarray(v_stop, dtype=np.float64)
        if not np.all(np.isfinite(v)) or np.any((v < self.v_min) | (v > self.v_max)):
            raise ValueError(f"v_stop must lie in [{self.v_min}, {self.v_max}] V; got {v_stop!r}")
        s = (v - self.v_min) / (self.v_max - self.v_min)
        return 1.0 - (2.0 * s - 1.0) ** 2

    def exponent_scale(self, v_stop) -> np.ndarray:
        """Factor q(V)/q(v_opt) applied to log10 x_th."""
        return self.shape(v_stop) / self.shape(self.v_opt)


# ----------------------------------------------------------------------------- the general law

@dataclass(frozen=True)
class EnduranceRetentionLaw:
    """General endurance/retention law of one state (seed 000; MODELS.md section 3).

    Threshold   x_th = p0 exp(p1 d + p2 T_c),  T_c = min(T_th / T, 1); without a temperature the
                T_c term is dropped (the cell-size term is kept).
    gradual     R = R0 for x <= x_th,  R0 (x / x_th)^(p3 (p1 d + p2 T_c)) beyond
                (p3 > 0: R rises, typical of LRS; p3 < 0: R falls, typical of HRS).
    sudden      R = R0 for x <= x_th,  R_stable beyond.
    ``x`` is SET-RESET cycles (endurance) or seconds (retention); ``d`` the cell size in nm.
    ``mode`` is given as "gradual" / "sudden" and stored as an ``AgingMode``.
    """
    mode: AgingMode
    p0: float                      # stress units (cycles or s), threshold prefactor
    p1: float                      # 1/nm, cell-size coefficient of ln x_th
    p2: float = 0.0                # temperature coefficient of ln x_th (T_c is dimensionless)
    p3: float = 0.0                # gradual only: exponent factor (sign: direction of the drift)
    cell_size: float = 10.0        # nm, cell size d used when a call gives none
    t_threshold: float = 298.0     # K, T_th: temperatures below it count as T_th
    r_stable: float | None = None  # ohm, sudden only: resistance after the threshold
    reset_stop: ResetStopWindow | None = None  # optional V_stop scaling of x_th

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", AgingMode.parse(self.mode))
        for name in ("p0", "p1", "p2", "p3", "cell_size", "t_threshold"):
            object.__setattr__(self, name, _check_real(f"EnduranceRetentionLaw.{name}", getattr(self, name)))
        for name in ("p0", "cell_size", "t_threshold"):
            if getattr(self, name) <= 0:
                raise ValueError(f"EnduranceRetentionLaw.{name} must be > 0; got {getattr(self, name)}")
        if self.mode is AgingMode.SUDDEN:
            if self.r_stable is None:
                raise ValueError("EnduranceRetentionLaw: sudden mode needs r_stable (ohm)")
            r_stable = _check_real("EnduranceRetentionLaw.r_stable", self.r_stable)
            if r_stable <= 0:
                raise ValueError(f"EnduranceRetentionLaw.r_stable must be > 0 ohm; got {r_stable}")
            object.__setattr__(self, "r_stable", r_stable)
        elif self.r_stable is not None:
            raise ValueError("EnduranceRetentionLaw: r_stable applies to sudden mode only; "
                             f"got r_stable={self.r_stable} with mode='gradual'")
        if self.reset_stop is not None and not isinstance(self.reset_stop, ResetStopWindow):
            raise ValueError(f"reset_stop must be a ResetStopWindow or None; got {type(self.reset_stop).__name__}")

    # -- evaluation ---------------------------------------------------------------------------
    def activation(self, temperature=None, cell_size=None) -> np.ndarray:
        """u = p1 d + p2 T_c (dimensionless): ln x_th = ln p0 + u, gradual exponent = p3 u."""
        d = self.cell_size if cell_size is None else positive_array("cell_size (nm)", cell_size)
        tc = temperature_constant(temperature, self.t_threshold)
        u = self.p1 * np.asarray(d, dtype=np.float64)
        return u if tc is None else u + self.p2 * tc

    def threshold(self, temperature=None, cell_size=None, v_stop=None) -> np.ndarray:
        """Stress x_th (cycles or s) up to which R stays at R0; per cell if the inputs are arrays."""
        return np.exp(self._log_threshold(self.activation(temperature, cell_size), v_stop))

    def _log_threshold(self, u: np.ndarray, v_stop) -> np.ndarray:
        log_th = math.log(self.p0) + u
        if v_stop is not None:
            if self.reset_stop is None:
                raise ValueError("v_stop given but this law has no reset_stop window")
            log_th = log_th * self.reset_stop.exponent_scale(v_stop)
        return log_th

    def resistance(self, r0, x, temperature=None, *, cell_size=None, v_stop=None) -> np.ndarray:
        """Resistance (ohm) after stress ``x`` > 0 of cells programmed to ``r0`` (ohm).

        ``r0``, ``x``, ``temperature`` (K), ``cell_size`` (nm) and ``v_stop`` (V) broadcast together;
        None means: no temperature term, the law's cell size, no V_stop scaling.
        """
        r0 = positive_array("r0 (ohm)", r0)
        x = positive_array("x (stress)", x)
        return np.exp(math.log(10.0) * self._log10_resistance(r0, x, temperature, cell_size, v_stop))

    def _log10_resistance(self, r0, x, temperature, cell_size, v_stop) -> np.ndarray:
        u = self.activation(temperature, cell_size)
        log_th = self._log_threshold(u, v_stop)
        excess = np.log(x) - log_th  # ln(x / x_th)
        if self.mode is AgingMode.GRADUAL:
            return np.log10(r0) + np.maximum(excess, 0.0) * (self.p3 * u) / _LN10
        return np.where(excess > 0.0, math.log10(self.r_stable), np.log10(r0))

    def equivalent_stress(self, x, from_temperature, to_temperature, *, cell_size=None) -> np.ndarray:
        """Stress at ``to_temperature`` (K) worth ``x`` at ``from_temperature``: same x / x_th.

        For an engine that keeps one stress counter per cell across bakes at different
        temperatures. (In gradual mode the exponent then follows the new temperature.)
        """
        x = positive_array("x (stress)", x)
        ratio = self.threshold(to_temperature, cell_size) / self.threshold(from_temperature, cell_size)
        return x * ratio

    def log10_rms(self, r0, x, r_data, temperature=None, *, cell_size=None) -> float:
        """Root-mean-square of log10(R_model / R_data) over data points (x, r_data)."""
        r_data = positive_array("R data (ohm)", r_data)
        model = self._log10_resistance(positive_array("r0 (ohm)", r0), positive_array("x (stress)", x),
                                       temperature, cell_size, None)
        return float(np.sqrt(np.mean((model - np.log10(r_data)) ** 2)))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def fit(cls, x, R, r0, mode: AgingMode | str = "gradual", cell_size=10.0, temperature=None, *,
            t_threshold: float = 298.0, hold: Mapping[str, float] | None = None) -> "EnduranceRetentionLaw":
        """Least-squares fit on log10 R of data (x, R) measured on cells programmed to ``r0``.

        One data set: ``x``, ``R`` arrays; several (e.g. cell sizes or temperatures fitted jointly):
        sequences of arrays, with ``r0``, ``cell_size`` (nm), ``temperature`` (K) each a scalar or one
        value per set. See ``cosim.devices.aging_fit.fit_law`` for the method and for which parameters
        are held when the data cannot separate them (``hold`` overrides: name -> held value).
        """
        from cosim.devices.aging_fit import fit_law
        return fit_law(x, R, r0, AgingMode.parse(mode), cell_size, temperature, t_threshold, hold)

    @classmethod
    def published(cls, figure: str, state: str) -> "EnduranceRetentionLaw":
        """Published fit of seed 000 by figure and state, e.g. ``published("2A", "LRS")``.

        Figures: 2A, 2B, 2C, 2D, 3A, 3B_O (Ti/HfOx/TiN), 3B_Al (Ti/HfAlO/TiN), 3C. The programmed
        resistance that goes with it is ``PUBLISHED[(figure, state)].r0``
        (``cosim.devices.aging_published``).
        """
        from cosim.devices.aging_published import published_fit
        return published_fit(figure, state).law


# ----------------------------------------------------------------------------- LRS + HRS

@dataclass(frozen=True)
class TwoStateAging:
    """An LRS law and an HRS law; each cell follows the law of the state it was programmed to.

    The state of a cell is decided from its programmed resistance r0 (not its aged one, so a cell
    never changes law while it ages): LRS when r0 < r_split, HRS otherwise. ``between`` puts
    r_split at the geometric midpoint sqrt(R_LRS R_HRS) of the two programmed levels, i.e. halfway
    between the states on the log-resistance axis. The caller may instead say per cell which state
    it holds (``is_lrs``).
    """
    lrs: EnduranceRetentionLaw
    hrs: EnduranceRetentionLaw
    r_split: float  # ohm, r0 below it: LRS; at or above it: HRS

    def __post_init__(self) -> None:
        if _check_real("TwoStateAging.r_split", self.r_split) <= 0:
            raise ValueError(f"TwoStateAging.r_split must be > 0 ohm; got {self.r_split}")

    @classmethod
    def between(cls, lrs: EnduranceRetentionLaw, hrs: EnduranceRetentionLaw,
                r_lrs: float, r_hrs: float) -> "TwoStateAging":
        """Split at sqrt(r_lrs r_hrs) (ohm); r_lrs must be below r_hrs."""
        if not 0 < r_lrs < r_hrs:
            raise ValueError(f"TwoStateAging.between needs 0 < r_lrs < r_hrs; got {r_lrs}, {r_hrs}")
        return cls(lrs, hrs, math.sqrt(r_lrs * r_hrs))

    @classmethod
    def published(cls, figure: str) -> "TwoStateAging":
        """The published LRS and HRS fits of a figure (2A, 2C or 3C), split between their R0."""
        from cosim.devices.aging_published import published_fit
        lo, hi = published_fit(figure, "LRS"), published_fit(figure, "HRS")
        return cls.between(lo.law, hi.law, lo.r0, hi.r0)

    def is_lrs(self, r0) -> np.ndarray:
        """Per-cell state from the programmed resistance: True where r0 < r_split."""
        return positive_array("r0 (ohm)", r0) < self.r_split

    def resistance(self, r0, x, temperature=None, *, is_lrs=None, cell_size=None, v_stop=None) -> np.ndarray:
        """Resistance (ohm) per cell: the LRS law where ``is_lrs`` (default: r0 < r_split), else HRS."""
        r0 = positive_array("r0 (ohm)", r0)
        state = self.is_lrs(r0) if is_lrs is None else np.asarray(is_lrs, dtype=bool)
        kw = dict(cell_size=cell_size, v_stop=v_stop)
        r_lrs = self.lrs.resistance(r0, x, temperature, **kw)
        r_hrs = self.hrs.resistance(r0, x, temperature, **kw)
        return np.where(state, r_lrs, r_hrs)


# ----------------------------------------------------------------------------- drift

@dataclass(frozen=True)
class PowerLawDrift:
    """Conductance drift G(t) = G0 (t / t0)^-nu for t > t0, G0 before (PCM-style aging law).

    ``x`` is the time since programming in seconds; G0 = 1/r0 is the conductance read at t0.
    The law has no temperature dependence (nu is the value at the operating temperature); the
    ``temperature`` argument is checked and accepted so the law can stand wherever an
    ``AgingLaw`` is expected.
    """
    nu: float = 0.1   # drift exponent (dimensionless)
    t0: float = 1.0   # s, time of the reference read

    def __post_init__(self) -> None:
        _check_real("PowerLawDrift.nu", self.nu)
        if _check_real("PowerLawDrift.t0", self.t0) <= 0:
            raise ValueError(f"PowerLawDrift.t0 must be > 0 s; got {self.t0}")

    def conductance(self, g0, t) -> np.ndarray:
        """G (siemens) at time ``t`` (s, > 0) of cells read at G0 = ``g0`` (siemens) at t0."""
        g0 = positive_array("g0 (S)", g0)
        t = positive_array("t (s)", t)
        return g0 * np.maximum(t / self.t0, 1.0) ** (-self.nu)

    def resistance(self, r0, x, temperature=None) -> np.ndarray:
        """R = r0 (x / t0)^nu for x > t0 (ohm); see the class docstring for ``temperature``."""
        temperature_constant(temperature, 298.0)  # validation only
        return 1.0 / self.conductance(1.0 / positive_array("r0 (ohm)", r0), x)
