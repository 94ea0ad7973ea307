"""Part 4, dynamics: full-batch GD on deep linear nets of depth 1..4 from a small,
balanced init aligned with a linear teacher's modes: simulated mode strengths against
the closed form of Saxe et al. (2014) and the exact GD recursion; and the l4-loss
regression of Arora, Cohen & Hazan (2018), depth 1 vs 2 vs 3, each at its best step
size from a grid, steps to reach the target loss."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.schema import as_list
from experiments.deep_vs_flat.common import fmt_steps, line_band


def _stack(params_list) -> list:
    """Restart-stacked float32 params from a list of per-restart params."""
    return jax.tree.map(lambda *a: np.stack(a).astype(np.float32), *params_list)


def _mode_strengths(params, V, U) -> np.ndarray:
    """(R, modes) strengths v_a^T W_1...W_L u_a of each of R stacked nets."""
    restarts = len(jax.tree.leaves(params)[0])
    return np.stack([LI.mode_strengths(jax.tree.map(lambda a: a[i], params), V, U) for i in range(restarts)])


def _saxe_rows(exp, seed: int, progress: bool) -> list[dict]:
    s = np.asarray(as_list(exp.dyn_s), np.float64)
    d = len(s)
    rng = np.random.default_rng([seed, 6])
    V, U = LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d)
    x = LI.whitened_inputs(rng, exp.dyn_samples, d)
    y = (x @ LI.teacher(V, s, U)).astype(np.float32)
    x = x.astype(np.float32)
    combos = [(u0, lr) for u0 in as_list(exp.dyn_u0) for lr in as_list(exp.dyn_lr)]
    lrs = np.array([lr for _, lr in combos], np.float32)
    chunk = exp.dyn_steps // exp.dyn_records
    steps_at = np.arange(exp.dyn_records + 1) * chunk
    rows = []
    for depth in tqdm(as_list(exp.dyn_depths), desc="dynamics: depths", disable=not progress):
        sizes = [d] * (depth + 1)
        params = _stack([LI.aligned_balanced_params(V, U, np.full(d, u0), depth) for u0, _ in combos])
        mask = LI.zero_bias_mask(sizes)
        u_sim = np.zeros((len(combos), exp.dyn_records + 1, d))
        loss = np.zeros((len(combos), exp.dyn_records + 1))
        diverged = np.zeros(len(combos), bool)
        for k in range(exp.dyn_records):
            u_sim[:, k] = _mode_strengths(params, V, U)
            result = nnlab.train(jax.random.key(seed), x, y, sizes=sizes, restarts=len(combos), steps=chunk,
                                 lr=lrs, hidden="identity", output="identity", mask=mask,
                                 init_params=params, records=1)
            loss[:, k] = np.asarray(result.history)[:, 0]
            diverged |= np.asarray(result.diverged)
            params = jax.tree.map(np.asarray, result.params)
        u_sim[:, -1] = _mode_strengths(params, V, U)
        loss[:, -1] = np.asarray(result.loss)
        for i, (u0, lr) in enumerate(combos):
            tau = 1.0 / (2.0 * lr)
            for a in range(d):
                u_gd = LI.gd_mode_trajectory(s[a], u0, depth, lr, exp.dyn_steps)[steps_at]
                u_theory = LI.saxe_mode(steps_at, s[a], u0, tau, depth) if depth <= 2 else np.full(len(steps_at), np.nan)
                rows += [dict(part="dynamics", kind="mode", depth=depth, mode=a, s=float(s[a]), u0=u0, lr=lr,
                              step=int(t), u_sim=float(us), u_theory=float(ut), u_gd=float(ug),
                              diverged=bool(diverged[i]))
                         for t, us, ut, ug in zip(steps_at, u_sim[i, :, a], u_theory, u_gd)]
            u_gd_all = np.stack([LI.gd_mode_trajectory(s[a], u0, depth, lr, exp.dyn_steps)[steps_at] for a in range(d)])
            loss_gd = np.sum((s[:, None] - u_gd_all) ** 2, axis=0)  # whitened, aligned: ||W - T||_F^2
            rows += [dict(part="dynamics", kind="loss", depth=depth, u0=u0, lr=lr, step=int(t), loss=float(l_),
                          loss_gd=float(lg), diverged=bool(diverged[i]))
                     for t, l_, lg in zip(steps_at, loss[i], loss_gd)]
    return rows


def _l4_optimum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimiser of mean (x w - y)^4 by Newton's method (convex), float64."""
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    for _ in range(100):
        r = x @ w - y
        grad = 4 * x.T @ r**3 / len(y)
        hess = 12 * (x * (r**2)[:, None]).T @ x / len(y)
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.abs(step).max() < 1e-13 * (1 + np.abs(w).max()):
            break
    return w, float(np.mean((x @ w - y) ** 4))


def _l4_rows(exp, seed: int, progress: bool) -> list[dict]:
    rng = np.random.default_rng([seed, 7])
    d = exp.l4_dim
    scales = np.geomspace(1.0, 1.0 / exp.l4_condition, d)
    x = rng.normal(size=(exp.l4_samples, d)) * scales[None, :]
    w_star = rng.normal(size=d)
    y = x @ w_star + exp.l4_noise * rng.normal(size=exp.l4_samples)
    _, best = _l4_optimum(x, y)
    w0 = rng.normal(size=d)
    w0 *= exp.l4_init_norm / np.linalg.norm(w0)
    lrs = np.asarray(sorted(as_list(exp.l4_lrs)), np.float32)
    rows = []
    for depth in tqdm(as_list(exp.l4_depths), desc="dynamics: l4", disable=not progress):
        sizes = [d] + [1] * depth
        init = _stack([LI.balanced_vector_params(w0, depth)] * len(lrs))
        result = nnlab.train(jax.random.key(seed), x.astype(np.float32), y[:, None].astype(np.float32),
                             sizes=sizes, restarts=len(lrs), steps=exp.l4_steps, lr=lrs, hidden="identity",
                             output="identity", loss="l4", mask=LI.zero_bias_mask(sizes), init_params=init,
                             records=exp.l4_records)
        history = np.asarray(result.history, np.float64)
        steps_at = np.asarray(result.history_steps)
        final = np.asarray(result.loss, np.float64)
        target = (1 + exp.l4_tol) * best
        for i, lr in enumerate(lrs):
            curve = np.append(history[i], final[i])
            at = np.append(steps_at, exp.l4_steps)
            reached = np.flatnonzero(curve <= target)
            rows.append(dict(part="dynamics", kind="l4", depth=depth, lr=float(lr), optimal_loss=best,
                             target_loss=target, final_loss=float(final[i]),
                             steps_to_target=float(at[reached[0]]) if reached.size else np.nan,
                             diverged=bool(result.diverged[i])))
            rows += [dict(part="dynamics", kind="l4_curve", depth=depth, lr=float(lr), step=int(t),
                          loss=float(v), optimal_loss=best) for t, v in zip(at, curve)]
    return rows


def rows(exp, seed: int, progress: bool) -> pd.DataFrame:
    return pd.DataFrame(_saxe_rows(exp, seed, progress) + _l4_rows(exp, seed, progress))


def summary(d: pd.DataFrame) -> list[dict]:
    out = []
    modes = d[d.kind == "mode"]
    if len(modes):
        dev_theory = (modes.u_sim - modes.u_theory).abs() / modes.s
        dev_gd = (modes.u_sim - modes.u_gd).abs() / modes.s
        for depth in sorted(modes.depth.unique()):
            m = modes.depth == depth
            if dev_theory[m].notna().any():
                lrs = ", ".join(f"{v:g}" for v in sorted(modes[m].lr.unique()))
                out.append(dict(part="dynamics",
                                quantity=f"depth {int(depth)}: max |u_sim - u_closed_form| / s (Saxe et al. 2014)",
                                value=float(dev_theory[m].max()), reference=0.0,
                                note=f"lr {lrs}, tau = 1/(2 lr) steps; gradient flow vs GD steps"))
        out.append(dict(part="dynamics", quantity="max |u_sim - u_exact_GD_recursion| / s, all depths",
                        value=float(dev_gd.max()), reference=0.0, note="float32 simulation vs float64 recursion"))
        for (depth, u0, lr), g in modes.groupby(["depth", "u0", "lr"]):
            half = {s: g[(g.s == s) & (g.u_sim >= s / 2)].step.min() for s in sorted(g.s.unique())}
            t_weak, t_strong = half[min(half)], half[max(half)]
            out.append(dict(part="dynamics",
                            quantity=f"depth {int(depth)}: steps to u = s/2, weakest / strongest mode",
                            value=float(t_weak / t_strong) if t_strong > 0 else np.nan, reference=max(half) / min(half),
                            note="; ".join(f"s={s:g}: {fmt_steps(t)}" for s, t in half.items())
                                 + f" (u0={u0:g}, lr={lr:g}); reference: s_max/s_min"))
    l4 = d[d.kind == "l4"]
    if len(l4):
        best = {}
        for depth, g in l4.groupby("depth"):
            reached = g[g.steps_to_target.notna()]
            div = int(g.diverged.astype(bool).sum())
            if len(reached):
                i = reached.steps_to_target.idxmin()
                note = f"best lr {reached.lr[i]:g} of {len(g)} ({div} diverged)"
                if reached.lr[i] == g.lr.max():
                    note += ", at the top of the grid: extend exp.l4_lrs"
                best[depth] = (float(reached.steps_to_target[i]), note)
            else:
                ok = g[g.final_loss.notna()]
                note = f"not reached in {int(d.l4_steps.iloc[0]) if 'l4_steps' in d else '?'} steps"
                if len(ok):
                    i = ok.final_loss.idxmin()
                    note += f"; lowest final loss {ok.final_loss[i] / ok.optimal_loss[i]:.2f} x optimum at lr {ok.lr[i]:g}"
                best[depth] = (np.nan, note + f" ({div} of {len(g)} step sizes diverged)")
        base = best.get(1, (np.nan, ""))[0]
        for depth, (steps, note) in best.items():
            out.append(dict(part="dynamics",
                            quantity=f"l4 regression, depth {int(depth)}: steps to loss <= (1 + tol) x optimum",
                            value=steps, reference=base, note=note + "; reference: depth 1"))
    return out


def _figure_dynamics(d: pd.DataFrame) -> plt.Figure:
    from matplotlib.lines import Line2D

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    loss, modes = d[d.kind == "loss"], d[d.kind == "mode"]
    u0, lr = sorted(modes.u0.unique())[0], sorted(modes.lr.unique())[0]
    loss = loss[(loss.u0 == u0) & (loss.lr == lr)]
    modes = modes[(modes.u0 == u0) & (modes.lr == lr)]
    s_values = sorted(modes.s.unique(), reverse=True)
    start = float(loss.loss.max())
    for k in range(1, len(s_values)):  # loss once the k strongest modes are learned
        ax1.axhline(sum(v**2 for v in s_values[k:]), color="gray", lw=0.6, ls="--",
                    label="plateaus: strongest modes learned, weaker ones not" if k == 1 else None)
    for i, (depth, g) in enumerate(loss.groupby("depth")):
        line_band(ax1, g, "step", "loss", f"C{i}", label=f"depth {int(depth)}" + (" (flat)" if depth == 1 else ""))
        gd = g.groupby("step").loss_gd.mean()
        ax1.plot(gd.index, gd.values, color="k", lw=0.7, ls=":", label="exact GD recursion" if i == 0 else None)
    ax1.set_ylim(start * 1e-4, start * 2)
    ax1.set(yscale="log", xlabel="gradient-descent step", ylabel="training loss ||W - T||_F^2",
            title=f"loss by depth: teacher s = {', '.join(f'{v:g}' for v in s_values)} (u0={u0:g}, lr={lr:g})")
    ax1.legend(fontsize=8)
    deeper = [int(v) for v in sorted(modes.depth.unique()) if v > 2]
    for i, s in enumerate(s_values):
        for depth, marker in ((1, "^"), (2, "o")):
            g = modes[(modes.depth == depth) & (modes.s == s)]
            if len(g):
                sim = g.groupby("step").u_sim.mean()
                ax2.plot(sim.index, sim.values, ls="none", marker=marker, ms=3, color=f"C{i}", alpha=0.8)
                theory = g.groupby("step").u_theory.mean()
                ax2.plot(theory.index, theory.values, color=f"C{i}", lw=1.2, ls="-" if depth == 2 else ":")
        for depth in deeper:
            g = modes[(modes.depth == depth) & (modes.s == s)].groupby("step").u_sim.mean()
            ax2.plot(g.index, g.values, color=f"C{i}", lw=0.9, ls="--", alpha=0.7)
    handles = [Line2D([], [], color=f"C{i}", lw=4, label=f"mode s = {s:g}") for i, s in enumerate(s_values)]
    handles += [Line2D([], [], color="k", marker="^", ls=":", ms=4, label="depth 1: simulated, closed form"),
                Line2D([], [], color="k", marker="o", ls="-", ms=4, label="depth 2: simulated, closed form (Saxe et al.)")]
    if deeper:
        handles.append(Line2D([], [], color="k", ls="--", label="depth " + ", ".join(map(str, deeper)) + ": simulated"))
    ax2.legend(handles=handles, fontsize=8, loc="center right")
    ax2.set(xlabel="gradient-descent step", ylabel="mode strength u(t) = v_a^T W_L...W_1 u_a",
            title="mode strengths vs closed form (tau = 1/(2 lr) steps)")
    fig.tight_layout()
    return fig


def _figure_l4(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 4.5))
    l4, curves = d[d.kind == "l4"], d[d.kind == "l4_curve"]
    for i, (depth, g) in enumerate(l4.groupby("depth")):
        reached = g[g.steps_to_target.notna()]
        pool = reached if len(reached) else g[~g.diverged.astype(bool)]
        if not len(pool):
            continue
        # the step size that reaches the target first (else the lowest final loss), per seed
        keys = pool.groupby("seed" if "seed" in pool else "depth").apply(
            lambda h: h.lr.loc[(h.steps_to_target if len(reached) else h.final_loss).idxmin()], include_groups=False)
        sel = curves[(curves.depth == depth)]
        if "seed" in sel:
            sel = sel[[lr_ == keys.get(seed_, np.nan) for lr_, seed_ in zip(sel.lr, sel.seed)]]
        else:
            sel = sel[sel.lr == keys.iloc[0]]
        sel = sel.assign(excess=(sel.loss - sel.optimal_loss) / sel.optimal_loss)
        lrs = ", ".join(f"{v:g}" for v in sorted(set(keys.values)))
        line_band(ax, sel, "step", "excess", f"C{i}", label=f"depth {int(depth)} (best lr {lrs})")
    if len(l4):
        ax.axhline(float(l4.target_loss.iloc[0] / l4.optimal_loss.iloc[0] - 1), color="k", ls=":", lw=1, label="target")
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="(loss - optimum) / optimum",
           title="l4 linear regression: depth as an accelerator")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame) -> dict[str, plt.Figure]:
    figs = {}
    if (d.kind == "mode").any():
        figs["dynamics"] = _figure_dynamics(d)
    if (d.kind == "l4").any():
        figs["l4"] = _figure_l4(d)
    return figs
