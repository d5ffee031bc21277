"""Study: the best static bias (a linear program over the line drivers) vs V/3 under the disturb limit.

At the 64 x 64 programmed state of bench_programming (Pt/Hf/Ti, 10 % spread, 1 ohm wires; the cells at
their targets, as the controller's model would estimate them), for the cells farthest from the drivers:
the largest SET-polarity voltage V/3 can put on the cell while the model keeps every other cell under
95 % of its threshold (cosim.sim.control.disturb), and the LP optimum
(cosim.sim.control.optimal_bias) under the same bound and the drivers' v_line_max, against the SET
threshold. Each LP bias is checked independently: a fresh Crossbar with the designed layout and the same
conductances solved with the general sparse path (Crossbar.solve_bias(general=True)) at those line
voltages; the worst other-cell voltage / threshold and the selected cell's voltage are printed.

    python benchmarks/bench_optimal_bias.py [--size 64] [--cells 12]
"""
import argparse
import os
import time

import numpy as np

from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal
from cosim.sim import WriteVerifyConfig
from cosim.sim.control.disturb import DISTURB_MARGIN, scale_limit
from cosim.sim.control.closed_loop import V3_MARGIN
from cosim.sim.control.optimal_bias import optimal_bias, response_matrix
from cosim.sim.control.config import PulseLimits
from cosim.sim.control.view import ControllerView
from cosim.sim.program import build_model
from cosim.solve.crossbar import Crossbar


def spread_array(n: int, seed: int = 1):
    """As benchmarks/bench_programming.py: the array and its targets (S)."""
    p = VTEAM.PRESETS["Pt/Hf/Ti"]
    dev = VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=seed, r_on=LogNormal(0.1, p.r_on), r_off=LogNormal(0.1, p.r_off))
    arr = Engine().array(n, n, cell="1R", device=dev, seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=100.0)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    return arr, target


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--cells", type=int, default=12, help="far cells sampled")
    ap.add_argument("--state", choices=("programmed", "erased"), default="programmed",
                    help="programmed: every cell at its target; erased: the others at the low bound")
    ap.add_argument("--reach", action="store_true", help="also bisect the highest reachable G of the far cells")
    args = ap.parse_args(argv)
    n = args.size
    if args.reach:
        reachable(n, min(args.cells, 4))
    arr, target = spread_array(n)
    model = build_model(arr, None)
    lay = arr.crossbar.layout
    v_line_max = WriteVerifyConfig().limits.v_line_max
    sign = model.polarity(+1)                               # SET polarity
    v_pos = model.v_up if model.sign_up > 0 else model.v_down
    v_neg = model.v_down if model.sign_up > 0 else model.v_up
    print(f"{n}x{n} 1R, cells at their targets ({target.min():.3g}..{target.max():.3g} S); SET threshold "
          f"{model.v_up:.3f} V (sign {sign:+d}), RESET {model.v_down:.3f} V; bound {DISTURB_MARGIN} x threshold; "
          f"v_line_max {v_line_max} V; threads OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    ctrl = Crossbar(n, n, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source, r_sense=lay.r_sense)
    g_lo = float(np.min(model.bounds()[0]))
    if args.state == "erased":     # the far-first strategy's state: every other cell erased, the cell at its target
        print(f"state: every other cell at the model's low bound {g_lo:.3g} S, the cell at its target")
    # the far cells: largest designed series resistance to the drivers, high-conductance targets first
    r_far = ControllerView(arr, model, PulseLimits()).series_resistances()
    far = np.argsort(-(r_far * target).ravel())[:args.cells]
    v3_cap = V3_MARGIN * 3.0 * min(model.v_up, model.v_down)
    print(" cell      G_target   r_series  V/3 reach  LP reach  LP/threshold  check: sel V, worst other/threshold  LP s")
    reach_v3, reach_lp = [], []
    for flat in far:
        r, c = divmod(int(flat), n)
        g = target.copy()
        if args.state == "erased":
            g[:] = g_lo
            g[r, c] = target[r, c]
        if args.state == "erased" or flat == far[0]:
            t0 = time.perf_counter()
            resp = response_matrix(ctrl, g)
            t_resp = time.perf_counter() - t0
            check = Crossbar(n, n, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source, r_sense=lay.r_sense)
            check.set_conductances(g)
        v3_bias = arr.cell_bias(r, c, 1.0, "v/3")
        unit = resp[..., :n] @ v3_bias.v_wl + resp[..., n:] @ v3_bias.v_bl
        spared = np.ones((n, n), bool)
        spared[r, c] = False
        lim = min(v3_cap, scale_limit(unit, spared, model, sign))
        v3 = lim * abs(unit[r, c])
        t1 = time.perf_counter()
        b = optimal_bias(resp, r, c, sign, v_pos, v_neg, v_line_max)
        t_lp = time.perf_counter() - t1
        v = check.solve_bias(b.v_wl, b.v_bl, general=True).cell_voltages
        other = np.delete(v.ravel(), flat)
        ratio = np.max(np.where(other > 0, other / v_pos, -other / v_neg))
        reach_v3.append(v3)
        reach_lp.append(abs(b.v_cell))
        print(f" ({r:2d},{c:2d})  {target[r, c]:.3e}  {r_far[r, c]:6.1f}   {v3:7.3f}   {abs(b.v_cell):7.3f}   "
              f"{abs(b.v_cell) / model.v_up:8.2f}      {v[r, c]:+.3f} V, {ratio:.4f}               {t_lp:.2f}")
    reach_v3, reach_lp = np.array(reach_v3), np.array(reach_lp)
    print(f"response matrix: {2 * n} unit solves in one batch, {t_resp:.2f} s (last)")
    print(f"SET threshold {model.v_up:.3f} V reached by V/3 on {np.sum(reach_v3 >= model.v_up)}/{len(far)} far cells, "
          f"by the LP on {np.sum(reach_lp >= model.v_up)}/{len(far)}; median LP/V3 {np.median(reach_lp / reach_v3):.2f}; "
          f"load average {os.getloadavg()[0]:.2f}")


def reachable(n: int, cells: int) -> None:
    """Erased state: the highest conductance (S) at which V/3 and the LP still put 1.03 x the SET threshold
    on each far cell (bisection in log G; above it the far-first strategy reports the cell stuck)."""
    arr, target = spread_array(n)
    model = build_model(arr, None)
    lay = arr.crossbar.layout
    v_line_max = WriteVerifyConfig().limits.v_line_max
    sign = model.polarity(+1)
    v_pos = model.v_up if model.sign_up > 0 else model.v_down
    v_neg = model.v_down if model.sign_up > 0 else model.v_up
    g_lo = float(np.min(model.bounds()[0]))
    ctrl = Crossbar(n, n, "1R", r_wl=lay.r_wl, r_bl=lay.r_bl, r_source=lay.r_source, r_sense=lay.r_sense)
    r_far = ControllerView(arr, model, PulseLimits()).series_resistances()
    v3_cap = V3_MARGIN * 3.0 * min(model.v_up, model.v_down)
    floor = 1.03 * model.v_up
    print(f"erased state: highest G (S) at which a far cell still gets {floor:.3f} V (1.03 x SET threshold)")
    for flat in np.argsort(-r_far.ravel())[:cells]:
        r, c = divmod(int(flat), n)

        def reach(g_cell):
            g = np.full((n, n), g_lo)
            g[r, c] = g_cell
            resp = response_matrix(ctrl, g)
            bias = arr.cell_bias(r, c, 1.0, "v/3")
            unit = resp[..., :n] @ bias.v_wl + resp[..., n:] @ bias.v_bl
            spared = np.ones((n, n), bool)
            spared[r, c] = False
            v3 = min(v3_cap, scale_limit(unit, spared, model, sign)) * abs(unit[r, c])
            return v3, abs(optimal_bias(resp, r, c, sign, v_pos, v_neg, v_line_max).v_cell)

        out = []
        for which in (0, 1):
            lo, hi = np.log(g_lo), np.log(0.02)
            for _ in range(14):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if reach(np.exp(mid))[which] >= floor else (lo, mid)
            out.append(np.exp(lo))
        print(f"  ({r:2d},{c:2d}) r_series {r_far[r, c]:5.1f} ohm: V/3 up to {out[0]:.3e} S ({1 / out[0]:.0f} ohm), "
              f"LP up to {out[1]:.3e} S ({1 / out[1]:.0f} ohm); nominal R_on {1 / float(np.max(model.bounds()[1])):.0f} ohm")


if __name__ == "__main__":
    main()
