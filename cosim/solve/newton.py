"""Newton solve of a compiled circuit whose memristive cells follow I = (G / b) sinh(b V).

With ``k b = 1`` the small-signal conductance at 0 V is ``G``; ``b`` (1/V) sets the nonlinearity
(b -> 0 is the linear cell). Each iteration re-stamps the same sparsity pattern with the
linearised conductances ``G cosh(b V)`` and solves for the correction.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from cosim.solve.mna import CompiledCircuit, DCSolution


class ConvergenceError(RuntimeError):
    """Newton iteration did not converge; the message names the iteration count and residual."""


def sinh_current(g: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cell current (A) for conductance g (S), nonlinearity b (1/V) and voltage v (V); linear where b == 0."""
    bv = b * v
    safe_b = np.where(b > 0, b, 1.0)
    return np.where(b > 0, g / safe_b * np.sinh(bv), g * v)


def solve_nonlinear(circuit: CompiledCircuit, g: np.ndarray, nonlinear: np.ndarray, b: np.ndarray,
                    v_terminals: np.ndarray, max_iter: int = 60, tol: float = 1e-12) -> DCSolution:
    """Operating point with nonlinear elements.

    Args:
        circuit: compiled topology; g: (n_elements,) small-signal conductances (S).
        nonlinear: (n_nl,) indices of the nonlinear (sinh) elements; b: (n_nl,) their nonlinearity, 1/V.
        v_terminals: (n_terminals,) terminal voltages (V).
        tol: convergence when the largest KCL residual is below ``tol`` times the largest element current.
    Raises:
        ConvergenceError: after ``max_iter`` iterations, naming the residual reached.
    """
    g = circuit.check_values(g)
    t = circuit.table
    vt = np.asarray(v_terminals, np.float64)
    nu = circuit.n_unknowns
    island = circuit.islands(g)
    # initial guess: the linear (small-signal) solution
    lin = circuit.factor(g)
    x = np.nan_to_num(lin.unknowns(vt[:, None])[:, 0])
    ua, ub = circuit.node_unknown[t.a], circuit.node_unknown[t.b]
    live = circuit.live

    def node_voltages(xv):
        v = np.zeros(t.n_nodes)
        has = circuit.node_unknown >= 0
        v[has] = xv[circuit.node_unknown[has]]
        term = circuit.node_terminal >= 0
        v[term] = vt[circuit.node_terminal[term]]
        return v

    def currents(xv):
        v = node_voltages(xv)
        dv = v[t.a] - v[t.b]
        i = np.where(np.isinf(g), 0.0, np.where(np.isinf(g), 0.0, g) * dv)
        i[nonlinear] = sinh_current(g[nonlinear], b, dv[nonlinear])
        return i, dv

    def residual(i):
        f = np.zeros(nu)
        ma, mb = ua[live] >= 0, ub[live] >= 0
        np.add.at(f, ua[live][ma], i[live][ma])
        np.subtract.at(f, ub[live][mb], i[live][mb])
        f[island] = 0.0
        return f

    i_el, dv = currents(x)
    f = residual(i_el)
    v_scale = max(float(np.max(np.abs(vt), initial=0.0)), 1e-300)
    dx = np.full(nu, np.inf)
    for iteration in range(1, max_iter + 1):
        scale = max(np.max(np.abs(i_el[live])) if live.size else 0.0, 1e-300)
        # converged: KCL holds to ``tol``, or the last full Newton step moved no node by more than
        # rounding (the residual has reached its float64 floor)
        if np.max(np.abs(f), initial=0.0) <= tol * scale or np.max(np.abs(dx), initial=0.0) <= 1e-13 * v_scale:
            break
        g_lin = g.copy()
        g_lin[nonlinear] = g[nonlinear] * np.cosh(b * dv[nonlinear])
        jac = circuit.A.matrix(g_lin, diagonal=island.astype(np.float64), fmt="csc")
        dx = spla.spsolve(jac, -f)
        step = 1.0
        norm = np.linalg.norm(f)
        for _ in range(30):  # backtracking line search keeps the sinh from overshooting
            i_new, dv_new = currents(x + step * dx)
            f_new = residual(i_new)
            if np.linalg.norm(f_new) < norm or step < 1e-6:
                break
            step *= 0.5
        x, i_el, dv, f = x + step * dx, i_new, dv_new, f_new
        dx = step * dx
    else:
        raise ConvergenceError(
            f"Newton did not converge in {max_iter} iterations: max KCL residual "
            f"{np.max(np.abs(f)):.3e} A (tolerance {tol:.1e} x {scale:.3e} A)")
    v = node_voltages(x)
    v[circuit.node_unknown >= 0] = np.where(island[circuit.node_unknown[circuit.node_unknown >= 0]], np.nan,
                                            v[circuit.node_unknown >= 0])
    i_term = np.zeros(circuit.n_terminals)
    ta, tb = circuit.node_terminal[t.a], circuit.node_terminal[t.b]
    fin = ~np.isinf(g)
    np.add.at(i_term, tb[fin & (tb >= 0) & (ta != tb)], i_el[fin & (tb >= 0) & (ta != tb)])
    np.subtract.at(i_term, ta[fin & (ta >= 0) & (ta != tb)], i_el[fin & (ta >= 0) & (ta != tb)])
    i_el = np.where(np.isinf(g), np.nan, i_el)
    power = float(np.nansum(np.where(fin, i_el * dv, 0.0)))
    return DCSolution(v, i_term, i_el, power)
