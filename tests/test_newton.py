"""Newton on sinh cells against closed forms: the globalised iteration converges where a plain Newton
overflows, and reports (iterations, residual, worst cell) where it cannot converge."""
import numpy as np
import pytest
from scipy.optimize import brentq

from cosim import Crossbar
from cosim.netlist.elements import KIND_CODES, ElementKind
from cosim.netlist.graph import element_table_from_graph
from cosim.solve.mna import CompiledCircuit
from cosim.solve.newton import ConvergenceError, solve_nonlinear


def series_cell_current(v: float, r_series: float, g: float, b: float) -> float:
    """Exact current of one sinh cell in series with r_series: v = r_series I + Vc, I = g/b sinh(b Vc)."""
    vc = brentq(lambda x: (v - x) / r_series - g / b * np.sinh(b * x), 0.0, min(v, 700.0 / b), xtol=1e-300, rtol=1e-15)
    return (v - vc) / r_series


@pytest.mark.parametrize("b,v", [(200.0, 5.0), (1000.0, 5.0), (50.0, 20.0), (3.0, 0.3), (30.0, -4.0)])
def test_single_cell_in_series_matches_closed_form(b, v):
    """The issue's case (b = 200, 5 V): the small-signal start puts 1000 under a sinh; exact 0.2466 A."""
    xb = Crossbar(1, 1, r_source=10.0, r_sense=10.0, nonlinearity=b, conductance=1e-4)
    exact = np.sign(v) * series_cell_current(abs(v), 20.0, 1e-4, b)
    assert xb.read([v])[0] == pytest.approx(exact, rel=1e-12)
    sol = xb.solve([v])
    assert sol.sense_currents[0] == pytest.approx(exact, rel=1e-12)
    assert sol.driver_currents[0] == pytest.approx(exact, rel=1e-12)
    assert np.isfinite(sol.power) and sol.power == pytest.approx(v * exact, rel=1e-12)
    assert sol.cell_currents[0, 0] == pytest.approx(1e-4 / b * np.sinh(b * sol.cell_voltages[0, 0]), rel=1e-12)


def test_issue_example_value():
    xb = Crossbar(1, 1, r_source=10.0, r_sense=10.0, nonlinearity=200.0, conductance=1e-4)
    assert xb.read([5.0])[0] == pytest.approx(0.2466, abs=1e-4)   # the issue quotes 4 digits


def test_strongly_nonlinear_array_obeys_the_cell_law_and_kcl():
    rng = np.random.default_rng(3)
    xb = Crossbar(4, 5, r_wl=2.0, r_bl=2.0, r_source=20.0, r_sense=20.0, nonlinearity=40.0)
    xb.set_conductances(np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), (4, 5))))
    v = rng.uniform(2.0, 6.0, 4)       # b V up to 240: the small-signal start overflows sinh
    sol = xb.solve(v)
    g = xb.conductances
    np.testing.assert_allclose(sol.cell_currents, g / 40.0 * np.sinh(40.0 * sol.cell_voltages), rtol=1e-10)
    assert sol.driver_currents.sum() == pytest.approx(sol.sense_currents.sum(), rel=1e-12)
    assert sol.power == pytest.approx(float(v @ sol.driver_currents), rel=1e-10)
    # the driver resistors carry what is left of each input: v = r_source I_driver + u[:, 0]
    np.testing.assert_allclose(v, 20.0 * sol.driver_currents + sol.wl_voltages[:, 0], rtol=1e-12)


def test_convergence_error_names_iterations_residual_and_cell():
    xb = Crossbar(2, 2, r_source=10.0, r_sense=10.0, nonlinearity=200.0, conductance=1e-4)
    xb.NEWTON_MAX_ITER = xb.BATCH_MAX_NEWTON = 2
    for general in (False, True):       # the batched path's fallback and the per-input Newton path
        with pytest.raises(ConvergenceError, match=r"2 iterations.*residual .* A.*cell \(\d, \d\)") as info:
            xb.solve_bias([5.0, 4.0], general=general)
        assert info.value.iterations == 2 and info.value.residual > 0


def test_overflowing_result_raises_instead_of_inf():
    """A sinh cell directly between two ideal terminals at b V = 1000: the true current overflows float64."""
    xb = Crossbar(1, 1, r_wl=0.0, r_bl=0.0, nonlinearity=200.0, conductance=1e-4)
    with pytest.raises(ConvergenceError, match="overflow"):
        xb.read([5.0])


def test_generic_newton_reports_through_the_module_api():
    xb = Crossbar(1, 1, r_source=10.0, r_sense=10.0, nonlinearity=200.0, conductance=1e-4)
    table, _, _ = element_table_from_graph(xb.graph)
    cells = np.flatnonzero(table.kind == KIND_CODES[ElementKind.CELL])
    with pytest.raises(ConvergenceError, match="1 iterations"):
        solve_nonlinear(CompiledCircuit(table), table.g, cells, np.array([200.0]), np.array([5.0, 0.0]), max_iter=1)
    sol = solve_nonlinear(CompiledCircuit(table), table.g, cells, np.array([200.0]), np.array([5.0, 0.0]))
    assert sol.terminal_currents[1] == pytest.approx(series_cell_current(5.0, 20.0, 1e-4, 200.0), rel=1e-12)
