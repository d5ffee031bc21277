"""Engine benchmark, like with like: the same pulses and reads, co-simulated by cosim and by a per-cell Python loop.

cosim side: write-verify of an N x N 1T1R array of HfOx VTEAM cells (the engine's default device,
1 kohm transistors, 1 ohm wires) to 1 %: the controller's planning and IR-drop models, and every pulse
and verify read co-simulated with the circuit (each sub-step solves the selected row's exact ladder,
word-line IR drop included; sub-steps adapt to how fast the cells move).

Reference side (same process, same thread count): replays exactly the pulses and reads cosim issued,
from the same initial states and each cell's own parameters, the way a per-device simulator
(MemTorch-style) does it: a Python loop over the driven cells, each pulse integrated by a scalar loop
in steps of at most the preset's own time step (``VTEAMParams.dt``, 1 ns for HfOx), with the cell's voltage from its
series divider at every step; each read a per-cell divider. The reference does *less* circuit work
(no word-line IR drop) and no controller planning, so the printed ratio understates cosim's advantage.
Both final states are compared so the two sides are seen to do the same job.

    python benchmarks/bench_engine.py [--size 32]
"""
import argparse
import math
import os
import time

import numpy as np

from cosim import Engine


def cosim_write_verify(n: int):
    eng = Engine()
    arr = eng.array(n, n, cell="1T1R", seed=1, r_wl=1.0, r_bl=1.0, r_on_transistor=1e3)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(0).uniform(np.log(lo * 1.2), np.log(hi * 0.8)))
    w0 = arr.device.state
    t0 = time.perf_counter()
    rep = arr.program(target, scheme="write-verify", tolerance=0.01, progress=False)
    return time.perf_counter() - t0, rep, arr, w0


def reference_replay(arr, w0: np.ndarray) -> tuple[float, np.ndarray]:
    """Replay the trace's pulses cell by cell with scalar Python loops; (wall s, final conductances S)."""
    dev = arr.device
    p = dev.cell_params
    lay = arr.crossbar.layout
    dt = dev.params.dt
    exponential = dev.params.r_model == "exponential"
    w = w0.astype(float).copy()
    n = arr.cols

    def resistance(c: int, wc: float) -> float:
        x = (wc - p["w_on"][c]) / (p["w_off"][c] - p["w_on"][c])
        if exponential:
            return p["r_on"][c] * math.exp(math.log(p["r_off"][c] / p["r_on"][c]) * x)
        return p["r_on"][c] + (p["r_off"][c] - p["r_on"][c]) * x

    def series(row: int, col: int) -> float:
        return lay.r_on_transistor[row, col] + lay.r_bl[row:, col].sum() + lay.r_sense[col]

    t0 = time.perf_counter()
    for rec in arr.trace:
        if rec.operation == "pulse":
            row = rec.rows[0]
            for col, v_bl in enumerate(rec.v_bl):
                if v_bl == 0.0:
                    continue
                c = row * n + col
                drive, r_s = -v_bl, series(row, col)
                steps = max(1, math.ceil(rec.duration_s / dt))
                h = rec.duration_s / steps                  # steps of at most the preset's dt
                wc = w[c]
                for _ in range(steps):
                    v = drive * resistance(c, wc) / (resistance(c, wc) + r_s)
                    if v > p["v_off"][c]:
                        wc += h * p["k_off"][c] * (v / p["v_off"][c] - 1.0) ** p["alpha_off"][c]
                    elif v < p["v_on"][c]:
                        wc += h * p["k_on"][c] * (v / p["v_on"][c] - 1.0) ** p["alpha_on"][c]
                    wc = min(max(wc, p["w_on"][c]), p["w_off"][c])
                w[c] = wc
        elif rec.operation == "read" and rec.rows:
            row = rec.rows[0]
            v = rec.v_wl[row]
            _ = [v / (resistance(row * n + col, w[row * n + col]) + series(row, col)) for col in range(n)]
    wall = time.perf_counter() - t0
    g = np.array([1.0 / resistance(c, w[c]) for c in range(w.size)])
    return wall, g.reshape(arr.shape)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args(argv)
    n = args.size
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; no caching across runs; "
          f"one run each (the machine may be loaded: the ratio is what to read)")
    wall, rep, arr, w0 = cosim_write_verify(n)
    pulses = sum(1 for r in arr.trace if r.operation == "pulse")
    print(f"cosim: write-verify {n}x{n} 1T1R HfOx to 1 %: {wall:.2f} s wall, {rep.success_rate:.1%} within tolerance, "
          f"{rep.pulses_per_cell:.2f} pulses/cell, {pulses} pulse and {rep.reads} read operations, "
          f"{rep.energy:.3e} J, {rep.time:.3e} s simulated")
    ref_wall, g_ref = reference_replay(arr, w0)
    diff = np.abs(g_ref / arr.conductances() - 1.0)
    print(f"reference: the same {pulses} pulses and {rep.reads} reads replayed per cell at dt = "
          f"{arr.device.params.dt:g} s: {ref_wall:.2f} s wall; final conductances differ from cosim's by "
          f"median {np.median(diff):.2e}, max {np.max(diff):.2e} (cosim: first-order sub-steps of 2 % of the state "
          f"range, CosimConfig.max_change; reference: steps of at most dt; the word line's IR drop)")
    print(f"ratio (reference / cosim, cosim including its controller): {ref_wall / wall:.2f}x")


if __name__ == "__main__":
    main()
