"""Grid search over every network on a weight grid, against a plain loop over the networks."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnlab
from nnlab import bruteforce

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], np.float64)


def every_network(values, sizes):
    """All weight settings as stacked params, enumerated by itertools."""
    shapes = [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]
    count = nnlab.count_weights(sizes)
    flat = np.array(list(itertools.product(values, repeat=count)))
    params, k = [], 0
    for (ws, bs) in shapes:
        nw, nb = ws[0] * ws[1], bs[0]
        params.append({"W": jnp.asarray(flat[:, k:k + nw].reshape(-1, *ws)), "b": jnp.asarray(flat[:, k + nw:k + nw + nb])})
        k += nw + nb
    return params


@pytest.mark.parametrize("hidden,loss", [("sigmoid", "squared"), ("tanh", "cross_entropy")])
def test_grid_search_matches_a_loop_over_every_network(hidden, loss):
    values = bruteforce.grid_values(3, 4.0)
    result = bruteforce.grid_search(XOR_X, XOR_Y, 2, values, hidden, "sigmoid", loss, chunk=100)
    nets = every_network(values, [2, 2, 1])
    lossfn = jax.jit(jax.vmap(lambda p: nnlab.loss_and_grad(p, jnp.asarray(XOR_X), jnp.asarray(XOR_Y), hidden, "sigmoid", loss)[0]))
    outs = jax.jit(jax.vmap(lambda p: nnlab.forward(p, jnp.asarray(XOR_X), hidden, "sigmoid")))(nets)
    losses = np.asarray(lossfn(nets))
    assert result.networks == 3**9 == len(losses)
    np.testing.assert_allclose(result.best_loss, losses.min(), rtol=1e-12)
    right = np.all(np.abs(np.asarray(outs) - XOR_Y[None]) < 0.5, axis=(1, 2))
    assert result.solved == int(right.sum())
    best = nnlab.loss_and_grad(result.best_params, jnp.asarray(XOR_X), jnp.asarray(XOR_Y), hidden, "sigmoid", loss)[0]
    np.testing.assert_allclose(best, losses.min(), rtol=1e-12)
    assert set(np.ravel(np.concatenate([np.ravel(l) for l in jax.tree.leaves(result.best_params)]))) <= set(values)


def test_a_finer_grid_holds_xor_solutions():
    values = bruteforce.grid_values(7, 6.0)
    np.testing.assert_allclose(values, [-6, -4, -2, 0, 2, 4, 6])
    result = bruteforce.grid_search(XOR_X.astype(np.float32), XOR_Y.astype(np.float32), 2, values)
    assert result.networks == 7**9
    assert result.solved > 0 and result.best_loss < 0.05
    out = nnlab.forward(result.best_params, jnp.asarray(XOR_X, jnp.float32))
    assert np.all(np.abs(np.asarray(out) - XOR_Y) < 0.5)


def test_article_rounds_are_exact_powers_of_two():
    assert nnlab.count_weights([2, 2, 1]) == 9
    assert bruteforce.article_rounds(9) == 2**576
    assert bruteforce.article_rounds(12, bits=8) == 256**12
    assert len(str(bruteforce.article_rounds(9))) == 174  # 2^576 ~ 2.47e173


def test_bad_grids_are_refused():
    with pytest.raises(ValueError, match="q must be"):
        bruteforce.grid_values(1, 1.0)
