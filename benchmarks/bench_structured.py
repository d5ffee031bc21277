"""Structured column recursion vs the general sparse path for the transfer matrix, in one process.

For N x N 1R arrays (cells 1 kohm .. 100 kohm, 1-ohm word lines, 2-ohm drivers, 3-ohm senses) with
resistive or ideal (0-ohm) bit lines, it times ``structured.transfer_matrix`` (the compiled,
subtraction-free recursion, one thread, no caching) and the general path's transfer matrix (SuperLU
factor + N solves), prints the ratio and their largest difference relative to the largest entry.

    python benchmarks/bench_structured.py [--sizes 8 16 31 64 128]
"""
import argparse

import numpy as np

from timing import best_time
from cosim import Crossbar
from cosim.solve import structured


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 31, 64, 128])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'N':>5} {'r_bl':>5} {'structured (ms)':>16} {'general (ms)':>13} {'speed-up':>9} {'max diff':>9}")
    for n in args.sizes:
        for r_bl in (1.0, 0.0):
            xb = Crossbar(n, n, r_wl=1.0, r_bl=r_bl, r_source=2.0, r_sense=3.0)
            xb.set_conductances(1.0 / rng.uniform(1e3, 1e5, (n, n)))
            lay = xb.layout
            fast = lambda: structured.transfer_matrix(xb.conductances, lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense)
            t_fast = best_time(fast, args.repeat)
            t_general = best_time(xb.transfer_matrix_general, args.repeat)
            diff = np.max(np.abs(fast() - xb.transfer_matrix_general())) / np.max(np.abs(fast()))
            print(f"{n:>5} {r_bl:>5.1f} {t_fast * 1e3:>16.3f} {t_general * 1e3:>13.3f} {t_general / t_fast:>8.1f}x "
                  f"{diff:>9.1e}", flush=True)


if __name__ == "__main__":
    main()
