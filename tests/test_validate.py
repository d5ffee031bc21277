"""The shared argument validators: what they accept, and errors that name the argument."""
import numpy as np
import pytest

from cosim import validate


def test_real_array_accepts_ints_and_floats_as_float64_copies():
    src = np.array([1, 2, 3])
    out = validate.real_array("x", src, (3,))
    assert out.dtype == np.float64 and np.array_equal(out, [1.0, 2.0, 3.0])
    out[0] = 9
    assert src[0] == 1


@pytest.mark.parametrize("bad, exc, words", [
    ([1 + 2j], TypeError, "real"), ("3", TypeError, "string"), ([True, False], TypeError, "booleans"),
    ([np.nan], ValueError, "NaN"), ([np.inf], ValueError, "finite"), ([[1, 2], [3]], ValueError, "rectangular"),
    ([None], TypeError, "real numbers"), ([1.0, 2.0], ValueError, "shape"),
])
def test_real_array_rejects_with_the_argument_named(bad, exc, words):
    with pytest.raises(exc, match=r"volts") as info:
        validate.real_array("volts", bad, (1,))
    assert words in str(info.value)


def test_broadcast_real_takes_a_scalar_or_the_exact_shape_only():
    assert validate.broadcast_real("g", 2.0, (2, 3)).shape == (2, 3)
    assert validate.broadcast_real("g", np.ones((2, 3)), (2, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"g must be a scalar or have shape \(2, 3\); got shape \(3,\)"):
        validate.broadcast_real("g", np.ones(3), (2, 3))
    assert np.isinf(validate.broadcast_real("r", np.inf, (2,), finite=False)).all()


@pytest.mark.parametrize("bad, exc", [(True, TypeError), (np.bool_(False), TypeError), (1.0, TypeError),
                                      ("1", TypeError), (-1, ValueError), (4, ValueError), (None, TypeError)])
def test_index_is_a_real_integer_in_range(bad, exc):
    assert validate.index("row", np.int32(3), 4) == 3
    with pytest.raises(exc, match="row"):
        validate.index("row", bad, 4)


def test_index_array_and_masks():
    assert validate.index_array("rows", [0, 2], 3).tolist() == [0, 2]
    with pytest.raises(TypeError, match="rows"):
        validate.index_array("rows", [0.0, 1.0], 3)
    with pytest.raises(ValueError, match="rows"):
        validate.index_array("rows", [3], 3)
    with pytest.raises(ValueError, match="mask"):
        validate.bool_mask("mask", [1, 0], 2)


def test_real_scalar_and_positive_int():
    assert validate.real_scalar("v", np.float32(0.5)) == 0.5
    for bad, exc in ((1j, TypeError), (True, TypeError), (np.nan, ValueError), (np.ones(2), ValueError)):
        with pytest.raises(exc, match="v"):
            validate.real_scalar("v", bad)
    assert validate.positive_int("n", 3) == 3
    for bad, exc in ((2.5, TypeError), (True, TypeError), (0, ValueError)):
        with pytest.raises(exc, match="n"):
            validate.positive_int("n", bad)


def test_check_range_names_bound_and_value():
    validate.check_range("g", [1.0, 2.0], low=0.0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"g must be > 0 \(S\); got 0"):
        validate.check_range("g", [0.0, 2.0], low=0.0, low_inclusive=False, unit="S")


def test_memory_limit_refuses_before_allocating_and_is_overridable(monkeypatch):
    validate.set_memory_limit_bytes(None)
    monkeypatch.setenv("COSIM_MEMORY_LIMIT_BYTES", "1e6")
    with pytest.raises(MemoryError, match=r"needs about 1\.91 MiB, over the limit of 977 KiB"):
        validate.check_memory("a test array", 2e6)
    validate.set_memory_limit_bytes(4 * 10 ** 6)
    try:
        validate.check_memory("a test array", 2e6)
    finally:
        validate.set_memory_limit_bytes(None)


def test_finite_result_raises_overflow():
    with np.errstate(over="ignore"):
        big = np.array([1e308]) * 10
    with pytest.raises(OverflowError, match="currents"):
        validate.finite_result("currents", big)


def test_read_text_names_the_file(tmp_path):
    p = tmp_path / "x.toml"
    p.write_bytes(b"rows = 3\n\xff\xfe")
    with pytest.raises(ValueError, match=r"x\.toml.*not UTF-8.*byte 9"):
        validate.read_text(p, "array description")
    p.write_text("rows = 3\n", encoding="utf-8")
    assert validate.read_text(p) == "rows = 3\n"
