"""How fast does cosim step VTEAM devices? Cython kernel vs numpy reference vs a per-device Python loop.

Workload: 65,536 VTEAM cells (TEAM set, R_on/R_off spread as in seed 003 Fig. 4) driven by a 1 V,
50 MHz sine for 10,000 steps of 0.1 ns (6.6e8 cell-steps). The kernel runs the whole workload; the
numpy reference (one vectorised step per sample) and the per-device Python loop (one object per cell
stepping itself, the way MemTorch steps devices) are timed on a part of it and extrapolated per
cell-step, as printed. Each timing is the best of several repeats (the machine is shared: the kernel's
CPU time is printed too, which other processes inflate less than wall time). The kernel is serial.

Run: python benchmarks/bench_devices.py [--cells N] [--steps K]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from cosim.devices import VTEAM, Normal
from cosim.devices import compiled


class PyVTEAMDevice:
    """One cell as one Python object with scalar parameters (the per-device design cosim avoids)."""

    def __init__(self, r_on, r_off, p):
        self.r_on, self.r_off, self.p, self.w = r_on, r_off, p, p.w_on

    def step(self, v, dt):
        p = self.p
        x = (self.w - p.w_on) / (p.w_off - p.w_on)
        i = v / (self.r_on + (self.r_off - self.r_on) * x)
        if v > p.v_off:
            self.w += dt * p.k_off * (v / p.v_off - 1.0) ** p.alpha_off
        elif v < p.v_on:
            self.w += dt * p.k_on * (v / p.v_on - 1.0) ** p.alpha_on
        self.w = min(max(self.w, p.w_on), p.w_off)
        return i


def make_array(cells: int) -> VTEAM:
    return VTEAM.preset("TEAM", n=cells, rng=0, r_on=Normal(50, 25, low=1), r_off=Normal(1000, 50, low=100))


def best_of(repeats: int, fn) -> float:
    """Best wall-clock time of ``repeats`` runs (s); the CPU time of that run goes to CPU_TIMES."""
    best = (math.inf, math.inf)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    CPU_TIMES.append(best[1])
    return best[0]


CPU_TIMES: list[float] = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=65_536)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    dt = 1e-10
    v = np.sin(2 * np.pi * 50e6 * dt * np.arange(args.steps))
    total = args.cells * args.steps

    if not compiled.available("VTEAM"):
        raise SystemExit("cosim._ext.device_kernels is not built: run `python setup.py build_ext --inplace`")
    t_cy = best_of(args.repeats, lambda: make_array(args.cells).advance(v, dt))
    rate_cy = total / t_cy
    print(f"VTEAM {args.cells} cells x {args.steps} steps = {total:.3g} cell-steps")
    print(f"  cython kernel (full run)          {t_cy:8.3f} s   {rate_cy:10.3e} cell-steps/s  "
          f"(CPU time {CPU_TIMES[-1]:.3f} s: {total / CPU_TIMES[-1]:.3e} cell-steps per CPU-second)")
    sub = min(args.steps, 2000)
    rec = make_array(args.cells)
    t_rec = best_of(args.repeats, lambda: rec.simulate(v[:sub], dt))
    print(f"  cython kernel, recording currents {t_rec * args.steps / sub:8.3f} s*  {args.cells * sub / t_rec:10.3e} "
          f"cell-steps/s  (*{sub} steps timed, extrapolated)")

    np_steps = min(args.steps, 300)
    t_np = best_of(args.repeats, lambda: make_array(args.cells).simulate(v[:np_steps], dt, engine="numpy"))
    rate_np = args.cells * np_steps / t_np
    print(f"  numpy reference                   {total / rate_np:8.3f} s*  {rate_np:10.3e} cell-steps/s  "
          f"(*{np_steps} steps x {args.cells} cells timed, extrapolated)")

    py_cells, py_steps = 256, 200
    ref = make_array(py_cells)
    cells = [PyVTEAMDevice(ref.cell_params["r_on"][c], ref.cell_params["r_off"][c], ref.params)
             for c in range(py_cells)]
    volts = [float(x) for x in v[:py_steps]]

    def python_loop():
        for device in cells:
            device.w = ref.params.w_on
            for vk in volts:
                device.step(vk, dt)

    t_py = best_of(args.repeats, python_loop)
    rate_py = py_cells * py_steps / t_py
    print(f"  per-device Python loop            {total / rate_py:8.1f} s*  {rate_py:10.3e} cell-steps/s  "
          f"(*{py_steps} steps x {py_cells} cells timed, extrapolated)")

    ref.simulate(v[:py_steps], dt)
    agree = max(abs(c.w - w) for c, w in zip(cells, ref.state)) / ref.params.w_off
    print(f"  check: Python loop vs kernel final states differ by {agree:.1e} of w_off")
    print(f"ratios: cython/numpy = {rate_cy / rate_np:.1f}x, cython/python-loop = {rate_cy / rate_py:.0f}x, "
          f"numpy/python-loop = {rate_np / rate_py:.1f}x; target >= 1e8 cell-steps/s: "
          f"{'met' if rate_cy >= 1e8 else 'NOT met'} ({rate_cy / 1e8:.2f}x)")
    assert math.isfinite(agree) and agree < 1e-9


if __name__ == "__main__":
    main()
