"""The constructive universal approximation theorem: networks built by code, their
error bounds, and the errors measured on a grid.

Shalev-Shwartz and Ben-David (Understanding Machine Learning, 2014, section 20.3 and
exercise 20.1): an L-Lipschitz f on [0, 1]^d (max norm: |f(x) - f(y)| <= L ||x - y||_inf)
is within L s / 2 of its value at the centre of any cube of side s around a point.
Cut [0, 1]^d into n^d cells of side s = 1/n; a network that finds the cell of x and
outputs f at its centre is within L / (2n) of f everywhere. For a target error eps,
n = ceil(L / (2 eps)) cells per axis: (L / (2 eps))^d cells, the exponential price.

- d = 1, ONE hidden layer (``one_layer``): n - 1 threshold units 1[x >= j/n] and the
  output f(c_0) + sum_j (f(c_j) - f(c_{j-1})) 1[x >= j/n]: error <= L / (2n)
  (``step_bound``). With steep sigmoids s(k (x - j/n)) instead of thresholds the
  error is <= L / (2n) + (L / n) 2 sum_{m=0}^{n-2} s(-k (m + 1/2) / n)
  (``sigmoid_bound``): x between two centres sees a convex mix of the two values whose
  weight leans towards the nearer one, and every other unit is at least half a cell
  from its threshold.
- d >= 2, TWO hidden layers (``cell_network``): d (n - 1) threshold units
  1[x_i >= j/n], then one unit per cell, the AND of its 2d faces
  step(sum_i (1[x_i >= lo_i] - 1[x_i >= hi_i]) - d + 1/2), and the output
  sum_c f(centre_c) 1[x in c]: d (n - 1) + n^d hidden neurons, error <= L / (2n).

Errors are measured on the midpoint grid of [0, 1]^d (``grid_errors``): per_axis points
per axis at (i + 1/2) / per_axis. With per_axis a multiple of n, every point of [0, 1]^d
lies within 1 / (2 per_axis) of a grid point of its own cell, where a cell network is
constant: its true sup error is at most the grid's plus L / (2 per_axis) (``grid_slack``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Params = list[dict[str, np.ndarray]]


# --- the grid and the errors measured on it ---


def grid_points(d: int, per_axis: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Points start..stop-1 of the midpoint grid of [0, 1]^d, per_axis points per axis,
    in C order (the first coordinate slowest): (stop - start, d) float64."""
    total = per_axis**d
    index = np.arange(start, total if stop is None else min(stop, total))
    digits = np.stack([(index // per_axis ** (d - 1 - i)) % per_axis for i in range(d)], axis=1)
    return (digits + 0.5) / per_axis


def pointwise_error(out, y) -> np.ndarray:
    """|out - y| per point, the Euclidean norm over outputs: (N,) or (N, k) each -> (N,) float64."""
    diff = np.asarray(out, np.float64) - np.asarray(y, np.float64)
    return np.abs(diff) if diff.ndim == 1 else np.sqrt((diff**2).sum(axis=1))


def grid_errors(predict: Callable, target: Callable, d: int, per_axis: int, chunk: int = 1 << 16) -> tuple[float, float]:
    """(sup error, L2 error) of predict against target on the midpoint grid of [0, 1]^d.

    predict, target: x (B, d) float64 -> (B,) or (B, k). The sup is the largest
    pointwise error on the grid (a lower bound of the true sup; see ``grid_slack``), the
    L2 error the root mean square over the grid (the midpoint rule for
    (integral over [0, 1]^d of |error|^2)^(1/2)). Streams the grid in chunks.
    """
    sup, sq, total = 0.0, 0.0, per_axis**d
    for start in range(0, total, chunk):
        x = grid_points(d, per_axis, start, start + chunk)
        e = pointwise_error(predict(x), target(x))
        sup, sq = max(sup, float(e.max())), sq + float((e**2).sum())
    return sup, math.sqrt(sq / total)


def grid_slack(lipschitz: float, per_axis: int) -> float:
    """L / (2 per_axis): how far the true sup error of a cell network can exceed its grid sup
    (midpoint grid with per_axis a multiple of the cells per axis)."""
    return lipschitz / (2 * per_axis)


# --- cells ---


def cells_per_axis(eps: float, lipschitz: float) -> int:
    """The fewest cells per axis n with L / (2n) <= eps."""
    return max(1, math.ceil(lipschitz / (2 * eps) - 1e-12))


def cell_centers(n: int, d: int) -> np.ndarray:
    """Centres of the n^d cells, cell index sum_i c_i n^(d-1-i) (C order): (n^d, d) float64."""
    return grid_points(d, n)


def cell_index(x, n: int) -> np.ndarray:
    """The cell of each point of x (N, d) in [0, 1]^d: x_i in [j/n, (j+1)/n) -> c_i = j, x_i = 1 -> n - 1."""
    digits = np.clip(np.floor(np.asarray(x, np.float64) * n).astype(np.int64), 0, n - 1)
    return digits @ (n ** np.arange(digits.shape[1] - 1, -1, -1))


def neurons(d: int, n: int) -> int:
    """Hidden neurons of the construction for d inputs and n cells per axis:
    n - 1 for d = 1 (one hidden layer), d (n - 1) + n^d for d >= 2 (two)."""
    return n - 1 if d == 1 else d * (n - 1) + n**d


def hidden_layers(d: int) -> int:
    """Hidden layers of the construction: 1 for d = 1, 2 for d >= 2."""
    return 1 if d == 1 else 2


def step_bound(lipschitz: float, n: int) -> float:
    """Sup error bound of the threshold constructions with n cells per axis: L / (2n)."""
    return lipschitz / (2 * n)


def sigmoid_bound(lipschitz: float, n: int, steepness: float) -> float:
    """Sup error bound of the one-layer steep-sigmoid construction (d = 1) with n cells and
    units s(k (x - j/n)), k = steepness: L / (2n) + (L / n) 2 sum_{m=0}^{n-2} s(-k (m + 1/2) / n)."""
    m = np.arange(max(n - 1, 0))
    tail = 2 * float(np.sum(0.5 * (1 - np.tanh(0.5 * steepness * (m + 0.5) / n))))
    return lipschitz / (2 * n) + lipschitz / n * tail


def sigmoid_steepness(n: int, tail: float = 0.1) -> float:
    """A steepness k whose sigmoid tail adds at most ``tail`` x L / (2n) to the bound: from
    s(-z) <= e^-z, 2 sum_m e^{-(m + 1/2) k / n} = 2a / (1 - a^2) with a = e^{-k / (2n)},
    set equal to tail / 2."""
    a = (math.sqrt(4 + tail**2) - 2) / tail
    return -2 * n * math.log(a)


# --- the networks, as plain params (numpy float64) ---


def one_layer(values, hidden: str = "step", steepness: float | None = None) -> Params:
    """d = 1, n = len(values) cells, values[j] = f at the centre of cell j: params
    [1, n - 1, 1] (identity output) computing values[0] + sum_j (values[j] - values[j-1]) u_j,
    u_j = step(x - j/n), or with hidden="sigmoid" u_j = sigmoid(k (x - j/n)), k = steepness."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if n < 2:
        raise ValueError(f"one_layer needs at least 2 cells, got {n}")
    if hidden not in ("step", "sigmoid") or (hidden == "sigmoid") != (steepness is not None):
        raise ValueError(f"one_layer takes hidden='step', or hidden='sigmoid' with a steepness; got {hidden!r}, {steepness}")
    k = 1.0 if steepness is None else float(steepness)
    t = np.arange(1, n) / n
    return [{"W": np.full((1, n - 1), k), "b": -k * t},
            {"W": np.diff(values)[:, None], "b": values[:1].copy()}]


def cell_network(values, n: int, d: int) -> Params:
    """The cell construction: values (n^d,) = f at the cell centres (``cell_centers`` order);
    params [d, d (n - 1), n^d, 1] for hidden="step", output="identity"."""
    values = np.asarray(values, np.float64).reshape(-1)
    if n < 2 or d < 1 or values.shape != (n**d,):
        raise ValueError(f"cell_network needs n >= 2, d >= 1 and n^d values; got n={n}, d={d}, {values.shape}")
    cells = np.stack(np.unravel_index(np.arange(n**d), (n,) * d), axis=1)  # (n^d, d): c_i of every cell
    W1 = np.zeros((d, d * (n - 1)))
    for i in range(d):
        W1[i, i * (n - 1):(i + 1) * (n - 1)] = 1.0
    b1 = -np.tile(np.arange(1, n) / n, d)
    W2 = np.zeros((d * (n - 1), n**d))
    cols = np.arange(n**d)
    for i in range(d):
        c = cells[:, i]
        low, high = c >= 1, c <= n - 2  # the face 1[x_i >= c_i / n] is a unit unless c_i = 0; the next unless c_i = n - 1
        W2[i * (n - 1) + c[low] - 1, cols[low]] += 1.0
        W2[i * (n - 1) + c[high], cols[high]] -= 1.0
    b2 = -d + 0.5 + (cells == 0).sum(axis=1)
    return [{"W": W1, "b": b1}, {"W": W2, "b": b2.astype(np.float64)}, {"W": values[:, None], "b": np.zeros(1)}]


def construct(f: Callable, d: int, n: int, hidden: str = "step", tail: float = 0.1) -> tuple[Params, str]:
    """The construction for target f (x (N, d) -> (N,)) with n cells per axis: (params, hidden
    activation). d = 1: ``one_layer`` (step, or sigmoid at ``sigmoid_steepness(n, tail)``);
    d >= 2: ``cell_network`` (step only)."""
    values = f(cell_centers(n, d))
    if d == 1:
        return one_layer(values, hidden, sigmoid_steepness(n, tail) if hidden == "sigmoid" else None), hidden
    if hidden != "step":
        raise ValueError(f"the cell construction (d = {d} >= 2) uses threshold units; got hidden={hidden!r}")
    return cell_network(values, n, d), "step"


def bound(lipschitz: float, d: int, n: int, hidden: str = "step", tail: float = 0.1) -> float:
    """The sup error bound of ``construct(f, d, n, hidden, tail)`` for an L-Lipschitz f."""
    if hidden == "sigmoid":
        return sigmoid_bound(lipschitz, n, sigmoid_steepness(n, tail))
    return step_bound(lipschitz, n)
