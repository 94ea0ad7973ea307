"""The constructions of the universal approximation theorem (nnlab.approximation): every
error bound checked on grids much finer than the cells, through nnlab.forward in float64."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlab
from nnlab import approximation as A
from nnlab import targets as T


def _forward(params, x, hidden):
    return np.asarray(nnlab.forward(params, np.asarray(x, np.float64), hidden, "identity"))


def _fine_1d(n, per_cell=1000):
    """A grid of [0, 1] per_cell times finer than n cells, holding every cell edge j/n and both ends."""
    return np.linspace(0, 1, n * per_cell + 1)[:, None]


@pytest.mark.parametrize("n", [2, 3, 7, 20, 64])
def test_one_layer_of_thresholds_is_within_L_over_2n(n):
    target = T.bumps(1)
    f = lambda x: T.bump_values(target, x)
    params, hidden = A.construct(f, 1, n)
    assert hidden == "step" and [p["W"].shape for p in params] == [(1, n - 1), (n - 1, 1)]
    assert A.neurons(1, n) == n - 1 and A.hidden_layers(1) == 1
    x = _fine_1d(n)
    out = _forward(params, x, "step")[:, 0]
    np.testing.assert_allclose(out, f(A.cell_centers(n, 1))[A.cell_index(x, n)], rtol=0, atol=1e-12)
    error = np.abs(out - f(x)).max()
    assert error <= A.step_bound(target.lipschitz, n) == target.lipschitz / (2 * n)


def test_the_step_bound_is_attained_by_a_line():
    """f(x) = L x: the error at the top of a cell is exactly L / (2n)."""
    L, n = 3.0, 5
    params, _ = A.construct(lambda x: L * x[:, 0], 1, n)
    x = _fine_1d(n)
    error = np.abs(_forward(params, x, "step")[:, 0] - L * x[:, 0]).max()
    assert error == pytest.approx(L / (2 * n), abs=1e-12)


@pytest.mark.parametrize("n, tail", [(2, 0.1), (5, 0.1), (16, 0.1), (16, 0.01), (50, 0.5)])
def test_one_layer_of_steep_sigmoids_keeps_its_bound(n, tail):
    target = T.bumps(1, seed=3)
    f = lambda x: T.bump_values(target, x)
    params, hidden = A.construct(f, 1, n, "sigmoid", tail)
    assert hidden == "sigmoid"
    k = A.sigmoid_steepness(n, tail)
    np.testing.assert_allclose(params[0]["W"], k)
    x = _fine_1d(n)
    error = np.abs(_forward(params, x, "sigmoid")[:, 0] - f(x)).max()
    bound = A.bound(target.lipschitz, 1, n, "sigmoid", tail)
    assert error <= bound <= (1 + tail) * target.lipschitz / (2 * n) + 1e-15
    assert bound > A.step_bound(target.lipschitz, n)


def test_a_shallow_sigmoid_is_not_a_threshold():
    """With k = 1 the units are far from thresholds: the bound is loose but still holds."""
    target = T.bumps(1)
    f = lambda x: T.bump_values(target, x)
    n = 8
    params = A.one_layer(f(A.cell_centers(n, 1)), "sigmoid", steepness=1.0)
    x = _fine_1d(n, 100)
    error = np.abs(_forward(params, x, "sigmoid")[:, 0] - f(x)).max()
    assert error <= A.sigmoid_bound(target.lipschitz, n, 1.0)


@pytest.mark.parametrize("d, n, per_cell", [(2, 2, 64), (2, 9, 16), (3, 4, 8), (4, 3, 4), (1, 6, 50)])
def test_cell_network_finds_the_cell_and_keeps_L_over_2n(d, n, per_cell):
    target = T.bumps(d)
    f = lambda x: T.bump_values(target, x)
    params = A.cell_network(f(A.cell_centers(n, d)), n, d)
    assert [p["W"].shape for p in params] == [(d, d * (n - 1)), (d * (n - 1), n**d), (n**d, 1)]
    assert sum(p["W"].shape[1] for p in params[:-1]) == d * (n - 1) + n**d
    # a grid per_cell times finer than the cells, with every cell edge and the far faces (x_i = 1)
    axis = np.linspace(0, 1, n * per_cell + 1)
    x = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), -1).reshape(-1, d)
    out = _forward(params, x, "step")[:, 0]
    np.testing.assert_array_equal(out, f(A.cell_centers(n, d))[A.cell_index(x, n)])
    assert np.abs(out - f(x)).max() <= A.step_bound(target.lipschitz, n)


@given(st.integers(1, 3), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_cell_network_output_is_the_value_of_the_cell(d, n, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n**d)
    x = rng.uniform(0, 1, size=(64, d))
    x[:8] = rng.integers(0, n + 1, size=(8, d)) / n  # points on cell faces
    out = _forward(A.cell_network(values, n, d), x, "step")[:, 0]
    np.testing.assert_array_equal(out, values[A.cell_index(x, n)])


def test_construct_picks_one_layer_for_d_1_and_cells_above():
    f = lambda x: x.sum(axis=1)
    assert len(A.construct(f, 1, 4)[0]) == 2 and len(A.construct(f, 2, 4)[0]) == 3
    assert A.neurons(2, 4) == 2 * 3 + 16 and A.hidden_layers(3) == 2
    with pytest.raises(ValueError, match="threshold units"):
        A.construct(f, 2, 4, "sigmoid")
    with pytest.raises(ValueError, match="at least 2 cells"):
        A.one_layer([1.0])
    with pytest.raises(ValueError, match="n >= 2"):
        A.cell_network([1.0], 1, 2)


def test_cells_per_axis_is_the_fewest_meeting_eps():
    for L, eps in [(1.0, 0.1), (1.0, 0.05), (2.0, 0.3), (1.0, 0.5), (1.0, 2.0), (1.0, 1 / 6)]:
        n = A.cells_per_axis(eps, L)
        assert A.step_bound(L, n) <= eps + 1e-15
        assert n == 1 or A.step_bound(L, n - 1) > eps
    assert A.cells_per_axis(0.05, 1.0) == 10


def test_grid_points_and_errors_of_a_known_function():
    m = 7
    g = A.grid_points(2, m)
    assert g.shape == (49, 2) and np.allclose(g[:3], [[1 / 14, 1 / 14], [1 / 14, 3 / 14], [1 / 14, 5 / 14]])
    np.testing.assert_array_equal(A.grid_points(2, m, 10, 20), g[10:20])
    sup, l2 = A.grid_errors(lambda x: np.zeros(len(x)), lambda x: x[:, 0], 2, m, chunk=5)
    assert sup == pytest.approx(1 - 1 / (2 * m))
    assert l2 == pytest.approx(math.sqrt(1 / 3 - 1 / (12 * m**2)))
    # vector outputs: the Euclidean norm per point
    sup, l2 = A.grid_errors(lambda x: np.zeros((len(x), 2)), lambda x: np.full((len(x), 2), 3.0), 1, 4)
    assert sup == pytest.approx(3 * math.sqrt(2)) and l2 == pytest.approx(3 * math.sqrt(2))


def test_grid_sup_plus_slack_bounds_the_fine_sup_of_a_cell_network():
    target = T.bumps(2, seed=1)
    f = lambda x: T.bump_values(target, x)
    n = 5
    params = A.cell_network(f(A.cell_centers(n, 2)), n, 2)
    net = lambda x: _forward(params, x, "step")[:, 0]
    coarse, _ = A.grid_errors(net, f, 2, 2 * n)
    fine, _ = A.grid_errors(net, f, 2, 40 * n)
    assert coarse <= fine <= coarse + A.grid_slack(target.lipschitz, 2 * n)
    assert fine <= A.step_bound(target.lipschitz, n)
