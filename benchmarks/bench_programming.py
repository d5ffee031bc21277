"""Programming benchmark: honest controllers on the issue's targets, and the schemes side by side.

Targets (Pt/Hf/Ti VTEAM with 10 % device-to-device spread of R_on and R_off, 1 ohm wires): write-verify
of a 32 x 32 1R array to 2 % (>= 99 % of cells within tolerance in <= 30 s wall), 64 x 64 1R to 2 %
(<= 3 min; accuracy as high as the physics allows), 128 x 128 1T1R (100 ohm transistors) to 1 %
(<= 60 s). The controllers see only their reads, the layout and the nominal preset.

Every cell starts in the low-resistance state and every target lies below it, so a 1R array is
programmed as a test chip does it (the defaults of WriteVerifyConfig / IsppConfig): the rows are first
erased towards the high-resistance bound (a word line at a time, every other line at 0 V, verified
against a coarse level, the voltage stepped up on a failed verify), then each cell is SET up to its
target with V/3 inhibition, the cells farthest from the drivers first while the others still sit in
the high-resistance state, and final passes re-verify every cell. Each V/3 pulse stays where the
controller's model predicts that no other cell reaches 95 % of its threshold; on 64 x 64 that leaves
some far cells short of high-conductance targets (reported as the cells outside tolerance).

Each target prints its verdict and: cells within tolerance, pulses per cell, clipped pulses, stuck
cells, energy, simulated time and wall time; then write-verify, ISPP and open loop on the same arrays
(1R: v/3; 1T1R: 1t1r-row) at ``--compare`` size. ``--old`` also runs write-verify without erase in
address order (the strategy before this one) for comparison.

One run of each, in one process; the machine may be shared, so wall times are upper bounds (the load
average is printed).

``--device HfOx`` runs the same on the engine's default device (LRS 5 kohm: a twentieth of the wire
current of Pt/Hf/Ti's 100 ohm cells).

    python benchmarks/bench_programming.py [--targets 32,64,128] [--compare 16] [--old] [--device HfOx]
"""
import argparse
import os
import time

import numpy as np

from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal
from cosim.sim import Erase, Order, WriteVerifyConfig


PRESETS = ("Pt/Hf/Ti", "HfOx")   # the device; the engine's default (5 k / 100 kohm)


def spread_array(n: int, cell: str, seed: int = 1, preset: str = "Pt/Hf/Ti"):
    p = VTEAM.PRESETS[preset]
    dev = VTEAM.preset(preset, n=n * n, rng=seed, r_on=LogNormal(0.1, p.r_on), r_off=LogNormal(0.1, p.r_off))
    eng = Engine()
    arr = eng.array(n, n, cell=cell, device=dev, seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=100.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    return arr, target


def run(n: int, cell: str, scheme: str, tolerance: float, config=None, preset: str = "Pt/Hf/Ti"):
    arr, target = spread_array(n, cell, preset=preset)
    t0 = time.perf_counter()
    rep = arr.program(target, scheme=scheme, tolerance=tolerance, config=config, progress=False)
    return time.perf_counter() - t0, rep


def figures(rep, wall: float) -> str:
    return (f"{rep.success_rate:.2%} within {rep.tolerance:.0%}, {rep.pulses_per_cell:.2f} pulses/cell, "
            f"{rep.reads} reads, {rep.clipped} clipped pulses, {int(rep.stuck.sum())} stuck, energy {rep.energy:.3e} J, "
            f"simulated {rep.time:.3e} s, wall {wall:.1f} s (load average {os.getloadavg()[0]:.2f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="32,64,128", help="which targets to run (sizes: 32, 64 1R; 128 1T1R)")
    parser.add_argument("--compare", type=int, default=16, help="array size of the scheme comparison (0: skip)")
    parser.add_argument("--old", action="store_true", help="also run 1R targets without erase in address order")
    parser.add_argument("--device", choices=PRESETS, default=PRESETS[0],
                        help="VTEAM preset of the cells (the targets are stated for Pt/Hf/Ti)")
    args = parser.parse_args(argv)
    print(f"device: VTEAM {args.device!r}, 10 % spread of R_on and R_off; threads: OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')} (the solver's own solves on one thread); one run each, no caching")
    goals = {32: ("1R", 0.02, 30.0), 64: ("1R", 0.02, 180.0), 128: ("1T1R", 0.01, 60.0)}
    for size in (int(s) for s in args.targets.split(",") if s):
        cell, tol, budget = goals[size]
        wall, rep = run(size, cell, "write-verify", tol, preset=args.device)
        verdict = "met" if rep.success_rate >= 0.99 and wall <= budget else "NOT met"
        print(f"target {size}x{size} {cell} to {tol:.0%} (>= 99 % in <= {budget:.0f} s): {verdict}; {figures(rep, wall)}",
              flush=True)
        if args.old and cell == "1R":
            old = WriteVerifyConfig(erase=Erase.NONE, order=Order.RASTER, learn=False, aim=0.6)
            wall, rep = run(size, cell, "write-verify", tol, old, args.device)
            print(f"    without erase, address order, aim 0.6: {figures(rep, wall)}", flush=True)
    if args.compare:
        n = args.compare
        for cell, open_loop in (("1R", "v/3"), ("1T1R", "1t1r-row")):
            for scheme in ("write-verify", "ispp", open_loop):
                wall, rep = run(n, cell, scheme, 0.02, preset=args.device)
                print(f"{n}x{n} {cell} {scheme:>12}: median |error| {np.median(np.abs(rep.error)):.2e}, "
                      f"{figures(rep, wall)}", flush=True)


if __name__ == "__main__":
    main()
