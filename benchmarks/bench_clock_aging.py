"""What the physical world costs: write-verify with every cell aged by the clock vs with aging switched off.

Every engine operation first ages the array's cells up to ``now`` (retention in equivalent time,
pulse displacements for retention restarts, midpoint crossings for wear; reads check for read disturb).
This times the same write-verify job (an N x N 1T1R array of Pt/Hf/Ti VTEAM cells, same seeds, same
pulses) twice in one process, with the default laws and with ``AgingLaws(retention=None,
endurance=None)``, alternating runs, and prints the ratio. One thread (COSIM_THREADS=1), nothing cached
between runs (a fresh engine and array each time).

    python benchmarks/bench_clock_aging.py [--size 16] [--repeats 3]
"""
import argparse
import os
import time

import numpy as np

os.environ.setdefault("COSIM_THREADS", "1")

from cosim import Engine  # noqa: E402
from cosim.devices import VTEAM  # noqa: E402
from cosim.sim import AgingLaws  # noqa: E402


def write_verify(n: int, aging) -> tuple[float, int]:
    eng = Engine()
    arr = eng.array(n, n, cell="1T1R", device=VTEAM.preset("Pt/Hf/Ti", n=n * n, rng=1), seed=1,
                    r_wl=1.0, r_bl=1.0, r_on_transistor=200.0, aging=aging)
    lo, hi = arr.conductance_bounds()
    target = np.exp(np.random.default_rng(0).uniform(np.log(lo * 1.2), np.log(hi * 0.8)))
    t0 = time.perf_counter()
    arr.program(target, scheme="write-verify", tolerance=0.01)
    return time.perf_counter() - t0, len(arr.trace)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    off, on = [], []
    for _ in range(args.repeats):
        t_off, ops_off = write_verify(args.size, AgingLaws(retention=None, endurance=None))
        t_on, ops_on = write_verify(args.size, None)
        assert ops_on == ops_off, "the same job must issue the same operations"
        off.append(t_off)
        on.append(t_on)
    print(f"{args.size}x{args.size} 1T1R write-verify, {ops_on} engine operations, best of {args.repeats}:")
    print(f"  aging off: {min(off):.3f} s   clock-aged (default laws): {min(on):.3f} s   "
          f"ratio {min(on) / min(off):.3f}")


if __name__ == "__main__":
    main()
