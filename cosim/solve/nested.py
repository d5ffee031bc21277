"""Exact direct solver for large regular crossbars: geometric nested dissection, factor once, solve many.

The nodal system of an M x N crossbar (2 M N unknowns: word-line voltages ``u``, bit-line voltages
``b``) is symmetric positive definite. It is factored by a multifrontal Cholesky over the nested-
dissection tree of :mod:`cosim.solve.nested_tree`: each cut removes one column's word-line nodes (or one
row's bit-line nodes) as a dense separator, the isolated line left beside it is folded in by a
tridiagonal solve, and the fronts are dense BLAS-3 blocks. Cost for an n x n array: O(n^3) flops
(about 2e10 at 1024 x 1024), O(n^2 log n) memory; each right-hand side then costs O(n^2 log n).

Ideal drivers and senses (0 ohm) are handled as pinned nodes (:mod:`cosim.solve.nested_values`).
Line segments must be finite and non-zero: merged or broken segments belong to the general path,
:mod:`cosim.solve.mna`.

The numeric work runs in the Cython kernel ``cosim._ext.nested_kernels``, the subtrees below the
first level with ``n_threads`` rectangles on OpenMP threads, BLAS limited to one thread per call.
"""
from __future__ import annotations

import os
from contextlib import nullcontext

import numpy as np

from cosim._ext.nested_kernels import backward_tree, factor_tree, forward_tree
from cosim.solve.nested_tree import Cut, build_levels, split_level
from cosim.solve.nested_values import nodal_values, right_hand_side

#: sense_currents solves inputs in chunks of about this many grid sites x inputs (bounds the work array)
RHS_CHUNK_ELEMENTS = 2 ** 24


class NestedDissectionSolver:
    """Factored nodal system of one regular crossbar; solves any number of driver-voltage inputs.

    Args:
        g_cell: (M, N) cell conductances, S (finite, >= 0; 0 = open cell).
        r_wl: (M, N-1) word-line segments, ohm; r_bl: (M-1, N) bit-line segments, ohm (finite, > 0).
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm (finite, >= 0;
            0 = ideal source / ideal virtual ground).
        n_threads: OpenMP threads over independent subtrees (default: the CPUs this process may use).
            The result does not depend on it, bit for bit.
        max_leaf_nodes: unknowns per dense leaf rectangle (tuning only; the result does not depend on it).

    The factorisation runs in the constructor. Raises ValueError for bad shapes or values (zero or
    infinite wire resistances included) and numpy.linalg.LinAlgError if a pivot is not positive.
    """

    def __init__(self, g_cell, r_wl, r_bl, r_source, r_sense, n_threads: int | None = None,
                 max_leaf_nodes: int = 8):
        self.values = nodal_values(g_cell, r_wl, r_bl, r_source, r_sense)
        self.shape = self.values.g_cell.shape
        self.n_threads = _thread_count(n_threads)
        self.levels = build_levels(*self.shape, max_leaf_nodes=max_leaf_nodes)
        self._max_front = max(int(lev.front.max()) for lev in self.levels)
        self._max_chain = max(int(lev.pivots.max()) if lev.cut is not Cut.LEAF else 1 for lev in self.levels)
        self._split = split_level(self.levels, self.n_threads)
        self._n_sub = self.levels[self._split].size
        # front positions of every unknown, one row per thread (all -1 between uses)
        self._pos = np.full((self.n_threads, 2 * self.shape[0] * self.shape[1]), -1, dtype=np.int32)
        self._factors = self._factor()

    # ---- factorisation -------------------------------------------------------------------------
    def _factor(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Factor all levels; returns (panels, chain pivots, chain multipliers) per level.

        Work buffers are allocated once here: fresh pages cost page zeroing, which on a virtual
        machine can rival the arithmetic.
        """
        factors = [(np.empty(lev.panel_offset[-1]), np.empty(lev.chain_offset[-1]), np.empty(lev.chain_offset[-1]))
                   for lev in self.levels]
        scratch = np.empty((self.n_threads, self._max_front ** 2 + self._max_chain ** 2))
        top_size, sub_size = self._buffer_sizes("update_offset")
        top, sub = np.empty(2 * top_size), np.empty(self._n_sub * sub_size)
        with _single_threaded_blas():
            failure = factor_tree(self._level_table(factors), *self.values.arrays, self._split, top, sub,
                                  top_size, sub_size, self._pos, scratch, self._max_front, self._max_chain,
                                  self.n_threads)
        if failure is not None:
            lev, k = self.levels[failure[0]], failure[1]
            raise np.linalg.LinAlgError(
                f"nested dissection: front of rectangle rows [{lev.r0[k]}, {lev.r1[k]}) x "
                f"cols [{lev.c0[k]}, {lev.c1[k]}) is not positive definite")
        return factors

    def _level_table(self, factors) -> list[tuple]:
        """Per level: cut code, geometry, offsets and factor arrays, as the kernel takes them."""
        return [(int(lev.cut), lev.r0, lev.r1, lev.c0, lev.c1, lev.line, lev.panel_offset, lev.chain_offset,
                 lev.update_offset, lev.boundary_offset, *fac) for lev, fac in zip(self.levels, factors)]

    def _buffer_sizes(self, offsets: str) -> tuple[int, int]:
        """Size of each of the two ``top`` buffers and of each subtree's postorder stack.

        Counted in doubles (``update_offset``: packed update matrices) or in boundary rows
        (``boundary_offset``: update vectors, times the number of right-hand sides).
        """
        top = max([int(getattr(lev, offsets)[-1]) for lev in self.levels[:self._split]], default=0)
        # postorder stack of a node's subtree: first child's subtree, then the first child's update
        # below the second child's subtree, then the node's own update
        size = np.diff(getattr(self.levels[-1], offsets))
        peak = size
        for depth in range(len(self.levels) - 2, self._split - 1, -1):
            below = size
            size = np.diff(getattr(self.levels[depth], offsets))
            peak = np.maximum.reduce([peak[0::2], below[0::2] + peak[1::2], size])
        return top, int(peak.max())

    @property
    def factor_bytes(self) -> int:
        """Memory held by the factorisation, bytes."""
        return sum(a.nbytes for f in self._factors for a in f)

    # ---- solving -------------------------------------------------------------------------------
    def solve_rhs(self, rhs: np.ndarray) -> np.ndarray:
        """Solve the nodal system for a right-hand side (2 M N, batch) of injected currents, A.

        Returns node voltages (2 M N, batch), V: u row-major first, then b. Rows of pinned nodes
        must carry the pinned voltage (see :func:`right_hand_side`).
        """
        n_unknowns = 2 * self.shape[0] * self.shape[1]
        y = np.array(rhs, dtype=np.float64, order="C", copy=True)
        if y.ndim != 2 or y.shape[0] != n_unknowns:
            raise ValueError(f"rhs must have shape ({n_unknowns}, batch); got {y.shape}")
        nrhs = y.shape[1]
        scratch = np.empty((self.n_threads, 2 * self._max_front * nrhs))
        top_size, sub_size = self._buffer_sizes("boundary_offset")
        top, sub = np.empty(2 * top_size * nrhs), np.empty(self._n_sub * sub_size * nrhs)
        table = self._level_table(self._factors)
        values = self.values.arrays
        with _single_threaded_blas():
            forward_tree(table, *values, self._split, top, sub, top_size, sub_size, y, self._pos, scratch,
                         self._max_front, self.n_threads)
            backward_tree(table, *values, self._split, y, self._pos, scratch, self._max_front, self.n_threads)
        return y

    def _check_inputs(self, V) -> tuple[np.ndarray, bool]:
        v = np.asarray(V, dtype=np.float64)
        m = self.shape[0]
        if v.ndim not in (1, 2) or v.shape[0] != m:
            raise ValueError(f"V must have shape ({m},) or ({m}, batch); got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("V must be finite; got NaN or inf")
        single = v.ndim == 1
        return (v[:, None] if single else v), single

    def node_voltages(self, V) -> tuple[np.ndarray, np.ndarray]:
        """Word-line and bit-line node voltages for driver voltages V, volts.

        Args:
            V: (M,) or (M, batch) driver voltages, V.
        Returns:
            u, b: (M, N) or (M, N, batch) voltages of the word-line and bit-line nodes, V.
        """
        v, single = self._check_inputs(V)
        m, n = self.shape
        x = self.solve_rhs(right_hand_side(self.values, v)).reshape(2, m, n, v.shape[1])
        u, b = x[0], x[1]
        return (u[..., 0], b[..., 0]) if single else (u, b)

    def sense_currents(self, V) -> np.ndarray:
        """Currents from each bit line into its sense amplifier, A.

        Args:
            V: (M,) or (M, batch) driver voltages, V.
        Returns:
            (N,) or (N, batch) sense currents (the sum of each column's cell currents), A.
        """
        v, single = self._check_inputs(V)
        m, n = self.shape
        chunk = int(np.clip(RHS_CHUNK_ELEMENTS // (m * n), 1, 64))
        out = np.empty((n, v.shape[1]))
        for start in range(0, v.shape[1], chunk):
            u, b = self.node_voltages(v[:, start:start + chunk])
            out[:, start:start + chunk] = np.einsum("ij,ijk->jk", self.values.g_cell, u - b)
        return out[:, 0] if single else out

    def transfer_matrix(self) -> np.ndarray:
        """T (M x N) with ``sense_currents(V) == V @ T`` (S): M solves, chunked."""
        return self.sense_currents(np.eye(self.shape[0])).T.copy()


def _thread_count(n_threads: int | None) -> int:
    if n_threads is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer; got {n_threads!r}")
    return int(n_threads)


def _single_threaded_blas():
    """Context limiting BLAS to one thread (when threadpoolctl is installed).

    On this kind of shared 2-core machine, OpenBLAS's own threads make mid-sized fronts 5-20x slower
    (they spin waiting for a core another process holds); one thread per call is fast and stable.
    The result does not depend on it.
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS_CONTROLLER = False
        else:
            _BLAS_CONTROLLER = ThreadpoolController()
    if _BLAS_CONTROLLER is False:
        return nullcontext()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


_BLAS_CONTROLLER = None
