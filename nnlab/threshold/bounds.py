"""Bounds on the width of functions of n <= 5 bits: an upper bound from a witness
network along one integer direction, a lower bound from the cube's bichromatic edges.

**Upper bound: label changes along a direction.** Let w be an integer vector such that
f is constant on every level set {x : w.x = t} of the cube, let L_0 < .. < L_m be the
levels that occur, and c the number of i with f(L_{i-1}) != f(L_i) (f(L) its value on
level L). Then f has width <= c: take the hidden units u_k = [w.x - L_{i_k} >= 0], one
per change i_1 < .. < i_c, with output weight s_k = f(L_{i_k}) - f(L_{i_k - 1}) (so +1,
-1 alternate) and f(x) = [2 (f(L_0) + sum_k s_k u_k(x)) - 1 >= 0]. Proof: at level L_i
exactly the u_k with i_k <= i fire, so the sum telescopes to f(L_0) + sum_{i_k <= i}
(f(L_{i_k}) - f(L_{i_k - 1})) = f(L_i) in {0, 1}, and 2v - 1 >= 0 iff v = 1. []
Only the weak order that w induces on the 2^n points matters (c and the tie condition
are read off it, and reversing it changes nothing), so ``directions(n, M)`` keeps one w in
[-M, M]^n per weak order up to reversal (n = 5: 1,442 for M = 2, 7,362 for M = 3,
23,922 for M = 4, 60,882 for M = 5), and adds the 2^n n! / 2 total orders of the signed
permutations of (1, 2, .., 2^(n-1)), so that every function gets a bound.
``direction_bounds`` finds the least c over them for a batch of tables with bit
operations: per direction, a 256-entry table per byte of the truth table moves bit p to
the position of point p in the order (4 look-ups and 3 ORs for n = 5), then the bits of
g XOR (g >> 1) under a mask of adjacent tied positions must be 0 and their popcount under
the other positions is c. ``direction_witness`` builds the network, which
``network_functions`` runs through ``nnlab.forward``. For n = 5 these bounds are weak
(few functions are constant on the level sets of a short w; most classes get 7 to 11),
exact only for parity-like functions; ``width3``/``width4`` decide the rest.

**Lower bound: bichromatic edges.** A net of width k computes a function of the hidden
code, so two neighbouring points x, x + e_j with f(x) != f(x + e_j) (a bichromatic edge of
f) get different codes: some hidden unit h has h(x) != h(x + e_j), i.e. the edge is a
bichromatic edge of h (the hyperplane of h slices it). So the k edge sets E(h_i) cover
E(f), and |E(f)| <= S(n, k), the most edges of the n-cube that k hyperplanes slice (a
hyperplane avoiding the vertices slices exactly the bichromatic edges of its threshold
function). ``slicing_number(n, k)`` computes S(n, k) by brute force over threshold
functions (the first one a representative of its NPN class: an input map sends the
edge sets of a k-tuple to those of its image, negating a unit keeps its edge set);
verified: S(4, k) = 12, 24, 30 for k = 1, 2, 3 (so the 4-cube needs 4 hyperplanes),
S(5, 1) = 30 (O'Neil 1971: ceil(n/2) C(n, floor(n/2))), S(5, 2) = 54; S(5, 3) is not
computed. Cited, not recomputed here: S(5, 4) = 78 < 80 (M. R. Emamy-Khansary and
M. Ziegler, "New bounds for hypercube slicing numbers", DMTCS Proceedings AA (DM-CCG),
2001, 155-164), so 5-bit parity, whose 80 edges are all bichromatic, has width >= 5
(found independently by the exhaustive search of ``width4``). ``edge_lower_bound`` turns
|E(f)| into the least k with S(n, k) >= |E(f)| from the known values.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ..boolean import inputs
from .functions import threshold_classes, threshold_functions

# S(n, k): the most edges of the n-cube that k hyperplanes slice, for the (n, k) used here.
SLICING_VERIFIED = {(1, 1): 1, (2, 1): 2, (3, 1): 6, (3, 2): 10, (4, 1): 12, (4, 2): 24, (4, 3): 30,
                    (5, 1): 30, (5, 2): 54}  # recomputed by the tests
SLICING_CITED = {(5, 4): 78}  # Emamy-Khansary and Ziegler 2001 (k = n: all n 2^(n-1) edges, the n axis planes)


@functools.lru_cache(maxsize=None)
def directions(n: int, M: int, generic: bool = True) -> np.ndarray:
    """Integer directions w in [-M, M]^n, one per weak order of the 2^n points (by w.x) up
    to reversal, simplest first (least max |w|, then sum |w|); with ``generic`` also the
    signed permutations of (1, 2, 4, .., 2^(n-1)), whose orders have no ties (every
    function fits them). -> (D, n) int64."""
    grid = np.array(list(itertools.product(range(-M, M + 1), repeat=n)), np.int64).reshape(-1, n)
    a = np.abs(grid)
    grid = grid[np.lexsort((a.sum(1), a.max(1, initial=0)))]
    if generic:
        powers = [np.array(p, np.int64) * np.array(sg, np.int64)
                  for p in itertools.permutations(2 ** np.arange(n)) for sg in itertools.product((1, -1), repeat=n)]
        grid = np.concatenate([grid, np.array(powers, np.int64).reshape(-1, n)])
    rank = _dense_ranks(grid @ inputs(n).astype(np.int64).T)
    rev = rank.max(1, keepdims=True) - rank
    first = np.argmax(rank != rev, axis=1)
    rows = np.arange(len(rank))
    key = np.where((rank[rows, first] <= rev[rows, first])[:, None], rank, rev)
    _, keep = np.unique(key, axis=0, return_index=True)
    return grid[np.sort(keep)]


def _dense_ranks(s: np.ndarray) -> np.ndarray:
    """Per row, the rank of each value among the row's distinct values."""
    order = np.argsort(s, axis=1, kind="stable")
    srt = np.take_along_axis(s, order, 1)
    dense = np.concatenate([np.zeros((len(s), 1), np.int64), np.cumsum(np.diff(srt, axis=1) > 0, axis=1)], 1)
    rank = np.empty_like(dense)
    np.put_along_axis(rank, order, dense, 1)
    return rank


def _order_tables(w: np.ndarray, n: int):
    """For one direction: byte tables (nbytes, 256) uint32 moving point p's bit to its place
    in the order by w.x, and the masks of tied and of changing adjacent places."""
    s = inputs(n).astype(np.int64) @ w
    order = np.argsort(s, kind="stable")
    place = np.empty(2**n, np.int64)
    place[order] = np.arange(2**n)
    nbytes = max(1, 2**n // 8)
    v = np.arange(256)
    tables = np.zeros((nbytes, 256), np.uint32)
    for p in range(2**n):
        tables[p // 8] |= np.where((v >> (p % 8)) & 1, np.uint32(1 << place[p]), np.uint32(0))
    same = s[order][1:] == s[order][:-1]
    bit = np.uint32(1) << np.arange(2**n - 1, dtype=np.uint32)
    return tables, np.uint32(bit[same].sum()), np.uint32(bit[~same].sum())


def direction_bounds(n: int, tables, M: int = 3, dirs=None) -> tuple[np.ndarray, np.ndarray]:
    """For each table, the fewest label changes c along the directions (``directions(n, M)``
    unless ``dirs`` is given) over those whose level sets f is constant on.
    -> (c (B,) int64, 2^n + 1 where no direction fits; the row of its direction in dirs (B,),
    -1 where none)."""
    t = np.asarray(tables, np.int64).astype(np.uint32)
    dirs = directions(n, M) if dirs is None else np.asarray(dirs, np.int64)
    nbytes = max(1, 2**n // 8)
    parts = [((t >> np.uint32(8 * k)) & np.uint32(255)).astype(np.intp) for k in range(nbytes)]
    best = np.full(t.shape, 2**n + 1, np.int64)
    arg = np.full(t.shape, -1, np.int64)
    for d, w in enumerate(dirs):
        byte_tables, tied, change = _order_tables(w, n)
        g = byte_tables[0][parts[0]]
        for k in range(1, nbytes):
            g |= byte_tables[k][parts[k]]
        step = g ^ (g >> np.uint32(1))
        c = np.where((step & tied) == 0, np.bitwise_count(step & change), 2**n + 1).astype(np.int64)
        better = c < best
        best[better], arg[better] = c[better], d
    return best, arg


def direction_witnesses(n: int, tables, dirs, arg):
    """``direction_witness`` for a batch (table b along dirs[arg[b]]), padded with unused
    units to the widest. -> (hidden (B, K) int64, -1 unused; out_w (B, K); out_b (B,))."""
    nets = [direction_witness(int(f), dirs[a], n) for f, a in zip(np.asarray(tables).tolist(), arg)]
    K = max([len(h) for h, _, _ in nets], default=0)
    hidden, out_w = np.full((len(nets), K), -1, np.int64), np.zeros((len(nets), K), np.int64)
    for b, (h, w, _) in enumerate(nets):
        hidden[b, : len(h)], out_w[b, : len(h)] = h, w
    return hidden, out_w, np.array([b for _, _, b in nets], np.int64)


def direction_witness(f: int, w, n: int):
    """The network of the module docstring for f along w (f constant on w's level sets).
    -> (hidden (c,) int64 tables, out_w (c,) int64, out_b int); ValueError if f is not
    constant on some level set."""
    s = inputs(n).astype(np.int64) @ np.asarray(w, np.int64)
    value = (int(f) >> np.arange(2**n)) & 1
    levels = np.unique(s)
    label = np.array([value[s == L].max() for L in levels])
    if any(value[s == L].min() != lab for L, lab in zip(levels, label)):
        raise ValueError("f is not constant on a level set of w")
    at = np.flatnonzero(label[1:] != label[:-1]) + 1
    point = np.arange(2**n)
    hidden = np.array([int(((s >= levels[i]).astype(np.int64) << point).sum()) for i in at], np.int64)
    out_w = 2 * (label[at] - label[at - 1]).astype(np.int64)
    return hidden, out_w, int(2 * label[0] - 1)


def edge_sets(tables, n: int) -> np.ndarray:
    """Bichromatic edges of each table: (B, n) uint32, entry j has bit x (x_j = 0) set iff
    f(x) != f(x + e_j)."""
    t = np.asarray(tables, np.int64).astype(np.uint32).reshape(-1)
    x = inputs(n)
    out = np.empty((t.size, n), np.uint32)
    for j in range(n):
        low = np.uint32(((x[:, j] == 0).astype(np.int64) << np.arange(2**n)).sum())
        out[:, j] = (t ^ (t >> np.uint32(1 << j))) & low
    return out


def edge_counts(tables, n: int) -> np.ndarray:
    """|E(f)| for each table. -> (B,) int64."""
    return np.bitwise_count(edge_sets(tables, n)).sum(1, dtype=np.int64)


@functools.lru_cache(maxsize=None)
def slicing_number(n: int, k: int, block: int = 64) -> int:
    """S(n, k) by brute force over k threshold functions of n bits, the first a
    representative of its NPN class (k <= 3 for n <= 4, k <= 2 for n = 5)."""
    if k > (3 if n <= 4 else 2):
        raise ValueError(f"S({n}, {k}) is not brute-forced here")
    edges = _unique_rows(edge_sets(threshold_functions(n).tables, n))  # (E, n)
    first = edge_sets(threshold_classes(n), n)
    best = 0
    for e in first:
        if k == 1:
            best = max(best, int(np.bitwise_count(e).sum()))
            continue
        two = _unique_rows(edges | e)
        if k == 2:
            best = max(best, int(np.bitwise_count(two).sum(1).max()))
            continue
        for lo in range(0, len(two), block):
            u = two[lo : lo + block, None, :] | edges[None, :, :]
            best = max(best, int(np.bitwise_count(u).sum(2).max()))
    return best


def _unique_rows(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    _, first = np.unique(a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel(), return_index=True)
    return a[np.sort(first)]


def edge_lower_bound(tables, n: int) -> np.ndarray:
    """The least k with S(n, k) >= |E(f)| among the verified and cited slicing numbers
    (where S(n, k) is unknown here, the next known one is used, which is sound since S
    grows with k). -> (B,) int64; 0 for constants."""
    count = edge_counts(tables, n)
    known = {**SLICING_VERIFIED, **SLICING_CITED}
    bound = np.zeros(count.shape, np.int64)
    for k in range(1, n + 1):  # width >= k + 1 where |E| > S(n, k); S(n, n) = all edges
        S = next((known[n, j] for j in range(k, n + 1) if (n, j) in known), n * 2 ** (n - 1))
        bound[count > S] = k + 1
    bound[(count > 0) & (bound == 0)] = 1
    return bound
