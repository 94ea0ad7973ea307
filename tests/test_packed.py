"""The packed engine (nnlab.packed, train's default) against the plain per-restart path, in float64."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlab
from nnlab import packed

SMOOTH = [a for a in nnlab.ACTIVATIONS if a != "step"]


def random_params(rng, sizes, R):
    return [{"W": jnp.asarray(rng.normal(size=(R, i, o)) / np.sqrt(i)), "b": jnp.asarray(rng.normal(size=(R, o)))}
            for i, o in zip(sizes[:-1], sizes[1:])]


@st.composite
def problems(draw):
    depth = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 6)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(["squared", "cross_entropy"]))
    output = "sigmoid" if loss == "cross_entropy" else draw(st.sampled_from(SMOOTH))
    hidden = tuple(draw(st.sampled_from(SMOOTH)) for _ in range(depth - 1))
    return sizes, hidden + (output,), loss, draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.booleans())


@settings(max_examples=6)
@given(problems(), st.integers(0, 2**31 - 1))
def test_packed_gradients_equal_per_restart_backprop(problem, seed):
    """Every layout, shared or per-restart examples: loss (R,) and grads equal loss_and_grad restart by restart."""
    sizes, activations, loss, N, R, per_restart_y = problem
    rng = np.random.default_rng(seed)
    params = random_params(rng, sizes, R)
    x = rng.normal(size=(N, sizes[0]))
    xs = rng.normal(size=(R, N, sizes[0]))
    y = rng.uniform(size=(R, N, sizes[-1]) if per_restart_y else (N, sizes[-1]))
    hidden, output = activations[:-1], activations[-1]
    one = jax.jit(nnlab.loss_and_grad, static_argnums=(3, 4, 5))
    for layout in packed.LAYOUTS:
        for inputs, shared in ((x, True), (xs, False)):
            yl = packed.per_restart(y, layout) if per_restart_y else packed.shared(y, layout)
            xl = packed.shared(inputs, layout) if shared else packed.per_restart(inputs, layout)
            value, grads = jax.jit(packed.loss_and_grad, static_argnums=(3, 4, 5))(
                packed.pack(params, layout), xl, yl, activations, loss, layout)
            grads = packed.unpack(grads, layout)
            for r in range(R):
                p_r = jax.tree.map(lambda a: a[r], params)
                v_r, g_r = one(p_r, inputs if shared else xs[r], y[r] if per_restart_y else y, hidden, output, loss)
                np.testing.assert_allclose(value[r], v_r, rtol=1e-12, atol=1e-14)
                for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(g_r)):
                    np.testing.assert_allclose(a[r], b, rtol=1e-10, atol=1e-13)


@pytest.fixture(params=packed.LAYOUTS)
def layout(request):
    return request.param


def same_results(a, b, rtol=1e-9):
    np.testing.assert_allclose(a.loss, b.loss, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.history, b.history, rtol=rtol, atol=1e-12)
    np.testing.assert_array_equal(a.history_steps, b.history_steps)
    np.testing.assert_array_equal(a.diverged, b.diverged)
    for p, q in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-12)


CASES = {
    # two hidden layers (wide enough for rows' matmul path), inverse_time, a tail record,
    # per-restart masks, targets and initial weights
    "full_batch": dict(
        sizes=[3, 9, 8, 2], hidden=("tanh", "sigmoid"), steps=23, records=5, schedule="inverse_time",
        mask="per_restart", per_restart_y=True, init_params=True),
    # minibatches of 3, shared mask, relu, identity output, per-restart step sizes, inverse_sqrt
    "minibatches": dict(
        sizes=[3, 6, 2], batch_size=3, steps=17, records=4, mask="shared", hidden="relu", output="identity",
        per_restart_lr=True, schedule="inverse_sqrt"),
    "per_example_cross_entropy": dict(sizes=[3, 4, 2], batch_size=1, steps=20, loss="cross_entropy"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_packed_training_equals_the_vmapped_path(case, layout):
    kw = dict(CASES[case])
    rng = np.random.default_rng(len(case))
    R, N = 5, 10
    sizes = kw["sizes"]
    x = rng.normal(size=(N, sizes[0]))
    y = rng.uniform(size=(R, N, sizes[-1]) if kw.pop("per_restart_y", False) else (N, sizes[-1]))
    lr = rng.uniform(0.1, 0.5, size=R) if kw.pop("per_restart_lr", False) else 0.3
    mask = kw.pop("mask", None)
    if mask is not None:
        lead = (R,) if mask == "per_restart" else ()
        mask = [{"W": (rng.uniform(size=lead + (i, o)) < 0.7).astype(float), "b": np.ones(lead + (o,))}
                for i, o in zip(sizes[:-1], sizes[1:])]
        if lead:
            mask[0]["W"][0, :, 3:] = 0  # restart 0 has width 3 of 6
            mask[1]["W"][0, 3:, :] = 0
    if kw.pop("init_params", False):
        kw["init_params"] = random_params(rng, sizes, R)
    kw = dict(lr=lr, mask=mask, restarts=R, **kw)
    fast = nnlab.train(jax.random.key(3), x, y, layout=layout, **kw)
    plain = nnlab.train(jax.random.key(3), x, y, engine="vmap", **kw)
    same_results(fast, plain)
    if mask is not None:  # removed edges are zero in the result
        m = np.broadcast_to(mask[0]["W"], fast.params[0]["W"].shape)
        assert (m == 0).any()
        np.testing.assert_array_equal(np.asarray(fast.params[0]["W"])[m == 0], 0.0)


def test_rows_layout_restart_identity_and_divergence():
    """(test_train checks these on small nets, which "auto" runs in "lanes".)"""
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = x[:, :1] * 3.0
    kw = dict(sizes=[2, 3, 1], steps=40, hidden="identity", output="identity", batch_size=2, layout="rows")
    many = nnlab.train(jax.random.key(1), x, y, restarts=6, lr=np.array([1e-2, 50.0] * 3), **kw)
    some = nnlab.train(jax.random.key(1), x, y, restarts=2, restart_ids=[4, 1], lr=np.array([1e-2, 50.0]), **kw)
    np.testing.assert_array_equal(many.diverged, [False, True] * 3)
    np.testing.assert_allclose(some.loss[0], many.loss[4], rtol=1e-12)
    assert not np.isfinite(some.loss[1])


def test_unknown_engine_or_layout_is_a_clear_error():
    args = (jax.random.key(0), np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="engine 'fast' is unknown"):
        nnlab.train(*args, sizes=[1, 1], engine="fast")
    with pytest.raises(ValueError, match="layout 'columns' is not allowed with engine 'packed'; allowed: auto, rows"):
        nnlab.train(*args, sizes=[1, 1], layout="columns")
    with pytest.raises(ValueError, match="layout 'rows' is not allowed with engine 'vmap'"):
        nnlab.train(*args, sizes=[1, 1], engine="vmap", layout="rows")


@pytest.mark.parametrize("sizes, batch, shared, expected", [
    ((4, 8, 1), 16, True, "lanes"), ((2, 64, 1), 16, True, "lanes"),  # tiny nets, a few shared examples
    ((8, 64, 1), 256, True, "rows"), ((64, 16, 1), 64, True, "rows"),  # wide or many examples
    ((4, 8, 1), 1, False, "rows"),  # per-example SGD: each network its own example
])
def test_auto_picks_the_layout_by_sizes_and_batch(sizes, batch, shared, expected):
    assert packed.choose_layout(sizes, batch, shared) == expected


SCRIPT = """
import json, jax, numpy as np, nnlab
x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
y = np.array([[0], [1], [1], [0]], np.float32)
r = nnlab.train(jax.random.key(3), x, y, sizes=[2, 3, 1], restarts=5, steps=300, lr=2.0, batch_size=2,
                layout={layout!r})
print(json.dumps({{"devices": jax.local_device_count(), "loss": np.asarray(r.loss).tolist()}}))
"""


def test_rows_layout_shards_over_two_devices_with_the_same_results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(layout="rows")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    single = nnlab.train(jax.random.key(3), x, y, sizes=[2, 3, 1], restarts=5, steps=300, lr=2.0, batch_size=2,
                         layout="rows")
    assert out["devices"] == 2
    np.testing.assert_allclose(out["loss"], np.asarray(single.loss), rtol=1e-4, atol=1e-6)
