"""Sub-step accuracy of a co-simulated pulse: one HfOx VTEAM cell behind a series resistor against
scipy's solve_ivp of the same ODE at tight tolerance (the cell voltage from the divider in closed form)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from cosim import Crossbar
from cosim.devices import VTEAM
from cosim.sim.cosimulate import Bias, CosimConfig, co_simulate

P = VTEAM.PRESETS["HfOx"]
LAMBDA = np.log(P.r_off / P.r_on)
# (pulse amplitude V, series resistance ohm, starting state m, width s): a self-limiting SET from the HRS
# (the cell's share of the voltage falls as it switches) and a RESET from the LRS.
CASES = [(-2.0, 5e3, P.w_off, 100e-9), (1.6, 2e3, P.w_on, 200e-9)]


def resistance(w):
    return P.r_on * np.exp(LAMBDA * (w - P.w_on) / (P.w_off - P.w_on))


def rate(v_cell, w):
    """VTEAM dw/dt (no window), zero below threshold and at a bound pushed further into it."""
    if v_cell < P.v_on:
        d = P.k_on * (v_cell / P.v_on - 1.0) ** P.alpha_on
    elif v_cell > P.v_off:
        d = P.k_off * (v_cell / P.v_off - 1.0) ** P.alpha_off
    else:
        d = 0.0
    return 0.0 if (w <= P.w_on and d < 0) or (w >= P.w_off and d > 0) else d


def divider_rhs(v, r_series):
    def f(_t, y):
        w = min(max(y[0], P.w_on), P.w_off)
        r = resistance(w)
        return [rate(v * r / (r + r_series), w), v * v / (r + r_series)]
    return f


def reference(v, r_series, w0, width):
    """(final conductance S, pulse energy J) by LSODA at rtol 1e-11."""
    sol = solve_ivp(divider_rhs(v, r_series), (0.0, width), [w0, 0.0], method="LSODA", rtol=1e-11,
                    atol=[1e-22, 1e-25])
    return 1.0 / resistance(min(max(sol.y[0, -1], P.w_on), P.w_off)), sol.y[1, -1]


def first_order(v, r_series, w0, width, max_change):
    """The old sub-step written out: forward Euler with the voltage at the start, steps of at most
    ``max_change`` of the range, trapezoid energy."""
    f = divider_rhs(v, r_series)
    t, w, energy = 0.0, w0, 0.0
    while t < width:
        dw, p0 = f(t, [w, 0.0])
        dt = width - t if dw == 0 else min(width - t, max_change * (P.w_off - P.w_on) / abs(dw))
        w = min(max(w + dt * dw, P.w_on), P.w_off)
        energy += 0.5 * (p0 + f(t, [w, 0.0])[1]) * dt
        t += dt
    return 1.0 / resistance(w), energy


@pytest.mark.parametrize("v, r_series, w0, width", CASES)
def test_pulse_final_conductance_and_energy_match_solve_ivp(v, r_series, w0, width):
    g_ref, e_ref = reference(v, r_series, w0, width)
    g_start = 1.0 / resistance(w0)
    assert abs(g_ref - g_start) > 0.3 * g_start        # the pulse really switches the cell
    xb = Crossbar(1, 1, "1R", r_wl=0.0, r_bl=0.0, r_source=r_series)
    dev = VTEAM.preset("HfOx", n=1, rng=0)
    dev.set_state(np.array([w0]))
    out = co_simulate(xb, dev, Bias(np.array([v]), np.array([0.0])), width, CosimConfig())   # default budget
    assert dev.conductance(noisy=False)[0] == pytest.approx(g_ref, rel=5e-3)
    assert out.energy_j == pytest.approx(e_ref, rel=5e-3)
    # the first-order sub-step at the same budget misses that bound
    g_old, _ = first_order(v, r_series, w0, width, CosimConfig().max_change)
    assert abs(g_old - g_ref) > 5e-3 * g_ref


def test_accuracy_is_second_order_in_the_substep_budget():
    """Ten times the sub-steps, about a hundred times smaller error (first order would give ten)."""
    v, r_series, w0, width = CASES[0]
    g_ref, _ = reference(v, r_series, w0, width)
    errors = []
    for max_change in (0.02, 0.002):
        xb = Crossbar(1, 1, "1R", r_wl=0.0, r_bl=0.0, r_source=r_series)
        dev = VTEAM.preset("HfOx", n=1, rng=0)
        dev.set_state(np.array([w0]))
        co_simulate(xb, dev, Bias(np.array([v]), np.array([0.0])), width, CosimConfig(max_change=max_change))
        errors.append(abs(dev.conductance(noisy=False)[0] - g_ref) / g_ref)
    assert errors[0] / errors[1] > 30


def test_row_mode_pulse_matches_solve_ivp():
    """1T1R with its row selected (the single-row ladder path): the transistor is the series resistor."""
    v, r_series, w0, width = CASES[0]
    g_ref, e_ref = reference(v, r_series, w0, width)
    xb = Crossbar(1, 1, "1T1R", r_wl=0.0, r_bl=0.0, r_on_transistor=r_series)
    xb.select_rows(np.array([0]))
    dev = VTEAM.preset("HfOx", n=1, rng=0)
    dev.set_state(np.array([w0]))
    out = co_simulate(xb, dev, Bias(np.array([v]), np.array([0.0])), width, CosimConfig())
    assert dev.conductance(noisy=False)[0] == pytest.approx(g_ref, rel=5e-3)
    assert out.energy_j == pytest.approx(e_ref, rel=5e-3)
