"""Part 4, dynamics (Saxe et al. 2014): full-batch GD on deep linear nets of depth 1..4
from a small, balanced init aligned with a linear teacher's modes: simulated mode
strengths against the closed form (depth 1 and 2) and the exact GD recursion, loss by
depth, and the steps each mode takes to reach half its strength."""

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
from experiments.deep_vs_flat.common import first_step, stack


def _mode_strengths(result: nnlab.TrainResult, V, U) -> np.ndarray:
    """(M, modes) strengths v_a^T W_1...W_L u_a of each trained net."""
    return np.stack([LI.mode_strengths(result.network(m), V, U) for m in range(len(result.sizes))])


def _simulate(exp, x, y, sizes, init, lrs, V, U, seed: int):
    """Train every (u0, lr) net from ``init`` for dyn_steps steps, dyn_records calls of
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


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """Per depth, (u0, lr), mode and recorded step: u_sim, u_theory (closed form, depth <= 2,
    else NaN), u_gd (exact GD recursion) (kind mode); the loss and its GD recursion (kind loss)."""
    s = np.asarray(as_list(exp.dyn_s), np.float64)
    d = len(s)
    rng = np.random.default_rng([seed, 6])
    V, U = LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d)
    x = LI.whitened_inputs(rng, exp.dyn_samples, d)
    y = (x @ LI.teacher(V, s, U)).astype(np.float32)
    x = x.astype(np.float32)
    combos = [(u0, lr) for u0 in as_list(exp.dyn_u0) for lr in as_list(exp.dyn_lr)]
    lrs = np.array([lr for _, lr in combos], np.float32)
    steps_at = np.arange(exp.dyn_records + 1) * (exp.dyn_steps // exp.dyn_records)
    out = []
    for depth in tqdm(as_list(exp.dyn_depths), desc="dynamics: depths", disable=not progress):
        sizes = [d] * (depth + 1)
        init = stack([LI.aligned_balanced_params(V, U, np.full(d, u0), depth) for u0, _ in combos])
        u_sim, loss, diverged = _simulate(exp, x, y, sizes, init, lrs, V, U, seed)
        for i, (u0, lr) in enumerate(combos):
            u_gd = np.stack([LI.gd_mode_trajectory(s_a, u0, depth, lr, exp.dyn_steps)[steps_at] for s_a in s])
            for a in range(d):
                u_theory = (LI.saxe_mode(steps_at, s[a], u0, 1.0 / (2.0 * lr), depth) if depth <= 2
                            else np.full(len(steps_at), np.nan))
                out += [dict(part="dynamics", kind="mode", depth=depth, mode=a, s=float(s[a]), u0=u0, lr=lr,
                             step=int(t), u_sim=float(us), u_theory=float(ut), u_gd=float(ug),
                             diverged=bool(diverged[i]))
                        for t, us, ut, ug in zip(steps_at, u_sim[i, :, a], u_theory, u_gd[a])]
            loss_gd = np.sum((s[:, None] - u_gd) ** 2, axis=0)  # whitened, aligned: ||W - T||_F^2
            out += [dict(part="dynamics", kind="loss", depth=depth, u0=u0, lr=lr, step=int(t), loss=float(l_),
                         loss_gd=float(lg), diverged=bool(diverged[i]))
                    for t, l_, lg in zip(steps_at, loss[i], loss_gd)]
    return out


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    """Steps to half strength per depth and mode (reference: the exact GD recursion), and
    the largest deviation from the closed form and from the GD recursion per depth."""
    modes = d[d.kind == "mode"]
    if not len(modes):
        return [], {}
    several = len(modes.groupby(["u0", "lr"])) > 1
    out, head = [], []
    for (depth, u0, lr), g in modes.groupby(["depth", "u0", "lr"], sort=True):
        key = dict(part="dynamics", depth=int(depth), u0=u0, lr=lr)
        row = dict(depth=int(depth), **(dict(u0=u0, lr=lr) if several else {}))
        for s, m in sorted(g.groupby("s"), reverse=True):
            m = m.sort_values("step")
            steps = first_step(m.step, m.u_sim >= s / 2)
            row[f"s={s:g}"] = steps
            out.append(dict(key, s=s, quantity="steps until the mode reaches half its strength, u = s/2", value=steps,
                            reference=first_step(m.step, m.u_gd >= s / 2),
                            note=f"recorded every {exp.dyn_steps // exp.dyn_records} steps; "
                                 "reference: exact GD recursion"))
        theory, gd = ((g.u_sim - g.u_theory).abs() / g.s).max(), ((g.u_sim - g.u_gd).abs() / g.s).max()
        row |= {"closed form: max |u_sim - u| / s": theory, "GD recursion: max |u_sim - u| / s": gd}
        if np.isfinite(theory):
            out.append(dict(key, quantity="max |u_sim - u_closed_form| / s (Saxe et al. 2014)", value=theory,
                            reference=0.0, note="tau = 1/(2 lr) steps; gradient flow vs GD steps"))
        out.append(dict(key, quantity="max |u_sim - u_exact_GD_recursion| / s", value=gd, reference=0.0,
                        note="float32 simulation vs float64 recursion"))
        head.append(row)
    s_values = ", ".join(f"{v:g}" for v in sorted(modes.s.unique(), reverse=True))
    title = (f"dynamics: steps until each mode reaches half its strength (teacher s = {s_values}), by depth, "
             f"and the largest deviation from the closed form (depth <= 2) and the exact GD recursion")
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


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Loss by depth (mean and range over seeds) and mode strengths vs the closed form,
    for the smallest u0 and lr of the run."""
    modes = d[d.kind == "mode"]
    if not len(modes):
        return {}
    u0, lr = modes.u0.min(), modes.lr.min()
    pick = lambda rows: rows[(rows.u0 == u0) & (rows.lr == lr)]
    modes, loss = pick(modes), pick(d[d.kind == "loss"])
    s_values = sorted(modes.s.unique(), reverse=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    _axes_loss(ax1, loss, s_values, f"loss by depth: teacher s = {', '.join(f'{v:g}' for v in s_values)} "
                                    f"(u0={u0:g}, lr={lr:g})")
    _axes_modes(ax2, modes, s_values)
    fig.tight_layout()
    return {"dynamics": fig}
