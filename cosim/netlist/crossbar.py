"""Regular M x N crossbars of 1R and 1T1R cells: value arrays, element tables and networkx graphs.

Circuit convention (a public contract):
- word line i is driven at its column-0 end by an ideal voltage source (terminal ``in_i``) through
  ``r_source[i]``; word-line segments ``r_wl[i, j]`` join columns j and j+1;
- bit line j ends at its row-(M-1) end in a sense amplifier (terminal ``out_j``) that holds it at 0 V
  through ``r_sense[j]``; the output of column j is the current flowing from the bit line into it;
- bit-line segments ``r_bl[i, j]`` join rows i and i+1; cell (i, j) joins word-line node (i, j) to
  bit-line node (i, j); in 1T1R it is in series with its access transistor (``r_on`` when the row is
  selected, ``r_off`` otherwise, ``inf`` = open).
A resistance of 0 is an ideal connection, ``inf`` an open one (a broken segment).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import networkx as nx
import numpy as np

from cosim import validate
from cosim.netlist.elements import KIND_CODES, ElementKind, ElementTable, conductance_from_resistance

#: bytes a crossbar needs per cell for its value arrays and element table (about 250; factorisations come on
#: top), checked against :func:`cosim.validate.memory_limit_bytes` before anything is allocated
BYTES_PER_CELL = 256
#: largest cell conductance accepted, S (a better conductor is a short: ``short_cell``). With resistances of at
#: least MIN_RESISTANCE_OHM this keeps every product the solvers form far from float64 overflow.
MAX_CONDUCTANCE_S = 1e12
#: smallest non-zero resistance accepted, ohm (an ideal wire, driver or sense is 0)
MIN_RESISTANCE_OHM = 1e-12


class CellKind(str, Enum):
    """Crossbar cell kinds."""

    ONE_R = "1R"
    ONE_T_ONE_R = "1T1R"


def parse_cell_kind(value) -> CellKind:
    """Return the :class:`CellKind` named by ``value`` or raise ValueError listing the choices."""
    try:
        return CellKind(value)
    except ValueError:
        raise ValueError(f"cell must be one of {[c.value for c in CellKind]}; got {value!r}") from None


def resistance_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast ``value`` (ohm) to ``shape``; real, >= 0 and not NaN (inf = open)."""
    arr = validate.real_array(name, value, finite=False, unit="ohm")
    try:
        arr = np.broadcast_to(arr, shape).copy()
    except ValueError:
        raise ValueError(f"{name} must be a scalar or have shape {shape}; got shape {arr.shape}") from None
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 ohm (0 = ideal, inf = open); got {arr.min():.6g}")
    if np.any((arr > 0) & (arr < MIN_RESISTANCE_OHM)):
        raise ValueError(f"{name} must be 0 (ideal) or >= {MIN_RESISTANCE_OHM:g} ohm; got {arr[arr > 0].min():.3g}")
    return arr


@dataclass
class CrossbarLayout:
    """Topology and parasitic values of a regular crossbar (all resistances in ohm).

    The arrays are the one home of these values; graphs and element tables are derived from them.
    ``cell_state`` holds 0 (normal), 1 (shorted) or 2 (open) per cell.
    """

    rows: int
    cols: int
    cell: CellKind
    r_wl: np.ndarray
    r_bl: np.ndarray
    r_source: np.ndarray
    r_sense: np.ndarray
    r_on_transistor: np.ndarray
    r_off_transistor: np.ndarray
    cell_state: np.ndarray = field(default=None)

    NORMAL, SHORT, OPEN = 0, 1, 2

    @classmethod
    def build(cls, rows: int, cols: int, cell="1R", r_wl=1.0, r_bl=1.0, r_source=0.0, r_sense=0.0,
              r_on_transistor=1e3, r_off_transistor=np.inf) -> "CrossbarLayout":
        """Validated layout; scalars broadcast to per-segment / per-line / per-cell arrays."""
        for name, n in (("rows", rows), ("cols", cols)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name} must be a positive integer; got {n!r}")
        rows, cols = int(rows), int(cols)
        validate.check_memory(f"a {rows}x{cols} crossbar", float(rows) * cols * BYTES_PER_CELL)
        kind = parse_cell_kind(cell)
        layout = cls(
            rows=rows, cols=cols, cell=kind,
            r_wl=resistance_array("r_wl", r_wl, (rows, cols - 1)),
            r_bl=resistance_array("r_bl", r_bl, (rows - 1, cols)),
            r_source=resistance_array("r_source", r_source, (rows,)),
            r_sense=resistance_array("r_sense", r_sense, (cols,)),
            r_on_transistor=resistance_array("r_on_transistor", r_on_transistor, (rows, cols)),
            r_off_transistor=resistance_array("r_off_transistor", r_off_transistor, (rows, cols)),
            cell_state=np.zeros((rows, cols), dtype=np.int8),
        )
        return layout

    def copy(self) -> "CrossbarLayout":
        return CrossbarLayout(self.rows, self.cols, self.cell, self.r_wl.copy(), self.r_bl.copy(),
                              self.r_source.copy(), self.r_sense.copy(), self.r_on_transistor.copy(),
                              self.r_off_transistor.copy(), self.cell_state.copy())

    # ---- structure -------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return self.rows * self.cols

    @property
    def has_mid_nodes(self) -> bool:
        return self.cell is CellKind.ONE_T_ONE_R

    @property
    def is_regular(self) -> bool:
        """True when no segment is open and no cell is shorted or open (the structured solver applies)."""
        return bool(np.all(np.isfinite(self.r_wl)) and np.all(np.isfinite(self.r_bl))
                    and np.all(np.isfinite(self.r_source)) and np.all(np.isfinite(self.r_sense))
                    and np.all(self.cell_state == self.NORMAL))

    def node_index(self) -> dict[str, np.ndarray]:
        """Node numbers: ``wl``, ``bl`` (and ``mid`` for 1T1R) as (rows, cols) arrays, ``in`` and ``out`` terminals."""
        m, n = self.rows, self.cols
        grid = np.arange(m * n).reshape(m, n)
        idx = {"wl": grid, "bl": m * n + grid}
        base = 2 * m * n
        if self.has_mid_nodes:
            idx["mid"] = base + grid
            base += m * n
        idx["in"] = base + np.arange(m)
        idx["out"] = base + m + np.arange(n)
        return idx

    def node_names(self) -> list[str]:
        """SPICE-compatible name of every node, in node-number order."""
        m, n = self.rows, self.cols
        ii, jj = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
        names = [f"wl_{i}_{j}" for i, j in zip(ii.ravel(), jj.ravel())]
        names += [f"bl_{i}_{j}" for i, j in zip(ii.ravel(), jj.ravel())]
        if self.has_mid_nodes:
            names += [f"m_{i}_{j}" for i, j in zip(ii.ravel(), jj.ravel())]
        names += [f"in_{i}" for i in range(m)] + [f"out_{j}" for j in range(n)]
        return names

    # ---- element table ---------------------------------------------------------------------
    def element_table(self, conductances: np.ndarray, selected_rows: np.ndarray) -> ElementTable:
        """Element arrays for cell conductances ``conductances`` (S, rows x cols) and 1T1R row selection.

        Element order: word-line segments, bit-line segments, drivers, senses, cells, transistors.
        """
        idx = self.node_index()
        wl, bl = idx["wl"], idx["bl"]
        g_cell = np.where(self.cell_state == self.SHORT, np.inf,
                          np.where(self.cell_state == self.OPEN, 0.0, conductances))
        parts = [
            (wl[:, :-1], wl[:, 1:], conductance_from_resistance(self.r_wl), ElementKind.WIRE),
            (bl[:-1, :], bl[1:, :], conductance_from_resistance(self.r_bl), ElementKind.WIRE),
            (idx["in"], wl[:, 0], conductance_from_resistance(self.r_source), ElementKind.DRIVER),
            (bl[-1, :], idx["out"], conductance_from_resistance(self.r_sense), ElementKind.SENSE),
        ]
        if self.has_mid_nodes:
            r_t = np.where(np.asarray(selected_rows, bool)[:, None], self.r_on_transistor, self.r_off_transistor)
            parts.append((wl, idx["mid"], g_cell, ElementKind.CELL))
            parts.append((idx["mid"], bl, conductance_from_resistance(r_t), ElementKind.TRANSISTOR))
        else:
            parts.append((wl, bl, g_cell, ElementKind.CELL))
        a = np.concatenate([np.ravel(p[0]) for p in parts])
        b = np.concatenate([np.ravel(p[1]) for p in parts])
        g = np.concatenate([np.ravel(p[2]) for p in parts])
        kind = np.concatenate([np.full(np.size(p[0]), KIND_CODES[p[3]], np.int8) for p in parts])
        n_nodes = int(idx["out"][-1]) + 1
        return ElementTable(n_nodes, np.concatenate([idx["in"], idx["out"]]), a, b, g, kind)

    def driver_element_slice(self) -> slice:
        """Position of the driver elements (one per row) within :meth:`element_table`'s arrays."""
        m, n = self.rows, self.cols
        start = m * (n - 1) + (m - 1) * n
        return slice(start, start + m)

    def sense_element_slice(self) -> slice:
        """Position of the sense elements (one per column) within :meth:`element_table`'s arrays."""
        start = self.driver_element_slice().stop
        return slice(start, start + self.cols)

    def cell_element_slice(self) -> slice:
        """Position of the cell elements (row-major) within :meth:`element_table`'s arrays."""
        m, n = self.rows, self.cols
        start = m * (n - 1) + (m - 1) * n + m + n
        return slice(start, start + m * n)

    # ---- graph -----------------------------------------------------------------------------
    def to_graph(self, conductances: np.ndarray, selected_rows: np.ndarray,
                 nonlinearity: np.ndarray | None = None) -> nx.MultiGraph:
        """The networkx netlist of this crossbar (nodes named as in SPICE, edges keyed by element name).

        ``nonlinearity``: (rows, cols) b of sinh cells, 1/V; cells with b > 0 carry it as attribute ``b``.
        """
        m, n = self.rows, self.cols
        graph = nx.MultiGraph(rows=m, cols=n, cell=self.cell.value, layout="crossbar")
        for i in range(m):
            graph.add_node(f"in_{i}", terminal=i, role="input", row=i)
        for j in range(n):
            graph.add_node(f"out_{j}", terminal=m + j, role="output", col=j)
        for i in range(m):
            graph.add_edge(f"in_{i}", f"wl_{i}_0", key=f"Rs_{i}", kind=ElementKind.DRIVER.value,
                           r=float(self.r_source[i]), row=i)
            for j in range(n - 1):
                graph.add_edge(f"wl_{i}_{j}", f"wl_{i}_{j + 1}", key=f"Rwl_{i}_{j}", kind=ElementKind.WIRE.value,
                               r=float(self.r_wl[i, j]), line="wl", row=i, col=j)
        for j in range(n):
            graph.add_edge(f"bl_{m - 1}_{j}", f"out_{j}", key=f"Rsn_{j}", kind=ElementKind.SENSE.value,
                           r=float(self.r_sense[j]), col=j)
            for i in range(m - 1):
                graph.add_edge(f"bl_{i}_{j}", f"bl_{i + 1}_{j}", key=f"Rbl_{i}_{j}", kind=ElementKind.WIRE.value,
                               r=float(self.r_bl[i, j]), line="bl", row=i, col=j)
        g_cell = np.where(self.cell_state == self.SHORT, np.inf,
                          np.where(self.cell_state == self.OPEN, 0.0, conductances))
        for i in range(m):
            sel = bool(selected_rows[i])
            for j in range(n):
                law = {} if nonlinearity is None or not nonlinearity[i, j] > 0 else {"b": float(nonlinearity[i, j])}
                if self.has_mid_nodes:
                    graph.add_edge(f"wl_{i}_{j}", f"m_{i}_{j}", key=f"Rc_{i}_{j}", kind=ElementKind.CELL.value,
                                   g=float(g_cell[i, j]), row=i, col=j, **law)
                    graph.add_edge(f"m_{i}_{j}", f"bl_{i}_{j}", key=f"Rt_{i}_{j}",
                                   kind=ElementKind.TRANSISTOR.value, r_on=float(self.r_on_transistor[i, j]),
                                   r_off=float(self.r_off_transistor[i, j]), selected=sel, row=i, col=j)
                else:
                    graph.add_edge(f"wl_{i}_{j}", f"bl_{i}_{j}", key=f"Rc_{i}_{j}", kind=ElementKind.CELL.value,
                                   g=float(g_cell[i, j]), row=i, col=j, **law)
        return graph
