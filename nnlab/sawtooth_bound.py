"""A provable lower bound on the L2 error of continuous N-piece fits of tent^k.

Units. tent^k(x) = f(L x) with L = 2^k and f the unit triangle wave (period 2,
f = x on [0, 1], 2 - x on [1, 2]), so for any g the squared L2 error over [0, 1]
is 1/L times the squared error against f over [0, L] ("half-tooth units",
x in [0, L]). Everything here works in those units; ``nnlab.sawtooth`` divides
by L. Integrals of 1, x, f, x f, f^2 over any interval are exact closed forms
(f is linear between integers), so every cost is exact up to float64 rounding.

The relaxation. Cut [0, L] into cells of width 1/m and the values into bins
(``edges`` e_1 < ... plus the two unbounded bins). Take any continuous g with N
pieces, knots k_1 < ... < k_{N-1}; k_j lies in a cell c_j and g(k_j) in a bin
b_j. Piece j is one line through (k_{j-1}, g(k_{j-1})) and (k_j, g(k_j)); on the
*run* of whole cells between the two knot cells its error is at least the least
error of a line that takes a value in bin b_{j-1} somewhere on cell c_{j-1} and a
value in bin b_j somewhere on cell c_j (``line_fit``, an exact 2-variable QP).
Dropping the knot cells, forgetting where in its cell each knot lies and which
value in its bin g takes there, only lowers the cost; so does keeping only the
stronger of the two constraints on runs longer than the ``pair`` table, and
none beyond the ``start`` table. The least total over all (cell, bin) sequences
is a lower bound on the error of every continuous N-piece g: ``dp_lower_bound``
computes it by dynamic programming over cells. Continuity survives through the
bins, which is what makes the bound near-exact (the same relaxation without
bins, i.e. for fits that may jump at their knots, is ~3x lower near N = L).

For large L, ``lp_lower_bound`` relaxes further to a periodic graph (nodes: the
phase of a knot cell in the period of f, 2m cells, and its bin): for any alpha
< 1/12, mu = the least mean weight of a cycle with weights cost - alpha * length
and potentials pi on the nodes, the cost of every path is at least
alpha L + (N - 2) mu + min(source - pi) + min(sink + pi) (Karp 1978 for mu;
linear-programming duality). Every alpha gives a valid bound; the best of a grid
is taken.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import NamedTuple

import numpy as np


def wave(x):
    """The unit triangle wave f: period 2, f(0) = 0, f(1) = 1, slopes +-1."""
    r = np.mod(np.asarray(x, dtype=np.float64), 2.0)
    return np.where(r <= 1, r, 2 - r)


def _prefix(x):
    """(int_0^x f, int_0^x u f(u) du, int_0^x f^2) for x >= 0: whole periods + the rest."""
    n = np.floor(x / 2)
    r1 = np.minimum(x - 2 * n, 1.0)
    r2 = np.maximum(x - 2 * n - 1.0, 0.0)  # on [1, 2] f = 1 - v with v = u - 1
    A = r1**2 / 2 + r2 - r2**2 / 2
    B = r1**3 / 3 + r2 - r2**3 / 3
    C = r1**3 / 3 + r2 - r2**2 + r2**3 / 3
    return n + A, n**2 + 2 * n * A + B, 2 * n / 3 + C


def moments(a, b):
    """(int_a^b f, int_a^b (x - a) f, int_a^b f^2), exact; arrays broadcast, a <= b."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    shift = 2 * np.floor(a / 2)  # f has period 2: work near 0
    a0, b0 = a - shift, b - shift
    F0a, F1a, F2a = _prefix(a0)
    F0b, F1b, F2b = _prefix(b0)
    F0 = F0b - F0a
    return F0, (F1b - F1a) - a0 * F0, F2b - F2a


def run_cost(a, b):
    """Least int_a^b (f - y)^2 over affine y (0 for empty runs). Arrays broadcast."""
    F0, F1, F2 = moments(a, b)
    h = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    with np.errstate(all="ignore"):
        e = F2 - F0**2 / h - 12 * (F1 - h / 2 * F0) ** 2 / h**3
    return np.where(h > 0, np.maximum(e, 0.0), 0.0)


def line_fit(a, b, delta, start=None, end=None):
    """Least int_a^b (f - y)^2 over lines y that meet the constraints, b > a.

    start: (lo, hi): y takes a value in [lo, hi] somewhere on [a - delta, a];
    end: (lo, hi): the same on [b, b + delta]; None: no constraint. Bounds may be
    infinite. Arrays broadcast. A line is monotone, so the start constraint reads
    max(y(a - delta), y(a)) >= lo and min(y(a - delta), y(a)) <= hi: a union of
    polyhedra in z = (y(a), y(b)). The cost is a convex quadratic in z, so its
    least value on each polyhedron is at a KKT point: the unconstrained optimum,
    or the optimum on one or two of the (at most 8) constraint lines. The answer
    is the least cost among those points that satisfy the constraints.
    """
    sides = [s if s is not None else (-np.inf, np.inf) for s in (start, end)]
    a, b, lo1, hi1, lo2, hi2 = np.broadcast_arrays(
        *[np.asarray(t, np.float64) for t in (a, b, *sides[0], *sides[1])])
    h = b - a
    F0, F1, F2 = moments(a, b)
    gB = F1 / h
    gA = F0 - gB  # int f * (b - x) / h
    zu, zv = (4 * gA - 2 * gB) / h, (4 * gB - 2 * gA) / h  # unconstrained optimum (y(a), y(b))
    r = delta / h
    one, zero = np.ones_like(h), np.zeros_like(h)
    at = [(1 + r, -r), (one, zero), (zero, one), (-r, 1 + r)]  # y(a - d), y(a), y(b), y(b + d) as rows
    lines = []  # (row, level): the line row . z = level
    if start is not None:
        lines += [(at[j], c) for j in (0, 1) for c in (lo1, hi1)]
    if end is not None:
        lines += [(at[j], c) for j in (2, 3) for c in (lo2, hi2)]
    points = [(zu, zv)]
    with np.errstate(all="ignore"):
        for (c1, c2), c in lines:  # on one line: project in the metric of the cost
            t = (c1 * zu + c2 * zv - c) / ((4 * c1 * c1 - 4 * c1 * c2 + 4 * c2 * c2) / h)
            points.append((zu - (4 * c1 - 2 * c2) / h * t, zv - (4 * c2 - 2 * c1) / h * t))
        for ((c1, c2), c), ((d1, d2), d) in itertools.combinations(lines, 2):  # on two
            det = c1 * d2 - c2 * d1
            points.append(((c * d2 - c2 * d) / det, (c1 * d - c * d1) / det))
        best = np.full(h.shape, np.inf)
        for u, v in points:
            ok = np.isfinite(u) & np.isfinite(v)
            u, v = np.where(ok, u, 0.0), np.where(ok, v, 0.0)
            y = [p * u + q * v for p, q in at]
            for (y0, y1), (lo, hi) in (((y[0], y[1]), sides[0]), ((y[3], y[2]), sides[1])):
                tol = 1e-9 * (1 + np.abs(y0) + np.abs(y1))  # lax: admitting more points keeps the bound valid
                ok &= (np.maximum(y0, y1) >= np.asarray(lo) - tol) & (np.minimum(y0, y1) <= np.asarray(hi) + tol)
            q = F2 - 2 * (gA * u + gB * v) + h * (u * u + u * v + v * v) / 3
            best = np.minimum(best, np.where(ok, q, np.inf))
    return np.maximum(best, 0.0)


class Relaxation(NamedTuple):
    """Cost tables of the relaxation. A run of l >= 1 cells follows knot cell s
    (``pair``, ``start``, ``free``: index s = phase, the cell's index mod 2m) or
    ends where knot cell t begins (``end``: index t); i, j are bins."""

    m: int  # cells per unit
    edges: tuple  # inner bin edges: bins (-inf, e_1], [e_1, e_2], ..., [e_last, inf)
    pair: np.ndarray  # (2m, P, B, B): l = 1..P, bins at both ends
    start: np.ndarray  # (2m, Q, B): l = 1..Q, bin at the start only
    end: np.ndarray  # (2m, Q, B): l = 1..Q, bin at the end only
    free: np.ndarray  # (2m, R): l = 1..R, unconstrained


@lru_cache(maxsize=4)
def relaxation(m: int = 8, edges: tuple = tuple(np.linspace(0, 1, 7)), pair_units: int = 16,
               single_units: int = 64, free_units: int = 2048) -> Relaxation:
    """The tables for m cells per unit, bin edges ``edges`` and runs of up to
    ``pair_units``, ``single_units``, ``free_units`` units (cached)."""
    T, d = 2 * m, 1.0 / m
    lo = np.concatenate([[-np.inf], edges])
    hi = np.concatenate([edges, [np.inf]])
    shift = 2 * T * d  # an even number of units: f is the same there, arguments stay >= 0
    s, ln, i, j = np.ix_(np.arange(T), np.arange(1, m * pair_units + 1), np.arange(lo.size), np.arange(lo.size))
    pair = line_fit((s + 1) * d, (s + 1 + ln) * d, d, (lo[i], hi[i]), (lo[j], hi[j]))
    s, ln, i = np.ix_(np.arange(T), np.arange(1, m * single_units + 1), np.arange(lo.size))
    start = line_fit((s + 1) * d, (s + 1 + ln) * d, d, (lo[i], hi[i]), None)
    end = line_fit((s - ln) * d + shift * (1 + ln // T), s * d + shift * (1 + ln // T), d, None, (lo[i], hi[i]))
    s, ln = np.ix_(np.arange(T), np.arange(1, m * free_units + 1))
    free = run_cost((s + 1) * d, (s + 1 + ln) * d)
    return Relaxation(m, tuple(float(e) for e in edges), pair, start, end, free)


def _run_weights(rel: Relaxation, ln: int, s_from, s_to) -> np.ndarray:
    """Lower bounds on the cost of a run of ln >= 1 cells from knot cells of phase
    s_from to knot cells of phase s_to (arrays of the same shape): (..., B, B)."""
    P, Q = rel.pair.shape[1], rel.start.shape[1]
    if ln <= P:
        return rel.pair[s_from, ln - 1]
    if ln <= Q:  # the line meets both constraints, so costs at least as much as with either
        return np.maximum(rel.start[s_from, ln - 1][..., :, None], rel.end[s_to, ln - 1][..., None, :])
    B = len(rel.edges) + 1
    return np.broadcast_to(rel.free[s_from, ln - 1][..., None, None], np.shape(s_from) + (B, B))


def dp_lower_bound(L: int, n_max: int, key: tuple = ()) -> np.ndarray:
    """Lower bounds (half-tooth units) on the least squared error of a continuous
    PL function with N = 1 .. n_max pieces against f on [0, L], L even.

    The exact least cost of the relaxation (module docstring; runs longer than the
    ``pair`` table are priced by their stronger single constraint, beyond ``start``
    unconstrained), by dynamic programming over (knot cell, bin):
    O(n_max M^2 B^2 / 2) for M = m L cells. key: the arguments of ``relaxation``.
    Returns (n_max,), nonincreasing.
    """
    rel = relaxation(*key)
    m, T = rel.m, 2 * rel.m
    M, B, Q = m * L, len(rel.edges) + 1, rel.start.shape[1]
    if rel.free.shape[1] < M:
        raise ValueError(f"the relaxation's tables cover runs of {rel.free.shape[1]} cells; L = {L} needs {M}")
    c = np.arange(M)
    ph = c % T
    source = np.zeros((M, B))  # the first piece, [0, c / m], bin at its end
    source[1:] = np.where((c[1:] <= Q)[:, None], rel.end[ph[1:], np.minimum(c[1:], Q) - 1],
                          rel.free[T - 1, c[1:] - 1, None])
    sink = np.zeros((M, B))  # the last piece, from knot cell c to L, bin at its start
    rest = M - 1 - c[: M - 1]
    sink[: M - 1] = np.where((rest <= Q)[:, None], rel.start[ph[: M - 1], np.minimum(rest, Q) - 1],
                             rel.free[ph[: M - 1], rest - 1, None])
    out = [float(run_cost(0.0, float(L)))]
    V = source  # (M, B): least cost of j pieces whose last knot is in (cell, bin)
    for _ in range(2, n_max + 1):
        out.append(float(np.min(V + sink)))
        new = np.repeat(V.min(axis=1, keepdims=True), B, axis=1)  # another knot in the same cell
        new[1:] = np.minimum(new[1:], V[:-1].min(axis=1, keepdims=True))  # adjacent cells: empty run
        for ln in range(1, M - 1):
            w = _run_weights(rel, ln, ph[: M - ln - 1], ph[ln + 1:])
            new[ln + 1:] = np.minimum(new[ln + 1:], (V[: M - ln - 1, :, None] + w).min(axis=1))
        V = new
    return np.maximum.accumulate(np.array(out)[::-1])[::-1]


def _karp(W: np.ndarray) -> float:
    """Least mean weight of a cycle in the dense graph W (n, n) (Karp 1978)."""
    n = W.shape[0]
    D = np.empty((n + 1, n))
    D[0] = 0.0
    for k in range(1, n + 1):
        D[k] = np.min(D[k - 1][:, None] + W, axis=0)
    with np.errstate(invalid="ignore"):
        ratio = (D[n][None, :] - D[:n]) / (n - np.arange(n))[:, None]
    return float(np.min(np.max(np.where(np.isnan(ratio), -np.inf, ratio), axis=0)))


def _lp_terms(rel: Relaxation, alpha: float) -> tuple[float, float]:
    """(mu, C) for one alpha < 1/12: every path's cost is >= alpha L + (N - 2) mu + C.

    W[(s, i), (t, j)]: the least weight (cost - alpha * advance) of a piece from a knot
    cell of phase s, bin i, to one of phase t, bin j; mu: Karp's least cycle mean of W
    (lowered by a hair so that W - mu has no negative cycle); pi: shortest-path
    potentials for W - mu, so W - mu >= pi(to) - pi(from) edge by edge, and the N - 2
    inner pieces of any path weigh >= (N - 2) mu + pi(last knot) - pi(first knot)."""
    T, d = 2 * rel.m, 1.0 / rel.m
    Q, R = rel.start.shape[1], rel.free.shape[1]
    B = len(rel.edges) + 1
    s = np.arange(T)
    W = np.full((T, B, T, B), np.inf)
    W[s, :, s, :] = 0.0  # another knot in the same cell
    W[s, :, (s + 1) % T, :] = -alpha * d  # adjacent knot cells: empty run
    for ln in range(1, Q + 1):
        t = (s + ln + 1) % T
        W[s, :, t, :] = np.minimum(W[s, :, t, :], _run_weights(rel, ln, s, t) - alpha * (ln + 1) * d)
    ln = np.arange(Q + 1, R + 1)
    w = rel.free[:, Q:] - alpha * (ln + 1) * d  # (T, R - Q), unconstrained beyond Q
    for r in range(T):
        t = (r + ln + 1) % T
        best = np.full(T, np.inf)
        np.minimum.at(best, t, w[r])
        W[r] = np.minimum(W[r], best[None, :, None])
    # a run of h > R / m units holds >= (h - 4) / 2 aligned periods of f, each costing 1/6:
    # its weight is >= (h - 4) / 12 - alpha (h + d), increasing in h, least at R + 1 cells
    h = (R + 1) * d
    longer = (h - 4) / 12 - alpha * (h + d)
    W = np.minimum(W, longer).reshape(T * B, T * B)
    mu = _karp(W)
    mu -= 1e-9 * (1 + abs(mu))  # every cycle now has positive reduced weight
    pi = np.zeros(T * B)
    for _ in range(T * B + 1):
        new = np.minimum(pi, np.min(pi[:, None] + W - mu, axis=0))
        if np.array_equal(new, pi):
            break
        pi = new
    if np.any(pi[None, :] > pi[:, None] + W - mu):
        raise ArithmeticError("no valid potential: the cycle mean is not a lower bound")
    pi = pi.reshape(T, B)
    c = np.arange(1, R + 1)  # the first piece, [0, c / m]; its knot cell has phase c mod 2m
    cost = np.concatenate([rel.end[c[:Q] % T, c[:Q] - 1], np.repeat(rel.free[T - 1, Q:, None], B, axis=1)])
    first = np.full((T, B), np.inf)
    first[0] = 0.0  # c = 0: the knot is in the first cell
    np.minimum.at(first, c % T, cost - alpha * c[:, None] * d)
    first = np.minimum(first, (h - 4) / 12 - alpha * h)  # first pieces longer than R cells
    last = np.full((T, B), np.inf)  # the last piece: l cells after knot cell r, ending where a period does
    last[T - 1] = -alpha * d  # l = 0
    for r in range(T):
        ln = np.arange((-r - 1) % T or T, R + 1, T)
        cost = np.where((ln <= Q)[:, None], rel.start[r, np.minimum(ln, Q) - 1], rel.free[r, ln - 1, None])
        last[r] = np.minimum(last[r], np.min(cost - alpha * (ln[:, None] + 1) * d, axis=0))
    last = np.minimum(last, longer)  # last pieces longer than R cells
    return mu, float(np.min(first - pi) + np.min(last + pi))


@lru_cache(maxsize=4)
def _lp_table(key: tuple, alphas: tuple) -> np.ndarray:
    rel = relaxation(*key)
    return np.array([_lp_terms(rel, a) for a in alphas])


def default_alphas() -> tuple:
    """alpha from 0 towards 1/12, denser near 1/12 (where long pieces are priced)."""
    return tuple(float(a) for a in np.concatenate([np.linspace(0, 0.07, 15), (1 - 0.5 ** np.arange(3, 8.5, 0.5)) / 12]))


def lp_lower_bound(L: int, N, key: tuple = (), alphas: tuple | None = None) -> np.ndarray:
    """Lower bounds (half-tooth units) from the periodic relaxation, any even L and N >= 2:
    max over alpha of alpha L + (N - 2) mu(alpha) + C(alpha). N: int or array;
    key: the arguments of ``relaxation`` (default: its defaults)."""
    alphas = alphas or default_alphas()
    terms = _lp_table(tuple(key), alphas)
    a = np.array(alphas)
    N = np.asarray(N, dtype=np.float64)
    vals = a * L + (N[..., None] - 2) * terms[:, 0] + terms[:, 1]
    return np.maximum(vals.max(axis=-1), 0.0)
