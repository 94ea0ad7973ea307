"""Bounds: label changes along directions (upper, with witness networks), bichromatic edges
and slicing numbers (lower), held against the exact widths of n <= 4."""

import math

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T
from nnlab.npn_classes import NPNClasses, canonical
from nnlab.npn import orbit_stats


def test_directions_are_distinct_weak_orders():
    assert len(T.directions(5, 2, generic=False)) == 1442
    assert len(T.directions(4, 2, generic=False)) < len(T.directions(4, 2))
    x = B.inputs(4).astype(np.int64)
    seen = set()
    for w in T.directions(4, 2):
        s = x @ w
        key = tuple(np.unique(s, return_inverse=True)[1])
        rev = tuple(max(key) - np.array(key))
        assert key not in seen and rev not in seen
        seen.add(key)


def _changes_by_hand(f, w, n):
    s = B.inputs(n).astype(np.int64) @ w
    v = B.bits(f, n)
    levels = np.unique(s)
    if any(len(set(v[s == L])) > 1 for L in levels):
        return 2**n + 1
    lab = [v[s == L][0] for L in levels]
    return int(sum(a != b for a, b in zip(lab, lab[1:])))


def test_direction_bounds_equal_counting_by_hand():
    rng = np.random.default_rng(0)
    fs = rng.integers(0, 2**16, 50)
    dirs = T.directions(4, 1)
    c, arg = T.direction_bounds(4, fs, dirs=dirs)
    for f, ci in zip(fs.tolist(), c.tolist()):
        assert ci == min(_changes_by_hand(f, w, 4) for w in dirs)


def test_direction_bounds_hold_and_their_witnesses_run():
    exact = T.min_widths(4).width
    F = np.arange(2**16)
    dirs = T.directions(4, 2)
    c, arg = T.direction_bounds(4, F, dirs=dirs)
    assert (arg >= 0).all() and (c >= exact).all()  # the generic directions fit every function
    assert (c == exact).mean() > 0.1
    pick = np.random.default_rng(1).choice(F, 400, replace=False)
    hidden, out_w, out_b = T.direction_witnesses(4, pick, dirs, arg[pick])
    assert ((hidden >= 0).sum(1) == c[pick]).all()
    np.testing.assert_array_equal(T.witness_functions(4, hidden, out_w, out_b), pick)


def test_parity_along_the_all_ones_direction():
    for n in (3, 4, 5):
        hidden, out_w, out_b = T.direction_witness(B.parity(n), np.ones(n, np.int64), n)
        assert len(hidden) == n and list(np.abs(out_w)) == [2] * n
        assert T.network_functions(T.network_params(n, [hidden], [out_w], [out_b]), n)[0] == B.parity(n)
    with pytest.raises(ValueError, match="not constant"):
        T.direction_witness(B.parity(5), np.array([1, 1, 1, 1, 0]), 5)


def test_edge_counts():
    for n in (2, 3, 4, 5):
        assert T.edge_counts([B.parity(n)], n)[0] == n * 2 ** (n - 1)
        assert T.edge_counts([0, 2 ** 2**n - 1], n).tolist() == [0, 0]
    rng = np.random.default_rng(2)
    for f in rng.integers(0, 2**32, 20).tolist():
        v = B.bits(f, 5)
        direct = sum(v[i] != v[i ^ (1 << j)] for i in range(32) for j in range(5)) // 2
        assert T.edge_counts([f], 5)[0] == direct


@pytest.mark.parametrize("n, k", sorted(T.SLICING_VERIFIED))
def test_slicing_numbers(n, k):
    assert T.slicing_number(n, k) == T.SLICING_VERIFIED[n, k]


def test_slicing_number_of_one_hyperplane_is_oneils():
    for n in (2, 3, 4, 5):
        assert T.slicing_number(n, 1) == -(-n // 2) * math.comb(n, n // 2)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_edge_lower_bound_holds(n):
    exact = T.min_widths(n).width
    lower = T.edge_lower_bound(np.arange(2 ** 2**n), n)
    assert (lower <= exact).all()
    assert lower[B.parity(n)] == n == exact[B.parity(n)]
    assert T.edge_lower_bound([B.parity(5)], 5)[0] == 5  # 80 edges > S(5, 4) = 78 (cited)


def test_class_widths_on_a_five_bit_table():
    fs = [B.parity(5), 0x16A9_C978, 0x1234_5678, B.majority(5), 0]
    reps = np.unique(canonical(np.array(fs), 5))
    classes = NPNClasses(5, reps, 7680 // orbit_stats(reps, 5)[1])
    w = T.class_widths(5, classes)
    got = {int(r): (lo, up) for r, lo, up in zip(reps, w.lower.tolist(), w.upper.tolist())}
    assert got[int(canonical([B.parity(5)], 5)[0])] == (5, 5)
    assert got[int(canonical([0x16A9_C978], 5)[0])] == (4, 4)
    assert got[0] == (0, 0) and got[int(canonical([B.majority(5)], 5)[0])] == (1, 1)
    np.testing.assert_array_equal(T.witness_functions(5, w.hidden, w.out_w, w.out_b), reps)
    assert T.HOW[w.how[list(reps).index(int(canonical([B.parity(5)], 5)[0]))]] == "direction"
