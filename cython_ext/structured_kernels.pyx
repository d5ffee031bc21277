# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Subtraction-free column recursion for the transfer matrix of a regular crossbar.

The eliminated part of the circuit is held as the conductances it leaves between the M frontier
word-line nodes (``c``, M x M, zero diagonal, >= 0) and from each frontier node to each sense
amplifier (``q``, M x N, >= 0). A node's pivot is the sum of its conductances, never a difference
(Grassmann-Taksar-Heyman elimination), so every quantity is a sum of products of non-negative
numbers and is accurate to a few ulps relative, however stiff the circuit. The numpy reference is
:func:`cosim.solve.structured.transfer_matrix_reference`.
"""
import numpy as np


cdef void _add_column(double[:, ::1] c, double[:, ::1] q, double[:, ::1] w, double[::1] d, double[::1] rb,
                      double rs, long[::1] group, double[::1] h, double[::1] link, double[::1] piv,
                      double[::1] ell, Py_ssize_t j) noexcept nogil:
    """Eliminate the bit-line nodes of column j (cells ``d``, segments ``rb``, sense ``rs``) into c and q[:, j]."""
    cdef Py_ssize_t m = d.shape[0], i, k, kk, n_groups, n_free, last
    cdef double ground, e, dk, wij
    group[0] = 0
    for i in range(m - 1):
        group[i + 1] = group[i] + (1 if rb[i] > 0 else 0)
    n_groups = group[m - 1] + 1
    n_free = n_groups - 1 if rs == 0.0 else n_groups
    for k in range(n_groups):
        h[k] = 0.0
        link[k] = 0.0
    for i in range(m):
        h[group[i]] += d[i]
    for i in range(m - 1):
        if rb[i] > 0:
            link[group[i]] = 1.0 / rb[i]          # between group[i] and group[i] + 1
    if n_free == 0:                             # every cell sits on the grounded group
        for i in range(m):
            q[i, j] = d[i]
        return
    last = n_free - 1
    ground = link[last] if rs == 0.0 else 1.0 / rs
    h[last] += ground
    link[last] = 0.0                            # the chain of free groups ends here
    # GTH pivots of the tridiagonal chain: e is a group's conductance to ground through what was eliminated
    e = h[0]
    for k in range(n_free):
        piv[k] = e + link[k]
        ell[k] = link[k] / piv[k]
        if k + 1 < n_free:
            e = h[k + 1] + link[k] * (e / piv[k])
    # inverse of the chain matrix, column by column (all terms >= 0)
    for kk in range(n_free):
        for k in range(kk):
            w[k, kk] = 0.0
        w[kk, kk] = 1.0
        for k in range(kk, n_free - 1):
            w[k + 1, kk] = ell[k] * w[k, kk]
        for k in range(kk, n_free):
            w[k, kk] = w[k, kk] / piv[k]
        for k in range(n_free - 2, -1, -1):
            w[k, kk] = w[k, kk] + ell[k] * w[k + 1, kk]
    for i in range(m):
        if group[i] >= n_free:
            q[i, j] = d[i]
            continue
        q[i, j] = d[i] * w[group[i], last] * ground
        if d[i] == 0.0:
            continue
        for k in range(m):
            if k != i and group[k] < n_free:
                c[i, k] += d[i] * d[k] * w[group[i], group[k]]


cdef void _series_step(double[:, ::1] c, double[:, ::1] q, double[::1] r, Py_ssize_t j) noexcept nogil:
    """Move the frontier through series resistances ``r`` (one per row; 0 = ideal) by eliminating the old nodes."""
    cdef Py_ssize_t m = c.shape[0], n = q.shape[1], p, i, k, col
    cdef double g, a, f, scale
    for p in range(m):
        if not r[p] > 0:
            continue
        g = 1.0 / r[p]
        a = g
        for k in range(m):
            a += c[p, k]
        for col in range(j, n):
            a += q[p, col]
        for i in range(m):
            if i == p or c[i, p] == 0.0:
                continue
            f = c[i, p] / a
            for k in range(m):
                c[i, k] += f * c[p, k]
            c[i, i] = 0.0
            for col in range(j, n):
                q[i, col] += f * q[p, col]
        scale = g / a
        for k in range(m):
            c[p, k] *= scale
            c[k, p] = c[p, k]
        for col in range(j, n):
            q[p, col] *= scale


def structured_transfer(double[:, ::1] g_cell, double[:, ::1] r_wl, double[:, ::1] r_bl, double[::1] r_source,
                        double[::1] r_sense):
    """Transfer matrix T (M x N, ``I_sense = V @ T``, S) of a regular crossbar; see the module docstring.

    Args:
        g_cell: (M, N) effective cell conductances, S (>= 0). r_wl: (M, N-1), r_bl: (M-1, N) segments,
        r_source: (M,), r_sense: (N,) resistances, ohm, finite and >= 0 (0 = ideal).
    """
    cdef Py_ssize_t m = g_cell.shape[0], n = g_cell.shape[1], i, j
    if r_wl.shape[0] != m or r_wl.shape[1] != n - 1 or r_bl.shape[0] != m - 1 or r_bl.shape[1] != n \
            or r_source.shape[0] != m or r_sense.shape[0] != n:
        raise ValueError("resistance arrays do not match the (M, N) cell array")
    out_c = np.zeros((m, m))
    out_q = np.zeros((m, n))
    cdef double[:, ::1] c = out_c
    cdef double[:, ::1] q = out_q
    cdef double[:, ::1] w = np.zeros((m, m))
    cdef double[::1] d = np.empty(m)
    cdef double[::1] rb = np.empty(max(m - 1, 1))
    cdef double[::1] rrow = np.empty(m)
    cdef long[::1] group = np.empty(m, dtype=np.int64)
    cdef double[::1] h = np.empty(m)
    cdef double[::1] link = np.empty(m)
    cdef double[::1] piv = np.empty(m)
    cdef double[::1] ell = np.empty(m)
    with nogil:
        for j in range(n - 1, -1, -1):
            for i in range(m):
                d[i] = g_cell[i, j]
            for i in range(m - 1):
                rb[i] = r_bl[i, j]
            _add_column(c, q, w, d, rb, r_sense[j], group, h, link, piv, ell, j)
            for i in range(m):
                rrow[i] = r_wl[i, j - 1] if j > 0 else r_source[i]
            _series_step(c, q, rrow, j)
    return out_q
