"""Write disturb in a 1R array: V/2 versus V/3 half-select programming.

Question: when a 32x32 1R array of Pt/Hf/Ti VTEAM cells is programmed cell by cell to a pattern at
1.2 V, how much do the half-selected cells drift? With V/2 the half-selected cells see 0.6 V, above
the device's 0.5 V RESET threshold (and beyond -0.53 V for SET); with V/3 they see 0.4 V, below both.
Prints the disturb, the energy and the time of each scheme and saves a figure.

    python examples/engine_half_select.py [--size 32] [--out out/]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine
from cosim.devices import VTEAM


def pattern(size: int, g_low: float, g_high: float) -> np.ndarray:
    """A letter-like pattern: a ring and a diagonal at high conductance on a low background."""
    i, j = np.mgrid[:size, :size]
    r = np.hypot(i - size / 2 + 0.5, j - size / 2 + 0.5)
    on = (np.abs(r - size / 3) < size / 12) | (np.abs(i - j) < max(1, size // 16))
    return np.where(on, g_high, g_low)


def run(size: int, scheme: str, seed: int = 3):
    eng = Engine(temperature=300.0)
    dev = VTEAM.preset("Pt/Hf/Ti", n=size * size, rng=seed)
    arr = eng.array(size, size, cell="1R", device=dev, seed=seed, r_wl=0.5, r_bl=0.5)
    lo, hi = arr.conductance_bounds()
    start = np.full((size, size), 2e-3)                      # every cell starts at 500 ohm
    dev.set_conductance(start.ravel())
    target = pattern(size, 1.0e-3, 5.0e-3)
    rep = arr.program(target, scheme=scheme, tolerance=0.01, amplitude=1.2)
    return arr, target, rep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for k, scheme in enumerate(("v/2", "v/3")):
        print(f"programming {args.size}x{args.size} with {scheme} at 1.2 V ...", flush=True)
        arr, target, rep = run(args.size, scheme)
        err = rep.error
        print(f"  {rep.summary()}")
        print(f"  median |error| {np.median(np.abs(err)):.3%}, worst {np.max(np.abs(err)):.1%}, "
              f"cells off by > 5 %: {np.mean(np.abs(err) > 0.05):.1%}")
        axes[k, 0].imshow(target * 1e3, cmap="viridis")
        axes[k, 0].set_title(f"{scheme}: target G (mS)")
        im = axes[k, 1].imshow(arr.conductances() * 1e3, cmap="viridis")
        axes[k, 1].set_title(f"{scheme}: programmed G (mS)")
        fig.colorbar(im, ax=axes[k, 1])
        axes[k, 2].hist(err.ravel() * 100, bins=60, color="C0" if k == 0 else "C1")
        axes[k, 2].set_xlabel("error (%)")
        axes[k, 2].set_title(f"{scheme}: {rep.energy:.2e} J, {rep.time:.2e} s")
    fig.tight_layout()
    path = args.out / "engine_half_select.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
