"""Tracked pulses and reads (cosim.sim.tracked_pulse, cosim.solve.bias_tracking) against a reference written
here: a dense nodal solve of the 1R array (numpy.linalg.solve of Kirchhoff's law at every node), stepping the
VTEAM law in closed form with the engine's documented sub-steps (step size from the fastest cell, explicit
midpoint, trapezoid energy of the power dissipated in every element)."""
import numpy as np
import pytest

from cosim import Engine
from cosim.devices import VTEAM
from cosim.sim.cosimulate import Bias, CosimConfig, TrackedOutcome, co_simulate
from cosim.solve.low_rank import LowRankPolicy
from cosim.solve.routing import Quantity, SolveRequest, SolverPath


# ---- the reference ------------------------------------------------------------------------------------
def dense_operating_point(g, v, e, r_wl, r_bl, r_source, r_sense, floating_wl=None, floating_bl=None):
    """(cell voltages (M, N) V, power dissipated in every element W, sense currents (N,) A) by a dense solve.

    Word line i is driven at column 0 through r_source[i] (0: ideal), bit line j ends at row M-1 in its
    sense at e[j] through r_sense[j]; segments of r_wl / r_bl ohm; floating lines have no driver / sense."""
    m, n = g.shape
    u = lambda i, j: i * n + j
    b = lambda i, j: m * n + i * n + j
    size = 2 * m * n
    lap, rhs = np.zeros((size, size)), np.zeros(size)
    elements = []                                   # (node a, node b or None, conductance, source voltage)

    def add(a, c, gg):
        lap[a, a] += gg
        lap[c, c] += gg
        lap[a, c] -= gg
        lap[c, a] -= gg
        elements.append((a, c, gg, 0.0))

    for i in range(m):
        for j in range(n - 1):
            add(u(i, j), u(i, j + 1), 1.0 / r_wl)
    for j in range(n):
        for i in range(m - 1):
            add(b(i, j), b(i + 1, j), 1.0 / r_bl)
    for i in range(m):
        for j in range(n):
            add(u(i, j), b(i, j), g[i, j])
    pinned = {}
    ends = [(u(i, 0), v[i], r_source[i], floating_wl is not None and floating_wl[i]) for i in range(m)]
    ends += [(b(m - 1, j), e[j], r_sense[j], floating_bl is not None and floating_bl[j]) for j in range(n)]
    for node, volts, r, floating in ends:
        if floating:
            continue
        if r == 0:
            pinned[node] = volts
        else:
            lap[node, node] += 1.0 / r
            rhs[node] += volts / r
            elements.append((node, None, 1.0 / r, volts))
    x = np.zeros(size)
    fixed = np.array(sorted(pinned), dtype=int)
    free = np.setdiff1d(np.arange(size), fixed)
    x[fixed] = [pinned[k] for k in fixed]
    x[free] = np.linalg.solve(lap[np.ix_(free, free)], rhs[free] - lap[np.ix_(free, fixed)] @ x[fixed])
    power = sum(gg * (x[a] - (volts if c is None else x[c])) ** 2 for a, c, gg, volts in elements)
    cell_v = (x[: m * n] - x[m * n:]).reshape(m, n)
    i_cells = g * cell_v
    into_end = i_cells[-1] + (x[b(m - 2, 0): b(m - 2, 0) + n] - x[b(m - 1, 0): b(m - 1, 0) + n]) / r_bl if m > 1 \
        else i_cells[-1]
    sense = np.array([into_end[j] if r_sense[j] == 0 else (x[b(m - 1, j)] - e[j]) / r_sense[j] for j in range(n)])
    if floating_bl is not None:
        sense[floating_bl] = 0.0
    return cell_v, power, sense


class Law:
    """The VTEAM law of MODELS.md with per-cell r_on, r_off (no window), linear or exponential R(w)."""

    def __init__(self, preset: str, r_on, r_off):
        p = VTEAM.PRESETS[preset]
        self.p, self.r_on, self.r_off = p, np.asarray(r_on, float), np.asarray(r_off, float)

    def conductance(self, w):
        p = self.p
        x = (w - p.w_on) / (p.w_off - p.w_on)
        if p.r_model == "linear":
            return 1.0 / (self.r_on + (self.r_off - self.r_on) * x)
        return 1.0 / (self.r_on * np.exp(np.log(self.r_off / self.r_on) * x))

    def rate(self, v):
        p = self.p
        out = np.zeros_like(v)
        up, down = v > p.v_off, v < p.v_on
        out[up] = p.k_off * (v[up] / p.v_off - 1.0) ** p.alpha_off
        out[down] = p.k_on * (v[down] / p.v_on - 1.0) ** p.alpha_on
        return out

    def effective_rate(self, v, w):
        r = self.rate(v)
        return np.where(((w <= self.p.w_on) & (r < 0)) | ((w >= self.p.w_off) & (r > 0)), 0.0, r)


def reference_pulse(law, w, circuit, v, e, width, max_change, floating_wl=None, floating_bl=None):
    """(final state, energy J, sub-steps, cells that moved) of one pulse, sub-stepped as the engine documents."""
    shape = circuit["shape"]
    solve = lambda ww: dense_operating_point(law.conductance(ww).reshape(shape), v, e, circuit["r_wl"],
                                             circuit["r_bl"], circuit["r_source"], circuit["r_sense"],
                                             floating_wl, floating_bl)
    span = law.p.w_off - law.p.w_on
    w0 = w.copy()
    t, energy, substeps = 0.0, 0.0, 0
    cell_v, power, _ = solve(w)
    while t < width:
        vc = cell_v.ravel()
        speed = np.max(np.abs(law.effective_rate(vc, w))) / span
        dt = width - t if speed == 0 else min(width - t, max_change / speed)
        p0 = power
        if speed > 0:
            vc = solve(np.clip(w + 0.5 * dt * law.rate(vc), law.p.w_on, law.p.w_off))[0].ravel()
        w = np.clip(w + dt * law.rate(vc), law.p.w_on, law.p.w_off)
        cell_v, power, sense = solve(w)
        energy += 0.5 * (p0 + power) * dt
        t += dt
        substeps += 1
    return w, energy, substeps, np.flatnonzero(w != w0)


# ---- set-ups ------------------------------------------------------------------------------------------
def array(preset, rows, cols, w, r_source=0.0, r_sense=0.0, seed=0, r_wire=1.0):
    rng = np.random.default_rng(seed)
    p = VTEAM.PRESETS[preset]
    r_on = p.r_on * rng.uniform(0.9, 1.1, rows * cols)
    r_off = p.r_off * rng.uniform(0.9, 1.1, rows * cols)
    dev = VTEAM.preset(preset, n=rows * cols, r_on=r_on, r_off=r_off)
    dev.set_state(w)
    eng = Engine()
    arr = eng.array(rows, cols, cell="1R", device=dev, r_wl=r_wire, r_bl=r_wire, r_source=r_source,
                    r_sense=r_sense)
    circuit = dict(shape=(rows, cols), r_wl=r_wire, r_bl=r_wire, r_source=np.full(rows, float(r_source)),
                   r_sense=np.full(cols, float(r_sense)))
    return arr, Law(preset, r_on, r_off), circuit


def check_against_reference(arr, law, circuit, bias, width, w0, tracked=True):
    out = arr.pulse(bias.v_wl, bias.v_bl, width_s=width, floating_wl=bias.floating_wl, floating_bl=bias.floating_bl)
    w_ref, e_ref, n_ref, moved_ref = reference_pulse(law, w0, circuit, np.asarray(bias.v_wl, float),
                                                     np.asarray(bias.v_bl, float), width, arr.cosim.max_change,
                                                     bias.floating_wl, bias.floating_bl)
    assert out.substeps == n_ref
    assert np.allclose(arr.conductances().ravel(), law.conductance(w_ref), rtol=1e-9, atol=0)
    assert out.energy_j == pytest.approx(e_ref, rel=1e-9)
    assert isinstance(out, TrackedOutcome) is tracked
    if tracked:
        assert set(moved_ref) <= set(out.moved.tolist())
    return out, moved_ref


# ---- pulses -------------------------------------------------------------------------------------------
def test_v3_set_pulse_moves_only_the_selected_cell_and_matches_the_dense_reference():
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    rows, cols = 5, 6
    w0 = np.full(rows * cols, p.w_off)
    w0[::4] = p.w_on
    arr, law, circuit = array("Pt/Hf/Ti", rows, cols, w0)
    bias = arr.cell_bias(2, 3, -1.3, "v/3")
    out, moved = check_against_reference(arr, law, circuit, bias, 4e-8, w0)
    assert out.substeps > 20 and moved.tolist() == [2 * cols + 3] and out.moved.tolist() == [2 * cols + 3]
    # the final operating point, computed on demand, is the dense one
    cell_v, power, sense = dense_operating_point(arr.conductances(), bias.v_wl, bias.v_bl, 1.0, 1.0,
                                                 np.zeros(rows), np.zeros(cols))
    assert np.allclose(out.final.cell_voltages, cell_v, rtol=1e-9, atol=1e-12)
    assert float(out.final.power) == pytest.approx(power, rel=1e-9)
    assert np.allclose(out.sense_currents, sense, rtol=1e-9, atol=1e-15)


def test_a_second_cell_that_starts_moving_mid_pulse_joins_with_finite_driver_and_sense():
    """16 x 1 HfOx: the SET of cell 0 draws current through the 1 kohm sense, the bit line falls, and cell 1
    (held at +0.6 V, just below the 0.7 V RESET threshold) is pushed over it during the pulse."""
    p = VTEAM.PRESETS["HfOx"]
    rows, cols = 16, 1
    w0 = np.full(rows, 0.5 * (p.w_on + p.w_off))
    w0[0] = p.w_off
    arr, law, circuit = array("HfOx", rows, cols, w0, r_source=50.0, r_sense=1e3)
    v = np.zeros(rows)
    v[0], v[1] = -2.2, 0.62
    bias = Bias(v, np.zeros(1))
    cell_v0 = dense_operating_point(law.conductance(w0).reshape(rows, cols), v, np.zeros(1), 1.0, 1.0,
                                    circuit["r_source"], circuit["r_sense"])[0].ravel()
    assert cell_v0[1] < p.v_off                                  # cell 1 starts quiet ...
    out, moved = check_against_reference(arr, law, circuit, bias, 6e-8, w0)
    assert moved.tolist() == [0, 1] and out.moved.tolist() == [0, 1]   # ... and moves before the end


def test_floating_lines_and_v2_with_resistive_drivers():
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    rows, cols = 4, 5
    w0 = np.full(rows * cols, p.w_off)
    arr, law, circuit = array("Pt/Hf/Ti", rows, cols, w0, r_source=20.0, r_sense=10.0, seed=3)
    check_against_reference(arr, law, circuit, arr.cell_bias(1, 2, -1.4, "floating"), 3e-8, w0)
    w1 = arr.device.state
    check_against_reference(arr, law, circuit, arr.cell_bias(3, 0, -1.1, "v/2"), 3e-8, w1)


def test_a_refused_correction_hands_the_pulse_over_to_full_solves():
    """A policy that refuses any conductance fall: the RESET of cell 1 in the set-up above stops the tracked
    path mid-pulse; the rest runs on full solves and still matches the reference."""
    p = VTEAM.PRESETS["HfOx"]
    rows = 16
    w0 = np.full(rows, 0.5 * (p.w_on + p.w_off))
    w0[0] = p.w_off
    arr, law, circuit = array("HfOx", rows, 1, w0, r_source=50.0, r_sense=1e3)
    arr.crossbar.low_rank = LowRankPolicy(max_rank=32, max_amplification=1.0 + 1e-12)
    v = np.zeros(rows)
    v[0], v[1] = -2.2, 0.62
    check_against_reference(arr, law, circuit, Bias(v, np.zeros(1)), 6e-8, w0, tracked=False)


def test_untracked_set_ups_take_the_full_solve_path_and_match_the_reference():
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    w0 = np.full(20, p.w_off)
    arr, law, circuit = array("Pt/Hf/Ti", 4, 5, w0)
    arr.crossbar.low_rank = LowRankPolicy(max_rank=0)
    choice = arr.crossbar.choose_path(SolveRequest(Quantity.TRACKED_OPERATING_POINT))
    assert choice.path is SolverPath.NESTED and "max_rank = 0" in choice.reason
    check_against_reference(arr, law, circuit, arr.cell_bias(1, 1, -1.3, "v/3"), 3e-8, w0, tracked=False)


@pytest.mark.parametrize("make", ["c2c", "1T1R", "open cell", "sinh"])
def test_set_ups_the_tracker_does_not_cover_fall_back(make):
    from cosim.devices.variability import LogNormal

    eng = Engine()
    n = 5
    if make == "c2c":
        dev = VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=0, c2c={"k_on": LogNormal(0.1, 1.0)})
        arr = eng.array(n, n, device=dev)
    elif make == "1T1R":
        arr = eng.array(n, n, cell="1T1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n))
    elif make == "open cell":
        arr = eng.array(n, n, device=VTEAM.preset("Pt/Hf/Ti", n=n * n))
        arr.open_cell(0, 0)
    if make == "sinh":                                             # a model with sinh cells
        from cosim.devices import StanfordPKU

        arr = Engine().array(n, n, device=StanfordPKU.preset(n=n * n))
        out = co_simulate(arr.crossbar, arr.device, arr.cell_bias(2, 2, -1.3, "v/3"), 1e-9, CosimConfig())
        assert not isinstance(out, TrackedOutcome) and out.moved is None
        return
    arr.device.set_state(arr.device.state_bounds()[1])
    bias = arr.cell_bias(2, 2, -1.3, "v/3")
    before = arr.device.state
    out = co_simulate(arr.crossbar, arr.device, bias, 3e-8, CosimConfig())
    assert not isinstance(out, TrackedOutcome) and out.moved is None
    assert arr.device.state[12] < before[12]                        # the selected cell did SET


# ---- reads --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("unselected", ["grounded", "v/3", "floating"])
def test_single_cell_reads_match_the_dense_reference_before_and_after_pulses(unselected):
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    rows, cols = 6, 5
    w0 = np.linspace(p.w_on, p.w_off, rows * cols)
    arr, law, circuit = array("Pt/Hf/Ti", rows, cols, w0, r_source=5.0, r_sense=0.0, seed=2)
    for k, (r, c) in enumerate([(0, 0), (3, 2), (5, 4), (3, 2)]):
        if k:
            arr.pulse(*(lambda b: (b.v_wl, b.v_bl))(arr.cell_bias(r, c, -1.2, "v/3")), width_s=1e-8)
        bias = arr.cell_bias(r, c, 0.1, unselected)
        g = law.conductance(arr.device.state).reshape(rows, cols)
        _, power, sense = dense_operating_point(g, bias.v_wl, bias.v_bl, 1.0, 1.0, circuit["r_source"],
                                                circuit["r_sense"], bias.floating_wl, bias.floating_bl)
        energy_before = sum(rec.energy_j for rec in arr.trace)
        out = arr.engine.run_process(arr.read_cell_process(r, c, unselected, 0.1))
        assert out.currents[0] == pytest.approx(sense[c], rel=1e-9)
        assert out.energy_j == pytest.approx(power * arr.timing.read_s, rel=1e-9)
        assert sum(rec.energy_j for rec in arr.trace) - energy_before == pytest.approx(out.energy_j, rel=1e-12)
    assert np.allclose(out.extra["solution"].sense_currents, sense, rtol=1e-9, atol=1e-16)


def test_bias_tracker_power_is_the_power_dissipated_everywhere():
    """p = p0 + c0 . y (Tellegen and reciprocity) against the dense solve, resistive and ideal ends, two
    changed cells, bit lines held at different voltages."""
    from cosim import Crossbar

    rng = np.random.default_rng(4)
    rows, cols = 4, 6
    for r_source, r_sense in ((0.0, 0.0), (7.0, 3.0)):
        xb = Crossbar(rows, cols, "1R", r_wl=1.0, r_bl=2.0, r_source=r_source, r_sense=r_sense)
        g = 1.0 / rng.uniform(100, 2500, (rows, cols))
        xb.set_conductances(g)
        v, e = rng.uniform(-1, 1, rows), rng.uniform(-1, 1, cols)
        tracker = xb.bias_tracker(v, e)
        assert tracker.track(np.array([5, 17]))
        g2 = g.ravel().copy()
        g2[[5, 17]] *= [4.0, 0.25]
        assert tracker.update(g2[[5, 17]])
        cell_v, power, sense = dense_operating_point(g2.reshape(rows, cols), v, e, 1.0, 2.0,
                                                     np.full(rows, r_source), np.full(cols, r_sense))
        assert tracker.power == pytest.approx(power, rel=1e-12)
        assert np.allclose(tracker.cell_voltages(), cell_v.ravel(), rtol=0, atol=1e-13)
        assert np.allclose(tracker.sense_currents(), sense, rtol=0, atol=1e-15)
