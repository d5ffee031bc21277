"""Argument validation shared by every layer: numbers, arrays, indices, memory requests, text files.

Each helper checks one public argument and raises a ValueError / TypeError that names the argument,
says what was wrong and what is expected, before the caller changes any state. This module imports
nothing from cosim, so every layer (netlist, devices, solve, sim, nn) can use it.

Memory: :func:`check_memory` refuses requests above :func:`memory_limit_bytes` (default 8 GiB; set
the environment variable ``COSIM_MEMORY_LIMIT_BYTES`` or call :func:`set_memory_limit_bytes` to change it).
"""
from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

#: default ceiling for one allocation request, bytes (override: COSIM_MEMORY_LIMIT_BYTES or set_memory_limit_bytes)
DEFAULT_MEMORY_LIMIT_BYTES = 8 * 2 ** 30
_memory_limit_override: int | None = None


def real_array(name: str, value, shape: tuple[int, ...] | None = None, *, finite: bool = True,
               unit: str = "") -> np.ndarray:
    """``value`` as a new float64 array; rejects strings, booleans, complex numbers, NaN (and inf if ``finite``).

    Args:
        name: the argument's name, used in messages.
        shape: required shape (None = any). A scalar is *not* broadcast; use :func:`broadcast_real`.
        finite: reject +-inf as well as NaN.
        unit: unit named in messages (e.g. "ohm").
    """
    arr = _as_real(name, value)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got shape {arr.shape}")
    _check_finite(name, arr, finite, unit)
    return arr


def cell_map(name: str, value, shape: tuple[int, ...], *, unit: str = "") -> tuple[np.ndarray, np.ndarray]:
    """A per-cell array of ``shape`` where NaN means "leave this cell alone".

    Returns the new float64 array and the boolean mask of the cells given a value; rejects strings,
    booleans, complex numbers, a wrong shape, and +-inf among the given cells.
    """
    arr = _as_real(name, value)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got shape {arr.shape}")
    given = ~np.isnan(arr)
    _check_finite(f"{name} (the cells given one)", arr[given], True, unit)
    return arr, given


def broadcast_real(name: str, value, shape: tuple[int, ...], *, finite: bool = True, unit: str = "") -> np.ndarray:
    """A scalar or an array of exactly ``shape`` (nothing in between) as a new float64 array of ``shape``."""
    arr = _as_real(name, value)
    if arr.ndim != 0 and arr.shape != tuple(shape):
        raise ValueError(f"{name} must be a scalar or have shape {tuple(shape)}; got shape {arr.shape}")
    _check_finite(name, arr, finite, unit)
    if arr.ndim != 0:
        return arr                          # already a new float64 array of ``shape`` (see _as_real)
    return np.full(shape, arr[()])


def real_scalar(name: str, value, *, finite: bool = True, unit: str = "") -> float:
    """``value`` as a Python float; rejects arrays, strings, booleans, complex numbers, NaN (inf if ``finite``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number{_in(unit)}; got {type(value).__name__} {value!r}")
    arr = _as_real(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar{_in(unit)}; got shape {arr.shape}")
    _check_finite(name, arr, finite, unit)
    return float(arr)


def check_range(name: str, arr, *, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, unit: str = "") -> None:
    """Raise ValueError unless every entry of ``arr`` lies in the given bounds (NaN already excluded)."""
    a = np.asarray(arr)
    if low is not None:
        bad = a < low if low_inclusive else a <= low
        if np.any(bad):
            op = ">=" if low_inclusive else ">"
            raise ValueError(f"{name} must be {op} {low:g}{_in(unit)}; got {np.min(a):.6g}")
    if high is not None and np.any(a > high):
        raise ValueError(f"{name} must be <= {high:g}{_in(unit)}; got {np.max(a):.6g}")


def index(name: str, value, size: int) -> int:
    """``value`` as an index in ``[0, size)``: a real integer (not bool, not float), checked before use."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer index in [0, {size}); got {type(value).__name__} {value!r}")
    i = int(value)
    if not 0 <= i < size:
        raise ValueError(f"{name} must be in [0, {size}); got {i}")
    return i


def index_array(name: str, value, size: int) -> np.ndarray:
    """Integer indices in ``[0, size)`` (a scalar or 1-D sequence; not bool, not float) as an int64 array."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.ndim > 1:          # kinds: signed / unsigned integers (not bool)
        raise TypeError(f"{name} must be integer indices in [0, {size}) (a scalar or 1-D); "
                        f"got {arr.dtype} of shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{name} must be in [0, {size}); got {arr.tolist()}")
    return np.atleast_1d(arr).astype(np.int64)


def bool_mask(name: str, value, size: int) -> np.ndarray:
    """A boolean mask of shape ``(size,)`` (a copy); anything else raises naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype != bool or arr.shape != (size,):
        raise ValueError(f"{name} must be a boolean mask of shape ({size},); got {arr.dtype} of shape {arr.shape}")
    return arr.copy()


def optional_bool_mask(name: str, value, size: int) -> np.ndarray | None:
    """None stays None; anything else must be a boolean mask of shape ``(size,)`` (see :func:`bool_mask`)."""
    return None if value is None else bool_mask(name, value, size)


def vectors(name: str, value, size: int, *, unit: str = "") -> np.ndarray:
    """One vector ``(size,)`` or a batch ``(batch, size)`` of finite reals, as a new float64 array."""
    arr = real_array(name, value, unit=unit)
    if arr.ndim not in (1, 2) or arr.shape[-1] != size:
        raise ValueError(f"{name} must have shape ({size},) or (batch, {size}); got {arr.shape}")
    return arr


def positive_bounded(name: str, value, shape: tuple[int, ...], high: float, *, scalar_ok: bool = False,
                     unit: str = "", low_hint: str = "", high_hint: str = "") -> np.ndarray:
    """Finite reals in ``(0, high]`` of ``shape`` (or a scalar broadcast to it when ``scalar_ok``); a new array.

    ``low_hint`` / ``high_hint`` are appended in parentheses to the messages (e.g. what to use instead).
    """
    arr = broadcast_real(name, value, shape, unit=unit) if scalar_ok else real_array(name, value, shape, unit=unit)
    units = f" {unit}" if unit else ""
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0{units}{_paren(low_hint)}; got {arr.min():.3g}")
    if np.any(arr > high):
        raise ValueError(f"{name} must be <= {high:g}{units}{_paren(high_hint)}; got {arr.max():.3g}")
    return arr


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (real integers only: not bool, not float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {type(value).__name__} {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {int(value)}")
    return int(value)


def finite_result(name: str, arr, cause: str = "") -> np.ndarray:
    """Raise OverflowError when a computed ``arr`` holds inf or NaN (the inputs were finite: it overflowed)."""
    a = np.asarray(arr)
    if not np.all(np.isfinite(a)):
        extra = f" ({cause})" if cause else ""
        raise OverflowError(f"{name} overflowed float64{extra}; scale the inputs (volts, siemens) into a finite range")
    return a


def memory_limit_bytes() -> int:
    """The present ceiling for one allocation request, bytes."""
    if _memory_limit_override is not None:
        return _memory_limit_override
    env = os.environ.get("COSIM_MEMORY_LIMIT_BYTES")
    if env is None:
        return DEFAULT_MEMORY_LIMIT_BYTES
    try:
        return int(float(env))
    except ValueError:
        raise ValueError(f"COSIM_MEMORY_LIMIT_BYTES must be a number of bytes; got {env!r}") from None


def set_memory_limit_bytes(limit: int | None) -> None:
    """Change the allocation ceiling for this process (None: back to the environment / default)."""
    global _memory_limit_override
    _memory_limit_override = None if limit is None else positive_int("limit", limit)


def check_memory(what: str, n_bytes: float) -> None:
    """Refuse (MemoryError) a request needing ``n_bytes`` above :func:`memory_limit_bytes`, before allocating."""
    limit = memory_limit_bytes()
    if n_bytes > limit:
        raise MemoryError(f"{what} needs about {_human(n_bytes)}, over the limit of {_human(limit)}; "
                          "raise it with COSIM_MEMORY_LIMIT_BYTES or cosim.validate.set_memory_limit_bytes "
                          "if the machine has the memory")


def read_text(path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a decoding error names the file and the byte offset."""
    p = Path(path)
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {str(p)!r} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") \
            from None


# ---- internals -----------------------------------------------------------------------------------
def _as_real(name: str, value) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be real numbers; got a string {value!r}")
    try:
        arr = np.array(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a real number or a rectangular array of them; got {_brief(value)} ({exc})") \
            from None
    kind = arr.dtype.kind                   # b bool, c complex, i/u integers, f floats
    if kind == "b":
        raise TypeError(f"{name} must be real numbers, not booleans; got {_brief(value)}")
    if kind == "c":
        raise TypeError(f"{name} must be real; got complex values {_brief(value)}")
    if kind not in "iuf":
        raise TypeError(f"{name} must be real numbers; got {arr.dtype} {_brief(value)}")
    try:
        return arr.astype(np.float64, copy=False)    # np.array above made a new array already
    except OverflowError:
        raise ValueError(f"{name} does not fit in float64; got {_brief(value)}") from None


def _check_finite(name: str, arr: np.ndarray, finite: bool, unit: str) -> None:
    if np.isfinite(arr).all():              # the common case: one pass, then the precise message below
        return
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not be NaN{_in(unit)}")
    if finite and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite{_in(unit)}; got inf")


def _paren(text: str) -> str:
    return f" ({text})" if text else ""


def _in(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _human(n_bytes: float) -> str:
    for unit, size in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{n_bytes:.0f} B"
