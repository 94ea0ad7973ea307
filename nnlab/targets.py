"""Target functions the experiments fit: curves of one input on [-1, 1], and
L-Lipschitz functions on the unit cube [0, 1]^d with a known L (sums of bumps, and
a closed curve in the plane).

The curves map x (any shape) to values in (0, 1), so a sigmoid output can reach them.
Boolean targets are truth tables (``nnlab.boolean``: ``parity``, ``majority``, ``bits``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CURVES = {
    "bump": lambda x: 0.1 + 0.8 * np.exp(-8 * np.asarray(x) ** 2),  # one smooth bump, the article's kind of target
    "sine": lambda x: 0.5 + 0.4 * np.sin(np.pi * np.asarray(x)),
}


def curve(name: str, x) -> np.ndarray:
    """The target curve ``name`` at x (same shape and dtype as x)."""
    try:
        f = CURVES[name]
    except KeyError:
        raise ValueError(f"target {name!r} is unknown; allowed: {', '.join(CURVES)}") from None
    x = np.asarray(x)
    return f(x).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def grid(points: int, dtype=np.float32) -> np.ndarray:
    """``points`` evenly spaced inputs on [-1, 1], as a (points, 1) column."""
    return np.linspace(-1, 1, points, dtype=dtype)[:, None]


# --- L-Lipschitz targets on the unit cube [0, 1]^d (nnlab.approximation, universal_approximation) ---
#
# Lipschitz constants are taken in the max norm of the input: |f(x) - f(y)| <= L ||x - y||_inf,
# so a cube of side s holds values within L s / 2 of its centre's. For a differentiable f
# the best such L is sup ||grad f(x)||_1.


class BumpTarget(NamedTuple):
    """f(x) = sum_k heights[k] exp(-||x - centers[k]||^2 / (2 widths[k]^2)) on [0, 1]^d."""

    centers: np.ndarray  # (K, d)
    widths: np.ndarray  # (K,) r_k = rho_k sqrt(d): the same shape in every dimension, scaled to the diagonal
    heights: np.ndarray  # (K,) > 0
    lipschitz: float  # certified: sum_k h_k sqrt(d) / (r_k sqrt(e)) >= sup ||grad f||_1


BUMP_SEED = 6021  # the family's own integer: targets depend on (d, target_seed), never on the run's seed


def bumps(d: int, count: int = 3, lipschitz: float = 1.0, width: float = 0.2, seed: int = 0) -> BumpTarget:
    """A sum of ``count`` Gaussian bumps on [0, 1]^d, scaled so that its certified
    Lipschitz constant (max norm) is exactly ``lipschitz``.

    Centres uniform in [0.2, 0.8]^d, widths r_k = rho_k sqrt(d) with rho_k uniform in
    [width, 1.5 width], heights uniform in [0.5, 1] before scaling; all drawn from
    ``numpy.random.default_rng([BUMP_SEED, seed, d])``.
    One bump's sup ||grad||_1 is h sqrt(d) / (r sqrt(e)) (at ||x - c|| = r on a
    diagonal); the sum of these bounds the sum's, so f is ``lipschitz``-Lipschitz.
    """
    if d < 1 or count < 1 or not lipschitz > 0 or not width > 0:
        raise ValueError(f"bumps needs d >= 1, count >= 1, lipschitz > 0, width > 0; got {d}, {count}, {lipschitz}, {width}")
    rng = np.random.default_rng([BUMP_SEED, seed, d])
    centers = rng.uniform(0.2, 0.8, size=(count, d))
    widths = rng.uniform(width, 1.5 * width, size=count) * np.sqrt(d)
    heights = rng.uniform(0.5, 1.0, size=count)
    per_bump = heights * np.sqrt(d) / (widths * np.sqrt(np.e))
    return BumpTarget(centers, widths, heights * lipschitz / per_bump.sum(), float(lipschitz))


def bump_values(target: BumpTarget, x) -> np.ndarray:
    """f(x) for x (N, d): (N,) float64."""
    x = np.asarray(x, np.float64)
    sq = ((x[:, None, :] - target.centers[None]) ** 2).sum(-1)  # (N, K)
    return np.exp(-sq / (2 * target.widths**2)) @ target.heights


def bump_gradients(target: BumpTarget, x) -> np.ndarray:
    """grad f(x) for x (N, d): (N, d) float64."""
    x = np.asarray(x, np.float64)
    u = x[:, None, :] - target.centers[None]  # (N, K, d)
    w2 = target.widths**2
    g = np.exp(-(u**2).sum(-1) / (2 * w2)) * (-target.heights / w2)  # (N, K)
    return (g[:, :, None] * u).sum(1)


def loop(x, lipschitz: float = 1.0) -> np.ndarray:
    """A closed curve in the plane: the circle of radius L / (2 pi) about (1/2, 1/2), once
    around as x runs over [0, 1]. x (N, 1) -> (N, 2) float64; its speed is L, so it is
    L-Lipschitz from [0, 1] to the plane with the Euclidean norm."""
    t = 2 * np.pi * np.asarray(x, np.float64)[:, 0]
    radius = lipschitz / (2 * np.pi)
    return 0.5 + radius * np.stack([np.cos(t), np.sin(t)], axis=1)
