"""Local minima and restarts: how often backprop gets stuck, what the stuck runs are,
and how many restarts it takes.

For each hidden activation, all widths and all restarts train in one compiled
program (``nnlab.train``): widths are padded to the widest and masked. Each
restart draws weights for its own width; the padded units start at zero and stay
masked, so a padded restart trains exactly like the unpadded network from the
same weights (tested). Training runs in ``checkpoints`` equal stretches (the same
compiled call, the schedule carried on exactly) and every restart is checked for
success after each stretch.

End points (``nnlab.landscape.classify``): ``solved`` (boolean tasks: every
output within 0.5 of its target; article: final loss <= target_loss); else
``saddle_or_plateau`` if the smallest Hessian eigenvalue is clearly negative
(< -hess_tol max(1, |largest|)), the gradient norm exceeds grad_tol, or the loss
still fell by more than the fraction fall_tol over the second half of training;
else ``local_min``; ``diverged`` when nnlab.train flags the run (loss or weights NaN/inf,
or a weight beyond 1e6 in magnitude: what an absurd step size does to sigmoid units).

Parts (column ``part``):
  restart     one row per restart: final loss, accuracy, solved, gradient norm,
              extreme Hessian eigenvalues, status, loss and weight norm at mid-training, ...
  checkpoint  solved count per (activation, width) after each stretch of training
  bruteforce  every 2-2-1 XOR network on a grid of q values per weight (task xor)

Modules: training.py (tasks, initial weights, training in stretches), summary.py
(the table), plots.py (the figures); this module holds the config schema and
runs the restarts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import bruteforce, landscape
from nnlab import graph as G
from experiments.local_minima.plots import figures
from experiments.local_minima.summary import nearest_level, summarize
from experiments.local_minima.training import (
    ARTICLE_POINTS, OUTPUT, init_scales, initial_params, padded_mask, task_data, train_in_stretches,
)
from experiments.schema import ConfigError, Field, as_list

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures", "task_data", "padded_mask", "init_scales",
           "initial_params", "train_in_stretches", "nearest_level"]

TASKS = ("xor", "parity", "random", "article")
HIDDEN = ("sigmoid", "tanh", "relu")
MAX_BITS = 8

SCHEMA = {
    "task": Field(str, choices=TASKS),
    "n": Field(int, low=1, high=MAX_BITS),
    "widths": Field(int, low=1, high=128, many=True),
    "hidden": Field(str, choices=HIDDEN, many=True),
    "restarts": Field(int, low=1, high=1_000_000),
    "steps": Field(int, low=1, high=10_000_000),
    "lr": Field(float, positive=True),
    "schedule": Field(str, choices=tuple(nnlab.SCHEDULES)),
    "t0": Field(float, positive=True),
    "batch_size": Field(int, low=1, nullable=True),
    "init": Field(str, choices=("uniform", "normal")),
    "init_scale": Field(float, positive=True, nullable=True),
    "loss": Field(str, choices=tuple(nnlab.LOSSES)),
    "checkpoints": Field(int, low=2, high=1000),
    "grad_tol": Field(float, positive=True),
    "hess_tol": Field(float, positive=True),
    "fall_tol": Field(float, positive=True),
    "target_loss": Field(float, positive=True),
    "grid_q": Field(int, low=0, high=12),
    "grid_range": Field(float, positive=True),
}


def check(exp) -> None:
    points = ARTICLE_POINTS if exp.task == "article" else 2 ** (2 if exp.task == "xor" else exp.n)
    if exp.batch_size is not None and exp.batch_size > points:
        raise ConfigError(f"exp.batch_size={exp.batch_size}: larger than the {points} training points of "
                          f"task {exp.task}; allowed: null or 1..{points}")
    if exp.steps % exp.checkpoints:
        raise ConfigError(f"exp.steps={exp.steps}: not a multiple of exp.checkpoints={exp.checkpoints}; "
                          f"allowed: a multiple of {exp.checkpoints}")
    if exp.grid_q == 1:
        raise ConfigError("exp.grid_q=1: a grid needs at least 2 values; allowed: 0 (no brute force) or 2..12")


# ---------------------------------------------------------------- compute

def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    x, y, function = task_data(exp.task, exp.n, seed)
    article = exp.task == "article"
    n_in, R = x.shape[1], exp.restarts
    widths = [2] if article else sorted(set(int(w) for w in as_list(exp.widths)))
    hiddens = list(dict.fromkeys(as_list(exp.hidden)))
    levels = (landscape.constant_output_levels(y[:, 0], exp.loss)
              if not article and len(y) <= 16 else np.array([]))
    grid = exp.grid_q > 0 and exp.task == "xor"
    bar = tqdm(total=len(hiddens) * (exp.checkpoints + 1) + (len(hiddens) if grid else 0),
               desc="local_minima", disable=not progress)
    rows, checkpoint_rows, init = [], [], None
    for hidden in hiddens:
        width_of, ids = np.repeat(widths, R), np.tile(np.arange(R), len(widths))
        if article:
            form = G.to_mlp(G.article_network(activation=hidden, output=OUTPUT))
            sizes, layer_hidden, per_restart = form.sizes, form.hidden, False
            mask = jax.tree.map(lambda m: jnp.asarray(m, jnp.float32), form.mask)
            n_weights = [nnlab.count_weights(form.params, form.mask)]
        else:
            sizes, layer_hidden, per_restart = [n_in, max(widths), 1], hidden, True
            # one mask per restart: the widths of one activation train in one program
            mask = jax.tree.map(lambda *m: jnp.asarray(np.repeat(np.stack(m), R, axis=0)),
                                *[padded_mask(n_in, w, max(widths)) for w in widths])
            n_weights = [bruteforce.count_weights([n_in, w, 1]) for w in widths]
        if init is None:  # the same initial weights for every activation
            fan_ins = [sizes[:-1]] * len(ids) if article else np.stack([np.full(len(ids), n_in), width_of], axis=1)
            init = initial_params(seed, sizes, width_of, ids, init_scales(exp.init_scale, fan_ins), mask, exp.init)
        params, losses, accs, norms, diverged = train_in_stretches(
            exp, seed, x, y, sizes, layer_hidden, init, mask, ids, per_restart, on_stretch=bar.update)
        curv = landscape.curvature(params, jnp.asarray(x), jnp.asarray(y), layer_hidden, OUTPUT, exp.loss, mask)
        curv = landscape.Curvature(*(np.asarray(a, float) for a in curv))
        bar.update()
        final = losses[-1].astype(float)
        if article:
            solved_at = losses[1:] <= exp.target_loss
            acc = np.full(len(ids), np.nan)
        else:
            solved_at = accs[1:] == 1
            acc = accs[-1]
        mid = exp.checkpoints // 2
        with np.errstate(invalid="ignore", divide="ignore"):
            loss_drop = (losses[mid] - final) / np.maximum(final, np.finfo(np.float32).tiny)
        finite = ~diverged & np.isfinite(final) & np.isfinite(curv.grad_norm) & np.isfinite(curv.min_eig)
        status = landscape.classify(solved_at[-1], finite, curv.grad_norm, curv.min_eig, curv.max_eig,
                                    loss_drop, exp.grad_tol, exp.hess_tol, exp.fall_tol)
        stretch = exp.steps // exp.checkpoints
        ever = solved_at.any(axis=0)
        first_step = np.where(ever, (np.argmax(solved_at, axis=0) + 1) * stretch, np.nan)
        nearest = nearest_level(final, levels)
        rows.append(pd.DataFrame({
            "part": "restart", "task": exp.task, "n": n_in, "width": width_of, "hidden": hidden,
            "restart": np.asarray(ids), "function": function, "weights": np.repeat(n_weights, R),
            "final_loss": final, "accuracy": acc, "solved": solved_at[-1],
            "grad_norm": curv.grad_norm, "min_hessian_eig": curv.min_eig, "max_hessian_eig": curv.max_eig,
            "status": np.asarray(landscape.STATUSES)[status],
            "loss_mid": losses[mid].astype(float), "loss_drop": loss_drop, "weight_norm": curv.weight_norm,
            "weight_norm_mid": norms[mid].astype(float),
            "solved_mid": solved_at[mid - 1], "first_solved_step": first_step, "nearest_level": nearest,
        }))
        solved_counts = np.concatenate([(accs[:1] == 1) if not article else losses[:1] <= exp.target_loss,
                                        solved_at]).reshape(exp.checkpoints + 1, len(widths), R).sum(axis=2)
        for k, w in enumerate(widths):
            checkpoint_rows.append(pd.DataFrame({
                "part": "checkpoint", "task": exp.task, "n": n_in, "width": w, "hidden": hidden,
                "step": np.arange(exp.checkpoints + 1) * stretch, "solved_count": solved_counts[:, k],
                "restarts_run": R,
            }))
    if grid:
        rows.append(_bruteforce_rows(exp, hiddens, bar.update))
    bar.close()
    return pd.concat(rows + checkpoint_rows, ignore_index=True)


def _bruteforce_rows(exp, hiddens, update) -> pd.DataFrame:
    x, y, _ = task_data("xor", 2, 0)
    values = bruteforce.grid_values(exp.grid_q, exp.grid_range)
    out = []
    for hidden in hiddens:
        result = bruteforce.grid_search(x, y, 2, values, hidden, OUTPUT, exp.loss)
        update()
        out.append({"part": "bruteforce", "task": "xor", "n": 2, "width": 2, "hidden": hidden,
                    "weights": bruteforce.count_weights([2, 2, 1]), "grid_networks": float(result.networks),
                    "grid_best_loss": result.best_loss, "grid_solved": float(result.solved)})
    return pd.DataFrame(out)
