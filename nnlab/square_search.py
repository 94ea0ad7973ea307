"""How few square units multiply two 2 x 2 matrices? Constructions, exact checks, a search.

A net [2n^2, r, n^2] with hidden activation z^2 and identity output computes, per
output c, ``sum_h a_ch (w_h . x + b_h)^2 + b2_c``: a quadratic polynomial in
x = concat(vec A, vec B). It multiplies exactly iff its coefficients equal those of
vec(A B) (``net_polynomial`` vs ``target_polynomial``). Biases do not lower r:
the target has no linear or constant part, so in an exact net those parts cancel and
dropping every bias leaves the quadratic part, still exact. The search trains without
biases (``biases=False``); with them it is an option.

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
* r >= 9 over the reals: with r = 8 every d_h is nonzero on GL(2), which is
  connected on its det > 0 part; that part holds I and -I, and d_h(-I) = -d_h(I).
* r >= 10 over the reals (the same argument one level down; a proof sketch, to be
  reviewed): with r = 9, on H_h = ker d_h all other d_h' must be nonzero wherever
  det != 0; if det restricted to H_h is nondegenerate, a connected part of
  {det != 0} in H_h holds some beta and -beta, a contradiction; so each output
  vector a_h is a rank-one 2 x 2 matrix sigma_h tau_h^T; then each ker d_h' meets H_h
  in {sigma_h^T alpha = 0} or {alpha tau_h = 0}, so any two units share sigma or
  tau, hence all share sigma (or all tau), and then Q(alpha) = 0 for a nonzero
  alpha = sigma^perp v^T: a contradiction.

The search (``search``) trains nets of several widths, many restarts each, in
float64 with nnlab's hand-derived gradient (``nnlab.loss_and_grad``, hidden
"square", identity output), by L-BFGS or plain gradient descent written here in
numpy, all widths and restarts as one batch (narrower nets padded with masked units).
It gives an upper bound with evidence, not a proof.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import NamedTuple

import jax
import numpy as np

from .backprop import loss_and_grad
from .bilinear import Bilinear
from .mlp import forward


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
            {"W": np.asarray(params[1]["W"], np.float64) / (s**2)[:, None], "b": np.asarray(params[1]["b"], np.float64)}]


def relative_error(params: list, A: np.ndarray, B: np.ndarray) -> float:
    """||net(A, B) - A @ B||_F / ||A @ B||_F over a batch A, B (batch, n, n), via nnlab.forward in float64."""
    batch = A.shape[0]
    x = np.concatenate([A.reshape(batch, -1), B.reshape(batch, -1)], axis=1).astype(np.float64)
    with jax.enable_x64(True):
        p = [{k: np.asarray(v, np.float64) for k, v in layer.items()} for layer in params]
        out = np.asarray(forward(p, x, "square", "identity"), np.float64)
    ref = (A @ B).reshape(batch, -1)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


# ----------------------------------------------------------------------------- the search


class WidthResult(NamedTuple):
    width: int
    restarts: int
    successes: int  # restarts with relative error < tol on fresh matrices
    best_error: float  # least relative error on fresh matrices
    errors: np.ndarray  # (restarts,) relative error of every restart on fresh matrices
    best_params: list  # the best restart's net, [8, width, 4], float64
    seconds: float  # wall time of the whole batch (all widths train together)


def _layout(d: int, h: int, m: int) -> list:
    """(name, shape) of the flat parameter vector of a [d, h, m] net."""
    return [("W1", (d, h)), ("b1", (h,)), ("W2", (h, m)), ("b2", (m,))]


def _unflatten(v, layout):
    out, i = {}, 0
    for name, shape in layout:
        size = int(np.prod(shape))
        out[name] = v[i:i + size].reshape(shape)
        i += size
    return [{"W": out["W1"], "b": out["b1"]}, {"W": out["W2"], "b": out["b2"]}]


def _flatten(params) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(params[l][k])) for l in (0, 1) for k in ("W", "b")])


def _objective(x: np.ndarray, y: np.ndarray, layout: list):
    """fg(V, M) -> (loss (N,), grad (N, P)) for N flat nets V (N, P) with 0/1 masks M (N, P)."""
    def one(v, mask):
        loss, grads = loss_and_grad(_unflatten(v, layout), x, y, "square", "identity", "squared",
                                    _unflatten(mask, layout))
        return loss, jax.numpy.concatenate([jax.numpy.ravel(grads[l][k]) for l in (0, 1) for k in ("W", "b")])
    fn = jax.jit(jax.vmap(one))
    return lambda V, M: tuple(np.array(a, np.float64) for a in fn(V, M))


def _residuals(x: np.ndarray, y: np.ndarray, layout: list):
    """rj(V, M) -> (loss (N,), residuals (N, S m), Jacobian (N, S m, P)) of the outputs, row by row
    from nnlab.loss_and_grad: for one sample and the target out - e_c / 2, the gradient of the
    squared loss is exactly d out_c / d params."""
    m = y.shape[1]

    def one(v, mask):
        params, masks = _unflatten(v, layout), _unflatten(mask, layout)
        out = forward(params, x, "square", "identity", masks)

        def row(xs, os, c):
            _, grads = loss_and_grad(params, xs[None, :], (os - 0.5 * jax.nn.one_hot(c, m, dtype=os.dtype))[None, :],
                                     "square", "identity", "squared", masks)
            return jax.numpy.concatenate([jax.numpy.ravel(grads[l][k]) for l in (0, 1) for k in ("W", "b")])

        per_sample = jax.vmap(lambda xs, os: jax.vmap(lambda c: row(xs, os, c))(jax.numpy.arange(m)))
        res = out - y
        return jax.numpy.mean(jax.numpy.sum(res**2, axis=1)), jax.numpy.ravel(res), per_sample(x, out).reshape(-1, v.size)

    fn = jax.jit(jax.vmap(one))
    return lambda V, M: tuple(np.array(a, np.float64) for a in fn(V, M))


def levenberg_marquardt(rj, V: np.ndarray, steps: int, mu: float = 1e-2) -> np.ndarray:
    """Minimise N sums of squares at once: rj(V) -> (loss (N,), residuals (N, K), Jacobian (N, K, P)).

    Each step solves (J^T J + mu I) delta = -J^T r per row; a step that lowers the loss is
    kept and mu shrinks by 3, otherwise mu doubles.
    """
    N, P = V.shape
    V = V.copy()
    f, r, J = rj(V)
    mu = np.full(N, float(mu))
    for _ in range(steps):
        Jt_ = np.swapaxes(J, 1, 2)
        delta = -np.linalg.solve(Jt_ @ J + mu[:, None, None] * np.eye(P)[None], Jt_ @ r[..., None])[..., 0]
        ft, rt, Jt = rj(V + delta)
        ok = np.isfinite(ft) & (ft < f) & np.all(np.isfinite(Jt), axis=(1, 2))
        V[ok], f[ok], r[ok], J[ok] = V[ok] + delta[ok], ft[ok], rt[ok], Jt[ok]
        mu = np.clip(np.where(ok, mu / 3, mu * 2), 1e-12, 1e12)
    return V


def lbfgs(fg, V: np.ndarray, steps: int, memory: int = 10) -> np.ndarray:
    """Minimise N functions at once: fg(V) -> (f (N,), g (N, P)); V (N, P) start -> end.

    L-BFGS two-loop recursion per row; one evaluation per step: the trial point is kept
    if it passes Armijo's test, otherwise the row's step length is halved.
    """
    N, P = V.shape
    V = V.copy()
    f, g = fg(V)
    S, Y = np.zeros((N, memory, P)), np.zeros((N, memory, P))
    rho, count, t = np.zeros((N, memory)), np.zeros(N, int), np.ones(N)
    for _ in range(steps):
        valid = np.arange(memory)[None, :] < count[:, None]
        q, alpha = g.copy(), np.zeros((N, memory))
        for i in range(memory):  # newest first
            alpha[:, i] = np.where(valid[:, i], rho[:, i] * np.einsum("np,np->n", S[:, i], q), 0.0)
            q -= alpha[:, i, None] * Y[:, i]
        yy = np.einsum("np,np->n", Y[:, 0], Y[:, 0])
        gamma = np.where(count > 0, np.einsum("np,np->n", S[:, 0], Y[:, 0]) / np.where(yy > 0, yy, 1.0),
                         1.0 / np.maximum(1.0, np.linalg.norm(g, axis=1)))
        r = gamma[:, None] * q
        for i in reversed(range(memory)):
            beta = rho[:, i] * np.einsum("np,np->n", Y[:, i], r)
            r += np.where(valid[:, i], alpha[:, i] - beta, 0.0)[:, None] * S[:, i]
        D = -r
        slope = np.einsum("np,np->n", g, D)
        bad = ~(slope < 0)
        D[bad], slope[bad], count[bad] = -g[bad], -np.einsum("np,np->n", g[bad], g[bad]), 0
        Vt = V + t[:, None] * D
        ft, gt = fg(Vt)
        ok = np.isfinite(ft) & (ft <= f + 1e-4 * t * slope) & np.all(np.isfinite(gt), axis=1)
        s, y = Vt - V, gt - g
        sy = np.einsum("np,np->n", s, y)
        keep = ok & (sy > 1e-12 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1))
        S[keep], Y[keep], rho[keep] = np.roll(S[keep], 1, 1), np.roll(Y[keep], 1, 1), np.roll(rho[keep], 1, 1)
        S[keep, 0], Y[keep, 0], rho[keep, 0] = s[keep], y[keep], 1.0 / sy[keep]
        count[keep] = np.minimum(count[keep] + 1, memory)
        V[ok], f[ok], g[ok] = Vt[ok], ft[ok], gt[ok]
        t = np.where(ok, 1.0, 0.5 * t)
        stuck = t < 1e-12  # restart the memory of rows whose line search collapsed
        count[stuck], t[stuck] = 0, 1.0
    return V


def gradient_descent(fg, V: np.ndarray, steps: int, lr: float = 0.01) -> np.ndarray:
    """Plain full-batch gradient descent, V (N, P) -> V after ``steps`` steps of size lr."""
    V = V.copy()
    for _ in range(steps):
        V -= lr * fg(V)[1]
    return V


def search(widths=(7, 8, 9, 10, 11, 12, 13, 14), restarts: int = 16, steps: int = 300, seed: int = 0,
           samples: int = 64, method: str = "lbfgs", biases: bool = False, tol: float = 1e-6,
           init_scale: float = 0.5, lr: float = 0.01) -> list:
    """Train [8, r, 4] square nets on 2 x 2 matrix multiplication for every r in ``widths``.

    Inputs: ``samples`` random A, B with N(0, 1) entries (64 > 45, the number of
    monomials of degree <= 2 in 8 variables, so a zero loss means an exact net);
    loss: nnlab's squared loss. Restart i of width r starts from
    ``default_rng([seed, r, i])`` (normal weights of scale init_scale, output weights
    over sqrt(r)), whatever else trains beside it. ``method``: "lbfgs" or "gd".
    Returns one ``WidthResult`` per width, errors measured on 256 fresh matrix pairs.
    """
    if method not in ("lm", "lbfgs", "gd"):
        raise ValueError(f"method {method!r} is unknown; allowed: lm, lbfgs, gd")
    start, hmax = time.perf_counter(), max(widths)
    layout = _layout(8, hmax, 4)
    rng = np.random.default_rng([seed, 2**31])
    A, B = rng.normal(size=(2, samples, 2, 2))
    x, y = np.concatenate([A.reshape(samples, 4), B.reshape(samples, 4)], 1), (A @ B).reshape(samples, 4)
    V0, M = [], []
    for r in widths:
        mask = [{"W": np.ones((8, hmax)) * (np.arange(hmax) < r), "b": (np.arange(hmax) < r) * float(biases)},
                {"W": np.ones((hmax, 4)) * (np.arange(hmax) < r)[:, None], "b": np.full(4, float(biases))}]
        for i in range(restarts):
            g = np.random.default_rng([seed, r, i])
            p = [{"W": init_scale * g.normal(size=(8, hmax)), "b": init_scale * g.normal(size=hmax)},
                 {"W": init_scale * g.normal(size=(hmax, 4)) / np.sqrt(r), "b": init_scale * g.normal(size=4)}]
            V0.append(_flatten(p) * _flatten(mask))
            M.append(_flatten(mask))
    V0, M = np.array(V0), np.array(M)
    with jax.enable_x64(True):
        if method == "lm":
            rj = _residuals(x, y, layout)
            V = levenberg_marquardt(lambda V: rj(V, M), V0, steps)
        else:
            fg = _objective(x, y, layout)
            V = lbfgs(lambda V: fg(V, M), V0, steps) if method == "lbfgs" else gradient_descent(lambda V: fg(V, M), V0, steps, lr)
    seconds = time.perf_counter() - start
    A2, B2 = np.random.default_rng([seed, 2**31 + 1]).normal(size=(2, 256, 2, 2))
    results = []
    for w_i, r in enumerate(widths):
        nets = [_unflatten(v, layout) for v in V[w_i * restarts:(w_i + 1) * restarts]]
        nets = [[{"W": p[0]["W"][:, :r], "b": p[0]["b"][:r]}, {"W": p[1]["W"][:r], "b": p[1]["b"]}] for p in nets]
        errors = np.array([relative_error(p, A2, B2) for p in nets])
        errors = np.where(np.isfinite(errors), errors, np.inf)
        best = int(np.argmin(errors))
        results.append(WidthResult(r, restarts, int(np.sum(errors < tol)), float(errors[best]), errors, nets[best], seconds))
    return results


def least_width(results: list, tol: float = 1e-6) -> int | None:
    """The least width with a restart below tol (an upper bound on the least exact width), or None."""
    found = [res.width for res in results if res.best_error < tol]
    return min(found) if found else None
