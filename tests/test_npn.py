"""The NPN group on truth tables: bit operations and generators held against explicit input maps."""

import itertools
import math

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import npn as P


def _input_maps(n: int) -> np.ndarray:
    """Every NP transform as an index map: g(f) has value f(y(i)) at point i, with
    y_j = x_{perm[j]}(i) XOR neg_j, over all permutations and negation sets.
    -> (n! 2^n, 2^n) int64."""
    x = B.inputs(n).astype(np.int64)
    maps = []
    for perm in itertools.permutations(range(n)):
        for neg in range(2**n):
            y = x[:, list(perm)] ^ ((neg >> np.arange(n)) & 1)
            maps.append(y @ (1 << np.arange(n)))
    return np.array(maps, np.int64).reshape(-1, 2**n)


def _brute_orbit(f: int, n: int) -> np.ndarray:
    """The NPN class of f from every transform written out: sorted distinct tables."""
    values = B.bits(f, n).astype(np.int64)[_input_maps(n)]  # (n! 2^n, 2^n)
    tables = (values << np.arange(2**n)).sum(1)
    return np.unique(np.concatenate([tables, (2 ** 2**n - 1) - tables]))


def _tables(values: np.ndarray) -> np.ndarray:
    return (values.astype(np.int64) << np.arange(values.shape[-1])).sum(-1)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5])
def test_heap_swaps_visit_every_permutation_once(n):
    perm, seen = list(range(n)), {tuple(range(n))}
    for j, k in P.heap_swaps(n):
        perm[j], perm[k] = perm[k], perm[j]
        seen.add(tuple(perm))
    assert len(P.heap_swaps(n)) == max(math.factorial(n) - 1, 0) and len(seen) == math.factorial(n)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_negate_and_swap_are_input_maps(n):
    rng = np.random.default_rng(n)
    f = rng.integers(0, 2 ** 2**n, 50, dtype=np.uint64).astype(np.uint32)
    values = ((f[:, None].astype(np.int64) >> np.arange(2**n)) & 1)  # (50, 2^n)
    x = B.inputs(n).astype(np.int64)
    for j in range(n):
        y = x.copy()
        y[:, j] ^= 1
        assert np.array_equal(P.negate(f, n, j), _tables(values[:, y @ (1 << np.arange(n))]))
        for k in range(n):
            y = x.copy()
            y[:, [j, k]] = y[:, [k, j]]
            assert np.array_equal(P.swap(f, n, j, k), _tables(values[:, y @ (1 << np.arange(n))]))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_orbit_stats_agree_with_closure_under_generators(n):
    every = np.arange(2 ** 2**n)
    least, stab = P.orbit_stats(every, n)
    labels = P.npn_labels(n)
    np.testing.assert_array_equal(least, labels)
    reps, counts = np.unique(labels, return_counts=True)
    np.testing.assert_array_equal(P.group_order(n) // stab, counts[np.searchsorted(reps, labels)])
    assert (P.group_order(n) % stab == 0).all()


@pytest.mark.parametrize("f", [0, 1, B.parity(5), B.majority(5), 0b11, 0x8000_0000, 0x6996_0FF0, 0x1234_5678,
                               0xDEAD_BEEF])
def test_orbits_of_five_bit_functions_equal_every_transform_written_out(f):
    brute = _brute_orbit(f, 5)
    np.testing.assert_array_equal(P.orbit(f, 5), brute)
    least, stab = P.orbit_stats(np.array([f]), 5)
    assert least[0] == brute[0] and P.group_order(5) // stab[0] == len(brute)


def test_find_and_apply_transforms():
    n, rng = 5, np.random.default_rng(0)
    maps = _input_maps(n)
    f = rng.integers(0, 2**32, 40, dtype=np.uint64).astype(np.int64)
    f[:4] = [B.parity(5), B.majority(5), 0, 0b1000]  # large stabilizers
    which, comp = rng.integers(0, len(maps), f.size), rng.integers(0, 2, f.size)
    values = (f[:, None] >> np.arange(32)) & 1
    target = _tables(values[np.arange(f.size)[:, None], maps[which]] ^ comp[:, None])
    moves = P.find_transforms(f, target, n)
    np.testing.assert_array_equal(P.apply_transforms(f, n, moves), target)
    g = rng.integers(0, 2**32, f.size, dtype=np.uint64).astype(np.int64)  # the input part is a substitution
    inputs_only = P.apply_transforms(f & g, n, moves, complement=False)
    np.testing.assert_array_equal(inputs_only, P.apply_transforms(f, n, moves, complement=False)
                                  & P.apply_transforms(g, n, moves, complement=False))
    inputs_f = P.apply_transforms(f, n, moves, complement=False)
    np.testing.assert_array_equal(P.apply_transforms(f, n, moves),
                                  np.where(moves[:, 2] == 1, (2**32 - 1) ^ inputs_f, inputs_f))
    with pytest.raises(ValueError, match="not NPN-equivalent"):
        P.find_transforms(np.array([B.parity(5)]), np.array([B.majority(5)]), n)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_essential_variables(n):
    rng = np.random.default_rng(1)
    f = rng.integers(0, 2 ** 2**n, 30, dtype=np.uint64).astype(np.int64)
    f[:3] = [0, B.parity(n), B.from_bits(B.inputs(n)[:, 0])]
    values = (f[:, None] >> np.arange(2**n)) & 1
    point = np.arange(2**n)
    # x_j matters iff f(x) != f(x with x_j negated) somewhere
    expected = sum((values[:, point ^ (1 << j)] != values).any(1) for j in range(n))
    np.testing.assert_array_equal(P.essential(f, n), expected)
    assert P.essential(f[:3], n).tolist() == [0, n, 1]


@pytest.mark.parametrize("n, classes", [(0, 1), (1, 2), (2, 4), (3, 14), (4, 222)])
def test_npn_class_counts_match_oeis_a000370(n, classes):
    labels = P.npn_labels(n)
    assert len(np.unique(labels)) == classes == P.A000370[n]
    assert np.all(labels[labels] == labels) and np.all(labels <= np.arange(len(labels)))


def test_generators_act_on_truth_tables_as_input_maps():
    n = 3
    f = np.arange(256)
    x = B.inputs(n)
    for gen in P.generators(n):
        image = P.apply_generator(f, n, gen)
        assert sorted(image.tolist()) == f.tolist()  # a permutation of the functions
        for g in (0b00010110, B.majority(3), 0b10000000):
            values = B.bits(g, n)
            if gen[0] == "complement":
                expected = 1 - values
            else:
                y = x.copy()
                if gen[0] == "swap":
                    y[:, [gen[1], gen[1] + 1]] = y[:, [gen[1] + 1, gen[1]]]
                else:
                    y[:, gen[1]] ^= 1
                expected = values[y @ (1 << np.arange(n))]
            assert B.bits(int(image[g]), n).tolist() == expected.tolist()


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="n = 0..5"):
        P.orbit_stats(np.array([0]), 6)
    with pytest.raises(ValueError, match=r"\[0, 2\^8\)"):
        P.orbit_stats(np.array([256]), 3)
    with pytest.raises(ValueError, match="n = 0..4"):
        P.npn_labels(5)
