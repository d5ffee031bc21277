"""How fast is the nested-dissection solver on large crossbars, against scipy SuperLU on the same system?

For each size n (an n x n array, 1-ohm wires, cells 1 k..100 k log-uniform, ideal drivers and senses)
one fresh process builds the array and times, best of ``--repeats``:
- the nested-dissection factorisation and one solve (``cosim.solve.nested``), and its peak RSS
  (the first factorisation in a fresh process is printed too: on a virtual machine its fresh memory
  pages can cost more than the arithmetic);
- at the smallest size, the per-input cost of a many-input solve (``--batch`` inputs at once);
- the general sparse path (``CompiledCircuit`` + SuperLU, ``cosim.solve.mna``) on the same circuit,
  in the same process, for sizes up to ``--superlu-max`` (it needs > 40 s at 1024), and the largest
  difference between the two solvers' sense currents;
- the transfer matrix from the factorisation (N adjoint solves, one per sense, in chunks of up to 128,
  each front eliminating only the senses whose column crosses it) and the peak RSS after it, on
  ``--threads`` solver threads (default one); and, alternating with it in the same process, the
  previous method (M pruned driver solves, ``sense_currents(eye(M))``), their ratio and difference.
Cost growth: the factorisation's flops grow as n^3 (0.30 Gflop at 256, 2.5 at 512, 20 at 1024, 166 at
2048: ``nested_tree.factor_cost``) and its panels as n^2 log n (21 MiB, 100 MiB, 464 MiB, 2.1 GiB); the
transfer matrix's solves add O(n^3) work in BLAS-3 blocks (about 3e10 flops at 1024 by the previous
method, 2e10 by the adjoint one), comparable to the factorisation: both are the limit.

Run: python benchmarks/bench_large_solve.py [--sizes 256 512 1024] [--superlu-max 512] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats: int):
    """(first wall time, best wall time in s, last result) over ``repeats`` calls."""
    times, result = [], None
    for _ in range(repeats):
        result = None                  # let the previous result go before the next run
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times[0], min(times), result


def best_time(fn, repeats: int):
    """(best wall time in s, last result) over ``repeats`` calls."""
    return timed(fn, repeats)[1:]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(n: int, repeats: int, batch: int, superlu: bool, seed: int = 0, threads: int | None = None) -> dict:
    """All timings for one size, in this process."""
    from cosim import Crossbar
    from cosim.solve.mna import CompiledCircuit
    from cosim.solve.nested import NestedDissectionSolver

    rng = np.random.default_rng(seed)
    g = 1.0 / np.exp(rng.uniform(np.log(1e3), np.log(1e5), (n, n)))
    v = rng.uniform(0.0, 0.3, n)
    wires = dict(r_wl=np.ones((n, n - 1)), r_bl=np.ones((n - 1, n)), r_source=np.zeros(n), r_sense=np.zeros(n))

    out = {"size": n}
    out["first_factor_s"], out["factor_s"], solver = timed(
        lambda: NestedDissectionSolver(g, **wires, n_threads=threads), repeats)
    out["solve_s"], current = best_time(lambda: solver.sense_currents(v), repeats)
    out["factor_mb"] = solver.factor_bytes / 2 ** 20
    out["peak_rss_mb"] = peak_rss_mb()       # factor + one solve (before the batch and SuperLU)
    first_t, _, t_new = timed(solver.transfer_matrix, 1)
    out["transfer_rss_mb"] = peak_rss_mb()
    new, old = [first_t], []
    for _ in range(repeats):                 # alternate the previous method and this one, same load
        start = time.perf_counter()
        t_old = solver.sense_currents(np.eye(n)).T
        old.append(time.perf_counter() - start)
        new.append(timed(solver.transfer_matrix, 1)[0])
    out["transfer_s"], out["transfer_old_s"] = min(new), min(old)
    out["transfer_rel_diff"] = float(np.max(np.abs(t_new - t_old)) / np.max(np.abs(t_old)))
    assert out["transfer_rel_diff"] <= 1e-9, out["transfer_rel_diff"]
    if batch:
        vb = rng.uniform(0.0, 0.3, (n, batch))
        t_batch, _ = best_time(lambda: solver.sense_currents(vb), repeats)
        out["per_input_s"] = t_batch / batch
    del solver
    if superlu:
        xb = Crossbar(n, n, r_wl=1.0, r_bl=1.0, r_source=0.0, r_sense=0.0)
        xb.set_conductances(g)
        table = xb.layout.element_table(xb.conductances, xb.selected_rows)
        circuit = CompiledCircuit(table)
        vt = xb.terminal_voltages(v)[:, None]
        out["superlu_factor_s"], fac = best_time(lambda: circuit.factor(table.g), 1)
        out["superlu_solve_s"], ref = best_time(lambda: fac.terminal_currents(fac.unknowns(vt), vt)[n:, 0], 1)
        out["max_rel_diff"] = float(np.max(np.abs(current - ref)) / np.max(np.abs(ref)))
    return out


def run_child(n: int, args) -> dict:
    """One size in a fresh process, so that its peak RSS is its own; it imports the cosim of this checkout."""
    cmd = [sys.executable, __file__, "--child", str(n), "--repeats", str(args.repeats), "--threads", str(args.threads),
           "--batch", str(args.batch if n == min(args.sizes) else 0), "--superlu-max", str(args.superlu_max)]
    checkout = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict]) -> None:
    print(f"{'size':>6} {'factor s':>9} {'solve s':>8} {'total s':>8} {'1st factor s':>13} {'peak RSS MB':>12} "
          f"{'factor MB':>10} {'SuperLU s':>10} {'ratio':>7} {'max rel diff':>13} {'T s':>6} {'T total s':>9} "
          f"{'T RSS MB':>9} {'T old s':>8} {'T ratio':>8}")
    for r in rows:
        total = r["factor_s"] + r["solve_s"]
        slu = r.get("superlu_factor_s", np.nan) + r.get("superlu_solve_s", np.nan)
        print(f"{r['size']:>6} {r['factor_s']:>9.3f} {r['solve_s']:>8.3f} {total:>8.3f} {r['first_factor_s']:>13.3f} "
              f"{r['peak_rss_mb']:>12.0f} {r['factor_mb']:>10.0f} {slu:>10.2f} {slu / total:>7.1f} "
              f"{r.get('max_rel_diff', np.nan):>13.1e} {r['transfer_s']:>6.2f} {r['factor_s'] + r['transfer_s']:>9.2f} "
              f"{r['transfer_rss_mb']:>9.0f} {r['transfer_old_s']:>8.2f} {r['transfer_old_s'] / r['transfer_s']:>8.2f}")
    print("times: best of the repeats; '1st factor': the first run in a fresh process (fresh memory pages);"
          " ratio: SuperLU (factor + solve) / nested (factor + solve); T s: the transfer matrix from the"
          " factorisation (N adjoint solves), T total: with the factorisation; T RSS: peak RSS after it;"
          " T old: the previous method (M pruned driver solves) alternating with it; T ratio: T old / T")
    for r in rows:
        if "per_input_s" in r:
            print(f"many-input solve at {r['size']}: {r['per_input_s'] * 1e3:.2f} ms per input "
                  f"(one input alone: {r['solve_s'] * 1e3:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--batch", type=int, default=256, help="inputs of the many-input solve (smallest size)")
    parser.add_argument("--superlu-max", type=int, default=512, help="largest size timed with SuperLU")
    parser.add_argument("--threads", type=int, default=1, help="solver threads (the transfer-matrix target is one)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeats, args.batch, args.child <= args.superlu_max,
                                 threads=args.threads)))
        return
    print_table([run_child(n, args) for n in args.sizes])


if __name__ == "__main__":
    main()
