"""Exact-to-rounding dense solve of a nodal matrix for the stiff circuits sparse LU cannot handle.

Gaussian elimination of a nodal matrix ``A = diag(s) + L(W)`` (``W`` >= 0 the conductances between
unknown nodes, ``s`` >= 0 their conductances to the terminals) keeps every Schur complement in the same
form, so each pivot can be formed as the sum of a node's remaining conductances instead of the
difference ``a_pp - sum l u`` (Grassmann, Taksar and Heyman 1985; O'Cinneide 1993 shows the result is
accurate entry by entry). The general path uses it when sparse LU with refinement does not converge
(:mod:`cosim.solve.mna`): O(n^3 / 3) time and n^2 memory, so only up to :data:`MAX_UNKNOWNS` nodes.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cosim._ext.gth_kernels import gth_factor, gth_solve

#: the largest nodal system solved densely (about 2 s and 130 MB at this size)
MAX_UNKNOWNS = 4000


class DenseGTH:
    """Factors of a nodal matrix given as its sparse matrix ``a`` and the terminal conductances ``s``.

    Args:
        a: (n, n) sparse nodal matrix, S (off-diagonal entries <= 0).
        s: (n,) each node's conductance to the terminals (the row sums of ``a``, summed from the
            positive terminal conductances rather than cancelled out of ``a``), S.
    """

    def __init__(self, a: sp.spmatrix, s: np.ndarray):
        n = a.shape[0]
        if n > MAX_UNKNOWNS:
            raise ValueError(f"a dense solve takes at most {MAX_UNKNOWNS} unknowns; got {n}")
        w = -np.asarray(a.toarray(), dtype=np.float64)
        np.fill_diagonal(w, 0.0)
        self.w = np.ascontiguousarray(np.maximum(w, 0.0))
        self.piv = np.zeros(n)
        gth_factor(self.w, np.array(s, dtype=np.float64), self.piv)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x (n, batch) with ``A x = b`` for b (n, batch); nodes with a zero pivot (islands) get 0."""
        x = np.array(b, dtype=np.float64, order="C", copy=True)
        gth_solve(self.w, self.piv, x)
        return x


def factor_reference(w: np.ndarray, s: np.ndarray):
    """The elimination of the kernel in numpy: (couplings at elimination time, pivots)."""
    w, s = np.array(w, float), np.array(s, float)
    n = s.size
    piv = np.zeros(n)
    for p in range(n):
        piv[p] = s[p] + w[p, p + 1:].sum()
        if piv[p] == 0:
            continue
        f = w[p + 1:, p] / piv[p]
        w[p + 1:, p + 1:] += np.outer(f, w[p, p + 1:])
        w[np.arange(p + 1, n), np.arange(p + 1, n)] = 0.0
        s[p + 1:] += f * s[p]
    return w, piv
