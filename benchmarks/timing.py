"""Timing helpers shared by the benchmark scripts (run them from the repository root)."""
import time

import numpy as np


def best_time(fn, repeat: int) -> float:
    """Shortest wall time (s) of ``repeat`` calls of ``fn`` (the least disturbed by other load)."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
