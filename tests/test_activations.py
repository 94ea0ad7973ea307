"""Each activation's hand-derived derivative against jax.grad, and stability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlab


@pytest.mark.parametrize("name", [a for a in nnlab.ACTIVATIONS if a != "step"])
@given(z=st.floats(-5, 5, allow_nan=False).filter(lambda v: abs(v) > 1e-9))
def test_derivative_matches_jax_grad(name, z):
    """Away from saturation, where a derivative written in terms of the output is
    well conditioned (near |z| = 30, 1 - a has lost most of its digits in float64)."""
    f = nnlab.get_activation(name)
    z = jnp.float64(z)
    expected = jax.grad(f.fn)(z)
    np.testing.assert_allclose(f.grad(z, f.fn(z)), expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("z", [-30.0, -9.0, 9.0, 30.0])
def test_saturated_derivatives_stay_accurate_in_absolute_terms(z):
    exact = {"sigmoid": np.exp(-abs(z)) / (1 + np.exp(-abs(z))) ** 2, "tanh": 1 / np.cosh(z) ** 2}
    for name, value in exact.items():
        f = nnlab.get_activation(name)
        a = f.fn(jnp.float64(z))
        np.testing.assert_allclose(f.grad(jnp.float64(z), a), value, rtol=1e-6, atol=1e-16)


def test_step_is_a_threshold_at_zero_with_zero_derivative():
    f = nnlab.get_activation("step")
    z = jnp.array([-2.0, -1e-12, 0.0, 3.0])
    np.testing.assert_array_equal(f.fn(z), [0, 0, 1, 1])
    np.testing.assert_array_equal(f.grad(z, f.fn(z)), [0, 0, 0, 0])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_sigmoid_and_cross_entropy_are_finite_for_huge_inputs(dtype):
    z = jnp.array([[-1e4], [-50.0], [0.0], [50.0], [1e4]], dtype)
    params = [{"W": jnp.ones((1, 1), dtype), "b": jnp.zeros((1,), dtype)}]
    y = jnp.array([[1.0], [0.0], [1.0], [1.0], [0.0]], dtype)
    for loss in ("squared", "cross_entropy"):
        value, grads = nnlab.loss_and_grad(params, z, y, output="sigmoid", loss=loss)
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    # the wrong-side example at |z| = 1e4 costs about 1e4 (per example), not inf
    value, _ = nnlab.loss_and_grad(params, z[:1], y[:1], output="sigmoid", loss="cross_entropy")
    np.testing.assert_allclose(value, 1e4, rtol=1e-6)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="allowed: identity, sigmoid, tanh, relu, step"):
        nnlab.get_activation("softsign")
