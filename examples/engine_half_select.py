"""Write disturb in a 1R array: V/2 versus V/3 half-select programming.

Question: when a 32x32 1R array of Pt/Hf/Ti VTEAM cells is programmed cell by cell to a pattern at
1.2 V, how much do the half-selected cells drift? Every cell starts at the background conductance;
only the pattern's cells are SET (at -1.2 V). With V/2 the half-selected cells see -0.6 V, beyond the
device's -0.53 V SET threshold; with V/3 they see -0.4 V, inside it. The background cells are never
pulsed, so any change in them is write disturb. Prints the disturb, the pattern's error, the energy
and the time of each scheme and saves a figure. (Both open-loop schemes leave the pattern's cells
short of their target: the half-selected cells' current sags the selected cell's voltage through the
wires, and SET slows with the cube of the overdrive; write-verify, examples/engine_write_verify.py,
closes that loop.)

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
    background, on = 1.0e-3, 5.0e-3                          # S
    dev.set_conductance(np.full(size * size, background))     # every cell starts at the background
    target = pattern(size, background, on)
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
        untouched = rep.pulses == 0
        drift = err[untouched]
        print(f"  {rep.summary()}")
        print(f"  disturb: {np.mean(np.abs(drift) > 1e-3):.1%} of the {untouched.sum()} never-pulsed cells moved "
              f"(mean drift {np.mean(drift):+.2%}, worst {np.max(np.abs(drift)):.1%}); "
              f"programmed cells: median |error| {np.median(np.abs(err[~untouched])):.2%}")
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
