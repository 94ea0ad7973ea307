"""Part 4, dynamics (Saxe et al. 2014): full-batch GD on deep linear nets of depth 1..4
from a small, balanced init aligned with a linear teacher's modes (``dyn_init``: aligned),
and from small random, unaligned weights of the same initial mode strength in RMS
(random): simulated mode strengths against the closed form (depth 1 and 2) and the exact
GD recursion of the aligned start, loss by depth, and the steps each mode takes to reach
half its strength."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.plotting import seed_band, seed_count
from experiments.schema import as_list
from experiments.summary import per_seed
from experiments.deep_vs_flat.common import first_step, stack


def _mode_strengths(result: nnlab.TrainResult, V, U) -> np.ndarray:
    """(M, modes) strengths v_a^T W_1...W_L u_a of each trained net (all of one size: no padding)."""
    Ws = [np.asarray(layer["W"], np.float64) for layer in result.params]
    W = Ws[0]
    for Wl in Ws[1:]:
        W = W @ Wl
    return np.einsum("ia,mij,ja->ma", V, W, U)


def random_init(seed: int, i: int, sizes, u0: float) -> list:
    """Small random, unaligned weights of restart i: what ``nnlab.train`` with key(seed) draws
    for restart i (``init_mlp(fold_in(fold_in(key(seed), i), 0), sizes)``, normal), at the
    scale ``LI.random_init_scale`` that gives every mode strength an RMS of u0; no biases."""
    depth, d = len(sizes) - 1, sizes[0]
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), i), 0)
    params = nnlab.init_mlp(key, sizes, scale=LI.random_init_scale(u0, d, depth))
    return [{"W": np.asarray(layer["W"], np.float64), "b": np.zeros(len(layer["b"]))} for layer in params]


def _simulate(exp, x, y, sizes, init, lrs, V, U, seed: int):
    """Train every (init, u0, lr) net from ``init`` for dyn_steps steps, dyn_records calls of
    ``nnlab.train``, reading the mode strengths between calls. Returns u (M, records + 1,
    modes), loss (M, records + 1) and diverged (M,)."""
    chunk = exp.dyn_steps // exp.dyn_records
    M, records = len(lrs), exp.dyn_records
    u, loss, diverged = np.zeros((M, records + 1, len(V))), np.zeros((M, records + 1)), np.zeros(M, bool)
    u[:, 0] = [LI.mode_strengths(jax.tree.map(lambda a: a[m], init), V, U) for m in range(M)]
    params, mask = init, LI.zero_bias_mask(sizes)
    for k in range(records):
        result = nnlab.train(jax.random.key(seed), x, y, sizes=sizes, restarts=M, steps=chunk, lr=lrs,
                             hidden="identity", output="identity", mask=mask, init_params=params, records=1)
        loss[:, k] = np.asarray(result.history)[:, 0]
        diverged |= np.asarray(result.diverged)
        u[:, k + 1] = _mode_strengths(result, V, U)
        params = result.params
    loss[:, -1] = np.asarray(result.loss)
    return u, loss, diverged


def half_time(steps, u, s: float) -> float:
    """The step at which u first reaches s/2, interpolated linearly between recorded steps; NaN if never."""
    hits = np.flatnonzero(np.asarray(u) >= s / 2)
    if not hits.size:
        return np.nan
    k = hits[0]
    if k == 0:
        return float(steps[0])
    (t0, t1), (u0, u1) = steps[k - 1:k + 1], u[k - 1:k + 1]
    return float(t0 + (t1 - t0) * (s / 2 - u0) / (u1 - u0))


def shifted_reference(gd: np.ndarray, steps_at, u_sim, s: float) -> np.ndarray:
    """The exact GD recursion of the aligned start (every step, ``gd`` (T,)) shifted in time to
    fit the simulation (``u_sim`` at ``steps_at``): its shape without the stage-time shift.
    The shift is the whole number of steps, within two recording intervals of the difference
    of the s/2 times, that minimises the largest deviation; before its start the recursion
    holds its initial value. NaN if either never reaches s/2."""
    estimate = half_time(steps_at, u_sim, s) - half_time(np.arange(len(gd)), gd, s)
    if not np.isfinite(estimate):
        return np.full(len(steps_at), np.nan)
    every = int(steps_at[1] - steps_at[0]) if len(steps_at) > 1 else 1
    shifts = np.arange(round(estimate) - 2 * every, round(estimate) + 2 * every + 1)
    cand = gd[np.clip(steps_at[None, :] - shifts[:, None], 0, len(gd) - 1)]
    return cand[np.argmin(np.abs(cand - np.asarray(u_sim)[None, :]).max(axis=1))]


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """Per depth, init (aligned, random), (u0, lr), mode and recorded step: u_sim, u_theory
    (closed form from u0, depth <= 2, else NaN), u_gd (exact GD recursion of the aligned start
    from u0) (kind mode); the loss and the aligned GD recursion's (kind loss). All inits,
    u0 and lr of one depth train in one population; a random net is restart i of it."""
    s = np.asarray(as_list(exp.dyn_s), np.float64)
    d = len(s)
    rng = np.random.default_rng([seed, 6])
    V, U = LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d)
    x = LI.whitened_inputs(rng, exp.dyn_samples, d)
    y = (x @ LI.teacher(V, s, U)).astype(np.float32)
    x = x.astype(np.float32)
    combos = [(init, u0, lr) for init in as_list(exp.dyn_init) for u0 in as_list(exp.dyn_u0)
              for lr in as_list(exp.dyn_lr)]
    lrs = np.array([lr for _, _, lr in combos], np.float32)
    steps_at = np.arange(exp.dyn_records + 1) * (exp.dyn_steps // exp.dyn_records)
    out = []
    for depth in tqdm(as_list(exp.dyn_depths), desc="dynamics: depths", disable=not progress):
        sizes = [d] * (depth + 1)
        init = stack([LI.aligned_balanced_params(V, U, np.full(d, u0), depth) if kind == "aligned"
                      else random_init(seed, i, sizes, u0) for i, (kind, u0, _) in enumerate(combos)])
        u_sim, loss, diverged = _simulate(exp, x, y, sizes, init, lrs, V, U, seed)
        recursions = {}
        for i, (kind, u0, lr) in enumerate(combos):
            if (u0, lr) not in recursions:  # every step, twice as long: room to shift it
                recursions[u0, lr] = [LI.gd_mode_trajectory(s_a, u0, depth, lr, 2 * exp.dyn_steps) for s_a in s]
            gd_all = recursions[u0, lr]
            u_gd = np.stack([g[steps_at] for g in gd_all])
            for a in range(d):
                u_shifted = shifted_reference(gd_all[a], steps_at, u_sim[i, :, a], s[a])
                u_theory = (LI.saxe_mode(steps_at, s[a], u0, 1.0 / (2.0 * lr), depth) if depth <= 2
                            else np.full(len(steps_at), np.nan))
                out += [dict(part="dynamics", kind="mode", init=kind, depth=depth, mode=a, s=float(s[a]), u0=u0,
                             lr=lr, step=int(t), u_sim=float(us), u_theory=float(ut), u_gd=float(ug),
                             u_gd_shifted=float(uh), diverged=bool(diverged[i]))
                        for t, us, ut, ug, uh in zip(steps_at, u_sim[i, :, a], u_theory, u_gd[a], u_shifted)]
            loss_gd = np.sum((s[:, None] - u_gd) ** 2, axis=0)  # whitened, aligned: ||W - T||_F^2
            out += [dict(part="dynamics", kind="loss", init=kind, depth=depth, u0=u0, lr=lr, step=int(t),
                         loss=float(l_), loss_gd=float(lg), diverged=bool(diverged[i]))
                    for t, l_, lg in zip(steps_at, loss[i], loss_gd)]
    return out


def _with_init(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows written before random starts existed: all from the aligned start."""
    rows = rows.assign(init=rows["init"].fillna("aligned") if "init" in rows else "aligned")
    return rows if "u_gd_shifted" in rows or "u_sim" not in rows else rows.assign(u_gd_shifted=np.nan)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    """Per init, depth (and u0, lr): steps to half strength per mode (reference: the exact GD
    recursion of the aligned start), their shift from it, and the largest deviation from the
    closed form, from the GD recursion, and from the GD recursion shifted in time."""
    modes = d[d.kind == "mode"]
    if not len(modes):
        return [], {}
    modes = _with_init(modes)
    several = len(modes.groupby(["u0", "lr"])) > 1
    every = exp.dyn_steps // exp.dyn_records
    out, head = [], []
    order = {"aligned": 0, "random": 1}
    groups = sorted(modes.groupby(["init", "depth", "u0", "lr"]), key=lambda kv: (order[kv[0][0]], *kv[0][1:]))
    for (init, depth, u0, lr), g in groups:
        key = dict(part="dynamics", init=init, depth=int(depth), u0=u0, lr=lr)
        row = dict(init=init, depth=int(depth), **(dict(u0=u0, lr=lr) if several else {}))
        for s, m in sorted(g.groupby("s"), reverse=True):
            m = m.sort_values("step")
            steps, ref = first_step(m.step, m.u_sim >= s / 2), first_step(m.step, m.u_gd >= s / 2)
            row[f"s={s:g}"] = steps
            out.append(dict(key, s=s, quantity="steps until the mode reaches half its strength, u = s/2", value=steps,
                            reference=ref, note=f"recorded every {every} steps; "
                                                "reference: exact GD recursion of the aligned start"))
            if init != "aligned":
                out.append(dict(key, s=s, quantity="stage-time shift: steps to s/2 minus those of the aligned start",
                                value=steps - ref, reference=0.0,
                                note=f"aligned: exact GD recursion; both recorded every {every} steps"))
        theory, gd = ((g.u_sim - g.u_theory).abs() / g.s).max(), ((g.u_sim - g.u_gd).abs() / g.s).max()
        shifted = ((g.u_sim - g.u_gd_shifted).abs() / g.s).max()
        row |= {"closed form: max |u_sim - u| / s": theory, "GD recursion: max |u_sim - u| / s": gd,
                "GD recursion shifted to the same s/2 time": shifted}
        if np.isfinite(theory):
            out.append(dict(key, quantity="max |u_sim - u_closed_form| / s (Saxe et al. 2014)", value=theory,
                            reference=0.0, note="closed form from u0, tau = 1/(2 lr) steps"))
        out.append(dict(key, quantity="max |u_sim - u_exact_GD_recursion| / s", value=gd, reference=0.0,
                        note="recursion of the aligned start from u0; float32 simulation vs float64 recursion"))
        if np.isfinite(shifted):
            out.append(dict(key, quantity="max |u_sim - u_GD_recursion(t - shift)| / s, each mode shifted to its "
                                          "s/2 time", value=shifted, reference=0.0,
                            note="the shape of the aligned dynamics without the stage-time shift"))
        head.append(row)
    s_values = ", ".join(f"{v:g}" for v in sorted(modes.s.unique(), reverse=True))
    title = (f"dynamics: steps until each mode reaches half its strength (teacher s = {s_values}), by start and "
             f"depth, and the largest deviation from the closed form (depth <= 2), the exact GD recursion of the "
             f"aligned start, and that recursion shifted in time to each mode's s/2 step (random: RMS mode strength u0)")
    if not several:
        title += f" (u0={modes.u0.iloc[0]:g}, lr={modes.lr.iloc[0]:g})"
    return out, {title: pd.DataFrame(head)}


def _axes_loss(ax, loss: pd.DataFrame, s_values, title: str) -> None:
    start = float(loss.loss.max())
    for k in range(1, len(s_values)):  # loss once the k strongest modes are learned
        ax.axhline(sum(v**2 for v in s_values[k:]), color="gray", lw=0.6, ls="--",
                   label="plateaus: strongest modes learned, weaker ones not" if k == 1 else None)
    for i, (depth, g) in enumerate(loss.groupby("depth")):
        seed_band(ax, g, "step", "loss", label=f"depth {int(depth)}" + (" (flat)" if depth == 1 else ""), color=f"C{i}")
        gd = g.groupby("step").loss_gd.mean()
        ax.plot(gd.index, gd.values, color="k", lw=0.7, ls=":", label="exact GD recursion" if i == 0 else None)
    ax.set_ylim(start * 1e-4, start * 2)
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="training loss ||W - T||_F^2", title=title)
    ax.legend(fontsize=8)


def _axes_modes(ax, modes: pd.DataFrame, s_values) -> None:
    deeper = [int(v) for v in sorted(modes.depth.unique()) if v > 2]
    for i, s in enumerate(s_values):
        for depth, marker in ((1, "^"), (2, "o")):
            g = modes[(modes.depth == depth) & (modes.s == s)]
            if len(g):
                sim = g.groupby("step").u_sim.mean()
                ax.plot(sim.index, sim.values, ls="none", marker=marker, ms=3, color=f"C{i}", alpha=0.8)
                theory = g.groupby("step").u_theory.mean()
                ax.plot(theory.index, theory.values, color=f"C{i}", lw=1.2, ls="-" if depth == 2 else ":")
        for depth in deeper:
            g = modes[(modes.depth == depth) & (modes.s == s)].groupby("step").u_sim.mean()
            ax.plot(g.index, g.values, color=f"C{i}", lw=0.9, ls="--", alpha=0.7)
    handles = [Line2D([], [], color=f"C{i}", lw=4, label=f"mode s = {s:g}") for i, s in enumerate(s_values)]
    handles += [Line2D([], [], color="k", marker="^", ls=":", ms=4, label="depth 1: simulated, closed form"),
                Line2D([], [], color="k", marker="o", ls="-", ms=4,
                       label="depth 2: simulated, closed form (Saxe et al.)")]
    if deeper:
        handles.append(Line2D([], [], color="k", ls="--", label="depth " + ", ".join(map(str, deeper)) + ": simulated"))
    ax.legend(handles=handles, fontsize=8, loc="center right")
    ax.set(xlabel="gradient-descent step", ylabel="mode strength u(t) = v_a^T W_L...W_1 u_a",
           title="mode strengths vs closed form (tau = 1/(2 lr) steps)"
           + (f"; mean over {seed_count(modes)} seeds" if seed_count(modes) > 1 else ""))


def _figure_random(modes: pd.DataFrame, s_values, u0: float, lr: float) -> plt.Figure:
    """One panel per depth: mode strengths from the small random start (one line per seed)
    against the aligned start's closed form (depth <= 2) or exact GD recursion (deeper)."""
    depths = sorted(int(v) for v in modes.depth.unique())
    fig, axes = plt.subplots(1, len(depths), figsize=(3.6 * len(depths) + 0.8, 4.3), sharey=True, squeeze=False)
    for ax, depth in zip(axes[0], depths):
        g = modes[modes.depth == depth]
        for i, s in enumerate(s_values):
            m = g[g.s == s]
            for _, run in per_seed(m):
                run = run.sort_values("step")
                ax.plot(run.step, run.u_sim, color=f"C{i}", lw=1.3, alpha=0.85 if seed_count(m) == 1 else 0.5)
            ref = m.groupby("step")["u_theory" if depth <= 2 else "u_gd"].mean()
            ax.plot(ref.index, ref.values, color=f"C{i}", lw=1.0, ls="--")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set(xlabel="gradient-descent step", title=f"depth {depth}")
    axes[0, 0].set_ylabel("mode strength u = v_a^T W_L...W_1 u_a")
    handles = [Line2D([], [], color=f"C{i}", lw=4, label=f"mode s = {s:g}") for i, s in enumerate(s_values)]
    seeds = seed_count(modes)
    handles += [Line2D([], [], color="k", lw=1.3, label="small random start, simulated"
                       + (f" (one line per seed, {seeds} seeds)" if seeds > 1 else "")),
                Line2D([], [], color="k", lw=1.0, ls="--",
                       label="aligned start: closed form (depth <= 2), exact GD recursion (deeper)")]
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(handles))
    fig.suptitle(f"mode strengths from small random weights (i.i.d. normal, RMS mode strength u0 = {u0:g}, "
                 f"lr = {lr:g}) vs the aligned, balanced start of the same u0", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Loss by depth (mean and range over seeds) and mode strengths vs the closed form,
    for the aligned start and the smallest u0 and lr of the run; the modes from the small
    random start against the aligned closed form (dynamics_random)."""
    modes = d[d.kind == "mode"]
    if not len(modes):
        return {}
    u0, lr = modes.u0.min(), modes.lr.min()
    pick = lambda rows, init: _with_init(rows[(rows.u0 == u0) & (rows.lr == lr)]).query("init == @init")
    s_values = sorted(modes.s.unique(), reverse=True)
    out = {}
    aligned, loss = pick(modes, "aligned"), pick(d[d.kind == "loss"], "aligned")
    if len(aligned):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
        _axes_loss(ax1, loss, s_values, f"loss by depth: teacher s = {', '.join(f'{v:g}' for v in s_values)} "
                                        f"(u0={u0:g}, lr={lr:g})")
        _axes_modes(ax2, aligned, s_values)
        fig.tight_layout()
        out["dynamics"] = fig
    random = pick(modes, "random")
    if len(random):
        out["dynamics_random"] = _figure_random(random, s_values, u0, lr)
    return out
