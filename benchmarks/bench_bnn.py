"""One training epoch of the digits BNN with the full weak-RESET device model vs ideal binary weights (issue 13).

Both runs train the same network (binary perceptron 64-H-10, or the small conv BNN with --conv) for
one epoch with Adam in a ``DeviceOptimizer``, batch 64, in this process, one torch thread. "Ideal"
is the same BNN with digital hidden weights (the optimizer's update is applied as is); "devices" has
every weight on a 2T2R pair of weak-RESET cells with spread, RTN and pink noise, every update turned
into pulses. Budget: devices <= 5 x ideal. Each of --repeat rounds trains one fresh network per
case, the cases interleaved so that they share the machine's load; best and median are printed. The
first round (torch.optim import) is a warm-up.

    python benchmarks/bench_bnn.py [--hidden 128] [--repeat 5] [--conv]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cosim.nn.binary_nets import FIG9_CASES, bnn_cnn, bnn_mlp, train_bnn
from cosim.nn.data import digits_split

BUDGET = 5.0


def epoch_times(cases, data, args) -> list[list[float]]:
    """Seconds of one epoch for each case, ``repeat`` times, the cases interleaved (they share the load)."""
    times = [[] for _ in cases]
    for r in range(args.repeat + 1):
        for k, case in enumerate(cases):
            model = bnn_cnn(case, seed=r) if args.conv else bnn_mlp(case, hidden=(args.hidden,), seed=r)
            start = time.perf_counter()
            train_bnn(model, data, epochs=1, images=args.conv, seed=r, threads=1)
            if r:  # r = 0 warms up (imports, allocator)
                times[k].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--conv", action="store_true", help="the convolutional BNN instead of the perceptron")
    args = parser.parse_args()
    data = digits_split(seed=0)
    cases = (FIG9_CASES[0], FIG9_CASES[1], FIG9_CASES[-1])
    t_ideal, t_quiet, t_full = epoch_times(cases, data, args)
    best = [min(t) for t in (t_ideal, t_quiet, t_full)]
    median = [float(np.median(t)) for t in (t_ideal, t_quiet, t_full)]
    net = "conv BNN (16, 32)" if args.conv else f"BNN 64-{args.hidden}-10"
    print(f"{net}, one epoch of {len(data.y_train)} digits, batch 64, 1 torch thread, {args.repeat} interleaved runs")
    for label, b, m in zip(("ideal binary weights", "devices, mean model only", "devices, spread + RTN + pink"),
                           best, median):
        print(f"  {label:30s} best {b * 1e3:7.1f} ms  median {m * 1e3:7.1f} ms   ratio best {b / best[0]:5.2f}, "
              f"median {m / median[0]:5.2f}")
    ratio = best[2] / best[0]
    print(f"full device model / ideal (best): {ratio:.2f} (budget {BUDGET:.0f}x: {'met' if ratio <= BUDGET else 'MISSED'})")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
