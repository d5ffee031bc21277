"""One fixed bias of a regular linear crossbar while a few cells change: Woodbury updates in cell space.

Inside a programming pulse the bias is fixed and only the cells that switch change conductance. With the
nodal matrix factored at conductances ``g0`` (:class:`~cosim.solve.low_rank.LowRankOperatingPoints`), the
cells U whose conductance differs by ``delta`` give the exact update of :mod:`cosim.solve.low_rank`:

    (I + P diag(delta)) c = c0,   y = delta * c,   v = v0 - R y,   I = I0 + S y,   p = p0 + c0 . y

``c``: the new voltages of the cells U, ``c0``: theirs at ``g0``; ``v`` every cell's voltage (``R``: the
cells' voltage response to a unit current pushed through each cell of U, ``P = R[U]``); ``I`` the driver
and sense currents (``S`` their response); ``p`` the power the sources deliver, which by Tellegen's theorem
is the power dissipated in every element, wires, drivers and senses included. The last identity holds
because the network is reciprocal: the current a unit voltage at a source drives through cell j equals
the source current that a unit current through cell j causes, so ``sum_s V_s S_sj = c0_j``.

A pulse splits U into the cells that moved before it (C, fixed during it) and those that move now (M,
usually the one selected cell). Eliminating C once (``E = (I + P_CC D_C)^-1``) leaves an m x m system
per update, m = |M|:

    (I + P~ diag(delta_M)) c_M = c~0,   P~ = P_MM - P_MC D_C E P_CM,   c~0 = c0_M - P_MC D_C E c0_C

and every other quantity is an affine function of ``y_M`` with coefficients computed when M is set. An
update then costs O(m^3 + m) and every cell's voltage O(cells x m); nothing scales with the nodes.

The base solution at the bias is a superposition of unit-bias solutions kept by the factorisation (one
level on all word lines, one on all bit lines, the few lines that differ): a single-cell bias at any
amplitude reuses them.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dgesv

from cosim.solve.low_rank import LowRankOperatingPoints, correction_inverse
from cosim.solve.solution import ARRAY_FIELDS, CrossbarSolution, solution_from_nodes


class BiasTracker:
    """Operating point of one bias while a few cells change (see the module docstring).

    Args:
        points: the factorisation and its response columns (a crossbar's low-rank state).
        v, e: (M,) word-line driver and (N,) bit-line end voltages, V; floating_wl, floating_bl: masks of
            lines whose driver / sense is disconnected (those of ``points``' factorisation), or None.
        g: (M N,) the cells' present conductances, S (the factorised ones except in a few cells).
    Methods return False / None where the policy of ``points`` says the correction is no longer exact
    (too many changed cells, or the small system too ill-conditioned): the caller refactors.
    """

    def __init__(self, points: LowRankOperatingPoints, v: np.ndarray, e: np.ndarray, floating_wl, floating_bl,
                 g: np.ndarray):
        self.points = points
        self.policy = points.policy
        self._v, self._e = v, e
        self._floating = (floating_wl, floating_bl)
        self._parts = [(c, points.unit(key)) for c, key in points.combination(v, e, floating_wl, floating_bl)]
        self._g0 = points.base_conductances
        self.g = np.array(g, dtype=np.float64).ravel()
        self._sigma = np.concatenate([v, -e])           # power = sigma . (driver currents, sense currents)
        if floating_wl is not None:
            self._sigma[: v.size][floating_wl] = 0.0
        if floating_bl is not None:
            self._sigma[v.size:][floating_bl] = 0.0
        i0 = self._sum("currents")
        self._i0, self._p0 = i0, float(self._sigma @ i0)
        self._v0_all: np.ndarray | None = None
        self.moving = np.zeros(0, np.int64)
        self.y = np.zeros(0)
        self.voltages = np.zeros(0)
        self.power = self._p0

    # ---- the moving set -------------------------------------------------------------------------------
    def track(self, moving: np.ndarray) -> bool:
        """Let ``moving`` (cell indices) be the cells that change from now on; the others keep their present
        conductances. Sets :attr:`voltages` (theirs) and :attr:`power`. False: past the policy's limits."""
        moving = np.asarray(moving, np.int64)
        changed = self.g != self._g0
        if moving.size:
            changed[moving] = False
        fixed = np.flatnonzero(changed)
        union = np.concatenate([fixed, moving]) if moving.size else fixed
        if union.size > self.policy.max_rank:
            return False
        rows = self.points.responses(union) if union.size else np.zeros(0, np.int64)
        if rows is None:
            return False
        k = fixed.size
        c0 = self._sum_cells(union)
        st = self.points.source_response(rows)           # (u, M + N): S^T
        if moving.size == 0:                             # no cell moves: only the fixed ones' currents
            self._rt_m, self._st_m, self._c_bar = np.zeros((0, self._g0.size)), st[:0], c0[:0]
            self._p_m, self._c_m, self._gamma = np.zeros((0, 0)), c0[:0], np.zeros((k, 0))
            self._rt_fixed, self._y_fixed, self._p_start, self._i_start = None, np.zeros(0), self._p0, self._i0
            if k:
                d_c = self.g[fixed] - self._g0[fixed]
                got = self.points.elimination(rows, fixed, d_c)
                if got is None:
                    return False
                y_c = d_c * (got[1] @ c0)
                self._y_fixed = y_c
                self._p_start = self._p0 + float(c0 @ y_c)
                self._i_start = self._i0 + y_c @ st
            self._rows, self._k, self._v_start = rows, k, None
            self.moving, self._scalar = moving, False
            return self.update(self.g[moving])
        p = self.points.cell_response_at(rows, union).T  # P_UU
        if k:
            d_c = self.g[fixed] - self._g0[fixed]
            got = self.points.elimination(rows[:k], fixed, d_c)
            if got is None:
                return False
            inverse = got[1]
            gamma = d_c[:, None] * (inverse @ p[:k, k:])        # y_C = y_C_start - gamma y_M
            y_c = d_c * (inverse @ c0[:k])
            self._p_m = p[k:, k:] - p[k:, :k] @ gamma
            self._c_m = c0[k:] - p[k:, :k] @ y_c
            # R~^T = R_M^T - gamma^T R_C^T, summed over the whole store (no gather of the fixed cells' rows)
            self._rt_m = self.points.cell_response(rows[k:]) - self.points.combine_cell_responses(rows[:k], gamma.T)
            self._st_m = st[k:] - gamma.T @ st[:k]
            self._rt_fixed, self._y_fixed = None, y_c
            self._p_start = self._p0 + float(c0[:k] @ y_c)
            self._c_bar = c0[k:] - gamma.T @ c0[:k]
            self._i_start = self._i0 + y_c @ st[:k]
            self._gamma = gamma
        else:
            self._p_m, self._c_m, self._rt_m, self._st_m = p, c0, self.points.cell_response(rows), st
            self._rt_fixed, self._y_fixed, self._gamma = None, np.zeros(0), np.zeros((0, moving.size))
            self._p_start, self._c_bar, self._i_start = self._p0, c0, self._i0
        self._rows, self._k = rows, k
        self._v_start = None
        self.moving = moving
        self._scalar = moving.size == 1
        if self._scalar:
            self._p_1, self._c_1, self._cb_1 = float(self._p_m[0, 0]), float(self._c_m[0]), float(self._c_bar[0])
        return self.update(self.g[moving])

    def update(self, g_moving: np.ndarray) -> bool:
        """The moving cells now conduct ``g_moving`` (S): new :attr:`voltages` (theirs, V), :attr:`y` (their
        extra currents, A) and :attr:`power` (W). False (nothing changed): the m x m system is too
        ill-conditioned for the policy."""
        m = self.moving
        if m.size == 0:
            self.y, self.voltages, self.power = np.zeros(0), np.zeros(0), self._p_start
            return True
        delta = g_moving - self._g0[m]
        if self._scalar:
            pd = self._p_1 * float(delta[0])
            den = 1.0 + pd
            if den == 0.0 or (1.0 + abs(pd)) / abs(den) > self.policy.max_amplification:
                return False
            c = np.array([self._c_1 / den])
            y = delta * c
            self.power = self._p_start + self._cb_1 * float(y[0])
        else:
            pd = self._p_m * delta[None, :]
            q = float(np.abs(pd).sum(axis=1).max())
            if q < 1.0 and (1.0 + q) / (1.0 - q) <= self.policy.max_amplification:
                # within the policy by the bound ||(I + pd)^-1|| <= 1 / (1 - q): one LU solve
                pd.flat[:: m.size + 1] += 1.0
                c = _solve(pd, self._c_m)
                if c is None:
                    return False
            else:
                inverse = correction_inverse(pd, self.policy.max_amplification)
                if inverse is None:
                    return False
                c = inverse @ self._c_m
            y = delta * c
            self.power = self._p_start + float(self._c_bar @ y)
        self.g[m] = g_moving
        self.voltages, self.y = c, y
        return True

    # ---- what the present state gives ------------------------------------------------------------------
    @property
    def response(self) -> np.ndarray:
        """(m, M N): how every cell's voltage falls per ampere of each moving cell's extra current :attr:`y`."""
        return self._rt_m

    def cell_voltages(self, cells: np.ndarray | None = None) -> np.ndarray:
        """Voltages (V) of every cell (M N,), or of ``cells``, at the present conductances."""
        if self._v_start is None:
            if self._v0_all is None:
                self._v0_all = self._sum("cell")
            self._v_start = self._v0_all - self.points.combine_cell_responses(self._rows[: self._k], self._y_fixed[None, :])[0] \
                if self._k else self._v0_all
        if cells is None:
            return self._v_start - self.y @ self._rt_m if self.y.size else self._v_start.copy()
        return self._v_start[cells] - self.y @ self._rt_m[:, cells] if self.y.size else self._v_start[cells]

    def base_cell_voltages(self) -> np.ndarray:
        """(M N,) every cell's voltage at the factorised conductances, V (a view: do not change it)."""
        if self._v0_all is None:
            self._v0_all = self._sum("cell")
        return self._v0_all

    def terminal_currents(self) -> np.ndarray:
        """(M + N,) driver currents (into the word lines) then sense currents (into the senses), A."""
        return self._i_start + self.y @ self._st_m if self.y.size else self._i_start.copy()

    def sense_currents(self) -> np.ndarray:
        """(N,) current from each bit line into its sense, A."""
        return self.terminal_currents()[self._v.size:]

    def solution(self, layout, g_cell: np.ndarray) -> CrossbarSolution:
        """The full operating point at the present conductances (every node; O(nodes x rank)).

        ``g_cell``: (M, N) the memristive cells' own conductances, S (1R: the tracked ones)."""
        return self.solution_later(layout, g_cell)()

    def solution_later(self, layout, g_cell: np.ndarray):
        """A function that gives :meth:`solution` of the present state when called, holding only what it
        needs (the unit solutions of this bias, the response columns and the cells' currents; not the
        tracker or the factorisation, so outcomes kept for long do not keep whole factorisations alive)."""
        m, n = layout.rows, layout.cols
        parts = list(self._parts)
        rows = self._rows
        columns = self.points.node_response_store() if rows.size else None
        y = None
        if rows.size:
            y_fixed = self._y_fixed - self._gamma @ self.y if self._k else self._y_fixed
            y = np.concatenate([y_fixed, self.y])
        g_eff = self.g.reshape(m, n).copy()
        g_cell = np.array(g_cell, dtype=np.float64)
        v, e, (fw, fb) = self._v.copy(), self._e.copy(), self._floating
        size = 2 * m * n

        def solve() -> CrossbarSolution:
            x = np.zeros(size)
            for c, part in parts:
                x += c * part.x
            if y is not None:
                x -= columns[:, rows] @ y
            u, b = x[: m * n].reshape(1, m, n), x[m * n:].reshape(1, m, n)
            sol = solution_from_nodes(layout, g_cell, g_eff, u, b, v[None], e[None], fw, fb)
            return CrossbarSolution(*(getattr(sol, f)[0] for f in ARRAY_FIELDS),
                                    {k: val[0] for k, val in sol.power_by_kind.items()})
        return solve

    # ---- helpers ----------------------------------------------------------------------------------------
    def _sum(self, field: str) -> np.ndarray:
        """The base solution's ``field`` (see :class:`~cosim.solve.low_rank.UnitSolution`) at this bias."""
        (c, first), *rest = self._parts or [(0.0, None)]
        if first is None:
            size = {"x": 2 * self._g0.size, "cell": self._g0.size, "currents": self._sigma.size}[field]
            return np.zeros(size)
        out = c * getattr(first, field)
        for c, part in rest:
            out += c * getattr(part, field)
        return out

    def _sum_cells(self, cells: np.ndarray) -> np.ndarray:
        out = np.zeros(cells.size)
        for c, part in self._parts:
            out += c * part.cell[cells]
        return out


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``a^-1 b`` for a small dense system by LAPACK's LU (no Python-level checks); None when singular."""
    _, _, x, info = dgesv(a, b)
    return x if info == 0 else None
