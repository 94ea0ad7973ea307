"""Narrow deep ReLU networks: a construction where depth alone drives the error down,
exact floors for width 1, and dead layers.

- ``deep_interpolant``: for d = 1 input and d_out outputs, a ReLU net of width
  1 + d_out and depth D (hidden layers) computing exactly the piecewise-linear
  interpolant of a curve at the D + 2 knots j / (D + 1). Width 2 for one output (d + 1,
  the minimal width for uniform approximation of Hanin and Sellke 2017) and 3 for a
  curve in the plane (d + d_out, their upper bound). One unit carries
  u_j = relu(x - t_j), passed on as relu(u_j - (t_{j+1} - t_j)) = relu(x - t_{j+1});
  one more unit per output accumulates the interpolant, a_{j+1} = relu(a_j + m_j u_j)
  (m_0 the first slope, m_j the slope change at knot j), kept nonnegative by the
  offset C = sum_j |m_j| that the output removes. An L-Lipschitz target is within L h / 2 of its
  interpolant on pieces of length h: error <= L / (2 (D + 1)) (``interpolant_bound``).
- ``monotone_floor``: a width-1 ReLU net of one input is monotone (each layer
  relu(a h + b) is), so its error on a grid is at least the best monotone fit's: the
  sup (half the largest drop against the direction) and the L2 (isotonic regression,
  pool adjacent violators), the smaller of the two directions.
- ``line_floor``: a width-1 net with 2 outputs traces a line segment, so its error is
  at least the distance from the curve to the best line: half the minimal width of
  the points (sup) and the smallest principal component (L2).
- ``evaluate``, ``dead_layers``: outputs of many ReLU nets on a grid, and their hidden
  layers whose units are all off (input sum <= 0) at every point: a net with such a
  layer is constant there, whatever its width and depth could express.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .mlp import forward_layers

Params = list[dict[str, np.ndarray]]


def knots(depth: int) -> np.ndarray:
    """The D + 2 knots j / (D + 1), j = 0..D + 1, of the depth-D interpolant."""
    return np.arange(depth + 2) / (depth + 1)


def deep_interpolant(knot_values) -> Params:
    """ReLU params [1, 1 + k, ..., 1 + k, k] (D = len(knot_values) - 2 hidden layers,
    identity output) computing the piecewise-linear interpolant on [0, 1] of the values
    (D + 2, k) at the equispaced knots ``knots(D)``; exact on [0, 1] (needs x >= 0)."""
    v = np.asarray(knot_values, np.float64)
    v = v[:, None] if v.ndim == 1 else v
    pieces, k = v.shape[0] - 1, v.shape[1]
    if pieces < 2:
        raise ValueError(f"deep_interpolant needs at least 3 knots (depth >= 1), got {v.shape[0]}")
    h = 1.0 / pieces
    slopes = np.diff(v, axis=0) / h  # (pieces, k)
    m = np.concatenate([slopes[:1], np.diff(slopes, axis=0)])  # m[0] first slope, m[j] change at knot j
    C = np.abs(m).sum(axis=0)  # (k,): every partial sum of |m_j| relu(x - t_j) lies in [-C, C] on [0, 1]
    eye = np.eye(k)
    # layer 1: u_1 = relu(x - h), a_1 = relu(C + m_0 x)
    layers = [{"W": np.concatenate([[1.0], m[0]])[None, :], "b": np.concatenate([[-h], C])}]
    for j in range(1, pieces - 1):  # layer j + 1: u <- relu(u - h), a <- relu(a + m_j u)
        W = np.zeros((1 + k, 1 + k))
        W[0, 0], W[0, 1:], W[1:, 1:] = 1.0, m[j], eye
        layers.append({"W": W, "b": np.concatenate([[-h], np.zeros(k)])})
    # output: a + m_{D} u - C + g(0)
    W = np.concatenate([m[pieces - 1][None, :], eye])
    layers.append({"W": W, "b": v[0] - C})
    return layers


def interpolant_bound(lipschitz: float, depth: int) -> float:
    """Sup error bound of the depth-D interpolant of an L-Lipschitz target: L / (2 (D + 1))."""
    return lipschitz / (2 * (depth + 1))


def _isotonic(y: np.ndarray) -> np.ndarray:
    """The nondecreasing sequence closest to y in least squares (pool adjacent violators)."""
    means, counts = [], []
    for v in y:
        means.append(float(v))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            c = counts[-2] + counts[-1]
            means[-2] = (means[-2] * counts[-2] + means[-1] * counts[-1]) / c
            counts[-2] = c
            means.pop()
            counts.pop()
    return np.repeat(means, counts)


def monotone_floor(values) -> tuple[float, float]:
    """(sup, L2) errors of the best monotone fit to values (N,) on an ordered grid: no
    monotone function, so no width-1 ReLU net of one input, errs less on that grid."""
    v = np.asarray(values, np.float64)
    sups, l2s = [], []
    for w in (v, -v):  # nondecreasing fits of v, and of -v (nonincreasing fits of v)
        sups.append(float((np.maximum.accumulate(w) - w).max() / 2))
        l2s.append(float(np.sqrt(np.mean((_isotonic(w) - w) ** 2))))
    return min(sups), min(l2s)


def _hull(points: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of 2-D points, counter-clockwise (monotone chain)."""
    p = np.unique(points, axis=0)
    if len(p) < 3:
        return p

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq):
        out = []
        for q in seq:
            while len(out) >= 2 and cross(out[-2], out[-1], q) <= 0:
                out.pop()
            out.append(q)
        return out[:-1]

    return np.array(half(p) + half(p[::-1]))


def line_floor(points) -> tuple[float, float]:
    """(sup, L2) distance from points (N, 2) to the best line: half the minimal width of the
    point set (attained normal to an edge of its convex hull) and the root of the smaller
    eigenvalue of their covariance. A width-1 net with 2 outputs (any depth) maps into a line."""
    p = np.asarray(points, np.float64)
    hull = _hull(p)
    width = np.inf
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.hypot(*(b - a))
        proj = p @ normal
        width = min(width, float(proj.max() - proj.min()))
    centred = p - p.mean(axis=0)
    smallest = float(np.linalg.eigvalsh(centred.T @ centred / len(p))[0])
    return width / 2, float(np.sqrt(max(smallest, 0.0)))


@jax.jit
def _evaluate(params, x):
    def one(p):
        zs, outs = forward_layers(p, x, "relu", "identity")
        return outs[-1], jnp.stack([jnp.max(z) <= 0 for z in zs[:-1]])  # a hidden layer with no unit on anywhere
    return jax.lax.map(one, params)


def evaluate(params, x) -> tuple[np.ndarray, np.ndarray]:
    """M ReLU nets (params with leading axis M, padded units 0; identity output) on the points
    x (N, n_in), one net at a time in the params' dtype: (outputs (M, N, n_out), dead (M, hidden
    layers) bool), dead where every unit of that layer has input sum <= 0 on all of x (padded
    units never switch on, so they do not count)."""
    out, dead = _evaluate(params, jnp.asarray(x, jax.tree.leaves(params)[0].dtype))
    return np.asarray(out, np.float64), np.asarray(dead)


def dead_layers(params, x) -> np.ndarray:
    """(M, hidden layers) bool: ``evaluate``'s dead layers."""
    return evaluate(params, x)[1]
