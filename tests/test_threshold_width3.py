"""Exact width 3: the list of output units, the error-set rules, and the decision held against
the exact widths of n <= 4 (directly and embedded in 5 bits) and an independent search."""

import itertools

import numpy as np
import pytest

from nnlab import boolean as B
from nnlab import threshold as T
from nnlab.npn import essential, orbit_stats
from nnlab.npn_classes import NPNClasses, canonical, npn_classes


def _permute3(t: int, perm) -> int:
    """F(c) -> F(c_perm): the table of a 3-bit function with its inputs permuted."""
    out = 0
    for code in range(8):
        src = sum(((code >> perm[i]) & 1) << i for i in range(3))
        out |= ((t >> src) & 1) << code
    return out


def _kind_tables() -> set[int]:
    """Every permutation of every output of OUTPUTS3, as 3-bit tables."""
    tables = set()
    for w, b in T.OUTPUTS3.values():
        t = B.from_bits(B.inputs(3).astype(np.int64) @ np.array(w) + b >= 0)
        tables |= {_permute3(t, p) for p in itertools.permutations(range(3))}
    return tables


def test_outputs_are_every_threshold_function_of_three_bits_up_to_negations():
    """Each threshold function of 3 bits that depends on all inputs, with some inputs and
    maybe the output negated, is one of the 9 positive ones: the five kinds, permuted."""
    th = T.threshold_functions(3).tables
    full = 255
    kinds = _kind_tables()
    assert len(kinds) == 9  # AND, OR, MAJ, 3 x a(b + c), 3 x a + bc
    positive = {int(t) for t in th if essential(np.array([t]), 3)[0] == 3
                and all(((int(t) >> c) & 1) <= ((int(t) >> (c | 1 << j)) & 1) for c in range(8) for j in range(3))}
    assert positive == kinds
    for t in th[essential(th, 3) == 3].tolist():
        images = set()
        for s in range(8):  # negate the inputs in s, then maybe the output
            g = sum(((t >> (c ^ s)) & 1) << c for c in range(8))
            images |= {g, full ^ g}
        assert images & kinds


def _rule(kind, e, P, N):
    """The error-set rule of the module docstring for (E_1, E_2, E_3) = e."""
    a, b, c = e
    if kind == "maj":
        return a & b == 0 and a & c == 0 and b & c == 0
    if kind in ("and", "or"):
        side = N if kind == "and" else P
        return all(x & ~side == 0 for x in e) and a & b & c == 0
    side, other = (N, P) if kind == "and_or" else (P, N)
    return a & ~side == 0 and a & b == 0 and a & c == 0 and b & c & other == 0


def test_error_rules_equal_the_outputs():
    n, full = 4, 2**16 - 1
    th = T.threshold_functions(n).tables
    rng = np.random.default_rng(0)
    for _ in range(3000):
        g = [int(x) for x in rng.choice(th, 3)]
        f = int(rng.integers(0, 2**16)) if rng.random() < 0.5 else T.evaluate3(str(rng.choice(T.KINDS3)), g, n)
        for kind in T.KINDS3:
            e = [x ^ f for x in g]
            assert (T.evaluate3(kind, g, n) == f) == _rule(kind, e, f, full ^ f)


@pytest.mark.parametrize("n", [3, 4])
def test_search_equals_exact_widths(n):
    """Every function of width >= 3 (not only class representatives): a witness iff width 3."""
    exact = T.min_widths(n).width
    for f in np.flatnonzero(exact >= 3).tolist():
        hit = T.search3(f, n)
        assert (hit is not None) == (exact[f] == 3)
        if hit is not None:
            assert T.evaluate3(hit[0], hit[1], n) == f


def test_least_errors_lose_nothing_on_four_bits():
    """The replacement lemma, checked: searching all 1,882 thresholds gives the same answers."""
    th = T.threshold_functions(4).tables
    exact = T.min_widths(4).width
    rng = np.random.default_rng(1)
    fs = np.concatenate([rng.choice(np.flatnonzero(exact == 3), 60, replace=False), np.flatnonzero(exact == 4)])
    for f in fs.tolist():
        for kind in T.KINDS3:
            assert (T.search3(f, 4, (kind,), candidates=th) is None) == (T.search3(f, 4, (kind,)) is None)


def test_five_bit_search_on_four_bit_functions():
    """The n = 5 code path on the 4-bit functions (x4 a dummy input, which leaves the width
    unchanged): width 3 exactly for the 78 classes the exact n = 4 search gives."""
    exact = T.min_widths(4).width
    for f4 in npn_classes(4).rep.tolist():
        if exact[f4] < 3:
            continue
        f5 = f4 | (f4 << 16)
        hit = T.search3(f5, 5)
        assert (hit is not None) == (exact[f4] == 3)
        if hit is not None:
            assert T.evaluate3(hit[0], hit[1], 5) == f5


def test_an_independent_search_agrees_on_five_bits():
    """The budget rule of width4 (another code path) on 3 units and the five outputs."""
    outputs = [(w, -b) for w, b in T.OUTPUTS3.values()]
    fs = [B.parity(5), 0x16A9_C978, 0x1234_5678, 0x0F0F_3C5A, 0x6996_0FF0, 0x01E8_7E80, 0x17E8_E8E8]
    rng = np.random.default_rng(4)
    fs += rng.integers(0, 2**32, 6).tolist()
    answers = []
    for f in fs:
        hit = T.search3(int(f), 5)
        other = [T.budget_search(int(f), 5, w, t) for w, t in outputs]
        assert (hit is not None) == any(o is not None for o in other)
        for (w, t), units in zip(outputs, other):
            if units is not None:
                point = np.arange(32)
                total = sum(wi * ((u >> point) & 1) for wi, u in zip(w, units))
                assert B.from_bits(total >= t) == f
        answers.append(hit is not None)
    assert not answers[0] and not answers[1] and any(answers)  # parity, a width-4 class, and some of width 3


def test_width_three_on_a_class_table():
    fs = [B.parity(3) | (B.parity(3) << 8) | (B.parity(3) << 16) | (B.parity(3) << 24),  # 3-bit parity: 3
          B.parity(5), 0x16A9_C978, 0x1234_5678, 0xDEAD_BEEF]
    reps = np.unique(canonical(np.array(fs), 5))
    classes = NPNClasses(5, reps, 7680 // orbit_stats(reps, 5)[1])
    w = T.width_three(5, classes)
    got = dict(zip(reps.tolist(), w.three.tolist()))
    assert not got[int(canonical([B.parity(5)], 5)[0])] and not got[int(canonical([0x16A9_C978], 5)[0])]
    assert got[int(canonical([fs[0]], 5)[0])]
    three = w.three
    params = T.network_params(5, w.hidden[three], w.out_w[three], w.out_b[three])
    np.testing.assert_array_equal(T.network_functions(params, 5), reps[three])
    assert (w.hidden[~three] == -1).all() and (w.kind[~three] == -1).all()


def test_each_output_agrees_with_the_budget_search_on_four_bits():
    """Output by output, search3 against the budget rule of width4 (another code path)."""
    exact = T.min_widths(4).width
    rng = np.random.default_rng(5)
    fs = rng.choice(np.flatnonzero(exact >= 3), 300, replace=False).tolist() + [B.parity(4)]
    found = dict.fromkeys(T.KINDS3, 0)
    for f in fs:
        for kind, (w, b) in T.OUTPUTS3.items():
            mine = T.search3(f, 4, (kind,))
            other = T.budget_search(f, 4, w, -b)
            assert (mine is None) == (other is None), (f, kind)
            found[kind] += mine is not None
    assert all(0 < c < len(fs) for c in found.values())  # every output both found and refuted
