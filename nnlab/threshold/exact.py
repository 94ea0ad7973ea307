"""The exact minimal width of one-hidden-layer threshold nets, n <= 4.

``min_widths(n)`` gives every function of n <= 4 bits its least width k: the
fewest hidden threshold units h_1..h_k in a network
    f(x) = [w.h(x) + v.x + b >= 0]     (v = 0 unless ``shortcuts``),
with a witness network for each. Width 0 is the output unit alone: the constants
(with shortcuts: every threshold function). S_k, the functions of width <= k,
is built one level at a time from these facts:

* negating a hidden unit gives a threshold unit again and flips the sign of its
  output weight, so the output may be taken monotone in the hidden units;
* S_k is closed under permuting and negating inputs and negating the output
  (NPN), so one hidden unit may be fixed to a representative r of its NPN class;
* an output that ignores a unit is width k - 1; one where a unit h dominates
  (output = h AND g' or h OR g', g' an output of the other units) gives
  f = r AND g or r OR g with g in S_{k-1}, up to NPN;
* the other outputs, "non-decomposable" ones (k <= 3 without shortcuts: only
  MAJ(h1, h2, h3)), are enumerated as F(r, h2, .., hk) over all thresholds h2..hk.
Level k is exact when that enumeration was affordable (``budget``). A function
first reached at level k with levels 0..k-1 exact has a proven minimum: the lower
bound by exhaustion, the upper bound by its witness (checked by ``verify``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ..boolean import inputs
from ..mlp import Params
from ..npn import generator_maps, npn_labels
from .functions import MAX_TABLE_N, Thresholds, _pack, threshold_functions
from .networks import network_functions, network_params

MAX_EXACT_N = 4


class Widths(NamedTuple):
    """Least width of every function of n bits, with a witness network for each.

    f(x) = [sum_i out_w[f, i] h_i(x) + out_v[f] . x + out_b[f] >= 0], h_i the threshold
    function with truth table hidden[f, i] (-1: no unit); all weights are integers.
    """

    n: int
    shortcuts: bool
    width: np.ndarray  # (F,) int64, F = 2^(2^n)
    proven: np.ndarray  # (F,) bool: width is the proven minimum (else an upper bound)
    hidden: np.ndarray  # (F, K) int64, K = the largest width
    out_w: np.ndarray  # (F, K) int64
    out_v: np.ndarray  # (F, n) int64, zero without shortcuts
    out_b: np.ndarray  # (F,) int64
    exact_levels: tuple[bool, ...]  # level k was searched exhaustively


class _Search:
    """The growing S_k with witnesses; ``add`` records new functions, ``close`` takes NPN images."""

    def __init__(self, n: int):
        F = 2 ** (2**n)
        self.n, K = n, 2**n + 1
        self.width = np.full(F, -1, np.int64)
        self.hidden = np.full((F, K), -1, np.int64)
        self.out_w = np.zeros((F, K), np.int64)
        self.out_v = np.zeros((F, n), np.int64)
        self.out_b = np.zeros(F, np.int64)

    def add(self, level, f, hidden, out_w, out_v, out_b) -> np.ndarray:
        """Record the functions f (first of each, unseen ones) with their witnesses."""
        new = self.width[f] < 0
        f, pick = np.unique(f[new], return_index=True)
        idx = np.flatnonzero(new)[pick]
        k = hidden.shape[1]
        self.width[f] = level
        self.hidden[f, :k], self.out_w[f, :k] = hidden[idx], out_w[idx]
        self.out_v[f], self.out_b[f] = out_v[idx], out_b[idx]
        return f

    def close(self, level, frontier: np.ndarray) -> None:
        while frontier.size:
            found = []
            for gen, image in generator_maps(self.n):
                hidden, w, v, b = (a[frontier] for a in (self.hidden, self.out_w, self.out_v, self.out_b))
                if gen[0] == "complement":  # NOT [L >= 0] = [-L - 1 >= 0] for integer L
                    w, v, b = -w, -v, -b - 1
                else:
                    hidden = np.where(hidden >= 0, image[np.maximum(hidden, 0)], -1)
                    v = v.copy()
                    if gen[0] == "swap":
                        v[:, [gen[1], gen[1] + 1]] = v[:, [gen[1] + 1, gen[1]]]
                    else:  # v_0 (1 - x_0) = v_0 - v_0 x_0
                        b, v[:, 0] = b + v[:, 0], -v[:, 0]
                found.append(self.add(level, image[frontier], hidden, w, v, b))
            frontier = np.concatenate(found)


def _nondecomposable_outputs(nx: int, k: int) -> Thresholds | None:
    """Output units over nx inputs (variables 0..nx-1) and k hidden units (nx..nx+k-1)
    that are monotone in, depend on and are not dominated by any hidden unit."""
    if nx + k > MAX_TABLE_N:
        return None
    th = threshold_functions(nx + k)
    t, keep = th.tables, np.ones(len(th.tables), bool)
    full = (1 << 2 ** (nx + k)) - 1
    for i in range(nx, nx + k):
        on = _pack(inputs(nx + k)[:, i])  # the points where variable i is 1
        hi, lo = (t & on) >> (1 << i), t & ~on & full  # the restrictions, read at points with x_i = 0
        keep &= (lo & ~hi == 0) & (lo != hi) & (lo != 0) & (hi != ~on & full)
    return Thresholds(t[keep], th.weights[keep], th.bias[keep])


def _enumerate_outputs(search, level, outs: Thresholds, nx, reps, hid) -> np.ndarray:
    """Add F(r, h_2, .., h_k) for every output F, representative r and thresholds h_2..h_k."""
    n, k = search.n, level
    full = (1 << 2**n) - 1
    width_x = 2**nx
    codes = np.arange(2**k)
    blocks = (outs.tables[:, None] >> (codes[None, :] * width_x)) & ((1 << width_x) - 1)  # (F, 2^k)
    if nx == 0:
        blocks = blocks * full  # a constant per hidden code, spread over all inputs
    found = []
    for r in reps:
        g = (blocks[:, 1::2] & r) | (blocks[:, 0::2] & ~r & full)  # unit 1 fixed to r
        for _ in range(k - 1):  # fold the next unit over every threshold h
            h = hid.reshape((1,) * (g.ndim - 1) + (-1, 1))
            g = (g[..., None, 1::2] & h) | (g[..., None, 0::2] & ~h & full)
        f = g[..., 0].reshape(-1)
        unseen = np.flatnonzero(search.width[f] < 0)
        if unseen.size == 0:
            continue
        which = np.unravel_index(unseen, g.shape[:-1])
        hidden = np.stack([np.full(unseen.size, r)] + [hid[i] for i in which[1:]], 1)
        wx = outs.weights[which[0]]
        out_v = wx[:, :nx] if nx else np.zeros((unseen.size, n), np.int64)
        found.append(search.add(level, f[unseen], hidden, wx[:, nx:], out_v, outs.bias[which[0]]))
    return np.concatenate(found) if found else np.zeros(0, np.int64)


@functools.lru_cache(maxsize=None)
def min_widths(n: int, shortcuts: bool = False, budget: float = 3e8) -> Widths:
    """The least width of every function of n <= 4 bits (see the module docstring).

    budget: the most candidate functions one level may enumerate; levels beyond it
    are searched by dominant units only (upper bounds, marked not proven).
    """
    if not 1 <= n <= MAX_EXACT_N:
        raise ValueError(f"minimal widths are computed for n = 1..{MAX_EXACT_N}, got n={n}")
    search = _Search(n)
    full = (1 << 2**n) - 1
    th = threshold_functions(n)
    hid = th.tables[(th.tables != 0) & (th.tables != full)]  # hidden units worth having
    reps = np.unique(npn_labels(n)[hid])
    if shortcuts:  # width 0: the output unit alone is any threshold function
        none = np.zeros((len(th.tables), 0), np.int64)
        seeds = (th.tables, none, none, th.weights, th.bias)
    else:
        seeds = (np.array([0, full]), np.zeros((2, 0), np.int64), np.zeros((2, 0), np.int64),
                 np.zeros((2, n), np.int64), np.array([-1, 0]))
    search.close(0, search.add(0, *seeds))
    exact = [True]
    nx = n if shortcuts else 0
    while (search.width < 0).any():
        k = len(exact)
        prev = np.flatnonzero(search.width == k - 1)
        hidden, w, v, b = (a[prev] for a in (search.hidden, search.out_w, search.out_v, search.out_b))
        big = 1 + np.abs(w).sum(1) + np.abs(v).sum(1) + np.abs(b)  # |output sum| < big
        hidden = hidden[:, :k].copy()
        w = np.concatenate([w[:, : k - 1], big[:, None]], 1)
        found = []
        for r in reps:  # r AND g: [L_g + big (r - 1) >= 0];  r OR g: [L_g + big r >= 0]
            hidden[:, k - 1] = r
            found.append(search.add(k, r & prev, hidden, w, v, b - big))
            found.append(search.add(k, r | prev, hidden, w, v, b))
        outs = _nondecomposable_outputs(nx, k)
        affordable = outs is not None and len(reps) * len(outs.tables) * len(hid) ** (k - 1) <= budget
        if affordable and len(outs.tables):
            found.append(_enumerate_outputs(search, k, outs, nx, reps, hid))
        exact.append(affordable)
        search.close(k, np.concatenate(found))
    K = int(search.width.max())
    proven = np.array([all(exact[:w]) for w in range(K + 1)])[search.width]
    return Widths(n, shortcuts, search.width, proven, search.hidden[:, :K], search.out_w[:, :K],
                  search.out_v, search.out_b, tuple(exact))


def witness_params(widths: Widths, functions=None, dtype=jnp.float32) -> Params:
    """Witness networks as nnlab params with a leading axis over ``functions`` (default all),
    laid out by ``nnlab.threshold.networks.network_params``. Use with
    ``forward(p, x, hidden="step", output="step")``."""
    fs = np.arange(len(widths.width)) if functions is None else np.asarray(functions, np.int64)
    out_v = widths.out_v[fs] if widths.shortcuts else None
    return network_params(widths.n, widths.hidden[fs], widths.out_w[fs], widths.out_b[fs], out_v, dtype)


def verify(widths: Widths, functions=None) -> np.ndarray:
    """(F,) bool: each witness network, run by ``nnlab.forward`` with step units on all
    2^n inputs, computes its function."""
    fs = np.arange(len(widths.width)) if functions is None else np.asarray(functions, np.int64)
    return network_functions(witness_params(widths, fs), widths.n) == fs
