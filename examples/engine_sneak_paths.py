"""Sneak paths: read margin of a single cell versus array size.

Question: in a 1R crossbar every unselected cell offers a sneak path; how much of the LRS/HRS read
margin of one cell survives as the array grows, with the unselected lines floating, grounded or
held at V/2 — and how does a 1T1R array compare? Worst case: the cell read is the farthest one from
its drivers and every other cell is in LRS. Margin = sense current with the cell in LRS / with it
in HRS (the device's own ratio R_off / R_on = 25 without parasitics; the 1T1R access transistor is a
10-ohm switch so that it does not itself eat the margin). Prints a table, saves a figure.

    python examples/engine_sneak_paths.py [--sizes 2 4 8 16 32 64] [--out out/]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine

MODES_1R = ("floating", "grounded", "v/2")


def read_current(size: int, cell: str, cell_lrs: bool, mode: str, r_wire: float) -> float:
    eng = Engine()
    arr = eng.array(size, size, cell=cell, seed=0, r_wl=r_wire, r_bl=r_wire, r_on_transistor=10.0)
    g_off, g_on = arr.device.conductance_bounds()
    g = g_on.copy()                                     # every cell in LRS: the worst case for sneak paths
    row, col = 0, size - 1                              # far from the word-line driver
    k = row * size + col
    g[k] = g_on[k] if cell_lrs else g_off[k]
    arr.device.set_conductance(g)
    if cell == "1T1R":
        v = np.zeros(size)
        v[row] = arr.timing.read_voltage
        return float(arr.read(v, select_rows=[row])[col])
    return arr.read_cell(row, col, unselected=mode)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--r-wire", type=float, default=1.0, help="wire segment resistance, ohm")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = [("1R", m) for m in MODES_1R] + [("1T1R", "rows off")]
    margins = {case: [] for case in cases}
    print(f"{'size':>5} " + " ".join(f"{c}/{m:>9}" for c, m in cases), flush=True)
    for size in args.sizes:
        for cell, mode in cases:
            i_on = read_current(size, cell, True, mode, args.r_wire)
            i_off = read_current(size, cell, False, mode, args.r_wire)
            margins[(cell, mode)].append(i_on / i_off)
        print(f"{size:>5} " + " ".join(f"{margins[c][-1]:>14.3f}" for c in cases), flush=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for case, values in margins.items():
        ax.loglog(args.sizes, values, "o-", label=f"{case[0]}, {case[1]}")
    ax.set_xlabel("array size N (N x N)")
    ax.set_ylabel("read margin I(LRS) / I(HRS)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = args.out / "engine_sneak_paths.png"
    fig.savefig(path, dpi=120)
    np.savetxt(args.out / "engine_sneak_paths.csv",
               np.column_stack([args.sizes] + [margins[c] for c in cases]), delimiter=",",
               header="size," + ",".join(f"{c}_{m}" for c, m in cases), comments="")
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
