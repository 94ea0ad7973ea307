"""End points of training: exact Hessian vs jax.hessian, masked spectra, classification, plateau levels."""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import nnlab
from nnlab import landscape
from nnlab.mlp import apply_mask

XOR_X = jnp.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float64)
XOR_Y = jnp.asarray([[0], [1], [1], [0]], jnp.float64)


def autodiff_loss(params, x, y, hidden, loss, mask=None):
    out = x
    for layer, name in zip(apply_mask(params, mask), [hidden] * (len(params) - 1) + ["sigmoid"]):
        out = nnlab.get_activation(name).fn(out @ layer["W"] + layer["b"][None, :])
    if loss == "squared":
        return jnp.mean(jnp.sum((out - y) ** 2, axis=1))
    return jnp.mean(jnp.sum(-y * jnp.log(out) - (1 - y) * jnp.log1p(-out), axis=1))


def stacked(rng, sizes, restarts, scale=1.5):
    return [{"W": jnp.asarray(scale * rng.normal(size=(restarts, i, o))), "b": jnp.asarray(scale * rng.normal(size=(restarts, o)))}
            for i, o in zip(sizes[:-1], sizes[1:])]


def one(params, r):
    return jax.tree.map(lambda a: a[r], params)


def oracle_hessian(params, x, y, hidden, loss, mask=None):
    """jax.hessian of the loss written directly, over the ravelled params (compiled)."""
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda w: autodiff_loss(unravel(w), x, y, hidden, loss, mask))(flat)


oracle = jax.jit(oracle_hessian, static_argnums=(3, 4))


@pytest.mark.parametrize("hidden,loss", [("sigmoid", "squared"), ("tanh", "cross_entropy"), ("relu", "squared")])
def test_hessian_is_jax_hessian_of_the_loss(hidden, loss):
    rng = np.random.default_rng(0)
    params = one(stacked(rng, [3, 4, 2, 1], 1), 0)
    x = jnp.asarray(rng.normal(size=(6, 3)))
    y = jnp.asarray(rng.integers(0, 2, size=(6, 1)).astype(float))
    mask = jax.tree.map(lambda p: jnp.asarray(rng.uniform(size=p.shape) < 0.7, p.dtype), params)
    h = jax.jit(landscape.hessian, static_argnums=(3, 4, 5))(params, x, y, hidden, "sigmoid", loss, mask)
    np.testing.assert_allclose(h, oracle(params, x, y, hidden, loss, mask), rtol=1e-9, atol=1e-12)
    assert h.shape == (ravel_pytree(params)[0].size,) * 2
    assert np.all(h[np.asarray(ravel_pytree(mask)[0]) == 0] == 0)  # masked weights: zero rows


def test_curvature_leaves_masked_weights_out_of_the_spectrum():
    """A width-2 net padded to width 5 and masked: same gradient norm and eigenvalues
    as the width-2 net itself, for every restart at once."""
    rng = np.random.default_rng(1)
    small = stacked(rng, [2, 2, 1], 8)
    pad = [{"W": jnp.pad(small[0]["W"], ((0, 0), (0, 0), (0, 3))), "b": jnp.pad(small[0]["b"], ((0, 0), (0, 3)))},
           {"W": jnp.pad(small[1]["W"], ((0, 0), (0, 3), (0, 0))), "b": small[1]["b"]}]
    # garbage in the masked-out slots must not matter
    pad[0]["W"] = pad[0]["W"].at[:, :, 2:].set(7.0)
    unit = (jnp.arange(5) < 2).astype(jnp.float64)
    mask = [{"W": jnp.tile(unit, (2, 1)), "b": unit}, {"W": unit[:, None], "b": jnp.ones(1)}]
    a = landscape.curvature(small, XOR_X, XOR_Y)
    b = landscape.curvature(pad, XOR_X, XOR_Y, mask=mask)
    per_restart = jax.tree.map(lambda m: jnp.repeat(m[None], 8, axis=0), mask)
    c = landscape.curvature(pad, XOR_X, XOR_Y, mask=per_restart)
    for x, y, z in zip(a, b, c):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(x, z, rtol=1e-9, atol=1e-13)
    # against eigenvalues of jax.hessian, restart by restart
    hs = jax.vmap(lambda p: oracle(p, XOR_X, XOR_Y, "sigmoid", "squared"))(small)
    eig = np.linalg.eigvalsh(np.asarray(hs))
    np.testing.assert_allclose(a.min_eig, eig[:, 0], rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(a.max_eig, eig[:, -1], rtol=1e-8, atol=1e-13)
    flat = np.concatenate([np.asarray(l).reshape(8, -1) for l in jax.tree.leaves(small)], axis=1)
    np.testing.assert_allclose(a.weight_norm, np.linalg.norm(flat, axis=1), rtol=1e-12)


def test_product_of_two_weights_has_the_textbook_saddle():
    """A 1-1-1 linear net without biases on (x, y) = (1, 1): L = (w2 w1 - 1)^2; at w = 0 the
    Hessian in (w1, w2) is [[0, -2], [-2, 0]] (eigenvalues -2, 2): a strict saddle."""
    zero = [{"W": jnp.zeros((1, 1, 1)), "b": jnp.zeros((1, 1))}, {"W": jnp.zeros((1, 1, 1)), "b": jnp.zeros((1, 1))}]
    mask = [{"W": jnp.ones((1, 1)), "b": jnp.zeros(1)}, {"W": jnp.ones((1, 1)), "b": jnp.zeros(1)}]
    x, y = jnp.ones((1, 1)), jnp.ones((1, 1))
    c = landscape.curvature(zero, x, y, "identity", "identity", mask=mask)
    np.testing.assert_allclose([c.grad_norm[0], c.min_eig[0], c.max_eig[0]], [0, -2, 2], atol=1e-14)
    status = landscape.classify([False], [True], c.grad_norm, c.min_eig, c.max_eig, [0.0], 1e-3, 1e-6, 1e-4)
    assert landscape.STATUSES[status[0]] == "saddle_or_plateau"


def test_origin_of_xor_is_degenerate():
    """All weights zero: hidden units output 1/2, the gradient vanishes and the loss is 1/4, but the
    Hessian is only positive semi-definite (the input-weight block is zero): a second-order test
    cannot tell this higher-order saddle from a minimum, only the loss still falling can."""
    zero = [{"W": jnp.zeros((1, 2, 2)), "b": jnp.zeros((1, 2))}, {"W": jnp.zeros((1, 2, 1)), "b": jnp.zeros((1, 1))}]
    c = landscape.curvature(zero, XOR_X, XOR_Y)
    assert float(c.grad_norm[0]) < 1e-15 and abs(float(c.min_eig[0])) < 1e-15 and float(c.max_eig[0]) > 1e-3


def test_teacher_weights_are_a_local_minimum():
    """Targets made by a network of the same shape: at the teacher's weights the loss is 0,
    the gradient 0 and the Hessian (= Gauss-Newton matrix there) positive semi-definite."""
    rng = np.random.default_rng(2)
    teacher = stacked(rng, [2, 3, 1], 1)
    x = jnp.asarray(rng.normal(size=(12, 2)))
    y = nnlab.forward(one(teacher, 0), x)
    c = landscape.curvature(teacher, x, y)
    assert float(c.grad_norm[0]) < 1e-15 and float(c.min_eig[0]) > -1e-14
    status = landscape.classify([False], [True], c.grad_norm, c.min_eig, c.max_eig, [0.0], 1e-3, 1e-6, 1e-4)
    assert landscape.STATUSES[status[0]] == "local_min"


def test_classify_follows_the_documented_order_and_tolerances():
    names = np.asarray(landscape.STATUSES)
    #            solved finite grad   min_eig  max_eig loss_drop
    cases = [(True, True, 0.5, -1.0, 1.0, 0.5, "solved"),
             (True, False, 0.0, 0.0, 0.0, 0.0, "diverged"),
             (False, True, 1e-4, 1e-5, 0.1, 0.0, "local_min"),
             (False, True, 1e-4, -0.9e-6, 0.1, 0.0, "local_min"),  # within hess_tol
             (False, True, 1e-4, -2e-6, 0.1, 0.0, "saddle_or_plateau"),  # clearly negative
             (False, True, 1e-4, -2e-6, 10.0, 0.0, "local_min"),  # tolerance scales with |max_eig| > 1
             (False, True, 2e-3, 1e-5, 0.1, 0.0, "saddle_or_plateau"),  # gradient not near zero
             (False, True, 1e-4, 1e-5, 0.1, 2e-4, "saddle_or_plateau"),  # loss still falling
             (False, True, 1e-4, 1e-5, 0.1, np.nan, "local_min")]  # no drop measured
    cols = list(zip(*cases))
    got = landscape.classify(*cols[:6], grad_tol=1e-3, hess_tol=1e-6, fall_tol=1e-4)
    assert list(names[got]) == list(cols[6])


def set_partition_losses(y):
    """Every loss of outputs constant on the blocks of a set partition of the points (brute force)."""
    points = list(range(len(y)))

    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for part in partitions(rest):
            for k in range(len(part)):
                yield part[:k] + [[first] + part[k]] + part[k + 1:]
            yield [[first]] + part

    values = set()
    for part in partitions(points):
        total = Fraction(0)
        for block in part:
            mean = Fraction(sum(int(y[i]) for i in block), len(block))
            total += sum((int(y[i]) - mean) ** 2 for i in block)
        values.add(total / len(y))
    return sorted(float(v) for v in values)


@pytest.mark.parametrize("truth", [[0, 1, 1, 0], [0, 0, 0, 1], [0, 1, 1, 0, 1, 0, 0, 1], [1, 1, 0, 1, 0, 0, 0]])
def test_plateau_levels_match_set_partitions(truth):
    np.testing.assert_allclose(landscape.constant_output_levels(truth), set_partition_losses(truth), rtol=1e-15)


def test_cross_entropy_levels_are_group_entropies():
    levels = landscape.constant_output_levels([0, 1, 1, 0], "cross_entropy")
    # one group: 4 ln 2 / 4; {1,0}+{1}+{0}: 2 ln 2 / 4; {1,1,0}+{0}: 3 H(2/3) / 4
    h = lambda p: -p * np.log(p) - (1 - p) * np.log(1 - p)
    np.testing.assert_allclose(levels, sorted([0, np.log(2) / 2, 3 * h(2 / 3) / 4, np.log(2)]), rtol=1e-12)


def test_stuck_xor_runs_sit_near_plateau_levels():
    """Simulation against theory: 2-2-1 sigmoid XOR runs that do not solve end near a level."""
    r = nnlab.train(jax.random.key(3), np.asarray(XOR_X, np.float32), np.asarray(XOR_Y, np.float32),
                    sizes=[2, 2, 1], restarts=100, steps=2000, lr=4.0, init="uniform", init_scale=1.0, records=2)
    levels = landscape.constant_output_levels([0, 1, 1, 0])
    final = np.asarray(r.loss, float)
    stuck = final > 0.05
    assert 3 <= stuck.sum() <= 50
    assert np.max(np.min(np.abs(final[stuck, None] - levels[None, 1:]), axis=1)) < 0.01


def test_extreme_eigenvalues_of_masked_and_diverged_matrices():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 4, 4))
    h = a + np.swapaxes(a, 1, 2)
    present = np.array([[1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 1, 1]], float)
    h = h * present[:, :, None] * present[:, None, :]
    h[2, 1, 1] = np.nan
    low, high = landscape.extreme_eigenvalues(h, present)
    for r in range(2):
        keep = present[r] == 1
        eig = np.linalg.eigvalsh(h[r][np.ix_(keep, keep)])
        np.testing.assert_allclose([low[r], high[r]], [eig[0], eig[-1]], rtol=1e-12)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_curvature_in_chunks_equals_one_batch():
    rng = np.random.default_rng(5)
    params = stacked(rng, [2, 3, 1], 7)
    whole = landscape.curvature(params, XOR_X, XOR_Y, "tanh")
    chunked = landscape.curvature(params, XOR_X, XOR_Y, "tanh", max_entries=3 * 13**2)  # chunks of 3: 3 + 3 + 1
    for a, b in zip(whole, chunked):
        assert a.shape == (7,)
        np.testing.assert_allclose(a, b, rtol=1e-12)
