"""Malformed arguments to Crossbar's public methods: a ValueError / TypeError naming the argument, and
nothing changed (conductances, layout, selection, nonlinearity bit-identical); plus the issue-9 cases."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cosim import Crossbar, validate
from cosim.netlist.description import read_description
from cosim.netlist.spice import parse_spice

ROWS, COLS = 3, 4

BAD_SCALARS = [np.nan, np.inf, -np.inf, 1j, 1 + 0j, "1", None, True, [1.0, 2.0], object()]
BAD_INDICES = [True, False, np.bool_(True), 1.0, 2.5, np.float64(1.0), "0", None, -1, 99, [0], 1j]


def _state(xb: Crossbar) -> bytes:
    lay = xb.layout
    parts = [xb.conductances, xb.selected_rows, xb.nonlinearity, lay.r_wl, lay.r_bl, lay.r_source, lay.r_sense,
             lay.cell_state]
    return b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def _bad_arrays(shape):
    """Arrays of the right shape with one poisoned entry, wrong shapes, ragged lists and non-numbers."""
    good = np.full(shape, 1e-4)
    out = []
    for poison in (np.nan, np.inf, -1.0, 0.0, 1e300):
        a = good.copy()
        a.flat[0] = poison
        out.append(a)
    out += [good.astype(complex) + 1j, good[..., :-1], np.ones(shape, bool), "abc", None]
    if len(shape) == 2:
        out += [good.ravel(), [[1e-4] * shape[1]] * (shape[0] - 1) + [[1e-4]]]
    return out


def _calls():
    """(argument name, callable taking the crossbar and a bad value)."""
    return [
        ("G", lambda xb, x: xb.set_conductances(x), _bad_arrays((ROWS, COLS))),
        ("G of row", lambda xb, x: xb.set_row_conductances(1, x), _bad_arrays((COLS,))),
        ("row", lambda xb, x: xb.set_row_conductances(x, np.full(COLS, 1e-4)), BAD_INDICES),
        ("nonlinearity", lambda xb, x: xb.set_nonlinearity(x), [np.nan, -1.0, 1j, "x", np.ones(COLS), True]),
        ("row", lambda xb, x: xb.short_cell(x, 0), BAD_INDICES),
        ("col", lambda xb, x: xb.open_cell(0, x), BAD_INDICES),
        ("row", lambda xb, x: xb.restore_cell(x, 0), BAD_INDICES),
        ("row", lambda xb, x: xb.open_segment("wl", x, 0), BAD_INDICES),
        ("col", lambda xb, x: xb.set_segment_resistance("bl", 0, x, 1.0), BAD_INDICES),
        ("r", lambda xb, x: xb.set_segment_resistance("wl", 0, 0, x), [np.nan, -1.0, 1j, "1", None, True, 1e-15]),
        ("line", lambda xb, x: xb.open_segment(x, 0, 0), ["xl", 1, None, ["wl"]]),
        ("rows", lambda xb, x: xb.select_rows(x), [[0.0], [3], [-1], "0", [True, False], [[0]], 1.5]),
        ("V", lambda xb, x: xb.read(x), _bad_arrays((ROWS,))[:2] + [[1j] * ROWS, "abc", np.ones(ROWS + 1), None]),
        ("v_wl", lambda xb, x: xb.solve_bias(x), [[np.nan] * ROWS, [1j] * ROWS, np.ones((2, 2, ROWS))]),
        ("v_bl", lambda xb, x: xb.solve_bias(np.zeros(ROWS), x), [[np.nan] * COLS, [1j] * COLS, np.ones(COLS + 1)]),
        ("floating_wl", lambda xb, x: xb.solve_bias(np.zeros(ROWS), None, x), [[1, 0, 0], [True], np.ones(ROWS)]),
    ]


CALLS = _calls()


@given(st.integers(0, len(CALLS) - 1), st.data())
def test_malformed_arguments_raise_naming_the_argument_and_change_nothing(which, data):
    name, call, bad_values = CALLS[which]
    bad = data.draw(st.sampled_from(bad_values), label="bad value")
    cell = data.draw(st.sampled_from(["1R", "1T1R"]), label="cell")
    xb = Crossbar(ROWS, COLS, cell=cell, r_source=2.0, r_sense=3.0)
    xb.set_conductances(np.random.default_rng(0).uniform(1e-5, 1e-3, (ROWS, COLS)))
    before = _state(xb)
    if name == "rows" and cell == "1R":
        name = "1T1R"                      # select_rows on a 1R array is refused for that reason first
    with pytest.raises((ValueError, TypeError)) as info:
        call(xb, bad)
    assert name in str(info.value), f"message does not name {name!r}: {info.value}"
    assert _state(xb) == before


def test_issue_9_cases():
    xb = Crossbar(2, 2)
    with pytest.raises(TypeError, match="row must be an integer index"):
        xb.short_cell(True, 1)
    with pytest.raises(TypeError, match="row must be an integer index"):
        xb.open_segment("wl", True, 0)
    with pytest.raises(ValueError, match=r"conductance must be a scalar or have shape \(3, 3\)"):
        Crossbar(3, 3, conductance=np.full(3, 1e-4))
    with pytest.raises(MemoryError, match=r"1000000x1000000 crossbar needs about .* TiB"):
        Crossbar(10 ** 6, 10 ** 6)
    with pytest.raises(ValueError, match=r"G must be <= 1e\+12 siemens"):
        xb.set_conductances(np.full((2, 2), 1e300))
    with pytest.raises(TypeError, match="V must be real; got complex"):
        xb.read([1 + 1j, 0.0])


def test_overflowing_results_raise_and_finite_extremes_are_exact():
    xb = Crossbar(1, 5, r_wl=1.0)
    with pytest.raises(OverflowError, match="overflowed float64"):
        xb.solve([1e308])                       # the power V x I exceeds float64
    # large but representable inputs are linear: I = V T
    assert np.allclose(xb.read([1e300]), 1e300 * xb.transfer_matrix()[0], rtol=1e-14)


def test_memory_limit_is_overridable(monkeypatch):
    monkeypatch.setenv("COSIM_MEMORY_LIMIT_BYTES", "1000")
    with pytest.raises(MemoryError, match="a 4x4 crossbar needs about 4 KiB, over the limit of 1000 B"):
        Crossbar(4, 4)
    validate.set_memory_limit_bytes(10 ** 6)
    try:
        assert Crossbar(4, 4).shape == (4, 4)
    finally:
        validate.set_memory_limit_bytes(None)


def test_description_files_too_large_or_not_utf8_are_refused_naming_the_file(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("rows = 1000000000\ncols = 4\n", encoding="utf-8")
    with pytest.raises(MemoryError, match="1000000000x4 crossbar"):
        read_description(big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# résumé\nrows = 2\ncols = 2\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.toml.*not UTF-8"):
        read_description(latin)
    deck = tmp_path / "deck.cir"
    deck.write_bytes(b"title \xff\n.end\n")
    with pytest.raises(ValueError, match=r"deck\.cir.*not UTF-8"):
        parse_spice(deck)


def test_set_row_conductances_changes_that_row_only():
    xb = Crossbar(ROWS, COLS, cell="1T1R")
    g0 = np.random.default_rng(1).uniform(1e-5, 1e-3, (ROWS, COLS))
    xb.set_conductances(g0)
    row = np.array([2e-4, 3e-4, 5e-4, 7e-4][:COLS])
    xb.set_row_conductances(1, row)
    expect = g0.copy()
    expect[1] = row
    assert np.array_equal(xb.conductances, expect)
