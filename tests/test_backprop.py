"""Hand-derived backprop against jax.grad in float64, on random architectures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlab
from nnlab.mlp import apply_mask

SMOOTH = [a for a in nnlab.ACTIVATIONS if a != "step"]


def autodiff_loss(params, x, y, hidden, output, loss, mask=None):
    """The same loss written directly, for jax.grad to differentiate."""
    out = x
    names = ([hidden] * (len(params) - 1) if isinstance(hidden, str) else list(hidden)) + [output]
    for layer, name in zip(apply_mask(params, mask), names):
        z = out @ layer["W"] + layer["b"][None, :]
        out = nnlab.get_activation(name).fn(z)
    if loss == "squared":
        return jnp.mean(jnp.sum((out - y) ** 2, axis=1))
    # cross-entropy of sigmoid outputs, -y log s(z) - (1 - y) log s(-z), with jax's log-sigmoid
    return jnp.mean(jnp.sum(-y * jax.nn.log_sigmoid(z) - (1 - y) * jax.nn.log_sigmoid(-z), axis=1))


# Compiled once per architecture: op-by-op dispatch costs more than compiling.
hand_derived = jax.jit(nnlab.loss_and_grad, static_argnums=(3, 4, 5))
autodiff = jax.jit(jax.value_and_grad(autodiff_loss), static_argnums=(3, 4, 5))


def random_params(rng, sizes):
    """Float64 weights from numpy (no per-shape compilation)."""
    return [{"W": jnp.asarray(rng.normal(size=(i, o)) / np.sqrt(i)), "b": jnp.asarray(rng.normal(size=o))}
            for i, o in zip(sizes[:-1], sizes[1:])]


def relative_error(a, b):
    a, b = np.concatenate([np.ravel(l) for l in jax.tree.leaves(a)]), np.concatenate(
        [np.ravel(l) for l in jax.tree.leaves(b)])
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@st.composite
def problems(draw):
    depth = draw(st.integers(1, 5))
    sizes = [draw(st.integers(1, 16)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(["squared", "cross_entropy"]))
    output = "sigmoid" if loss == "cross_entropy" else draw(st.sampled_from(SMOOTH))
    hidden = [draw(st.sampled_from(SMOOTH)) for _ in range(depth - 1)]
    batch = draw(st.integers(1, 32))
    seed = draw(st.integers(0, 2**31 - 1))
    return sizes, hidden, output, loss, batch, seed


@given(problems())
def test_loss_and_grad_matches_jax_grad(problem):
    sizes, hidden, output, loss, batch, seed = problem
    rng = np.random.default_rng(seed)
    params = random_params(rng, sizes)
    x = jnp.asarray(rng.normal(size=(batch, sizes[0])))
    y = jnp.asarray(rng.uniform(size=(batch, sizes[-1])))
    if loss == "cross_entropy":
        y = jnp.round(y)
    hidden = tuple(hidden)
    value, grads = hand_derived(params, x, y, hidden, output, loss)
    ref_value, ref_grads = autodiff(params, x, y, hidden, output, loss)
    assert value.dtype == jnp.float64
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    assert relative_error(grads, ref_grads) <= 1e-10


def test_masked_edges_get_zero_gradient_and_match_jax_grad():
    rng = np.random.default_rng(3)
    params = random_params(rng, [3, 5, 4, 2])
    mask = jax.tree.map(lambda p: jnp.asarray(rng.uniform(size=p.shape) < 0.6, p.dtype), params)
    x = jnp.asarray(rng.normal(size=(7, 3)))
    y = jnp.ones((7, 2)) * 0.3
    _, grads = nnlab.loss_and_grad(params, x, y, "tanh", "sigmoid", mask=mask)
    ref = jax.grad(autodiff_loss)(params, x, y, "tanh", "sigmoid", "squared", mask)
    ref = jax.tree.map(lambda g, m: g * m, ref, mask)
    assert relative_error(grads, ref) <= 1e-10
    for g, m in zip(jax.tree.leaves(grads), jax.tree.leaves(mask)):
        assert np.all(np.asarray(g)[np.asarray(m) == 0] == 0)


def test_deltas_follow_the_three_steps_by_hand():
    """A 1-1-1 sigmoid net worked by hand: delta_out, delta_hidden, weight gradients."""
    params = [{"W": jnp.array([[0.5]]), "b": jnp.array([-0.2])},
              {"W": jnp.array([[1.5]]), "b": jnp.array([0.1])}]
    x, y = jnp.array([[2.0]]), jnp.array([[1.0]])
    s = lambda z: 1 / (1 + np.exp(-z))
    a1 = s(0.5 * 2 - 0.2)
    a2 = s(1.5 * a1 + 0.1)
    d2 = 2 * (a2 - 1.0) * a2 * (1 - a2)          # step 1
    d1 = d2 * 1.5 * a1 * (1 - a1)                # step 2
    _, grads = nnlab.loss_and_grad(params, x, y)
    np.testing.assert_allclose(grads[1]["W"][0, 0], d2 * a1, rtol=1e-12)   # step 3
    np.testing.assert_allclose(grads[1]["b"][0], d2, rtol=1e-12)
    np.testing.assert_allclose(grads[0]["W"][0, 0], d1 * 2.0, rtol=1e-12)
    np.testing.assert_allclose(grads[0]["b"][0], d1, rtol=1e-12)


def test_cross_entropy_needs_sigmoid_output():
    params = nnlab.init_mlp(jax.random.key(0), [2, 1])
    with pytest.raises(ValueError, match="cross_entropy.*sigmoid"):
        nnlab.loss_and_grad(params, jnp.ones((1, 2)), jnp.ones((1, 1)), output="identity", loss="cross_entropy")


@pytest.mark.parametrize("hidden, loss", [("sigmoid", "squared"), ("tanh", "cross_entropy"), ("relu", "squared")])
def test_float32_gradients_agree_with_float64_on_well_conditioned_nets(hidden, loss):
    rng = np.random.default_rng(5)
    params64 = random_params(rng, [4, 8, 8, 1])
    x64 = jnp.asarray(rng.normal(size=(16, 4)))
    y64 = jnp.asarray(rng.integers(0, 2, size=(16, 1)), jnp.float64)
    params32, x32, y32 = jax.tree.map(lambda a: a.astype(jnp.float32), (params64, x64, y64))
    v64, g64 = hand_derived(params64, x64, y64, hidden, "sigmoid", loss)
    v32, g32 = hand_derived(params32, x32, y32, hidden, "sigmoid", loss)
    assert v32.dtype == jnp.float32
    np.testing.assert_allclose(v32, v64, rtol=1e-5)
    assert relative_error(g32, g64) <= 1e-5
