"""Single-cell operations on a 1R array: tracked pulses and reads against the full-solve path, same process.

A 64 x 64 1R array of VTEAM "Pt/Hf/Ti" cells with 10 % device-to-device spread of R_on and R_off and 1 ohm
wires (benchmarks/bench_programming.py's ``spread_array``), every cell in the HRS except every fifth one in
the LRS. The same sequence of operations runs on two copies of it built from the same seed, as write-verify
issues them: 12 cells, each SET by 4 V/3 pulses of 15 ns (cell voltage -1.2 ... -1.45 V; tens of sub-steps
each; at 64 x 64 the IR drop pushes a few half-selected cells of the selected line past the threshold too,
so several cells move), each pulse followed by a grounded read of that cell at 0.1 V; then 200 grounded
reads of cells spread over the array.

``CosimConfig(tracked=True)`` (the default): each sub-step steps only the moving cells and solves the circuit
as a rank-k update in cell space of the cached factorisation; a read is one such correction. Cached: one
nested-dissection factorisation (refactored when more than ``LowRankPolicy.max_rank`` cells differ from it),
one response column per cell that moved since (one solve each), unit-bias solutions (all word lines, all
bit lines, single lines: one solve each, then every line of that kind in one batched solve). All of that is
included in the times. ``tracked=False``: the full-solve path (every sub-step two operating points, every
cell stepped; each read one operating point; the same factorisation and rank-k node updates). Threads: the
nested-dissection solver runs on 1 thread below 512 x 512; numpy/BLAS as the environment sets them.
Prints per sub-step (amortised: total pulse wall / sub-steps), the steady sub-step (pulses after the first
on a cell, whose solves are cached), per read, the ratios, and the agreement of final conductances, pulse
energies and read currents. The machine may be shared: the ratios are the result.

    PYTHONPATH=. python benchmarks/bench_pulse.py [--size 64]"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_programming import spread_array  # noqa: E402

from cosim.sim.cosimulate import CosimConfig  # noqa: E402


def build(n: int, tracked: bool):
    arr, _ = spread_array(n, "1R")
    arr.cosim = CosimConfig(tracked=tracked)
    lo, hi = arr.device.state_bounds()
    state = hi.copy()
    state[::5] = lo[::5]
    arr.device.set_state(state)
    arr.read_cell(0, 0, "grounded")                # stamps the new state (the same for both copies)
    return arr


def operations(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    cells = [(int(r), int(c)) for r, c in zip(rng.integers(0, n, 12), rng.integers(0, n, 12))]
    cells = [(r, c if (r * n + c) % 5 else (c + 1) % n) for r, c in cells]          # start in the HRS
    volts = np.linspace(-1.2, -1.45, len(cells))
    reads = [(int(r), int(c)) for r, c in zip(rng.integers(0, n, 200), rng.integers(0, n, 200))]
    return cells, volts, reads


PULSES_PER_CELL = 4


def run(n: int, tracked: bool):
    arr = build(n, tracked)
    cells, volts, reads = operations(n)
    pulse_s = read_s = steady_s = 0.0
    substeps = steady_substeps = 0
    energies, currents = [], []
    for (r, c), v in zip(cells, volts):
        bias = arr.cell_bias(r, c, v, "v/3")
        for k in range(PULSES_PER_CELL):
            t0 = time.perf_counter()
            out = arr.pulse(bias.v_wl, bias.v_bl, width_s=1.5e-8)
            t1 = time.perf_counter()
            currents.append(arr.read_cell(r, c, "grounded"))
            read_s += time.perf_counter() - t1
            pulse_s += t1 - t0
            substeps += out.substeps
            if k:
                steady_s += t1 - t0
                steady_substeps += out.substeps
            energies.append(out.energy_j)
    t0 = time.perf_counter()
    for r, c in reads:
        currents.append(arr.read_cell(r, c, "grounded"))
    read_s += time.perf_counter() - t0
    return dict(pulse_s=pulse_s, read_s=read_s, substeps=substeps, pulses=len(cells) * PULSES_PER_CELL,
                steady=steady_s / max(steady_substeps, 1), reads=len(reads) + len(cells) * PULSES_PER_CELL,
                g=arr.conductances(), energy=np.array(energies), currents=np.array(currents))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    n = args.size
    print(f"{n}x{n} 1R Pt/Hf/Ti, 10 % spread, 1 ohm wires; load average {os.getloadavg()[0]:.2f}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, nested dissection on 1 thread")
    fast = run(n, tracked=True)
    full = run(n, tracked=False)
    per_sub = [r["pulse_s"] / r["substeps"] * 1e3 for r in (fast, full)]
    per_read = [r["read_s"] / r["reads"] * 1e3 for r in (fast, full)]
    print(f"pulses: {fast['pulses']} V/3 SET pulses on {fast['pulses'] // PULSES_PER_CELL} cells, {fast['substeps']} sub-steps "
          f"({full['substeps']} on the full path)")
    print(f"per sub-step (amortised): tracked {per_sub[0]:.4f} ms, full solves {per_sub[1]:.4f} ms, "
          f"ratio {per_sub[1] / per_sub[0]:.1f}x (target <= 0.05 ms)")
    print(f"per sub-step (steady: pulses after a cell's first): tracked {fast['steady'] * 1e3:.4f} ms, "
          f"full solves {full['steady'] * 1e3:.4f} ms, ratio {full['steady'] / fast['steady']:.1f}x")
    print(f"per grounded read:        tracked {per_read[0]:.4f} ms, full solve  {per_read[1]:.4f} ms, "
          f"ratio {per_read[1] / per_read[0]:.1f}x (target <= 0.15 ms)")
    g_err = float(np.max(np.abs(fast["g"] / full["g"] - 1.0)))
    e_err = float(np.max(np.abs(fast["energy"] / full["energy"] - 1.0)))
    i_err = float(np.max(np.abs(fast["currents"] / full["currents"] - 1.0)))
    print(f"agreement (max relative): final conductances {g_err:.1e}, pulse energies {e_err:.1e}, "
          f"read currents {i_err:.1e} (target <= 1e-9)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
