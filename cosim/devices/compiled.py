"""Bridge from a ``DeviceArray`` to the compiled kernels of ``cython_ext/device_kernels.pyx``.

The kernel steps every cell of one model over K samples without Python in the loop; this module
packs the model's per-cell parameters into the kernel's table (cached until a cycle-to-cycle redraw
changes them), runs it, and handles what the kernel leaves to Python:

* cycle-to-cycle variation: the kernel stops at the first sample where a cell starts a new
  switching cycle; the array redraws that cell's parameters and the kernel resumes there;
* threads: without c2c, a large run is split into disjoint cell ranges run concurrently (the
  kernel releases the GIL), one per available core; ``COSIM_THREADS=1`` turns this off.

When the extension is not built, ``available()`` is False and the numpy reference runs instead.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    from cosim._ext import device_kernels as _kernels
except ImportError:  # not built: numpy reference only
    _kernels = None

__all__ = ["available", "run", "run_cells", "split", "workers"]

MIN_CELL_STEPS_PER_THREAD = 2_000_000   # below this a thread costs more than it saves
MIN_CELLS_PER_THREAD = 256

_pool: ThreadPoolExecutor | None = None


def available(model_name: str | None) -> bool:
    """True when the compiled kernel for ``model_name`` (a key of device_kernels.ROWS) is built."""
    return _kernels is not None and model_name in _kernels.ROWS


def workers() -> int:
    """Cores this process may use (the COSIM_THREADS environment variable overrides)."""
    env = os.environ.get("COSIM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def split(n_cells: int, n_steps: int) -> list[tuple[int, int]]:
    """Disjoint [begin, end) cell ranges, as many as the cores and the job size justify."""
    parts = min(workers(), max(1, n_cells * n_steps // MIN_CELL_STEPS_PER_THREAD),
                max(1, n_cells // MIN_CELLS_PER_THREAD))
    bounds = [round(i * n_cells / parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


def _arrays(dev) -> dict:
    """The kernel's keyword arguments for ``dev``, cached per parameter version."""
    cache = dev.__dict__.get("_kernel_cache")
    if cache is not None and cache[0] == dev._param_version:
        return cache[1]
    cell = dev._cell
    lo, hi = dev._state_range(cell)
    g_off, g_on = dev.conductance_bounds()
    spec = dev.nonideal
    arrays = dict(
        params=np.ascontiguousarray(np.stack([cell[name] for name in _kernels.ROWS[dev.KERNEL]])),
        lo=np.ascontiguousarray(lo), hi=np.ascontiguousarray(hi),
        frozen=dev._frozen.astype(np.uint8),
        g_fixed=np.ascontiguousarray(np.where(dev._faults.unformed, dev._unformed_conductance(), 0.0)),
        g_a=np.ascontiguousarray(g_off), g_b=np.ascontiguousarray(g_on),
        levels=spec.levels or 0, level_in_r=int(spec.level_spacing == "R"),
        **dev._kernel_options(),
    )
    dev.__dict__["_kernel_cache"] = (dev._param_version, arrays)
    return arrays


def run(dev, volts: np.ndarray, dt: float, out: np.ndarray | None) -> None:
    """Advance ``dev`` over all rows of ``volts`` ((K, 1) or (K, n), V) with step ``dt`` (s),
    writing the currents into ``out`` ((K, n) or None)."""
    state = np.ascontiguousarray(dev._state, dtype=np.float64).copy()
    steps = volts.shape[0]
    if not dev.c2c:
        arrays = _arrays(dev)
        ranges = split(dev.n, steps)
        jobs = [lambda r=r: _kernels.run(dev.KERNEL, volts, dt, state, out, dev._last_polarity, 0, 0,
                                         c_begin=r[0], c_end=r[1], **arrays) for r in ranges]
        _run_all(jobs)
        dev._state = state
        return
    k = 0
    while k < steps:
        k = _kernels.run(dev.KERNEL, volts, dt, state, out, dev._last_polarity, 1, k, **_arrays(dev))
        dev._state = state
        if k < steps:  # a switching event at sample k: redraw those cells, then resume there
            dev._switching_events(np.broadcast_to(volts[k], (dev.n,)))
            state = np.ascontiguousarray(dev._state).copy()


def run_cells(kernel: str, volts: np.ndarray, dt: float, state: np.ndarray, polarity: np.ndarray, table: dict) -> None:
    """One kernel call on a group's own parameter ``table`` (``_arrays`` sliced to its cells): advance
    ``state`` (m,) in place over the rows of ``volts`` ((K, m), V) with step ``dt`` (s); no c2c."""
    _kernels.run(kernel, volts, dt, state, None, polarity, 0, 0, **table)


def _run_all(jobs) -> None:
    global _pool
    if len(jobs) == 1:
        jobs[0]()
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="cosim-kernel")
    for future in [_pool.submit(job) for job in jobs]:
        future.result()
