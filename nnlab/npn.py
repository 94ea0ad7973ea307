"""The NPN group acting on truth tables of n <= 5 bits, by brute force.

Truth tables follow ``nnlab.boolean`` (bit i of f is f(x(i)), x_j = (i >> j) & 1).
The NPN group G_n permutes the inputs, negates any of them and may negate the
output: |G_n| = n! 2^n 2 (7,680 for n = 5). Two functions are NPN-equivalent when
one is g(f) for some g in G_n; the classes are counted by OEIS A000370
(1, 2, 4, 14, 222, 616126 for n = 0..5: NPN classes of the 2^(2^n) functions of
n bits, i.e. of n *or fewer* essential variables).

Two implementations that share no code, so the tests hold one against the other:

* ``generators``/``apply_generator``/``npn_labels``: the group from its generators
  (adjacent swaps, negating x_0, negating the output) acting on every table
  (n <= 4), ``npn_labels`` the least table of each class by closure.
* ``orbit_stats``/``orbit``/``find_transforms``: every one of the |G_n| images of
  a batch of tables, built from bit operations on uint32 tables (n <= 5):
  negating x_j and swapping x_j, x_k are "delta swaps" of the table's bits.
  Permutations are visited by Heap's algorithm (each one a swap away from the
  last), negation sets in Gray-code order (each one a negation away), and the
  output complement doubles each image. No transform is ever stored.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .boolean import inputs

MAX_N = 5  # tables fit in uint32
A000370 = (1, 2, 4, 14, 222, 616126)  # NPN classes of the functions of n bits, n = 0..5


def group_order(n: int) -> int:
    """|G_n| = n! 2^n 2."""
    return math.factorial(n) * 2 ** (n + 1)


def full_mask(n: int) -> int:
    """The constant-1 table of n bits, 2^(2^n) - 1."""
    return (1 << 2**n) - 1


def _check_n(n: int) -> None:
    if not 0 <= n <= MAX_N:
        raise ValueError(f"NPN transforms act on tables of n = 0..{MAX_N} bits, got n={n}")


def _table(values: np.ndarray) -> int:
    return int((values.astype(np.int64) << np.arange(values.size, dtype=np.int64)).sum())


@functools.lru_cache(maxsize=None)
def _masks(n: int) -> tuple[tuple[int, ...], dict[tuple[int, int], int]]:
    """neg[j]: the points with x_j = 0; swap[j, k] (j < k): the points with x_j = 1, x_k = 0."""
    x = inputs(n).astype(bool)
    neg = tuple(_table(~x[:, j]) for j in range(n))
    swap = {(j, k): _table(x[:, j] & ~x[:, k]) for j in range(n) for k in range(j + 1, n)}
    return neg, swap


def negate(t: np.ndarray, n: int, j: int) -> np.ndarray:
    """f(x with x_j negated), for uint32 tables t (any shape)."""
    s, m = np.uint32(1 << j), np.uint32(_masks(n)[0][j])
    return ((t >> s) & m) | ((t & m) << s)


def swap(t: np.ndarray, n: int, j: int, k: int) -> np.ndarray:
    """f(x with x_j and x_k exchanged), for uint32 tables t (any shape)."""
    if j == k:
        return t
    j, k = min(j, k), max(j, k)
    d, m = np.uint32((1 << k) - (1 << j)), np.uint32(_masks(n)[1][j, k])
    y = ((t >> d) ^ t) & m  # the bits where x_j = 1, x_k = 0 differ from their partners
    return t ^ y ^ (y << d)


@functools.lru_cache(maxsize=None)
def heap_swaps(n: int) -> tuple[tuple[int, int], ...]:
    """The n! - 1 swaps of Heap's algorithm: applied in turn from the identity, the
    running products visit every permutation of n elements once."""
    c, out, i = [0] * n, [], 1
    while i < n:
        if c[i] < i:
            out.append((0, i) if i % 2 == 0 else (c[i], i))
            c[i] += 1
            i = 1
        else:
            c[i] = 0
            i += 1
    return tuple(out)


def _gray_negation(g: int) -> int:
    """The variable whose negation takes Gray code g - 1 to g (g >= 1): its lowest set bit."""
    return (g & -g).bit_length() - 1


def _as_u32(tables, n: int) -> np.ndarray:
    _check_n(n)
    t = np.asarray(tables)
    if t.size and (t.min() < 0 or t.max() > full_mask(n)):
        raise ValueError(f"truth tables of {n} bits lie in [0, 2^{2**n})")
    return t.astype(np.uint32)


def _images(t: np.ndarray, n: int):
    """Yield (perm, gray, image) for the n! 2^n images under permutations and negations:
    image = N(gray) P(perm) t, P(perm) the first ``perm`` Heap swaps, N(gray) the
    negation of the variables set in gray ^ (gray >> 1)."""
    cur = t
    for perm, step in enumerate((None,) + heap_swaps(n)):
        if step is not None:
            cur = swap(cur, n, *step)
        img = cur
        for g in range(2**n):
            if g:
                img = negate(img, n, _gray_negation(g))
            yield perm, g, img


def orbit_stats(tables, n: int, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """For each table (shape (B,)), the least table of its NPN class and the size of its
    stabilizer (the g in G_n with g(f) = f), over all |G_n| transforms.
    -> (least (B,) int64, stabilizer (B,) int64); the class size is |G_n| / stabilizer."""
    t = _as_u32(tables, n).reshape(-1)
    full = np.uint32(full_mask(n))
    least, stab = np.empty(t.size, np.int64), np.empty(t.size, np.int64)
    for lo in range(0, t.size, chunk):
        t0 = t[lo : lo + chunk]
        best, count = t0.copy(), np.zeros(t0.size, np.int64)
        for _, _, img in _images(t0, n):
            comp = img ^ full
            np.minimum(best, np.minimum(img, comp), out=best)
            count += img == t0
            count += comp == t0
        least[lo : lo + chunk], stab[lo : lo + chunk] = best, count
    return least, stab


def orbit(f: int, n: int) -> np.ndarray:
    """The NPN class of one function: its distinct tables, sorted. -> (size,) int64."""
    t = _as_u32(np.array([f]), n)
    imgs = np.array([img[0] for _, _, img in _images(t, n)], np.int64)
    return np.unique(np.concatenate([imgs, imgs ^ full_mask(n)]))


def find_transforms(tables, targets, n: int) -> np.ndarray:
    """For each pair (tables[b], targets[b]), a transform g of G_n with g(table) = target.

    -> (B, 3) int64 rows (perm, gray, comp) to pass to ``apply_transforms``; raises
    ValueError if some target is not in its table's class."""
    t, target = _as_u32(tables, n).reshape(-1), _as_u32(targets, n).reshape(-1)
    full = np.uint32(full_mask(n))
    found = np.full((t.size, 3), -1, np.int64)
    for perm, g, img in _images(t, n):
        for comp, image in ((0, img), (1, img ^ full)):
            new = (image == target) & (found[:, 0] < 0)
            found[new] = (perm, g, comp)
    if (found[:, 0] < 0).any():
        raise ValueError("some target is not NPN-equivalent to its table")
    return found


def apply_transforms(tables, n: int, transforms: np.ndarray, complement: bool = True) -> np.ndarray:
    """Apply transform rows (perm, gray, comp) from ``find_transforms`` to tables (B,),
    one row each: the first ``perm`` Heap swaps, then the negations of Gray code
    ``gray``, then the complement if comp = 1. ``complement=False`` applies only the
    input part (perm, gray): the map that sends hidden units of a network for f to
    hidden units of one for g(f).
    -> (B,) int64."""
    t = _as_u32(tables, n).reshape(-1).copy()
    transforms = np.asarray(transforms, np.int64).reshape(-1, 3)
    perm, gray, comp = transforms.T
    for i, step in enumerate(heap_swaps(n), start=1):
        t = np.where(perm >= i, swap(t, n, *step), t)
    neg = gray ^ (gray >> 1)
    for j in range(n):
        t = np.where((neg >> j) & 1 == 1, negate(t, n, j), t)
    if complement:
        t = np.where(comp == 1, t ^ np.uint32(full_mask(n)), t)
    return t.astype(np.int64)


def essential(tables, n: int) -> np.ndarray:
    """The number of variables each function depends on. tables (B,) -> (B,) int64."""
    t = _as_u32(tables, n)
    count = np.zeros(t.shape, np.int64)
    for j in range(n):
        count += negate(t, n, j) != t
    return count


# ---------------------------------------------------------------- generators (n <= 4)

def generators(n: int) -> list[tuple]:
    """Generators of the NPN group: ("swap", j) swaps x_j and x_{j+1}, ("negate", 0)
    negates x_0, ("complement",) negates the output."""
    return [("swap", j) for j in range(n - 1)] + [("negate", 0)] * (n > 0) + [("complement",)]


def apply_generator(tables: np.ndarray, n: int, gen: tuple) -> np.ndarray:
    """The functions f o sigma (or NOT f for "complement"). tables: (...,) int64."""
    tables = np.asarray(tables, np.int64)
    full = (1 << 2**n) - 1
    if gen[0] == "complement":
        return full ^ tables
    x = inputs(n)
    if gen[0] == "swap":
        j = gen[1]
        x[:, [j, j + 1]] = x[:, [j + 1, j]]
    else:
        x[:, gen[1]] ^= 1
    source = x.astype(np.int64) @ (1 << np.arange(n))  # point i reads f at sigma(x(i))
    out = np.zeros_like(tables)
    for i, s in enumerate(source):
        out |= ((tables >> s) & 1) << i
    return out


@functools.lru_cache(maxsize=None)
def generator_maps(n: int) -> tuple[tuple[tuple, np.ndarray], ...]:
    """Each generator with its action on every table of n <= 4 bits, (2^(2^n),) int64."""
    every = np.arange(2 ** (2**n), dtype=np.int64)
    return tuple((gen, apply_generator(every, n, gen)) for gen in generators(n))


@functools.lru_cache(maxsize=None)
def npn_labels(n: int) -> np.ndarray:
    """(2^(2^n),) the smallest function in each function's NPN class, n <= 4 (closure
    under the generators)."""
    if not 0 <= n <= 4:
        raise ValueError(f"npn_labels covers every table, n = 0..4, got n={n}")
    label = np.arange(2 ** (2**n), dtype=np.int64)
    while True:
        new = label
        for _, image in generator_maps(n):
            new = np.minimum(new, new[image])
        if np.array_equal(new, label):
            return label
        label = new
