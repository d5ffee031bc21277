"""Turn any netlist graph (networkx MultiGraph, see :mod:`cosim.netlist.elements`) into an element table."""
from __future__ import annotations

import networkx as nx
import numpy as np

from cosim.netlist.elements import KIND_CODES, ElementKind, ElementTable, conductance_from_resistance, parse_kind


def element_conductance(attrs: dict, name: str) -> float:
    """Conductance (S) of one element from its edge attributes (validated)."""
    kind = parse_kind(attrs.get("kind"))
    if kind is ElementKind.CELL:
        if "g" not in attrs:
            raise ValueError(f"cell element {name!r} needs a conductance 'g' (siemens)")
        value = float(attrs["g"])
    elif kind is ElementKind.TRANSISTOR:
        r = attrs.get("r_on") if attrs.get("selected", True) else attrs.get("r_off", np.inf)
        if r is None:
            raise ValueError(f"transistor element {name!r} needs 'r_on' (ohm)")
        value = float(conductance_from_resistance(float(r)))
    else:
        if "r" not in attrs:
            raise ValueError(f"{kind.value} element {name!r} needs a resistance 'r' (ohm)")
        value = float(conductance_from_resistance(float(attrs["r"])) if float(attrs["r"]) >= 0 else -1.0)
    if not value >= 0:
        raise ValueError(f"element {name!r} has a negative or NaN value; expected r >= 0 ohm or g >= 0 S")
    return value


def sinh_nonlinearity(attrs: dict, name: str) -> float:
    """Nonlinearity b (1/V) of an element's law I = (g/b) sinh(b V): 0 for linear ones (validated).

    Only cells carry a law other than Ohm's: a ``b`` on any other element raises, as does a ``b`` that
    is not a finite real number >= 0.
    """
    if "b" not in attrs:
        return 0.0
    b = attrs["b"]
    if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, float, np.integer, np.floating)):
        raise ValueError(f"element {name!r}: nonlinearity b must be a real number (1/V); got {b!r}")
    b = float(b)
    if not np.isfinite(b) or b < 0:
        raise ValueError(f"element {name!r}: nonlinearity b must be finite and >= 0 (1/V); got {b}")
    kind = parse_kind(attrs.get("kind"))
    if b > 0 and kind is not ElementKind.CELL:
        raise ValueError(f"element {name!r} is a {kind.value}: only cells carry a sinh law (b = {b})")
    return b


def element_table_from_graph(graph: nx.MultiGraph) -> tuple[ElementTable, list, list]:
    """Element table of ``graph`` plus the node list and element-name list in table order.

    Terminal nodes (attribute ``terminal`` = index) are numbered by that index in the table's
    ``terminals`` array. Raises ValueError on unknown element kinds or invalid values.
    """
    nodes = list(graph.nodes)
    number = {node: k for k, node in enumerate(nodes)}
    terminal_of = {node: int(t) for node, t in graph.nodes(data="terminal") if t is not None}
    n_terminals = len(terminal_of)
    if sorted(terminal_of.values()) != list(range(n_terminals)):
        raise ValueError(f"terminal indices must be 0..{n_terminals - 1}, each used once; got {sorted(terminal_of.values())}")
    terminals = np.empty(n_terminals, dtype=np.int64)
    for node, t in terminal_of.items():
        terminals[t] = number[node]
    a, b, g, kind, names = [], [], [], [], []
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        g.append(element_conductance(attrs, str(key)))
        kind.append(KIND_CODES[parse_kind(attrs["kind"])])
        a.append(number[u])
        b.append(number[v])
        names.append(key)
    table = ElementTable(len(nodes), terminals, np.array(a, np.int64), np.array(b, np.int64),
                         np.array(g, np.float64), np.array(kind, np.int8))
    return table, nodes, names
