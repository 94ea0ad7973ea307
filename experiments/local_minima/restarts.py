"""The restarts part of local_minima: every width and restart trained per hidden
activation, and what each end point is.

Rows of kind ``restart`` (one per network), ``checkpoint`` (solved count per
width after each stretch of training) and ``trace`` (loss and weight norm of every
network after each stretch); see the package docstring for the columns. The
restarts train in ``exp.dtype`` (``training.precision``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from nnlab import landscape
from experiments.local_minima.training import (DTYPES, OUTPUT, Networks, Stretches, networks, precision,
                                               task_data, train_in_stretches)

FRONT = ["part", "kind", "task", "n", "hidden", "width", "restart"]  # the columns that name a row


def nearest_level(losses: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The plateau level each loss is near (within min(0.01, a quarter of the smallest gap
    between levels)), NaN where none is. losses: (M,), levels: (K,) sorted -> (M,)."""
    if len(levels) == 0:
        return np.full(len(losses), np.nan)
    tol = min(0.01, np.min(np.diff(levels)) / 4) if len(levels) > 1 else 0.01
    gap = np.abs(losses[:, None] - levels[None, :])
    near = levels[np.argmin(np.where(np.isnan(gap), np.inf, gap), axis=1)]
    return np.where(np.abs(losses - near) <= tol, near, np.nan)


def solved_at_checkpoints(exp, s: Stretches) -> np.ndarray:
    """(C + 1, M) whether each network is solved at steps 0, L, ..., C L: boolean tasks,
    every output within 0.5 of its target; article, loss at most exp.target_loss."""
    return s.losses <= exp.target_loss if exp.task == "article" else s.accuracy == 1


def rows(exp, seed: int, hiddens: list[str], update) -> pd.DataFrame:
    """The restart, checkpoint and trace rows of every hidden activation, trained in
    exp.dtype; ``update()`` after each stretch of training and after each activation's
    curvature."""
    with precision(exp):
        return _rows(exp, seed, hiddens, update)


def _rows(exp, seed: int, hiddens: list[str], update) -> pd.DataFrame:
    x, y, function = task_data(exp.task, exp.n, seed)
    levels = (landscape.constant_output_levels(y[:, 0], exp.loss)
              if exp.task != "article" and len(y) <= 16 else np.array([]))
    dtype = DTYPES[exp.dtype]
    x, y = x.astype(dtype), y.astype(dtype)
    nets = networks(exp, x.shape[1])
    key = jax.random.key(seed)
    init = nets.initial_params(key, exp.init, exp.init_scale, dtype)  # the same for every activation
    frames = []
    for hidden in hiddens:
        s = train_in_stretches(exp, key, x, y, nets.sizes, nets.restarts, hidden, init, nets.mask, update)
        curv = landscape.curvature(s.params, jnp.asarray(x), jnp.asarray(y), hidden, OUTPUT, exp.loss, nets.edges())
        update()
        units = landscape.unit_activity(s.params, x, hidden, nets.edges()) if hidden == "relu" else None
        common = {"task": exp.task, "n": x.shape[1], "hidden": hidden}
        frames += [_restart_rows(exp, nets, s, curv, levels, units).assign(function=function, **common),
                   _checkpoint_rows(exp, nets, s).assign(**common), _trace_rows(exp, nets, s).assign(**common)]
    df = pd.concat(frames, ignore_index=True)
    return df[FRONT + [c for c in df if c not in FRONT]]


def _restart_rows(exp, nets: Networks, s: Stretches, curv: landscape.Curvature, levels: np.ndarray,
                  units: tuple[np.ndarray, np.ndarray] | None) -> pd.DataFrame:
    """One row per network: its end point and what it is. units: (dead, linear) hidden
    units of each network (``landscape.unit_activity``), None (NA) for other than ReLU."""
    curv = landscape.Curvature(*(np.asarray(a, float) for a in curv))
    solved_at = solved_at_checkpoints(exp, s)[1:]  # (C, M)
    final, mid = s.losses[-1].astype(float), exp.checkpoints // 2
    with np.errstate(invalid="ignore", divide="ignore"):
        loss_drop = (s.losses[mid] - final) / np.maximum(final, np.finfo(s.losses.dtype).tiny)
    finite = ~s.diverged & np.isfinite(final) & np.isfinite(curv.grad_norm) & np.isfinite(curv.min_eig)
    status = landscape.classify(solved_at[-1], finite, curv.grad_norm, curv.min_eig, curv.max_eig,
                                loss_drop, exp.grad_tol, exp.hess_tol, exp.fall_tol)
    stretch = exp.steps // exp.checkpoints
    first_step = np.where(solved_at.any(axis=0), (np.argmax(solved_at, axis=0) + 1) * stretch, np.nan)
    pop = nets.population
    return pd.DataFrame({
        "part": "restarts", "kind": "restart", "width": np.repeat(nets.widths, nets.restarts),
        "restart": pop.restart_ids, "weights": np.repeat(nets.weights, nets.restarts),
        "final_loss": final, "accuracy": np.nan if exp.task == "article" else s.accuracy[-1],
        "solved": solved_at[-1], "grad_norm": curv.grad_norm, "min_hessian_eig": curv.min_eig,
        "max_hessian_eig": curv.max_eig, "status": np.asarray(landscape.STATUSES)[status],
        "loss_mid": s.losses[mid].astype(float), "loss_drop": loss_drop, "weight_norm": curv.weight_norm,
        "weight_norm_mid": s.weight_norm[mid].astype(float), "solved_mid": solved_at[mid - 1],
        "first_solved_step": first_step, "nearest_level": nearest_level(final, levels),
        "dead_units": pd.NA if units is None else units[0], "linear_units": pd.NA if units is None else units[1],
    })


def _checkpoint_rows(exp, nets: Networks, s: Stretches) -> pd.DataFrame:
    """Solved count of each width after every stretch (step 0: the initial weights)."""
    counts = solved_at_checkpoints(exp, s).reshape(exp.checkpoints + 1, len(nets.widths), nets.restarts).sum(axis=2)
    steps = np.arange(exp.checkpoints + 1) * (exp.steps // exp.checkpoints)
    return pd.DataFrame({
        "part": "restarts", "kind": "checkpoint", "width": np.repeat(nets.widths, len(steps)),
        "step": np.tile(steps, len(nets.widths)), "solved_count": counts.T.ravel(), "restarts_run": nets.restarts,
    })


def _trace_rows(exp, nets: Networks, s: Stretches) -> pd.DataFrame:
    """Loss and weight norm of every network after every stretch (step 0: the initial weights)."""
    steps = np.arange(exp.checkpoints + 1) * (exp.steps // exp.checkpoints)
    pop, C1 = nets.population, len(steps)
    return pd.DataFrame({
        "part": "restarts", "kind": "trace", "width": np.repeat(np.repeat(nets.widths, nets.restarts), C1),
        "restart": np.repeat(pop.restart_ids, C1), "step": np.tile(steps, len(pop.restart_ids)),
        "loss": s.losses.T.ravel().astype(float), "weight_norm": s.weight_norm.T.ravel().astype(float),
    })
