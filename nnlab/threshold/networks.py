"""One-hidden-layer threshold networks given by the truth tables of their hidden units.

A network of width K on n bits computes
    f(x) = [sum_i out_w[i] h_i(x) + out_v . x + out_b >= 0],
h_i the threshold function with truth table hidden[i] (-1: no unit), all weights
integers. ``network_params`` turns a batch of them into nnlab params (the hidden
units get the integer weights of ``threshold_functions``); ``network_functions``
runs them with ``nnlab.forward`` and step units on all 2^n inputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..boolean import inputs
from ..mlp import Params, forward
from .functions import _pack, threshold_functions, threshold_index


def network_params(n: int, hidden, out_w, out_b, out_v=None, dtype=jnp.float32) -> Params:
    """Params for F networks with a leading axis over them.

    hidden, out_w: (F, K) int64; out_b: (F,) int64; out_v: (F, n) int64 or None (no
    input-to-output edges). Hidden layer: the K units (unused ones have zero weights and
    output weight), then, with out_v, n copy units x_j = [x_j - 1 >= 0] read with
    weights out_v. Raises ValueError if a hidden table is no threshold function.
    Use with ``forward(p, x, hidden="step", output="step")``.
    """
    hidden, W2, b2 = (np.asarray(a, np.int64) for a in (hidden, out_w, out_b))
    F = len(hidden)
    th = threshold_functions(n)
    row = threshold_index(th, np.maximum(hidden, 0))
    used = hidden >= 0
    if (used & (row < 0)).any():
        raise ValueError("a hidden unit is not a threshold function")
    W1 = np.where(used[..., None], th.weights[row], 0).transpose(0, 2, 1)  # (F, n, K)
    b1 = np.where(used, th.bias[row], -1)
    if out_v is not None:
        W1 = np.concatenate([W1, np.broadcast_to(np.eye(n, dtype=np.int64), (F, n, n))], 2)
        b1 = np.concatenate([b1, -np.ones((F, n), np.int64)], 1)
        W2 = np.concatenate([W2, np.asarray(out_v, np.int64)], 1)
    return [{"W": jnp.asarray(W1, dtype), "b": jnp.asarray(b1, dtype)},
            {"W": jnp.asarray(W2[..., None], dtype), "b": jnp.asarray(b2[:, None], dtype)}]


@jax.jit
def _outputs(params: Params, x: jax.Array) -> jax.Array:
    return jax.vmap(lambda p: forward(p, x, hidden="step", output="step")[:, 0])(params)


def network_functions(params: Params, n: int) -> np.ndarray:
    """(F,) int64: the truth table each network of ``network_params`` computes, from
    ``nnlab.forward`` with step units on all 2^n inputs (float32 is exact for integer
    weights below 2^24)."""
    out = np.asarray(_outputs(params, jnp.asarray(inputs(n), params[0]["W"].dtype)))
    return _pack(out > 0.5)
