"""Bit-sliced weights read through level tables (seed 002): exact decoding, the overlap law, CSV tables."""
import numpy as np
import pytest
import torch
from scipy.stats import norm

from cosim.nn import ArrayConfig, patch_model
from cosim.nn.lut import LevelTable, LUTProgrammer
from cosim.nn.programming import CellArray
from support import one_torch_thread, rel_err  # noqa: F401


def quantised_reference(w: np.ndarray, bits: int) -> np.ndarray:
    """w rounded to a sign and a bits-bit magnitude of max |w| (what a tile-wide scale does to one tile)."""
    s = np.max(np.abs(w))
    return np.sign(w) * np.rint(np.abs(w) / s * (2 ** bits - 1)) / (2 ** bits - 1) * s


@pytest.mark.parametrize("levels, bits", [(2, 8), (2, 4), (3, 5), (4, 8), (5, 6), (8, 7)])
def test_no_overlap_gives_the_fixed_point_weights(levels, bits):
    torch.manual_seed(levels * 10 + bits)
    layer = torch.nn.Linear(24, 5).double()
    cols = 5 * ArrayConfig(encoding="bit-sliced", weight_bits=bits, levels_per_cell=levels, tile=(8, 64)).slices
    cfg = ArrayConfig(tile=(32, cols), encoding="bit-sliced", weight_bits=bits, levels_per_cell=levels, r_on=1e3, r_off=1e4)
    mapped = patch_model(layer, cfg)               # one tile holds the whole layer: one scale
    x = torch.rand(50, 24, dtype=torch.float64)
    w_q = quantised_reference(layer.weight.detach().numpy().T, bits)
    expected = x.numpy() @ w_q + layer.bias.detach().numpy()
    assert rel_err(mapped(x).detach().numpy(), expected) < 1e-9


def test_overlap_is_the_overlap_coefficient_of_adjacent_levels():
    table = LevelTable.lognormal(r_on=1e3, r_off=1e4, levels=2, overlap=0.2)
    d = np.log(1e4 / 1e3)
    assert table.sigma == pytest.approx(d / (2 * norm.ppf(0.9)), rel=1e-12)
    rng = np.random.default_rng(1)
    r = table.draw(np.repeat([0, 1], 200_000), rng).reshape(2, -1)
    threshold = np.sqrt(1e3 * 1e4)                  # equal-sigma log-normals cross at the geometric mean
    misread = 0.5 * (np.mean(r[0] < threshold) + np.mean(r[1] > threshold))
    assert misread == pytest.approx(0.1, abs=0.003)  # OVL = 2 * misread for two equal-variance normals
    assert np.median(r[0]) == pytest.approx(1e4, rel=0.01) and np.median(r[1]) == pytest.approx(1e3, rel=0.01)
    g = 1.0 / r
    assert table.g_mean == pytest.approx(g.mean(axis=1), rel=0.01)


def test_measured_table_from_csv(tmp_path):
    path = tmp_path / "lut.csv"
    path.write_text("# measured reads\nlevel,resistance_ohm\n0,20000\n0,10000\n1,1000\n1,2000\n1,4000\n")
    table = LevelTable.from_csv(path, levels=2)
    assert table.g_mean == pytest.approx([np.mean([1 / 2e4, 1 / 1e4]), np.mean([1e-3, 5e-4, 2.5e-4])])
    cells = CellArray(np.full((4, 3000), 1e-3), np.full((4, 3000), 1e-4), np.zeros((4, 3000), np.int8))
    target = np.where(np.arange(3000) % 2, table.g_mean[1], table.g_mean[0])[None, :].repeat(4, 0)
    g = LUTProgrammer(table).program(target, cells, np.random.default_rng(0))
    lrs = 1.0 / g[:, 1::2]
    assert set(np.unique(1.0 / g[:, ::2])) == {1e4, 2e4} and set(np.unique(lrs)) == {1e3, 2e3, 4e3}
    assert [np.mean(lrs == r) for r in (1e3, 2e3, 4e3)] == pytest.approx([1 / 3] * 3, abs=0.02)


@pytest.mark.parametrize("text, message", [
    ("lvl,r\n0,1\n", "header must be 'level,resistance_ohm'"),
    ("level,resistance_ohm\n0,1e4\n", "no measurements for levels [1]"),
    ("level,resistance_ohm\n0,1e4\n1,-5\n", "finite and > 0 ohm"),
    ("level,resistance_ohm\n0,1e3\n1,1e4\n", "mean conductance must rise with the level"),
    ("level,resistance_ohm\n0,abc\n1,1e3\n", "need an integer level and a resistance"),
])
def test_bad_tables_rejected(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        LevelTable.from_csv(path, levels=2)
    assert message in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scheme="single-column"), "needs scheme 'double-column'"),
    (dict(states=4), "states, prog_noise and d2d_sigma must be unset"),
    (dict(tile=(8, 4)), "tile must have >= 8 columns"),
    (dict(levels_per_cell=9), "levels_per_cell must be an integer in 2..8"),
    (dict(weight_bits=0), "weight_bits must be an integer in 1..24"),
    (dict(lut_overlap=1.0), "lut_overlap must be < 1"),
    (dict(encoding="binary"), "encoding must be one of"),
])
def test_bad_bit_sliced_configs_rejected(kwargs, message):
    with pytest.raises(ValueError) as info:
        ArrayConfig(**{"encoding": "bit-sliced", **kwargs})
    assert message in str(info.value)


def test_error_grows_with_overlap():
    torch.manual_seed(3)
    layer = torch.nn.Linear(64, 16)
    x = torch.rand(200, 64)
    ref = layer(x).detach().numpy()

    def err(**kw):
        cfg = ArrayConfig(tile=(64, 64), encoding="bit-sliced", weight_bits=8, r_on=1e3, r_off=1e4, **kw)
        return rel_err(patch_model(layer, cfg)(x).detach().numpy(), ref)
    binary = [err(lut_overlap=ov) for ov in (0.0, 0.01, 0.1, 0.3)]
    assert binary[0] < 0.01 and all(a < b for a, b in zip(binary, binary[1:]))


def test_bit_sliced_circuit_mode_without_parasitics_equals_ideal_mode():
    torch.manual_seed(5)
    conv = torch.nn.Conv2d(2, 4, 3, padding=1).double()
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    base = dict(tile=(16, 32), encoding="bit-sliced", weight_bits=6, levels_per_cell=4, lut_overlap=0.05, seed=2)
    ideal = patch_model(conv, ArrayConfig(**base))(x).detach().numpy()
    circuit = patch_model(conv, ArrayConfig(mode="circuit", **base))(x).detach().numpy()
    assert rel_err(circuit, ideal) < 1e-9
