"""Threshold functions and exact minimal widths, held against brute force and known cases."""

import itertools
import math

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T
from nnlab.npn import essential
from nnlab.threshold.exact import _nondecomposable_outputs


def _tables_from_weights(n: int, bound: int) -> np.ndarray:
    """Distinct truth tables of [w.x + b >= 0] over integer w in [-bound, bound]^n and every
    useful b, computed directly (the brute-force side of the tests)."""
    x = B.inputs(n).astype(np.int64)
    found = set()
    for w in itertools.product(range(-bound, bound + 1), repeat=n):
        sums = x @ np.array(w, np.int64).reshape(n)
        for b in range(-bound * n - 1, bound * n + 1):
            found.add(B.from_bits(sums + b >= 0))
    return np.array(sorted(found), np.int64)


# ---------------------------------------------------------------- enumeration

@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5])
def test_threshold_counts_match_oeis_a000609(n):
    th = T.threshold_functions(n)
    assert len(th.tables) == T.A000609[n] == (2, 4, 14, 104, 1882, 94572)[n]
    assert np.all(np.diff(th.tables) > 0)
    # every listed function is computed by its own integer weights
    sums = B.inputs(n).astype(np.int64) @ th.weights.T + th.bias[None, :]  # (2^n, m)
    fires = (sums >= 0).astype(np.int64)
    assert np.array_equal((fires << np.arange(2**n)[:, None]).sum(axis=0), th.tables)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_enumeration_agrees_with_a_direct_weight_search(n):
    np.testing.assert_array_equal(T.threshold_functions(n).tables, _tables_from_weights(n, 3))


def test_threshold_index():
    th = T.threshold_functions(2)
    xor, and_ = B.parity(2), 0b1000
    assert T.threshold_index(th, np.array([and_, xor])).tolist() == [int(np.flatnonzero(th.tables == and_)[0]), -1]


# ---------------------------------------------------------------- symmetry

@pytest.mark.parametrize("n", [2, 3, 4])
def test_threshold_functions_are_closed_under_npn(n):
    th = set(T.threshold_functions(n).tables.tolist())
    for gen in T.generators(n):
        assert set(T.apply_generator(np.array(sorted(th)), n, gen).tolist()) == th


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5])
def test_threshold_classes_match_oeis_a001530(n):
    """A001530: NPN classes of threshold functions of exactly n variables, 1, 1, 1, 3, 9, 48."""
    reps = T.threshold_classes(n)
    exact = (1, 1, 1, 3, 9, 48)
    assert T.A001530 == exact
    assert len(reps) == sum(exact[: n + 1])  # n or fewer variables: 1, 2, 3, 6, 15, 63
    assert (essential(reps, n) == n).sum() == exact[n]
    assert np.isin(reps, T.threshold_functions(n).tables).all()
    if n <= 4:  # against the classes found by closure under the generators
        np.testing.assert_array_equal(reps, np.unique(T.npn_labels(n)[T.threshold_functions(n).tables]))


# ---------------------------------------------------------------- exact minimal widths

def _brute_force_widths(n: int, max_width: int, shortcuts: bool = False) -> np.ndarray:
    """Least width (up to max_width, else -1) of every function of n bits, by trying every
    set of distinct hidden units and every output unit, all from small integer weights."""
    hidden = _tables_from_weights(n, 2)
    hidden = hidden[(hidden != 0) & (hidden != 2 ** 2**n - 1)]
    h_bits = np.stack([B.bits(h, n) for h in hidden]).astype(np.int64)  # (m, 2^n)
    point = np.arange(2**n)
    width = np.full(2 ** (2**n), -1)
    for k in range(max_width + 1):
        n_out = k + (n if shortcuts else 0)
        outputs = np.stack([B.bits(t, n_out) for t in _tables_from_weights(n_out, 3)])  # (q, 2^n_out)
        combos = list(itertools.combinations(range(len(hidden)), k))
        combos = np.array(combos, np.int64).reshape(len(combos), k)
        for chunk in np.array_split(combos, max(1, len(combos) // 20000)):
            code = (h_bits[chunk] << np.arange(k)[None, :, None]).sum(axis=1)  # (c, 2^n) hidden code
            if shortcuts:
                code = point[None, :] + (code << n)  # output inputs: x first, then the hidden units
            values = outputs[:, code]  # (q, c, 2^n)
            f = (values << point).sum(axis=-1).reshape(-1)
            width[f[width[f] < 0]] = k
    return width


@pytest.mark.parametrize("n, max_width", [(1, 2), (2, 2), (3, 3)])
def test_min_widths_equal_brute_force(n, max_width):
    exact = T.min_widths(n)
    brute = _brute_force_widths(n, max_width)
    assert (brute >= 0).all()  # brute force reached every function, so it gives every minimum
    np.testing.assert_array_equal(exact.width, brute)
    assert exact.proven.all()


@pytest.mark.parametrize("n", [2, 3])
def test_min_widths_with_shortcuts_equal_brute_force(n):
    exact = T.min_widths(n, shortcuts=True)
    brute = _brute_force_widths(n, 1, shortcuts=True)
    np.testing.assert_array_equal(exact.width, brute)


def test_four_bits_width_two_equals_every_pair_of_hidden_units():
    """S_2 for n = 4 by brute force: T(h1, h2) for every pair of thresholds and every T."""
    th = T.threshold_functions(4)
    a, b = th.tables[:, None], th.tables[None, :]
    full = 2**16 - 1
    reach = np.zeros(2**16, bool)
    for t in T.threshold_functions(2).tables:  # T(h1, h2) = OR of its minterms
        f = np.zeros_like(a & b)
        for c in range(4):
            if (t >> c) & 1:
                f |= (a if c & 1 else full ^ a) & (b if c & 2 else full ^ b)
        reach[f.reshape(-1)] = True
    np.testing.assert_array_equal(reach, T.min_widths(4).width <= 2)


def test_four_bit_parity_needs_four_units():
    """Parity of 4 bits is no threshold function of 3 threshold units, checked directly:
    a monotone threshold function of 3 bits is AND, OR, MAJ, a AND (b OR c) or a OR (b AND c)."""
    th = T.threshold_functions(4).tables
    full, p = 2**16 - 1, B.parity(4)
    a, b = th[:, None], th[None, :]
    pairs = np.unique(np.concatenate([(a & b).ravel(), (a | b).ravel(), th]))  # S_2
    for h in th:  # h AND g, h OR g with g in S_2 cover AND, OR, a AND (b OR c), a OR (b AND c)
        assert not ((h & pairs) == p).any() and not ((h | pairs) == p).any()
    # MAJ(h1, h2, h3) = p pins h3 = p where exactly one of h1, h2 fires, and needs
    # p = 1 where both fire, p = 0 where neither does
    ok = ((a | b) & p) == p
    ok &= ((a & b) & (full ^ p)) == 0
    i, j = np.nonzero(ok)
    care = th[i] ^ th[j]
    assert not any((((th ^ (p & c)) & c) == 0).any() for c in care)
    assert T.min_widths(4).width[p] == 4


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_known_widths(n):
    w = T.min_widths(n)
    full = 2 ** (2**n) - 1
    assert w.width[0] == w.width[full] == 0  # constants: the output unit alone
    th = T.threshold_functions(n).tables
    nonconstant = th[(th != 0) & (th != full)]
    assert (w.width[nonconstant] == 1).all() and (w.width == 1).sum() == len(nonconstant)
    assert w.width[B.parity(n)] == w.width[full ^ B.parity(n)] == n  # parity needs n units
    assert w.width[B.majority(n)] == 1
    if n >= 2:
        assert w.width[_xor01(n)] == 2
    assert w.proven.all() and w.exact_levels[: w.width.max()] == (True,) * int(w.width.max())


def _xor01(n):
    """x_0 XOR x_1 as a function of n bits."""
    x = B.inputs(n)
    return B.from_bits(x[:, 0] ^ x[:, 1])


def test_width_distribution_of_four_bits():
    w = T.min_widths(4)
    assert np.bincount(w.width).tolist() == [2, 1880, 39732, 23920, 2]
    assert np.flatnonzero(w.width == 4).tolist() == sorted([B.parity(4), 2**16 - 1 - B.parity(4)])


def test_shortcut_widths_four_bits():
    w = T.min_widths(4, shortcuts=True)
    assert w.proven.all()
    assert (w.width == 0).sum() == 1882  # every threshold function needs no hidden unit
    assert w.width[B.parity(4)] == 2 and T.min_widths(3, shortcuts=True).width[B.parity(3)] == 1
    assert (w.width <= T.min_widths(4).width).all()
    assert T.verify(w).all()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_witness_computes_its_function(n):
    w = T.min_widths(n)
    assert T.verify(w).all()
    params = T.witness_params(w, [B.parity(n)])
    assert params[0]["W"].shape == (1, n, w.width.max()) and params[1]["W"].shape == (1, w.width.max(), 1)
    for leaf in (w.out_w, w.out_v, w.out_b):
        assert leaf.dtype == np.int64  # integer weights: exact in float32
    used = (w.hidden >= 0).sum(axis=1)
    np.testing.assert_array_equal(used, w.width)  # a witness of width k has k hidden units
    broken = w._replace(out_b=w.out_b + 10**6)
    assert not T.verify(broken, [B.parity(n)]).any()


def test_min_widths_rejects_large_n():
    with pytest.raises(ValueError, match="n = 1..4"):
        T.min_widths(5)
    with pytest.raises(ValueError, match="n = 0..5"):
        T.threshold_functions(6)


# ---------------------------------------------------------------- counting bounds

def test_cover_count():
    assert 2 ** T.log2_cover(4, 3) == pytest.approx(14)  # 4 points in the plane: the 14 of A000609[2]
    assert 2 ** T.log2_cover(2, 2) == pytest.approx(4)
    for n in range(1, 10):  # Cover's count bounds the threshold functions of the cube
        assert T.log2_cover(2**n, n + 1) >= math.log2(T.A000609[n]) - 1e-12
        assert T.threshold_count_bound(n) == T.A000609[n]
    assert T.threshold_count_bound(11) == 2 * sum(math.comb(2**11 - 1, i) for i in range(12))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_counting_bound_holds_against_the_exact_counts(n):
    width = T.min_widths(n).width
    for k in range(int(width.max()) + 1):
        assert math.log2((width <= k).sum()) <= T.log2_network_functions(n, k) + 1e-9
    assert T.counting_lower_bound(n) <= width.max()


def test_counting_bounds_grow_exponentially():
    bounds = [T.counting_lower_bound(n) for n in range(1, 13)]
    assert bounds == sorted(bounds) and bounds[-1] >= 2**12 / 12**2
    assert all(b <= 2 ** (n - 1) + 1 for n, b in zip(range(1, 13), bounds))
    for n in (8, 12):
        k = T.counting_lower_bound(n)
        assert T.log2_network_functions(n, k - 1) < 2**n <= T.log2_network_functions(n, k)
    assert T.article_bound(12) == math.ceil((4096 - math.log2(100)) / (14 * math.log2(100)))


def test_non_decomposable_outputs():
    """Monotone outputs where no unit dominates: none for 1 or 2 units, only MAJ for 3."""
    assert len(_nondecomposable_outputs(0, 1).tables) == len(_nondecomposable_outputs(0, 2).tables) == 0
    assert _nondecomposable_outputs(0, 3).tables.tolist() == [B.majority(3)]
    assert _nondecomposable_outputs(0, 4) is not None  # 4 units: exists, too many to enumerate at n = 4
