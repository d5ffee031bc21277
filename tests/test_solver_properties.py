"""Property tests: random crossbar netlists, every solver path against an independent dense nodal solve.

The circuits span sizes 1..12, 1R and 1T1R, wire / driver / sense resistances from 0 to 1e6 ohm (down
to 1e-9 ohm), cell conductances 1e-9..1e3 S, broken segments, shorted and open cells, unselected rows,
floating lines and biased bit lines. The reference (tests/nodal_reference.py) builds the netlist from
the documented circuit convention and eliminates it without subtraction, so it is exact to rounding
however stiff the circuit. Every path cosim routes to (ladder, structured, nested, general, transfer
matmul) must agree with it to 1e-9 of the natural scale (the largest node voltage, the largest
current the reduced network can carry at the applied voltages), or raise a documented error: a
ValueError when ideal elements short two terminals. KCL on every line and the power balance must hold.

A nodal solver carries node voltages, not currents: voltages are checked to 1e-9 of the voltage scale
V, and a current through the conductance G attached to a terminal inherits G x (voltage error), so
currents are compared to 1e-9 of their scale or to 1e-9 G V, whichever is larger (the reference
computes terminal currents from the reduced terminal network and does not have this floor).
"""
import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import nodal_reference as ref
from cosim import Crossbar
from cosim.solve.routing import Quantity, SolveRequest, SolverPath

TOL = 1e-9

REGIMES = {  # resistance draws, ohm: (probability of 0, log10 low, log10 high)
    "ideal": (1.0, 0, 0), "tiny": (0.0, -9, -6), "normal": (0.0, -3, 2), "huge": (0.0, 3, 6),
    "mixed": (0.3, -9, 6),
}


def _resistances(rng, regime, shape, p_broken=0.0):
    p_zero, lo, hi = REGIMES[regime]
    r = 10.0 ** rng.uniform(lo, hi, shape)
    r[rng.random(shape) < p_zero] = 0.0
    r[rng.random(shape) < p_broken] = np.inf
    return r


@st.composite
def circuits(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    cell = draw(st.sampled_from(["1R", "1T1R"]))
    regimes = [draw(st.sampled_from(sorted(REGIMES))) for _ in range(4)]
    edited = draw(st.booleans())
    bias = draw(st.sampled_from(["read", "bit lines", "floating"]))
    one_row = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    p_edit = 0.08 if edited else 0.0
    state = np.where(rng.random((m, n)) < p_edit, rng.integers(1, 3, (m, n)), 0)
    selected = np.ones(m, bool)
    if cell == "1T1R":
        selected = np.zeros(m, bool)
        if one_row:
            selected[rng.integers(m)] = True
        else:
            selected = rng.random(m) < 0.6
    spec = ref.Spec(
        m, n, cell,
        r_wl=_resistances(rng, regimes[0], (m, n - 1), p_edit), r_bl=_resistances(rng, regimes[1], (m - 1, n), p_edit),
        r_source=_resistances(rng, regimes[2], (m,)), r_sense=_resistances(rng, regimes[3], (n,)),
        g=10.0 ** rng.uniform(-9, 3, (m, n)), state=state, selected=selected,
        r_on=float(10.0 ** rng.uniform(0, 4)), r_off=float(rng.choice([np.inf, 10.0 ** rng.uniform(6, 12)])),
    )
    v = rng.uniform(-1.0, 1.0, m)
    v_bl = rng.uniform(-0.5, 0.5, n) if bias == "bit lines" else np.zeros(n)
    if bias == "floating":
        spec.floating_wl = rng.random(m) < 0.3
        spec.floating_bl = rng.random(n) < 0.3
    return spec, v, v_bl


def build(spec: ref.Spec) -> Crossbar:
    xb = Crossbar(spec.rows, spec.cols, cell=spec.cell, r_wl=spec.r_wl, r_bl=spec.r_bl, r_source=spec.r_source,
                  r_sense=spec.r_sense, r_on_transistor=spec.r_on, r_off_transistor=spec.r_off)
    xb.set_conductances(spec.g)
    for i, j in zip(*np.nonzero(spec.state == ref.SHORT)):
        xb.short_cell(int(i), int(j))
    for i, j in zip(*np.nonzero(spec.state == ref.OPEN)):
        xb.open_cell(int(i), int(j))
    if spec.cell == "1T1R":
        xb.select_rows(spec.selected)
    return xb


#: currents are checked to this fraction of (attached conductance x voltage scale), like the voltages
VOLTAGE_FLOOR = TOL


def _reference(spec, v, v_bl):
    """Reference solution and the current tolerance of each terminal, A."""
    vt = np.concatenate([v, v_bl])
    node_v, i_term, wt, g_terminal = ref.solve(spec, vt)
    current_scale = float(np.max(np.sum(wt * np.abs(vt[None, :] - vt[:, None]), axis=1), initial=0.0))
    v_scale = float(np.max(np.abs(vt)))
    i_tol = TOL * current_scale + VOLTAGE_FLOOR * g_terminal * v_scale
    return node_v, i_term, wt, np.maximum(i_tol, 1e-300)


def _largest_conductance(spec) -> float:
    """The largest finite element conductance of the circuit, S."""
    r = np.concatenate([spec.r_wl.ravel(), spec.r_bl.ravel(), spec.r_source, spec.r_sense, [spec.r_on, spec.r_off]])
    r = r[(r > 0) & np.isfinite(r)]
    return float(max(np.max(spec.g), np.max(1.0 / r, initial=0.0)))


def _check_operating_point(sol, spec, v, v_bl, node_v, i_term, i_tol, label):
    m, n = spec.rows, spec.cols
    wl_ref = node_v[: m * n].reshape(m, n)
    bl_ref = node_v[m * n: 2 * m * n].reshape(m, n)
    v_scale = max(float(np.max(np.abs(np.concatenate([v, v_bl])))), 1e-300)
    for name, got, want in (("wl", sol.wl_voltages, wl_ref), ("bl", sol.bl_voltages, bl_ref)):
        if spec.floating_wl is None and spec.floating_bl is None and spec.cell == "1R" and not np.any(spec.state):
            assert not np.any(np.isnan(got)), f"{label}: {name} voltages NaN in a circuit without islands"
        defined = ~np.isnan(want)
        assert np.array_equal(np.isnan(got)[defined], np.zeros(np.count_nonzero(defined), bool)), \
            f"{label}: {name} voltage NaN where the reference defines it"
        err = np.max(np.abs(got[defined] - want[defined]), initial=0.0)
        assert err <= TOL * v_scale, f"{label}: {name} voltages off by {err:.2e} V (scale {v_scale:.2e} V)"
    sense_err = np.abs(sol.sense_currents - i_term[m:])
    driver_err = np.abs(sol.driver_currents + i_term[:m])
    assert np.all(sense_err <= i_tol[m:]), f"{label}: sense currents off by {sense_err} A (tolerance {i_tol[m:]} A)"
    assert np.all(driver_err <= i_tol[:m]), f"{label}: driver currents off by {driver_err} A (tolerance {i_tol[:m]} A)"
    # KCL on every line: a word line's current leaves only through its cells, a bit line's only into its sense
    assert np.all(np.isfinite(sol.cell_currents)), f"{label}: non-finite cell currents"
    fw = np.zeros(m, bool) if spec.floating_wl is None else spec.floating_wl
    fb = np.zeros(n, bool) if spec.floating_bl is None else spec.floating_bl
    # a cell current inherits G_cell x (voltage error) too
    tol = float(np.max(i_tol)) + VOLTAGE_FLOOR * _largest_conductance(spec) * v_scale
    assert np.allclose(sol.cell_currents.sum(axis=1), np.where(fw, 0.0, sol.driver_currents), rtol=0, atol=tol)
    assert np.allclose(sol.cell_currents.sum(axis=0), np.where(fb, 0.0, sol.sense_currents), rtol=0, atol=tol)
    # power balance: what the sources deliver is dissipated
    delivered = float(np.sum(v * sol.driver_currents) - np.sum(v_bl * sol.sense_currents))
    assert abs(float(sol.power) - delivered) <= tol * v_scale * (m + n), f"{label}: power balance"
    assert float(sol.power) >= -tol * v_scale * (m + n)


@given(circuits())
def test_every_path_agrees_with_an_independent_nodal_solve(case):
    spec, v, v_bl = case
    try:
        node_v, i_term, wt, i_tol = _reference(spec, v, v_bl)
    except ref.ShortedTerminals:
        xb = build(spec)
        with pytest.raises(ValueError, match="short terminals"):
            xb.solve_bias(v, v_bl, spec.floating_wl, spec.floating_bl)
        return
    xb = build(spec)
    plain = spec.floating_wl is None and not np.any(v_bl)
    request = SolveRequest(Quantity.OPERATING_POINT, floating_lines=spec.floating_wl is not None,
                           biased_bit_lines=bool(np.any(v_bl)))
    note(f"default path: {xb.choose_path(request)}")
    for general in (False, True):
        sol = xb.solve_bias(v, v_bl, spec.floating_wl, spec.floating_bl, general=general)
        _check_operating_point(sol, spec, v, v_bl, node_v, i_term, i_tol, f"general={general}")
    if plain:
        read = xb.read(v)
        assert np.all(np.abs(read - i_term[spec.rows:]) <= i_tol[spec.rows:]), "read"
        t = xb.transfer_matrix()
        t_ref = wt[: spec.rows, spec.rows:]
        assert np.max(np.abs(t - t_ref)) <= TOL * max(float(np.max(t_ref)), 1e-300), "transfer matrix"
        batch = np.vstack([v, -v, np.ones_like(v)])
        assert np.all(np.abs(xb.read(batch)[0] - i_term[spec.rows:]) <= i_tol[spec.rows:]), "batched read"


@settings(max_examples=30)
@given(circuits())
def test_structured_recursion_is_exact_entry_by_entry_on_regular_arrays(case):
    """The structured path needs no subtraction: every entry of T, however small, to 1e-12 relative."""
    spec, _, _ = case
    spec.state[:] = ref.NORMAL
    spec.r_wl[~np.isfinite(spec.r_wl)] = 1.0
    spec.r_bl[~np.isfinite(spec.r_bl)] = 1.0
    spec.floating_wl = spec.floating_bl = None
    xb = build(spec)
    assert xb.choose_path(SolveRequest(Quantity.TRANSFER_MATRIX)).path is SolverPath.STRUCTURED
    m = spec.rows
    _, _, wt, _ = ref.solve(spec, np.zeros(m + spec.cols))
    t_ref = wt[:m, m:]
    t = xb.transfer_matrix()
    nonzero = t_ref > 0
    assert np.array_equal(t > 0, nonzero)
    assert np.all(np.abs(t[nonzero] - t_ref[nonzero]) <= 1e-12 * t_ref[nonzero])
