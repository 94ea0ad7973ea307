"""Exact linear pieces of a ReLU network of one real input, layer by layer.

A network ``params`` in nnlab's format (``[{"W": (fan_in, fan_out), "b":
(fan_out,)}, ...]``, first fan_in = 1) with relu (or identity) hidden layers and an
identity output computes a continuous piecewise-linear function of x. On an interval
[lo, hi] every neuron's input sum is such a function too. ``count_pieces`` tracks
them exactly instead of sampling: a sorted array of points ``x_0 = lo < ... <
x_{P-1} = hi`` such that every neuron of the layers seen so far is affine between
consecutive points, the values of the current layer at the points (P, n) and its
slopes on the segments (P-1, n). A layer maps values and slopes through ``W`` and
``b`` (both are affine maps of affine functions); relu then inserts the points
where some unit's input sum changes sign strictly inside a segment (by linear
interpolation, all units being affine there), zeroes the units that are off and
their slopes.

Two counts come back:

- ``regions``: the *activation regions*, maximal intervals of [lo, hi] on which
  the on/off pattern ``[z > 0]`` of every relu hidden unit is constant (the
  "linear regions" of Hanin and Rolnick 2019; isolated points ignored). The net
  is affine on each, so ``pieces <= regions``.
- ``pieces``: the *linear pieces of the output*, maximal intervals on which the
  output (all outputs together) is affine: the regions with adjacent ones merged
  where the output's slope does not change. E.g. ``relu(x) - relu(x)`` has 2
  regions on [-1, 1] and 1 piece.

``exact=True`` does the same arithmetic on ``fractions.Fraction`` (the weights'
float values converted exactly): no rounding anywhere, so both counts are exact
for the float weights given; slow, for small nets and for checking. In float64
(the default) rounding can only matter where two breakpoints nearly coincide or
a unit's input sum nearly touches zero; slopes are compared with a tolerance
``rtol`` relative to the slopes' magnitude (the slopes of the net with |W|). When
every quantity the algorithm forms is a dyadic rational representable in
float64 (e.g. ``nnlab.sawtooth.tent_network``: weights +-1, 2, 4, biases -1/2,
every point j / 2^k) float64 rounds nothing and equals the exact mode; the tests
check this against ``exact=True`` and against theory.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

HIDDEN = ("relu", "identity")


class Pieces(NamedTuple):
    """The piece structure of a one-input network on [lo, hi].

    Arrays hold Fractions (dtype object) when computed with ``exact=True``.
    """

    regions: int  # activation regions of the relu hidden units
    pieces: int  # linear pieces of the output (pieces <= regions)
    breakpoints: np.ndarray  # (pieces - 1,) sorted points in (lo, hi) where the output's slope changes
    points: np.ndarray  # (P,) all tracked points, lo ... hi; every unit is affine between neighbours
    values: np.ndarray  # (P, n_out) the output at the points
    slopes: np.ndarray  # (P - 1, n_out) the output's slope on each segment


def _numbers(a, exact: bool) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if not exact:
        return a
    out = np.empty(a.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(float(v)) for v in a.reshape(-1)]
    return out


def _hidden_names(n_layers: int, hidden) -> list[str]:
    names = [hidden] * (n_layers - 1) if isinstance(hidden, str) else list(hidden)
    if len(names) != n_layers - 1:
        raise ValueError(f"hidden lists {len(names)} activations for {n_layers - 1} hidden layers")
    for name in names:
        if name not in HIDDEN:
            raise ValueError(f"hidden activation {name!r} is not piecewise linear here; allowed: {', '.join(HIDDEN)}")
    return names


def _insert_zero_crossings(x, Z, T, A, region, exact):
    """Split every segment where a unit's input sum changes sign strictly inside it.

    x: (P,), Z: (P, m) input sums at the points, T, A: (P-1, m) their slopes and
    absolute slopes, region: (P-1,) activation region of each segment so far.
    """
    left, right = Z[:-1], Z[1:]
    seg, unit = np.nonzero(((left > 0) & (right < 0)) | ((left < 0) & (right > 0)))
    if seg.size == 0:
        return x, Z, T, A, region
    zl, zr = left[seg, unit], right[seg, unit]
    t = zl / (zl - zr)  # in (0, 1): where the unit's affine input sum is zero
    if exact:
        order = np.array(sorted(range(seg.size), key=lambda r: (seg[r], t[r])), dtype=np.intp)
    else:
        order = np.lexsort((t, seg))
    seg, unit, t = seg[order], unit[order], t[order]
    group = np.cumsum(np.concatenate([[True], (seg[1:] != seg[:-1]) | (t[1:] != t[:-1])])) - 1
    first = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))  # units crossing at one point
    x_new = x[seg[first]] + t[first] * (x[seg[first] + 1] - x[seg[first]])
    Z_new = Z[seg[first]] + t[first, None] * (Z[seg[first] + 1] - Z[seg[first]])  # all units affine there
    Z_new[group, unit] = 0  # exactly zero where they cross
    seg = seg[first]
    counts = np.bincount(seg, minlength=x.size - 1)
    shift = np.concatenate([[0], np.cumsum(counts)])  # new points before old point i
    P = x.size + seg.size
    old_pos = np.arange(x.size) + shift
    new_pos = seg + 1 + np.arange(seg.size)
    x2 = np.empty(P, dtype=x.dtype)
    Z2 = np.empty((P, Z.shape[1]), dtype=Z.dtype)
    x2[old_pos], x2[new_pos] = x, x_new
    Z2[old_pos], Z2[new_pos] = Z, Z_new
    rep = counts + 1  # each old segment becomes rep sub-segments with the same slopes
    return (x2, Z2, np.repeat(T, rep, axis=0), np.repeat(A, rep, axis=0),
            np.repeat(region, rep))


def _relabel(region, on, keep):
    """Activation region of each segment once the pattern ``on`` (S, m) of one more
    layer is known: numbered 0, 1, ... along the positive-length segments ``keep``;
    zero-length segments take the number of the last positive one before them."""
    idx = np.flatnonzero(keep)
    change = np.zeros(idx.size, dtype=np.int64)
    change[1:] = (region[idx[1:]] != region[idx[:-1]]) | np.any(on[idx[1:]] != on[idx[:-1]], axis=1)
    out = np.zeros(region.size, dtype=np.int64)
    out[idx] = np.cumsum(change)
    last = np.zeros(region.size, dtype=np.int64)
    last[idx] = idx
    return out[np.maximum.accumulate(last)]


def count_pieces(params, lo=0.0, hi=1.0, hidden="relu", exact: bool = False, rtol: float = 1e-12) -> Pieces:
    """Activation regions and output pieces of a one-input network on [lo, hi].

    params: nnlab params, ``W`` of the first layer of shape (1, n_1); hidden
      layers ``hidden`` (``"relu"`` or ``"identity"``, one name or one per hidden
      layer), output identity (any number of outputs).
    exact: compute in ``fractions.Fraction`` (exact; slow) instead of float64.
    rtol: float64 only: two adjacent slopes are equal when they differ by at
      most ``rtol`` times the sum of their absolute-weight slopes.
    """
    if len(params) < 1 or np.shape(params[0]["W"])[0] != 1:
        raise ValueError("count_pieces needs a network of one real input (first W of shape (1, n))")
    names = _hidden_names(len(params), hidden) + ["identity"]
    if not float(lo) < float(hi):
        raise ValueError(f"need lo < hi, got [{lo}, {hi}]")
    x = _numbers([lo, hi], exact)
    V = x[:, None].copy()  # (P, 1) the input at the points
    S = _numbers([[1.0]], exact)  # (P-1, 1) its slope
    A = np.ones((1, 1))  # slopes of the same net with |W| (float64): the rounding scale
    region = np.zeros(1, dtype=np.int64)
    for layer, name in zip(params, names):
        W, b = _numbers(layer["W"], exact), _numbers(layer["b"], exact)
        if W.ndim != 2 or W.shape[0] != V.shape[1] or b.shape != (W.shape[1],):
            raise ValueError(f"layer shapes W {W.shape}, b {b.shape} do not follow a layer of width {V.shape[1]}")
        Z, T = V @ W + b[None, :], S @ W
        A = A @ np.abs(np.asarray(layer["W"], dtype=np.float64))
        if name == "relu":
            x, Z, T, A, region = _insert_zero_crossings(x, Z, T, A, region, exact)
            on = (Z[:-1] + Z[1:]) > 0  # no sign change inside a segment: its sign is the ends' sign
            V = np.where(Z > 0, Z, Z * 0)
            S, A = np.where(on, T, T * 0), np.where(on, A, 0.0)
            region = _relabel(region, on, x[1:] > x[:-1])
        else:
            V, S = Z, T
    keep = x[1:] > x[:-1]  # drop zero-length segments (float rounding can put two points at one x)
    slo, scale, starts = S[keep], A[keep], x[:-1][keep]
    regions = 1 + int(region[keep].max())
    if exact:
        change = np.any(slo[1:] != slo[:-1], axis=1)
    else:
        diff = np.abs(slo[1:] - slo[:-1])
        change = np.any(diff > rtol * (scale[1:] + scale[:-1]), axis=1)
    breakpoints = starts[1:][change]
    return Pieces(regions, 1 + int(np.count_nonzero(change)), breakpoints, x, V, S)
