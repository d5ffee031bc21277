"""SPICE export and import of cosim netlists, and an ngspice runner that parses its results.

The exported deck is plain SPICE that ngspice (``ngspice -b deck.cir``) runs as written:

- every terminal node gets an ideal source ``V<node> <node> 0 DC <volts>``; ngspice reports its
  current ``i(V<node>)`` flowing from the node through the source to ground, i.e. the current from
  the network *into* the terminal (a sense current is positive, a driver's current negative);
- an element of finite, non-zero resistance becomes a resistor card named after the element
  (prefixed with ``R`` when its name does not start with one) with its value in ohm, printed with
  17 significant digits;
- a cell with a sinh law (attribute ``b`` > 0, 1/V) becomes a behavioural current source
  ``B<name> <a> <b> I=<g>/<b>*sinh(<b>*V(<a>,<b>))`` (current from a to b, ngspice's B element), its
  numbers printed with ``repr`` so ngspice evaluates exactly cosim's law; a ``b`` on any element other
  than a cell raises (nothing is approximated);
- an ideal element (0 ohm, ``g = inf``) has no card: its two nodes are merged into one, named after
  the terminal of the group if it holds one, else after its first node in graph order
  (``* cosim-alias: <node> <merged into>``), so the deck is exact — no tiny resistors;
- an open element (``inf`` ohm, ``g = 0``) has no card; its nodes stay connected elsewhere;
- ``.op`` asks for the DC operating point.

Comment lines carry what SPICE has no words for, so :func:`read_spice` gets the very same graph back:
``* cosim: key=value ...`` (graph attributes, e.g. rows, cols, cell), ``* cosim-node: <node> ...``
(attributes of nodes that have any) and ``* cosim-element: <name> <a> <b> ...`` (kind, value and
indices of every element, including merged and omitted ones). Values are written with ``repr`` and
read back bit for bit. Without those comments a deck of resistors and grounded DC sources still
reads: every resistor becomes a ``wire`` element and every source node a terminal.

:func:`run_ngspice` (from :mod:`cosim.netlist.ngspice`, re-exported here) runs ``ngspice -b -r <raw>``
and reads the binary raw file it writes (exact float64 values, not the rounded text on stdout).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from cosim import validate
from cosim.netlist.elements import ElementKind, parse_kind
from cosim.netlist.graph import element_conductance, sinh_nonlinearity
from cosim.netlist.ngspice import NgspiceError, read_raw, run_ngspice

__all__ = ["SpiceDeck", "write_spice", "read_spice", "parse_spice", "parse_spice_number", "element_resistance",
           "sinh_card",
           "run_ngspice", "read_raw", "NgspiceError"]

_NAME = re.compile(r"^[A-Za-z0-9_.:\-\[\]<>]+$")
_GROUND = {"0", "gnd"}
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z]*)$")
_SINH = re.compile(r"^i=\{?([^/{}]+)/([^*]+)\*sinh\(([^*]+)\*v\(([^,()]+),([^,()]+)\)\)\}?$", re.IGNORECASE)
_SCALE = (("meg", 1e6), ("mil", 25.4e-6), ("t", 1e12), ("g", 1e9), ("k", 1e3), ("m", 1e-3),
          ("u", 1e-6), ("n", 1e-9), ("p", 1e-12), ("f", 1e-15))


@dataclass
class SpiceDeck:
    """What :func:`parse_spice` reads from a deck.

    Attributes:
        graph: the netlist (see :mod:`cosim.netlist.elements`).
        terminal_voltages: (n_terminals,) DC voltage of each terminal's source, in terminal order, V.
        title: the deck's first line.
    """

    graph: nx.MultiGraph
    terminal_voltages: np.ndarray
    title: str


# ---- writing ----------------------------------------------------------------------------------
def element_resistance(attrs: dict, name: str) -> float:
    """Resistance (ohm) an element presents in the circuit: 0 = ideal, inf = open (validated)."""
    g = element_conductance(attrs, name)
    if np.isinf(g):
        return 0.0
    if g == 0.0:
        return np.inf
    if parse_kind(attrs["kind"]) is ElementKind.CELL:
        return 1.0 / g
    if parse_kind(attrs["kind"]) is ElementKind.TRANSISTOR:
        return float(attrs["r_on"] if attrs.get("selected", True) else attrs.get("r_off", np.inf))
    return float(attrs["r"])


def card_name(element: str) -> str:
    """SPICE card name of an element: its own name when it starts with R, else ``R`` + name."""
    return element if element[:1] in "Rr" else "R" + element


def sinh_card_name(element: str) -> str:
    """SPICE card name of a sinh cell: ``B`` + its name."""
    return "B" + element


def sinh_card(element: str, a: str, b: str, g: float, nonlinearity: float) -> str:
    """The B-source card of a sinh cell of conductance g (S) and nonlinearity b (1/V) from node a to b."""
    return f"{sinh_card_name(element)} {a} {b} I={g!r}/{nonlinearity!r}*sinh({nonlinearity!r}*V({a},{b}))"


def source_name(node: str) -> str:
    """Name of the voltage source that holds terminal ``node``."""
    return "V" + node


def write_spice(graph: nx.MultiGraph, path, terminal_voltages, title: str = "cosim netlist") -> None:
    """Write ``graph`` as an ngspice deck with terminal voltages ``terminal_voltages`` (V, terminal order).

    See the module docstring for what each element becomes. Raises ValueError for names SPICE cannot
    carry (whitespace, a ground name ``0``/``gnd``, two names equal up to case), wrong voltage counts,
    ideal elements that short two terminals together, or a law SPICE cannot carry exactly (a ``b`` on a
    non-cell element, or one that is not a finite number >= 0).
    """
    terminals = _terminal_nodes(graph)
    volts = np.asarray(terminal_voltages, dtype=np.float64)
    if volts.shape != (len(terminals),):
        raise ValueError(f"terminal_voltages must have shape ({len(terminals)},); got {volts.shape}")
    if not np.all(np.isfinite(volts)):
        raise ValueError("terminal_voltages must be finite")
    if "\n" in title:
        raise ValueError("title must be one line")
    _check_names(graph)
    resistance = {key: element_resistance(attrs, key) for _, _, key, attrs in graph.edges(keys=True, data=True)}
    law = {key: sinh_nonlinearity(attrs, key) for _, _, key, attrs in graph.edges(keys=True, data=True)}
    merged = _merge_ideal(graph, resistance)

    lines = [title,
             "* Written by cosim (cosim.netlist.spice). Run: ngspice -b this.cir. Units: ohm, volt.",
             "* Ideal (0 ohm) elements are merged nodes (cosim-alias), open (inf ohm) elements have no card;",
             "* i(V<node>) is the current from the network into terminal <node>.",
             "* The cosim comments let cosim read this netlist back exactly."]
    if graph.graph:
        lines.append("* cosim: " + _format_attrs(graph.graph))
    for node, attrs in graph.nodes(data=True):
        if attrs or graph.degree(node) == 0:
            lines.append(f"* cosim-node: {node} {_format_attrs(attrs)}".rstrip())
    lines += [f"* cosim-alias: {node} {into}" for node, into in merged.items() if node != into]
    lines.append("* sources")
    lines += [f"{source_name(node)} {node} 0 DC {float(v)!r}" for node, v in zip(terminals, volts)]
    lines.append("* elements")
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        lines.append(f"* cosim-element: {key} {u} {v} {_format_attrs(attrs)}")
        r = resistance[key]
        if 0.0 < r < np.inf and merged[u] != merged[v]:
            if law[key] > 0:
                lines.append(sinh_card(key, merged[u], merged[v], float(attrs["g"]), law[key]))
            else:
                lines.append(f"{card_name(key)} {merged[u]} {merged[v]} {r!r}")
    lines += [".op", ".end", ""]
    Path(path).write_text("\n".join(lines))


def _terminal_nodes(graph: nx.MultiGraph) -> list:
    """Terminal nodes in terminal-index order (indices must be 0..n-1, each once)."""
    terminal_of = {node: t for node, t in graph.nodes(data="terminal") if t is not None}
    order = sorted(terminal_of, key=terminal_of.get)
    if [int(terminal_of[n]) for n in order] != list(range(len(order))):
        raise ValueError(f"terminal indices must be 0..{len(order) - 1}, each once; "
                         f"got {sorted(terminal_of.values())}")
    return order


def _check_names(graph: nx.MultiGraph) -> None:
    """Node names and element card names must be strings SPICE can carry, distinct up to case."""
    for what, names in (("node", list(graph.nodes)), ("element", [k for _, _, k in graph.edges(keys=True)])):
        seen = {}
        for name in names:
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(f"{what} name {name!r} cannot be written to SPICE; use letters, digits and _.:-")
            if what == "node" and name.lower() in _GROUND:
                raise ValueError(f"node name {name!r} is SPICE's ground; cosim grounds only through terminals")
            spelt = (name if what == "node" else card_name(name)).lower()
            if spelt in seen:
                raise ValueError(f"{what} names {seen[spelt]!r} and {name!r} give the same SPICE name "
                                 f"{spelt!r} (SPICE ignores case)")
            seen[spelt] = name


def _merge_ideal(graph: nx.MultiGraph, resistance: dict) -> dict:
    """Map every node to the node it is merged into through ideal (0 ohm) elements."""
    ideal = nx.Graph()
    ideal.add_nodes_from(graph.nodes)
    ideal.add_edges_from((u, v) for u, v, k in graph.edges(keys=True) if resistance[k] == 0.0)
    order = {node: k for k, node in enumerate(graph.nodes)}
    merged = {}
    for group in nx.connected_components(ideal):
        terms = [n for n in group if graph.nodes[n].get("terminal") is not None]
        if len(terms) > 1:
            raise ValueError(f"ideal (0 ohm) elements short terminals {sorted(map(str, terms))} together")
        into = terms[0] if terms else min(group, key=order.get)
        merged.update({node: into for node in group})
    return merged


def _format_attrs(attrs: dict) -> str:
    """``key=value`` pairs; strings quoted (JSON), numbers by repr so they read back bit for bit."""
    parts = []
    for key, value in attrs.items():
        if not re.fullmatch(r"\w+", str(key)):
            raise ValueError(f"attribute name {key!r} cannot be written to SPICE comments")
        parts.append(f"{key}={_format_value(key, value)}")
    return " ".join(parts)


def _format_value(key, value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    raise ValueError(f"attribute {key}={value!r}: only bool, int, float and str values can be written")


# ---- reading ----------------------------------------------------------------------------------
def read_spice(path) -> nx.MultiGraph:
    """The netlist graph of a deck written by :func:`write_spice` (or a plain R + grounded-V deck)."""
    return parse_spice(path).graph


def parse_spice(path) -> SpiceDeck:
    """Read a deck: graph, terminal voltages and title. Raises ValueError naming the offending line.

    Accepted: a title line; ``*`` comments (``cosim`` ones interpreted); ``+`` continuations; ``;``
    inline comments; R cards (value in ohm, SPICE scale suffixes allowed); B cards of sinh cells in
    the form :func:`write_spice` writes (``I=g/b*sinh(b*V(a,b))``, read back as a cell with ``g`` and
    ``b``; any other behavioural expression is rejected); V cards from a node to ground (``DC`` optional); ``.op``, ``.end``, ``.option(s)``, ``.title`` and ``.control``/``.endc``
    blocks (ignored). Anything else is rejected.
    """
    path = Path(path)
    raw_lines = validate.read_text(path, "SPICE deck").splitlines()
    if not raw_lines:
        raise ValueError(f"{path}: empty file; a SPICE deck starts with a title line")
    reader = _DeckReader(path)
    for number, text in _logical_lines(raw_lines):
        reader.line(number, text)
    return reader.finish(raw_lines[0].strip())


def _logical_lines(raw_lines: list[str]):
    """(line number, text) of each card after the title, continuations joined, ``;`` comments cut."""
    out = []
    for number, text in enumerate(raw_lines[1:], start=2):
        if text.startswith("*"):
            out.append([number, text.rstrip()])
            continue
        text = text.split(";", 1)[0].rstrip()
        if text.startswith("+") and out and not out[-1][1].startswith("*"):
            out[-1][1] += " " + text[1:].strip()
        elif text.strip():
            out.append([number, text.strip()])
    return [tuple(item) for item in out]


def parse_spice_number(token: str) -> float:
    """A SPICE number: ``1e3``, ``4.7k``, ``2meg``, ``10u`` (trailing unit letters ignored)."""
    match = _NUMBER.match(token)
    if not match:
        raise ValueError(f"{token!r} is not a SPICE number")
    value, suffix = float(match.group(1)), match.group(2).lower()
    for name, scale in _SCALE:
        if suffix.startswith(name):
            return value * scale
    return value


def _parse_value(text: str):
    if text.startswith('"'):
        return json.loads(text)
    if text in ("True", "False"):
        return text == "True"
    if _INT.match(text):
        return int(text)
    return float(text)


def _parse_attrs(text: str) -> dict:
    attrs, rest = {}, _ATTR.sub("", text).strip()
    if rest:
        raise ValueError(f"cannot read {rest!r} (expected key=value pairs)")
    for key, value in _ATTR.findall(text):
        attrs[key] = _parse_value(value)
    return attrs


class _DeckReader:
    """Collects cards and cosim comments line by line, then assembles the graph."""

    def __init__(self, path: Path):
        self.path = path
        self.graph_attrs: dict = {}
        self.node_attrs: dict = {}               # node -> attrs, in file order
        self.elements: dict = {}                 # element name -> (a, b, attrs, line)
        self.cards: dict = {}                    # card name (lower case) -> (name, a, b, ohm, line)
        self.sources: dict = {}                  # node -> (volts, line)
        self.aliases: dict = {}
        self.in_control = False

    def error(self, number: int, message: str) -> ValueError:
        return ValueError(f"{self.path}, line {number}: {message}")

    def line(self, number: int, text: str) -> None:
        try:
            self._line(number, text)
        except ValueError as exc:
            if str(exc).startswith(f"{self.path}, line"):
                raise
            raise self.error(number, str(exc)) from None

    def _line(self, number: int, text: str) -> None:
        lower = text.lower()
        if self.in_control:
            self.in_control = not lower.startswith(".endc")
        elif text.startswith("*"):
            self._comment(number, text)
        elif lower.startswith(".control"):
            self.in_control = True
        elif lower.split()[0] in (".op", ".end", ".option", ".options", ".title"):
            pass
        elif lower[0] == "r":
            self._resistor(number, text.split())
        elif lower[0] == "v":
            self._source(number, text.split())
        elif lower[0] == "b":
            self._sinh_source(number, text)
        else:
            raise ValueError(f"unsupported card {text.split()[0]!r} (cosim reads R, B (sinh cells) and V cards, "
                             ".op and .end)")

    def _comment(self, number: int, text: str) -> None:
        tag, _, rest = text[1:].strip().partition(":")
        if tag == "cosim":
            self.graph_attrs.update(_parse_attrs(rest))
        elif tag == "cosim-node":
            node, _, rest = rest.strip().partition(" ")
            self.node_attrs[node] = _parse_attrs(rest)
        elif tag == "cosim-alias":
            node, into = rest.split()
            self.aliases[node] = into
        elif tag == "cosim-element":
            name, a, b, rest = (rest.strip().split(maxsplit=3) + [""])[:4]
            if name in self.elements:
                raise ValueError(f"element {name!r} described twice")
            self.elements[name] = (a, b, _parse_attrs(rest), number)

    def _resistor(self, number: int, tokens: list[str]) -> None:
        if len(tokens) != 4:
            raise ValueError(f"a resistor card is 'Rname node node value'; got {' '.join(tokens)!r}")
        name, a, b, value = tokens
        ohm = parse_spice_number(value)
        if not ohm > 0 or not np.isfinite(ohm):
            raise ValueError(f"resistor {name} must have a finite value > 0 ohm; got {value}")
        if a.lower() in _GROUND or b.lower() in _GROUND:
            raise ValueError(f"resistor {name} connects to ground; cosim grounds only through V sources")
        if name.lower() in self.cards:
            raise ValueError(f"card name {name!r} used twice")
        self.cards[name.lower()] = (name, a, b, ohm, number)

    def _sinh_source(self, number: int, text: str) -> None:
        tokens = text.split(maxsplit=3)
        match = _SINH.match(tokens[3].replace(" ", "")) if len(tokens) == 4 else None
        if match is None:
            raise ValueError(f"a B card must be a sinh cell 'Bname a b I=g/b*sinh(b*V(a,b))'; got {text!r}")
        name, a, b = tokens[:3]
        g, b1, b2, va, vb = match.groups()
        g, b1, b2 = parse_spice_number(g), parse_spice_number(b1), parse_spice_number(b2)
        if b1 != b2 or (va, vb) != (a, b):
            raise ValueError(f"B card {name}: expected I=g/b*sinh(b*V({a},{b})) with the same b twice; got {text!r}")
        if not (0 < g < np.inf and 0 < b1 < np.inf):
            raise ValueError(f"B card {name}: g and b must be finite and > 0; got g={g}, b={b1}")
        if name.lower() in self.cards:
            raise ValueError(f"card name {name!r} used twice")
        self.cards[name.lower()] = (name, a, b, (g, b1), number)

    def _source(self, number: int, tokens: list[str]) -> None:
        if len(tokens) == 5 and tokens[3].lower() == "dc":
            tokens = tokens[:3] + tokens[4:]
        if len(tokens) != 4:
            raise ValueError(f"a source card is 'Vname node 0 DC volts'; got {' '.join(tokens)!r}")
        _, plus, minus, value = tokens
        if minus.lower() not in _GROUND or plus.lower() in _GROUND:
            raise ValueError("a voltage source must run from a node to ground (0)")
        if plus in self.sources:
            raise ValueError(f"node {plus!r} has two voltage sources")
        self.sources[plus] = (parse_spice_number(value), number)

    def finish(self, title: str) -> SpiceDeck:
        graph = nx.MultiGraph(**self.graph_attrs)
        for node, attrs in self.node_attrs.items():
            graph.add_node(node, **attrs)
        for name, (a, b, attrs, number) in self.elements.items():
            attrs = self._with_card_value(name, a, b, attrs, number)
            graph.add_edge(a, b, key=name, **attrs)
        for lower, (name, a, b, value, number) in self.cards.items():
            if isinstance(value, tuple):          # a sinh cell without a cosim comment
                graph.add_edge(a, b, key=name, kind=ElementKind.CELL.value, g=value[0], b=value[1])
            else:
                graph.add_edge(a, b, key=name, kind=ElementKind.WIRE.value, r=value)
        return SpiceDeck(graph, self._terminal_voltages(graph), title)

    def _with_card_value(self, name: str, a: str, b: str, attrs: dict, number: int) -> dict:
        """Element attributes, with the value of its card when a card exists and disagrees."""
        try:
            expected = element_resistance(attrs, name)
            law = sinh_nonlinearity(attrs, name)
        except ValueError as exc:
            raise self.error(number, str(exc)) from None
        written = 0.0 < expected < np.inf and self.aliases.get(a, a) != self.aliases.get(b, b)
        spelt = sinh_card_name(name) if law > 0 and written else card_name(name)
        card = self.cards.pop(spelt.lower(), None)
        if card is None:
            if written:
                raise self.error(number, f"element {name!r} of {expected!r} ohm has no card {spelt!r}")
            return attrs
        _, card_a, card_b, ohm, card_line = card
        if {card_a, card_b} != {self.aliases.get(a, a), self.aliases.get(b, b)}:
            raise self.error(card_line, f"card {spelt} joins {card_a}, {card_b} but its cosim-element "
                                        f"comment (line {number}) says {a}, {b}")
        if isinstance(ohm, tuple):               # a B card (sinh is odd: its direction does not matter)
            return attrs if ohm == (float(attrs["g"]), law) else {**attrs, "g": ohm[0], "b": ohm[1]}
        if ohm == expected:
            return attrs
        attrs = dict(attrs)
        kind = parse_kind(attrs["kind"])
        if kind is ElementKind.CELL:
            attrs["g"] = 1.0 / ohm
        elif kind is ElementKind.TRANSISTOR:
            attrs["r_on" if attrs.get("selected", True) else "r_off"] = ohm
        else:
            attrs["r"] = ohm
        return attrs

    def _terminal_voltages(self, graph: nx.MultiGraph) -> np.ndarray:
        """Source voltages in terminal order; source nodes without a cosim terminal index are numbered next."""
        declared = {node: t for node, t in graph.nodes(data="terminal") if t is not None}
        for node, (_, number) in self.sources.items():
            if node not in graph:
                raise self.error(number, f"source node {node!r} is connected to nothing")
            if node not in declared:
                graph.nodes[node]["terminal"] = len(declared)
                declared[node] = len(declared)
        missing = [node for node in declared if node not in self.sources]
        if missing:
            raise ValueError(f"{self.path}: terminal nodes {missing} have no voltage source")
        volts = np.empty(len(declared))
        for node, t in declared.items():
            if not 0 <= t < len(declared):
                raise ValueError(f"{self.path}: terminal index {t} of node {node!r} out of range")
            volts[t] = self.sources[node][0]
        return volts
