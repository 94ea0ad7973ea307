"""Target functions the experiments fit: curves of one input on [-1, 1].

Each maps x (any shape) to values in (0, 1), so a sigmoid output can reach them.
Boolean targets are truth tables (``nnlab.boolean``: ``parity``, ``majority``, ``bits``).
"""

from __future__ import annotations

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
