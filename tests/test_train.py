"""The training engine: learning, restart identity, schedules, batches, divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnlab

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], np.float32)


def test_loss_decreases_on_xor():
    r = nnlab.train(jax.random.key(0), XOR_X, XOR_Y, sizes=[2, 3, 1], restarts=32, steps=3000, lr=2.0)
    assert r.history.shape == (32, 100) and r.loss.shape == (32,)
    assert np.all(np.asarray(r.loss) < np.asarray(r.history[:, 0]))
    assert np.median(np.asarray(r.loss)) < 0.05  # most restarts solve XOR
    assert r.loss.dtype == jnp.float32  # runs in the dtype of x


def test_restart_i_does_not_depend_on_the_number_of_restarts():
    kw = dict(sizes=[2, 4, 1], steps=200, lr=1.0, batch_size=2, schedule="inverse_time")
    few = nnlab.train(jax.random.key(7), XOR_X, XOR_Y, restarts=4, **kw)
    many = nnlab.train(jax.random.key(7), XOR_X, XOR_Y, restarts=16, **kw)
    np.testing.assert_allclose(few.loss, many.loss[:4], rtol=1e-6)
    for a, b in zip(jax.tree.leaves(few.params), jax.tree.leaves(many.params)):
        np.testing.assert_allclose(a, b[:4], rtol=1e-5, atol=1e-6)
    picked = nnlab.train(jax.random.key(7), XOR_X, XOR_Y, restarts=2, restart_ids=[3, 9], **kw)
    np.testing.assert_allclose(picked.loss, many.loss[np.array([3, 9])], rtol=1e-6)


@pytest.mark.parametrize("schedule", list(nnlab.SCHEDULES))
@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_every_schedule_and_batch_size_runs(schedule, batch_size):
    r = nnlab.train(jax.random.key(1), XOR_X, XOR_Y, sizes=[2, 2, 1], restarts=3, steps=7,
                    lr=0.5, schedule=schedule, batch_size=batch_size, records=3)
    assert r.history.shape == (3, 3)
    np.testing.assert_array_equal(r.history_steps, [0, 3, 6])
    assert np.all(np.isfinite(r.loss))


def test_step_sizes_follow_the_schedules():
    t = jnp.array([0.0, 100.0, 300.0])
    np.testing.assert_allclose(nnlab.step_size("constant", 2.0, t, 100.0), [2, 2, 2])
    np.testing.assert_allclose(nnlab.step_size("inverse_time", 2.0, t, 100.0), [2, 1, 0.5])
    np.testing.assert_allclose(nnlab.step_size("inverse_sqrt", 2.0, t, 100.0), [2, 2 / 2**0.5, 1])


def test_full_batch_step_is_one_gradient_step_by_hand():
    """One full-batch step equals params - lr * loss_and_grad, from the same initial weights."""
    x = jnp.asarray(XOR_X, jnp.float64)
    y = jnp.asarray(XOR_Y, jnp.float64)
    init = nnlab.init_mlp(jax.random.key(5), [2, 3, 1], dtype=jnp.float64)
    stacked = jax.tree.map(lambda a: a[None], init)
    r = nnlab.train(jax.random.key(0), x, y, sizes=[2, 3, 1], steps=1, lr=0.7, init_params=stacked)
    _, grads = nnlab.loss_and_grad(init, x, y)
    expected = jax.tree.map(lambda p, g: p - 0.7 * g, init, grads)
    for a, b in zip(jax.tree.leaves(r.params), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a[0], b, rtol=1e-12)


def test_per_example_sgd_visits_every_example_once_per_epoch():
    """With batch_size=1 and zero-width effect (identity net, lr tiny), N steps use each example once:
    the sum of updates equals the full-batch gradient times N * lr (order does not matter)."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 2)))
    y = jnp.asarray(np.random.default_rng(1).normal(size=(5, 1)))
    init = [{"W": jnp.zeros((2, 1)), "b": jnp.zeros((1,))}]
    stacked = jax.tree.map(lambda a: a[None], init)
    lr = 1e-7
    r = nnlab.train(jax.random.key(2), x, y, sizes=[2, 1], steps=5, lr=lr, batch_size=1,
                    hidden=(), output="identity", init_params=stacked)
    _, full = nnlab.loss_and_grad(init, x, y, (), "identity")
    # each per-example gradient is N times that example's share of the full-batch gradient
    np.testing.assert_allclose(r.params[0]["W"][0], -lr * 5 * full[0]["W"], rtol=1e-5)


def test_per_restart_targets_masks_and_step_sizes():
    ys = np.stack([XOR_Y, 1 - XOR_Y, XOR_Y * 0 + 1])
    mask = [{"W": np.ones((3, 2, 4), np.float32), "b": np.ones((3, 4), np.float32)},
            {"W": np.ones((3, 4, 1), np.float32), "b": np.ones((3, 1), np.float32)}]
    mask[0]["W"][0, :, 2:] = 0  # restart 0 has width 2 of 4
    mask[1]["W"][0, 2:, :] = 0
    r = nnlab.train(jax.random.key(0), XOR_X, ys, sizes=[2, 4, 1], restarts=3, steps=2000,
                    lr=np.array([2.0, 2.0, 0.5], np.float32), mask=mask)
    assert np.all(np.asarray(r.loss) < 0.1)
    assert np.all(np.asarray(r.params[0]["W"][0, :, 2:]) == 0)  # masked edges are 0 in the result


def test_divergence_is_flagged_not_raised():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(16, 3)), jnp.float32)
    y = x @ jnp.ones((3, 1), jnp.float32)
    r = nnlab.train(jax.random.key(0), x, y, sizes=[3, 8, 1], restarts=4, steps=200,
                    lr=np.array([1e3, 1e-2, 1e3, 1e-2], np.float32), hidden="identity", output="identity")
    np.testing.assert_array_equal(r.diverged, [True, False, True, False])
    assert np.all(np.isfinite(np.asarray(r.loss)[[1, 3]]))


def test_weights_blown_up_by_an_absurd_step_size_count_as_diverged():
    # with a sigmoid output the loss stays finite however large the step: the weights run off instead
    x = jnp.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
    y = jnp.asarray([[0], [1], [1], [0]], jnp.float32)
    lr = np.array([1e30, 2.0, 1e30, 2.0], np.float32)
    r = nnlab.train(jax.random.key(0), x, y, sizes=[2, 2, 1], restarts=4, steps=50, lr=lr)
    assert np.all(np.isfinite(np.asarray(r.loss)))
    np.testing.assert_array_equal(r.diverged, [True, False, True, False])
    unbounded = nnlab.train(jax.random.key(0), x, y, sizes=[2, 2, 1], restarts=4, steps=50, lr=lr, blowup=None)
    assert not np.any(unbounded.diverged)


@pytest.mark.parametrize("bad, match", [
    (dict(schedule="cosine"), "schedule 'cosine' is unknown"),
    (dict(hidden="swish"), "activation 'swish' is unknown"),
    (dict(batch_size=5), "batch_size must be None or 1..4"),
    (dict(steps=0), "must be >= 1"),
    (dict(sizes=[3, 2, 1]), r"x must be \(N, 3\)"),
    (dict(loss="cross_entropy", output="tanh"), "needs output='sigmoid'"),
])
def test_bad_arguments_raise_clear_errors(bad, match):
    kw = dict(sizes=[2, 2, 1], steps=2) | bad
    with pytest.raises(ValueError, match=match):
        nnlab.train(jax.random.key(0), XOR_X, XOR_Y, **kw)


# ---------------------------------------------------------------- populations: many architectures in one call

WIDTHS = [2, 3, 8]


@pytest.mark.parametrize("layout", ["lanes", "rows"])
def test_key_rule_each_width_trained_together_equals_it_trained_alone_bit_for_bit(layout):
    """Network (width w, restart i) is the same network whether it trains alone or beside other widths:
    the same initial weights, the same training, bit for bit (docs/design.md, the key rule)."""
    kw = dict(restarts=6, steps=300, lr=2.0, layout=layout)
    together = nnlab.train(jax.random.key(3), XOR_X, XOR_Y, sizes=[[2, w, 1] for w in WIDTHS], **kw)
    assert together.params[0]["W"].shape == (18, 2, 8)
    np.testing.assert_array_equal(together.sizes, [[2, w, 1] for w in WIDTHS for _ in range(6)])
    np.testing.assert_array_equal(together.restart_ids, np.tile(np.arange(6), 3))
    for a, w in enumerate(WIDTHS):
        alone = nnlab.train(jax.random.key(3), XOR_X, XOR_Y, sizes=[2, w, 1], **kw)
        for i in range(6):
            for p, q in zip(jax.tree.leaves(together.network(6 * a + i)), jax.tree.leaves(alone.network(i))):
                np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(together.history[6 * a:6 * a + 6], alone.history)
        # the final loss is a separate reduction, compiled for the padded shapes: equal to float rounding
        np.testing.assert_allclose(together.loss[6 * a:6 * a + 6], alone.loss, rtol=1e-6)
        padded = np.asarray(together.params[0]["W"][6 * a:6 * a + 6])
        assert np.all(padded[:, :, w:] == 0) and np.all(np.asarray(together.params[1]["W"][6 * a:6 * a + 6, w:]) == 0)


@pytest.mark.parametrize("engine, batch_size", [("vmap", None), ("packed", 2)])
def test_key_rule_initial_weights_and_minibatch_orders_do_not_depend_on_the_sweep(engine, batch_size):
    """One step with lr = 0 returns the initial weights: exactly those of init_mlp at the true sizes; and with
    any engine or minibatches the trained nets agree with the lone ones to float rounding."""
    still = nnlab.train(jax.random.key(5), XOR_X, XOR_Y, sizes=[[2, w, 1] for w in WIDTHS], restarts=3, steps=1,
                        lr=0.0, engine=engine)
    for m in range(9):
        own = nnlab.init_mlp(jax.random.fold_in(jax.random.fold_in(jax.random.key(5), m % 3), 0),
                             still.sizes[m], dtype=jnp.float32)
        for p, q in zip(jax.tree.leaves(still.network(m)), jax.tree.leaves(own)):
            np.testing.assert_array_equal(p, q)
    kw = dict(restarts=3, steps=200, lr=2.0, engine=engine, batch_size=batch_size)
    together = nnlab.train(jax.random.key(5), XOR_X, XOR_Y, sizes=[[2, w, 1] for w in WIDTHS], **kw)
    for a, w in enumerate(WIDTHS):
        alone = nnlab.train(jax.random.key(5), XOR_X, XOR_Y, sizes=[2, w, 1], **kw)
        np.testing.assert_allclose(together.loss[3 * a:3 * a + 3], alone.loss, rtol=1e-4, atol=1e-6)


def test_init_draws_do_not_depend_on_the_layer_sizes():
    """Each neuron draws its incoming edges from its own key: a narrow net is the first units of a wide one
    (with the scale of its own fan-in), and the draws are N(0, 1/fan_in)."""
    key = jax.random.key(11)
    narrow, wide = nnlab.init_mlp(key, [3, 2, 1]), nnlab.init_mlp(key, [3, 5, 1])
    np.testing.assert_allclose(narrow[0]["W"], wide[0]["W"][:, :2], rtol=1e-12)
    np.testing.assert_allclose(narrow[0]["b"], wide[0]["b"][:2], rtol=1e-12)
    np.testing.assert_allclose(narrow[1]["W"] * np.sqrt(2), wide[1]["W"][:2] * np.sqrt(5), rtol=1e-12)
    big = nnlab.init_mlp(key, [400, 300, 1])
    w = np.asarray(big[0]["W"]).ravel() * np.sqrt(400)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # 120,000 draws
    u = np.asarray(nnlab.init_mlp(key, [400, 300, 1], init="uniform", scale=2.0)[0]["W"]).ravel()
    assert -2 <= u.min() and u.max() <= 2 and abs(u.std() - 2 / np.sqrt(3)) < 0.01


def test_networks_of_different_inputs_read_the_first_columns():
    """A population over input sizes: the 1-input nets see column 0 only, trained at their true fan-in."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.tanh(x[:, :1])
    kw = dict(restarts=2, steps=50, lr=0.3, hidden="tanh", output="identity")
    both = nnlab.train(jax.random.key(2), x, y, sizes=[[1, 4, 1], [3, 4, 1]], **kw)
    alone = nnlab.train(jax.random.key(2), x[:, :1], y, sizes=[1, 4, 1], **kw)
    np.testing.assert_allclose(both.loss[:2], alone.loss, rtol=1e-5)
    assert np.all(np.asarray(both.params[0]["W"][:2, 1:]) == 0)


def test_explicit_networks_by_arch_and_restart_ids():
    sizes = [[2, 2, 1], [2, 5, 1]]
    r = nnlab.train(jax.random.key(4), XOR_X, XOR_Y, sizes=sizes, arch=[1, 0, 1], restart_ids=[7, 7, 2],
                    steps=100, lr=2.0)
    full = nnlab.train(jax.random.key(4), XOR_X, XOR_Y, sizes=sizes, restarts=8, steps=100, lr=2.0)
    np.testing.assert_array_equal(r.sizes, [[2, 5, 1], [2, 2, 1], [2, 5, 1]])
    np.testing.assert_allclose(r.loss, np.asarray(full.loss)[[15, 7, 10]], rtol=1e-5)


@pytest.mark.parametrize("kw, match", [
    (dict(sizes=[[2, 2, 1], [2, 3, 3, 1]]), "architectures of equal depth"),
    (dict(sizes=[[2, 2, 1], [2, 3, 2]]), "the same outputs"),
    (dict(sizes=[[2, 2, 1], [2, 3, 1]], arch=[0, 2], restart_ids=[0, 1]), "indices into 2 architectures"),
    (dict(sizes=[[2, 2, 1], [2, 3, 1]], arch=[0, 1], restart_ids=[0]), "the same networks"),
    (dict(sizes=[[2, 2, 1], [2, 3, 1]], restarts=2, lr=np.ones(2)), "lr has 2 networks"),
    (dict(sizes=[[1, 2, 1], [1, 3, 1]]), r"x must be \(N, 1\)"),
])
def test_bad_populations_raise_clear_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        nnlab.train(jax.random.key(0), XOR_X, XOR_Y, steps=2, **kw)
