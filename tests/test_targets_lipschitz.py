"""The L-Lipschitz targets on [0, 1]^d (nnlab.targets.bumps, loop): the certified constant
bounds sup ||grad f||_1, gradients match differences, the family is fixed by (d, seed)."""

import numpy as np
import pytest

from nnlab import approximation as A
from nnlab import targets as T


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_certified_lipschitz_bounds_the_gradient_and_the_differences(d):
    t = T.bumps(d, lipschitz=2.0)
    assert t.lipschitz == 2.0 and t.centers.shape == (3, d) and (t.heights > 0).all()
    per_bump = t.heights * np.sqrt(d) / (t.widths * np.sqrt(np.e))
    assert per_bump.sum() == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (4000, d)), rng.uniform(0, 1, (4000, d))
    assert np.abs(T.bump_gradients(t, x)).sum(1).max() <= t.lipschitz
    ratio = np.abs(T.bump_values(t, x) - T.bump_values(t, y)) / np.abs(x - y).max(1)
    assert ratio.max() <= t.lipschitz


def test_one_bump_attains_its_certified_constant():
    t = T.bumps(2, count=1, width=0.2)
    x = t.centers + t.widths[0] / np.sqrt(2) * np.array([[1.0, 1.0]])  # ||u|| = r on a diagonal
    assert np.abs(T.bump_gradients(t, x)).sum() == pytest.approx(t.lipschitz)


def test_gradients_are_the_derivatives():
    t = T.bumps(3, seed=5)
    x = np.random.default_rng(1).uniform(0, 1, (20, 3))
    h = 1e-6
    numeric = np.stack([(T.bump_values(t, x + h * e) - T.bump_values(t, x - h * e)) / (2 * h) for e in np.eye(3)], 1)
    np.testing.assert_allclose(T.bump_gradients(t, x), numeric, atol=1e-7)


def test_the_family_is_fixed_by_d_and_seed():
    a, b = T.bumps(2, seed=4), T.bumps(2, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3]))
    assert not np.array_equal(T.bumps(2, seed=5).centers, a.centers)
    with pytest.raises(ValueError, match="lipschitz > 0"):
        T.bumps(2, lipschitz=0.0)


def test_loop_is_a_circle_with_speed_L():
    x = A.grid_points(1, 1000)
    p = T.loop(x, lipschitz=3.0)
    assert p.shape == (1000, 2)
    np.testing.assert_allclose(np.hypot(*(p - 0.5).T), 3.0 / (2 * np.pi))
    speed = np.hypot(*np.diff(p, axis=0).T) / np.diff(x[:, 0])
    assert speed.max() <= 3.0 and speed.min() > 2.99
