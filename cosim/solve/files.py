"""Crossbars to and from files: TOML array descriptions and crossbar netlist graphs.

:mod:`cosim.netlist.description` parses, validates and writes the TOML format as an
:class:`~cosim.netlist.description.ArrayDescription`; this module turns descriptions into
:class:`~cosim.solve.crossbar.Crossbar` objects and back, and rebuilds a crossbar from a netlist
graph (e.g. an imported SPICE export).
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from cosim.netlist.crossbar import CellKind, CrossbarLayout
from cosim.netlist.description import (DEFAULT_CONDUCTANCE, ArrayDescription, check_device_name,
                                       read_description, write_description)
from cosim.netlist.elements import ElementKind
from cosim.solve.crossbar import Crossbar


def crossbar_from_description(description: ArrayDescription) -> Crossbar:
    """A new :class:`Crossbar` with exactly the values of ``description``."""
    lay = description.layout
    xb = Crossbar(lay.rows, lay.cols, lay.cell.value, r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source,
                  r_sense=lay.r_sense, r_on_transistor=lay.r_on_transistor,
                  r_off_transistor=lay.r_off_transistor)
    xb.set_conductances(description.conductances)
    xb.set_nonlinearity(description.nonlinearity)
    if lay.cell is CellKind.ONE_T_ONE_R:
        xb.select_rows(description.selected_rows)
    for i, j in np.argwhere(lay.cell_state == CrossbarLayout.SHORT):
        xb.short_cell(int(i), int(j))
    for i, j in np.argwhere(lay.cell_state == CrossbarLayout.OPEN):
        xb.open_cell(int(i), int(j))
    return xb


def description_of(crossbar: Crossbar, device: str | None = None) -> ArrayDescription:
    """The description of an existing crossbar (values copied); ``device``: model name to record."""
    if device is not None:
        check_device_name(device)
    b = np.zeros(crossbar.shape) if crossbar.is_linear else np.asarray(crossbar.nonlinearity, float)
    return ArrayDescription(crossbar.layout.copy(), crossbar.conductances,
                            np.broadcast_to(b, crossbar.shape).copy(), crossbar.selected_rows, device)


def load_description(path) -> tuple[Crossbar, ArrayDescription]:
    """Read a TOML description; return ``(crossbar, description)``. Bad input -> ValueError naming it."""
    description = read_description(path)
    return crossbar_from_description(description), description


def save_description(crossbar: Crossbar, path, device: str | None = None,
                     conductance_file: str | None = None) -> None:
    """Write ``crossbar`` as a TOML description that :func:`load_description` reads back exactly.

    device: device model name to record. conductance_file: write the conductances to this CSV
    (relative to the TOML file's folder) instead of inline (inline: one value when all are equal).
    """
    write_description(description_of(crossbar, device), path, conductance_file)


def crossbar_from_graph(graph: nx.MultiGraph) -> Crossbar:
    """A :class:`Crossbar` equal to a crossbar netlist graph (e.g. an imported SPICE export).

    The graph must carry ``rows``, ``cols`` and ``cell`` and the elements of
    :meth:`CrossbarLayout.to_graph`. The conductance of a shorted or open cell is not part of the
    circuit; it is set to ``DEFAULT_CONDUCTANCE``. Raises ValueError when the graph's elements or
    connections differ from the crossbar that its values describe.
    """
    for key in ("rows", "cols", "cell"):
        if key not in graph.graph:
            raise ValueError(f"graph lacks the crossbar attribute {key!r} (not a cosim crossbar netlist)")
    layout = CrossbarLayout.build(graph.graph["rows"], graph.graph["cols"], graph.graph["cell"])
    m, n = layout.rows, layout.cols
    g = np.full((m, n), DEFAULT_CONDUCTANCE)
    selected = np.ones(m, bool)
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        _read_element(layout, g, selected, key, attrs)
    crossbar = crossbar_from_description(ArrayDescription(layout, g, np.zeros((m, n)), selected))
    _check_same_circuit(graph, crossbar.graph)
    return crossbar


def _read_element(layout: CrossbarLayout, g: np.ndarray, selected: np.ndarray, key, attrs: dict) -> None:
    kind = attrs.get("kind")
    try:
        row, col = attrs.get("row"), attrs.get("col")
        if kind == ElementKind.WIRE.value:
            {"wl": layout.r_wl, "bl": layout.r_bl}[attrs["line"]][row, col] = attrs["r"]
        elif kind == ElementKind.DRIVER.value:
            layout.r_source[row] = attrs["r"]
        elif kind == ElementKind.SENSE.value:
            layout.r_sense[col] = attrs["r"]
        elif kind == ElementKind.CELL.value:
            value = float(attrs["g"])
            if np.isinf(value):
                layout.cell_state[row, col] = CrossbarLayout.SHORT
            elif value == 0.0:
                layout.cell_state[row, col] = CrossbarLayout.OPEN
            else:
                g[row, col] = value
        elif kind == ElementKind.TRANSISTOR.value:
            layout.r_on_transistor[row, col] = attrs["r_on"]
            layout.r_off_transistor[row, col] = attrs.get("r_off", np.inf)
            selected[row] = bool(attrs.get("selected", True))
        else:
            raise ValueError(f"element kind {kind!r} has no place in a crossbar")
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"element {key!r} ({kind}) does not fit a {layout.rows}x{layout.cols} "
                         f"{layout.cell.value} crossbar: {exc!r}") from None


def _check_same_circuit(graph: nx.MultiGraph, rebuilt: nx.MultiGraph) -> None:
    """Every element of ``graph`` must join the same nodes with the same values as in ``rebuilt``."""
    ours = {k: ({u, v}, a) for u, v, k, a in graph.edges(keys=True, data=True)}
    theirs = {k: ({u, v}, a) for u, v, k, a in rebuilt.edges(keys=True, data=True)}
    if ours.keys() != theirs.keys():
        extra = sorted(map(str, ours.keys() - theirs.keys()))[:3]
        missing = sorted(map(str, theirs.keys() - ours.keys()))[:3]
        raise ValueError(f"graph is not a regular crossbar: unexpected elements {extra}, missing {missing}")
    for key, (nodes, attrs) in ours.items():
        if theirs[key] != (nodes, attrs):
            raise ValueError(f"element {key!r} differs from the crossbar it describes: {sorted(nodes)} {attrs} "
                             f"vs {sorted(theirs[key][0])} {theirs[key][1]}")
