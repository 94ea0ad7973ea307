"""Losses over a batch, each with its hand-derived output delta beside it.

A loss takes the output layer's input sums ``z`` and outputs ``a`` (both
``(batch, n_out)``) and the targets ``y`` (``(batch, n_out)``). It returns the
scalar loss and ``delta = dL/dz`` at the output layer, which is step 1 of
backpropagation.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .activations import get_activation

Array = jax.Array


class Loss(NamedTuple):
    """``value(z, a, y) -> ()`` and ``delta(z, a, y, output) -> (batch, n_out)``."""

    value: Callable[[Array, Array, Array], Array]
    delta: Callable[[Array, Array, Array, str], Array]


def _squared(z: Array, a: Array, y: Array) -> Array:
    """Mean over the batch of the sum over outputs of (a - y)^2."""
    return jnp.sum((a - y) ** 2) / a.shape[0]


def _squared_delta(z: Array, a: Array, y: Array, output: str) -> Array:
    # dL/da = 2 (a - y) / batch, times the output neuron's own derivative.
    return 2 * (a - y) / a.shape[0] * get_activation(output).grad(z, a)


def _cross_entropy(z: Array, a: Array, y: Array) -> Array:
    """Mean over the batch of the summed binary cross-entropy of sigmoid outputs.

    Computed from the input sums: -y log s(z) - (1 - y) log(1 - s(z))
    = softplus(z) - y z, which is finite for any z.
    """
    return jnp.sum(jax.nn.softplus(z) - y * z) / z.shape[0]


def _cross_entropy_delta(z: Array, a: Array, y: Array, output: str) -> Array:
    # The logistic's derivative cancels the log's: dL/dz = (s(z) - y) / batch.
    return (a - y) / a.shape[0]


def _l4(z: Array, a: Array, y: Array) -> Array:
    """Mean over the batch of the sum over outputs of (a - y)^4 (Arora, Cohen & Hazan 2018)."""
    return jnp.sum((a - y) ** 4) / a.shape[0]


def _l4_delta(z: Array, a: Array, y: Array, output: str) -> Array:
    # dL/da = 4 (a - y)^3 / batch, times the output neuron's own derivative.
    return 4 * (a - y) ** 3 / a.shape[0] * get_activation(output).grad(z, a)


LOSSES: dict[str, Loss] = {
    "squared": Loss(_squared, _squared_delta),
    "cross_entropy": Loss(_cross_entropy, _cross_entropy_delta),
    "l4": Loss(_l4, _l4_delta),
}


def get_loss(name: str, output: str) -> Loss:
    """The loss called ``name`` for output neurons ``output``, checked together."""
    if name not in LOSSES:
        raise ValueError(f"loss {name!r} is unknown; allowed: {', '.join(LOSSES)}")
    get_activation(output)
    if name == "cross_entropy" and output != "sigmoid":
        raise ValueError(
            f"loss 'cross_entropy' needs output='sigmoid', got output={output!r}"
        )
    return LOSSES[name]
