"""Which functions of n <= 5 bits have threshold width <= 2, decided per NPN class.

Width as in ``nnlab.threshold.exact``: the fewest hidden threshold units h_i in
f(x) = [w.h(x) + b >= 0]; width 0 is the output unit alone. Claim: f has width
<= 2 iff f is constant (width 0), a threshold function (width 1 if not constant),
or f or NOT f is h1 AND h2 for threshold functions h1, h2 (width 2 otherwise).
Proof. A net of width 2 computes f = F(h1, h2) with F(u, v) = [w1 u + w2 v + b >= 0]
a threshold function of two bits. XOR is none: b < 0 <= w1 + b, w2 + b gives
w1 + w2 + b >= (w1 + b) + (w2 + b) - b > 0, so F(1, 1) = 1; XNOR is NOT XOR and
the complement of a threshold function is one ([L >= 0] negated is [-L - eps >= 0]).
The other 14 functions of two bits are the 2 constants, the 4 literals
u, v, NOT u, NOT v, and the 8 functions u' AND v', NOT(u' AND v') with u' in
{u, NOT u}, v' in {v, NOT v}. As thresholds are closed under complement,
F(h1, h2) is then a constant, a threshold function, or g1 AND g2 or its complement
with g1, g2 thresholds. Conversely h1 AND h2 = [h1 + h2 - 2 >= 0] and
NOT(h1 AND h2) = [-h1 - h2 + 1 >= 0] are nets of width 2, and a threshold function
h = [h - 1 >= 0] is one of width 1. []

The set of width <= 2 is closed under NPN: an input map sigma sends h1 AND h2 to
(h1 o sigma) AND (h2 o sigma), thresholds to thresholds, and complementing f swaps
the two forms. So width <= 2 is a class property, and a class has width <= 2 iff it
holds some h1 AND h2 (if f = NOT(h1 AND h2), NOT f is in the same class). Let r be
the least table of h1's NPN class: h1 = r' o sigma for an input map sigma and r' in
{r, NOT r}, so (h1 AND h2) o sigma^-1 = r' AND (h2 o sigma^-1), in the same class.
Hence every class of width <= 2 holds r' AND h for r' in R = {r, NOT r : r in
``threshold_classes``} and h a threshold function; ``width_at_most_two`` canonicalises
these functions (1,347,353 distinct r' AND h for n = 5, ~1 s) and nothing else.
Each class of width <= 2 gets a witness for its least table, checked on its truth
table here and runnable with ``nnlab.threshold.network_params``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..npn import apply_transforms, find_transforms, full_mask
from ..npn_classes import NPNClasses, canonical, npn_classes
from .functions import threshold_classes, threshold_functions, threshold_index

WIDE = 3  # the width recorded for "at least 3"


class Width2(NamedTuple):
    """Width min(w, 3) of every NPN class of n bits (3 means >= 3), with a witness
    network for its least table where w <= 2: f = [out_w . h + out_b >= 0], hidden
    units by truth table (-1: none)."""

    classes: NPNClasses
    width: np.ndarray  # (C,) int64 in {0, 1, 2, 3}
    hidden: np.ndarray  # (C, 2) int64
    out_w: np.ndarray  # (C, 2) int64
    out_b: np.ndarray  # (C,) int64


def and_candidates(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (r', h), r' in R and h a threshold function (see the module docstring), one
    per distinct r' AND h for each r': every class of width <= 2 holds some r' AND h.
    -> (M,) int64 twice (M = 1,347,353 of the 126 x 94,572 for n = 5)."""
    reps = threshold_classes(n)
    th = threshold_functions(n).tables
    rs, hs = [], []
    for r in np.unique(np.concatenate([reps, reps ^ full_mask(n)])):
        _, first = np.unique(r & th, return_index=True)
        rs.append(np.full(first.size, r))
        hs.append(th[first])
    return np.concatenate(rs), np.concatenate(hs)


def width_at_most_two(n: int, classes: NPNClasses | None = None) -> Width2:
    """The width (capped at 3) of every NPN class of n <= 5 bits, with witnesses.

    classes: the class table (default ``npn_classes(n)``; a shard's table works too:
    classes outside it are skipped). Raises RuntimeError if a witness fails its check."""
    classes = npn_classes(n) if classes is None else classes
    C = len(classes.rep)
    width = np.full(C, WIDE, np.int64)
    hidden, out_w, out_b = np.full((C, 2), -1, np.int64), np.zeros((C, 2), np.int64), np.full(C, -1, np.int64)

    def rows_of(tables):  # the rows of the tables' classes; -1 where not in this table
        canon = canonical(tables, n)
        if C == 0:
            return np.full(canon.shape, -1)
        pos = np.clip(np.searchsorted(classes.rep, canon), 0, C - 1)
        return np.where(classes.rep[pos] == canon, pos, -1)

    r, h = and_candidates(n)
    f = r & h
    rows = rows_of(f)
    hit, first = np.unique(rows, return_index=True)
    first, hit = first[hit >= 0], hit[hit >= 0]
    moves = find_transforms(f[first], classes.rep[hit], n)  # g(r' AND h) = rep
    width[hit] = 2
    hidden[hit, 0] = apply_transforms(r[first], n, moves, complement=False)
    hidden[hit, 1] = apply_transforms(h[first], n, moves, complement=False)
    negated = moves[:, 2] == 1  # rep = NOT(h1 AND h2) = [-h1 - h2 + 1 >= 0]
    out_w[hit] = np.where(negated, -1, 1)[:, None]
    out_b[hit] = np.where(negated, 1, -2)

    th = threshold_functions(n).tables
    one = np.unique(rows_of(th))
    one = one[one >= 0]
    width[one], hidden[one], out_w[one], out_b[one] = 1, [[-1, -1]], [[1, 0]], -1
    hidden[one, 0] = classes.rep[one]
    zero = rows_of(np.array([0]))
    zero = zero[zero >= 0]
    width[zero], hidden[zero], out_w[zero], out_b[zero] = 0, -1, 0, -1

    small = width <= 2
    if not witnesses_hold(n, classes.rep[small], hidden[small], out_w[small], out_b[small]).all():
        raise RuntimeError("a width <= 2 witness does not compute its class representative")
    return Width2(classes, width, hidden, out_w, out_b)


def witnesses_hold(n: int, functions, hidden, out_w, out_b) -> np.ndarray:
    """(F,) bool: network f, [out_w . h + out_b >= 0] with hidden units h by truth table
    (-1: none), has threshold functions as hidden units and computes functions[f].
    functions (F,), hidden and out_w (F, K), out_b (F,). Evaluated on the truth tables
    point by point, without nnlab.forward."""
    functions, hidden, out_w, out_b = (np.asarray(a, np.int64) for a in (functions, hidden, out_w, out_b))
    used = hidden >= 0
    ok = ~(used & (threshold_index(threshold_functions(n), np.maximum(hidden, 0)) < 0)).any(1)
    point = np.arange(2**n)
    values = (np.maximum(hidden, 0)[..., None] >> point) & 1  # (F, K, P)
    total = (np.where(used, out_w, 0)[..., None] * values).sum(1) + out_b[:, None]  # (F, P)
    computed = ((total >= 0).astype(np.int64) << point).sum(1)
    return ok & (computed == functions)


def width_counts(w: Width2) -> tuple[np.ndarray, np.ndarray]:
    """-> (functions (4,), classes (4,)) int64: how many functions and NPN classes have
    width 0, 1, 2 and >= 3."""
    functions = np.array([w.classes.size[w.width == k].sum() for k in range(WIDE + 1)], np.int64)
    return functions, np.bincount(w.width, minlength=WIDE + 1).astype(np.int64)


def width2_by_pairs(n: int, tables=None, rows: int = 32) -> tuple[int, np.ndarray]:
    """A second code path, sharing only the characterization and ``threshold_functions``:
    h1 AND h2 marked for every pair of threshold functions in a byte map over all
    2^(2^n) tables (4 GiB and ~40 s for n = 5), closed under complement.
    -> (the number of functions of width <= 2, (B,) bool: which of ``tables`` have it)."""
    th = threshold_functions(n).tables.astype(np.uint32)
    F, full = 2 ** (2**n), full_mask(n)
    marked = np.zeros(F, np.uint8)
    for i in range(0, len(th), rows):
        marked[(th[i : i + rows, None] & th[None, i:]).ravel()] = 1
    total, block = 0, min(F, 1 << 28)
    for lo in range(0, F, block):  # NOT t = full - t: the complement reverses the map
        total += int((marked[lo : lo + block] | marked[F - lo - block : F - lo][::-1]).sum(dtype=np.int64))
    t = np.zeros(0, np.int64) if tables is None else np.asarray(tables, np.int64)
    return total, (marked[t] | marked[full - t]).astype(bool)
