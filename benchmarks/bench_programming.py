"""Programming benchmark: honest controllers on the issue's targets, and the schemes side by side.

Targets (Pt/Hf/Ti VTEAM with 10 % device-to-device spread of R_on and R_off, 1 ohm wires): write-verify
of a 32 x 32 1R array to 2 % (>= 99 % of cells within tolerance in <= 30 s wall), 64 x 64 1R to 2 %
(<= 3 min), 128 x 128 1T1R (100 ohm transistors) to 1 % (<= 60 s). The controllers see only their
reads, the layout and the nominal preset. Then write-verify, ISPP and open loop on the same arrays
(1R: v/3; 1T1R: 1t1r-row): accuracy, pulses per cell, energy and simulated time.

One run of each, in one process; the machine may be shared, so wall times are upper bounds.

    python benchmarks/bench_programming.py [--targets 32,64,128] [--compare 16]
"""
import argparse
import os
import time

import numpy as np

from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal


def spread_array(n: int, cell: str, seed: int = 1):
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    dev = VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=seed, r_on=LogNormal(0.1, p.r_on), r_off=LogNormal(0.1, p.r_off))
    eng = Engine()
    arr = eng.array(n, n, cell=cell, device=dev, seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=100.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    return arr, target


def run(n: int, cell: str, scheme: str, tolerance: float):
    arr, target = spread_array(n, cell)
    t0 = time.perf_counter()
    rep = arr.program(target, scheme=scheme, tolerance=tolerance, progress=False)
    return time.perf_counter() - t0, rep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="32,64,128", help="which targets to run (sizes: 32, 64 1R; 128 1T1R)")
    parser.add_argument("--compare", type=int, default=16, help="array size of the scheme comparison (0: skip)")
    args = parser.parse_args(argv)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; one run each, no caching")
    goals = {32: ("1R", 0.02, 30.0), 64: ("1R", 0.02, 180.0), 128: ("1T1R", 0.01, 60.0)}
    for size in (int(s) for s in args.targets.split(",") if s):
        cell, tol, budget = goals[size]
        wall, rep = run(size, cell, "write-verify", tol)
        verdict = "met" if rep.success_rate >= 0.99 and wall <= budget else "NOT met"
        print(f"target {size}x{size} {cell} to {tol:.0%} in <= {budget:.0f} s: {wall:.1f} s, {rep.success_rate:.2%} "
              f"within tolerance -> {verdict}; {rep.summary()}")
    if args.compare:
        n = args.compare
        for cell, open_loop in (("1R", "v/3"), ("1T1R", "1t1r-row")):
            for scheme in ("write-verify", "ispp", open_loop):
                wall, rep = run(n, cell, scheme, 0.02)
                print(f"{n}x{n} {cell} {scheme:>12}: {rep.success_rate:6.1%} within 2 %, "
                      f"median |error| {np.median(np.abs(rep.error)):.2e}, {rep.pulses_per_cell:6.2f} pulses/cell, "
                      f"{rep.reads:6d} reads, energy {rep.energy:.3e} J, simulated {rep.time:.3e} s, wall {wall:.1f} s")


if __name__ == "__main__":
    main()
