"""Exact width 4: the output units of 4 bits, the budget rule, and the decision held against
the exact widths of n = 4, the whole pipeline on n <= 4, and 5-bit parity."""

import itertools

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T
from nnlab.npn import essential
from nnlab.threshold.exact import _nondecomposable_outputs


def _table(weights, theta, k):
    return B.from_bits(B.inputs(k).astype(np.int64) @ np.array(weights) >= theta)


def _permuted(weights, theta, k):
    return {_table([weights[i] for i in p], theta, k) for p in itertools.permutations(range(k))}


def _positive_depending_on_all(k):
    th = T.threshold_functions(k)
    keep = (th.weights >= 0).all(1) & (essential(th.tables, k) == k)
    return set(th.tables[keep].tolist())


def test_outputs4_are_every_positive_threshold_function_of_four_bits():
    listed = set().union(*[_permuted(w, t, 4) for w, t in T.OUTPUTS4])
    assert listed == _positive_depending_on_all(4) and len(listed) == 96
    nondecomposable = set().union(*[_permuted(w, t, 4) for w, t in T.NONDECOMPOSABLE4])
    assert nondecomposable == set(_nondecomposable_outputs(0, 4).tables.tolist())  # 42 of them
    # the other 54: a AND G or a OR G with G one of the width-3 outputs
    three = set()
    for w, b in T.OUTPUTS3.values():
        three |= _permuted(w, -b, 3)
    decomposable = set()
    for g in three:
        for op in ("and", "or"):
            v = B.inputs(4)
            a = v[:, 0].astype(bool)
            code = v[:, 1] | (v[:, 2] << 1) | (v[:, 3] << 2)
            gv = ((g >> code) & 1).astype(bool)
            decomposable |= {B.from_bits(a & gv if op == "and" else a | gv)}
    decomposable = {x for d in decomposable for x in _all_perms4(d)}
    assert decomposable == listed - nondecomposable


def _all_perms4(t):
    out = set()
    v = B.inputs(4)
    for p in itertools.permutations(range(4)):
        idx = (v[:, list(p)] << np.arange(4)).sum(1)
        out.add(B.from_bits((t >> idx) & 1))
    return out


def test_budget_rule_equals_the_output():
    n = 4
    th = T.threshold_functions(n).tables
    rng = np.random.default_rng(0)
    point = np.arange(16)
    for _ in range(2000):
        w, t = T.OUTPUTS4[rng.integers(len(T.OUTPUTS4))]
        g = [int(x) for x in rng.choice(th, 4)]
        value = sum(wi * ((gi >> point) & 1) for wi, gi in zip(w, g))
        f = B.from_bits(value >= t) if rng.random() < 0.5 else int(rng.integers(0, 2**16))
        P = (f >> point) & 1
        errs = sum(wi * ((((gi ^ f) >> point) & 1)) for wi, gi in zip(w, g))
        within = (errs <= np.where(P == 1, sum(w) - t, t - 1)).all()
        assert within == (B.from_bits(value >= t) == f)


def test_search4_on_four_bit_parity_and_the_budget_search_finds_witnesses():
    p = B.parity(4)
    hidden, out_w, out_b = T.search4(p, 4)
    params = T.network_params(4, [hidden], [out_w], [out_b])
    assert T.network_functions(params, 4)[0] == p
    assert T.search3(p, 4) is None
    for w, t in T.NONDECOMPOSABLE4:  # each found net is right
        units = T.budget_search(p, 4, w, t)
        if units is not None:
            assert _net(units, w, t, 4) == p


def _net(units, w, t, n):
    point = np.arange(2**n)
    return B.from_bits(sum(wi * ((u >> point) & 1) for wi, u in zip(w, units)) >= t)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_class_widths_reproduce_the_exact_widths(n):
    """The n = 5 code path (width2, width3, width4, bounds) restricted to n bits."""
    w = T.class_widths(n)
    exact = T.min_widths(n).width[w.classes.rep]
    np.testing.assert_array_equal(w.lower, exact)
    np.testing.assert_array_equal(w.upper, exact)
    np.testing.assert_array_equal(T.witness_functions(n, w.hidden, w.out_w, w.out_b), w.classes.rep)
    assert ((w.hidden >= 0).sum(1) <= w.upper).all()
    if n == 4:
        assert T.width_table(w) == {(0, 0): (2, 1), (1, 1): (1880, 14), (2, 2): (39732, 128),
                                    (3, 3): (23920, 78), (4, 4): (2, 1)}


def test_five_bit_width_four_and_parity():
    """A class whose only width-4 nets have a non-decomposable output, and parity, which has
    none (so width 5, as four hyperplanes slice at most 78 of the 80 edges)."""
    f = 0x16A9_C978
    hidden, out_w, out_b = T.search4(f, 5)
    assert T.network_functions(T.network_params(5, [hidden], [out_w], [out_b]), 5)[0] == f
    assert T.search3(f, 5) is None
    assert T.search4(B.parity(5), 5) is None


def test_budget_search_equals_every_tuple_on_three_bits():
    """Exhaustive over all 4-tuples of the least-error units, or of a random half of them
    (n = 3; the search must be exhaustive over any list it is given), every output."""
    n, point = 3, np.arange(8)
    rng = np.random.default_rng(3)
    outcomes = set()
    for f in rng.choice(256, 40, replace=False).tolist():
        full = T.least_errors(f, n)
        half = np.sort(rng.choice(full, min(len(full), max(2, len(full) // 2)), replace=False))
        for g in (full, half):
            bits = ((g[:, None].astype(np.int64) >> point) & 1)  # (m, 8)
            for w, t in T.OUTPUTS4:
                total = (w[0] * bits[:, None, None, None] + w[1] * bits[None, :, None, None]
                         + w[2] * bits[None, None, :, None] + w[3] * bits[None, None, None, :])  # (m, m, m, m, 8)
                exists = bool(((total >= t) == ((f >> point) & 1).astype(bool)).all(-1).any())
                units = T.budget_search(f, n, w, t, g)
                assert (units is not None) == exists, (f, w, t, len(g))
                outcomes.add(exists)
                if units is not None:
                    assert _net(units, w, t, n) == f
    assert outcomes == {True, False}


def test_search4_decides_every_class_of_four_bits():
    exact = T.min_widths(4).width
    for f in np.flatnonzero(exact >= 3)[::50].tolist() + [B.parity(4)]:
        hidden, out_w, out_b = T.search4(f, 4)
        assert T.network_functions(T.network_params(4, [hidden], [out_w], [out_b]), 4)[0] == f
