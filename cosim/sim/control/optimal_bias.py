"""The best static bias for one 1R cell: a linear program over the line drivers.

With fixed (estimated) conductances the controller's model of a 1R array is linear: every cell voltage
is a linear function of the M word-line driver and N bit-line end voltages, ``V = R @ x`` with ``R`` the
(rows, cols, M + N) response (V/V) of :func:`response_matrix` (one batched solve of the model, M + N
unit right-hand sides on one factorisation). The bias that puts the most voltage on cell (r, c) in one
polarity while every other cell stays within ``margin`` x its threshold in both polarities and every
line within ``v_line_max`` is the linear program

    maximise  s * R[r, c] @ x
    subject to  -margin * th_neg <= R[k] @ x <= margin * th_pos   for every other cell k
                |x_i| <= v_line_max,

solved with HiGHS (:func:`scipy.optimize.linprog`) by cutting planes: the cells of the selected lines
first, then the most violated other cells, until no cell is beyond its bound (few of the 2MN
constraints bind). V/3 is one feasible point of it (scaled by
:func:`cosim.sim.control.disturb.scale_limit`), so the LP's optimum is the ceiling of any static bias.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from cosim.sim.control.disturb import DISTURB_MARGIN

CUT_ROUNDS = 40     # cutting-plane rounds at most
CUT_ADD = 256       # violated cells added per round (the most violated first)
CUT_TOL = 1e-9      # relative excess over a bound that counts as a violation


@dataclass(frozen=True)
class OptimalBias:
    """An LP bias: word-line (rows,) and bit-line (cols,) driver voltages (V), the selected cell's voltage
    (V, signed) the model predicts, and whether the LP solved (False: ``v_cell`` is 0, lines at 0 V)."""

    v_wl: np.ndarray
    v_bl: np.ndarray
    v_cell: float
    ok: bool

    def scaled(self, factor: float) -> "OptimalBias":
        """The same bias ``factor`` x (the model is linear: every cell voltage scales with it)."""
        return OptimalBias(self.v_wl * factor, self.v_bl * factor, self.v_cell * factor, self.ok)


def response_matrix(crossbar, conductances: np.ndarray) -> np.ndarray:
    """(rows, cols, rows + cols) cell voltages (V) per volt on each word-line driver, then each bit-line
    end, of a linear 1R ``crossbar`` (the controller's model) at ``conductances`` (S); one batched solve."""
    m, n = crossbar.rows, crossbar.cols
    crossbar.set_conductances(conductances)
    eye = np.eye(m + n)
    v = crossbar.solve_bias(eye[:, :m], eye[:, m:]).cell_voltages      # (m + n, rows, cols)
    return np.moveaxis(np.nan_to_num(v, nan=0.0), 0, -1)


def optimal_bias(response: np.ndarray, row: int, col: int, sign: int, v_pos: float, v_neg: float,
                 v_line_max: float, margin: float = DISTURB_MARGIN) -> OptimalBias:
    """The LP bias (see the module docstring) for the most voltage of sign ``sign`` on cell (row, col).

    Args:
        response: (rows, cols, rows + cols) from :func:`response_matrix`, V/V.
        v_pos, v_neg: threshold magnitudes (V) of positive and negative cell voltages.
        v_line_max: the largest driver voltage magnitude, V. margin: fraction of the thresholds the other
            cells may reach.
    """
    rows, cols, k = response.shape
    if not (0 <= row < rows and 0 <= col < cols) or sign not in (1, -1):
        raise ValueError(f"optimal_bias: cell ({row}, {col}) of a {rows}x{cols} array and sign +-1 expected, "
                         f"got ({row}, {col}) and {sign}")
    if not (v_pos > 0 and v_neg > 0 and v_line_max > 0 and 0 < margin <= 1):
        raise ValueError(f"optimal_bias: positive thresholds, v_line_max and 0 < margin <= 1 expected, got "
                         f"{v_pos}, {v_neg}, {v_line_max}, {margin}")
    a = response.reshape(rows * cols, k)
    sel = row * cols + col
    upper = np.full(rows * cols, margin * v_pos)
    lower = np.full(rows * cols, margin * v_neg)
    upper[sel] = lower[sel] = 1.0                     # placeholders: the selected cell is the objective
    # cutting planes: the selected lines' cells first, then the most violated of the others until none is
    work = np.zeros(rows * cols, bool)
    work.reshape(rows, cols)[row, :] = work.reshape(rows, cols)[:, col] = True
    work[sel] = False
    bounds = [(-v_line_max, v_line_max)] * k
    for _ in range(CUT_ROUNDS):
        idx = np.flatnonzero(work)
        a_ub = np.vstack([a[idx], -a[idx]])
        res = linprog(-sign * a[sel], A_ub=a_ub, b_ub=np.concatenate([upper[idx], lower[idx]]), bounds=bounds,
                      method="highs")
        if res.status != 0:
            return OptimalBias(np.zeros(rows), np.zeros(cols), 0.0, False)
        x = res.x
        v = a @ x
        excess = np.maximum(v - upper, -v - lower) / np.minimum(upper, lower)
        excess[sel] = -np.inf
        new = np.flatnonzero((excess > CUT_TOL) & ~work)
        if new.size == 0:
            break
        work[new[np.argsort(-excess[new])[:CUT_ADD]]] = True
    else:
        raise RuntimeError(f"optimal_bias: cell ({row}, {col}) did not converge in {CUT_ROUNDS} rounds")
    x = x - 0.5 * (x.max() + x.min())                 # every line shifted alike: the same cell voltages, centred
    return OptimalBias(x[:rows].copy(), x[rows:].copy(), float(a[sel] @ x), True)
