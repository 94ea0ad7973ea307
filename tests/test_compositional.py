"""Binary-tree compositional targets and the tree network's mask (nnlab.compositional)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlab
from nnlab import compositional as C


def test_the_tree_function_is_the_nested_composition():
    rng = np.random.default_rng(0)
    c = C.tree_coefficients(rng, 8)
    x = rng.uniform(-1, 1, (50, 8))
    h = lambda a, b, j: C.constituent(a, b, c[j])
    level1 = [h(x[:, 2 * j], x[:, 2 * j + 1], j) for j in range(4)]
    level2 = [h(level1[0], level1[1], 4), h(level1[2], level1[3], 5)]
    np.testing.assert_allclose(C.tree_function(x, c), h(level2[0], level2[1], 6), rtol=0, atol=1e-15)


@pytest.mark.parametrize("d", [2, 4, 8, 16])
def test_coefficients_keep_every_level_in_the_unit_cube(d):
    c = C.tree_coefficients(np.random.default_rng(d), d)
    assert c.shape == (d - 1, 4)
    assert np.all(np.abs(c[:, 0]) <= 1) and np.all((np.abs(c[:, 1:3]) >= 0.5) & (np.abs(c[:, 1:3]) <= 1))
    assert np.all(np.abs(c[:, 3]) <= 1)
    f = C.tree_function(np.random.default_rng(1).uniform(-1, 1, (2000, d)), c)
    assert np.all(np.abs(f) <= 1) and f.std() > 0.05


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        C.tree_sizes(6, 2)
    with pytest.raises(ValueError, match="coefficients"):
        C.tree_function(np.zeros((3, 8)), np.zeros((6, 4)))


@given(st.sampled_from([2, 4, 8, 16]), st.integers(1, 6))
def test_mask_shapes_and_counts(d, n):
    sizes, mask = C.tree_sizes(d, n), C.tree_mask(d, n)
    assert sizes[0] == d and sizes[-1] == 1 and sum(sizes[1:-1]) == C.tree_units(d, n) == (d - 1) * n
    assert [m["W"].shape for m in mask] == list(zip(sizes[:-1], sizes[1:]))
    assert nnlab.count_weights(None, mask=mask) == C.tree_weights(d, n)
    if d == 8:
        assert C.tree_weights(d, n) == 6 * n * n + 16 * n + 1
    # a unit reads its two children: 2 inputs at the first level, 2 n units above; the output all n root units
    fan_in = [set(m["W"].sum(axis=0)) for m in mask]
    assert fan_in == [{2.0}] + [{2.0 * n}] * (len(mask) - 2) + [{float(n)}]


def _sign(i):
    return np.where(np.asarray(i) % 2 == 0, 1.0, -1.0)


def test_masked_net_computes_a_tree_of_relu_nodes():
    """n = 2: node j's units relu(s) and relu(-s), s the sum of its children's values (unit 0
    minus unit 1 of each child), the output unit 0 minus unit 1 of the root. Random weights on
    the masked-out edges must change nothing: the net computes the sum of its inputs."""
    d, n = 8, 2
    sizes, mask = C.tree_sizes(d, n), C.tree_mask(d, n)
    rng = np.random.default_rng(3)
    params = []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        rows, cols = np.arange(a)[:, None], np.arange(b)[None, :]
        signs = (np.ones((a, 1)) if l == 0 else _sign(rows)) * (np.ones((1, b)) if l == len(mask) - 1 else _sign(cols))
        on = mask[l]["W"] > 0
        params.append({"W": np.where(on, signs, rng.normal(size=(a, b))), "b": np.zeros(b)})
    x = rng.uniform(-1, 1, (64, d))
    out = nnlab.forward(params, x, "relu", "identity", mask=mask)
    np.testing.assert_allclose(np.asarray(out)[:, 0], x.sum(axis=1), atol=1e-12)
    unmasked = nnlab.forward(params, x, "relu", "identity")
    assert np.abs(np.asarray(unmasked)[:, 0] - x.sum(axis=1)).max() > 1e-3  # the mask is what makes it a tree
