"""What the parts of depth_separation share: keys and generators by named stream, the
sawtooth's training grid, exact errors of trained one-input nets, and the outputs of
every network of a population on test inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import nnlab
from nnlab import sawtooth as ST
from nnlab.pieces import count_pieces

# the streams of random draws (docs/design.md, the key rule): one integer per use
CHECK_POINTS, SHALLOW, DEEP_SGD, COMP_DATA, COMP_SHALLOW, COMP_TREE, COMP_DEEP, REGIONS = 1, 11, 12, 21, 22, 23, 24, 31

BEST_CONSTANT = 1 / np.sqrt(12)  # L2 error over [0, 1] of g = 1/2 against tent^k, any k >= 1


def key(seed: int, stream: int) -> jax.Array:
    return jax.random.fold_in(jax.random.key(seed), stream)


def rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def float64(params) -> list:
    """One network's params as float64 numpy arrays (exact: every float32 is a float64)."""
    return [{name: np.asarray(a, np.float64) for name, a in layer.items()} for layer in params]


def sawtooth_grid(k: int, per_piece: int) -> tuple[np.ndarray, np.ndarray]:
    """The training grid of tent^k: x_j = j / (2^k per_piece), j = 0 .. 2^k per_piece (float64),
    and the nets' input u = 2 x - 1 as a (n, 1) float32 column (an affine change of the
    input variable: the same pieces; centred inputs train better)."""
    x = np.arange(2**k * per_piece + 1) / (2**k * per_piece)
    return x, (2 * x - 1).astype(np.float32)[:, None]


def sawtooth_target(x, k: int) -> np.ndarray:
    """What the nets fit: tent^k(x) - 1/2, (n, 1) float32 (the 1/2 is added back to their output)."""
    return (ST.tent_power(x, k) - 0.5).astype(np.float32)[:, None]


def exact_fit(params, k: int) -> dict:
    """A net trained on (u, tent^k(x) - 1/2), u = 2x - 1, read exactly: its linear pieces on
    u in [-1, 1] (``count_pieces``, float64) and the exact L2 error over x in [0, 1] of
    g(x) = net(2x - 1) + 1/2 against tent^k (``sawtooth.pl_error``), also relative to the
    best constant's error 1/sqrt(12), and the labels [g >= 1/2] of the 2^k alternating points."""
    net = float64(params)
    p = count_pieces(net, -1.0, 1.0)
    l2 = ST.pl_error((p.points + 1) / 2, p.values[:, 0] + 0.5, k)
    x, y = ST.alternating_points(k)
    u = 2 * x - 1
    out = np.interp(u, p.points, p.values[:, 0])  # the net is affine between the tracked points
    return dict(l2_error=l2, rel_error=l2 / BEST_CONSTANT, pieces=p.pieces, regions=p.regions,
                class_errors=int(np.count_nonzero((out >= 0) != (y == 1))))


def outputs(result, x, hidden) -> np.ndarray:
    """(M, N) float64: every network of a ``TrainResult`` on the inputs x (N, n_in), float32.
    Padded units and masked edges are exactly 0, so a padded net computes what its true one does."""
    x = jnp.asarray(x, jnp.float32)
    run = jax.jit(jax.vmap(lambda p: nnlab.forward(p, x, hidden, "identity")[:, 0]))
    return np.asarray(run(result.params), np.float64)
