"""The 1R controller's model of its array against an independent dense nodal solve (tests/nodal_reference.py),
and its pulse plans against closed forms of the VTEAM rate law."""
import numpy as np
import pytest

import nodal_reference as ref
from support import finish
from cosim.devices import VTEAM
from cosim.netlist.crossbar import CrossbarLayout
from cosim.sim.control.estimate import G_FLOOR, ArrayEstimate
from cosim.sim.control.model import ControllerModel
from cosim.sim.cosimulate import cell_bias


class StubView:
    """What ArrayEstimate uses of a ControllerView; its reads are the reference's sense currents."""

    def __init__(self, spec: ref.Spec):
        self.spec = spec
        self.layout = CrossbarLayout.build(spec.rows, spec.cols, "1R", spec.r_wl, spec.r_bl, spec.r_source,
                                           spec.r_sense)
        self.rows, self.cols, self.shape = spec.rows, spec.cols, (spec.rows, spec.cols)

    def cell_bias(self, row, col, voltage, unselected):
        return cell_bias(self.rows, self.cols, row, col, voltage, unselected)

    def solve(self, bias):
        """Reference node voltages and sense currents (A) of the true array under ``bias``."""
        node_v, i_term, _, _ = ref.solve(self.spec, np.concatenate([bias.v_wl, bias.v_bl]))
        return node_v, i_term[self.rows:]

    def cell_voltage(self, bias, row, col):
        node_v, _ = self.solve(bias)
        n = self.rows * self.cols
        return node_v[row * self.cols + col] - node_v[n + row * self.cols + col]

    def read_cell(self, row, col, voltage, unselected="grounded"):
        return float(self.solve(self.cell_bias(row, col, voltage, unselected))[1][col])
        yield  # a SimPy process, like the view's  # noqa


def spec_of(rows, cols, seed, r_source, r_sense):
    rng = np.random.default_rng(seed)
    return ref.Spec(rows, cols, "1R", r_wl=rng.uniform(0.5, 3.0, (rows, cols - 1)),
                    r_bl=rng.uniform(0.5, 3.0, (rows - 1, cols)), r_source=np.full(rows, r_source),
                    r_sense=np.full(cols, r_sense), g=np.exp(rng.uniform(np.log(4e-4), np.log(1e-2), (rows, cols))),
                    state=np.zeros((rows, cols), int), selected=np.ones(rows, bool))


PERIPHERY = [(0.0, 0.0), (5.0, 0.0), (0.0, 10.0), (20.0, 5.0)]   # (r_source, r_sense), ohm: ideal ends pin nodes


@pytest.mark.parametrize("row_ports", [True, False])
@pytest.mark.parametrize("r_source,r_sense", PERIPHERY)
def test_verify_read_inverts_the_model_exactly(r_source, r_sense, row_ports):
    """The other cells' estimates right, this one's 3x off: one grounded-lines read recovers it (IR drop on both
    lines and the other cells' sneak currents into the sense included)."""
    spec = spec_of(5, 4, 1, r_source, r_sense)
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.row_ports = est.row_ports if row_ports else None
    for row, col in [(0, 0), (4, 3), (2, 1), (4, 0)]:
        est.g = spec.g.copy()
        est.g[row, col] *= 3.0
        g = finish(est.read(row, col, 0.2))
        assert g == pytest.approx(spec.g[row, col], rel=1e-9)
    naive = finish(view.read_cell(2, 1, 0.2)) / 0.2      # I / V of an inner cell: off by what the model corrects
    assert abs(naive / spec.g[2, 1] - 1) > 1e-3


@pytest.mark.parametrize("row_ports", [True, False])
@pytest.mark.parametrize("r_source,r_sense", PERIPHERY)
def test_line_voltage_puts_the_wanted_voltage_on_the_cell(r_source, r_sense, row_ports):
    spec = spec_of(4, 6, 2, r_source, r_sense)
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.row_ports = est.row_ports if row_ports else None
    est.g = spec.g.copy()
    for row, col in [(0, 5), (3, 1), (1, 2)]:
        line = est.line_voltage(row, col, 0.8, "v/3")
        assert line > 0.8                                  # the wires take their share
        v_cell = view.cell_voltage(view.cell_bias(row, col, line, "v/3"), row, col)
        assert v_cell == pytest.approx(0.8, rel=1e-9)


def test_series_resistance_is_the_divider_the_cell_sees_as_it_moves():
    """At the line voltage computed for the start conductance, the cell's voltage at any other conductance
    follows v = wanted (1 + g0 R) / (1 + g R) with R = series_resistance (the reference re-solved at g)."""
    spec = spec_of(6, 5, 3, 10.0, 10.0)
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.g = spec.g.copy()
    row, col = 2, 3
    g0 = spec.g[row, col]
    line = est.line_voltage(row, col, 1.0, "v/3")
    r = float(est.series_resistance(row, np.array([col]))[0])
    assert r > 0
    for g in (g0 / 5, g0 * 4):
        spec.g[row, col] = g
        v_cell = view.cell_voltage(view.cell_bias(row, col, line, "v/3"), row, col)
        assert v_cell == pytest.approx((1 + g0 * r) / (1 + g * r), rel=1e-9)
    assert abs((1 + g0 * r) / (1 + 4 * g0 * r) - 1) > 1e-3     # the divider matters at this size


def test_row_ports_stay_exact_beside_an_estimate_at_the_floor():
    """A cell estimated at G_FLOOR (1e-12 S) beside 1-ohm wires: conductances spanning 12 decades, which the
    row's solves refine; the verify read still inverts exactly against the reference."""
    spec = spec_of(5, 5, 6, 5.0, 5.0)
    spec.g[2, 3] = G_FLOOR
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.g = spec.g.copy()
    est.g[2, 1] *= 4.0
    assert finish(est.read(2, 1, 0.2)) == pytest.approx(spec.g[2, 1], rel=1e-9)
    assert est.row_ports.builds == 1 and est.port_solves == 0           # on the row path, refined


def test_row_ports_follow_the_row_by_rank_one_updates_and_refactor_after_a_change_elsewhere():
    spec = spec_of(4, 4, 4, 5.0, 5.0)
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.g = spec.g.copy()
    est.g[1, 1] *= 2.0
    assert finish(est.read(1, 1, 0.2)) == pytest.approx(spec.g[1, 1], rel=1e-9)
    assert est.row_ports.builds == 1
    spec.g[1, 2] *= 3.0                              # the array changes; the controller learns it by a read
    est.g[1, 2] = spec.g[1, 2]
    spec.g[1, 1] *= 0.5
    assert finish(est.read(1, 1, 0.2)) == pytest.approx(spec.g[1, 1], rel=1e-9)
    assert (est.row_ports.builds, est.row_ports.updates) == (1, 1)          # same row: a rank-one update
    spec.g[3, 0] *= 0.2
    est.g[3, 0] = spec.g[3, 0]
    spec.g[1, 1] *= 3.0
    assert finish(est.read(1, 1, 0.2)) == pytest.approx(spec.g[1, 1], rel=1e-9)
    assert est.row_ports.builds == 2                                   # another row moved: refactored


def test_two_solve_ports_are_recomputed_when_another_estimate_moves():
    """Layouts the row solver does not take (here forced) use two model solves per cell visit."""
    spec = spec_of(4, 4, 4, 5.0, 5.0)
    view = StubView(spec)
    est = ArrayEstimate(view)
    est.row_ports = None
    est.g = spec.g.copy()
    est.g[1, 1] *= 2.0
    assert finish(est.read(1, 1, 0.2)) == pytest.approx(spec.g[1, 1], rel=1e-9)
    solves = est.port_solves
    assert solves > 0
    finish(est.read(1, 1, 0.2))                     # same cell, nothing else moved: the port is reused
    assert est.port_solves == solves
    spec.g[1, 2] *= 3.0
    est.g[1, 2] = spec.g[1, 2]
    spec.g[1, 1] *= 0.5
    assert finish(est.read(1, 1, 0.2)) == pytest.approx(spec.g[1, 1], rel=1e-9)
    assert est.port_solves > solves
    assert est.line_voltage(1, 1, 0.8, "v/3") > 0.8


# ---- plans ------------------------------------------------------------------------------------------------
def pt_hf_ti(n=3):
    return ControllerModel.probe(VTEAM.preset("Pt/Hf/Ti", n=n))


def test_plan_at_a_constant_voltage_is_distance_over_rate():
    """Pt/Hf/Ti VTEAM: the rate does not depend on the state, so with no series resistance a move takes
    (state distance) / k (v / v_th - 1)^alpha; R is linear in w, w = w_off (R - R_on) / (R_off - R_on)."""
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    m = pt_hf_ti()
    w = lambda r: p.w_off * (r - p.r_on) / (p.r_off - p.r_on)
    r_from, r_to, v = np.array([200.0, 300.0]), np.array([1500.0, 2000.0]), np.array([1.1, 0.8])
    widths = m.plan_widths(np.array([0, 2]), 1 / r_from, 1 / r_to, -1, v, np.zeros(2), aim=0.5)
    expected = 0.5 * (w(r_to) - w(r_from)) / (p.k_off * (v / p.v_off - 1) ** p.alpha_off)
    assert widths == pytest.approx(expected, rel=1e-12)
    up = m.plan_widths(np.array([1]), 1 / 2000.0, 1 / 500.0, +1, 0.9, 0.0, aim=1.0)
    assert up[0] == pytest.approx((w(2000.0) - w(500.0)) / (-p.k_on * (0.9 / -p.v_on - 1) ** p.alpha_on), rel=1e-12)


def test_plan_follows_the_divider_in_closed_form():
    """SET through a series resistance r: the cell voltage at resistance R is d R / (R + r) with d the drive,
    and dw/dR = w_off / (R_off - R_on), so the width is the integral of dR / (R_off - R_on) / rate(v(R))
    (here with alpha_on = 3, done by a fine quadrature): the midpoint plan converges to it."""
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    m = pt_hf_ti(1)
    r_s, r0, r1, v0 = 50.0, 2000.0, 300.0, 0.9
    drive = v0 * (r0 + r_s) / r0
    rr = np.linspace(r1, r0, 200001)
    v = drive * rr / (rr + r_s)
    integrand = p.w_off / (p.r_off - p.r_on) / (-p.k_on * (v / -p.v_on - 1) ** p.alpha_on)
    exact = np.sum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(rr))
    plans = [m.plan_widths(np.array([0]), 1 / r0, 1 / r1, +1, v0, r_s, 1.0, s)[0] for s in (8, 64)]
    assert abs(plans[1] / exact - 1) < 1e-3 < abs(plans[0] / exact - 1) * 10
    assert abs(plans[1] / exact - 1) < abs(plans[0] / exact - 1)


def test_fit_to_min_width_finds_the_voltage_whose_plan_lasts_the_shortest_pulse():
    """Constant voltage: width(v) = d / (k (v / v_th - 1)^alpha), so the voltage whose plan lasts w_min is
    v_th (1 + (d / (k w_min))^(1 / alpha)); a plan already longer than w_min keeps its voltage."""
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    m = pt_hf_ti(3)
    w = lambda r: p.w_off * (r - p.r_on) / (p.r_off - p.r_on)
    r_to = np.array([1000.0, 1990.0])
    w_min = 1e-8
    volts, widths = m.fit_to_min_width(np.array([0, 1]), np.full(2, 1 / 2000.0), 1 / r_to, +1, np.array([1.0, 0.6]),
                                       np.zeros(2), 1.0, w_min)
    d = w(2000.0) - w(r_to)
    v_exact = -p.v_on * (1 + (d / (-p.k_on * w_min)) ** (1 / p.alpha_on))
    assert np.all(v_exact < [1.0, 0.6])                  # both plans were shorter than w_min at their voltage
    assert volts == pytest.approx(v_exact, rel=1e-5)
    assert np.all((w_min <= widths) & (widths <= w_min * (1 + 1e-4)))
    volts, widths = m.fit_to_min_width(np.array([2]), np.array([1 / 500.0]), np.array([1 / 2000.0]), -1,
                                       np.array([0.9]), np.zeros(1), 0.6, w_min)
    assert volts[0] == 0.9
    assert widths[0] == pytest.approx(0.6 * (w(2000.0) - w(500.0)) / (p.k_off * (0.9 / p.v_off - 1)), rel=1e-12)
