"""Temperature reaches the devices (issue 12 item 2): a Stanford-PKU array on the engine switches at the
engine's ambient, against the model's Arrhenius rate written out in the test."""
import math

import numpy as np
import pytest

from cosim import Engine
from cosim.devices import StanfordPKU

Q, KB = 1.6e-19, 1.3806503e-23          # the published parameter set's constants


def gap_rate(v, kelvin, p):
    """dg/dt (m/s) of Stanford-PKU with beta = 0 and no self-heating (r_th -> 0): constant in the gap."""
    kt = KB * kelvin
    return -p.nu0 * math.exp(-Q * p.e_a / kt) * math.sinh(p.gamma0 * p.a0 * Q * v / (p.t_ox * kt))


def set_pulse(kelvin, width_s, v=1.3):
    eng = Engine(temperature=kelvin)
    dev = StanfordPKU.preset(n=1, beta=0.0, r_th=1e-30)
    dev.set_state(dev.state_bounds()[1])                      # the largest gap (HRS)
    arr = eng.array(1, 1, cell="1R", device=dev, r_wl=0.0, r_bl=0.0)
    g0 = dev.state[0]
    arr.pulse(np.array([v]), width_s=width_s)
    return dev, g0 - dev.state[0]


def test_stanford_pku_set_follows_the_engine_ambient_arrhenius():
    p = StanfordPKU.preset(n=1, beta=0.0, r_th=1e-30).params
    width = 2e-8
    dev300, moved300 = set_pulse(300.0, width)
    dev400, moved400 = set_pulse(400.0, width)
    assert dev300.ambient == 300.0 and dev400.ambient == 400.0
    assert moved300 == pytest.approx(-gap_rate(1.3, 300.0, p) * width, rel=1e-6)
    assert moved400 == pytest.approx(-gap_rate(1.3, 400.0, p) * width, rel=1e-6)
    # the SET time (full gap range at a constant rate) scales by the Arrhenius x field factor
    factor = gap_rate(1.3, 400.0, p) / gap_rate(1.3, 300.0, p)
    assert factor > 3
    assert moved400 / moved300 == pytest.approx(factor, rel=1e-6)


def test_bake_and_ambient_changes_reach_the_device():
    eng = Engine(temperature=300.0)
    dev = StanfordPKU.preset(n=4)
    arr = eng.array(2, 2, cell="1R", device=dev)
    eng.set_temperature(350.0)
    assert dev.ambient == 350.0

    def during_bake():
        yield from arr.bake_process(1.0, 450.0)
    proc = eng.env.process(during_bake())
    eng.run(until=0.5)
    assert dev.ambient == 450.0 and arr.temperature == 450.0
    eng.run(until=proc)
    assert dev.ambient == 350.0
