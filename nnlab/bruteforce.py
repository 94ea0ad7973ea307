"""Brute force: every network whose weights lie on a grid, for comparison with training.

A net with one hidden layer, sizes ``[n_in, h, n_out]``, has
(n_in + 1) h + (h + 1) n_out weights (bias edges included); with q grid values
per weight there are q ** that many networks (q^9 for the 2-2-1 XOR net).
``grid_search`` evaluates every one of them on every training point. It splits
each network into its hidden part (W1, b1) and its output part (W2, b2): one
chunk of hidden parts is evaluated once, then combined with *all* output parts
at once, so the work is vectorised and memory stays bounded.

``article_rounds`` is the article's count for brute force over 64-bit weights.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .activations import get_activation
from .losses import get_loss
from .mlp import Params

Array = jax.Array


class GridResult(NamedTuple):
    best_loss: float  # smallest training loss on the grid
    best_params: Params  # one network attaining it (the first in enumeration order)
    networks: int  # networks evaluated: q ** n_weights
    solved: int  # networks with every output within 0.5 of its target (all points right)
    values: np.ndarray  # (q,) the grid of weight values


def grid_values(q: int, half_range: float) -> np.ndarray:
    """q evenly spaced weight values on [-half_range, half_range] (0 is one of them for odd q)."""
    if q < 2:
        raise ValueError(f"q must be >= 2, got {q}")
    return np.linspace(-half_range, half_range, q)


def article_rounds(n_weights: int, bits: int = 64) -> int:
    """Rounds of brute force over all settings of ``n_weights`` weights of ``bits`` bits each,
    2 ** (bits * n_weights), exactly (each round tests one network on all training points)."""
    return 2 ** (bits * int(n_weights))


def _digits(index: Array, q: int, count: int) -> Array:
    """Base-q digits, least significant first. index: (C,) -> (C, count)."""
    powers = jnp.asarray([q**k for k in range(count)], index.dtype)
    return (index[:, None] // powers[None, :]) % q


def _chunk(start, x_aug, y, values, out_weights, q, shapes, hidden, output, loss, chunk, total):
    """Evaluate hidden parts start..start+chunk against every output part."""
    n_in, h, n_out = shapes
    index = start + jnp.arange(chunk, dtype=start.dtype)
    first = values[_digits(index, q, (n_in + 1) * h)].reshape(chunk, n_in + 1, h)  # rows: inputs, then bias
    hid = get_activation(hidden).fn(jnp.einsum("ni,cih->cnh", x_aug, first))
    hid_aug = jnp.concatenate([hid, jnp.ones_like(hid[..., :1])], axis=-1)  # (C, N, h + 1)
    z = jnp.einsum("cnk,mko->cmno", hid_aug, out_weights)  # (C, M, N, n_out)
    a = get_activation(output).fn(z)
    value = get_loss(loss, output).value
    losses = jax.vmap(jax.vmap(lambda z_, a_: value(z_, a_, y)))(z, a)  # (C, M)
    valid = (index < total)[:, None]
    losses = jnp.where(valid, losses, jnp.inf)
    right = jnp.all(jnp.abs(a - y[None, None]) < 0.5, axis=(2, 3)) & valid
    flat = jnp.argmin(losses)
    return losses.ravel()[flat], flat, jnp.sum(right)


_chunk_jit = jax.jit(_chunk, static_argnames=("q", "shapes", "hidden", "output", "loss", "chunk", "total"))


def grid_search(x, y, hidden_width: int, values, hidden: str = "sigmoid", output: str = "sigmoid",
                loss: str = "squared", chunk: int = 4096, progress=None) -> GridResult:
    """Evaluate every network of sizes [n_in, hidden_width, n_out] with weights in ``values``.

    x: (N, n_in), y: (N, n_out); runs in x's dtype. chunk: hidden parts per compiled
    call (memory ~ chunk x q^((h+1) n_out) x N x n_out numbers). progress: optional
    callable(done, total) called after each chunk.
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y, x.dtype)
    values = np.asarray(values, dtype=np.dtype(x.dtype))
    q = len(values)
    n_in, n_out, h = x.shape[1], y.shape[1], int(hidden_width)
    n_hidden_part, n_out_part = (n_in + 1) * h, (h + 1) * n_out
    total = q**n_hidden_part
    if total >= 2**31:
        raise ValueError(f"{q}^{n_hidden_part} hidden parts: too many to enumerate")
    out_weights = jnp.asarray(values[np.array(list(itertools.product(range(q), repeat=n_out_part)))[:, ::-1]]
                              .reshape(-1, h + 1, n_out))  # (M, h + 1, n_out), first output digit fastest
    x_aug = jnp.concatenate([x, jnp.ones_like(x[:, :1])], axis=1)
    chunk = min(int(chunk), total)
    best, best_at, solved = np.inf, (0, 0), 0
    for start in range(0, total, chunk):
        low, flat, right = _chunk_jit(jnp.asarray(start, jnp.int32), x_aug, y, jnp.asarray(values), out_weights,
                                      q, (n_in, h, n_out), hidden, output, loss, chunk, total)
        solved += int(right)
        if float(low) < best:
            best, best_at = float(low), (start + int(flat) // out_weights.shape[0], int(flat) % out_weights.shape[0])
        if progress is not None:
            progress(min(start + chunk, total), total)
    hid_digits = np.asarray(_digits(jnp.asarray([best_at[0]], jnp.int32), q, n_hidden_part))[0]
    first = values[hid_digits].reshape(n_in + 1, h)
    second = np.asarray(out_weights[best_at[1]])
    params = [{"W": jnp.asarray(first[:-1]), "b": jnp.asarray(first[-1])},
              {"W": jnp.asarray(second[:-1]), "b": jnp.asarray(second[-1])}]
    return GridResult(best, params, total * out_weights.shape[0], solved, values)
