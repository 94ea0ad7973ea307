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
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import bruteforce, landscape, stats
from nnlab import graph as G
from experiments.results import sweep_columns
from experiments.schema import ConfigError, Field, as_list

TASKS = ("xor", "parity", "random", "article")
HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUT = "sigmoid"
ARTICLE_POINTS = 16
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

STATUS_COLOURS = {"solved": "#4daf4a", "local_min": "#e41a1c", "saddle_or_plateau": "#ff7f00", "diverged": "0.5"}


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


# ---------------------------------------------------------------- tasks and networks

def bits(n: int) -> np.ndarray:
    """All 2^n inputs, row i holding bits x_j = (i >> j) & 1. -> (2^n, n) float32."""
    i = np.arange(2**n)
    return ((i[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float32)


def task_data(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Training set (x (N, n_in), y (N, 1), float32) and a name for the target function."""
    if task in ("xor", "parity"):
        x = bits(2 if task == "xor" else n)
        y = (x.sum(axis=1, keepdims=True) % 2).astype(np.float32)
        return x, y, "parity"
    if task == "random":
        x = bits(n)
        truth = np.random.default_rng([seed, n]).integers(0, 2, 2**n)
        return x, truth[:, None].astype(np.float32), hex(int(sum(int(b) << i for i, b in enumerate(truth))))
    x = np.linspace(-1, 1, ARTICLE_POINTS, dtype=np.float32)[:, None]
    return x, (0.1 + 0.8 * np.exp(-8 * x**2)).astype(np.float32), "bump"


def padded_mask(n_in: int, width: int, padded_width: int) -> list[dict]:
    """0/1 mask of a [n_in, width, 1] net stored as [n_in, padded_width, 1]."""
    unit = (np.arange(padded_width) < width).astype(np.float32)
    return [{"W": np.tile(unit, (n_in, 1)), "b": unit}, {"W": unit[:, None], "b": np.ones(1, np.float32)}]


def initial_params(seed: int, sizes, width_of, restart_of, scales, mask, init: str):
    """Initial weights of R networks of layer sizes ``sizes``, masked; leading axis R.

    Network k (width ``width_of[k]``, restart ``restart_of[k]``) draws all its weights
    at once from the key fold_in(fold_in(fold_in(key(seed), 0), width), restart):
    uniform(-s, s) or N(0, s^2) as ``init_mlp`` draws them, with s = scales[k, layer].
    One draw per network, in one compiled program for all widths (``init_mlp``'s
    per-layer key splits take seconds to compile on a CPU). mask: shared or (R, ...).
    """
    per_restart = mask[0]["W"].ndim == 3
    return _draw(jax.random.key(seed), jnp.asarray(width_of), jnp.asarray(restart_of),
                 jnp.asarray(scales, jnp.float32), mask, tuple(int(s) for s in sizes), init, per_restart)


@partial(jax.jit, static_argnames=("sizes", "init", "per_restart"))
def _draw(key, width_of, restart_of, scales, mask, sizes, init, per_restart):
    blocks = [(a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])]

    def one(w, i, s, m):
        k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, 0), w), i)
        if init == "uniform":
            u = jax.random.uniform(k, (sum(blocks),), jnp.float32, -1.0, 1.0)
        else:
            u = jax.random.normal(k, (sum(blocks),), jnp.float32)
        params, start = [], 0
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            block = s[layer] * u[start:start + blocks[layer]].reshape(a + 1, b)  # last row: bias weights
            params.append({"W": block[:-1], "b": block[-1]})
            start += blocks[layer]
        return nnlab.apply_mask(params, m)

    return jax.vmap(one, in_axes=(0, 0, 0, 0 if per_restart else None))(width_of, restart_of, scales, mask)


def init_scales(scale, fan_ins) -> np.ndarray:
    """(R, layers) init scale per network and layer: ``scale``, or 1/sqrt(true fan-in)."""
    fan_ins = np.asarray(fan_ins, float)
    return (1 / np.sqrt(fan_ins) if scale is None else np.full(fan_ins.shape, float(scale))).astype(np.float32)


def continued_schedule(schedule: str, lr: float, t0: float, start: int) -> tuple[float, float]:
    """(lr', t0') such that step t of a new run is step start + t of the original schedule."""
    if schedule == "constant":
        return lr, t0
    if schedule == "inverse_time":  # lr t0 / (t0 + start + t)
        return lr * t0 / (t0 + start), t0 + start
    if schedule == "inverse_sqrt":  # lr sqrt(t0 / (t0 + start + t))
        return lr * np.sqrt(t0 / (t0 + start)), t0 + start
    raise ValueError(f"schedule {schedule!r} cannot be continued")


def _outputs(params, x, hidden, mask):
    return nnlab.forward(params, x, hidden, OUTPUT, mask)


_outputs_many = jax.jit(jax.vmap(_outputs, in_axes=(0, None, None, 0)), static_argnames="hidden")
_outputs_shared = jax.jit(jax.vmap(_outputs, in_axes=(0, None, None, None)), static_argnames="hidden")


def accuracy(params, x, y, hidden, mask, per_restart: bool) -> np.ndarray:
    """(R,) fraction of training points whose output is within 0.5 of its target."""
    out = (_outputs_many if per_restart else _outputs_shared)(params, x, hidden, mask)
    return np.mean(np.abs(np.asarray(out) - y[None]) < 0.5, axis=(1, 2))


class Stretches(NamedTuple):
    params: list  # final weights, leading axis R
    losses: np.ndarray  # (C + 1, R) training loss at steps 0, L, 2L, ..., C L
    accuracy: np.ndarray  # (C + 1, R) fraction of points within 0.5 of the target, same steps
    weight_norm: np.ndarray  # (C + 1, R) ||w||_2, same steps
    diverged: np.ndarray  # (R,) nnlab.train's flag in any stretch: loss or weights NaN/inf, or weights blown up


@jax.jit
def _weight_norms(params):
    return jnp.sqrt(sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in jax.tree.leaves(params)))


def train_in_stretches(exp, seed, x, y, sizes, hidden, init, mask, ids, per_restart, on_stretch=None) -> Stretches:
    """Train from ``init`` (masked weights, leading axis R) for exp.steps steps in
    exp.checkpoints equal stretches of L steps, recording every restart after each.

    The schedule continues exactly across stretches (``continued_schedule``);
    minibatch orders are drawn afresh per stretch (key fold_in(fold_in(key(seed), 1), stretch)).
    """
    C, L = exp.checkpoints, exp.steps // exp.checkpoints
    root = jax.random.fold_in(jax.random.key(seed), 1)
    params = init
    losses, accs, norms = [], [accuracy(init, x, y, hidden, mask, per_restart)], [np.asarray(_weight_norms(init))]
    diverged = np.zeros(len(ids), bool)
    for c in range(C):
        lr, t0 = continued_schedule(exp.schedule, float(exp.lr), float(exp.t0), c * L)
        result = nnlab.train(
            jax.random.fold_in(root, c), x, y, sizes=sizes, restarts=len(ids), steps=L,
            lr=np.asarray(lr, x.dtype), schedule=exp.schedule, hidden=hidden, output=OUTPUT, loss=exp.loss,
            batch_size=exp.batch_size, t0=np.asarray(t0, x.dtype), records=1, mask=mask, restart_ids=ids,
            init_params=params,
        )
        if c == 0:
            losses.append(np.asarray(result.history[:, 0]))
        params = result.params
        diverged |= np.asarray(result.diverged)
        losses.append(np.asarray(result.loss))
        accs.append(accuracy(params, x, y, hidden, mask, per_restart))
        norms.append(np.asarray(_weight_norms(params)))
        if on_stretch is not None:
            on_stretch()
    return Stretches(params, np.stack(losses), np.stack(accs), np.stack(norms), diverged)


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


def nearest_level(losses: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The plateau level each loss is near (within min(0.01, a quarter of the smallest gap
    between levels)), NaN where none is."""
    if len(levels) == 0:
        return np.full(len(losses), np.nan)
    tol = min(0.01, np.min(np.diff(levels)) / 4) if len(levels) > 1 else 0.01
    gap = np.abs(losses[:, None] - levels[None, :])
    near = levels[np.argmin(np.where(np.isnan(gap), np.inf, gap), axis=1)]
    return np.where(np.abs(losses - near) <= tol, near, np.nan)


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


# ---------------------------------------------------------------- summary

def _variants(df: pd.DataFrame) -> list[str]:
    """Config columns swept across the runs in ``df`` (besides seed), that split the analysis."""
    if "run_dir" not in df:
        return []
    # the brute-force grid does not touch the restarts
    return [c for c in sweep_columns(df) if c not in ("seed", "hidden", "widths", "task", "n", "grid_q", "grid_range")]


def _level_name(value: float) -> str:
    frac = Fraction(value).limit_denominator(64)
    return str(frac) if abs(float(frac) - value) < 1e-9 else f"{value:.4g}"


def _stuck_levels(group: pd.DataFrame, top: int = 3) -> str:
    """The loss values where the unsolved, finite runs collect, most common first."""
    stuck = group[group.status.isin(["local_min", "saddle_or_plateau"])]
    if stuck.empty:
        return ""
    labels = [f"~{_level_name(level)}" if abs(loss - level) < 0.01 else f"{loss:.3g}"  # NaN level: not near
              for loss, level in zip(stuck.final_loss, stuck.nearest_level)]
    counts = pd.Series(labels).value_counts()
    return ", ".join(f"{k} x{v}" for k, v in counts.head(top).items())


def _scientific(value: int) -> str:
    """An exact integer too large for a float, as 'd.ddde+N'."""
    digits = str(value)
    return f"{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"


def _fraction(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else np.nan


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    runs = df[df.part == "restart"].astype({"solved": bool, "solved_mid": bool})
    brute = df[df.part == "bruteforce"]
    keys = ["seed"] * ("seed" in df and df.seed.nunique() > 1) + _variants(df) + ["task", "n", "hidden", "width"]
    out = []
    for key, g in runs.groupby(keys, sort=True):
        rec = dict(zip(keys, key))
        total, solved = len(g), int(g.solved.sum())
        p = solved / total
        lo, hi = stats.wilson_interval(solved, total)
        steps = int(g.steps.iloc[0])
        tol = {k: float(g[k].iloc[0]) for k in ("hess_tol", "fall_tol")}
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        mean_solve = g.first_solved_step[g.solved].mean() if solved else np.nan
        rec.update({
            "restarts": total, "solved": solved, "p": p, "p_low95": float(lo), "p_high95": float(hi),
            "stuck_mid": 1 - g.solved_mid.mean(), "stuck": 1 - p,
            "local_min": (g.status == "local_min").mean(),
            "saddle_or_plateau": (g.status == "saddle_or_plateau").mean(),
            "diverged": (g.status == "diverged").mean(),
            "stuck_levels": _stuck_levels(g),
            "stuck_negative_curvature": _fraction(stuck.min_hessian_eig < -tol["hess_tol"] * np.maximum(1, stuck.max_hessian_eig.abs())),
            "stuck_loss_falling": _fraction(stuck.loss_drop > tol["fall_tol"]),
            "stuck_grad_norm_median": stuck.grad_norm.median(),
            "stuck_min_eig_median": stuck.min_hessian_eig.median(),
            "stuck_weight_growth_median": (stuck.weight_norm / stuck.weight_norm_mid - 1).median(),
            "steps_to_success": stats.expected_steps_to_success(p, steps),
            "steps_to_success_early_stop": stats.expected_steps_to_success(p, steps, mean_solve),
            "restarts_for_99pct": stats.restarts_for_confidence(p, 0.99),
            "weights": int(g.weights.iloc[0]),
            "bruteforce_64bit_rounds": _scientific(bruteforce.article_rounds(int(g.weights.iloc[0]))),
        })
        b = brute[(brute.hidden == rec["hidden"]) & (brute.width == rec["width"]) & (brute.task == rec["task"])]
        if "seed" in rec:
            b = b[b.seed == rec["seed"]]
        if len(b):
            rec.update({"grid_networks": b.grid_networks.iloc[0], "grid_best_loss": b.grid_best_loss.iloc[0],
                        "grid_solved_fraction": b.grid_solved.iloc[0] / b.grid_networks.iloc[0]})
        out.append(rec)
    return pd.DataFrame(out)


# ---------------------------------------------------------------- figures

def _title(rec: dict, variants: list[str]) -> str:
    title = f"{rec['task']}" + (f" n={rec['n']}" if rec["task"] in ("parity", "random") else "") + f", {rec['hidden']}"
    return title + "".join(f", {k}={rec[k]}" for k in variants)


def _panels(df: pd.DataFrame, part: str = "restart"):
    """(title, rows) per panel: one per (task, n, hidden) and swept variant."""
    rows = df[df.part == part]
    if part == "restart":
        rows = rows.astype({"solved": bool, "solved_mid": bool})
    variants = _variants(df)
    keys = variants + ["task", "n", "hidden"]
    for key, g in rows.groupby(keys, sort=False):
        yield _title(dict(zip(keys, key)), variants), g


def _tight(fig: plt.Figure) -> None:
    """tight_layout that leaves room for the suptitle (about 0.4 inch)."""
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))


def _panel_axes(n_panels: int, rows_per_panel: int, width: float, height: float, **kw):
    """A figure with up to 3 panels per row, each panel ``rows_per_panel`` axes tall.
    Returns (fig, axes) with axes[panel][row]; unused axes are hidden."""
    cols = min(3, n_panels)
    grid_rows = -(-n_panels // cols)
    fig, axes = plt.subplots(grid_rows * rows_per_panel, cols, figsize=(width * cols, height * grid_rows),
                             squeeze=False, **kw)
    panels = [[axes[(k // cols) * rows_per_panel + r][k % cols] for r in range(rows_per_panel)]
              for k in range(grid_rows * cols)]
    for unused in panels[n_panels:]:
        for ax in unused:
            ax.set_visible(False)
    return fig, panels[:n_panels]


def _success_figure(df: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    many = df.seed.nunique() > 1 if "seed" in df else False
    for i, (title, g) in enumerate(_panels(df)):
        per_seed = g.groupby(["seed", "width"] if "seed" in g else ["width"]).solved.agg(["sum", "count"]).reset_index()
        by_width = per_seed.groupby("width")
        widths = np.array(sorted(per_seed.width.unique()))
        if many:
            frac = per_seed.assign(p=per_seed["sum"] / per_seed["count"]).groupby("width").p
            mean, low, high = frac.mean().values, frac.min().values, frac.max().values
        else:
            s, n = by_width["sum"].sum().values, by_width["count"].sum().values
            mean = s / n
            low, high = stats.wilson_interval(s, n)
        ax.errorbar(widths, mean, yerr=[mean - low, high - mean], marker="o", capsize=4, color=f"C{i}", label=title)
    ax.set(xscale="log", xlabel="hidden width (neurons)", ylabel="success probability p per restart",
           ylim=(-0.02, 1.02),
           title="success probability vs width" + (" (mean, range over seeds)" if many else " (95% Wilson intervals)"))
    ticks = sorted(df[df.part == "restart"].width.unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="task, hidden activation", title_fontsize=8)
    _tight(fig)
    return fig


def _best_of_k_figure(df: pd.DataFrame) -> plt.Figure:
    panels = list(_panels(df))
    fig, axes = _panel_axes(len(panels), 1, 4.6, 4.0)
    for (ax,), (title, g) in zip(axes, panels):
        for i, (width, gw) in enumerate(g.groupby("width")):
            curves, ps = [], []
            for s, gs in (gw.groupby("seed") if "seed" in gw else [(0, gw)]):
                ks = np.unique(np.geomspace(1, len(gs), 60).astype(int))
                rng = np.random.default_rng(int(s))
                curves.append(stats.best_of_k_resampled(gs.solved.values, ks, 4000, rng))
                ps.append(gs.solved.mean())
            n_min = min(len(c) for c in curves)
            curves = np.array([c[:n_min] for c in curves])
            ks = ks[:n_min]
            ax.plot(ks, curves.mean(axis=0), color=f"C{i}", lw=2, label=f"width {width}: resampled")
            if len(curves) > 1:
                ax.fill_between(ks, curves.min(axis=0), curves.max(axis=0), color=f"C{i}", alpha=0.2)
            ax.plot(ks, stats.best_of_k_geometric(np.mean(ps), ks), "--", color="k", lw=0.8, zorder=3,
                    label="$1-(1-p)^K$, p = success fraction" if i == len(g.width.unique()) - 1 else None)
        ax.set(xscale="log", xlabel="restarts K (keep the best)", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel("P(at least one of K restarts solves)")
    fig.suptitle("best of K restarts: resampled from the runs vs independent restarts", fontsize=10)
    _tight(fig)
    return fig


def _histogram_figure(df: pd.DataFrame) -> plt.Figure:
    """Top: all final losses (log scale). Bottom: the unsolved runs only, on a linear scale,
    where they pile up at a few loss values (dotted: the levels of ``constant_output_levels``)."""
    panels = list(_panels(df))
    fig, axes = _panel_axes(len(panels), 2, 4.8, 6.6)
    statuses = list(STATUS_COLOURS)
    for (top, bottom), (title, g) in zip(axes, panels):
        losses = g.final_loss.where(np.isfinite(g.final_loss))
        low = max(float(np.nanmin(losses[losses > 0])) if (losses > 0).any() else 1e-8, 1e-12)
        high = max(float(np.nanmax(losses)) if losses.notna().any() else 1.0, low * 10) * 1.01
        data = [g.final_loss[g.status == s].clip(lower=low) for s in statuses]
        data[-1] = data[-1].fillna(high)  # diverged runs (NaN loss) at the right edge
        top.hist(data, bins=np.geomspace(low, high, 60), stacked=True, color=list(STATUS_COLOURS.values()),
                 label=[f"{s} ({len(d)})" for s, d in zip(statuses, data)])
        top.set(xscale="log", yscale="log", xlabel="final training loss", ylabel="restarts (all widths)", title=title)
        top.legend(fontsize=7, loc="upper center")
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        if stuck.empty:
            bottom.text(0.5, 0.5, "no stuck runs", transform=bottom.transAxes, ha="center")
        else:
            lo, hi = stuck.final_loss.min(), stuck.final_loss.max()
            pad = max(0.05 * (hi - lo), 0.01 * hi, 1e-6)
            bins = np.linspace(lo - pad, hi + pad, 80)
            bottom.hist([stuck.final_loss[stuck.status == s] for s in ("local_min", "saddle_or_plateau")], bins=bins,
                        stacked=True, color=[STATUS_COLOURS["local_min"], STATUS_COLOURS["saddle_or_plateau"]])
            near = (stuck.final_loss - stuck.nearest_level).abs() < 0.01
            for level in sorted(set(stuck.nearest_level[near])):
                count = int((near & (stuck.nearest_level == level)).sum())
                bottom.axvline(level, color="k", lw=0.7, ls=":")
                bottom.text(level, 0.97, f" {_level_name(level)}\n {count} runs", transform=bottom.get_xaxis_transform(),
                            fontsize=7, va="top")
        bottom.set(xlabel="final training loss of the unsolved runs", ylabel="restarts (all widths)")
    fig.suptitle("final losses by end-point status; the stuck runs collect at the loss levels of outputs "
                 "constant on groups of points (dotted)", fontsize=10)
    _tight(fig)
    return fig


def _level_labels(g: pd.DataFrame) -> pd.Series:
    """Each run's plateau level as text ('1/8'), or 'other' when its loss is not near one."""
    near = (g.final_loss - g.nearest_level).abs() < 0.01
    return pd.Series([_level_name(v) if ok else "other" for v, ok in zip(g.nearest_level, near)], index=g.index)


def _stuck_figure(df: pd.DataFrame) -> plt.Figure:
    """Gradient norm and late loss decrease against the smallest Hessian eigenvalue, stuck runs only."""
    from matplotlib.lines import Line2D

    panels = list(_panels(df))
    fig, axes = _panel_axes(len(panels), 2, 4.8, 7.0)
    runs = df[df.part == "restart"]
    tol = {k: (runs[k].iloc[0] if k in runs else None) for k in ("grad_tol", "hess_tol", "fall_tol")}
    floor = 1e-9
    markers = dict(zip(["1/8", "1/6", "1/4", "other"], "osD^"))
    for (top, bottom), (title, g) in zip(axes, panels):
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        levels = _level_labels(stuck)
        for (status, level), gs in stuck.groupby([stuck.status, levels]):
            style = dict(s=12, marker=markers.get(level, "v"), color=STATUS_COLOURS[status], alpha=0.55, lw=0)
            top.scatter(gs.min_hessian_eig, gs.grad_norm.clip(lower=floor), **style)
            bottom.scatter(gs.min_hessian_eig, gs.loss_drop.clip(lower=floor), **style)
        for ax in (top, bottom):
            ax.set_xscale("symlog", linthresh=1e-7)
            ax.set_yscale("log")
            ax.axvline(0, color="k", lw=0.6)
            if tol["hess_tol"] is not None:
                ax.axvline(-tol["hess_tol"], color="k", lw=0.6, ls=":")
            ax.grid(alpha=0.3)
        if tol["grad_tol"] is not None:
            top.axhline(tol["grad_tol"], color="k", lw=0.6, ls="--")
        if tol["fall_tol"] is not None:
            bottom.axhline(tol["fall_tol"], color="k", lw=0.6, ls="--")
        top.set(title=f"{title}: {len(stuck)} stuck of {len(g)}", ylabel="gradient norm at the end")
        bottom.set(xlabel="smallest Hessian eigenvalue", ylabel=f"relative loss decrease, 2nd half (floor {floor:g})")
        handles = [Line2D([], [], marker="o", lw=0, color=STATUS_COLOURS[s], label=f"{s} ({int((stuck.status == s).sum())})")
                   for s in ("local_min", "saddle_or_plateau")]
        handles += [Line2D([], [], marker=markers.get(l, "v"), lw=0, color="0.3", label=f"loss ~ {l} ({int((levels == l).sum())})"
                           if l != "other" else f"other loss ({int((levels == l).sum())})") for l in sorted(set(levels))]
        top.legend(handles=handles, fontsize=7, loc="best")
        if stuck.empty:
            top.text(0.5, 0.5, "no stuck runs", transform=top.transAxes, ha="center")
    fig.suptitle("what the stuck runs are (dashed: grad_tol and fall_tol; dotted: -hess_tol)", fontsize=10)
    _tight(fig)
    return fig


def _convergence_figure(df: pd.DataFrame) -> plt.Figure:
    panels = list(_panels(df, "checkpoint"))
    fig, axes = _panel_axes(len(panels), 1, 4.6, 3.8)
    for (ax,), (title, g) in zip(axes, panels):
        for i, (width, gw) in enumerate(g.groupby("width")):
            frac = (1 - gw.solved_count / gw.restarts_run).groupby(gw.step)
            ax.plot(frac.mean().index, frac.mean().values, marker=".", color=f"C{i}", label=f"width {width}")
            if "seed" in gw and gw.seed.nunique() > 1:
                ax.fill_between(frac.min().index, frac.min().values, frac.max().values, color=f"C{i}", alpha=0.2)
        ax.set(xlabel="SGD step", ylabel="fraction of restarts not solved", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("stuck fraction vs SGD steps: a flat end means more steps would not change it", fontsize=10)
    _tight(fig)
    return fig


def figures(df: pd.DataFrame) -> dict[str, plt.Figure]:
    return {
        "success": _success_figure(df),
        "best_of_k": _best_of_k_figure(df),
        "loss_histogram": _histogram_figure(df),
        "stuck_points": _stuck_figure(df),
        "convergence": _convergence_figure(df),
    }
