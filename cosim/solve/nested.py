"""Exact direct solver for large regular crossbars: geometric nested dissection, factor once, solve many.

The nodal system of an M x N crossbar (2 M N unknowns: word-line voltages ``u``, bit-line voltages
``b``) is symmetric positive definite. It is factored by a multifrontal Cholesky over the nested-
dissection tree of :mod:`cosim.solve.nested_tree`: each cut removes one column's word-line nodes (or one
row's bit-line nodes) as a dense separator, the isolated line left beside it is folded in by a
tridiagonal solve, and the fronts are dense BLAS-3 blocks. Cost for an n x n array: O(n^3) flops
(about 2e10 at 1024 x 1024), O(n^2 log n) memory; each right-hand side then costs O(n^2 log n).
Sense currents (and the transfer matrix) need less: their right-hand sides sit next to the drivers
and their answers next to the senses, so both sweeps skip the subtrees away from those edges, about
O(n^2) per input.

Ideal drivers and senses (0 ohm) are handled as pinned nodes (:mod:`cosim.solve.nested_values`).
Line segments must be finite and non-zero: merged or broken segments belong to the general path,
:mod:`cosim.solve.mna`.

The numeric work runs in the Cython kernel ``cosim._ext.nested_kernels``, the subtrees below the
first level with ``n_threads`` rectangles on OpenMP threads, BLAS limited to one thread per call.
"""
from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from cosim._ext.nested_kernels import backward_tree, factor_tree, forward_tree
from cosim.solve.nested_tree import Cut, build_levels, split_level
from cosim.solve.nested_values import nodal_values, right_hand_side

#: sense_currents solves inputs in chunks of about this many rows of the pruned work array x inputs (bounds
#: its memory at 128 MB; larger chunks read the factor panels fewer times: at 1024 x 1024 chunks of 128
#: inputs instead of 16 halve the transfer matrix's solves)
RHS_CHUNK_ELEMENTS = 2 ** 24
#: ... and at most this many inputs per chunk
MAX_RHS_CHUNK = 128


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
        floating_wl, floating_bl: optional (M,) / (N,) boolean masks of lines whose driver / sense end is
            disconnected. Every line must keep a conducting path to a connected terminal
            (:func:`~cosim.solve.nested_values.has_island` tells), or the factorisation fails.

    The factorisation runs in the constructor. Raises ValueError for bad shapes or values (zero or
    infinite wire resistances included) and numpy.linalg.LinAlgError if a pivot is not positive.
    """

    def __init__(self, g_cell, r_wl, r_bl, r_source, r_sense, n_threads: int | None = None,
                 max_leaf_nodes: int = 8, floating_wl=None, floating_bl=None):
        self.values = nodal_values(g_cell, r_wl, r_bl, r_source, r_sense, floating_wl, floating_bl)
        self.shape = self.values.g_cell.shape
        self.n_threads = _thread_count(n_threads)
        self.max_leaf_nodes = int(max_leaf_nodes)
        self.levels = build_levels(*self.shape, max_leaf_nodes=max_leaf_nodes)
        self._max_front = max(int(lev.front.max()) for lev in self.levels)
        self._max_chain = max(int(lev.pivots.max()) if lev.cut is not Cut.LEAF else 1 for lev in self.levels)
        self._split = split_level(self.levels, self.n_threads)
        self._n_sub = self.levels[self._split].size
        # front positions of every unknown, one row per thread (all -1 between uses)
        self._pos = np.full((self.n_threads, 2 * self.shape[0] * self.shape[1]), -1, dtype=np.int32)
        self._factors = self._factor()
        self._pruning = None   # setup of the pruned sweeps of sense_currents, made on first use

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

    def _buffer_sizes(self, offsets: str, split: int | None = None) -> tuple[int, int]:
        """Size of each of the two ``top`` buffers and of each subtree's postorder stack.

        Counted in doubles (``update_offset``: packed update matrices) or in boundary rows
        (``boundary_offset``: update vectors, times the number of right-hand sides). ``split``: the
        level where the subtrees start (default: the one the solver's threads use).
        """
        split = self._split if split is None else split
        top = max([int(getattr(lev, offsets)[-1]) for lev in self.levels[:split]], default=0)
        # postorder stack of a node's subtree: first child's subtree, then the first child's update
        # below the second child's subtree, then the node's own update
        size = np.diff(getattr(self.levels[-1], offsets))
        peak = size
        for depth in range(len(self.levels) - 2, split - 1, -1):
            below = size
            size = np.diff(getattr(self.levels[depth], offsets))
            peak = np.maximum.reduce([peak[0::2], below[0::2] + peak[1::2], size])
        return top, int(peak.max())

    @property
    def factor_bytes(self) -> int:
        """Memory held by the factorisation, bytes."""
        return sum(a.nbytes for f in self._factors for a in f)

    # ---- solving -------------------------------------------------------------------------------
    def solve_rhs(self, rhs: np.ndarray, overwrite: bool = False) -> np.ndarray:
        """Solve the nodal system for a right-hand side (2 M N, batch) of injected currents, A.

        Returns node voltages (2 M N, batch), V: u row-major first, then b. Rows of pinned nodes
        must carry the pinned voltage (see :func:`right_hand_side`). The forward sweep skips every
        subtree whose rectangle holds no nonzero right-hand side (its result is exactly zero): a bias
        applied at the drivers and the bit-line ends touches few of them. ``overwrite``: solve in place
        when ``rhs`` is a C-contiguous float64 array (saves a copy; iterative callers reuse one buffer).
        """
        m, n = self.shape
        n_unknowns = 2 * m * n
        y = np.array(rhs, dtype=np.float64, order="C", copy=not overwrite)
        if y.ndim != 2 or y.shape[0] != n_unknowns:
            raise ValueError(f"rhs must have shape ({n_unknowns}, batch); got {y.shape}")
        nrhs = y.shape[1]
        nonzero = np.any(y != 0.0, axis=1)
        sites = (nonzero[: m * n] | nonzero[m * n:]).reshape(m, n)
        active = None if sites.all() else self._active_flags(sites)
        scratch = np.empty((self.n_threads, 2 * self._max_front * nrhs))
        top_size, sub_size = self._buffer_sizes("boundary_offset")
        top, sub = np.empty(2 * top_size * nrhs), np.empty(self._n_sub * sub_size * nrhs)
        table = self._level_table(self._factors)
        values = self.values.arrays
        with _single_threaded_blas():
            forward_tree(table, *values, self._split, top, sub, top_size, sub_size, y, self._pos, scratch,
                         self._max_front, self.n_threads, active=active)
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

    def node_voltages(self, V, v_bl=None) -> tuple[np.ndarray, np.ndarray]:
        """Word-line and bit-line node voltages for driver voltages V, volts.

        Args:
            V: (M,) or (M, batch) driver voltages, V.
            v_bl: (N,) or (N, batch) voltages at which the bit-line ends are held, V (default 0 V).
        Returns:
            u, b: (M, N) or (M, N, batch) voltages of the word-line and bit-line nodes, V.
        """
        v, single = self._check_inputs(V)
        m, n = self.shape
        e = None
        if v_bl is not None:
            e = np.asarray(v_bl, dtype=np.float64)
            e = e[:, None] if e.ndim == 1 else e
            if e.shape != (n, v.shape[1]) or not np.all(np.isfinite(e)):
                raise ValueError(f"v_bl must be finite with shape ({n},) or ({n}, {v.shape[1]}); got {np.shape(v_bl)}")
        x = self.solve_rhs(right_hand_side(self.values, v, e)).reshape(2, m, n, v.shape[1])
        u, b = x[0], x[1]
        return (u[..., 0], b[..., 0]) if single else (u, b)

    def sense_currents(self, V) -> np.ndarray:
        """Currents from each bit line into its sense amplifier, A.

        Args:
            V: (M,) or (M, batch) driver voltages, V.
        Returns:
            (N,) or (N, batch) sense currents (the sum of each column's cell currents), A.

        The solves run on a pruned tree: the right-hand sides are nonzero only next to the drivers (the
        first columns), so the forward sweep skips every subtree whose rectangle holds none of them (its
        forward result is exactly zero); the sense currents follow from the two bottom rows alone
        (Kirchhoff's law at the sense node), so the backward sweep skips every subtree whose rectangle
        misses them. Chunks of inputs run on the threads, each sweep on one thread.
        """
        v, single = self._check_inputs(V)
        out = self._pruned_sense_currents(v)
        return out[:, 0] if single else out

    def transfer_matrix(self) -> np.ndarray:
        """T (M x N) with ``sense_currents(V) == V @ T`` (S): N pruned adjoint solves.

        With the driver inputs ``B`` (right-hand side per unit driver voltage) and the sense read-out
        ``C`` (sense currents = C x), T^T = C A^-1 B. The nodal matrix A is symmetric, so T = B^T (A^-1 C^T):
        one solve per sense, whose right-hand side lives in the two bottom rows of its own column. Its
        forward sweep then touches, in each front, only the senses whose column crosses the rectangle
        (about half the work of a full-width sweep at 1024 x 1024), and its backward sweep only the
        subtrees holding the driver edge. The result equals ``sense_currents(np.eye(M))`` up to rounding.
        """
        m, n = self.shape
        if self._pruning is None:
            self._pruning = self._prune()
        rows, coef, word, forward_flags, backward_flags, ymap, y_rows = self._pruning
        sense_rows, sense_coef, sense_col = self._sense_terms(ymap)
        out = np.empty((m, n))

        def solve_chunk(start, nrhs, pos, buffers):
            y = np.zeros((y_rows, nrhs))
            sel = (sense_col >= start) & (sense_col < start + nrhs)
            y[sense_rows[sel], sense_col[sel] - start] = sense_coef[sel]
            lines = np.arange(start, start + nrhs, dtype=np.int64)
            self._pruned_sweeps(y, pos, buffers, backward_flags, forward_flags, ymap, lines)
            block = np.zeros((m, nrhs))
            np.add.at(block, word, coef * y[rows])
            out[:, start:start + nrhs] = block

        self._run_chunks(n, y_rows, solve_chunk)
        return out

    def _pruned_sense_currents(self, v: np.ndarray) -> np.ndarray:
        """Sense currents (N, batch) for checked driver voltages v (M, batch)."""
        n = self.shape[1]
        if self._pruning is None:
            self._pruning = self._prune()
        rows, coef, word, forward_flags, backward_flags, ymap, y_rows = self._pruning
        out = np.empty((n, v.shape[1]))

        def solve_chunk(start, nrhs, pos, buffers):
            y = np.zeros((y_rows, nrhs))
            y[rows] = coef * v[word, start:start + nrhs]
            self._pruned_sweeps(y, pos, buffers, forward_flags, backward_flags, ymap)
            out[:, start:start + nrhs] = self._sense_from_bottom(y, ymap)

        self._run_chunks(v.shape[1], y_rows, solve_chunk)
        return out

    def _pruned_sweeps(self, y, pos, buffers, forward_flags, backward_flags, ymap, lines=None) -> None:
        """Forward then backward substitution on the compact ``y`` (rows: ymap), one thread, in place."""
        top_size, sub_size = buffers
        nrhs = y.shape[1]
        table = self._level_table(self._factors)
        vals = self.values.arrays
        scratch = np.empty((1, 2 * self._max_front * nrhs))
        top, sub = np.empty(2 * top_size * nrhs), np.empty(sub_size * nrhs)
        forward_tree(table, *vals, 0, top, sub, top_size, sub_size, y, pos, scratch, self._max_front, 1,
                     active=forward_flags, ymap=ymap, rhs_lines=lines, lines_along_columns=True)
        backward_tree(table, *vals, 0, y, pos, scratch, self._max_front, 1, active=backward_flags, ymap=ymap)

    def _run_chunks(self, batch: int, y_rows: int, solve_chunk) -> None:
        """Call ``solve_chunk(start, nrhs, pos, buffers)`` over chunks of the batch, chunks on the threads."""
        m, n = self.shape
        buffers = self._buffer_sizes("boundary_offset", 0)
        chunk = int(np.clip(RHS_CHUNK_ELEMENTS // y_rows, 1, MAX_RHS_CHUNK))
        starts = list(range(0, batch, chunk))
        n_workers = min(self.n_threads, len(starts))
        errors = []

        def work(my_starts):
            try:
                pos = np.full((1, 2 * m * n), -1, dtype=np.int32)
                for start in my_starts:
                    solve_chunk(start, min(chunk, batch - start), pos, buffers)
            except BaseException as exc:  # noqa: BLE001 -- re-raised in the calling thread
                errors.append(exc)

        with _single_threaded_blas():
            threads = [threading.Thread(target=work, args=(starts[t::n_workers],)) for t in range(1, n_workers)]
            for th in threads:
                th.start()
            work(starts[0::n_workers])
            for th in threads:
                th.join()
        if errors:
            raise errors[0]

    def _prune(self) -> tuple:
        """Setup of the pruned sweeps: right-hand-side rows, flags per level, the compact row map of Y.

        Returns (rows, coef, word, forward flags, backward flags, ymap, rows of Y): right-hand-side row
        ``rows[k]`` of Y is ``coef[k]`` times the voltage of word line ``word[k]``.
        """
        m, n = self.shape
        mn = m * n
        # each nonzero right-hand-side row is a fixed coefficient times the voltage of one word line
        coef = right_hand_side(self.values, np.ones((m, 1)))[:, 0]
        unknowns = np.flatnonzero(coef)
        has_rhs = np.zeros(mn, dtype=bool)
        has_rhs[unknowns % mn] = True
        needed = np.zeros((m, n), dtype=bool)
        needed[max(m - 2, 0):] = True
        forward_flags = self._active_flags(has_rhs.reshape(m, n))
        backward_flags = self._active_flags(needed)
        # Y holds only the unknowns that the active nodes eliminate (pivots and chains): every row the
        # sweeps read or write (boundaries lie on active ancestors), the right-hand side and the bottom rows
        # (marked by difference arrays: +1 where a run starts, -1 past its end, then running sums)
        down = np.zeros((m + 1, n + 1), dtype=np.int32)      # column runs (vertical separators, leaves)
        across = np.zeros((m + 1, n + 1), dtype=np.int32)    # row runs (horizontal separators)
        for lev, fwd, bwd in zip(self.levels, forward_flags, backward_flags):
            k = np.flatnonzero(fwd | bwd)
            r0, r1, c0, c1, line = lev.r0[k], lev.r1[k], lev.c0[k], lev.c1[k], lev.line[k]
            if lev.cut is Cut.VERTICAL:
                np.add.at(down, (r0, line), 1)
                np.add.at(down, (r1, line), -1)
            elif lev.cut is Cut.HORIZONTAL:
                np.add.at(across, (line, c0), 1)
                np.add.at(across, (line, c1), -1)
            else:                                             # a leaf: one column run per column
                for dc in range(int((c1 - c0).max(initial=0))):
                    col = c0 + dc
                    inside = col < c1
                    np.add.at(down, (r0[inside], col[inside]), 1)
                    np.add.at(down, (r1[inside], col[inside]), -1)
        used = (np.cumsum(down, axis=0)[:m, :n] > 0) | (np.cumsum(across, axis=1)[:m, :n] > 0)
        sites = np.flatnonzero(used)
        ymap = np.full(2 * mn, 2 * sites.size, dtype=np.int64)    # unused unknowns: a spare last row
        ymap[sites] = np.arange(sites.size)
        ymap[mn + sites] = sites.size + np.arange(sites.size)
        return (ymap[unknowns], coef[unknowns, None], (unknowns % mn) // n, forward_flags, backward_flags,
                ymap, 2 * sites.size + 1)

    def _active_flags(self, sites: np.ndarray) -> list[np.ndarray]:
        """Per level, uint8 flags: 1 where the node's rectangle holds a True site (closed upward).

        Cached by size and pattern: the bias of every cold operating point touches the same sites.
        """
        return list(_active_flags(*self.shape, self.max_leaf_nodes, np.packbits(sites).tobytes()))

    def _sense_terms(self, ymap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The read-out of :meth:`_sense_from_bottom` as (row of Y, coefficient S, sense column) triples.

        Sense current j = sum of coefficient x voltage over its triples (see _sense_from_bottom).
        """
        vals = self.values
        m, n = self.shape
        cols = np.arange(n)
        last = (m - 1) * n + cols
        pin = vals.pinned_sense
        unknowns = [m * n + last[~pin], last[pin]]
        coefs = [vals.g_sense[~pin], vals.g_cell[-1, pin]]
        sense = [cols[~pin], cols[pin]]
        if m > 1:
            unknowns.append(m * n + last[pin] - n)
            coefs.append(vals.g_bl_last[pin])
            sense.append(cols[pin])
        unknowns, coefs, sense = (np.concatenate(a) for a in (unknowns, coefs, sense))
        keep = coefs != 0.0
        return ymap[unknowns[keep]], coefs[keep], sense[keep]

    def _sense_from_bottom(self, y: np.ndarray, ymap: np.ndarray) -> np.ndarray:
        """Sense currents (N, batch) from the bottom rows of the solved voltages y (row of unknown: ymap).

        Free sense: g_sense b[M-1, j]. Ideal sense (b[M-1, j] = 0): the currents into its node, from the
        bit-line segment above and from the cell of the last row.
        """
        vals = self.values
        m, n = self.shape
        last = (m - 1) * n + np.arange(n)
        u_last, b_last = y[ymap[last]], y[ymap[m * n + last]]
        out = vals.g_sense[:, None] * b_last
        pin = vals.pinned_sense
        if np.any(pin):
            into = vals.g_cell[-1, pin, None] * u_last[pin]
            if m > 1:
                into = into + vals.g_bl_last[pin, None] * y[ymap[m * n + last[pin] - n]]
            out[pin] = into
        return out


@lru_cache(maxsize=64)
def _active_flags(rows: int, cols: int, max_leaf_nodes: int, packed_sites: bytes) -> tuple[np.ndarray, ...]:
    """Flags of :meth:`NestedDissectionSolver._active_flags` for the sites packed by ``np.packbits``."""
    sites = np.unpackbits(np.frombuffer(packed_sites, np.uint8), count=rows * cols).reshape(rows, cols)
    count = np.zeros((rows + 1, cols + 1), dtype=np.int32)
    count[1:, 1:] = np.cumsum(np.cumsum(sites, axis=0, dtype=np.int32), axis=1)
    flags = []
    for lev in build_levels(rows, cols, max_leaf_nodes):
        inside = count[lev.r1, lev.c1] - count[lev.r0, lev.c1] - count[lev.r1, lev.c0] + count[lev.r0, lev.c0]
        flag = np.ascontiguousarray(inside > 0, dtype=np.uint8)
        flag.flags.writeable = False
        flags.append(flag)
    return tuple(flags)


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
    The result does not depend on it. Entering costs a few microseconds (the BLAS libraries are found
    once; each use sets and restores their thread counts directly).
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS_CONTROLLER = False
        else:
            _BLAS_CONTROLLER = _OneThread(ThreadpoolController().select(user_api="blas").lib_controllers)
    if _BLAS_CONTROLLER is False:
        return nullcontext()
    return _BLAS_CONTROLLER


class _OneThread:
    """Re-entrant context: the BLAS libraries ``libs`` (threadpoolctl controllers) on one thread while any
    thread of the process is inside it (the thread counts are process-wide); restored when the last leaves."""

    def __init__(self, libs):
        self.libs, self.depth, self.saved = list(libs), 0, []
        self._lock = threading.Lock()

    def __enter__(self):
        with self._lock:
            if self.depth == 0:
                self.saved = [lib.num_threads for lib in self.libs]
                for lib in self.libs:
                    lib.set_num_threads(1)
            self.depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self.depth -= 1
            if self.depth == 0:
                for lib, n in zip(self.libs, self.saved):
                    lib.set_num_threads(n)
        return False


_BLAS_CONTROLLER = None
#: public name of the one-thread BLAS context (callers doing many small products on a shared machine)
single_threaded_blas = _single_threaded_blas
