"""Bilinear algorithms (nnlab.bilinear): exactness against A @ B and the closed-form counts."""

import numpy as np
import pytest

from nnlab import bilinear as BL


def test_strassen_products_are_the_textbook_ones():
    # Strassen (1969), written out here by hand, independently of the module's tables
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(2, 2, 2))
    (a11, a12), (a21, a22) = A
    (b11, b12), (b21, b22) = B
    M = [(a11 + a22) * (b11 + b22), (a21 + a22) * b11, a11 * (b12 - b22), a22 * (b21 - b11),
         (a11 + a12) * b22, (a21 - a11) * (b11 + b12), (a12 - a22) * (b21 + b22)]
    C = [[M[0] + M[3] - M[4] + M[6], M[2] + M[4]], [M[1] + M[3], M[0] - M[1] + M[2] + M[5]]]
    alg = BL.strassen(1)
    x, y = BL.factors(alg, A[None], B[None])
    np.testing.assert_allclose((x * y)[0], M, rtol=1e-14)
    np.testing.assert_allclose(BL.multiply(alg, A[None], B[None])[0], C, rtol=1e-14)
    np.testing.assert_allclose(C, A @ B, rtol=1e-13)
    assert alg.rank == 7 and alg.nnz == (12, 12, 12)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_strassen_recursive_multiplies(k):
    n = 2**k
    alg = BL.strassen(k)
    assert alg.n == n and alg.rank == 7**k and alg.nnz == (12**k,) * 3
    A, B = np.random.default_rng(k).normal(size=(2, 5, n, n))
    np.testing.assert_allclose(BL.multiply(alg, A, B), A @ B, atol=1e-12 * 4**k)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_naive_is_exact_and_multiplies(n):
    alg = BL.naive(n)
    assert alg.rank == n**3 and alg.nnz == (n**3,) * 3 and BL.is_exact(alg)
    A, B = np.random.default_rng(n).normal(size=(2, 3, n, n))
    np.testing.assert_allclose(BL.multiply(alg, A, B), A @ B, atol=1e-13)


def test_brent_equations_hold_and_can_fail():
    for alg in (BL.strassen(1), BL.strassen(2), BL.compose(BL.strassen(1), BL.naive(2)),
                BL.compose(BL.naive(2), BL.strassen(1)), BL.compose(BL.naive(3), BL.naive(2))):
        assert BL.is_exact(alg), alg.name
    bad = BL.strassen(1)
    U = bad.U.copy()
    U[0, 0] = -1
    assert not BL.is_exact(bad._replace(U=U))
    assert not BL.is_exact(BL.naive(2)._replace(W=BL.naive(2).W[::-1]))


def test_matmul_tensor_contracts_to_the_product():
    n = 3
    A, B = np.random.default_rng(1).normal(size=(2, n, n))
    C = np.einsum("abc,a,b->c", BL.matmul_tensor(n), A.ravel(), B.ravel())
    np.testing.assert_allclose(C, (A @ B).ravel(), rtol=1e-13)


def test_compose_multiplies_sizes_ranks_and_nonzeros():
    alg = BL.compose(BL.strassen(1), BL.naive(3), BL.strassen(1))
    assert alg.n == 12 and alg.rank == 7 * 27 * 7
    assert alg.nnz == (12 * 27 * 12,) * 3
    A, B = np.random.default_rng(2).normal(size=(2, 2, 12, 12))
    np.testing.assert_allclose(BL.multiply(alg, A, B), A @ B, atol=1e-11)
    with pytest.raises(ValueError, match="at least one"):
        BL.compose()


def _without_nonlinear(counts):
    return {key: v for key, v in counts.items() if key != "nonlinear_layers"}


@pytest.mark.parametrize("k", range(1, 8))
def test_closed_forms_agree_with_the_general_counts(k):
    # the general counts read only ranks, sizes and nonzeros of the levels; the closed forms are summed by hand
    n = 2**k
    assert _without_nonlinear(BL.deep_counts([BL.strassen(1)] * k)) == BL.formula_counts("strassen_deep", n)
    assert _without_nonlinear(BL.deep_counts([BL.naive(2)] * k)) == BL.formula_counts("naive_deep", n)
    if k <= 4:  # the flat counts need the composed tensors
        assert _without_nonlinear(BL.flat_counts(BL.strassen(k))) == BL.formula_counts("strassen_flat", n)
        assert _without_nonlinear(BL.flat_counts(BL.naive(n))) == BL.formula_counts("naive_flat", n)


def test_small_counts_by_hand():
    # n = 2: naive 8 gates x 4 neurons, each with 2 input edges + 1 bias edge + 1 output edge
    assert BL.formula_counts("naive_flat", 2)["weights"] == 32 * 4
    # Strassen flat n = 2: 28 gate neurons; input edges 4 * (12 + 12), biases 28, output edges 4 * 12
    assert BL.formula_counts("strassen_flat", 2)["weights"] == 96 + 28 + 48
    # Strassen deep n = 2: sums 24 edges, gates 28 * 3, products 28, recombination 12
    assert BL.formula_counts("strassen_deep", 2) == dict(gate_neurons=28, hidden_neurons=14 + 28 + 7,
                                                         weights=24 + 84 + 28 + 12, weight_layers=4)
    with pytest.raises(ValueError, match="power of two"):
        BL.formula_counts("naive_flat", 6)
    with pytest.raises(ValueError, match="unknown"):
        BL.formula_counts("winograd", 4)


def test_crossovers():
    # gate neurons: 4 * 7^k < 4 * 8^k from k = 1
    assert BL.crossover("gate_neurons", "strassen_flat") == 2
    assert BL.crossover("gate_neurons", "strassen_deep") == 2
    # weights, deep: 28 * 7^k - 12 * 4^k < 16 * 8^k first at k = 4 (64156 < 65536; k = 3: 8836 > 8192)
    assert BL.crossover("weights", "strassen_deep") == 16
    # weights, flat: 12 * 12^k + 4 * 7^k > 16 * 8^k for every k >= 1
    assert BL.crossover("weights", "strassen_flat") is None
    # all hidden neurons, deep: 11 * 7^k - 7 * 4^k < 4 * 8^k from k = 8 ((8/7)^k > 11/4 at k >= 7.6)
    assert BL.crossover("hidden_neurons", "strassen_deep") == 256
    # recursion of the naive 2 x 2 algorithm never beats the flat naive net in weights
    assert BL.crossover("weights", "naive_deep") is None


def test_tensors_too_large_to_hold_are_refused():
    with pytest.raises(ValueError, match="too large"):
        BL.naive(32)
    with pytest.raises(ValueError, match="too large"):
        BL.strassen(5)
    assert BL.strassen(4).rank == 2401 and BL.naive(16).rank == 4096
