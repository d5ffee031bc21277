"""Write-verify vs ISPP vs open loop, on 1R and 1T1R arrays, with controllers that see only what a chip sees.

Question: what does it cost to program every cell of an array of HfOx cells (the engine's default
device, with 10 % device-to-device spread of R_on and R_off) to within 2 % of a random target, with
each scheme, through the real circuit (1 ohm wires; 1T1R: 1 kohm access transistors)? The controllers
see only their reads, the layout and the nominal device; open loop reads nothing and plans from an
erase. Prints accuracy, pulses per cell, reads, energy and simulated time for each and saves a figure.

    python examples/engine_schemes.py [--size 12] [--out out/]
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine
from cosim.devices import VTEAM
from cosim.devices.variability import LogNormal

SCHEMES = {"1R": ("write-verify", "ispp", "v/3"), "1T1R": ("write-verify", "ispp", "1t1r-row")}
TOLERANCE = 0.02


def run(size: int, cell: str, scheme: str, seed: int = 1):
    p = VTEAM.PRESETS["HfOx"]
    dev = VTEAM.preset("HfOx", n=size * size, rng=seed, r_on=LogNormal(0.1, p.r_on), r_off=LogNormal(0.1, p.r_off))
    arr = Engine().array(size, size, cell=cell, device=dev, seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=1e3)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(seed).uniform(np.log(lo * 1.5), np.log(hi * 0.8)))
    return arr.program(target, scheme=scheme, tolerance=TOLERANCE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for k, (cell, schemes) in enumerate(SCHEMES.items()):
        reports = []
        for scheme in schemes:
            t0 = time.perf_counter()
            rep = run(args.size, cell, scheme)
            wall = time.perf_counter() - t0
            print(f"{args.size}x{args.size} {cell} {scheme:>12} ({wall:.1f} s wall): {rep.summary()}")
            reports.append(rep)
        x = np.arange(len(schemes))
        axes[k, 0].bar(x, [100 * r.success_rate for r in reports], color="C0")
        axes[k, 0].set_ylabel(f"cells within {TOLERANCE:.0%} (%)")
        axes[k, 1].bar(x, [r.pulses_per_cell for r in reports], color="C1")
        axes[k, 1].set_ylabel("pulses per cell")
        axes[k, 2].bar(x, [r.energy * 1e9 for r in reports], color="C2")
        axes[k, 2].set_ylabel("energy (nJ)")
        for ax in axes[k]:
            ax.set_xticks(x, schemes)
            ax.set_xlabel(f"scheme ({cell})")
        axes[k, 2].set_title(", ".join(f"{s}: {r.time * 1e6:.0f} us" for s, r in zip(schemes, reports)), fontsize=8)
    fig.suptitle(f"{args.size}x{args.size} HfOx arrays, 10 % spread, 1 ohm wires (title: simulated time)")
    fig.tight_layout()
    path = args.out / "engine_schemes.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
