"""Binary-tree compositional functions on [-1, 1]^d and the networks that follow the tree.

Mhaskar, Liao and Poggio (2017, "When and why are deep networks better than shallow
ones?", AAAI) and Poggio et al. (2017, "Why and when can deep-but-not-shallow networks
avoid the curse of dimensionality", IJAC): a function of d = 2^levels variables built
as a binary tree of functions of two variables, for d = 8

    f(x) = h_3(h_21(h_11(x_1, x_2), h_12(x_3, x_4)), h_22(h_13(x_5, x_6), h_14(x_7, x_8))),

is approximated to accuracy eps by a deep network whose connections follow the tree
with O((d - 1) eps^(-2/m)) units (each node a shallow net of 2 inputs), while a
shallow network needs O(eps^(-d/m)) units for the class of functions of d variables
of smoothness m.

The constituent family (fixed here): h_c(a, b) = sin(c_0 + c_1 a + c_2 b + c_3 a b),
with c_0 ~ U(-1, 1), |c_1|, |c_2| ~ U(1/2, 1) with random signs, c_3 ~ U(-1, 1) drawn
per node (``tree_coefficients``). Each node maps [-1, 1]^2 into [-1, 1], so every
level reads values in [-1, 1]; it is infinitely smooth and not additive (the a b
term), so no node is a ridge or a sum of functions of one variable.

The tree network (``tree_sizes``, ``tree_mask``): per node of the tree n relu units,
each reading the units of the node's two children (the inputs, at the first level), the
output reading the root's units: layers [d, (d/2) n, (d/4) n, ..., n, 1], connections
following the tree (a binary-tree, locally connected net without weight sharing). A
node's units see its children's units, so they can form any linear read-out of them:
the theorem's construction (each node a shallow net of n units in its two children's
values) is such a net with those read-outs folded into the weights. (With the read-outs
as separate linear units of one neuron per node, the parameters would be (d - 1)(4n + 1),
but SGD from nnlab's initial weights often left whole subtrees dead in such nets.)
Relu units (d - 1) n; parameters (d/2) 3n + (d/2 - 1) n (2n + 1) + n + 1, e.g.
6 n^2 + 16 n + 1 at d = 8.

Nodes are numbered level by level from the inputs: level 1 holds nodes 0 .. d/2 - 1
(node j reads x_{2j}, x_{2j+1}), level 2 the next d/4, ..., the root last; the units of
node j of a level are that layer's units j n .. j n + n - 1.
"""

from __future__ import annotations

import numpy as np


def _levels(d: int) -> int:
    if d < 2 or d & (d - 1):
        raise ValueError(f"d must be a power of two >= 2, got {d}")
    return d.bit_length() - 1


def tree_coefficients(rng: np.random.Generator, d: int = 8) -> np.ndarray:
    """(d - 1, 4) coefficients c of the d - 1 nodes, drawn as the module docstring says."""
    nodes = d - 1 if _levels(d) else 0
    signs = rng.choice([-1.0, 1.0], size=(nodes, 2))
    c0 = rng.uniform(-1, 1, nodes)
    c12 = signs * rng.uniform(0.5, 1, (nodes, 2))
    c3 = rng.uniform(-1, 1, nodes)
    return np.column_stack([c0, c12, c3])


def constituent(a, b, c) -> np.ndarray:
    """h_c(a, b) = sin(c_0 + c_1 a + c_2 b + c_3 a b); a, b broadcast, c (4,) or (..., 4)."""
    c = np.asarray(c, np.float64)
    return np.sin(c[..., 0] + c[..., 1] * a + c[..., 2] * b + c[..., 3] * a * b)


def tree_function(x, coefficients) -> np.ndarray:
    """The compositional target: x (N, d) -> (N,), float64, with the (d - 1, 4) coefficients."""
    v = np.asarray(x, np.float64)
    c = np.asarray(coefficients, np.float64)
    if v.ndim != 2 or c.shape != (v.shape[1] - 1, 4):
        raise ValueError(f"need x (N, d) and coefficients (d - 1, 4), got {v.shape} and {c.shape}")
    _levels(v.shape[1])
    node = 0
    while v.shape[1] > 1:
        half = v.shape[1] // 2
        v = constituent(v[:, 0::2], v[:, 1::2], c[node:node + half])
        node += half
    return v[:, 0]


def tree_sizes(d: int, n: int) -> list[int]:
    """Layer sizes of the tree network with n units per node: [d, (d/2) n, (d/4) n, ..., n, 1]."""
    return [d] + [(d >> level) * n for level in range(1, _levels(d) + 1)] + [1]


def tree_mask(d: int, n: int) -> list[dict]:
    """0/1 mask of the tree network's edges at ``tree_sizes(d, n)`` (float32, nnlab's params
    format): node j's units read the units (or inputs) of nodes 2j and 2j + 1 below, the
    output reads the root's units; every bias edge is kept."""
    sizes = tree_sizes(d, n)
    mask = []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        rows, cols = np.arange(a)[:, None], np.arange(b)[None, :]
        below = rows if l == 0 else rows // n  # the node (or input) each row belongs to
        W = np.ones((a, b), bool) if l == len(sizes) - 2 else below // 2 == cols // n
        mask.append({"W": W.astype(np.float32), "b": np.ones(b, np.float32)})
    return mask


def tree_units(d: int, n: int) -> int:
    """Hidden relu units of the tree network: (d - 1) n."""
    return (d - 1) * n


def tree_weights(d: int, n: int) -> int:
    """Edges of the tree network (biases included): (d/2) 3n + (d/2 - 1) n (2n + 1) + n + 1."""
    _levels(d)
    return d // 2 * 3 * n + (d // 2 - 1) * n * (2 * n + 1) + n + 1
