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
from cosim.solve.solution import ARRAY_FIELDS, CrossbarSolution


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


def single_row_solution(layout, conductances: np.ndarray, i: int, v: np.ndarray, v_bl: np.ndarray) -> CrossbarSolution:
    """Full operating point of a 1T1R crossbar whose only selected row is ``i``.

    Args:
        layout: the crossbar's :class:`~cosim.netlist.crossbar.CrossbarLayout` (regular, open off-transistors).
        conductances: (rows, cols) cell conductances, S. v: (rows,) or (batch, rows) word-line drives, V.
        v_bl: (cols,) or (batch, cols) voltages held at the bit-line ends, V.
    """
    lay = layout
    m, n = lay.rows, lay.cols
    # resistance from bit-line node (k, j) down to the sense ground, for every row k >= i
    below = np.concatenate([np.cumsum(lay.r_bl[::-1], axis=0)[::-1], np.zeros((1, n))]) + lay.r_sense
    r_down = below[i]
    g, r_t = conductances[i], lay.r_on_transistor[i]
    vv, e = np.atleast_2d(v), np.atleast_2d(v_bl)
    u_row = single_row_voltages(g, r_t, lay.r_wl[i], float(lay.r_source[i]), r_down, vv[:, i], e)
    y = 1.0 / (1.0 / g + r_t + r_down)
    i_cell = (u_row - e) * y                                  # (batch, N)
    wl = np.repeat(vv[:, :, None], n, axis=2)
    wl[:, i, :] = u_row
    bl_row = e[:, None, :] + i_cell[:, None, :] * np.concatenate([np.repeat(below[i:i + 1], i, axis=0),
                                                                   below[i:]])[None]
    cell_v = np.zeros_like(wl)
    cell_v[:, i, :] = i_cell / g
    cell_i = np.zeros_like(wl)
    cell_i[:, i, :] = i_cell
    seg_wl = np.cumsum(i_cell[:, ::-1], axis=1)[:, ::-1][:, 1:]          # current in wl segment j -> j+1
    drive = i_cell.sum(axis=1)
    by_kind = {
        "cell": np.sum(i_cell ** 2 / g, axis=1),
        "transistor": np.sum(i_cell ** 2 * r_t, axis=1),
        "wire": np.sum(seg_wl ** 2 * lay.r_wl[i], axis=1) + np.sum(i_cell ** 2 * lay.r_bl[i:].sum(axis=0), axis=1),
        "driver": drive ** 2 * lay.r_source[i],
        "sense": np.sum(i_cell ** 2 * lay.r_sense, axis=1),
    }
    driver_i = np.zeros((vv.shape[0], m))
    driver_i[:, i] = drive
    sol = CrossbarSolution(wl, bl_row, cell_v, cell_i, i_cell, driver_i, sum(by_kind.values()), by_kind)
    if v.ndim == 1:
        sol = CrossbarSolution(*(getattr(sol, f)[0] for f in ARRAY_FIELDS),
                               {k: val[0] for k, val in by_kind.items()})
    return sol
