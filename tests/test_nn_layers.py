"""Memristive layers against independent references.

Ideal devices, ideal wires: the digital torch layers. Circuit mode: a per-input ``Crossbar.read`` of
every physical array, built here from the layer's conductances (the general sparse path, since each
fresh Crossbar reads one vector). Nonlinear mode: the closed form sum_i (G/b) sinh(b V_i) with ideal
wires, and per-input Newton reads with wires. Periphery: quantisation written out in numpy.
"""
import numpy as np
import pytest
import torch
from torch import nn

from cosim.nn import ArrayConfig, calibrate_adc, patch_model
from cosim.solve.crossbar import Crossbar
from support import one_torch_thread, rel_err  # noqa: F401 (fixture)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# ---- ideal devices and wires: equal to the digital layers ---------------------------------------------
LAYERS = [
    (lambda: nn.Linear(37, 23), (5, 37)),
    (lambda: nn.Linear(37, 23, bias=False), (2, 3, 37)),
    (lambda: nn.Conv1d(6, 4, 5, stride=2, padding=3, dilation=2, groups=2), (3, 6, 20)),
    (lambda: nn.Conv1d(3, 5, 4, padding="same", padding_mode="replicate"), (3, 17)),
    (lambda: nn.Conv2d(6, 9, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3), (2, 6, 11, 9)),
    (lambda: nn.Conv2d(4, 6, 3, padding="same", padding_mode="reflect"), (2, 4, 7, 8)),
    (lambda: nn.Conv2d(4, 8, 3, padding="valid", padding_mode="circular", bias=False, groups=4), (4, 7, 8)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
@pytest.mark.parametrize("scheme", ["double-column", "single-column"])
@pytest.mark.parametrize("scale", ["tile", "column"])
def test_ideal_mapping_equals_digital_layer(make, shape, scheme, scale):
    torch.manual_seed(0)
    layer = make()
    mm = patch_model(layer, ArrayConfig(tile=(7, 5), scheme=scheme, scale=scale))
    x = torch.randn(*shape)
    with torch.no_grad():
        assert rel_err(mm(x), layer(x)) < 1e-5


@pytest.mark.parametrize("mode", ["ideal", "circuit"])
def test_zero_wires_ideal_cells_equal_digital_in_float64(mode):
    torch.manual_seed(1)
    layer = nn.Linear(19, 11).double()
    mm = patch_model(layer, ArrayConfig(tile=(8, 6), mode=mode))
    x = torch.randn(4, 19, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(mm(x), layer(x)) < 1e-12


# ---- circuit mode: per-input Crossbar.read on every physical tile ---------------------------------------
def crossbar_reference(layer, x: np.ndarray, cfg: ArrayConfig, nonlinearity: float = 0.0) -> np.ndarray:
    """Output of a MemristiveLinear recomputed from its conductances, one Crossbar.read per input vector."""
    tiles = layer.tiles
    grid = tiles.grid
    rows, cols = cfg.weight_block
    x_scale = np.max(np.abs(x), axis=1, keepdims=True)
    volts = np.zeros((len(x), grid.padded[0]))
    volts[:, : grid.n_in] = x / x_scale * cfg.v_read
    d_g = cfg.g_on - cfg.g_off
    d_map = d_g if cfg.scheme == "double-column" else d_g / 2
    out = np.zeros((len(x), grid.padded[1]))
    for i in range(grid.n_row_tiles):
        for j in range(grid.n_col_tiles):
            currents = []
            for a in range(grid.arrays):
                xb = Crossbar(*cfg.tile, cell=cfg.cell, r_wl=cfg.r_wl, r_bl=cfg.r_bl, r_source=cfg.r_source,
                              r_sense=cfg.r_sense, r_on_transistor=cfg.r_transistor, nonlinearity=nonlinearity)
                xb.set_conductances(tiles.g[0, i, j, a])
                currents.append(np.stack([xb.read(v) for v in volts[:, i * rows:(i + 1) * rows]]))
            if cfg.scheme == "double-column":
                diff = currents[0] - currents[1]
            else:
                diff = currents[0][:, :cols] - currents[0][:, cols:cols + 1]
            out[:, j * cols:(j + 1) * cols] += diff * tiles.scale[0, i, j] / (d_map * cfg.v_read)
    bias = 0.0 if layer.bias is None else layer.bias.detach().numpy()
    return out[:, : grid.n_out] * x_scale + bias


@pytest.mark.parametrize("scheme", ["double-column", "single-column"])
@pytest.mark.parametrize("cell", ["1R", "1T1R"])
def test_circuit_mode_equals_crossbar_read_per_tile(scheme, cell):
    torch.manual_seed(2)
    layer = nn.Linear(13, 7).double()
    cfg = ArrayConfig(tile=(6, 4), scheme=scheme, mode="circuit", r_wl=2.0, r_bl=3.0, r_source=1.0, r_sense=0.5,
                      cell=cell, r_transistor=200.0, d2d_sigma=0.3, stuck_on=0.05, stuck_off=0.05)
    mm = patch_model(layer, cfg)
    x = torch.randn(3, 13, dtype=torch.float64)
    with torch.no_grad():
        y = mm(x).numpy()
        ideal = patch_model(layer, ArrayConfig(**{**cfg.to_dict(), "mode": "ideal"}))(x).numpy()
    assert rel_err(y, crossbar_reference(mm, x.numpy(), cfg)) < 1e-9
    assert rel_err(y, ideal) > 1e-3         # IR drop and sneak paths move the outputs


def test_circuit_transfer_matrices_are_cached_until_conductances_change():
    layer = nn.Linear(10, 6).double()
    mm = patch_model(layer, ArrayConfig(tile=(5, 4), mode="circuit", r_wl=1.0, r_bl=1.0))
    x = torch.randn(2, 10, dtype=torch.float64)
    with torch.no_grad():
        y0 = mm(x)
        first = mm.tiles.transfer_matrices()
        assert mm.tiles.transfer_matrices() is first
        mm.bake(1e4, 523.0)
        assert mm.tiles.transfer_matrices() is not first
        assert rel_err(mm(x), y0) > 1e-4


# ---- nonlinear mode ------------------------------------------------------------------------------------
def test_nonlinear_mode_ideal_wires_matches_sinh_closed_form():
    torch.manual_seed(3)
    layer = nn.Linear(7, 5).double()
    b = 4.0
    cfg = ArrayConfig(tile=(8, 8), mode="nonlinear", nonlinearity=b, v_read=0.5)
    mm = patch_model(layer, cfg)
    x = torch.randn(3, 7, dtype=torch.float64)
    with torch.no_grad():
        y = mm(x).numpy()
    g = mm.tiles.g[0, 0, 0]                       # (2, 8, 8): G+ and G-
    xs = np.abs(x.numpy()).max(axis=1, keepdims=True)
    v = np.zeros((3, 8))
    v[:, :7] = x.numpy() / xs * cfg.v_read
    sinh_current = lambda gg: (np.sinh(b * v)[:, :, None] * gg[None] / b).sum(axis=1)   # (3, 8)
    diff = sinh_current(g[0]) - sinh_current(g[1])
    expected = diff[:, :5] * mm.tiles.scale[0, 0, 0, :5] / ((cfg.g_on - cfg.g_off) * cfg.v_read) * xs
    expected += layer.bias.detach().numpy()
    assert rel_err(y, expected) < 1e-9
    with torch.no_grad():
        linear = layer(x).numpy()
    assert rel_err(y, linear) > 1e-2              # sinh cells at 0.5 V are visibly nonlinear


def test_nonlinear_mode_with_wires_matches_newton_reads_and_linear_cells_match_circuit():
    torch.manual_seed(4)
    layer = nn.Linear(9, 5).double()
    x = torch.randn(3, 9, dtype=torch.float64)
    cfg = ArrayConfig(tile=(6, 4), mode="nonlinear", r_wl=5.0, r_bl=5.0, nonlinearity=3.0)
    mm = patch_model(layer, cfg)
    with torch.no_grad():
        assert rel_err(mm(x), crossbar_reference(mm, x.numpy(), cfg, nonlinearity=3.0)) < 1e-9
        lin = patch_model(layer, ArrayConfig(**{**cfg.to_dict(), "nonlinearity": 0.0}))(x)
        circ = patch_model(layer, ArrayConfig(**{**cfg.to_dict(), "nonlinearity": 0.0, "mode": "circuit"}))(x)
    assert rel_err(lin, circ) < 1e-9


# ---- periphery ---------------------------------------------------------------------------------------
def test_two_phase_equals_bipolar_without_quantisation():
    layer = nn.Linear(12, 5).double()
    x = torch.randn(4, 12, dtype=torch.float64)
    cfgs = [ArrayConfig(tile=(5, 5), mode="circuit", r_wl=1.0, r_bl=1.0, input_encoding=e) for e in ("bipolar", "two-phase")]
    with torch.no_grad():
        a, b = (patch_model(layer, c)(x) for c in cfgs)
    assert rel_err(a, b) < 1e-12


@pytest.mark.parametrize("encoding,levels", [("bipolar", 7), ("two-phase", 15)])
def test_dac_quantisation_matches_numpy(encoding, levels):
    torch.manual_seed(5)
    layer = nn.Linear(10, 4).double()
    mm = patch_model(layer, ArrayConfig(tile=(4, 3), dac_bits=4, input_encoding=encoding))
    x = torch.randn(6, 10, dtype=torch.float64)
    xn = x.numpy()
    peak = np.abs(xn).max(axis=1, keepdims=True)
    xq = np.round(xn / peak * levels) / levels * peak
    with torch.no_grad():
        assert rel_err(mm(x), xq @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()) < 1e-12


def test_adc_per_tile_before_accumulation_matches_numpy():
    torch.manual_seed(6)
    layer = nn.Linear(10, 4).double()
    cfg = ArrayConfig(tile=(5, 4), adc_bits=5, adc_range=2e-4, dac_range=3.0)
    mm = patch_model(layer, cfg)
    x = torch.randn(6, 10, dtype=torch.float64)
    v = np.clip(x.numpy() / 3.0, -1, 1) * cfg.v_read
    levels = 15
    total = np.zeros((6, 4))
    for i in range(2):                                 # two row tiles, each digitised on its own
        g = mm.tiles.g[0, i, 0]
        current = v[:, 5 * i:5 * i + 5] @ (g[0] - g[1])
        coded = np.round(np.clip(current / cfg.adc_range, -1, 1) * levels) / levels * cfg.adc_range
        total += coded * mm.tiles.scale[0, i, 0] / ((cfg.g_on - cfg.g_off) * cfg.v_read)
    with torch.no_grad():
        assert rel_err(mm(x), total * 3.0 + layer.bias.detach().numpy()) < 1e-12


def test_calibrated_adc_covers_the_data_and_fine_adc_approaches_ideal():
    torch.manual_seed(7)
    layer = nn.Linear(30, 8).double()
    x = torch.randn(50, 30, dtype=torch.float64)
    coarse = patch_model(layer, ArrayConfig(tile=(16, 16), adc_bits=6))
    fine = patch_model(layer, ArrayConfig(tile=(16, 16), adc_bits=16))
    calibrate_adc(fine, x)
    calibrate_adc(coarse, x)
    with torch.no_grad():
        ref = layer(x)
        assert rel_err(fine(x), ref) < 1e-3
        assert rel_err(coarse(x), ref) > rel_err(fine(x), ref)
    worst = patch_model(layer, ArrayConfig(tile=(16, 16), adc_bits=6)).tiles.adc_ranges()
    assert np.all(coarse.tiles.adc_ranges() <= worst + 1e-18)  # data never exceed the worst case


# ---- gradients, dtypes, devices ------------------------------------------------------------------------
@pytest.mark.parametrize("make,shape", [(lambda: nn.Linear(12, 5), (4, 12)),
                                         (lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 5, 5))])
def test_gradients_are_straight_through_to_the_digital_weights(make, shape):
    """A loss linear in the output has the digital layer's gradients exactly; the value is the hardware's."""
    torch.manual_seed(8)
    layer = make()
    mm = patch_model(layer, ArrayConfig(tile=(8, 8), states=3, stuck_on=0.05))
    x = torch.randn(*shape, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    out = mm(x)
    c = torch.randn_like(out)
    (out * c).sum().backward()
    (layer(x_ref) * c).sum().backward()
    with torch.no_grad():
        assert rel_err(out, mm(x)) < 1e-6 and rel_err(out, layer(x_ref)) > 1e-2
    for p_mem, p_dig in zip(mm.parameters(), layer.parameters()):
        assert rel_err(p_mem.grad, p_dig.grad) < 1e-6
    assert rel_err(x.grad, x_ref.grad) < 1e-6


def test_hardware_aware_training_reduces_the_hardware_loss():
    torch.manual_seed(9)
    x = torch.randn(64, 12)
    y = (x[:, :3].sum(1) > 0).long()
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 2))
    mm = patch_model(model, ArrayConfig(tile=(8, 8), states=5, seed=1))
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        before = loss_fn(mm(x), y).item()
    params = list(mm.parameters())
    for step in range(25):                       # plain gradient descent, re-programming after each step
        grads = torch.autograd.grad(loss_fn(mm(x), y), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= 0.5 * g
        for layer in (mm[0], mm[2]):
            layer.program()
    with torch.no_grad():
        assert loss_fn(mm(x), y).item() < 0.7 * before


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_device_and_dtype_follow_the_module(device, dtype):
    layer = nn.Conv2d(2, 3, 3, padding=1)
    mm = patch_model(layer, ArrayConfig(tile=(8, 8), mode="circuit", r_wl=1.0, r_bl=1.0, adc_bits=8))
    mm = mm.to(device=device, dtype=dtype)
    x = torch.randn(2, 2, 5, 5, device=device, dtype=dtype)
    with torch.no_grad():
        y = mm(x)
    assert y.dtype == dtype and y.device.type == device and y.shape == (2, 3, 5, 5)
    assert rel_err(y.cpu(), layer.to(device=device, dtype=dtype)(x).detach().cpu()) < 0.1
