"""Optimisers in numpy for many small problems at once (one row of V per problem).

Each takes a function of the stacked parameters V (N, P) and returns V after a fixed
number of steps; rows never interact. ``levenberg_marquardt`` for sums of squares
(needs residuals and their Jacobian), ``lbfgs`` and ``gradient_descent`` for any
smooth function (need its gradient). ``nnlab.square_search`` drives them with nnlab's
hand-derived gradients.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits


def one_blas_thread() -> threadpool_limits:
    """A context manager that runs numpy's BLAS (any: OpenBLAS, MKL, BLIS) on one thread
    inside the block and restores the thread counts after it (``threadpoolctl``).

    Levenberg-Marquardt solves many small (P, P) systems; on a busy two-core machine the
    BLAS threads spin against other processes: the default square search (64 nets, 120
    steps) took 92-103 s of wall time with two OpenBLAS threads and 10-15 s with one.
    """
    return threadpool_limits(limits=1, user_api="blas")


def levenberg_marquardt(rj, V: np.ndarray, steps: int, mu: float = 1e-2, free: np.ndarray | None = None) -> np.ndarray:
    """Minimise N sums of squares at once: rj(V) -> (loss (N,), residuals (N, K), Jacobian (N, K, P)).

    Each step solves (J^T J + mu I) delta = -J^T r per row; a step that lowers the loss is
    kept and mu shrinks by 3, otherwise mu doubles. free: (N, P) 0/1, entries with 0 stay put.
    """
    N, P = V.shape
    V = V.copy()
    f, r, J = rj(V)
    mu = np.full(N, float(mu))
    for _ in range(steps):
        if free is not None:
            J = J * free[:, None, :]
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
