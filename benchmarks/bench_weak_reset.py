"""Weak-RESET HfOx step time on 1,000,000 cells against the 0.1 s budget of issue 4.

The budget is for one pulse step (``apply_pulses`` with one pulse per cell); the read of every
cell's resistance is timed separately and together with the step.

Times (best of --repeat, in one process): one pulse to every cell (``apply_pulses``), the read
(``resistance``), both together, and two harder count patterns: 1 % of the cells pulsed (a sparse
training update) and random counts 0..3 per cell (every history shift at once). Anchor: one
``standard_normal`` draw plus one ``exp`` over the same number of cells, the least any step must do.

    python benchmarks/bench_weak_reset.py [--cells 1000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.devices.weak_reset import WeakResetHfOx
from timing import best_time

BUDGET_S = 0.1  # issue 4: one pulse step on 1,000,000 cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n = args.cells
    rng = np.random.default_rng(0)
    dev = WeakResetHfOx(n, rng=1)
    ones = np.ones(n, dtype=np.int64)
    sparse = np.zeros(n, dtype=np.int64)
    sparse[rng.choice(n, n // 100, replace=False)] = 5
    mixed = rng.integers(0, 4, n)

    anchor = best_time(lambda: np.exp(rng.standard_normal(n)), args.repeat)
    rows = [
        ("apply_pulses(1 each)", best_time(lambda: dev.apply_pulses(ones), args.repeat)),
        ("resistance()", best_time(dev.resistance, args.repeat)),
        ("apply + read", best_time(lambda: (dev.apply_pulses(ones), dev.resistance()), args.repeat)),
        ("apply, 1 % of cells", best_time(lambda: dev.apply_pulses(sparse), args.repeat)),
        ("apply, random 0..3", best_time(lambda: dev.apply_pulses(mixed), args.repeat)),
    ]
    print(f"weak-RESET HfOx, {n:,} cells, best of {args.repeat}; anchor (normal draw + exp) {anchor * 1e3:.1f} ms")
    print(f"{'operation':<24} {'ms':>8} {'/budget':>8} {'/anchor':>8}")
    for name, seconds in rows:
        print(f"{name:<24} {seconds * 1e3:8.1f} {seconds / BUDGET_S:8.2f} {seconds / anchor:8.1f}")
    for name, seconds in (("one pulse step (apply_pulses)", rows[0][1]), ("step and read of every cell", rows[2][1])):
        verdict = "within" if seconds <= BUDGET_S else "OVER"
        print(f"{name}: {seconds * 1e3:.1f} ms -> {verdict} the {BUDGET_S * 1e3:.0f} ms budget")
    print("(the machine's load moves all numbers; the /anchor column is the steadier one)")


if __name__ == "__main__":
    main()
