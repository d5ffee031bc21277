"""1T1R row-parallel write-verify: the row pulse and the controller's drives against the code they replaced.

Three comparisons in one process, each side doing the same work on the same array (Pt/Hf/Ti VTEAM with
10 % device-to-device spread, 1-ohm wires, 100-ohm transistors: ``bench_programming.spread_array``):

1. Row pulse. ``co_simulate`` of four pulses on each row in turn (a SET drive on every fourth bit line,
   a few sub-steps long: write-verify's pulses take 2.2 on average), now: the row's cells as one ``CellGroup`` per pulse, the row's
   ladder constants once per pulse, the circuit's row re-stamped; reference (written out below, the code
   before): the device's validated subset methods at every call, the ladder constants at every solve,
   the whole array re-stamped after the pulse (as ``Array.pulse_process`` did). Same sub-steps; the final
   conductances and energies are compared.
2. Drives. ``RowEstimate.drives`` (closed form, O(cols)) against the previous linear solve: a batched
   ladder solve of the response to each bit line, one LU factorisation per verify (new estimates) and
   ``--solves`` solves per factorisation (18 in the 128 x 128 target run: 51,713 drives for 2,815 reads).
3. End to end: ``--size`` x ``--size`` write-verify to 1 % with the present code, and with both references
   patched in (everything else the same: the ``choose_path`` cache and ``fit_to_min_width``'s narrower
   search stay in both, so the end-to-end ratio understates the whole change).

Times are the best of ``--repeat`` runs (1 and 2) or one run (3); no caching across runs; numpy as
configured by the caller (threads printed). The machine may be shared: the ratios are the result.

    python benchmarks/bench_row_programming.py [--size 128] [--repeat 3] [--solves 18] [--no-end-to-end]
"""
import argparse
import os
import sys
import time

import numpy as np
from scipy.linalg import lu_factor, lu_solve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_programming import spread_array  # noqa: E402
from timing import best_time  # noqa: E402

from cosim.sim import cosimulate  # noqa: E402
from cosim.sim.control import ControllerView  # noqa: E402
from cosim.sim.control.config import PulseLimits  # noqa: E402
from cosim.sim.control.estimate import G_FLOOR, RowEstimate  # noqa: E402
from cosim.sim.cosimulate import Bias, CosimConfig, PulseOutcome, co_simulate, stamp  # noqa: E402
from cosim.sim.program import build_model  # noqa: E402
from cosim.solve.row_ladder import single_row_voltages  # noqa: E402


# ---- the references: the code before, written out ---------------------------------------------------------
def reference_row_currents(crossbar, device, row, v_row, v_bl):
    lay = crossbar.layout
    n = crossbar.cols
    cells = row * n + np.arange(n)
    g = device.conductance_of(cells, False)
    r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
    r_t = lay.r_on_transistor[row]
    y = 1.0 / (1.0 / g + r_t + r_down)
    u = single_row_voltages(g, r_t, lay.r_wl[row], float(lay.r_source[row]), r_down, np.array([v_row]),
                            np.asarray(v_bl, float)[None, :])[0]
    return (u - v_bl) * y, g


def reference_row_pulse(crossbar, device, bias, width_s, config):
    """The previous ``_co_simulate_row``: subset methods at every call; the caller stamps the whole array."""
    row = int(np.flatnonzero(crossbar.selected_rows)[0])
    n = crossbar.cols
    cells = row * n + np.arange(n)
    v_row = float(np.asarray(bias.v_wl, float)[row])
    e = np.asarray(bias.v_bl, float)
    lo, hi = device.state_bounds()
    lo, hi = np.minimum(lo, hi)[cells], np.maximum(lo, hi)[cells]
    span = np.where(hi > lo, hi - lo, 1.0)

    def row_state():
        i_cell, g = reference_row_currents(crossbar, device, row, v_row, e)
        return i_cell / g, v_row * i_cell.sum() - float(e @ i_cell), i_cell

    t, energy, substeps = 0.0, 0.0, 0
    v_cells, power, i_cell = row_state()
    while t < width_s:
        rate = device.rate_of(cells, v_cells)
        state = device.state_of(cells)
        rate = np.where(((state <= lo) & (rate < 0)) | ((state >= hi) & (rate > 0)), 0.0, rate)
        speed = np.max(np.abs(rate) / span)
        dt = width_s - t if speed == 0 else min(width_s - t, config.max_change / speed)
        if speed > 0:
            start = device.state_of(cells)
            device.step_of(cells, v_cells, 0.5 * dt)
            v_cells = row_state()[0]
            device.set_state_of(cells, start)
        device.step_of(cells, v_cells, dt)
        v_new, p_new, i_cell = row_state()
        energy += 0.5 * (power + p_new) * dt
        v_cells, power = v_new, p_new
        t += dt
        substeps += 1
    return PulseOutcome(energy, substeps, i_cell)           # moved=None: pulse_process stamps every cell


class ReferenceDrives:
    """The previous ``RowEstimate.drives``: the cell voltages' response to each bit line, LU-factored per estimate."""

    def __init__(self):
        self.cache = None

    def __call__(self, est, row, cols, wanted, g_cols):
        lay, n = est.view.layout, est.view.cols
        g = np.maximum(np.nan_to_num(est.g_row.get(row, np.full(n, G_FLOOR)), nan=G_FLOOR), G_FLOOR)
        g[cols] = np.maximum(np.nan_to_num(g_cols, nan=G_FLOOR), G_FLOOR)
        r_down = lay.r_bl[row:].sum(axis=0) + lay.r_sense
        r_t = lay.r_on_transistor[row]
        w = np.zeros(n)
        w[cols] = wanted
        divider = 1.0 + (r_t + r_down) * g
        if self.cache is None or self.cache[0] != row or not np.array_equal(self.cache[1], g):
            u = single_row_voltages(g, r_t, lay.r_wl[row], float(lay.r_source[row]), r_down, np.zeros(n), -np.eye(n))
            self.cache = (row, g, lu_factor(((u + np.eye(n)) / divider[None, :]).T))
        drive = lu_solve(self.cache[2], w)
        if not np.all(np.isfinite(drive)) or np.max(np.abs(drive)) > est.DRIVE_LIMIT * np.max(np.abs(w) * divider):
            drive = w * divider
        return drive


# ---- 1. the row pulse -------------------------------------------------------------------------------------
PULSES_PER_ROW = 4      # write-verify visits a row for many pulses (about 260 per row in the 128 x 128 target)


def row_pulses(size: int, repeat: int):
    config = CosimConfig()
    v_bl = np.zeros(size)
    v_bl[::4] = 0.7                       # SET (the word line at 0 V): about -0.6 V on the driven cells
    width = 5e-10

    def sweep(pulse):
        arr, _ = spread_array(size, "1T1R")
        xb, dev = arr.crossbar, arr.device
        energy, subs = [], []

        def run():
            dev.set_state(start)
            stamp(xb, dev)
            energy.clear()
            subs.clear()
            for row in np.repeat(np.arange(size), PULSES_PER_ROW):
                xb.select_rows([row])
                out = pulse(xb, dev, Bias(np.zeros(size), v_bl), width, config)
                energy.append(out.energy_j)
                subs.append(out.substeps)
                xb.select_rows(None)
        lo, hi = dev.state_bounds()           # cells spread over their range (they start at a bound)
        start = lo + np.random.default_rng(1).uniform(0.2, 0.9, lo.size) * (hi - lo)
        best = best_time(run, repeat)
        return best, dev.conductance(noisy=False), xb.conductances, np.array(energy), np.mean(subs)

    def reference(xb, dev, bias, width_s, cfg):
        out = reference_row_pulse(xb, dev, bias, width_s, cfg)
        stamp(xb, dev)
        return out

    t_new, g_new, xb_new, e_new, subs = sweep(co_simulate)
    t_ref, g_ref, xb_ref, e_ref, _ = sweep(reference)
    pulses = size * PULSES_PER_ROW
    print(f"1. row pulse, {pulses} pulses on a {size}x{size} 1T1R array ({subs:.1f} sub-steps per pulse): "
          f"now {t_new / pulses * 1e6:.0f} us/pulse, reference {t_ref / pulses * 1e6:.0f} us/pulse -> "
          f"{t_ref / t_new:.2f}x; max relative difference: conductances "
          f"{np.max(np.abs(g_new / g_ref - 1)):.1e}, circuit {np.max(np.abs(xb_new / xb_ref - 1)):.1e}, "
          f"energies {np.max(np.abs(e_new / e_ref - 1)):.1e}")


# ---- 2. the drives ----------------------------------------------------------------------------------------
def drives(size: int, repeat: int, solves: int):
    arr, _ = spread_array(size, "1T1R")
    view = ControllerView(arr, build_model(arr, None), PulseLimits())
    g_true = arr.conductances()
    rng = np.random.default_rng(0)
    plans = []
    for row in range(size):
        cols = np.arange(size)
        wanted = np.where(rng.random((solves, size)) < 0.5, rng.uniform(0.8, 1.3, (solves, size)), 0.0)
        plans.append((row, cols, wanted, g_true[row] * rng.uniform(0.98, 1.02, size)))

    def run(drive):
        est = RowEstimate(view)
        out = []
        for row, cols, wanted, g in plans:
            est.g_row[row] = g
            for w in wanted:
                out.append(drive(est, row, cols, w, g))
        return np.array(out)

    ref = ReferenceDrives()
    now = lambda est, *a: est.drives(*a)
    t_new, t_ref = best_time(lambda: run(now), repeat), best_time(lambda: run(ref), repeat)
    d_new, d_ref = run(now), run(ref)
    calls = size * solves
    print(f"2. drives, {calls} calls ({solves} per estimate) on {size} columns: now {t_new / calls * 1e6:.1f} us/call, "
          f"reference {t_ref / calls * 1e6:.1f} us/call -> {t_ref / t_new:.1f}x; max |difference| "
          f"{np.max(np.abs(d_new - d_ref)):.1e} V (largest drive {np.max(np.abs(d_ref)):.2f} V)")


# ---- 3. end to end ----------------------------------------------------------------------------------------
def end_to_end(size: int):
    def program():
        arr, target = spread_array(size, "1T1R")
        t0 = time.perf_counter()
        rep = arr.program(target, scheme="write-verify", tolerance=0.01, progress=False)
        return time.perf_counter() - t0, rep

    t_new, rep_new = program()
    saved = cosimulate._co_simulate_row, RowEstimate.drives
    ref = ReferenceDrives()
    cosimulate._co_simulate_row = reference_row_pulse
    RowEstimate.drives = lambda est, *a: ref(est, *a)
    try:
        t_ref, rep_ref = program()
    finally:
        cosimulate._co_simulate_row, RowEstimate.drives = saved
    for name, wall, rep in (("now", t_new, rep_new), ("reference", t_ref, rep_ref)):
        print(f"3. {size}x{size} write-verify to 1 %, {name}: {wall:.1f} s; {rep.summary()}")
    print(f"   end to end: {t_ref / t_new:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="array size (rows = columns)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of 1 and 2 (the best is kept)")
    parser.add_argument("--solves", type=int, default=18, help="drives per estimate in 2")
    parser.add_argument("--no-end-to-end", action="store_true", help="skip 3")
    args = parser.parse_args(argv)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
          f"{os.getloadavg()[0]:.2f}; no caching across runs")
    row_pulses(args.size, args.repeat)
    drives(args.size, args.repeat, args.solves)
    if not args.no_end_to_end:
        end_to_end(args.size)


if __name__ == "__main__":
    main()
