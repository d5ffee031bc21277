"""Write-verify (ISPP) of a 64x64 1T1R array to a random conductance target.

Question: how many pulses, how much energy and how much time does it take to program every cell of
a 1T1R array of Pt/Hf/Ti VTEAM devices to within 1 % with incremental step pulses and a verify read
after each, through the real circuit (wire resistance, access transistors)? Prints the numbers and
saves histograms of the final error and of the pulses per cell.

    python examples/engine_write_verify.py [--size 64] [--out out/]
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cosim import Engine
from cosim.devices import VTEAM, Nonidealities


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--stuck", type=float, default=0.01, help="proportion of stuck-at cells (each kind)")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    n = args.size
    eng = Engine(temperature=300.0)
    dev = VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=1,
                       nonideal=Nonidealities(stuck_on=args.stuck, stuck_off=args.stuck))
    arr = eng.array(n, n, cell="1T1R", device=dev, seed=1, r_wl=1.0, r_bl=1.0, r_on_transistor=200.0)
    lo, hi = arr.conductance_bounds()
    rng = np.random.default_rng(0)
    target = np.exp(rng.uniform(np.log(lo * 1.2), np.log(hi * 0.8)))
    print(f"write-verify of a {n}x{n} 1T1R array to 1 % ...", flush=True)
    t0 = time.perf_counter()
    rep = arr.program(target, scheme="write-verify", tolerance=0.01)
    wall = time.perf_counter() - t0
    faulty = (dev.faults.stuck_on | dev.faults.stuck_off).reshape(n, n)
    print(f"  {rep.summary()}")
    print(f"  healthy cells within tolerance: {np.mean(np.abs(rep.error[~faulty]) <= 0.01):.2%}; "
          f"stuck cells found: {int(rep.stuck.sum())} of {int(faulty.sum())}")
    print(f"  pulses per cell: mean {rep.pulses.mean():.1f}, max {rep.pulses.max()}; "
          f"{rep.operations} engine operations in {wall:.1f} s wall ({rep.operations / wall:.0f} /s)")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].hist(rep.error[~rep.stuck].ravel() * 100, bins=60)
    axes[0].axvline(-1, color="k", ls="--")
    axes[0].axvline(1, color="k", ls="--")
    axes[0].set_xlabel("final error (%)")
    axes[0].set_title("healthy cells")
    axes[1].hist(rep.pulses.ravel(), bins=np.arange(rep.pulses.max() + 2) - 0.5)
    axes[1].set_xlabel("pulses per cell")
    energy = np.cumsum([r.energy_j for r in arr.trace])
    axes[2].plot(arr.trace.column("time_s"), energy)
    axes[2].set_xlabel("simulated time (s)")
    axes[2].set_ylabel("cumulative energy (J)")
    fig.tight_layout()
    path = args.out / "engine_write_verify.png"
    fig.savefig(path, dpi=120)
    arr.trace.save(args.out / "engine_write_verify_trace.jsonl", {"size": n, "tolerance": 0.01})
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
