"""Operating points after a few cells changed: a rank-k (Woodbury) correction of a cached factorisation.

A programming pulse moves the selected cell and leaves the others almost or exactly where they were;
refactoring the whole array at every sub-step repeats work that did not change. With the nodal matrix
``A`` factored at conductances ``g0``, let k cells change by ``delta`` (S). Cell c joins its word-line
node and its bit-line node; ``w_c`` is +1 at the first and -1 at the second (zero where the node is
pinned by an ideal driver or sense), so the new matrix is ``A + W diag(delta) W^T``. Writing the new
voltages as the old ones ``x0`` minus the response to the extra cell currents ``delta * c`` (``c``: the
k new cell voltages, including pinned ends) gives the exact update

    (I + P diag(delta)) c = c0,      x = x0 - Z (delta * c),      Z = A^-1 W,  P = W^T Z,

where ``c0`` are the cell voltages of ``x0``. ``Z`` costs one solve per changed cell, computed when the
cell first changes and kept (a single-cell pulse pays it once); each further solve costs
O(k * nodes + k^3). The result equals a fresh factorisation to rounding, amplified by the k x k
system's sensitivity ``|| |I| + |P diag(delta)| || * || (I + P diag(delta))^-1 ||`` (infinity norms; for one
cell ``(1 + |p delta|) / |1 + p delta|``, large when a cell that dominated its surroundings is nearly
removed), which is why :class:`LowRankPolicy` refactors when it grows (or when k does).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collections import OrderedDict

from cosim.solve.nested import NestedDissectionSolver
from cosim.solve.nested_values import NodalValues, right_hand_side

#: memory the unit-bias solutions of one factorisation may hold (each 2 M N + M N + M + N floats), bytes;
#: the least recently used go first (at least MIN_UNIT_SOLUTIONS are kept)
UNIT_SOLUTION_BYTES = 64 * 2 ** 20
MIN_UNIT_SOLUTIONS = 8
#: after this many single solves for lines of one kind, the other lines of that kind are solved in one batch
#: (a batch costs about as much per line as 1/6 of a single solve at 64 x 64)
UNIT_BATCH_AFTER = 8
#: a bias whose lines differ from the two common levels in more than this many places is solved directly
MAX_DEVIATIONS = 4


@dataclass(frozen=True)
class LowRankPolicy:
    """When a solve corrects the cached factorisation instead of refactoring.

    Attributes:
        max_rank: most cells whose conductance differs from the factorised one (0 = always refactor).
            Each new changed cell costs one solve (~1/3 of a factorisation at 64 x 64), so a few tens
            pay off only when the same cells keep changing, as in a pulse's sub-steps.
        max_amplification: largest rounding-error amplification of the k x k correction system (see
            the module docstring); above it the correction could lose more than about
            ``max_amplification * 1e-16`` relative accuracy, and the solve refactors instead.
    """

    max_rank: int = 32
    max_amplification: float = 1e5

    def __post_init__(self) -> None:
        if isinstance(self.max_rank, bool) or not isinstance(self.max_rank, (int, np.integer)) or self.max_rank < 0:
            raise ValueError(f"LowRankPolicy.max_rank must be an integer >= 0; got {self.max_rank!r}")
        if not self.max_amplification >= 1.0:
            raise ValueError(f"LowRankPolicy.max_amplification must be >= 1; got {self.max_amplification!r}")


class LowRankOperatingPoints:
    """Node voltages of one regular crossbar at changed cell conductances, from one factorisation.

    Args:
        solver: the nested-dissection factorisation at the base conductances (its ``values.g_cell``).
        policy: when to give up and ask for a fresh factorisation.
    """

    def __init__(self, solver: NestedDissectionSolver, policy: LowRankPolicy):
        self.solver = solver
        self.policy = policy
        m, n = solver.shape
        vals = solver.values
        self._g0 = vals.g_cell
        cell = np.arange(m * n)
        pinned_u = np.zeros((m, n), bool)
        pinned_u[:, 0] = vals.pinned_source
        pinned_b = np.zeros((m, n), bool)
        pinned_b[-1, :] = vals.pinned_sense
        # unknown index of each cell's two ends, or -1 where the end is pinned
        self._end_u = np.where(pinned_u.ravel(), -1, cell)
        self._end_b = np.where(pinned_b.ravel(), -1, m * n + cell)
        # per cached cell (in order of arrival; storage grows by doubling): Z = A^-1 w, one column each; its
        # cell-voltage rows R^T (w_c^T A^-1 w over all cells c), one row each; the source currents it causes
        self._count = 0
        self._zbuf = np.zeros((2 * m * n, 0), order="F")
        self._rt = np.zeros((0, m * n))
        self._st = np.zeros((0, m + n))
        self._units: OrderedDict = OrderedDict()  # unit-bias solutions (see unit())
        self._misses: dict[str, int] = {}         # single unit solves per kind of line ("w", "b")
        self._eliminations: dict = {}             # see elimination()
        self._column = np.full(m * n, -1, np.int64)   # column of Z for each cell, -1 if none
        self._bias_key: bytes | None = None
        self._x0: np.ndarray | None = None

    @property
    def cached_cells(self) -> int:
        """Number of cells whose response column ``A^-1 w`` is held."""
        return self._count

    @property
    def _z(self) -> np.ndarray:
        return self._zbuf[:, : self._count]

    def node_voltages(self, g_cell: np.ndarray, v: np.ndarray, v_bl: np.ndarray):
        """Node voltages (2 M N, batch) at cell conductances ``g_cell`` (M, N, S), or None to refactor.

        Args:
            g_cell: effective cell conductances, S (the factorised ones except in a few cells).
            v: (M, batch) driver voltages, V; v_bl: (N, batch) bit-line end voltages, V.
        Returns None (and changes nothing) when more than ``policy.max_rank`` cells changed or the
        correction system is too ill-conditioned to keep the answer exact.
        """
        return self._updated(g_cell, lambda: self._base_voltages(v, v_bl))

    def solve_rhs(self, g_cell: np.ndarray, rhs: np.ndarray):
        """``A^-1 rhs`` (2 M N, batch) at cell conductances ``g_cell`` for injected currents ``rhs`` (A; 0 at
        pinned nodes), or None to refactor (the same conditions as :meth:`node_voltages`)."""
        return self._updated(g_cell, lambda: self.solver.solve_rhs(rhs))

    def _updated(self, g_cell: np.ndarray, base):
        """The Woodbury update at ``g_cell`` of the base-conductance solution ``base()``, or None."""
        changed = np.flatnonzero(g_cell.ravel() != self._g0.ravel())
        if changed.size > self.policy.max_rank:
            return None
        if self.cached_cells + np.count_nonzero(self._column[changed] < 0) > 2 * self.policy.max_rank:
            return None                          # the cache of columns would outgrow its use
        x0 = base()
        if changed.size == 0:
            return x0.copy()
        delta = g_cell.ravel()[changed] - self._g0.ravel()[changed]
        z = self._columns(changed)
        eu, eb = self._end_u[changed], self._end_b[changed]
        p = np.where(eu[:, None] >= 0, z[np.maximum(eu, 0)], 0.0) - np.where(eb[:, None] >= 0, z[np.maximum(eb, 0)], 0.0)
        system = p * delta[None, :]
        magnitude = np.abs(system).sum(axis=1).max() + 1.0
        system.flat[:: changed.size + 1] += 1.0
        try:
            inverse = np.linalg.inv(system)
        except np.linalg.LinAlgError:
            return None
        if magnitude * np.abs(inverse).sum(axis=1).max() > self.policy.max_amplification:
            return None
        m, n = self.solver.shape
        c0 = x0[changed] - x0[m * n + changed]
        c = inverse @ c0
        return x0 - z @ (delta[:, None] * c)

    def _base_voltages(self, v: np.ndarray, v_bl: np.ndarray) -> np.ndarray:
        """Voltages at the base conductances for this bias (one solve, kept while the bias repeats)."""
        key = v.tobytes() + v_bl.tobytes() + bytes(str(v.shape), "ascii")
        if key != self._bias_key:
            self._x0 = self.solver.solve_rhs(right_hand_side(self.solver.values, v, v_bl))
            self._bias_key = key
        return self._x0

    def _columns(self, cells: np.ndarray) -> np.ndarray:
        """Z = A^-1 W for ``cells`` (2 M N, k), solving once for cells not seen before."""
        self._add_columns(cells)
        return self._z[:, self._column[cells]]

    def _add_columns(self, cells: np.ndarray) -> None:
        """Solve once for the response columns of the ``cells`` not seen before (Z, and its cell and terminal rows)."""
        new = cells[self._column[cells] < 0]
        if not new.size:
            return
        new = np.unique(new)
        k = np.arange(new.size)
        rhs = np.zeros((self._zbuf.shape[0], new.size))
        eu, eb = self._end_u[new], self._end_b[new]
        rhs[eu[eu >= 0], k[eu >= 0]] = 1.0
        rhs[eb[eb >= 0], k[eb >= 0]] = -1.0
        z = self.solver.solve_rhs(rhs)
        mn = self._rt.shape[1]
        # a unit current pushed through cell c (out of its word-line end, into its bit-line end) moves the
        # nodes by -z; the sources at a pinned end of the cell carry it directly
        m, n = self.solver.shape
        s = terminal_currents(self.solver.values, -z, np.zeros((m, 1)), np.zeros((n, 1)))
        s[new[eu < 0] // n, k[eu < 0]] += 1.0
        s[m + new[eb < 0] % n, k[eb < 0]] += 1.0
        first, last = self._count, self._count + new.size
        if last > self._zbuf.shape[1]:
            self._grow(max(last, 2 * self._zbuf.shape[1], 4))
        self._zbuf[:, first:last] = z
        self._rt[first:last] = (z[:mn] - z[mn:]).T
        self._st[first:last] = s.T
        self._column[new] = first + k
        self._count = last

    def _grow(self, capacity: int) -> None:
        count = self._count
        z = np.zeros((self._zbuf.shape[0], capacity), order="F")
        z[:, :count] = self._zbuf[:, :count]
        rt, st = np.zeros((capacity, self._rt.shape[1])), np.zeros((capacity, self._st.shape[1]))
        rt[:count], st[:count] = self._rt[:count], self._st[:count]
        self._zbuf, self._rt, self._st = z, rt, st

    # ---- what a fixed bias needs (cosim.solve.bias_tracking) ---------------------------------------
    @property
    def base_conductances(self) -> np.ndarray:
        """(M N,) the factorised cell conductances, S (read-only view)."""
        return self._g0.ravel()

    def responses(self, cells: np.ndarray) -> np.ndarray | None:
        """Storage rows of the response of ``cells`` to a unit current pushed through each (solved once per
        cell; read them with :meth:`cell_response`, :meth:`source_response`, :meth:`node_response`), or None
        when the cache would outgrow ``2 * policy.max_rank`` cells."""
        missing = cells[self._column[cells] < 0]
        if missing.size and self._count + np.unique(missing).size > 2 * self.policy.max_rank:
            return None
        self._add_columns(cells)
        return self._column[cells]

    def cell_response(self, rows: np.ndarray) -> np.ndarray:
        """(k, M N): every cell's voltage change per ampere through each cell of ``rows``, sign-flipped (V/A)."""
        return self._rt[rows]

    def elimination(self, rows: np.ndarray, cells: np.ndarray, delta: np.ndarray):
        """``(P, (I + P diag(delta))^-1)`` of changed ``cells`` (storage ``rows``) by ``delta`` (S), P = their
        cell responses at each other; None when the policy's amplification limit refuses it. The last few
        are kept: a cell pulsed again and again meets the same other cells changed by the same amounts."""
        key = (rows.tobytes(), delta.tobytes())
        got = self._eliminations.get(key)
        if got is None:
            p = self._rt[np.ix_(rows, cells)].T
            got = (p, correction_inverse(p * delta[None, :], self.policy.max_amplification))
            if len(self._eliminations) >= 4:
                self._eliminations.pop(next(iter(self._eliminations)))
            self._eliminations[key] = got
        return None if got[1] is None else got

    def combine_cell_responses(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(b, M N): ``weights`` (b, k) times the :meth:`cell_response` of ``rows``, without gathering those
        rows (one product over the whole store, which holds at most ``2 * policy.max_rank`` rows)."""
        full = np.zeros((weights.shape[0], self._count))
        full[:, rows] = weights
        return full @ self._rt[: self._count]

    def cell_response_at(self, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """(k, len(cells)): :meth:`cell_response` at ``cells`` only."""
        return self._rt[np.ix_(rows, cells)]

    def source_response(self, rows: np.ndarray) -> np.ndarray:
        """(k, M + N): driver currents (into the word lines) then sense currents (into the senses) per ampere."""
        return self._st[rows]

    def node_response_store(self) -> np.ndarray:
        """The array holding the columns Z (2 M N, capacity): column ``row`` is cell ``row``'s node response.
        Columns once written never change (growth copies them into a new array)."""
        return self._zbuf

    def node_response(self, rows: np.ndarray) -> np.ndarray:
        """(2 M N, k): the node voltages' change per ampere, sign-flipped (the columns Z)."""
        return self._zbuf[:, rows]

    def unit(self, key: tuple) -> "UnitSolution":
        """The base-conductance solution of a unit bias ``key``: ("W",) every word-line driver at 1 V, ("B",)
        every bit-line end at 1 V, ("w", i) / ("b", j) one line at 1 V, ("x", v, e) an exact bias (bytes);
        all other sources at 0 V. Solved once and kept (at most MAX_UNIT_SOLUTIONS, least recently used out)."""
        got = self._units.get(key)
        if got is not None:
            self._units.move_to_end(key)
            return got
        m, n = self.solver.shape
        keys = [key]
        capacity = max(MIN_UNIT_SOLUTIONS, UNIT_SOLUTION_BYTES // (8 * (3 * m * n + m + n)))
        if key[0] in ("w", "b"):
            self._misses[key[0]] = self._misses.get(key[0], 0) + 1
            lines = m if key[0] == "w" else n
            if self._misses[key[0]] > UNIT_BATCH_AFTER and lines + 2 <= capacity // 2:
                keys = [(key[0], i) for i in range(lines) if (key[0], i) not in self._units]
        v, e = np.zeros((m, len(keys))), np.zeros((n, len(keys)))
        for col, k in enumerate(keys):
            if k[0] == "W":
                v[:, col] = 1.0
            elif k[0] == "B":
                e[:, col] = 1.0
            elif k[0] == "w":
                v[k[1], col] = 1.0
            elif k[0] == "b":
                e[k[1], col] = 1.0
            else:
                v[:, col], e[:, col] = np.frombuffer(k[1]), np.frombuffer(k[2])
        x = self.solver.solve_rhs(right_hand_side(self.solver.values, v, e))
        currents = terminal_currents(self.solver.values, x, v, e)
        cell = x[: m * n] - x[m * n:]
        for col, k in enumerate(keys):
            self._units[k] = UnitSolution(x[:, col].copy(), cell[:, col].copy(), currents[:, col].copy())
        while len(self._units) > capacity:
            self._units.popitem(last=False)
        self._units.move_to_end(key)
        return self._units[key]

    def combination(self, v: np.ndarray, e: np.ndarray, floating_wl=None, floating_bl=None) -> list[tuple[float, tuple]]:
        """A bias (word-line drivers ``v`` (M,), bit-line ends ``e`` (N,), V) as a sum of coefficient x unit
        bias (:meth:`unit`): one level on all word lines, one on all bit lines, and the lines that differ
        (superposition, exact); an exact-bias solve when more than MAX_DEVIATIONS lines differ. Floating
        lines have no source, so their voltages do not count."""
        parts: list[tuple[float, tuple]] = []
        deviations = []
        for name, volts, floating in (("w", v, floating_wl), ("b", e, floating_bl)):
            level = _common_level(volts)
            off = volts != level
            if floating is not None:
                off &= ~floating
            idx = np.flatnonzero(off)
            if level != 0.0:
                parts.append((level, ("W",) if name == "w" else ("B",)))
            deviations.extend((float(volts[i] - level), (name, int(i))) for i in idx)
            if len(deviations) > MAX_DEVIATIONS:
                vv, ee = v.astype(np.float64), e.astype(np.float64)
                if floating_wl is not None:
                    vv = np.where(floating_wl, 0.0, vv)
                if floating_bl is not None:
                    ee = np.where(floating_bl, 0.0, ee)
                return [(1.0, ("x", vv.tobytes(), ee.tobytes()))]
        return parts + deviations


class UnitSolution:
    """One unit bias at the base conductances: node voltages ``x`` (2 M N,), cell voltages ``cell`` (M N,),
    driver then sense currents ``currents`` (M + N,), per volt of the bias."""

    __slots__ = ("x", "cell", "currents")

    def __init__(self, x: np.ndarray, cell: np.ndarray, currents: np.ndarray):
        self.x, self.cell, self.currents = x, cell, currents


def _common_level(volts: np.ndarray) -> float:
    """The value most lines share, judged from the first two (single-cell biases hold all lines but one
    of each kind at one level); 0 for a single line."""
    if volts.size < 2:
        return 0.0
    a, b = float(volts[0]), float(volts[1])
    return a if a == b or np.count_nonzero(volts == a) >= np.count_nonzero(volts == b) else b


def terminal_currents(values: NodalValues, x: np.ndarray, v: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Driver currents (from each driver into its word line) then sense currents (from each bit line into its
    sense), (M + N, batch) A, from node voltages ``x`` (2 M N, batch) and the sources ``v`` (M, batch),
    ``e`` (N, batch) in V, at the conductances of ``values``. An ideal source carries what Kirchhoff's law
    gives at its node (the first word-line segment and cell, or the last bit-line segment and cell), as in
    :func:`cosim.solve.solution.solution_from_nodes`; floating lines carry none."""
    m, n = values.g_cell.shape
    xu = x[: m * n].reshape(m, n, -1)
    xb = x[m * n:].reshape(m, n, -1)
    g = values.g_cell
    into_wl = g[:, 0, None] * (xu[:, 0] - xb[:, 0])
    if n > 1:
        into_wl = into_wl + values.g_wl0[:, None] * (xu[:, 0] - xu[:, 1])
    driver = np.where(values.pinned_source[:, None], into_wl, values.g_source[:, None] * (v - xu[:, 0]))
    into_sense = g[-1, :, None] * (xu[-1] - xb[-1])
    if m > 1:
        into_sense = into_sense + values.g_bl_last[:, None] * (xb[-2] - xb[-1])
    sense = np.where(values.pinned_sense[:, None], into_sense, values.g_sense[:, None] * (xb[-1] - e))
    return np.concatenate([driver, sense])


def correction_inverse(pd: np.ndarray, max_amplification: float) -> np.ndarray | None:
    """The inverse of the correction system ``I + pd`` (k x k), or None when singular or when it would amplify
    rounding by more than ``max_amplification`` (``|| |I| + |pd| || || (I + pd)^-1 ||``, infinity norms, the
    measure of the module docstring)."""
    magnitude = np.abs(pd).sum(axis=1).max() + 1.0
    system = pd.copy()
    system.flat[:: pd.shape[0] + 1] += 1.0
    try:
        inverse = np.linalg.inv(system)
    except np.linalg.LinAlgError:
        return None
    if magnitude * np.abs(inverse).sum(axis=1).max() > max_amplification:
        return None
    return inverse
