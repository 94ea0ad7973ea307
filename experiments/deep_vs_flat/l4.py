"""Part 4, dynamics (Arora, Cohen & Hazan 2018): l4-loss linear regression by deep linear
nets d -> 1 -> ... -> 1 of depth 1, 2, 3 from the same balanced initial end-to-end
weights, on ``l4_problems`` regression problems (each its own draw of features, weights,
noise and initial weights); each depth runs a grid of step sizes (as restarts of one
``nnlab.train`` call) and keeps the one that reaches (1 + tol) x the optimal loss first."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.plotting import seed_count
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


def problem(exp, seed: int, p: int):
    """Regression problem p of a seed: features x (samples, dim) with scales from 1 to
    1/l4_condition, labels y = x w* + noise, the initial end-to-end weights w0 (norm
    l4_init_norm), all from ``default_rng([seed, 7])`` for p = 0 (the one problem of earlier
    runs) and ``default_rng([seed, 7, p])`` for p > 0. Returns x, y, w0 (float64)."""
    rng = np.random.default_rng([seed, 7] if p == 0 else [seed, 7, p])
    d = exp.l4_dim
    scales = np.geomspace(1.0, 1.0 / exp.l4_condition, d)
    x = rng.normal(size=(exp.l4_samples, d)) * scales[None, :]
    w_star = rng.normal(size=d)
    y = x @ w_star + exp.l4_noise * rng.normal(size=exp.l4_samples)
    w0 = rng.normal(size=d)
    return x, y, w0 * exp.l4_init_norm / np.linalg.norm(w0)


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """Per problem, depth and step size: final loss, steps to target, diverged (kind l4); its
    recorded losses (kind l4_curve)."""
    lrs = np.asarray(sorted(as_list(exp.l4_lrs)), np.float32)
    jobs = [(p, depth) for p in range(exp.l4_problems) for depth in as_list(exp.l4_depths)]
    out, data = [], {}
    for p, depth in tqdm(jobs, desc="dynamics: l4", disable=not progress):
        if p not in data:
            x, y, w0 = problem(exp, seed, p)
            best = l4_optimum(x, y)[1]
            data = {p: (x, y, w0, best, (1 + exp.l4_tol) * best)}
        x, y, w0, best, target = data[p]
        sizes = [exp.l4_dim] + [1] * depth
        result = nnlab.train(jax.random.key(seed), x.astype(np.float32), y[:, None].astype(np.float32),
                             sizes=sizes, restarts=len(lrs), steps=exp.l4_steps, lr=lrs, hidden="identity",
                             output="identity", loss="l4", mask=LI.zero_bias_mask(sizes),
                             init_params=stack([LI.balanced_vector_params(w0, depth)] * len(lrs)),
                             records=exp.l4_records)
        at = np.append(np.asarray(result.history_steps), exp.l4_steps)
        curves = np.concatenate([np.asarray(result.history, np.float64),
                                 np.asarray(result.loss, np.float64)[:, None]], axis=1)
        for i, lr in enumerate(lrs):
            out.append(dict(part="dynamics", kind="l4", problem=p, depth=depth, lr=float(lr), optimal_loss=best,
                            target_loss=target, final_loss=float(curves[i, -1]),
                            steps_to_target=first_step(at, curves[i] <= target), diverged=bool(result.diverged[i])))
            out += [dict(part="dynamics", kind="l4_curve", problem=p, depth=depth, lr=float(lr), step=int(t),
                         loss=float(v), optimal_loss=best) for t, v in zip(at, curves[i])]
    return out


def best_lr(g: pd.DataFrame) -> float:
    """The step size of one depth's grid (rows of one seed) reaching the target first; if
    none does, the one with the lowest final loss among those that did not diverge (NaN: none)."""
    reached = g[g.steps_to_target.notna()]
    if len(reached):
        return float(reached.lr[reached.steps_to_target.idxmin()])
    ok = g[~g.diverged.astype(bool) & g.final_loss.notna()]
    return float(ok.lr[ok.final_loss.idxmin()]) if len(ok) else np.nan


def _problems(d: pd.DataFrame) -> pd.DataFrame:
    """Rows written before l4_problems existed hold one problem, 0."""
    return d if "problem" in d else d.assign(problem=0)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    """Per problem and depth: the best step size, its steps to the target, speed-up over
    depth 1; the range of the speed-up over the problems."""
    l4 = _problems(d[d.kind == "l4"])
    if not len(l4):
        return [], {}
    out, head, speedups = [], [], {}
    for p, gp in l4.groupby("problem", sort=True):
        found = {}
        for depth, g in gp.groupby("depth", sort=True):
            lr = best_lr(g)
            at = g[g.lr == lr]
            found[int(depth)] = dict(lr=lr, steps=float(at.steps_to_target.iloc[0]) if len(at) else np.nan,
                                     excess=float((at.final_loss / at.optimal_loss).iloc[0]) if len(at) else np.nan,
                                     diverged=int(g.diverged.astype(bool).sum()), grid=len(g),
                                     edge="top" if lr == g.lr.max() else "bottom" if lr == g.lr.min() else "")
        base = found.get(1, {}).get("steps", np.nan)
        for depth, f in found.items():
            key = dict(part="dynamics", problem=int(p), depth=depth)
            note = (f"at the {f['edge']} of the grid: extend exp.l4_lrs; " if f["edge"] else "") + (
                f"not reached in {exp.l4_steps} steps; " if np.isnan(f["steps"]) else "")
            speedup = base / f["steps"]
            speedups.setdefault(depth, []).append(speedup)
            out += [dict(key, quantity="l4 regression: steps to loss <= (1 + tol) x optimum, at the best step size",
                         value=f["steps"], reference=base, note=note + "reference: depth 1"),
                    dict(key, quantity="l4 regression: speed-up over depth 1 (its steps / these steps), "
                                       "each at its best step size", value=speedup, reference=1.0),
                    dict(key, quantity="l4 regression: best step size of the grid", value=f["lr"], note=note),
                    dict(key, quantity="l4 regression: final loss / optimal loss at the best step size",
                         value=f["excess"], reference=1.0),
                    dict(key, quantity="l4 regression: step sizes of the grid that diverged", value=f["diverged"],
                         reference=f["grid"])]
            head.append({"problem": int(p), "depth": depth, "best lr": f["lr"], "grid edge": f["edge"] or "-",
                         "steps to target": f["steps"], "times faster than depth 1": speedup,
                         "final loss / optimum": f["excess"], "step sizes diverged": f["diverged"], "of": f["grid"]})
    ranges = []
    for depth, v in speedups.items():
        if depth == 1:
            continue
        v = np.asarray(v, float)
        out += [dict(part="dynamics", depth=depth, quantity=f"l4 regression: speed-up over depth 1, {q} over the "
                     f"{len(v)} problems", value=f(v), reference=1.0, note="NaN: a depth did not reach the target")
                for q, f in (("smallest", np.min), ("largest", np.max))]
        ranges.append(f"depth {depth}: {np.min(v):.2f}-{np.max(v):.2f}x")
    title = (f"l4 regression (Arora et al. 2018): steps to {1 + exp.l4_tol:g} x the optimal loss at each depth's "
             f"best step size (NaN: not reached in {exp.l4_steps} steps), {l4.problem.nunique()} problems; "
             f"speed-up over depth 1: {', '.join(ranges) or '-'}")
    return out, {title: pd.DataFrame(head)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Excess loss at each depth's best step size (per seed and problem): the median over
    seeds and problems, and their range."""
    l4 = d[d.kind == "l4"]
    if not len(l4):
        return {}
    d, l4 = _problems(d[d.kind.isin(["l4", "l4_curve"])]), _problems(l4)
    fig, ax = plt.subplots(figsize=(6.4, 4.5))
    runs = 0
    for i, depth in enumerate(sorted(l4.depth.unique())):
        curves, lrs = [], []
        for _, run in per_seed(d[d.depth == depth]):
            for _, one in run.groupby("problem"):
                lr = best_lr(one[one.kind == "l4"])
                if not np.isnan(lr):
                    lrs.append(lr)
                    c = one[(one.kind == "l4_curve") & (one.lr == lr)].sort_values("step")
                    curves.append(pd.Series(((c.loss - c.optimal_loss) / c.optimal_loss).values, c.step.values))
        if curves:
            runs = len(curves)
            excess = pd.concat(curves, axis=1).clip(lower=1e-7)  # float32 losses: below that, rounding
            label = f"depth {int(depth)} (best lr {', '.join(f'{v:g}' for v in sorted(set(lrs)))})"
            line = ax.plot(excess.index, excess.median(axis=1), color=f"C{i}", label=label)[0]
            if runs > 1:
                ax.fill_between(excess.index, excess.min(axis=1), excess.max(axis=1), color=line.get_color(),
                                alpha=0.2, lw=0)
    ax.axhline(exp.l4_tol, color="k", ls=":", lw=1, label="target")
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="(loss - optimum) / optimum",
           title="l4 linear regression: depth as an accelerator"
           + (f"\nmedian and range over {runs} runs: "
              + (f"{seed_count(l4)} seeds x " if seed_count(l4) > 1 else "") + f"{l4.problem.nunique()} problems"
              if runs > 1 else ""))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"l4": fig}
