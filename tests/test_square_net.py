"""Square-unit nets for matrix multiplication (nnlab.square_net): constructions checked exactly."""

from fractions import Fraction

import numpy as np
import pytest

import nnlab
from nnlab import bilinear as BL
from nnlab import square_net as SN


def test_strassen_gives_an_exact_fourteen_unit_net():
    params = SN.square_net_from_bilinear(BL.strassen(1))
    assert params[0]["W"].shape == (8, 14) and params[1]["W"].shape == (14, 4)
    assert SN.is_exact(params)  # a polynomial identity, in exact rationals
    A, B = np.random.default_rng(0).normal(size=(2, 50, 2, 2))
    assert SN.relative_error(params, A, B) < 1e-14  # and through nnlab.forward


@pytest.mark.parametrize("alg", [BL.naive(2), BL.naive(3), BL.strassen(2), BL.compose(BL.strassen(1), BL.naive(2))])
def test_any_bilinear_algorithm_maps_to_twice_its_rank(alg):
    params = SN.square_net_from_bilinear(alg)
    assert params[0]["W"].shape == (2 * alg.n**2, 2 * alg.rank)
    n = alg.n
    A, B = np.random.default_rng(n).integers(-5, 6, size=(2, 7, n, n)).astype(np.float64)
    x = np.concatenate([A.reshape(7, -1), B.reshape(7, -1)], axis=1)
    out = np.asarray(nnlab.forward(params, x, "square", "identity")).reshape(7, n, n)
    np.testing.assert_array_equal(out, A @ B)  # integers, weights +-1/4: exact in float64
    if n <= 3:
        assert SN.is_exact(params, n)


def test_target_polynomial_evaluates_to_the_product():
    Q, L, K = SN.target_polynomial(2)
    A, B = np.random.default_rng(1).integers(-9, 10, size=(2, 2, 2))
    x = np.array([Fraction(int(v)) for v in np.concatenate([A.ravel(), B.ravel()])], dtype=object)
    C = np.array([x @ Q[c] @ x + L[c] @ x + K[c] for c in range(4)])
    assert list(C) == list((A @ B).ravel())


def test_net_polynomial_matches_the_forward_pass_with_biases():
    rng = np.random.default_rng(2)
    params = [{"W": rng.normal(size=(8, 5)), "b": rng.normal(size=5)},
              {"W": rng.normal(size=(5, 4)), "b": rng.normal(size=4)}]
    Q, L, K = (np.asarray(a, np.float64) for a in SN.net_polynomial(params))
    x = rng.normal(size=(10, 8))
    poly = np.einsum("si,cij,sj->sc", x, Q, x) + x @ L.T + K[None, :]
    np.testing.assert_allclose(poly, np.asarray(nnlab.forward(params, x, "square", "identity")), rtol=1e-12)


def test_exact_check_can_fail():
    params = SN.square_net_from_bilinear(BL.strassen(1))
    bad = [{k: v.copy() for k, v in layer.items()} for layer in params]
    bad[1]["W"][3, 2] += 2.0**-40  # a tiny change is still caught
    assert not SN.is_exact(bad)
    biased = [{k: v.copy() for k, v in layer.items()} for layer in params]
    biased[1]["b"][0] = 1.0  # a constant term
    assert not SN.is_exact(biased)
    biased = [{k: v.copy() for k, v in layer.items()} for layer in params]
    biased[0]["b"][0] = 0.5  # a linear term 2 a_h b_h w_h . x (and a constant)
    assert not SN.is_exact(biased)


def test_biases_that_cancel_are_still_exact():
    # a unit pair (w.x + b)^2 - (w.x + b)^2 adds nothing; biases may sit anywhere when they cancel
    params = SN.square_net_from_bilinear(BL.strassen(1))
    W1 = np.concatenate([params[0]["W"], np.ones((8, 2))], axis=1)
    W2 = np.concatenate([params[1]["W"], np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]])], axis=0)
    net = [{"W": W1, "b": np.r_[np.zeros(14), 0.75, 0.75]}, {"W": W2, "b": np.zeros(4)}]
    assert SN.is_exact(net)


def test_normalize_and_rationalize_keep_the_function():
    params = SN.square_net_from_bilinear(BL.strassen(1))
    rng = np.random.default_rng(3)
    s = rng.uniform(0.5, 3, size=14)  # the units' scaling symmetry: w -> s w, a -> a / s^2
    scaled = [{"W": params[0]["W"] * s, "b": np.zeros(14)}, {"W": params[1]["W"] / s[:, None] ** 2, "b": np.zeros(4)}]
    A, B = rng.normal(size=(2, 20, 2, 2))
    assert SN.relative_error(scaled, A, B) < 1e-14
    normal = SN.normalize_units(scaled)
    assert np.allclose(np.abs(normal[0]["W"]).max(axis=0), 1.0)
    assert SN.is_exact(SN.rationalize(normal))  # back to weights 0, +-1, +-1/4
    assert not SN.is_exact(SN.rationalize(scaled, max_denominator=2))
