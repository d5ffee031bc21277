"""Nested-dissection solver against the general sparse path (SuperLU), the column recursion and closed forms."""
import numpy as np
import pytest

from cosim import Crossbar
from cosim.solve import structured
from cosim.solve.nested import NestedDissectionSolver
from cosim.solve.nested_tree import Cut, build_levels
from support import rel_err


def log_uniform(rng, low, high, shape):
    return np.exp(rng.uniform(np.log(low), np.log(high), shape))


def random_case(m, n, seed, source="mixed", sense="mixed", open_cells=0.0):
    """Per-segment wires 1e-3..10 ohm, cells 100 ohm..10 Mohm (log-uniform), some cells open (g = 0)."""
    rng = np.random.default_rng(seed)
    g = 1.0 / log_uniform(rng, 100.0, 1e7, (m, n))
    g[rng.random((m, n)) < open_cells] = 0.0
    terminal = {"zero": lambda k: np.zeros(k), "finite": lambda k: rng.uniform(0.5, 20.0, k),
                "mixed": lambda k: rng.uniform(0.5, 20.0, k) * (rng.random(k) < 0.5)}
    return dict(g_cell=g, r_wl=log_uniform(rng, 1e-3, 10.0, (m, n - 1)), r_bl=log_uniform(rng, 1e-3, 10.0, (m - 1, n)),
                r_source=terminal[source](m), r_sense=terminal[sense](n))


def general_path(case) -> Crossbar:
    """The same circuit on the general sparse path (open cells as edits)."""
    m, n = case["g_cell"].shape
    xb = Crossbar(m, n, r_wl=case["r_wl"], r_bl=case["r_bl"], r_source=case["r_source"], r_sense=case["r_sense"])
    g = case["g_cell"]
    xb.set_conductances(np.where(g > 0, g, 1.0))
    for i, j in zip(*np.nonzero(g == 0)):
        xb.open_cell(int(i), int(j))
    return xb


SHAPES = [(1, 1), (1, 9), (8, 1), (2, 2), (3, 3), (5, 9), (12, 4), (17, 17), (24, 31), (40, 23)]


@pytest.mark.parametrize("m,n", SHAPES)
@pytest.mark.parametrize("source,sense", [("zero", "zero"), ("finite", "zero"), ("zero", "finite"), ("mixed", "mixed")])
def test_transfer_matrix_matches_general_sparse_path(m, n, source, sense):
    case = random_case(m, n, seed=100 * m + n, source=source, sense=sense, open_cells=0.05)
    t_nd = NestedDissectionSolver(**case).transfer_matrix()
    t_ref = general_path(case).transfer_matrix_general()
    assert rel_err(t_nd, t_ref) <= 1e-9


@pytest.mark.parametrize("m,n", [(1, 6), (7, 1), (9, 14), (33, 20)])
def test_node_voltages_match_general_sparse_path(m, n):
    case = random_case(m, n, seed=m + 7 * n, open_cells=0.1)
    rng = np.random.default_rng(1)
    v = rng.uniform(-1.0, 1.0, (m, 3))
    u, b = NestedDissectionSolver(**case).node_voltages(v)
    sol = general_path(case).solve(v.T)
    assert u.shape == b.shape == (m, n, 3)
    assert np.max(np.abs(u - np.moveaxis(sol.wl_voltages, 0, -1))) <= 1e-9 * np.max(np.abs(v))
    assert np.max(np.abs(b - np.moveaxis(sol.bl_voltages, 0, -1))) <= 1e-9 * np.max(np.abs(v))


def test_larger_array_matches_column_recursion():
    """96 x 80 (a deeper tree) against the structured O(N M^3) recursion."""
    case = random_case(96, 80, seed=5)
    t_nd = NestedDissectionSolver(**case).transfer_matrix()
    t_ref = structured.transfer_matrix(case["g_cell"], case["r_wl"], case["r_bl"], case["r_source"], case["r_sense"])
    assert rel_err(t_nd, t_ref) <= 1e-9


def test_single_cell_voltage_divider_closed_form():
    solver = NestedDissectionSolver(np.array([[1e-4]]), np.zeros((1, 0)), np.zeros((0, 1)), np.array([50.0]),
                                    np.array([25.0]))
    assert solver.sense_currents(np.array([0.3]))[0] == pytest.approx(0.3 / (50.0 + 1e4 + 25.0), rel=1e-14)
    u, b = solver.node_voltages(np.array([0.3]))
    assert b[0, 0] == pytest.approx(25.0 * 0.3 / (50.0 + 1e4 + 25.0), rel=1e-13)


def test_shapes_batches_and_linearity():
    case = random_case(11, 7, seed=2)
    solver = NestedDissectionSolver(**case)
    rng = np.random.default_rng(0)
    v = rng.uniform(0.0, 0.5, (11, 5))
    batch = solver.sense_currents(v)
    assert batch.shape == (7, 5)
    assert solver.sense_currents(v[:, 2]).shape == (7,)
    assert np.allclose(batch[:, 2], solver.sense_currents(v[:, 2]), rtol=1e-13, atol=0)
    t = solver.transfer_matrix()
    assert np.allclose(batch, (v.T @ t).T, rtol=1e-11, atol=1e-20)
    u, b = solver.node_voltages(v[:, 0])
    assert u.shape == b.shape == (11, 7)


def test_driver_current_equals_total_sense_current():
    """With finite drivers, what the sources push in leaves through the senses (KCL on the whole array)."""
    case = random_case(20, 13, seed=9, source="finite", sense="mixed")
    solver = NestedDissectionSolver(**case)
    v = np.random.default_rng(4).uniform(0.1, 0.4, 20)
    u, _ = solver.node_voltages(v)
    driver = (v - u[:, 0]) / case["r_source"]
    assert driver.sum() == pytest.approx(solver.sense_currents(v).sum(), rel=1e-9)


def full_solve_transfer_matrix(solver):
    """T from unpruned solves: every node voltage, then each column's cell currents summed."""
    m = solver.shape[0]
    u, b = solver.node_voltages(np.eye(m))
    return np.einsum("ij,ijk->kj", solver.values.g_cell, u - b)


@pytest.mark.parametrize("m,n", [(1, 1), (1, 23), (19, 1), (2, 17), (17, 2), (13, 29), (31, 10), (48, 20)])
@pytest.mark.parametrize("source,sense", [("finite", "finite"), ("zero", "zero"), ("mixed", "mixed")])
def test_pruned_transfer_matrix_matches_full_solves(m, n, source, sense):
    """The pruned sweeps (forward over subtrees with right-hand sides, backward over the bottom rows,
    compact Y) against full solves and the general path, on non-square arrays and single lines."""
    case = random_case(m, n, seed=31 * m + n, source=source, sense=sense, open_cells=0.05)
    solver = NestedDissectionSolver(**case)
    t = solver.transfer_matrix()
    assert t.shape == (m, n)
    assert rel_err(t, full_solve_transfer_matrix(solver)) <= 1e-10   # two KCL forms of the current
    assert rel_err(t, general_path(case).transfer_matrix_general()) <= 1e-9
    # the pruning touches only part of the grid on larger arrays
    rows = solver._pruning[-1]
    assert rows <= 2 * m * n + 1
    if m * n >= 400:
        assert rows < m * n


def test_pruned_sense_currents_many_chunks_and_threads(monkeypatch):
    """Several input chunks spread over threads give the same currents as one chunk on one thread."""
    from cosim.solve import nested

    case = random_case(26, 33, seed=12, source="mixed", sense="finite")
    v = np.random.default_rng(7).uniform(-1, 1, (26, 11))
    ref = NestedDissectionSolver(**case, n_threads=1).sense_currents(v)
    monkeypatch.setattr(nested, "RHS_CHUNK_ELEMENTS", 2 * 26 * 33)   # chunks of 2 inputs
    for n_threads in (1, 2, 3):
        got = NestedDissectionSolver(**case, n_threads=n_threads).sense_currents(v)
        assert rel_err(got, ref) <= 1e-13
    assert rel_err(ref, (v.T @ full_solve_transfer_matrix(NestedDissectionSolver(**case))).T) <= 1e-10


def test_transfer_matrix_adjoint_chunks_threads_and_floating_lines(monkeypatch):
    """The adjoint transfer matrix (one solve per sense, each front eliminating only the senses whose
    column crosses it) in chunks of 3 senses on 1-3 threads, with floating lines, against unpruned full
    solves of the driver inputs and the general sparse path."""
    from cosim.solve import nested

    m, n = 29, 37
    case = random_case(m, n, seed=21, source="mixed", sense="mixed")
    floating_wl, floating_bl = np.zeros(m, bool), np.zeros(n, bool)
    floating_wl[[4, 17]], floating_bl[[0, 9, 36]] = True, True
    ref = full_solve_transfer_matrix(NestedDissectionSolver(**case, floating_wl=floating_wl,
                                                            floating_bl=floating_bl))
    floor = 1e-10 * np.abs(ref).max()                  # a floating driver / sense carries no current
    assert np.abs(ref[[4, 17]]).max() <= floor and np.abs(ref[:, [0, 9, 36]]).max() <= floor
    monkeypatch.setattr(nested, "MAX_RHS_CHUNK", 3)
    for n_threads in (1, 2, 3):
        solver = NestedDissectionSolver(**case, n_threads=n_threads, floating_wl=floating_wl, floating_bl=floating_bl)
        assert rel_err(solver.transfer_matrix(), ref) <= 1e-10
    assert rel_err(NestedDissectionSolver(**case).transfer_matrix(), general_path(case).transfer_matrix_general()) <= 1e-9


def test_forward_tree_rejects_unsorted_rhs_lines():
    from cosim._ext.nested_kernels import forward_tree

    solver = NestedDissectionSolver(**random_case(6, 6, seed=3))
    y = np.zeros((72, 3))
    with pytest.raises(ValueError, match="rhs_lines must be an ascending array of 3"):
        forward_tree(solver._level_table(solver._factors), *solver.values.arrays, 0, np.zeros(1), np.zeros(1), 0, 0,
                     y, np.full((1, 72), -1, dtype=np.int32), np.zeros((1, 6 * solver._max_front)), solver._max_front, 1,
                     rhs_lines=np.array([2, 1, 3]))


def test_result_independent_of_threads_and_leaf_size():
    case = random_case(45, 38, seed=8)
    v = np.random.default_rng(5).uniform(-1, 1, (45, 4))
    ref = NestedDissectionSolver(**case, n_threads=1).sense_currents(v)
    for n_threads in (2, 3, 4):
        assert np.array_equal(NestedDissectionSolver(**case, n_threads=n_threads).sense_currents(v), ref)
    other = NestedDissectionSolver(**case, max_leaf_nodes=24).sense_currents(v)
    assert rel_err(other, ref) <= 1e-11


@pytest.mark.parametrize("m,n", [(1, 1), (1, 50), (50, 1), (3, 2), (64, 64), (101, 37)])
def test_tree_eliminates_every_unknown_once(m, n):
    eliminated = np.zeros((2, m, n), int)
    for lev in build_levels(m, n):
        for r0, r1, c0, c1, line in zip(lev.r0, lev.r1, lev.c0, lev.c1, lev.line):
            if lev.cut is Cut.LEAF:
                eliminated[:, r0:r1, c0:c1] += 1
            elif lev.cut is Cut.VERTICAL:
                eliminated[:, r0:r1, line] += 1        # separator u, chain b
            else:
                eliminated[:, line, c0:c1] += 1        # separator b, chain u
    assert np.all(eliminated == 1)


@pytest.mark.parametrize("field,value,message", [
    ("r_wl", 0.0, "r_wl"), ("r_bl", np.inf, "r_bl"), ("r_wl", np.ones((4, 5)), "shape"),
    ("g_cell", -1e-3, "g_cell"), ("r_source", -1.0, "r_source"), ("r_sense", np.nan, "r_sense"),
])
def test_bad_values_raise(field, value, message):
    case = random_case(4, 5, seed=0)
    case[field] = np.broadcast_to(value, case[field].shape).copy() if np.ndim(value) == 0 else value
    with pytest.raises(ValueError, match=message):
        NestedDissectionSolver(**case)


def test_bad_inputs_raise():
    solver = NestedDissectionSolver(**random_case(4, 5, seed=0))
    with pytest.raises(ValueError, match="shape"):
        solver.sense_currents(np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        solver.node_voltages(np.array([1.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="n_threads"):
        NestedDissectionSolver(**random_case(2, 2, seed=0), n_threads=0)


def test_one_thread_blas_context_sets_and_restores_the_thread_counts():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from cosim.solve.nested import single_threaded_blas

    def counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = counts()
    with single_threaded_blas():
        with single_threaded_blas():                  # re-entrant
            assert all(n == 1 for n in counts())
        assert all(n == 1 for n in counts())
    assert counts() == before
