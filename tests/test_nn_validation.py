"""The torch bridge rejects malformed arguments before changing anything (ADC ranges, gains and
offsets, conductances stay bit-identical), all forward modes treat NaN alike, empty batches give empty
outputs, and nothing reseeds or draws from the caller's global torch RNG."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from cosim.nn import ArrayConfig, calibrate_adc, patch_model, tune
from cosim.nn.data import digits_cnn, digits_mlp
from cosim.validate import set_memory_limit_bytes
from support import one_torch_thread  # noqa: F401  (fixture)

MODES = ["ideal", "circuit", "nonlinear"]


class NaNAfter(nn.Module):
    """Passes its input through, or turns it into NaN when ``poison`` is set (a layer that fails)."""

    poison = False

    def forward(self, x):
        return torch.full_like(x, float("nan")) if self.poison else x


def two_layers(mode="ideal", **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), NaNAfter(), nn.Linear(5, 3)).double()
    return patch_model(model, ArrayConfig(tile=(4, 4), mode=mode, adc_bits=6, **kw))


def snapshot(model):
    """ADC ranges, conductances, gains and offsets of every memristive layer, as bytes."""
    out = []
    for m in model.modules():
        if hasattr(m, "tiles"):
            ranges = m.tiles.adc_calibrated
            out.append((None if ranges is None else ranges.tobytes(), m.tiles.g.tobytes(),
                        m.gain.numpy().tobytes(), m.offset.numpy().tobytes()))
    return out


# ----------------------------------------------------------------------------- calibrate_adc / tune
def test_calibrate_adc_is_all_or_nothing_across_layers():
    model = two_layers()
    x = torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    calibrate_adc(model, x)
    first = snapshot(model)
    other = torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    model[1].poison = True               # layer 0 calibrates on other, then layer 2 receives NaN and refuses
    with pytest.raises(ValueError, match="input must be finite"):
        calibrate_adc(model, other)
    assert snapshot(model) == first
    model[1].poison = False
    calibrate_adc(model, other)          # the same call without the failure does change layer 0's range
    assert snapshot(model)[0][0] != first[0][0]


@pytest.mark.parametrize("bad, exc, words", [
    (torch.tensor([[0.1, np.nan, 0, 0, 0, 0]], dtype=torch.float64), ValueError, "input must be finite"),
    (torch.zeros(0, 6, dtype=torch.float64), ValueError, "at least one input vector"),
    (np.zeros((2, 6)), TypeError, "input must be a torch.Tensor"),
    (torch.zeros(2, 6, dtype=torch.complex128), TypeError, "real floating tensor"),
])
def test_calibrate_adc_rejects_bad_data_and_changes_nothing(bad, exc, words):
    model = two_layers()
    before = snapshot(model)
    with pytest.raises(exc, match=words):
        calibrate_adc(model, bad)
    assert snapshot(model) == before


@pytest.mark.parametrize("kw, exc, words", [
    (dict(data=torch.tensor([[np.nan] * 6], dtype=torch.float64)), ValueError, "data must be finite"),
    (dict(data=torch.zeros(0, 6, dtype=torch.float64)), ValueError, "at least one sample"),
    (dict(data=np.ones((3, 6))), TypeError, "torch.Tensor"),
    (dict(low=float("nan")), ValueError, "low must not be NaN"),
    (dict(high="1"), TypeError, "high must be a real number"),
    (dict(low=1.0, high=0.0), ValueError, "low < high"),
    (dict(n_samples=2.5), TypeError, "n_samples must be an integer"),
    (dict(n_samples=1), ValueError, "n_samples must be an integer >= 2"),
    (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
])
def test_tune_rejects_bad_arguments_and_changes_nothing(kw, exc, words):
    model = two_layers()
    tune(model, n_samples=16)
    before = snapshot(model)
    with pytest.raises(exc, match=words):
        tune(model, **kw)
    assert snapshot(model) == before


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_rejects_nan_input_alike_and_digital_mode_is_torch(mode):
    """Policy: a DAC cannot encode NaN or inf, so every hardware mode raises the same ValueError (before,
    ideal and circuit returned NaN rows and nonlinear failed inside the solver); ``digital`` is torch."""
    model = two_layers(mode)
    x = torch.tensor([[0.1, 0.2, np.nan, 0.0, 0.3, 0.1]], dtype=torch.float64)
    for bad in (x, x.nan_to_num(nan=np.inf)):
        with pytest.raises(ValueError, match=r"input must be finite \(a DAC cannot encode NaN or inf\)"):
            model(bad)
    for layer in (model[0], model[2]):
        layer.digital = True
    assert torch.isnan(model(x)).all()               # torch.nn.Linear propagates NaN to every output


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch_gives_an_empty_output_as_torch_does(mode):
    model = two_layers(mode)
    assert model(torch.zeros(0, 6, dtype=torch.float64)).shape == (0, 3)
    conv = patch_model(nn.Conv2d(2, 3, 3, padding=1).double(), ArrayConfig(tile=(8, 4), mode=mode))
    assert conv(torch.zeros(0, 2, 5, 5, dtype=torch.float64)).shape == (0, 3, 5, 5)


@pytest.mark.parametrize("bad, exc, words", [
    (np.zeros((2, 6)), TypeError, r"input must be a torch.Tensor; got ndarray \(convert with torch.as_tensor\)"),
    (torch.zeros(2, 6, dtype=torch.complex64), TypeError, "real floating tensor"),
    (torch.zeros(2, 6, dtype=torch.int64), TypeError, "real floating tensor"),
    (torch.zeros(2, 5, dtype=torch.float64), ValueError, "input must have 6 features"),
])
def test_forward_rejects_what_is_not_a_real_float_tensor(bad, exc, words):
    with pytest.raises(exc, match=words):
        two_layers()(bad)


def test_a_layer_without_inputs_or_outputs_is_refused():
    with pytest.raises(ValueError, match=r"needs >= 1 input and >= 1 output per group .* got 0 inputs"):
        patch_model(nn.Linear(0, 3))
    with pytest.raises(ValueError, match="got 4 inputs and 0 outputs"):
        patch_model(nn.Linear(4, 0))


def test_converter_resolution_is_bounded_in_the_config():
    with pytest.raises(ValueError, match=r"dac_bits must be None or an integer in 2..32; got 1000000"):
        ArrayConfig(dac_bits=10**6)
    with pytest.raises(ValueError, match=r"adc_bits must be None or an integer in 2..32"):
        ArrayConfig(adc_bits=33)
    model = patch_model(nn.Linear(4, 2).double(), ArrayConfig(tile=(4, 4), dac_bits=32, adc_bits=32))
    x = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ref = nn.functional.linear(x, model.weight, model.bias)
    assert torch.allclose(model(x), ref, rtol=1e-7, atol=1e-7)    # 31-bit converters: quantisation ~1e-9


@pytest.mark.parametrize("mode", MODES)
def test_an_output_that_overflows_raises(mode):
    """1e308 V is finite in float64 but not in a float32 layer's tensors: inf * 0 made the output NaN."""
    model = patch_model(nn.Linear(4, 2), ArrayConfig(tile=(4, 4), v_read=1e308, mode=mode))
    with pytest.raises(OverflowError, match="overflowed"):
        model(torch.ones(1, 4))
    assert torch.isfinite(model.double()(torch.ones(1, 4, dtype=torch.float64))).all()


def test_huge_tiles_are_refused_with_a_memory_estimate_before_allocating():
    with pytest.raises(MemoryError, match=r"MemristiveLinear on 20000000000 cells \(tiles of 100000x100000\) "
                                          r"needs about 1.16 TiB"):
        patch_model(nn.Linear(4, 2), ArrayConfig(tile=(10**5, 10**5)))
    set_memory_limit_bytes(4000)
    try:
        with pytest.raises(MemoryError, match="needs about 8 KiB, over the limit of 3.91 KiB"):
            patch_model(nn.Linear(8, 8), ArrayConfig(tile=(8, 8)))
    finally:
        set_memory_limit_bytes(None)


# ----------------------------------------------------------------------------- global RNG
@pytest.mark.parametrize("build", [digits_mlp, digits_cnn])
def test_model_builders_neither_reseed_nor_draw_from_the_global_torch_rng(build):
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    a, b, c = build(seed=3), build(seed=3), build(seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    # torch's default law: Kaiming-uniform weights with a = sqrt(5) -> bound 1 / sqrt(fan_in)
    first = next(m for m in a.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    fan_in = first.weight[0].numel()
    assert first.weight.abs().max() <= 1 / math.sqrt(fan_in) and first.weight.abs().max() > 0.8 / math.sqrt(fan_in)


# ----------------------------------------------------------------------------- property test
_bad_tensor = st.one_of(
    st.sampled_from([np.nan, np.inf]).flatmap(lambda v: st.integers(0, 17).map(
        lambda i: torch.where(torch.arange(18) == i, v, 0.5).reshape(3, 6).double())),
    st.integers(0, 11).filter(lambda k: k != 6).map(lambda k: torch.ones(2, k, dtype=torch.float64)),
    st.sampled_from([torch.complex64, torch.int32, torch.bool]).map(lambda d: torch.zeros(2, 6, dtype=d)),
    st.sampled_from([np.ones((2, 6)), [[0.5] * 6], "x", None, 3.0]),
)
_bad_number = st.sampled_from([np.nan, np.inf, -np.inf, 1j, "1", None, [1.0], True])
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MODEL = {}


def shared_model():
    """One calibrated and tuned model for every example: each rejected call must leave it as it was."""
    if not MODEL:
        model = two_layers()
        calibrate_adc(model, torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
        tune(model, n_samples=16)
        MODEL["m"] = model
    return MODEL["m"]


@SETTINGS
@given(bad=_bad_tensor, which=st.sampled_from(["forward", "calibrate_adc", "tune"]))
def test_malformed_inputs_raise_naming_them_and_change_nothing(bad, which):
    if bad is None and which == "tune":
        return                                           # tune(data=None) is valid: random inputs
    model = shared_model()
    before = snapshot(model)
    call = {"forward": lambda: model(bad), "calibrate_adc": lambda: calibrate_adc(model, bad),
            "tune": lambda: tune(model, data=bad)}[which]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert any(word in str(info.value) for word in ("input", "data", "features", "mat1")), str(info.value)
    assert snapshot(model) == before


@SETTINGS
@given(bad=_bad_number, field=st.sampled_from(["n_samples", "low", "high", "seed"]))
def test_malformed_tune_numbers_raise_naming_them_and_change_nothing(bad, field):
    model = shared_model()
    before = snapshot(model)
    with pytest.raises((ValueError, TypeError), match=field):
        tune(model, **{field: bad})
    assert snapshot(model) == before


@SETTINGS
@given(bad=_bad_number, field=st.sampled_from(["r_on", "r_off", "v_read", "r_wl", "stuck_on", "prog_noise",
                                               "nonlinearity", "dac_bits", "adc_bits", "dac_range", "seed"]))
def test_malformed_config_fields_raise_naming_them(bad, field):
    if bad is None and field in ("dac_bits", "adc_bits", "dac_range"):
        return                                           # None is a valid value of these (off / dynamic)
    with pytest.raises((ValueError, TypeError), match=field):
        ArrayConfig(**{field: bad})


@pytest.mark.parametrize("call, exc, words", [
    (lambda m: m.bake("1h", 300.0), TypeError, "seconds must be a real number"),
    (lambda m: m.bake(1.0, 300j), TypeError, "kelvin must be a real number"),
    (lambda m: m.bake(-1.0, 300.0), ValueError, "seconds must be >= 0"),
    (lambda m: m.bake(1.0, 0.0), ValueError, "kelvin must be > 0"),
    (lambda m: m.cycle(2.5), TypeError, r"n \(cycles\) must be an integer"),
    (lambda m: m.cycle(-1), ValueError, r"n \(cycles\) must be an integer >= 0"),
])
@pytest.mark.parametrize("aging", ["engine", "drift"])
def test_layer_aging_arguments_are_checked_and_change_nothing(call, exc, words, aging):
    from cosim.nn.aging import DriftAging
    layer = patch_model(nn.Linear(4, 2).double(), ArrayConfig(tile=(4, 4)),
                        aging=None if aging == "engine" else DriftAging())
    before = snapshot(layer)
    with pytest.raises(exc, match=words):
        call(layer)
    assert snapshot(layer) == before


@pytest.mark.parametrize("aging", ["engine", "drift"])
def test_cycle_counts_never_wrap_whichever_aging_replays_them(aging):
    """int64 counters: cycle(2**62) twice would wrap to negative; cycle(10**19) does not fit at all."""
    from cosim.nn.aging import DriftAging
    layer = patch_model(nn.Linear(4, 2).double(), ArrayConfig(tile=(4, 4)),
                        aging=None if aging == "engine" else DriftAging())
    layer.cycle(2**62)
    before = snapshot(layer)
    for n in (2**62, 10**19):
        with pytest.raises(ValueError, match="overflow|past 9223372036854775807"):
            layer.cycle(n)
    assert snapshot(layer) == before


@pytest.mark.parametrize("call, exc, words", [
    (lambda: digits_mlp(hidden=2.5), TypeError, "hidden must be an integer"),
    (lambda: digits_mlp(hidden=-1), ValueError, "hidden must be an integer >= 1"),
    (lambda: digits_mlp(seed="x"), TypeError, "seed must be an integer"),
    (lambda: digits_cnn(channels=(8,)), TypeError, r"channels must be a pair \(c1, c2\)"),
    (lambda: digits_cnn(seed=-1), ValueError, "seed must be an integer >= 0"),
])
def test_model_builders_check_their_arguments(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
