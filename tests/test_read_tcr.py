"""Temperature coefficient of resistance at reads (issue 12 item 2): a read at T sees
G(T) = G(300 K) / (1 + tcr (T - 300 K)), against that closed form with the series resistances written out;
the stored state stays the 300 K state."""
import numpy as np
import pytest

from cosim import Engine
from cosim.devices import VTEAM
from cosim.sim import AgingLaws

TCR = 2.5e-3                  # 1/K, a metallic-like filament (chosen for the test, not a published value)
R_T, R_SENSE = 1e3, 50.0      # ohm, access transistor and sense resistance of the 1T1R case


def hfox(n, r_cell, tcr=TCR):
    dev = VTEAM.preset("HfOx", n=n, rng=0, tcr_per_k=tcr)
    dev.set_conductance(1.0 / np.asarray(r_cell, float))
    return dev


def no_aging():
    return AgingLaws(retention=None, endurance=None)


@pytest.mark.parametrize("kelvin", [250.0, 300.0, 400.0, 523.0])
def test_1r_read_follows_the_tcr_closed_form(kelvin):
    r300 = np.array([5e3, 2e4, 1e5])
    eng = Engine(temperature=kelvin)
    arr = eng.array(1, 3, cell="1R", device=hfox(3, r300), r_wl=0.0, r_bl=0.0, aging=no_aging())
    state = arr.device.state
    currents = arr.read(np.array([0.1]))
    r_t = r300 * (1 + TCR * (kelvin - 300.0))
    np.testing.assert_allclose(currents, 0.1 / r_t, rtol=1e-9)
    np.testing.assert_array_equal(arr.device.state, state)                  # the state stays the 300 K one
    np.testing.assert_allclose(arr.conductances().ravel(), 1 / r300, rtol=1e-12)


def test_1t1r_row_read_and_cell_read_apply_the_tcr():
    r300 = np.array([8e3, 6e4])
    eng = Engine(temperature=300.0)
    arr = eng.array(2, 1, cell="1T1R", device=hfox(2, r300), r_wl=0.0, r_bl=0.0, r_sense=R_SENSE,
                    r_on_transistor=R_T, aging=no_aging())
    cold = arr.read(np.array([0.2, 0.0]), select_rows=[0])[0]
    eng.set_temperature(450.0)
    hot = arr.read(np.array([0.2, 0.0]), select_rows=[0])[0]
    assert cold == pytest.approx(0.2 / (r300[0] + R_T + R_SENSE), rel=1e-9)
    assert hot == pytest.approx(0.2 / (r300[0] * (1 + TCR * 150.0) + R_T + R_SENSE), rel=1e-9)


def test_cell_read_and_bake_temperature():
    r300 = np.full(4, 1e4)
    eng = Engine(temperature=300.0)
    arr = eng.array(2, 2, cell="1R", device=hfox(4, r300, tcr=-1e-3), r_wl=0.0, r_bl=0.0, aging=no_aging())
    eng.set_temperature(360.0)
    i = arr.read_cell(0, 0, unselected="grounded", voltage=0.1)
    assert i == pytest.approx(0.1 / (1e4 * (1 - 1e-3 * 60.0)), rel=1e-9)
    eng.set_temperature(300.0)                     # back at T_ref: no correction
    assert arr.read_cell(1, 1, unselected="grounded", voltage=0.1) == pytest.approx(0.1 / 1e4, rel=1e-9)


def test_default_presets_have_no_tcr():
    eng = Engine(temperature=400.0)
    arr = eng.array(1, 1, cell="1R", device=VTEAM.preset("HfOx", n=1, rng=0), r_wl=0.0, r_bl=0.0, aging=no_aging())
    assert arr.device.params.tcr_per_k == 0.0
    assert arr.read(np.array([0.1]))[0] == pytest.approx(0.1 * arr.conductances()[0, 0], rel=1e-12)


def test_bad_tcr_is_an_error_naming_it():
    with pytest.raises(ValueError, match="tcr_per_k"):
        VTEAM.preset("HfOx", n=1, tcr_per_k=float("nan"))
    dev = VTEAM.preset("HfOx", n=1, tcr_per_k=-5e-3)             # R(T) <= 0 above 500 K
    with pytest.raises(ValueError, match="tcr_per_k"):
        dev.tcr_scale(600.0)
    with pytest.raises(ValueError, match="kelvin"):
        dev.tcr_scale(-1.0)
