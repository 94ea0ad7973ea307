"""Threshold functions of n <= 5 bits, enumerated with integer weights.

A threshold function of n bits is h(x) = [w.x + b >= 0]; truth tables follow
``nnlab.boolean`` (bit i of f is f(x(i))), held as int64. ``threshold_functions(n)``
lists all of them, each with small integer weights checked on all 2^n inputs; their
number is OEIS A000609 (2, 4, 14, 104, 1882, 94572 for n = 0..5).
``threshold_classes(n)`` gives their NPN classes: by OEIS A001530 there are
1, 1, 1, 3, 9, 48 classes of threshold functions of exactly n = 0..5 variables,
so 1, 2, 3, 6, 15, 63 of n or fewer.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..boolean import inputs
from ..npn_classes import canonical

A000609 = (2, 4, 14, 104, 1882, 94572, 15028134, 8378070864, 17561539552946, 144130531453121108)
MAX_WEIGHT = (0, 1, 1, 2, 3, 5)  # n = 0..5: integer weights up to this realize every threshold function
MAX_TABLE_N = 5
A001530 = (1, 1, 1, 3, 9, 48)  # NPN classes of threshold functions of exactly n variables, n = 0..5


class Thresholds(NamedTuple):
    """Every threshold function of n bits: h(x) = [weights . x + bias >= 0]."""

    tables: np.ndarray  # (m,) int64 truth tables, increasing
    weights: np.ndarray  # (m, n) int64
    bias: np.ndarray  # (m,) int64


def _pack(values: np.ndarray) -> np.ndarray:
    """0/1 values (..., P) with P <= 64 -> int64 tables (...,), bit i = values[..., i]."""
    packed = np.packbits(values.astype(bool), axis=-1, bitorder="little")
    padded = np.zeros(values.shape[:-1] + (8,), np.uint8)
    padded[..., : packed.shape[-1]] = packed
    return padded.view("<u8")[..., 0].astype(np.int64)


def _simplest_first(weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Order by max |w|, then sum |w|, then |b|."""
    a = np.abs(weights)
    return np.lexsort((np.abs(bias), a.sum(1), a.max(1, initial=0)))


@functools.lru_cache(maxsize=None)
def threshold_functions(n: int) -> Thresholds:
    """All threshold functions of n <= 5 bits, each with the smallest integer weights
    found (least max |w|, then sum |w|, then |b|). Enumerates w in [-M, M]^n and
    every distinct threshold; complete because the count equals A000609[n]."""
    if not 0 <= n <= MAX_TABLE_N:
        raise ValueError(f"threshold functions are enumerated for n = 0..{MAX_TABLE_N}, got n={n}")
    x = inputs(n).astype(np.int64)  # (P, n)
    M = MAX_WEIGHT[n]
    grid = np.indices((2 * M + 1,) * n).reshape(n, -1).T - M if n else np.zeros((1, 0), np.int64)
    grid = grid[_simplest_first(grid, np.zeros(len(grid), np.int64))]
    parts = [(np.zeros(1, np.int64), np.zeros((1, n), np.int64), -np.ones(1, np.int64))]  # constant 0
    for chunk in np.array_split(grid, max(1, len(grid) // 2048)):
        sums = chunk @ x.T  # (c, P)
        fires = sums[:, None, :] >= sums[:, :, None]  # (c, P thresholds, P inputs)
        tables = _pack(fires).reshape(-1)
        weights = np.repeat(chunk, x.shape[0], axis=0)
        bias = -sums.reshape(-1)
        order = _simplest_first(weights, bias)
        _, first = np.unique(tables[order], return_index=True)
        keep = order[first]
        parts.append((tables[keep], weights[keep], bias[keep]))
    tables, weights, bias = (np.concatenate(p) for p in zip(*parts))
    order = _simplest_first(weights, bias)
    _, first = np.unique(tables[order], return_index=True)  # sorted by table, simplest kept
    keep = order[first]
    return Thresholds(tables[keep], weights[keep], bias[keep])


def threshold_index(th: Thresholds, tables: np.ndarray) -> np.ndarray:
    """Row of each table in ``th`` (-1 where it is not a threshold function)."""
    tables = np.asarray(tables, np.int64)
    pos = np.clip(np.searchsorted(th.tables, tables), 0, len(th.tables) - 1)
    return np.where(th.tables[pos] == tables, pos, -1)



@functools.lru_cache(maxsize=None)
def threshold_classes(n: int) -> np.ndarray:
    """(K,) int64: the least table of each NPN class of threshold functions of n <= 5
    bits, increasing (K = A001530[0] + .. + A001530[n])."""
    return np.unique(canonical(threshold_functions(n).tables, n))
