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
from scipy.linalg import blas, lapack, solveh_banded


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
    # upper banded storage of the free groups' tridiagonal matrix
    band = np.zeros((2, n_free))
    band[1] = diag[:n_free]
    band[0, 1:] = -g_seg[: n_free - 1]
    if n_free == 1:
        w = 1.0 / band[1:, :1]
    else:
        w = solveh_banded(band, np.eye(n_free), lower=False, check_finite=False)
    df = np.where(group < n_free, d, 0.0)
    if n_free < m:                     # expand group-to-group entries to node-to-node
        gi = np.minimum(group, n_free - 1)
        w = w[np.ix_(gi, gi)]
    k = w
    k *= df[:, None]
    k *= -df[None, :]
    k.flat[:: m + 1] += d
    return k


def transfer_matrix(g_cell: np.ndarray, r_wl: np.ndarray, r_bl: np.ndarray, r_source: np.ndarray,
                    r_sense: np.ndarray) -> np.ndarray:
    """Exact transfer matrix T (rows x cols, ``I_sense = V @ T``) of a regular crossbar.

    Args:
        g_cell: (M, N) effective cell conductances in siemens (1T1R: cell in series with its transistor).
        r_wl: (M, N-1) word-line segment resistances, ohm; r_bl: (M-1, N) bit-line segments, ohm.
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm. All finite, >= 0.
    """
    m, n = g_cell.shape
    ones = np.ones(m)
    k_last = column_admittance(g_cell[:, n - 1], r_bl[:, n - 1], float(r_sense[n - 1]))
    y = np.asfortranarray(k_last)
    q = np.zeros((m, n), order="F")    # q[:, k]: current of column k as a functional of the current u
    q[:, n - 1] = k_last @ ones
    for j in range(n - 1, -1, -1):
        r = r_wl[:, j - 1] if j > 0 else r_source
        if np.any(r > 0):
            y = _series_step(y, np.sqrt(r), q, j)
        if j > 0:
            k = column_admittance(g_cell[:, j - 1], r_bl[:, j - 1], float(r_sense[j - 1]))
            y += k
            q[:, j - 1] = k.sum(axis=1)
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
    y = blas.dgemm(-1.0, w, w, beta=1.0, c=y, trans_a=1, overwrite_c=1)       # Y - W^T W
    qj = q[:, j:]
    z = blas.dtrsm(1.0, chol, s[:, None] * qj, lower=1, overwrite_b=1)        # L^-1 S q
    q[:, j:] = blas.dgemm(-1.0, w, z, beta=1.0, c=qj, trans_a=1, overwrite_c=1)
    return y
