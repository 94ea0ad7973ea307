"""n-bit parity with floor(n/2) + 1 sigmoid hidden units: Setiono's bound, built.

R. Setiono (Neurocomputing 16(3), 1997) showed that one hidden layer of floor(n/2) + 1
sigmoid units, with sigmoid output and no input-to-output edges, computes n-bit parity
(against n threshold units, the least number of step units for n <= 5, proven by
``nnlab.threshold``); a later abstract notes
that such a net follows from a system of linear equations. The paper's own weights are
not reproduced here (its text was not at hand): this module builds a witness of the
same width by its own construction, below, and checks it on every input.

Construction (``setiono_parity``). Let m = n if n is odd, m = n + 1 if n is even (an
n-bit net is the m-bit net with its last input left out: parity of n bits is parity of
m bits with x_m = 0), and k = (m + 1) / 2 = floor(n/2) + 1. Every hidden unit reads the
sum s = x_1 + ... + x_n with weight a_j on every input:

    h_j = sigmoid(a_j (s - m/2)),   a_j = SLOPE * j / m,   j = 1..k  (distinct slopes),
    out = sigmoid(sum_j v_j h_j - sum_j v_j / 2) = sigmoid(sum_j v_j (h_j - 1/2)).

Proof sketch. Write u = s - m/2 in {-m/2, ..., -1/2, 1/2, ..., m/2} (for even n the
last value is not reached) and
z(u) = sum_j v_j (sigmoid(a_j u) - 1/2) = sum_j v_j tanh(a_j u / 2) / 2, an odd function
of u. Parity is odd under the same reflection: s -> m - s flips it because m is odd. So
if z(u_i) = T t_i, with t_i = +1 where s = m/2 + u_i is odd and -1 where even, at the k
points u_i = i - 1/2 (i = 1..k), it holds at all 2k = m + 1 sums by symmetry, and the
output is sigmoid(+-T): read at 1/2 it is parity, with margin min |out - 1/2| =
sigmoid(T) - 1/2 at every input (``MARGIN`` = 0.4: T = ln 9, outputs 0.9 and 0.1).
Those k conditions are the square linear system M v = T t, M_ij = tanh(a_j u_i / 2) / 2,
for the k output weights. M is nonsingular: expand tanh(x) = sum_p c_p x^(2p+1) (every
c_p != 0); by Cauchy-Binet, det M as a function of the common scale SLOPE = c is
real-analytic with lowest term c^(k^2) c_0...c_(k-1) det[a'_j^(2l+1)] det[u_i^(2l+1)]
(a'_j = j / m), a nonzero multiple of two Vandermonde determinants in distinct
positive a'_j^2 and u_i^2. So det M != 0 for all small c and all but isolated c; for the
chosen c = pi the solve is checked (``condition`` reports cond(M), ~6e3 at n = 8). A sum
of k sigmoids with one common slope a is rational in t = exp(-a s) with a numerator of
degree <= k, so it changes sign at most k times, and parity needs n changes on
s = 0..n: the distinct slopes are what make k = floor(n/2) + 1 units enough.

Measured by ``check`` (``nnlab.forward`` on all 2^n inputs): in float64 every input is
right for n = 1..20, with min |out - 1/2| = 0.4 - 1.1e-13 at n = 8, 0.4 - 8.5e-12 at
n = 12 and 0.4 - 2.8e-7 at n = 20; in float32 for n <= 15 (0.3999 at n = 8, 0.395 at
n = 12), not from n = 16 on. The output weights grow about 3.4x per bit: max |v| = 9.7e3
at n = 8, 3.9e5 at n = 12, 6.1e9 at n = 20.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from .mlp import forward

SLOPE = np.pi  # a_j = SLOPE * j / m
PAD_N = 12  # check: nets of n <= PAD_N bits run padded to one shape
MARGIN = 0.4  # the exact min |output - 1/2| over all inputs: outputs 0.9 (odd) and 0.1 (even)


def setiono_width(n: int) -> int:
    """Setiono's number of sigmoid hidden units for n-bit parity: floor(n/2) + 1."""
    return n // 2 + 1


def _system(n: int, slope: float, margin: float):
    m = n if n % 2 else n + 1
    k = (m + 1) // 2
    a = slope * np.arange(1, k + 1) / m
    u = np.arange(k) + 0.5
    s = m / 2 + u  # the sums s = (m+1)/2 .. m
    T = np.log((0.5 + margin) / (0.5 - margin))  # sigmoid(T) = 1/2 + margin
    t = T * np.where(s.astype(np.int64) % 2 == 1, 1.0, -1.0)
    M = np.tanh(np.outer(u, a) / 2) / 2
    return m, a, M, t


def setiono_parity(n: int, margin: float = MARGIN, slope: float = SLOPE) -> list[dict]:
    """Params [n, k, 1], k = floor(n/2) + 1, of a net with ``sigmoid`` hidden and output units
    computing n-bit parity, read at 1/2, with min |output - 1/2| = ``margin`` in exact arithmetic
    (module docstring). -> numpy float64 arrays: W1 (n, k) = a_j in every row, b1 = -a_j m / 2,
    W2 (k, 1) = v, b2 = -sum(v) / 2. Use with ``forward(params, x, "sigmoid", "sigmoid")``."""
    if n < 1:
        raise ValueError(f"n={n}: parity needs n >= 1")
    if not 0 < margin < 0.5:
        raise ValueError(f"margin={margin}: allowed 0 < margin < 1/2")
    m, a, M, t = _system(n, slope, margin)
    v = np.linalg.solve(M, t)
    return [{"W": np.tile(a, (n, 1)), "b": -a * m / 2},
            {"W": v[:, None], "b": np.array([-v.sum() / 2])}]


def condition(n: int, slope: float = SLOPE) -> float:
    """cond(M) of the k x k system the output weights solve (module docstring)."""
    return float(np.linalg.cond(_system(n, slope, MARGIN)[2]))


def check(params: list[dict], n: int, dtype=np.float64) -> tuple[bool, float]:
    """Run the net by ``nnlab.forward`` (sigmoid hidden and output units, compiled) on all 2^n
    inputs in ``dtype`` (float64 switched on for the call) and read it at 1/2 as boolean_width
    reads nets. -> (parity on every input, min |output - 1/2| over the inputs).

    For n <= PAD_N the net is padded to one shape, [PAD_N, PAD_N // 2 + 1, 1] on 2^PAD_N rows
    (inputs beyond n weigh 0, padded units have output weight 0 and add exactly 0; row r
    holds input r mod 2^n), so every n of a run shares one compiled program per dtype."""
    k = params[0]["W"].shape[1]
    rows, cols, units = (2**PAD_N, PAD_N, setiono_width(PAD_N)) if n <= PAD_N else (2**n, n, k)
    r = np.arange(rows)
    x = (((r % 2**n)[:, None] >> np.arange(cols)[None, :]) & 1) * (np.arange(cols) < n)
    W1, b1 = np.zeros((cols, units)), np.zeros(units)
    W2 = np.zeros((units, 1))
    W1[:n, :k], b1[:k], W2[:k] = params[0]["W"], params[0]["b"], params[1]["W"]
    padded = [{"W": W1, "b": b1}, {"W": W2, "b": np.asarray(params[1]["b"], np.float64)}]
    with jax.enable_x64(np.dtype(dtype) == np.float64):
        p = [{key: np.asarray(v, dtype) for key, v in layer.items()} for layer in padded]
        out = np.asarray(_forward(p, x.astype(dtype)), np.float64)[:, 0]
    parity = x.sum(axis=1) % 2 == 1
    return bool(np.all((out >= 0.5) == parity)), float(np.min(np.abs(out - 0.5)))


_forward = jax.jit(functools.partial(forward, hidden="sigmoid", output="sigmoid"))
