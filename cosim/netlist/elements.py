"""Element and node vocabulary of cosim netlists, and the flat element table the solvers compile.

A netlist is a networkx ``MultiGraph``: nodes are electrical nodes (strings usable as SPICE node
names), edges are elements keyed by a unique element name. Every edge carries ``kind`` (an
:class:`ElementKind` value) and its value: ``r`` in ohm for wires, drivers, sense resistors and
access transistors (``0`` = ideal, ``inf`` = open), ``g`` in siemens for memristive cells (``inf`` =
shorted, ``0`` = open). Terminal nodes carry ``terminal`` = their index; an ideal voltage source holds
each terminal at its applied voltage (word-line drivers) or at 0 V (sense amplifiers, virtual ground).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class ElementKind(str, Enum):
    """Kinds of two-terminal elements a netlist may hold."""

    WIRE = "wire"              # line segment; attrs: r (ohm), line ("wl" | "bl"), row, col
    CELL = "cell"              # memristive cell; attrs: g (S), optional b (1/V, I = g/b sinh(b V)), row, col
    TRANSISTOR = "transistor"  # access transistor of a 1T1R cell; attrs: r_on, r_off (ohm), row, col
    DRIVER = "driver"          # word-line driver output resistance; attrs: r (ohm), row
    SENSE = "sense"            # sense-amplifier input resistance; attrs: r (ohm), col


KIND_CODES = {kind: code for code, kind in enumerate(ElementKind)}


def parse_kind(value) -> ElementKind:
    """Return the :class:`ElementKind` named by ``value`` or raise ValueError listing the known kinds."""
    try:
        return ElementKind(value)
    except ValueError:
        known = ", ".join(k.value for k in ElementKind)
        raise ValueError(f"unknown netlist element kind {value!r}; expected one of: {known}") from None


@dataclass
class ElementTable:
    """Flat arrays describing every element of a netlist (what the solvers compile).

    Attributes:
        n_nodes: number of electrical nodes; nodes are numbered 0..n_nodes-1.
        terminals: (n_terminals,) node index of each terminal (held at a known voltage).
        a, b: (n_elements,) node indices of the two ends of each element.
        g: (n_elements,) conductance in siemens; ``inf`` marks an ideal (zero-ohm) element, ``0`` an open one.
        kind: (n_elements,) int8 code of each element's :class:`ElementKind` (see ``KIND_CODES``).
    """

    n_nodes: int
    terminals: np.ndarray
    a: np.ndarray
    b: np.ndarray
    g: np.ndarray
    kind: np.ndarray

    def __post_init__(self) -> None:
        self.terminals = np.asarray(self.terminals, dtype=np.int64)
        self.a = np.asarray(self.a, dtype=np.int64)
        self.b = np.asarray(self.b, dtype=np.int64)
        self.g = np.asarray(self.g, dtype=np.float64)
        self.kind = np.asarray(self.kind, dtype=np.int8)
        n = self.a.size
        if not (self.b.size == self.g.size == self.kind.size == n):
            raise ValueError("element arrays a, b, g, kind must all have the same length")
        if np.any(np.isnan(self.g)) or np.any(self.g < 0):
            raise ValueError("element conductances must be >= 0 (inf for ideal elements); got NaN or negative")
        for name, idx in (("a", self.a), ("b", self.b), ("terminals", self.terminals)):
            if idx.size and (idx.min() < 0 or idx.max() >= self.n_nodes):
                raise ValueError(f"element node indices {name} must lie in [0, {self.n_nodes}); got out-of-range values")
        if np.unique(self.terminals).size != self.terminals.size:
            raise ValueError("a node can be the terminal of only one voltage source")


def conductance_from_resistance(r) -> np.ndarray:
    """Conductance (S) of resistances ``r`` (ohm): 0 ohm -> inf (ideal), inf ohm -> 0 (open)."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(r == 0.0, np.inf, 1.0 / r)
