"""Which solver answers a crossbar request, and why: one visible decision instead of predicates spread around.

:func:`choose_path` looks at the circuit (size, regularity of the layout, linearity of the cells, 1T1R
row selection, whether a transfer matrix is cached) and at what is asked (a transfer matrix, sense
currents for a batch of inputs, or a full operating point with any line bias) and returns a
:class:`PathChoice`: the :class:`SolverPath` and a sentence saying why. ``Crossbar`` dispatches on it;
callers (the engine, benchmarks, users) can print it.

Every path is exact to rounding on the circuits it accepts (the property tests in
``tests/test_solver_properties.py`` check each against an independent dense nodal solve); the
thresholds below only decide speed:

- ``SINGLE_ROW_LADDER``: 1T1R, one selected row, open off-transistors, regular layout, linear cells.
  O(N) Norton recursion (:mod:`cosim.solve.row_ladder`).
- ``NESTED``: regular linear arrays with finite, non-zero line segments, from
  :data:`NESTED_TRANSFER_MIN_CELLS` cells for the transfer matrix, :data:`NESTED_MIN_CELLS` for the sense
  currents of a few inputs and :data:`NESTED_OP_MIN_CELLS` for operating points with any line bias and
  floating lines, unless a line is cut off from every terminal (:mod:`cosim.solve.nested`); operating
  points correct the last factorisation by a rank-k update when few cells changed
  (:mod:`cosim.solve.low_rank`).
- ``STRUCTURED``: the transfer matrix of any other regular linear array (:mod:`cosim.solve.structured`).
- ``TRANSFER_MATMUL``: sense currents as ``V @ T`` when T is cached or the batch amortises it.
- ``GENERAL``: sparse LU of the modified nodal matrix (:mod:`cosim.solve.mna`): every edit, islands.
- ``NONLINEAR_BATCH``: sinh cells; all inputs iterate together (Newton-CG) on one factorisation of the
  small-signal matrix, nested dissection for regular 1R arrays from :data:`NESTED_NONLINEAR_MIN_CELLS`
  cells, sparse LU otherwise (:mod:`cosim.solve.nonlinear_batch`).
- ``NEWTON``: sinh cells when the general path is forced: full Newton per input on the general path's
  stamps (:mod:`cosim.solve.newton`); also the batched path's fallback.
- ``BIAS_TRACKING``: an operating point followed through a few cells' conductance changes at one fixed
  bias (a programming pulse, a read between pulses): 1R arrays where the nested-dissection operating
  point applies, with linear cells, rank-k updates allowed (``Crossbar.low_rank``), no island and
  conductances that need no refinement; O(k) per update in cell space (:mod:`cosim.solve.bias_tracking`).
  Where it does not apply, each update is a full operating point on the path that request takes.

This module reads only public attributes of the crossbar (``shape``, ``layout``, ``is_linear``,
``selected_rows``, ``has_transfer_matrix``), so it imports nothing from :mod:`cosim.solve.crossbar`.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from cosim.netlist.crossbar import CellKind

#: arrays with at least this many cells use nested dissection for a few inputs (below: sparse LU)
NESTED_MIN_CELLS = 96 * 96
#: ... and for the transfer matrix (below: the structured column recursion)
NESTED_TRANSFER_MIN_CELLS = 32 * 32
#: ... and for operating points (below: sparse LU; nested dissection wins from about this size)
NESTED_OP_MIN_CELLS = 4 * 4
#: batched sinh-cell solves factor the small-signal matrix by nested dissection from this many cells
NESTED_NONLINEAR_MIN_CELLS = 32 * 32
#: a batch of at least ``rows // BATCH_PER_TRANSFER_ROWS`` inputs computes and caches T, then one matmul
BATCH_PER_TRANSFER_ROWS = 8


class SolverPath(Enum):
    """The solvers a crossbar request can be sent to."""

    SINGLE_ROW_LADDER = "single-row ladder"
    STRUCTURED = "structured column recursion"
    NESTED = "nested dissection"
    TRANSFER_MATMUL = "transfer-matrix matmul"
    GENERAL = "general sparse LU"
    NEWTON = "Newton on the general stamps"
    NONLINEAR_BATCH = "batched Newton-CG on the small-signal factorisation"
    BIAS_TRACKING = "rank-k cell updates at a fixed bias"


class Quantity(Enum):
    """What a request asks for."""

    TRANSFER_MATRIX = "transfer matrix"
    SENSE_CURRENTS = "sense currents"
    OPERATING_POINT = "operating point"
    TRACKED_OPERATING_POINT = "operating point tracked through a few cells' changes at a fixed bias"


@dataclass(frozen=True)
class SolveRequest:
    """One request to a crossbar.

    Attributes:
        quantity: what is asked for.
        batch: number of input vectors (>= 1).
        floating_lines: some word or bit line has its driver / sense disconnected.
        biased_bit_lines: some bit-line end is held at a non-zero voltage.
        force_general: the caller wants the general sparse path (the reference of the fast ones).
        islands: some line has no conducting path to a connected terminal (its voltage is undefined;
            :func:`cosim.solve.nested_values.has_island` tells).
        stiff: the conductances span more than :data:`cosim.solve.refine.SPREAD_LIMIT` (solves are refined;
            :func:`cosim.solve.refine.needs_refinement` tells).
    """

    quantity: Quantity
    batch: int = 1
    floating_lines: bool = False
    biased_bit_lines: bool = False
    force_general: bool = False
    islands: bool = False
    stiff: bool = False

    def __post_init__(self):
        if not isinstance(self.quantity, Quantity):
            raise TypeError(f"quantity must be a Quantity; got {self.quantity!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, (int, np.integer)) or self.batch < 1:
            raise ValueError(f"batch must be an integer >= 1; got {self.batch!r}")


@dataclass(frozen=True)
class PathChoice:
    """The solver chosen for a request and a human-readable reason."""

    path: SolverPath
    reason: str

    def __str__(self) -> str:
        return f"{self.path.value}: {self.reason}"


def single_row_ladder_applies(crossbar, row: int) -> bool:
    """Would selecting only ``row`` of this crossbar put it on the O(N) single-row ladder?

    True for 1T1R arrays with open off-transistors, a regular layout and linear cells.
    """
    lay = crossbar.layout
    return (lay.cell is CellKind.ONE_T_ONE_R and 0 <= row < lay.rows and crossbar.is_linear
            and bool(np.all(np.isinf(lay.r_off_transistor))) and lay.is_regular)


def nested_applies(crossbar, min_cells: int | None = None) -> bool:
    """Regular linear arrays of at least ``min_cells`` (default :data:`NESTED_MIN_CELLS`) cells with finite,
    non-zero line segments."""
    min_cells = NESTED_MIN_CELLS if min_cells is None else min_cells
    lay = crossbar.layout
    return (lay.rows * lay.cols >= min_cells and lay.is_regular and crossbar.is_linear
            and bool(np.all(lay.r_wl > 0)) and bool(np.all(lay.r_bl > 0)))


def nested_preconditioner_applies(crossbar, floating_lines: bool = False) -> bool:
    """Do batched sinh-cell solves factor the small-signal matrix by nested dissection (else sparse LU)?

    Regular 1R arrays of at least :data:`NESTED_NONLINEAR_MIN_CELLS` cells with finite, non-zero line
    segments and no floating line (1T1R cells put a node between cell and transistor that the grid
    solver does not have).
    """
    lay = crossbar.layout
    return (lay.cell is CellKind.ONE_R and not floating_lines and lay.rows * lay.cols >= NESTED_NONLINEAR_MIN_CELLS
            and lay.is_regular and bool(np.all(lay.r_wl > 0)) and bool(np.all(lay.r_bl > 0)))


def _single_selected_row(crossbar) -> int | None:
    selected = np.flatnonzero(crossbar.selected_rows)
    return int(selected[0]) if selected.size == 1 else None


def choose_path(crossbar, request: SolveRequest) -> PathChoice:
    """The solver path for ``request`` on ``crossbar`` (a :class:`~cosim.solve.crossbar.Crossbar`)."""
    lay = crossbar.layout
    size = f"{lay.rows}x{lay.cols}"
    if request.quantity is Quantity.TRACKED_OPERATING_POINT:
        return _tracking_path(crossbar, request, size)
    if request.quantity is Quantity.TRANSFER_MATRIX:
        if not crossbar.is_linear:
            raise ValueError("transfer_matrix needs linear cells (nonlinearity 0); use read() for sinh cells")
        return _transfer_path(crossbar, size)
    if not crossbar.is_linear:
        if request.force_general:
            return PathChoice(SolverPath.NEWTON, "sinh cells, and the caller asked for the general path: full "
                              "Newton (a sparse LU per iteration) for each input")
        factor = ("nested-dissection" if nested_preconditioner_applies(crossbar, request.floating_lines)
                  else "sparse LU")
        return PathChoice(SolverPath.NONLINEAR_BATCH,
                          f"sinh cells: the {request.batch} input(s) iterate together on one {factor} factorisation "
                          "of the small-signal matrix (full Newton per input where that does not converge)")
    if request.force_general:
        return PathChoice(SolverPath.GENERAL, "the caller asked for the general path")
    row = _single_selected_row(crossbar)
    if not request.floating_lines and row is not None and single_row_ladder_applies(crossbar, row):
        return PathChoice(SolverPath.SINGLE_ROW_LADDER,
                          f"1T1R with only row {row} selected and open off-transistors: current flows in one row")
    if request.quantity is Quantity.SENSE_CURRENTS:
        if crossbar.has_transfer_matrix:
            return PathChoice(SolverPath.TRANSFER_MATMUL, "the transfer matrix is cached")
        wanted = max(1, lay.rows // BATCH_PER_TRANSFER_ROWS)
        if lay.is_regular and request.batch >= wanted:
            return PathChoice(SolverPath.TRANSFER_MATMUL,
                              f"a batch of {request.batch} >= {wanted} inputs amortises the transfer matrix "
                              f"({_transfer_path(crossbar, size).path.value})")
    if request.quantity is Quantity.OPERATING_POINT and not request.islands and nested_applies(
            crossbar, NESTED_OP_MIN_CELLS):
        return PathChoice(SolverPath.NESTED, f"regular {size} array with resistive lines, >= {NESTED_OP_MIN_CELLS} "
                          "cells (rank-k updates of the last factorisation when few cells changed)")
    plain = not request.floating_lines and not request.biased_bit_lines
    if plain and nested_applies(crossbar):
        return PathChoice(SolverPath.NESTED, f"regular {size} array with resistive lines, >= {NESTED_MIN_CELLS} cells")
    why = _irregularity(crossbar, request)
    return PathChoice(SolverPath.GENERAL, why)


def _tracking_path(crossbar, request: SolveRequest, size: str) -> PathChoice:
    """BIAS_TRACKING, or the operating-point path each update takes instead, with the obstacle."""
    lay = crossbar.layout
    obstacle = None
    if request.force_general:
        obstacle = "the caller asked for the general path"
    elif not crossbar.is_linear:
        obstacle = "sinh cells"
    elif lay.cell is not CellKind.ONE_R:
        obstacle = "1T1R cells (transistors in series)"
    elif crossbar.low_rank.max_rank == 0:
        obstacle = "rank-k updates are off (low_rank.max_rank = 0)"
    elif request.islands:
        obstacle = "a line cut off from every terminal (an island)"
    elif request.stiff:
        obstacle = "conductances spanning more than the refinement limit"
    elif not nested_applies(crossbar, NESTED_OP_MIN_CELLS):
        obstacle = _irregularity(crossbar, SolveRequest(Quantity.OPERATING_POINT))
    if obstacle is None:
        return PathChoice(SolverPath.BIAS_TRACKING, f"regular {size} 1R array with resistive lines: the cells that "
                          "change are Woodbury updates of the last factorisation, O(k) per update in cell space")
    full = choose_path(crossbar, SolveRequest(Quantity.OPERATING_POINT, request.batch, request.floating_lines,
                                              request.biased_bit_lines, request.force_general, request.islands))
    return PathChoice(full.path, f"{obstacle}: a full operating point per update ({full.reason})")


def _transfer_path(crossbar, size: str) -> PathChoice:
    lay = crossbar.layout
    if nested_applies(crossbar, NESTED_TRANSFER_MIN_CELLS):
        return PathChoice(SolverPath.NESTED,
                          f"regular {size} array with resistive lines, >= {NESTED_TRANSFER_MIN_CELLS} cells")
    if lay.is_regular:
        reason = (f"regular {size} array below {NESTED_TRANSFER_MIN_CELLS} cells" if np.all(lay.r_wl > 0)
                  and np.all(lay.r_bl > 0) else f"regular {size} array with ideal (0 ohm) segments")
        return PathChoice(SolverPath.STRUCTURED, reason)
    return PathChoice(SolverPath.GENERAL, _irregularity(crossbar, None))


def _irregularity(crossbar, request: SolveRequest | None) -> str:
    """Why no structured path applies (the general path's reason)."""
    lay = crossbar.layout
    if not lay.is_regular:
        edits = []
        if np.any(lay.cell_state == lay.SHORT):
            edits.append("shorted cells")
        if np.any(lay.cell_state == lay.OPEN):
            edits.append("open cells")
        if not (np.all(np.isfinite(lay.r_wl)) and np.all(np.isfinite(lay.r_bl))):
            edits.append("broken segments")
        if not (np.all(np.isfinite(lay.r_source)) and np.all(np.isfinite(lay.r_sense))):
            edits.append("open drivers or senses")
        return "edited layout (" + ", ".join(edits) + ")"
    if request is not None and request.islands:
        return "a line cut off from every terminal (an island)"
    if request is not None and request.quantity is Quantity.OPERATING_POINT:
        return f"{lay.rows}x{lay.cols} below the nested-dissection size ({NESTED_OP_MIN_CELLS} cells) or ideal segments"
    if request is not None and request.floating_lines:
        return "floating lines"
    if request is not None and request.biased_bit_lines:
        return "biased bit lines"
    return f"{lay.rows}x{lay.cols} below the nested-dissection size ({NESTED_MIN_CELLS} cells) or ideal segments"
