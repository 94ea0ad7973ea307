"""Deep linear nets (nnlab.linear) against nnlab's networks, training and autodiff.

Also the l4 loss (Arora, Cohen & Hazan 2018): its hand-derived delta against jax.grad.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlab
from nnlab import linear as LI


def random_params(rng, sizes):
    return [{"W": rng.normal(size=(i, o)) / np.sqrt(i), "b": rng.normal(size=o)} for i, o in zip(sizes[:-1], sizes[1:])]


forward_identity = jax.jit(functools.partial(nnlab.forward, hidden="identity", output="identity"))


# ----------------------------------------------------------------------------- flattening


@settings(max_examples=15)  # one compilation per new shape
@given(st.lists(st.integers(1, 7), min_size=2, max_size=6), st.integers(0, 2**31 - 1))
def test_flatten_is_the_deep_linear_net(sizes, seed):
    rng = np.random.default_rng(seed)
    params = random_params(rng, sizes)
    x = rng.normal(size=(5, sizes[0]))
    flat = LI.flatten(params)
    np.testing.assert_allclose(forward_identity(params, x), x @ flat["W"] + flat["b"][None, :], rtol=1e-12, atol=1e-12)
    assert flat["W"].shape == (sizes[0], sizes[-1]) and flat["b"].shape == (sizes[-1],)
    # the product's rank never exceeds the narrowest layer (generically equals it)
    assert np.linalg.matrix_rank(flat["W"]) == min(sizes)


@given(st.lists(st.integers(1, 9), min_size=2, max_size=6))
def test_weight_counts(sizes):
    params = random_params(np.random.default_rng(0), sizes)
    assert nnlab.count_weights(sizes) == nnlab.count_weights(params) == sum(p["W"].size + p["b"].size for p in params)
    assert nnlab.count_weights([sizes[0], sizes[-1]]) == (sizes[0] + 1) * sizes[-1]
    assert nnlab.count_weights(sizes, bias=False) == sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


# ----------------------------------------------------------------------------- factorizations


def test_low_rank_net_computes_the_rank_k_map():
    rng = np.random.default_rng(1)
    n, k = 12, 3
    A, B = rng.normal(size=(n, k)), rng.normal(size=(k, n))
    params = LI.low_rank_params(A, B)
    x = rng.normal(size=(6, n))
    np.testing.assert_allclose(forward_identity(params, x), x @ (A @ B), rtol=1e-12, atol=1e-12)
    assert nnlab.count_weights(params, LI.zero_bias_mask([n, k, n])) == LI.low_rank_weights(n, k) == 2 * n * k
    assert np.linalg.matrix_rank(A @ B) == k


def sylvester(n):
    H = np.ones((1, 1))
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return H


@pytest.mark.parametrize("n", [2, 4, 8, 16, 64])
def test_butterfly_factors_multiply_to_the_hadamard_matrix_exactly(n):
    H = LI.hadamard(n)
    np.testing.assert_array_equal(H, sylvester(n))
    np.testing.assert_array_equal(H @ H.T, n * np.eye(n))
    factors, masks = LI.butterfly_factors(n), LI.butterfly_masks(n)
    assert len(factors) == len(masks) == int(np.log2(n))
    np.testing.assert_array_equal(functools.reduce(np.matmul, factors), H)
    for F, M in zip(factors, masks):
        assert np.count_nonzero(F) == np.count_nonzero(M) == 2 * n
        np.testing.assert_array_equal(F != 0, M == 1)


@pytest.mark.parametrize("n", [4, 32])
def test_butterfly_net_is_the_normalized_transform(n):
    params = LI.butterfly_params(n)
    mask = LI.zero_bias_mask([n] * (len(params) + 1), LI.butterfly_masks(n))
    x = np.random.default_rng(2).normal(size=(7, n))
    out = nnlab.forward(params, x, "identity", "identity", mask)
    np.testing.assert_allclose(out, x @ LI.hadamard(n) / np.sqrt(n), rtol=1e-12, atol=1e-12)
    assert nnlab.count_weights(params, mask) == LI.butterfly_weights(n) == 2 * n * int(np.log2(n))


@pytest.mark.parametrize("n", [0, 1, 3, 12])
def test_hadamard_needs_a_power_of_two(n):
    with pytest.raises(ValueError, match="power of two"):
        LI.hadamard(n)


# ----------------------------------------------------------------------------- dynamics


def modes(d, seed=0):
    rng = np.random.default_rng(seed)
    return LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d), rng


def test_whitened_inputs_and_orthogonal_matrices():
    rng = np.random.default_rng(3)
    x = LI.whitened_inputs(rng, 40, 5)
    np.testing.assert_allclose(x.T @ x / 40, np.eye(5), atol=1e-12)
    Q = LI.random_orthogonal(rng, 6)
    np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-12)
    with pytest.raises(ValueError, match="samples >= dim"):
        LI.whitened_inputs(rng, 3, 5)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_aligned_balanced_init(depth):
    V, U, _ = modes(3)
    u0 = np.array([0.3, 0.05, 0.002])
    params = LI.aligned_balanced_params(V, U, u0, depth)
    assert len(params) == depth
    np.testing.assert_allclose(LI.flatten(params)["W"], LI.teacher(V, u0, U), atol=1e-14)
    np.testing.assert_allclose(LI.mode_strengths(params, V, U), u0, rtol=1e-12)
    for lower, upper in zip(params[:-1], params[1:]):  # balanced: W_l^T W_l = W_{l+1} W_{l+1}^T
        np.testing.assert_allclose(lower["W"].T @ lower["W"], upper["W"] @ upper["W"].T, atol=1e-14)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gd_on_the_deep_net_follows_the_exact_mode_recursion(depth):
    """nnlab.train (hand-derived backprop) vs c <- c + 2 lr c^(L-1) (s - c^L), in float64."""
    V, U, rng = modes(3, seed=depth)
    s, u0, lr, steps = np.array([3.0, 1.5, 0.5]), 0.01, 0.01, 300
    x = LI.whitened_inputs(rng, 16, 3)
    y = x @ LI.teacher(V, s, U)
    init = jax.tree.map(lambda a: jnp.asarray(a)[None], LI.aligned_balanced_params(V, U, np.full(3, u0), depth))
    sizes = [3] * (depth + 1)
    result = nnlab.train(jax.random.key(0), x, y, sizes=sizes, steps=steps, lr=lr, hidden="identity",
                         output="identity", init_params=init, mask=LI.zero_bias_mask(sizes), records=1)
    params = jax.tree.map(lambda a: np.asarray(a[0]), result.params)
    expected = np.array([LI.gd_mode_trajectory(si, u0, depth, lr, steps)[-1] for si in s])
    np.testing.assert_allclose(LI.mode_strengths(params, V, U), expected, rtol=1e-10)
    # and the map stays aligned: no mixing between modes
    np.testing.assert_allclose(LI.flatten(params)["W"], LI.teacher(V, expected, U), atol=1e-10)
    assert 0 < expected[-1] < expected[0] < s[0]  # strong modes first
    np.testing.assert_allclose(float(result.loss[0]), np.sum((s - expected) ** 2), rtol=1e-9)


def integrate(rate, u0, t_end, dt):
    """RK4 for du/dt = rate(u)."""
    u, out = u0, [u0]
    for _ in range(int(round(t_end / dt))):
        k1 = rate(u)
        k2 = rate(u + dt / 2 * k1)
        k3 = rate(u + dt / 2 * k2)
        k4 = rate(u + dt * k3)
        u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(u)
    return np.array(out)


@pytest.mark.parametrize("depth", [1, 2])
def test_closed_form_solves_the_gradient_flow(depth):
    s, u0, tau = 2.0, 1e-3, 50.0
    t = np.arange(0, 801, 1.0)
    numeric = integrate(lambda u: LI.mode_rate(u, s, depth) / tau, u0, 800.0, 1.0 / 8)[::8]
    np.testing.assert_allclose(LI.saxe_mode(t, s, u0, tau, depth), numeric, rtol=1e-7, atol=1e-9)


def test_depth_two_closed_form_is_the_small_step_limit_of_gd():
    s, u0, T = 3.0, 1e-3, 2.0  # horizon in units of tau
    errors = []
    for lr in (0.01, 0.001):
        steps = int(T / (2 * lr))
        t = np.arange(steps + 1)
        gap = LI.gd_mode_trajectory(s, u0, 2, lr, steps) - LI.saxe_mode(t, s, u0, 1 / (2 * lr), 2)
        errors.append(np.abs(gap).max())
    assert errors[1] < errors[0] / 8  # first order in lr


def test_saxe_closed_form_values():
    s, u0, tau = 4.0, 0.01, 10.0
    assert LI.saxe_mode(0.0, s, u0, tau) == pytest.approx(u0)
    assert LI.saxe_mode(1e6, s, u0, tau) == pytest.approx(s)
    t_half = LI.saxe_learning_time(s, u0, tau)
    assert LI.saxe_mode(t_half, s, u0, tau) == pytest.approx(s / 2, rel=1e-12)
    assert LI.saxe_mode(tau, s, u0, tau, depth=1) == pytest.approx(s + (u0 - s) / np.e)
    with pytest.raises(ValueError, match="depth 1 and 2"):
        LI.saxe_mode(1.0, s, u0, tau, depth=3)


# ----------------------------------------------------------------------------- Arora et al. (2018)


def autodiff_l4(params, x, y, output, mask=None):
    out = x
    names = ["identity"] * (len(params) - 1) + [output]
    for layer, name in zip(nnlab.apply_mask(params, mask), names):
        out = nnlab.get_activation(name).fn(out @ layer["W"] + layer["b"][None, :])
    return jnp.mean(jnp.sum((out - y) ** 4, axis=1))


hand_l4 = jax.jit(nnlab.loss_and_grad, static_argnames=("hidden", "output", "loss"))
auto_l4 = jax.jit(jax.value_and_grad(autodiff_l4), static_argnums=(3,))


@pytest.mark.parametrize("output", ["identity", "sigmoid", "tanh"])
@pytest.mark.parametrize("sizes", [[3, 1], [4, 3, 2], [5, 1, 1, 1]])
def test_l4_gradient_matches_jax_grad(output, sizes):
    rng = np.random.default_rng(len(sizes))
    params = random_params(rng, sizes)
    x, y = rng.normal(size=(9, sizes[0])), rng.normal(size=(9, sizes[-1]))
    value, grads = hand_l4(params, x, y, hidden="identity", output=output, loss="l4")
    ref_value, ref_grads = auto_l4(params, x, y, output)
    assert float(value) == pytest.approx(float(ref_value), rel=1e-12)
    for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_l4_value_by_hand():
    z = jnp.array([[1.0, -2.0], [0.5, 0.0]])
    y = jnp.zeros((2, 2))
    loss = nnlab.get_loss("l4", "identity")
    assert float(loss.value(z, z, y)) == pytest.approx((1 + 16 + 0.0625) / 2)
    np.testing.assert_allclose(loss.delta(z, z, y, "identity"), 4 * np.asarray(z) ** 3 / 2)


@pytest.mark.parametrize("depth", [2, 3])
def test_one_gd_step_of_a_balanced_net_is_the_preconditioned_end_to_end_step(depth):
    """Arora et al. Theorem 1: to first order in lr, depth turns GD into a preconditioned method."""
    rng = np.random.default_rng(depth)
    d = 4
    x, y = rng.normal(size=(20, d)), rng.normal(size=(20, 1))
    w0 = rng.normal(size=d)
    params = LI.balanced_vector_params(w0, depth)
    np.testing.assert_allclose(LI.flatten(params)["W"][:, 0], w0, rtol=1e-12)
    mask = LI.zero_bias_mask([d] + [1] * depth)
    _, flat_grad = nnlab.loss_and_grad([{"W": w0[:, None], "b": np.zeros(1)}], x, y, "identity", "identity", "l4")
    gaps = []
    for lr in (1e-4, 1e-5):
        _, grads = nnlab.loss_and_grad(params, x, y, "identity", "identity", "l4", mask)
        stepped = [{"W": p["W"] - lr * g["W"], "b": p["b"]} for p, g in zip(params, grads)]
        w_net = LI.flatten(stepped)["W"][:, 0]
        w_theory = LI.end_to_end_step(w0, np.asarray(flat_grad[0]["W"][:, 0]), depth, lr)
        gaps.append(np.abs(w_net - w_theory).max() / np.abs(w_theory - w0).max())
    assert gaps[0] < 1e-2 and gaps[1] == pytest.approx(gaps[0] / 10, rel=0.1)  # the gap is O(lr^2)
    np.testing.assert_allclose(LI.end_to_end_step(w0, w0, 1, 0.1), 0.9 * w0)
