"""Circuit-solver benchmark: cosim vs SciPy SuperLU (factor once, solve many) vs ngspice, in one process.

For N x N 1R arrays with 1-ohm wires and cells between 1 kohm and 100 kohm it times:
- cosim ``transfer_matrix()`` (the structured column recursion) and ``read`` of 1000 input vectors;
- cosim one input through ``read`` (nested dissection for large regular arrays, sparse LU below);
- SuperLU on the same nodal system (cosim's general MNA path): factorisation and per-input solves
  (1000 inputs extrapolated from 20);
- ngspice: one operating point of the exported netlist, where it finishes within a minute.
and prints the ratios. Sizes: ``--sizes 64 128 256 512 1024``.

    python benchmarks/bench_solver.py [--sizes ...] [--inputs 1000]
"""
import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from cosim import Crossbar

NGSPICE_LIMIT_S = 60.0


def make(n: int, seed: int = 0) -> Crossbar:
    xb = Crossbar(n, n, "1R", r_wl=1.0, r_bl=1.0)
    xb.set_conductances(1.0 / np.random.default_rng(seed).uniform(1e3, 1e5, (n, n)))
    return xb


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def superlu(xb: Crossbar, inputs: np.ndarray, probe: int = 20):
    """(factor s, per-input solve s, currents of the probe inputs) on cosim's general sparse path."""
    circuit = xb.compiled()
    g = xb._element_g()
    t_factor, fac = timed(lambda: circuit.factor(g))
    vt = xb.terminal_voltages(inputs[:probe]).T
    t_solve, x = timed(lambda: fac.unknowns(vt))
    currents = fac.terminal_currents(x, vt)[xb.rows:].T
    return t_factor, t_solve / probe, currents


def ngspice_time(xb: Crossbar, v: np.ndarray) -> float:
    """Seconds for one ngspice operating point of the exported circuit (inf past the limit)."""
    from cosim.netlist.ngspice import NgspiceError, run_ngspice

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.cir"
        xb.to_spice(path, v)
        try:
            t, _ = timed(lambda: run_ngspice(path, timeout_s=NGSPICE_LIMIT_S))
        except NgspiceError:
            return float("inf")
    return t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--no-ngspice", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    print(f"{'N':>5} {'T (s)':>8} {'read x' + str(args.inputs) + ' (s)':>16} {'one input (s)':>14} "
          f"{'LU factor':>10} {'LU x' + str(args.inputs) + ' (s)':>14} {'read speed-up':>14} {'ngspice (s)':>12}")
    for n in args.sizes:
        inputs = rng.uniform(0.0, 0.3, (args.inputs, n))
        row = {}
        if n <= 512:
            row["T"], _ = timed(make(n).transfer_matrix)
            xb = make(n)
            row["read"], currents = timed(lambda: xb.read(inputs))
        xb = make(n)
        row["one"], one = timed(lambda: xb.read(inputs[0]))
        if n <= 512:
            f, per, ref = superlu(make(n), inputs)
            row["lu_f"], row["lu_all"] = f, f + per * args.inputs
            err = np.max(np.abs(currents[:20] - ref)) / np.max(np.abs(ref))
            assert err < 1e-9, f"cosim and SuperLU disagree at N={n}: {err:.2e}"
        if not args.no_ngspice and n <= 128:
            row["spice"] = ngspice_time(make(n), inputs[0])
        fmt = lambda k, w: f"{row[k]:>{w}.3f}" if k in row else f"{'-':>{w}}"
        speedup = f"{row['lu_all'] / row['read']:>13.1f}x" if "read" in row else f"{'-':>14}"
        print(f"{n:>5} {fmt('T', 8)} {fmt('read', 16)} {fmt('one', 14)} {fmt('lu_f', 10)} {fmt('lu_all', 14)} "
              f"{speedup} {fmt('spice', 12)}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"peak memory of this process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
