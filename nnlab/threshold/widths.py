"""The least width of every NPN class of n <= 5 bits, with bounds where it is not decided.

``class_widths`` runs the stages in turn on a class table (all classes, or a shard from
``npn_classes(n, shard, shards)``: every step is per class):

1. ``width2.width_at_most_two``: width 0, 1, 2 exactly, else >= 3;
2. ``width3.width_three`` on the classes of width >= 3: exactly 3, else >= 4;
3. ``width4.width_four`` on those of width >= 4: exactly 4, else >= 5;
4. the rest: lower bound 5, raised by the bichromatic-edge bound (``bounds``), and the
   upper bound with a witness from label changes along a direction (``bounds``).

Each class gets ``lower <= width <= upper`` (equal where decided) and a witness network of
width ``upper``; every witness is run through ``nnlab.forward`` on all 2^n inputs. For
n = 5 every class is decided: 577,671 classes of width 3, 24,666 of width 4, and parity
(one class of 2 functions) of width 5.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..npn_classes import NPNClasses, npn_classes
from .bounds import direction_bounds, direction_witnesses, directions, edge_lower_bound
from .networks import network_functions, network_params
from .width2 import width_at_most_two
from .width3 import KINDS3, width_three
from .width4 import width_four

# how a class's witness was found
HOW = ("constant", "threshold", "and2") + KINDS3 + ("width4", "direction")


class ClassWidths(NamedTuple):
    """Bounds lower <= width <= upper of every class of ``classes`` (equal where decided), and
    a witness network of width ``upper``: f = [out_w . h + out_b >= 0], hidden units by
    truth table (-1: none); how[i] indexes ``HOW``."""

    classes: NPNClasses
    lower: np.ndarray  # (C,) int64
    upper: np.ndarray  # (C,) int64
    hidden: np.ndarray  # (C, K) int64, K = max(upper)
    out_w: np.ndarray  # (C, K) int64
    out_b: np.ndarray  # (C,) int64
    how: np.ndarray  # (C,) int64


def class_widths(n: int, classes: NPNClasses | None = None, M: int = 3, progress=None) -> ClassWidths:
    """The stages of the module docstring for every class of ``classes`` (default
    ``npn_classes(n)``). M: the range of the directions tried for classes of width >= 5.
    progress: called with a count of classes as each is done in stages 2 and 3."""
    classes = npn_classes(n) if classes is None else classes
    C = len(classes.rep)
    w2 = width_at_most_two(n, classes)
    lower, upper = w2.width.copy(), np.where(w2.width <= 2, w2.width, 2**n + 1)
    how = np.where(w2.width <= 2, np.minimum(w2.width, 2), -1)
    parts = [(np.flatnonzero(w2.width <= 2), w2.hidden[w2.width <= 2], w2.out_w[w2.width <= 2], w2.out_b[w2.width <= 2])]

    w3 = width_three(n, classes, np.flatnonzero(w2.width == 3), progress)
    rows = w3.rows[w3.three]
    upper[rows], how[rows] = 3, 3 + w3.kind[w3.three]
    parts.append((rows, w3.hidden[w3.three], w3.out_w[w3.three], w3.out_b[w3.three]))
    lower[w3.rows[~w3.three]] = 4

    w4 = width_four(n, classes, w3.rows[~w3.three], progress)
    rows = w4.rows[w4.four]
    upper[rows], how[rows] = 4, HOW.index("width4")
    parts.append((rows, w4.hidden[w4.four], w4.out_w[w4.four], w4.out_b[w4.four]))

    rest = w4.rows[~w4.four]
    lower[rest] = np.maximum(5, edge_lower_bound(classes.rep[rest], n))
    if rest.size:
        dirs = directions(n, M)
        c, arg = direction_bounds(n, classes.rep[rest], dirs=dirs)
        hidden, out_w, out_b = direction_witnesses(n, classes.rep[rest], dirs, arg)
        upper[rest], how[rest] = c, HOW.index("direction")
        parts.append((rest, hidden, out_w, out_b))

    K = int(upper.max(initial=0))
    hidden, out_w, out_b = np.full((C, K), -1, np.int64), np.zeros((C, K), np.int64), np.zeros(C, np.int64)
    for r, h, w, b in parts:  # a witness of width <= K: its columns past K are unused
        k = min(K, h.shape[1])
        hidden[r, :k], out_w[r, :k], out_b[r] = h[:, :k], w[:, :k], b
    if not np.array_equal(witness_functions(n, hidden, out_w, out_b), classes.rep):
        raise RuntimeError("a witness network does not compute its class representative")
    if (lower > upper).any():
        raise RuntimeError("a lower bound exceeds an upper bound")
    return ClassWidths(classes, lower, upper, hidden, out_w, out_b, how)


def witness_functions(n: int, hidden, out_w, out_b, chunk: int = 1 << 16) -> np.ndarray:
    """The table each witness network computes, run by ``nnlab.forward`` with step units
    (``network_functions``) in chunks. -> (C,) int64."""
    hidden, out_w, out_b = (np.asarray(a, np.int64) for a in (hidden, out_w, out_b))
    out = np.zeros(len(hidden), np.int64)
    for lo in range(0, len(hidden), chunk):
        params = network_params(n, hidden[lo : lo + chunk], out_w[lo : lo + chunk], out_b[lo : lo + chunk])
        out[lo : lo + chunk] = network_functions(params, n)
    return out


def width_table(w: ClassWidths) -> dict[tuple[int, int], tuple[int, int]]:
    """{(lower, upper): (functions, classes)}, summed over the classes."""
    table: dict[tuple[int, int], tuple[int, int]] = {}
    for lo, up, size in zip(w.lower.tolist(), w.upper.tolist(), w.classes.size.tolist()):
        f, c = table.get((lo, up), (0, 0))
        table[lo, up] = (f + size, c + 1)
    return dict(sorted(table.items()))
