"""Probability distributions for device parameters, and the helpers that turn them into per-cell arrays.

A device parameter may be a scalar (every cell the same), an ``(n,)`` array (one value per cell) or
one of the distributions below, sampled once per cell (device-to-device spread) or once per switching
event (cycle-to-cycle spread). Every distribution may be truncated to ``[low, high]``; truncation is
done by exact inverse-CDF sampling (a uniform draw restricted to ``[F(low), F(high)]`` mapped through
the quantile function), so there is no rejection loop and the number of random draws is always ``n``.

Randomness is explicit: every sampler takes a ``numpy.random.Generator`` (see ``as_generator``); the
global ``np.random`` state is never used.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Mapping, Union

import numpy as np
from scipy import special

from cosim.validate import real_array, real_scalar, check_range

__all__ = [
    "Distribution", "Normal", "TruncatedNormal", "LogNormal", "Uniform", "Exponential",
    "ParamValue", "sample", "as_generator", "positive_support", "check_param_value", "check_params", "check_c2c",
]

RngLike = Union[None, int, np.integer, np.random.Generator]


def as_generator(rng: RngLike) -> np.random.Generator:
    """Return a Generator: ``None`` -> fresh entropy, an int -> seeded, a Generator -> itself."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer; got {rng}")
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


def _check_finite(name: str, value: float) -> None:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")


def _check_bounds(cls: str, low: float | None, high: float | None) -> None:
    for name, bound in (("low", low), ("high", high)):
        if bound is not None:
            _check_finite(f"{cls}.{name}", bound)
    if low is not None and high is not None and not low < high:
        raise ValueError(f"{cls}: low must be < high; got low={low}, high={high}")


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    return int(n)


class Distribution:
    """Base of the parameter distributions: ``sample(n, rng)`` returns ``n`` float64 draws."""

    def sample(self, n: int, rng: RngLike = None) -> np.ndarray:
        n = _check_count(n)
        return self._sample(n, as_generator(rng))

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal distribution N(mean, std^2), optionally truncated to [low, high] (None = unbounded)."""
    mean: float
    std: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        cls = type(self).__name__
        _check_finite(f"{cls}.mean", self.mean)
        _check_finite(f"{cls}.std", self.std)
        if self.std <= 0:
            raise ValueError(f"{cls}.std must be > 0; got {self.std}")
        _check_bounds(cls, self.low, self.high)

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.low is None and self.high is None:
            return rng.normal(self.mean, self.std, n)
        a = -np.inf if self.low is None else (self.low - self.mean) / self.std
        b = np.inf if self.high is None else (self.high - self.mean) / self.std
        return self.mean + self.std * _truncated_standard_normal(a, b, n, rng)


@dataclass(frozen=True)
class TruncatedNormal(Normal):
    """Normal distribution truncated to [low, high]; the same as ``Normal`` with bounds."""


def _truncated_standard_normal(a: float, b: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Standard normal restricted to [a, b] by inverse CDF, mirrored so the tail used is the left one."""
    flip = a > 0  # Phi loses precision near 1; sample the mirror image in the left tail instead
    if flip:
        a, b = -b, -a
    lo, hi = special.ndtr(a), special.ndtr(b)
    if not hi > lo:
        raise ValueError(f"Normal truncation [{a}, {b}] (standard units) has zero probability")
    z = special.ndtri(lo + (hi - lo) * rng.random(n))
    z = np.clip(z, a, b)  # guards the last ulp of the quantile function
    return -z if flip else z


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal: ln X ~ N(ln(scale), s^2) (scipy's ``lognorm(s, scale=scale)``), truncatable."""
    s: float
    scale: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _check_finite("LogNormal.s", self.s)
        _check_finite("LogNormal.scale", self.scale)
        if self.s <= 0:
            raise ValueError(f"LogNormal.s must be > 0; got {self.s}")
        if self.scale <= 0:
            raise ValueError(f"LogNormal.scale must be > 0; got {self.scale}")
        _check_bounds("LogNormal", self.low, self.high)
        if self.high is not None and self.high <= 0:
            raise ValueError(f"LogNormal.high must be > 0 (support is x > 0); got {self.high}")

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        mu = math.log(self.scale)
        if self.low is None and self.high is None:
            return np.exp(rng.normal(mu, self.s, n))
        a = -np.inf if self.low is None or self.low <= 0 else (math.log(self.low) - mu) / self.s
        b = np.inf if self.high is None else (math.log(self.high) - mu) / self.s
        x = np.exp(mu + self.s * _truncated_standard_normal(a, b, n, rng))
        return np.clip(x, self.low if self.low is not None else 0.0, self.high if self.high is not None else np.inf)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on [low, high]."""
    low: float
    high: float

    def __post_init__(self) -> None:
        _check_finite("Uniform.low", self.low)
        _check_finite("Uniform.high", self.high)
        _check_bounds("Uniform", self.low, self.high)

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Shifted exponential, pdf exp(-(x - loc)/scale)/scale for x >= loc, truncatable to [low, high]."""
    loc: float
    scale: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _check_finite("Exponential.loc", self.loc)
        _check_finite("Exponential.scale", self.scale)
        if self.scale <= 0:
            raise ValueError(f"Exponential.scale must be > 0; got {self.scale}")
        _check_bounds("Exponential", self.low, self.high)
        if self.high is not None and self.high <= self.loc:
            raise ValueError(f"Exponential.high must be > loc={self.loc} (support is x >= loc); got {self.high}")

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        # Memorylessness: X | X >= start is start + Exp(scale), so a lower bound only moves the origin.
        start = self.loc if self.low is None else max(self.low, self.loc)
        u = rng.random(n)
        if self.high is None:
            return start - self.scale * np.log1p(-u)
        # Inverse CDF of Exp(scale) truncated to [0, width]: -scale * ln(1 - u (1 - e^{-width/scale})).
        x = start - self.scale * np.log1p(u * np.expm1(-(self.high - start) / self.scale))
        return np.minimum(x, self.high)


ParamValue = Union[float, np.ndarray, Distribution]


def check_param_value(name: str, value) -> None:
    """A per-cell parameter value: a finite real number, a 1-D array of them, or a ``Distribution``.

    Raises TypeError (a string, a boolean, a complex number, another type) or ValueError (NaN, inf, an
    array that is not 1-D) naming ``name``. The array's length is checked when it is sampled for n cells.
    """
    if isinstance(value, Distribution):
        return
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, (bool, np.bool_)) \
            and not isinstance(value, (complex, np.complexfloating)):
        real_scalar(name, value)
        return
    arr = real_array(name, value)          # rejects strings, booleans, complex, NaN, inf
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a number, a 1-D array (one value per cell) or a Distribution; "
                         f"got an array of shape {arr.shape}")


def check_params(params, choices: Mapping[str, tuple[str, ...]] | None = None) -> None:
    """Validate a model's parameter dataclass when it is built (its ``__post_init__`` calls this).

    ``dt`` (if the class has it) must be a finite real number > 0 s; a field named in ``choices`` must be
    one of its options; every other field is a per-cell value (``check_param_value``). Rules between
    values (r_off > r_on, threshold signs) are checked per cell when a ``DeviceArray`` samples them.
    """
    cls = type(params).__name__
    choices = choices or {}
    for f in fields(params):
        value = getattr(params, f.name)
        if f.name == "dt":
            check_range(f"{cls}.dt", real_scalar(f"{cls}.dt", value, unit="s"), low=0.0, low_inclusive=False,
                        unit="s")
        elif f.name in choices:
            if not isinstance(value, str) or value not in choices[f.name]:
                raise ValueError(f"{cls}.{f.name} must be one of {list(choices[f.name])}; got {value!r}")
        else:
            check_param_value(f"{cls}.{f.name}", value)


def positive_support(dist: Distribution) -> bool:
    """True when every draw of ``dist`` is > 0 (a LogNormal, a positive lower bound, or loc > 0)."""
    low = getattr(dist, "low", None)
    if low is not None and low > 0:
        return True
    if isinstance(dist, LogNormal):
        return True
    return isinstance(dist, Exponential) and dist.loc > 0


def sample(value: ParamValue, n: int, rng: RngLike = None, name: str = "value") -> np.ndarray:
    """Turn a parameter value into an ``(n,)`` float64 array, one entry per cell.

    A scalar fills the array; an ``(n,)`` array is copied (shape and finiteness checked); a
    ``Distribution`` is sampled ``n`` times from ``rng``. ``name`` labels errors.
    """
    n = _check_count(n)
    if isinstance(value, Distribution):
        return value.sample(n, rng)
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, array or Distribution; got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        _check_finite(name, value)
        return np.full(n, float(value))
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, array or Distribution; got {type(value).__name__}") from None
    if arr.ndim == 0:
        _check_finite(name, float(arr))
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; found {int(np.sum(~np.isfinite(arr)))} non-finite entries")
    return arr


def check_c2c(c2c, per_cell: Mapping[str, np.ndarray], model: str) -> dict[str, Distribution]:
    """Validate a cycle-to-cycle spec: parameter name (one of ``per_cell``) -> Distribution of a positive factor.

    Args:
        c2c: the mapping (or None = no cycle-to-cycle variation).
        per_cell: the model's per-cell parameter arrays, by name.
        model: the model's class name, used in messages.
    Returns a new dict; raises TypeError / ValueError naming the entry otherwise.
    """
    if c2c is not None and not isinstance(c2c, Mapping):
        raise TypeError(f"c2c must be a mapping of parameter name -> Distribution of a factor, or None; "
                        f"got {type(c2c).__name__} {c2c!r}")
    c2c = dict(c2c or {})
    for name, dist in c2c.items():
        if name not in per_cell:
            raise ValueError(f"c2c: unknown per-cell {model} parameter {name!r}; "
                             f"known: {', '.join(per_cell)}")
        if not isinstance(dist, Distribution):
            raise ValueError(f"c2c[{name!r}] must be a Distribution of a factor; got {type(dist).__name__}")
        if not positive_support(dist):
            raise ValueError(f"c2c[{name!r}] must be a distribution of positive factors (a LogNormal, or a "
                             f"lower bound low > 0) so the factor keeps the parameter's sign; got {dist!r}")
    return c2c
