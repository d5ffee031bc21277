"""RESET stop voltage programming (issue 12 item 8): a v_stop sets the HRS level by the documented
log-linear mapping, is recorded per cell, and the endurance law then uses seed 000's window at that voltage;
checked against the mapping and the law written out by hand."""
import math

import numpy as np
import pytest

from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.aging import EnduranceRetentionLaw, ResetStopWindow
from cosim.sim import AgingLaws
from cosim.sim.aging import AgingState
from cosim.sim.reset_stop import ResetStopLevels

WINDOW = ResetStopWindow(v_min=1.3, v_max=1.9, v_opt=1.5)
P0, P1, P3, D = 100.0, 0.1, 0.05, 10.0


def law():
    return EnduranceRetentionLaw("gradual", p0=P0, p1=P1, p3=P3, cell_size=D, reset_stop=WINDOW)


def hand_resistance(r0, x, v_stop=None):
    """Seed 000's gradual law: R = r0 (x / x_th)^(p3 u) beyond x_th, u = p1 d, and the window scaling
    ln x_th(V) = ln x_th * q(V) / q(v_opt), q = 1 - (2 s - 1)^2."""
    u = P1 * D
    ln_th = math.log(P0) + u
    if v_stop is not None:
        q = lambda v: 1 - (2 * (v - WINDOW.v_min) / (WINDOW.v_max - WINDOW.v_min) - 1) ** 2
        ln_th *= q(v_stop) / q(WINDOW.v_opt)
    return r0 * math.exp(max(math.log(x) - ln_th, 0.0) * P3 * u)


def test_levels_follow_the_log_linear_mapping():
    levels = ResetStopLevels(WINDOW, 2e4, 8e4)
    for v in (1.3, 1.45, 1.6, 1.9):
        s = (v - 1.3) / 0.6
        assert levels.hrs_resistance(v) == pytest.approx(2e4 * 4.0 ** s, rel=1e-12)
    with pytest.raises(ValueError, match="v_stop"):
        levels.hrs_resistance(2.0)
    with pytest.raises(ValueError, match="r_at_v_max"):
        ResetStopLevels(WINDOW, 2e4, -1.0)


def test_endurance_uses_each_cells_recorded_v_stop():
    state = AgingState(np.array([3e4, 3e4, 3e4]))
    state.v_stop[:] = [1.6, 1.8, np.nan]
    factor = state.endurance_factor(law(), np.ones(3, bool), 1000)
    expected = [hand_resistance(3e4, 1000, 1.6) / 3e4, hand_resistance(3e4, 1000, 1.8) / 3e4,
                hand_resistance(3e4, 1000) / 3e4]
    np.testing.assert_allclose(factor, expected, rtol=1e-9)
    assert len(set(np.round(factor, 6))) == 3          # the window matters


def test_program_v_stop_sets_the_hrs_and_the_endurance_window():
    eng = Engine()
    dev = VTEAM.preset("HfOx", n=3, rng=1)
    arr = eng.array(1, 3, cell="1R", device=dev, r_wl=0.0, r_bl=0.0, aging=AgingLaws(retention=None, endurance=law()))
    levels = ResetStopLevels(WINDOW, 2e4, 8e4)
    v_stop = np.array([[1.6, 1.8, np.nan]])
    g_third = arr.conductances()[0, 2]
    arr.program_v_stop(v_stop, levels, tolerance=0.01)
    g = arr.conductances()[0]
    np.testing.assert_allclose(1 / g[:2], [2e4 * 4.0 ** 0.5, 2e4 * 4.0 ** (0.5 / 0.6 * 1.0)], rtol=0.02)
    assert g[2] == g_third                                    # NaN: left alone
    np.testing.assert_array_equal(arr.aging.v_stop[:2], [1.6, 1.8])
    assert np.isnan(arr.aging.v_stop[2])
    c0 = arr.cycles[0].copy()
    arr.cycle(1000)
    after = arr.conductances()[0]
    for k, v in enumerate([1.6, 1.8, None]):
        x0, x1 = max(c0[k], 1), c0[k] + 1000
        ratio = hand_resistance(1.0, x1, v) / hand_resistance(1.0, x0, v)
        assert g[k] / after[k] == pytest.approx(ratio, rel=1e-6)


def test_program_v_stop_rejects_bad_input_before_any_change():
    eng = Engine()
    arr = eng.array(1, 2, cell="1R", device=VTEAM.preset("HfOx", n=2, rng=0), r_wl=0.0, r_bl=0.0)
    levels = ResetStopLevels(WINDOW, 2e4, 8e4)
    g = arr.conductances().copy()
    with pytest.raises(ValueError, match="aging_laws.endurance"):     # the default law has no window
        arr.program_v_stop(np.array([[1.6, 1.6]]), levels)
    arr.aging_laws = AgingLaws(retention=None, endurance=law())
    with pytest.raises(ValueError, match="v_stop"):
        arr.program_v_stop(np.array([[1.6, 2.5]]), levels)
    with pytest.raises(ValueError, match="v_stop"):
        arr.program_v_stop(np.array([1.6, 1.6]), levels)
    with pytest.raises(TypeError, match="levels"):
        arr.program_v_stop(np.array([[1.6, 1.6]]), WINDOW)
    np.testing.assert_array_equal(arr.conductances(), g)
    assert np.all(np.isnan(arr.aging.v_stop))
