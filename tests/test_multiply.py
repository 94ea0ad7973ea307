"""The multiplication gate and product trees (nnlab.multiply) through nnlab.forward, in float64."""

import jax
import numpy as np
import pytest

import nnlab
from nnlab import multiply as MU


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
def test_closed_form_derivatives_match_autodiff(activation):
    f = nnlab.get_activation(activation).fn
    chain = [f]
    for _ in range(4):
        chain.append(jax.grad(chain[-1]))
    for z in (-2.0, -0.3, 0.0, 0.7, 1.9):
        expected = [float(g(z)) for g in chain]
        np.testing.assert_allclose(MU.derivatives(activation, z), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
def test_best_bias_maximises_the_second_derivative(activation):
    z = np.linspace(0, 4, 40001)
    b = MU.best_bias(activation)
    assert abs(b - z[np.argmax(np.abs(MU.derivatives(activation, z)[2]))]) < 1e-3
    assert MU.derivatives(activation, 0.0)[2] == pytest.approx(0.0, abs=1e-15)  # hence the offset


def test_sigmoid_gate_coefficient_is_minus_one_sixth():
    assert MU.gate_error_coefficient("sigmoid", MU.best_bias("sigmoid")) == pytest.approx(-1 / 6, rel=1e-12)
    with pytest.raises(ValueError, match="f''"):
        MU.gate_error_coefficient("sigmoid", 0.0)
    with pytest.raises(ValueError, match="f''"):
        MU.gate(0.1, "sigmoid", bias=0.0)


def grid(n_side=21):
    g = np.linspace(-1, 1, n_side)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
def test_gate_error_shrinks_as_lambda_squared_with_the_predicted_constant(activation):
    xy = grid()
    C = MU.gate_error_coefficient(activation, MU.best_bias(activation))
    errors = []
    for lam in (0.04, 0.02, 0.01):
        net = MU.gate(lam, activation)
        assert net.sizes == (2, 4, 1) and net.neurons == 4
        out = np.asarray(nnlab.forward(net.params, xy, net.hidden, net.output))[:, 0]
        err = out - xy[:, 0] * xy[:, 1]
        # leading term of the expansion, pointwise
        np.testing.assert_allclose(err, C * lam**2 * xy[:, 0] * xy[:, 1] * (xy[:, 0] ** 2 + xy[:, 1] ** 2),
                                   atol=20 * abs(C) * lam**4)
        errors.append(np.abs(err).max())
    slope = np.polyfit(np.log([0.04, 0.02, 0.01]), np.log(errors), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.01)
    assert errors[-1] / 0.01**2 == pytest.approx(2 * abs(C), rel=1e-2)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8])
def test_product_tree_multiplies_n_inputs(n):
    x = np.random.default_rng(n).uniform(-1, 1, size=(500, n))
    errs = []
    for lam in (0.02, 0.01):
        net = MU.product_tree(n, lam)
        assert net.neurons == MU.tree_neurons(n) == sum(net.sizes[1:-1])
        assert net.sizes[0] == n and net.sizes[-1] == 1 and len(net.sizes) - 2 == int(np.ceil(np.log2(n)))
        out = np.asarray(nnlab.forward(net.params, x, net.hidden, net.output))[:, 0]
        errs.append(np.abs(out - x.prod(axis=1)).max())
    assert errs[0] < 2e-3
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)  # O(lambda^2)


def test_tree_neuron_counts():
    assert [MU.tree_neurons(n) for n in (2, 3, 4, 5, 8, 16)] == [4, 9, 12, 18, 28, 60]
    for k in range(1, 6):  # powers of two: exactly 4 (n - 1), the n - 1 gates
        assert MU.tree_neurons(2**k) == 4 * (2**k - 1)
    assert [MU.shallow_neurons_bound(n) for n in (2, 5)] == [4, 32]
    with pytest.raises(ValueError, match="n >= 2"):
        MU.product_tree(1, 0.1)


def test_tanh_tree_and_unknown_activation():
    net = MU.product_tree(3, 0.01, "tanh")
    x = np.random.default_rng(0).uniform(-1, 1, size=(200, 3))
    out = np.asarray(nnlab.forward(net.params, x, net.hidden, net.output))[:, 0]
    assert np.abs(out - x.prod(axis=1)).max() < 1e-3
    with pytest.raises(ValueError, match="unknown"):
        MU.derivatives("relu", 0.0)
