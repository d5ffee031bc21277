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


def sinh_current(g: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cell current (A) for conductance g (S), nonlinearity b (1/V) and voltage v (V); linear where b == 0."""
    bv = b * v
    safe_b = np.where(b > 0, b, 1.0)
    with np.errstate(over="ignore"):
        return np.where(b > 0, g / safe_b * np.sinh(bv), g * v)


class SinhNetwork:
    """A compiled circuit with sinh cells: element voltages, currents, KCL residual and co-content changes.

    Unknown voltages ``x`` have shape (n_unknowns, batch) and terminal voltages ``vt`` (n_terminals, batch);
    element quantities are over the live elements (finite, between distinct nodes): (n_live, batch).

    Args:
        circuit: compiled topology; g: (n_elements,) small-signal conductances, S.
        nonlinear: indices of the sinh cells; b: their nonlinearity, 1/V (cells with b == 0 are linear).
    """

    def __init__(self, circuit: CompiledCircuit, g: np.ndarray, nonlinear: np.ndarray, b: np.ndarray):
        self.circuit = circuit
        self.g = circuit.check_values(g)
        t, live = circuit.table, circuit.live
        self.live = live
        n, nu, nt = live.size, circuit.n_unknowns, circuit.n_terminals
        self.Ku = _incidence(circuit.node_unknown[t.a[live]], circuit.node_unknown[t.b[live]], n, nu)
        self.Kt = _incidence(circuit.node_terminal[t.a[live]], circuit.node_terminal[t.b[live]], n, nt)
        self.KuT = self.Ku.T.tocsr()
        position = np.full(t.g.size, -1, np.int64)
        position[live] = np.arange(n)
        nonlinear, b = np.asarray(nonlinear, np.int64), np.asarray(b, np.float64)
        keep = (position[nonlinear] >= 0) & (b > 0)
        self.nl = position[nonlinear[keep]]            # rows of the sinh cells among the live elements
        self.b = b[keep][:, None]
        self.g_live = self.g[live][:, None]
        self.g_nl = self.g_live[self.nl]
        self.island = circuit.islands(self.g)

    # ---- element quantities ---------------------------------------------------------------------
    def voltages(self, x: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """Element voltages v_a - v_b (n_live, batch), V."""
        return self.Ku @ x + self.Kt @ vt

    def currents(self, dv: np.ndarray) -> np.ndarray:
        """Element currents from end a to end b (n_live, batch), A (inf where a sinh overflows)."""
        i = self.g_live * dv
        with np.errstate(over="ignore"):
            i[self.nl] = self.g_nl / self.b * np.sinh(self.b * dv[self.nl])
        return i

    def residual(self, i: np.ndarray) -> np.ndarray:
        """KCL residual (n_unknowns, batch): net current leaving each unknown node, A (0 on islands)."""
        f = self.KuT @ i
        f[self.island] = 0.0
        return f

    def jacobian_conductances(self, dv: np.ndarray) -> np.ndarray:
        """Small-signal conductance of every live element at voltages dv (n_live, batch), S."""
        gj = np.repeat(self.g_live, dv.shape[1], axis=1)
        with np.errstate(over="ignore"):
            gj[self.nl] = self.g_nl * np.cosh(self.b * dv[self.nl])
        return gj

    def jacobian_matrix(self, dv: np.ndarray):
        """The Jacobian (CSC) of one operating point (dv: (n_live, 1))."""
        g = self.g.copy()
        g[self.live] = self.jacobian_conductances(dv)[:, 0]
        return self.circuit.A.matrix(g, diagonal=self.island.astype(np.float64), fmt="csc")

    def energy_change(self, dv0: np.ndarray, dv1: np.ndarray) -> np.ndarray:
        """Co-content change E(dv1) - E(dv0) per operating point (batch,), W (inf on overflow)."""
        d, s = dv1 - dv0, dv1 + dv0
        terms = 0.5 * self.g_live * d * s
        with np.errstate(over="ignore", invalid="ignore"):
            b = self.b
            terms[self.nl] = 2.0 * self.g_nl / b ** 2 * np.sinh(0.5 * b * s[self.nl]) * np.sinh(0.5 * b * d[self.nl])
            out = terms.sum(axis=0)
        return np.where(np.isnan(out), np.inf, out)

    def start(self, x_lin: np.ndarray, vt: np.ndarray) -> np.ndarray:
        """A start point with finite currents: the small-signal solution x_lin scaled toward 0 V.

        Per operating point, ``x_lin`` is scaled so that no sinh cell sees ``|b v|`` above
        :data:`START_EXPONENT`, then halved until every current is finite.
        """
        x = np.nan_to_num(x_lin)
        dv = self.voltages(x, vt)
        if self.nl.size:
            peak = np.max(np.abs(self.b * dv[self.nl]), axis=0)
            scale = np.minimum(1.0, START_EXPONENT / np.maximum(peak, 1e-300))
            x = x * scale
        for _ in range(64):
            bad = ~np.all(np.isfinite(self.currents(self.voltages(x, vt))), axis=0)
            if not bad.any():
                return x
            x[:, bad] *= 0.5
        raise ConvergenceError("no start point with finite currents: a sinh cell next to a terminal overflows "
                               "(the result would overflow float64)", 0, np.inf, -1)

    def worst_element(self, f: np.ndarray) -> int:
        """Table index of the sinh cell touching the node with the largest |residual| (f: (n_unknowns,))."""
        if self.nl.size == 0:
            return -1
        touch = abs(self.Ku[self.nl]) @ np.abs(np.nan_to_num(f, nan=np.inf))
        return int(self.live[self.nl[int(np.argmax(touch))]])

    # ---- results --------------------------------------------------------------------------------
    def operating_point(self, x: np.ndarray, vt: np.ndarray) -> DCSolution:
        """DC solution (batch-leading arrays) for unknowns x (n_unknowns, batch) and terminals vt."""
        c, t = self.circuit, self.circuit.table
        batch = x.shape[1]
        dv = self.voltages(x, vt)
        i = self.currents(dv)
        if not np.all(np.isfinite(i)):
            raise ConvergenceError("the operating point overflows float64 (a sinh cell current is inf)",
                                   0, np.inf, -1)
        node_v = np.zeros((t.n_nodes, batch))
        has = c.node_unknown >= 0
        node_v[has] = np.where(self.island[c.node_unknown[has], None], np.nan, x[c.node_unknown[has]])
        term = c.node_terminal >= 0
        node_v[term] = vt[c.node_terminal[term]]
        i_el = np.zeros((t.g.size, batch))
        i_el[self.live] = i
        i_el[c.ideal] = np.nan          # zero-ohm elements: current not defined by nodal analysis
        i_term = -(self.Kt.T @ i)
        power = np.sum(i * dv, axis=0)
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
        tol: converged when the largest KCL residual is below ``tol`` times the largest element
            current, or a full Newton step moves no node by more than 1e-13 of the largest terminal voltage.
    Returns:
        (x, iterations): unknown voltages (n_unknowns, 1), V, and the Newton iterations taken.
    Raises:
        ConvergenceError: after ``max_iter`` iterations or when the line search stalls, naming the
            iteration count, the residual and the worst cell.
    """
    v_scale = max(float(np.max(np.abs(vt), initial=0.0)), 1e-300)
    x = x0.copy()
    dv = net.voltages(x, vt)
    i = net.currents(dv)
    f = net.residual(i)
    full_step = np.inf
    for iteration in range(max_iter + 1):
        scale = max(float(np.max(np.abs(i), initial=0.0)), 1e-300)
        fmax = float(np.max(np.abs(f), initial=0.0))
        if np.isfinite(fmax) and (fmax <= tol * scale or full_step <= 1e-13 * v_scale):
            return x, iteration
        if iteration == max_iter:
            break
        dx = spla.spsolve(net.jacobian_matrix(dv), -f[:, 0])[:, None]
        slope, norm = float(f[:, 0] @ dx[:, 0]), float(np.linalg.norm(f))
        alpha = 1.0
        for _ in range(60):
            x1 = x + alpha * dx
            dv1 = net.voltages(x1, vt)
            i1 = net.currents(dv1)
            if np.all(np.isfinite(i1)):
                f1 = net.residual(i1)
                if net.energy_change(dv, dv1)[0] <= ARMIJO * alpha * slope or np.linalg.norm(f1) < norm:
                    break
            alpha *= 0.5
        else:
            raise ConvergenceError(
                f"Newton stalled at iteration {iteration + 1}: the line search found no decrease; max KCL "
                f"residual {fmax:.3e} A; worst cell: element {net.worst_element(f[:, 0])}",
                iteration + 1, fmax, net.worst_element(f[:, 0]))
        full_step = float(np.max(np.abs(dx))) if alpha == 1.0 else np.inf
        x, dv, i, f = x1, dv1, i1, f1
    raise ConvergenceError(
        f"Newton did not converge in {max_iter} iterations: max KCL residual {fmax:.3e} A (tolerance "
        f"{tol:.1e} x {scale:.3e} A); worst cell: element {net.worst_element(f[:, 0])}",
        max_iter, fmax, net.worst_element(f[:, 0]))


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
    lin = circuit.factor(net.g)
    x0 = net.start(lin.unknowns(vt), vt)
    x, _ = newton(net, vt, x0, max_iter, tol)
    sol = net.operating_point(x, vt)
    return DCSolution(sol.node_voltages[0], sol.terminal_currents[0], sol.element_currents[0], float(sol.power[0]))
