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
import numpy as np

from .activations import get_activation

Array = jax.Array
Params = list[dict[str, Array]]

INITS = ("uniform", "normal")


def neuron_draws(key: Array, sizes: tuple[int, ...], init: str, dtype) -> Array:
    """Unit-scale draws for every neuron after the input layer, (neurons, max fan_in + 1):
    row k, neuron j of layer l (in layer order), is a vector drawn from its own key
    fold_in(fold_in(key, l), j); its first fan_in + 1 entries are the neuron's incoming
    edges, from the bias neuron first. JAX's partitionable threefry (its default) draws a
    prefix of a longer vector identically, so no draw depends on the size of any layer."""
    layer_of = np.repeat(np.arange(len(sizes) - 1), sizes[1:])
    neuron_of = np.concatenate([np.arange(n) for n in sizes[1:]])

    def neuron(layer, j):
        k = jax.random.fold_in(jax.random.fold_in(key, layer), j)
        if init == "normal":
            return jax.random.normal(k, (max(sizes[:-1]) + 1,), dtype)
        return jax.random.uniform(k, (max(sizes[:-1]) + 1,), dtype, -1.0, 1.0)

    return jax.vmap(neuron)(jnp.asarray(layer_of), jnp.asarray(neuron_of))


_neuron_draws = jax.jit(neuron_draws, static_argnames=("sizes", "init", "dtype"))


def params_from_draws(drawn, sizes, scales) -> list[dict]:
    """Params from ``neuron_draws`` (leading axes allowed: (..., neurons, width)), each
    layer times its scale (scales (..., layers)), in numpy: one IEEE product, rounded the
    same for every caller (a compiled product might be fused differently). -> numpy arrays."""
    drawn = np.asarray(drawn)
    scales = np.asarray(scales, drawn.dtype)
    starts = np.concatenate([[0], np.cumsum(sizes[1:])])
    params = []
    for l, (a, b, fan_in) in enumerate(zip(starts[:-1], starts[1:], sizes[:-1])):
        block = np.swapaxes(drawn[..., a:b, :fan_in + 1], -1, -2) * scales[..., l, None, None]
        params.append({"W": block[..., 1:, :], "b": block[..., 0, :]})
    return params


def init_scales(sizes: Sequence[int], scale: float | None = None) -> np.ndarray:
    """(layers,) float64: ``scale``, or 1 / sqrt(fan_in) of each layer."""
    fan_ins = np.asarray(sizes[:-1], np.float64)
    return 1.0 / np.sqrt(fan_ins) if scale is None else np.full(len(fan_ins), float(scale))


def init_mlp(
    key: Array,
    sizes: Sequence[int],
    init: str = "normal",
    scale: float | None = None,
    dtype=None,
    scales=None,
) -> Params:
    """Random weights for a fully connected net with layer sizes ``sizes``.

    sizes: e.g. ``[n, h, 1]``, input layer first, bias neurons not counted.
    init: ``"normal"`` draws every weight (bias edges included) from
      N(0, scale^2); ``"uniform"`` from U(-scale, scale).
    scale: defaults to 1 / sqrt(fan_in), per layer; ``scales`` (layers,) gives
      each layer's scale instead (a padded net takes those of its true sizes).
    Each neuron draws its incoming edges from its own key, so a weight does not
    depend on the layer sizes: a net of width w holds the first w hidden units of
    any wider net drawn from the same key, up to the scale (``nnlab.population``).
    Returns one ``{"W": (fan_in, fan_out), "b": (fan_out,)}`` per layer.
    """
    if init not in INITS:
        raise ValueError(f"init {init!r} is unknown; allowed: {', '.join(INITS)}")
    if not jax.config.jax_threefry_partitionable:
        raise ValueError("init_mlp needs jax_threefry_partitionable=True (JAX's default): without it a "
                         "network's initial weights would depend on the sizes of the others")
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least 2 layers of >= 1 neuron, got {list(sizes)}")
    dtype = jnp.dtype(dtype or jnp.result_type(float))
    scales = init_scales(sizes, scale) if scales is None else np.asarray(scales)
    params = params_from_draws(_neuron_draws(key, sizes, init, dtype), sizes, scales)
    return jax.tree.map(jnp.asarray, params)


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


def count_weights(net, mask: Params | None = None, bias: bool = True) -> int:
    """Number of edges of a network: ``net`` is its params or its layer sizes.

    Fully connected: sum over layers of (n_in + 1) n_out, or n_in n_out with
    ``bias=False``; with a ``mask``, the edges the mask keeps.
    """
    if mask is not None:
        leaves = [m["W"] for m in mask] + ([m["b"] for m in mask] if bias else [])
        return sum(int(jnp.count_nonzero(leaf)) for leaf in leaves)
    sizes = [int(s) for s in net] if not isinstance(net[0], dict) else (
        [net[0]["W"].shape[0]] + [layer["W"].shape[1] for layer in net])
    return sum((a + int(bias)) * b for a, b in zip(sizes[:-1], sizes[1:]))
