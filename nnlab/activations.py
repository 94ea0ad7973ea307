"""Neuron functions, each with its hand-derived derivative beside it.

Every activation is a pair: ``fn(z) -> a`` and ``grad(z, a) -> da/dz``. The
derivative may read the input sum ``z`` or the output ``a``, whichever gives
the cheapest closed form; the logistic uses ``a (1 - a)`` as in the article.
All functions act elementwise on arrays of any shape.

Smooth activations also carry ``series(z)``: the value and the first four
derivatives in closed form, in float64 numpy, for the exact constructions that
Taylor-expand a neuron about its operating point (``nnlab.multiply``).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


class Activation(NamedTuple):
    """A neuron function ``fn``, its derivative ``grad(z, a)`` with a = fn(z), and for
    smooth functions ``series(z) -> (f, f', f'', f''', f'''')`` (float64 numpy)."""

    fn: Callable[[Array], Array]
    grad: Callable[[Array, Array], Array]
    series: Callable[[np.ndarray], tuple] | None = None


def _sigmoid(z: Array) -> Array:
    # lax.logistic is stable for any z: no overflow in exp(-z) for z << 0.
    return jax.nn.sigmoid(z)


def _relu(z: Array) -> Array:
    return jnp.where(z > 0, z, jnp.zeros_like(z))


def _step(z: Array) -> Array:
    # Threshold unit: fires when its input sum reaches 0 (bias included).
    return (z >= 0).astype(z.dtype)


def _sigmoid_series(z) -> tuple:
    s = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, np.float64)))  # the logistic, stable for any z
    d1 = s * (1 - s)
    return s, d1, d1 * (1 - 2 * s), d1 * (1 - 6 * s + 6 * s**2), d1 * (1 - 2 * s) * (1 - 12 * s + 12 * s**2)


def _tanh_series(z) -> tuple:
    t = np.tanh(np.asarray(z, np.float64))
    d1 = 1 - t**2
    return t, d1, -2 * t * d1, d1 * (6 * t**2 - 2), d1 * (16 * t - 24 * t**3)


def _polynomial_series(*coefficients):
    """series of the polynomial sum_k c_k z^k (degree <= 4)."""
    def series(z):
        z = np.asarray(z, np.float64)
        p = np.polynomial.Polynomial(coefficients)
        return tuple(p.deriv(k)(z) if k else p(z) for k in range(5))
    return series


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(lambda z: z, lambda z, a: jnp.ones_like(z), _polynomial_series(0, 1)),
    "sigmoid": Activation(_sigmoid, lambda z, a: a * (1 - a), _sigmoid_series),
    "tanh": Activation(jnp.tanh, lambda z, a: (1 - a) * (1 + a), _tanh_series),  # 1 - a^2, no cancellation
    "relu": Activation(_relu, lambda z, a: (z > 0).astype(z.dtype)),
    # The threshold has derivative 0 wherever it is differentiable: it is for
    # exact constructions, not for training.
    "step": Activation(_step, lambda z, a: jnp.zeros_like(z)),
    # z^2: a product is a difference of squares, xy = ((x + y)^2 - (x - y)^2) / 4.
    "square": Activation(lambda z: z * z, lambda z, a: 2 * z, _polynomial_series(0, 0, 1)),
}


def get_activation(name: str) -> Activation:
    """The activation called ``name``; a clear error lists the known names."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation {name!r} is unknown; allowed: {', '.join(ACTIVATIONS)}"
        ) from None


def series(name: str, z) -> tuple:
    """(f, f', f'', f''', f'''') of activation ``name`` at z, in closed form (float64 numpy)."""
    activation = get_activation(name)
    if activation.series is None:
        smooth = ", ".join(k for k, v in ACTIVATIONS.items() if v.series is not None)
        raise ValueError(f"activation {name!r} has no derivatives of higher order; allowed: {smooth}")
    return activation.series(z)
