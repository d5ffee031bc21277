"""Sub-step cost and accuracy of co-simulated pulses: explicit midpoint (now) vs first-order (before).

Write-verify of an 8 x 8 1R HfOx array (the engine's default device, 1 ohm wires), run twice in one
process from the same seed: with the midpoint sub-step, and with the first-order one (the midpoint's
predictor replaced by the voltages at the sub-step's start). Prints pulses, sub-steps and circuit solves
per pulse and the wall-time ratio; single-threaded numpy as configured by the caller, no caching across
runs. The machine may be shared: the ratio, not the times, is the result.

    python benchmarks/bench_substep.py
"""
import time

import numpy as np

from cosim import Engine
from cosim.sim import cosimulate


def run(n: int = 8, seed: int = 3):
    eng = Engine()
    arr = eng.array(n, n, cell="1R", seed=seed, r_wl=1.0, r_bl=1.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    counts = {"solves": 0, "substeps": 0, "pulses": 0}
    solve, co_simulate = cosimulate.solve, cosimulate.co_simulate

    def counted_solve(*a):
        counts["solves"] += 1
        return solve(*a)
    cosimulate.solve = counted_solve
    t0 = time.perf_counter()
    rep = arr.program(target, scheme="write-verify", tolerance=0.02, progress=False)
    wall = time.perf_counter() - t0
    cosimulate.solve = solve
    counts["pulses"] = int(rep.pulses.sum())
    del co_simulate
    return wall, counts, rep


def main():
    midpoint = cosimulate._midpoint_voltages
    wall_new, new, rep_new = run()
    cosimulate._midpoint_voltages = lambda crossbar, device, bias, v_start, dt: v_start   # first order
    try:
        wall_old, old, rep_old = run()
    finally:
        cosimulate._midpoint_voltages = midpoint
    for name, wall, c, rep in (("first order", wall_old, old, rep_old), ("midpoint", wall_new, new, rep_new)):
        print(f"{name:12s} pulses {c['pulses']:5d}  solves/pulse (incl. verify reads) {c['solves'] / c['pulses']:6.2f}  "
              f"success {rep.success_rate:.3f}  wall {wall:.2f} s")
    print(f"wall ratio midpoint / first order: {wall_new / wall_old:.2f}")


if __name__ == "__main__":
    main()
