"""Window functions f(x) that confine a normalised state x in [0, 1] to its interval (MODELS.md §1.3).

The state moves as ``dx/dt = (drive) * f(x)``; a window goes to zero at the ends so the state stops
there. All three forms are the corrected ones (two public implementations get Joglekar and
Prodromakis wrong; see MODELS.md). Even powers are written as ``|.|**(2p)`` so that a non-integer ``p``
stays real. Arguments broadcast: ``x`` may be an array over cells and ``p``/``j`` scalars or arrays.

``biolek`` takes the device current ``i`` (amps; only its sign matters): with ``stp`` the unit step
(``stp(z) = 1`` for ``z >= 0``), ``f = 1 - (x - stp(-i))^(2p)``, so a cell at ``x = 1`` may still move
down (``i < 0``) and a cell at ``x = 0`` may still move up (``i > 0``): no terminal-state lock-up.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from cosim.validate import check_range, real_array

__all__ = ["joglekar", "biolek", "prodromakis", "WindowName", "WINDOW_NAMES", "apply_window"]

WindowName = Literal["none", "joglekar", "biolek", "prodromakis"]
WINDOW_NAMES: tuple[str, ...] = ("none", "joglekar", "biolek", "prodromakis")


def _check_positive(name: str, value) -> None:
    arr = real_array(f"window parameter {name}", value)
    check_range(f"window parameter {name}", arr, low=0.0, low_inclusive=False)


def _check_state(x) -> np.ndarray:
    """``x`` as real numbers in [0, 1]: the window is defined on the normalised state only (outside it
    the polynomial forms turn negative, e.g. Joglekar(2) = -8, and would drive the state further out)."""
    arr = real_array("x (normalised state)", x)
    check_range("x (normalised state)", arr, low=0.0, high=1.0)
    return arr


def joglekar(x, p=1):
    """Joglekar window ``f(x) = 1 - (2x - 1)^(2p)``: 1 at x = 0.5, 0 at x = 0 and x = 1; x in [0, 1]."""
    _check_positive("p", p)
    return _joglekar(_check_state(x), np.asarray(p, dtype=float))


def biolek(x, i, p=1):
    """Biolek window ``f(x, i) = 1 - (x - stp(-i))^(2p)`` with ``stp(z) = 1 for z >= 0, else 0``; x in [0, 1]."""
    _check_positive("p", p)
    return _biolek(_check_state(x), real_array("i (current)", i, unit="A"), np.asarray(p, dtype=float))


def prodromakis(x, p=1, j=1.0):
    """Prodromakis window ``f(x) = j (1 - ((x - 0.5)^2 + 0.75)^p)``: max ``j (1 - 0.75^p)`` at 0.5; x in [0, 1]."""
    _check_positive("p", p)
    _check_positive("j", j)
    return _prodromakis(_check_state(x), np.asarray(p, dtype=float), np.asarray(j, dtype=float))


# Unchecked forms for the per-step hot path (parameters were validated once, at construction).
def _joglekar(x, p):
    return 1.0 - np.abs(2.0 * x - 1.0) ** (2.0 * p)


def _biolek(x, i, p):
    step = np.where(i <= 0.0, 1.0, 0.0)  # stp(-i)
    return 1.0 - np.abs(x - step) ** (2.0 * p)


def _prodromakis(x, p, j):
    return j * (1.0 - ((x - 0.5) ** 2 + 0.75) ** p)


def apply_window(name: str, x, i, p, j):
    """Evaluate the window called ``name`` (one of WINDOW_NAMES); ``"none"`` is identically 1."""
    if name == "none":
        return np.ones_like(np.asarray(x, dtype=float))
    if name == "joglekar":
        return _joglekar(x, p)
    if name == "biolek":
        return _biolek(x, i, p)
    if name == "prodromakis":
        return _prodromakis(x, p, j)
    raise ValueError(f"unknown window {name!r}; known: {', '.join(WINDOW_NAMES)}")
