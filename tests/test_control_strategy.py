"""The 1R programming strategy — erase before programming, cells visited in the layout's order — against
the true devices, the designed series resistances computed here, the preset's closed forms and a dense
nodal solve (tests/nodal_reference.py)."""
import numpy as np
import pytest

import nodal_reference as ref
from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal
from cosim.sim import Erase, IsppConfig, Order, PulseLimits, WriteVerifyConfig

PT = VTEAM.PRESETS["Pt/Hf/Ti"]


def spread_array(n: int, r_wire: float, seed: int = 1):
    """Pt/Hf/Ti with 10 % device-to-device spread of R_on and R_off (the benchmark's array), every cell
    starting in the low-resistance state, targets log-uniform below it."""
    dev = VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=seed, r_on=LogNormal(0.1, PT.r_on), r_off=LogNormal(0.1, PT.r_off))
    arr = Engine().array(n, n, cell="1R", device=dev, seed=seed, r_wl=r_wire, r_bl=r_wire)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    return arr, target


def pulses_of(arr, note):
    return [r for r in arr.trace if r.operation == "pulse" and r.note == note]


def selected_cell(record):
    """(row, col) a V/3 pulse selects: its word line has the largest magnitude, its bit line is at 0 V."""
    return int(np.argmax(np.abs(record.v_wl))), int(np.argmin(np.abs(record.v_bl)))


def test_erase_then_program_reaches_tolerance_where_the_old_order_failed():
    """10 x 10, 5 ohm wires, every cell in LRS and every target below it. Visiting the cells in address order
    from where they are (no erase), each slow RESET must fight the half-select current of LRS neighbours:
    the drive that would reach many cells would switch other cells first, so the controller reports them
    stuck (measured: 46 % within 2 %, 54 stuck) and, limited by its model, disturbs none of them. Erasing first and programming far cells first, while
    the others sit in HRS, reaches every cell."""
    old = WriteVerifyConfig(erase=Erase.NONE, order=Order.RASTER, learn=False, aim=0.6)
    arr, target = spread_array(10, 5.0)
    g_start = arr.conductances()
    rep_old = arr.program(target, tolerance=0.02, config=old, progress=False)
    never = rep_old.pulses == 0                          # the V/3 pulses of the others left these alone
    assert never.sum() >= 10 and np.allclose(arr.conductances()[never], g_start[never], rtol=1e-9, atol=0)
    arr, target = spread_array(10, 5.0)
    rep = arr.program(target, tolerance=0.02, progress=False)
    assert rep_old.success_rate < 0.9 and rep_old.stuck.sum() >= 10
    assert rep.success_rate == 1.0 and rep.n_untouched == 0 and not rep.stuck.any()
    assert len(pulses_of(arr, "erase")) >= 10          # every row was erased (all its cells must come down)


def test_the_old_order_cannot_reach_a_far_cell_under_the_v3_cap():
    """Why: with every cell at R_on, the V/3 cap on the selected lines (0.97 x 3 x 0.5 V) leaves the far
    corner cell below the RESET threshold (dense nodal solve of the designed circuit)."""
    n, r = 10, 5.0
    cap = 0.97 * 3 * min(PT.v_off, -PT.v_on)
    spec = ref.Spec(n, n, "1R", np.full((n, n - 1), r), np.full((n - 1, n), r), np.zeros(n), np.zeros(n),
                    np.full((n, n), 1.0 / PT.r_on), np.zeros((n, n), int), np.ones(n, bool))
    v_wl, v_bl = np.full(n, cap / 3), np.full(n, 2 * cap / 3)
    v_wl[0], v_bl[n - 1] = cap, 0.0
    node_v, *_ = ref.solve(spec, np.concatenate([v_wl, v_bl]))
    wl, bl = node_v[:n * n].reshape(n, n), node_v[n * n:2 * n * n].reshape(n, n)
    assert wl[0, n - 1] - bl[0, n - 1] < PT.v_off


def designed_series_resistance(n_rows, n_cols, r_wl, r_bl):
    """Resistance from cell (i, j) to its drivers: j word-line segments, (rows - 1 - i) bit-line segments."""
    i, j = np.mgrid[:n_rows, :n_cols]
    return j * r_wl + (n_rows - 1 - i) * r_bl


@pytest.mark.parametrize("scheme,config", [("write-verify", WriteVerifyConfig()), ("ispp", IsppConfig())])
def test_cells_are_programmed_far_first_by_the_designed_series_resistance(scheme, config):
    """r_wl = 1 ohm, r_bl = 3 ohm: the first programming pulse of each cell comes in descending order of its
    designed series resistance (ties in address order), which is not the address order."""
    n = 5
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0), seed=0, r_wl=1.0, r_bl=3.0)
    target = np.full((n, n), 2e-3)
    arr.program(target, scheme=scheme, tolerance=0.02, config=config, progress=False)
    first = []
    for rec in pulses_of(arr, scheme):
        cell = selected_cell(rec)
        if cell not in first:
            first.append(cell)
    r_series = designed_series_resistance(n, n, 1.0, 3.0)
    expected = sorted(((i, j) for i in range(n) for j in range(n)), key=lambda c: -r_series[c])
    assert first == expected
    assert expected != sorted(expected)


def test_raster_order_is_the_address_order():
    n = 4
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0), seed=0, r_wl=1.0, r_bl=3.0)
    arr.program(np.full((n, n), 2e-3), tolerance=0.02, config=WriteVerifyConfig(order=Order.RASTER), progress=False)
    first = []
    for rec in pulses_of(arr, "write-verify"):
        if selected_cell(rec) not in first:
            first.append(selected_cell(rec))
    assert first == [(i, j) for i in range(n) for j in range(n)]


class Snapshot:
    """Spies on an array's pulses (test harness, not controller code): the true conductances just before
    the first pulse whose note is not "erase", i.e. at the end of the erase phase."""

    def __init__(self, arr):
        self.g = None
        inner = arr.pulse_process

        def spy(bias, width_s, select_rows=None, note=""):
            if self.g is None and note != "erase":
                self.g = arr.conductances().copy()
            return (yield from inner(bias, width_s, select_rows, note))
        arr.pulse_process = spy


@pytest.mark.parametrize("erase", [Erase.ROWS, Erase.ARRAY, Erase.CELLS])
def test_erase_reaches_its_level_within_its_pulses_and_limits(erase):
    """Nominal Pt/Hf/Ti cells start at R_on, targets 2 mS: every cell must come down. After the erase every
    cell is at most erase_level x the model's low bound (1 / r_off), each row or cell had at most
    erase_pulses erase pulses, and each pulse is the documented bias: ROWS one word line driven with every
    other line at 0 V, ARRAY every word line, CELLS V/3 within the cap."""
    n = 6
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0), seed=0, r_wl=1.0, r_bl=1.0)
    snap = Snapshot(arr)
    config = WriteVerifyConfig(erase=erase, erase_level=1.2, erase_pulses=3)
    rep = arr.program(np.full((n, n), 2e-3), tolerance=0.02, config=config, progress=False)
    assert rep.success_rate == 1.0
    assert np.all(snap.g <= 1.2 / PT.r_off)
    erases = pulses_of(arr, "erase")
    assert erases
    cap = 0.97 * 3 * min(PT.v_off, -PT.v_on)
    driven = []
    for rec in erases:
        v_wl, v_bl = np.asarray(rec.v_wl), np.asarray(rec.v_bl)
        assert PulseLimits().width_min_s <= rec.duration_s <= PulseLimits().width_max_s
        if erase is Erase.CELLS:
            row, col = selected_cell(rec)
            amp = v_wl[row]       # at most the cap: 0.97 x 3 x the model's probed threshold (5 mV grid)
            assert PT.v_off < amp <= cap * 1.01 and amp / 3 < min(PT.v_off, -PT.v_on)
            assert np.allclose(np.delete(v_wl, row), amp / 3) and v_bl[col] == 0.0
            assert np.allclose(np.delete(v_bl, col), 2 * amp / 3)
            driven.append((row, col))
        else:
            assert np.all(v_bl == 0.0) and np.all(np.abs(v_wl) <= PulseLimits().v_line_max)
            rows = tuple(np.flatnonzero(v_wl != 0))
            assert len(rows) == (n if erase is Erase.ARRAY else 1)
            assert np.all(v_wl[list(rows)] > PT.v_off)              # RESET is the positive polarity
            driven.append(rows)
    assert max(driven.count(d) for d in set(driven)) <= 3
    if erase is Erase.ARRAY:
        assert len(driven[0]) == n                                   # the block pulse came first


def test_row_erase_spares_the_other_rows_through_the_bit_lines():
    """Only row 0 must come down; the other rows already hold their targets. On 20 ohm bit-line segments a
    5 V row erase would put more than the SET threshold on cells of other rows (dense nodal solve); the
    controller lowers it (a clipped pulse) from its own model and no other cell moves."""
    n = 4
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0), seed=0, r_wl=1.0, r_bl=20.0)
    g0 = arr.conductances()
    target = g0.copy()
    target[0] = 1e-3
    spec = ref.Spec(n, n, "1R", np.full((n, n - 1), 1.0), np.full((n - 1, n), 20.0), np.zeros(n), np.zeros(n),
                    g0, np.zeros((n, n), int), np.ones(n, bool))
    v_wl = np.zeros(n)
    v_wl[0] = 5.0
    node_v, *_ = ref.solve(spec, np.concatenate([v_wl, np.zeros(n)]))
    v_cells = node_v[:n * n].reshape(n, n) - node_v[n * n:2 * n * n].reshape(n, n)
    assert np.max(-v_cells[1:]) > -PT.v_on                       # a naive 5 V erase would SET-disturb them
    rep = arr.program(target, tolerance=0.02, config=WriteVerifyConfig(erase_v=5.0), progress=False)
    erases = pulses_of(arr, "erase")
    assert erases and all(0 < r.v_wl[0] < 5.0 and not np.any(np.asarray(r.v_wl)[1:]) for r in erases)
    assert rep.clipped >= len(erases)
    assert np.array_equal(arr.conductances()[1:], g0[1:]) and rep.success_rate == 1.0


def test_no_erase_when_no_cell_must_come_down():
    """Targets above every cell: nothing is erased, every cell is SET from where it is."""
    n = 3
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0), seed=0, r_wl=1.0, r_bl=1.0)
    arr.device.set_conductance(np.full(n * n, 1e-3))
    rep = arr.program(np.full((n, n), 3e-3), tolerance=0.02, progress=False)
    assert not pulses_of(arr, "erase") and rep.success_rate == 1.0


@pytest.mark.parametrize("make,match", [
    (lambda: WriteVerifyConfig(order="spiral"), "order"),
    (lambda: WriteVerifyConfig(erase="block"), "erase"),
    (lambda: IsppConfig(erase_level=0.5), "erase_level"),
    (lambda: WriteVerifyConfig(erase_pulses=0), "erase_pulses"),
    (lambda: WriteVerifyConfig(erase_v=6.0), "erase_v"),
])
def test_strategy_fields_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_strategy_fields_accept_their_names():
    cfg = WriteVerifyConfig(order="raster", erase="cells")
    assert cfg.order is Order.RASTER and cfg.erase is Erase.CELLS
