"""Engine benchmark: write-verify of a 1T1R array with full circuit-device co-simulation.

Times cosim's write-verify (ISPP, a verify read after every pulse, every pulse co-simulated with the
crossbar circuit) of an N x N 1T1R array of Pt/Hf/Ti VTEAM cells to 1 %, and reports engine
operations per second. For comparison it times, in the same process, the way MemTorch programs a
crossbar: a Python loop over cells, each pulse integrated by a per-device Python loop of time steps
(no circuit at all), measured on a few cells and extrapolated to the same job.

    python benchmarks/bench_engine.py [--size 128]
"""
import argparse
import time

import numpy as np

from cosim import Engine
from cosim.devices import VTEAM


def cosim_write_verify(n: int):
    eng = Engine()
    arr = eng.array(n, n, cell="1T1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=1), seed=1,
                    r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(0).uniform(np.log(lo * 1.2), np.log(hi * 0.8)))
    t0 = time.perf_counter()
    rep = arr.program(target, scheme="write-verify", tolerance=0.01)
    return time.perf_counter() - t0, rep, arr


def python_loop_pulse(w: float, v: float, width: float, dt: float, p) -> float:
    """One VTEAM pulse integrated by a scalar Python loop (MemTorch style: a call per device per step)."""
    steps = int(round(width / dt))
    for _ in range(steps):
        if v > p.v_off:
            w += dt * p.k_off * (v / p.v_off - 1.0) ** p.alpha_off
        elif v < p.v_on:
            w += dt * p.k_on * (v / p.v_on - 1.0) ** p.alpha_on
        w = min(max(w, p.w_on), p.w_off)
    return w


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--python-step", type=float, default=1e-10,
                        help="time step of the per-device Python loop, s (MemTorch's VTEAM default)")
    args = parser.parse_args(argv)
    n = args.size
    wall, rep, arr = cosim_write_verify(n)
    ops = rep.operations
    print(f"cosim write-verify {n}x{n} 1T1R to 1 %: {wall:.1f} s wall, {rep.success_rate:.2%} within tolerance, "
          f"{int(rep.pulses.sum())} cell-pulses in {ops} engine operations ({ops / wall:.0f} operations/s)")
    # the per-cell Python loop: time python_loop_pulse for a short pulse and scale by step count
    p = VTEAM.preset("Pt/Hf/Ti").params
    probe_steps = 200_000
    t0 = time.perf_counter()
    python_loop_pulse(0.0, 0.6, probe_steps * args.python_step, args.python_step, p)
    per_step = (time.perf_counter() - t0) / probe_steps
    # the same cell-pulses (each pulse's width times the cells it drove), stepped at python_step
    pulse_steps = sum(r.duration_s / args.python_step * np.count_nonzero(r.v_bl)
                      for r in arr.trace if r.operation == "pulse")
    loop_seconds = per_step * pulse_steps
    print(f"per-device Python loop: {per_step * 1e9:.0f} ns per device step; the same {int(rep.pulses.sum())} "
          f"cell-pulses at dt = {args.python_step:g} s need {pulse_steps:.3g} steps -> {loop_seconds:.3g} s "
          f"(extrapolated)")
    print(f"ratio (Python loop / cosim): {loop_seconds / wall:.3g}x")


if __name__ == "__main__":
    main()
