"""Defects on engine arrays (issue 12 item 9): cells cut off by broken lines sit at 0 V and are reported
unreachable; Array defect methods and array descriptions, against closed forms and a reference circuit."""
from pathlib import Path

import numpy as np
import pytest

from cosim import Crossbar, Engine
from cosim.devices import VTEAM
from cosim.experiment import Experiment
from cosim.netlist.crossbar import CrossbarLayout

ROOT = Path(__file__).resolve().parents[1]


def cut_array():
    """3x3 1T1R, word line 2 broken between columns 0 and 1: with row 2 off, its cells 1 and 2 are an island."""
    eng = Engine()
    arr = eng.array(3, 3, cell="1T1R", seed=0, r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    arr.break_line("wl", 2, 0)
    return eng, arr


def test_cells_cut_off_sit_at_zero_volts_and_are_reported():
    eng, arr = cut_array()
    state0 = arr.device.state
    expected = np.zeros((3, 3), bool)
    expected[2, 1:] = True
    assert np.array_equal(arr.unreachable_cells(select_rows=[0, 1]), expected)
    assert not arr.unreachable_cells().any()                                   # row 2 on: reachable through it
    out = arr.pulse(np.array([2.0, 0.0, 2.0]), np.zeros(3), width_s=1e-6, select_rows=[0, 1])
    assert np.array_equal(out.unreachable, expected)
    assert np.isnan(out.final.cell_voltages[2, 1])                             # NaN from the solver ...
    assert np.array_equal(arr.device.state[7:], state0[7:])                    # ... but the cells did not move
    assert np.all(arr.device.state[:3] > state0[:3])                           # while row 0 moved (RESET)
    assert np.all(np.isfinite(out.sense_currents)) and np.isfinite(out.energy_j)
    # the reference: the broken segments as 1e15-ohm resistors (no island), the cut cells opened
    ref = Crossbar(3, 3, "1T1R", r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    ref.set_segment_resistance("wl", 2, 0, 1e15)
    ref.set_conductances(arr.conductances())
    ref.select_rows([0, 1])
    v = np.array([0.1, 0.05, 0.1])
    assert np.allclose(arr.read(v, select_rows=[0, 1]), ref.read(v), rtol=1e-9, atol=1e-15)


def test_open_and_shorted_cells_through_array_methods():
    eng = Engine()
    arr = eng.array(2, 2, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=4), r_wl=0.0, r_bl=0.0)
    g = np.array([[1e-3, 2e-3], [3e-3, 4e-3]])
    arr.device.set_conductance(g.ravel())
    arr.open_cell(0, 0)
    v = np.array([0.1, 0.05])
    # ideal wires: I_j = sum_i V_i G_ij over the cells that conduct
    assert np.allclose(arr.read(v), [0.05 * 3e-3, 0.1 * 2e-3 + 0.05 * 4e-3], rtol=1e-12)
    arr.break_line("wl", 1, 0)               # word line 1 between columns 0 and 1: cell (1, 1) loses its driver
    assert np.allclose(arr.read(v), [0.05 * 3e-3, 0.1 * 2e-3], rtol=1e-9, atol=1e-15)
    ops = [(r.operation, r.note, r.rows, r.cols) for r in arr.trace if r.operation == "defect"]
    assert ops == [("defect", "open cell", [0], [0]), ("defect", "broken wl segment", [1], [0])]
    with pytest.raises(ValueError, match="line"):
        arr.break_line("xl", 0, 0)
    with pytest.raises(ValueError, match="col"):
        arr.short_cell(0, 5)


def test_array_from_a_description_and_from_an_experiment_file():
    exp = Experiment.load(ROOT / "examples" / "experiments" / "broken_line.toml")
    eng, arr = exp.build()
    lay = arr.crossbar.layout
    assert arr.shape == (16, 16) and np.isinf(lay.r_wl[5, 7]) and np.isfinite(lay.r_wl).sum() == 16 * 15 - 1
    assert lay.cell_state[2, 3] == CrossbarLayout.SHORT and lay.cell_state[10, 12] == CrossbarLayout.OPEN
    assert np.allclose(arr.conductances(), arr.conductance_bounds()[0])      # 5e-5 S clipped to the device's HRS
    arr.pulse(np.full(16, 0.3), width_s=1e-8)                                # a broken line no longer crashes
    # an embedded description table gives the same array
    embedded = Experiment.from_dict({"array": {"description": {"rows": 4, "cols": 4, "defects": {
        "open_cells": [[1, 2]], "broken_segments": [{"line": "bl", "row": 0, "col": 3}]}}, "seed": 1}})
    _, small = embedded.build()
    assert small.crossbar.layout.cell_state[1, 2] == CrossbarLayout.OPEN and np.isinf(small.crossbar.layout.r_bl[0, 3])
    with pytest.raises(ValueError, match="description"):
        Experiment.from_dict({"array": {"description": "no_such_file.toml"}})
    with pytest.raises(ValueError, match="unknown"):
        Experiment.from_dict({"array": {"description": {"rows": 2, "cols": 2}, "rows": 3}})
