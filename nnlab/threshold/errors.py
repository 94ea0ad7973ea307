"""Error sets of threshold functions, and why the hidden units of a width-k net may be
taken with least errors.

For a function f and a threshold function t of n bits, the error set of t is
E_f(t) = t XOR f (as a table: the points where t and f differ). Three facts make
every width search here finite and small (tables follow ``nnlab.boolean``):

**Chain lemma.** For threshold functions t != t', there is a chain t = t_0, t_1, ..,
t_m = t' of threshold functions in which each step flips one point of t XOR t', each
point once (m = |t XOR t'|). Proof: write t = [L > 0], t' = [L' > 0] with affine L, L'
nonzero on every point of the cube (integer weights: L = w.x + b + 1/2). On the segment
L_s = (1 - s) L + s L', s in [0, 1], a point where t and t' agree keeps its sign (a
convex combination of two numbers of one sign), and a point where they differ changes
sign exactly once, at s_x = L(x) / (L(x) - L'(x)). Moving L' by a small generic amount
(which leaves t' as it is) makes the s_x distinct; then [L_s > 0] between consecutive s_x
are the t_i. []

Hence, with flip(t) the points p for which t XOR {p} is again a threshold function:

* t is **maximal** among the threshold functions inside a set S (t <= S) iff no point
  p of S \\ t is in flip(t): a threshold t' with t < t' <= S starts a chain from t that
  adds one point of t' \\ t first.
* t has a **least error set** for f (no threshold t' has E_f(t') a proper subset of
  E_f(t)) iff flip(t) misses E_f(t): if E_f(t') < E_f(t), then t and t' differ exactly
  on E_f(t) \\ E_f(t'), and the first step of the chain corrects one error of t.

**Replacement lemma.** Let f = F(g_1, .., g_k) with F a positive (monotone) threshold
function and g_i threshold functions. If E_f(t) <= E_f(g_i), then f = F(.., t, ..) with
g_i replaced by t. Proof: t differs from g_i only at points x where g_i errs and t does
not, so there the i-th input moves from NOT f(x) to f(x), and F, monotone, keeps the
value f(x): if f(x) = 1 the input rises and F stays 1, if f(x) = 0 it falls and F
stays 0. [] Every output unit may be taken positive (negate
each hidden unit whose output weight is negative: w h = w + |w| (NOT h), and NOT h is a
threshold function), so: **f has width <= k iff f = F(g_1, .., g_k) for a positive
threshold F and threshold functions g_i with least error sets for f** (replace each g_i
by one with a least error set below its own; the error sets shrink, so this ends).

``flip_masks(n)`` gives flip(t) for every threshold function, ``least_errors(f, n)``
the threshold functions with least error sets (about 900 of the 94,572 for a typical
5-bit function of width >= 3) and ``maximal_inside(S, n)`` the maximal ones inside S.
"""

from __future__ import annotations

import functools

import numpy as np

from .functions import threshold_functions


@functools.lru_cache(maxsize=None)
def _tables(n: int) -> np.ndarray:
    """The threshold functions of n bits as uint32 tables, increasing."""
    return threshold_functions(n).tables.astype(np.uint32)


@functools.lru_cache(maxsize=None)
def flip_masks(n: int) -> np.ndarray:
    """(T,) uint32 aligned with ``threshold_functions(n).tables``: bit p of entry i is
    set iff table i with point p flipped is again a threshold function."""
    th = _tables(n)
    flip = np.zeros(len(th), np.uint32)
    for p in range(2**n):
        moved = th ^ np.uint32(1 << p)
        pos = np.clip(np.searchsorted(th, moved), 0, len(th) - 1)
        flip |= np.where(th[pos] == moved, np.uint32(1 << p), np.uint32(0))
    return flip


def least_errors(f: int, n: int) -> np.ndarray:
    """The threshold functions of n bits whose error set for f is inclusion-minimal
    among all threshold functions (the chain lemma's local test). -> (m,) uint32 tables,
    increasing."""
    th = _tables(n)
    return th[(flip_masks(n) & (th ^ np.uint32(f))) == 0]


def maximal_inside(s: int, n: int) -> np.ndarray:
    """The threshold functions t <= s (as point sets) that are maximal among those
    (the chain lemma's local test). -> (m,) uint32 tables, increasing."""
    th, s = _tables(n), np.uint32(s)
    return th[((th & ~s) == 0) & ((flip_masks(n) & ~th & s) == 0)]
