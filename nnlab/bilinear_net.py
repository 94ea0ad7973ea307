"""Bilinear algorithms (``nnlab.bilinear``) as layered nets of multiplication gates.

Every product m_t = x_t y_t of an algorithm is one 4-neuron gate of Lin, Tegmark &
Rolnick (2017) (``nnlab.multiply``): neurons 4t .. 4t+3 with activation f
(sigmoid or tanh), bias b (the operating point) and input sums

    b + l (x_t + y_t),  b - l (x_t + y_t),  b + l (x_t - y_t),  b - l (x_t - y_t)

and m_t = g (h_0 + h_1 - h_2 - h_3), g = 1 / (4 f''(b) l^2): error
C l^2 x y (x^2 + y^2) + O(l^4), C = ``multiply.gate_error_coefficient``.
Input of every net: concat(vec A, vec B), (batch, 2 n^2); output vec C, (batch, n^2).

* ``flat_network(alg)``: [2n^2, 4r, n^2]. The factors' linear forms U_t, V_t are
  folded into the gate neurons' weights, the recombination W into the output
  weights. One hidden layer.
* ``deep_network(levels)``: the recursion of ``bilinear.compose(*levels)``, k levels:
  k identity layers forming the sums (level j splits each of the R_{j-1} pairs of
  matrices into blocks and forms the r_j pairs of block sums), the gate layer on
  the R_k scalar pairs, an identity layer of the R_k products, and k identity
  layers recombining (level j puts together each matrix of level j-1 from its
  r_j block products; the last is the output). Hidden layers ["identity"] * k +
  [f, "identity"] + ["identity"] * (k - 1). Its only nonlinear layer is the gate
  layer: every product of a bilinear algorithm is a product of two linear forms,
  so the depth is linear depth, and ``merge_identity`` multiplies it out into
  exactly ``flat_network(compose(*levels))``: the same 4 R_k gate neurons, a
  different number of edges (``bilinear.deep_counts`` vs ``flat_counts``).

Networks are kept sparse (``BilinearNet``: edge lists per layer); ``params()``
gives nnlab's dense params for ``nnlab.forward``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from . import multiply as MU
from .activations import series
from .bilinear import Bilinear, compose, factors
from .mlp import forward

_SX, _SY, _SOUT = np.array([1, -1, 1, -1]), np.array([1, -1, -1, 1]), np.array([1, 1, -1, -1])


class Layer(NamedTuple):
    """Edges into one layer of neurons: weight ``vals[e]`` from neuron ``rows[e]`` of the previous
    layer to neuron ``cols[e]``; ``b``: (fan_out,) bias weights."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    b: np.ndarray
    fan_in: int

    def dense(self) -> dict:
        """``{"W": (fan_in, fan_out), "b": (fan_out,)}``, float64."""
        W = np.zeros((self.fan_in, self.b.size))
        np.add.at(W, (self.rows, self.cols), self.vals)
        return {"W": W, "b": self.b.copy()}


class BilinearNet(NamedTuple):
    """A layered net multiplying n x n matrices; ``activations``: one name per layer after the input."""

    layers: list
    activations: list
    n: int
    form: str

    @property
    def sizes(self) -> tuple:
        return (self.layers[0].fan_in,) + tuple(layer.b.size for layer in self.layers)

    @property
    def hidden(self) -> list:
        return list(self.activations[:-1])

    @property
    def output(self) -> str:
        return self.activations[-1]

    def params(self) -> list:
        """nnlab params: ``[{"W": (fan_in, fan_out), "b": (fan_out,)}]``, float64."""
        return [layer.dense() for layer in self.layers]

    def counts(self) -> dict:
        """Exact counts: gate (nonlinear) and all hidden neurons, nonzero weights incl. bias
        edges, weight layers (depth) and nonlinear layers."""
        hidden = self.sizes[1:-1]
        nonlinear = [s for s, a in zip(hidden, self.activations) if a != "identity"]
        weights = sum(int(np.count_nonzero(L.vals)) + int(np.count_nonzero(L.b)) for L in self.layers)
        return dict(gate_neurons=int(sum(nonlinear)), hidden_neurons=int(sum(hidden)), weights=weights,
                    weight_layers=len(self.layers), nonlinear_layers=len(nonlinear))


def _gate_constants(lam: float, activation: str, bias: float | None) -> tuple[float, float]:
    bias = MU.best_bias(activation) if bias is None else float(bias)
    f2 = float(MU.derivatives(activation, bias)[2])
    if f2 == 0:
        raise ValueError(f"f''(b) = 0 for {activation} at b={bias}: the gate cannot multiply there")
    return bias, 1.0 / (4 * f2 * lam**2)


def _gate_layer(fx: tuple, fy: tuple, r: int, fan_in: int, lam: float, bias: float) -> Layer:
    """Gate neurons of r products whose factors are the sparse linear forms fx, fy:
    (rows, product index, value) triples over the previous layer."""
    rows, cols, vals = [], [], []
    for (src, t, v), s in ((fx, _SX), (fy, _SY)):
        rows.append(np.repeat(src, 4))
        cols.append((4 * np.asarray(t)[:, None] + np.arange(4)).ravel())
        vals.append((lam * np.asarray(v, np.float64)[:, None] * s).ravel())
    return Layer(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.full(4 * r, bias), fan_in)


def _sparse(T: np.ndarray) -> tuple:
    """(rows, cols, values) of the nonzero entries of a 2-d array."""
    i, j = np.nonzero(T)
    return i, j, T[i, j]


def flat_network(alg: Bilinear, lam: float, activation: str = "sigmoid", bias: float | None = None) -> BilinearNet:
    """One hidden layer of 4r gate neurons: [2 n^2, 4 r, n^2], hidden ``activation``, identity output."""
    bias, gain = _gate_constants(lam, activation, bias)
    n2, r = alg.n**2, alg.rank
    u_t, u_i, u_v = _sparse(alg.U)
    v_t, v_i, v_v = _sparse(alg.V)
    gates = _gate_layer((u_i, u_t, u_v), (v_i + n2, v_t, v_v), r, 2 * n2, lam, bias)
    w_t, w_c, w_v = _sparse(alg.W)
    out = Layer((4 * w_t[:, None] + np.arange(4)).ravel(), np.repeat(w_c, 4),
                (gain * w_v[:, None] * _SOUT).ravel(), np.zeros(n2), 4 * r)
    return BilinearNet([gates, out], [activation, "identity"], alg.n, f"flat {alg.name}")


def _block_map(T: np.ndarray, p: int, q: int, R: int, src_off: int, dst_off: int) -> tuple:
    """Edges from R matrices of size m = p q (entries R m^2 + vec) to the R r block sums
    sum_ab T[s, (a, b)] X[block (a, b)], each q x q (entries (R r + s) q^2 + vec)."""
    r, m = T.shape[0], p * q
    s, a, b = np.nonzero(T.reshape(r, p, p))
    v = T.reshape(r, p, p)[s, a, b]
    Ri, i, j = np.arange(R)[:, None, None, None], np.arange(q)[None, None, :, None], np.arange(q)[None, None, None, :]
    a, b, s, v = (z[None, :, None, None] for z in (a, b, s, v))
    src = Ri * m * m + (a * q + i) * m + b * q + j + src_off
    dst = (Ri * r + s) * q * q + i * q + j + dst_off
    shape = np.broadcast_shapes(src.shape, dst.shape)
    return (np.broadcast_to(src, shape).ravel(), np.broadcast_to(dst, shape).ravel(),
            np.broadcast_to(v, shape).astype(np.float64).ravel())


def deep_network(levels: list, lam: float, activation: str = "sigmoid", bias: float | None = None) -> BilinearNet:
    """The recursion of ``compose(*levels)`` layer by layer (see the module docstring).

    levels: k >= 1 algorithms (outermost first), e.g. ``[strassen(1)] * k`` for n = 2^k.
    Sizes: [2 n^2, 2 R_1 m_1^2, ..., 2 R_k, 4 R_k, R_k, R_{k-1} m_{k-1}^2, ..., n^2].
    """
    if not levels:
        raise ValueError("deep_network needs at least one level")
    bias, gain = _gate_constants(lam, activation, bias)
    k = len(levels)
    R = np.cumprod([1] + [a.rank for a in levels]).tolist()
    m = [int(np.prod([a.n for a in levels[j:]])) for j in range(k + 1)]
    layers = []
    for j in range(1, k + 1):  # sums: level j-1 pairs -> level j pairs
        P, half_in, half_out = levels[j - 1], R[j - 1] * m[j - 1] ** 2, R[j] * m[j] ** 2
        ea = _block_map(P.U, P.n, m[j], R[j - 1], 0, 0)
        eb = _block_map(P.V, P.n, m[j], R[j - 1], half_in, half_out)
        layers.append(Layer(*(np.concatenate(z) for z in zip(ea, eb)), np.zeros(2 * half_out), 2 * half_in))
    t = np.arange(R[k])
    layers.append(_gate_layer((t, t, np.ones(R[k])), (t + R[k], t, np.ones(R[k])), R[k], 2 * R[k], lam, bias))
    layers.append(Layer(np.arange(4 * R[k]), np.repeat(t, 4), np.tile(gain * _SOUT, R[k]).astype(np.float64),
                        np.zeros(R[k]), 4 * R[k]))
    for j in range(k, 0, -1):  # recombine: level j products -> level j-1 matrices
        P = levels[j - 1]
        dst, src, v = _block_map(P.W, P.n, m[j], R[j - 1], 0, 0)
        layers.append(Layer(src, dst, v, np.zeros(R[j - 1] * m[j - 1] ** 2), R[j] * m[j] ** 2))
    acts = ["identity"] * k + [activation] + ["identity"] * k + ["identity"]
    return BilinearNet(layers, acts, m[0], f"deep {compose(*levels).name}")


def merge_identity(net: BilinearNet) -> BilinearNet:
    """Multiply every hidden identity layer into the layer after it (``W_l W_{l+1}``,
    ``b_l W_{l+1} + b_{l+1}``): the same function with only the nonlinear hidden layers left.
    Dense arithmetic: for nets of moderate size (n <= 8)."""
    dense, acts = [net.layers[0].dense()], [net.activations[0]]
    for layer, act in zip(net.layers[1:], net.activations[1:]):
        nxt = layer.dense()
        if acts[-1] == "identity":
            prev = dense.pop()
            acts.pop()
            nxt = {"W": prev["W"] @ nxt["W"], "b": prev["b"] @ nxt["W"] + nxt["b"]}
        dense.append(nxt)
        acts.append(act)
    layers = [Layer(*_sparse(d["W"]), d["b"], d["W"].shape[0]) for d in dense]
    return BilinearNet(layers, acts, net.n, f"merged {net.form}")


def sparse_forward(net: BilinearNet, x: np.ndarray) -> np.ndarray:
    """The net's output in float64 numpy over the edge lists: x (batch, 2 n^2) -> (batch, n^2)."""
    out = np.asarray(x, np.float64)
    for layer, act in zip(net.layers, net.activations):
        z = np.tile(layer.b, (out.shape[0], 1))
        np.add.at(z, (slice(None), layer.cols), out[:, layer.rows] * layer.vals[None, :])
        out = series(act, z)[0]
    return out


def evaluate(net: BilinearNet, A: np.ndarray, B: np.ndarray, backend: str = "nnlab") -> np.ndarray:
    """C computed by the net: A, B (batch, n, n) -> (batch, n, n), float64.

    backend "nnlab": ``nnlab.forward`` on the dense params (float64 switched on for the
    call); "numpy": ``sparse_forward`` (for nets too big to hold dense).
    """
    batch = np.shape(A)[0]
    x = np.concatenate([np.reshape(A, (batch, -1)), np.reshape(B, (batch, -1))], axis=1).astype(np.float64)
    if backend == "numpy":
        out = sparse_forward(net, x)
    elif backend == "nnlab":
        with jax.enable_x64(True):
            out = np.asarray(forward(net.params(), x, hidden=net.hidden, output=net.output), np.float64)
    else:
        raise ValueError(f"backend {backend!r} is unknown; allowed: nnlab, numpy")
    return out.reshape(np.shape(A))


def predicted_error(alg: Bilinear, A: np.ndarray, B: np.ndarray, lam: float, activation: str = "sigmoid",
                    bias: float | None = None) -> np.ndarray:
    """Leading term of (net output - A @ B), (batch, n, n): sum_t W_t C l^2 x_t y_t (x_t^2 + y_t^2)
    with x_t = U_t . vec A, y_t = V_t . vec B (the same for the flat and the deep net)."""
    bias = MU.best_bias(activation) if bias is None else float(bias)
    C = MU.gate_error_coefficient(activation, bias)
    x, y = factors(alg, A, B)
    return (C * lam**2 * x * y * (x**2 + y**2) @ alg.W).reshape(np.shape(A))


def error_exponent(lams, errors) -> float:
    """Slope of log(error) against log(lambda), least squares."""
    return float(np.polyfit(np.log(np.asarray(lams, float)), np.log(np.asarray(errors, float)), 1)[0])
