"""Restart statistics: Wilson intervals, best-of-K curves, cost to the first success."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlab import stats


@given(st.integers(1, 5000), st.data())
def test_wilson_endpoints_solve_the_score_equation(n, data):
    """The interval is {p : |s/n - p| <= z sqrt(p(1-p)/n)}: its ends meet the bound with equality."""
    s = data.draw(st.integers(0, n))
    lo, hi = stats.wilson_interval(s, n)
    phat, z = s / n, stats.Z95
    for p in (lo, hi):
        if 0 < p < 1:
            assert abs(abs(phat - p) - z * math.sqrt(p * (1 - p) / n)) < 1e-9
    assert lo <= phat <= hi
    inside = np.linspace(lo, hi, 7)[1:-1]
    assert np.all(np.abs(phat - inside) <= z * np.sqrt(inside * (1 - inside) / n) + 1e-12)


def test_wilson_at_zero_successes():
    lo, hi = stats.wilson_interval(0, 1000)
    z2 = stats.Z95**2
    assert lo == 0 and abs(hi - z2 / (1000 + z2)) < 1e-15


def test_resampled_best_of_k_converges_to_the_exact_subset_probability():
    rng = np.random.default_rng(0)
    solved = rng.random(300) < 0.04
    ks = np.array([1, 2, 5, 10, 30, 100, 300])
    exact = stats.best_of_k_subsets(int(solved.sum()), len(solved), ks)
    resampled = stats.best_of_k_resampled(solved, ks, 20000, np.random.default_rng(1))
    assert np.max(np.abs(resampled - exact)) < 0.015
    assert exact[-1] == 1.0 and abs(exact[0] - solved.mean()) < 1e-12
    # with few successes among many restarts, sampling without replacement ~ independent restarts
    np.testing.assert_allclose(exact[:4], stats.best_of_k_geometric(solved.mean(), ks[:4]), atol=0.01)


def test_first_success_position_has_mean_r_plus_1_over_s_plus_1():
    solved = np.zeros(50, bool)
    solved[[3, 17, 40]] = True
    positions = stats.first_success_positions(solved, 40000, np.random.default_rng(2))
    assert positions.min() >= 1 and positions.max() <= 50 - 3 + 1
    assert abs(positions.mean() - 51 / 4) < 0.1
    none = stats.first_success_positions(np.zeros(5, bool), 10, np.random.default_rng(0))
    assert np.all(none == 6)


def test_geometric_and_costs():
    np.testing.assert_allclose(stats.best_of_k_geometric(0.25, [0, 1, 2]), [0, 0.25, 1 - 0.75**2])
    assert stats.restarts_for_confidence(0.5, 0.99) == 7  # 0.5^7 < 0.01 <= 0.5^6
    assert stats.restarts_for_confidence(0.0) == math.inf and stats.restarts_for_confidence(1.0) == 1
    assert stats.expected_steps_to_success(0.25, 1000) == pytest.approx(4000)
    assert stats.expected_steps_to_success(0.25, 1000, mean_solve_step=200) == pytest.approx(3200)
    assert stats.expected_steps_to_success(0.0, 1000) == math.inf
