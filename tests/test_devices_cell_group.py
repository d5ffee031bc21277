"""DeviceArray.cell_group / quiet_band / deterministic: a group of cells steps exactly as the whole array does
with the other cells held, and the quiet band is where the VTEAM law (closed form) is zero."""
import numpy as np
import pytest

from cosim.devices import VTEAM
from cosim.devices.nonideal import Nonidealities
from cosim.devices.variability import LogNormal


@pytest.mark.parametrize("preset", ["Pt/Hf/Ti", "HfOx"])
def test_a_group_steps_like_the_whole_array(preset):
    p = VTEAM.PRESETS[preset]
    n = 12
    a = VTEAM.preset(preset, n=n, rng=3, r_on=LogNormal(0.1, p.r_on))
    b = VTEAM.preset(preset, n=n, rng=3, r_on=LogNormal(0.1, p.r_on))
    a.set_state(np.linspace(p.w_on, p.w_off, n))
    b.set_state(np.linspace(p.w_on, p.w_off, n))
    cells = np.array([1, 4, 9])
    v = np.array([-1.3, 1.4, -2.0]) * (1.0 if preset == "Pt/Hf/Ti" else 1.2)
    full = np.zeros(n)
    full[cells] = v
    group = a.cell_group(cells)
    assert np.allclose(group.rate(v), b.rate(full)[cells], rtol=1e-14, atol=0)
    for dt in (1e-9, 3e-9):
        group.step(v, dt)
        b.step(full, dt)
    assert np.allclose(a.state, b.state, rtol=1e-14, atol=0)
    assert np.allclose(group.conductance(), b.conductance(noisy=False)[cells], rtol=1e-14, atol=0)
    start = group.state
    group.step(v, 1e-9)
    group.set_state(start)
    assert np.array_equal(a.state, b.state)


def test_quiet_band_is_where_the_rate_law_is_zero():
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    dev = VTEAM.preset("Pt/Hf/Ti", n=5, nonideal=Nonidealities(stuck_on=0.0))
    lo, hi = dev.quiet_band()
    assert np.all(lo == p.v_on) and np.all(hi == p.v_off)
    inside = np.array([p.v_on, 0.5 * p.v_on, 0.0, 0.5 * p.v_off, p.v_off])
    assert np.all(dev.rate(inside) == 0)
    assert np.all(dev.rate(np.array([p.v_on - 1e-6, p.v_off + 1e-6, -1, 1, 2])) != 0)
    stuck = VTEAM.preset("Pt/Hf/Ti", n=50, rng=0, nonideal=Nonidealities(stuck_on=0.5))
    lo, hi = stuck.quiet_band()
    frozen = stuck.faults.stuck_on
    assert frozen.any() and np.all(np.isinf(lo[frozen])) and np.all(np.isinf(hi[frozen]))


def test_groups_need_a_deterministic_model():
    dev = VTEAM.preset("Pt/Hf/Ti", n=4, rng=0, c2c={"k_on": LogNormal(0.1, 1.0)})
    assert not dev.deterministic
    with pytest.raises(ValueError, match="deterministic"):
        dev.cell_group([0, 1])
    assert VTEAM.preset("Pt/Hf/Ti", n=4).deterministic
    with pytest.raises(ValueError, match="cells"):
        VTEAM.preset("Pt/Hf/Ti", n=4).cell_group([4])
