"""Where training ends: gradient norm, exact Hessian, and what kind of point it is.

``curvature`` takes parameters with a leading restart axis R (as ``nnlab.train``
returns them) and gives, for every restart at once, the norm of the gradient,
the smallest and largest eigenvalue of the exact Hessian of the training loss,
and the norm of the weights. The Hessian is the Jacobian (forward mode,
``jax.jacfwd``) of the hand-derived gradient ``nnlab.loss_and_grad`` over the
flattened weights, symmetrised; it is exact up to rounding (the tests hold it
against ``jax.hessian`` in float64). For ReLU units it is the Hessian of the
piece the point lies in (f'' = 0 almost everywhere).

Masked-out weights (padded widths, the article's missing edges) are not
coordinates of the network: their rows and columns of the Hessian are zero and
would add spurious zero eigenvalues, so they are left out of the spectrum.

The gradients and Hessians are computed in one compiled program; the
eigenvalues on the host (numpy), see ``extreme_eigenvalues``.

``classify`` turns these numbers into an end-point status (``STATUSES``);
``constant_output_levels`` gives the losses of a network whose output is
constant on groups of training points, the levels where stuck runs collect;
``unit_activity`` counts the hidden units that are off (dead, for ReLU) or on
(linear, for ReLU) at every training point.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .activations import get_activation
from .backprop import loss_and_grad
from .mlp import Params

Array = jax.Array

STATUSES = ("solved", "local_min", "saddle_or_plateau", "diverged")


class Curvature(NamedTuple):
    """Per restart (R,): ``grad_norm`` ||dL/dw||_2, ``min_eig`` and ``max_eig`` of
    the Hessian over the present weights, ``weight_norm`` ||w||_2 of those weights."""

    grad_norm: Array
    min_eig: Array
    max_eig: Array
    weight_norm: Array


def hessian(params: Params, x: Array, y: Array, hidden="sigmoid", output="sigmoid",
            loss: str = "squared", mask: Params | None = None) -> Array:
    """Exact Hessian of the training loss of one network, (P, P) over ravelled params.

    Built as the forward-mode Jacobian of the hand-derived gradient. x: (N, n_in),
    y: (N, n_out); rows and columns of masked-out weights are zero.
    """
    flat, unravel = ravel_pytree(params)

    def flat_grad(w):
        return ravel_pytree(loss_and_grad(unravel(w), x, y, hidden, output, loss, mask)[1])[0]

    h = jax.jacfwd(flat_grad)(flat)
    return (h + h.T) / 2


def extreme_eigenvalues(h, present) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest eigenvalue of each ``h`` restricted to its ``present`` coordinates.

    h: (R, P, P) symmetric, zero in the rows and columns of absent coordinates;
    present: (R, P) 0/1. Absent coordinates get the diagonal entry ||h||_F, which
    bounds every eigenvalue of the present block: the spectrum becomes the present
    block's eigenvalues plus that bound, once per absent coordinate, at the top, so
    one eigendecomposition gives both ends and the matrix keeps its scale.
    Computed on the host by numpy's LAPACK: the batched eigh of jaxlib's CPU backend
    can deadlock when two run at once on a two-core machine.
    """
    h, present = np.asarray(h), np.asarray(present)
    bound = np.sqrt(np.sum(h.astype(np.float64) ** 2, axis=(1, 2))).astype(h.dtype)
    filled = h + (bound[:, None] * (1 - present))[:, :, None] * np.eye(h.shape[-1], dtype=h.dtype)[None]
    finite = np.all(np.isfinite(filled), axis=(1, 2))  # a diverged run has NaN/inf: NaN eigenvalues
    eig = np.full(h.shape[:2], np.nan, h.dtype)
    eig[finite] = np.linalg.eigvalsh(filled[finite])
    top = h.shape[-1] - 1 - np.sum(present == 0, axis=1)
    return eig[:, 0], np.take_along_axis(eig, top[:, None], axis=1)[:, 0]


def _curvature_one(params, mask, x, y, hidden, output, loss):
    _, grads = loss_and_grad(params, x, y, hidden, output, loss, mask)
    g = ravel_pytree(grads)[0]
    w = ravel_pytree(params)[0]
    present = jnp.ones_like(w) if mask is None else ravel_pytree(mask)[0].astype(w.dtype)
    h = hessian(params, x, y, hidden, output, loss, mask)
    return jnp.linalg.norm(g), jnp.linalg.norm(w * present), h, present


def curvature(params: Params, x: Array, y: Array, hidden="sigmoid", output="sigmoid",
              loss: str = "squared", mask: Params | None = None, max_entries: int = 2**24) -> Curvature:
    """Gradient norm, extreme Hessian eigenvalues and weight norm of R networks (numpy, (R,) each).

    params: leaves with a leading restart axis R. mask: shared (shaped like one
    network's params) or with a leading R axis. x: (N, n_in), y: (N, n_out).
    Gradients and Hessians run in the dtype of the params, compiled once per shape,
    in chunks of restarts holding at most ``max_entries`` Hessian entries.
    """
    hidden = hidden if isinstance(hidden, str) else tuple(hidden)
    per_restart = mask is not None and jax.tree.leaves(mask)[0].ndim == jax.tree.leaves(params)[0].ndim
    R = jax.tree.leaves(params)[0].shape[0]
    P = sum(int(np.prod(a.shape[1:])) for a in jax.tree.leaves(params))
    chunk = int(min(R, max(1, max_entries // P**2)))
    parts = []
    for start in range(0, R, chunk):
        # the last chunk is padded (with its own last restart) to keep one compiled shape
        take = np.minimum(np.arange(start, start + chunk), R - 1)
        pick = lambda tree: jax.tree.map(lambda a: a[take], tree)
        out = _curvature_jit(pick(params), pick(mask) if per_restart else mask, x, y, hidden, output, loss,
                             per_restart)
        parts.append([np.asarray(a)[: min(chunk, R - start)] for a in out])
    grad_norm, weight_norm, h, present = (np.concatenate(p) for p in zip(*parts))
    low, high = extreme_eigenvalues(h, present)
    return Curvature(grad_norm, low, high, weight_norm)


def _curvature_many(params, mask, x, y, hidden, output, loss, per_restart):
    one = lambda p, m: _curvature_one(p, m, x, y, hidden, output, loss)
    return jax.vmap(one, in_axes=(0, 0 if per_restart else None))(params, mask)


_curvature_jit = jax.jit(_curvature_many, static_argnames=("hidden", "output", "loss", "per_restart"))


def classify(solved, finite, grad_norm, min_eig, max_eig, loss_drop,
             grad_tol: float, hess_tol: float, fall_tol: float) -> np.ndarray:
    """End-point status of each run, as an index into ``STATUSES``. All inputs (R,).

    In this order:
      diverged           not ``finite`` (loss, gradient or Hessian NaN/inf);
      solved             ``solved`` (the task's own criterion);
      saddle_or_plateau  a clearly negative curvature, min_eig < -hess_tol * max(1, |max_eig|)
                         (a saddle), or still moving: grad_norm > grad_tol or the loss
                         still falling, loss_drop > fall_tol (loss_drop: the relative
                         decrease of the loss over the last stretch of training);
      local_min          otherwise: gradient within grad_tol of zero, Hessian positive
                         semi-definite within hess_tol, loss no longer falling.
    """
    solved, finite = np.asarray(solved, bool), np.asarray(finite, bool)
    grad_norm, min_eig, max_eig, loss_drop = (np.asarray(a, float) for a in (grad_norm, min_eig, max_eig, loss_drop))
    with np.errstate(invalid="ignore"):
        negative = min_eig < -hess_tol * np.maximum(1.0, np.abs(max_eig))
        moving = (grad_norm > grad_tol) | (loss_drop > fall_tol)
    status = np.where(negative | moving, STATUSES.index("saddle_or_plateau"), STATUSES.index("local_min"))
    status = np.where(solved, STATUSES.index("solved"), status)
    return np.where(finite, status, STATUSES.index("diverged"))


def unit_activity(params: Params, x, hidden: str = "relu", mask: Params | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(dead, linear), each (M,): per network, the hidden units (all hidden layers) whose input
    sum, bias included, is <= 0 at every training point, and those whose input sum is > 0 at
    every training point.

    For ReLU units a dead unit outputs 0 on the whole training set and gets no gradient from
    it; an always-active one is the identity there (the network is linear through it).
    params: leading axis M (as ``nnlab.train`` returns them); x: (N, n_in); mask: shared or
    leading axis M. A unit with no present incoming edge (padding) is not counted. The input
    sums are computed in the dtype of the params, on the host.
    """
    act = get_activation(hidden).fn
    layers = [{k: np.asarray(v) for k, v in layer.items()} for layer in params]
    M = layers[0]["W"].shape[0]
    h = np.broadcast_to(np.asarray(x, layers[0]["W"].dtype)[None], (M, *np.shape(x)))
    dead, linear = np.zeros(M, int), np.zeros(M, int)
    for l, layer in enumerate(layers[:-1]):
        z = np.einsum("mni,mij->mnj", h, layer["W"]) + layer["b"][:, None, :]
        if mask is None:
            present = np.ones(z.shape[::2], bool)
        else:
            mW, mb = np.asarray(mask[l]["W"]), np.asarray(mask[l]["b"])
            present = np.broadcast_to((mW != 0).any(axis=-2) | (mb != 0), z.shape[::2])
        dead += np.sum(np.all(z <= 0, axis=1) & present, axis=1)
        linear += np.sum(np.all(z > 0, axis=1) & present, axis=1)
        h = np.asarray(act(z))
    return dead, linear


def _group_loss(ones: int, zeros: int, loss: str) -> Fraction | float:
    """Loss summed over a group of training points that get one common output,
    at its best value (the group's mean target)."""
    total = ones + zeros
    if loss == "squared":
        return Fraction(ones * zeros, total)  # sum of (y - mean)^2
    p = ones / total
    return -sum(k * np.log(q) for k, q in ((ones, p), (zeros, 1 - p)) if k)  # entropy of the group, nats


def constant_output_levels(y, loss: str = "squared", max_points: int = 16) -> np.ndarray:
    """Every loss of a network whose output is constant on the groups of some partition
    of the training points (each group at its mean target), sorted.

    y: (N,) binary targets. Loss as in ``nnlab.losses`` (mean over points). These are
    the plateau levels of boolean tasks (e.g. XOR: 0, 1/8, 1/6, 1/4 for the squared
    loss), approached when hidden units saturate. Only the numbers of ones and zeros
    in a group matter, so the partitions are enumerated as sums of parts (a, b) by
    unbounded knapsack; N <= ``max_points`` keeps the set small.
    """
    y = np.asarray(y).ravel()
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("constant_output_levels needs binary targets")
    if loss not in ("squared", "cross_entropy"):
        raise ValueError(f"loss {loss!r} is unknown; allowed: squared, cross_entropy")
    if len(y) > max_points:
        raise ValueError(f"{len(y)} points: more than max_points={max_points}")
    P, Q = int(y.sum()), int(len(y) - y.sum())
    key = (lambda v: v) if loss == "squared" else (lambda v: round(float(v), 12))
    sums: dict[tuple[int, int], set] = {(p, q): set() for p in range(P + 1) for q in range(Q + 1)}
    sums[(0, 0)] = {key(0 if loss == "cross_entropy" else Fraction(0))}
    for a in range(P + 1):
        for b in range(Q + 1):
            if a + b == 0:
                continue
            part = _group_loss(a, b, loss)
            for p in range(a, P + 1):
                for q in range(b, Q + 1):
                    sums[(p, q)] |= {key(s + part) for s in sums[(p - a, q - b)]}
    return np.array(sorted(float(s) / len(y) for s in sums[(P, Q)]))
