"""Solver paths against each other and against closed forms: structured vs general, T vs read, conservation."""
import numpy as np
import pytest

from cosim import Crossbar
from cosim.solve.routing import Quantity, SolveRequest, SolverPath


def random_crossbar(m, n, cell="1R", r_wl=1.0, r_bl=1.0, r_source=0.0, r_sense=0.0, seed=0, r_min=100.0,
                    r_max=1e7):
    rng = np.random.default_rng(seed)
    xb = Crossbar(m, n, cell, r_wl=r_wl, r_bl=r_bl, r_source=r_source, r_sense=r_sense)
    xb.set_conductances(1.0 / np.exp(rng.uniform(np.log(r_min), np.log(r_max), (m, n))))
    return xb, rng


@pytest.mark.parametrize("m,n", [(1, 1), (1, 7), (6, 1), (5, 9), (12, 4), (24, 24)])
@pytest.mark.parametrize("r_wire", [0.0, 0.5, 10.0])
@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_structured_transfer_matches_general_path(m, n, r_wire, cell):
    xb, _ = random_crossbar(m, n, cell, r_wl=r_wire, r_bl=r_wire, seed=m * n)
    t_fast = xb.transfer_matrix()
    t_ref = xb.transfer_matrix_general()
    assert np.max(np.abs(t_fast - t_ref)) <= 1e-9 * np.max(np.abs(t_ref))


@pytest.mark.parametrize("r_source,r_sense", [(0.0, 0.0), (5.0, 0.0), (0.0, 7.0), (3.0, 2.0)])
def test_structured_with_driver_and_sense_resistance(r_source, r_sense):
    xb, rng = random_crossbar(10, 13, r_wl=2.0, r_bl=3.0, r_source=r_source, r_sense=r_sense, seed=3)
    assert np.allclose(xb.transfer_matrix(), xb.transfer_matrix_general(), rtol=0, atol=1e-9 * 1e-2)


def test_structured_with_per_segment_values_including_zero():
    xb, rng = random_crossbar(9, 8, r_wl=1.0, r_bl=1.0, seed=5)
    for line, shape in (("wl", (9, 7)), ("bl", (8, 8))):
        for _ in range(10):
            i, j = rng.integers(shape[0]), rng.integers(shape[1])
            xb.set_segment_resistance(line, i, j, rng.choice([0.0, 0.1, 10.0]))
    t = xb.transfer_matrix()
    assert np.max(np.abs(t - xb.transfer_matrix_general())) <= 1e-9 * np.max(np.abs(t))


def test_read_equals_v_times_t_and_full_solve():
    xb, rng = random_crossbar(16, 11, r_wl=2.5, r_bl=2.5, r_source=1.0, r_sense=1.0, seed=7)
    v = rng.uniform(-0.3, 0.3, (20, 16))
    t = xb.transfer_matrix()
    sol = xb.solve(v)
    assert np.allclose(xb.read(v), v @ t, rtol=1e-12, atol=0)
    assert np.allclose(sol.sense_currents, v @ t, rtol=1e-9, atol=1e-18)
    assert xb.read(v[0]).shape == (11,)


def test_conservation_and_power_balance():
    xb, rng = random_crossbar(12, 9, "1T1R", r_wl=3.0, r_bl=2.0, r_source=4.0, r_sense=5.0, seed=11)
    v = rng.uniform(0.0, 0.5, 12)
    sol = xb.solve(v)
    # everything the drivers push in leaves through the senses
    assert sol.driver_currents.sum() == pytest.approx(sol.sense_currents.sum(), rel=1e-12)
    # power delivered by the ideal sources equals power dissipated in all elements
    assert sol.power == pytest.approx(float(v @ sol.driver_currents), rel=1e-10)
    assert sum(sol.power_by_kind.values()) == pytest.approx(sol.power, rel=1e-12)
    # cell currents obey Ohm's law on the cell voltages
    assert np.allclose(sol.cell_currents, xb.conductances * sol.cell_voltages, rtol=1e-10, atol=1e-20)


def test_ideal_wires_closed_form():
    """Zero wire, source and sense resistance: I = V @ G exactly (no IR drop, no sneak paths)."""
    xb, rng = random_crossbar(7, 5, r_wl=0.0, r_bl=0.0, seed=2)
    v = rng.uniform(-1, 1, 7)
    assert np.allclose(xb.read(v), v @ xb.conductances, rtol=1e-13)
    assert np.allclose(xb.transfer_matrix_general(), xb.conductances, rtol=1e-13)


def test_single_cell_voltage_divider_closed_form():
    """1x1 1T1R with source and sense resistance: a series chain."""
    xb = Crossbar(1, 1, "1T1R", r_wl=0.0, r_bl=0.0, r_source=50.0, r_sense=25.0, r_on_transistor=1e3)
    xb.set_conductances(np.array([[1e-4]]))
    expected = 0.3 / (50.0 + 1e4 + 1e3 + 25.0)
    assert xb.read(np.array([0.3]))[0] == pytest.approx(expected, rel=1e-13)
    assert xb.transfer_matrix()[0, 0] == pytest.approx(expected / 0.3, rel=1e-13)


def test_one_row_ladder_closed_form():
    """1 x N with r_bl irrelevant and ideal senses: a resistive ladder solved by hand recursion."""
    n, rw = 6, 2.0
    g = np.linspace(1e-3, 6e-3, n)
    xb = Crossbar(1, n, "1R", r_wl=rw, r_bl=5.0, r_sense=0.0)
    xb.set_conductances(g[None, :])
    # admittance seen from column j looking right, then voltages forward
    y = np.zeros(n)
    y[-1] = g[-1]
    for j in range(n - 2, -1, -1):
        y[j] = g[j] + 1.0 / (rw + 1.0 / y[j + 1])
    u = np.empty(n)
    u[0] = 1.0
    for j in range(1, n):
        u[j] = u[j - 1] / (1.0 + rw * y[j])
    assert np.allclose(xb.read(np.array([1.0])), g * u, rtol=1e-13)


def test_unselected_1t1r_row_carries_nothing():
    xb, rng = random_crossbar(6, 5, "1T1R", r_wl=1.0, r_bl=1.0, seed=4)
    xb.select_rows([0, 2, 3, 4, 5])
    v = np.zeros(6)
    v[1] = 1.0
    assert np.allclose(xb.read(v), 0.0, atol=1e-18)
    assert np.allclose(xb.transfer_matrix()[1], 0.0)
    assert np.allclose(xb.transfer_matrix(), xb.transfer_matrix_general(), atol=1e-15)


def test_edits_are_respected_by_every_path():
    xb, rng = random_crossbar(8, 8, r_wl=1.0, r_bl=1.0, seed=9)
    v = rng.uniform(0, 0.3, 8)
    before = xb.read(v)
    xb.open_segment("wl", 3, 0)           # word line 3 cut right after column 0
    after = xb.read(v)
    assert not np.allclose(before, after)
    sol = xb.solve(v)
    assert np.allclose(after, sol.sense_currents, rtol=1e-10)
    assert np.allclose(xb.transfer_matrix(), xb.transfer_matrix_general())
    xb.short_cell(5, 5)
    sol = xb.solve(v)
    assert sol.cell_voltages[5, 5] == pytest.approx(0.0, abs=1e-15)
    xb.open_cell(2, 2)
    assert xb.solve(v).cell_currents[2, 2] == 0.0


def test_broken_line_island_is_floating_not_singular():
    """A 1T1R row cut from its driver and with its transistors off is an island: NaN voltages, no current."""
    xb, rng = random_crossbar(4, 4, "1T1R", seed=1)
    xb.open_segment("wl", 2, 1)
    xb.select_rows([0, 1, 3])
    sol = xb.solve(np.full(4, 0.2))
    assert np.all(np.isnan(sol.wl_voltages[2, 2:]))
    assert np.all(np.isfinite(sol.sense_currents))
    assert np.allclose(sol.sense_currents, xb.read(np.full(4, 0.2)))


def test_nonlinear_sinh_cells_match_small_signal_and_converge():
    xb, rng = random_crossbar(6, 5, r_wl=1.0, r_bl=1.0, seed=12, r_min=1e3, r_max=1e5)
    t = xb.transfer_matrix()
    xb.set_nonlinearity(3.0)
    v_small = np.full(6, 1e-5)
    assert np.allclose(xb.read(v_small), v_small @ t, rtol=1e-6)
    v = np.full(6, 0.8)
    sol = xb.solve(v)
    g = xb.conductances
    assert np.allclose(sol.cell_currents, g / 3.0 * np.sinh(3.0 * sol.cell_voltages), rtol=1e-9)
    assert sol.driver_currents.sum() == pytest.approx(sol.sense_currents.sum(), rel=1e-9)
    assert np.all(xb.read(v) > v @ t)   # sinh conducts more than its small-signal line


@pytest.mark.parametrize("bad", [np.ones((4, 5)), np.full((4, 4), np.nan), -np.ones((4, 4)), np.zeros((4, 4))])
def test_bad_conductances_rejected_and_state_unchanged(bad):
    xb, _ = random_crossbar(4, 4)
    g0 = xb.conductances
    t0 = xb.transfer_matrix()
    with pytest.raises(ValueError, match="G"):
        xb.set_conductances(bad)
    assert np.array_equal(xb.conductances, g0)
    assert np.array_equal(xb.transfer_matrix(), t0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(cell="2T2R"), "cell"), (dict(r_wl=-1.0), "r_wl"), (dict(r_bl=np.nan), "r_bl"),
    (dict(r_source=np.ones(3)), "r_source"), (dict(rows=0), "rows"),
])
def test_bad_construction_rejected(kwargs, match):
    args = dict(rows=4, cols=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Crossbar(**args)


def test_bad_inputs_rejected():
    xb, _ = random_crossbar(4, 3)
    for bad in (np.ones(3), np.ones((2, 5)), np.array([0.1, np.inf, 0, 0])):
        with pytest.raises(ValueError, match="V"):
            xb.read(bad)
    with pytest.raises(ValueError, match="line"):
        xb.open_segment("xl", 0, 0)
    with pytest.raises(ValueError, match="1T1R"):
        xb.select_rows([0])


def test_unknown_netlist_element_rejected():
    import networkx as nx
    from cosim.netlist.graph import element_table_from_graph

    g = nx.MultiGraph()
    g.add_node("in_0", terminal=0)
    g.add_edge("in_0", "a", key="D1", kind="diode", r=1.0)
    with pytest.raises(ValueError, match="diode"):
        element_table_from_graph(g)


@pytest.mark.parametrize("r_wire,r_source,r_sense", [(0.0, 0.0, 0.0), (2.0, 5.0, 3.0), (0.7, 0.0, 1.0)])
def test_single_selected_row_ladder_matches_general_path(r_wire, r_source, r_sense):
    xb, rng = random_crossbar(7, 9, "1T1R", r_wl=r_wire, r_bl=r_wire, r_source=r_source, r_sense=r_sense, seed=21)
    xb.select_rows([4])
    v = rng.uniform(-1, 1, (3, 7))
    fast = xb.solve(v)                      # O(N) ladder path
    ref = xb.solve_bias(v, general=True)    # general sparse path
    for field in ("wl_voltages", "cell_voltages", "cell_currents", "sense_currents", "driver_currents", "power"):
        a, b = getattr(fast, field), getattr(ref, field)
        assert np.allclose(a, b, rtol=1e-10, atol=1e-15), field
    # bit-line nodes carrying current agree; the stub above the selected row sits at the row's voltage
    assert np.allclose(fast.bl_voltages[:, 4:], ref.bl_voltages[:, 4:], rtol=1e-10, atol=1e-15)
    for k in fast.power_by_kind:
        assert np.allclose(fast.power_by_kind[k], ref.power_by_kind[k], rtol=1e-9, atol=1e-18), k
    assert np.allclose(xb.read(v), ref.sense_currents, rtol=1e-10)


def test_bias_half_select_closed_form_and_floating_lines():
    """Ideal wires: with V/2 biasing a cell's voltage is exactly its word-line minus bit-line bias."""
    xb, rng = random_crossbar(5, 6, r_wl=0.0, r_bl=0.0, seed=8)
    v_wl = np.full(5, 0.6)
    v_wl[2] = 1.2
    v_bl = np.full(6, 0.6)
    v_bl[3] = 0.0
    sol = xb.solve_bias(v_wl, v_bl)
    assert np.allclose(sol.cell_voltages, v_wl[:, None] - v_bl[None, :], atol=1e-12)
    assert sol.cell_voltages[2, 3] == pytest.approx(1.2)
    # Kirchhoff: what the drivers push in leaves through the bit-line ends
    assert sol.driver_currents.sum() == pytest.approx(sol.sense_currents.sum(), rel=1e-12)
    # a floating word line carries no current in, and its ideal driver no longer pins it
    float_wl = np.zeros(5, bool)
    float_wl[0] = True
    sol = xb.solve_bias(v_wl, v_bl, floating_wl=float_wl)
    assert sol.driver_currents[0] == 0.0
    assert np.all(np.isfinite(sol.wl_voltages[0]))
    assert 0.0 < sol.wl_voltages[0, 0] < 1.2
    with pytest.raises(ValueError, match="floating_bl"):
        xb.solve_bias(v_wl, v_bl, floating_bl=[1, 2])


def test_single_row_ladder_with_bit_line_bias_matches_general_path():
    xb, rng = random_crossbar(6, 8, "1T1R", r_wl=1.5, r_bl=2.0, r_source=3.0, r_sense=1.0, seed=31)
    xb.select_rows([2])
    v_wl = rng.uniform(-1, 1, 6)
    v_bl = rng.uniform(-1, 1, 8)
    fast = xb.solve_bias(v_wl, v_bl)
    sol_ref = xb.solve_bias(v_wl, v_bl, general=True)
    for field in ("wl_voltages", "cell_voltages", "cell_currents", "sense_currents", "power"):
        assert np.allclose(getattr(fast, field), getattr(sol_ref, field), rtol=1e-10, atol=1e-15), field
    assert np.allclose(fast.bl_voltages[2:], sol_ref.bl_voltages[2:], rtol=1e-10, atol=1e-15)


def test_ladder_kernel_matches_numpy_reference():
    from cosim.solve.row_ladder import single_row_voltages, single_row_voltages_reference

    rng = np.random.default_rng(5)
    g, rt, rd = rng.uniform(1e-4, 1e-2, 17), rng.uniform(0, 500, 17), rng.uniform(0, 20, 17)
    r_wl = rng.choice([0.0, 0.3, 2.0], 16)
    v, e = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, (4, 17))
    a = single_row_voltages(g, rt, r_wl, 3.0, rd, v, e)
    b = single_row_voltages_reference(g, rt, r_wl, 3.0, rd, v, e)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_large_arrays_use_nested_dissection_and_match_the_general_path(cell):
    xb, rng = random_crossbar(100, 97, cell, r_wl=1.5, r_bl=0.7, r_source=2.0, r_sense=0.0, seed=41, r_min=1e3,
                              r_max=1e5)
    assert xb.choose_path(SolveRequest(Quantity.OPERATING_POINT)).path is SolverPath.NESTED
    v = rng.uniform(0, 0.3, (2, 100))
    fast = xb.solve(v)                                   # nested dissection
    ref = xb.solve_bias(v, general=True)                 # sparse LU
    for field in ("wl_voltages", "bl_voltages", "cell_voltages", "cell_currents", "sense_currents",
                  "driver_currents", "power"):
        a, b = getattr(fast, field), getattr(ref, field)
        assert np.max(np.abs(a - b)) <= 1e-9 * np.max(np.abs(b)), field
    for kind in ref.power_by_kind:
        assert np.allclose(fast.power_by_kind[kind], ref.power_by_kind[kind], rtol=1e-8, atol=1e-15), kind
    assert np.allclose(xb.read(v[0]), ref.sense_currents[0], rtol=1e-9)


def test_structured_kernel_matches_numpy_reference_with_grouped_and_grounded_nodes():
    """The compiled column elimination equals its numpy reference: ideal segments, open cells, grounded groups."""
    from cosim.solve.structured import transfer_matrix, transfer_matrix_reference

    rng = np.random.default_rng(8)
    for r_sense in (0.0, 3.0):
        g = rng.uniform(1e-5, 1e-2, (9, 5))
        g[4, 2] = 0.0                                # an open cell (an unselected 1T1R row looks the same)
        r_wl = rng.choice([0.0, 0.5, 2.0], (9, 4))
        r_bl = rng.choice([0.0, 0.5, 2.0], (8, 5))
        r_src = rng.choice([0.0, 10.0], 9)
        r_sns = np.full(5, r_sense)
        a = transfer_matrix(g, r_wl, r_bl, r_src, r_sns)
        b = transfer_matrix_reference(g, r_wl, r_bl, r_src, r_sns)
        assert np.all(a >= 0)
        assert np.allclose(a, b, rtol=1e-12, atol=0.0)


def test_structured_path_is_exact_in_stiff_circuits():
    """Issue 9's reproduction: 1e-9 ohm wires and sense, a 1 Mohm driver, 1e9 S and 1e7 S cells (closed form)."""
    xb = Crossbar(1, 2, r_wl=1e-9, r_bl=0.0, r_source=1e6, r_sense=1e-9)
    xb.set_conductances([[1e9, 1e7]])
    r_a = 1e-9 + 1e-9                                # cell 0 and its sense
    r_b = 1e-9 + 1e-7 + 1e-9                         # segment, cell 1, its sense
    r_p = r_a * r_b / (r_a + r_b)
    i_total = 1.0 / (1e6 + r_p)
    expected = np.array([i_total * r_p / r_a, i_total * r_p / r_b])
    assert np.allclose(expected, [9.8077e-7, 1.9231e-8], rtol=1e-4)      # the numbers
    assert np.allclose(xb.transfer_matrix()[0], expected, rtol=1e-13)
    assert np.allclose(xb.read([1.0]), expected, rtol=1e-13)
