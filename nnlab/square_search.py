"""Searching the least width of a square-unit net for 2 x 2 matrix multiplication by training.

``search`` trains [8, r, 4] nets (hidden z^2, identity output, no biases by default:
biases cannot lower the width, see ``nnlab.square_net``) for several widths r, many
restarts each, in float64 on nnlab's hand-derived gradient (``nnlab.loss_and_grad``),
all widths and restarts as one batch (narrower nets padded with masked units). Three
optimisers in numpy (``nnlab.numpy_opt``), each driven by that gradient:

* ``levenberg_marquardt`` (default): the Jacobian of the outputs row by row, each row
  the gradient of nnlab's squared loss for one sample and a shifted target. At width 14
  it reaches relative errors ~1e-15 within 200 steps in about a quarter of restarts,
* ``lbfgs``: cheaper steps, but after 10,000 of them still ~1e-5 at width 14 (the
  solutions form manifolds and the problem is badly conditioned),
* ``gradient_descent``: the plain baseline.

The least width at which a restart reaches relative error < tol on fresh matrices is an
upper bound on the least exact width, with its evidence (restarts, errors, and the
weights' size ``max_weights``: at widths 12 and 13 the error keeps falling only while
the weights grow, the mark of approximations that are not exact, like border rank).
Not a proof; ``square_net.is_exact`` is. ``snap`` tries to round a found net to simple
fractions while keeping it exact.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import NamedTuple

import jax
import numpy as np

from .backprop import loss_and_grad
from .mlp import forward
from .numpy_opt import gradient_descent, lbfgs, levenberg_marquardt, one_blas_thread
from .square_net import normalize_units, relative_error


# ----------------------------------------------------------------------------- the search

METHODS = ("lm", "lbfgs", "gd")


class WidthResult(NamedTuple):
    width: int
    restarts: int
    successes: int  # restarts with relative error < tol on fresh matrices
    best_error: float  # least relative error on fresh matrices
    errors: np.ndarray  # (restarts,) relative error of every restart on fresh matrices
    max_weights: np.ndarray  # (restarts,) largest |weight| after normalize_units (each unit's largest
    #                          |input weight| 1): large when squares of big units cancel
    nets: list  # every restart's net, [8, width, 4], float64
    seconds: float  # wall time of the whole batch (all widths train together)

    @property
    def best_params(self) -> list:
        """The net with the least error."""
        return self.nets[int(np.argmin(self.errors))]


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
        loss, grads = loss_and_grad(_unflatten(v, layout), x, y, hidden="square", output="identity",
                                    loss="squared", mask=_unflatten(mask, layout))
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
        out = forward(params, x, hidden="square", output="identity", mask=masks)

        def row(xs, os, c):
            target = os - 0.5 * jax.nn.one_hot(c, m, dtype=os.dtype)
            _, grads = loss_and_grad(params, xs[None, :], target[None, :], hidden="square", output="identity",
                                     loss="squared", mask=masks)
            return jax.numpy.concatenate([jax.numpy.ravel(grads[l][k]) for l in (0, 1) for k in ("W", "b")])

        per_sample = jax.vmap(lambda xs, os: jax.vmap(lambda c: row(xs, os, c))(jax.numpy.arange(m)))
        res = out - y
        loss = jax.numpy.mean(jax.numpy.sum(res**2, axis=1))
        return loss, jax.numpy.ravel(res), per_sample(x, out).reshape(-1, v.size)

    fn = jax.jit(jax.vmap(one))
    return lambda V, M: tuple(np.array(a, np.float64) for a in fn(V, M))


def _data(seed: int, samples: int) -> tuple:
    """x (samples, 8) = concat(vec A, vec B) with N(0, 1) entries, y (samples, 4) = vec(A B)."""
    A, B = np.random.default_rng([seed, 2**31]).normal(size=(2, samples, 2, 2))
    return np.concatenate([A.reshape(samples, 4), B.reshape(samples, 4)], 1), (A @ B).reshape(samples, 4)


def _mask(width: int, hmax: int, biases: bool) -> np.ndarray:
    real = (np.arange(hmax) < width).astype(np.float64)
    return _flatten([{"W": np.ones((8, hmax)) * real, "b": real * float(biases)},
                     {"W": np.ones((hmax, 4)) * real[:, None], "b": np.full(4, float(biases))}])


def _train(V0, M, x, y, layout, steps, method, lr=0.01, free=None) -> np.ndarray:
    with jax.enable_x64(True):
        if method == "lm":
            rj = _residuals(x, y, layout)
            with one_blas_thread():
                return levenberg_marquardt(lambda V: rj(V, M), V0, steps, free=free)
        fg = _objective(x, y, layout)
        if method == "lbfgs":
            return lbfgs(lambda V: fg(V, M), V0, steps)
        return gradient_descent(lambda V: fg(V, M), V0, steps, lr)


def _crop(p: list, width: int) -> list:
    return [{"W": p[0]["W"][:, :width], "b": p[0]["b"][:width]}, {"W": p[1]["W"][:width], "b": p[1]["b"]}]


def search(widths=(7, 8, 9, 10, 11, 12, 13, 14), restarts: int = 8, steps: int = 120, seed: int = 0,
           samples: int = 64, method: str = "lm", biases: bool = False, tol: float = 1e-6,
           init_scale: float = 0.5, lr: float = 0.01) -> list:
    """Train [8, r, 4] square nets on 2 x 2 matrix multiplication for every r in ``widths``.

    Inputs: ``samples`` random A, B with N(0, 1) entries (64 > 45, the number of
    monomials of degree <= 2 in 8 variables, so a zero loss means an exact net);
    loss: nnlab's squared loss. Restart i of width r starts from
    ``default_rng([seed, r, i])`` (normal weights of scale init_scale, output weights
    over sqrt(r)), whatever else trains beside it. ``method``: "lm", "lbfgs" or "gd" (lr).
    Returns one ``WidthResult`` per width, errors measured on 256 fresh matrix pairs
    (through ``nnlab.forward``). The defaults (64 nets, 120 steps) take about 12 s on
    a busy two-core machine, and find width 14 in 2 of 8 restarts.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is unknown; allowed: {', '.join(METHODS)}")
    start, hmax = time.perf_counter(), max(widths)
    layout = _layout(8, hmax, 4)
    x, y = _data(seed, samples)
    V0, M = [], []
    for r in widths:
        mask = _mask(r, hmax, biases)
        for i in range(restarts):
            g = np.random.default_rng([seed, r, i])
            p = [{"W": init_scale * g.normal(size=(8, hmax)), "b": init_scale * g.normal(size=hmax)},
                 {"W": init_scale * g.normal(size=(hmax, 4)) / np.sqrt(r), "b": init_scale * g.normal(size=4)}]
            V0.append(_flatten(p) * mask)
            M.append(mask)
    M = np.array(M)
    V = _train(np.array(V0), M, x, y, layout, steps, method, lr)
    seconds = time.perf_counter() - start
    A2, B2 = np.random.default_rng([seed, 2**31 + 1]).normal(size=(2, 256, 2, 2))
    results = []
    for w_i, r in enumerate(widths):
        nets = [_crop(_unflatten(v, layout), r) for v in V[w_i * restarts:(w_i + 1) * restarts]]
        errors = np.array([relative_error(p, A2, B2) for p in nets])
        errors = np.where(np.isfinite(errors), errors, np.inf)
        big = np.array([max(np.abs(layer["W"]).max() for layer in normalize_units(p)) for p in nets])
        results.append(WidthResult(r, restarts, int(np.sum(errors < tol)), float(errors.min()), errors, big, nets,
                                   seconds))
    return results


def least_width(results: list, tol: float = 1e-6) -> int | None:
    """The least width with a restart below tol (an upper bound on the least exact width), or None."""
    found = [res.width for res in results if res.best_error < tol]
    return min(found) if found else None


def _nearest(v: np.ndarray, denominators) -> np.ndarray:
    """The nearest fraction k/d, d in denominators, to each entry of v."""
    cands = np.stack([np.round(v * d) / d for d in denominators])
    return np.take_along_axis(cands, np.argmin(np.abs(cands - v[None]), axis=0)[None], 0)[0]


def snap(params: list, denominators=(1, 2, 4), tries: int = 8, steps: int = 30, tol: float = 1e-9,
         seed: int = 0, samples: int = 64) -> tuple:
    """Round an exact float net [8, r, 4] (no biases) to simple fractions, keeping it exact.

    Units are first scaled so each has largest |input weight| 1 (``normalize_units``).
    Then, repeatedly: the weights already within 1e-12 of a fraction k/d are fixed
    there; of the rest, the ``tries`` nearest to a fraction are each tried (fixed, the
    others retrained by Levenberg-Marquardt for ``steps`` steps, in one batch) and the
    first that keeps the relative error < tol is kept. Returns ``(fractions, fixed)``:
    Fraction params for ``square_net.is_exact`` when every weight got fixed (else None),
    and how many weights were fixed.
    """
    p = normalize_units(params)
    r = p[0]["W"].shape[1]
    layout, M = _layout(8, r, 4), _mask(r, r, False)
    x, y = _data(seed, samples)
    scale = np.sqrt(np.mean(np.sum(y**2, axis=1)))
    V, fixed, hopeless = _flatten(p) * M, M == 0, np.zeros(M.size, bool)
    with jax.enable_x64(True):
        if np.sqrt(_objective(x, y, layout)(V[None], M[None])[0][0]) / scale >= tol:
            return None, 0  # not exact to begin with
    while True:
        target = _nearest(V, denominators)
        close = ~fixed & (np.abs(V - target) < 1e-12)
        V[close], fixed = target[close], fixed | close
        order = [j for j in np.argsort(np.abs(V - target)) if not fixed[j] and not hopeless[j]][:tries]
        if not order:
            break
        starts, free = np.tile(V, (len(order), 1)), np.tile(~fixed, (len(order), 1)).astype(np.float64)
        for row, j in enumerate(order):
            starts[row, j], free[row, j] = target[j], 0.0
        out = _train(starts, np.tile(M, (len(order), 1)), x, y, layout, steps, "lm", free=free)
        with jax.enable_x64(True):
            loss = np.array(_objective(x, y, layout)(out, np.tile(M, (len(order), 1)))[0])
        good = np.flatnonzero(np.sqrt(loss) / scale < tol)
        if good.size:
            V, fixed[order[good[0]]], hopeless[:] = out[good[0]], True, False
        else:
            hopeless[order] = True
    if not fixed.all():
        return None, int(fixed.sum() - (M == 0).sum())
    fractions = np.array([Fraction(float(v)).limit_denominator(max(denominators)) for v in V], dtype=object)
    net = _unflatten(fractions, layout)
    return net, int(M.sum())
