"""Shorted cells and floating islands: currents from KCL, 0 A on islands, NaN only for undefined voltages."""
import numpy as np
import pytest

from cosim import Crossbar


@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_shorted_cell_current_closed_form(cell):
    """1x2, cell (0,0) shorted: two branches from the driver node, Rn and Rw + 1/G (+ r_on) + Rn."""
    rs, rw, rn, g, r_on, v = 50.0, 2.0, 30.0, 1e-3, 1e3, 0.4
    xb = Crossbar(1, 2, cell=cell, r_wl=rw, r_source=rs, r_sense=rn, r_on_transistor=r_on)
    xb.set_conductances([[1e-4, g]])
    xb.short_cell(0, 0)
    r_a = rn + (r_on if cell == "1T1R" else 0.0)
    r_b = rw + 1.0 / g + rn + (r_on if cell == "1T1R" else 0.0)
    r_p = r_a * r_b / (r_a + r_b)
    i_total = v / (rs + r_p)
    expected = i_total * r_p / np.array([r_a, r_b])
    sol = xb.solve([v])
    assert np.all(np.isfinite(sol.cell_currents))
    assert np.allclose(sol.cell_currents[0], expected, rtol=1e-12)
    assert np.allclose(sol.sense_currents, expected, rtol=1e-12)
    assert np.isclose(sol.driver_currents[0], i_total, rtol=1e-12)
    assert np.isclose(sol.power, v * i_total, rtol=1e-12)


def test_cells_on_an_island_carry_nothing_and_their_nodes_are_marked():
    """1T1R, row 0 unselected and its word line broken after column 0: wl (0, 1..2) and their cells float."""
    xb = Crossbar(2, 3, cell="1T1R", r_source=5.0)
    xb.select_rows([1])
    xb.open_segment("wl", 0, 0)
    sol = xb.solve_bias([0.5, 0.3])
    assert np.array_equal(sol.floating_wl_nodes, [[False, True, True], [False, False, False]])
    assert not sol.floating_bl_nodes.any()
    assert np.array_equal(sol.cell_currents[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(sol.cell_currents)) and np.isfinite(sol.power)
    # the selected row is a ladder with the floating row absent: its driver feeds exactly the senses
    assert np.isclose(sol.driver_currents.sum(), sol.sense_currents.sum(), rtol=1e-12)
    assert np.isclose(sol.driver_currents[0], 0.0, atol=1e-18)
    assert np.isclose(sol.power, 0.3 * sol.driver_currents[1], rtol=1e-12)


def test_a_loop_of_ideal_elements_satisfies_kcl():
    """Every cell shorted with ideal lines: the cell currents are the minimum-norm KCL split."""
    xb = Crossbar(2, 2, r_wl=0.0, r_bl=0.0, r_source=1.0, r_sense=1.0)
    for i in range(2):
        for j in range(2):
            xb.short_cell(i, j)
    sol = xb.solve([0.5, 0.3])
    # all line nodes merge into one node X: 2 drivers of 1 ohm, 2 senses of 1 ohm -> X = (0.5 + 0.3) / 4
    x = 0.8 / 4
    assert np.allclose(sol.driver_currents, [0.5 - x, 0.3 - x], rtol=1e-12)
    assert np.allclose(sol.sense_currents, [x, x], rtol=1e-12)
    i = sol.cell_currents
    assert np.allclose(i.sum(axis=1), sol.driver_currents, rtol=1e-12)      # out of each word line
    assert np.allclose(i.sum(axis=0), sol.sense_currents, rtol=1e-12)       # into each bit line
