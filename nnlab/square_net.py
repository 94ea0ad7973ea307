"""How few square units multiply two 2 x 2 matrices? Constructions, exact checks, bounds.

A net [2n^2, r, n^2] with hidden activation z^2 and identity output computes, per
output c, ``sum_h a_ch (w_h . x + b_h)^2 + b2_c``: a quadratic polynomial in
x = concat(vec A, vec B). It multiplies exactly iff its coefficients equal those of
vec(A B) (``net_polynomial`` vs ``target_polynomial``). Biases do not lower r:
the target has no linear or constant part, so in an exact net those parts cancel and
dropping every bias leaves the quadratic part, still exact.

Bounds on the least r (n = 2), with Q(alpha) = sum_c alpha_c Q_c the symmetric matrix
of the quadratic form tr(alpha^T A B), (8, 8); a net gives
Q(alpha) = sum_h d_h(alpha) w_h w_h^T with d_h(alpha) = sum_c alpha_c a_ch:

* r <= 2 rank: a bilinear algorithm with R products gives 2R units,
  xy = ((x + y)^2 - (x - y)^2) / 4 (``square_net_from_bilinear``); Strassen: 14.
* r >= 7: the cross terms 2 (u_h . vec A)(v_h . vec B) of the squares are a bilinear
  algorithm with r products, and the rank of 2 x 2 matrix multiplication is 7
  (Winograd 1971; Hopcroft & Kerr 1971).
* r >= 8: Q(alpha) = [[0, M/2], [M^T/2, 0]] with M = alpha (x) I_2 up to a permutation,
  so rank Q(alpha) = 4 rank(alpha) = 8 for invertible alpha, and rank Q(alpha) <= r.
* r >= 9 over the reals: with r = 8, rank Q(alpha) = 8 needs all eight d_h(alpha) != 0
  on all of GL(2). Its det > 0 part is connected and holds I and -I, and the linear
  d_h has d_h(-I) = -d_h(I), so it vanishes somewhere on the way: a contradiction.
* r >= 10 over the reals (the same argument one level down; every step checked):
  with r = 9, a_h != 0 for every h (else r = 8), and on H_h = ker d_h (3-dim) the
  other eight d_h' must all be nonzero wherever det != 0; H_h meets GL(2), since a
  subspace of singular 2 x 2 matrices has dimension <= 2. If det restricted to H_h is
  nondegenerate, its signature is (2, 1) or (1, 2) (det has (2, 2)), so {det > 0}
  resp. {det < 0} in H_h is connected (a cone's complement) and holds some beta and
  -beta: a d_h' vanishes on the way, as above. So det is degenerate on every H_h.
  Lemma: det(alpha + beta) = det alpha + det beta + tr(adj(alpha) beta), so an alpha in
  H_h orthogonal (for det) to all of H_h has adj(alpha)^T = c a_h with c != 0, and
  alpha in H_h gives 0 = tr(adj(alpha) alpha) / c = 2 det(alpha) / c: alpha has rank
  one, and so has a_h (as a 2 x 2 matrix, d_h(alpha) = sum a_h[ij] alpha_ij):
  a_h = sigma_h tau_h^T, H_h = {sigma_h^T alpha tau_h = 0}, whose singular part is the
  union of the planes {sigma_h^T alpha = 0} and {alpha tau_h = 0}. For h' != h,
  ker d_h' does not hold H_h (d_h' != 0 somewhere on H_h n GL(2)), so ker d_h' n H_h
  is a plane inside that union, hence one of the two: {sigma_h^T alpha = 0} is in
  H_h' only if sigma_h' ~ sigma_h (alpha = sigma_h^perp v^T for every v), likewise
  for tau. So any two units share sigma or tau (up to scale); if two have different
  sigmas they share tau, and every third shares it too (it cannot share sigma with
  both): all share one sigma, or all share one tau. Then every d_h vanishes at the
  nonzero alpha = sigma^perp v^T (or v tau^perp^T), where Q(alpha) has rank 4: a
  contradiction. ``LOWER_BOUND`` = 10.
  Over the complex numbers GL(2) is connected and these arguments give only r >= 8.
* r = 10 .. 13 is open here: ``nnlab.square_search`` finds no exact net below 14
  (evidence, not a proof).

Training the question (``nnlab.square_search``) gives an upper bound with evidence;
this module holds what is exact.
"""

from __future__ import annotations

from fractions import Fraction

import jax
import numpy as np

from .bilinear import Bilinear
from .mlp import forward

LOWER_BOUND = 10  # least width of an exact real square net for 2 x 2 (proved in the docstring)
UPPER_BOUND = 14  # Strassen's 7 products, two squares each (square_net_from_bilinear)


def square_net_from_bilinear(alg: Bilinear) -> list:
    """The 2r-unit square net of a rank-r algorithm: [2 n^2, 2r, n^2], no biases.

    Units 2t, 2t+1 have input weights (U_t, V_t) and (U_t, -V_t) and output weights
    W_t / 4 and -W_t / 4: their squares differ by 4 x_t y_t.
    """
    r, n2 = alg.rank, alg.n**2
    W1 = np.zeros((2 * n2, 2 * r))
    W1[:n2, 0::2], W1[n2:, 0::2] = alg.U.T, alg.V.T
    W1[:n2, 1::2], W1[n2:, 1::2] = alg.U.T, -alg.V.T
    W2 = np.zeros((2 * r, n2))
    W2[0::2], W2[1::2] = alg.W / 4, -alg.W / 4
    return [{"W": W1, "b": np.zeros(2 * r)}, {"W": W2, "b": np.zeros(n2)}]


def target_polynomial(n: int) -> tuple:
    """Coefficients of vec(A B) as (Q (n^2, d, d) symmetric, L (n^2, d), K (n^2,)), d = 2 n^2,
    with Fraction entries: output c = x^T Q_c x + L_c . x + K_c."""
    d, n2 = 2 * n * n, n * n
    Q = np.full((n2, d, d), Fraction(0), dtype=object)
    for i in range(n):
        for j in range(n):
            for k in range(n):
                a, b = i * n + k, n2 + k * n + j
                Q[i * n + j, a, b] = Q[i * n + j, b, a] = Fraction(1, 2)
    return Q, np.full((n2, d), Fraction(0), dtype=object), np.full(n2, Fraction(0), dtype=object)


def net_polynomial(params: list) -> tuple:
    """Exact coefficients (Q, L, K) of a [d, r, m] square net, in Fractions of its weights
    (floats converted exactly, or Fraction entries): Q_c = sum_h a_ch w_h w_h^T,
    L_c = 2 sum_h a_ch b_h w_h, K_c = sum_h a_ch b_h^2 + b2_c."""
    def frac(a):
        return np.vectorize(lambda v: v if isinstance(v, Fraction) else Fraction(float(v)), otypes=[object])(
            np.asarray(a, dtype=object))
    W1, b1, W2, b2 = frac(params[0]["W"]), frac(params[0]["b"]), frac(params[1]["W"]), frac(params[1]["b"])
    Q = np.einsum("hc,ih,jh->cij", W2, W1, W1)
    L = 2 * np.einsum("hc,h,ih->ci", W2, b1, W1)
    K = np.einsum("hc,h,h->c", W2, b1, b1) + b2
    return Q, L, K


def is_exact(params: list, n: int = 2) -> bool:
    """Whether the square net computes vec(A B) exactly (as a polynomial identity, in Fractions)."""
    return all(np.array_equal(a, b) for a, b in zip(net_polynomial(params), target_polynomial(n)))


def rationalize(params: list, max_denominator: int = 12) -> list:
    """Every weight rounded to the nearest Fraction with denominator <= max_denominator
    (object arrays, for ``is_exact``). Scale each unit first (``normalize_units``) so
    its weights have a chance to be simple."""
    def rnd(a):
        return np.vectorize(lambda v: Fraction(float(v)).limit_denominator(max_denominator), otypes=[object])(
            np.asarray(a, np.float64))
    return [{"W": rnd(layer["W"]), "b": rnd(layer["b"])} for layer in params]


def normalize_units(params: list) -> list:
    """The same function with each unit h rescaled (w_h, b_h) *= s, a_h /= s^2, s = 1 / max |w_h|."""
    W1, b1 = np.asarray(params[0]["W"], np.float64), np.asarray(params[0]["b"], np.float64)
    s = 1.0 / np.maximum(np.abs(W1).max(axis=0), 1e-300)
    return [{"W": W1 * s[None, :], "b": b1 * s},
            {"W": np.asarray(params[1]["W"], np.float64) / (s**2)[:, None],
             "b": np.asarray(params[1]["b"], np.float64)}]


def relative_error(params: list, A: np.ndarray, B: np.ndarray) -> float:
    """||net(A, B) - A @ B||_F / ||A @ B||_F over a batch A, B (batch, n, n), via nnlab.forward in float64."""
    batch = A.shape[0]
    x = np.concatenate([A.reshape(batch, -1), B.reshape(batch, -1)], axis=1).astype(np.float64)
    with jax.enable_x64(True):
        p = [{k: np.asarray(v, np.float64) for k, v in layer.items()} for layer in params]
        out = np.asarray(forward(p, x, hidden="square", output="identity"), np.float64)
    ref = (A @ B).reshape(batch, -1)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
