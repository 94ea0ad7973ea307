"""SGD with many restarts in one compiled program.

One restart is written for one network (``_train_one``); restarts are a
``vmap`` axis and the step loop is a ``lax.scan``, all inside one ``jit``.
Restart i starts from the key ``fold_in(key, i)``, so it is the same network
whatever the number of restarts. Values that change between sweep points
(lr, t0, targets, masks) are array arguments, so a sweep compiles once.

``engine="packed"`` (the default) runs the same algorithm on all restarts at
once in the packed layout of ``nnlab.packed`` (large matrix products instead of
R tiny ones; full-batch losses recorded from the training step itself);
``engine="vmap"`` is the plain per-restart program above, kept as its oracle.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import packed
from .backprop import loss_and_grad
from .losses import get_loss
from .mlp import Params, forward_layers, init_mlp, layer_activations
from .schedules import SCHEDULES, step_size
from .shuffle import permutations

Array = jax.Array


class TrainResult(NamedTuple):
    """What ``train`` returns; R restarts, K recorded steps."""

    params: Params  # every leaf has a leading restart axis R
    loss: Array  # (R,) final loss on the whole training set
    history: Array  # (R, K) loss on the whole training set at ``history_steps``
    history_steps: Array  # (K,) step index of each recorded loss
    diverged: Array  # (R,) True where the loss or a weight is NaN/inf, or a weight's magnitude exceeds blowup


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
    layout: str = "rows"  # packed engine: where the restart axis goes (nnlab.packed)


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


def _times(eta: Array, g: Array, layout: str) -> Array:
    """eta () or (R,) times a packed gradient leaf g (restart axis first or last)."""
    if eta.ndim == 0:
        return eta * g
    ones = (1,) * (g.ndim - 1)
    return eta.reshape((-1,) + ones if layout == "rows" else ones + (-1,)) * g


def _train_packed(restart_keys, x, y, mask, lr, t0, params, spec: _Spec, batched: tuple[bool, ...]):
    """``_train_many`` for all restarts at once in the packed layout ``spec.layout``.

    Same algorithm, keys and shuffles as ``_train_one``, step for step. Masked
    edges: training runs on W * mask with masked gradients (so the removed edges
    stay 0 and never act); their initial weights are added back at the end.
    """
    y_batched, mask_batched, _, _ = batched
    layout, activations = spec.layout, spec.activations
    R, n = restart_keys.shape[0], x.shape[0]
    if params is None:
        init = lambda k: init_mlp(jax.random.fold_in(k, 0), spec.sizes, spec.init, spec.init_scale, x.dtype)
        params = jax.vmap(init)(restart_keys)
    W = packed.pack(params, layout)
    if mask is not None:
        if not mask_batched:  # the same edges in every restart
            mask = jax.tree.map(lambda m: m[None], mask)
        mask = jax.tree.map(lambda m: m.astype(x.dtype), packed.pack(mask, layout))
        removed = jax.tree.map(lambda p, m: p * (1 - m), W, mask)
        W = jax.tree.map(lambda p, m: p * m, W, mask)
    x_all = packed.shared(x, layout)
    y_all = packed.per_restart(y, layout) if y_batched else packed.shared(y, layout)
    shuffle_keys = jax.vmap(jax.random.fold_in, (0, None))(restart_keys, 1)
    per_epoch = 1 if spec.batch_size is None else n // spec.batch_size

    def minibatch(order, t):
        """Each restart's own examples at step t, in ``layout``."""
        idx = jax.lax.dynamic_slice_in_dim(order, (t % per_epoch) * spec.batch_size, spec.batch_size, axis=1)
        yb = jnp.take_along_axis(y, idx[:, :, None], axis=1) if y_batched else y[idx]
        return packed.per_restart(x[idx], layout), packed.per_restart(yb, layout)

    def sgd_step(carry, t):
        W, order = carry
        if spec.batch_size is None:
            xb, yb = x_all, y_all
        else:
            # A new random order of the examples at the start of every epoch.
            # (nnlab.shuffle.permutations: jax.random.permutation's orders, faster.)
            epoch_keys = lambda: jax.vmap(jax.random.fold_in, (0, None))(shuffle_keys, t // per_epoch)
            order = jax.lax.cond(t % per_epoch == 0, lambda: permutations(epoch_keys(), n), lambda: order)
            xb, yb = minibatch(order, t)
        value, grads = packed.loss_and_grad(W, xb, yb, activations, spec.loss, layout)
        if mask is not None:
            grads = jax.tree.map(lambda g, m: g * m, grads, mask)
        eta = step_size(spec.schedule, lr, t.astype(x.dtype), t0)
        W = jax.tree.map(lambda p, g: p - _times(eta, g, layout), W, grads)
        return (W, order), value

    def run_chunk(carry, start, length):
        """Record the loss on all data at step ``start``, then take ``length`` steps."""
        if spec.batch_size is not None:
            recorded = packed.loss_value(carry[0], x_all, y_all, activations, spec.loss, layout)
        carry, step_losses = jax.lax.scan(sgd_step, carry, start + jnp.arange(length))
        if spec.batch_size is None:  # full batch: the first step computed it already
            recorded = step_losses[0]
        return carry, recorded

    stride = -(-spec.steps // spec.records)
    full, tail = divmod(spec.steps, stride)
    carry = (W, jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (R, n)))
    carry, history = jax.lax.scan(lambda c, k: run_chunk(c, k * stride, stride), carry, jnp.arange(full))
    if tail:
        carry, last = run_chunk(carry, full * stride, tail)
        history = jnp.concatenate([history, last[None]])
    W = carry[0]
    final = packed.loss_value(W, x_all, y_all, activations, spec.loss, layout)
    if mask is not None:
        W = jax.tree.map(lambda p, r: p + r, W, removed)
    return packed.unpack(W, layout), final, history.T


ENGINES = ("packed", "vmap")


def _packed_plan(sizes, n: int, batch_size: int | None) -> dict:
    """Static choices of the packed engine for N = n examples (see nnlab.packed.choose_layout)."""
    batch = n if batch_size is None else batch_size
    return {"layout": packed.choose_layout(sizes, batch, shared_batch=batch_size is None)}


@functools.lru_cache(maxsize=64)
def _packed_program(spec: _Spec, batched: tuple[bool, ...], devices: int):
    """The jitted packed trainer; over several devices, each trains its own share of restarts."""
    if devices == 1:
        return jax.jit(_train_packed, static_argnames=("spec", "batched"))
    mesh = jax.sharding.Mesh(np.array(jax.local_devices()), ("restarts",))
    split, shared = jax.sharding.PartitionSpec("restarts"), jax.sharding.PartitionSpec()
    y_b, mask_b, lr_b, params_b = (split if b else shared for b in batched)
    program = jax.shard_map(
        functools.partial(_train_packed, spec=spec, batched=batched), mesh=mesh,
        in_specs=(split, shared, y_b, mask_b, lr_b, shared, params_b), out_specs=split,
        check_vma=False,  # restarts never talk to each other
    )
    return jax.jit(lambda *args, spec, batched: program(*args), static_argnames=("spec", "batched"))


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
    *,
    blowup: float | None = 1e6,
    engine: str = "packed",
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
    blowup: a restart counts as diverged when its final loss or a weight is
      NaN/inf, or when a weight's magnitude exceeds ``blowup`` (None: no bound).
      With a sigmoid or tanh output the loss stays finite however large the
      step size; the weights run off instead, and a net with weights of 1e6 on
      inputs of order one has every unit saturated: it stopped by overflow.
    engine: ``"packed"`` (fast, all restarts in one set of large products) or
      ``"vmap"`` (one restart written alone, vmapped); equal to float rounding.
    Runs in the dtype of x (float32 unless x is float64).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is unknown; allowed: {', '.join(ENGINES)}")
    if int(steps) < 1 or int(restarts) < 1 or int(records) < 1:
        raise ValueError(f"steps, restarts and records must be >= 1, got {steps}, {restarts}, {records}")
    if blowup is not None and not blowup > 0:
        raise ValueError(f"blowup must be None or > 0, got {blowup}")
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
    if engine == "packed":
        spec = spec._replace(**_packed_plan(sizes, x.shape[0], spec.batch_size))
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
    run = _train_jit if engine == "vmap" else _packed_program(spec, per_restart, devices)
    params, final, history = run(
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
        diverged=_diverged(final, params, blowup),
    )


def _diverged(final: Array, params: Params, blowup: float | None) -> Array:
    """(R,) True where the final loss is not finite or a weight is NaN, inf or beyond ``blowup``."""
    largest = functools.reduce(jnp.maximum, [jnp.max(jnp.abs(w).reshape(len(final), -1), axis=1)
                                             for w in jax.tree.leaves(params)])
    bound = jnp.inf if blowup is None else blowup
    return ~jnp.isfinite(final) | ~(largest <= bound) | ~jnp.isfinite(largest)
