"""Per-inference read noise in ArrayConfig and hardware-aware training (issue 13, items 4)."""
import numpy as np
import pytest
import torch
from torch import nn

from cosim.nn import ArrayConfig, patch_model
from cosim.nn.data import accuracy, digits_mlp, digits_split
from cosim.nn.hw_aware import HardwareAware, Injection
from cosim.nn.periphery import quantize
from support import one_torch_thread  # noqa: F401  (fixture)


def _linear(seed=0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(10, 4)


def test_read_noise_std_is_the_closed_form_of_independent_cell_reads():
    """Each cell read as G (1 + s z): a column current has std s sqrt(sum_i v_i^2 (G+^2 + G-^2))."""
    lin = _linear()
    x = torch.randn(3, 10, dtype=torch.float64)
    cfg = ArrayConfig(tile=(16, 16), read_noise=0.05)
    noisy = patch_model(lin, cfg).double()
    quiet = patch_model(lin, ArrayConfig(tile=(16, 16))).double()
    with torch.no_grad():
        reads = torch.stack([noisy(x) for _ in range(3000)]).numpy()
        clean = quiet(x).numpy()
    g = noisy.tiles.g[0, 0, 0]                                 # (G+/G-, rows, cols)
    x_scale = x.abs().amax(-1, keepdim=True).numpy()
    v = x.numpy() / x_scale * cfg.v_read
    gain = noisy.tiles.scale[0, 0, 0, :4] / ((cfg.g_on - cfg.g_off) * cfg.v_read)
    std = cfg.read_noise * np.sqrt((v ** 2) @ (g[0, :10, :4] ** 2 + g[1, :10, :4] ** 2)) * gain * x_scale
    assert np.allclose(reads.std(axis=0), std, rtol=0.08)                    # 3000 reads: ~1.3 % sd
    assert np.allclose(reads.mean(axis=0), clean, atol=4 * std.max() / np.sqrt(3000))


def test_read_noise_spreads_a_mapped_networks_accuracy_and_is_reproducible():
    data = digits_split(seed=0)
    model = digits_mlp(16, seed=0)
    from cosim.nn.data import train
    train(model, data.x_train, data.y_train, epochs=5)
    cfg = ArrayConfig(tile=(32, 32), read_noise=0.3)
    accs = [accuracy(patch_model(model, cfg), data.x_test, data.y_test) for _ in range(2)]
    assert accs[0] == accs[1]                                        # same seed, same reads
    mapped = patch_model(model, cfg)
    spread = [accuracy(mapped, data.x_test, data.y_test) for _ in range(4)]
    assert len(set(spread)) > 1                                      # fresh noise at every inference
    quiet = patch_model(model, ArrayConfig(tile=(32, 32)))
    assert len({accuracy(quiet, data.x_test, data.y_test) for _ in range(2)}) == 1


def test_read_noise_is_validated():
    with pytest.raises(ValueError, match="read_noise"):
        ArrayConfig(read_noise=-0.1)


def test_hardware_aware_with_a_clean_config_is_the_digital_layer():
    lin = _linear()
    x = torch.randn(6, 10)
    with HardwareAware(lin, ArrayConfig(tile=(4, 3))):       # 3 x 2 tiles, mapped and read back
        lin.train()
        y = lin(x)
    assert torch.allclose(y, lin(x), atol=1e-5)


def test_hardware_aware_conv2d_with_a_clean_config_is_the_digital_layer():
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 6, 3, padding=1, groups=2)
    x = torch.randn(2, 4, 5, 5)
    with HardwareAware(conv, ArrayConfig(tile=(5, 2))):      # 18 inputs per group: 4 row tiles, 2 column tiles
        y = conv(x)
    assert torch.allclose(y, conv(x), atol=1e-5)


def test_hardware_aware_dac_is_the_quantised_input():
    lin = _linear()
    x = torch.randn(6, 10)
    cfg = ArrayConfig(tile=(16, 16), dac_bits=3)
    with HardwareAware(lin, cfg):
        y = lin(x)
    scale = x.abs().amax(-1, keepdim=True)
    expected = nn.functional.linear(quantize(x / scale, 3) * scale, lin.weight, lin.bias)   # 2^(3-1) - 1 levels
    assert torch.allclose(y, expected, atol=1e-5)


def test_hardware_aware_adc_quantises_each_row_tile_at_its_full_scale():
    lin = _linear()
    lin.train()
    x = torch.randn(5, 10, dtype=torch.float64)
    lin = lin.double()
    cfg = ArrayConfig(tile=(4, 8), adc_bits=3)           # 3 row tiles of 4 inputs, levels +-3
    with HardwareAware(lin, cfg):
        y = lin(x)
    scale = x.abs().amax(-1, keepdim=True)
    u = x / scale
    w = lin.weight.detach()
    expected = torch.zeros(5, 4, dtype=torch.float64)
    for r in range(3):
        block = w[:, 4 * r:4 * r + 4]
        full_scale = block.abs().sum(dim=1).max()                    # the tile's worst case, all inputs at 1
        part = u[:, 4 * r:4 * r + 4] @ block.t()
        expected += quantize((part / full_scale).clamp(-1, 1), 3) * full_scale
    assert torch.allclose(y, expected * scale + lin.bias, atol=1e-9)


def test_hardware_aware_stuck_cells_and_noise_change_the_training_forward_only():
    lin = _linear()
    x = torch.randn(6, 10)
    cfg = ArrayConfig(tile=(16, 16), stuck_off=0.3, prog_noise=0.2)
    with HardwareAware(lin, cfg, seed=3):
        lin.train()
        y_train = lin(x)
        lin.eval()
        y_eval = lin(x)
    assert not torch.allclose(y_train, y_eval, atol=1e-3)
    assert torch.allclose(y_eval, nn.functional.linear(x, lin.weight, lin.bias))
    with HardwareAware(lin, cfg, injection=Injection(programming=False, stuck=False)):
        lin.train()
        assert torch.allclose(lin(x), nn.functional.linear(x, lin.weight, lin.bias), atol=1e-5)


def test_hardware_aware_gradient_is_the_digital_one():
    lin = _linear()
    x = torch.randn(6, 10)
    cfg = ArrayConfig(tile=(16, 16), prog_noise=0.2, read_noise=0.1, adc_bits=4, dac_bits=4)
    with HardwareAware(lin, cfg):
        lin(x).sum().backward()
    grad = lin.weight.grad.clone()
    lin.weight.grad = None
    lin(x).sum().backward()
    assert torch.allclose(grad, lin.weight.grad)


def test_hardware_aware_rejects_bad_arguments():
    with pytest.raises(TypeError, match="cfg must be an ArrayConfig"):
        HardwareAware(_linear(), {"tile": (4, 4)})
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv2d"):
        HardwareAware(nn.ReLU(), ArrayConfig())
    with pytest.raises(ValueError, match="seed"):
        HardwareAware(_linear(), ArrayConfig(), seed=-1)
