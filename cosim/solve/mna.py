"""General path: modified nodal analysis of any netlist, compiled once, factored once, solved many times.

Ideal (zero-ohm) elements merge their nodes; nodes merged with a terminal take its voltage. The
remaining nodes are the unknowns of ``A x = B v`` (A symmetric positive definite when every node
reaches a terminal through finite conductances), and the currents into the terminals are
``C x + E v``. Islands (nodes cut off from every terminal) carry no current: they are detected at
each stamp and reported with NaN voltages, and every element touching them carries 0 A.

The current through an ideal element is not a nodal unknown; it follows from Kirchhoff's current law
at the nodes it joins (the finite elements' currents and the terminals' currents are known). Where
ideal elements form a loop, KCL leaves the split open; the minimum-norm split is taken, the limit
of equal small resistances.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from cosim.netlist.elements import ElementTable
from cosim.solve.dense_gth import MAX_UNKNOWNS as MAX_DENSE_UNKNOWNS
from cosim.solve.dense_gth import DenseGTH
from cosim.solve.pattern import StampPattern
from cosim.solve.refine import (MAX_REFINEMENTS, REFINE_FAILURE, IllConditionedError, needs_refinement, refine,
                                voltage_scale)


@dataclass
class DCSolution:
    """DC operating point(s); leading ``batch`` axis present when several inputs were solved.

    Attributes:
        node_voltages: (..., n_nodes) volts (NaN on floating islands).
        terminal_currents: (..., n_terminals) amps flowing from the network into each terminal.
        element_currents: (..., n_elements) amps from end ``a`` to end ``b`` of each element (ideal
            zero-ohm elements: from KCL; elements on an island: 0).
        power: (...,) watts dissipated in all elements together (cells, wires, drivers, senses).
    """

    node_voltages: np.ndarray
    terminal_currents: np.ndarray
    element_currents: np.ndarray
    power: np.ndarray


class CompiledCircuit:
    """Node numbering and stamp patterns of one netlist topology.

    The set of ideal elements (``g == inf``) is structural: re-stamping may change every finite
    value (including to 0 = open) but not which elements are ideal.
    """

    def __init__(self, table: ElementTable):
        self.table = table
        n, a, b, g = table.n_nodes, table.a, table.b, table.g
        self.ideal = np.isinf(g)
        ia, ib = a[self.ideal], b[self.ideal]
        adj = sp.coo_matrix((np.ones(ia.size), (ia, ib)), shape=(n, n))
        n_comp, comp = connected_components(adj, directed=False)
        term_comp = comp[table.terminals]
        if np.unique(term_comp).size != term_comp.size:
            first = next(c for c in term_comp if np.count_nonzero(term_comp == c) > 1)
            clash = np.flatnonzero(term_comp == first)
            raise ValueError(f"ideal (zero-ohm) elements short terminals {clash.tolist()} together")
        comp_terminal = np.full(n_comp, -1, np.int64)
        comp_terminal[term_comp] = np.arange(term_comp.size)
        comp_unknown = np.full(n_comp, -1, np.int64)
        free = comp_terminal < 0
        comp_unknown[free] = np.arange(np.count_nonzero(free))
        self.n_unknowns = int(np.count_nonzero(free))
        self.n_terminals = int(table.terminals.size)
        self.node_unknown = comp_unknown[comp]
        self.node_terminal = comp_terminal[comp]
        self._structural_islands = None
        self._ideal_kcl = None
        self._build_patterns()

    def _build_patterns(self) -> None:
        t = self.table
        live = np.flatnonzero(~self.ideal)
        ua, ub = self.node_unknown[t.a[live]], self.node_unknown[t.b[live]]
        ta, tb = self.node_terminal[t.a[live]], self.node_terminal[t.b[live]]
        same = (ua >= 0) & (ua == ub) | (ta >= 0) & (ta == tb)
        live, ua, ub, ta, tb = live[~same], ua[~same], ub[~same], ta[~same], tb[~same]
        self.live = live
        A, B, C, E = ([], [], [], []), ([], [], [], []), ([], [], [], []), ([], [], [], [])

        def add(target, r, c, e, s):
            for lst, val in zip(target, (r, c, e, np.full(np.size(e), s, np.float64))):
                lst.append(np.asarray(val))

        uu = (ua >= 0) & (ub >= 0)
        e = live[uu]
        add(A, ua[uu], ua[uu], e, 1.0); add(A, ub[uu], ub[uu], e, 1.0)
        add(A, ua[uu], ub[uu], e, -1.0); add(A, ub[uu], ua[uu], e, -1.0)
        for uk, tk in ((ua, tb), (ub, ta)):  # one end unknown, the other a terminal
            m = (uk >= 0) & (tk >= 0)
            e = live[m]
            add(A, uk[m], uk[m], e, 1.0)
            add(B, uk[m], tk[m], e, 1.0)
            add(C, tk[m], uk[m], e, 1.0)
            add(E, tk[m], tk[m], e, -1.0)
        tt = (ta >= 0) & (tb >= 0)
        e = live[tt]
        add(E, ta[tt], tb[tt], e, 1.0); add(E, ta[tt], ta[tt], e, -1.0)
        add(E, tb[tt], ta[tt], e, 1.0); add(E, tb[tt], tb[tt], e, -1.0)
        nu, nt = self.n_unknowns, self.n_terminals
        self.A = StampPattern((nu, nu), *_joined(A), extra_diagonal=True)
        self.B = StampPattern((nu, nt), *_joined(B))
        self.C = StampPattern((nt, nu), *_joined(C))
        self.E = StampPattern((nt, nt), *_joined(E))
        # the live elements' ends (unknown or terminal) and their unknown incidence, for KCL residuals
        self._ends = (ua, ub, ta, tb)
        both = np.r_[ua, ub]
        keep = both >= 0
        n_live = live.size
        self._incidence = sp.csr_matrix((np.r_[np.ones(n_live), -np.ones(n_live)][keep],
                                         (both[keep], np.r_[np.arange(n_live), np.arange(n_live)][keep])),
                                        shape=(nu, n_live))
        # unknown-to-unknown and unknown-to-terminal links, for island detection
        self._link_a = np.where(ua >= 0, ua, nu)
        self._link_b = np.where(ub >= 0, ub, nu)

    # ------------------------------------------------------------------------------------------
    def check_values(self, g: np.ndarray) -> np.ndarray:
        """Validate a conductance vector against the compiled structure; return it as float64."""
        g = np.asarray(g, dtype=np.float64)
        if g.shape != self.table.g.shape:
            raise ValueError(f"element conductances must have shape {self.table.g.shape}; got {g.shape}")
        if np.any(np.isnan(g)) or np.any(g < 0):
            raise ValueError("element conductances must be >= 0 siemens; got NaN or negative values")
        if np.any(np.isinf(g) != self.ideal):
            raise ValueError("the set of ideal (zero-ohm) elements changed; compile the netlist again")
        return g

    def islands(self, g: np.ndarray) -> np.ndarray:
        """Boolean mask over unknowns: nodes with no finite-conductance path to any terminal."""
        nu = self.n_unknowns
        on = g[self.live] > 0
        if on.all():   # connectivity is then the structure's own, computed once
            if self._structural_islands is None:
                self._structural_islands = self._islands_of(on)
            return self._structural_islands
        return self._islands_of(on)

    def _islands_of(self, on: np.ndarray) -> np.ndarray:
        nu = self.n_unknowns
        adj = sp.coo_matrix((np.ones(np.count_nonzero(on)), (self._link_a[on], self._link_b[on])),
                            shape=(nu + 1, nu + 1))
        _, label = connected_components(adj, directed=False)
        return label[:nu] != label[nu]

    def kcl_residual(self, g: np.ndarray, x: np.ndarray, v_terminals: np.ndarray) -> np.ndarray:
        """Net current (n_unknowns, batch) into each unknown node, A: zero at the solution of ``A x = B v``.

        Summed from the element currents ``g_e (v_a - v_b)``: each difference is formed before it is
        scaled, so the residual stays accurate when node voltages are close (unlike ``B v - A x``).
        """
        ua, ub, ta, tb = self._ends

        def ends(u, t):
            out = np.zeros((u.size, x.shape[1]))
            out[u >= 0] = x[u[u >= 0]]
            out[t >= 0] = v_terminals[t[t >= 0]]
            return out

        i_el = g[self.live, None] * (ends(ua, ta) - ends(ub, tb))
        return -(self._incidence @ i_el)

    def ideal_currents(self, i_el: np.ndarray, i_term: np.ndarray) -> np.ndarray:
        """Currents (n_ideal, batch) a -> b through the ideal elements, from KCL.

        Args:
            i_el: (n_elements, batch) element currents a -> b, A (the ideal entries are ignored).
            i_term: (n_terminals, batch) currents from the network into each terminal, A.
        """
        if self._ideal_kcl is None:
            self._ideal_kcl = _IdealKCL(self.table, self.ideal)
        return self._ideal_kcl.currents(i_el, i_term)

    def factor(self, g: np.ndarray) -> "FactoredCircuit":
        """Stamp conductances ``g`` (S per element) and factor the nodal matrix once."""
        return FactoredCircuit(self, self.check_values(g))


def _joined(triplets) -> list[np.ndarray]:
    """(rows, cols, elements, signs) lists of arrays, each concatenated (empty when nothing was added)."""
    return [np.concatenate(parts) if parts else np.zeros(0) for parts in triplets]


class _IdealKCL:
    """Kirchhoff's current law on the graph of ideal elements: ``Bi I = r`` solved as ``I = Bi^T phi``,
    ``(Bi Bi^T) phi = r`` with one node grounded per connected group (the minimum-norm currents)."""

    def __init__(self, table: ElementTable, ideal: np.ndarray):
        n, n_el = table.n_nodes, table.a.size
        els = np.arange(n_el)
        self.incidence = sp.csr_matrix((np.r_[np.ones(n_el), -np.ones(n_el)], (np.r_[table.a, table.b], np.r_[els, els])),
                                       shape=(n, n_el))
        self.ideal = np.flatnonzero(ideal)
        self.is_ideal = np.asarray(ideal, bool)
        self.terminals = table.terminals
        bi = self.incidence[:, self.ideal].tocsc()
        nodes = np.unique(bi.nonzero()[0])
        self.nodes = nodes
        self.bi = bi[nodes]
        lap = (self.bi @ self.bi.T).tocsc()
        _, comp = connected_components(lap, directed=False)
        first = np.unique(comp, return_index=True)[1]
        self.keep = np.setdiff1d(np.arange(nodes.size), first)
        reduced = lap[self.keep][:, self.keep].tocsc()
        self._lu = spla.splu(reduced) if self.keep.size else None

    def currents(self, i_el: np.ndarray, i_term: np.ndarray) -> np.ndarray:
        finite_part = np.where(self.is_ideal[:, None], 0.0, i_el)
        rhs = -(self.incidence @ finite_part)                  # what the ideal elements must carry out of each node
        np.subtract.at(rhs, self.terminals, i_term)            # the source takes i_term out of its terminal node
        phi = np.zeros((self.nodes.size, i_el.shape[1]))
        if self._lu is not None:
            phi[self.keep] = self._lu.solve(np.ascontiguousarray(rhs[self.nodes][self.keep]))
        return np.asarray(self.bi.T @ phi)


class FactoredCircuit:
    """A compiled circuit with stamped values and a factorisation (solve many inputs).

    Sparse LU first; where the conductances span more than ``refine.SPREAD_LIMIT`` (the condition
    estimate of :func:`cosim.solve.refine.needs_refinement`), each solve is refined with KCL residuals
    computed from element currents, because
    sparse LU of a nodal matrix whose conductances span many decades (1e-9 ohm beside 1e6 ohm) loses
    digits in its pivots and the refinement wins them back (to about 1e-15 of the voltage scale).
    Where it cannot (a singular factor, or corrections still above :data:`REFINE_FAILURE` after
    :data:`MAX_REFINEMENTS`), the circuit is factored again by the dense subtraction-free elimination
    of :mod:`cosim.solve.dense_gth` (up to its ``MAX_UNKNOWNS`` nodes); beyond that the solve raises
    :class:`IllConditionedError` rather than return a wrong operating point.
    """

    def __init__(self, circuit: CompiledCircuit, g: np.ndarray):
        self.circuit, self.g = circuit, g
        self.island = circuit.islands(g)
        self.A = circuit.A.matrix(g, diagonal=self.island.astype(np.float64), fmt="csc")
        self.B = circuit.B.matrix(g)
        self.C = circuit.C.matrix(g)
        self.E = circuit.E.matrix(g)
        self._lu = None
        self._dense: DenseGTH | None = None
        self.refines = needs_refinement(g[circuit.live])
        if circuit.n_unknowns:
            try:
                self._lu = spla.splu(self.A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                     options={"SymmetricMode": True})
            except RuntimeError:                      # a pivot cancelled to exactly 0
                self._dense = self._dense_factor("sparse LU met an exactly singular pivot")

    @property
    def is_dense(self) -> bool:
        """True when this circuit is solved by the dense subtraction-free elimination."""
        return self._dense is not None

    def _dense_factor(self, why: str) -> DenseGTH:
        n = self.circuit.n_unknowns
        if n > MAX_DENSE_UNKNOWNS:
            raise IllConditionedError(f"{why}, and {n} unknowns are too many for the dense exact solve "
                                      f"(at most {MAX_DENSE_UNKNOWNS}); the circuit's conductances span too many decades")
        shunt = np.asarray(self.B @ np.ones(self.B.shape[1])).ravel() + self.island
        return DenseGTH(self.A, shunt)

    def _solve_linear(self, r: np.ndarray) -> np.ndarray:
        return self._dense.solve(r) if self._dense is not None else self._lu.solve(r)

    def solve_matrix(self, rhs: np.ndarray) -> np.ndarray:
        """Solve the stamped nodal matrix for right-hand sides (n_unknowns, batch) of injected currents, A.

        Island rows hold the identity (a zero right-hand side there gives 0 V).
        """
        if self._lu is None:
            return np.zeros_like(rhs, dtype=np.float64)
        return self._lu.solve(np.asarray(rhs, np.float64))

    def unknowns(self, v_terminals: np.ndarray) -> np.ndarray:
        """Unknown node voltages (n_unknowns, batch) for terminal voltages (n_terminals, batch)."""
        if self.circuit.n_unknowns == 0:
            return np.zeros((0, v_terminals.shape[1]))
        # node voltages lie between the terminal voltages: solve for unit-scaled terminals, so nothing
        # overflows on the way for inputs near the float64 limit, and scale back
        scale = voltage_scale(np.zeros((0, v_terminals.shape[1])), v_terminals)
        vt = np.asarray(v_terminals, np.float64) / scale
        b = np.asarray(self.B @ vt)
        if not self.refines:
            x = self._solve_linear(b)
            x[self.island] = np.nan
            return x * scale
        x, size = self._refined(self._solve_linear(b), vt)
        if size > REFINE_FAILURE and self._dense is None:
            self._dense = self._dense_factor(f"sparse LU with {MAX_REFINEMENTS} refinements left corrections of "
                                             f"{size:.1e} of the voltage scale")
            x, size = self._refined(self._solve_linear(b), vt)
        if size > REFINE_FAILURE:
            raise IllConditionedError(f"the dense exact solve did not converge either (corrections {size:.1e})")
        x *= scale
        x[self.island] = np.nan
        return x

    def _refined(self, x: np.ndarray, v_terminals: np.ndarray) -> tuple[np.ndarray, float]:
        """Iterative refinement of ``x`` with KCL residuals; returns it and the last correction's size
        (inf when something was not finite)."""
        x[self.island] = 0.0

        def residual(xx):
            r = self.circuit.kcl_residual(self.g, xx, v_terminals)
            r[self.island] = 0.0
            return r

        def solve(r):
            dx = self._solve_linear(r)
            dx[self.island] = 0.0
            return dx

        with np.errstate(over="ignore", invalid="ignore"):
            x, size = refine(x, solve, residual, voltage_scale(x, v_terminals))
        return x, (size if np.isfinite(size) and np.all(np.isfinite(x)) else np.inf)

    def terminal_currents(self, x: np.ndarray, v_terminals: np.ndarray) -> np.ndarray:
        """Currents (n_terminals, batch) into each terminal; islands contribute nothing."""
        return self.C @ np.where(self.island[:, None], 0.0, x) + self.E @ v_terminals

    def solve(self, v_terminals) -> DCSolution:
        """Full operating point for terminal voltages (n_terminals,) or (batch, n_terminals)."""
        v = np.asarray(v_terminals, np.float64)
        single = v.ndim == 1
        vt = np.atleast_2d(v).T
        x = self.unknowns(vt)
        c = self.circuit
        node_v = np.zeros((c.table.n_nodes, vt.shape[1]))
        has_unknown = c.node_unknown >= 0
        node_v[has_unknown] = x[c.node_unknown[has_unknown]]
        is_term = c.node_terminal >= 0
        node_v[is_term] = vt[c.node_terminal[is_term]]
        t = c.table
        dv = node_v[t.a] - node_v[t.b]
        finite = ~c.ideal
        i_el = np.zeros_like(dv)
        conducting = (self.g[finite, None] > 0) & np.isfinite(dv[finite])    # islands carry no current
        i_el[finite] = np.where(conducting, self.g[finite, None] * np.nan_to_num(dv[finite]), 0.0)
        i_term = self.terminal_currents(x, vt)
        if np.any(c.ideal):
            i_el[c.ideal] = c.ideal_currents(i_el, i_term)
        power = np.sum(np.where(finite[:, None], i_el * np.nan_to_num(dv), 0.0), axis=0)
        sol = DCSolution(node_v.T, i_term.T, i_el.T, power)
        if single:
            sol = DCSolution(sol.node_voltages[0], sol.terminal_currents[0], sol.element_currents[0], power[0])
        return sol

