"""SGD with many restarts in one compiled program.

One restart is written for one network (``_train_one``); restarts are a
``vmap`` axis and the step loop is a ``lax.scan``, all inside one ``jit``.
Restart i starts from the key ``fold_in(key, i)``, so it is the same network
whatever the number of restarts. Values that change between sweep points
(lr, t0, targets, masks) are array arguments, so a sweep compiles once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .backprop import loss_and_grad
from .losses import get_loss
from .mlp import Params, forward_layers, init_mlp, layer_activations
from .schedules import SCHEDULES, step_size

Array = jax.Array


class TrainResult(NamedTuple):
    """What ``train`` returns; R restarts, K recorded steps."""

    params: Params  # every leaf has a leading restart axis R
    loss: Array  # (R,) final loss on the whole training set
    history: Array  # (R, K) loss on the whole training set at ``history_steps``
    history_steps: Array  # (K,) step index of each recorded loss
    diverged: Array  # (R,) True where the final loss is NaN or infinite


class _Spec(NamedTuple):
    """Everything static about a training run (hashable: part of the jit cache key)."""

    sizes: tuple[int, ...]
    steps: int
    schedule: str
    activations: tuple[str, ...]
    loss: str
    batch_size: int | None
    init: str
    init_scale: float | None
    records: int


def data_loss(params: Params, x: Array, y: Array, spec: _Spec, mask=None) -> Array:
    """Loss of one network on (x, y). x: (batch, n_in), y: (batch, n_out) -> ()."""
    hidden, output = spec.activations[:-1], spec.activations[-1]
    zs, outs = forward_layers(params, x, hidden, output, mask)
    return get_loss(spec.loss, output).value(zs[-1], outs[-1], y)


def _train_one(key, x, y, mask, lr, t0, params, spec: _Spec):
    """Train one network. key: restart key; x: (N, n_in); y: (N, n_out)."""
    hidden, output = spec.activations[:-1], spec.activations[-1]
    init_key, shuffle_key = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
    if params is None:
        params = init_mlp(init_key, spec.sizes, spec.init, spec.init_scale, x.dtype)
    n = x.shape[0]
    per_epoch = 1 if spec.batch_size is None else n // spec.batch_size

    def sgd_step(carry, t):
        params, order = carry
        if spec.batch_size is None:
            xb, yb = x, y
        else:
            # A new random order of the examples at the start of every epoch.
            # t is the same for every restart, so under vmap this stays a cond.
            order = jax.lax.cond(
                t % per_epoch == 0,
                lambda: jax.random.permutation(jax.random.fold_in(shuffle_key, t // per_epoch), n),
                lambda: order,
            )
            idx = jax.lax.dynamic_slice(order, ((t % per_epoch) * spec.batch_size,), (spec.batch_size,))
            xb, yb = x[idx], y[idx]
        _, grads = loss_and_grad(params, xb, yb, hidden, output, spec.loss, mask)
        eta = step_size(spec.schedule, lr, t.astype(x.dtype), t0)
        params = jax.tree.map(lambda p, g: p - eta * g, params, grads)
        return (params, order), None

    def run_chunk(carry, start, length):
        """Record the loss at step ``start``, then take ``length`` steps."""
        recorded = data_loss(carry[0], x, y, spec, mask)
        carry, _ = jax.lax.scan(sgd_step, carry, start + jnp.arange(length))
        return carry, recorded

    stride = -(-spec.steps // spec.records)
    full, tail = divmod(spec.steps, stride)
    carry = (params, jnp.arange(n))
    carry, history = jax.lax.scan(
        lambda c, k: run_chunk(c, k * stride, stride), carry, jnp.arange(full)
    )
    if tail:
        carry, last = run_chunk(carry, full * stride, tail)
        history = jnp.concatenate([history, last[None]])
    params = carry[0]
    return params, data_loss(params, x, y, spec, mask), history


def _train_many(restart_keys, x, y, mask, lr, t0, params, spec: _Spec, batched: tuple[bool, ...]):
    axes = tuple(0 if b else None for b in batched)
    one = lambda k, y_, m, lr_, p: _train_one(k, x, y_, m, lr_, t0, p, spec)
    return jax.vmap(one, in_axes=(0,) + axes)(restart_keys, y, mask, lr, params)


_train_jit = jax.jit(_train_many, static_argnames=("spec", "batched"))


def _pad_restarts(tree, total: int):
    """Repeat the last restart so the leading axis has length ``total``."""
    def pad(a):
        extra = total - a.shape[0]
        return a if extra == 0 else jnp.concatenate([a, jnp.repeat(a[-1:], extra, axis=0)])
    return jax.tree.map(pad, tree)


def _shard_restarts(tree):
    """Spread the leading restart axis over all local devices."""
    mesh = jax.sharding.Mesh(np.array(jax.local_devices()), ("restarts",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("restarts"))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)


def train(
    key: Array,
    x: Array,
    y: Array,
    sizes: Sequence[int],
    restarts: int = 1,
    steps: int = 1000,
    lr=0.1,
    schedule: str = "constant",
    hidden: str | Sequence[str] = "sigmoid",
    output: str = "sigmoid",
    loss: str = "squared",
    batch_size: int | None = None,
    init: str = "normal",
    init_scale: float | None = None,
    t0=100.0,
    records: int = 100,
    mask: Params | None = None,
    restart_ids: Array | None = None,
    init_params: Params | None = None,
) -> TrainResult:
    """Train ``restarts`` networks of layer sizes ``sizes`` on (x, y) by SGD.

    x: (N, n_in). y: (N, n_out), or (R, N, n_out) for one target per restart.
    lr: base step size, a scalar or (R,). The step size at step t is
      ``lr x schedule(t)``, see ``nnlab.schedules`` (t0 sets the decay time).
    batch_size: None for full batch; b for minibatches of b examples (1 is the
      article's per-example SGD), reshuffled every epoch of N // b steps.
    init, init_scale: initial weights, see ``init_mlp``; ``init_params`` (leaves
      with a leading R axis) starts from given weights instead.
    mask: 0/1 edges shaped like params, shared or with a leading R axis.
    restart_ids: (R,) integers naming the restarts, default ``arange(restarts)``;
      restart i uses the key ``fold_in(key, i)``.
    records: how many losses to record along the way (evenly spaced steps).
    Runs in the dtype of x (float32 unless x is float64).
    """
    if int(steps) < 1 or int(restarts) < 1 or int(records) < 1:
        raise ValueError(f"steps, restarts and records must be >= 1, got {steps}, {restarts}, {records}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r} is unknown; allowed: {', '.join(SCHEDULES)}")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    y = jnp.asarray(y, x.dtype)
    sizes = tuple(int(s) for s in sizes)
    activations = layer_activations(len(sizes) - 1, hidden, output)
    get_loss(loss, output)
    if x.ndim != 2 or x.shape[1] != sizes[0]:
        raise ValueError(f"x must be (N, {sizes[0]}), got {x.shape}")
    if y.shape[-2:] != (x.shape[0], sizes[-1]) or y.ndim not in (2, 3):
        raise ValueError(f"y must be ({x.shape[0]}, {sizes[-1]}) or (R, {x.shape[0]}, {sizes[-1]}), got {y.shape}")
    if batch_size is not None and not 1 <= int(batch_size) <= x.shape[0]:
        raise ValueError(f"batch_size must be None or 1..{x.shape[0]}, got {batch_size}")
    spec = _Spec(
        sizes, int(steps), schedule, tuple(activations), loss,
        None if batch_size is None else int(batch_size), init,
        None if init_scale is None else float(init_scale), min(int(records), int(steps)),
    )
    restart_ids = jnp.arange(restarts) if restart_ids is None else jnp.asarray(restart_ids)
    R = restart_ids.shape[0]
    lr = jnp.asarray(lr, x.dtype)
    per_restart = (
        y.ndim == 3,
        mask is not None and mask[0]["W"].ndim == 3,
        lr.ndim == 1,
        init_params is not None,
    )
    args = [y, mask, lr, init_params]
    for name, arg, batched in zip(("y", "mask", "lr", "init_params"), args, per_restart):
        leading = jax.tree.leaves(arg)[0].shape[0] if batched else R
        if leading != R:
            raise ValueError(f"{name} has {leading} restarts on its leading axis, expected {R}")

    devices = jax.local_device_count()
    padded = -(-R // devices) * devices
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, restart_ids)
    if devices > 1:
        keys = _shard_restarts(_pad_restarts(keys, padded))
        args = [_shard_restarts(_pad_restarts(a, padded)) if b else a for a, b in zip(args, per_restart)]
    params, final, history = _train_jit(
        keys, x, args[0], args[1], args[2], jnp.asarray(t0, x.dtype), args[3],
        spec=spec, batched=per_restart,
    )
    if padded != R:
        params, final, history = jax.tree.map(lambda a: a[:R], (params, final, history))
    stride = -(-spec.steps // spec.records)
    return TrainResult(
        params=params,
        loss=final,
        history=history,
        history_steps=jnp.arange(history.shape[1]) * stride,
        diverged=~jnp.isfinite(final),
    )
