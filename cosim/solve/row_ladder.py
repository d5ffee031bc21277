"""Exact O(N) solve of a 1T1R crossbar with one selected row (the others' transistors open).

With a single row i selected, no current flows in any other row: bit-line nodes above row i are
dangling stubs at the voltage of b[i, j], and the path from b[i, j] to the bit line's end (the sense
amplifier, or a programming driver holding it at ``e[j]`` volts) is the series resistance
``R_down[j] = sum(r_bl[i:, j]) + r_sense[j]``. Word line i is then a ladder whose column j shunts to
``e[j]`` through ``y_j = 1 / (1/G + r_on + R_down)``. The Norton recursion from the far end

    (Y, J)_{N-1} = (y, y e)_{N-1},   (Y, J)_{j-1} = (Y, J)_j / (1 + r_wl[j-1] Y_j) + (y, y e)_{j-1},
    u_0 = (V + r_source J_0) / (1 + r_source Y_0),   u_j = (u_{j-1} + r_wl[j-1] J_j) / (1 + r_wl[j-1] Y_j)

solves it exactly, zero resistances included (the current into the network right of node j is
``Y_j u_j - J_j``).
"""
from __future__ import annotations

import numpy as np

from cosim._ext.ladder_kernels import ladder_voltages


def single_row_voltages(g_cell: np.ndarray, r_transistor: np.ndarray, r_wl: np.ndarray, r_source: float,
                        r_down: np.ndarray, v: np.ndarray, e: np.ndarray | None = None) -> np.ndarray:
    """Word-line node voltages (batch, N) of the selected row.

    Args:
        g_cell: (N,) cell conductances, S. r_transistor: (N,) access-transistor on-resistances, ohm.
        r_wl: (N-1,) word-line segments, ohm. r_source: driver resistance, ohm.
        r_down: (N,) resistance from each bit-line node of the row to the bit line's end, ohm.
        v: (batch,) driver voltages, V. e: (batch, N) voltages held at the bit-line ends (default 0 V).
    """
    y = 1.0 / (1.0 / g_cell + r_transistor + r_down)
    v = np.atleast_1d(np.asarray(v, np.float64))
    e = np.zeros((v.size, y.size)) if e is None else np.atleast_2d(e)
    return ladder_voltages(np.ascontiguousarray(y, np.float64), np.ascontiguousarray(r_wl, np.float64),
                           float(r_source), np.ascontiguousarray(v), np.ascontiguousarray(e, np.float64))


def single_row_voltages_reference(g_cell, r_transistor, r_wl, r_source, r_down, v, e=None) -> np.ndarray:
    """The same recursion in numpy (the reference of the compiled kernel)."""
    y = 1.0 / (1.0 / g_cell + r_transistor + r_down)
    v = np.atleast_1d(np.asarray(v, np.float64))
    e = np.zeros((v.size, y.size)) if e is None else np.atleast_2d(e)
    n = y.size
    big_y = np.empty(n)
    big_j = np.empty((v.size, n))
    big_y[-1] = y[-1]
    big_j[:, -1] = y[-1] * e[:, -1]
    for j in range(n - 1, 0, -1):
        k = 1.0 / (1.0 + r_wl[j - 1] * big_y[j])
        big_y[j - 1] = big_y[j] * k + y[j - 1]
        big_j[:, j - 1] = big_j[:, j] * k + y[j - 1] * e[:, j - 1]
    u = np.empty((v.size, n))
    u[:, 0] = (v + r_source * big_j[:, 0]) / (1.0 + r_source * big_y[0])
    for j in range(1, n):
        u[:, j] = (u[:, j - 1] + r_wl[j - 1] * big_j[:, j]) / (1.0 + r_wl[j - 1] * big_y[j])
    return u
