"""Error sets: flip masks, least error sets and maximal thresholds inside a set, each held
against its definition by brute force over all threshold functions, and the chain lemma."""

import itertools

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T


def _brute_least_errors(f: int, n: int) -> np.ndarray:
    """Thresholds t with no threshold t' whose error set is a proper subset of t's."""
    th = T.threshold_functions(n).tables.astype(np.uint32)
    err = th ^ np.uint32(f)
    keep = []
    for i, e in enumerate(err):
        smaller = ((err & ~e) == 0) & (err != e)
        if not smaller.any():
            keep.append(th[i])
    return np.array(keep, np.uint32)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_flip_masks_match_membership(n):
    th = T.threshold_functions(n).tables
    members = set(th.tolist())
    flip = T.flip_masks(n)
    for t, m in zip(th.tolist(), flip.tolist()):
        assert m == sum(1 << p for p in range(2**n) if (t ^ (1 << p)) in members)


@pytest.mark.parametrize("n", [3, 4])
def test_least_errors_match_the_definition(n):
    rng = np.random.default_rng(0)
    fs = [B.parity(n), B.majority(n)] + rng.integers(0, 2 ** 2**n, 30).tolist()
    for f in fs:
        np.testing.assert_array_equal(T.least_errors(int(f), n), _brute_least_errors(int(f), n))


def test_least_errors_of_five_bit_functions_match_the_definition():
    """Against all 94,572 threshold functions: every listed t has no threshold with a smaller
    error set, and every unlisted one has (the chain lemma's local test, both ways)."""
    th = T.threshold_functions(5).tables.astype(np.uint32)
    for f in (0x1234_5678, 0x16A9_C978):
        least = T.least_errors(f, 5)
        err = th ^ np.uint32(f)
        for e in least ^ np.uint32(f):  # none has a threshold strictly below
            assert not (((err & ~e) == 0) & (err != e)).any()
        others = np.setdiff1d(th, least)
        assert len(least) + len(others) == len(th)
        rng = np.random.default_rng(1)
        for t in rng.choice(others, 200, replace=False):  # each has one strictly below
            e = np.uint32(t) ^ np.uint32(f)
            assert (((err & ~e) == 0) & (err != e)).any()


@pytest.mark.parametrize("n", [3, 4])
def test_maximal_inside_matches_the_definition(n):
    th = T.threshold_functions(n).tables.astype(np.uint32)
    rng = np.random.default_rng(2)
    for s in rng.integers(0, 2 ** 2**n, 40).tolist():
        inside = th[(th & ~np.uint32(s)) == 0]
        maximal = [t for t in inside if not (((inside & t) == t) & (inside != t)).any()]
        np.testing.assert_array_equal(T.maximal_inside(s, n), np.array(maximal, np.uint32))


def test_chain_lemma_on_three_bits():
    """Between any two threshold functions of 3 bits: a path of thresholds flipping the
    points where they differ, one at a time."""
    th = T.threshold_functions(3).tables.tolist()
    members = set(th)
    for t, u in itertools.product(th, th):
        diff = t ^ u
        reach = {t}
        frontier = [t]
        while frontier:  # thresholds reachable from t by flipping points of diff, each once
            nxt = []
            for v in frontier:
                for p in range(8):
                    if (diff >> p) & 1 and ((v ^ t) >> p) & 1 == 0 and (v ^ (1 << p)) in members:
                        w = v ^ (1 << p)
                        if w not in reach:
                            reach.add(w)
                            nxt.append(w)
            frontier = nxt
        assert u in reach
