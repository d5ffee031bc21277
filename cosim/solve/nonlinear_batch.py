"""Batched nonlinear solves: many inputs on sinh cells share one factorisation of the small-signal matrix.

For every input the operating point solves ``F(x) = 0`` (KCL with cells ``I = (G/b) sinh(b v)``; see
:mod:`cosim.solve.newton`). Its Jacobian ``J(x)`` is the nodal matrix stamped with ``G cosh(b v)`` in
place of ``G``: every cell conductance grows by the factor ``cosh(b v) >= 1`` and nothing else changes,
so with ``P`` the small-signal matrix (``v = 0``), ``P <= J <= c P`` with ``c = max cosh(b v)`` (1.43 at
``b v = 0.9``). ``P`` is factored once (nested dissection on regular 1R arrays, sparse LU otherwise) and
each Newton step solves ``J dx = -F`` by conjugate gradients preconditioned with ``P``: the condition
number of ``P^-1 J`` is at most ``c``, so each CG iteration cuts the error by
``(sqrt(c) - 1) / (sqrt(c) + 1)`` (0.09 at c = 1.43). All inputs of a chunk iterate together: one
preconditioner application is one multi-right-hand-side solve, and each input keeps its own CG
coefficients, Newton steps and line search (on the convex co-content, as in :mod:`cosim.solve.newton`).

Convergence of an input: the preconditioned residual ``P^-1 F`` (volts) bounds the remaining Newton
correction; when its largest entry is below ``tol`` times the largest terminal voltage the input is
done. An input that has not converged after ``max_newton`` steps (or whose line search stalls) is
finished by per-input full Newton (:func:`cosim.solve.newton.newton`), and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cosim.solve.newton import ARMIJO, ConvergenceError, SinhNetwork, newton

#: unknowns x inputs held per chunk of inputs: the solve keeps about ten arrays of this many doubles
#: (64 MiB each)
CHUNK_ENTRIES = 2 ** 23
#: most inputs per chunk: more right-hand sides make each solve cheaper per input, but past ~64 the
#: work arrays outgrow what the allocator recycles (fresh pages every iteration) -- measured at 128 x 128
#: and 256 x 256 on the 2-core machine (benchmarks/bench_nonlinear.py)
MAX_CHUNK = 64

Preconditioner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BatchReport:
    """How a batched nonlinear solve went.

    Attributes:
        newton_steps: (batch,) Newton steps each input took on the shared factorisation.
        cg_iterations: (batch,) conjugate-gradient iterations each input took (one preconditioner
            application each).
        correction_v: (batch,) largest entry of the last preconditioned residual ``P^-1 F``, V (the
            error estimate that met the tolerance).
        fallback: (batch,) True where per-input full Newton finished the input.
        tolerance_v: (batch,) the convergence threshold on ``correction_v``, V.
        preconditioner_solves: multi-right-hand-side solves with the factorisation (all chunks).
    """

    newton_steps: np.ndarray
    cg_iterations: np.ndarray
    correction_v: np.ndarray
    fallback: np.ndarray
    tolerance_v: np.ndarray
    preconditioner_solves: int


def solve_batch(net: SinhNetwork, vt: np.ndarray, precondition: Preconditioner, tol: float = 1e-12,
                max_newton: int = 30, max_cg: int = 40, fallback_iter: int = 100,
                keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, BatchReport]:
    """Operating points of many inputs on the same sinh-cell circuit.

    Args:
        net: the circuit with its sinh cells.
        vt: (n_terminals, batch) terminal voltages, V.
        precondition: ``r -> P^-1 r`` for (n_unknowns, k) currents (A), the small-signal matrix ``P``
            factored once (islands: identity rows).
        tol: an input is converged when ``max |P^-1 F| <= tol * max |vt|`` (volts).
        max_newton, max_cg: Newton steps before the per-input fallback; CG iterations per Newton step.
        fallback_iter: Newton iterations the per-input fallback may take.
        keep: what to return of each chunk's solution, ``keep(x, vt) -> (..., k)`` (default: the
            unknowns x themselves); e.g. only the terminal currents, so a large batch never holds every
            node voltage at once.
    Raises:
        ConvergenceError: when the per-input fallback does not converge either.
    Returns:
        (out, report): ``keep`` of the unknown voltages (default (n_unknowns, batch), V), chunks joined
        along the last axis, and the :class:`BatchReport`.
    """
    vt = np.asarray(vt, np.float64)
    batch = vt.shape[1]
    chunk = int(np.clip(CHUNK_ENTRIES // max(net.circuit.n_unknowns, 1), 1, MAX_CHUNK))
    steps, cg, corr, fb = (np.zeros(batch, np.int64), np.zeros(batch, np.int64), np.zeros(batch),
                           np.zeros(batch, bool))
    tol_v = tol * np.maximum(np.max(np.abs(vt), axis=0, initial=0.0), 1e-300)
    solves, parts = 0, []
    if batch == 0:
        empty = np.zeros((net.circuit.n_unknowns, 0))
        parts.append(empty if keep is None else keep(empty, vt))
    for start in range(0, batch, chunk):
        cols = slice(start, min(start + chunk, batch))
        solver = _ChunkSolver(net, vt[:, cols], precondition, tol_v[cols], max_cg)
        solver.run(max_newton)
        x = solver.x
        steps[cols], cg[cols], corr[cols], fb[cols] = solver.steps, solver.cg, solver.correction, ~solver.done
        for j in np.flatnonzero(~solver.done):  # the inputs the shared factorisation did not finish
            x[:, j:j + 1], extra = newton(net, vt[:, start + j:start + j + 1], x[:, j:j + 1], fallback_iter)
            steps[start + j] += extra
        solves += solver.solves
        parts.append(x if keep is None else keep(x, vt[:, cols]))
    return np.concatenate(parts, axis=-1), BatchReport(steps, cg, corr, fb, tol_v, solves)


class _ChunkSolver:
    """Newton-CG on one chunk of inputs; inputs leave the active set as they converge."""

    def __init__(self, net: SinhNetwork, vt: np.ndarray, precondition: Preconditioner, tol_v: np.ndarray,
                 max_cg: int):
        self.net, self.vt, self.precondition, self.tol_v, self.max_cg = net, vt, precondition, tol_v, max_cg
        k = vt.shape[1]
        self.steps, self.cg = np.zeros(k, np.int64), np.zeros(k, np.int64)
        self.correction = np.full(k, np.inf)
        self.done, self.failed = np.zeros(k, bool), np.zeros(k, bool)
        self.solves = 0
        self.previous, self.quadratic = None, np.full(k, np.inf)
        self.bv = np.asarray(net.B @ vt)
        self.x = net.start(self._apply(self.bv), vt)

    def _apply(self, r: np.ndarray) -> np.ndarray:
        self.solves += 1
        return self.precondition(r)

    def run(self, max_newton: int) -> None:
        net = self.net
        act = np.arange(self.vt.shape[1])
        x, vt, bv = self.x, self.vt, self.bv
        v = net.cell_voltages(x, vt)
        f = net.residual(x, bv, v)
        for _ in range(max_newton + 1):
            z = self._apply(-f)
            self.correction[act] = np.max(np.abs(z), axis=0, initial=0.0)
            conv = self.correction[act] <= self.tol_v[act]
            self.done[act[conv]] = True
            if conv.any():                      # converged inputs leave the active set
                self.x[:, act[conv]] = x[:, conv]
                keep = ~conv
                act, x, vt, bv, v, f, z = act[keep], x[:, keep], vt[:, keep], bv[:, keep], v[:, keep], f[:, keep], z[:, keep]
            if act.size == 0:
                return
            # forcing term: solve each Newton system only as well as the step can use it -- Newton's own
            # error after an exact step is ~ C c^2 (C measured from the first two steps), and no better
            # than the tolerance is needed
            c = self.correction[act]
            if self.previous is not None:
                prev = self.previous[act]
                self.quadratic[act] = np.where(np.isfinite(prev), c / prev ** 2, self.quadratic[act])
            eta = np.clip(np.maximum(self.quadratic[act] * c, 0.5 * self.tol_v[act] / c), 1e-9, 0.1)
            self.previous = self.correction.copy()
            dx = self._cg(net.extra_conductance(v), -f, z, eta, act)
            x, v, f, stalled = self._line_search(x, vt, bv, v, f, dx)
            self.steps[act] += 1
            if stalled.any():                   # per-input Newton takes over
                self.failed[act[stalled]] = True
                self.x[:, act[stalled]] = x[:, stalled]
                keep = ~stalled
                act, x, vt, bv, v, f = act[keep], x[:, keep], vt[:, keep], bv[:, keep], v[:, keep], f[:, keep]
                if act.size == 0:
                    return
        self.x[:, act] = x

    def _cg(self, extra: np.ndarray, r: np.ndarray, z: np.ndarray, eta: np.ndarray, act: np.ndarray) -> np.ndarray:
        """Preconditioned CG on J dx = r, all columns in step (finished ones frozen), from dx = 0.

        ``P p`` follows from the recurrence, so each iteration costs one preconditioner solve and the
        cells' part of ``J p`` (two sparse products over the cells), not a product with the whole matrix.
        """
        net = self.net
        dx = np.zeros_like(r)
        p = z.copy()
        pp = r.copy()                 # P p, carried by the recurrence P p = r + beta P p (P z = r)
        rz = np.einsum("ij,ij->j", r, z)
        target = (eta ** 2) * rz
        going = rz > target
        for _ in range(self.max_cg):
            if not going.any():
                break
            q = pp + net.cell_product(p, extra)      # J p = P p + Kc^T diag(extra) Kc p
            q[net.island] = p[net.island]
            pq = np.einsum("ij,ij->j", p, q)
            alpha = np.where(going, rz / np.where(going, pq, 1.0), 0.0)
            dx += alpha * p
            r -= alpha * q
            z = self._apply(r)
            rz_new = np.einsum("ij,ij->j", r, z)
            beta = np.where(going, rz_new / np.where(going, rz, 1.0), 0.0)
            p *= beta
            p += z
            pp *= beta
            pp += r
            rz = np.where(going, rz_new, rz)
            self.cg[act[going]] += 1
            going &= rz_new > target
        return dx

    def _line_search(self, x, vt, bv, v, f, dx):
        """Per-input step: full where the residual or the co-content decreases enough, else halved.

        Returns the new (x, v, f) and a mask of the inputs whose line search stalled (left unchanged).
        """
        net = self.net
        norm = np.linalg.norm(f, axis=0)
        x1 = x + dx
        v1 = net.cell_voltages(x1, vt)
        f1 = net.residual(x1, bv, v1)
        ok = np.all(np.isfinite(f1), axis=0) & (np.linalg.norm(f1, axis=0) < norm)
        todo = np.flatnonzero(~ok)
        alpha = np.ones(todo.size)
        slope = np.sum(f[:, todo] * dx[:, todo], axis=0)
        for _ in range(60):
            if todo.size == 0:
                break
            xt = x[:, todo] + alpha * dx[:, todo]
            vtd = net.cell_voltages(xt, vt[:, todo])
            ft = net.residual(xt, bv[:, todo], vtd)
            finite = np.all(np.isfinite(ft), axis=0)
            good = finite & ((np.linalg.norm(ft, axis=0) < norm[todo])
                             | (net.energy_change(x[:, todo], xt, bv[:, todo], v[:, todo], vtd) <= ARMIJO * alpha * slope))
            x1[:, todo[good]], v1[:, todo[good]], f1[:, todo[good]] = xt[:, good], vtd[:, good], ft[:, good]
            todo, alpha, slope = todo[~good], alpha[~good] * 0.5, slope[~good]
        stalled = np.zeros(x.shape[1], bool)
        stalled[todo] = True
        x1[:, todo], v1[:, todo], f1[:, todo] = x[:, todo], v[:, todo], f[:, todo]
        return x1, v1, f1, stalled


def lu_preconditioner(factored) -> Preconditioner:
    """``r -> P^-1 r`` with a general-path factorisation (:class:`cosim.solve.mna.FactoredCircuit`)."""
    return factored.solve_matrix


def nested_preconditioner(solver, node_of_unknown: np.ndarray) -> Preconditioner:
    """``r -> P^-1 r`` with a nested-dissection factorisation of a regular 1R crossbar.

    Args:
        solver: a :class:`cosim.solve.nested.NestedDissectionSolver` of the small-signal conductances.
        node_of_unknown: (n_unknowns,) grid index (``u[i, j] -> i N + j``, ``b[i, j] -> M N + i N + j``) of
            each unknown; the grid's pinned nodes (ideal drivers and senses) are not unknowns.
    """
    n_grid = 2 * solver.shape[0] * solver.shape[1]
    # the unknowns are the grid nodes in order, less the pinned ones: copy contiguous runs, not gather
    node_of_unknown = np.asarray(node_of_unknown, np.int64)
    breaks = np.flatnonzero(np.diff(node_of_unknown) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [node_of_unknown.size]])
    runs = [(int(node_of_unknown[a]), int(a), int(b - a)) for a, b in zip(starts, ends)] if node_of_unknown.size else []
    buffer = [np.zeros((n_grid, 0))]

    def apply(r: np.ndarray) -> np.ndarray:
        # one buffer, solved in place: the pinned rows keep their zero right-hand side, and a pinned
        # row's solution is its right-hand side, so they stay zero between calls of the same width
        if buffer[0].shape[1] != r.shape[1]:
            buffer[0] = np.zeros((n_grid, r.shape[1]))
        y = buffer[0]
        for grid, unknown, length in runs:
            y[grid:grid + length] = r[unknown:unknown + length]
        y = solver.solve_rhs(y, overwrite=True)
        out = np.empty_like(r)
        for grid, unknown, length in runs:
            out[unknown:unknown + length] = y[grid:grid + length]
        return out

    return apply
