"""SPICE export/import without ngspice: exact round trips, what the deck contains, bad decks."""
import networkx as nx
import numpy as np
import pytest

from cosim import Crossbar
from cosim.netlist import ngspice
from cosim.netlist.spice import NgspiceError, parse_spice, parse_spice_number, read_raw, read_spice, write_spice
from cosim.solve.files import crossbar_from_graph


def edited_crossbar(cell):
    rng = np.random.default_rng(3)
    xb = Crossbar(5, 6, cell, r_wl=rng.choice([0.0, 0.7, 3.0], (5, 5)), r_bl=1.3, r_source=[0, 2, 0, 4, 0],
                  r_sense=0.0, r_on_transistor=rng.uniform(500, 2000, (5, 6)), r_off_transistor=1e7)
    xb.set_conductances(1.0 / rng.uniform(1e3, 1e6, (5, 6)))
    xb.open_segment("bl", 2, 3)
    xb.short_cell(0, 4)
    xb.open_cell(3, 1)
    if cell == "1T1R":
        xb.select_rows([0, 2, 3])
    return xb, rng.uniform(-0.3, 0.3, 5)


def assert_same_graph(g1, g2):
    assert g1.graph == g2.graph
    assert dict(g1.nodes(data=True)) == dict(g2.nodes(data=True))
    e1 = {k: ({u, v}, a) for u, v, k, a in g1.edges(keys=True, data=True)}
    e2 = {k: ({u, v}, a) for u, v, k, a in g2.edges(keys=True, data=True)}
    assert e1 == e2
    for key, (_, attrs) in e1.items():   # types too: ints stay ints, floats floats
        assert {k: type(v) for k, v in attrs.items()} == {k: type(v) for k, v in e2[key][1].items()}


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_round_trip_gives_the_same_graph_and_voltages(cell, tmp_path):
    xb, V = edited_crossbar(cell)
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, V)
    parsed = parse_spice(deck)
    assert_same_graph(xb.graph, parsed.graph)
    assert np.array_equal(parsed.terminal_voltages, xb.terminal_voltages(V))
    again = crossbar_from_graph(parsed.graph)
    assert np.array_equal(again.read(V), xb.read(V))   # bit for bit: the same circuit


def test_deck_merges_ideal_elements_and_omits_open_ones(tmp_path):
    xb = Crossbar(3, 4, "1R", r_wl=[[0.0, 2.0, 2.0]] * 3, r_bl=1.0, r_source=0.0, r_sense=5.0)
    xb.open_segment("wl", 1, 2)
    xb.short_cell(2, 2)
    xb.open_cell(0, 0)
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, np.full(3, 0.1))
    cards = [line.split() for line in deck.read_text().splitlines()[1:] if line[:1] in "Rr"]
    names = {c[0] for c in cards}
    assert all(float(c[3]) > 0 and np.isfinite(float(c[3])) for c in cards)   # no 0-ohm, no inf cards
    assert "Rs_0" not in names and "Rwl_0_0" not in names            # ideal driver and segment: merged
    assert "Rwl_1_2" not in names and "Rc_0_0" not in names          # broken segment and open cell: no card
    assert "Rc_2_2" not in names                                     # shorted cell: merged
    assert {"Rwl_0_1", "Rsn_0", "Rc_1_1"} <= names
    # 12 cells - 2 + 6 finite wl segments - 1 + 8 bl segments + 4 senses = 27 cards
    assert len(cards) == 27
    text = deck.read_text()
    assert "* cosim-alias: wl_0_0 in_0" in text and "* cosim-alias: wl_0_1 in_0" in text
    assert "Vout_2 out_2 0 DC 0.0" in text and "Vin_1 in_1 0 DC 0.1" in text
    assert "\n.op\n.end" in text


def test_cell_card_value_is_its_resistance(tmp_path):
    xb = Crossbar(1, 1, "1R", r_wl=1.0, r_bl=1.0, conductance=2.5e-4)
    deck = tmp_path / "one.cir"
    xb.to_spice(deck, [0.2])
    card = next(line for line in deck.read_text().splitlines() if line.startswith("Rc_0_0"))
    assert card == "Rc_0_0 in_0 out_0 4000.0"   # 1 / 2.5e-4 S between nodes merged with the ideal terminals


def test_edited_card_value_is_read_back(tmp_path):
    xb = Crossbar(2, 2, "1R", r_wl=1.0, r_bl=1.0, conductance=1e-4)
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, [0.2, 0.2])
    text = deck.read_text().replace("Rc_1_0 in_1 out_0 10000.0", "Rc_1_0 in_1 out_0 20k")
    text = text.replace("Rwl_0_0 in_0 wl_0_1 1.0", "Rwl_0_0 in_0 wl_0_1 2.5")
    deck.write_text(text)
    g = read_spice(deck)
    assert g.edges["wl_1_0", "bl_1_0", "Rc_1_0"]["g"] == pytest.approx(5e-5, rel=1e-15)
    assert g.edges["wl_0_0", "wl_0_1", "Rwl_0_0"]["r"] == 2.5


def test_plain_deck_reads_as_wires_and_terminals(tmp_path):
    deck = tmp_path / "plain.cir"
    deck.write_text("a plain divider\n* a comment\nVdd top 0 DC 1.5\nVss bot 0 0\n"
                    "R1 top mid 4.7k ; inline comment\nR2 mid\n+ bot 2meg\n.op\n.end\n")
    parsed = parse_spice(deck)
    g = parsed.graph
    assert parsed.title == "a plain divider"
    assert g.edges["top", "mid", "R1"] == {"kind": "wire", "r": 4700.0}
    assert g.edges["mid", "bot", "R2"] == {"kind": "wire", "r": 2e6}
    assert g.nodes["top"]["terminal"] == 0 and g.nodes["bot"]["terminal"] == 1
    assert np.array_equal(parsed.terminal_voltages, [1.5, 0.0])


@pytest.mark.parametrize("token,value", [("10", 10.0), ("4.7k", 4700.0), ("2meg", 2e6), ("1.5e3", 1500.0),
                                         ("10u", 1e-5), ("3mil", 76.2e-6), ("1kohm", 1000.0), ("-2", -2.0)])
def test_spice_numbers(token, value):
    assert parse_spice_number(token) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("card,message", [
    ("C1 a b 1p", r"line 3: unsupported card 'C1'"),
    ("R1 a 0 1k", r"line 3: resistor R1 connects to ground"),
    ("R1 a b -5", r"line 3: resistor R1 must have a finite value > 0"),
    ("R1 a b", r"line 3: a resistor card is"),
    (".tran 1n 1u", r"line 3: unsupported card '.tran'"),
    ("V2 a b DC 1", r"line 3: a voltage source must run from a node to ground"),
])
def test_bad_cards_name_the_line(card, message, tmp_path):
    deck = tmp_path / "bad.cir"
    deck.write_text(f"title\nV1 a 0 DC 1\n{card}\nR9 a b 1k\n.end\n")
    with pytest.raises(ValueError, match=message):
        read_spice(deck)


def test_card_that_contradicts_its_comment_is_rejected(tmp_path):
    xb = Crossbar(2, 2, "1R", r_wl=1.0, r_bl=1.0)
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, [0.2, 0.2])
    deck.write_text(deck.read_text().replace("Rc_1_0 in_1 out_0", "Rc_1_0 wl_1_1 out_0"))
    with pytest.raises(ValueError, match="card Rc_1_0 joins wl_1_1, out_0"):
        read_spice(deck)


def test_write_rejects_what_spice_cannot_hold(tmp_path):
    xb = Crossbar(2, 2, "1R")
    with pytest.raises(ValueError, match=r"terminal_voltages must have shape \(4,\)"):
        write_spice(xb.graph, tmp_path / "x.cir", [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        write_spice(xb.graph, tmp_path / "x.cir", [0.1, np.nan, 0, 0])
    g = nx.MultiGraph()
    g.add_node("a", terminal=0)
    g.add_node("b", terminal=1)
    g.add_edge("a", "b", key="Rab", kind="wire", r=0.0)
    with pytest.raises(ValueError, match="short terminals"):
        write_spice(g, tmp_path / "x.cir", [1.0, 0.0])
    for bad in ("my node", "0", "GND"):
        h = nx.MultiGraph()
        h.add_node("a", terminal=0)
        h.add_edge("a", bad, key="R1", kind="wire", r=1.0)
        with pytest.raises(ValueError, match="node name"):
            write_spice(h, tmp_path / "x.cir", [1.0])
    h = nx.MultiGraph()
    h.add_node("a", terminal=0)
    h.add_edge("a", "B", key="R1", kind="wire", r=1.0)
    h.add_edge("B", "b", key="R2", kind="wire", r=1.0)
    with pytest.raises(ValueError, match="same SPICE name 'b'"):
        write_spice(h, tmp_path / "x.cir", [1.0])
    h = nx.MultiGraph()
    h.add_node("a", terminal=0)
    h.add_edge("a", "b", key="x1", kind="wire", r=1.0)
    h.add_edge("b", "c", key="Rx1", kind="wire", r=1.0)
    with pytest.raises(ValueError, match="same SPICE name 'rx1'"):
        write_spice(h, tmp_path / "x.cir", [1.0])


def test_general_graph_round_trip_with_prefixed_card_names(tmp_path):
    g = nx.MultiGraph(note="two cells in series")
    g.add_node("src", terminal=0)
    g.add_node("snk", terminal=1)
    g.add_node("spare")                          # isolated: kept through a cosim-node comment
    g.add_edge("src", "x", key="cell_a", kind="cell", g=1e-3)
    g.add_edge("x", "snk", key="cell_b", kind="cell", g=3e-3)
    g.add_edge("x", "snk", key="open_b", kind="cell", g=0.0)
    deck = tmp_path / "g.cir"
    write_spice(g, deck, [1.0, 0.0])
    assert "Rcell_a src x 1000.0" in deck.read_text()
    assert_same_graph(g, read_spice(deck))


def test_missing_ngspice_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(ngspice.shutil, "which", lambda name: None)
    with pytest.raises(NgspiceError, match="ngspice is not on PATH"):
        ngspice.run_ngspice(tmp_path / "x.cir")


def test_raw_file_reader_ascii_and_binary(tmp_path):
    header = ("Title: t\nDate: today\nPlotname: Operating Point\nFlags: real\nNo. Variables: 2\n"
              "No. Points: 1\nVariables:\n\t0\tv(a)\tvoltage\n\t1\ti(v1)\tcurrent\n")
    ascii_raw = tmp_path / "a.raw"
    ascii_raw.write_text(header + "Values:\n0\t\t1.5e-01\n\t-2.5e-04\n")
    names, values = read_raw(ascii_raw)
    assert names == [("v(a)", "voltage"), ("i(v1)", "current")]
    assert np.array_equal(values, [[0.15, -2.5e-4]])
    binary_raw = tmp_path / "b.raw"
    binary_raw.write_bytes(header.encode() + b"Binary:\n" + np.array([0.1 + 1e-17, 1 / 3], "<f8").tobytes())
    assert np.array_equal(read_raw(binary_raw)[1], [[0.1 + 1e-17, 1 / 3]])
