"""The engine's clock ages everything (issue 12 items 1, 5, 10 and issue 9's engine checks): retention is
integrated piecewise over the temperature history, against the seed-000 law evaluated by hand."""
import numpy as np
import pytest

from cosim import Engine
from cosim.devices.aging import EnduranceRetentionLaw
from cosim.sim import AgingLaws
from cosim.sim.aging import default_retention
from cosim.devices import VTEAM

LRS_LAW = EnduranceRetentionLaw.published("3B_O", "LRS")


def by_hand(r0, segments, law=LRS_LAW, split=None, rising=True):
    """The gradual law R = r0 (x / x_th(T))^(p3 u(T)) over (seconds, kelvin) segments, written out: at each
    temperature change the stress is re-expressed as the time that gives the same R at the new temperature."""
    r, x, t_prev = r0, 0.0, None
    for seconds, kelvin in segments:
        x_th, k = float(law.threshold(kelvin)), law.p3 * float(law.activation(kelvin))
        k = k if rising else -k
        if t_prev is not None and t_prev != kelvin:
            x = x_th * (r / r0) ** (1.0 / k) if r != r0 else x * x_th / float(law.threshold(t_prev))
        x += seconds
        r = r0 * max(x / x_th, 1.0) ** k
        if split is not None:
            r = min(r, split) if rising else max(r, split)
        t_prev = kelvin
    return r


def lrs_array(eng, r0=200.0, law=LRS_LAW):
    arr = eng.array(2, 2, cell="1R", seed=0, device=VTEAM.preset("Pt/Hf/Ti", n=4, rng=0), r_wl=1.0, r_bl=1.0,
                    aging=AgingLaws(retention=law))
    arr.device.set_conductance(np.full(4, 1.0 / r0))
    arr.aging.reprogrammed(np.ones(4, bool), np.full(4, r0))
    return arr


def test_idle_integrates_a_temperature_profile_piecewise():
    # 100 s at 573 K, then 500 K, in one idle(1e4) == the two idles split by hand
    eng = Engine(temperature=573.0)
    arr = lrs_array(eng)
    eng.temperature_profile([(100.0, 500.0)])
    arr.idle(1e4)
    eng2 = Engine(temperature=573.0)
    arr2 = lrs_array(eng2)
    arr2.idle(100.0)
    eng2.set_temperature(500.0)
    arr2.idle(9900.0)
    assert np.allclose(arr.conductances(), arr2.conductances(), rtol=1e-9, atol=0)
    expected = by_hand(200.0, [(100.0, 573.0), (9900.0, 500.0)])
    assert expected > 5 * 200.0                               # both segments moved the cells
    assert np.allclose(1.0 / arr.conductances(), expected, rtol=1e-9)


def test_run_until_and_gaps_age_every_array():
    eng = Engine(temperature=573.0)
    a, b = lrs_array(eng), lrs_array(eng)
    eng.run(until=60.0)
    assert np.allclose(1.0 / a.conductances(), by_hand(200.0, [(60.0, 573.0)]), rtol=1e-9)
    # an operation on one array is time for the others too
    a.idle(40.0)
    assert np.allclose(1.0 / b.conductances(), by_hand(200.0, [(100.0, 573.0)]), rtol=1e-9)
    # a bake at its own temperature, with the ambient held elsewhere
    eng2 = Engine(temperature=300.0)
    c = lrs_array(eng2)
    c.bake(60.0, 573.0)
    assert np.allclose(1.0 / c.conductances(), by_hand(200.0, [(60.0, 573.0)]), rtol=1e-9)


def level_law_by_hand(r0, r_split, r_ref, segments):
    """The level law of seed 000's 3B LRS fit written out: the log-distance to the split keeps the fraction
    f = (x / x_th(T))^-a(T), a = p3 u(T) / ln(r_split / r_ref); f carries over a temperature change."""
    f = 1.0
    for seconds, kelvin in segments:
        x_th = float(LRS_LAW.threshold(kelvin))
        a = LRS_LAW.p3 * float(LRS_LAW.activation(kelvin)) / np.log(r_split / r_ref)
        x = x_th * f ** (-1.0 / a) if f < 1 else 0.0
        f = max((x + seconds) / x_th, 1.0) ** (-a)
    return r_split * np.exp(np.log(r0 / r_split) * f)


def test_every_level_drifts_gradually_toward_the_split():
    eng = Engine(temperature=573.0)
    arr = eng.array(1, 4, cell="1R", seed=0, device=VTEAM.preset("Pt/Hf/Ti", n=4, rng=0))
    law = arr.aging_laws.retention
    lo, hi = arr.conductance_bounds()
    r_lrs, r_hrs = 1.0 / np.median(hi), 1.0 / np.median(lo)
    r0 = np.exp(np.linspace(np.log(r_lrs * 1.1), np.log(r_hrs * 0.9), 4))     # LRS, two MLC levels, HRS
    arr.device.set_conductance(1.0 / r0)
    arr.aging.reprogrammed(np.ones(4, bool), r0)
    history = []
    for t in (10.0, 100.0, 1000.0):
        eng.run(until=t)
        history.append((1.0 / arr.conductances()).ravel())
    eng.set_temperature(523.0)
    eng.run(until=2000.0)
    r = (1.0 / arr.conductances()).ravel()
    segments = [(1000.0, 573.0), (1000.0, 523.0)]
    expected = [level_law_by_hand(r, law.r_split, r_lrs, segments) for r in r0]
    assert np.allclose(r, expected, rtol=1e-9)
    d = np.abs(np.log(np.array([r0] + history + [r]) / law.r_split))
    assert np.all(np.diff(d, axis=0) <= 0) and np.all(d[-1] > 0)           # closer every time, never across
    assert np.all(np.diff(np.array(history), axis=1) > 0)                   # levels keep their order
    steps = np.abs(np.diff(np.log(np.array(history)), axis=0))
    assert np.all(steps < 0.9 * np.log(law.r_split / r_lrs))                # no jump to the split within a decade


def test_small_disturb_keeps_retention_history_a_reprogram_restarts_it():
    def disturbed(fraction):
        eng = Engine(temperature=300.0)
        law = LRS_LAW
        arr = eng.array(1, 1, cell="1R", seed=0, device=VTEAM.preset("Pt/Hf/Ti", n=1, rng=0), r_wl=0.0, r_bl=0.0,
                        aging=AgingLaws(retention=law, restart_fraction=fraction))
        arr.device.set_conductance(np.array([1.0 / 300.0]))
        arr.aging.reprogrammed(np.ones(1, bool), np.array([300.0]))
        arr.bake(1000.0, 523.0)
        g0 = arr.conductances()[0, 0]
        arr.pulse(np.array([0.7]), width_s=1e-5)             # just above v_off: a tiny RESET disturb
        shift = arr.conductances()[0, 0] / g0
        arr.bake(1000.0, 523.0)
        return 1.0 / arr.conductances()[0, 0], shift
    r_kept, shift = disturbed(0.02)
    assert 1e-5 < 1 - shift < 1e-3
    # the law over the whole 2000 s (the gaps at 300 K add nothing), times the disturb
    assert r_kept == pytest.approx(by_hand(300.0, [(2000.0, 523.0)]) / shift, rel=1e-6)
    r_restarted, _ = disturbed(0.0)
    assert r_restarted < 0.8 * r_kept                        # history erased: aged 1000 s from the new level


def test_trace_records_list_addressed_lines():
    eng = Engine()
    arr = eng.array(3, 4, cell="1T1R", seed=1)
    arr.read(np.array([0.1, 0.0, 0.0]), select_rows=[0])
    arr.pulse(np.zeros(3), v_bl=np.array([-0.8, 0.0, 0.0, 0.0]), width_s=1e-8, select_rows=[1],
              floating_bl=np.array([False, False, True, False]))
    arr.idle(1.0)
    arr.cycle(3, rows=[2], cols=[0, 3])
    read, pulse, idle, cycle = arr.trace.records
    assert (read.rows, read.cols) == ([0], [0, 1, 2, 3])
    assert (pulse.rows, pulse.cols) == ([1], [0, 1, 3])
    assert (idle.rows, idle.cols) == ([0, 1, 2], [0, 1, 2, 3])
    assert (cycle.rows, cycle.cols) == ([2], [0, 3])


@pytest.mark.parametrize("call,error,match", [
    (lambda e, a: Engine(temperature=True), TypeError, "temperature"),
    (lambda e, a: e.set_temperature("hot"), TypeError, "temperature"),
    (lambda e, a: e.run(until=float("nan")), ValueError, "until"),
    (lambda e, a: e.run(until=-1.0), ValueError, "until"),
    (lambda e, a: a.pulse([np.nan, 0.0, 0.0], width_s=1e-8, select_rows=[0]), ValueError, "v_wl"),
    (lambda e, a: a.pulse([0.0, 0.0], width_s=1e-8), ValueError, "v_wl"),
    (lambda e, a: a.pulse(np.zeros(3), v_bl=[0.0, np.inf, 0.0], width_s=1e-8), ValueError, "v_bl"),
    (lambda e, a: a.read([np.nan, 0.1, 0.1]), ValueError, "read voltages"),
    (lambda e, a: a.idle(True), TypeError, "duration"),
    (lambda e, a: a.cycle(1.5), TypeError, "cycles"),
])
def test_bad_input_is_rejected_before_any_change(call, error, match):
    eng = Engine()
    arr = eng.array(3, 3, cell="1T1R", seed=0)
    g0 = arr.conductances()
    with pytest.raises(error, match=match):
        call(eng, arr)
    assert np.array_equal(arr.conductances(), g0) and eng.now == 0.0 and len(arr.trace) == 0


def test_cycle_counters_reach_int64_without_wrapping():
    eng = Engine()
    arr = eng.array(1, 2, cell="1R", seed=0, aging=AgingLaws(retention=None))
    top = np.iinfo(np.int64).max
    arr.cycle(top, cols=[0])
    assert arr.cycles[0, 0] == top and arr.cycles[0, 1] == 0
    with pytest.raises(ValueError, match="overflow"):
        arr.cycle(1, cols=[0])
    assert arr.cycles[0, 0] == top
