"""Counting bounds on the width that implements every function of n bits."""

from __future__ import annotations

import math

from .functions import A000609


def log2_cover(points: int, dim: int) -> float:
    """log2 of Cover's (1965) count 2 sum_{i<dim} C(points-1, i): the most dichotomies
    of ``points`` points in R^(dim-1) that a threshold unit (with bias) can realize."""
    return math.log2(2 * sum(math.comb(points - 1, i) for i in range(min(dim, points))))


def threshold_count_bound(n: int) -> int:
    """The number of threshold functions of n bits: exact (A000609) for n <= 9, else
    Cover's bound 2 sum_{i<=n} C(2^n - 1, i) (an upper bound)."""
    if n < len(A000609):
        return A000609[n]
    return 2 * sum(math.comb(2**n - 1, i) for i in range(n + 1))


def log2_network_functions(n: int, k: int) -> float:
    """log2 of an upper bound on the functions of n bits computed with k hidden units:
    multisets of k hidden threshold functions, C(T + k - 1, k), times the output's
    dichotomies of at most 2^n hidden codes in R^k (Cover), at most |threshold(k)|."""
    T = threshold_count_bound(n)
    multisets = sum(math.log2(T + i) for i in range(k)) - math.log2(math.factorial(k))
    out = log2_cover(2**n, k + 1)
    if k < len(A000609):
        out = min(out, math.log2(A000609[k]))
    return multisets + out


def counting_lower_bound(n: int) -> int:
    """The least k whose networks could compute all 2^(2^n) functions (a lower bound on
    the width that implements every function of n bits)."""
    k = 0
    while log2_network_functions(n, k) < 2**n:
        k += 1
    return k


def article_bound(n: int, values: int = 100) -> int:
    """The article's argument: a net with W weights of ``values`` settings each has
    values^W configurations; telling 2^(2^n) functions apart needs values^W >= 2^(2^n).
    W = k (n + 1) + k + 1 for width k. Returns the least such k."""
    per_unit, fixed = (n + 2) * math.log2(values), math.log2(values)
    return max(0, math.ceil((2**n - fixed) / per_unit))
