"""Exact width 4 for the functions of n <= 5 bits that have no width-3 net.

By ``nnlab.threshold.errors`` f has width <= 4 iff f = F(g1, .., g4) with F = [w.c >= t]
a positive threshold function of 4 bits (w > 0 integers) and each g_i a threshold function
with a least error set E_i = g_i XOR f. At a point x the hidden code is f(x) XOR e,
e_i = [x in E_i], and F returns f(x) iff the weighted error sum_i w_i e_i stays within a
budget: F(NOT e) = 1 iff w.e <= sum(w) - t where f(x) = 1, F(e) = 0 iff w.e <= t - 1
where f(x) = 0. So **f = F(g) iff sum_i w_i [x in E_i] <= beta(x) at every point**, with
beta = sum(w) - t on P = f and t - 1 on N = NOT f. (With w = (1, 1, 1), t = 2 this is
"pairwise disjoint", the ``maj`` rule of ``width3``.)

The positive threshold functions of 4 bits that depend on all four inputs are, up to
permuting them, the 17 of ``OUTPUTS4`` (checked in the tests against the 1,882 threshold
functions of 4 bits). Ten are *decomposable*, a AND G(b, c, d) or a OR G(b, c, d) with G one
of the five outputs of ``width3``; seven are not. (An output that ignores an input gives
width <= 3, as does a G that ignores one.) ``search4`` decides width <= 4 for f of width
>= 4:

1. decomposable, f = a AND G: a is a unit of least error with E_a inside N (a must fire on
   P), and G must equal f where a fires, on P | E_a: ``width3.search3`` with that care set
   over the same least-error list (complete: all units may have least error sets for f);
   f = a OR G likewise with E_a inside P and care N | E_a;
2. the seven others by ``budget_search``: every unit, heaviest first, is tried over the
   least-error list against the budget left by the units before it (equal weights in
   increasing list order, the list sorted by error count, so a unit and the rest of its group
   spend at least its own count each: a bound on the budget left that ends the loop); the
   last two units are a pair problem: each must fit the budget left alone, and the two
   together only where it allows both, compared with bit operations.
Both are exhaustive over the least-error list, so a function with no hit has width >= 5.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..npn_classes import NPNClasses
from .errors import least_errors
from .networks import network_functions, network_params
from .width3 import OUTPUTS3, search3

# (weights, threshold) of F(c) = [w . c >= t]: the positive threshold functions of 4 bits that
# depend on all inputs, up to permutation; DECOMPOSABLE4[i]: is a AND G or a OR G
OUTPUTS4 = (((1, 1, 1, 1), 1), ((1, 1, 1, 1), 2), ((1, 1, 1, 1), 3), ((1, 1, 1, 1), 4),
            ((2, 1, 1, 1), 2), ((2, 1, 1, 1), 3), ((2, 1, 1, 1), 4),
            ((2, 2, 1, 1), 2), ((2, 2, 1, 1), 3), ((2, 2, 1, 1), 4), ((2, 2, 1, 1), 5),
            ((3, 1, 1, 1), 3), ((3, 1, 1, 1), 4), ((3, 2, 1, 1), 3), ((3, 2, 1, 1), 5),
            ((3, 2, 2, 1), 4), ((3, 2, 2, 1), 5))
NONDECOMPOSABLE4 = (((1, 1, 1, 1), 2), ((1, 1, 1, 1), 3), ((2, 1, 1, 1), 3), ((2, 2, 1, 1), 3),
                    ((2, 2, 1, 1), 4), ((3, 2, 2, 1), 4), ((3, 2, 2, 1), 5))


class Width4(NamedTuple):
    """Width 4 decided for some NPN classes of width >= 4: ``four[i]`` says whether class
    rows[i] has width exactly 4, with the witness f = [out_w . h + out_b >= 0]."""

    classes: NPNClasses
    rows: np.ndarray  # (R,) int64
    four: np.ndarray  # (R,) bool
    hidden: np.ndarray  # (R, 4) int64 truth tables (-1 where no witness)
    out_w: np.ndarray  # (R, 4) int64
    out_b: np.ndarray  # (R,) int64


def _pair(e3, e4, both):
    """First (i, j) with e3[i] & e4[j] & both == 0, or None."""
    a, ia = np.unique(e3 & both, return_index=True)
    b, ib = np.unique(e4 & both, return_index=True)
    for lo in range(0, a.size, 256):
        hit = (a[lo : lo + 256, None] & b[None, :]) == 0
        if hit.any():
            i, j = np.unravel_index(np.argmax(hit), hit.shape)
            return int(ia[lo + i]), int(ib[j])
    return None


def budget_search(f: int, n: int, weights, theta: int, candidates=None):
    """Units g_1..g_k (k = len(weights) >= 2) from ``candidates`` (default
    ``least_errors(f, n)``) with f = [weights . g >= theta], by the budget rule of the module
    docstring, exhaustively; -> tuple of k tables in the order of ``weights``, or None."""
    w = [int(v) for v in weights]
    order = np.argsort(w, kind="stable")[::-1]  # heaviest first
    ws = [w[i] for i in order]
    g = least_errors(f, n) if candidates is None else np.asarray(candidates, np.uint32)
    size = np.bitwise_count(g ^ np.uint32(f)).astype(np.int64)
    by_size = np.argsort(size, kind="stable")  # equal weights come in list order: smallest errors first
    g, size = g[by_size], size[by_size]
    err = g ^ np.uint32(f)
    budget = np.where((int(f) >> np.arange(2**n)) & 1 == 1, sum(w) - theta, theta - 1).astype(np.int64)
    bit = np.uint32(1) << np.arange(2**n, dtype=np.uint32)
    e_bits = ((err[:, None] & bit[None, :]) != 0).astype(np.int64)  # (m, P)
    smallest = int(size.min(initial=0))
    # a unit at this level and the rest of its equal-weight group use >= its own error count each,
    # the later groups >= the smallest one each: the weighted errors must fit the budget left
    group_left = [sum(1 for v in ws[lv:] if v == ws[lv]) for lv in range(len(ws))]
    later = [sum(v for v in ws[lv:] if v != ws[lv]) * smallest for lv in range(len(ws))]

    def below(r, v):  # the points whose budget left is < v
        return np.uint32(bit[r < v].sum())

    def rec(level, r, start, chosen):
        if level == len(ws) - 2:
            free3 = np.flatnonzero((err & below(r, ws[level])) == 0)
            free3 = free3[free3 >= start]
            free4 = np.flatnonzero((err & below(r, ws[level + 1])) == 0)
            if ws[level] == ws[level + 1]:
                free4 = free4[free4 >= start]
            hit = _pair(err[free3], err[free4], below(r, ws[level] + ws[level + 1])) if free3.size and free4.size else None
            return None if hit is None else chosen + [free3[hit[0]], free4[hit[1]]]
        left = int(r.sum())
        for i in np.flatnonzero((err & below(r, ws[level])) == 0):
            if i < start:
                continue
            if ws[level] * group_left[level] * size[i] + later[level] > left:
                break  # sizes only grow from here
            nxt = i if ws[level + 1] == ws[level] else 0
            found = rec(level + 1, r - ws[level] * e_bits[i], nxt, chosen + [i])
            if found is not None:
                return found
        return None

    found = rec(0, budget, 0, [])
    if found is None:
        return None
    units = [0] * len(w)
    for pos, i in zip(order, found):
        units[pos] = int(g[i])
    return tuple(units)


def search4(f: int, n: int):
    """A width-4 witness for f (n <= 5 bits) of width >= 4, or None if it has width >= 5.
    -> (hidden (4,) int tables, out_w (4,) ints, out_b int) or None."""
    full = np.uint32((1 << 2**n) - 1)
    P = np.uint32(f)
    N = ~P & full
    g = least_errors(f, n)
    err = g ^ P
    for side, inside, rest in (("and", (err & P) == 0, P), ("or", (err & N) == 0, N)):
        for a in np.flatnonzero(inside):
            hit = search3(f, n, care=int(rest | err[a]), candidates=g)
            if hit is not None:
                kind, units = hit
                w3, b3 = OUTPUTS3[kind]
                big = 1 + sum(abs(v) for v in w3) + abs(b3)  # |w3 . h + b3| < big
                return (int(g[a]),) + units, (big,) + tuple(w3), b3 - big if side == "and" else b3
    for weights, theta in NONDECOMPOSABLE4:
        units = budget_search(f, n, weights, theta, g)
        if units is not None:
            return units, weights, -theta
    return None


def width_four(n: int, classes: NPNClasses, rows, progress=None) -> Width4:
    """Decide width 4 for the classes ``rows`` of ``classes`` (those of width >= 4, i.e.
    with no width-3 witness from ``width3.width_three``). Witnesses are checked by
    ``nnlab.forward`` (``network_functions``); RuntimeError if one fails."""
    rows = np.asarray(rows, np.int64)
    R = len(rows)
    four = np.zeros(R, bool)
    hidden, out_w, out_b = np.full((R, 4), -1, np.int64), np.zeros((R, 4), np.int64), np.zeros(R, np.int64)
    for r, f in enumerate(classes.rep[rows]):
        hit = search4(int(f), n)
        if hit is not None:
            four[r], (hidden[r], out_w[r], out_b[r]) = True, hit
        if progress is not None:
            progress(1)
    if four.any():
        params = network_params(n, hidden[four], out_w[four], out_b[four])
        if not np.array_equal(network_functions(params, n), classes.rep[rows][four]):
            raise RuntimeError("a width-4 witness fails under nnlab.forward")
    return Width4(classes, rows, four, hidden, out_w, out_b)
