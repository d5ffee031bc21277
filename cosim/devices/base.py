"""``DeviceArray``: the common frame of every ODE device model, vectorised over ``n`` cells.

A model subclass supplies the physics as pure numpy functions of (voltage, state, per-cell parameter
arrays); this class supplies everything else once: per-cell parameters sampled from scalars, arrays or
distributions (device-to-device), cycle-to-cycle resampling at switching events, non-idealities,
input validation (before any state change), fixed-step and adaptive integration, and the public
readouts. The per-cell-subset methods (``state_of``, ``step_of``, ...) live in :mod:`cosim.devices.subset`. One state variable per model, held as one ``(n,)`` float64 array.

Switching events (for cycle-to-cycle variation): each model reports the drive polarity of every cell
(+1 or -1 while its state is being pushed, 0 below threshold); a cell whose polarity becomes non-zero
and differs from its last non-zero polarity starts a new switching cycle, and its ``c2c`` parameters
are redrawn as ``d2d_value * factor``, ``factor ~ c2c[name]``.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, ClassVar, Mapping

import numpy as np

from cosim.validate import broadcast_real, check_memory, check_range, real_array, real_scalar

from . import compiled
from .nonideal import Faults, Nonidealities, choose_faults, snap_to_levels
from .subset import CellSubsetMethods
from .variability import Distribution, RngLike, as_generator, check_c2c, sample

__all__ = ["DeviceArray"]

Cells = dict[str, np.ndarray]


class DeviceArray(CellSubsetMethods):
    """``n`` memristive cells of one model; see the module docstring. Subclasses set the ClassVars."""

    Params: ClassVar[type]                       # frozen dataclass of the model's parameters
    PRESETS: ClassVar[Mapping[str, Any]]         # name -> Params instance
    DEFAULT_PRESET: ClassVar[str]
    STATE_NAME: ClassVar[str]                    # e.g. "w"
    STATE_UNIT: ClassVar[str]                    # e.g. "m"
    SHARED_FIELDS: ClassVar[tuple[str, ...]] = ("dt",)   # Params fields that are not per cell
    KERNEL: ClassVar[str | None] = None          # model name in the compiled kernels, None = numpy only
    V_READ_FIELD: ClassVar[str] = "v_read"
    AMBIENT_FIELD: ClassVar[str | None] = None   # per-cell parameter holding the ambient temperature (K)
    TCR_FIELD: ClassVar[str | None] = None       # per-cell temperature coefficient of resistance (1/K), if any
    TCR_REFERENCE_K: ClassVar[float] = 300.0     # K, the temperature the state's conductance refers to
    QUIET_BAND_DEPENDS_ON_STATE: ClassVar[bool] = True   # False: _quiet_band ignores the state (cacheable)

    def __init__(self, params=None, n: int = 1, rng: RngLike = None, *,
                 c2c: Mapping[str, Distribution] | None = None, nonideal: Nonidealities | None = None):
        """Sample per-cell parameters from ``params`` (default preset if None) for ``n`` cells.

        rng: seed or Generator for every random draw of this array (parameters, faults, c2c, noise).
        c2c: parameter name -> distribution of a positive multiplicative factor redrawn per cycle.
        nonideal: finite states, faults and read noise (see ``nonideal.Nonidealities``).
        """
        if params is None:
            params = self.PRESETS[self.DEFAULT_PRESET]
        if not isinstance(params, self.Params):
            raise ValueError(f"params must be a {self.Params.__name__}; got {type(params).__name__}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (number of cells) must be a positive integer; got {n!r}")
        nonideal = Nonidealities() if nonideal is None else nonideal
        if not isinstance(nonideal, Nonidealities):
            raise ValueError(f"nonideal must be a Nonidealities; got {type(nonideal).__name__}")
        # per-cell parameters (drawn and in effect), state, kernel table, faults: float64 arrays of n
        check_memory(f"{type(self).__name__} of n={n} cells", 8.0 * n * (3 * len(fields(params)) + 8))
        self.params = params
        self.n = int(n)
        self.nonideal = nonideal
        self._rng = as_generator(rng)
        self._base: Cells = {
            f.name: sample(getattr(params, f.name), self.n, self._rng, name=f"{self.Params.__name__}.{f.name}")
            for f in fields(params) if f.name not in self.SHARED_FIELDS
        }
        self._check_cells(self._base)
        self.c2c = check_c2c(c2c, self._base, type(self).__name__)
        self._cell: Cells = {k: v.copy() for k, v in self._base.items()}
        self._faults: Faults = choose_faults(nonideal, self.n, self._rng)
        self._frozen = self._faults.frozen
        self._last_polarity = np.zeros(self.n, dtype=np.int8)
        self._param_version = 0          # bumped whenever per-cell parameters change (c2c redraw)
        self._state = self._state_on(self._cell).copy()
        self._pin_faulty()

    # ----------------------------------------------------------------- construction helpers
    @classmethod
    def preset(cls, name: str | None = None, n: int = 1, rng: RngLike = None, *,
               c2c: Mapping[str, Distribution] | None = None, nonideal: Nonidealities | None = None,
               **overrides) -> "DeviceArray":
        """Build ``n`` cells from the named parameter set; ``overrides`` replace single fields."""
        name = cls.DEFAULT_PRESET if name is None else name
        if name not in cls.PRESETS:
            raise ValueError(f"unknown {cls.__name__} preset {name!r}; known: {', '.join(cls.PRESETS)}")
        known = [f.name for f in fields(cls.Params)]
        unknown = [k for k in overrides if k not in known]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} parameter(s) {unknown}; known: {', '.join(known)}")
        return cls(replace(cls.PRESETS[name], **overrides), n, rng, c2c=c2c, nonideal=nonideal)

    @staticmethod
    def _require(model: str, name: str, values: np.ndarray, ok: np.ndarray, rule: str) -> None:
        """Raise ValueError naming the parameter and the first offending cell unless ``ok`` everywhere."""
        if not np.all(ok):
            bad = np.flatnonzero(~ok)
            raise ValueError(f"{model} parameter {name} must be {rule}; {bad.size} of {ok.size} cells are not "
                             f"(first: cell {bad[0]} = {values[bad[0]]!r})")

    # ----------------------------------------------------------------- state access
    @property
    def state(self) -> np.ndarray:
        """A copy of the state variable ``STATE_NAME`` (unit ``STATE_UNIT``), shape (n,)."""
        return self._state.copy()

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(state at the low-resistance bound, state at the high-resistance bound), each (n,)."""
        return self._state_on(self._cell).copy(), self._state_off(self._cell).copy()

    def set_state(self, values) -> None:
        """Set the state (scalar or (n,)); must lie within the bounds. Faulty cells keep their state."""
        s = self._as_cells(values, self.STATE_NAME)
        lo, hi = self._state_range(self._cell)
        tol = 1e-12 * (hi - lo)
        self._require(type(self).__name__, f"state {self.STATE_NAME}", s, (s >= lo - tol) & (s <= hi + tol),
                      f"within the cell's bounds [{lo.min():g}, {hi.max():g}] {self.STATE_UNIT}")
        self._state = np.clip(s, lo, hi)
        self._pin_faulty()

    def set_conductance(self, g) -> None:
        """Set the state so that the (noise-free, unquantised) read conductance equals ``g`` (S)."""
        g = self._as_cells(g, "g")
        g_off, g_on = self.conductance_bounds()
        lo, hi = np.minimum(g_off, g_on), np.maximum(g_off, g_on)
        tol = 1e-9 * hi
        self._require(type(self).__name__, "g", g, (g >= lo - tol) & (g <= hi + tol),
                      "within the cell's conductance bounds (see conductance_bounds())")
        lo_s, hi_s = self._state_range(self._cell)
        self._state = np.clip(self._state_from_conductance(np.clip(g, lo, hi), self._cell), lo_s, hi_s)
        self._pin_faulty()

    def set_ambient(self, kelvin: float) -> None:
        """Set the ambient temperature (K, finite and > 0) of every cell.

        Models whose physics depends on temperature name the parameter that holds it
        (``AMBIENT_FIELD``, e.g. Stanford-PKU's ``t0``); for the others temperature is not a variable
        of the model and this only checks its argument.
        """
        kelvin = real_scalar("ambient temperature", kelvin, unit="K")
        check_range("ambient temperature", kelvin, low=0.0, low_inclusive=False, unit="K")
        name = self.AMBIENT_FIELD
        if name is None or np.all(self._cell[name] == kelvin):
            return
        self._base[name] = np.full(self.n, float(kelvin))
        self._cell[name] = self._base[name].copy()
        self._param_version += 1

    def tcr_scale(self, kelvin: float) -> np.ndarray:
        """(n,) factors G(T) / G(T_ref) of a read at ``kelvin`` K: ``1 / (1 + tcr (T - T_ref))``.

        The state always holds the T_ref = ``TCR_REFERENCE_K`` conductance; reads multiply the stamped
        conductances by these factors (the engine does it where it stamps a read). Ones for models without a
        TCR parameter (``TCR_FIELD``) or with tcr = 0. A factor that would be <= 0 (R(T) <= 0) is an error.
        """
        kelvin = real_scalar("kelvin (read temperature)", kelvin, unit="K")
        check_range("kelvin (read temperature)", kelvin, low=0.0, low_inclusive=False, unit="K")
        if self.TCR_FIELD is None:
            return np.ones(self.n)
        denom = 1.0 + self._cell[self.TCR_FIELD] * (kelvin - self.TCR_REFERENCE_K)
        self._require(type(self).__name__, f"1 + {self.TCR_FIELD} * (T - {self.TCR_REFERENCE_K:g} K) at "
                      f"T = {kelvin:g} K", denom, denom > 0, "> 0 (a positive resistance)")
        return 1.0 / denom

    def sinh_law(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The cells' I-V as I = (G / b) sinh(b V): per-cell (G in S, b in 1/V) at the present state, for a
        circuit solver's Newton iteration; None for models whose current is linear in V (then G = I / V)."""
        return None

    @property
    def ambient(self) -> float | None:
        """Ambient temperature (K) of the cells (their mean), None for models without one."""
        return None if self.AMBIENT_FIELD is None else float(np.mean(self._cell[self.AMBIENT_FIELD]))

    @property
    def cell_params(self) -> Cells:
        """Copies of the per-cell parameter arrays now in effect (after any c2c redraw)."""
        return {k: v.copy() for k, v in self._cell.items()}

    @property
    def faults(self) -> Faults:
        return self._faults

    # ----------------------------------------------------------------- readouts (no state change)
    def current(self, v) -> np.ndarray:
        """Current (A) of every cell at voltage ``v`` (V; scalar or (n,)); the state does not change."""
        v = self._as_cells(v, "v")
        return self._observed_current(v, self._state, self._ideal_current(v, self._state, self._cell))

    def conductance(self, noisy: bool = True) -> np.ndarray:
        """Read conductance I(v_read)/v_read (S), (n,); with read noise unless ``noisy=False``."""
        v_read = self._cell[self.V_READ_FIELD]
        g = self.current(v_read) / v_read
        if noisy and self.nonideal.read_noise > 0:
            g = g * (1.0 + self.nonideal.read_noise * self._rng.standard_normal(self.n))
        return g

    def resistance(self, noisy: bool = True) -> np.ndarray:
        """Read resistance 1 / conductance() (ohm), (n,)."""
        return 1.0 / self.conductance(noisy)

    def rate(self, v_cells) -> np.ndarray:
        """d(state)/dt of every cell (``STATE_UNIT`` per s) at voltages ``v_cells`` (V); no state change.

        Faulty (stuck, unformed) cells do not move: their rate is 0. The event engine sizes its
        sub-steps with this.
        """
        v = self._as_cells(v_cells, "v_cells")
        i = self._ideal_current(v, self._state, self._cell)
        return np.where(self._frozen, 0.0, self._rate(v, self._state, self._cell, i))

    def quiet_band(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-cell voltages (lo, hi), V, each (n,), with ``rate(v) == 0`` exactly for ``lo <= v <= hi`` at the
        present state (frozen cells: the whole line), or None where the model does not say (it may move at
        any voltage). The event engine uses it to know which cells cannot move without evaluating them."""
        cached = self.__dict__.get("_band_cache")
        if cached is not None and cached[0] == self._param_version:
            return cached[1]
        band = self._quiet_band(self._state, self._cell)
        if band is None:
            return None
        lo, hi = (np.array(np.broadcast_to(b, (self.n,)), dtype=np.float64) for b in band)
        if self._frozen.any():
            lo[self._frozen], hi[self._frozen] = -np.inf, np.inf
        lo.flags.writeable = hi.flags.writeable = False
        if not self.QUIET_BAND_DEPENDS_ON_STATE:       # kept until the per-cell parameters change
            self.__dict__["_band_cache"] = (self._param_version, (lo, hi))
        return lo, hi

    @property
    def deterministic(self) -> bool:
        """True when a step draws no random numbers (no cycle-to-cycle redraws, no state noise): stepping
        some cells is then exactly stepping all with the others held (see :meth:`cell_group`)."""
        return not self.c2c and not self._has_noise()

    def cell_group(self, cells) -> "CellGroup":
        """A :class:`~cosim.devices.cell_group.CellGroup` of ``cells`` (indices): their rate, step, state and
        conductance without per-call validation, for a deterministic model (ValueError otherwise)."""
        from .cell_group import CellGroup

        cells = self._subset(cells)
        key = (cells.tobytes(), self._param_version)
        cache = self.__dict__.setdefault("_group_cache", {})
        group = cache.get(key)
        if group is None:
            if len(cache) >= 16:                     # a few groups recur (a cell pulsed again and again)
                cache.pop(next(iter(cache)))
            group = cache[key] = CellGroup(self, cells)
        return group

    def conductance_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(G at the high-resistance bound, G at the low-resistance bound), each (n,) S, fault-free."""
        return (self._ideal_conductance(self._state_off(self._cell), self._cell),
                self._ideal_conductance(self._state_on(self._cell), self._cell))

    # ----------------------------------------------------------------- time stepping
    def step(self, v_cells, dt: float) -> np.ndarray:
        """One fixed step of ``dt`` s under per-cell voltages ``v_cells`` (V, (n,) or scalar).

        Returns the current (A) at the start of the step and advances the state.
        """
        v = self._as_cells(v_cells, "v_cells")
        dt = self._check_dt(dt)
        if self._kernel_ready():
            out = np.empty((1, self.n))
            self._run_kernel(v[None, :], dt, out)
            return out[0]
        return self._step_numpy(v, dt)

    def simulate(self, v, dt: float | None = None, method: str = "fixed", rtol: float = 1e-4,
                 engine: str = "auto") -> np.ndarray:
        """Drive the cells with the waveform ``v`` and return the currents (steps, n) in A.

        v: (steps,) applied to every cell, or (steps, n); sample k is at time k*dt.
        dt: sample spacing (s); None = the parameter set's recommended ``dt``.
        method: "fixed" holds v[k] over [k dt, (k+1) dt] and takes one step per sample (Euler, or
            the model's exact step); "adaptive" treats v as piecewise linear between samples and
            integrates each interval with error-controlled sub-steps (Heun-Euler, tolerance
            ``rtol`` x state range) that end exactly on every threshold crossing.
        engine: "auto" uses the compiled kernel when the model has one, "numpy" the reference.
        Current k is taken at the start of interval k. The state advances over all samples.
        """
        volts, dt = self._check_waveform(v, dt)
        if method not in ("fixed", "adaptive"):
            raise ValueError(f"method must be 'fixed' or 'adaptive'; got {method!r}")
        if engine not in ("auto", "numpy"):
            raise ValueError(f"engine must be 'auto' or 'numpy'; got {engine!r}")
        rtol = real_scalar("rtol", rtol)
        if not 0 < rtol < 1:
            raise ValueError(f"rtol must be in (0, 1); got {rtol!r}")
        if method == "adaptive":
            from .adaptive import simulate_adaptive
            return simulate_adaptive(self, volts, dt, rtol)
        out = np.empty((volts.shape[0], self.n))
        if engine == "auto" and self._kernel_ready():
            self._run_kernel(volts, dt, out)
            return out
        rows = np.broadcast_to(volts, (volts.shape[0], self.n))
        for k in range(volts.shape[0]):
            out[k] = self._step_numpy(rows[k], dt)
        return out

    def advance(self, v, dt: float | None = None) -> None:
        """Like ``simulate(v, dt)`` with the fixed method, but records no currents (long runs)."""
        volts, dt = self._check_waveform(v, dt)
        if self._kernel_ready():
            self._run_kernel(volts, dt, None)
            return
        rows = np.broadcast_to(volts, (volts.shape[0], self.n))
        for k in range(volts.shape[0]):
            self._step_numpy(rows[k], dt)

    def _step_numpy(self, v: np.ndarray, dt: float) -> np.ndarray:
        """Reference step (validated inputs): c2c events, observed current, state update."""
        if self.c2c:
            self._switching_events(v)
        s = self._state
        i_phys = self._ideal_current(v, s, self._cell)
        i_obs = self._observed_current(v, s, i_phys)
        s_new = self._advance(v, s, self._cell, dt, i_phys)
        self._state = np.where(self._frozen, s, s_new)
        return i_obs

    # ----------------------------------------------------------------- c2c, faults, observation
    def _switching_events(self, v: np.ndarray, subset: np.ndarray | None = None) -> None:
        """Redraw the c2c parameters of the cells (of ``subset``) that start a new switching cycle."""
        idx = np.arange(self.n) if subset is None else subset
        cell = {k: a[idx] for k, a in self._cell.items()}
        pol = self._polarity(v, self._state[idx], cell)
        last = self._last_polarity[idx]
        event = (pol != 0) & (pol != last)
        self._last_polarity[idx] = np.where(pol != 0, pol, last)
        if event.any():
            self._redraw_c2c(idx[event])

    def _redraw_c2c(self, cells: np.ndarray) -> None:
        for name, dist in self.c2c.items():
            self._cell[name][cells] = self._base[name][cells] * dist.sample(cells.size, self._rng)
        self._param_version += 1
        lo, hi = self._state_range(self._cell)
        self._state = np.clip(self._state, lo, hi)
        self._pin_faulty()

    def _pin_faulty(self) -> None:
        f = self._faults
        if f.stuck_on.any() or f.stuck_off.any():
            self._state = np.where(f.stuck_on, self._state_on(self._cell), self._state)
            self._state = np.where(f.stuck_off, self._state_off(self._cell), self._state)

    def _unformed_conductance(self) -> np.ndarray:
        r = self.nonideal.r_unformed
        if r is None:
            return self._ideal_conductance(self._state_off(self._cell), self._cell)
        return np.full(self.n, 1.0 / r)

    def _observed_current(self, v: np.ndarray, s: np.ndarray, i_phys: np.ndarray) -> np.ndarray:
        """Physics current -> what is measured: finite-level scaling, unformed cells."""
        i = i_phys
        spec = self.nonideal
        if spec.levels is not None:
            g = self._ideal_conductance(s, self._cell)
            g_off, g_on = self.conductance_bounds()
            i = i * (snap_to_levels(g, g_off, g_on, spec.levels, spec.level_spacing) / g)
        if self._faults.unformed.any():
            i = np.where(self._faults.unformed, v * self._unformed_conductance(), i)
        return i

    def _ideal_conductance(self, s: np.ndarray, cell: Cells) -> np.ndarray:
        v_read = cell[self.V_READ_FIELD]
        return self._ideal_current(v_read, s, cell) / v_read

    def _state_range(self, cell: Cells) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._state_on(cell), self._state_off(cell)
        return np.minimum(a, b), np.maximum(a, b)

    # ----------------------------------------------------------------- validation
    def _as_cells(self, values, name: str) -> np.ndarray:
        return broadcast_real(name, values, (self.n,))

    def _check_dt(self, dt) -> float:
        if dt is None:
            return float(self.params.dt)
        if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) \
                or not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a finite number > 0 s; got {dt!r}")
        return float(dt)

    def _check_waveform(self, v, dt) -> tuple[np.ndarray, float]:
        volts = real_array("v", v, finite=False, unit="V")
        if volts.ndim == 1:
            volts = volts[:, None]
        elif volts.ndim != 2 or volts.shape[1] != self.n:
            raise ValueError(f"v must have shape (steps,) or (steps, {self.n}); got {np.shape(v)}")
        if volts.shape[0] == 0:
            raise ValueError("v must have at least one sample; got 0")
        if not np.all(np.isfinite(volts)):
            raise ValueError(f"v must be finite; found {int(np.sum(~np.isfinite(volts)))} non-finite samples")
        check_memory(f"the currents of {volts.shape[0]} steps x {self.n} cells", 8.0 * volts.shape[0] * self.n)
        return np.ascontiguousarray(volts), self._check_dt(dt)

    # ----------------------------------------------------------------- model hooks
    def _check_cells(self, cell: Cells) -> None:
        raise NotImplementedError

    def _state_on(self, cell: Cells) -> np.ndarray:
        raise NotImplementedError

    def _state_off(self, cell: Cells) -> np.ndarray:
        raise NotImplementedError

    def _ideal_current(self, v: np.ndarray, s: np.ndarray, cell: Cells) -> np.ndarray:
        raise NotImplementedError

    def _rate(self, v: np.ndarray, s: np.ndarray, cell: Cells, i: np.ndarray) -> np.ndarray:
        """d(state)/dt at voltage v (V) and state s, given the physics current i (A)."""
        raise NotImplementedError

    def _advance(self, v, s, cell: Cells, dt: float, i: np.ndarray) -> np.ndarray:
        """One fixed step; default forward Euler, clipped to the state bounds."""
        lo, hi = self._state_range(cell)
        return np.clip(s + dt * self._rate(v, s, cell, i), lo, hi)

    def _polarity(self, v: np.ndarray, s: np.ndarray, cell: Cells) -> np.ndarray:
        """+1/-1 where the state is being driven, 0 where it is not (int8, like v)."""
        raise NotImplementedError

    def _thresholds(self, s: np.ndarray, cell: Cells) -> tuple[np.ndarray, ...]:
        """Voltages (per cell) where the rate law changes branch; adaptive steps end on them."""
        raise NotImplementedError

    def _state_from_conductance(self, g: np.ndarray, cell: Cells) -> np.ndarray:
        raise NotImplementedError

    def _quiet_band(self, s: np.ndarray, cell: Cells) -> tuple[np.ndarray, np.ndarray] | None:
        """(lo, hi) voltages between which the rate is exactly 0 at state s; None: not known (the default)."""
        return None

    def _rate_needs_current(self) -> bool:
        """False when ``_rate`` ignores its current argument (a cell group then skips computing it)."""
        return True

    def _has_noise(self) -> bool:
        """True when the state update draws random numbers (then only numpy runs it)."""
        return False

    def _kernel_options(self) -> dict:
        """Model options passed to the compiled kernel (e.g. window, R(w) law)."""
        return {}

    def _kernel_ready(self) -> bool:
        return compiled.available(self.KERNEL) and not self._has_noise()

    def _run_kernel(self, volts: np.ndarray, dt: float, out: np.ndarray | None) -> None:
        compiled.run(self, volts, dt, out)
