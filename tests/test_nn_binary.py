"""2T2R binarized layers on weak-RESET devices and the DeviceOptimizer (issue 13), against seed 004's equations,
the numpy device model and DifferentialSynapse2T2R."""
import math

import numpy as np
import pytest
import torch

from cosim.devices.weak_reset import (WeakResetHfOx, WeakResetNoise, WeakResetNominal, WeakResetOptions,
                                      WeakResetVariability, mean_gap, rtn_switch_probabilities)
from cosim.devices.weak_reset_synapse import DifferentialSynapse2T2R
from cosim.devices.pink_noise import kasdin_coefficients
from cosim.nn import BinaryConv2d, BinaryLinear, DeviceOptimizer
from cosim.nn.binary_nets import FIG9_CASES, bnn_mlp, train_bnn
from cosim.nn.data import digits_split
from cosim.nn.weak_reset_cells import WeakResetCells, WeakResetComponents
from support import one_torch_thread  # noqa: F401  (fixture)

QUIET = WeakResetComponents.of(spread=True, noise=False)


def w_mean_paper(t, c1, m1, m2, t_star):
    """MODELS.md section 2, both branches written out."""
    return np.where(t < t_star, m1 * t + c1, m2 * t + (m1 - m2) * t_star + c1)


def test_mean_gap_is_the_two_slope_law_on_numpy_and_torch():
    t = np.array([0, 10, 627, 628, 629, 5000])
    args = (0.01, 7e-4, 3e-5, 628.1)
    expected = w_mean_paper(t, *args)
    assert np.allclose(mean_gap(t, *args), expected, rtol=1e-12, atol=1e-15)
    got = mean_gap(torch.as_tensor(t), *[torch.tensor(a, dtype=torch.float64) for a in args])
    assert np.allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15)
    far = np.array([10 ** 6])                                   # float32 (the layers' default) far past t*
    got32 = mean_gap(torch.as_tensor(far), *[torch.tensor(a, dtype=torch.float32) for a in args])
    assert np.allclose(got32.numpy(), w_mean_paper(far, *args), rtol=1e-6)


def _numpy_twin(cells: WeakResetCells) -> WeakResetHfOx:
    """A numpy WeakResetHfOx holding exactly the cells' parameters (noise off)."""
    per_cell = {name: getattr(cells, name).double().flatten().numpy() for name in ("a", "m1", "c1", "t_star", "m2", "R0")}
    return WeakResetHfOx(per_cell["m1"].size, 0, variability=WeakResetVariability(**per_cell),
                         options=WeakResetOptions(d2d=True, rtn=False, pink=False))


def test_torch_cells_read_like_the_numpy_model_after_the_same_pulses():
    cells = WeakResetCells((4, 5), QUIET, seed=3, dtype=torch.float64)
    twin = _numpy_twin(cells)
    rng = np.random.default_rng(0)
    for _ in range(3):
        counts = rng.integers(0, 900, size=(4, 5))
        cells.apply_pulses(torch.as_tensor(counts))
        twin.apply_pulses(counts.ravel())
        assert np.allclose(cells.resistance().flatten().numpy(), twin.resistance(), rtol=1e-12)


def test_parameters_are_table_one_draws_or_the_nominal_device():
    spread = WeakResetCells((200, 50), QUIET, seed=1, dtype=torch.float64)
    assert float(spread.R0.min()) >= 6252.0 and float(spread.R0.max()) <= 7897.0      # Table I truncation
    assert abs(float(spread.R0.mean()) - WeakResetNominal().R0) < 15.0                # 10000 draws, sd 382
    nominal = WeakResetCells((3, 2), WeakResetComponents.of(spread=False, noise=False), seed=1, dtype=torch.float64)
    assert torch.all(nominal.m1 == WeakResetNominal().m1) and torch.all(nominal.R0 == WeakResetNominal().R0)


def test_rtn_flip_probability_is_the_n_step_markov_closed_form():
    cells = WeakResetCells((1, 6), seed=0, dtype=torch.float64)
    n = torch.tensor([[0, 1, 2, 10, 500, 100000]])
    p01, p10 = rtn_switch_probabilities(n.numpy().ravel(), WeakResetNoise().p_high, WeakResetNoise().p_low)
    assert np.allclose(cells.flip_probability(n).numpy().ravel(), p01, rtol=1e-12, atol=0)
    cells.rtn_state = torch.ones_like(cells.rtn_state)
    assert np.allclose(cells.flip_probability(n).numpy().ravel(), p10, rtol=1e-12, atol=0)


def test_rtn_occupation_after_many_pulses_is_the_stationary_fraction():
    cells = WeakResetCells((200, 100), WeakResetComponents(spread=False, rtn=True, pink=False), seed=2)
    cells.apply_pulses(torch.full((200, 100), 5000))
    noise = WeakResetNoise()
    stationary = noise.p_high / (noise.p_high + noise.p_low)   # 2/7
    assert abs(float(cells.rtn_state.float().mean()) - stationary) < 4 * math.sqrt(stationary / 20000)


@pytest.mark.parametrize("counts", [
    [[0, 1, 2, 3], [15, 16, 40, 0], [1, 1, 1, 1]],       # most cells pulsed: the dense path
    [[0, 0, 0, 0], [0, 16, 0, 0], [3, 0, 0, 0]],         # few cells pulsed: the indexed path
])
def test_pink_noise_shifts_n_fresh_draws_into_the_history(counts):
    cells = WeakResetCells((3, 4), WeakResetComponents(spread=False, rtn=False, pink=True), seed=5, dtype=torch.float64)
    before = cells.pink_history.clone()                       # (3, 4, 16), newest first
    counts = torch.tensor(counts)
    cells.apply_pulses(counts)
    after = cells.pink_history
    for i in range(3):
        for j in range(4):
            k = min(int(counts[i, j]), 16)
            assert torch.equal(after[i, j, k:], before[i, j, :16 - k])       # old draws moved down by k
            if k:
                assert not torch.any(after[i, j, :k] == before[i, j, :k])    # the newest k are fresh
    b = torch.as_tensor(kasdin_coefficients(15))
    assert torch.allclose(cells.pink_fir, after @ b, rtol=1e-12, atol=1e-12)   # the FIR sum kept


def test_pink_noise_amplitude_is_alpha_times_the_kasdin_norm():
    cells = WeakResetCells((400, 100), WeakResetComponents(spread=False, rtn=False, pink=True), seed=7,
                           dtype=torch.float64)
    cells.apply_pulses(torch.full((400, 100), 3))
    w_pink = cells.gap() - mean_gap(3.0, *(float(getattr(cells, k)[0, 0]) for k in ("c1", "m1", "m2", "t_star")))
    expected = WeakResetNoise().alpha * np.sqrt(np.sum(kasdin_coefficients(15) ** 2))
    assert abs(float(w_pink.std()) / expected - 1) < 0.03      # 40000 cells: sd of the estimate ~0.4 %


def _tiny_layer() -> BinaryLinear:
    return BinaryLinear(3, 2, spread=True, noise=False, seed=11, dtype=torch.float64)


def test_update_rule_counts_device_and_sign_follow_seed_004():
    layer = _tiny_layer()
    start_counts = layer.pulse_counts.clone()
    w0 = layer.weight.detach().clone()
    delta = torch.tensor([[0.0123, -0.0071, 0.0004], [-0.0302, 0.0, 0.0019]], dtype=torch.float64)
    lr_pulse = 1000.0
    opt = DeviceOptimizer(torch.optim.SGD(layer.parameters(), lr=1.0), layer, lr_pulse=lr_pulse)
    layer.weight.grad = -delta            # SGD with lr 1: the optimizer's update is exactly delta
    opt.step()
    applied = layer.pulse_counts - start_counts
    n = np.floor(lr_pulse * np.abs(delta.numpy())).astype(np.int64)      # floor(lr |dW|)
    assert np.array_equal(applied[..., 0].numpy(), np.where(delta.numpy() > 0, n, 0))  # dW > 0: BL
    assert np.array_equal(applied[..., 1].numpy(), np.where(delta.numpy() < 0, n, 0))  # dW < 0: BLb
    # resistances from the paper's law at the cumulative counts; hidden weight ln(R_BL / R_BLb)
    c = layer.cells
    t = layer.pulse_counts.numpy()
    r = c.R0.numpy() * np.exp(w_mean_paper(t, c.c1.numpy(), c.m1.numpy(), c.m2.numpy(), c.t_star.numpy()))
    assert np.allclose(layer.resistances.detach().numpy(), r, rtol=1e-12)
    assert np.allclose(layer.weight.detach().numpy(), np.log(r[..., 0] / r[..., 1]), rtol=1e-12, atol=1e-15)
    moved = (layer.weight.detach() - w0).numpy()
    assert np.all(np.sign(moved[n > 0]) == np.sign(delta.numpy()[n > 0])) and np.all(moved[n == 0] == 0)


def test_readout_and_update_match_differential_synapse_2t2r():
    layer = BinaryLinear(6, 4, spread=True, noise=False, seed=4, init_pulses=0, dtype=torch.float64)
    cells = layer.cells
    bl = _numpy_twin(_slice_cells(cells, 0))
    blb = _numpy_twin(_slice_cells(cells, 1))
    synapse = DifferentialSynapse2T2R(bl, blb)
    assert np.allclose(layer.weight.detach().flatten().numpy(), synapse.weight(), rtol=1e-12, atol=1e-15)
    rng = np.random.default_rng(1)
    for _ in range(4):
        delta = rng.normal(0, 0.02, size=(4, 6))
        counts = layer.apply_update(torch.as_tensor(delta), 900.0)
        to_bl, to_blb = synapse.update(delta.ravel(), 900.0)
        assert np.array_equal(counts[..., 0].flatten().numpy(), to_bl)
        assert np.array_equal(counts[..., 1].flatten().numpy(), to_blb)
        assert np.allclose(layer.weight.detach().flatten().numpy(), synapse.weight(), rtol=1e-12, atol=1e-15)
        forward = layer(torch.eye(6, dtype=torch.float64)).detach().t().flatten().numpy()   # the signs read
        assert np.array_equal(forward, synapse.binary_weight().astype(np.float64))


def _slice_cells(cells: WeakResetCells, side: int):
    """A stand-in with the parameters of one side of the pairs (what _numpy_twin reads)."""
    class Side:
        pass
    out = Side()
    for name in ("a", "m1", "c1", "t_star", "m2", "R0"):
        setattr(out, name, getattr(cells, name)[..., side])
    return out


def test_binary_conv2d_uses_the_sign_of_its_pairs():
    conv = BinaryConv2d(2, 3, 3, padding=1, spread=True, noise=True, seed=0, dtype=torch.float64)
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    sign = torch.where(conv.weight >= 0, 1.0, -1.0).double()
    r = conv.resistances
    assert torch.equal(sign, torch.where(r[..., 0] >= r[..., 1], 1.0, -1.0).double())   # the sense amplifier
    expected = torch.nn.functional.conv2d(x, sign, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-12)
    assert conv.pulse_counts.shape == (3, 2, 3, 3, 2)


def test_bnn_with_ideal_devices_matches_the_digital_bnn():
    """Devices without noise or spread (mean model, pulse quantisation) reach the digital BNN (seed 004 Fig. 9):
    test accuracy averaged over the last 5 of 10 epochs and 3 seeds, from the same initial weights."""
    data = digits_split(seed=0)
    device_case, ideal_case = FIG9_CASES[1], FIG9_CASES[0]
    final = {"device": [], "ideal": []}
    for seed in (0, 1, 2):
        dev = bnn_mlp(device_case, hidden=(128,), seed=seed)
        ideal = bnn_mlp(ideal_case, hidden=(128,), seed=seed)
        with torch.no_grad():                                                  # the same initial weights
            pairs = zip(*([m for m in net.modules() if isinstance(m, BinaryLinear)] for net in (ideal, dev)))
            for a, b in pairs:
                a.weight.copy_(b.weight)
        for name, model in (("device", dev), ("ideal", ideal)):
            acc = train_bnn(model, data, epochs=10, lr=5e-3, lr_pulse=1442.0, seed=seed).accuracy
            final[name].append(np.mean(acc[-5:]))
    dev_acc, ideal_acc = np.mean(final["device"]), np.mean(final["ideal"])
    assert ideal_acc > 0.9
    assert abs(dev_acc - ideal_acc) <= 0.01


def test_refresh_reforms_saturated_pairs_and_writes_the_weight_back():
    layer = BinaryLinear(3, 2, spread=False, noise=False, seed=0, init_pulses=0, dtype=torch.float64)
    t_star = float(layer.cells.t_star.max())
    extra = torch.zeros(2, 3, 2, dtype=torch.int64)
    extra[0, 0] = torch.tensor([int(t_star) + 300, int(t_star) + 100])   # both cells past t*: saturated pair
    layer.apply_pulse_counts(extra)
    target = layer.weight.detach().clone()
    assert abs(float(target[0, 0]) - 200 * WeakResetNominal().m2) < 1e-9   # beyond t* a pulse moves W by m2
    cost = layer.refresh(lr_pulse=1 / WeakResetNominal().m1)
    assert (cost.pairs, cost.set_operations) == (1, 2)
    assert cost.pulses == math.floor(float(target[0, 0]) / WeakResetNominal().m1)
    assert int(layer.set_counts.sum()) == 2 and int(layer.cells.pulses[0, 0].max()) == cost.pulses
    assert abs(float(layer.weight.detach()[0, 0] - target[0, 0])) <= WeakResetNominal().m1        # within one pulse
    assert torch.equal(layer.weight[1:], target[1:]) and torch.equal(layer.weight[0, 1:], target[0, 1:])


def test_pulses_and_energy_are_counted():
    layer = BinaryLinear(4, 3, spread=False, noise=False, seed=0, init_pulses=0, dtype=torch.float64)
    r = layer.resistances.detach().clone()
    counts = torch.zeros(3, 4, 2, dtype=torch.int64)
    counts[1, 2, 0] = 7
    layer.apply_pulse_counts(counts)
    assert int(layer.pulse_counts.sum()) == 7
    assert math.isclose(float(layer.energy_j), 7 * 1.0 ** 2 / float(r[1, 2, 0]) * 1e-7, rel_tol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (dict(device="pcm"), "device must be one of"),
    (dict(seed=-1), "seed"),
    (dict(init_pulses=-2), "init_pulses"),
    (dict(spread="yes"), "spread must be a bool"),
])
def test_bad_layer_arguments_are_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        BinaryLinear(3, 2, **bad)


def test_bad_updates_are_rejected_before_any_change():
    layer = _tiny_layer()
    before = (layer.weight.detach().clone(), layer.pulse_counts.clone(), layer.cells.pulses.clone())
    with pytest.raises(ValueError, match="lr_pulse"):
        layer.apply_update(torch.zeros(2, 3, dtype=torch.float64), -1.0)
    with pytest.raises(ValueError, match="finite"):
        layer.apply_update(torch.full((2, 3), float("nan"), dtype=torch.float64), 10.0)
    with pytest.raises(ValueError, match="shape"):
        layer.apply_update(torch.zeros(3, 2, dtype=torch.float64), 10.0)
    bad_counts = torch.zeros(2, 3, 2, dtype=torch.int64)
    bad_counts[0, 0, 0] = -1
    with pytest.raises(ValueError, match=">= 0"):
        layer.apply_pulse_counts(bad_counts)
    assert torch.equal(layer.weight, before[0]) and torch.equal(layer.pulse_counts, before[1])
    assert torch.equal(layer.cells.pulses, before[2])
    with pytest.raises(ValueError, match="does not update the weights"):
        DeviceOptimizer(torch.optim.SGD([layer.bias if layer.bias is not None else torch.nn.Parameter(torch.zeros(1))],
                                        lr=1.0), layer, lr_pulse=10.0)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        DeviceOptimizer("adam", layer, lr_pulse=10.0)


def test_mean_model_without_saturation_keeps_slope_m1():
    comps = WeakResetComponents(spread=False, rtn=False, pink=False, saturation=False)
    cells = WeakResetCells((1, 2), comps, seed=0, dtype=torch.float64)
    cells.apply_pulses(torch.tensor([[0, 2000]]))          # far beyond t* = 628
    gap = cells.gap().numpy()[0]
    assert math.isclose(gap[1] - gap[0], 2000 * WeakResetNominal().m1, rel_tol=1e-12)


def test_state_dict_round_trip_restores_devices_and_weights():
    a = BinaryLinear(5, 3, spread=True, noise=True, seed=1, dtype=torch.float64)
    for k in range(3):
        a.apply_update(torch.full((3, 5), 0.01 * (-1) ** k, dtype=torch.float64), 1000.0)
    b = BinaryLinear(5, 3, spread=True, noise=True, seed=2, dtype=torch.float64)
    b.load_state_dict(a.state_dict())
    assert torch.equal(b.weight, a.weight) and torch.equal(b.pulse_counts, a.pulse_counts)
    assert torch.allclose(b.resistances, a.resistances, rtol=1e-15)   # nothing cached from b's own cells
