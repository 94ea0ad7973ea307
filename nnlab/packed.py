"""Backprop for R networks at once, packed side by side (the fast path of ``train``).

``nnlab.backprop`` is written for one network; ``vmap`` over restarts turns its
matrix products into R tiny products, which a CPU runs slowly. Here the R
networks are stored side by side so that every step of backprop is one large
array operation over all restarts.

Two layouts put the restart axis where it runs fastest (measured on CPU):

- ``"rows"``: restarts first. Weights ``W (R, n_out, n_in)``, biases ``(R, n_out)``,
  activations and deltas ``(R, n_l, N)``; inputs shared by all restarts
  ``(n_in, N)``. With shared inputs the first layer's forward product and its
  weight gradient are ONE matrix product each, ``(R n_1, n_in + 1) @ (n_in + 1, N)``
  (the bias neuron, which sends 1, as one more input); deeper layers are
  batched matrix products. For wider layers and larger batches.
- ``"lanes"``: restarts last. Weights ``W (n_in, n_out, R)``, biases ``(n_out, R)``,
  activations and deltas ``(N, n_l, R)``; shared inputs ``(N, n_in, 1)``. No
  matrix products at all: every sum over neurons or examples is written out as
  adds of slices, which XLA fuses into a few loops running along the restarts.
  For tiny nets on few examples (XOR-sized nets, boolean functions of n <= 6).

The arithmetic is the article's three steps, as in ``nnlab.backprop``: delta at
the output, deltas back layer by layer, weight gradient = delta x output of the
neuron the edge leaves. Activations and losses are the same functions
(``nnlab.activations``, ``nnlab.losses``), so results equal the vmapped path
to float rounding (tests/test_packed.py).
"""

from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp

from .activations import get_activation
from .losses import get_loss
from .mlp import Params

Array = jax.Array

LAYOUTS = ("rows", "lanes")
MATMUL_MIN = 8  # "rows": per-restart products with both output sides >= this are matmuls, else matvecs
# "lanes" only for small shared batches of small nets (it writes out every sum; measured, see choose_layout)
LANES_MAX_BATCH = 64  # examples
LANES_MAX_UNITS = 1024  # examples x widest layer
LANES_MAX_EDGES = 256  # n_in x n_out of any layer


def choose_layout(sizes, batch: int, shared_batch: bool) -> str:
    """The faster layout for layer sizes ``sizes`` and ``batch`` examples per step,
    shared by all restarts (full batch) or drawn per restart (minibatches).

    Measured on a 2-core x86 CPU (XLA, float32), "lanes" against "rows": 2x
    faster for sizes (4, 8, 1) on 16 examples, 1.4x for (5, 32, 1) on 32 and 2.7x
    for (2, 64, 1) on 16; but 10x slower for (8, 64, 1) on 256, 1.2x slower for
    (6, 32, 32, 1) on 32, 3.8x for (64, 16, 1) on 64, and 1.3x for per-example SGD.
    """
    edges = max(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    small = batch <= LANES_MAX_BATCH and batch * max(sizes[1:]) <= LANES_MAX_UNITS and edges <= LANES_MAX_EDGES
    return "lanes" if shared_batch and small else "rows"


def pack(params: Params, layout: str) -> Params:
    """Params with a leading restart axis, W (R, n_in, n_out), into ``layout``."""
    if layout == "rows":
        return [{"W": jnp.swapaxes(p["W"], 1, 2), "b": p["b"]} for p in params]
    return [{"W": jnp.moveaxis(p["W"], 0, -1), "b": jnp.moveaxis(p["b"], 0, -1)} for p in params]


def unpack(packed: Params, layout: str) -> Params:
    """The inverse of ``pack``: leaves with a leading restart axis again."""
    if layout == "rows":
        return [{"W": jnp.swapaxes(p["W"], 1, 2), "b": p["b"]} for p in packed]
    return [{"W": jnp.moveaxis(p["W"], -1, 0), "b": jnp.moveaxis(p["b"], -1, 0)} for p in packed]


def shared(a: Array, layout: str) -> Array:
    """Examples shared by all restarts, (N, n), in ``layout``: (n, N), or (N, n, 1)
    (a restart axis of length 1, broadcast over the restarts)."""
    return a.T if layout == "rows" else a[:, :, None]


def per_restart(a: Array, layout: str) -> Array:
    """One batch per restart, (R, N, n), in ``layout``: (R, n, N) or (N, n, R)."""
    return jnp.swapaxes(a, 1, 2) if layout == "rows" else jnp.transpose(a, (1, 2, 0))


def _with_bias_neuron(a: Array, axis: int) -> Array:
    """Shared outputs and the bias neuron, which always sends 1, as one more row/column."""
    shape = list(a.shape)
    shape[axis] = 1
    return jnp.concatenate([a, jnp.ones(shape, a.dtype)], axis=axis)


def _sum_terms(terms) -> Array:
    """A sum as a chain of adds: XLA fuses it, with the products feeding it, into
    one loop along the restarts (a CPU reduction over a short axis is much slower)."""
    return functools.reduce(operator.add, terms)


def _dense(layer: dict, a: Array, layout: str) -> Array:
    """Input sums z = W a + b of the next layer, from the outputs ``a`` of this one
    (for "rows", a 2-D ``a`` is shared by all restarts)."""
    W, b = layer["W"], layer["b"]
    if layout == "rows":
        R, n_out, n_in = W.shape
        if a.ndim == 2:  # one product for all restarts, the bias neuron as one more input
            Wb = jnp.concatenate([W, b[:, :, None]], axis=2).reshape(R * n_out, n_in + 1)
            return (Wb @ _with_bias_neuron(a, axis=0)).reshape(R, n_out, a.shape[1])
        if min(n_out, a.shape[2]) >= MATMUL_MIN:
            # W^T per restart, materialised (the barrier stops XLA folding the transpose
            # back into the product): XLA's CPU batched matmul runs ~1.6x faster so.
            Wt = jax.lax.optimization_barrier(jnp.swapaxes(W, 1, 2))
            return jnp.einsum("rij,rin->rjn", Wt, a) + b[:, :, None]
        return jnp.einsum("rji,rin->rjn", W, a) + b[:, :, None]
    # along the restarts, no matmul: z[n, j] = b[j] + sum_i a[n, i] W[i, j]
    return _sum_terms(a[:, i : i + 1] * W[None, i] for i in range(W.shape[0])) + b[None]


def _back(W: Array, delta: Array, layout: str) -> Array:
    """What the deltas send back along the edges: W^T delta, summed per neuron."""
    if layout == "rows":
        return jnp.einsum("rji,rjn->rin", W, delta)
    return _sum_terms(delta[:, j : j + 1] * W[None, :, j] for j in range(W.shape[1]))


def _weight_grad(delta: Array, a: Array, layout: str) -> dict:
    """dL/dW = delta x output of the neuron the edge leaves, summed over examples;
    dL/db = delta summed (the bias neuron sends 1)."""
    if layout == "rows":
        R, n_out, N = delta.shape
        if a.ndim == 2:  # one product for all restarts, the bias neuron's edges included
            g = (delta.reshape(R * n_out, N) @ _with_bias_neuron(a, axis=0).T).reshape(R, n_out, a.shape[0] + 1)
            return {"W": g[:, :, :-1], "b": g[:, :, -1]}
        return {"W": jnp.einsum("rjn,rin->rji", delta, a), "b": jnp.sum(delta, axis=2)}
    gW = _sum_terms(a[n][:, None] * delta[n][None] for n in range(delta.shape[0]))
    return {"W": gW, "b": _sum_terms(delta)}


def forward_layers(packed: Params, x: Array, activations, layout: str) -> tuple[list[Array], list[Array]]:
    """Every layer's input sums and outputs for R networks.

    x: shared (see ``shared``) or one batch per restart (see ``per_restart``).
    Returns ``(zs, outs)`` with ``outs[0] = x``; ``zs[l-1]``, ``outs[l]``:
    (R, n_l, N) for "rows", (N, n_l, R) for "lanes".
    """
    zs, outs = [], [x]
    for layer, name in zip(packed, activations):
        z = _dense(layer, outs[-1], layout)
        zs.append(z)
        outs.append(get_activation(name).fn(z))
    return zs, outs


def _each_restart(fn, z: Array, a: Array, y: Array, layout: str):
    """Apply ``fn(z, a, y)``, written for one network's (batch, n_out) arrays, to every restart.

    z, a: output layer in ``layout``; y: shared or per restart, in ``layout``.
    """
    if layout == "rows":
        one = lambda z_, a_, y_: fn(z_.T, a_.T, y_.T)
        return jax.vmap(one, in_axes=(0, 0, 0 if y.ndim == 3 else None))(z, a, y)
    if y.shape[2] != z.shape[2]:  # shared: (N, n_out, 1)
        return jax.vmap(fn, in_axes=(2, 2, None), out_axes=-1)(z, a, y[:, :, 0])
    return jax.vmap(fn, in_axes=(2, 2, 2), out_axes=-1)(z, a, y)


def loss_value(packed: Params, x: Array, y: Array, activations, loss: str, layout: str) -> Array:
    """Loss of each of R networks on (x, y) -> (R,). Shapes as in ``loss_and_grad``."""
    zs, outs = forward_layers(packed, x, activations, layout)
    return _each_restart(get_loss(loss, activations[-1]).value, zs[-1], outs[-1], y, layout)


def loss_and_grad(packed: Params, x: Array, y: Array, activations, loss: str, layout: str
                  ) -> tuple[Array, Params]:
    """Loss (R,) and packed gradients of R networks, by backpropagation.

    x, y: shared by all restarts (``shared``) or one batch per restart
    (``per_restart``); activations: one name per layer after the input. Masks
    are the caller's: pass masked weights and mask the gradients.
    """
    loss_fn = get_loss(loss, activations[-1])
    zs, outs = forward_layers(packed, x, activations, layout)
    value = _each_restart(loss_fn.value, zs[-1], outs[-1], y, layout)
    # step 1: delta at the output layer
    delta_fn = lambda z, a, y_: loss_fn.delta(z, a, y_, activations[-1])
    if layout == "rows":  # back to (n_out, N) per restart
        delta_fn = lambda z, a, y_, f=delta_fn: f(z, a, y_).T
    deltas = [_each_restart(delta_fn, zs[-1], outs[-1], y, layout)]
    # step 2: deltas back, delta_l = (W_{l+1}^T delta_{l+1}) * f_l'(z_l)
    for l in range(len(packed) - 1, 0, -1):
        back = _back(packed[l]["W"], deltas[0], layout)
        deltas.insert(0, back * get_activation(activations[l - 1]).grad(zs[l - 1], outs[l]))
    # step 3: weight gradients, delta x output of the neuron the edge leaves
    grads = [_weight_grad(delta, prev, layout) for prev, delta in zip(outs[:-1], deltas)]
    return value, grads
