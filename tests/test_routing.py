"""Solver routing: the path each request takes, and the reason given."""
import numpy as np
import pytest

from cosim import Crossbar
from cosim.solve.routing import (NESTED_MIN_CELLS, NESTED_TRANSFER_MIN_CELLS, PathChoice, Quantity, SolveRequest,
                                 SolverPath, choose_path)


def _path(xb, quantity, **kw):
    return choose_path(xb, SolveRequest(quantity, **kw)).path


def test_transfer_matrix_routes_by_size_regularity_and_ideal_segments():
    assert _path(Crossbar(4, 4), Quantity.TRANSFER_MATRIX) is SolverPath.STRUCTURED
    assert _path(Crossbar(32, 32), Quantity.TRANSFER_MATRIX) is SolverPath.NESTED
    assert _path(Crossbar(32, 32, r_bl=0.0), Quantity.TRANSFER_MATRIX) is SolverPath.STRUCTURED
    xb = Crossbar(4, 4)
    xb.short_cell(1, 2)
    choice = choose_path(xb, SolveRequest(Quantity.TRANSFER_MATRIX))
    assert choice.path is SolverPath.GENERAL and "shorted cells" in choice.reason
    with pytest.raises(ValueError, match="linear cells"):
        _path(Crossbar(2, 2, nonlinearity=1.0), Quantity.TRANSFER_MATRIX)
    assert NESTED_TRANSFER_MIN_CELLS < NESTED_MIN_CELLS


def test_reads_route_by_batch_cache_and_cell_law():
    xb = Crossbar(16, 8)
    assert _path(xb, Quantity.SENSE_CURRENTS) is SolverPath.GENERAL
    choice = choose_path(xb, SolveRequest(Quantity.SENSE_CURRENTS, batch=2))
    assert choice.path is SolverPath.TRANSFER_MATMUL and "structured" in choice.reason
    xb.transfer_matrix()
    assert xb.has_transfer_matrix and _path(xb, Quantity.SENSE_CURRENTS) is SolverPath.TRANSFER_MATMUL
    xb.set_conductances(np.full((16, 8), 2e-4))
    assert not xb.has_transfer_matrix
    assert _path(Crossbar(2, 2, nonlinearity=2.0), Quantity.SENSE_CURRENTS) is SolverPath.NONLINEAR_BATCH
    assert _path(Crossbar(2, 2, nonlinearity=2.0), Quantity.OPERATING_POINT, force_general=True) is SolverPath.NEWTON
    assert "nested-dissection" in choose_path(Crossbar(32, 32, nonlinearity=2.0),
                                              SolveRequest(Quantity.SENSE_CURRENTS)).reason
    assert "sparse LU" in choose_path(Crossbar(32, 32, "1T1R", nonlinearity=2.0),
                                      SolveRequest(Quantity.SENSE_CURRENTS)).reason
    assert _path(Crossbar(100, 100), Quantity.SENSE_CURRENTS) is SolverPath.NESTED


def test_operating_points_route_ladder_nested_general():
    xb = Crossbar(3, 5, cell="1T1R")
    xb.select_rows([1])
    choice = xb.choose_path(SolveRequest(Quantity.OPERATING_POINT, biased_bit_lines=True))
    assert choice.path is SolverPath.SINGLE_ROW_LADDER and "row 1" in str(choice)
    assert xb.single_row_ladder_applies(2) and not xb.single_row_ladder_applies(3)
    assert _path(xb, Quantity.OPERATING_POINT, floating_lines=True) is SolverPath.GENERAL     # 15 cells
    assert _path(xb, Quantity.OPERATING_POINT, force_general=True) is SolverPath.GENERAL
    big = Crossbar(96, 96)
    assert _path(big, Quantity.OPERATING_POINT) is SolverPath.NESTED
    assert _path(big, Quantity.OPERATING_POINT, biased_bit_lines=True, floating_lines=True) is SolverPath.NESTED
    choice = choose_path(Crossbar(3, 3), SolveRequest(Quantity.OPERATING_POINT, biased_bit_lines=True))
    assert choice.path is SolverPath.GENERAL and "below the nested-dissection size (16 cells)" in choice.reason
    choice = choose_path(big, SolveRequest(Quantity.OPERATING_POINT, floating_lines=True, islands=True))
    assert choice.path is SolverPath.GENERAL and "island" in choice.reason
    xb.select_rows(None)                  # the cached choice follows the selection back and forth
    assert _path(xb, Quantity.OPERATING_POINT, biased_bit_lines=True) is SolverPath.GENERAL
    assert xb.choose_path(SolveRequest(Quantity.OPERATING_POINT, biased_bit_lines=True)).path is SolverPath.GENERAL
    xb.select_rows(np.arange(3) == 1)
    assert xb.choose_path(SolveRequest(Quantity.OPERATING_POINT,
                                       biased_bit_lines=True)).path is SolverPath.SINGLE_ROW_LADDER
    leaky = Crossbar(3, 5, cell="1T1R", r_off_transistor=1e9)
    leaky.select_rows([0])
    assert not leaky.single_row_ladder_applies(0)


def test_the_chosen_path_is_the_one_used_and_agrees_with_a_closed_form():
    """1T1R, one selected row, ideal wires: each cell sees V_row, so I_j = V G_j / (1 + G_j r_on)."""
    g = np.array([1e-4, 3e-4, 5e-5])
    xb = Crossbar(2, 3, cell="1T1R", r_wl=0.0, r_bl=0.0, r_on_transistor=2e3)
    xb.set_conductances(np.vstack([g, g]))
    xb.select_rows([1])
    assert xb.choose_path(SolveRequest(Quantity.SENSE_CURRENTS)).path is SolverPath.SINGLE_ROW_LADDER
    i = xb.read([0.0, 0.2])
    assert np.allclose(i, 0.2 * g / (1 + g * 2e3), rtol=1e-13)


def test_request_validation():
    with pytest.raises(ValueError, match="batch"):
        SolveRequest(Quantity.SENSE_CURRENTS, batch=0)
    with pytest.raises(TypeError, match="quantity"):
        SolveRequest("sense currents")
    assert str(PathChoice(SolverPath.GENERAL, "why")) == "general sparse LU: why"


def test_tracked_operating_points_route_to_bias_tracking_or_say_what_stops_them():
    """BIAS_TRACKING for regular linear 1R arrays; otherwise the path each update takes, with the obstacle; the
    Crossbar's cached choice follows its structure, cell law and policy."""
    from cosim.solve.low_rank import LowRankPolicy

    tracked = lambda **kw: SolveRequest(Quantity.TRACKED_OPERATING_POINT, **kw)
    xb = Crossbar(8, 8)
    assert xb.choose_path(tracked()).path is SolverPath.BIAS_TRACKING
    for request, words in ((tracked(islands=True, floating_lines=True), "island"), (tracked(stiff=True), "refinement"),
                           (tracked(force_general=True), "general path")):
        choice = xb.choose_path(request)
        assert choice.path is not SolverPath.BIAS_TRACKING and words in choice.reason
    assert "1T1R" in Crossbar(8, 8, "1T1R").choose_path(tracked()).reason
    assert Crossbar(8, 8, nonlinearity=1.0).choose_path(tracked()).path is SolverPath.NONLINEAR_BATCH
    assert "below the nested" in Crossbar(3, 3).choose_path(tracked()).reason
    xb.open_cell(0, 0)                                     # a structural edit drops the cached choice
    assert xb.choose_path(tracked()).path is SolverPath.GENERAL
    xb.restore_cell(0, 0)
    assert xb.choose_path(tracked()).path is SolverPath.BIAS_TRACKING
    xb.low_rank = LowRankPolicy(max_rank=0)                # ... and so does a new policy
    assert xb.choose_path(tracked()).path is SolverPath.NESTED
    xb.set_nonlinearity(0.5)                               # ... and a new cell law
    assert xb.choose_path(tracked()).path is SolverPath.NONLINEAR_BATCH
