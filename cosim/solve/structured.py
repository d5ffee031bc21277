"""Fast exact path for the regular crossbar: a column-by-column elimination that never subtracts.

Sweeping from the last column to the first, the part of the circuit right of the word-line nodes
``u_j`` (column j's cells, bit lines and senses, and everything beyond) is eliminated and kept as two
non-negative arrays: ``c`` (M x M), the conductances it leaves between the frontier nodes, and ``q``
(M x N), the conductances from each frontier node to each sense amplifier (held at 0 V). Two steps:

- **add column j**: its bit-line nodes (grouped where segments are ideal; the group at an ideal sense
  is grounded) form a tridiagonal M-matrix ``A``; with ``W = A^-1`` (entrywise >= 0),
  ``c[i, k] += d_i d_k W[g_i, g_k]`` and ``q[i, j] = d_i (W a)[g_i]``, ``a`` the chain's conductance
  to the sense;
- **series step** through ``r`` (a word-line segment, or the driver at the end): for each row p with
  ``r_p > 0`` the old node is eliminated with pivot ``a_p = 1/r_p + sum_k c[p, k] + sum_k q[p, k]``:
  ``c[i, k] += c[i, p] c[p, k] / a_p``, ``q[i] += c[i, p] q[p] / a_p``, then row p scales by ``1/(r_p a_p)``.

At the drivers ``q`` is the transfer matrix ``T`` (``I_sense = V @ T``). Pivots are sums of
conductances (Grassmann-Taksar-Heyman elimination), never the differences a Cholesky or Schur update
of the admittance forms, so every entry is accurate to a few ulps relative however stiff the circuit
(1e-9 ohm next to 1e6 ohm, 1e3 S cells behind a 1e-6 S sense). Zero resistances need no special
case: an ideal segment is not a series step, an ideal bit-line segment merges nodes.

The compiled kernel is ``cosim._ext.structured_kernels``; :func:`transfer_matrix_reference` is the
same elimination in numpy.
"""
from __future__ import annotations

import numpy as np

from cosim._ext.structured_kernels import structured_transfer


def transfer_matrix(g_cell: np.ndarray, r_wl: np.ndarray, r_bl: np.ndarray, r_source: np.ndarray,
                    r_sense: np.ndarray) -> np.ndarray:
    """Exact transfer matrix T (rows x cols, ``I_sense = V @ T``, siemens) of a regular crossbar.

    Args:
        g_cell: (M, N) effective cell conductances in siemens, >= 0 (1T1R: cell in series with its transistor).
        r_wl: (M, N-1) word-line segment resistances, ohm; r_bl: (M-1, N) bit-line segments, ohm.
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm. All finite, >= 0.
    """
    c = lambda a: np.ascontiguousarray(a, dtype=np.float64)
    return structured_transfer(c(g_cell), c(r_wl), c(r_bl), c(r_source), c(r_sense))


def transfer_matrix_reference(g_cell, r_wl, r_bl, r_source, r_sense) -> np.ndarray:
    """The elimination of :func:`transfer_matrix` in numpy (the reference of the compiled kernel)."""
    m, n = g_cell.shape
    c = np.zeros((m, m))
    q = np.zeros((m, n))
    for j in range(n - 1, -1, -1):
        _add_column_reference(c, q, np.asarray(g_cell[:, j], float), np.asarray(r_bl[:, j], float),
                              float(r_sense[j]), j)
        r = r_wl[:, j - 1] if j > 0 else r_source
        for p in np.flatnonzero(np.asarray(r) > 0):
            a = 1.0 / r[p] + c[p].sum() + q[p, j:].sum()
            f = c[:, p] / a
            c += np.outer(f, c[p])
            np.fill_diagonal(c, 0.0)
            q[:, j:] += np.outer(f, q[p, j:])
            c[p] = c[:, p] = c[p] / (r[p] * a)
            c[p, p] = 0.0
            q[p, j:] /= r[p] * a
    return q


def _add_column_reference(c, q, d, rb, rs, j) -> None:
    m = d.size
    group = np.concatenate([[0], np.cumsum(rb > 0)])
    n_groups = int(group[-1]) + 1
    n_free = n_groups - 1 if rs == 0.0 else n_groups
    if n_free == 0:
        q[:, j] = d
        return
    link = np.zeros(n_groups)
    link[group[:-1][rb > 0]] = 1.0 / rb[rb > 0]
    h = np.bincount(group, weights=d, minlength=n_groups)
    last = n_free - 1
    ground = link[last] if rs == 0.0 else 1.0 / rs
    h[last] += ground
    link[last] = 0.0
    piv, ell, e = np.empty(n_free), np.empty(n_free), h[0]
    for k in range(n_free):
        piv[k] = e + link[k]
        ell[k] = link[k] / piv[k]
        if k + 1 < n_free:
            e = h[k + 1] + link[k] * e / piv[k]
    w = np.zeros((n_free, n_free))
    for kk in range(n_free):
        w[kk, kk] = 1.0
        for k in range(kk, n_free - 1):
            w[k + 1, kk] = ell[k] * w[k, kk]
        w[:, kk] /= piv
        for k in range(n_free - 2, -1, -1):
            w[k, kk] += ell[k] * w[k + 1, kk]
    free = group < n_free
    gi = np.minimum(group, last)
    coupling = np.where(free[:, None] & free[None, :], d[:, None] * d[None, :] * w[np.ix_(gi, gi)], 0.0)
    np.fill_diagonal(coupling, 0.0)
    c += coupling
    q[:, j] = np.where(free, d * w[gi, last] * ground, d)
