"""Read disturb and wear from switching (issue 12 items 6 and 4), against the VTEAM rate law written out."""
import numpy as np
import pytest

from cosim import Engine
from cosim.devices import VTEAM
from cosim.sim import CosimConfig


def team_cell(cosim=None, w0=0.5e-9):
    eng = Engine()
    dev = VTEAM.preset("TEAM", n=1)
    dev.set_state(np.array([w0]))
    arr = eng.array(1, 1, cell="1R", device=dev, r_wl=0.0, r_bl=0.0, cosim=cosim)
    return eng, arr


def test_reads_disturb_a_team_cell_by_its_rate_law():
    p = VTEAM.PRESETS["TEAM"]
    eng, arr = team_cell()
    for _ in range(100):
        arr.read(np.array([0.1]))
    # TEAM, window "none": dw/dt = k_off (v / v_off - 1)^alpha_off above v_off, constant; R linear in w
    w = 0.5e-9 + 100 * arr.timing.read_s * p.k_off * (0.1 / p.v_off - 1.0) ** p.alpha_off
    r = p.r_on + (p.r_off - p.r_on) * (w - p.w_on) / (p.w_off - p.w_on)
    assert arr.device.state[0] == pytest.approx(w, rel=1e-9)
    assert 1.0 / arr.conductances()[0, 0] == pytest.approx(r, rel=1e-9)
    assert eng.now == pytest.approx(100 * arr.timing.read_s)
    # switched off: the reads change nothing
    _, quiet = team_cell(CosimConfig(read_disturb=False))
    g0 = quiet.conductances().copy()
    for _ in range(100):
        quiet.read(np.array([0.1]))
    assert np.array_equal(quiet.conductances(), g0)


def test_reads_disturb_like_the_same_waveform_as_pulses():
    def make():
        eng = Engine()
        dev = VTEAM.preset("TEAM", n=6, rng=1)
        dev.set_state(np.full(6, 1e-9))
        return eng.array(2, 3, cell="1R", device=dev, r_wl=2.0, r_bl=2.0)
    v = np.array([0.1, 0.05])
    reads, pulses = make(), make()
    for _ in range(20):
        reads.read(v)
        pulses.pulse(v, np.zeros(3), width_s=pulses.timing.read_s)
    assert np.allclose(reads.conductances(), pulses.conductances(), rtol=1e-9)
    assert not np.allclose(reads.conductances(), make().conductances(), rtol=1e-3)
    assert reads.trace.total_energy() == pytest.approx(pulses.trace.total_energy(), rel=1e-9)


def test_switching_pulses_advance_the_cycle_counters():
    eng = Engine()
    dev = VTEAM.preset("Pt/Hf/Ti", n=2)
    arr = eng.array(1, 2, cell="1R", device=dev, r_wl=0.0, r_bl=0.0)
    lo, hi = arr.conductance_bounds()
    dev.set_conductance(np.array([lo[0, 0], lo[0, 1]]))           # both in HRS
    set_, reset = np.array([-1.0]), np.array([1.5])
    inhibit = np.array([0.0, 0.0])
    for k in range(3):
        arr.pulse(set_, np.array([0.0, set_[0]]), width_s=1e-8)     # SET cell 0 only (cell 1 sees 0 V)
        assert arr.conductances()[0, 0] > np.sqrt(lo[0, 0] * hi[0, 0])
        arr.pulse(reset, np.array([0.0, reset[0]]), width_s=0.2)    # RESET cell 0 back to HRS
        assert arr.conductances()[0, 0] < np.sqrt(lo[0, 0] * hi[0, 0])
        assert arr.cycles[0, 0] == k + 1 and arr.cycles[0, 1] == 0
    arr.pulse(set_, inhibit + np.array([0.0, set_[0]]), width_s=1e-8)   # half a cycle more: not counted yet
    assert arr.cycles[0, 0] == 3
    arr.cycle(10, cols=[0])                                         # the shortcut adds to the same counter
    assert arr.cycles[0, 0] == 13


def test_cycle_charges_the_models_switching_energy():
    from cosim.sim import Timing
    from cosim.sim.wear import CycleDrive

    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    drive = CycleDrive(v_set=-1.0, v_reset=1.5, steps=50)
    eng = Engine()
    dev = VTEAM.preset("Pt/Hf/Ti", n=2)
    dev.set_state(np.array([p.w_off, p.w_off]))                           # both in HRS
    arr = eng.array(1, 2, cell="1R", device=dev, timing=Timing(cycle_s=2e-7, cycle_drive=drive))
    arr.cycle(3, cols=[0])
    # the model's fixed steps written out: forward Euler of dw/dt = k (v / v_th - 1)^alpha, clipped to
    # [w_on, w_off], current V / R(w) at the start of each step, R linear in w
    dt, w, energy = 2e-7 / 100, p.w_off, 0.0
    for v in [-1.0] * 50 + [1.5] * 50:
        r = p.r_on + (p.r_off - p.r_on) * (w - p.w_on) / (p.w_off - p.w_on)
        energy += v * v / r * dt
        rate = p.k_on * (v / p.v_on - 1) ** p.alpha_on if v < p.v_on else p.k_off * (v / p.v_off - 1) ** p.alpha_off
        w = min(max(w + rate * dt, p.w_on), p.w_off)
    assert arr.trace[-1].energy_j == pytest.approx(3 * energy, rel=1e-9)
    assert np.array_equal(dev.state, [p.w_off, p.w_off])                   # the array's own cells did not switch
    assert arr.cycles.tolist() == [[3, 0]]
