"""How fast is one operating point with new conductances (what the engine solves at every pulse sub-step)?

For N x N 1R arrays (1-ohm wires, ideal drivers and senses, cells 1 k..100 k log-uniform) it times, in one
process, best of ``--repeats``, each call with conductances never factored before:
- cosim ``solve_bias`` for a V/2 programming bias (bit lines held at non-zero voltages): nested
  dissection, factorisation included (one thread below 512 x 512, BLAS on one thread);
- the same request on the general path (sparse LU on cosim's MNA stamps: the route every biased or
  floating operating point took before this benchmark's change);
- SciPy SuperLU alone on the assembled nodal matrix (``splu``, its default ordering, then one solve);
- a MemTorch-style solve: the 2MN x 2MN nodal matrix assembled from COO triplets and ``spsolve`` per call;
- a rank-k update: one cell changed since the last factorisation (a pulse sub-step), then the same
  solve with updates disabled (a refactorisation);
- a read with a new floating pattern (one word line driven, the other lines floating, the sneak-path read
  of one cell) against the grounded cold operating point;
- an engine pulse (``Array.pulse``: a V/2 SET pulse on one cell of a VTEAM array, co-simulated), per
  sub-step, with the rank-k updates and with them disabled (the device stepping is included).
Every fast result is checked against the general path (max relative difference printed).

    python benchmarks/bench_cold_op.py [--sizes 64 128 256] [--repeats 5]
"""
import argparse
import os
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cosim import Crossbar, Engine
from cosim.devices import VTEAM
from cosim.solve.low_rank import LowRankPolicy


def best(fn, repeats: int):
    """(best wall time in s, last result)."""
    t_best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - start)
    return t_best, out


def conductances(n: int, rng) -> np.ndarray:
    return 1.0 / np.exp(rng.uniform(np.log(1e3), np.log(1e5), (n, n)))


def half_select_bias(n: int, v: float = 1.0):
    v_wl, v_bl = np.full(n, v / 2), np.full(n, v / 2)
    v_wl[n // 3], v_bl[n // 2] = v, 0.0
    return v_wl, v_bl


def nodal_system(g: np.ndarray, v_wl: np.ndarray, v_bl: np.ndarray):
    """COO assembly of the 2MN nodal system (1-ohm wires; ideal terminals as 1e9 S Norton sources)."""
    m, n = g.shape
    u = np.arange(m * n).reshape(m, n)
    b = m * n + u
    a_end = np.concatenate([u.ravel(), u[:, :-1].ravel(), b[:-1].ravel()])
    b_end = np.concatenate([b.ravel(), u[:, 1:].ravel(), b[1:].ravel()])
    cond = np.concatenate([g.ravel(), np.ones(m * (n - 1)), np.ones((m - 1) * n)])
    rows = np.concatenate([a_end, b_end, a_end, b_end])
    cols = np.concatenate([a_end, b_end, b_end, a_end])
    vals = np.concatenate([cond, cond, -cond, -cond])
    g_t = 1e9
    term = np.concatenate([u[:, 0], b[-1]])
    a = sp.coo_matrix((np.concatenate([vals, np.full(term.size, g_t)]),
                       (np.concatenate([rows, term]), np.concatenate([cols, term]))), shape=(2 * m * n,) * 2)
    rhs = np.zeros(2 * m * n)
    rhs[term] = g_t * np.concatenate([v_wl, v_bl])
    return a, rhs


def rel(a, b) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def measure(n: int, repeats: int, rng) -> dict:
    v_wl, v_bl = half_select_bias(n)
    xb = Crossbar(n, n, "1R", r_wl=1.0, r_bl=1.0)
    out = {"n": n}

    def cold(**kw):
        xb.set_conductances(conductances(n, rng))
        return xb.solve_bias(v_wl, v_bl, **kw)

    slow = 1 if n >= 256 else repeats
    repeats = 3 * repeats if n < 256 else repeats      # cheap: more tries at an undisturbed run
    out["general"], _ = best(lambda: cold(general=True), slow)
    out["cosim"], sol = best(cold, repeats)
    out["diff_general"] = rel(sol.cell_currents, xb.solve_bias(v_wl, v_bl, general=True).cell_currents)
    a, rhs = nodal_system(xb.conductances, v_wl, v_bl)
    out["superlu"], x = best(lambda: spla.splu(a.tocsc()).solve(rhs), slow)
    out["diff_superlu"] = rel(sol.cell_currents, xb.conductances * (x[: n * n] - x[n * n:]).reshape(n, n))
    out["memtorch"], _ = best(lambda: spla.spsolve(nodal_system(conductances(n, rng), v_wl, v_bl)[0].tocsr(), rhs),
                              slow)
    # a pulse sub-step: the selected cell moved since the last factorisation
    g = conductances(n, rng)
    xb.set_conductances(g)
    xb.solve_bias(v_wl, v_bl)

    def substep():
        g[n // 3, n // 2] *= 1.01
        xb.set_conductances(g)
        return xb.solve_bias(v_wl, v_bl)

    out["update"], sol = best(substep, 10 * repeats)
    out["diff_update"] = rel(sol.cell_currents, xb.solve_bias(v_wl, v_bl, general=True).cell_currents)
    refactor = Crossbar(n, n, "1R", r_wl=1.0, r_bl=1.0, low_rank=LowRankPolicy(max_rank=0))
    refactor.set_conductances(g)

    def substep_refactor():
        g[n // 3, n // 2] *= 1.01
        refactor.set_conductances(g)
        return refactor.solve_bias(v_wl, v_bl)

    out["refactor"], _ = best(substep_refactor, repeats)
    # a sneak-path read of cell (n//3, n//2): one word line driven, the other lines floating
    fw, fb = np.ones(n, bool), np.ones(n, bool)
    fw[n // 3], fb[n // 2] = False, False
    v_read = np.zeros(n)
    v_read[n // 3] = 0.2

    def floating_read():
        fw[:] = rng.random(n) < 0.5                # a new floating pattern: a new factorisation
        fw[n // 3] = False
        return xb.solve_bias(v_read, None, fw, fb)

    out["floating"], sol = best(floating_read, repeats)
    out["diff_floating"] = rel(sol.sense_currents, xb.solve_bias(v_read, None, fw, fb, general=True).sense_currents)
    out["grounded"], _ = best(lambda: cold(), repeats)
    return out


def engine_substep(n: int, policy: LowRankPolicy, repeats: int) -> tuple[float, int]:
    """(best seconds per sub-step, sub-steps) of a single-cell V/2 SET pulse on an n x n 1R VTEAM array."""
    arr = Engine().array(n, n, cell="1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=4), seed=4,
                         r_wl=1.0, r_bl=1.0)
    arr.crossbar.low_rank = policy
    lo, _ = arr.conductance_bounds()
    row, col = min(5, n - 1), min(7, n - 1)           # near the drivers: the cell sees most of the bias
    v_wl, v_bl = np.full(n, -0.5), np.full(n, -0.5)
    v_wl[row], v_bl[col] = -1.0, 0.0
    t_best, steps = np.inf, 0
    for _ in range(repeats):
        arr.device.set_conductance((1.5 * lo).ravel())
        start = time.perf_counter()
        out = arr.pulse(v_wl, v_bl=v_bl, width_s=1e-7)
        t_best, steps = min(t_best, (time.perf_counter() - start) / out.substeps), out.substeps
    return t_best, steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; nested dissection on one thread "
          f"below 512x512, BLAS on one thread; times in ms, best of {3 * args.repeats} below 256, of {args.repeats} at 256 (1 for the slow peers)")
    print(f"{'N':>4} {'cosim':>7} {'general':>8} {'x':>6} {'SuperLU':>8} {'x':>6} {'MemTorch':>9} {'x':>6} "
          f"{'substep':>8} {'refactor':>9} {'x':>6} {'floating':>9} {'/grounded':>9} {'max rel diff':>12}")
    for n in args.sizes:
        r = measure(n, args.repeats, rng)
        ms = {k: 1e3 * v for k, v in r.items() if not k.startswith("diff") and k != "n"}
        diff = max(v for k, v in r.items() if k.startswith("diff"))
        assert diff < 1e-9, {k: v for k, v in r.items() if k.startswith("diff")}
        print(f"{n:>4} {ms['cosim']:>7.2f} {ms['general']:>8.1f} {ms['general'] / ms['cosim']:>5.1f}x "
              f"{ms['superlu']:>8.1f} {ms['superlu'] / ms['cosim']:>5.1f}x {ms['memtorch']:>9.1f} "
              f"{ms['memtorch'] / ms['cosim']:>5.1f}x {ms['update']:>8.3f} {ms['refactor']:>9.2f} "
              f"{ms['refactor'] / ms['update']:>5.0f}x {ms['floating']:>9.2f} {ms['floating'] / ms['grounded']:>8.2f}x "
              f"{diff:>12.1e}", flush=True)
    for n in args.sizes[:1]:
        fast, steps = engine_substep(n, LowRankPolicy(), args.repeats)
        slow, _ = engine_substep(n, LowRankPolicy(max_rank=0), args.repeats)
        print(f"engine pulse on {n}x{n} 1R ({steps} sub-steps): {fast * 1e3:.3f} ms per sub-step with rank-k updates, "
              f"{slow * 1e3:.3f} ms refactoring ({slow / fast:.1f}x)")
    print("cosim: cold V/2 operating point incl. factorisation; general: the same on sparse LU (the old route);"
          " substep: one cell changed, rank-1 update; refactor: the same with updates off; floating: a read with"
          " a new floating pattern, ratio to the grounded cold operating point")


if __name__ == "__main__":
    main()
