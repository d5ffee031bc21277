"""Nonlinear I-V in the co-simulation (issue 12 item 3): Stanford-PKU cells are solved with their sinh law
(Newton on the same stamps) during pulses and reads; ngspice with behavioural current sources is the oracle."""
import os
import re
import shutil

import numpy as np
import pytest

from cosim import Crossbar, Engine
from cosim.devices import StanfordPKU
from cosim.netlist.ngspice import run_ngspice


def need_ngspice():
    if shutil.which("ngspice") is None:
        if os.environ.get("CI"):
            pytest.fail("ngspice is not installed, and CI is set: CI must install ngspice")
        pytest.skip("ngspice is not installed (apt-get install ngspice)")


def pku_row(n=4):
    """A 1T1R row of Stanford-PKU cells at several gaps behind a 2 kohm source."""
    eng = Engine()
    dev = StanfordPKU.preset(n=n)
    lo, hi = dev.state_bounds()
    dev.set_state(np.linspace(lo[0], hi[0], n))
    arr = eng.array(1, n, cell="1T1R", device=dev, r_wl=1.0, r_bl=1.0, r_source=2000.0, r_sense=1.0,
                    r_on_transistor=500.0)
    return eng, arr, dev


def behavioural_deck(arr, dev, v_in, path):
    """The array's own SPICE deck with every cell card replaced by a B-source I = I0 exp(-g/g0) sinh(V/V0)."""
    arr.crossbar.to_spice(path, np.array([v_in]))
    p, gaps = dev.params, dev.state
    lines = []
    for line in path.read_text().splitlines():
        m = re.match(r"^Rc_(\d+)_(\d+) (\S+) (\S+) \S+$", line)
        if m:
            i, j, a, b = int(m[1]), int(m[2]), m[3], m[4]
            amp = float(p.i0 * np.exp(-gaps[i * arr.cols + j] / p.g0))
            line = f"Bc_{i}_{j} {a} {b} I={amp!r}*sinh(V({a},{b})/{float(p.v0)!r})"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def test_pulse_energy_of_a_1t1r_row_with_sinh_cells_matches_ngspice(tmp_path):
    need_ngspice()
    eng, arr, dev = pku_row()
    state0 = dev.state
    v_in, width = 3.0, 1e-7                   # below the field threshold: the gaps stay, the power is constant
    out = arr.pulse(np.array([v_in]), np.zeros(arr.cols), width_s=width, select_rows=[0])
    assert np.array_equal(dev.state, state0) and out.substeps == 1
    deck = tmp_path / "row.cir"
    behavioural_deck(arr, dev, v_in, deck)
    res = run_ngspice(deck)
    power = -v_in * res["source_currents"]["Vin_0"]            # what the source delivers, W
    assert out.energy_j == pytest.approx(power * width, rel=1e-2)
    assert out.energy_j == pytest.approx(power * width, rel=1e-6)         # in fact to Newton's tolerance
    sense = np.array([res["source_currents"][f"Vout_{j}"] for j in range(arr.cols)])
    assert np.allclose(out.sense_currents, sense, rtol=1e-6)
    # the linearised circuit (each cell at its read conductance) would be far off
    lin = Crossbar(1, arr.cols, "1T1R", r_wl=1.0, r_bl=1.0, r_source=2000.0, r_sense=1.0, r_on_transistor=500.0)
    lin.set_conductances(arr.conductances())
    p_lin = float(lin.solve(np.array([v_in])).power)
    assert abs(p_lin / power - 1) > 0.03                      # 7 % here, far beyond the 1e-6 above


def test_reads_of_sinh_cells_use_their_iv(tmp_path):
    need_ngspice()
    eng, arr, dev = pku_row(3)
    v_in = 0.4
    currents = arr.read(np.array([v_in]), select_rows=[0])
    deck = tmp_path / "read.cir"
    behavioural_deck(arr, dev, v_in, deck)
    res = run_ngspice(deck)
    sense = np.array([res["source_currents"][f"Vout_{j}"] for j in range(arr.cols)])
    assert np.allclose(currents, sense, rtol=1e-6)
