"""Linear ion drift, Stanford-PKU and data-driven models against closed forms and hand-written
equations; properties shared by all four models (bounds, bad input, seeds, per-cell waveforms)."""
import math

import numpy as np
import pytest

from cosim.devices import VTEAM, DataDriven, LinearIonDrift, Nonidealities, Normal, StanfordPKU, Uniform, compiled
from cosim.devices.stanford_pku import K_B, Q_E
from support import step_locked

ALL = [(VTEAM, "TEAM"), (VTEAM, "Pt/Hf/Ti"), (LinearIonDrift, "default"), (LinearIonDrift, "seed003"),
       (StanfordPKU, "default"), (DataDriven, "default")]


# ----------------------------------------------------------------------------- linear ion drift
def lid_closed_form(x0, v, t, r_on, r_off, k):
    """x(t) for window 'none' at constant v: R(x) dx = k v dt with R(x) = r_off - (r_off - r_on) x."""
    dr = r_off - r_on
    c = r_off * x0 - 0.5 * dr * x0 ** 2 + k * v * t
    return (r_off - np.sqrt(r_off ** 2 - 2 * dr * c)) / dr


def test_linear_ion_drift_matches_closed_form_without_window():
    p = dict(r_on=100.0, r_off=16e3, d=10e-9, mu_v=1e-14)
    k = p["mu_v"] * p["r_on"] / p["d"] ** 2           # 1/(A s), rate of x per ampere
    dev = LinearIonDrift.preset("default", n=2, window="none")
    dev.set_state([0.1 * p["d"], 0.5 * p["d"]])
    t_end, v = 0.05, 0.8
    dev.simulate(np.full(200, v), t_end / 200, method="adaptive", rtol=1e-7)
    exact = lid_closed_form(np.array([0.1, 0.5]), v, t_end, p["r_on"], p["r_off"], k)
    assert np.allclose(dev.state / p["d"], exact, rtol=1e-6)
    euler = LinearIonDrift.preset("default", n=2, window="none")
    euler.set_state([0.1 * p["d"], 0.5 * p["d"]])
    euler.simulate(np.full(4000, v), t_end / 4000)
    assert np.allclose(euler.state / p["d"], exact, rtol=5e-3)


def test_linear_ion_drift_biolek_leaves_the_on_bound_only_downwards():
    dev = LinearIonDrift.preset("default", n=1)          # starts at w = D (R_on), Biolek window
    dev.simulate(np.full(100, 1.0), 1e-4)
    assert dev.state[0] == 10e-9                          # positive current pushes up: held at D
    dev.simulate(np.full(100, -1.0), 1e-4)
    assert dev.state[0] < 10e-9                           # negative current moves it down
    r = 1 / dev.conductance()[0]
    x = dev.state[0] / 10e-9
    assert r == pytest.approx(100.0 * x + 16e3 * (1 - x), rel=1e-12)   # x = 1 is R_on


# ----------------------------------------------------------------------------- Stanford-PKU
def pku_reference_rate(v, g, p):
    """The Stanford-PKU gap velocity written out independently from MODELS.md §1.4."""
    i = p["i0"] * math.exp(-g / p["g0"]) * math.sinh(v / p["v0"])
    temp = p["t0"] + abs(v * i * p["r_th"])
    gamma = p["gamma0"] - p["beta"] * (g / 1e-9) ** 3
    if gamma * abs(v) / p["t_ox"] < p["f_min"]:
        gamma = 0.0
    return -p["nu0"] * math.exp(-Q_E * p["e_a"] / (K_B * temp)) * math.sinh(
        gamma * p["a0"] * Q_E * v / (p["t_ox"] * K_B * temp))


PKU = dict(g0=0.25e-9, v0=0.25, i0=1e-3, t0=298.0, r_th=2.1e3, gamma0=16.0, beta=0.8, t_ox=12e-9,
           f_min=1.4e9, nu0=10.0, e_a=0.6, a0=0.25e-9)


def test_stanford_pku_gap_bounds_reproduce_r_on_r_off_at_read():
    dev = StanfordPKU.preset(n=1)
    g_off, g_on = dev.conductance_bounds()
    assert g_on[0] == pytest.approx(1 / 542.0, rel=1e-12)
    assert g_off[0] == pytest.approx(1 / 218586.0, rel=1e-12)
    g_min, g_max = dev.state_bounds()
    assert g_min[0] == pytest.approx(0.25e-9 * math.log(1e-3 * math.sinh(0.4) * 542.0 / 0.1), rel=1e-14)
    assert 1.6e-9 < g_max[0] < 1.8e-9


@pytest.mark.parametrize("v, x", [(-1.5, 0.0), (-1.2, 0.5), (1.6, 1.0), (1.3, 0.6), (0.9, 0.5), (-1.0, 0.2)])
def test_stanford_pku_euler_step_matches_hand_written_rate(v, x):
    dev = StanfordPKU.preset(n=1)
    lo, hi = dev.state_bounds()
    g = lo[0] + x * (hi[0] - lo[0])
    dev.set_state(g)
    dt = 1e-12
    i = dev.step(v, dt)[0]
    assert i == pytest.approx(PKU["i0"] * math.exp(-g / PKU["g0"]) * math.sinh(v / PKU["v0"]), rel=1e-13)
    expected = min(max(g + dt * pku_reference_rate(v, g, PKU), lo[0]), hi[0])
    assert dev.state[0] == pytest.approx(expected, rel=1e-12, abs=1e-25)


def test_stanford_pku_no_gap_motion_below_field_threshold():
    dev = StanfordPKU.preset(n=50, rng=0)
    lo, hi = dev.state_bounds()
    dev.set_state(lo + np.linspace(0, 1, 50) * (hi - lo))
    before = dev.state
    v_min = 1.4e9 * 12e-9 / 16.0                          # smallest |V| that moves any gap (1.05 V)
    v = np.random.default_rng(1).uniform(-0.99 * v_min, 0.99 * v_min, (400, 50))
    dev.simulate(v, 1e-6)
    assert np.array_equal(dev.state, before)


def test_stanford_pku_noise_is_seeded_and_only_while_switching():
    runs = []
    for seed in (3, 3, 4):
        dev = StanfordPKU.preset(n=20, rng=seed, gap_noise=1e-5)
        dev.simulate(np.full(200, -1.3), 1e-11)
        runs.append(dev.state)
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    quiet = StanfordPKU.preset(n=20, rng=3, gap_noise=1e-5)
    quiet.simulate(np.full(200, -0.5), 1e-11)
    assert np.array_equal(quiet.state, quiet.state_bounds()[0])
    with pytest.raises(ValueError, match="adaptive"):
        quiet.simulate(np.full(5, -0.5), 1e-11, method="adaptive")


# ----------------------------------------------------------------------------- data-driven
DD = dict(a_p_rate=600.10075, a_n_rate=-34.5988399, t_p=-0.0212028, t_n=-0.05343997, r_p0=2699.2336,
          r_p1=-672.930205, r_n0=649.413746, r_n1=-1474.32358, a=0.32046175, b=2.71689828)


def dd_closed_form(r0, v, t):
    """R(t) at constant v > 0 from r0 > r_p(v): dR/dt = s (r - R)^2  =>  r - R = (r - r0)/(1 + s (r - r0) t)."""
    s = DD["a_p_rate"] * (math.exp(abs(v) / DD["t_p"]) - 1)
    r = DD["r_p0"] + DD["r_p1"] * v
    return r - (r - r0) / (1 + s * (r - r0) * t)


def test_data_driven_exact_step_is_exact_for_any_dt():
    v, t_end = 0.9, 2e-5
    one = DataDriven.preset(n=1)
    one.set_state(3000.0)
    one.simulate(np.array([v]), t_end)
    many = DataDriven.preset(n=1)
    many.set_state(3000.0)
    many.simulate(np.full(1000, v), t_end / 1000)
    exact = dd_closed_form(3000.0, v, t_end)
    assert one.state[0] == pytest.approx(exact, rel=1e-12)
    assert many.state[0] == pytest.approx(exact, rel=1e-11)
    assert 2100 < exact < 2900                           # really moved, not saturated


def test_data_driven_stops_at_the_absolute_threshold():
    dev = DataDriven.preset(n=3)
    dev.set_state([3000.0, 2500.0, 1600.0])
    dev.simulate(np.array([1.0]), 1e3)                   # a huge step: R -> r_p(1 V), never below it
    r_p = DD["r_p0"] + DD["r_p1"] * 1.0
    assert dev.state[0] == pytest.approx(r_p, rel=1e-6) and dev.state[0] >= r_p
    assert dev.state[1] == pytest.approx(r_p, rel=1e-6)
    assert dev.state[2] == 1600.0                         # already below r_p(1 V): no SET motion
    dev.set_state(1700.0)
    dev.simulate(np.array([-0.5]), 1.0)                  # r_n(-0.5) = 1386 < R: no RESET motion
    assert np.all(dev.state == 1700.0)
    dev.simulate(np.array([-1.2]), 1e3)                  # r_n(-1.2) = 2419: R rises to it
    assert dev.state[0] == pytest.approx(DD["r_n0"] + DD["r_n1"] * -1.2, rel=1e-6)


def test_data_driven_current_law():
    dev = DataDriven.preset(n=1)
    dev.set_state(2000.0)
    for v in (-1.0, -0.1, 0.0, 0.3, 1.2):
        assert dev.current(v)[0] == pytest.approx(DD["a"] * math.sinh(DD["b"] * v) / 2000.0, rel=1e-14, abs=0)


# ----------------------------------------------------------------------------- all models
@pytest.mark.parametrize("model, preset", ALL)
def test_state_within_bounds_for_wild_waveforms(model, preset):
    rng = np.random.default_rng(9)
    dev = model.preset(preset, n=12, rng=0)
    lo, hi = dev.state_bounds()
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    with np.errstate(over="ignore"):
        for dt in (1e-12, 1e-3, 1e6):
            dev.simulate(rng.uniform(-20, 20, (100, 12)), dt)
            s = dev.state
            assert np.all(np.isfinite(s)) and np.all((s >= lo) & (s <= hi))


@pytest.mark.parametrize("model, preset", ALL)
def test_set_conductance_round_trip_and_bounds(model, preset):
    dev = model.preset(preset, n=5, rng=0)
    g_off, g_on = dev.conductance_bounds()
    target = g_off + np.linspace(0, 1, 5) * (g_on - g_off)
    dev.set_conductance(target)
    assert np.allclose(dev.conductance(), target, rtol=1e-10)
    fresh = model.preset(preset, n=5, rng=0)
    assert np.allclose(fresh.conductance(), g_on, rtol=1e-12)     # starts at the low-resistance bound


@pytest.mark.parametrize("model, preset", ALL)
def test_per_cell_waveform_equals_separate_runs(model, preset):
    n, dt = 3, model.PRESETS[preset].dt * 50
    t = np.linspace(0, 4 * np.pi, 400)
    waves = np.stack([1.5 * np.sin(t), 1.2 * np.sin(1.5 * t), -1.7 * np.sin(t)], axis=1)
    together = model.preset(preset, n=n).simulate(waves, dt)
    for c in range(n):
        alone = model.preset(preset, n=1).simulate(waves[:, c], dt)[:, 0]
        assert np.allclose(together[:, c], alone, rtol=1e-12, atol=0)


@pytest.mark.parametrize("model, preset", ALL)
def test_same_seed_same_cells(model, preset):
    field = "r_on"
    dist = Normal(model.PRESETS[preset].r_on, 0.05 * model.PRESETS[preset].r_on, low=1.0)
    a = model.preset(preset, n=50, rng=7, **{field: dist})
    b = model.preset(preset, n=50, rng=np.random.default_rng(7), **{field: dist})
    c = model.preset(preset, n=50, rng=8, **{field: dist})
    assert np.array_equal(a.cell_params[field], b.cell_params[field])
    assert not np.array_equal(a.cell_params[field], c.cell_params[field])
    # r_on is the first per-cell field: it takes the first n draws of the Generator.
    assert np.array_equal(a.cell_params[field], dist.sample(50, 7))


@pytest.mark.parametrize("model", [LinearIonDrift, StanfordPKU, DataDriven])
def test_unknown_preset_and_parameter_name_them(model):
    with pytest.raises(ValueError, match=f"unknown {model.__name__} preset 'nope'; known: "):
        model.preset("nope")
    with pytest.raises(ValueError, match=r"unknown .* parameter\(s\) \['bogus'\]"):
        model.preset(bogus=1.0)
    dev = model.preset(n=2)
    before = dev.state
    with pytest.raises(ValueError, match="dt must be"):
        dev.simulate(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="v must not be NaN"):
        dev.simulate(np.array([0.0, np.nan]))
    assert np.array_equal(dev.state, before)


@pytest.mark.parametrize("make, msg", [
    (lambda: LinearIonDrift.preset(d=0.0), "d must be > 0"),
    (lambda: StanfordPKU.preset(r_on=1.0), "r_on must be > V_read"),
    (lambda: DataDriven.preset(r_off=1000.0), "r_off must be > r_on"),
    (lambda: DataDriven.preset(a_p_rate=-600.0), "a_p_rate must be of the sign"),
])
def test_model_specific_parameter_checks(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


# ----------------------------------------------------------------------------- compiled kernels
KERNEL_CASES = [
    (LinearIonDrift, dict(), 1.0, 1.0),
    (LinearIonDrift, dict(window="joglekar", p=2.0), 1.0, 1.0),
    (LinearIonDrift, dict(name="seed003", window="prodromakis", p=Normal(2.0, 0.2, low=1.0), j=1.5), 1.0, 20.0),
    (LinearIonDrift, dict(window="none"), 1.0, 5.0),
    (StanfordPKU, dict(), 1.6, 1e6),
    (StanfordPKU, dict(r_off=Normal(218586.0, 2e4, low=1e5), gamma0=Normal(16, 0.5, low=14)), 1.5, 1e6),
    (DataDriven, dict(), 1.5, 10e3),
    (DataDriven, dict(r_on=Normal(1600, 50, low=1400), t_p=Normal(-0.0212028, 0.001, high=-0.01)), 1.4, 10e3),
]


def kernel_device(model, kw, nonideal, c2c):
    """24 cells at mid-range states."""
    dev = model.preset(kw.get("name"), n=24, rng=5, nonideal=nonideal, c2c=c2c,
                       **{k: v for k, v in kw.items() if k != "name"})
    lo, hi = dev.state_bounds()
    dev.set_state(lo + np.random.default_rng(1).uniform(0.1, 0.9, 24) * (hi - lo))
    return dev


def kernel_drive(amplitude, frequency):
    """1.25 periods of a sine (ends on a peak, not back at the start), 0.85..1 x per cell: (v, dt)."""
    t = np.arange(1600) / 1280 / frequency
    return amplitude * np.sin(2 * np.pi * frequency * t)[:, None] * np.linspace(0.85, 1.0, 24), t[1]


def kernel_run(model, kw, amplitude, frequency, nonideal, c2c, engine, stepwise=False):
    """Run 24 cells from mid-range states for 1.25 periods; (currents, device, initial state)."""
    dev = kernel_device(model, kw, nonideal, c2c)
    start = dev.state
    v, dt = kernel_drive(amplitude, frequency)
    if stepwise:
        return np.array([dev.step(row, dt) for row in v]), dev, start
    return dev.simulate(v, dt, engine=engine), dev, start


@pytest.mark.skipif(not compiled.available("DataDriven"), reason="Cython kernel not built")
@pytest.mark.parametrize("model, kw, amplitude, frequency", KERNEL_CASES)
@pytest.mark.parametrize("extra", ["plain", "nonideal", "c2c"])
def test_compiled_kernel_agrees_with_numpy_reference(model, kw, amplitude, frequency, extra):
    nonideal = Nonidealities(levels=9, stuck_on=0.1, stuck_off=0.1, failed_to_form=0.1) if extra == "nonideal" else None
    c2c = {"r_off": Uniform(0.9, 1.1), "r_on": Uniform(0.95, 1.05)} if extra == "c2c" else None
    i_k, a, start = kernel_run(model, kw, amplitude, frequency, nonideal, c2c, "auto")
    i_n, b, _ = kernel_run(model, kw, amplitude, frequency, nonideal, c2c, "numpy")
    assert a._kernel_ready()
    # Whole trajectories (the kernel's K-sample loop carries the state): each step moves a cell by
    # < 25 % of its range and no run here is driven onto a locking window bound, so rounding differences
    # between the engines (exp/pow differ by an ulp across SIMD flavours) stay far below 1e-9.
    assert np.max(np.abs(i_k - i_n)) <= 1e-9 * np.abs(i_n).max()
    lo, hi = b.state_bounds()
    span = np.abs(hi - lo)
    assert np.max(np.abs(a.state - b.state) / span) <= 1e-9
    # One step from the same state: the engines agree to rounding.
    v, dt = kernel_drive(amplitude, frequency)
    j_k, j_n, worst = step_locked(kernel_device(model, kw, nonideal, c2c), kernel_device(model, kw, nonideal, c2c),
                                  v[::8], dt)
    assert worst <= 1e-12 and np.max(np.abs(j_k - j_n)) <= 1e-12 * np.abs(j_n).max()
    assert np.array_equal(a.cell_params["r_off"], b.cell_params["r_off"])     # same c2c redraws
    assert np.mean(np.abs(b.state - start) > 1e-3 * span) > 0.5                # the cells did switch
    if extra == "plain":                                                       # step() = one-sample kernel call
        i_s, c, _ = kernel_run(model, kw, amplitude, frequency, None, None, "auto", stepwise=True)
        assert np.max(np.abs(i_s - i_k)) <= 1e-12 * np.abs(i_k).max()
        assert np.array_equal(c.state, a.state)
