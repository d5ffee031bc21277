# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Word-line ladder of a 1T1R row with one selected row (see cosim.solve.row_ladder)."""
import numpy as np


def ladder_voltages(const double[::1] y, const double[::1] r_wl, double r_source,
                    const double[::1] v, const double[:, ::1] e):
    """Node voltages (batch, N) of a ladder: shunts ``y`` (S) to ``e`` (batch, N) V, series ``r_wl`` (ohm),
    driven at node 0 by ``v`` (batch,) V through ``r_source`` (ohm). Zero resistances are exact."""
    cdef Py_ssize_t n = y.shape[0], nb = v.shape[0], j, b
    cdef double[::1] big_y = np.empty(n)
    cdef double[::1] big_j = np.empty(n)
    cdef double[::1] k = np.empty(n)
    u_arr = np.empty((nb, n))
    cdef double[:, ::1] u = u_arr
    with nogil:
        big_y[n - 1] = y[n - 1]
        for j in range(n - 1, 0, -1):
            k[j] = 1.0 / (1.0 + r_wl[j - 1] * big_y[j])
            big_y[j - 1] = big_y[j] * k[j] + y[j - 1]
        for b in range(nb):
            big_j[n - 1] = y[n - 1] * e[b, n - 1]
            for j in range(n - 1, 0, -1):
                big_j[j - 1] = big_j[j] * k[j] + y[j - 1] * e[b, j - 1]
            u[b, 0] = (v[b] + r_source * big_j[0]) / (1.0 + r_source * big_y[0])
            for j in range(1, n):
                u[b, j] = (u[b, j - 1] + r_wl[j - 1] * big_j[j]) * k[j]
    return u_arr
