"""VTEAM: thresholds, bounds, the Pt/Hf/Ti hysteresis against forward Euler and closed forms, and
the compiled kernel against the numpy reference."""
import math

import numpy as np
import pytest

from cosim.devices import VTEAM, Nonidealities, Normal, Uniform
from cosim.devices import compiled
from support import step_locked

PT = dict(r_on=100.0, r_off=2.5e3, v_on=-0.53, v_off=0.5, k_on=-80.0, k_off=4.03e-8, a_on=3.0, a_off=1.0,
          w_off=10e-9)


def euler_pt_hf_ti(dt, t_end=2.0):
    """Independent forward Euler of the Pt/Hf/Ti set under V = sin(pi t): states at k*dt."""
    p = PT
    steps = int(round(t_end / dt))
    w, out = 0.0, np.empty(steps + 1)
    out[0] = w
    for k in range(steps):
        v = math.sin(math.pi * k * dt)
        if v > p["v_off"]:
            w += dt * p["k_off"] * (v / p["v_off"] - 1.0) ** p["a_off"]
        elif v < p["v_on"]:
            w += dt * p["k_on"] * (v / p["v_on"] - 1.0) ** p["a_on"]
        w = min(max(w, 0.0), p["w_off"])
        out[k + 1] = w
    return out


def state_from_current(v, i):
    """w (m) from the ohmic current of the linear Pt/Hf/Ti law, where |v| is large enough to invert."""
    r = v / i
    return (r - PT["r_on"]) / (PT["r_off"] - PT["r_on"]) * PT["w_off"]


def sine_run(dt, method="fixed", engine="auto"):
    dev = VTEAM.preset("Pt/Hf/Ti", n=1)
    t = np.arange(int(round(2.0 / dt))) * dt
    v = np.sin(np.pi * t)
    return t, v, dev.simulate(v, dt, method=method, engine=engine)[:, 0], dev


# ----------------------------------------------------------------------------- hysteresis
def test_pt_hf_ti_pinched_hysteresis_loop():
    t, v, i, _ = sine_run(1e-4)
    zero = np.isclose(v, 0.0, atol=1e-12)
    assert zero.sum() == 2                                   # t = 0 and t = 1 s (sin(pi) ~ 1e-16)
    assert np.all(np.abs(i[zero]) < 1e-14)                   # pinched: I = 0 where V = 0
    area = abs(np.sum(0.5 * (i[1:] + i[:-1]) * np.diff(v)))  # loop area, A*V
    assert area > 1e-4
    # Rising and falling branches at the same V differ: 0.8 V at t = 0.295 s and t = 0.705 s.
    up, down = np.argmin(np.abs(t - 0.2952)), np.argmin(np.abs(t - 0.7048))
    assert v[up] == pytest.approx(v[down], abs=1e-3) and i[up] > 1.5 * i[down]


def test_pt_hf_ti_matches_independent_euler_at_10x_finer_step():
    dt = 1e-4
    ref = euler_pt_hf_ti(dt / 10)[::10][:-1]                 # reference state at the coarse samples
    t, v, i, _ = sine_run(dt)
    ok = np.abs(v) > 0.05
    w = state_from_current(v[ok], i[ok])
    err = np.abs(w - ref[ok]) / PT["w_off"]
    assert err.mean() < 1e-3                                 # the whole trajectory
    reset_phase = ok & (t < 1.0)                             # smooth RESET: Euler error O(dt)
    assert np.max(np.abs(state_from_current(v[reset_phase], i[reset_phase]) - ref[reset_phase])) < 2e-3 * PT["w_off"]
    # The fast SET transition happens at the same time to within 2 coarse steps (w crosses D/2).
    t_ref = t[ok][np.argmax((ref[ok] < 0.5 * PT["w_off"]) & (t[ok] > 1.0))]
    t_sim = t[ok][np.argmax((w < 0.5 * PT["w_off"]) & (t[ok] > 1.0))]
    assert abs(t_ref - t_sim) <= 2 * dt


def test_fixed_step_is_forward_euler_exactly():
    dt = 1e-3
    ref = euler_pt_hf_ti(dt)[:-1]
    t, v, i, _ = sine_run(dt, engine="numpy")
    ok = np.abs(v) > 0.05
    assert np.allclose(state_from_current(v[ok], i[ok]), ref[ok], rtol=0, atol=1e-12 * PT["w_off"])


def reset_closed_form(t):
    """w(t) during the first RESET of V = sin(pi t) before saturation (alpha_off = 1, no window)."""
    t1 = math.asin(PT["v_off"]) / math.pi
    return PT["k_off"] * ((math.cos(math.pi * t1) - np.cos(math.pi * t)) / (math.pi * PT["v_off"]) - (t - t1))


def test_adaptive_step_matches_closed_form_reset():
    dt = 1e-2                                                # 100x coarser than the Euler test
    t, v, i, dev = sine_run(dt, method="adaptive")
    window = (t > 0.2) & (t < 0.45)                          # RESET, before w reaches w_off
    w = state_from_current(v[window], i[window])
    exact = reset_closed_form(t[window])
    assert np.max(np.abs(w - exact)) < 2e-4 * PT["w_off"]
    assert dev.state[0] == 0.0                               # ends SET again


def test_adaptive_substeps_end_on_threshold_crossings():
    # One interval of a ramp 0 -> 1 V crossing v_off = 0.5 V mid-way: held fixed it does nothing;
    # the exact integral of k_off (v/v_off - 1) over the part above threshold is k_off dt / 4.
    dev = VTEAM.preset("Pt/Hf/Ti", n=1)
    dt = 1e-3
    dev.simulate(np.array([0.0, 1.0]), dt, method="adaptive")
    # second interval holds 1 V: adds k_off (1/0.5 - 1) dt
    expected = PT["k_off"] * dt / 4 + PT["k_off"] * dt
    assert dev.state[0] == pytest.approx(expected, rel=1e-9)
    fixed = VTEAM.preset("Pt/Hf/Ti", n=1)
    fixed.simulate(np.array([0.0, 1.0]), dt)
    assert fixed.state[0] == pytest.approx(PT["k_off"] * dt, rel=1e-12)


# ----------------------------------------------------------------------------- thresholds and bounds
def test_no_state_change_below_threshold():
    rng = np.random.default_rng(5)
    dev = VTEAM.preset("Pt/Hf/Ti", n=64, rng=1, v_on=Uniform(-0.6, -0.4), v_off=Uniform(0.4, 0.6))
    dev.set_state(rng.uniform(0, 10e-9, 64))
    before = dev.state
    c = dev.cell_params
    frac = rng.uniform(0, 1, (500, 64))
    v = np.where(rng.random((500, 64)) < 0.5, frac * c["v_on"], frac * c["v_off"])  # inside each cell's band
    for engine in ("auto", "numpy"):
        dev.simulate(v, 1.0, engine=engine)
        assert np.array_equal(dev.state, before)
    dev.simulate(v[:20], 1.0, method="adaptive")
    assert np.array_equal(dev.state, before)


@pytest.mark.parametrize("window", ["none", "joglekar", "biolek", "prodromakis"])
@pytest.mark.parametrize("r_model", ["linear", "exponential"])
def test_state_stays_within_bounds_under_huge_steps(window, r_model):
    rng = np.random.default_rng(3)
    v = rng.uniform(-50, 50, (300, 16))
    for preset in ("TEAM", "Pt/Hf/Ti"):
        for engine in ("auto", "numpy"):
            dev = VTEAM.preset(preset, n=16, rng=0, window=window, r_model=r_model, p=2.0)
            for dt in (1e3, 1e-9):
                i = dev.simulate(v, dt, engine=engine)
                w = dev.state
                assert np.all(np.isfinite(i))
                assert np.all((w >= 0.0) & (w <= dev.cell_params["w_off"]))


def test_resistance_laws_and_bounds():
    dev = VTEAM.preset("Pt/Hf/Ti", n=3, r_model="linear")
    dev.set_state([0.0, 5e-9, 10e-9])
    assert np.allclose(dev.resistance(), [100.0, 1300.0, 2500.0], rtol=1e-14)
    exp_dev = VTEAM.preset("Pt/Hf/Ti", n=3, r_model="exponential")
    exp_dev.set_state([0.0, 5e-9, 10e-9])
    assert np.allclose(exp_dev.resistance(), [100.0, 100.0 * 25 ** 0.5, 2500.0], rtol=1e-14)
    g_off, g_on = dev.conductance_bounds()
    assert np.allclose(g_off, 1 / 2500.0) and np.allclose(g_on, 1 / 100.0)
    assert np.allclose(dev.current(0.3), 0.3 / np.array([100.0, 1300.0, 2500.0]), rtol=1e-14)


def test_initial_state_is_low_resistance_bound():
    dev = VTEAM.preset("TEAM", n=5, rng=0, r_on=Normal(50, 5, low=1))
    assert np.array_equal(dev.state, np.zeros(5))
    assert np.allclose(dev.conductance(), 1 / dev.cell_params["r_on"], rtol=1e-14)


def test_set_conductance_round_trip():
    for r_model in ("linear", "exponential"):
        dev = VTEAM.preset("Pt/Hf/Ti", n=4, rng=0, r_model=r_model, r_off=Normal(2500, 100, low=1000))
        g_off, g_on = dev.conductance_bounds()
        target = g_off + np.array([0.0, 0.2, 0.7, 1.0]) * (g_on - g_off)
        dev.set_conductance(target)
        assert np.allclose(dev.conductance(), target, rtol=1e-12)


# ----------------------------------------------------------------------------- kernel vs reference
def kernel_pair(**kw):
    """Two identical arrays, started inside the state range (Joglekar/Prodromakis lock at the bounds)."""
    a, b = VTEAM.preset(**kw), VTEAM.preset(**kw)
    w_on, w_off = a.state_bounds()
    x = np.random.default_rng(0).uniform(0.1, 0.9, a.n)
    for dev in (a, b):
        dev.set_state(w_on + x * (w_off - w_on))
    return a, b


KERNEL_CONFIGS = [
    dict(name="Pt/Hf/Ti"),
    dict(name="TEAM", r_model="exponential", window="joglekar", p=2.0),
    dict(name="TEAM", window="biolek", r_on=Normal(50, 10, low=5), r_off=Normal(1000, 50, low=200)),
    dict(name="Pt/Hf/Ti", window="prodromakis", p=Uniform(1, 3), j=Uniform(0.5, 1.5), alpha_off=Uniform(1, 2)),
    dict(name="Pt/Hf/Ti", nonideal=Nonidealities(levels=7, stuck_on=0.1, stuck_off=0.1, failed_to_form=0.1)),
    dict(name="Pt/Hf/Ti", nonideal=Nonidealities(levels=4, level_spacing="R", failed_to_form=0.2, r_unformed=1e6)),
    dict(name="Pt/Hf/Ti", c2c={"r_off": Normal(1, 0.1, low=0.5), "v_on": Uniform(0.9, 1.1)},
         r_on=Normal(100, 10, low=10)),
]


def sine_drive(n, steps, per_cell_v):
    """1.2 V sine, three periods over ``steps`` samples; per cell scaled 0.8..1.2 if ``per_cell_v``."""
    amp = 1.2 * np.sin(2 * np.pi * np.arange(steps) / steps * 3.0)
    return amp[:, None] * np.linspace(0.8, 1.2, n) if per_cell_v else amp


def assert_switched(v, i):
    """The run really switched: the conductance I/V varied by > 1 % in most cells."""
    vv = np.broadcast_to(v if v.ndim == 2 else v[:, None], i.shape)
    g = np.where(np.abs(vv) > 0.3, i / np.where(vv == 0, 1.0, vv), np.nan)
    assert np.mean((np.nanmax(g, axis=0) - np.nanmin(g, axis=0)) > 0.01 * np.nanmax(g, axis=0)) > 0.5


# Step-locked (see support.step_locked): with these huge steps a window that locks at a bound (Joglekar,
# Prodromakis: f = 0 there) turns a 1-ulp exp/pow difference into "clipped onto the bound and frozen"
# versus "one ulp short and still moving", and whole trajectories then part by 1e-7 of the range.
@pytest.mark.skipif(not compiled.available("VTEAM"), reason="Cython kernel not built")
@pytest.mark.parametrize("config", KERNEL_CONFIGS)
@pytest.mark.parametrize("per_cell_v", [False, True])
def test_kernel_step_agrees_with_numpy_reference(config, per_cell_v):
    n, steps = 40, 500
    a, b = kernel_pair(n=n, rng=11, **config)
    dt = a.params.dt * (200 if a.params.window == "none" else 20)
    v = sine_drive(n, steps, per_cell_v)
    i_k, i_n, worst_state = step_locked(a, b, v, dt)
    assert worst_state <= 1e-12                  # one step: a few ulps of the state range
    assert np.max(np.abs(i_k - i_n)) <= 1e-12 * np.abs(i_n).max()
    assert np.array_equal(a.cell_params["r_off"], b.cell_params["r_off"])   # same c2c draws
    assert_switched(v, i_n)


# Whole trajectories in one kernel call (the K-sample loop carries the state), with a step small enough
# that the Euler map contracts towards the window's bounds (each step moves the state by <= 5 % of its
# range): rounding differences then stay at rounding level instead of being amplified by a lock.
@pytest.mark.skipif(not compiled.available("VTEAM"), reason="Cython kernel not built")
@pytest.mark.parametrize("config", KERNEL_CONFIGS)
def test_kernel_trajectory_agrees_with_numpy_reference(config):
    n, steps = 40, 1500
    a, b = kernel_pair(n=n, rng=11, **config)
    v = sine_drive(n, steps, per_cell_v=True)
    span = a.cell_params["w_off"] - a.cell_params["w_on"]
    fastest = max(np.max(np.abs(b.rate(row)) / span) for row in v[::10])
    dt = 0.05 / fastest
    i_k, i_n, worst_state = [], [], 0.0
    for chunk in np.split(v, 10):               # 150 samples per kernel call; states compared between
        i_k.append(a.simulate(chunk, dt))
        i_n.append(b.simulate(chunk, dt, engine="numpy"))
        worst_state = max(worst_state, np.max(np.abs(a.state - b.state) / span))
    i_k, i_n = np.concatenate(i_k), np.concatenate(i_n)
    assert worst_state <= 1e-9
    assert np.max(np.abs(i_k - i_n)) <= 1e-9 * np.abs(i_n).max()
    assert np.array_equal(a.cell_params["r_off"], b.cell_params["r_off"])   # same c2c draws
    assert_switched(v, i_n)


@pytest.mark.skipif(not compiled.available("VTEAM"), reason="Cython kernel not built")
def test_advance_equals_simulate_state():
    a, b = kernel_pair(name="Pt/Hf/Ti", n=10, rng=2)
    v = np.sin(np.linspace(0, 6 * np.pi, 5000)) * 0.9
    a.advance(v, 1e-3)
    b.simulate(v, 1e-3)
    assert np.array_equal(a.state, b.state)


@pytest.mark.skipif(not compiled.available("VTEAM"), reason="Cython kernel not built")
def test_step_by_step_kernel_matches_reference():
    kw = dict(name="Pt/Hf/Ti", n=30, rng=4, c2c={"r_on": Uniform(0.9, 1.1)},
              nonideal=Nonidealities(levels=8, stuck_off=0.1), r_off=Normal(2500, 200, low=1000))
    a, b = VTEAM.preset(**kw), VTEAM.preset(**kw)
    v = 1.3 * np.sin(np.linspace(0, 6 * np.pi, 600))[:, None] * np.linspace(0.9, 1.1, 30)
    i_step = np.array([a.step(row, 2e-3) for row in v])
    i_ref = b.simulate(v, 2e-3, engine="numpy")
    assert np.max(np.abs(i_step - i_ref)) <= 1e-12 * np.abs(i_ref).max()
    assert np.max(np.abs(a.state - b.state)) <= 1e-12 * 10e-9
    assert np.array_equal(a.cell_params["r_on"], b.cell_params["r_on"])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, msg", [
    (lambda d: d.simulate(np.ones((10, 3)), 1e-6), r"v must have shape \(steps,\) or \(steps, 4\)"),
    (lambda d: d.simulate(np.ones(10), -1e-6), "dt must be a finite number > 0"),
    (lambda d: d.simulate(np.ones(10), 0.0), "dt must be"),
    (lambda d: d.simulate(np.array([0.1, np.nan]), 1e-6), "v must not be NaN"),
    (lambda d: d.simulate(np.array([0.1, np.inf]), 1e-6), "v must be finite"),
    (lambda d: d.simulate(np.ones(10), float("nan")), "dt must be"),
    (lambda d: d.simulate(np.ones(10), 1e-6, method="rk4"), "method must be"),
    (lambda d: d.step(np.ones(3), 1e-6), r"v_cells must be a scalar or have shape \(4,\)"),
    (lambda d: d.step(np.ones(4), -1.0), "dt must be"),
    (lambda d: d.step(np.array([1, 2, np.inf, 0]), 1e-6), "v_cells must be finite"),
    (lambda d: d.set_state(np.full(4, 1.0)), "state w must be within"),
    (lambda d: d.set_state(np.ones(5)), r"w must be a scalar or have shape \(4,\)"),
    (lambda d: d.set_conductance(np.full(4, 1.0)), "g must be within"),
    (lambda d: d.current(np.ones(2)), r"v must be a scalar or have shape \(4,\)"),
])
def test_bad_input_raises_and_leaves_state_unchanged(call, msg):
    dev = VTEAM.preset("Pt/Hf/Ti", n=4, rng=0)
    dev.simulate(np.full(50, 1.0), 1e-3)
    before = dev.state
    with pytest.raises(ValueError, match=msg):
        call(dev)
    assert np.array_equal(dev.state, before)


@pytest.mark.parametrize("make, msg", [
    (lambda: VTEAM.preset("Pt/Hf/Tx"), r"unknown VTEAM preset 'Pt/Hf/Tx'; known: TEAM, Pt/Hf/Ti"),
    (lambda: VTEAM.preset("TEAM", r_onn=5.0), r"unknown VTEAM parameter\(s\) \['r_onn'\]"),
    (lambda: VTEAM.preset("TEAM", r_on=-5.0), "VTEAM parameter r_on must be > 0"),
    (lambda: VTEAM.preset("TEAM", v_on=0.3), "VTEAM parameter v_on must be < 0"),
    (lambda: VTEAM.preset("TEAM", n=4, rng=0, r_on=Normal(5, 100)), "r_on must be > 0; .* cells"),
    (lambda: VTEAM.preset("TEAM", w_off=-1.0), "w_off must be > w_on"),
    (lambda: VTEAM.preset("TEAM", r_on=np.ones(3), n=4), r"VTEAMParams.r_on must be a scalar or have shape \(4,\)"),
    (lambda: VTEAM.preset("TEAM", r_on=float("nan")), "VTEAMParams.r_on must not be NaN"),
    (lambda: VTEAM.preset("TEAM", r_model="cubic"), "r_model must be one of"),
    (lambda: VTEAM.preset("TEAM", window="hann"), "window must be one of"),
    (lambda: VTEAM.preset("TEAM", n=0), "n .* must be a positive integer"),
    (lambda: VTEAM.preset("TEAM", c2c={"r_offf": Normal(1, 0.1, low=0.5)}), "c2c: unknown"),
    (lambda: VTEAM.preset("TEAM", c2c={"r_off": Normal(1, 0.1)}), "positive factors"),
])
def test_bad_construction_raises_naming_it(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_rate_is_the_euler_increment_and_zero_for_frozen_cells():
    dev = VTEAM.preset("Pt/Hf/Ti", n=6, rng=0, nonideal=Nonidealities(stuck_off=1 / 6))
    dev.set_state(np.full(6, 5e-9))
    v = np.array([0.8, 1.2, 0.2, -0.6, -0.55, 1.0])
    rate = dev.rate(v)
    before = dev.state
    dev.step(v, 1e-6)
    assert np.allclose(dev.state - before, 1e-6 * rate, rtol=1e-9, atol=1e-30)   # cancellation: 1e-9
    assert rate[dev.faults.stuck_off].tolist() == [0.0] and rate[2] == 0.0
    exact = 4.03e-8 * (1.2 / 0.5 - 1)
    assert rate[1] == pytest.approx(exact, rel=1e-14)


def test_subset_methods_match_whole_array_methods():
    """conductance_of / rate_of / step_of on a subset equal the whole-array methods on those cells."""
    from cosim.devices import Nonidealities, Uniform

    a = VTEAM.preset("Pt/Hf/Ti", n=12, rng=4, c2c={"r_off": Uniform(0.9, 1.1)},
                     nonideal=Nonidealities(levels=8, stuck_on=0.1, failed_to_form=0.1))
    b = VTEAM.preset("Pt/Hf/Ti", n=12, rng=4, c2c={"r_off": Uniform(0.9, 1.1)},
                     nonideal=Nonidealities(levels=8, stuck_on=0.1, failed_to_form=0.1))
    cells = np.array([1, 4, 5, 9])
    v_all = np.zeros(12)
    v_all[cells] = [0.9, -0.7, 0.6, 1.2]
    assert np.array_equal(a.conductance_of(cells), a.conductance(noisy=False)[cells])
    assert np.array_equal(a.rate_of(cells, v_all[cells]), a.rate(v_all)[cells])
    a.step_of(cells, v_all[cells], 1e-3)
    b.step(v_all, 1e-3)
    assert np.allclose(a.state, b.state, rtol=1e-12, atol=0)
