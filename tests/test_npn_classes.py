"""NPN canonical forms from cofactors, and the class table, against brute force and OEIS A000370."""

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import npn as P
from nnlab import npn_classes as C


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_canonical_is_the_least_table_found_by_closure(n):
    np.testing.assert_array_equal(C.canonical(np.arange(2 ** 2**n), n), P.npn_labels(n))


def _five_bit_samples() -> np.ndarray:
    """Tables with every kind of tie the canonical form must resolve: random ones, the 64
    symmetric functions, functions of 4, 3 or 2 of the 5 variables, sparse ones."""
    rng = np.random.default_rng(5)
    weight = B.inputs(5).sum(1)
    symmetric = [B.from_bits(np.isin(weight, [k for k in range(6) if (s >> k) & 1])) for s in range(64)]
    fewer = []
    for m in (2, 3, 4):
        for g in rng.integers(0, 2 ** 2**m, 40):
            pick = rng.permutation(5)[:m]  # g of the variables pick, in that order
            point = B.inputs(5)[:, pick].astype(np.int64) @ (1 << np.arange(m))
            fewer.append(B.from_bits((int(g) >> point) & 1))
    sparse = [sum(1 << int(i) for i in rng.choice(32, k, replace=False))
              for k in (1, 2, 3, 4) for _ in range(20)]
    randoms = rng.integers(0, 2**32, 2000, dtype=np.uint64).tolist()
    return np.array(symmetric + fewer + sparse + randoms, np.uint64).astype(np.int64)


def test_canonical_on_five_bits_is_the_least_table_of_the_class():
    f = _five_bit_samples()
    np.testing.assert_array_equal(C.canonical(f, 5), P.orbit_stats(f, 5)[0])
    assert C.canonical(f.reshape(2, -1)[:, :3], 5).shape == (2, 3)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_class_table_matches_oeis_a000370_and_the_labels(n):
    classes = C.npn_classes(n)
    assert len(classes.rep) == (1, 2, 4, 14, 222)[n] == P.A000370[n]
    assert classes.size.sum() == 2 ** 2**n
    reps, counts = np.unique(P.npn_labels(n), return_counts=True)
    np.testing.assert_array_equal(classes.rep, reps)
    np.testing.assert_array_equal(classes.size, counts)


@pytest.mark.parametrize("n, shards", [(3, 2), (4, 5)])
def test_shards_partition_the_classes(n, shards):
    parts = [C.npn_classes(n, i, shards) for i in range(shards)]
    merged = C.merge(parts)
    full = C.npn_classes(n)
    np.testing.assert_array_equal(merged.rep, full.rep)
    np.testing.assert_array_equal(merged.size, full.size)


def test_a_five_bit_shard_equals_the_classes_found_by_brute_force():
    """Shard 0 of 222 holds the classes whose least table has hi = 0, i.e. the classes that
    meet [0, 2^16): the least images of those tables over all transforms."""
    shard = C.npn_classes(5, 0, 222)
    least, _ = P.orbit_stats(np.arange(2**16), 5)
    np.testing.assert_array_equal(shard.rep, np.unique(least))
    for i in (0, 1, 7, len(shard.rep) - 1):
        assert shard.size[i] == len(P.orbit(int(shard.rep[i]), 5))


def test_class_index():
    classes = C.npn_classes(4)
    f = np.array([[0, B.parity(4)], [B.majority(4), 2**16 - 1]])
    rows = C.class_index(classes, f)
    assert rows.shape == (2, 2)
    np.testing.assert_array_equal(classes.rep[rows], P.npn_labels(4)[f])
    with pytest.raises(ValueError, match="not in this class table"):
        C.class_index(C.npn_classes(4, 1, 2), np.array([0]))  # the class of 0 has hi = 0: shard 0
    with pytest.raises(ValueError, match="shard"):
        C.npn_classes(4, 2, 2)
