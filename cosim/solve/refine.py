"""Iterative refinement with Kirchhoff residuals: win back the digits a factorisation loses in stiff circuits.

A Cholesky or LU factorisation of a nodal matrix whose conductances span many decades (1e-9 ohm wires
beside 1 Mohm senses, 1e3 S cells beside 1e-9 S ones) loses digits in its pivots: each pivot is a
difference of large, nearly equal numbers. The solve is still backward stable, so a correction
``dx = A^-1 r`` computed with the same factorisation converges to the exact solution, provided the
residual ``r`` is computed accurately. ``r = b - A x`` is not (it cancels the same way); the net current
into each node summed from the element currents ``g_e (v_a - v_b)`` is, because every voltage
difference is formed before it is scaled. :func:`refine` runs that loop; :func:`grid_residual` is the
residual of a regular crossbar's grid (the nested-dissection unknowns), :meth:`CompiledCircuit.kcl_residual
<cosim.solve.mna.CompiledCircuit.kcl_residual>` that of any netlist.

Refinement costs one or two extra solves, so it runs only where a condition estimate says the
factorisation may have lost digits: :func:`needs_refinement`, the spread of the circuit's element
conductances. A pivot loses about log10(spread) digits at worst; below :data:`SPREAD_LIMIT` that
leaves more than 1e-9 relative accuracy (checked over the whole documented range by the property
tests in ``tests/test_solver_properties.py``).
"""
from __future__ import annotations

import numpy as np

#: refinement stops when a correction is below this fraction of the largest voltage ...
REFINE_TOLERANCE = 1e-13
#: ... or after this many corrections; a last correction above REFINE_FAILURE means it did not converge
MAX_REFINEMENTS = 30
REFINE_FAILURE = 1e-10
#: corrections below this fraction that stop shrinking are rounding noise: refinement ends there too
ROUNDING_LEVEL = 1e-12


#: element conductances spanning more than this factor get refined solves
SPREAD_LIMIT = 1e6


def needs_refinement(*conductances: np.ndarray) -> bool:
    """True when the positive, finite conductances (S) given span more than :data:`SPREAD_LIMIT`."""
    g = np.concatenate([np.ravel(c) for c in conductances])
    g = g[(g > 0) & np.isfinite(g)]
    return bool(g.size) and float(g.max()) > SPREAD_LIMIT * float(g.min())


class IllConditionedError(ArithmeticError):
    """A solve could not reach its accuracy: corrections stayed above :data:`REFINE_FAILURE` of the
    voltage scale after :data:`MAX_REFINEMENTS` refinements (conductances spanning too many decades)."""


def refine(x: np.ndarray, solve, residual, scale: np.ndarray) -> tuple[np.ndarray, float]:
    """Refine ``x`` (unknowns, batch) in place; returns it and the last correction's relative size.

    Args:
        solve: ``r -> A^-1 r`` with the (inexact) factorisation. residual: ``x -> r``, the net current
            into each unknown node, A. scale: (batch,) voltage scale of each column, V (> 0).
    """
    previous, size = np.inf, 0.0
    for _ in range(MAX_REFINEMENTS):
        dx = solve(residual(x))
        x += dx
        size = float(np.max(np.abs(dx) / scale)) if dx.size else 0.0
        if not np.isfinite(size) or size <= REFINE_TOLERANCE or (ROUNDING_LEVEL > size > 0.5 * previous):
            break
        previous = size
    return x, size


def voltage_scale(x: np.ndarray, v_terminals: np.ndarray) -> np.ndarray:
    """(batch,) a power of two within a factor 2 of the largest |voltage| of each column among unknowns and
    terminals (1 where all are 0): dividing by it is exact."""
    scale = np.maximum(np.max(np.abs(x), axis=0, initial=0.0), np.max(np.abs(v_terminals), axis=0, initial=0.0))
    _, exponent = np.frexp(np.where(scale > 0, scale, 1.0))
    return np.ldexp(1.0, exponent - 1)


def grid_residual(layout, g_eff: np.ndarray, x: np.ndarray, v: np.ndarray, v_bl: np.ndarray,
                  floating_wl=None, floating_bl=None) -> np.ndarray:
    """Net current (2 M N, batch) into each word-line then bit-line node of a regular crossbar, A.

    Args:
        layout: the :class:`~cosim.netlist.crossbar.CrossbarLayout` (finite, non-zero line segments).
        g_eff: (M, N) cell conductances between the line nodes, S. x: (2 M N, batch) node voltages
            (u row-major, then b), V. v: (M, batch) driver voltages, v_bl: (N, batch) bit-line ends, V.
        floating_wl, floating_bl: masks of lines whose driver / sense is disconnected.
    Nodes pinned by an ideal driver or sense get 0 (their voltage is not an unknown).
    """
    m, n = g_eff.shape
    batch = x.shape[1]
    u = x[: m * n].reshape(m, n, batch)
    b = x[m * n:].reshape(m, n, batch)
    ru, rb = np.zeros_like(u), np.zeros_like(b)
    f = (1.0 / layout.r_wl)[..., None] * (u[:, :-1] - u[:, 1:])          # along the word line, j -> j+1
    ru[:, :-1] -= f
    ru[:, 1:] += f
    f = (1.0 / layout.r_bl)[..., None] * (b[:-1] - b[1:])                # down the bit line, i -> i+1
    rb[:-1] -= f
    rb[1:] += f
    f = g_eff[..., None] * (u - b)                                         # through the cells
    ru -= f
    rb += f
    fw = np.zeros(m, bool) if floating_wl is None else np.asarray(floating_wl, bool)
    fb = np.zeros(n, bool) if floating_bl is None else np.asarray(floating_bl, bool)
    rs, rn = layout.r_source, layout.r_sense
    drive = ~fw & (rs > 0)
    ru[drive, 0] += (v[drive] - u[drive, 0]) / rs[drive, None]
    sense = ~fb & (rn > 0)
    rb[-1, sense] -= (b[-1, sense] - v_bl[sense]) / rn[sense, None]
    ru[~fw & (rs == 0), 0] = 0.0
    rb[-1, ~fb & (rn == 0)] = 0.0
    return np.concatenate([ru.reshape(m * n, batch), rb.reshape(m * n, batch)])
