"""Batched sinh-cell reads vs per-input full Newton vs ngspice, in one process.

For N x N 1R arrays with 1-ohm wires, cells I = (G/b) sinh(b V) with b = 3 /V and G between 1e-5 and
1e-3 S, and inputs uniform in [0, 0.3] V, it times:
- cosim ``read`` of all inputs at once (batched Newton-CG on one nested-dissection factorisation of the
  small-signal matrix; the time includes that factorisation) and prints the solver's report
  (tolerance, Newton steps, CG iterations, multi-right-hand-side solves, inputs that fell back);
- per-input full Newton (``solve_bias(..., general=True)``, a sparse LU per iteration, which is what
  ``read`` did before), on ``--probe`` inputs, extrapolated to all inputs; the batched results are
  compared with it (largest error relative to each input's largest current);
- ngspice on one operating point of the exported netlist (B-sources ``I = g/b*sinh(b*V)``) at
  ``--ngspice-size``, against cosim's single-input read of the same circuit.

Threads: the nested-dissection solves run on one thread below 512 x 512 cells (BLAS limited to one
thread inside them); everything else is numpy on the calling thread. The load average is printed:
on a shared machine absolute times move with it, the ratios (same process, same load) much less.

    python benchmarks/bench_nonlinear.py [--sizes 128 256] [--inputs 1000] [--probe 3] [--ngspice-size 32]
"""
import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from cosim import Crossbar
from cosim.netlist.spice import run_ngspice


def make(n: int, seed: int = 0) -> Crossbar:
    xb = Crossbar(n, n, "1R", r_wl=1.0, r_bl=1.0, nonlinearity=3.0)
    xb.set_conductances(np.exp(np.random.default_rng(seed).uniform(np.log(1e-5), np.log(1e-3), (n, n))))
    return xb


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.max(np.abs(b), axis=-1, keepdims=True)))


def bench_size(n: int, inputs: int, probe: int) -> None:
    xb = make(n)
    v = np.random.default_rng(1).uniform(0.0, 0.3, (inputs, n))
    t0 = time.perf_counter()
    batched = xb.read(v)
    t_batch = time.perf_counter() - t0
    rep = xb.last_nonlinear_report
    t0 = time.perf_counter()
    newton = np.stack([xb.solve_bias(v[k], general=True).sense_currents for k in range(probe)])
    t_newton = (time.perf_counter() - t0) / probe
    print(f"{n}x{n}, {inputs} inputs, load average {os.getloadavg()[0]:.1f}:")
    print(f"  batched read            {t_batch:8.2f} s  ({1e3 * t_batch / inputs:.2f} ms per input, factorisation included)")
    print(f"  per-input full Newton   {t_newton * inputs:8.1f} s  (extrapolated from {probe}: {t_newton:.3f} s each)"
          f"  -> batched is {t_newton * inputs / t_batch:.0f}x faster")
    print(f"  agreement with full Newton on {probe} inputs: {rel(batched[:probe], newton):.1e} relative")
    print(f"  report: tolerance max |P^-1 F| <= {rep.tolerance_v.max():.1e} V; Newton steps "
          f"{rep.newton_steps.mean():.1f} mean / {rep.newton_steps.max()} max; CG iterations "
          f"{rep.cg_iterations.mean():.1f} mean / {rep.cg_iterations.max()} max; {rep.preconditioner_solves} "
          f"multi-RHS solves; {int(rep.fallback.sum())} inputs fell back to full Newton")
    print(f"  peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def bench_ngspice(n: int) -> None:
    xb = make(n, seed=2)
    v = np.random.default_rng(3).uniform(0.0, 0.3, n)
    with tempfile.TemporaryDirectory() as tmp:
        deck = Path(tmp) / "xb.cir"
        xb.to_spice(deck, v)
        t0 = time.perf_counter()
        res = run_ngspice(deck)
        t_spice = time.perf_counter() - t0
    spice = np.array([res["source_currents"][f"Vout_{j}"] for j in range(n)])
    t0 = time.perf_counter()
    ours = xb.read(v)
    t_ours = time.perf_counter() - t0
    print(f"{n}x{n}, one input: ngspice {t_spice:.3f} s, cosim {t_ours:.4f} s -> {t_spice / t_ours:.0f}x; "
          f"agreement {rel(ours, spice):.1e} relative")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--probe", type=int, default=3)
    parser.add_argument("--ngspice-size", type=int, default=32)
    args = parser.parse_args()
    bench_ngspice(args.ngspice_size)
    for n in args.sizes:
        bench_size(n, args.inputs, args.probe)


if __name__ == "__main__":
    main()
