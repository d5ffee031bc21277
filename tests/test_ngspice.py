"""ngspice as the oracle: decks exported by cosim, run with ``ngspice -b`` (.op), against Crossbar.read/solve.

Without ngspice these tests skip locally; with the environment variable CI set they fail instead.
"""
import os
import shutil

import numpy as np
import pytest

from cosim import Crossbar
from cosim.netlist.spice import NgspiceError, run_ngspice, write_spice
from cosim.solve.files import load_description
from support import assert_nodes_close

NETLISTS = os.path.join(os.path.dirname(__file__), "..", "netlists")
RTOL = 1e-6


@pytest.fixture(autouse=True)
def need_ngspice():
    if shutil.which("ngspice") is None:
        if os.environ.get("CI"):
            pytest.fail("ngspice is not installed, and CI is set: CI must install ngspice (apt-get install ngspice)")
        pytest.skip("ngspice is not installed (apt-get install ngspice); these tests need it as the oracle")


def random_crossbar(m, n, cell="1R", seed=0, **kw):
    rng = np.random.default_rng(seed)
    xb = Crossbar(m, n, cell, **kw)
    xb.set_conductances(1.0 / np.exp(rng.uniform(np.log(1e3), np.log(1e6), (m, n))))
    return xb, rng.uniform(-0.3, 0.3, m)


def ngspice_read(xb, V, tmp_path):
    """(sense currents, driver currents, ngspice result) of the deck Crossbar.to_spice writes."""
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, V)
    res = run_ngspice(deck)
    sense = np.array([res["source_currents"][f"Vout_{j}"] for j in range(xb.cols)])
    drivers = -np.array([res["source_currents"][f"Vin_{i}"] for i in range(xb.rows)])
    return sense, drivers, res


def assert_matches_ngspice(xb, V, tmp_path):
    sense, drivers, res = ngspice_read(xb, V, tmp_path)
    scale = np.max(np.abs(sense))
    np.testing.assert_allclose(xb.read(V), sense, rtol=RTOL, atol=RTOL * scale * 1e-3)
    sol = xb.solve(V)
    np.testing.assert_allclose(sol.sense_currents, sense, rtol=RTOL, atol=RTOL * scale * 1e-3)
    np.testing.assert_allclose(sol.driver_currents, drivers, rtol=RTOL, atol=RTOL * scale * 1e-3)
    # node voltages: every word-line and bit-line node ngspice solved (islands are NaN in cosim)
    v = res["node_voltages"]
    assert_nodes_close(sol, v, RTOL)
    # conservation in ngspice itself: what the drivers push in, the senses take out
    assert drivers.sum() == pytest.approx(sense.sum(), rel=1e-9, abs=1e-15 + 1e-9 * scale)
    return sense


@pytest.mark.parametrize("m,n", [(1, 6), (5, 1), (1, 1), (4, 4), (3, 7), (9, 5), (16, 16)])
@pytest.mark.parametrize("cell", ["1R", "1T1R"])
@pytest.mark.parametrize("r_wire", [0.0, 0.5, 10.0])
def test_sense_currents_match_ngspice(m, n, cell, r_wire, tmp_path):
    xb, V = random_crossbar(m, n, cell, seed=m * 31 + n, r_wl=r_wire, r_bl=r_wire)
    assert_matches_ngspice(xb, V, tmp_path)


@pytest.mark.parametrize("r_source,r_sense", [(5.0, 0.0), (0.0, 7.0), (3.0, 2.0)])
@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_source_and_sense_resistance_match_ngspice(r_source, r_sense, cell, tmp_path):
    xb, V = random_crossbar(6, 8, cell, seed=2, r_wl=2.0, r_bl=1.0, r_source=r_source, r_sense=r_sense)
    assert_matches_ngspice(xb, V, tmp_path)


def test_per_segment_values_including_ideal_segments_match_ngspice(tmp_path):
    rng = np.random.default_rng(11)
    xb, V = random_crossbar(7, 9, "1R", seed=4, r_wl=rng.choice([0.0, 0.3, 4.0], (7, 8)),
                            r_bl=rng.choice([0.0, 1.0, 6.0], (6, 9)), r_source=rng.uniform(0, 5, 7),
                            r_sense=rng.choice([0.0, 2.0], 9))
    assert_matches_ngspice(xb, V, tmp_path)


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_broken_lines_and_defective_cells_match_ngspice(cell, tmp_path):
    xb, V = random_crossbar(8, 10, cell, seed=5, r_wl=1.5, r_bl=2.5)
    xb.open_segment("wl", 2, 4)       # word line 2 broken between columns 4 and 5
    xb.open_segment("bl", 5, 7)       # bit line 7 broken between rows 5 and 6
    xb.short_cell(1, 1)
    xb.open_cell(6, 3)
    sense = assert_matches_ngspice(xb, V, tmp_path)
    intact, _ = random_crossbar(8, 10, cell, seed=5, r_wl=1.5, r_bl=2.5)
    assert np.max(np.abs(sense - intact.read(V))) > 1e-3 * np.max(np.abs(sense))   # the defects matter


def test_unselected_1t1r_rows_match_ngspice(tmp_path):
    xb, V = random_crossbar(6, 5, "1T1R", seed=8, r_wl=1.0, r_bl=1.0)
    xb.select_rows([1, 4])
    sense = assert_matches_ngspice(xb, V, tmp_path)
    # with the other rows cut off, only rows 1 and 4 drive current
    only = np.zeros(6)
    only[[1, 4]] = V[[1, 4]]
    np.testing.assert_allclose(sense, xb.read(only), rtol=1e-12)


def test_leaky_unselected_transistors_match_ngspice(tmp_path):
    xb, V = random_crossbar(6, 5, "1T1R", seed=9, r_wl=2.0, r_bl=2.0, r_on_transistor=500.0,
                            r_off_transistor=1e6)
    xb.select_rows([0])
    assert_matches_ngspice(xb, V, tmp_path)


def test_example_descriptions_match_ngspice(tmp_path):
    for name in ("small_1r.toml", "broken_line.toml", "ideal_wires.toml"):
        xb, _ = load_description(os.path.join(NETLISTS, name))
        V = np.linspace(0.05, 0.25, xb.rows)
        assert_matches_ngspice(xb, V, tmp_path)


def test_exported_example_deck_runs_in_ngspice():
    xb, _ = load_description(os.path.join(NETLISTS, "small_1r.toml"))
    res = run_ngspice(os.path.join(NETLISTS, "small_1r.cir"))
    sense = np.array([res["source_currents"][f"Vout_{j}"] for j in range(xb.cols)])
    np.testing.assert_allclose(sense, xb.read(np.full(xb.rows, 0.2)), rtol=RTOL)


def test_general_graph_voltage_divider(tmp_path):
    """A non-crossbar graph: 1 V over 1 kohm + 3 kohm; the middle node sits at 0.75 V."""
    import networkx as nx

    g = nx.MultiGraph()
    g.add_node("top", terminal=0)
    g.add_node("bottom", terminal=1)
    g.add_edge("top", "mid", key="Ra", kind="wire", r=1000.0)
    g.add_edge("mid", "bottom", key="Rb", kind="wire", r=3000.0)
    deck = tmp_path / "divider.cir"
    write_spice(g, deck, [1.0, 0.0])
    res = run_ngspice(deck)
    assert res["node_voltages"]["mid"] == pytest.approx(0.75, rel=1e-12)
    assert res["source_currents"]["Vbottom"] == pytest.approx(2.5e-4, rel=1e-12)
    assert res["source_currents"]["Vtop"] == pytest.approx(-2.5e-4, rel=1e-12)


def test_ngspice_failure_is_reported(tmp_path):
    deck = tmp_path / "bad.cir"
    deck.write_text("bad deck\nV1 a 0 DC 1\nQ1 a b c nomodel\n.op\n.end\n")
    with pytest.raises(NgspiceError, match="ngspice failed"):
        run_ngspice(deck)
