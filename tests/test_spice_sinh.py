"""SPICE export and import of sinh cells (ngspice B-sources): exact numbers, round trip, and refusals."""
import networkx as nx
import numpy as np
import pytest

from cosim import Crossbar
from cosim.netlist.spice import parse_spice, read_spice, write_spice


def divider(b_attr: dict, kind: str = "cell") -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_node("top", terminal=0)
    g.add_node("bottom", terminal=1)
    attrs = {"g": 1e-4} if kind == "cell" else {"r": 1e4}
    g.add_edge("top", "mid", key="c1", kind=kind, **attrs, **b_attr)
    g.add_edge("mid", "bottom", key="Rw", kind="wire", r=1000.0)
    return g


def test_sinh_cell_becomes_a_b_source_with_exact_numbers(tmp_path):
    b = 3.0000000000000004                 # one ulp above 3: repr keeps it
    write_spice(divider({"b": b}), tmp_path / "d.cir", [0.7, 0.0])
    cards = [line for line in (tmp_path / "d.cir").read_text().splitlines() if line.startswith("B")]
    assert cards == [f"Bc1 top mid I=0.0001/{b!r}*sinh({b!r}*V(top,mid))"]
    graph = read_spice(tmp_path / "d.cir")
    attrs = graph.edges["top", "mid", "c1"]
    assert attrs["b"] == b and attrs["g"] == 1e-4


def test_crossbar_export_carries_every_cell_law(tmp_path):
    xb = Crossbar(2, 3, r_source=1.0, nonlinearity=[[1.0, 0.0, 2.0], [0.5, 3.0, 0.0]])
    xb.to_spice(tmp_path / "x.cir", [0.1, 0.2])
    text = (tmp_path / "x.cir").read_text()
    assert text.count("\nBRc_") == 4 and "\nRc_0_1 " in text and "\nRc_1_2 " in text
    deck = parse_spice(tmp_path / "x.cir")
    b = {key: attrs.get("b", 0.0) for _, _, key, attrs in deck.graph.edges(keys=True, data=True) if attrs["kind"] == "cell"}
    assert b == {"Rc_0_0": 1.0, "Rc_0_1": 0.0, "Rc_0_2": 2.0, "Rc_1_0": 0.5, "Rc_1_1": 3.0, "Rc_1_2": 0.0}


def test_plain_b_card_reads_as_a_cell(tmp_path):
    deck = tmp_path / "p.cir"
    deck.write_text("plain\nV1 a 0 DC 0.5\nV2 c 0 DC 0\nB1 a b I=2e-4/4.0*sinh(4.0*V(a,b))\nR1 b c 100\n.op\n.end\n")
    graph = parse_spice(deck).graph
    attrs = graph.edges["a", "b", "B1"]
    assert attrs["kind"] == "cell" and attrs["g"] == 2e-4 and attrs["b"] == 4.0


@pytest.mark.parametrize("card", ["B1 a b V=2*V(a,b)", "B1 a b I=2e-4/4.0*sinh(3.0*V(a,b))",
                                  "B1 a b I=2e-4/4.0*exp(4.0*V(a,b))", "B1 a b I=2e-4/4.0*sinh(4.0*V(b,c))"])
def test_other_behavioural_sources_are_refused(card, tmp_path):
    deck = tmp_path / "p.cir"
    deck.write_text(f"plain\nV1 a 0 DC 0.5\nV2 c 0 DC 0\n{card}\nR1 b c 100\n.op\n.end\n")
    with pytest.raises(ValueError, match="line 4.*B card"):
        parse_spice(deck)


@pytest.mark.parametrize("attr,kind,message", [
    ({"b": 2.0}, "wire", "only cells carry a sinh law"),
    ({"b": -1.0}, "cell", "finite and >= 0"),
    ({"b": np.inf}, "cell", "finite and >= 0"),
    ({"b": "3"}, "cell", "real number"),
])
def test_laws_spice_cannot_carry_exactly_raise(attr, kind, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        write_spice(divider(attr, kind), tmp_path / "d.cir", [0.7, 0.0])
    assert not (tmp_path / "d.cir").exists()
