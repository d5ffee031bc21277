"""Retention: bake a programmed array at three temperatures and watch its conductances move.

Question: an array programmed to LRS and HRS cells is baked at 473, 523 and 573 K; how do the two
states' conductances evolve with bake time, and when does the window start to close? The cells age
by the seed-000 retention law (Ti/HfOx/TiN fit with thermal activation) in equivalent time on the
engine clock. Prints the conductance at each time, saves a figure.

    python examples/engine_retention.py [--out out/]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine

TEMPERATURES_K = (473.0, 523.0, 573.0)


def programmed_array(seed: int = 2):
    eng = Engine(temperature=300.0)
    arr = eng.array(8, 8, cell="1T1R", seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    lo, hi = arr.conductance_bounds()
    checker = (np.add.outer(np.arange(8), np.arange(8)) % 2).astype(bool)
    target = np.where(checker, 0.8 * hi, 1.5 * lo)        # LRS on the black squares, HRS on the white
    rep = arr.program(target, scheme="write-verify", tolerance=0.02)
    return eng, arr, checker, rep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    times = np.logspace(0, 7, 15)                            # s, cumulative bake time
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, kelvin in enumerate(TEMPERATURES_K):
        eng, arr, lrs, rep = programmed_array()
        print(f"{kelvin:.0f} K: programmed ({rep.summary()})", flush=True)
        g_lrs, g_hrs, elapsed = [], [], 0.0
        for t in times:
            arr.bake(t - elapsed, kelvin)
            elapsed = t
            g = arr.conductances()
            g_lrs.append(g[lrs].mean())
            g_hrs.append(g[~lrs].mean())
        print("   t (s)   " + " ".join(f"{t:9.1e}" for t in times[::2]))
        print("   G_LRS mS" + " ".join(f"{g * 1e3:9.3f}" for g in g_lrs[::2]))
        print("   G_HRS mS" + " ".join(f"{g * 1e3:9.3f}" for g in g_hrs[::2]))
        ax.semilogx(times, np.array(g_lrs) * 1e3, "-", color=f"C{k}", label=f"LRS, {kelvin:.0f} K")
        ax.semilogx(times, np.array(g_hrs) * 1e3, "--", color=f"C{k}", label=f"HRS, {kelvin:.0f} K")
    ax.set_xlabel("bake time (s)")
    ax.set_ylabel("mean conductance (mS)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = args.out / "engine_retention.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
