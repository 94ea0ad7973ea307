"""Hand-derived backpropagation: the article's three steps, batched.

1. Delta at the output layer: ``delta_L = dL/dz_L``, from the loss and the output
   neurons' derivative (``nnlab.losses``).
2. Deltas layer by layer, backwards: a neuron's delta is the sum over the edges
   leaving it of (edge weight x delta of the neuron the edge enters), times its
   own derivative: ``delta_l = (delta_{l+1} @ W_{l+1}^T) * f_l'(z_l)``.
3. Weight gradients: ``dL/dW_l = out_{l-1}^T @ delta_l`` (delta times the output
   of the neuron the edge leaves), ``dL/db_l = sum over the batch of delta_l``
   (the bias neuron's output is 1).

``jax.grad`` is not used here; it is the oracle in the tests.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .activations import get_activation
from .losses import get_loss
from .mlp import Params, apply_mask, forward_layers, layer_activations

Array = jax.Array


def backward(
    params: Params,
    zs: list[Array],
    outs: list[Array],
    delta_out: Array,
    activations: list[str],
) -> tuple[list[Array], Params]:
    """Steps 2 and 3 from the output delta (step 1).

    zs, outs: as returned by ``forward_layers``; delta_out: (batch, n_out);
    params: the (already masked) weights. Returns ``(deltas, grads)``: the delta
    of every layer after the input, ``(batch, n_l)``, and ``dL/dparams``.
    """
    deltas = [delta_out]
    for l in range(len(params) - 1, 0, -1):
        back = deltas[0] @ params[l]["W"].T
        deltas.insert(0, back * get_activation(activations[l - 1]).grad(zs[l - 1], outs[l]))
    grads = [
        {"W": prev.T @ delta, "b": jnp.sum(delta, axis=0)}
        for prev, delta in zip(outs[:-1], deltas)
    ]
    return deltas, grads


def loss_and_grad(
    params: Params,
    x: Array,
    y: Array,
    hidden="sigmoid",
    output="sigmoid",
    loss: str = "squared",
    mask: Params | None = None,
) -> tuple[Array, Params]:
    """Loss and its gradient with respect to every weight, by backpropagation.

    x: (batch, n_in), y: (batch, n_out). Returns ``(loss (), grads)`` with grads
    shaped like params; masked-out edges get gradient 0.
    """
    activations = layer_activations(len(params), hidden, output)
    loss_fn = get_loss(loss, output)
    masked = apply_mask(params, mask)
    zs, outs = forward_layers(masked, x, hidden, output)
    value = loss_fn.value(zs[-1], outs[-1], y)
    delta_out = loss_fn.delta(zs[-1], outs[-1], y, output)  # step 1
    _, grads = backward(masked, zs, outs, delta_out, activations)  # steps 2 and 3
    return value, apply_mask(grads, mask)
