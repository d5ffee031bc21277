"""TOML array descriptions: exact round trips, the examples in netlists/, and bad input naming its key."""
import importlib.util
import os

import networkx as nx
import numpy as np
import pytest

from cosim import Crossbar
from cosim.netlist.description import read_description
from cosim.netlist.spice import read_spice
from cosim.solve.files import crossbar_from_graph, load_description, save_description

NETLISTS = os.path.join(os.path.dirname(__file__), "..", "netlists")
HAS_VTEAM = importlib.util.find_spec("cosim.devices.vteam") is not None


def assert_same_crossbar(a: Crossbar, b: Crossbar):
    assert (a.rows, a.cols, a.cell) == (b.rows, b.cols, b.cell)
    for key in ("r_wl", "r_bl", "r_source", "r_sense", "r_on_transistor", "r_off_transistor", "cell_state"):
        assert np.array_equal(getattr(a.layout, key), getattr(b.layout, key)), key
    assert np.array_equal(a.conductances, b.conductances)
    assert np.array_equal(a.selected_rows, b.selected_rows)


def edited_crossbar():
    rng = np.random.default_rng(1)
    xb = Crossbar(6, 7, "1T1R", r_wl=2.5, r_bl=rng.uniform(0, 3, (5, 7)), r_source=[0, 1, 2, 3, 4, 5],
                  r_sense=0.5, r_on_transistor=rng.uniform(800, 1200, (6, 7)), r_off_transistor=1e8)
    xb.set_conductances(1.0 / np.exp(rng.uniform(np.log(1e3), np.log(1e6), (6, 7))))
    xb.open_segment("wl", 3, 2)
    xb.open_segment("wl", 0, 5)
    xb.open_segment("bl", 4, 6)
    xb.short_cell(1, 1)
    xb.open_cell(5, 0)
    xb.select_rows([0, 2, 5])
    return xb


@pytest.mark.parametrize("csv", [None, "g.csv"])
def test_save_load_round_trip_is_exact(csv, tmp_path):
    xb = edited_crossbar()
    path = tmp_path / "array.toml"
    save_description(xb, path, conductance_file=csv)
    back, description = load_description(path)
    assert_same_crossbar(xb, back)
    V = np.linspace(-0.2, 0.3, 6)
    assert np.array_equal(back.read(V), xb.read(V))
    assert description.device is None
    text = path.read_text()
    assert 'broken_segments = [{line = "wl", row = 0, col = 5}, {line = "wl", row = 3, col = 2}]' in text
    assert "r_wl = 2.5\n" in text                # uniform apart from the breaks: one value
    assert "shorted_cells = [[1, 1]]" in text and "open_cells = [[5, 0]]" in text
    assert "selected_rows = [0, 2, 5]" in text
    if csv:
        assert 'file = "g.csv"' in text and (tmp_path / "g.csv").is_file()


def test_uniform_1r_description_is_short(tmp_path):
    xb = Crossbar(3, 4, "1R", r_wl=1.0, r_bl=2.0, conductance=5e-5)
    path = tmp_path / "a.toml"
    save_description(xb, path)
    body = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert body == ['rows = 3', 'cols = 4', 'cell = "1R"', '[resistance]', 'r_wl = 1.0', 'r_bl = 2.0',
                    'r_source = 0.0', 'r_sense = 0.0', '[conductance]', 'value = 5e-05']
    assert_same_crossbar(xb, load_description(path)[0])


def test_description_equals_the_same_array_built_by_calls():
    xb, description = load_description(os.path.join(NETLISTS, "broken_line.toml"))
    ref = Crossbar(16, 16, "1R", r_wl=2.0, r_bl=2.0, conductance=5e-5)
    ref.open_segment("wl", 5, 7)
    ref.short_cell(2, 3)
    ref.open_cell(10, 12)
    assert nx.utils.graphs_equal(xb.graph, ref.graph)
    assert np.array_equal(xb.read(np.full(16, 0.2)), ref.read(np.full(16, 0.2)))


def test_ideal_wires_example_is_the_textbook_product():
    xb, _ = load_description(os.path.join(NETLISTS, "ideal_wires.toml"))
    V = np.linspace(0.0, 0.3, 16)
    np.testing.assert_allclose(xb.read(V), V @ np.full((16, 16), 1e-4), rtol=1e-12)


def test_examples_load():
    small, _ = load_description(os.path.join(NETLISTS, "small_1r.toml"))
    assert small.shape == (8, 8) and small.conductances[0, 0] == 5.62e-06 and small.conductances[7, 7] == 4.99e-05
    big, description = load_description(os.path.join(NETLISTS, "1t1r_64.toml"))
    assert big.shape == (64, 64) and big.cell.value == "1T1R"
    assert description.device == "VTEAM:Pt/Hf/Ti"
    g = np.loadtxt(os.path.join(NETLISTS, "1t1r_64_conductances.csv"), delimiter=",")
    assert np.array_equal(big.conductances, g)
    exported = crossbar_from_graph(read_spice(os.path.join(NETLISTS, "small_1r.cir")))
    assert_same_crossbar(small, exported)


def test_nonlinearity_is_read(tmp_path):
    path = tmp_path / "nl.toml"
    path.write_text("rows = 2\ncols = 3\n[conductance]\nvalue = 1e-4\nnonlinearity = 2.0\n")
    xb, _ = load_description(path)
    assert not xb.is_linear


@pytest.mark.skipif(not hasattr(Crossbar, "nonlinearity"), reason="needs a public Crossbar.nonlinearity")
def test_nonlinearity_round_trip(tmp_path):
    xb = Crossbar(2, 3)
    xb.set_nonlinearity([[1.0, 2.0, 3.0], [0.0, 0.5, 4.0]])
    save_description(xb, tmp_path / "nl.toml")
    back, description = load_description(tmp_path / "nl.toml")
    assert np.array_equal(description.nonlinearity, [[1.0, 2.0, 3.0], [0.0, 0.5, 4.0]])
    assert np.array_equal(back.read([0.3, 0.2]), xb.read([0.3, 0.2]))


@pytest.mark.skipif(not HAS_VTEAM, reason="cosim.devices.vteam is not there to validate against")
def test_device_names_are_checked_against_cosim_devices(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('rows = 2\ncols = 2\ndevice = "VTEAM:Pt/Hf/Ti"\n')
    assert read_description(path).device == "VTEAM:Pt/Hf/Ti"
    path.write_text('rows = 2\ncols = 2\ndevice = "VTEAM:Unobtainium"\n')
    with pytest.raises(ValueError, match="unknown VTEAM preset 'Unobtainium'"):
        read_description(path)
    path.write_text('rows = 2\ncols = 2\ndevice = "NoSuchModel"\n')
    with pytest.raises(ValueError, match="unknown device model 'NoSuchModel'"):
        read_description(path)


@pytest.mark.parametrize("body,message", [
    ("rows = 2\ncols = 2\ncolour = 1\n", "unknown key 'colour' in the top level"),
    ("rows = 2\ncols = 2\n[resistance]\nr_wire = 1.0\n", r"unknown key 'r_wire' in \[resistance\]"),
    ("rows = 2\ncols = 2\n[defects]\nbroken = []\n", r"unknown key 'broken' in \[defects\]"),
    ("rows = 2\ncols = 2\ncell = \"2T2R\"\n", "cell must be one of"),
    ("rows = 2\n", "missing key 'cols'"),
    ("rows = 0\ncols = 2\n", "rows must be a positive integer"),
    ("rows = 2\ncols = 2\n[resistance]\nr_wl = -1.0\n", "r_wl must be >= 0"),
    ("rows = 2\ncols = 2\n[resistance]\nr_bl = [[1.0, 2.0, 3.0]]\n", r"r_bl must be a scalar or have shape \(1, 2\)"),
    ("rows = 2\ncols = 2\n[resistance]\nr_sense = \"low\"\n", "resistance.r_sense must be a number"),
    ("rows = 2\ncols = 2\n[conductance]\nvalues = [[1e-4, 1e-4]]\n", r"conductance.values must have shape \(2, 2\)"),
    ("rows = 2\ncols = 2\n[conductance]\nvalue = -1e-4\n", "conductance.value must be finite and > 0"),
    ("rows = 2\ncols = 2\n[conductance]\nvalue = 1e-4\nfile = \"g.csv\"\n", "takes one of value / values / file"),
    ("rows = 2\ncols = 2\n[conductance]\nfile = \"missing.csv\"\n", "conductance.file: no such file"),
    ("rows = 2\ncols = 2\n[defects]\nshorted_cells = [[2, 0]]\n", r"shorted_cells cell \[2, 0\] out of range"),
    ("rows = 2\ncols = 2\n[defects]\nbroken_segments = [{line = \"wl\", row = 0, col = 1}]\n",
     r"wl segment \(0, 1\) out of range"),
    ("rows = 2\ncols = 2\n[defects]\nbroken_segments = [{line = \"xl\", row = 0, col = 0}]\n",
     "line must be 'wl' or 'bl'"),
    ("rows = 2\ncols = 2\nselected_rows = [0]\n", "selected_rows applies to 1T1R"),
    ("rows = 2\ncols = 2\ncell = \"1T1R\"\nselected_rows = [3]\n", "selected_rows must be a list of row indices"),
    ("rows = 2\ncols = 2\n[conductance]\nnonlinearity = [1.0]\n", "conductance.nonlinearity must be a scalar"),
    ("rows = 2\ncols = 2\ndevice = 3\n", "device must be a string"),
    ("rows = 2\ncols = = 2\n", "not valid TOML"),
])
def test_bad_input_names_the_problem(body, message, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as info:
        load_description(path)
    assert str(path) in str(info.value)


def test_wrong_csv_shape(tmp_path):
    (tmp_path / "g.csv").write_text("1e-4,1e-4\n1e-4,1e-4\n")
    path = tmp_path / "a.toml"
    path.write_text('rows = 3\ncols = 2\n[conductance]\nfile = "g.csv"\n')
    with pytest.raises(ValueError, match=r"conductance.file g.csv must have shape \(3, 2\)"):
        load_description(path)


def test_crossbar_from_graph_rejects_rewired_graphs():
    g = Crossbar(3, 3, "1R").graph
    g.remove_edge("wl_1_1", "bl_1_1", key="Rc_1_1")
    g.add_edge("wl_1_1", "bl_2_2", key="Rc_1_1", kind="cell", g=1e-4, row=1, col=1)
    with pytest.raises(ValueError, match="element 'Rc_1_1' differs from the crossbar"):
        crossbar_from_graph(g)
    h = Crossbar(3, 3, "1R").graph
    del h.graph["rows"]
    with pytest.raises(ValueError, match="lacks the crossbar attribute 'rows'"):
        crossbar_from_graph(h)
