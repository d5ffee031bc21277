"""Exact direct solver for large regular crossbars: geometric nested dissection, factor once, solve many.

The nodal system of an M x N crossbar (2 M N unknowns: word-line voltages ``u``, bit-line voltages
``b``) is symmetric positive definite. It is factored by a multifrontal Cholesky over the nested-
dissection tree of :mod:`cosim.solve.nested_tree`: each cut removes one column's word-line nodes (or one
row's bit-line nodes) as a dense separator, the isolated line left beside it is folded in by a
tridiagonal solve, and the fronts are dense BLAS-3 blocks. Cost for an n x n array: O(n^3) flops
(about 2e10 at 1024 x 1024), O(n^2 log n) memory; each right-hand side then costs O(n^2 log n).

Ideal drivers (``r_source = 0``) and ideal senses (``r_sense = 0``) pin their nodes; a pinned node
keeps its place in the grid with an identity row, its couplings moved to the right-hand side, so the
tree never changes. Line segments must be finite and non-zero (callers handle merged or broken
segments on the general path, :mod:`cosim.solve.mna`).

The numeric work runs level by level in the Cython kernel ``cosim._ext.nested_kernels``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contextlib import nullcontext

from cosim._ext.nested_kernels import factor_level, solve_level
from cosim.solve.nested_tree import Cut, Level, build_levels

#: right-hand sides solved together when computing sense currents (bounds the work array)
RHS_CHUNK = 64


@dataclass(frozen=True)
class NodalValues:
    """Nodal matrix of a regular crossbar as (M, N) arrays, in siemens.

    Attributes:
        diag_u, diag_b: diagonal entries of word-line / bit-line node rows (1 for pinned nodes).
        c_wl: conductance coupling u[i, j] to u[i, j+1] (last column unused, 0).
        c_bl: conductance coupling b[i, j] to b[i+1, j] (last row unused, 0).
        c_cell: conductance coupling u[i, j] to b[i, j] (0 where either node is pinned).
        g_cell: the cell conductances themselves (for currents).
        g_wl0: (M,) conductance of the first word-line segment (0 if N == 1).
        g_source: (M,) driver conductance (unused where pinned); pinned_source, pinned_sense: (M,), (N,)
            True where an ideal driver / sense pins the node.
    """

    diag_u: np.ndarray
    diag_b: np.ndarray
    c_wl: np.ndarray
    c_bl: np.ndarray
    c_cell: np.ndarray
    g_cell: np.ndarray
    g_wl0: np.ndarray
    g_source: np.ndarray
    pinned_source: np.ndarray
    pinned_sense: np.ndarray

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The five matrix arrays in the order the kernel takes them."""
        return self.diag_u, self.diag_b, self.c_wl, self.c_bl, self.c_cell


def _as_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got NaN or inf")
    return arr


def _wire_conductance(name: str, r, shape: tuple[int, ...]) -> np.ndarray:
    """1 / r for line segments (ohm), which must be finite and > 0."""
    arr = np.asarray(r, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite and > 0 ohm for the nested-dissection solver "
                         "(zero or broken segments need the general path)")
    return 1.0 / arr


def _terminal(name: str, r, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(conductance, pinned) of drivers or senses with resistances r (ohm, finite, >= 0; 0 = ideal)."""
    arr = _as_array(name, r, (size,))
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 ohm; got {arr.min():.3g}")
    pinned = arr == 0
    return np.where(pinned, 0.0, 1.0 / np.where(pinned, 1.0, arr)), pinned


def nodal_values(g_cell, r_wl, r_bl, r_source, r_sense) -> NodalValues:
    """Validate a regular crossbar and build its nodal matrix arrays.

    Args:
        g_cell: (M, N) cell conductances, S (finite, >= 0; 0 = open cell).
        r_wl: (M, N-1) word-line segments, ohm; r_bl: (M-1, N) bit-line segments, ohm (finite, > 0).
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm (finite, >= 0).
    """
    g = np.asarray(g_cell, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"g_cell must be a non-empty 2-D array (rows, cols); got shape {g.shape}")
    g = _as_array("g_cell", g, g.shape)
    if np.any(g < 0):
        raise ValueError(f"g_cell must be >= 0 siemens; got {g.min():.3g}")
    m, n = g.shape
    gw = _wire_conductance("r_wl", r_wl, (m, n - 1))
    gb = _wire_conductance("r_bl", r_bl, (m - 1, n))
    g_src, pin_src = _terminal("r_source", r_source, m)
    g_sns, pin_sns = _terminal("r_sense", r_sense, n)

    diag_u = g.copy()
    diag_u[:, :-1] += gw
    diag_u[:, 1:] += gw
    diag_u[:, 0] += g_src
    diag_b = g.copy()
    diag_b[:-1] += gb
    diag_b[1:] += gb
    diag_b[-1] += g_sns
    c_wl = np.zeros((m, n))
    c_wl[:, :-1] = gw
    c_bl = np.zeros((m, n))
    c_bl[:-1] = gb
    c_cell = g.copy()
    # pinned nodes: identity rows, no couplings (their neighbours keep the diagonal terms)
    diag_u[pin_src, 0] = 1.0
    c_wl[pin_src, 0] = 0.0
    c_cell[pin_src, 0] = 0.0
    diag_b[-1, pin_sns] = 1.0
    c_cell[-1, pin_sns] = 0.0
    if m > 1:
        c_bl[-2, pin_sns] = 0.0
    g_wl0 = gw[:, 0].copy() if n > 1 else np.zeros(m)
    return NodalValues(diag_u, diag_b, c_wl, c_bl, c_cell, g.copy(), g_wl0, g_src, pin_src, pin_sns)


def right_hand_side(values: NodalValues, v: np.ndarray) -> np.ndarray:
    """Right-hand side (2 M N, batch) of the nodal system for driver voltages ``v`` (M, batch), V."""
    m, n = values.g_cell.shape
    batch = v.shape[1]
    rhs = np.zeros((2, m, n, batch))
    free, pin = ~values.pinned_source, values.pinned_source
    rhs[0, free, 0] = values.g_source[free, None] * v[free]
    rhs[0, pin, 0] = v[pin]                                   # identity row: u = V
    if n > 1:
        rhs[0, pin, 1] += values.g_wl0[pin, None] * v[pin]
    # b[i, 0] of a pinned driver's row, unless it is itself pinned by an ideal sense
    feeds_b = pin.copy()
    if values.pinned_sense[0]:
        feeds_b[-1] = False
    rhs[1, feeds_b, 0] += values.g_cell[feeds_b, 0, None] * v[feeds_b]
    return rhs.reshape(2 * m * n, batch)


class NestedDissectionSolver:
    """Factored nodal system of one regular crossbar; solves any number of driver-voltage inputs.

    Args:
        g_cell: (M, N) cell conductances, S (finite, >= 0; 0 = open cell).
        r_wl: (M, N-1) word-line segments, ohm; r_bl: (M-1, N) bit-line segments, ohm (finite, > 0).
        r_source: (M,) driver resistances, ohm; r_sense: (N,) sense resistances, ohm (finite, >= 0;
            0 = ideal source / ideal virtual ground).
        max_leaf_nodes: unknowns per dense leaf rectangle (tuning only; the result does not depend on it).

    The factorisation runs in the constructor. Raises ValueError for bad shapes or values (zero or
    infinite wire resistances included) and numpy.linalg.LinAlgError if a pivot is not positive.
    """

    def __init__(self, g_cell, r_wl, r_bl, r_source, r_sense, max_leaf_nodes: int = 8):
        self.values = nodal_values(g_cell, r_wl, r_bl, r_source, r_sense)
        self.shape = self.values.g_cell.shape
        self.levels = build_levels(*self.shape, max_leaf_nodes=max_leaf_nodes)
        self._max_front = max(int(lev.front.max()) for lev in self.levels)
        self._factors = self._factor()

    # ---- factorisation -------------------------------------------------------------------------
    def _factor(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Factor the levels deepest first; returns (panels, chain pivots, chain multipliers) per level.

        Work buffers (front scratch, two ping-pong update buffers) are allocated once: fresh pages
        cost the kernel's page zeroing, which otherwise rivals the arithmetic.
        """
        m, n = self.shape
        pos = np.full(2 * m * n, -1, dtype=np.int32)
        scratch = np.empty(2 * self._max_front ** 2)
        size = max(int(lev.update_offset[-1]) for lev in self.levels)
        ping_pong = [np.empty(size), np.empty(size)]
        factors: list = [None] * len(self.levels)
        empty = np.zeros(0, np.int64)
        with _single_threaded_blas():
            for depth in range(len(self.levels) - 1, -1, -1):
                lev = self.levels[depth]
                child = self.levels[depth + 1] if lev.cut is not Cut.LEAF else None
                panels = np.empty(lev.panel_offset[-1])
                chain_d = np.empty(lev.chain_offset[-1])
                chain_l = np.empty(lev.chain_offset[-1])
                updates, child_updates = ping_pong[depth % 2], ping_pong[(depth + 1) % 2]
                child_args = ((int(child.cut), *_geometry(child), child_updates, child.update_offset)
                              if child is not None else (0, *(empty,) * 5, child_updates, empty))
                failed = factor_level(int(lev.cut), *_geometry(lev), *self.values.arrays,
                                      panels, lev.panel_offset, chain_d, chain_l, lev.chain_offset,
                                      updates, lev.update_offset, *child_args, pos, scratch, self._max_front)
                if failed >= 0:
                    raise np.linalg.LinAlgError(
                        f"nested dissection: front of rectangle rows [{lev.r0[failed]}, {lev.r1[failed]}) x "
                        f"cols [{lev.c0[failed]}, {lev.c1[failed]}) is not positive definite")
                factors[depth] = (panels, chain_d, chain_l)
        return factors

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
        y = np.array(rhs, dtype=np.float64, order="C", copy=True)
        if y.ndim != 2 or y.shape[0] != 2 * self.shape[0] * self.shape[1]:
            raise ValueError(f"rhs must have shape ({2 * self.shape[0] * self.shape[1]}, batch); got {y.shape}")
        order = list(range(len(self.levels)))
        with _single_threaded_blas():
            for forward, depth in [(True, d) for d in order[::-1]] + [(False, d) for d in order]:
                lev = self.levels[depth]
                panels, chain_d, chain_l = self._factors[depth]
                solve_level(forward, int(lev.cut), *_geometry(lev), *self.values.arrays,
                            panels, lev.panel_offset, chain_d, chain_l, lev.chain_offset, y, self._max_front)
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
        out = np.empty((self.shape[1], v.shape[1]))
        for start in range(0, v.shape[1], RHS_CHUNK):
            part = v[:, start:start + RHS_CHUNK]
            u, b = self.node_voltages(part)
            out[:, start:start + RHS_CHUNK] = np.einsum("ij,ijk->jk", self.values.g_cell, u - b)
        return out[:, 0] if single else out

    def transfer_matrix(self) -> np.ndarray:
        """T (M x N) with ``sense_currents(V) == V @ T`` (S): M solves, chunked."""
        return self.sense_currents(np.eye(self.shape[0])).T.copy()


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


def _geometry(level: Level) -> tuple[np.ndarray, ...]:
    return level.r0, level.r1, level.c0, level.c1, level.line
