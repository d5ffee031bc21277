"""Exact O(N) solve of a 1T1R crossbar with one selected row (the others' transistors open).

With a single row i selected, no current flows in any other row: bit-line nodes above row i are
dangling stubs at the voltage of b[i, j], and the path from b[i, j] to the sense ground is the
series resistance ``R_down[j] = sum(r_bl[i:, j]) + r_sense[j]``. Word line i is then a ladder whose
column j shunts to ground through ``1 / (1/G + r_on + R_down)``; the scalar admittance recursion

    Y_{N-1} = y_{N-1},   Y_{j-1} = y_{j-1} + Y_j / (1 + r_wl[j-1] Y_j),
    u_0 = V / (1 + r_source Y_0),   u_j = u_{j-1} / (1 + r_wl[j-1] Y_j)

solves it exactly, zero resistances included.
"""
from __future__ import annotations

import numpy as np


def single_row_voltages(g_cell: np.ndarray, r_transistor: np.ndarray, r_wl: np.ndarray, r_source: float,
                        r_down: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Word-line node voltages (N,) or (batch, N) of the selected row for driver voltages ``v``.

    Args:
        g_cell: (N,) cell conductances, S. r_transistor: (N,) access-transistor on-resistances, ohm.
        r_wl: (N-1,) word-line segments, ohm. r_source: driver resistance, ohm.
        r_down: (N,) resistance from each bit-line node of the row to the sense ground, ohm.
        v: scalar or (batch,) driver voltages, V.
    """
    y = 1.0 / (1.0 / g_cell + r_transistor + r_down)
    n = y.size
    big_y = np.empty(n)
    big_y[-1] = y[-1]
    for j in range(n - 1, 0, -1):
        big_y[j - 1] = y[j - 1] + big_y[j] / (1.0 + r_wl[j - 1] * big_y[j])
    factors = np.empty(n)
    factors[0] = 1.0 / (1.0 + r_source * big_y[0])
    factors[1:] = 1.0 / (1.0 + r_wl * big_y[1:])
    gain = np.cumprod(factors)            # u_j / V
    return np.multiply.outer(np.asarray(v, np.float64), gain)
