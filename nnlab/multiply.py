"""Multiplication with smooth neurons (Lin, Tegmark & Rolnick 2017), as nnlab params.

The gate: four neurons with a smooth activation f, operating point b (their
bias) and input scale lambda compute

    m(x, y) = [f(b + l(x+y)) + f(b - l(x+y)) - f(b + l(x-y)) - f(b - l(x-y))] / (4 f''(b) l^2)

(l = lambda). Taylor-expanding f about b, the odd orders cancel between the
+- pairs and the even orders give ``m = xy + l^2 C xy (x^2 + y^2) + O(l^4)``
with ``C = f''''(b) / (6 f''(b))``: the error shrinks as l^2. The gate needs
f''(b) != 0. The logistic and tanh have f''(0) = 0, so the gate runs at a bias
offset b; by default the b that maximises |f''(b)| (logistic: ln(2 + sqrt 3),
where C = -1/6; tanh: artanh(1/sqrt 3)).

A product of n inputs is a binary tree of gates, ceil(log2 n) hidden layers of
about 4n neurons in all; a value without a partner at some level is carried up
by one neuron at b = 0 in its linear regime (``f(l x) ~ f(0) + f'(0) l x``, error
O(l^2) since f''(0) = 0 for both). Each gate's output is linear in its hidden
neurons, so it folds into the next layer's weights: the tree is a plain
layered net [n, h_1, ..., h_D, 1] with activation f in every hidden layer and an
identity output. Lin et al. prove a single hidden layer needs 2^n neurons
to multiply n inputs (in the limit of small inputs).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import series

GATE_ACTIVATIONS = ("sigmoid", "tanh")


def derivatives(activation: str, z) -> tuple:
    """(f, f', f'', f''', f'''') of a gate activation at z (``nnlab.activations.series``)."""
    if activation not in GATE_ACTIVATIONS:
        raise ValueError(f"gate activation {activation!r} is unknown; allowed: {', '.join(GATE_ACTIVATIONS)}")
    return series(activation, z)


def best_bias(activation: str) -> float:
    """The operating point b > 0 that maximises |f''(b)|."""
    if activation == "sigmoid":
        return float(np.log(2 + np.sqrt(3)))
    if activation == "tanh":
        return float(np.arctanh(1 / np.sqrt(3)))
    raise ValueError(f"gate activation {activation!r} is unknown; allowed: {', '.join(GATE_ACTIVATIONS)}")


def gate_error_coefficient(activation: str, bias: float) -> float:
    """C in ``m(x, y) - xy = C l^2 xy (x^2 + y^2) + O(l^4)``: f''''(b) / (6 f''(b))."""
    d = derivatives(activation, bias)
    if d[2] == 0:
        raise ValueError(f"f''(b) = 0 for {activation} at b={bias}: the gate cannot multiply there")
    return float(d[4] / (6 * d[2]))


class ProductNet(NamedTuple):
    """A layered net computing (approximately) the product of its n inputs."""

    params: list  # [{"W": (fan_in, fan_out), "b": (fan_out,)}], float64
    sizes: tuple  # (n, h_1, ..., h_D, 1)
    hidden: str  # activation of every hidden layer
    output: str  # "identity"

    @property
    def neurons(self) -> int:
        """Hidden neurons (input, output and bias neurons not counted)."""
        return int(sum(self.sizes[1:-1]))


def product_tree(n: int, lam: float, activation: str = "sigmoid", bias: float | None = None,
                 carry_lam: float | None = None) -> ProductNet:
    """Binary tree of multiplication gates computing x_1 x_2 ... x_n.

    lam: input scale of every gate (error O(lam^2) per gate for inputs in [-1, 1]).
    bias: the gates' operating point (default ``best_bias(activation)``).
    carry_lam: input scale of the neurons carrying an unpaired value (default lam).
    n = 2 gives the 4-neuron gate [2, 4, 1].
    """
    if n < 2:
        raise ValueError(f"a product tree needs n >= 2 inputs, got {n}")
    bias = best_bias(activation) if bias is None else float(bias)
    carry_lam = lam if carry_lam is None else carry_lam
    _, _, f2, _, _ = derivatives(activation, bias)
    f0, f1_0 = (float(v) for v in derivatives(activation, 0.0)[:2])
    if f2 == 0:
        raise ValueError(f"f''(b) = 0 for {activation} at b={bias}: the gate cannot multiply there")
    gain = 1.0 / (4 * float(f2) * lam**2)

    # Current values = h_prev @ R + c (at the input layer: the inputs themselves).
    R, c = np.eye(n), np.zeros(n)
    params, sizes = [], [n]
    v = n
    while v > 1:
        pairs, carry = divmod(v, 2)
        h = 4 * pairs + carry
        A, a = np.zeros((v, h)), np.zeros(h)  # values -> input sums of this layer
        R_next, c_next = np.zeros((h, pairs + carry)), np.zeros(pairs + carry)
        for p in range(pairs):
            k = slice(4 * p, 4 * p + 4)
            A[2 * p, k] = lam * np.array([1, -1, 1, -1])
            A[2 * p + 1, k] = lam * np.array([1, -1, -1, 1])
            a[k] = bias
            R_next[k, p] = gain * np.array([1, 1, -1, -1])
        if carry:
            A[v - 1, h - 1] = carry_lam
            R_next[h - 1, pairs] = 1.0 / (f1_0 * carry_lam)
            c_next[pairs] = -f0 / (f1_0 * carry_lam)
        params.append({"W": R @ A, "b": c @ A + a})
        sizes.append(h)
        R, c, v = R_next, c_next, pairs + carry
    params.append({"W": R, "b": c})
    sizes.append(1)
    return ProductNet(params, tuple(sizes), activation, "identity")


def gate(lam: float, activation: str = "sigmoid", bias: float | None = None) -> ProductNet:
    """The 4-neuron multiplication gate [2, 4, 1]."""
    return product_tree(2, lam, activation, bias)


def tree_neurons(n: int) -> int:
    """Hidden neurons of ``product_tree(n)``: 4 per gate (n - 1 gates) plus one per carried value."""
    total, v = 0, n
    while v > 1:
        pairs, carry = divmod(v, 2)
        total += 4 * pairs + carry
        v = pairs + carry
    return total


def shallow_neurons_bound(n: int) -> int:
    """Lin, Tegmark & Rolnick's lower bound for one hidden layer multiplying n inputs: 2^n."""
    return 2**n


def tree_carries(n: int) -> int:
    """Carry neurons of ``product_tree(n)``: one at every layer with an odd number of values,
    c(n) = sum over layers of (v_l mod 2), v_0 = n, v_{l+1} = ceil(v_l / 2).

    The greedy pairing is the fewest carries of any strictly layered tree of 2-input gates and
    carries: a layer with v values, p gates and v - 2p carries passes on v - p values, so
    carries = sum_l v_l - 2 (n - 1) (the n - 1 gates are fixed). Greedy has v_l = g_l, the least
    possible at every layer (v_{l+1} >= ceil(v_l / 2), monotone), and the fewest layers, so it
    minimises sum_l v_l. ``tree_neurons(n) = 4 (n - 1) + tree_carries(n)``."""
    total, v = 0, n
    while v > 1:
        total += v % 2
        v = (v + 1) // 2
    return total
