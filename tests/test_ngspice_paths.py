"""ngspice checks every solver path a Crossbar can choose, on small arrays with wires, source and sense
resistances: structured and nested-dissection transfer matrices, nested-dissection reads and operating
points, the 1T1R row ladder, the general sparse path, Newton and the batched nonlinear solver (sinh
cells exported as ngspice B-sources). Each case asserts the path it exercises, so a routing change
cannot silently leave a path unchecked. Thresholds are lowered (monkeypatch) to put small arrays on
the large-array paths; the arrays stay small so the ngspice runs take well under a second each.
"""
import os
import shutil

import numpy as np
import pytest

from cosim import Crossbar
from cosim.netlist.spice import parse_spice, run_ngspice
from cosim.solve import routing
from cosim.solve.routing import Quantity, SolveRequest, SolverPath
from support import assert_nodes_close

RTOL = 1e-6
WIRES = dict(r_wl=2.0, r_bl=1.5, r_source=5.0, r_sense=3.0)


@pytest.fixture(autouse=True)
def need_ngspice():
    if shutil.which("ngspice") is None:
        if os.environ.get("CI"):
            pytest.fail("ngspice is not installed, and CI is set: CI must install ngspice (apt-get install ngspice)")
        pytest.skip("ngspice is not installed (apt-get install ngspice); these tests need it as the oracle")


def crossbar(m, n, cell="1R", seed=0, b=0.0, **kw):
    rng = np.random.default_rng(seed)
    xb = Crossbar(m, n, cell, nonlinearity=b, **{**WIRES, **kw})
    xb.set_conductances(np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), (m, n))))
    return xb, rng


def spice(xb, v, tmp_path):
    """(sense currents, node voltages) ngspice finds for one input vector v."""
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, v)
    res = run_ngspice(deck)
    return np.array([res["source_currents"][f"Vout_{j}"] for j in range(xb.cols)]), res["node_voltages"]


def spice_reads(xb, v, tmp_path):
    return np.stack([spice(xb, row, tmp_path)[0] for row in v])


def assert_close(ours, ref):
    scale = np.max(np.abs(ref), axis=-1, keepdims=True)
    assert np.all(np.abs(ours - ref) <= RTOL * scale), float(np.max(np.abs(ours - ref) / scale))


def path(xb, quantity, **kw):
    return xb.choose_path(SolveRequest(quantity, **kw)).path


def test_structured_transfer_matrix(tmp_path):
    xb, rng = crossbar(6, 7, seed=1)
    assert path(xb, Quantity.TRANSFER_MATRIX) is SolverPath.STRUCTURED
    v = rng.uniform(-0.3, 0.3, (2, 6))
    assert_close(v @ xb.transfer_matrix(), spice_reads(xb, v, tmp_path))


def test_nested_transfer_matrix_reads_and_operating_point(tmp_path, monkeypatch):
    monkeypatch.setattr(routing, "NESTED_TRANSFER_MIN_CELLS", 16)
    monkeypatch.setattr(routing, "NESTED_MIN_CELLS", 16)
    xb, rng = crossbar(16, 5, seed=2)                     # 16 rows: one input is below the batch that builds T
    v = rng.uniform(-0.3, 0.3, 16)
    sense, nodes = spice(xb, v, tmp_path)
    assert path(xb, Quantity.TRANSFER_MATRIX) is SolverPath.NESTED
    assert_close(v @ xb.transfer_matrix(), sense)
    fresh, _ = crossbar(16, 5, seed=2)                   # no cached T: one nested-dissection read
    assert path(fresh, Quantity.SENSE_CURRENTS) is SolverPath.NESTED
    assert_close(fresh.read(v), sense)
    assert path(fresh, Quantity.OPERATING_POINT) is SolverPath.NESTED
    sol = fresh.solve(v)
    assert_close(sol.sense_currents, sense)
    assert_nodes_close(sol, nodes, RTOL)


@pytest.mark.parametrize("row", [0, 3])
def test_single_row_ladder(row, tmp_path):
    xb, rng = crossbar(5, 6, "1T1R", seed=3)
    xb.select_rows([row])
    assert path(xb, Quantity.OPERATING_POINT) is SolverPath.SINGLE_ROW_LADDER
    v = rng.uniform(0.0, 0.3, 5)
    sense, nodes = spice(xb, v, tmp_path)
    sol = xb.solve(v)
    assert_close(sol.sense_currents, sense)
    assert_close(xb.read(v), sense)
    np.testing.assert_allclose(sol.wl_voltages[row], [nodes[f"wl_{row}_{j}"] for j in range(6)], rtol=RTOL)


def test_general_sparse_path(tmp_path):
    xb, rng = crossbar(6, 5, "1T1R", seed=4)
    xb.open_segment("bl", 2, 1)
    xb.short_cell(3, 3)
    v = rng.uniform(0.0, 0.3, 6)
    assert path(xb, Quantity.OPERATING_POINT) is SolverPath.GENERAL
    sense, nodes = spice(xb, v, tmp_path)
    sol = xb.solve(v)
    assert_close(sol.sense_currents, sense)
    assert_nodes_close(sol, nodes, RTOL)


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_newton_on_sinh_cells(cell, tmp_path):
    xb, rng = crossbar(5, 4, cell, seed=5, b=3.0)
    assert path(xb, Quantity.OPERATING_POINT, force_general=True) is SolverPath.NEWTON
    v = rng.uniform(0.0, 0.8, 5)                         # b V up to 2.4: clearly nonlinear
    sense, nodes = spice(xb, v, tmp_path)
    sol = xb.solve_bias(v, general=True)
    assert_close(sol.sense_currents, sense)
    assert_nodes_close(sol, nodes, RTOL)
    linear, _ = crossbar(5, 4, cell, seed=5)
    assert np.max(np.abs(linear.read(v) - sense)) > 1e-2 * np.max(np.abs(sense))   # the law matters


@pytest.mark.parametrize("cell,nested_factor", [("1R", False), ("1R", True), ("1T1R", False)])
def test_batched_nonlinear_solver(cell, nested_factor, tmp_path, monkeypatch):
    if nested_factor:
        monkeypatch.setattr(routing, "NESTED_NONLINEAR_MIN_CELLS", 16)
    xb, rng = crossbar(6, 5, cell, seed=6, b=3.0)
    choice = xb.choose_path(SolveRequest(Quantity.SENSE_CURRENTS, batch=3))
    assert choice.path is SolverPath.NONLINEAR_BATCH
    assert ("nested-dissection" in choice.reason) == nested_factor
    v = rng.uniform(0.0, 0.5, (3, 6))
    assert_close(xb.read(v), spice_reads(xb, v, tmp_path))
    assert not xb.last_nonlinear_report.fallback.any()


def test_sinh_deck_reads_back_with_its_law(tmp_path):
    xb, rng = crossbar(3, 4, seed=7, b=2.5)
    xb.set_nonlinearity(np.where(rng.uniform(size=(3, 4)) < 0.3, 0.0, 2.5))     # some linear cells too
    v = rng.uniform(0.0, 0.5, 3)
    deck = tmp_path / "xb.cir"
    xb.to_spice(deck, v)
    text = deck.read_text()
    assert "sinh(2.5*V(wl_0_" in text or "sinh(2.5*V(" in text
    read = parse_spice(deck)
    laws = {key: attrs.get("b", 0.0) for _, _, key, attrs in read.graph.edges(keys=True, data=True)
            if attrs["kind"] == "cell"}
    b = xb.nonlinearity
    assert laws == {f"Rc_{i}_{j}": b[i, j] for i in range(3) for j in range(4)}
    np.testing.assert_array_equal(read.terminal_voltages[:3], v)
