"""Public entry points of cosim.devices reject malformed arguments before changing anything: the
error names the argument, and the device state, parameters and random stream stay bit-identical."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.devices import (VTEAM, DataDriven, DifferentialSynapse2T2R, EnduranceRetentionLaw, LinearIonDrift,
                           LinearIonDriftParams, Nonidealities, Normal, StanfordPKU, Uniform, VTEAMParams,
                           WeakResetHfOx, WeakResetNoise, windows)
from cosim.devices.weak_reset import PULSES_MAX
from cosim.validate import set_memory_limit_bytes

N = 6


def snapshot(dev):
    """Everything a rejected call must leave as it was."""
    return (dev.state.tobytes(), {k: v.tobytes() for k, v in dev.cell_params.items()},
            dev._last_polarity.tobytes(), str(dev._rng.bit_generator.state))


def vteam():
    dev = VTEAM.preset("Pt/Hf/Ti", n=N, rng=3, c2c={"r_off": Uniform(0.9, 1.1)})
    dev.set_state(np.linspace(1e-9, 9e-9, N))
    return dev


# ----------------------------------------------------------------------------- the subset methods
CELLS = np.array([0, 2, 5])


@pytest.mark.parametrize("call, exc, words", [
    (lambda d: d.set_state_of(CELLS, [1e-9, np.nan, 2e-9]), ValueError, "w must not be NaN"),
    (lambda d: d.set_state_of(CELLS, [1e-9, 2e-9]), ValueError, r"w must be a scalar or have shape \(3,\)"),
    (lambda d: d.set_state_of(CELLS, [1e-9, 2e-9, 3e-9 + 1j]), TypeError, "w must be real"),
    (lambda d: d.step_of(CELLS, [0.8, np.inf, 0.7], 1e-3), ValueError, "v must be finite"),
    (lambda d: d.step_of(CELLS, np.ones(4), 1e-3), ValueError, r"v must be a scalar or have shape \(3,\)"),
    (lambda d: d.step_of(CELLS, np.ones(3), np.nan), ValueError, "dt must be"),
    (lambda d: d.rate_of(CELLS, [0.8, np.nan, 0.7]), ValueError, "v must not be NaN"),
    (lambda d: d.state_for(CELLS, [np.nan, 1e-3, 1e-3]), ValueError, "g must not be NaN"),
    (lambda d: d.state_for(CELLS, np.ones(2)), ValueError, r"g must be a scalar or have shape \(3,\)"),
    (lambda d: d.state_of([0, N]), ValueError, rf"cells must be in \[0, {N}\)"),
    (lambda d: d.state_of([True, False]), TypeError, "cells must be integer indices"),
    (lambda d: d.conductance_of(np.array([0.0, 1.0])), TypeError, "cells must be integer indices"),
    (lambda d: d.set_state_of(np.zeros((2, 2), int), 1e-9), TypeError, "cells must be integer indices"),
])
def test_subset_methods_reject_bad_arguments_and_change_nothing(call, exc, words):
    dev = vteam()
    before = snapshot(dev)
    with pytest.raises(exc, match=words):
        call(dev)
    assert snapshot(dev) == before


def test_subset_methods_still_clip_finite_values_to_the_bounds():
    """Documented behaviour kept: finite out-of-range states and conductances are clipped, not refused."""
    dev = vteam()
    dev.set_state_of(CELLS, [-1.0, 5e-9, 1.0])
    assert dev.state_of(CELLS).tolist() == [0.0, 5e-9, 10e-9]
    g_off, g_on = dev.conductance_bounds()
    assert np.allclose(dev.state_for(CELLS, [0.0, 1.0, g_off[5]]), [10e-9, 0.0, 10e-9], rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- parameters at construction
@pytest.mark.parametrize("make, exc, words", [
    (lambda: VTEAMParams(r_on="100"), TypeError, "VTEAMParams.r_on must be real numbers; got a string"),
    (lambda: VTEAMParams(r_off=1000 + 1j), TypeError, "VTEAMParams.r_off must be real"),
    (lambda: VTEAMParams(k_off=True), TypeError, "VTEAMParams.k_off must be real numbers, not booleans"),
    (lambda: VTEAMParams(v_on=float("nan")), ValueError, "VTEAMParams.v_on must not be NaN"),
    (lambda: VTEAMParams(w_off=np.ones((2, 2))), ValueError, "VTEAMParams.w_off must be .* 1-D array"),
    (lambda: VTEAMParams(window="hann"), ValueError, r"VTEAMParams.window must be one of \['none'"),
    (lambda: VTEAMParams(r_model=1), ValueError, "VTEAMParams.r_model must be one of"),
    (lambda: VTEAMParams(dt=0.0), ValueError, "VTEAMParams.dt must be > 0"),
    (lambda: VTEAMParams(dt=float("inf")), ValueError, "VTEAMParams.dt must be finite"),
    (lambda: LinearIonDriftParams(mu_v=[1e-14, float("inf")]), ValueError, "LinearIonDriftParams.mu_v must be finite"),
    (lambda: LinearIonDriftParams(window="tukey"), ValueError, "LinearIonDriftParams.window must be one of"),
])
def test_parameter_dataclasses_validate_when_built(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


@pytest.mark.parametrize("make", [
    lambda: VTEAM.preset("Pt/Hf/Ti", r_on=3000.0),
    lambda: VTEAM.preset("Pt/Hf/Ti", n=40, rng=0, r_off=Normal(150.0, 100.0, low=1.0)),
    lambda: LinearIonDrift.preset(r_on=2e4),
])
def test_r_off_below_r_on_is_rejected(make):
    """R(w) laws put the high-resistance bound at w_off (VTEAM) / w = 0 (linear ion drift)."""
    with pytest.raises(ValueError, match="r_off must be > r_on"):
        make()


def test_a_huge_array_is_refused_with_its_memory_estimate_before_allocating():
    with pytest.raises(MemoryError, match=r"VTEAM of n=1000000000000 cells needs about .* TiB"):
        VTEAM.preset("TEAM", n=10**12)
    with pytest.raises(MemoryError, match=r"WeakResetHfOx of n=1000000000000 cells needs about"):
        WeakResetHfOx(10**12)
    dev = VTEAM.preset("TEAM", n=1000)
    set_memory_limit_bytes(2**20)
    try:
        with pytest.raises(MemoryError, match=r"currents of 1000 steps x 1000 cells needs about 7.63 MiB"):
            dev.simulate(np.zeros(1000), 1e-10)
    finally:
        set_memory_limit_bytes(None)
    assert np.all(dev.state == 0.0)


# ----------------------------------------------------------------------------- windows
@pytest.mark.parametrize("call", [
    lambda: windows.joglekar([2.0]), lambda: windows.joglekar(-0.1, 2.0),
    lambda: windows.biolek(1.5, 1.0), lambda: windows.prodromakis([0.5, 1.0 + 1e-9]),
])
def test_windows_are_defined_on_the_unit_interval_only(call):
    """Outside [0, 1] the polynomial windows turn negative (Joglekar(2) = -8): an error, not a value."""
    with pytest.raises(ValueError, match=r"x \(normalised state\) must be (>= 0|<= 1)"):
        call()


@pytest.mark.parametrize("call, exc", [
    (lambda: windows.joglekar([np.nan]), ValueError), (lambda: windows.joglekar(0.5 + 0.1j), TypeError),
    (lambda: windows.biolek(0.5, np.nan), ValueError), (lambda: windows.joglekar(0.5, p="2"), TypeError),
    (lambda: windows.prodromakis(0.5, 1.0, j=-1.0), ValueError),
])
def test_windows_reject_non_real_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_windows_at_the_ends_of_the_interval():
    assert windows.joglekar([0.0, 1.0], 2.0).tolist() == [0.0, 0.0]
    assert windows.biolek(1.0, 1.0).tolist() == 0.0 and windows.biolek(1.0, -1.0).tolist() == 1.0


# ----------------------------------------------------------------------------- counters
def test_pulse_counters_never_wrap():
    dev = WeakResetHfOx(3, rng=0)
    dev.apply_pulses(2**62)
    before = (dev.pulses.copy(), dev.resistance())
    with pytest.raises(ValueError, match=r"would overflow cell 0's pulse counter \(4611686018427387904 pulses"):
        dev.apply_pulses(2**62)
    with pytest.raises(ValueError, match=rf"counts must be <= {PULSES_MAX}"):
        dev.apply_pulses(float(10**19))
    with pytest.raises(ValueError, match="counts must be"):
        dev.apply_pulses(np.array([10**19, 0, 0], dtype=np.uint64))
    assert np.array_equal(dev.pulses, before[0]) and np.array_equal(dev.resistance(), before[1])


def test_synapse_update_checks_both_devices_before_pulsing_either():
    syn = DifferentialSynapse2T2R.create(2, rng=1)
    syn.blb.apply_pulses([0, PULSES_MAX - 5])
    bl_before, blb_before = syn.bl.pulses.copy(), syn.blb.pulses.copy()
    with pytest.raises(ValueError, match="would overflow cell 1's pulse counter"):
        syn.update([1.0, -1.0], learning_rate=10.0)        # BL cell 0 would get 10; BLb cell 1 overflows
    assert np.array_equal(syn.bl.pulses, bl_before) and np.array_equal(syn.blb.pulses, blb_before)
    with pytest.raises(ValueError, match="learning_rate \\* \\|delta_w\\| must be <="):
        syn.update([1e300, 0.0], learning_rate=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        syn.update([1.0, -1.0], learning_rate=float("nan"))
    with pytest.raises(TypeError, match="delta_w must be real"):
        syn.update([1.0, -1.0j], learning_rate=1.0)


# ----------------------------------------------------------------------------- property test
MODELS = [lambda: vteam(), lambda: LinearIonDrift.preset(n=N, rng=2), lambda: StanfordPKU.preset(n=N, rng=2),
          lambda: DataDriven.preset(n=N, rng=2)]

_junk = st.sampled_from([np.nan, np.inf, -np.inf, 1 + 2j, "0.1", True, None, b"x", [1.0, "a"], {}, object()])
_wrong_length = st.integers(0, 12).filter(lambda k: k not in (1, N)).map(lambda k: np.full(k, 0.1))
_poisoned = st.tuples(st.integers(0, N - 1), st.sampled_from([np.nan, np.inf, -np.inf, 1j])).map(
    lambda t: np.where(np.arange(N) == t[0], t[1], 0.1 + 0j) if t[1] == 1j
    else np.where(np.arange(N) == t[0], t[1], 0.1))
bad_per_cell = st.one_of(_junk, _wrong_length, _poisoned, st.just(np.zeros((N, 2))))
bad_cells = st.one_of(_junk, st.just([0, N]), st.just([-1]), st.just(np.array([0.0, 1.0])),
                      st.just(np.ones(N, bool)), st.just(np.zeros((2, 2), int)))
bad_dt = st.sampled_from([0.0, -1e-9, np.nan, np.inf, 1j, "1e-9", True, [1e-9]])   # None: the preset dt

# (method, argument name, builds the call from a malformed value)
CALLS = [
    ("set_state", "w|g", lambda bad: lambda d: d.set_state(bad)),
    ("set_conductance", "g", lambda bad: lambda d: d.set_conductance(bad)),
    ("current", "v", lambda bad: lambda d: d.current(bad)),
    ("rate", "v_cells", lambda bad: lambda d: d.rate(bad)),
    ("step", "v_cells", lambda bad: lambda d: d.step(bad, 1e-12)),
    ("simulate", "v", lambda bad: lambda d: d.simulate(bad if np.ndim(bad) != 1 else bad[:, None], 1e-12)),
    ("set_state_of", "w|g|cells", lambda bad: lambda d: d.set_state_of(CELLS, bad)),
    ("rate_of", "v", lambda bad: lambda d: d.rate_of(CELLS, bad)),
    ("step_of", "v", lambda bad: lambda d: d.step_of(CELLS, bad, 1e-12)),
    ("state_for", "g", lambda bad: lambda d: d.state_for(CELLS, bad)),
]
CELL_CALLS = [
    ("state_of", lambda bad: lambda d: d.state_of(bad)),
    ("conductance_of", lambda bad: lambda d: d.conductance_of(bad)),
    ("rate_of", lambda bad: lambda d: d.rate_of(bad, 0.1)),
    ("step_of", lambda bad: lambda d: d.step_of(bad, 0.1, 1e-12)),
    ("set_state_of", lambda bad: lambda d: d.set_state_of(bad, 0.0)),
    ("state_for", lambda bad: lambda d: d.state_for(bad, 1e-3)),
]
DT_CALLS = [
    ("step", lambda bad: lambda d: d.step(0.1, bad)),
    ("simulate", lambda bad: lambda d: d.simulate(np.zeros(3), bad)),
    ("advance", lambda bad: lambda d: d.advance(np.zeros(3), bad)),
    ("step_of", lambda bad: lambda d: d.step_of(CELLS, 0.1, bad)),
]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
counts = {"cases": 0}


def check_rejected(dev, call, names):
    before = snapshot(dev)
    with pytest.raises((ValueError, TypeError)) as info:
        call(dev)
    message = str(info.value)
    assert any(name in message for name in names.split("|")), message
    assert snapshot(dev) == before
    counts["cases"] += 1


@SETTINGS
@given(model=st.sampled_from(range(len(MODELS))), which=st.sampled_from(range(len(CALLS))), bad=bad_per_cell)
def test_malformed_per_cell_arguments_raise_naming_them_and_change_nothing(model, which, bad):
    dev = MODELS[model]()
    name, names, make = CALLS[which]
    if name == "set_state":                        # each model's state has its own name
        names = f"{names}|{dev.STATE_NAME}"
    if name == "set_state_of":
        names = f"{names}|{dev.STATE_NAME}"
    if isinstance(bad, np.ndarray) and bad.ndim == 1 and bad.size == CELLS.size and name.endswith("_of"):
        bad = np.append(bad, 0.1)                  # the right length for a subset is a valid call
    check_rejected(dev, make(bad), names)


@SETTINGS
@given(model=st.sampled_from(range(len(MODELS))), which=st.sampled_from(range(len(CELL_CALLS))), bad=bad_cells)
def test_malformed_cell_indices_raise_naming_them_and_change_nothing(model, which, bad):
    check_rejected(MODELS[model](), CELL_CALLS[which][1](bad), "cells")


@SETTINGS
@given(model=st.sampled_from(range(len(MODELS))), which=st.sampled_from(range(len(DT_CALLS))), bad=bad_dt)
def test_malformed_time_steps_raise_naming_them_and_change_nothing(model, which, bad):
    check_rejected(MODELS[model](), DT_CALLS[which][1](bad), "dt")


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Nonidealities(read_noise="x"), TypeError, "Nonidealities.read_noise must be"),
    (lambda: Nonidealities(stuck_on=True), TypeError, "Nonidealities.stuck_on"),
    (lambda: Nonidealities(r_unformed=1e6 + 1j), TypeError, "Nonidealities.r_unformed must be a real number"),
    (lambda: Nonidealities(r_unformed=[1e6]), TypeError, "Nonidealities.r_unformed must be a real number"),
    (lambda: WeakResetNoise(p_high=None), TypeError, "WeakResetNoise.p_high must be a real number"),
    (lambda: WeakResetNoise(alpha=[1.0, 2.0]), TypeError, "WeakResetNoise.alpha must be a real number"),
    (lambda: WeakResetNoise(alpha=float("inf")), ValueError, "WeakResetNoise.alpha must be finite"),
    (lambda: EnduranceRetentionLaw("sudden", p0=1e-9, p1=0.0, p2=46.0, r_stable=2.6e7).resistance(True, 1.0),
     TypeError, "r0"),
    (lambda: EnduranceRetentionLaw("sudden", p0=1e-9, p1=0.0, p2=46.0, r_stable=2.6e7).resistance(1e4, 1j),
     TypeError, "must be real"),
])
def test_noise_fault_and_aging_values_are_checked_naming_them(make, exc, words):
    """Before: these raised numpy's own words ("must be real number, not str", "truth value of an array
    is ambiguous") or were accepted (True as a proportion, a complex stress with its imaginary part dropped)."""
    with pytest.raises(exc, match=words):
        make()


def test_c2c_must_be_a_mapping_of_distributions():
    with pytest.raises(TypeError, match=r"c2c must be a mapping of parameter name -> Distribution"):
        VTEAM.preset("TEAM", n=2, c2c=[("r_off", Uniform(0.9, 1.1))])
