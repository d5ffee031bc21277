"""Fixed sparsity patterns that are re-stamped from element conductances without re-assembly."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class StampPattern:
    """A sparse matrix whose entries are signed sums of element conductances.

    Entry k of the triplet list adds ``sign[k] * g[element[k]]`` at ``(row[k], col[k])``. The CSR
    structure is computed once; :meth:`matrix` only sums values (one ``bincount``).
    """

    def __init__(self, shape: tuple[int, int], row, col, element, sign, extra_diagonal: bool = False):
        row = np.asarray(row, np.int64)
        col = np.asarray(col, np.int64)
        self.element = np.asarray(element, np.int64)
        self.sign = np.asarray(sign, np.float64)
        if extra_diagonal:  # keep every diagonal entry in the pattern (for shunts added at stamp time)
            diag = np.arange(min(shape))
            row, col = np.concatenate([row, diag]), np.concatenate([col, diag])
        self.shape = shape
        linear = row * shape[1] + col
        unique, self._slot = np.unique(linear, return_inverse=True)
        self._n_entries = self.element.size
        self._rows = unique // shape[1]
        self.indices = (unique % shape[1]).astype(np.int32)
        self.indptr = np.searchsorted(self._rows, np.arange(shape[0] + 1)).astype(np.int32)
        self._diag_slot = None
        if extra_diagonal:
            self._diag_slot = self._slot[self._n_entries:]
            self._slot = self._slot[: self._n_entries]

    @property
    def nnz(self) -> int:
        return self.indices.size

    def values(self, g: np.ndarray, diagonal: np.ndarray | None = None) -> np.ndarray:
        """CSR data for element conductances ``g`` (S), plus an optional added ``diagonal``."""
        data = np.bincount(self._slot, weights=self.sign * g[self.element], minlength=self.nnz)
        if diagonal is not None:
            data += np.bincount(self._diag_slot, weights=diagonal, minlength=self.nnz)
        return data

    def matrix(self, g: np.ndarray, diagonal: np.ndarray | None = None, fmt: str = "csr"):
        """The stamped matrix as a scipy sparse matrix in format ``fmt``."""
        m = sp.csr_matrix((self.values(g, diagonal), self.indices, self.indptr), shape=self.shape)
        return m if fmt == "csr" else m.asformat(fmt)
