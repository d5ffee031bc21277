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
