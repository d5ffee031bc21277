"""ArrayConfig: defaults of the public contract, validation naming the field, dict round trip."""
import dataclasses

import pytest

from cosim.nn import ArrayConfig


def test_defaults_are_the_public_contract():
    cfg = ArrayConfig()
    assert cfg.tile == (64, 64) and cfg.scheme == "double-column" and cfg.mode == "ideal"
    assert (cfg.r_on, cfg.r_off, cfg.r_wl, cfg.r_bl) == (1e3, 1e5, 0.0, 0.0)
    assert (cfg.stuck_on, cfg.stuck_off, cfg.d2d_sigma) == (0.0, 0.0, 0.0)
    assert cfg.states is None and cfg.dac_bits is None and cfg.adc_bits is None and cfg.seed == 0
    assert cfg.g_on == pytest.approx(1e-3) and cfg.g_off == pytest.approx(1e-5)
    assert ArrayConfig(scheme="single-column").weight_block == (64, 63)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ArrayConfig().mode = "circuit"


@pytest.mark.parametrize("field,value", [
    ("tile", (0, 4)), ("tile", (4,)), ("tile", (4.5, 4)), ("scheme", "triple-column"), ("mode", "spice"),
    ("r_on", 0.0), ("r_off", -1.0), ("r_off", float("nan")), ("r_wl", -0.1), ("r_bl", float("inf")),
    ("r_source", -1.0), ("r_sense", -1.0), ("cell", "2T2R"), ("r_transistor", -5.0),
    ("stuck_on", 1.5), ("stuck_off", -0.1), ("d2d_sigma", -0.2), ("states", 1), ("states", 3.5),
    ("prog_noise", -0.01), ("nonlinearity", -1.0), ("v_read", 0.0), ("dac_bits", 1), ("dac_bits", 0),
    ("dac_range", 0.0), ("input_encoding", "ternary"), ("adc_bits", 1), ("adc_range", -1e-6),
    ("scale", "row"), ("clip_percentile", 0.0), ("clip_percentile", 101.0), ("seed", -1), ("seed", 1.5),
])
def test_bad_values_raise_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ArrayConfig(**{field: value})


def test_cross_field_checks():
    with pytest.raises(ValueError, match="r_on"):
        ArrayConfig(r_on=1e5, r_off=1e3)
    with pytest.raises(ValueError, match="stuck_on"):
        ArrayConfig(stuck_on=0.6, stuck_off=0.6)
    with pytest.raises(ValueError, match="tile"):
        ArrayConfig(tile=(8, 1), scheme="single-column")
    ArrayConfig(dac_bits=1, input_encoding="two-phase")  # a 1-bit unsigned DAC is fine per phase


def test_dict_round_trip_and_unknown_keys():
    cfg = ArrayConfig(tile=(16, 8), scheme="single-column", mode="circuit", r_wl=1.5, states=5, adc_bits=6, seed=7)
    assert ArrayConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="bogus"):
        ArrayConfig.from_dict({**cfg.to_dict(), "bogus": 1})
