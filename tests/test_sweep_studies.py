"""The seed studies' building blocks against closed forms and references written here."""
import math

import numpy as np
import pytest
import torch

from cosim.nn.programming import fabricate
from cosim.sim.aging import AgingState
from cosim.sweep import Sweep, parse_spec
from cosim.sweep.studies import seed000, seed002, seed003
from cosim.sweep.studies.networks import Network, trained
from support import one_torch_thread  # noqa: F401


def test_seed003_spread_has_the_papers_standard_deviations_in_ohm():
    p = seed003.Seed003Params(ratio=2.5, sigma_ohm=20.0)
    cells = fabricate((400, 500), p.config(seed=4), np.random.default_rng(0))
    r_on, r_off = 1.0 / cells.g_on, 1.0 / cells.g_off
    assert np.median(r_on) == pytest.approx(200.0, rel=0.01) and np.median(r_off) == pytest.approx(500.0, rel=0.01)
    # seed 003: std(R_on) = sigma, std(R_off) = 2 sigma (log-normal: equal to first order in sigma / R)
    s_on, s_off = 20.0 / 200.0, 40.0 / 500.0
    lognormal_std = lambda median, s: median * math.sqrt(math.exp(s * s) * (math.exp(s * s) - 1))
    assert np.std(r_on) == pytest.approx(lognormal_std(200.0, s_on), rel=0.02)
    assert np.std(r_off) == pytest.approx(lognormal_std(500.0, s_off), rel=0.02)
    assert np.std(r_on) == pytest.approx(20.0, rel=0.03) and np.std(r_off) == pytest.approx(40.0, rel=0.03)


def test_seed003_ideal_point_keeps_the_digital_accuracy():
    out = seed003.run(seed003.Seed003Params(seeds=1, ratio=32.0), seed=5)
    digital = trained(Network.CNN, 8).digital_accuracy
    assert out["digital"] == digital
    assert abs(out["accuracy"] - digital) <= 2 / 540          # continuous, no spread: the network itself


def test_seed002_without_overlap_is_the_8_bit_quantisation_error():
    out = seed002.run(seed002.Seed002Params(layer="digits-conv", overlap=0.0, seeds=1), seed=3)
    net = trained(Network.CNN, 8)
    conv = net.model[0]
    w = conv.weight.detach().double()
    s = w.abs().max()                                          # one tile holds the layer: one scale
    w_q = torch.sign(w) * torch.round(w.abs() / s * 255) / 255 * s
    x = net.x_test.double()
    ideal = torch.nn.functional.conv2d(x, w, padding=1)
    quantised = torch.nn.functional.conv2d(x, w_q, padding=1)
    expected = float((quantised - ideal).norm() / ideal.norm())
    assert out["rel_error"] == pytest.approx(expected, rel=1e-3)
    assert out["slices"] == 8


def engine_endurance(law, r0: np.ndarray, n: int) -> np.ndarray:
    """Resistance (ohm) after n cycles through the engine's aging memory (what EngineCells applies)."""
    state = AgingState(r0)
    return r0 * state.endurance_factor(law, np.ones(r0.size, bool), n)


def test_seed000_endurance_follows_the_published_gradual_law():
    law = seed000.endurance_law("gradual", 20.0, None)
    r0 = np.array([4400.0, 65000.0])
    u = 0.6907755 * 20.0                                       # MODELS.md 2A: p1 d
    x_th = 10.0 * math.exp(u)                                  # p0 exp(p1 d) = 1e7 cycles
    n = 30 * x_th
    expected = r0 * (n / x_th) ** (np.array([0.0176194, -0.0229534]) * u)
    assert engine_endurance(law, r0, int(n)) == pytest.approx(expected, rel=1e-6)
    assert engine_endurance(law, r0, int(0.9 * x_th)) == pytest.approx(r0, rel=1e-12)
    sudden = seed000.endurance_law("sudden", 20.0, None)       # 2C: R_stable 5e7 past x_th, LRS held at the split
    x_th_lrs = 10500.2076 * math.exp(0.2519450 * 20.0)
    after = engine_endurance(sudden, r0, int(2 * x_th_lrs))
    assert after == pytest.approx([math.sqrt(4400.0 * 65000.0), 5e7], rel=1e-9)


def test_seed000_reset_stop_voltage_scales_the_threshold():
    # MODELS.md: x_th(V) = 10^(k (1 - (2 s - 1)^2)), k = log10(x_th(V_opt)) / (1 - (2 s(V_opt) - 1)^2), window 1.3..1.9 V
    s = lambda v: (v - 1.3) / 0.6
    q = lambda v: 1 - (2 * s(v) - 1) ** 2
    log_th_opt = math.log10(10.0 * math.exp(0.6907755 * 20.0))
    r0 = np.array([4400.0])
    for v in (1.4, 1.6, 1.75):
        x_th = 10 ** (log_th_opt / q(1.5) * q(v))
        law = seed000.endurance_law("gradual", 20.0, v)
        assert engine_endurance(law, r0, int(0.8 * x_th)) == pytest.approx(r0, rel=1e-12)
        assert engine_endurance(law, r0, int(4 * x_th)) == pytest.approx(r0 * 4.0 ** (0.0176194 * 0.6907755 * 20.0), rel=1e-3)


def test_seed000_cycles_age_the_mapped_cells_on_the_engine_clock():
    below = seed000.run(seed000.Seed000Params(cycles=1e6), seed=1)
    above = seed000.run(seed000.Seed000Params(cycles=1e9), seed=1)
    assert below["mean_abs_ln_g_change"] < 1e-6 and below["accuracy"] == below["fresh"]
    # past 1e7 cycles LRS and HRS close on the split: at 1e9 every cell has moved by a factor of ~2 or more
    assert above["mean_abs_ln_g_change"] > 0.5 and above["accuracy"] < 0.3


def test_study_parameters_checked_before_any_task():
    with pytest.raises(ValueError, match="mode must be one of"):
        Sweep(parse_spec({"study": "seed000-fig6", "grid": {"mode": ["gradual", "abrupt"]}}))
    with pytest.raises(ValueError, match=r"v_stop must lie in \[1.3, 1.9\] V"):
        Sweep(parse_spec({"study": "seed000-fig6", "grid": {"v_stop": [1.5, 2.0]}}))
    with pytest.raises(ValueError, match="ratio .* must be > 1"):
        Sweep(parse_spec({"study": "seed003-fig6", "grid": {"ratio": [1.0, 2.0]}}))
    with pytest.raises(ValueError, match="levels_per_cell must be an integer in 2..8"):
        Sweep(parse_spec({"study": "seed002-lut", "grid": {"levels_per_cell": [2, 16]}}))
