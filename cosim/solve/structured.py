"""Fast exact path for the regular crossbar: a column-by-column Schur (admittance) recursion.

Each column j (its cells, bit line and sense amplifier) is seen from its word-line nodes as a dense
admittance ``K_j = D - D (L_b + D + S_sense)^-1 D`` (a tridiagonal inverse, O(M^2)). Sweeping from the
last column to the first, the admittance ``Y_j`` of columns j..N-1 seen from column j is carried
through each word-line segment (series resistance ``R = diag(r)``, ``S = sqrt(R)``):

    H = I + S Y S = L L^T,   W = L^-1 S Y,   Y_{j-1} = K_{j-1} + Y - W^T W,

and the column currents as linear functionals of the word-line voltages ``u_j`` are pushed back
through ``u_j = F u_{j-1}`` with ``F^T q = q - W^T L^-1 S q``. Every step is dense BLAS-3 on M x M
blocks; the result ``T`` (rows x cols, ``I = V @ T``) is exact to rounding. Zero resistances (ideal
wires, drivers, senses) need no special case: ``S = 0`` makes the series step the identity.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack

from cosim._ext.dense_kernels import add_chain_admittance, symmetrize_from_upper


def column_admittance(d: np.ndarray, r_bl: np.ndarray, r_sense: float) -> np.ndarray:
    """Admittance (S, M x M) seen from the word-line nodes into one column.

    Args:
        d: (M,) cell conductances of the column in siemens (0 = open cell).
        r_bl: (M-1,) bit-line segment resistances in ohm (finite, 0 = ideal).
        r_sense: sense-amplifier input resistance in ohm (finite, 0 = ideal virtual ground).
    """
    m = d.size
    # merge bit-line nodes joined by ideal segments into groups 0..n_groups-1
    group = np.concatenate([[0], np.cumsum(r_bl > 0)])
    n_groups = int(group[-1]) + 1
    grounded = r_sense == 0.0          # the last group is pinned at 0 V
    n_free = n_groups - 1 if grounded else n_groups
    if n_free == 0:
        return np.diag(d.astype(np.float64))
    g_seg = 1.0 / r_bl[r_bl > 0]       # between consecutive groups
    diag = np.bincount(group, weights=d, minlength=n_groups).astype(np.float64)
    diag[:-1] += g_seg
    diag[1:] += g_seg
    if not grounded:
        diag[-1] += 1.0 / r_sense
    # inverse of the free groups' symmetric positive definite tridiagonal matrix (LAPACK pttrf/pttrs)
    if n_free == 1:
        return _finish_admittance(d, group, n_free, np.array([[1.0 / diag[0]]]))
    off = -g_seg[: n_free - 1]
    dd, ee, info = lapack.dpttrf(diag[:n_free].copy(), off.copy())
    if info != 0:
        raise np.linalg.LinAlgError(f"bit-line chain matrix is not positive definite (info={info})")
    w, info = lapack.dpttrs(dd, ee, np.eye(n_free, order="F"), overwrite_b=1)
    return _finish_admittance(d, group, n_free, w)


def _finish_admittance(d: np.ndarray, group: np.ndarray, n_free: int, w: np.ndarray) -> np.ndarray:
    """K = diag(d) - D P W P^T D for the inverse ``w`` of the free groups' chain matrix."""
    m = d.size
    df = np.where(group < n_free, d, 0.0)
    if n_free < m:                     # expand group-to-group entries to node-to-node
        gi = np.minimum(group, n_free - 1)
        w = w[np.ix_(gi, gi)]
    k = w
    k *= df[:, None]
    k *= -df[None, :]
    k.flat[:: m + 1] += d
    return k


def _add_column(y: np.ndarray, q_col: np.ndarray, d: np.ndarray, r_bl: np.ndarray, r_sense: float) -> None:
    """``y += K`` and ``q_col[:] = K @ 1`` for one column (the compiled equivalent of :func:`column_admittance`)."""
    group = np.concatenate([[0], np.cumsum(r_bl > 0)])
    n_groups = int(group[-1]) + 1
    n_free = n_groups - 1 if r_sense == 0.0 else n_groups
    g_seg = 1.0 / r_bl[r_bl > 0]
    diag = np.bincount(group, weights=d, minlength=n_groups).astype(np.float64)
    diag[:-1] += g_seg
    diag[1:] += g_seg
    if r_sense != 0.0:
        diag[-1] += 1.0 / r_sense
    add_chain_admittance(y, q_col, np.ascontiguousarray(d, dtype=np.float64), np.ascontiguousarray(diag[:n_free]),
                         np.ascontiguousarray(-g_seg[: max(n_free - 1, 0)]), group.astype(np.int64), n_free)


def transfer_matrix(g_cell: np.ndarray, r_wl: np.ndarray, r_bl: np.ndarray, r_source: np.ndarray,
                    r_sense: np.ndarray) -> np.ndarray:
    """Exact transfer matrix T (rows x cols, ``I_sense = V @ T``) of a regular crossbar.

    Args:
        g_cell: (M, N) effective cell conductances in siemens (1T1R: cell in series with its transistor).
        r_wl: (M, N-1) word-line segment resistances, ohm; r_bl: (M-1, N) bit-line segments, ohm.
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm. All finite, >= 0.
    """
    m, n = g_cell.shape
    y = np.zeros((m, m), order="F")
    q = np.zeros((m, n), order="F")    # q[:, k]: current of column k as a functional of the current u
    _add_column(y, q[:, n - 1], g_cell[:, n - 1], r_bl[:, n - 1], float(r_sense[n - 1]))
    for j in range(n - 1, -1, -1):
        r = r_wl[:, j - 1] if j > 0 else r_source
        if np.any(r > 0):
            y = _series_step(y, np.sqrt(r), q, j)
        if j > 0:
            _add_column(y, q[:, j - 1], g_cell[:, j - 1], r_bl[:, j - 1], float(r_sense[j - 1]))
    return np.ascontiguousarray(q)


def _series_step(y: np.ndarray, s: np.ndarray, q: np.ndarray, j: int) -> np.ndarray:
    """Carry admittance ``y`` and functionals ``q[:, j:]`` back through series resistances ``s**2``.

    ``y`` (Fortran order) and ``q[:, j:]`` are updated in place; returns the admittance seen before
    the resistances.
    """
    sy = s[:, None] * y                                   # S Y (Fortran order)
    h = sy * s[None, :]
    h.flat[:: h.shape[0] + 1] += 1.0                      # H = I + S Y S
    chol, info = lapack.dpotrf(h, lower=1, overwrite_a=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"series step: Cholesky of I + S Y S failed (info={info})")
    w = blas.dtrsm(1.0, chol, sy, lower=1, overwrite_b=1)                     # W = L^-1 S Y
    y = blas.dsyrk(-1.0, w, beta=1.0, c=y, trans=1, lower=0, overwrite_c=1)   # Y - W^T W (upper)
    symmetrize_from_upper(y)
    qj = q[:, j:]
    z = blas.dtrsm(1.0, chol, s[:, None] * qj, lower=1, overwrite_b=1)        # L^-1 S q
    q[:, j:] = blas.dgemm(-1.0, w, z, beta=1.0, c=qj, trans_a=1, overwrite_c=1)
    return y
