"""A co-simulated pulse on the selected row of a 1T1R array with wires (cosim.sim.row_pulse) against scipy's
solve_ivp of the row's cells' ODE, the circuit solved at every evaluation by the independent dense nodal
reference (tests/nodal_reference.py) and the VTEAM law written out here."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import nodal_reference as ref
from cosim import Crossbar
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal
from cosim.sim.cosimulate import Bias, CosimConfig, co_simulate, stamp

P = VTEAM.PRESETS["HfOx"]
LAMBDA = np.log(P.r_off / P.r_on)
ROWS, COLS, ROW = 3, 5, 1
R_WL, R_BL, R_SOURCE, R_SENSE, R_ON = 4.0, 3.0, 20.0, 10.0, 500.0
W0 = P.w_on + (P.w_off - P.w_on) * np.array([[0.9, 0.3, 0.0, 0.6, 0.8]] * ROWS)   # the row's start states
V_WL, V_BL, WIDTH = -1.5, np.array([0.0, 0.2, 0.0, -1.5, 0.3]), 60e-9      # column 3: 0 V on the cell


def conductance(w):
    return 1.0 / (P.r_on * np.exp(LAMBDA * (np.clip(w, P.w_on, P.w_off) - P.w_on) / (P.w_off - P.w_on)))


def rate(v, w):
    """VTEAM dw/dt (no window), zero below threshold and at a bound pushed further into it."""
    d = np.where(v < P.v_on, P.k_on * np.clip(v / P.v_on - 1.0, 0, None) ** P.alpha_on,
                 np.where(v > P.v_off, P.k_off * np.clip(v / P.v_off - 1.0, 0, None) ** P.alpha_off, 0.0))
    return np.where(((w <= P.w_on) & (d < 0)) | ((w >= P.w_off) & (d > 0)), 0.0, d)


def row_circuit(g_row):
    """Cell voltages (V) and the power the sources deliver (W) of the selected row, by a dense KCL solve of
    its word-line nodes (each column: cell, transistor and the bit line below the row to its end)."""
    r_branch = 1.0 / g_row + R_ON + (ROWS - 1 - ROW) * R_BL + R_SENSE
    a = np.diag(1.0 / r_branch)
    b = V_BL / r_branch
    a[0, 0] += 1.0 / R_SOURCE
    b[0] += V_WL / R_SOURCE
    for j in range(COLS - 1):
        a[[j, j + 1], [j, j + 1]] += 1.0 / R_WL
        a[j, j + 1] -= 1.0 / R_WL
        a[j + 1, j] -= 1.0 / R_WL
    u = np.linalg.solve(a, b)
    i = (u - V_BL) / r_branch
    return i / g_row, V_WL * (V_WL - u[0]) / R_SOURCE - float(V_BL @ i)


def reference():
    """(final conductances of the row (S), pulse energy J) by RK45 at rtol 1e-9."""
    def f(_t, y):
        w = np.clip(y[:COLS], P.w_on, P.w_off)
        v_cell, power = row_circuit(conductance(w))
        return np.concatenate([rate(v_cell, w), [power]])
    sol = solve_ivp(f, (0.0, WIDTH), np.concatenate([W0[ROW], [0.0]]), method="RK45", rtol=1e-9,
                    atol=np.concatenate([np.full(COLS, 1e-21), [1e-24]]))
    return conductance(sol.y[:COLS, -1]), sol.y[COLS, -1]


def test_the_row_circuit_of_the_reference_is_the_netlist():
    """The dense row solve above against the whole netlist (tests/nodal_reference.py) at the start state."""
    g_row = conductance(W0[ROW])
    g = np.full((ROWS, COLS), 1e-4)
    g[ROW] = g_row
    spec = ref.Spec(ROWS, COLS, "1T1R", r_wl=np.full((ROWS, COLS - 1), R_WL), r_bl=np.full((ROWS - 1, COLS), R_BL),
                    r_source=np.full(ROWS, R_SOURCE), r_sense=np.full(COLS, R_SENSE), g=g,
                    state=np.zeros((ROWS, COLS), int), selected=np.arange(ROWS) == ROW, r_on=R_ON)
    v_wl = np.zeros(ROWS)
    v_wl[ROW] = V_WL
    terminals = np.concatenate([v_wl, V_BL])
    node_v, i_term, _, _ = ref.solve(spec, terminals)
    cells = ROW * COLS + np.arange(COLS)
    v_cell, power = row_circuit(g_row)
    np.testing.assert_allclose(v_cell, node_v[cells] - node_v[2 * ROWS * COLS + cells], rtol=1e-10, atol=1e-12)
    assert power == pytest.approx(-float(terminals @ i_term), rel=1e-10)


def pulse(device):
    xb = Crossbar(ROWS, COLS, "1T1R", r_wl=R_WL, r_bl=R_BL, r_source=R_SOURCE, r_sense=R_SENSE, r_on_transistor=R_ON)
    device.set_state(W0.ravel())
    stamp(xb, device)
    xb.select_rows([ROW])
    v_wl = np.zeros(ROWS)
    v_wl[ROW] = V_WL
    out = co_simulate(xb, device, Bias(v_wl, V_BL), WIDTH, CosimConfig())
    return xb, out


@pytest.mark.parametrize("c2c", [None, {"k_off": LogNormal(0.3, 1.0)}])
def test_row_pulse_matches_solve_ivp_of_the_row(c2c):
    """Cells SET by different amounts (one already at its LRS bound, one with 0 V across it); with c2c redraws of a
    RESET-only parameter the device is stepped through its validated subset methods, same physics."""
    g_ref, e_ref = reference()
    g_start = conductance(W0[ROW])
    moved = np.abs(g_ref / g_start - 1) > 0.2
    assert moved.sum() >= 3 and not moved[2] and not moved[3]     # the pulse really switches most cells
    dev = VTEAM.preset("HfOx", n=ROWS * COLS, rng=0, c2c=c2c)
    assert dev.deterministic == (c2c is None)
    dev.set_state(W0.ravel())
    g_before = dev.conductance(noisy=False).reshape(ROWS, COLS)
    xb, out = pulse(dev)
    g = dev.conductance(noisy=False).reshape(ROWS, COLS)
    np.testing.assert_allclose(g[ROW], g_ref, rtol=5e-3)
    assert out.energy_j == pytest.approx(e_ref, rel=5e-3)
    np.testing.assert_array_equal(g[[0, 2]], g_before[[0, 2]])                # the other rows did not move
    np.testing.assert_allclose(xb.conductances, g, rtol=1e-12)                # the circuit is re-stamped
