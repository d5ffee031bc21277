"""Finite conductance states, stuck / unformed cells, read noise and cycle-to-cycle redraws."""
import numpy as np
import pytest

from cosim.devices import VTEAM, DataDriven, LinearIonDrift, Nonidealities, Normal, StanfordPKU, Uniform
from cosim.devices.nonideal import snap_to_levels


def random_states(dev, seed=0):
    lo, hi = dev.state_bounds()
    dev.set_state(lo + np.random.default_rng(seed).uniform(0, 1, dev.n) * (hi - lo))


@pytest.mark.parametrize("model", [VTEAM, LinearIonDrift, StanfordPKU, DataDriven])
@pytest.mark.parametrize("levels", [2, 5, 10])
def test_finite_levels_uniform_in_g(model, levels):
    dev = model.preset(n=300, rng=1, nonideal=Nonidealities(levels=levels))
    random_states(dev)
    ideal = model.preset(n=300, rng=1)
    ideal.set_state(dev.state)
    g_true = ideal.conductance()
    g = dev.conductance()
    g_off, g_on = dev.conductance_bounds()
    step = (g_on - g_off) / (levels - 1)
    k = (g - g_off) / step
    assert np.allclose(k, np.round(k), atol=1e-9)                 # on the grid
    assert np.all((np.round(k) >= 0) & (np.round(k) <= levels - 1))
    assert np.all(np.abs(g - g_true) <= 0.5 * np.abs(step) * (1 + 1e-9))   # the nearest level
    # Currents at any voltage scale by the same factor.
    assert np.allclose(dev.current(0.37), ideal.current(0.37) * g / g_true, rtol=1e-12)


def test_finite_levels_uniform_in_r():
    dev = VTEAM.preset("Pt/Hf/Ti", n=500, rng=2, nonideal=Nonidealities(levels=4, level_spacing="R"))
    random_states(dev, 3)
    r = dev.resistance()
    grid = np.linspace(100.0, 2500.0, 4)
    assert np.all(np.min(np.abs(r[:, None] - grid[None, :]), axis=1) < 1e-9 * 2500)
    assert set(np.round(r).astype(int)) == {100, 900, 1700, 2500}


def test_snap_to_levels_against_brute_force():
    rng = np.random.default_rng(4)
    g_a, g_b = rng.uniform(1e-4, 1e-3, 1000), rng.uniform(1e-3, 1e-2, 1000)
    g = rng.uniform(g_a, g_b)
    for spacing in ("G", "R"):
        q = snap_to_levels(g, g_a, g_b, 6, spacing)
        if spacing == "G":
            grid = np.linspace(g_a, g_b, 6, axis=1)
            best = grid[np.arange(1000), np.argmin(np.abs(grid - g[:, None]), axis=1)]
        else:
            grid = np.linspace(1 / g_b, 1 / g_a, 6, axis=1)
            best = 1 / grid[np.arange(1000), np.argmin(np.abs(grid - 1 / g[:, None]), axis=1)]
        assert np.allclose(q, best, rtol=1e-12)


def test_fault_proportions_are_exact_disjoint_and_frozen():
    spec = Nonidealities(stuck_on=0.1, stuck_off=0.05, failed_to_form=0.02)
    dev = VTEAM.preset("Pt/Hf/Ti", n=1000, rng=5, nonideal=spec)
    f = dev.faults
    assert (f.stuck_on.sum(), f.stuck_off.sum(), f.unformed.sum()) == (100, 50, 20)
    assert not np.any(f.stuck_on & f.stuck_off) and not np.any(f.stuck_on & f.unformed)
    g_off, g_on = dev.conductance_bounds()
    t = np.linspace(0, 4, 4000)
    dev.simulate(1.2 * np.sin(2 * np.pi * t), 1e-3)                 # full switching cycles
    g = dev.conductance()
    assert np.allclose(g[f.stuck_on], g_on[f.stuck_on], rtol=1e-14)
    assert np.allclose(g[f.stuck_off], g_off[f.stuck_off], rtol=1e-14)
    assert np.allclose(g[f.unformed], g_off[f.unformed], rtol=1e-14)   # default: R_off (seed 003)
    dev.set_state(np.full(1000, 5e-9))                                 # programming cannot unstick
    assert np.allclose(dev.conductance()[f.stuck_on], g_on[f.stuck_on], rtol=1e-14)
    healthy = ~f.frozen
    assert np.allclose(dev.conductance()[healthy], 1 / 1300.0, rtol=1e-12)


def test_unformed_cells_are_ohmic_at_r_unformed():
    dev = StanfordPKU.preset(n=100, rng=0, nonideal=Nonidealities(failed_to_form=0.3, r_unformed=5e6))
    u = dev.faults.unformed
    assert u.sum() == 30
    i = dev.simulate(np.linspace(-2, 2, 50), 1e-10)
    assert np.allclose(i[:, u], np.linspace(-2, 2, 50)[:, None] / 5e6, rtol=1e-14)


def test_read_noise_statistics_and_noise_free_read():
    dev = LinearIonDrift.preset(n=20000, rng=6, nonideal=Nonidealities(read_noise=0.03))
    clean = dev.conductance(noisy=False)
    rel = dev.conductance() / clean - 1
    assert abs(rel.std() - 0.03) < 0.001 and abs(rel.mean()) < 0.001
    assert not np.array_equal(dev.conductance(), dev.conductance())      # redrawn per read
    assert np.array_equal(dev.current(0.2), LinearIonDrift.preset(n=20000, rng=6).current(0.2))


def test_c2c_redraws_only_at_switching_events():
    factor = Uniform(0.8, 1.2)
    dev = VTEAM.preset("Pt/Hf/Ti", n=200, rng=7, c2c={"r_off": factor, "v_off": factor},
                       r_off=Normal(2500, 100, low=1000))
    base = dev.cell_params["r_off"]
    dev.simulate(np.full(50, 0.3), 1e-3)                          # below threshold: no cycle starts
    assert np.array_equal(dev.cell_params["r_off"], base)
    dev.simulate(np.full(10, 1.5), 1e-3)                          # RESET starts: one redraw each
    first = dev.cell_params["r_off"]
    assert np.all(first != base) and np.all((first / base >= 0.8) & (first / base <= 1.2))
    dev.simulate(np.concatenate([np.zeros(5), np.full(10, 1.5)]), 1e-3)   # same polarity again: no redraw
    assert np.array_equal(dev.cell_params["r_off"], first)
    dev.simulate(np.full(10, -1.5), 1e-3)                         # SET: a new cycle, a new draw
    second = dev.cell_params["r_off"]
    assert np.all(second != first) and np.all((second / base >= 0.8) & (second / base <= 1.2))


def test_c2c_spread_shows_in_cycle_to_cycle_conductance():
    """Repeated full RESETs of one cell land on different R_off; the spread follows the factor."""
    dev = VTEAM.preset("Pt/Hf/Ti", n=1, rng=8, c2c={"r_off": Normal(1.0, 0.05, low=0.5)})
    pulse = np.concatenate([np.full(30, 1.5), np.full(30, -1.5)])
    r_off = []
    for _ in range(300):
        dev.simulate(pulse[:30], 1e-2)
        r_off.append(dev.resistance()[0])
        dev.simulate(pulse[30:], 1e-2)
    r_off = np.array(r_off) / 2500.0
    assert abs(r_off.std() - 0.05) < 0.01 and abs(r_off.mean() - 1.0) < 0.01
