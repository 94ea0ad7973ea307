"""Layered networks as pure functions over a parameter pytree.

``params`` is a list with one dict per layer of edges, ``{"W": (fan_in, fan_out),
"b": (fan_out,)}``: ``W[i, j]`` is the weight of the edge from neuron i of the
previous layer to neuron j, and ``b[j]`` the weight of the edge from that layer's
bias neuron (which always sends 1). An optional ``mask`` of the same structure
(0/1 entries) removes edges, which is how general layered graphs and padded
widths are expressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .activations import get_activation

Array = jax.Array
Params = list[dict[str, Array]]

INITS = ("uniform", "normal")


def init_mlp(
    key: Array,
    sizes: Sequence[int],
    init: str = "normal",
    scale: float | None = None,
    dtype=None,
) -> Params:
    """Random weights for a fully connected net with layer sizes ``sizes``.

    sizes: e.g. ``[n, h, 1]``, input layer first, bias neurons not counted.
    init: ``"normal"`` draws every weight (bias edges included) from
      N(0, scale^2); ``"uniform"`` from U(-scale, scale).
    scale: defaults to 1 / sqrt(fan_in), per layer.
    Returns one ``{"W": (fan_in, fan_out), "b": (fan_out,)}`` per layer.
    """
    if init not in INITS:
        raise ValueError(f"init {init!r} is unknown; allowed: {', '.join(INITS)}")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least 2 layers of >= 1 neuron, got {sizes}")
    dtype = dtype or jnp.result_type(float)
    params = []
    for layer_key, fan_in, fan_out in zip(
        jax.random.split(key, len(sizes) - 1), sizes[:-1], sizes[1:]
    ):
        s = (1.0 / fan_in**0.5) if scale is None else scale
        kw, kb = jax.random.split(layer_key)
        if init == "normal":
            W = s * jax.random.normal(kw, (fan_in, fan_out), dtype)
            b = s * jax.random.normal(kb, (fan_out,), dtype)
        else:
            W = jax.random.uniform(kw, (fan_in, fan_out), dtype, -s, s)
            b = jax.random.uniform(kb, (fan_out,), dtype, -s, s)
        params.append({"W": W, "b": b})
    return params


def layer_activations(n_layers: int, hidden: str | Sequence[str], output: str) -> list[str]:
    """The activation name of each of ``n_layers`` layers of neurons after the input.

    ``hidden`` is one name for every hidden layer or one name per hidden layer.
    """
    hidden = [hidden] * (n_layers - 1) if isinstance(hidden, str) else list(hidden)
    if len(hidden) != n_layers - 1:
        raise ValueError(
            f"hidden lists {len(hidden)} activations for {n_layers - 1} hidden layers"
        )
    names = hidden + [output]
    for name in names:
        get_activation(name)
    return names


def apply_mask(params: Params, mask: Params | None) -> Params:
    """Params with masked-out edges set to zero (``mask=None``: unchanged)."""
    if mask is None:
        return params
    return jax.tree.map(lambda p, m: p * m.astype(p.dtype), params, mask)


def forward_layers(
    params: Params, x: Array, hidden="sigmoid", output="sigmoid", mask=None
) -> tuple[list[Array], list[Array]]:
    """Every layer's input sums and outputs, as the article evaluates a network.

    x: (batch, n_in). Returns ``(zs, outs)``: ``outs[0] = x`` and, for layer
    l >= 1, ``zs[l-1] = outs[l-1] @ W + b`` (batch, n_l) and
    ``outs[l] = f_l(zs[l-1])``.
    """
    params = apply_mask(params, mask)
    zs, outs = [], [x]
    for layer, name in zip(params, layer_activations(len(params), hidden, output)):
        z = outs[-1] @ layer["W"] + layer["b"][None, :]
        zs.append(z)
        outs.append(get_activation(name).fn(z))
    return zs, outs


def forward(params: Params, x: Array, hidden="sigmoid", output="sigmoid", mask=None) -> Array:
    """The network's output. x: (batch, n_in) -> (batch, n_out)."""
    return forward_layers(params, x, hidden, output, mask)[1][-1]


def count_weights(params: Params, mask: Params | None = None) -> int:
    """Number of edges (weights and bias weights) present in the network."""
    leaves = jax.tree.leaves(params if mask is None else mask)
    if mask is None:
        return sum(int(leaf.size) for leaf in leaves)
    return sum(int(jnp.count_nonzero(leaf)) for leaf in leaves)
