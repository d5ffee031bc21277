"""Pulse-device protocol implementations against closed forms, and the analog-SGD path (issue 13)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from cosim.devices import VTEAM, LinearIonDrift
from cosim.nn import DeviceOptimizer
from cosim.nn.analog import AnalogLinear
from cosim.nn.data import accuracy, digits_split, torch_threads
from cosim.nn.ode_pulse import FixedPulse, FixedPulseCells
from cosim.nn.pairs import PairRule, Readout
from cosim.nn.pulse_devices import LinearStepCells, LinearStepParams, Polarity
from support import one_torch_thread  # noqa: F401  (fixture)


def linear_step_reference(x0: float, n: int, step: float, gamma: float, up: bool) -> float:
    """aihwkit's step rule written out pulse by pulse, clipped to [0, 1] after every pulse."""
    x = x0
    for _ in range(n):
        x = min(1.0, x + step * (1 - gamma * x)) if up else max(0.0, x - step * (1 - gamma * (1 - x)))
    return x


@pytest.mark.parametrize("gamma", [0.0, 0.4, 1.0])
def test_linear_step_cells_follow_the_pulse_by_pulse_rule(gamma):
    p = LinearStepParams(g_min=1e-6, g_max=1e-4, dg=3e-6, gamma_up=gamma, gamma_down=gamma)
    cells = LinearStepCells((5,), p, dtype=torch.float64)
    counts = torch.tensor([0, 1, 7, 40, 400])
    step = p.dg / (p.g_max - p.g_min)
    cells.apply_pulses(counts, Polarity.SET)
    up = [linear_step_reference(0.5, int(n), step, gamma, True) for n in counts]
    assert np.allclose((cells.conductance().numpy() - p.g_min) / (p.g_max - p.g_min), up, rtol=1e-10, atol=1e-13)
    down_counts = torch.tensor([3, 0, 50, 2, 1000])
    cells.apply_pulses(down_counts, Polarity.RESET)
    down = [linear_step_reference(x, int(n), step, gamma, False) for x, n in zip(up, down_counts)]
    assert np.allclose((cells.conductance().numpy() - p.g_min) / (p.g_max - p.g_min), down, rtol=1e-10, atol=1e-13)


def test_soft_bounds_approach_the_bound_geometrically():
    p = LinearStepParams.soft_bounds(g_min=0.0 + 1e-9, g_max=1e-4, dg=1e-6)
    cells = LinearStepCells((1,), p, dtype=torch.float64)
    cells.apply_pulses(torch.tensor([200]), Polarity.SET)
    step = p.dg / (p.g_max - p.g_min)
    assert math.isclose(float(cells.x[0]), 1 - 0.5 * (1 - step) ** 200, rel_tol=1e-12)


def _team_cells(g_init=None):
    model = VTEAM.preset("TEAM", n=1, rng=0)      # no window, linear R(w): a constant rate above threshold
    return FixedPulseCells((3,), model, FixedPulse(-0.3, 1e-9), FixedPulse(0.05, 1e-9), g_init=g_init)


def test_fixed_pulse_vteam_matches_the_constant_rate_closed_form():
    """TEAM set (MODELS.md 1.2): above v_off, dw/dt = k_off (v/v_off - 1)^alpha_off, so each pulse moves
    w by the same amount and G_n = 1 / (R_on + (R_off - R_on) min(n dw / D, 1))."""
    r_on, r_off, d, k_off, v_off, alpha = 50.0, 1000.0, 3e-9, 5e-4, 0.02, 1.0
    dw = k_off * (0.05 / v_off - 1) ** alpha * 1e-9
    cells = _team_cells(g_init=1 / r_on)
    n = torch.tensor([1, 100, 3000])
    cells.apply_pulses(n, Polarity.RESET)
    expected = 1 / (r_on + (r_off - r_on) * np.minimum(n.numpy() * dw / d, 1.0))
    assert np.allclose(cells.conductance().numpy(), expected, rtol=1e-9)
    cells.apply_pulses(torch.tensor([0, 0, 5000]), Polarity.RESET)                  # saturates at R_off
    assert math.isclose(float(cells.conductance()[2]), 1 / r_off, rel_tol=1e-9)
    assert bool(cells.saturated(Polarity.RESET)[2]) and not bool(cells.saturated(Polarity.RESET)[0])


def test_fixed_pulse_set_step_is_the_ode_step():
    """SET at -0.3 V: k_on (v/v_on - 1)^alpha_on = -10 * 0.5^3 m/s for 1 ns moves w by -1.25 nm."""
    cells = _team_cells(g_init=1 / 1000.0)
    cells.apply_pulses(torch.tensor([1, 2, 3]), Polarity.SET)
    w = np.maximum(3e-9 - np.array([1, 2, 3]) * 1.25e-9, 0.0)
    assert np.allclose(cells.conductance().numpy(), 1 / (50 + 950 * w / 3e-9), rtol=1e-9)


def lid_closed_form(t: np.ndarray, x0: float, v: float, r_on=1000.0, r_off=2000.0, d=10e-9, mu=1e-14) -> np.ndarray:
    """Linear ion drift without a window under constant V (MODELS.md 1.1): dx/dt = mu R_on V / (D^2 R(x)),
    R(x) = R_off - (R_off - R_on) x, so R_off x - (R_off - R_on) x^2 / 2 grows linearly in time."""
    delta = r_off - r_on
    c = r_off * x0 - delta * x0 ** 2 / 2 + mu * r_on * v / d ** 2 * t
    x = np.clip((r_off - np.sqrt(np.maximum(r_off ** 2 - 2 * delta * c, 0.0))) / delta, 0.0, 1.0)
    return 1.0 / (r_on * x + r_off * (1 - x))


def test_fixed_pulse_linear_ion_drift_matches_the_constant_voltage_closed_form():
    model = LinearIonDrift.preset("seed003", n=1, rng=0, window="none")      # R_on 1 kohm, R_off 2 kohm, D 10 nm
    cells = FixedPulseCells((3,), model, FixedPulse(1.0, 0.1), FixedPulse(-1.0, 0.1), dt=1e-4, g_init=1 / 2000.0)
    n = np.array([10, 50, 100])
    cells.apply_pulses(torch.as_tensor(n), Polarity.SET)
    assert np.allclose(cells.conductance().numpy(), lid_closed_form(n * 0.1, 0.0, 1.0), rtol=2e-4)
    back = FixedPulseCells((2,), model, FixedPulse(1.0, 0.1), FixedPulse(-1.0, 0.1), dt=1e-4, g_init=1 / 1000.0)
    back.apply_pulses(torch.tensor([20, 60]), Polarity.RESET)
    assert np.allclose(back.conductance().numpy(), lid_closed_form(np.array([2.0, 6.0]), 1.0, -1.0), rtol=2e-4)


def test_fixed_pulse_rejects_a_pulse_below_threshold():
    model = VTEAM.preset("TEAM", n=1, rng=0)
    with pytest.raises(ValueError, match="set_pulse"):
        FixedPulseCells((2,), model, FixedPulse(-0.1, 1e-9), FixedPulse(0.05, 1e-9))   # |v| < |v_on| = 0.2 V
    with pytest.raises(ValueError, match="FixedPulse"):
        FixedPulse(0.0, 1e-9)


def test_analog_pair_update_moves_the_weight_by_whole_pulses():
    p = LinearStepParams.constant_step(g_min=1e-6, g_max=1e-4, dg=1e-6)
    layer = AnalogLinear(3, 2, LinearStepCells((2, 3, 2), p, dtype=torch.float64), g_unit=1e-4, init_pulses=0)
    assert torch.all(layer.weight == 0)
    delta = torch.tensor([[0.0304, -0.05, 0.0], [-0.001, 0.0199, 0.5]], dtype=torch.float64)
    counts = layer.apply_update(delta, lr_pulse=100.0)          # 100 pulses per unit W = g_unit / dg
    n = np.floor(100 * np.abs(delta.numpy()))
    assert np.array_equal(counts[..., 0].numpy(), np.where(delta.numpy() > 0, n, 0))   # SET on G+ raises W
    assert np.array_equal(counts[..., 1].numpy(), np.where(delta.numpy() < 0, n, 0))
    expected = np.sign(delta.numpy()) * np.minimum(n * 1e-6, 0.5 * 99e-6) / 1e-4        # G+ clips at g_max
    assert np.allclose(layer.weight.detach().numpy(), expected, rtol=1e-10, atol=1e-15)


def test_reset_rule_pulses_the_other_cell():
    rule = PairRule(Readout.DIFFERENCE, Polarity.RESET, g_unit=1e-4)
    assert rule.raising_cell == 1 and PairRule(Readout.DIFFERENCE, Polarity.SET).raising_cell == 0
    assert PairRule(Readout.LOG_RATIO, Polarity.RESET).raising_cell == 0


def test_analog_sgd_on_soft_bounds_learns_the_digits():
    """A 64-32-10 perceptron on constant-step pairs trained by Adam through DeviceOptimizer reaches
    within 6 points of the same network trained digitally with the same optimizer."""
    data = digits_split(seed=0)
    p = LinearStepParams.constant_step(g_min=1e-6, g_max=1e-4, dg=2e-7)
    results = {}
    with torch_threads(1):
        for kind in ("devices", "digital"):
            torch.manual_seed(0)
            first = AnalogLinear(64, 32, LinearStepCells((32, 64, 2), p), g_unit=1e-4, init_pulses=50, seed=0)
            second = AnalogLinear(32, 10, LinearStepCells((10, 32, 2), p), g_unit=1e-4, init_pulses=50, seed=1)
            net = nn.Sequential(first, nn.ReLU(), second)
            adam = torch.optim.Adam(net.parameters(), lr=5e-3)
            opt = DeviceOptimizer(adam, net, lr_pulse=500.0) if kind == "devices" else adam
            gen = torch.Generator().manual_seed(0)
            for _ in range(6):
                order = torch.randperm(len(data.y_train), generator=gen)
                for s in range(0, len(order), 32):
                    idx = order[s:s + 32]
                    opt.zero_grad()
                    nn.functional.cross_entropy(net(data.x_train[idx]), data.y_train[idx]).backward()
                    opt.step()
            results[kind] = accuracy(net, data.x_test, data.y_test)
    assert results["digital"] > 0.9
    assert results["devices"] > results["digital"] - 0.06


# ---- property tests (hypothesis) --------------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from cosim.devices.weak_reset import WeakResetHfOx, WeakResetOptions, WeakResetVariability  # noqa: E402
from cosim.nn.weak_reset_cells import WeakResetCells, WeakResetComponents  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 16), schedule=st.lists(st.lists(st.integers(0, 3000), min_size=6, max_size=6),
                                                       min_size=1, max_size=4))
def test_weak_reset_cells_read_like_the_numpy_model_for_any_schedule(seed, schedule):
    """Any pulse schedule: the torch cells (spread, no noise) read as WeakResetHfOx with the same parameters."""
    cells = WeakResetCells((2, 3), WeakResetComponents.of(spread=True, noise=False), seed=seed, dtype=torch.float64)
    per_cell = {k: getattr(cells, k).flatten().numpy() for k in ("a", "m1", "c1", "t_star", "m2", "R0")}
    twin = WeakResetHfOx(6, 0, variability=WeakResetVariability(**per_cell),
                         options=WeakResetOptions(d2d=True, rtn=False, pink=False))
    for counts in schedule:
        cells.apply_pulses(torch.tensor(counts).reshape(2, 3))
        twin.apply_pulses(np.array(counts))
    assert np.allclose(cells.resistance().flatten().numpy(), twin.resistance(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(gamma=st.one_of(st.just(0.0), st.floats(1e-9, 1.0)), dg_frac=st.floats(1e-3, 0.2), x0=st.floats(0.0, 1.0), n=st.integers(0, 300),
       up=st.booleans())
def test_linear_step_closed_form_equals_the_pulse_by_pulse_rule(gamma, dg_frac, x0, n, up):
    p = LinearStepParams(g_min=1e-6, g_max=1e-4, dg=dg_frac * (1e-4 - 1e-6), gamma_up=gamma, gamma_down=gamma,
                         g_init=1e-6 + x0 * (1e-4 - 1e-6))
    cells = LinearStepCells((1,), p, dtype=torch.float64)
    cells.apply_pulses(torch.tensor([n]), Polarity.SET if up else Polarity.RESET)
    expected = linear_step_reference(float(cells._x0), n, dg_frac, gamma, up)
    assert math.isclose(float(cells.x[0]), expected, rel_tol=1e-9, abs_tol=1e-12)
