# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Dense Grassmann-Taksar-Heyman elimination of a nodal matrix: pivots are sums, never differences.

The matrix is ``A = diag(s) + L(W)``: ``W`` (n x n, symmetric, >= 0, zero diagonal) the conductances
between unknown nodes, ``s`` (>= 0) each node's conductance to the terminals, ``L(W)`` the Laplacian.
The numpy reference is :func:`cosim.solve.dense_gth.factor_reference`.
"""


def gth_factor(double[:, ::1] w, double[::1] s, double[::1] piv):
    """Eliminate the nodes in order, in place: row p of ``w`` keeps its couplings to the later nodes at the
    time p is eliminated, ``piv[p]`` its pivot (0 for a node with no conductance left: an island)."""
    cdef Py_ssize_t n = w.shape[0], p, i, k
    cdef double a, f
    with nogil:
        for p in range(n):
            a = s[p]
            for k in range(p + 1, n):
                a += w[p, k]
            piv[p] = a
            if a == 0.0:
                continue
            for i in range(p + 1, n):
                if w[i, p] == 0.0:
                    continue
                f = w[i, p] / a
                for k in range(p + 1, n):
                    w[i, k] += f * w[p, k]
                w[i, i] = 0.0
                s[i] += f * s[p]


def gth_solve(double[:, ::1] w, double[::1] piv, double[:, ::1] b):
    """Solve ``A x = b`` (n, batch) in place with the factors of :func:`gth_factor`."""
    cdef Py_ssize_t n = w.shape[0], nb = b.shape[1], p, i, c
    cdef double f
    with nogil:
        for p in range(n):
            if piv[p] == 0.0:
                continue
            for i in range(p + 1, n):
                f = w[p, i] / piv[p]
                if f != 0.0:
                    for c in range(nb):
                        b[i, c] += f * b[p, c]
        for p in range(n - 1, -1, -1):
            for c in range(nb):
                if piv[p] == 0.0:
                    b[p, c] = 0.0
                    continue
                f = b[p, c]
                for i in range(p + 1, n):
                    f += w[p, i] * b[i, c]
                b[p, c] = f / piv[p]
