"""The reference: what a skilled JAX user writes by hand to train many networks.

``jax.jit(jax.vmap(train_one))`` with ``jax.grad`` of the loss inside a
``lax.scan``, plain SGD, from given initial weights. A width sweep is one program
too: every width padded to the widest and masked (the loss multiplies the weights
by the 0/1 mask, so ``jax.grad`` gives the removed edges zero gradient). It
returns the final weights and loss only (nnlab also records losses on the way).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from experiments.bench.workloads import Workload

ACTIVATION = {"sigmoid": jax.nn.sigmoid, "identity": lambda z: z}


def reference_loss(params, mask, x, y, hidden: str, output: str):
    """Mean over examples of the summed squared error; x: (N, n_in), y: (N, n_out)."""
    h = x
    for l, layer in enumerate(params):
        W, b = (layer["W"], layer["b"]) if mask is None else (layer["W"] * mask[l]["W"], layer["b"] * mask[l]["b"])
        h = ACTIVATION[output if l == len(params) - 1 else hidden](h @ W + b[None, :])
    return jnp.sum((h - y) ** 2) / x.shape[0]


def reference_program(w: Workload, masked: bool):
    """jit(vmap(train_one)): (params, mask, restart key, x, y, lr) -> (params, final loss),
    params and mask (None unless ``masked``) with a leading network axis."""
    grad = jax.grad(reference_loss)
    n = w.x.shape[0]

    def sgd(params, mask, xb, yb, lr):
        g = grad(params, mask, xb, yb, w.hidden, w.output)
        return jax.tree.map(lambda p, d: p - lr * d, params, g)

    def train_one(params, mask, key, x, y, lr):
        if w.batch_size is None:
            params, _ = jax.lax.scan(lambda p, _: (sgd(p, mask, x, y, lr), None), params, None, length=w.steps)
        else:  # a new order of the examples every epoch, from the restart's shuffle key (as nnlab.train)
            shuffle_key = jax.random.fold_in(key, 1)

            def epoch(p, e):
                order = jax.random.permutation(jax.random.fold_in(shuffle_key, e), n)
                batches = order[: n // w.batch_size * w.batch_size].reshape(-1, w.batch_size)
                p, _ = jax.lax.scan(lambda p, idx: (sgd(p, mask, x[idx], y[idx], lr), None), p, batches)
                return p, None

            params, _ = jax.lax.scan(epoch, params, jnp.arange(w.steps // (n // w.batch_size)))
        return params, reference_loss(params, mask, x, y, w.hidden, w.output)

    return jax.jit(jax.vmap(train_one, in_axes=(0, 0 if masked else None, 0, None, None, None)))
