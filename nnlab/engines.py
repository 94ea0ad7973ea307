"""The two engines of ``nnlab.train``: how M networks are stored and run through backprop at once.

- ``packed_engine``: ``nnlab.packed``, the networks side by side so that each step of
  backprop is one large array operation, in the layout "rows" or "lanes";
- ``vmap_engine``: ``nnlab.backprop.loss_and_grad``, written for one network,
  vmapped over the networks: the plain program, kept as the oracle.

The training loop (``nnlab.train``) is the same for both. ``grouped_engine`` runs
groups of networks, each padded to its own sizes (``nnlab.population.size_groups``),
each with its own engine, as one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import packed
from .backprop import loss_and_grad as backprop_loss_and_grad
from .losses import get_loss
from .mlp import forward_layers


class Engine(NamedTuple):
    """How one engine stores M networks and runs backprop on all of them.

    pack/unpack: params with a leading M axis <-> the engine's form; shared(a):
    examples (N, n) seen by every network; per_network(a): (M, N, n), one batch
    each; loss_and_grad(W, x, y) -> ((M,), grads); loss_value(W, x, y) -> (M,);
    descend(W, grads, eta) -> W - eta grads: one step of size eta, () or (M,).
    """

    pack: Callable
    unpack: Callable
    shared: Callable
    per_network: Callable
    loss_and_grad: Callable
    loss_value: Callable
    descend: Callable


def packed_engine(activations: tuple[str, ...], loss: str, layout: str) -> Engine:
    acts = activations

    def times(eta, g):  # the network axis leads in "rows", ends in "lanes"
        if eta.ndim == 0:
            return eta * g
        ones = (1,) * (g.ndim - 1)
        return eta.reshape((-1,) + ones if layout == "rows" else ones + (-1,)) * g

    return Engine(
        pack=lambda p: packed.pack(p, layout), unpack=lambda p: packed.unpack(p, layout),
        shared=lambda a: packed.shared(a, layout), per_network=lambda a: packed.per_restart(a, layout),
        loss_and_grad=lambda W, x, y: packed.loss_and_grad(W, x, y, acts, loss, layout),
        loss_value=lambda W, x, y: packed.loss_value(W, x, y, acts, loss, layout),
        descend=lambda W, grads, eta: jax.tree.map(lambda p, g: p - times(eta, g), W, grads),
    )


def vmap_engine(activations: tuple[str, ...], loss: str) -> Engine:
    hidden, output = activations[:-1], activations[-1]

    def one_loss(params, x, y):
        zs, outs = forward_layers(params, x, hidden, output)
        return get_loss(loss, output).value(zs[-1], outs[-1], y)

    def each(fn):
        """fn written for one network, over M: x and y are shared when 2-D."""
        return lambda W, x, y: jax.vmap(fn, in_axes=(0, 0 if x.ndim == 3 else None, 0 if y.ndim == 3 else None))(W, x, y)

    return Engine(
        pack=lambda p: p, unpack=lambda p: p, shared=lambda a: a, per_network=lambda a: a,
        loss_and_grad=each(lambda p, x, y: backprop_loss_and_grad(p, x, y, hidden, output, loss)),
        loss_value=each(one_loss),
        descend=lambda W, grads, eta: jax.tree.map(lambda p, g: p - _per_network(eta, g) * g, W, grads),
    )


def _per_network(eta, g):
    """A step size () or (M,) shaped to multiply a leaf g with a leading M axis."""
    return eta if eta.ndim == 0 else eta.reshape((-1,) + (1,) * (g.ndim - 1))


def grouped_engine(parts, padded: tuple[int, ...]) -> Engine:
    """Groups of networks, one after another along the M axis, each padded to its own
    sizes and run by its own engine, as one engine.

    parts: ``(engine, networks, sizes)`` per group, the group's networks contiguous on
    the M axis; padded: the sizes of every network outside (params and masks arrive
    and leave at these, leading axis M). The engine's form and data are tuples, one
    entry per group.
    """
    ends = np.cumsum([n for _, n, _ in parts])
    spans = [(int(end - n), int(end), sizes) for (_, n, sizes), end in zip(parts, ends)]
    engines = [e for e, _, _ in parts]

    def cut(params, lo, hi, sizes):  # the group's networks, at its sizes
        return [{"W": l["W"][lo:hi, :a, :b], "b": l["b"][lo:hi, :b]} for l, a, b in zip(params, sizes[:-1], sizes[1:])]

    def grow(params, sizes):  # back to the outside sizes, padded units 0
        return [{"W": jnp.pad(l["W"], ((0, 0), (0, A - a), (0, B - b))), "b": jnp.pad(l["b"], ((0, 0), (0, B - b)))}
                for l, a, b, A, B in zip(params, sizes[:-1], sizes[1:], padded[:-1], padded[1:])]

    def each(fn, *args):
        return [fn(e, span, *a) for e, span, *a in zip(engines, spans, *args)]

    def loss_and_grad(W, x, y):
        values, grads = zip(*each(lambda e, _, *a: e.loss_and_grad(*a), W, x, y))
        return jnp.concatenate(values), tuple(grads)

    return Engine(
        pack=lambda p: tuple(each(lambda e, s: e.pack(cut(p, *s)))),
        unpack=lambda W: jax.tree.map(lambda *g: jnp.concatenate(g), *each(lambda e, s, w: grow(e.unpack(w), s[2]), W)),
        shared=lambda a: tuple(e.shared(a) for e in engines),
        per_network=lambda a: tuple(each(lambda e, s: e.per_network(a[s[0]:s[1]]))),
        loss_and_grad=loss_and_grad,
        loss_value=lambda W, x, y: jnp.concatenate(each(lambda e, _, *a: e.loss_value(*a), W, x, y)),
        descend=lambda W, grads, eta: tuple(each(
            lambda e, s, w, g: e.descend(w, g, eta if eta.ndim == 0 else eta[s[0]:s[1]]), W, grads)),
    )
