"""Write disturb in a 1R array: V/2 versus V/3 half-select programming.

Question: when a 32x32 1R array of HfOx cells (the engine's default device) is programmed cell by cell
to a pattern at 1.6 V, how much do the half-selected cells drift? Every cell starts at the background
conductance; only the pattern's cells are SET (at -1.6 V). With V/2 the half-selected cells see -0.8 V,
beyond the device's -0.7 V SET threshold; with V/3 they see -0.53 V, inside it. The controller reads nothing: it
is told the array holds the background (``OpenLoopConfig.assumed_start``) and addresses only the
pattern's cells (the background's targets are NaN: left alone), so the background cells are never
pulsed and any change in them is write disturb — no cell is repaired from its hidden state. Prints the
disturb, the pattern's error, the energy and the time of each scheme and saves a figure. (Both
open-loop schemes leave the pattern's cells short of their target: the half-selected cells' current
sags the selected cell's voltage through the wires, and SET slows with the cube of the overdrive;
write-verify, examples/engine_schemes.py, closes that loop.)

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
from cosim.sim import OpenLoopConfig


def pattern(size: int, g_low: float, g_high: float) -> np.ndarray:
    """A letter-like pattern: a ring and a diagonal at high conductance on a low background."""
    i, j = np.mgrid[:size, :size]
    r = np.hypot(i - size / 2 + 0.5, j - size / 2 + 0.5)
    on = (np.abs(r - size / 3) < size / 12) | (np.abs(i - j) < max(1, size // 16))
    return np.where(on, g_high, g_low)


AMPLITUDE = 1.6    # V, the programming cell voltage


def run(size: int, scheme: str, seed: int = 3):
    eng = Engine(temperature=300.0)
    dev = VTEAM.preset("HfOx", n=size * size, rng=seed)
    arr = eng.array(size, size, cell="1R", device=dev, seed=seed, r_wl=1.0, r_bl=1.0)
    background, on = 2.0e-5, 1.0e-4                          # S (50 kohm, 10 kohm)
    dev.set_conductance(np.full(size * size, background))     # every cell starts at the background
    target = pattern(size, background, on)
    addressed = target > background
    config = OpenLoopConfig(amplitude=AMPLITUDE, assumed_start=np.full((size, size), background))
    rep = arr.program(np.where(addressed, target, np.nan), scheme=scheme, tolerance=0.01, config=config)
    return arr, target, rep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for k, scheme in enumerate(("v/2", "v/3")):
        print(f"programming {args.size}x{args.size} with {scheme} at {AMPLITUDE} V ...", flush=True)
        arr, target, rep = run(args.size, scheme)
        err = (arr.conductances() - target) / target
        untouched = ~rep.addressed
        drift = err[untouched]
        print(f"  {rep.summary()}")
        print(f"  disturb: {np.mean(np.abs(drift) > 1e-3):.1%} of the {untouched.sum()} never-pulsed cells moved "
              f"(mean drift {np.mean(drift):+.2%}, worst {np.max(np.abs(drift)):.1%}); "
              f"programmed cells: median |error| {np.median(np.abs(err[~untouched])):.2%}")
        axes[k, 0].imshow(target * 1e6, cmap="viridis")
        axes[k, 0].set_title(f"{scheme}: target G (uS)")
        im = axes[k, 1].imshow(arr.conductances() * 1e6, cmap="viridis")
        axes[k, 1].set_title(f"{scheme}: programmed G (uS)")
        fig.colorbar(im, ax=axes[k, 1])
        for ax in axes[k, :2]:
            ax.set_xlabel("bit line (column)")
            ax.set_ylabel("word line (row)")
        axes[k, 2].hist(err.ravel() * 100, bins=60, color="C0" if k == 0 else "C1")
        axes[k, 2].set_xlabel("relative error of G (%)")
        axes[k, 2].set_ylabel("cells")
        axes[k, 2].set_title(f"{scheme}: {rep.energy:.2e} J, {rep.time:.2e} s")
    fig.tight_layout()
    path = args.out / "engine_half_select.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
