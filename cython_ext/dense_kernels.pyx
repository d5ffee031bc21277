# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Small dense-matrix kernels used by the structured crossbar solver."""


def symmetrize_from_upper(double[::1, :] a):
    """Copy the upper triangle of the Fortran-ordered square matrix ``a`` onto its lower triangle, in place."""
    cdef Py_ssize_t n = a.shape[0], i, j
    if a.shape[1] != n:
        raise ValueError(f"a must be square; got {a.shape[0]}x{a.shape[1]}")
    with nogil:
        for j in range(n):
            for i in range(j + 1, n):
                a[i, j] = a[j, i]


def add_chain_admittance(double[::1, :] y, double[::1] q_col, double[::1] d, double[::1] diag,
                         double[::1] off, long[::1] group, Py_ssize_t n_free):
    """Add one column's admittance K = diag(d) - D P W P^T D to ``y`` in place; write K @ 1 to ``q_col``.

    ``W`` is the inverse of the symmetric positive definite tridiagonal matrix of the column's free
    bit-line groups (``diag`` (n_free,), off-diagonal ``off`` (n_free - 1,)), computed here from its
    LDL^T factors in O(n_free^2); ``group[i]`` is the group of cell i (``>= n_free``: grounded group).
    Raises ValueError if the chain matrix is not positive definite.
    """
    cdef Py_ssize_t m = d.shape[0], i, k, gi, gk
    cdef double acc, dfi, dfk
    cdef double[::1] piv = np_empty(max(n_free, 1))
    cdef double[::1] ell = np_empty(max(n_free, 1))
    cdef double[::1, :] w = np_empty((max(n_free, 1), max(n_free, 1)), order="F")
    cdef double[::1] df = np_empty(m)
    cdef bint ok = True
    with nogil:
        # LDL^T of the chain matrix
        if n_free > 0:
            piv[0] = diag[0]
            ok = piv[0] > 0
            for i in range(1, n_free):
                ell[i - 1] = off[i - 1] / piv[i - 1]
                piv[i] = diag[i] - ell[i - 1] * off[i - 1]
                if not piv[i] > 0:
                    ok = False
        if ok:
            # columns of the inverse: solve L D L^T x = e_k
            for k in range(n_free):
                for i in range(k):
                    w[i, k] = 0.0
                w[k, k] = 1.0
                for i in range(k + 1, n_free):
                    w[i, k] = -ell[i - 1] * w[i - 1, k]
                for i in range(k, n_free):
                    w[i, k] = w[i, k] / piv[i]
                for i in range(n_free - 2, -1, -1):
                    w[i, k] = w[i, k] - ell[i] * w[i + 1, k]
            for i in range(m):
                df[i] = d[i] if group[i] < n_free else 0.0
            for k in range(m):
                gk = group[k]
                acc = 0.0
                dfk = df[k]
                if dfk != 0.0:
                    for i in range(m):
                        if df[i] != 0.0:    # cells of the grounded group have no row in w
                            dfi = df[i] * dfk * w[group[i], gk]
                            y[i, k] -= dfi
                            acc -= dfi
                y[k, k] += d[k]
                q_col[k] = acc + d[k]
    if not ok:
        raise ValueError("bit-line chain matrix is not positive definite")


from numpy import empty as np_empty
