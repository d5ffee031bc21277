"""Operating points on nested dissection (any bias, floating lines) and rank-k Woodbury updates.

Every result is checked against a dense nodal solve written here (every word-line and bit-line node an
unknown, pinned nodes as identity rows) and against the general sparse path (SuperLU), to 1e-9; the
property test draws 60 sequences of cell changes (derandomized: the same cases on every run).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from cosim import Crossbar, Engine
from cosim.solve.low_rank import LowRankPolicy
from cosim.devices import VTEAM
from support import rel_err

FIELDS = ("wl_voltages", "bl_voltages", "cell_currents", "sense_currents", "driver_currents", "power")


def dense_operating_point(g, r_wl, r_bl, r_source, r_sense, v, e, floating_wl, floating_bl):
    """Node voltages (u, b), each (M, N), of a 1R crossbar by a dense solve of Kirchhoff's current law.

    Args: g (M, N) cell conductances, S; r_wl (M, N-1), r_bl (M-1, N) segments, ohm (> 0); r_source (M,),
    r_sense (N,), ohm (0 = ideal: the node is pinned); v (M,) driver and e (N,) bit-line end voltages, V;
    floating masks disconnect a line's driver / sense.
    """
    m, n = g.shape
    size = 2 * m * n
    a, rhs = np.zeros((size, size)), np.zeros(size)
    u_node = np.arange(m * n).reshape(m, n)
    b_node = m * n + u_node

    def branch(p, q, cond):
        a[p, p] += cond
        a[q, q] += cond
        a[p, q] -= cond
        a[q, p] -= cond

    for i in range(m):
        for j in range(n):
            branch(u_node[i, j], b_node[i, j], g[i, j])
            if j + 1 < n:
                branch(u_node[i, j], u_node[i, j + 1], 1.0 / r_wl[i, j])
            if i + 1 < m:
                branch(b_node[i, j], b_node[i + 1, j], 1.0 / r_bl[i, j])
    pinned = {}
    for i in range(m):
        if not floating_wl[i]:
            if r_source[i] == 0:
                pinned[u_node[i, 0]] = v[i]
            else:
                a[u_node[i, 0], u_node[i, 0]] += 1.0 / r_source[i]
                rhs[u_node[i, 0]] += v[i] / r_source[i]
    for j in range(n):
        if not floating_bl[j]:
            if r_sense[j] == 0:
                pinned[b_node[m - 1, j]] = e[j]
            else:
                a[b_node[m - 1, j], b_node[m - 1, j]] += 1.0 / r_sense[j]
                rhs[b_node[m - 1, j]] += e[j] / r_sense[j]
    for node, value in pinned.items():
        a[node] = 0.0
        a[node, node] = 1.0
        rhs[node] = value
    with threadpool_limits(1):         # small dense systems: BLAS threads only spin on a busy machine
        x = np.linalg.solve(a, rhs)
    return x[: m * n].reshape(m, n), x[m * n:].reshape(m, n)


def random_array(m, n, seed, source, sense):
    rng = np.random.default_rng(seed)
    r = {"ideal": lambda k: np.zeros(k), "finite": lambda k: rng.uniform(0.5, 20.0, k),
         "mixed": lambda k: rng.uniform(0.5, 20.0, k) * (rng.random(k) < 0.5)}
    return dict(r_wl=rng.uniform(0.2, 5.0, (m, n - 1)), r_bl=rng.uniform(0.2, 5.0, (m - 1, n)),
                r_source=r[source](m), r_sense=r[sense](n)), 1.0 / np.exp(rng.uniform(np.log(1e3), np.log(1e6), (m, n)))


def check_against_references(xb, g, wires, v, e, fw, fb):
    sol = xb.solve_bias(v, e, fw, fb)
    general = xb.solve_bias(v, e, fw, fb, general=True)
    u, b = dense_operating_point(g, **wires, v=v, e=e, floating_wl=np.zeros(g.shape[0], bool) if fw is None else fw,
                                 floating_bl=np.zeros(g.shape[1], bool) if fb is None else fb)
    scale = max(np.max(np.abs(v)), np.max(np.abs(e)))
    assert np.max(np.abs(sol.wl_voltages - u)) <= 1e-9 * scale
    assert np.max(np.abs(sol.bl_voltages - b)) <= 1e-9 * scale
    assert rel_err(sol.cell_currents, g * (u - b)) <= 1e-9
    for f in FIELDS:
        assert rel_err(getattr(sol, f), getattr(general, f)) <= 1e-9, f
    for kind, p in general.power_by_kind.items():
        assert abs(sol.power_by_kind[kind] - p) <= 1e-9 * abs(general.power), kind
    return sol


@pytest.mark.parametrize("m,n", [(4, 4), (7, 5), (12, 12), (13, 18)])
@pytest.mark.parametrize("source,sense", [("ideal", "ideal"), ("finite", "ideal"), ("ideal", "finite"),
                                          ("mixed", "mixed")])
def test_bias_and_floating_lines_match_dense_and_general(m, n, source, sense):
    wires, g = random_array(m, n, 10 * m + n, source, sense)
    xb = Crossbar(m, n, "1R", **wires)
    xb.set_conductances(g)
    rng = np.random.default_rng(m * n)
    v, e = rng.uniform(-1.0, 1.0, m), rng.uniform(-1.0, 1.0, n)
    check_against_references(xb, g, wires, v, e, None, None)
    for _ in range(3):                                       # new floating patterns (sneak-path reads)
        fw, fb = rng.random(m) < 0.4, rng.random(n) < 0.4
        fw[rng.integers(m)] = False
        check_against_references(xb, g, wires, v, e, fw, fb)


def test_batch_of_biases_matches_general_path():
    wires, g = random_array(12, 9, 3, "mixed", "mixed")
    xb = Crossbar(12, 9, "1R", **wires)
    xb.set_conductances(g)
    rng = np.random.default_rng(4)
    v, e = rng.uniform(-1, 1, (5, 12)), rng.uniform(-1, 1, (5, 9))
    fb = np.zeros(9, bool)
    fb[2] = True
    sol, ref = xb.solve_bias(v, e, None, fb), xb.solve_bias(v, e, None, fb, general=True)
    assert sol.wl_voltages.shape == (5, 12, 9)
    for f in FIELDS:
        assert rel_err(getattr(sol, f), getattr(ref, f)) <= 1e-9, f


def test_1t1r_floating_unselected_row_is_an_island_like_the_general_path():
    """An unselected, floating word line touches nothing: NaN voltages there, as on the general path."""
    xb = Crossbar(6, 5, "1T1R", r_wl=1.0, r_bl=1.0)
    xb.select_rows([0, 2, 3])
    fw = np.zeros(6, bool)
    fw[1] = True
    v, e = np.linspace(0.1, 0.6, 6), np.zeros(5)
    sol, ref = xb.solve_bias(v, e, fw), xb.solve_bias(v, e, fw, general=True)
    assert np.all(np.isnan(sol.wl_voltages[1])) and np.all(np.isnan(ref.wl_voltages[1]))
    assert rel_err(sol.sense_currents, ref.sense_currents) <= 1e-9
    fw[1] = False
    fw[0] = True                                        # a floating selected row still conducts: nested
    sol, ref = xb.solve_bias(v, e, fw), xb.solve_bias(v, e, fw, general=True)
    assert not np.any(np.isnan(sol.wl_voltages))
    assert rel_err(sol.cell_currents, ref.cell_currents) <= 1e-9


@pytest.mark.parametrize("source,sense", [("ideal", "ideal"), ("mixed", "finite")])
def test_low_rank_updates_match_fresh_dense_solves(source, sense):
    """A pulse-like sequence: one cell moves every step, sometimes a few more (boundary cells too)."""
    m, n = 10, 9
    wires, g = random_array(m, n, 7, source, sense)
    xb = Crossbar(m, n, "1R", **wires, low_rank=LowRankPolicy(max_rank=8))
    xb.set_conductances(g)
    rng = np.random.default_rng(8)
    v = np.full(m, 0.5)
    v[4] = 1.0
    e = np.full(n, 0.5)
    e[6] = 0.0
    no_float = (np.zeros(m, bool), np.zeros(n, bool))
    xb.solve_bias(v, e)
    for step in range(12):
        g = g.copy()
        g[4, 6] *= 1.3                                         # the selected cell
        if step % 3 == 0:
            extra = rng.choice(m * n, 3, replace=False)
            g.ravel()[extra] *= rng.uniform(0.5, 2.0, 3)
            g[0, 0] *= 1.1                                       # a cell beside an ideal driver
            g[-1, -1] *= 0.9                                     # ... and beside an ideal sense
        xb.set_conductances(g)
        sol = xb.solve_bias(v, e)
        u, b = dense_operating_point(g, **wires, v=v, e=e, floating_wl=no_float[0], floating_bl=no_float[1])
        assert np.max(np.abs(sol.wl_voltages - u)) <= 1e-9
        assert np.max(np.abs(sol.bl_voltages - b)) <= 1e-9
        assert rel_err(sol.cell_currents, g * (u - b)) <= 1e-9


def test_low_rank_refactors_when_too_many_cells_change():
    m, n = 9, 9
    wires, g = random_array(m, n, 11, "ideal", "ideal")
    xb = Crossbar(m, n, "1R", **wires, low_rank=LowRankPolicy(max_rank=4))
    xb.set_conductances(g)
    v, e = np.linspace(0.2, 1.0, m), np.zeros(n)
    xb.solve_bias(v, e)
    base = xb._updating[1]
    g2 = g.copy()
    g2[:, 3] *= 2.0                                          # 9 cells > max_rank: a fresh factorisation
    xb.set_conductances(g2)
    sol = xb.solve_bias(v, e)
    assert xb._updating[1] is not base
    u, b = dense_operating_point(g2, **wires, v=v, e=e, floating_wl=np.zeros(m, bool), floating_bl=np.zeros(n, bool))
    assert np.max(np.abs(sol.wl_voltages - u)) <= 1e-9


def test_low_rank_refactors_when_the_correction_is_ill_conditioned():
    """A near-short cell (10 mohm, it dominates its own surroundings) turned off: 1 + p delta nearly
    cancels, the policy's amplification limit is exceeded and the array is refactored."""
    m, n = 8, 8
    wires, g = random_array(m, n, 12, "ideal", "ideal")
    g[3, 3] = 100.0
    xb = Crossbar(m, n, "1R", **wires, low_rank=LowRankPolicy(max_rank=4, max_amplification=1e3))
    xb.set_conductances(g)
    v, e = np.linspace(0.2, 1.0, m), np.zeros(n)
    xb.solve_bias(v, e)
    base = xb._updating[1]
    g2 = g.copy()
    g2[3, 3] = 1e-5
    xb.set_conductances(g2)
    sol = xb.solve_bias(v, e)
    assert xb._updating[1] is not base
    u, b = dense_operating_point(g2, **wires, v=v, e=e, floating_wl=np.zeros(m, bool), floating_bl=np.zeros(n, bool))
    assert np.max(np.abs(sol.wl_voltages - u)) <= 1e-9


def test_engine_pulse_with_low_rank_updates_equals_refactoring_every_substep():
    """A V/2 SET pulse on one cell of a 1R array: the same device trajectory with or without the updates."""
    outcomes = []
    for policy in (LowRankPolicy(), LowRankPolicy(max_rank=0)):
        eng = Engine()
        arr = eng.array(12, 12, cell="1R", seed=4, device=VTEAM.preset("Pt/Hf/Ti", n=144, rng=4),
                        r_wl=1.0, r_bl=1.0)
        arr.crossbar.low_rank = policy
        lo, hi = arr.conductance_bounds()
        arr.device.set_conductance(np.sqrt(lo * hi).ravel())
        v_wl = np.full(12, -0.475)
        v_wl[5] = -0.95
        v_bl = np.full(12, -0.475)
        v_bl[7] = 0.0
        out = arr.pulse(v_wl, v_bl=v_bl, width_s=1e-7)
        outcomes.append((out, arr.conductances(), np.sqrt(lo * hi)))
    (fast, g_fast, g_start), (slow, g_slow, _) = outcomes
    assert fast.substeps == slow.substeps > 3
    assert rel_err(g_fast, g_slow) <= 1e-9
    assert fast.energy_j == pytest.approx(slow.energy_j, rel=1e-9)
    assert g_fast[5, 7] > 2 * g_start[5, 7]                        # the selected cell did switch
    assert np.count_nonzero(g_fast != g_start) == 1                # and only it


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_rank=-1), ValueError, "max_rank"),
    (dict(max_rank=2.5), ValueError, "max_rank"),
    (dict(max_amplification=0.5), ValueError, "max_amplification"),
])
def test_low_rank_policy_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        LowRankPolicy(**kwargs)


def test_crossbar_rejects_a_policy_of_the_wrong_type():
    with pytest.raises(TypeError, match="low_rank"):
        Crossbar(2, 2, low_rank={"max_rank": 3})
    xb = Crossbar(2, 2)
    with pytest.raises(TypeError, match="low_rank must be a LowRankPolicy"):
        xb.low_rank = 3
    assert xb.low_rank == LowRankPolicy()


@st.composite
def update_sequences(draw):
    """A small 1R array, its terminals, a bias with floating lines, and a few steps of cell changes."""
    m, n = draw(st.integers(4, 9)), draw(st.integers(4, 9))       # >= 16 cells: the nested path
    seed = draw(st.integers(0, 2 ** 32 - 1))
    source, sense = draw(st.sampled_from(["ideal", "finite", "mixed"])), draw(st.sampled_from(["ideal", "finite", "mixed"]))
    steps = draw(st.lists(st.lists(st.tuples(st.integers(0, m * n - 1), st.floats(0.3, 3.0)), min_size=1, max_size=4),
                          min_size=1, max_size=3))
    floating = draw(st.booleans())
    return m, n, seed, source, sense, steps, floating


@settings(max_examples=60, deadline=None, derandomize=True)
@given(update_sequences())
def test_property_low_rank_sequences_match_dense_solves(case):
    """Any sequence of few-cell changes, any terminals and floating lines: the updated operating points
    equal a dense solve of the changed circuit to 1e-9 of the bias."""
    m, n, seed, source, sense, steps, floating = case
    wires, g = random_array(m, n, seed, source, sense)
    rng = np.random.default_rng(seed)
    v, e = rng.uniform(-1.0, 1.0, m), rng.uniform(-1.0, 1.0, n)
    fw, fb = np.zeros(m, bool), np.zeros(n, bool)
    if floating:
        fw, fb = rng.random(m) < 0.4, rng.random(n) < 0.4
        fw[0] = False                                   # a driven line: no island in a 1R array
    xb = Crossbar(m, n, "1R", **wires, low_rank=LowRankPolicy(max_rank=6))
    xb.set_conductances(g)
    xb.solve_bias(v, e, fw, fb)
    for changes in steps:
        g = g.copy()
        for cell, factor in changes:
            g.ravel()[cell] *= factor
        xb.set_conductances(g)
        sol = xb.solve_bias(v, e, fw, fb)
        u, b = dense_operating_point(g, **wires, v=v, e=e, floating_wl=fw, floating_bl=fb)
        assert np.max(np.abs(sol.wl_voltages - u)) <= 1e-9
        assert np.max(np.abs(sol.bl_voltages - b)) <= 1e-9
