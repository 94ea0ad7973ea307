"""NPN canonical forms of tables of n <= 5 bits, and the table of all NPN classes.

``canonical(tables, n)`` is the least table of each table's NPN class (G_n, see
``nnlab.npn``), computed from the class of n - 1 bits without trying the |G_n|
transforms. Write t = (hi << W) | lo, W = 2^(n-1): hi is f at x_{n-1} = 1, lo at
x_{n-1} = 0, and tables compare as integers, hi first. Claim: canonical(t) =
(m << W) | l with

    m = min over the 2n cofactors c = f|x_j=a of canon_{n-1}(c),
    l = min over the cofactors with canon_{n-1}(c) = m of S_m(h_c(d)),

d = f|x_j=1-a the opposite cofactor, h_c a fixed transform of G_{n-1} with
h_c(c) = m, and S_m(e) the least image of e under the stabilizer Stab(m) of m
in G_{n-1}. Proof: fix for each (j, a) a transform tau_{j,a} that moves x_j to
x_{n-1} with polarity a (swap x_j, x_{n-1}; negate it if a = 0). Every g in G_n
is h tau_{j,a} for exactly one (j, a) and one h in G_{n-1} acting on x_0..x_{n-2}
(with the output) -- 2n |G_{n-1}| = |G_n| -- and then hi(g t) = h(c), lo(g t) = h(d).
So the least hi over the class is m, reached exactly when canon_{n-1}(c) = m and
h = s h_c with s in Stab(m); the least lo among those is the least s(h_c(d)).
canon_{n-1}, h_c and S_m come from all images of all 2^(2^(n-1)) tables of n - 1
bits (``nnlab.npn._images``: 768 x 65,536 for n = 5).

``npn_classes(n)`` lists every class by its least table: t is least in its class
iff canonical(t) = t, which needs hi = canon_{n-1}(hi), so only the 222 x 65,536
tables with such an hi are tried for n = 5. Each representative is then checked
against all |G_n| transforms by ``nnlab.npn.orbit_stats`` (an independent code
path), which also gives the class size |G_n| / |stabilizer|. Distinct least
elements are distinct classes, so class sizes summing to 2^(2^n) prove the list
complete; the count is OEIS A000370 (616,126 classes for n = 5, in ~1 minute on
two cores). ``shard``/``shards`` split the work by the value of hi.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .npn import _as_u32, _images, full_mask, group_order, orbit_stats, swap

CHUNK = 1 << 18


class _Lower(NamedTuple):
    """The group G_{n-1} on every table of n - 1 bits (N = 2^(2^(n-1)) tables)."""

    images: np.ndarray  # (|G_{n-1}|, N) uint16: images[g, e] = g(e)
    canon: np.ndarray  # (N,) uint16: least table of each class
    to_canon: np.ndarray  # (N,) int64: a g with images[g, e] = canon[e]
    mins: np.ndarray  # (K,) uint16: the K class representatives, increasing
    stab_canon: np.ndarray  # (K, N) uint16: least image of e under Stab(mins[k])


@functools.lru_cache(maxsize=None)
def _lower(n: int) -> _Lower:
    m = n - 1
    every = np.arange(2 ** (2**m), dtype=np.uint32)
    np_images = np.stack([img for _, _, img in _images(every, m)])
    images = np.concatenate([np_images, np_images ^ np.uint32(full_mask(m))]).astype(np.uint16)
    canon, to_canon = images.min(0), images.argmin(0).astype(np.int64)
    mins = np.unique(canon)
    stab_canon = np.stack([images[images[:, r] == r].min(0) for r in mins])
    return _Lower(images, canon, to_canon, mins, stab_canon)


def _canonical_u32(t: np.ndarray, n: int) -> np.ndarray:
    """canonical() on a uint32 chunk (B,) -> (B,) uint32."""
    if n == 0:
        return np.minimum(t, t ^ np.uint32(1))
    low = _lower(n)
    W = 2 ** (n - 1)
    mask = np.uint32(full_mask(n - 1))
    cs, ds = [], []
    for j in range(n):
        u = swap(t, n, j, n - 1)  # tau: x_j moved to x_{n-1}
        hi, lo = (u >> np.uint32(W)).astype(np.int64), (u & mask).astype(np.int64)
        cs += [hi, lo]
        ds += [lo, hi]
    c, d = np.stack(cs), np.stack(ds)  # (2n, B)
    key = low.canon[c]
    m = key.min(0)
    k = np.searchsorted(low.mins, m)
    e = low.images[low.to_canon[c], d]  # h_c(d)
    best = np.where(key == m[None], low.stab_canon[k[None], e].astype(np.int64), 1 << W).min(0)
    return ((m.astype(np.uint32) << np.uint32(W)) | best.astype(np.uint32)).astype(np.uint32)


def canonical(tables, n: int) -> np.ndarray:
    """The least table of the NPN class of each table (see the module docstring).
    tables: (...,) integers in [0, 2^(2^n)), n <= 5 -> same shape, int64."""
    t = _as_u32(tables, n)
    flat = t.reshape(-1)
    out = np.empty(flat.size, np.int64)
    for lo in range(0, flat.size, CHUNK):
        out[lo : lo + CHUNK] = _canonical_u32(flat[lo : lo + CHUNK], n)
    return out.reshape(t.shape)


class NPNClasses(NamedTuple):
    """The NPN classes of the functions of n bits: rep[i] is the least table of class i
    (increasing), size[i] its number of functions."""

    n: int
    rep: np.ndarray  # (C,) int64
    size: np.ndarray  # (C,) int64


def npn_classes(n: int, shard: int = 0, shards: int = 1) -> NPNClasses:
    """Every NPN class of n <= 5 bits (for shards > 1: the classes whose least table has
    hi = the shard-th of every shards-th representative of n - 1 bits; the shards are
    disjoint and together give all classes). Raises RuntimeError if a representative
    is not the least table of its class under all |G_n| transforms."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard must lie in [0, shards), got shard={shard}, shards={shards}")
    _as_u32(np.zeros(0, np.int64), n)
    if n == 0:
        candidates = np.array([0, 1][shard::shards], np.uint32)
    else:
        W = 2 ** (n - 1)
        his = _lower(n).mins[shard::shards].astype(np.uint32)
        candidates = ((his[:, None] << np.uint32(W)) | np.arange(2**W, dtype=np.uint32)[None]).reshape(-1)
    keep = np.concatenate([[]] + [
        c[_canonical_u32(c, n) == c] for c in np.array_split(candidates, max(1, candidates.size // CHUNK))
    ]).astype(np.int64)
    least, stab = orbit_stats(keep, n)
    if not np.array_equal(least, keep):
        raise RuntimeError("a class representative is not the least table of its class")
    return NPNClasses(n, keep, group_order(n) // stab)


def merge(parts) -> NPNClasses:
    """The classes of several shards (or any disjoint parts) as one table."""
    parts = list(parts)
    rep = np.concatenate([p.rep for p in parts])
    order = np.argsort(rep, kind="stable")
    return NPNClasses(parts[0].n, rep[order], np.concatenate([p.size for p in parts])[order])


def class_index(classes: NPNClasses, tables) -> np.ndarray:
    """The row of each table's class in ``classes``. tables (...,) -> (...,) int64;
    raises ValueError if a class is missing (e.g. in another shard)."""
    canon = canonical(tables, classes.n)
    pos = np.clip(np.searchsorted(classes.rep, canon), 0, max(len(classes.rep) - 1, 0))
    if len(classes.rep) == 0 or not np.array_equal(classes.rep[pos], canon):
        raise ValueError("some table's class is not in this class table")
    return pos
