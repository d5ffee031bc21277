"""Retention of programmed levels: bake arrays at two temperatures under the two retention models.

Question: an array programmed to LRS, HRS and an intermediate (multi-level) conductance is baked at
523 and 573 K; how does each level evolve with bake time under the level-dependent model (every level
drifts gradually toward the split, ``RetentionModel.LEVELS``, the default) and under the two-state model
(the published LRS law and its mirror for HRS, each cut off at the split, ``RetentionModel.TWO_STATE``)?
Both take the threshold and rate from seed 000's Ti/HfOx/TiN fit (Fig. 3B) in equivalent time on the
engine clock. Prints the conductances at each time, saves a figure with one panel per model.

    python examples/engine_retention.py [--out out/]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine
from cosim.sim import AgingLaws
from cosim.sim.aging import RetentionModel, default_endurance, default_retention

TEMPERATURES_K = (523.0, 573.0)
LEVELS = ("LRS", "MLC", "HRS")


def programmed_array(model: RetentionModel, seed: int = 2):
    """A 6x6 1T1R array, rows 0-1 at LRS, 2-3 at a middle level, 4-5 at HRS (write-verify)."""
    eng = Engine(temperature=300.0)
    arr = eng.array(6, 6, cell="1T1R", seed=seed, r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    lo, hi = arr.conductance_bounds()
    r_lrs, r_hrs = 1.0 / np.median(hi), 1.0 / np.median(lo)
    arr.aging_laws = AgingLaws(default_retention(r_lrs, r_hrs, model), default_endurance(r_lrs, r_hrs))
    level = np.repeat(np.arange(3), 2)[:, None] * np.ones((1, 6), int)
    target = np.choose(level, [0.8 * hi, np.sqrt(hi * lo) * 1.6, 1.5 * lo])
    rep = arr.program(target, scheme="write-verify", tolerance=0.02)
    return arr, level, rep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    times = np.logspace(0, 6, 13)                            # s, cumulative bake time
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, model in zip(axes, RetentionModel):
        for k, kelvin in enumerate(TEMPERATURES_K):
            arr, level, rep = programmed_array(model)
            print(f"{model.value}, {kelvin:.0f} K: programmed ({rep.summary()})", flush=True)
            g_mean, elapsed = [], 0.0
            for t in times:
                arr.bake(t - elapsed, kelvin)
                elapsed = t
                g = arr.conductances()
                g_mean.append([g[level == j].mean() for j in range(3)])
            g_mean = np.array(g_mean) * 1e3
            print("   t (s)     " + " ".join(f"{t:9.1e}" for t in times[::2]))
            for j, name in enumerate(LEVELS):
                print(f"   G_{name} mS " + " ".join(f"{g:9.3f}" for g in g_mean[::2, j]))
                ax.semilogx(times, g_mean[:, j], ("-", ":", "--")[j], color=f"C{k}", label=f"{name}, {kelvin:.0f} K")
        ax.set_title(f"retention model: {model.value}")
        ax.set_xlabel("bake time (s)")
    axes[0].set_ylabel("mean conductance (mS)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    path = args.out / "engine_retention.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
