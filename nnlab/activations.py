"""Neuron functions, each with its hand-derived derivative beside it.

Every activation is a pair: ``fn(z) -> a`` and ``grad(z, a) -> da/dz``. The
derivative may read the input sum ``z`` or the output ``a``, whichever gives
the cheapest closed form; the logistic uses ``a (1 - a)`` as in the article.
All functions act elementwise on arrays of any shape.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class Activation(NamedTuple):
    """A neuron function ``fn`` and its derivative ``grad(z, a)`` with a = fn(z)."""

    fn: Callable[[Array], Array]
    grad: Callable[[Array, Array], Array]


def _sigmoid(z: Array) -> Array:
    # lax.logistic is stable for any z: no overflow in exp(-z) for z << 0.
    return jax.nn.sigmoid(z)


def _relu(z: Array) -> Array:
    return jnp.where(z > 0, z, jnp.zeros_like(z))


def _step(z: Array) -> Array:
    # Threshold unit: fires when its input sum reaches 0 (bias included).
    return (z >= 0).astype(z.dtype)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(lambda z: z, lambda z, a: jnp.ones_like(z)),
    "sigmoid": Activation(_sigmoid, lambda z, a: a * (1 - a)),
    "tanh": Activation(jnp.tanh, lambda z, a: (1 - a) * (1 + a)),  # 1 - a^2, no cancellation
    "relu": Activation(_relu, lambda z, a: (z > 0).astype(z.dtype)),
    # The threshold has derivative 0 wherever it is differentiable: it is for
    # exact constructions, not for training.
    "step": Activation(_step, lambda z, a: jnp.zeros_like(z)),
}


def get_activation(name: str) -> Activation:
    """The activation called ``name``; a clear error lists the known names."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation {name!r} is unknown; allowed: {', '.join(ACTIVATIONS)}"
        ) from None
