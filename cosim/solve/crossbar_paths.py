"""How each solver path computes a :class:`~cosim.solve.crossbar.Crossbar`'s sense currents and operating points.

:mod:`cosim.solve.routing` decides WHICH path a request takes; this module runs it: the single-row
ladder, the transfer-matrix matmul, nested dissection (with rank-k updates and KCL refinement), the
general sparse path, and the batched / per-input Newton solvers of sinh cells. Every function takes the
crossbar whose cached factorisations it uses (this module is the Crossbar's own solving half, so it
reads the Crossbar's cached state); the Crossbar keeps the values, the caches and the public API.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cosim.netlist.crossbar import CrossbarLayout
from cosim.netlist.elements import KIND_CODES, ElementKind
from cosim.solve import structured
from cosim.solve.bias_tracking import BiasTracker
from cosim.solve.low_rank import LowRankOperatingPoints
from cosim.solve.mna import DCSolution
from cosim.solve.nested_values import has_island, right_hand_side
from cosim.solve.newton import ConvergenceError, SinhNetwork, solve_nonlinear
from cosim.solve.nonlinear_batch import lu_preconditioner, nested_preconditioner, solve_batch
from cosim.solve.refine import REFINE_FAILURE, grid_residual, needs_refinement, refine, voltage_scale
from cosim.solve.routing import Quantity, SolveRequest, SolverPath, nested_preconditioner_applies
from cosim.solve.row_ladder import single_row_solution
from cosim.solve.solution import ARRAY_FIELDS, CrossbarSolution, solution_from_nodes, stack_solutions

if TYPE_CHECKING:
    from cosim.solve.crossbar import Crossbar


def floating_key(floating_wl, floating_bl) -> tuple:
    """Cache key telling floating-line patterns apart (None = no floating line of that kind)."""
    return tuple(None if m is None else np.asarray(m, bool).tobytes() for m in (floating_wl, floating_bl))


# ---- transfer matrix ------------------------------------------------------------------------------
def structured_transfer(xb: Crossbar) -> np.ndarray:
    """T (rows x cols) by the structured column recursion (regular arrays)."""
    lay = xb.layout
    return structured.transfer_matrix(xb.effective_conductances(), lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense)


def general_transfer(xb: Crossbar) -> np.ndarray:
    """T (rows x cols) on the general sparse path: one unit input per word line."""
    fac = xb.factored()
    vt = np.zeros((xb.rows + xb.cols, xb.rows))
    vt[: xb.rows] = np.eye(xb.rows)
    currents = fac.terminal_currents(fac.unknowns(vt), vt)
    return np.ascontiguousarray(currents[xb.rows:].T)


def transfer_on(xb: Crossbar, path: SolverPath) -> np.ndarray:
    """T computed on ``path`` (nested dissection falls back to the structured recursion on a cancelled pivot)."""
    if path is SolverPath.NESTED:
        try:
            return xb.nested_solver().transfer_matrix()
        except np.linalg.LinAlgError:      # a pivot cancelled: the exact structured recursion
            return structured_transfer(xb)
    if path is SolverPath.STRUCTURED:
        return structured_transfer(xb)
    return general_transfer(xb)


# ---- sense currents -------------------------------------------------------------------------------
def sense_currents(xb: Crossbar, v: np.ndarray) -> np.ndarray:
    """Sense currents (A) for validated word-line voltages ``v`` (rows,) or (batch, rows), on the routed path."""
    batch = 1 if v.ndim == 1 else v.shape[0]
    path = xb.choose_path(SolveRequest(Quantity.SENSE_CURRENTS, batch=batch)).path
    if path is SolverPath.NONLINEAR_BATCH:
        _, out = solve_sinh(xb, xb.terminal_voltages(np.atleast_2d(v)).T, sense_only=True)
        return out.T if v.ndim == 2 else out[:, 0]
    if path is SolverPath.SINGLE_ROW_LADDER:
        return solve_single_row(xb, v, np.zeros(v.shape[:-1] + (xb.cols,))).sense_currents
    if path is SolverPath.TRANSFER_MATMUL:
        if xb._transfer is None:
            xb.transfer_matrix()
        return v @ xb._transfer
    if path is SolverPath.NESTED:
        try:
            return xb.nested_solver().sense_currents(np.atleast_2d(v).T).T.reshape(v.shape[:-1] + (xb.cols,))
        except np.linalg.LinAlgError:          # a pivot cancelled: the general path refines
            pass
    fac = xb.factored()
    vt = xb.terminal_voltages(np.atleast_2d(v)).T
    currents = fac.terminal_currents(fac.unknowns(vt), vt)[xb.rows:].T
    return currents if v.ndim == 2 else currents[0]


# ---- operating points -----------------------------------------------------------------------------
def operating_point(xb: Crossbar, v, vb, fw, fb, general: bool) -> CrossbarSolution:
    """Operating point for validated line biases (word lines ``v``, bit lines ``vb``, V; floating masks
    ``fw``/``fb`` or None) on the routed path (``general`` forces the sparse reference)."""
    floating = bool((fw is not None and fw.any()) or (fb is not None and fb.any()))
    request = SolveRequest(Quantity.OPERATING_POINT, batch=1 if v.ndim == 1 else v.shape[0],
                           floating_lines=floating, biased_bit_lines=bool(np.any(vb)), force_general=bool(general),
                           islands=floating and has_island(xb.effective_conductances(), fw, fb))
    path = xb.choose_path(request).path
    if path is SolverPath.SINGLE_ROW_LADDER:
        return solve_single_row(xb, v, vb)
    if path is SolverPath.NESTED:
        return solve_nested(xb, v, vb, fw, fb)
    terminals = np.concatenate([v, vb], axis=-1)
    if path is SolverPath.GENERAL:
        return solve_general(xb, terminals, fw, fb)
    if path is SolverPath.NONLINEAR_BATCH:
        vt = np.atleast_2d(terminals).T
        net, x = solve_sinh(xb, vt, fw, fb)
        sol = net.operating_point(x, vt)
        if v.ndim == 1:
            sol = DCSolution(*(a[0] for a in (sol.node_voltages, sol.terminal_currents, sol.element_currents)),
                             float(sol.power[0]))
        return crossbar_solution(xb, sol, fw, fb)
    if v.ndim == 2:
        parts = [operating_point(xb, a, b, fw, fb, True) for a, b in zip(v, vb)]
        return stack_solutions(parts)
    return crossbar_solution(xb, solve_newton(xb, terminals, fw, fb), fw, fb)


def solve_general(xb: Crossbar, terminals: np.ndarray, fw, fb) -> CrossbarSolution:
    """Operating point on the general sparse path for terminal voltages (drivers, then senses; V)."""
    return crossbar_solution(xb, xb.factored(fw, fb).solve(terminals), fw, fb)


def solve_single_row(xb: Crossbar, v: np.ndarray, v_bl: np.ndarray) -> CrossbarSolution:
    """Operating point on the O(N) ladder of the one selected 1T1R row."""
    return single_row_solution(xb.layout, xb._g, int(np.flatnonzero(xb._selected)[0]), v, v_bl)


def solve_nested(xb: Crossbar, v: np.ndarray, vb: np.ndarray, fw, fb) -> CrossbarSolution:
    """Operating point on nested dissection: a rank-k update of the last factorisation when few
    cells changed since it (``xb.low_rank``), else a fresh factorisation."""
    vv, ee = np.atleast_2d(v), np.atleast_2d(vb)
    # node voltages lie between the terminal voltages: solve at unit scale, scale back (no overflow)
    scale = voltage_scale(np.zeros((0, vv.shape[0])), np.concatenate([vv, ee], axis=1).T)[:, None]
    vv, ee = vv / scale, ee / scale
    g_eff = xb.effective_conductances()
    try:
        x = nested_voltages(xb, vv, ee, g_eff, fw, fb)
    except np.linalg.LinAlgError:              # a pivot cancelled to <= 0
        x = None
    if x is None:                              # not accurate on this path: the general one refines
        return solve_general(xb, np.concatenate([v, vb], axis=-1), fw, fb)
    x = x * scale[:, 0]
    vv, ee = np.atleast_2d(v), np.atleast_2d(vb)
    u, b = np.moveaxis(x.reshape((2,) + xb.shape + (vv.shape[0],)), -1, 1)
    sol = solution_from_nodes(xb.layout, xb._g, g_eff, u, b, vv, ee, fw, fb)
    if v.ndim == 1:
        sol = CrossbarSolution(*(getattr(sol, f)[0] for f in ARRAY_FIELDS),
                               {k: val[0] for k, val in sol.power_by_kind.items()})
    return sol


def nested_voltages(xb: Crossbar, vv, ee, g_eff, fw, fb):
    """Node voltages (2 M N, batch) on nested dissection (refined where stiff), or None."""
    key = floating_key(fw, fb)
    x = None
    if xb._updating is not None and xb._updating[0] == key:
        x = xb._updating[1].node_voltages(g_eff, vv.T, ee.T)
        correct = lambda r: xb._updating[1].solve_rhs(g_eff, r)
    if x is None:
        xb._updating = None            # let the old factorisation go before the new one is made
        solver = xb.nested_solver(fw, fb)
        if xb.low_rank.max_rank > 0:
            xb._updating = (key, LowRankOperatingPoints(solver, xb.low_rank))
            x = xb._updating[1].node_voltages(g_eff, vv.T, ee.T)
        else:
            x = solver.solve_rhs(right_hand_side(solver.values, vv.T, ee.T))
        correct = solver.solve_rhs
    lay = xb.layout
    with np.errstate(divide="ignore"):
        stiff = needs_refinement(g_eff, 1.0 / lay.r_wl, 1.0 / lay.r_bl, 1.0 / lay.r_source, 1.0 / lay.r_sense)
    if stiff:
        x = refine_nested(xb, x, correct, g_eff, vv.T, ee.T, fw, fb)
    return x


def bias_tracker(xb: Crossbar, v: np.ndarray, vb: np.ndarray, fw, fb, reach: np.ndarray | None = None,
                 fresh: bool = False) -> BiasTracker | None:
    """A :class:`BiasTracker` for validated line biases (1-D ``v``, ``vb``, V; floating masks or None) on the
    routed path, or None where BIAS_TRACKING does not apply. ``reach``: conductances (S) the cells may take
    while tracked (their bounds), included in the stiffness test. ``fresh``: factor the present values anew."""
    floating = bool((fw is not None and fw.any()) or (fb is not None and fb.any()))
    fw = fw if fw is not None and fw.any() else None
    fb = fb if fb is not None and fb.any() else None
    g = xb._g
    w_min, w_max = wire_conductance_range(xb)
    g_min, g_max = float(g.min()), float(g.max())
    if reach is not None:
        g_min, g_max = min(g_min, float(np.min(reach))), max(g_max, float(np.max(reach)))
    stiff = needs_refinement(np.array([w_min, w_max, g_min, g_max]))
    request = SolveRequest(Quantity.TRACKED_OPERATING_POINT, floating_lines=floating, stiff=stiff,
                           islands=floating and has_island(g, fw, fb))
    if xb.choose_path(request).path is not SolverPath.BIAS_TRACKING:
        return None
    key = floating_key(fw, fb)
    if fresh or xb._updating is None or xb._updating[0] != key:
        xb._updating = None
        xb._updating = (key, LowRankOperatingPoints(xb.nested_solver(fw, fb), xb.low_rank))
    return BiasTracker(xb._updating[1], v, vb, fw, fb, g)


def wire_conductance_range(xb: Crossbar) -> tuple[float, float]:
    """(smallest, largest) finite non-zero conductance of the wires, drivers and senses, S (kept until the
    structure changes), for the refinement test of :func:`cosim.solve.refine.needs_refinement`."""
    if xb._wire_range is None:
        lay = xb.layout
        with np.errstate(divide="ignore"):
            g = np.concatenate([np.ravel(1.0 / a) for a in (lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense)])
        g = g[(g > 0) & np.isfinite(g)]
        xb._wire_range = (float(g.min()), float(g.max())) if g.size else (np.inf, 0.0)
    return xb._wire_range


def refine_nested(xb: Crossbar, x, correct, g_eff, v, e, fw, fb):
    """Refine nested-dissection node voltages with grid KCL residuals (:mod:`cosim.solve.refine`);
    None when a correction cannot be computed or the refinement does not converge."""
    corrections = []

    def solve(r):
        dx = correct(r)
        if dx is None:
            corrections.append(None)
            return np.zeros_like(r)
        return dx

    x, size = refine(x, solve, lambda xx: grid_residual(xb.layout, g_eff, xx, v, e, fw, fb),
                     voltage_scale(x, np.concatenate([v, e])))
    if None in corrections or not np.isfinite(size) or size > REFINE_FAILURE:
        return None
    return x


# ---- sinh cells -----------------------------------------------------------------------------------
def _normal_cells(xb: Crossbar) -> tuple[np.ndarray, np.ndarray]:
    """Element indices of the cells that are neither shorted nor open, and a mask of them over all cells."""
    cells = np.arange(xb.layout.cell_element_slice().start, xb.layout.cell_element_slice().stop)
    normal = xb.layout.cell_state.ravel() == CrossbarLayout.NORMAL
    return cells[normal], normal


def solve_newton(xb: Crossbar, terminals: np.ndarray, fw=None, fb=None) -> DCSolution:
    """One operating point of sinh cells by full Newton (terminal voltages, V)."""
    g = xb._element_g(fw, fb)
    circuit = xb.compiled(g)
    cells, normal = _normal_cells(xb)
    try:
        return solve_nonlinear(circuit, g, cells, xb._b.ravel()[normal], terminals, max_iter=xb.NEWTON_MAX_ITER)
    except ConvergenceError as exc:
        raise name_cell(xb, exc) from None


def sinh_network(xb: Crossbar, fw=None, fb=None) -> SinhNetwork:
    """The sinh-cell network of the present values and floating lines."""
    g = xb._element_g(fw, fb)
    cells, normal = _normal_cells(xb)
    return SinhNetwork(xb.compiled(g), g, cells, xb._b.ravel()[normal])


def solve_sinh(xb: Crossbar, vt: np.ndarray, fw=None, fb=None, sense_only: bool = False) -> tuple[SinhNetwork, np.ndarray]:
    """Batched sinh-cell solve of terminal voltages vt (n_terminals, batch); sets ``xb.last_nonlinear_report``.

    Returns the network and the unknown voltages (n_unknowns, batch), or with ``sense_only`` the
    sense currents (cols, batch), computed chunk by chunk.
    """
    net = sinh_network(xb, fw, fb)
    keep = (lambda x, v: net.terminal_currents(x, v)[xb.rows:]) if sense_only else None
    floating = bool((fw is not None and fw.any()) or (fb is not None and fb.any()))
    if nested_preconditioner_applies(xb, floating):
        c = net.circuit
        has = c.node_unknown >= 0
        node_of = np.empty(c.n_unknowns, np.int64)
        node_of[c.node_unknown[has]] = np.flatnonzero(has)   # 1R node numbers are the grid's
        precondition = nested_preconditioner(xb.nested_solver(), node_of)
    else:
        precondition = lu_preconditioner(xb.factored(fw, fb))
    try:
        out, xb.last_nonlinear_report = solve_batch(net, vt, precondition, max_newton=xb.BATCH_MAX_NEWTON,
                                                    fallback_iter=xb.NEWTON_MAX_ITER, keep=keep)
    except ConvergenceError as exc:
        raise name_cell(xb, exc) from None
    return net, out


def name_cell(xb: Crossbar, exc: ConvergenceError) -> ConvergenceError:
    """The same error with the worst element named as the crossbar cell (row, col) it is."""
    k = exc.element - xb.layout.cell_element_slice().start
    if not 0 <= k < xb.rows * xb.cols:
        return exc
    where = f"cell ({k // xb.cols}, {k % xb.cols})"
    return ConvergenceError(str(exc).replace(f"element {exc.element}", where), exc.iterations,
                            exc.residual, exc.element)


def crossbar_solution(xb: Crossbar, sol: DCSolution, fw=None, fb=None) -> CrossbarSolution:
    """A general-path :class:`DCSolution` as the crossbar's line, cell and per-kind power view."""
    idx = xb.layout.node_index()
    shape = sol.node_voltages.shape[:-1]
    nv = sol.node_voltages
    wl = nv[..., idx["wl"]]
    bl = nv[..., idx["bl"]]
    other = nv[..., idx["mid"]] if "mid" in idx else bl
    cell_v = wl - other
    cells = xb.layout.cell_element_slice()
    cell_i = sol.element_currents[..., cells].reshape(shape + xb.shape)
    t = xb._table()
    table_kind = t.kind
    dv = nv[..., t.a] - nv[..., t.b]
    p_el = np.where(np.isinf(xb._element_g(fw, fb)), 0.0, np.nan_to_num(sol.element_currents * dv))
    by_kind = {k.value: p_el[..., table_kind == KIND_CODES[k]].sum(axis=-1) for k in ElementKind}
    return CrossbarSolution(wl, bl, cell_v, cell_i, sol.terminal_currents[..., xb.rows:],
                            -sol.terminal_currents[..., : xb.rows], sol.power, by_kind)
