"""Tasks, initial weights and training in stretches for local_minima.

All widths of one activation train in one compiled program: widths are padded
to the widest and masked, and each restart draws weights for its own width, so
a padded restart trains exactly like the unpadded network from the same weights.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import nnlab

OUTPUT = "sigmoid"
ARTICLE_POINTS = 16


def bits(n: int) -> np.ndarray:
    """All 2^n inputs, row i holding bits x_j = (i >> j) & 1. -> (2^n, n) float32."""
    i = np.arange(2**n)
    return ((i[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float32)


def task_data(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Training set (x (N, n_in), y (N, 1), float32) and a name for the target function."""
    if task in ("xor", "parity"):
        x = bits(2 if task == "xor" else n)
        y = (x.sum(axis=1, keepdims=True) % 2).astype(np.float32)
        return x, y, "parity"
    if task == "random":
        x = bits(n)
        truth = np.random.default_rng([seed, n]).integers(0, 2, 2**n)
        return x, truth[:, None].astype(np.float32), hex(int(sum(int(b) << i for i, b in enumerate(truth))))
    x = np.linspace(-1, 1, ARTICLE_POINTS, dtype=np.float32)[:, None]
    return x, (0.1 + 0.8 * np.exp(-8 * x**2)).astype(np.float32), "bump"


def padded_mask(n_in: int, width: int, padded_width: int) -> list[dict]:
    """0/1 mask of a [n_in, width, 1] net stored as [n_in, padded_width, 1]."""
    unit = (np.arange(padded_width) < width).astype(np.float32)
    return [{"W": np.tile(unit, (n_in, 1)), "b": unit}, {"W": unit[:, None], "b": np.ones(1, np.float32)}]


def initial_params(seed: int, sizes, width_of, restart_of, scales, mask, init: str):
    """Initial weights of R networks of layer sizes ``sizes``, masked; leading axis R.

    Network k (width ``width_of[k]``, restart ``restart_of[k]``) draws all its weights
    at once from the key fold_in(fold_in(fold_in(key(seed), 0), width), restart):
    uniform(-s, s) or N(0, s^2) as ``init_mlp`` draws them, with s = scales[k, layer].
    One draw per network, in one compiled program for all widths (``init_mlp``'s
    per-layer key splits take seconds to compile on a CPU). mask: shared or (R, ...).
    """
    per_restart = mask[0]["W"].ndim == 3
    return _draw(jax.random.key(seed), jnp.asarray(width_of), jnp.asarray(restart_of),
                 jnp.asarray(scales, jnp.float32), mask, tuple(int(s) for s in sizes), init, per_restart)


@partial(jax.jit, static_argnames=("sizes", "init", "per_restart"))
def _draw(key, width_of, restart_of, scales, mask, sizes, init, per_restart):
    blocks = [(a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])]

    def one(w, i, s, m):
        k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, 0), w), i)
        if init == "uniform":
            u = jax.random.uniform(k, (sum(blocks),), jnp.float32, -1.0, 1.0)
        else:
            u = jax.random.normal(k, (sum(blocks),), jnp.float32)
        params, start = [], 0
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            block = s[layer] * u[start:start + blocks[layer]].reshape(a + 1, b)  # last row: bias weights
            params.append({"W": block[:-1], "b": block[-1]})
            start += blocks[layer]
        return nnlab.apply_mask(params, m)

    return jax.vmap(one, in_axes=(0, 0, 0, 0 if per_restart else None))(width_of, restart_of, scales, mask)


def init_scales(scale, fan_ins) -> np.ndarray:
    """(R, layers) init scale per network and layer: ``scale``, or 1/sqrt(true fan-in)."""
    fan_ins = np.asarray(fan_ins, float)
    return (1 / np.sqrt(fan_ins) if scale is None else np.full(fan_ins.shape, float(scale))).astype(np.float32)


def continued_schedule(schedule: str, lr: float, t0: float, start: int) -> tuple[float, float]:
    """(lr', t0') such that step t of a new run is step start + t of the original schedule."""
    if schedule == "constant":
        return lr, t0
    if schedule == "inverse_time":  # lr t0 / (t0 + start + t)
        return lr * t0 / (t0 + start), t0 + start
    if schedule == "inverse_sqrt":  # lr sqrt(t0 / (t0 + start + t))
        return lr * np.sqrt(t0 / (t0 + start)), t0 + start
    raise ValueError(f"schedule {schedule!r} cannot be continued")


def _outputs(params, x, hidden, mask):
    return nnlab.forward(params, x, hidden, OUTPUT, mask)


_outputs_many = jax.jit(jax.vmap(_outputs, in_axes=(0, None, None, 0)), static_argnames="hidden")
_outputs_shared = jax.jit(jax.vmap(_outputs, in_axes=(0, None, None, None)), static_argnames="hidden")


def accuracy(params, x, y, hidden, mask, per_restart: bool) -> np.ndarray:
    """(R,) fraction of training points whose output is within 0.5 of its target."""
    out = (_outputs_many if per_restart else _outputs_shared)(params, x, hidden, mask)
    return np.mean(np.abs(np.asarray(out) - y[None]) < 0.5, axis=(1, 2))


class Stretches(NamedTuple):
    params: list  # final weights, leading axis R
    losses: np.ndarray  # (C + 1, R) training loss at steps 0, L, 2L, ..., C L
    accuracy: np.ndarray  # (C + 1, R) fraction of points within 0.5 of the target, same steps
    weight_norm: np.ndarray  # (C + 1, R) ||w||_2, same steps
    diverged: np.ndarray  # (R,) nnlab.train's flag in any stretch: loss or weights NaN/inf, or weights blown up


@jax.jit
def _weight_norms(params):
    return jnp.sqrt(sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in jax.tree.leaves(params)))


def train_in_stretches(exp, seed, x, y, sizes, hidden, init, mask, ids, per_restart, on_stretch=None) -> Stretches:
    """Train from ``init`` (masked weights, leading axis R) for exp.steps steps in
    exp.checkpoints equal stretches of L steps, recording every restart after each.

    The schedule continues exactly across stretches (``continued_schedule``);
    minibatch orders are drawn afresh per stretch (key fold_in(fold_in(key(seed), 1), stretch)).
    """
    C, L = exp.checkpoints, exp.steps // exp.checkpoints
    root = jax.random.fold_in(jax.random.key(seed), 1)
    params = init
    losses, accs, norms = [], [accuracy(init, x, y, hidden, mask, per_restart)], [np.asarray(_weight_norms(init))]
    diverged = np.zeros(len(ids), bool)
    for c in range(C):
        lr, t0 = continued_schedule(exp.schedule, float(exp.lr), float(exp.t0), c * L)
        result = nnlab.train(
            jax.random.fold_in(root, c), x, y, sizes=sizes, restarts=len(ids), steps=L,
            lr=np.asarray(lr, x.dtype), schedule=exp.schedule, hidden=hidden, output=OUTPUT, loss=exp.loss,
            batch_size=exp.batch_size, t0=np.asarray(t0, x.dtype), records=1, mask=mask, restart_ids=ids,
            init_params=params,
        )
        if c == 0:
            losses.append(np.asarray(result.history[:, 0]))
        params = result.params
        diverged |= np.asarray(result.diverged)
        losses.append(np.asarray(result.loss))
        accs.append(accuracy(params, x, y, hidden, mask, per_restart))
        norms.append(np.asarray(_weight_norms(params)))
        if on_stretch is not None:
            on_stretch()
    return Stretches(params, np.stack(losses), np.stack(accs), np.stack(norms), diverged)


# ---------------------------------------------------------------- compute
