"""Part 4, dynamics (Arora, Cohen & Hazan 2018): l4-loss linear regression by deep linear
nets d -> 1 -> ... -> 1 of depth 1, 2, 3 from the same balanced initial end-to-end
weights; each depth runs a grid of step sizes (as restarts of one ``nnlab.train`` call)
and keeps the one that reaches (1 + tol) x the optimal loss first."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.plotting import seed_band
from experiments.schema import as_list
from experiments.summary import per_seed
from experiments.deep_vs_flat.common import first_step, stack


def l4_optimum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimiser of mean (x w - y)^4 by Newton's method (convex), float64: (w (d,), loss)."""
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


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """Per depth and step size: final loss, steps to target, diverged (kind l4); its
    recorded losses (kind l4_curve)."""
    rng = np.random.default_rng([seed, 7])
    d = exp.l4_dim
    scales = np.geomspace(1.0, 1.0 / exp.l4_condition, d)
    x = rng.normal(size=(exp.l4_samples, d)) * scales[None, :]
    w_star = rng.normal(size=d)
    y = x @ w_star + exp.l4_noise * rng.normal(size=exp.l4_samples)
    _, best = l4_optimum(x, y)
    target = (1 + exp.l4_tol) * best
    w0 = rng.normal(size=d)
    w0 *= exp.l4_init_norm / np.linalg.norm(w0)
    lrs = np.asarray(sorted(as_list(exp.l4_lrs)), np.float32)
    out = []
    for depth in tqdm(as_list(exp.l4_depths), desc="dynamics: l4", disable=not progress):
        sizes = [d] + [1] * depth
        result = nnlab.train(jax.random.key(seed), x.astype(np.float32), y[:, None].astype(np.float32),
                             sizes=sizes, restarts=len(lrs), steps=exp.l4_steps, lr=lrs, hidden="identity",
                             output="identity", loss="l4", mask=LI.zero_bias_mask(sizes),
                             init_params=stack([LI.balanced_vector_params(w0, depth)] * len(lrs)),
                             records=exp.l4_records)
        at = np.append(np.asarray(result.history_steps), exp.l4_steps)
        curves = np.concatenate([np.asarray(result.history, np.float64),
                                 np.asarray(result.loss, np.float64)[:, None]], axis=1)
        for i, lr in enumerate(lrs):
            out.append(dict(part="dynamics", kind="l4", depth=depth, lr=float(lr), optimal_loss=best,
                            target_loss=target, final_loss=float(curves[i, -1]),
                            steps_to_target=first_step(at, curves[i] <= target), diverged=bool(result.diverged[i])))
            out += [dict(part="dynamics", kind="l4_curve", depth=depth, lr=float(lr), step=int(t), loss=float(v),
                         optimal_loss=best) for t, v in zip(at, curves[i])]
    return out


def best_lr(g: pd.DataFrame) -> float:
    """The step size of one depth's grid (rows of one seed) reaching the target first; if
    none does, the one with the lowest final loss among those that did not diverge (NaN: none)."""
    reached = g[g.steps_to_target.notna()]
    if len(reached):
        return float(reached.lr[reached.steps_to_target.idxmin()])
    ok = g[~g.diverged.astype(bool) & g.final_loss.notna()]
    return float(ok.lr[ok.final_loss.idxmin()]) if len(ok) else np.nan


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    """Per depth: the best step size, its steps to the target, speed-up over depth 1."""
    l4 = d[d.kind == "l4"]
    if not len(l4):
        return [], {}
    found = {}
    for depth, g in l4.groupby("depth", sort=True):
        lr = best_lr(g)
        at = g[g.lr == lr]
        found[int(depth)] = dict(lr=lr, steps=float(at.steps_to_target.iloc[0]) if len(at) else np.nan,
                                 excess=float((at.final_loss / at.optimal_loss).iloc[0]) if len(at) else np.nan,
                                 diverged=int(g.diverged.astype(bool).sum()), grid=len(g), top=lr == g.lr.max())
    base = found.get(1, {}).get("steps", np.nan)
    out, head = [], []
    for depth, f in found.items():
        key = dict(part="dynamics", depth=depth)
        note = ("at the top of the grid: extend exp.l4_lrs; " if f["top"] else "") + (
            f"not reached in {exp.l4_steps} steps; " if np.isnan(f["steps"]) else "")
        out += [dict(key, quantity="l4 regression: steps to loss <= (1 + tol) x optimum, at the best step size",
                     value=f["steps"], reference=base, note=note + "reference: depth 1"),
                dict(key, quantity="l4 regression: best step size of the grid", value=f["lr"]),
                dict(key, quantity="l4 regression: final loss / optimal loss at the best step size", value=f["excess"],
                     reference=1.0),
                dict(key, quantity="l4 regression: step sizes of the grid that diverged", value=f["diverged"],
                     reference=f["grid"])]
        head.append({"depth": depth, "best lr": f["lr"], "steps to target": f["steps"],
                     "times faster than depth 1": base / f["steps"], "final loss / optimum": f["excess"],
                     "step sizes diverged": f["diverged"], "of": f["grid"]})
    return out, {f"l4 regression (Arora et al. 2018): steps to {1 + exp.l4_tol:g} x the optimal loss at each depth's "
                 f"best step size (NaN: not reached in {exp.l4_steps} steps)": pd.DataFrame(head)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Excess loss at each depth's best step size (per seed); mean and range over seeds."""
    l4 = d[d.kind == "l4"]
    if not len(l4):
        return {}
    fig, ax = plt.subplots(figsize=(6.4, 4.5))
    for i, depth in enumerate(sorted(l4.depth.unique())):
        curves, lrs = [], []
        for _, run in per_seed(d[d.depth == depth]):
            lr = best_lr(run[run.kind == "l4"])
            if not np.isnan(lr):
                lrs.append(lr)
                curves.append(run[(run.kind == "l4_curve") & (run.lr == lr)])
        if curves:
            sel = pd.concat(curves)
            sel = sel.assign(excess=(sel.loss - sel.optimal_loss) / sel.optimal_loss)
            seed_band(ax, sel, "step", "excess", positive=True, color=f"C{i}",
                      label=f"depth {int(depth)} (best lr {', '.join(f'{v:g}' for v in sorted(set(lrs)))})")
    ax.axhline(exp.l4_tol, color="k", ls=":", lw=1, label="target")
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="(loss - optimum) / optimum",
           title="l4 linear regression: depth as an accelerator")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"l4": fig}
