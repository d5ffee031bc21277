"""Helpers shared by several test modules (imported by name; pytest puts tests/ on sys.path)."""
import numpy as np
import pytest


def rel_err(a, b) -> float:
    """Largest absolute difference relative to the largest magnitude of the reference ``b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Mapped layers in tests are tiny: one torch thread is fastest, and spin-waiting threads cost a lot
    on a busy machine. Importing this fixture into a module applies it to that module."""
    from cosim.nn.data import torch_threads

    with torch_threads(1):
        yield


def step_locked(kernel_dev, numpy_dev, v, dt):
    """Drive two identical device arrays sample by sample, the first on its compiled kernel and the
    second on the numpy reference, restarting the kernel each step from the reference's state.

    Returns (kernel currents, reference currents, worst one-step state difference / state range).
    Locking the state makes the comparison one step of each engine, which is CPU-independent: over a
    whole trajectory a 1-ulp exp/pow difference (SIMD flavours differ) can decide whether a cell is
    clipped onto a locking window bound, and the two runs then part by far more than rounding.
    """
    v = np.asarray(v, dtype=np.float64)
    lo, hi = numpy_dev.state_bounds()
    span = np.abs(hi - lo)
    i_k, i_n = np.empty((len(v), numpy_dev.n)), np.empty((len(v), numpy_dev.n))
    worst = 0.0
    for k in range(len(v)):
        kernel_dev.set_state(numpy_dev.state)
        i_k[k] = kernel_dev.simulate(v[k:k + 1], dt)[0]
        i_n[k] = numpy_dev.simulate(v[k:k + 1], dt, engine="numpy")[0]
        worst = max(worst, float(np.max(np.abs(kernel_dev.state - numpy_dev.state) / span)))
    return i_k, i_n, worst


def assert_nodes_close(sol, nodes: dict, rtol: float) -> int:
    """Every word- and bit-line node voltage of `sol` that ngspice solved (`nodes`, by SPICE node name)
    agrees to `rtol` (absolute floor 1 nV); islands (NaN in cosim) are skipped. Returns the count checked."""
    checked = 0
    for prefix, ours in (("wl", sol.wl_voltages), ("bl", sol.bl_voltages)):
        for (i, j), value in np.ndenumerate(ours):
            name = f"{prefix}_{i}_{j}"
            if name in nodes and np.isfinite(value):
                assert value == pytest.approx(nodes[name], rel=rtol, abs=1e-9), name
                checked += 1
    assert checked > 0
    return checked


def finish(gen):
    """The return value of a process generator that never yields (a stub view's reads), run to its end."""
    try:
        next(gen)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the stub's reads never yield")
