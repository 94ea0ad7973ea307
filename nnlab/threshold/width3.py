"""Exact width 3: which functions of n <= 5 bits are F(g1, g2, g3) of threshold functions.

Width as in ``nnlab.threshold.exact``. By ``nnlab.threshold.errors`` f has width <= 3
iff f = F(g1, g2, g3) with F a positive threshold function of 3 bits and every g_i a
threshold function with a least error set E_i = g_i XOR f. If F ignores an input, f has
width <= 2 (decided by ``width2``). The positive threshold functions of 3 bits that depend
on all three inputs are, up to permuting them, the five of ``OUTPUTS3`` (all 9 of them:
AND, OR, MAJ and the three placements each of a(b + c) and a + bc; checked in the tests
by enumerating the 104 threshold functions of 3 bits). At a point x the code of the
hidden units is f(x) XOR (e_1, e_2, e_3), e_i = [x in E_i]; F must return f(x). Writing
P = f and N = NOT f (as point sets), that reads, output by output:

* ``and`` (g1 g2 g3 >= f): every E_i inside N, and E_1 & E_2 & E_3 empty;
* ``or`` (the dual): every E_i inside P, and E_1 & E_2 & E_3 empty;
* ``maj``: at most one unit errs anywhere: E_1, E_2, E_3 pairwise disjoint;
* ``and_or`` (a (b + c)): E_a inside N and disjoint from E_b and E_c, E_b & E_c & P empty;
* ``or_and`` (a + bc): E_a inside P and disjoint from E_b and E_c, E_b & E_c & N empty.

``search3`` tries them on the least-error list L of f (``least_errors``): ``maj`` by its
smallest error set (|E_1| <= |E_2| <= |E_3|, so 3|E_1| <= 2^n), then a middle one with
|E_2| <= (2^n - |E_1|) / 2 and any third, all pairwise disjoint; ``and``/``or`` over the
members of L inside N (resp. P), every triple; ``and_or``/``or_and`` over a in L inside N
(resp. P) and every pair b, c of L disjoint from E_a, compared on P (resp. N) only. Each
case tries every admissible tuple of L (one unit per distinct error set, so a unit is
never used twice, which would leave width <= 2), so with the lemma it is complete for f
of width >= 3: a class with no hit has width >= 4. (On f of width <= 2 it may say None.) A hit is a network [w . g + b >= 0] checked on the truth table.
Width is an NPN invariant, so one representative per class suffices (``width_three``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..npn_classes import NPNClasses
from .errors import least_errors
from .networks import network_functions, network_params

# name: (output weights over (g1, g2, g3), bias), F(g) = [w . g + b >= 0]
OUTPUTS3 = {"maj": ((1, 1, 1), -2), "and_or": ((2, 1, 1), -3), "or_and": ((2, 1, 1), -2),
            "and": ((1, 1, 1), -3), "or": ((1, 1, 1), -1)}
KINDS3 = tuple(OUTPUTS3)


class Width3(NamedTuple):
    """Width 3 decided for some NPN classes: ``three[i]`` says whether class i (of width
    >= 3) has width exactly 3, with the witness f = [out_w . h + out_b >= 0] where it does;
    kind[i] indexes ``KINDS3`` (-1: none)."""

    classes: NPNClasses
    rows: np.ndarray  # (R,) int64: the classes decided here (rows of ``classes``)
    three: np.ndarray  # (R,) bool
    kind: np.ndarray  # (R,) int64
    hidden: np.ndarray  # (R, 3) int64 truth tables (-1 where no witness)
    out_w: np.ndarray  # (R, 3) int64
    out_b: np.ndarray  # (R,) int64


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).astype(np.int64)


def _disjoint_pair(x: np.ndarray, y: np.ndarray, block: int = 256):
    """The first (i, j) with x[i] & y[j] == 0, or None."""
    if x.size == 0 or y.size == 0:
        return None
    for lo in range(0, x.size, block):
        hit = (x[lo : lo + block, None] & y[None, :]) == 0
        if hit.any():
            i, j = np.unravel_index(np.argmax(hit), hit.shape)
            return lo + int(i), int(j)
    return None


def _maj(g: np.ndarray, err: np.ndarray, points: int):
    order = np.argsort(_popcount(err), kind="stable")
    g, err = g[order], err[order]
    size = _popcount(err)
    for i in range(len(err)):
        if 3 * size[i] > points:
            break
        ok = np.flatnonzero((err[i + 1 :] & err[i]) == 0) + i + 1  # later ones, disjoint from E_i
        mid = ok[size[ok] <= (points - size[i]) // 2]
        hit = _disjoint_pair(err[mid], err[ok])
        if hit is not None:
            return g[i], g[mid[hit[0]]], g[ok[hit[1]]]
    return None


def _all_three(g: np.ndarray, err: np.ndarray, inside: np.ndarray):
    """g1, g2, g3 with error sets inside the given side and no common error point."""
    g, err = g[inside], err[inside]
    for i in range(len(err)):
        pair = err[i] & err[i:]
        hit = _disjoint_pair(pair, err)
        if hit is not None:
            return g[i], g[i + hit[0]], g[hit[1]]
    return None


def _one_two(g: np.ndarray, err: np.ndarray, inside: np.ndarray, other: np.uint32):
    """a with E_a inside one side, b, c disjoint from E_a with E_b & E_c & other empty."""
    for a in np.flatnonzero(inside):
        ok = np.flatnonzero((err & err[a]) == 0)
        part, first = np.unique(err[ok] & other, return_index=True)
        hit = _disjoint_pair(part, part)
        if hit is not None:
            return g[a], g[ok[first[hit[0]]]], g[ok[first[hit[1]]]]
    return None


def search3(f: int, n: int, kinds=KINDS3, care: int | None = None, candidates=None):
    """A width-3 witness for f (n <= 5 bits), or None if f is no F(g1, g2, g3) for the
    outputs ``kinds`` (all five: f has width >= 4 unless it has width <= 2).

    care: only the points of this set must be right (default: all); the error sets are
    then read inside it. candidates: the threshold tables to choose g_i from (default
    ``least_errors(f, n)``, complete by the replacement lemma; with a care set the caller
    must pass a list that is complete for its problem).
    -> (kind, (g1, g2, g3) int tables) or None."""
    full = (1 << 2**n) - 1
    care = np.uint32(full if care is None else care)
    P = np.uint32(f) & care
    N = ~np.uint32(f) & care
    g = least_errors(f, n) if candidates is None else np.asarray(candidates, np.uint32)
    err, first = np.unique((g ^ np.uint32(f)) & care, return_index=True)  # one unit per error set
    g = g[first]
    inN, inP = (err & P) == 0, (err & N) == 0
    for kind in kinds:
        if kind == "maj":
            hit = _maj(g, err, int(np.bitwise_count(care)))
        elif kind == "and":
            hit = _all_three(g, err, inN)
        elif kind == "or":
            hit = _all_three(g, err, inP)
        elif kind == "and_or":
            hit = _one_two(g, err, inN, P)
        else:
            hit = _one_two(g, err, inP, N)
        if hit is not None:
            return kind, tuple(int(h) for h in hit)
    return None


def evaluate3(kind: str, hidden, n: int) -> int:
    """The table of F_kind(h1, h2, h3), from the tables, point by point."""
    w, b = OUTPUTS3[kind]
    point = np.arange(2**n)
    code = sum(wi * ((int(h) >> point) & 1) for wi, h in zip(w, hidden))
    return int(((code + b >= 0).astype(np.int64) << point).sum())


def width_three(n: int, classes: NPNClasses, rows=None, progress=None) -> Width3:
    """Decide width 3 for the classes ``rows`` of ``classes`` (default: all; pass the
    classes of width >= 3 from ``width_at_most_two``). Witnesses are checked on the truth
    table here and by ``nnlab.forward`` (``network_functions``); RuntimeError if one fails.
    progress: called with the number of classes done after each one, if given."""
    rows = np.arange(len(classes.rep)) if rows is None else np.asarray(rows, np.int64)
    R = len(rows)
    three, kind = np.zeros(R, bool), np.full(R, -1, np.int64)
    hidden, out_w, out_b = np.full((R, 3), -1, np.int64), np.zeros((R, 3), np.int64), np.zeros(R, np.int64)
    for r, f in enumerate(classes.rep[rows]):
        hit = search3(int(f), n)
        if hit is not None:
            name, hs = hit
            if evaluate3(name, hs, n) != f:
                raise RuntimeError(f"width-3 witness {name} fails on its table {int(f):#x}")
            three[r], kind[r], hidden[r] = True, KINDS3.index(name), hs
            out_w[r], out_b[r] = OUTPUTS3[name]
        if progress is not None:
            progress(1)
    if three.any():
        params = network_params(n, hidden[three], out_w[three], out_b[three])
        if not np.array_equal(network_functions(params, n), classes.rep[rows][three]):
            raise RuntimeError("a width-3 witness fails under nnlab.forward")
    return Width3(classes, rows, three, kind, hidden, out_w, out_b)
