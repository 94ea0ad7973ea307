"""The trained search for the least square-unit width (nnlab.square_search), at tiny size."""

import jax
import numpy as np
import pytest

import nnlab
from nnlab import bilinear as BL
from nnlab import square_net as SN
from nnlab import square_search as SS


@pytest.fixture(scope="module")
def tiny():
    return SS.search(widths=(7, 14), restarts=4, steps=100, seed=0)


def test_search_finds_an_exact_width_fourteen_net_and_none_at_seven(tiny):
    seven, fourteen = tiny
    assert (seven.width, fourteen.width) == (7, 14) and seven.restarts == fourteen.restarts == 4
    # no net of width 7 can be exact: fewer than 10 square units never multiply (square_net's bounds)
    assert seven.best_error > 0.1 and seven.successes == 0
    assert fourteen.best_error < 1e-6 and fourteen.successes >= 1
    assert SS.least_width(tiny) == 14 and SS.least_width(tiny[:1]) is None
    for res in tiny:
        assert res.errors.shape == (4,) and res.successes == int(np.sum(res.errors < 1e-6))
        assert res.best_params[0]["W"].shape == (8, res.width) and res.best_params[1]["W"].shape == (res.width, 4)
        assert not np.any(res.best_params[0]["b"]) and not np.any(res.best_params[1]["b"])  # trained without biases


def test_found_net_is_verified_independently(tiny):
    net = tiny[1].best_params
    A, B = np.random.default_rng(123).normal(size=(2, 500, 2, 2)) * 10.0  # fresh, and larger than in training
    assert SN.relative_error(net, A, B) < 1e-6
    Q, L, K = (np.asarray(a, np.float64) for a in SN.net_polynomial(net))
    Qt, _, _ = (np.asarray(a, np.float64) for a in SN.target_polynomial(2))
    assert np.abs(Q - Qt).max() < 1e-6 and np.abs(L).max() == 0 and np.abs(K).max() == 0


def test_other_optimisers_lower_the_error():
    untrained = SS.search(widths=(14,), restarts=3, steps=0, method="gd")[0].errors
    for method in ("lbfgs", "gd"):
        trained = SS.search(widths=(14,), restarts=3, steps=150, method=method, lr=0.002)[0].errors
        assert np.all(trained < untrained), method
    with pytest.raises(ValueError, match="unknown"):
        SS.search(widths=(14,), method="adam")


def test_search_with_biases_trains_them():
    res = SS.search(widths=(14,), restarts=2, steps=20, biases=True)[0]
    assert np.any(res.nets[0][0]["b"]) and np.any(res.nets[0][1]["b"])


def test_snap_recovers_simple_weights_and_refuses_inexact_nets():
    params = SN.square_net_from_bilinear(BL.strassen(1))
    s = np.random.default_rng(4).uniform(0.5, 3, size=14)  # irrational-looking weights, same function
    scaled = [{"W": params[0]["W"] * s, "b": np.zeros(14)}, {"W": params[1]["W"] / s[:, None] ** 2, "b": np.zeros(4)}]
    net, fixed = SS.snap(scaled)
    assert fixed == 8 * 14 + 14 * 4 and SN.is_exact(net)
    wrong = [{"W": params[0]["W"], "b": np.zeros(14)}, {"W": params[1]["W"] * 1.001, "b": np.zeros(4)}]
    assert SS.snap(wrong) == (None, 0)


def test_jacobian_rows_from_the_hand_derived_gradient():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 8)), rng.normal(size=(6, 4))
    layout = SS._layout(8, 3, 4)
    V = rng.normal(size=(2, 3 * 8 + 3 + 3 * 4 + 4))
    M = np.ones_like(V)
    with jax.enable_x64(True):
        loss, res, J = SS._residuals(x, y, layout)(V, M)
        for n in range(2):
            def out(v):
                return jax.numpy.ravel(nnlab.forward(SS._unflatten(v, layout), x, "square", "identity"))

            np.testing.assert_allclose(J[n], np.asarray(jax.jacfwd(out)(V[n])), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(res[n], np.asarray(out(V[n])) - y.ravel(), rtol=1e-12)
            np.testing.assert_allclose(loss[n], np.mean(np.sum(res[n].reshape(6, 4) ** 2, axis=1)), rtol=1e-12)

