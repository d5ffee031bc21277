"""Property test: on random sinh-cell crossbars (sizes, wires, drivers, senses, edits, 1T1R selections,
per-cell nonlinearity) the batched solver agrees with per-input full Newton, and every operating point
obeys the cell law, Kirchhoff's current law and the power balance."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim import Crossbar

CASES = 40


@st.composite
def sinh_circuits(draw):
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    cell = draw(st.sampled_from(["1R", "1T1R"]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    r = lambda shape: rng.choice([0.0, 0.5, 3.0, 20.0], shape)
    xb = Crossbar(m, n, cell, r_wl=r((m, n - 1)), r_bl=r((m - 1, n)), r_source=r(m), r_sense=r(n),
                  r_on_transistor=rng.uniform(100.0, 5e3))
    xb.set_conductances(np.exp(rng.uniform(np.log(1e-6), np.log(1e-2), (m, n))))
    xb.set_nonlinearity(rng.choice([0.0, 1.0, 3.0, 8.0], (m, n)))
    for _ in range(draw(st.integers(0, 2))):
        i, j = rng.integers(m), rng.integers(n)
        getattr(xb, rng.choice(["open_cell", "short_cell"]))(i, j)
    if cell == "1T1R" and draw(st.booleans()):
        xb.select_rows(rng.random(m) < 0.5)
    v = rng.uniform(-0.6, 0.6, (3, m))
    return xb, v


@settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sinh_circuits())
def test_batched_agrees_with_full_newton_and_conserves(case):
    xb, v = case
    try:
        sol = xb.solve(v)
    except ValueError as exc:                 # ideal elements shorting two terminals: a documented refusal
        assert "short terminals" in str(exc)
        return
    # what the batched solver promises: node voltages to 1e-12 of the largest input, so a current through
    # the stiffest element (up to 1/0.5 ohm here) is known to 1e-12 V x that conductance; then 1e-9 relative
    lay = xb.layout
    stiff = max(float(np.max(xb.conductances)), *(1.0 / r for r in (lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense)
                                                  for r in r.ravel() if 0 < r < np.inf), 1.0 / 5e3)
    scale = float(np.max(np.abs(sol.driver_currents)))
    floor = 1e-12 * float(np.max(np.abs(v))) * stiff + 1e-18
    for k in range(v.shape[0]):
        ref = xb.solve_bias(v[k], general=True)
        assert np.max(np.abs(sol.sense_currents[k] - ref.sense_currents)) <= 1e-9 * scale + floor
    assert np.allclose(sol.driver_currents.sum(axis=1), sol.sense_currents.sum(axis=1), rtol=1e-9, atol=floor)
    assert np.allclose(sol.power, np.einsum("ki,ki->k", v, sol.driver_currents), rtol=1e-9,
                       atol=floor * float(np.max(np.abs(v))))
    g, b = xb.conductances, xb.nonlinearity
    normal = xb.layout.cell_state == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        law = np.where(b > 0, g / np.where(b > 0, b, 1.0) * np.sinh(b * sol.cell_voltages), g * sol.cell_voltages)
    finite = normal & np.isfinite(sol.cell_voltages)
    assert np.allclose(sol.cell_currents[finite], law[finite], rtol=1e-9, atol=floor)
