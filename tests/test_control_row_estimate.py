"""The 1T1R controller's model of a selected row (RowEstimate) against an independent dense nodal solve
(tests/nodal_reference.py): its drives put the wanted voltages on the cells, its reads invert to the cells."""
import numpy as np
import pytest

import nodal_reference as ref
from support import finish
from cosim.netlist.crossbar import CrossbarLayout
from cosim.sim.control.estimate import RowEstimate


class StubView:
    """What RowEstimate uses of a ControllerView; its reads are the reference's sense currents."""

    def __init__(self, spec: ref.Spec):
        self.spec = spec
        self.layout = CrossbarLayout.build(spec.rows, spec.cols, "1T1R", spec.r_wl, spec.r_bl, spec.r_source,
                                           spec.r_sense, r_on_transistor=spec.r_on)
        self.rows, self.cols = spec.rows, spec.cols

    def series_resistance(self, row, cols):
        lay = self.layout
        return lay.r_on_transistor[row, cols] + lay.r_bl[row:, cols].sum(axis=0) + lay.r_sense[cols]

    def solve(self, row, v_wl, v_bl):
        """Reference cell voltages (cols,) of ``row`` and sense currents (A) with only ``row`` selected."""
        spec = ref.Spec(**{**self.spec.__dict__, "selected": np.arange(self.rows) == row})
        node_v, i_term, _, _ = ref.solve(spec, np.concatenate([v_wl, v_bl]))
        n = self.rows * self.cols
        cells = row * self.cols + np.arange(self.cols)
        return node_v[cells] - node_v[2 * n + cells], i_term[self.rows:]

    def read_row(self, row, voltage):
        v = np.zeros(self.rows)
        v[row] = voltage
        return self.solve(row, v, np.zeros(self.cols))[1]
        yield  # a SimPy process, like the view's  # noqa


def spec_of(rows, cols, seed, r_source, r_sense, r_on=100.0):
    rng = np.random.default_rng(seed)
    return ref.Spec(rows, cols, "1T1R", r_wl=rng.uniform(0.5, 3.0, (rows, cols - 1)),
                    r_bl=rng.uniform(0.5, 3.0, (rows - 1, cols)), r_source=np.full(rows, r_source),
                    r_sense=np.full(cols, r_sense), g=np.exp(rng.uniform(np.log(4e-4), np.log(1e-2), (rows, cols))),
                    state=np.zeros((rows, cols), int), selected=np.ones(rows, bool), r_on=r_on)


@pytest.mark.parametrize("r_source,r_sense", [(0.0, 0.0), (5.0, 0.0), (20.0, 5.0)])
@pytest.mark.parametrize("row", [0, 2, 4])
def test_drives_put_the_wanted_voltages_on_the_cells(r_source, r_sense, row):
    """Wanted voltages on some cells of a row (SET and RESET polarity mixed), 0 V on the others: the reference
    circuit driven with the model's drives (the cells' conductances known) shows exactly those voltages."""
    spec = spec_of(5, 7, 3 + row, r_source, r_sense)
    view = StubView(spec)
    est = RowEstimate(view)
    cols = np.array([0, 2, 3, 6])
    wanted = np.array([1.2, -0.8, 0.0, 1.5])
    drive = est.drives(row, cols, wanted, spec.g[row, cols])
    v_cell, _ = view.solve(row, np.zeros(spec.rows), -drive)
    expect = np.zeros(spec.cols)
    expect[cols] = wanted
    np.testing.assert_allclose(v_cell, expect, rtol=1e-9, atol=1e-12)


def test_drives_fall_back_to_the_divider_on_a_word_line_too_resistive_to_compensate():
    """1 Mohm word-line segments: compensating would need drives far beyond DRIVE_LIMIT x the divider drive,
    so each driven cell gets wanted x (1 + (r_t + r_down) g), its divider alone."""
    spec = spec_of(3, 4, 1, 0.0, 0.0)
    spec.r_wl[:] = 1e6
    view = StubView(spec)
    est = RowEstimate(view)
    cols = np.array([1, 3])
    g = spec.g[1, cols]
    drive = est.drives(1, cols, np.array([1.0, 1.0]), g)
    r_down = spec.r_bl[1:, cols].sum(axis=0) + spec.r_sense[cols]
    np.testing.assert_allclose(drive[cols], 1.0 + (spec.r_on + r_down) * g, rtol=1e-12)
    assert np.all(drive[[0, 2]] == 0.0)


@pytest.mark.parametrize("r_source,r_sense", [(0.0, 0.0), (20.0, 5.0)])
def test_row_read_inverts_to_the_cells_conductances(r_source, r_sense):
    """A verify read of a row (the reference's sense currents) gives back every cell's conductance."""
    spec = spec_of(4, 6, 8, r_source, r_sense)
    est = RowEstimate(StubView(spec))
    g = finish(est.read(2, 0.1))
    np.testing.assert_allclose(g, spec.g[2], rtol=1e-9)
