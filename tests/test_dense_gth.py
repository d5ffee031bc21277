"""The dense subtraction-free elimination: kernel against its numpy reference, and a stiff closed form."""
import numpy as np
import scipy.sparse as sp

from cosim._ext.gth_kernels import gth_factor
from cosim.solve.dense_gth import DenseGTH, factor_reference


def _laplacian(w, s):
    return sp.csr_matrix(np.diag(w.sum(axis=1) + s) - w)


def test_kernel_matches_numpy_reference():
    rng = np.random.default_rng(3)
    n = 12
    w = np.triu(10.0 ** rng.uniform(-9, 9, (n, n)) * (rng.random((n, n)) < 0.4), 1)
    w = w + w.T
    s = np.where(rng.random(n) < 0.3, 10.0 ** rng.uniform(-9, 3, n), 0.0)
    s[0] = 1e-6
    a = w.copy()
    piv = np.zeros(n)
    gth_factor(a, s.copy(), piv)
    a_ref, piv_ref = factor_reference(w, s)
    assert np.allclose(piv, piv_ref, rtol=1e-13, atol=0)
    assert np.allclose(np.triu(a, 1), np.triu(a_ref, 1), rtol=1e-13, atol=0)


def test_stiff_chain_closed_form():
    """Node 0 -- 1e9 S -- node 1 -- 1e9 S -- node 2, node 0 driven through 1e-6 S, node 2 grounded by 1e-9 S.

    Node voltages for a 1 V source: current I = 1 / (1e6 + 2e-9 + 1e9) through the series chain."""
    w = np.zeros((3, 3))
    w[0, 1] = w[1, 0] = w[1, 2] = w[2, 1] = 1e9
    s = np.array([1e-6, 0.0, 1e-9])
    solver = DenseGTH(_laplacian(w, s), s)
    x = solver.solve(np.array([[1e-6 * 1.0], [0.0], [0.0]]))[:, 0]
    i = 1.0 / (1e6 + 2e-9 + 1e9)
    expected = np.array([i * (2e-9 + 1e9), i * (1e-9 + 1e9), i * 1e9])
    assert np.allclose(x, expected, rtol=1e-14)
    # sparse LU (no pivoting) loses these digits; numpy's dense solve too: cancellation, not size
    lu = np.linalg.solve(_laplacian(w, s).toarray(), [1e-6, 0.0, 0.0])
    assert np.max(np.abs(lu - expected) / expected) > 1e-9
