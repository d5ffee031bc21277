"""Batched sinh-cell solves against per-input full Newton (a sparse LU per iteration) and closed forms.

The batched path shares one factorisation of the small-signal matrix among all inputs (Newton-CG); the
reference is ``solve_bias(..., general=True)``, which solves each input by full Newton. Ideal wires give
the closed form I = sum_i (G/b) sinh(b V_i).
"""
import numpy as np
import pytest

from cosim import Crossbar
from cosim.solve import routing
from cosim.solve.newton import ConvergenceError
from cosim.solve.routing import Quantity, SolveRequest, SolverPath


def sinh_crossbar(m, n, cell="1R", seed=0, b=3.0, **kw):
    rng = np.random.default_rng(seed)
    xb = Crossbar(m, n, cell, nonlinearity=b, **kw)
    xb.set_conductances(np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), (m, n))))
    return xb, rng


def per_input_newton(xb, v, **kw):
    return np.stack([xb.solve_bias(row, general=True, **kw).sense_currents for row in v])


def rel(a, b) -> float:
    """Largest error relative to the largest reference current of the same input."""
    return float(np.max(np.abs(a - b) / np.max(np.abs(b), axis=-1, keepdims=True)))


@pytest.mark.parametrize("m,n,cell,kw,nested", [
    (32, 33, "1R", dict(r_wl=1.0, r_bl=1.0), True),                               # nested-dissection factor
    (32, 32, "1R", dict(r_wl=2.0, r_bl=0.5, r_source=5.0, r_sense=3.0), True),
    (9, 7, "1R", dict(r_wl=1.0, r_bl=1.0, r_source=2.0), False),                  # sparse LU factor
    (8, 6, "1T1R", dict(r_wl=1.0, r_bl=2.0, r_sense=4.0), False),
    (7, 5, "1R", dict(r_wl=0.0, r_bl=1.5), False),                                # ideal word lines
])
def test_batched_reads_match_per_input_newton(m, n, cell, kw, nested):
    xb, rng = sinh_crossbar(m, n, cell, seed=m + n, **kw)
    v = rng.uniform(0.0, 0.3, (12, m))
    choice = xb.choose_path(SolveRequest(Quantity.SENSE_CURRENTS, batch=12))
    assert choice.path is SolverPath.NONLINEAR_BATCH
    assert ("nested-dissection" in choice.reason) == nested
    got = xb.read(v)
    report = xb.last_nonlinear_report
    assert rel(got, per_input_newton(xb, v)) < 1e-9
    assert not report.fallback.any()
    assert np.all(report.correction_v <= report.tolerance_v)
    assert np.all(report.newton_steps >= 1) and np.all(report.cg_iterations >= 1)
    # the single-input read takes the same path and agrees
    assert rel(xb.read(v[3]), got[3]) < 1e-9


def test_ideal_wires_give_the_closed_form():
    xb, rng = sinh_crossbar(6, 5, r_wl=0.0, r_bl=0.0, b=4.0)
    v = rng.uniform(-0.5, 0.5, (20, 6))
    g = xb.conductances
    exact = np.einsum("ki,ij->kj", np.sinh(4.0 * v), g / 4.0)
    assert rel(xb.read(v), exact) < 1e-12


def test_operating_points_with_edits_floating_lines_and_bias_match_per_input_newton():
    xb, rng = sinh_crossbar(7, 8, r_wl=1.0, r_bl=2.0, r_source=3.0, seed=4)
    xb.open_segment("wl", 2, 3)
    xb.short_cell(4, 4)
    xb.open_cell(0, 6)
    v = rng.uniform(0.0, 0.4, (5, 7))
    vb = rng.uniform(-0.1, 0.1, (5, 8))
    fw = np.zeros(7, bool)
    fw[5] = True
    fb = np.zeros(8, bool)
    fb[1] = True
    sol = xb.solve_bias(v, vb, fw, fb)
    ref = [xb.solve_bias(a, e, fw, fb, general=True) for a, e in zip(v, vb)]
    for k, r in enumerate(ref):
        assert rel(sol.sense_currents[k], r.sense_currents) < 1e-9
        finite = np.isfinite(r.wl_voltages)
        np.testing.assert_allclose(sol.wl_voltages[k][finite], r.wl_voltages[finite], rtol=0, atol=1e-12)
        np.testing.assert_allclose(sol.power[k], r.power, rtol=1e-9)
    g = xb.conductances
    normal = xb.layout.cell_state == 0
    np.testing.assert_allclose(sol.cell_currents[:, normal], (g / 3.0 * np.sinh(3.0 * sol.cell_voltages))[:, normal],
                               rtol=1e-9, atol=1e-18)


def test_nested_factor_can_be_forced_on_a_small_array(monkeypatch):
    monkeypatch.setattr(routing, "NESTED_NONLINEAR_MIN_CELLS", 4)
    xb, rng = sinh_crossbar(5, 4, r_wl=1.0, r_bl=1.0, r_source=1.0, seed=9)
    v = rng.uniform(0.0, 0.3, (6, 5))
    assert "nested-dissection" in xb.choose_path(SolveRequest(Quantity.SENSE_CURRENTS, batch=6)).reason
    assert rel(xb.read(v), per_input_newton(xb, v)) < 1e-9


def test_strongly_nonlinear_inputs_fall_back_per_input_and_say_so():
    """b V up to 200: the small-signal factorisation is a poor preconditioner there (cosh up to 1e86);
    inputs it does not finish in BATCH_MAX_NEWTON steps are handed to full Newton, and the report says which."""
    xb, rng = sinh_crossbar(3, 4, r_wl=2.0, r_bl=2.0, r_source=20.0, r_sense=20.0, b=40.0, seed=2)
    v = np.vstack([rng.uniform(0.0, 0.3, (3, 3)), rng.uniform(2.0, 5.0, (3, 3))])
    xb.BATCH_MAX_NEWTON = 12
    got = xb.read(v)
    report = xb.last_nonlinear_report
    assert rel(got, per_input_newton(xb, v)) < 1e-9
    assert not report.fallback[:3].any() and report.fallback[3:].all()
    xb.NEWTON_MAX_ITER = 3                   # too few for the fallback as well: a clear error
    with pytest.raises(ConvergenceError, match=r"3 iterations.*cell \(\d, \d\)"):
        xb.read(v)


def test_batched_operating_point_obeys_kcl_and_power_balance():
    xb, rng = sinh_crossbar(33, 32, r_wl=1.0, r_bl=1.0, r_source=2.0, r_sense=2.0, seed=5)
    v = rng.uniform(0.0, 0.3, (4, 33))
    sol = xb.solve(v)
    np.testing.assert_allclose(sol.driver_currents.sum(axis=1), sol.sense_currents.sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(sol.power, np.einsum("ki,ki->k", v, sol.driver_currents), rtol=1e-9)
    np.testing.assert_allclose(sol.cell_currents, xb.conductances / 3.0 * np.sinh(3.0 * sol.cell_voltages),
                               rtol=1e-10)
