"""nnlab.shuffle gives jax.random.permutation's orders exactly, ties included."""

import jax
import numpy as np
import pytest

from nnlab import shuffle


@pytest.mark.parametrize("n", [1, 2, 7, 256, 1700])  # 1700: two sorting rounds, the fallback
def test_permutations_equal_jax_random_permutation(n):
    keys = jax.random.split(jax.random.key(n), 64)
    expected = jax.vmap(lambda k: jax.random.permutation(k, n))(keys)
    got = jax.jit(shuffle.permutations, static_argnums=1)(keys, n)
    np.testing.assert_array_equal(got, expected)
    assert sorted(np.asarray(got[0]).tolist()) == list(range(n))


def test_argsort_rows_is_stable_when_values_tie():
    rng = np.random.default_rng(0)
    distinct = rng.integers(0, 2**32, size=(3, 50), dtype=np.uint32)
    tied = rng.integers(0, 4, size=(3, 50)).astype(np.uint32)  # many equal values per row
    for bits in (distinct, tied):
        got = jax.jit(shuffle.argsort_rows)(bits)
        np.testing.assert_array_equal(got, np.argsort(bits, axis=1, kind="stable"))
