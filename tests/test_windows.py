"""Window functions: the correct published forms at known points (MODELS.md §1.3)."""
import numpy as np
import pytest

from cosim.devices import windows


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, 7])
def test_joglekar_known_points(p):
    assert windows.joglekar(0.5, p) == 1.0
    assert windows.joglekar(0.0, p) == 0.0
    assert windows.joglekar(1.0, p) == 0.0
    # Closed form at x = 0.25: 1 - 0.5^(2p)  (the buggy (1 - (2x-1))^(2p) would give 1.5^(2p)).
    assert windows.joglekar(0.25, p) == pytest.approx(1.0 - 0.5 ** (2 * p), rel=1e-15)


def test_joglekar_p1_is_4x_1_minus_x():
    x = np.linspace(0, 1, 101)
    assert np.allclose(windows.joglekar(x), 4 * x * (1 - x), rtol=0, atol=1e-15)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_biolek_depends_on_current_direction(p):
    # Positive current (moving up): f = 1 - x^(2p), zero at x = 1, one at x = 0.
    assert windows.biolek(1.0, 1e-3, p) == 0.0
    assert windows.biolek(0.0, 1e-3, p) == 1.0
    # Negative current (moving down): f = 1 - (x - 1)^(2p), zero at x = 0, one at x = 1.
    assert windows.biolek(0.0, -1e-3, p) == 0.0
    assert windows.biolek(1.0, -1e-3, p) == 1.0
    assert windows.biolek(0.3, -1.0, p) == pytest.approx(1 - 0.7 ** (2 * p), rel=1e-15)
    assert windows.biolek(0.3, 1.0, p) == pytest.approx(1 - 0.3 ** (2 * p), rel=1e-15)


@pytest.mark.parametrize("p, j", [(1, 1.0), (2, 1.0), (3, 2.5), (10, 0.7)])
def test_prodromakis_maximum_and_ends(p, j):
    x = np.linspace(0, 1, 2001)
    f = windows.prodromakis(x, p, j)
    assert x[np.argmax(f)] == 0.5
    assert f.max() == pytest.approx(j * (1 - 0.75 ** p), rel=1e-14)
    assert windows.prodromakis(0.0, p, j) == pytest.approx(0.0, abs=1e-15)
    assert windows.prodromakis(1.0, p, j) == pytest.approx(0.0, abs=1e-15)
    # The mis-parenthesised j (1 - (x - 0.5)^2 + 0.75)^p would be j 1.75^p at 0.5.
    assert windows.prodromakis(0.5, p, j) != pytest.approx(j * 1.75 ** p)


def test_windows_broadcast_per_cell_parameters():
    x = np.array([0.25, 0.5, 0.75])
    p = np.array([1.0, 2.0, 3.0])
    expected = 1 - np.abs(2 * x - 1) ** (2 * p)
    assert np.allclose(windows.joglekar(x, p), expected, rtol=0, atol=1e-15)
    assert windows.prodromakis(x, p, np.array([1.0, 2.0, 3.0])).shape == (3,)


@pytest.mark.parametrize("call, name", [
    (lambda: windows.joglekar(0.5, p=0), "p"),
    (lambda: windows.biolek(0.5, 1.0, p=-1), "p"),
    (lambda: windows.prodromakis(0.5, p=1, j=0), "j"),
    (lambda: windows.joglekar(0.5, p=float("nan")), "p"),
])
def test_windows_reject_bad_parameters(call, name):
    with pytest.raises(ValueError, match=f"window parameter {name}"):
        call()
