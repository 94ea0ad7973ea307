"""Narrow deep ReLU nets (nnlab.narrow): the width-(1 + d_out) interpolant is exact and keeps
its bound, width-1 floors hold against random width-1 nets, dead layers are found."""

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlab
from nnlab import approximation as A
from nnlab import narrow as N
from nnlab import targets as T

FINE = np.linspace(0, 1, 20001)[:, None]


def _forward(params, x):
    return np.asarray(nnlab.forward(params, np.asarray(x, np.float64), "relu", "identity"))


@given(st.integers(1, 40), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_deep_interpolant_is_the_piecewise_linear_interpolant(depth, k, seed):
    values = np.random.default_rng(seed).normal(size=(depth + 2, k))
    params = N.deep_interpolant(values)
    assert len(params) == depth + 1
    assert [p["W"].shape[1] for p in params] == [1 + k] * depth + [k]
    t = N.knots(depth)
    expected = np.stack([np.interp(FINE[:, 0], t, values[:, j]) for j in range(k)], 1)
    np.testing.assert_allclose(_forward(params, FINE), expected, rtol=0, atol=1e-11 * (1 + np.abs(values).sum()))


@pytest.mark.parametrize("depth", [1, 2, 3, 7, 15, 31, 63])
def test_depth_alone_drives_the_error_down_on_the_bound(depth):
    target = T.bumps(1)
    params = N.deep_interpolant(T.bump_values(target, N.knots(depth)[:, None]))
    assert all(p["W"].shape[1] == 2 for p in params[:-1])  # width 2 = d + 1 at every depth
    error = np.abs(_forward(params, FINE)[:, 0] - T.bump_values(target, FINE)).max()
    assert error <= N.interpolant_bound(target.lipschitz, depth) == target.lipschitz / (2 * (depth + 1))


@pytest.mark.parametrize("depth", [1, 4, 31])
def test_the_loop_by_width_3(depth):
    params = N.deep_interpolant(T.loop(N.knots(depth)[:, None]))
    assert all(p["W"].shape[1] == 3 for p in params[:-1])
    error = A.pointwise_error(_forward(params, FINE), T.loop(FINE)).max()
    assert error <= N.interpolant_bound(1.0, depth)


def test_deep_interpolant_needs_depth_one():
    with pytest.raises(ValueError, match="at least 3 knots"):
        N.deep_interpolant([0.0, 1.0])


def test_monotone_floor_small_cases():
    assert N.monotone_floor([0.0, 1.0, 2.0]) == (0.0, 0.0)
    assert N.monotone_floor([3.0, 1.0, 0.0]) == (0.0, 0.0)
    sup, l2 = N.monotone_floor([0.0, 1.0, 0.0])
    assert sup == 0.5 and l2 == pytest.approx(np.sqrt(0.5 / 3))
    np.testing.assert_allclose(N._isotonic(np.array([1.0, 3.0, 2.0, 0.0, 5.0])), [1.0, 5 / 3, 5 / 3, 5 / 3, 5.0])


def _random_narrow_nets(rng, count, depth, outputs):
    """Random ReLU nets [1, 1, ..., 1, outputs] with large weights (many pieces, both signs)."""
    return [[{"W": rng.normal(size=(1, 1)) * 3, "b": rng.normal(size=1)} for _ in range(depth)]
            + [{"W": rng.normal(size=(1, outputs)), "b": rng.normal(size=outputs) * 0.2}] for _ in range(count)]


def test_width_one_nets_never_beat_the_monotone_floor():
    target = T.bumps(1)
    x = A.grid_points(1, 512)
    y = T.bump_values(target, x)
    sup_floor, l2_floor = N.monotone_floor(y)
    assert sup_floor > 0.05 and l2_floor > 0.02
    rng = np.random.default_rng(0)
    for depth in (1, 2, 5):
        for params in _random_narrow_nets(rng, 50, depth, 1):
            e = np.abs(_forward(params, x)[:, 0] - y)
            assert e.max() >= sup_floor and np.sqrt(np.mean(e**2)) >= l2_floor - 1e-12


def test_line_floor_of_a_circle_and_width_one_curves():
    m = 256
    x = A.grid_points(1, m)
    y = T.loop(x)
    radius = 1 / (2 * np.pi)
    sup_floor, l2_floor = N.line_floor(y)
    assert sup_floor == pytest.approx(radius * np.cos(np.pi / m))  # half the width of a regular m-gon
    assert l2_floor == pytest.approx(radius / np.sqrt(2))
    rng = np.random.default_rng(1)
    for params in _random_narrow_nets(rng, 50, 3, 2):
        e = A.pointwise_error(_forward(params, x), y)
        assert e.max() >= sup_floor - 1e-12 and np.sqrt(np.mean(e**2)) >= l2_floor - 1e-12
    assert N.line_floor(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])) == pytest.approx((0.0, 0.0), abs=1e-12)


def test_dead_layers_are_found_and_padded_units_do_not_count():
    live = [{"W": np.array([[1.0, 0.0]]), "b": np.array([0.5, 0.0])},  # second unit padded: 0 everywhere
            {"W": np.array([[1.0, 0.0], [0.0, 0.0]]), "b": np.array([0.0, 0.0])},
            {"W": np.array([[1.0], [0.0]]), "b": np.array([0.0])}]
    dead = jax.tree.map(np.copy, live)
    dead[1]["b"] = np.array([-5.0, 0.0])  # layer 2 off on [0, 1]
    stacked = jax.tree.map(lambda a, b: np.stack([a, b]), live, dead)
    x = A.grid_points(1, 100)
    np.testing.assert_array_equal(N.dead_layers(stacked, x), [[False, False], [False, True]])
