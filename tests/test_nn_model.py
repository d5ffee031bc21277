"""Whole-model operations (patch, tune, state_dict, aging) and the programmers, against closed forms."""
import io

import numpy as np
import pytest
import torch
from torch import nn

from cosim.nn import (ArrayConfig, DriftAging, IdealProgrammer, StatisticalProgrammer, bake, cycle, digital,
                      fabricate, memristive_layers, patch_model, program_model, tune)
from cosim.nn.aging import BOLTZMANN_EV
from cosim.nn.layers import MemristiveConv2d, MemristiveLinear


from support import one_torch_thread, rel_err  # noqa: F401 (fixture)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(4))
        self.heads = nn.ModuleDict({"a": nn.Linear(4 * 36, 5), "b": nn.ModuleList([nn.Linear(4 * 36, 3)])})

    def forward(self, x):
        h = self.features(x).flatten(1)
        return torch.cat([self.heads["a"](h), self.heads["b"][0](h)], dim=1)


# ---- patch_model -------------------------------------------------------------------------------------
def test_patch_model_converts_through_containers_and_leaves_the_original_alone():
    torch.manual_seed(0)
    model = Net().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    mm = patch_model(model, ArrayConfig(tile=(16, 8), mode="circuit", r_wl=1.0, r_bl=1.0))
    assert isinstance(model.heads["a"], nn.Linear) and isinstance(model.features[0], nn.Conv2d)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert isinstance(mm.features[0], MemristiveConv2d) and isinstance(mm.heads["b"][0], MemristiveLinear)
    assert isinstance(mm.features[2], nn.BatchNorm2d) and not mm.training
    assert [name for name, _ in memristive_layers(mm)] == ["features.0", "heads.a", "heads.b.0"]
    x = torch.rand(3, 1, 6, 6)
    with torch.no_grad():
        assert rel_err(mm(x), model(x)) > 1e-4
        with digital(mm):
            assert rel_err(mm(x), model(x)) < 1e-6
        assert rel_err(mm(x), model(x)) > 1e-4        # the context restores the hardware forward


def test_shared_layer_stays_shared_and_repatching_uses_the_digital_weights():
    shared = nn.Linear(6, 6)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    mm = patch_model(model, ArrayConfig(tile=(4, 4)))
    assert mm[0] is mm[2]
    again = patch_model(mm, ArrayConfig(tile=(3, 5), scheme="single-column"))
    assert again[0].config.tile == (3, 5) and mm[0].config.tile == (4, 4)
    x = torch.randn(2, 6)
    with torch.no_grad():
        assert rel_err(again(x), model(x)) < 1e-5


@pytest.mark.parametrize("bad", [nn.LSTM(4, 4), nn.ConvTranspose2d(2, 2, 3), nn.Conv3d(1, 1, 2),
                                 nn.MultiheadAttention(4, 2), nn.Bilinear(3, 3, 2), nn.LazyLinear(3)])
def test_unsupported_layers_raise_with_what_is_supported(bad):
    model = nn.Sequential(nn.Linear(4, 4), bad)
    with pytest.raises(ValueError, match=r"supported layers: Linear, Conv1d, Conv2d") as info:
        patch_model(model, ArrayConfig())
    assert type(bad).__name__ in str(info.value) and "'1'" in str(info.value)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="nn.Module"):
        patch_model("not a model", ArrayConfig())
    with pytest.raises(ValueError, match="ArrayConfig"):
        patch_model(nn.Linear(2, 2), {"tile": (4, 4)})
    mm = patch_model(nn.Linear(3, 3), ArrayConfig())
    with pytest.raises(ValueError, match="kelvin"):
        bake(mm, 10.0, -5.0)
    with pytest.raises(ValueError, match="seconds"):
        bake(mm, float("nan"), 300.0)
    with pytest.raises(ValueError, match="n must"):
        cycle(mm, -1)
    with pytest.raises(ValueError, match="no memristive layers"):
        tune(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="features"):
        mm(torch.randn(2, 4))


# ---- tune ---------------------------------------------------------------------------------------------
def test_tune_removes_the_gain_loss_of_wire_resistance():
    torch.manual_seed(1)
    layer = nn.Linear(48, 12).double()
    mm = patch_model(layer, ArrayConfig(tile=(48, 12), mode="circuit", r_wl=2.0, r_bl=2.0))
    x = torch.rand(200, 48, dtype=torch.float64)
    with torch.no_grad():
        before = rel_err(mm(x), layer(x))
        errors = tune(mm, n_samples=256)
        after = rel_err(mm(x), layer(x))
    assert after < 0.5 * before and errors[""] < 0.1
    assert torch.all(mm.gain > 1.0)                       # IR drop lowers the currents; the gain restores them
    ideal = patch_model(layer, ArrayConfig(tile=(48, 12)))
    tune(ideal)
    assert torch.allclose(ideal.gain, torch.ones_like(ideal.gain)) and ideal.offset.abs().max() < 1e-10


def test_tune_on_data_fits_each_layer_on_its_own_inputs():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    mm = patch_model(model, ArrayConfig(tile=(8, 8), mode="circuit", r_wl=3.0, r_bl=3.0))
    x = torch.rand(100, 10, dtype=torch.float64)
    with torch.no_grad():
        before = rel_err(mm(x), model(x))
        tune(mm, data=x)
        assert rel_err(mm(x), model(x)) < 0.5 * before


# ---- state_dict ---------------------------------------------------------------------------------------
def test_state_dict_round_trips_conductances_device_state_and_config():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 3))
    cfg = ArrayConfig(tile=(8, 8), d2d_sigma=0.2, states=6, stuck_on=0.05, stuck_off=0.05, prog_noise=0.02,
                      mode="circuit", r_wl=1.0, r_bl=1.0, adc_bits=7, seed=3)
    mm = patch_model(model, cfg)
    bake(mm, 100.0, 400.0)
    cycle(mm, 20000)
    tune(mm)
    buf = io.BytesIO()
    torch.save(mm.state_dict(), buf)
    buf.seek(0)
    other = patch_model(model, ArrayConfig(tile=(4, 4), seed=99))       # different config and seed
    other.load_state_dict(torch.load(buf, weights_only=True))
    x = torch.randn(5, 2, 8)
    for a, b in zip(memristive_layers(mm), memristive_layers(other)):
        assert b[1].config == cfg
        assert np.array_equal(a[1].tiles.g, b[1].tiles.g) and np.array_equal(a[1].tiles.cells.stuck, b[1].tiles.cells.stuck)
        assert np.array_equal(b[1].clock.cycles, a[1].clock.cycles) and b[1].clock.cycles.max() == 20000
        for key, value in a[1].clock.state().items():
            assert np.array_equal(b[1].clock.state()[key], value, equal_nan=True)   # v_stop: NaN = none
    with torch.no_grad():
        assert torch.equal(mm(x), other(x))
    program_model(mm)
    program_model(other)                                    # the programming noise stream was saved too
    with torch.no_grad():
        assert torch.equal(mm(x), other(x))


# ---- programmers and fabrication -------------------------------------------------------------------------
def test_fabrication_counts_spread_and_common_random_numbers():
    shape = (3, 2, 40, 50)
    cfg10 = ArrayConfig(stuck_on=0.10, stuck_off=0.04, d2d_sigma=0.2)
    cells10 = fabricate(shape, cfg10, np.random.default_rng(0))
    per_array = cells10.stuck.reshape(6, -1)
    assert np.all((per_array == 1).sum(1) == 200) and np.all((per_array == 2).sum(1) == 80)
    cells5 = fabricate(shape, ArrayConfig(stuck_on=0.05, d2d_sigma=0.4), np.random.default_rng(0))
    assert np.all(cells10.stuck[cells5.stuck == 1] == 1)              # the 5 % are among the 10 %
    log_r_on = np.log(1.0 / cells10.g_on / cfg10.r_on)
    log_r_off = np.log(1.0 / cells10.g_off / cfg10.r_off)
    assert abs(log_r_on.std() - 0.2) < 0.01 and abs(log_r_off.std() - 0.4) < 0.02
    assert np.allclose(np.log(1.0 / cells5.g_on / 1e3), 2 * log_r_on)   # same draws, twice the sigma


def test_programmers():
    cfg = ArrayConfig(stuck_on=0.1)
    cells = fabricate((20, 30), cfg, np.random.default_rng(1))
    target = np.random.default_rng(2).uniform(cfg.g_off, cfg.g_on, (20, 30))
    ideal = IdealProgrammer().program(target, cells, np.random.default_rng(0))
    ok = cells.stuck == 0
    assert np.array_equal(ideal[ok], target[ok]) and np.all(ideal[~ok] == cfg.g_on)
    levels = StatisticalProgrammer(cfg.g_on, cfg.g_off, states=5).program(target, cells, np.random.default_rng(0))
    grid = cfg.g_off + np.arange(5) / 4 * (cfg.g_on - cfg.g_off)
    assert np.allclose(np.abs(levels[:, :, None] - grid).min(-1), 0.0, atol=1e-18)
    assert np.max(np.abs(levels - target)[ok]) <= (cfg.g_on - cfg.g_off) / 8 * (1 + 1e-12)
    nominal = fabricate((200, 200), ArrayConfig(), np.random.default_rng(3))
    mid = np.full((200, 200), 0.5 * (cfg.g_on + cfg.g_off))
    noisy = StatisticalProgrammer(cfg.g_on, cfg.g_off, noise=0.05).program(mid, nominal, np.random.default_rng(4))
    assert abs(noisy.std() / (cfg.g_on - cfg.g_off) - 0.05) < 0.002


def test_a_custom_programmer_plugs_in():
    class HalfWay:
        """Writes every cell half way from G_off to its target."""
        def program(self, target_g, cells, rng):
            return cells.g_off + 0.5 * (target_g - cells.g_off)

    layer = nn.Linear(5, 4).double()
    mm = patch_model(layer, ArrayConfig(tile=(8, 8)), programmer=HalfWay())
    x = torch.randn(3, 5, dtype=torch.float64)
    with torch.no_grad():
        y = mm(x) - layer.bias
        assert rel_err(y, 0.5 * (layer(x) - layer.bias)) < 1e-12
    with pytest.raises(ValueError, match="programmer"):
        patch_model(layer, ArrayConfig(), programmer=object())


# ---- aging -----------------------------------------------------------------------------------------------
def test_bake_follows_arrhenius_power_law_drift_and_program_resets():
    aging = DriftAging(nu=0.06, nu_sigma=0.0, t0_s=1.0, activation_ev=0.8, t_ref_k=300.0, endurance=None)
    layer = nn.Linear(8, 4).double()
    mm = patch_model(layer, ArrayConfig(tile=(8, 8), stuck_off=0.1), aging=aging)
    g0 = mm.tiles.g_programmed.copy()
    bake(mm, 1000.0, 400.0)
    bake(mm, 50.0, 350.0)
    accel = lambda k: np.exp(0.8 / BOLTZMANN_EV * (1 / 300.0 - 1 / k))
    t_eq = 1000.0 * accel(400.0) + 50.0 * accel(350.0)
    expected = np.where(mm.tiles.cells.stuck == 2, g0, g0 * t_eq ** -0.06)
    assert rel_err(mm.tiles.g, expected) < 1e-12
    mm.program()
    assert np.array_equal(mm.tiles.g, mm.tiles.g_programmed) and mm.history.bakes == []


def test_cycle_applies_the_engine_endurance_law_and_drift_spreads_per_cell():
    layer = nn.Linear(8, 4).double()
    cfg = ArrayConfig(tile=(8, 8))
    mm = patch_model(layer, cfg)
    g0 = mm.tiles.g_programmed.copy()
    cycle(mm, 10 ** 6)
    # seed 000 Fig. 2A written out (d = 10 nm): x_th = 10 e^(0.6907755 * 10) cycles, exponent p3 * p1 * d;
    # each state drifts toward the split sqrt(r_on r_off) and stops there
    x_th = 10.0 * np.exp(0.6907755 * 10)
    r0, split = 1.0 / g0, np.sqrt(cfg.r_on * cfg.r_off)
    lrs = r0 * (1e6 / x_th) ** (0.0176194 * 0.6907755 * 10)
    hrs = r0 * (1e6 / x_th) ** (-0.0229534 * 0.6907755 * 10)
    expected = 1.0 / np.where(r0 < split, np.minimum(lrs, split), np.maximum(hrs, split))
    expected = np.clip(expected, mm.tiles.cells.g_off, mm.tiles.cells.g_on)
    assert rel_err(mm.tiles.g, expected) < 1e-12 and rel_err(mm.tiles.g, g0) > 0.1
    assert mm.clock.engine.now == pytest.approx(1e6 * mm.clock.cycle_s)
    # the power-law drift, chosen explicitly, lowers every conductance by a per-cell exponent
    fresh = patch_model(layer, cfg, aging=DriftAging())
    bake(fresh, 3600.0, 358.0)
    ratio = fresh.tiles.g / g0
    assert np.all(ratio <= 1.0) and ratio.std() > 0.01      # per-cell nu: not a pure gain error
    again = patch_model(layer, cfg, aging=DriftAging())
    bake(again, 3600.0, 358.0)
    assert np.array_equal(again.tiles.g, fresh.tiles.g)       # the per-cell nu comes from the seed


def test_a_mapped_layer_ages_like_an_engine_array_lrs_and_hrs_converge():
    from cosim import Engine
    from cosim.devices import VTEAM
    from cosim.sim import AgingLaws
    from cosim.sim.aging import default_retention

    layer = nn.Linear(8, 4).double()
    cfg = ArrayConfig(tile=(8, 8))
    mm = patch_model(layer, cfg)
    g0 = mm.tiles.g_programmed.copy()
    mm.clock.engine.set_temperature(573.0)
    bake(mm, 200.0, 523.0)
    mm.clock.engine.run(until=mm.clock.engine.now + 50.0)       # engine time at the ambient ages it too
    # the same cells as an engine array (one per G+/G- array of the tile), same law
    law = default_retention(cfg.r_on, cfg.r_off)
    on_engine = []
    for g in g0.reshape(-1, 8, 8):
        eng = Engine(temperature=573.0)
        dev = VTEAM.preset("Pt/Hf/Ti", n=64, r_on=cfg.r_on, r_off=cfg.r_off)
        arr = eng.array(8, 8, device=dev, aging=AgingLaws(retention=law))
        arr.device.set_conductance(g.ravel())
        arr.aging.reprogrammed(np.ones(64, bool), 1.0 / g.ravel())
        arr.bake(200.0, 523.0)
        eng.run(until=eng.now + 50.0)
        on_engine.append(arr.conductances())
    on_engine = np.stack(on_engine).reshape(g0.shape)
    assert rel_err(mm.tiles.g, on_engine) < 1e-9
    # and by hand: the log-distance to the split shrinks by the same fraction f for every cell
    split = np.sqrt(cfg.r_on * cfg.r_off)
    d0, d = np.log(split * g0), np.log(split * mm.tiles.g)
    assert np.all(np.abs(d) < np.abs(d0)) and np.all(d * d0 > 0)   # LRS and HRS converge, none crosses
    f = d / d0
    assert np.allclose(f, f.flat[0], rtol=1e-9) and f.flat[0] < 0.9


# ---- mapping ---------------------------------------------------------------------------------------------
def test_double_and_single_column_conductances_follow_the_mapping_formulas():
    torch.manual_seed(4)
    layer = nn.Linear(6, 5).double()
    w = layer.weight.detach().numpy().T                       # (inputs, outputs) = (rows, cols)
    cfg = ArrayConfig(tile=(8, 8))
    g = patch_model(layer, cfg).tiles.g[0, 0, 0]              # (2, 8, 8)
    d_g = cfg.g_on - cfg.g_off
    s = np.abs(w).max()
    assert np.allclose(g[0, :6, :5] - g[1, :6, :5], w / s * d_g, rtol=0, atol=1e-15)
    assert np.allclose(np.minimum(g[0], g[1]), cfg.g_off, rtol=1e-12)   # one side of each pair at G_off
    assert np.allclose(g[:, 6:, :], cfg.g_off) and np.allclose(g[:, :, 5:], cfg.g_off)  # unused cells
    single = ArrayConfig(tile=(8, 6), scheme="single-column", scale="column")
    g1 = patch_model(layer, single).tiles.g[0, 0, 0, 0]       # (8, 6): 5 weight columns + reference
    g_mid = 0.5 * (cfg.g_on + cfg.g_off)
    s_col = np.abs(w).max(axis=0)
    assert np.allclose(g1[:, 5], g_mid, rtol=1e-12)
    assert np.allclose(g1[:6, :5] - g_mid, w / s_col * d_g / 2, rtol=0, atol=1e-15)


def test_clipping_at_a_percentile_equals_the_digital_layer_with_clipped_weights():
    torch.manual_seed(5)
    layer = nn.Linear(40, 6, bias=False).double()
    mm = patch_model(layer, ArrayConfig(tile=(40, 6), clip_percentile=90.0))
    w = layer.weight.detach().numpy()
    limit = np.percentile(np.abs(w), 90.0)
    x = torch.randn(7, 40, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(mm(x), x.numpy() @ np.clip(w, -limit, limit).T) < 1e-12
