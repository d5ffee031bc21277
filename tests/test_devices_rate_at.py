"""rate_at / conductance_at: a device's rate law and read conductance at given states (planners), against the
VTEAM closed forms; the cells' present state is neither read nor changed."""
import numpy as np
import pytest

from cosim.devices import VTEAM
from cosim.devices.nonideal import Nonidealities

P = VTEAM.PRESETS["Pt/Hf/Ti"]


def vteam_rate(v):
    """Pt/Hf/Ti (no window): k_off (v / v_off - 1)^alpha_off above v_off, k_on (v / v_on - 1)^alpha_on below v_on."""
    v = np.asarray(v, float)
    out = np.zeros_like(v)
    up, down = v > P.v_off, v < P.v_on
    out[up] = P.k_off * (v[up] / P.v_off - 1) ** P.alpha_off
    out[down] = P.k_on * (v[down] / P.v_on - 1) ** P.alpha_on
    return out


def test_rate_at_is_the_rate_law_over_cells_and_candidates():
    dev = VTEAM.preset("Pt/Hf/Ti", n=5, rng=0)
    before = dev.state
    cells = np.array([4, 0, 2])
    v = np.array([[0.9, 0.3, -0.7, -1.2], [1.4, -0.5, -0.54, 0.51], [0.0, 2.0, -2.0, 0.6]])
    s = np.array([1e-9, 5e-9, 9e-9])                  # one state per cell, broadcast over the candidates
    assert dev.rate_at(cells, v, s[:, None]) == pytest.approx(vteam_rate(v), rel=1e-13, abs=0)
    assert dev.rate_at(cells, v, s[:, None]).shape == (3, 4)
    assert dev.rate_at(cells, 1.0, 2e-9) == pytest.approx(vteam_rate(np.full(3, 1.0)), rel=1e-13)
    assert np.array_equal(dev.state, before)


def test_conductance_at_is_the_read_law_at_those_states():
    lin = VTEAM.preset("Pt/Hf/Ti", n=2)
    w = np.array([[0.0, 2.5e-9, 1e-8], [7e-9, 1e-8, 12e-9]])       # the last is beyond w_off: clipped
    x = np.clip(w / P.w_off, 0, 1)
    assert lin.conductance_at(np.array([0, 1]), w) == pytest.approx(1 / (P.r_on + (P.r_off - P.r_on) * x), rel=1e-13)
    expo = VTEAM.preset("HfOx", n=1)
    h = VTEAM.PRESETS["HfOx"]
    assert expo.conductance_at(np.array([0]), np.array([1.5e-9]))[0] == pytest.approx(
        1 / (h.r_on * np.sqrt(h.r_off / h.r_on)), rel=1e-12)


def test_stuck_cells_do_not_move_at_any_state():
    dev = VTEAM.preset("Pt/Hf/Ti", n=40, rng=3, nonideal=Nonidealities(stuck_off=0.5))
    stuck = dev.faults.stuck_off
    assert stuck.any() and not stuck.all()
    rate = dev.rate_at(np.arange(40), np.full((40, 2), -1.5), 5e-9)
    assert np.all(rate[stuck] == 0) and np.all(rate[~stuck] < 0)


@pytest.mark.parametrize("call,err,match", [
    (lambda d: d.rate_at(np.array([0, 1]), np.ones(3), 0.0), ValueError, "first axis has one entry per cell"),
    (lambda d: d.rate_at(np.array([0, 1]), np.array([1.0, np.nan]), 0.0), ValueError, "v must not be NaN"),
    (lambda d: d.rate_at(np.array([0, 7]), 1.0, 0.0), ValueError, r"cells must be in \[0, 3\)"),
    (lambda d: d.conductance_at(np.array([0.5]), 0.0), TypeError, "integer indices"),
    (lambda d: d.conductance_at(np.array([0]), np.ones((2, 2))), ValueError, "first axis"),
])
def test_bad_arguments_are_refused(call, err, match):
    dev = VTEAM.preset("Pt/Hf/Ti", n=3)
    with pytest.raises(err, match=match):
        call(dev)
