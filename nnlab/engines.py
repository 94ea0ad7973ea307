"""The two engines of ``nnlab.train``: how M networks are stored and run through backprop at once.

- ``packed_engine``: ``nnlab.packed``, the networks side by side so that each step of
  backprop is one large array operation, in the layout "rows" or "lanes";
- ``vmap_engine``: ``nnlab.backprop.loss_and_grad``, written for one network,
  vmapped over the networks: the plain program, kept as the oracle.

The training loop (``nnlab.train``) is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax

from . import packed
from .backprop import loss_and_grad as backprop_loss_and_grad
from .losses import get_loss
from .mlp import forward_layers


class Engine(NamedTuple):
    """How one engine stores M networks and runs backprop on all of them.

    pack/unpack: params with a leading M axis <-> the engine's form; shared(a):
    examples (N, n) seen by every network; per_network(a): (M, N, n), one batch
    each; loss_and_grad(W, x, y) -> ((M,), grads); loss_value(W, x, y) -> (M,);
    times(eta, g): a step size, () or (M,), times a gradient leaf.
    """

    pack: Callable
    unpack: Callable
    shared: Callable
    per_network: Callable
    loss_and_grad: Callable
    loss_value: Callable
    times: Callable


def packed_engine(activations: tuple[str, ...], loss: str, layout: str) -> Engine:
    acts = activations

    def times(eta, g):
        if eta.ndim == 0:
            return eta * g
        ones = (1,) * (g.ndim - 1)
        return eta.reshape((-1,) + ones if layout == "rows" else ones + (-1,)) * g

    return Engine(
        pack=lambda p: packed.pack(p, layout), unpack=lambda p: packed.unpack(p, layout),
        shared=lambda a: packed.shared(a, layout), per_network=lambda a: packed.per_restart(a, layout),
        loss_and_grad=lambda W, x, y: packed.loss_and_grad(W, x, y, acts, loss, layout),
        loss_value=lambda W, x, y: packed.loss_value(W, x, y, acts, loss, layout),
        times=times,
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
        times=lambda eta, g: eta * g if eta.ndim == 0 else eta.reshape((-1,) + (1,) * (g.ndim - 1)) * g,
    )
