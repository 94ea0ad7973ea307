"""Width <= 2 per NPN class, held against the exact widths of n <= 4, every pair of hidden
units run through every output unit, and a direct search for the functions of n = 5."""

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T
from nnlab.npn import orbit_stats
from nnlab.npn_classes import NPNClasses, canonical


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_widths_equal_the_exact_minimum_capped_at_three(n):
    w = T.width_at_most_two(n)
    np.testing.assert_array_equal(w.width, np.minimum(T.min_widths(n).width[w.classes.rep], 3))


@pytest.mark.parametrize("n, functions, classes", [
    (2, [2, 12, 2, 0], [1, 2, 1, 0]),
    (3, [2, 102, 150, 2], [1, 5, 7, 1]),
    (4, [2, 1880, 39732, 23922], [1, 14, 128, 79]),  # widths 3 and 4: 23,920 + 2 functions, 78 + 1 classes
])
def test_width_counts_reproduce_the_known_tables(n, functions, classes):
    by_function, by_class = T.width_counts(T.width_at_most_two(n))
    assert by_function.tolist() == functions and by_class.tolist() == classes


@pytest.mark.parametrize("n", [2, 3, 4])
def test_width_two_is_every_output_unit_of_every_pair_of_hidden_units(n):
    """From the definition, without the characterization: F(h1, h2) for all 14 threshold
    functions F of two bits and all pairs of threshold functions h1, h2."""
    th = T.threshold_functions(n).tables
    a, b = th[:, None], th[None, :]
    full = 2 ** 2**n - 1
    reach = np.zeros(2 ** 2**n, bool)
    for t in T.threshold_functions(2).tables:  # F(h1, h2) = OR of its minterms
        f = np.zeros_like(a & b)
        for code in range(4):
            if (t >> code) & 1:
                f |= (a if code & 1 else full ^ a) & (b if code & 2 else full ^ b)
        reach[f.reshape(-1)] = True
    w = T.width_at_most_two(n)
    rows = np.searchsorted(w.classes.rep, canonical(np.arange(2 ** 2**n), n))
    np.testing.assert_array_equal(reach, (w.width <= 2)[rows])
    total, which = T.width2_by_pairs(n, np.arange(2 ** 2**n))
    assert total == reach.sum()
    np.testing.assert_array_equal(which, reach)


@pytest.mark.parametrize("n", [3, 4])
def test_witnesses_run_through_forward(n):
    w = T.width_at_most_two(n)
    small = w.width <= 2
    params = T.network_params(n, w.hidden[small], w.out_w[small], w.out_b[small])
    np.testing.assert_array_equal(T.network_functions(params, n), w.classes.rep[small])
    assert ((w.hidden[small] >= 0).sum(1) == w.width[small]).all()  # a witness of width k has k units
    hold = T.witnesses_hold(n, w.classes.rep[small], w.hidden[small], w.out_w[small], w.out_b[small] + 10)
    assert not hold[w.width[small] > 0].any()
    xor = B.parity(2) if n == 2 else B.from_bits(B.inputs(n)[:, 0] ^ B.inputs(n)[:, 1])
    assert not T.witnesses_hold(n, [xor], [[xor, -1]], [[1, 0]], [-1])[0]  # XOR is no hidden unit
    with pytest.raises(ValueError, match="not a threshold function"):
        T.network_params(n, [[xor, -1]], [[1, 0]], [-1])


def _direct_width(f: int, th: np.ndarray, full: int) -> int:
    """min(width, 3) by search: 0 for constants, 1 for thresholds, 2 if f or NOT f is
    g1 AND g2 for thresholds g1, g2 (both then contain it)."""
    if f in (0, full):
        return 0
    if f in set(th.tolist()):
        return 1
    for g in (f, full ^ f):
        above = th[(th & g) == g]
        if any(((above[i : i + 256, None] & above[None, :]) == g).any() for i in range(0, len(above), 256)):
            return 2
    return 3


def test_five_bit_functions_against_a_direct_search():
    x = B.inputs(5).astype(bool)
    fs = {"parity": B.parity(5), "x0 xor x1": B.from_bits(x[:, 0] ^ x[:, 1]), "majority": B.majority(5),
          "x0 x1 or x2 x3": B.from_bits((x[:, 0] & x[:, 1]) | (x[:, 2] & x[:, 3])),
          "(x0 xor x1) x2": B.from_bits((x[:, 0] ^ x[:, 1]) & x[:, 2]),
          "parity of 3": B.from_bits(x[:, 0] ^ x[:, 1] ^ x[:, 2]),
          "multiplexer": B.from_bits(np.where(x[:, 0], x[:, 1], x[:, 2])),
          "2 of x0..x3": B.from_bits(x[:, :4].sum(1) == 2), "r1": 0x1234_5678, "r2": 0xDEAD_BEEF}
    tables = np.array(list(fs.values()), np.int64)
    reps = np.unique(canonical(tables, 5))
    classes = NPNClasses(5, reps, 7680 // orbit_stats(reps, 5)[1])  # a table of just these classes
    w = T.width_at_most_two(5, classes)
    got = w.width[np.searchsorted(reps, canonical(tables, 5))]
    th, full = T.threshold_functions(5).tables, 2**32 - 1
    assert got.tolist() == [_direct_width(int(f), th, full) for f in tables]
    known = {"parity": 3, "parity of 3": 3, "majority": 1, "x0 xor x1": 2,
             "2 of x0..x3": 2,  # [s >= 2] AND [s <= 2]
             "multiplexer": 2, "x0 x1 or x2 x3": 2,
             "(x0 xor x1) x2": 2}  # (x0 OR x1) x2 AND NOT(x0 x1)
    assert {k: v for k, v in zip(fs, got.tolist()) if k in known} == known
    params = T.network_params(5, w.hidden, w.out_w, w.out_b)
    small = w.width <= 2
    np.testing.assert_array_equal(T.network_functions(params, 5)[small], reps[small])
