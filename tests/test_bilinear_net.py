"""Bilinear algorithms as nets of multiplication gates (nnlab.bilinear_net), in float64:
error against A @ B through nnlab.forward, the gate theory's lambda^2 law, exact counts."""

import numpy as np
import pytest

import nnlab
from nnlab import bilinear as BL
from nnlab import bilinear_net as BN
from nnlab import multiply as MU


def matrices(n, batch=6, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(2, batch, n, n))


def builders(k):
    n = 2**k
    return {
        "naive_flat": (lambda lam, act="sigmoid": BN.flat_network(BL.naive(n), lam, act), BL.naive(n)),
        "strassen_flat": (lambda lam, act="sigmoid": BN.flat_network(BL.strassen(k), lam, act), BL.strassen(k)),
        "strassen_deep": (lambda lam, act="sigmoid": BN.deep_network([BL.strassen(1)] * k, lam, act), BL.strassen(k)),
    }


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("form", ["naive_flat", "strassen_flat", "strassen_deep"])
def test_error_against_the_product_follows_the_gate_theory(k, form):
    build, alg = builders(k)[form]
    A, B = matrices(2**k, seed=k)
    lams, errors = (2e-3, 1e-3), []
    for lam in lams:
        out = BN.evaluate(build(lam), A, B)  # nnlab.forward, float64
        err = out - A @ B
        # pointwise: the leading term C l^2 x y (x^2 + y^2) of every gate, recombined by W
        pred = BN.predicted_error(alg, A, B, lam)
        assert np.abs(err - pred).max() < 0.02 * np.abs(pred).max() + 1e-9
        errors.append(np.abs(err).max())
    assert BN.error_exponent(lams, errors) == pytest.approx(2.0, abs=0.02)


def test_sixteen_by_sixteen_by_the_sparse_forward():
    k, n = 4, 16
    A, B = matrices(n, batch=3, seed=4)
    for form, (build, alg) in builders(k).items():
        errors = []
        for lam in (2e-3, 1e-3):
            err = BN.evaluate(build(lam), A, B, backend="numpy") - A @ B
            errors.append(np.abs(err).max())
            np.testing.assert_allclose(err, BN.predicted_error(alg, A, B, lam), atol=0.02 * np.abs(err).max())
        assert BN.error_exponent((2e-3, 1e-3), errors) == pytest.approx(2.0, abs=0.02), form


def test_tanh_gates_and_the_predicted_constant():
    A, B = matrices(2, seed=7)
    C = MU.gate_error_coefficient("tanh", MU.best_bias("tanh"))
    for net in (BN.flat_network(BL.strassen(1), 1e-3, "tanh"), BN.deep_network([BL.strassen(1)], 1e-3, "tanh")):
        assert "tanh" in net.hidden
        err = BN.evaluate(net, A, B) - A @ B
        # by hand from Strassen's factors: M_t error C l^2 x y (x^2 + y^2), C11 = M1 + M4 - M5 + M7
        a, b = A.reshape(-1, 4), B.reshape(-1, 4)
        x = [a[:, 0] + a[:, 3], a[:, 3], a[:, 0] + a[:, 1], a[:, 1] - a[:, 3]]
        y = [b[:, 0] + b[:, 3], b[:, 2] - b[:, 0], b[:, 3], b[:, 2] + b[:, 3]]
        e = [C * 1e-6 * xi * yi * (xi**2 + yi**2) for xi, yi in zip(x, y)]
        np.testing.assert_allclose(err[:, 0, 0], e[0] + e[1] - e[2] + e[3], rtol=2e-3, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2])
def test_sparse_and_dense_forward_agree(k):
    A, B = matrices(2**k, seed=3)
    for build, _ in builders(k).values():
        net = build(1e-2)
        np.testing.assert_allclose(BN.evaluate(net, A, B, "numpy"), BN.evaluate(net, A, B, "nnlab"), atol=1e-9)


def test_deep_layers_follow_the_recursion():
    # n = 2: sums of 7 pairs, 28 gate neurons, 7 products, C
    net = BN.deep_network([BL.strassen(1)], 0.01)
    assert net.sizes == (8, 14, 28, 7, 4)
    assert net.hidden == ["identity", "sigmoid", "identity"] and net.output == "identity"
    # n = 4: 2 x 4 x 4 -> 7 pairs of 2 x 2 -> 49 pairs of scalars -> gates -> 49 -> 7 C blocks of 2 x 2 -> C
    net = BN.deep_network([BL.strassen(1)] * 2, 0.01)
    assert net.sizes == (32, 56, 98, 196, 49, 28, 16)
    assert net.hidden == ["identity", "identity", "sigmoid", "identity", "identity"]
    params = net.params()
    assert [p["W"].shape for p in params] == list(zip(net.sizes[:-1], net.sizes[1:]))
    # the first sum layer of n = 4: the block sum A11 + A22 (product 1) at entry (0, 0) reads A[0, 0] and A[2, 2]
    assert set(np.nonzero(params[0]["W"][:, 0])[0]) == {0, 2 * 4 + 2}
    with pytest.raises(ValueError, match="at least one"):
        BN.deep_network([], 0.1)


@pytest.mark.parametrize("levels", [[BL.strassen(1)], [BL.strassen(1)] * 2, [BL.strassen(1)] * 3,
                                    [BL.strassen(1), BL.naive(2)], [BL.naive(3), BL.strassen(1)]])
def test_merging_the_identity_layers_gives_the_flat_net(levels):
    merged = BN.merge_identity(BN.deep_network(levels, 0.01))
    flat = BN.flat_network(BL.compose(*levels), 0.01)
    assert merged.sizes == flat.sizes and merged.activations == flat.activations
    for a, b in zip(merged.params(), flat.params()):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12, atol=1e-12 * np.abs(b["W"]).max())
        np.testing.assert_allclose(a["b"], b["b"], rtol=1e-12)
    assert merged.counts() == flat.counts()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_exact_counts_match_the_closed_forms(k):
    n = 2**k
    for form, (build, _) in builders(k).items():
        net = build(0.01)
        counts = net.counts()
        assert counts.pop("nonlinear_layers") == 1
        assert counts == BL.formula_counts(form, n), form
        if k <= 2:  # independent count: nonzero entries of the dense nnlab params
            params = net.params()
            nonzero = sum(int(np.count_nonzero(p["W"])) + int(np.count_nonzero(p["b"])) for p in params)
            assert nonzero == counts["weights"]
            assert sum(p["b"].size for p in params[:-1]) == counts["hidden_neurons"]


def test_hybrid_recursion_counts_and_error():
    levels = [BL.strassen(1), BL.naive(2)]
    net = BN.deep_network(levels, 1e-3)
    counts = net.counts()
    assert counts == BL.deep_counts(levels)
    assert counts["gate_neurons"] == 4 * 7 * 8
    A, B = matrices(4, seed=9)
    err = BN.evaluate(net, A, B) - A @ B
    np.testing.assert_allclose(err, BN.predicted_error(BL.compose(*levels), A, B, 1e-3), atol=0.02 * np.abs(err).max())


def test_bad_arguments():
    with pytest.raises(ValueError, match="f''"):
        BN.flat_network(BL.naive(2), 0.1, "sigmoid", bias=0.0)
    with pytest.raises(ValueError, match="unknown"):
        BN.flat_network(BL.naive(2), 0.1, "relu")
    with pytest.raises(ValueError, match="backend"):
        BN.evaluate(BN.flat_network(BL.naive(2), 0.1), *matrices(2), backend="torch")


def test_params_run_through_nnlab_forward_directly():
    net = BN.flat_network(BL.strassen(1), 1e-3)
    A, B = matrices(2, batch=4, seed=11)
    x = np.concatenate([A.reshape(4, 4), B.reshape(4, 4)], axis=1)
    out = np.asarray(nnlab.forward(net.params(), x, net.hidden, net.output))
    np.testing.assert_allclose(out.reshape(4, 2, 2), A @ B, atol=1e-4)
