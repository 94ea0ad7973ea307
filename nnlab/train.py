"""SGD on a population of networks in one compiled program.

``train`` takes one architecture or a list of them (``nnlab.population``): all
networks, restarts and architectures alike, train side by side in one ``jit``
with the step loop in a ``lax.scan``. Network (architecture, restart i) starts
from the key ``fold_in(key, i)`` (weights from ``fold_in(., 0)``, minibatch
orders from ``fold_in(., 1)``), so it is the same network whatever else trains
beside it. Values that change between sweep points (lr, t0, targets, masks)
are array arguments, so a sweep compiles once.

One training loop (``_train``: minibatches, step sizes, masks, recorded losses)
serves two engines, which differ only in how they run backprop on all networks
at once (``nnlab.engines``):

- ``"packed"`` (default): ``nnlab.packed``, the networks side by side in large
  array operations, in the layout ``"rows"`` or ``"lanes"`` (``layout="auto"``
  picks one by ``packed.choose_layout``);
- ``"vmap"``: ``nnlab.backprop.loss_and_grad``, written for one network,
  vmapped over the networks: the plain program, kept as the oracle.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import packed
from .engines import grouped_engine, packed_engine, vmap_engine
from .losses import get_loss
from .mlp import Params, layer_activations
from .population import Population, init_population, padding_mask, size_groups, unpad
from .schedules import SCHEDULES, step_size
from .shuffle import permutations

Array = jax.Array
ENGINES = ("packed", "vmap")
LAYOUTS = ("auto",) + packed.LAYOUTS


class TrainResult(NamedTuple):
    """What ``train`` returns for M networks (M = architectures x restarts), K recorded steps."""

    params: Params  # leading axis M; padded to the largest sizes, padded units exactly 0
    loss: Array  # (M,) final loss on the whole training set
    history: Array  # (M, K) loss on the whole training set at ``history_steps``
    history_steps: Array  # (K,) step index of each recorded loss
    diverged: Array  # (M,) True where the loss or a weight is NaN/inf, or a weight's magnitude exceeds blowup
    sizes: np.ndarray  # (M, L + 1) the true layer sizes of each network
    restart_ids: np.ndarray  # (M,) network m started from fold_in(key, restart_ids[m])

    def network(self, m: int) -> Params:
        """Network m's params at its true layer sizes."""
        return unpad(jax.tree.map(lambda a: a[m], self.params), self.sizes[m])


class _Spec(NamedTuple):
    """Everything static about a training run (hashable: part of the jit cache key)."""

    sizes: tuple[int, ...]  # padded layer sizes of every network, as it enters and leaves
    steps: int
    schedule: str
    activations: tuple[str, ...]
    loss: str
    batch_size: int | None
    records: int
    engine: str
    groups: tuple[tuple[tuple[int, ...], int, str], ...]  # per group: padded sizes, networks (per device), layout


def _train(keys, x, y, mask, lr, t0, params, spec: _Spec, batched: tuple[bool, ...]):
    """Train M networks from ``params`` (leading axis M) for spec.steps SGD steps.

    keys: (M,) restart keys; x: (N, n_in) shared; y: (N, n_out) or (M, N, n_out);
    mask: None, shared or (M, ...); lr: () or (M,). Masked edges train as zeros:
    the weights start masked and their gradients are masked.
    Returns (params, final loss (M,), history (M, K)).
    """
    y_batched, mask_batched, _ = batched
    engine = grouped_engine([(packed_engine(spec.activations, spec.loss, layout) if spec.engine == "packed"
                              else vmap_engine(spec.activations, spec.loss), count, sizes)
                             for sizes, count, layout in spec.groups], spec.sizes)
    M, n = keys.shape[0], x.shape[0]
    W = engine.pack(params)
    if mask is not None:
        if not mask_batched:  # the same edges in every network
            mask = jax.tree.map(lambda m: jnp.broadcast_to(m, (M,) + m.shape), mask)
        mask = jax.tree.map(lambda m: m.astype(x.dtype), engine.pack(mask))
        W = jax.tree.map(lambda p, m: p * m, W, mask)
    x_all = engine.shared(x)
    y_all = engine.per_network(y) if y_batched else engine.shared(y)
    per_epoch = 1 if spec.batch_size is None else n // spec.batch_size
    shuffle_keys = jax.vmap(jax.random.fold_in, (0, None))(keys, 1)

    def minibatch(order, t):
        """A new random order of the examples at every epoch's start; each network's batch at step t."""
        new_order = lambda: permutations(jax.vmap(jax.random.fold_in, (0, None))(shuffle_keys, t // per_epoch), n)
        order = jax.lax.cond(t % per_epoch == 0, new_order, lambda: order)
        idx = jax.lax.dynamic_slice_in_dim(order, (t % per_epoch) * spec.batch_size, spec.batch_size, axis=1)
        yb = jnp.take_along_axis(y, idx[:, :, None], axis=1) if y_batched else y[idx]
        return order, engine.per_network(x[idx]), engine.per_network(yb)

    def sgd_step(carry, t):
        W, order = carry
        if spec.batch_size is None:
            xb, yb = x_all, y_all
        else:
            order, xb, yb = minibatch(order, t)
        value, grads = engine.loss_and_grad(W, xb, yb)
        if mask is not None:
            grads = jax.tree.map(lambda g, m: g * m, grads, mask)
        eta = step_size(spec.schedule, lr, t.astype(x.dtype), t0)
        W = engine.descend(W, grads, eta)
        return (W, order), value

    def run_chunk(carry, start, length):
        """Record the loss on all the data at step ``start``, then take ``length`` steps."""
        if spec.batch_size is not None:
            recorded = engine.loss_value(carry[0], x_all, y_all)
        carry, step_losses = jax.lax.scan(sgd_step, carry, start + jnp.arange(length))
        if spec.batch_size is None:  # full batch: the first step computed it already
            recorded = step_losses[0]
        return carry, recorded

    stride = -(-spec.steps // spec.records)
    full, tail = divmod(spec.steps, stride)
    carry = (W, jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (M, n)))
    carry, history = jax.lax.scan(lambda c, k: run_chunk(c, k * stride, stride), carry, jnp.arange(full))
    if tail:
        carry, last = run_chunk(carry, full * stride, tail)
        history = jnp.concatenate([history, last[None]])
    W = carry[0]
    return engine.unpack(W), engine.loss_value(W, x_all, y_all), history.T


@functools.lru_cache(maxsize=64)
def _program(spec: _Spec, batched: tuple[bool, ...], devices: int):
    """The jitted trainer; over several devices, each trains its own share of the networks.

    Its last argument, ``first`` (M,) or None, takes the outputs back to the caller's
    order inside the same program: a gather across devices as a program of its own
    can deadlock XLA's CPU collectives when it is dispatched while the devices still
    run the training.
    """
    program = functools.partial(_train, spec=spec, batched=batched)
    if devices > 1:
        mesh = jax.sharding.Mesh(np.array(jax.local_devices()), ("networks",))
        split, shared = jax.sharding.PartitionSpec("networks"), jax.sharding.PartitionSpec()
        y_b, mask_b, lr_b = (split if b else shared for b in batched)
        program = jax.shard_map(
            program, mesh=mesh, in_specs=(split, shared, y_b, mask_b, lr_b, shared, split), out_specs=split,
            check_vma=False,  # networks never talk to each other
        )

    def in_callers_order(keys, x, y, mask, lr, t0, params, first):
        out = program(keys, x, y, mask, lr, t0, params)
        return out if first is None else jax.tree.map(lambda a: a[first], out)
    return jax.jit(in_callers_order)


def _arrangement(groups, devices: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Where each network sits on the M axis the program sees: its groups one after
    another on every device, each group's networks split evenly over the devices (a
    group's last network repeated to fill). Returns the index of the network at each
    position, and each group's networks per device."""
    shares = []
    for g in groups:
        per_device = -(-len(g.networks) // devices)
        filled = np.concatenate([g.networks, np.repeat(g.networks[-1:], per_device * devices - len(g.networks))])
        shares.append(filled.reshape(devices, per_device))
    return np.concatenate([share[d] for d in range(devices) for share in shares]), tuple(s.shape[1] for s in shares)


def _shard_networks(tree):
    """Spread the leading network axis over all local devices."""
    mesh = jax.sharding.Mesh(np.array(jax.local_devices()), ("networks",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("networks"))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)


def _combined_mask(pop, mask, dtype):
    """The padding mask times the caller's mask (shared or per network); None if neither."""
    if not pop.padding:
        return mask
    pad = padding_mask(pop, dtype)
    return pad if mask is None else jax.tree.map(lambda p, m: p * jnp.asarray(m, dtype), pad, mask)


def train(
    key: Array,
    x: Array,
    y: Array,
    sizes: Sequence,
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
    restart_ids=None,
    init_params: Params | None = None,
    *,
    arch=None,
    blowup: float | None = 1e6,
    engine: str = "packed",
    layout: str = "auto",
    groups: int | str = "auto",
) -> TrainResult:
    """Train a population of networks on (x, y) by SGD.

    sizes: one architecture, e.g. ``[2, 3, 1]``, or a list of architectures of
      equal depth, e.g. ``[[2, 2, 1], [2, 3, 1], [2, 8, 1]]``: every architecture
      trains ``restarts`` times (or once per ``restart_ids``), architecture-major
      (network a * R + i is restart i of architecture a). ``arch`` (M,) instead
      names each network's architecture, with ``restart_ids`` (M,) its restart id.
      Networks are padded to the largest sizes and masked (``nnlab.population``).
    x: (N, n_in) with n_in the largest input layer (a network with fewer inputs
      reads the first columns). y: (N, n_out), or (M, N, n_out): one target per network.
    lr: base step size, a scalar or (M,). The step size at step t is
      ``lr x schedule(t)``, see ``nnlab.schedules`` (t0 sets the decay time).
    batch_size: None for full batch; b for minibatches of b examples (1 is the
      article's per-example SGD), reshuffled every epoch of N // b steps.
    init, init_scale: initial weights, see ``init_mlp`` (drawn at each network's
      true fan-in); ``init_params`` (padded, leading axis M) starts from given weights.
    mask: 0/1 edges shaped like the padded params, shared or with a leading M
      axis; masked edges are 0 in the result.
    restart_ids: restart i uses the key ``fold_in(key, i)``; default ``arange(restarts)``.
    records: how many losses to record along the way (evenly spaced steps).
    blowup: a network counts as diverged when its final loss or a weight is
      NaN/inf, or when a weight's magnitude exceeds ``blowup`` (None: no bound).
      With a sigmoid or tanh output the loss stays finite however large the
      step size; the weights run off instead, and a net with weights of 1e6 on
      inputs of order one has every unit saturated: it stopped by overflow.
    engine: ``"packed"`` (fast, all networks in one set of large products) or
      ``"vmap"`` (backprop written for one network, vmapped); equal to float rounding.
    layout: the packed engine's layout, ``"rows"``, ``"lanes"`` or ``"auto"``
      (``nnlab.packed.choose_layout``, by layer sizes and batch size, per group).
    groups: a sweep over sizes trains in groups, each padded only to its own
      largest sizes (``nnlab.population.size_groups``): "auto" (at most 4, where
      they save enough arithmetic) or at most this many (1: all networks padded to
      the largest). The results agree to float rounding (docs/design.md).
    Runs in the dtype of x (float32 unless x is float64).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is unknown; allowed: {', '.join(ENGINES)}")
    if layout not in LAYOUTS or (engine == "vmap" and layout != "auto"):
        allowed = ", ".join(LAYOUTS) if engine == "packed" else "auto (the vmap engine has no layouts)"
        raise ValueError(f"layout {layout!r} is not allowed with engine {engine!r}; allowed: {allowed}")
    if int(steps) < 1 or int(restarts) < 1 or int(records) < 1:
        raise ValueError(f"steps, restarts and records must be >= 1, got {steps}, {restarts}, {records}")
    if blowup is not None and not blowup > 0:
        raise ValueError(f"blowup must be None or > 0, got {blowup}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r} is unknown; allowed: {', '.join(SCHEDULES)}")
    pop = Population.of(sizes, restarts, restart_ids, arch)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    y = jnp.asarray(y, x.dtype)
    padded = pop.padded
    activations = layer_activations(len(padded) - 1, hidden, output)
    get_loss(loss, output)
    if x.ndim != 2 or x.shape[1] != padded[0]:
        raise ValueError(f"x must be (N, {padded[0]}), got {x.shape}")
    if y.shape[-2:] != (x.shape[0], padded[-1]) or y.ndim not in (2, 3):
        raise ValueError(f"y must be ({x.shape[0]}, {padded[-1]}) or (M, {x.shape[0]}, {padded[-1]}), got {y.shape}")
    if batch_size is not None and not 1 <= int(batch_size) <= x.shape[0]:
        raise ValueError(f"batch_size must be None or 1..{x.shape[0]}, got {batch_size}")
    batch_size = None if batch_size is None else int(batch_size)
    per_step = x.shape[0] if batch_size is None else batch_size
    groups = size_groups(pop, groups, examples_seen=per_step * int(steps))
    devices = jax.local_device_count()
    position, counts = _arrangement(groups, devices)

    def group_layout(sizes):
        if engine == "vmap":
            return ""
        return packed.choose_layout(sizes, per_step, batch_size is None) if layout == "auto" else layout
    spec = _Spec(padded, int(steps), schedule, tuple(activations), loss, batch_size, min(int(records), int(steps)),
                 engine, tuple((g.padded, n, group_layout(g.padded)) for g, n in zip(groups, counts)))
    M = len(pop.restart_ids)
    lr = jnp.asarray(lr, x.dtype)
    mask = _combined_mask(pop, mask, x.dtype)
    batched = (y.ndim == 3, mask is not None and mask[0]["W"].ndim == 3, lr.ndim == 1)
    for name, arg, per_network in zip(("y", "mask", "lr"), (y, mask, lr), batched):
        leading = jax.tree.leaves(arg)[0].shape[0] if per_network else M
        if leading != M:
            raise ValueError(f"{name} has {leading} networks on its leading axis, expected {M}")
    if init_params is None:
        init_params = init_population(key, pop, init, init_scale, x.dtype)
    elif jax.tree.leaves(init_params)[0].shape[0] != M:
        raise ValueError(f"init_params has {jax.tree.leaves(init_params)[0].shape[0]} networks "
                         f"on its leading axis, expected {M}")
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.asarray(pop.restart_ids))
    args = [y, mask, lr]
    arranged = not np.array_equal(position, np.arange(M))
    if arranged:  # the networks in the program's order
        keys, init_params = (jax.tree.map(lambda a: a[position], t) for t in (keys, init_params))
        args = [jax.tree.map(lambda a: a[position], t) if b else t for t, b in zip(args, batched)]
    if devices > 1:
        keys, init_params = _shard_networks(keys), _shard_networks(init_params)
        args = [_shard_networks(t) if b else t for t, b in zip(args, batched)]
    first = np.unique(position, return_index=True)[1] if arranged else None  # each network's first position
    params, final, history = _program(spec, batched, devices)(
        keys, x, args[0], args[1], args[2], jnp.asarray(t0, x.dtype), init_params, first)
    stride = -(-spec.steps // spec.records)
    return TrainResult(
        params=params, loss=final, history=history,
        history_steps=jnp.arange(history.shape[1]) * stride,
        diverged=_diverged(final, params, blowup),
        sizes=pop.sizes, restart_ids=pop.restart_ids,
    )


def _diverged(final: Array, params: Params, blowup: float | None) -> Array:
    """(M,) True where the final loss is not finite or a weight is NaN, inf or beyond ``blowup``."""
    largest = functools.reduce(jnp.maximum, [jnp.max(jnp.abs(w).reshape(len(final), -1), axis=1)
                                             for w in jax.tree.leaves(params)])
    bound = jnp.inf if blowup is None else blowup
    return ~jnp.isfinite(final) | ~(largest <= bound) | ~jnp.isfinite(largest)
