"""Newton solve of a compiled circuit whose memristive cells follow I = (G / b) sinh(b V).

With ``k b = 1`` the small-signal conductance at 0 V is ``G``; ``b`` (1/V) sets the nonlinearity
(b -> 0 is the linear cell). Each iteration re-stamps the same sparsity pattern with the
linearised conductances ``G cosh(b V)`` and solves for the correction.

Globalisation. Every element law is the derivative of a convex co-content,

    phi(v) = g v^2 / 2 (linear element),    phi(v) = (G / b^2) cosh(b v) (sinh cell),

so the KCL residual ``F(x)`` (net current leaving each unknown node, A) is the gradient of
``E(x) = sum_e phi_e(v_e(x))`` (W) and the Jacobian is its Hessian, symmetric positive definite.
Newton with a backtracking (Armijo) line search on ``E`` therefore converges from any start where
``E`` is finite. The start is the small-signal solution, pulled toward 0 V until no ``sinh`` overflows;
a trial point that overflows counts as infinite energy and is shortened, so every iterate is finite and
the convergence test only ever sees finite numbers. Differences of ``E`` are summed element by element
from the product forms ``g/2 (v1 - v0)(v1 + v0)`` and ``2 G/b^2 sinh(b (v1 + v0)/2) sinh(b (v1 - v0)/2)``,
which keeps them exact to rounding however large ``E`` itself is.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cosim.solve.mna import CompiledCircuit, DCSolution

#: largest |b v| of any sinh cell at the start point (sinh(20) = 2.4e8: far above any physical current
#: ratio, far below overflow); the small-signal start is scaled toward 0 V until it holds
START_EXPONENT = 20.0
#: Armijo constant of the line search (sufficient decrease of the co-content)
ARMIJO = 1e-4


class ConvergenceError(RuntimeError):
    """A nonlinear solve did not converge.

    Attributes:
        iterations: Newton iterations done. residual: largest KCL residual reached, A.
        element: index (in the circuit's element table) of the sinh cell at the node of the largest
            residual, or -1 when there is none.
    """

    def __init__(self, message: str, iterations: int, residual: float, element: int):
        super().__init__(message)
        self.iterations, self.residual, self.element = iterations, residual, element


class SinhNetwork:
    """A compiled circuit with sinh cells, written as its small-signal nodal matrix plus a cell correction.

    With ``A`` the nodal matrix stamped with the small-signal conductances and ``B`` the terminal
    coupling, the KCL residual (net current leaving each unknown node, A) is

        F(x) = A x - B vt + Kc^T e(v),   e(v) = (G/b) sinh(b v) - G v,   v = Kc x + Kt vt,

    where ``Kc`` / ``Kt`` map unknown / terminal voltages to the sinh cells' voltages and ``e`` is the
    current each cell carries beyond its small-signal line. The Jacobian is ``A + Kc^T diag(G (cosh(b v) - 1)) Kc``.
    Unknowns ``x`` have shape (n_unknowns, batch), terminal voltages ``vt`` (n_terminals, batch), cell
    quantities (n_cells, batch).

    Args:
        circuit: compiled topology; g: (n_elements,) small-signal conductances, S.
        nonlinear: indices of the sinh cells; b: their nonlinearity, 1/V (cells with b == 0 are linear).
    """

    def __init__(self, circuit: CompiledCircuit, g: np.ndarray, nonlinear: np.ndarray, b: np.ndarray):
        self.circuit = circuit
        self.g = circuit.check_values(g)
        t = circuit.table
        nu, nt = circuit.n_unknowns, circuit.n_terminals
        self.island = circuit.islands(self.g)
        self.A = circuit.A.matrix(self.g, diagonal=self.island.astype(np.float64))
        self.B = circuit.B.matrix(self.g)
        nonlinear, b = np.asarray(nonlinear, np.int64), np.asarray(b, np.float64)
        live = np.zeros(t.g.size, bool)
        live[circuit.live] = True
        keep = live[nonlinear] & (b > 0) & (self.g[nonlinear] > 0)
        self.cells = nonlinear[keep]                   # table indices of the sinh cells
        n = self.cells.size
        ua, ub = circuit.node_unknown[t.a[self.cells]], circuit.node_unknown[t.b[self.cells]]
        ta, tb = circuit.node_terminal[t.a[self.cells]], circuit.node_terminal[t.b[self.cells]]
        self.Kc = _incidence(ua, ub, n, nu)
        self.KcT = self.Kc.T.tocsr()
        self.Kt = _incidence(ta, tb, n, nt)
        self.gc = self.g[self.cells][:, None]
        self.bc = b[keep][:, None]

    # ---- residual and Jacobian ------------------------------------------------------------------
    def cell_voltages(self, x: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """Voltages across the sinh cells (n_cells, batch), V."""
        return self.Kc @ x + self.Kt @ vt

    def excess(self, v: np.ndarray) -> np.ndarray:
        """Cell current beyond the small-signal line, (G/b) sinh(b v) - G v (A; inf on overflow)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.gc * (np.sinh(self.bc * v) / self.bc - v)

    def residual(self, x: np.ndarray, bv: np.ndarray, v: np.ndarray) -> np.ndarray:
        """KCL residual (n_unknowns, batch) for unknowns x, ``bv = B vt`` and cell voltages v, A."""
        with np.errstate(invalid="ignore"):
            f = self.A @ x - bv + self.KcT @ self.excess(v)
        f[self.island] = 0.0
        return f

    def extra_conductance(self, v: np.ndarray) -> np.ndarray:
        """G (cosh(b v) - 1): what each cell's small-signal conductance gains at voltage v, S."""
        with np.errstate(over="ignore"):
            return self.gc * (np.cosh(self.bc * v) - 1.0)

    def cell_product(self, p: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """(J - A) p = Kc^T diag(extra) Kc p for the Jacobian whose cells gained ``extra`` (S)."""
        return self.KcT @ (extra * (self.Kc @ p))

    def jacobian_matrix(self, v: np.ndarray):
        """The Jacobian (CSC) of one operating point (v: (n_cells, 1) cell voltages)."""
        g = self.g.copy()
        g[self.cells] += self.extra_conductance(v)[:, 0]
        return self.circuit.A.matrix(g, diagonal=self.island.astype(np.float64), fmt="csc")

    def energy_change(self, x0, x1, bv, v0, v1) -> np.ndarray:
        """Co-content change E(x1) - E(x0) per operating point (batch,), W (inf on overflow)."""
        d, s = x1 - x0, x1 + x0
        linear = np.sum(d * (0.5 * (self.A @ s) - bv), axis=0)
        dc, sc = v1 - v0, v1 + v0
        with np.errstate(over="ignore", invalid="ignore"):
            b = self.bc
            cells = 2.0 * self.gc / b ** 2 * np.sinh(0.5 * b * sc) * np.sinh(0.5 * b * dc) - 0.5 * self.gc * dc * sc
            out = linear + cells.sum(axis=0)
        return np.where(np.isnan(out), np.inf, out)

    def start(self, x_lin: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """A start point with finite currents: the small-signal solution x_lin scaled toward 0 V.

        Per operating point, ``x_lin`` is scaled so that no sinh cell sees ``|b v|`` above
        :data:`START_EXPONENT`, then halved until every current is finite.
        """
        x = np.nan_to_num(x_lin)
        if self.cells.size:
            peak = np.max(np.abs(self.bc * self.cell_voltages(x, vt)), axis=0)
            x = x * np.minimum(1.0, START_EXPONENT / np.maximum(peak, 1e-300))
        for _ in range(64):
            bad = ~np.all(np.isfinite(self.excess(self.cell_voltages(x, vt))), axis=0)
            if not bad.any():
                return x
            x[:, bad] *= 0.5
        raise ConvergenceError("no start point with finite currents: a sinh cell next to a terminal overflows "
                               "(the result would overflow float64)", 0, np.inf, -1)

    def worst_element(self, f: np.ndarray) -> int:
        """Table index of the sinh cell touching the node with the largest |residual| (f: (n_unknowns,))."""
        if self.cells.size == 0:
            return -1
        touch = abs(self.Kc) @ np.abs(np.nan_to_num(f, nan=np.inf))
        return int(self.cells[int(np.argmax(touch))])

    # ---- results --------------------------------------------------------------------------------
    def node_voltages(self, x: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """Voltages of every node (n_nodes, batch), V (NaN on islands)."""
        c = self.circuit
        node_v = np.zeros((c.table.n_nodes, x.shape[1]))
        has = c.node_unknown >= 0
        node_v[has] = np.where(self.island[c.node_unknown[has], None], np.nan, x[c.node_unknown[has]])
        term = c.node_terminal >= 0
        node_v[term] = vt[c.node_terminal[term]]
        return node_v

    def element_currents(self, dv: np.ndarray, elements: np.ndarray) -> np.ndarray:
        """Currents from end a to end b of table elements ``elements`` at their voltages dv (len, batch), A
        (NaN for ideal ones)."""
        g = self.g[elements][:, None]
        with np.errstate(invalid="ignore"):
            i = np.where(np.isinf(g), np.nan, np.where(g > 0, g, 0.0) * dv)
        if self.cells.size == 0:
            return i
        where = np.searchsorted(self.cells, elements)
        is_cell = (where < self.cells.size) & (self.cells[np.minimum(where, self.cells.size - 1)] == elements)
        if is_cell.any():
            k = where[is_cell]
            with np.errstate(over="ignore"):
                i[is_cell] = self.gc[k] / self.bc[k] * np.sinh(self.bc[k] * dv[is_cell])
        return i

    def _end_voltage(self, nodes: np.ndarray, x: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """Voltages (len, batch) of ``nodes``: unknown, terminal, or 0 on islands (whose elements carry 0 A)."""
        c = self.circuit
        u, term = c.node_unknown[nodes], c.node_terminal[nodes]
        out = np.zeros((nodes.size, x.shape[1]))
        known = (u >= 0) & ~self.island[np.maximum(u, 0)] if self.island.size else u >= 0
        out[known] = x[u[known]]
        out[term >= 0] = vt[term[term >= 0]]
        return out

    def terminal_currents(self, x: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """Currents from the network into each terminal (n_terminals, batch), A."""
        c, t = self.circuit, self.circuit.table
        ta, tb = c.node_terminal[t.a[c.live]], c.node_terminal[t.b[c.live]]
        touching = c.live[(ta >= 0) | (tb >= 0)]
        i = self.element_currents(self._end_voltage(t.a[touching], x, vt) - self._end_voltage(t.b[touching], x, vt),
                                  touching)
        out = np.zeros((c.n_terminals, x.shape[1]))
        a_t, b_t = c.node_terminal[t.a[touching]], c.node_terminal[t.b[touching]]
        np.add.at(out, b_t[b_t >= 0], i[b_t >= 0])
        np.subtract.at(out, a_t[a_t >= 0], i[a_t >= 0])
        return out

    def operating_point(self, x: np.ndarray, vt: np.ndarray) -> DCSolution:
        """DC solution (batch-leading arrays) for unknowns x (n_unknowns, batch) and terminals vt."""
        c, t = self.circuit, self.circuit.table
        node_v = self.node_voltages(x, vt)
        dv = np.nan_to_num(node_v[t.a] - node_v[t.b])
        i_el = self.element_currents(dv, np.arange(t.g.size))
        if not np.all(np.isfinite(i_el[c.live])):
            raise ConvergenceError("the operating point overflows float64 (a sinh cell current is inf)",
                                   0, np.inf, -1)
        power = np.sum(np.where(c.ideal[:, None], 0.0, i_el * dv), axis=0)
        i_term = self.terminal_currents(x, vt)
        if np.any(c.ideal):
            i_el[c.ideal] = c.ideal_currents(i_el, i_term)     # zero-ohm elements carry what KCL gives
        return DCSolution(node_v.T, i_term.T, i_el.T, power)


def _incidence(ia: np.ndarray, ib: np.ndarray, n: int, size: int) -> sp.csr_matrix:
    """(n, size) matrix with +1 at (e, ia[e]) and -1 at (e, ib[e]) where those indices are >= 0."""
    rows = np.arange(n)
    ma, mb = ia >= 0, ib >= 0
    data = np.concatenate([np.ones(np.count_nonzero(ma)), -np.ones(np.count_nonzero(mb))])
    return sp.csr_matrix((data, (np.concatenate([rows[ma], rows[mb]]), np.concatenate([ia[ma], ib[mb]]))),
                         shape=(n, size))


def newton(net: SinhNetwork, vt: np.ndarray, x0: np.ndarray, max_iter: int = 100,
           tol: float = 1e-12) -> tuple[np.ndarray, int]:
    """Full Newton with a co-content line search for one operating point.

    Args:
        net: the circuit; vt: (n_terminals, 1) terminal voltages, V; x0: (n_unknowns, 1) finite start, V.
        tol: converged when the largest KCL residual is below ``tol`` times the largest current any
            node exchanges (the largest row sum of |A x|, |B vt| and the cells' excess currents), or a full
            Newton step moves no node by more than 1e-13 of the largest terminal voltage.
    Returns:
        (x, iterations): unknown voltages (n_unknowns, 1), V, and the Newton iterations taken.
    Raises:
        ConvergenceError: after ``max_iter`` iterations or when the line search stalls, naming the
            iteration count, the residual and the worst cell.
    """
    v_scale = max(float(np.max(np.abs(vt), initial=0.0)), 1e-300)
    bv = net.B @ vt
    x = x0.copy()
    v = net.cell_voltages(x, vt)
    f = net.residual(x, bv, v)
    full_step = np.inf
    for iteration in range(max_iter + 1):
        scale = max(float(np.max(np.abs(net.A @ x), initial=0.0)), float(np.max(np.abs(bv), initial=0.0)),
                    float(np.max(np.abs(net.excess(v)), initial=0.0)), 1e-300)
        fmax = float(np.max(np.abs(f), initial=0.0))
        if np.isfinite(fmax) and (fmax <= tol * scale or full_step <= 1e-13 * v_scale):
            return x, iteration
        if iteration == max_iter:
            break
        dx = spla.spsolve(net.jacobian_matrix(v), -f[:, 0])[:, None]
        slope, norm = float(f[:, 0] @ dx[:, 0]), float(np.linalg.norm(f))
        alpha = 1.0
        for _ in range(60):
            x1 = x + alpha * dx
            v1 = net.cell_voltages(x1, vt)
            f1 = net.residual(x1, bv, v1)
            if np.all(np.isfinite(f1)) and (np.linalg.norm(f1) < norm
                                            or net.energy_change(x, x1, bv, v, v1)[0] <= ARMIJO * alpha * slope):
                break
            alpha *= 0.5
        else:
            worst = net.worst_element(f[:, 0])
            raise ConvergenceError(
                f"Newton stalled at iteration {iteration + 1}: the line search found no decrease; max KCL "
                f"residual {fmax:.3e} A; worst cell: element {worst}", iteration + 1, fmax, worst)
        full_step = float(np.max(np.abs(dx))) if alpha == 1.0 else np.inf
        x, v, f = x1, v1, f1
    worst = net.worst_element(f[:, 0])
    raise ConvergenceError(
        f"Newton did not converge in {max_iter} iterations: max KCL residual {fmax:.3e} A (tolerance "
        f"{tol:.1e} x {scale:.3e} A); worst cell: element {worst}", max_iter, fmax, worst)


def solve_nonlinear(circuit: CompiledCircuit, g: np.ndarray, nonlinear: np.ndarray, b: np.ndarray,
                    v_terminals: np.ndarray, max_iter: int = 100, tol: float = 1e-12) -> DCSolution:
    """Operating point with nonlinear elements, by full Newton (one sparse LU per iteration).

    Args:
        circuit: compiled topology; g: (n_elements,) small-signal conductances (S).
        nonlinear: (n_nl,) indices of the nonlinear (sinh) elements; b: (n_nl,) their nonlinearity, 1/V.
        v_terminals: (n_terminals,) terminal voltages (V).
        max_iter, tol: see :func:`newton`.
    Raises:
        ConvergenceError: naming the iteration count, the residual and the worst cell.
    """
    net = SinhNetwork(circuit, g, nonlinear, b)
    vt = np.asarray(v_terminals, np.float64)[:, None]
    x0 = net.start(circuit.factor(net.g).unknowns(vt), vt)
    x, _ = newton(net, vt, x0, max_iter, tol)
    sol = net.operating_point(x, vt)
    return DCSolution(sol.node_voltages[0], sol.terminal_currents[0], sol.element_currents[0], float(sol.power[0]))
