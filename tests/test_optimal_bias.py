"""The LP bias of a 1R cell (cosim.sim.control.optimal_bias) against a dense nodal solve written here."""
import numpy as np
import pytest

from cosim.sim.control import Inhibit, WriteVerifyConfig
from cosim.sim.control.optimal_bias import optimal_bias, response_matrix
from cosim.solve.crossbar import Crossbar

M = N = 8
R_WIRE, R_END = 5.0, 1.0
V_POS, V_NEG, V_MAX, MARGIN = 0.5, 0.53, 5.0, 0.95


def dense_cell_voltages(g, v_wl, v_bl):
    """Nodal analysis of a 1R crossbar: word lines driven at column 0 through R_END, bit lines ending below
    the last row through R_END; every wire segment R_WIRE. Returns wl - bl at every cell, V."""
    wl = lambda r, c: r * N + c
    bl = lambda r, c: M * N + r * N + c
    a = np.zeros((2 * M * N, 2 * M * N))
    b = np.zeros(2 * M * N)

    def link(i, j, y):
        a[i, i] += y
        a[j, j] += y
        a[i, j] -= y
        a[j, i] -= y

    for r in range(M):
        for c in range(N):
            link(wl(r, c), bl(r, c), g[r, c])
            if c + 1 < N:
                link(wl(r, c), wl(r, c + 1), 1 / R_WIRE)
            if r + 1 < M:
                link(bl(r, c), bl(r + 1, c), 1 / R_WIRE)
        a[wl(r, 0), wl(r, 0)] += 1 / R_END
        b[wl(r, 0)] += v_wl[r] / R_END
    for c in range(N):
        a[bl(M - 1, c), bl(M - 1, c)] += 1 / R_END
        b[bl(M - 1, c)] += v_bl[c] / R_END
    u = np.linalg.solve(a, b)
    return (u[:M * N] - u[M * N:]).reshape(M, N)


@pytest.fixture
def case():
    rng = np.random.default_rng(3)
    g = np.exp(rng.uniform(np.log(4e-4), np.log(1e-2), (M, N)))
    bar = Crossbar(M, N, "1R", r_wl=R_WIRE, r_bl=R_WIRE, r_source=R_END, r_sense=R_END)
    return g, response_matrix(bar, g)


@pytest.mark.parametrize("cell, sign", [((0, N - 1), -1), ((0, N - 1), +1), ((3, 5), -1)])
def test_lp_bias_holds_its_bounds_in_a_dense_solve(case, cell, sign):
    g, resp = case
    b = optimal_bias(resp, *cell, sign, V_POS, V_NEG, V_MAX, MARGIN)
    assert b.ok
    v = dense_cell_voltages(g, b.v_wl, b.v_bl)
    assert v[cell] == pytest.approx(b.v_cell, rel=1e-6)
    assert np.sign(b.v_cell) == sign
    others = np.delete(v.ravel(), cell[0] * N + cell[1])
    assert np.all(others <= MARGIN * V_POS * (1 + 1e-6)) and np.all(-others <= MARGIN * V_NEG * (1 + 1e-6))
    assert max(np.abs(b.v_wl).max(), np.abs(b.v_bl).max()) <= V_MAX * (1 + 1e-9)


def test_lp_beats_v3_under_the_same_bound(case):
    """V/3 scaled to the bound is one feasible point of the LP: its optimum is at least as high."""
    g, resp = case
    r, c = 0, N - 1
    v_wl, v_bl = np.full(M, 1 / 3), np.full(N, 2 / 3)
    v_wl[r], v_bl[c] = 1.0, 0.0
    unit = dense_cell_voltages(g, v_wl, v_bl)
    others = np.delete(unit.ravel(), r * N + c)
    scale = np.min(np.where(others > 0, MARGIN * V_POS / np.abs(others), MARGIN * V_NEG / np.abs(others)))
    scale = min(scale, V_MAX)
    b = optimal_bias(resp, r, c, +1, V_POS, V_NEG, V_MAX, MARGIN)
    assert b.v_cell >= scale * unit[r, c] * (1 - 1e-6)


def test_bad_requests_raise(case):
    _, resp = case
    with pytest.raises(ValueError, match="sign"):
        optimal_bias(resp, 0, 0, 2, V_POS, V_NEG, V_MAX)
    with pytest.raises(ValueError, match="margin"):
        optimal_bias(resp, 0, 0, 1, V_POS, V_NEG, V_MAX, margin=1.5)
    with pytest.raises(ValueError, match="inhibit"):
        WriteVerifyConfig(inhibit="v/5")
    assert WriteVerifyConfig(inhibit="optimal").inhibit is Inhibit.OPTIMAL


def test_optimal_inhibition_programs_cells_v3_cannot_reach():
    """16 x 16 1R, 8-ohm wires: V/3 under the disturb limit leaves far high-conductance cells short; the LP
    bias reaches more of them (both runs on the same array, the same seed)."""
    from cosim import Engine
    from cosim.devices import VTEAM
    from cosim.devices.variability import LogNormal

    rates = {}
    for mode in ("v/3", "optimal"):
        p = VTEAM.PRESETS["Pt/Hf/Ti"]
        dev = VTEAM.preset("Pt/Hf/Ti", n=256, rng=1, r_on=LogNormal(0.1, p.r_on), r_off=LogNormal(0.1, p.r_off))
        arr = Engine().array(16, 16, cell="1R", device=dev, seed=1, r_wl=8.0, r_bl=8.0)
        lo, hi = arr.conductance_bounds()
        target = np.exp(np.random.default_rng(1).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
        rep = arr.program(target, scheme="write-verify", tolerance=0.02, config=WriteVerifyConfig(inhibit=mode),
                          progress=False)
        rates[mode] = (rep.success_rate, int(rep.stuck.sum()))
    assert rates["v/3"][0] < 0.97                        # the case is one V/3 cannot finish
    assert rates["optimal"][0] > rates["v/3"][0] + 0.02
    assert rates["optimal"][1] < rates["v/3"][1]
