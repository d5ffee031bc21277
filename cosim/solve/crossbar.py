"""The user-facing crossbar: its netlist values, cell conductances, derived caches and public solve API.

``Crossbar`` keeps one home for each fact: the parasitic values and defects in a
:class:`~cosim.netlist.crossbar.CrossbarLayout`, the cell conductances in one (rows, cols) array, the
1T1R row selection in one boolean vector. The networkx graph, the compiled circuit, its factorisation
and the transfer matrix are derived from them and cached until one of them changes.

Solvers: the structured column recursion (:mod:`cosim.solve.structured`) gives the exact transfer
matrix of regular arrays; nested dissection (:mod:`cosim.solve.nested`) gives large transfer matrices and
the operating points of regular arrays with resistive lines (any line bias, floating lines), updated by
rank-k corrections when few cells changed (:mod:`cosim.solve.low_rank`); the general sparse path
(:mod:`cosim.solve.mna`) handles every edit; sinh cells are solved for whole batches of inputs on one
factorisation (:mod:`cosim.solve.nonlinear_batch`), or by full Newton per input (:mod:`cosim.solve.newton`).
:mod:`cosim.solve.routing` makes the choice and says why; :mod:`cosim.solve.crossbar_paths` runs each path.
Structural edits (broken segments, shorted and open cells) are :mod:`cosim.solve.crossbar_edits`.
"""
from __future__ import annotations

import numpy as np

from cosim import validate
from cosim.netlist.crossbar import MAX_CONDUCTANCE_S, CellKind, CrossbarLayout
from cosim.netlist.elements import ElementTable
from cosim.solve import crossbar_paths as paths
from cosim.solve.crossbar_edits import CrossbarEdits
from cosim.solve.crossbar_paths import floating_key as _floating_key
from cosim.solve.low_rank import LowRankOperatingPoints, LowRankPolicy
from cosim.solve.mna import CompiledCircuit, FactoredCircuit
from cosim.solve.nested import NestedDissectionSolver
from cosim.solve.nonlinear_batch import BatchReport
from cosim.solve.routing import PathChoice, Quantity, SolveRequest, choose_path, single_row_ladder_applies
from cosim.solve.solution import CrossbarSolution


def _check_conductances(name: str, value, shape, scalar_ok: bool = False) -> np.ndarray:
    """Real, finite, > 0 siemens, of ``shape`` (or a scalar when ``scalar_ok``); a new float64 array."""
    return validate.positive_bounded(name, value, shape, MAX_CONDUCTANCE_S, scalar_ok=scalar_ok, unit="siemens",
                                     low_hint="use open_cell for an open cell", high_hint="use short_cell for a short")


def _check_finite_solution(sol: CrossbarSolution) -> CrossbarSolution:
    """Raise OverflowError when a solution's currents or power are not finite (its inputs were)."""
    for name in ("sense_currents", "driver_currents", "cell_currents", "power"):
        validate.finite_result(name, getattr(sol, name), "inputs too large")
    return sol


class Crossbar(CrossbarEdits):
    """An M x N crossbar of 1R or 1T1R cells with wire, driver and sense resistances.

    Args:
        rows, cols: array size (word lines, bit lines).
        cell: "1R" or "1T1R".
        r_wl, r_bl: word-/bit-line segment resistance, ohm (scalar or per segment; 0 = ideal wire).
        r_source: driver resistance, ohm (0 = ideal source). r_sense: sense resistance, ohm (0 = ideal).
        r_on_transistor: 1T1R access transistor resistance when selected, ohm.
        r_off_transistor: when not selected, ohm (inf = open, the default).
        nonlinearity: b in 1/V of the cell law I = (G/b) sinh(b V) (0 = linear cells, the default).
        conductance: initial conductance of every cell, S.
        low_rank: when an operating point corrects the last factorisation by a rank-k update instead
            of refactoring (regular arrays with resistive lines; see :mod:`cosim.solve.low_rank`).
    """

    ROUTES_KEPT = 1024    # choose_path's cached choices (row selections x requests) before the cache restarts

    def __init__(self, rows: int, cols: int, cell: str = "1R", r_wl=1.0, r_bl=1.0, r_source=0.0,
                 r_sense=0.0, r_on_transistor=1e3, r_off_transistor=np.inf, nonlinearity=0.0,
                 conductance: float = 1e-4, low_rank: LowRankPolicy = LowRankPolicy()):
        self.low_rank = low_rank
        self._updating: tuple[tuple, LowRankOperatingPoints] | None = None
        self.layout = CrossbarLayout.build(rows, cols, cell, r_wl, r_bl, r_source, r_sense,
                                           r_on_transistor, r_off_transistor)
        self._g = _check_conductances("conductance", conductance, (self.layout.rows, self.layout.cols), scalar_ok=True)
        self._selected = np.ones(rows, dtype=bool)
        self._b = self._check_nonlinearity(nonlinearity)
        self._compiled: dict[bytes, CompiledCircuit] = {}
        self._table_cache = None
        self._routes = None            # (nonlinearity, policy, {(selection, request, ...): PathChoice}) of choose_path
        self._wire_range = None
        self._invalidate_values()

    # ---- properties ----------------------------------------------------------------------------
    @property
    def rows(self) -> int:
        return self.layout.rows

    @property
    def cols(self) -> int:
        return self.layout.cols

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def cell(self) -> CellKind:
        return self.layout.cell

    @property
    def conductances(self) -> np.ndarray:
        """(rows, cols) cell conductances in siemens (a copy)."""
        return self._g.copy()

    @property
    def selected_rows(self) -> np.ndarray:
        """(rows,) True where the row's access transistors are on (1T1R)."""
        return self._selected.copy()

    @property
    def nonlinearity(self) -> np.ndarray:
        """(rows, cols) sinh nonlinearity b of every cell, 1/V (0 = linear; a copy)."""
        return self._b.copy()

    @property
    def is_linear(self) -> bool:
        return not np.any(self._b > 0)

    @property
    def graph(self):
        """The networkx netlist of this circuit, with the current values (built on access)."""
        return self.layout.to_graph(self._g, self._selected, None if self.is_linear else self._b)

    @property
    def low_rank(self) -> LowRankPolicy:
        """When operating points correct the last factorisation by a rank-k update (see :mod:`cosim.solve.low_rank`)."""
        return self._low_rank

    @low_rank.setter
    def low_rank(self, policy: LowRankPolicy) -> None:
        if not isinstance(policy, LowRankPolicy):
            raise TypeError(f"low_rank must be a LowRankPolicy; got {type(policy).__name__}")
        self._low_rank = policy
        self._updating = None            # the next operating point starts from a fresh factorisation

    # ---- setting values ------------------------------------------------------------------------
    def set_conductances(self, G) -> None:
        """Set every cell's conductance (rows, cols) in siemens (finite, > 0)."""
        self._g = _check_conductances("G", G, self.shape)
        self._invalidate_values()

    def set_row_conductances(self, row: int, g) -> None:
        """Set the conductances (cols,) of the cells of ``row`` in siemens (finite, > 0); the others keep theirs."""
        row = validate.index("row", row, self.rows)
        g = _check_conductances(f"G of row {row}", g, (self.cols,))
        new = self._g.copy()
        new[row] = g
        self._g = new
        self._invalidate_values()

    def select_rows(self, rows=None) -> None:
        """Turn on the access transistors of ``rows`` (indices or a boolean mask; None = all rows); 1T1R only."""
        if self.cell is not CellKind.ONE_T_ONE_R:
            raise ValueError(f"select_rows applies to 1T1R arrays; this one is {self.cell.value}")
        if rows is None:
            mask = np.ones(self.rows, bool)
        elif np.asarray(rows).dtype == bool and np.ndim(rows) == 1:
            mask = validate.bool_mask("rows", rows, self.rows)
        else:
            mask = np.zeros(self.rows, bool)
            mask[validate.index_array("rows", rows, self.rows)] = True
        self._selected = mask
        self._invalidate_values()

    def set_nonlinearity(self, b) -> None:
        """Set the sinh nonlinearity b (1/V, scalar or (rows, cols); 0 = linear cell)."""
        self._b = self._check_nonlinearity(b)
        self._invalidate_values()

    def _check_nonlinearity(self, b) -> np.ndarray:
        arr = validate.broadcast_real("nonlinearity", b, self.shape, unit="1/V")
        validate.check_range("nonlinearity", arr, low=0.0, unit="1/V")
        return arr

    def _invalidate_structure(self) -> None:
        self._updating = None
        self._routes = None
        self._wire_range = None
        self._compiled = {}
        self._table_cache = None
        self._invalidate_values()

    def _invalidate_values(self) -> None:
        """Drop what depends on the values; the low-rank base factorisation stays (it tracks changes)."""
        self._factored: tuple[tuple, FactoredCircuit] | None = None
        self._transfer: np.ndarray | None = None
        self._nested: tuple[tuple, NestedDissectionSolver] | None = None

    # ---- compiled circuit ----------------------------------------------------------------------
    def _table(self):
        """The element table of the present structure (node arrays fixed; ``g`` filled by _element_g)."""
        if self._table_cache is None:
            self._table_cache = self.layout.element_table(self._g, self._selected)
        return self._table_cache

    def _element_g(self, floating_wl=None, floating_bl=None) -> np.ndarray:
        """Element conductances; the drivers / senses of floating lines are opened."""
        lay = self.layout
        g = self._table().g.copy()
        cells = lay.cell_element_slice()
        g[cells] = np.where(lay.cell_state == lay.SHORT, np.inf,
                            np.where(lay.cell_state == lay.OPEN, 0.0, self._g)).ravel()
        if lay.has_mid_nodes:
            r_t = np.where(self._selected[:, None], lay.r_on_transistor, lay.r_off_transistor)
            with np.errstate(divide="ignore"):
                g[cells.stop:] = np.where(r_t == 0, np.inf, 1.0 / r_t).ravel()
        if floating_wl is not None:
            g[self.layout.driver_element_slice()][floating_wl] = 0.0
        if floating_bl is not None:
            g[self.layout.sense_element_slice()][floating_bl] = 0.0
        return g

    def compiled(self, g: np.ndarray | None = None) -> CompiledCircuit:
        """The compiled circuit (node numbering and stamp pattern) for the ideal-element set of ``g``.

        Built once per topology (a floating line whose driver is ideal is a different topology).
        """
        g = self._element_g() if g is None else g
        key = np.packbits(np.isinf(g)).tobytes()
        if key not in self._compiled:
            t = self._table()
            self._compiled[key] = CompiledCircuit(ElementTable(t.n_nodes, t.terminals, t.a, t.b, g, t.kind))
        return self._compiled[key]

    def factored(self, floating_wl=None, floating_bl=None) -> FactoredCircuit:
        """The general-path factorisation for the current values and floating lines (cached).

        Value changes clear the cache (``_invalidate_values``), so the key only tells floating patterns apart.
        """
        key = _floating_key(floating_wl, floating_bl)
        if self._factored is None or self._factored[0] != key:
            g = self._element_g(floating_wl, floating_bl)
            self._factored = (key, self.compiled(g).factor(g))
        return self._factored[1]

    def effective_conductances(self) -> np.ndarray:
        """(rows, cols) conductance between each cell's word-line and bit-line nodes, S.

        1R: the cell itself; 1T1R: the cell in series with its transistor (0 for an open transistor).
        """
        if self.cell is CellKind.ONE_R:
            return self._g.copy()
        r_t = np.where(self._selected[:, None], self.layout.r_on_transistor, self.layout.r_off_transistor)
        return 1.0 / (1.0 / self._g + r_t)

    # ---- solving -------------------------------------------------------------------------------
    def _check_inputs(self, V, name: str = "V") -> np.ndarray:
        return validate.vectors(name, V, self.rows, unit="V")


    def terminal_voltages(self, V: np.ndarray) -> np.ndarray:
        """Voltages of all terminals (drivers, then senses at 0 V) for word-line inputs ``V``."""
        v = np.atleast_2d(V)
        full = np.zeros((v.shape[0], self.rows + self.cols))
        full[:, : self.rows] = v
        return full if np.ndim(V) == 2 else full[0]

    @property
    def has_transfer_matrix(self) -> bool:
        """True when the transfer matrix for the present values is cached (reads are then one matmul)."""
        return self._transfer is not None

    def choose_path(self, request: SolveRequest) -> PathChoice:
        """The solver path (and the reason) for ``request``: see :mod:`cosim.solve.routing`.

        The choice depends on the structure, the linearity, the row selection, the low-rank policy and
        whether a transfer matrix is cached; it is kept per request until one of those changes."""
        key = (self._selected.tobytes(), request, self._transfer is not None)
        cache = self._routes
        if cache is None or cache[0] is not self._b or cache[1] is not self._low_rank:
            cache = self._routes = (self._b, self._low_rank, {})
        choice = cache[2].get(key)
        if choice is None:
            if len(cache[2]) >= self.ROUTES_KEPT:
                cache[2].clear()
            choice = cache[2][key] = choose_path(self, request)
        return choice

    def single_row_ladder_applies(self, row: int) -> bool:
        """Would selecting only ``row`` put this array on the O(N) single-row ladder path?"""
        return single_row_ladder_applies(self, row)

    def transfer_matrix(self) -> np.ndarray:
        """Exact T (rows x cols) with ``read(V) == V @ T``: IR drop and sneak paths included.

        The path is chosen by :func:`cosim.solve.routing.choose_path`: nested dissection for large
        regular arrays with resistive lines, the structured column recursion for other regular ones,
        the general sparse path for edited ones (broken segments, shorted or open cells). Linear cells only.
        """
        path = self.choose_path(SolveRequest(Quantity.TRANSFER_MATRIX)).path
        if self._transfer is None:
            self._transfer = paths.transfer_on(self, path)
            validate.finite_result("transfer matrix", self._transfer)
        return self._transfer.copy()

    def transfer_matrix_general(self) -> np.ndarray:
        """T computed on the general sparse path (the reference for the structured one)."""
        return paths.general_transfer(self)

    def read(self, V) -> np.ndarray:
        """Sense currents (A) for word-line voltages V: (rows,) -> (cols,), (batch, rows) -> (batch, cols).

        The path is chosen by :func:`cosim.solve.routing.choose_path` (ladder, transfer-matrix matmul,
        nested dissection, sparse LU; for sinh cells the batched Newton-CG solver, whose report is
        :attr:`last_nonlinear_report`).
        """
        v = self._check_inputs(V)
        with np.errstate(over="ignore", invalid="ignore"):      # an overflow raises below, naming the result
            out = self._read(v)
        return validate.finite_result("sense currents", out, "inputs too large")

    def _read(self, v: np.ndarray) -> np.ndarray:
        return paths.sense_currents(self, v)

    #: below this many cells a factorisation runs on one thread (OpenMP subtrees cost more than they save)
    NESTED_THREADS_MIN_CELLS = 512 * 512

    def nested_solver(self, floating_wl=None, floating_bl=None) -> NestedDissectionSolver:
        """The nested-dissection factorisation for the current values and floating lines (cached)."""
        key = _floating_key(floating_wl, floating_bl)
        if self._nested is None or self._nested[0] != key:
            lay = self.layout
            threads = 1 if self.rows * self.cols < self.NESTED_THREADS_MIN_CELLS else None
            self._nested = (key, NestedDissectionSolver(self.effective_conductances(), lay.r_wl, lay.r_bl,
                                                        lay.r_source, lay.r_sense, n_threads=threads,
                                                        floating_wl=floating_wl, floating_bl=floating_bl))
        return self._nested[1]

    def solve(self, V) -> CrossbarSolution:
        """Full operating point (every node voltage, cell voltages and currents, power) for inputs V.

        Word lines are driven at ``V``, bit lines end in their sense amplifiers at 0 V.
        """
        return self.solve_bias(V)

    def solve_bias(self, v_wl, v_bl=None, floating_wl=None, floating_bl=None, *,
                   general: bool = False) -> CrossbarSolution:
        """Operating point for an arbitrary bias of every line (programming schemes, sneak-path reads).

        Args:
            v_wl: (rows,) or (batch, rows) voltages of the word-line drivers, V.
            v_bl: (cols,) or (batch, cols) voltages at which the bit-line ends are held, V (default 0 V,
                the sense amplifiers' virtual ground). ``sense_currents`` are the currents into them.
            floating_wl, floating_bl: boolean masks of lines whose driver / sense end is disconnected.
            general: force the general sparse path (the reference for the fast ones).
        """
        v = self._check_inputs(v_wl, "v_wl")
        shape_bl = v.shape[:-1] + (self.cols,)
        vb = np.zeros(shape_bl) if v_bl is None else validate.real_array("v_bl", v_bl, shape_bl, unit="V")
        fw = self._check_mask("floating_wl", floating_wl, self.rows)
        fb = self._check_mask("floating_bl", floating_bl, self.cols)
        with np.errstate(over="ignore", invalid="ignore"):      # an overflow raises below, naming the result
            sol = self._solve_bias(v, vb, fw, fb, bool(general))
        return _check_finite_solution(sol)

    def bias_tracker(self, v_wl, v_bl=None, floating_wl=None, floating_bl=None, *, reach=None, fresh: bool = False):
        """A :class:`~cosim.solve.bias_tracking.BiasTracker` of one bias (1-D ``v_wl`` (rows,), ``v_bl`` (cols,),
        V; floating masks as :meth:`solve_bias`): cell voltages, sense currents and power while a few cells
        change, by rank-k updates of the cached factorisation. None where that path does not apply
        (:func:`~cosim.solve.routing.choose_path` with ``Quantity.TRACKED_OPERATING_POINT`` says why).

        ``reach``: conductances (S) the cells may take while tracked, for the stiffness test; ``fresh``:
        factor the present conductances anew (after the tracker reported its policy's limits).
        """
        v = validate.real_array("v_wl", v_wl, (self.rows,), unit="V")
        vb = np.zeros(self.cols) if v_bl is None else validate.real_array("v_bl", v_bl, (self.cols,), unit="V")
        fw = self._check_mask("floating_wl", floating_wl, self.rows)
        fb = self._check_mask("floating_bl", floating_bl, self.cols)
        return paths.bias_tracker(self, v, vb, fw, fb, reach, bool(fresh))

    def _solve_bias(self, v, vb, fw, fb, general: bool) -> CrossbarSolution:
        return paths.operating_point(self, v, vb, fw, fb, general)

    @staticmethod
    def _check_mask(name: str, mask, n: int):
        return validate.optional_bool_mask(name, mask, n)


    #: full-Newton iterations allowed per operating point before ConvergenceError
    NEWTON_MAX_ITER = 100
    #: Newton steps a batched sinh-cell solve takes on the shared factorisation before an input falls
    #: back to full Newton
    BATCH_MAX_NEWTON = 30

    #: :class:`~cosim.solve.nonlinear_batch.BatchReport` of the last batched sinh-cell solve (tolerance,
    #: Newton steps, CG iterations, inputs that needed the per-input fallback); None before the first
    last_nonlinear_report: BatchReport | None = None

    # ---- export ----------------------------------------------------------------------------
    def to_spice(self, path, V) -> None:
        """Write an ngspice netlist of exactly this circuit with word-line inputs ``V`` (volts).

        sinh cells become behavioural sources ``I = g/b*sinh(b*V)`` (see :mod:`cosim.netlist.spice`).
        """
        from cosim.netlist.spice import write_spice

        v = self._check_inputs(V)
        if v.ndim != 1:
            raise ValueError(f"to_spice takes one input vector of shape ({self.rows},); got {v.shape}")
        write_spice(self.graph, path, self.terminal_voltages(v))

    def __repr__(self) -> str:
        return (f"Crossbar({self.rows}x{self.cols}, cell={self.cell.value}, "
                f"r_wl~{np.mean(self.layout.r_wl) if self.layout.r_wl.size else 0:.3g} ohm)")
