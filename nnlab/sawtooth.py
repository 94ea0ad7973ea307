"""The sawtooth tent^k: 2 ReLU units per layer compute it, one hidden layer cannot.

Telgarsky (2015, "Representation benefits of deep feedforward networks",
arXiv:1509.08101; 2016, "Benefits of depth in neural networks", COLT): the tent
map t(x) = 2x on [0, 1/2], 2 - 2x on [1/2, 1] equals 2 relu(x) - 4 relu(x - 1/2)
on [0, 1], so t^k is a ReLU net with k hidden layers of 2 units (each layer's
linear combination folded into the next layer's weights). t^k is piecewise
linear with 2^k pieces, breakpoints j / 2^k and t^k(j / 2^k) = j mod 2. A net
with one hidden layer of w ReLU units has at most w + 1 pieces, and a function
with N < 2^k pieces cannot follow t^k:

- sup norm (exact): any continuous g with N < 2^k pieces has sup |g - t^k| >= 1/2
  (|g - t^k| < 1/2 at the 2^k + 1 breakpoints j / 2^k would make g - 1/2 change
  sign in each of the 2^k gaps, and one affine piece changes sign at most once);
  g = 1/2 attains it.
- L2 over [0, 1]: ``best_pl_error`` brackets the least error of any continuous g
  with N pieces between a provable lower bound (``nnlab.sawtooth_bound``) and
  the error of an actual N-piece function (``pl_construction``).
- classification (Telgarsky's n-ap): ``min_classification_errors``.

Conventions: numpy float64; a continuous PL function on [0, 1] is ``(knots,
values)``, knots (n + 1,) from 0 to 1, values (n + 1,), n pieces.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import sawtooth_bound as SB

DP_MAX_K = 5  # the exact dynamic program of the relaxation up to L = 2^5 (below 1 s); the LP beyond


def tent(x):
    """t(x) = 2x on [0, 1/2], 2 - 2x on [1/2, 1]; exact in float64 for dyadic x."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.5, 2 * x, 2 - 2 * x)


def tent_power(x, k: int):
    """t^k(x), the tent map applied k times (t^0 = identity)."""
    for _ in range(k):
        x = tent(x)
    return np.asarray(x, dtype=np.float64)


def tent_network(k: int) -> list:
    """nnlab params of [1, 2, ..., 2, 1] (k hidden layers of 2 relu units, identity
    output) computing t^k exactly on [0, 1] (Telgarsky 2015, 2016).

    Layer 1: h = (relu(x), relu(x - 1/2)); each further layer takes
    t = 2 h_1 - 4 h_2 and forms (relu(t), relu(t - 1/2)); the output is 2 h_1 - 4 h_2.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    fold = np.array([[2.0], [-4.0]])  # t = h @ fold
    params = [{"W": np.array([[1.0, 1.0]]), "b": np.array([0.0, -0.5])}]
    for _ in range(k - 1):
        params.append({"W": fold @ np.array([[1.0, 1.0]]), "b": np.array([0.0, -0.5])})
    params.append({"W": fold, "b": np.array([0.0])})
    return params


def alternating_points(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Telgarsky's 2^k-ap: x_i = i / 2^k, y_i = i mod 2 = t^k(x_i), i < 2^k. (2^k,), (2^k,).

    (At the midpoints (i + 1/2) / 2^k t^k is 1/2 everywhere, so the deep net could not
    label them by [t^k >= 1/2]; the counts below depend only on the points' order.)
    """
    i = np.arange(2**k)
    return i / 2.0**k, (i % 2).astype(np.int64)


def min_classification_errors(k: int, N: int) -> int:
    """Least number of the 2^k alternating points misclassified by [g(x) >= 1/2]
    over continuous PL g with N pieces: max(0, ceil((2^k - N - 1) / 2)).

    Proof. Each affine piece meets {g >= 1/2} in an interval containing one of its
    ends (or in nothing, or in all of it), so along [0, 1] the prediction changes
    at most once per piece: at most N changes, N + 1 blocks of consecutive points
    with one prediction. A block of b alternating labels has floor(b / 2) points
    against any constant, so errors >= sum floor(b_j / 2) = (M - #odd blocks) / 2
    >= (M - N - 1) / 2 with M = 2^k points. Attained (``classification_construction``):
    N single-point blocks predicted correctly, then one block with the rest.
    Conversely any prediction with c <= N changes is realised by max(c, 1) pieces.
    """
    if N < 1:
        raise ValueError(f"N must be >= 1, got {N}")
    return max(0, -(-(2**k - N - 1) // 2))


def classification_construction(k: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """A continuous PL g with min(N, 2^k - 1) pieces attaining ``min_classification_errors``:
    it interpolates (x_i, y_i) for i <= N and continues its last piece to x = 1."""
    x, y = alternating_points(k)
    K = min(N + 1, x.size)  # knots at x_1 .. x_{K-2}; the last piece runs on through x_{K-1}
    last = y[K - 1] + (y[K - 1] - y[K - 2]) * 2.0**k * (1 - x[K - 1])
    return np.append(x[: K - 1], 1.0), np.append(y[: K - 1].astype(np.float64), last)


def _piece_costs(a, b, ya, yb):
    """int_a^b (f - y)^2 in half-tooth units for the line y from (a, ya) to (b, yb)."""
    F0, F1, F2 = SB.moments(a, b)
    h = b - a
    gB = np.where(h > 0, F1 / np.where(h > 0, h, 1), 0.0)
    return F2 - 2 * ((F0 - gB) * ya + gB * yb) + h * (ya * ya + ya * yb + yb * yb) / 3


def pl_error(knots, values, k: int) -> float:
    """Exact L2 error over [0, 1] (root of the integral of (g - t^k)^2) of the
    continuous PL g through (knots, values); knots (n + 1,) from 0 to 1."""
    L = 2.0**k
    t, y = np.asarray(knots, np.float64) * L, np.asarray(values, np.float64)
    return float(np.sqrt(max(np.sum(_piece_costs(t[:-1], t[1:], y[:-1], y[1:])), 0.0) / L))


def _fit(t, fixed: int):
    """Least-squares values at knots t (half-tooth units) with values[:fixed] = f(t);
    returns (values, squared error in half-tooth units of the pieces after knot fixed - 1)."""
    y = SB.wave(t)
    q0 = max(fixed - 1, 0)
    a, b = t[q0:-1], t[q0 + 1:]  # every piece that touches a free value
    F0, F1, _ = SB.moments(a, b)
    h = b - a
    gB = F1 / h
    n = t.size - fixed
    H, g = np.zeros((n, n)), np.zeros(n)
    for p in range(a.size):  # piece p joins knots q0 + p and q0 + p + 1
        ends = [(q0 + p - fixed, F0[p] - gB[p]), (q0 + p + 1 - fixed, gB[p])]
        for (i, gi), (j, _) in zip(ends, ends[::-1]):
            if i >= 0:
                g[i] += gi
                H[i, i] += h[p] / 3
                if j >= 0:
                    H[i, j] += h[p] / 6
                else:
                    g[i] -= h[p] / 6 * y[q0 + p]  # the fixed neighbour
    y[fixed:] = np.linalg.solve(H, g)
    cost = np.sum(_piece_costs(a, b, y[q0:-1], y[q0 + 1:]))
    return y, max(float(cost), 0.0)


@lru_cache(maxsize=4096)
def _tail(d: int, L: int | None = None) -> tuple:
    """The fitted end of the upper-bound function for deficit d = L - N (half-tooth units).

    f exactly on [0, j] (knots at the integers), then either one piece to L
    (j = N - 1) or one more knot j + s and one piece to L (j = N - 2, s by a
    grid and a golden-section search); values from knot j - 2 on are least
    squares. f has period 2, so this depends on d only: it is computed on the
    shortest [0, L] with j >= 4 of the right parity (or on the given L when N <= 3).
    Returns (knots from j - 2 on, shifted to start at 0; their values; the squared
    error of the pieces from knot j - 3 on; j - 2; that L).
    """
    L = L or d + 6 + d % 2
    N = L - d
    best = None
    for j, extra in ((N - 1, False), (N - 2, True)):
        if j < 0:
            continue

        def trial(s):
            t = np.concatenate([np.arange(j + 1.0), [j + s] if extra else [], [float(L)]])
            return _fit(t, max(0, j - 2)) + (t,)

        if extra:
            grid = np.linspace(0.02, 0.98, 25)
            i = int(np.argmin([trial(s)[1] for s in grid]))
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
            for _ in range(30):
                m1, m2 = hi - (hi - lo) * 0.618, lo + (hi - lo) * 0.618
                lo, hi = (lo, m2) if trial(m1)[1] <= trial(m2)[1] else (m1, hi)
            y, cost, t = trial((lo + hi) / 2)
        else:
            y, cost, t = trial(None)
        if best is None or cost < best[2]:
            first = max(0, j - 2)
            best = (tuple(t[first:] - t[first]), tuple(y[first:]), cost, first, L)
    return best


def _construction(L: int, N: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Knots, values (half-tooth units) and squared error of the upper-bound function."""
    if N >= L:
        t = np.arange(L + 1.0)
        return t, SB.wave(t), 0.0
    if N == 1:
        return np.array([0.0, L]), np.array([0.5, 0.5]), L / 12
    d = L - N
    t_end, y_end, cost, first, L0 = _tail(d, L if N <= 3 else None)
    start = first + (L - L0)  # shift by an even number of units: f is the same there
    t = np.concatenate([np.arange(float(start)), start + np.array(t_end)])
    return t, np.concatenate([SB.wave(np.arange(float(start))), y_end]), cost


def pl_construction(k: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """A continuous PL function on [0, 1] with at most N pieces, the one behind
    ``best_pl_error(k, N).upper``: t^k exactly on a prefix, then one or two
    pieces fitted by least squares (the shape the optimum takes for small k)."""
    t, y, _ = _construction(2**k, N)
    return t / 2.0**k, y


def pl_to_relu(knots, values) -> list:
    """nnlab params [1, n, 1] (relu hidden, identity output) computing the continuous
    PL (knots, values) with n pieces on [knots[0], knots[-1]]:
    g(x) = y_0 + s_1 relu(x - t_0) + sum_{j >= 1} (s_{j+1} - s_j) relu(x - t_j), s_j the
    slope of piece j. One unit per piece: a width-w net realises any w-piece function."""
    t, y = np.asarray(knots, np.float64), np.asarray(values, np.float64)
    s = np.diff(y) / np.diff(t)
    c = np.concatenate([[s[0]], np.diff(s)])
    return [{"W": np.ones((1, t.size - 1)), "b": -t[:-1]},
            {"W": c[:, None], "b": np.array([y[0]])}]


class PLError(NamedTuple):
    """The least error of continuous PL functions with N pieces against t^k on [0, 1]."""

    lower: float | np.ndarray  # L2 (root of the integral of the squared error): a provable lower bound
    upper: float | np.ndarray  # L2 error of ``pl_construction(k, N)``: an upper bound
    sup: float | np.ndarray  # sup-norm error: exact (1/2 if N < 2^k, else 0)


def best_pl_error(k: int, N, method: str = "auto") -> PLError:
    """Bounds on min over continuous PL g with N pieces of ||g - t^k|| on [0, 1].

    N: int or array of ints >= 1. ``lower``: the relaxation of
    ``nnlab.sawtooth_bound`` (cells of 1/(8 2^k), 8 value bins), solved exactly by
    dynamic programming (``method="dp"``, default for k <= 5) or bounded through
    its periodic linear program (``"lp"``, default beyond; weaker within a few
    pieces of 2^k), reduced by a relative 1e-9 for float rounding. Exact for
    N = 1 (1/sqrt 12) and N >= 2^k (0). ``upper``: ``pl_construction``'s error.
    A shallow ReLU net of width w has at most w + 1 pieces, so its L2 error is
    at least ``lower`` at N = w + 1, and the best one is at most ``upper`` at N = w.
    """
    L = 2**k
    Ns = np.atleast_1d(np.asarray(N, dtype=np.int64))
    if Ns.min() < 1:
        raise ValueError(f"N must be >= 1, got {Ns.min()}")
    method = ("dp" if k <= DP_MAX_K else "lp") if method == "auto" else method
    if method not in ("dp", "lp"):
        raise ValueError(f"method {method!r} is unknown; allowed: auto, dp, lp")
    if method == "dp" and k > DP_MAX_K + 2:
        raise ValueError(f"method 'dp' costs O(8^k) (seconds at k = 6); use 'lp' for k = {k}")
    mid = Ns[(Ns > 1) & (Ns < L)]
    lower_sq = np.where(Ns >= L, 0.0, 1 / 12)
    if mid.size:
        lb = SB.dp_lower_bound(L, int(mid.max()))[mid - 1] if method == "dp" else SB.lp_lower_bound(L, mid)
        lower_sq[(Ns > 1) & (Ns < L)] = lb / L
    lower = np.sqrt(np.maximum(lower_sq * (1 - 1e-9), 0.0))
    upper = np.array([pl_error(*pl_construction(k, int(n)), k) if n < L else 0.0 for n in Ns])
    sup = np.where(Ns >= L, 0.0, 0.5)
    if np.ndim(N) == 0:
        return PLError(float(lower[0]), float(upper[0]), float(sup[0]))
    return PLError(lower, upper, sup)
