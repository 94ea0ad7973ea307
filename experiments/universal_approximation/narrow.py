"""Part narrow: ReLU nets of width w = d + e (e in ``narrow_extra``) and depth D (hidden layers),
trained by full-batch gradient descent on bump1 (d = 1), bump2 (d = 2) and loop (d = 1, a
closed curve in the plane, 2 outputs); L2 and sup error on a test grid against depth, best of
restarts, and the fraction of runs with a dead layer (every unit off on the whole test grid:
the net is constant, an optimisation failure, not a limit of what the width can express).
Beside them: the hand-built width-(1 + d_out) interpolant of ``nnlab.narrow`` at each depth
(kind construction), and the exact width-1 floors (kind floor).

One ``nnlab.train`` call per depth holds every target, width and restart. Every net has 2
outputs; for the scalar targets a mask removes the second output's edges (it stays 0 and so
does its target), so they compute exactly a 1-output net, and all targets share one program.
The training points are a Fibonacci lattice in [0, 1]^2, whose first coordinate is the uniform
1-D grid the d = 1 nets read."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import approximation as A
from nnlab import narrow as NW
from nnlab import targets as T
from nnlab.population import Population
from experiments.plotting import seed_band
from experiments.schema import as_list
from experiments.summary import as_int
from experiments.universal_approximation import common as C

PART_KEY = 3
TARGETS = {"bump1": (1, 1), "bump2": (2, 1), "loop": (1, 2)}  # name: (d, d_out)


def lattice(samples: int) -> np.ndarray:
    """The Fibonacci lattice with N >= samples points (N a Fibonacci number): ((i + 1/2) / N,
    (i F' mod N + 1/2) / N), F' the Fibonacci number before N. (N, 2) float64."""
    a, b = 1, 2
    while b < samples:
        a, b = b, a + b
    i = np.arange(b)
    return np.stack([(i + 0.5) / b, ((i * a) % b + 0.5) / b], axis=1)


def target_values(exp, name: str, x) -> np.ndarray:
    """The target ``name`` at x (N, >= d): (N, d_out) float64."""
    d, _ = TARGETS[name]
    if name == "loop":
        return T.loop(x[:, :1], exp.lipschitz)
    return C.target_fn(exp, d)(x)[:, None]


def test_grid(exp, name: str) -> np.ndarray:
    """The test grid of a target, as (P, 2) points of [0, 1]^2 (a d = 1 net reads the first column)."""
    d, _ = TARGETS[name]
    g = A.grid_points(d, C.test_per_axis(exp, d))
    return np.concatenate([g, np.full((len(g), 2 - d), 0.5)], axis=1)


def _trained(exp, seed: int, depth: int, x: np.ndarray, scaled: dict) -> list[dict]:
    R = exp.narrow_restarts
    n_in = max(TARGETS[name][0] for name in as_list(exp.narrow_targets))  # the widest input layer
    archs = [(name, TARGETS[name][0] + e) for name in as_list(exp.narrow_targets) for e in as_list(exp.narrow_extra)]
    sizes = [[TARGETS[name][0]] + [w] * depth + [2] for name, w in archs]
    y = np.zeros((len(archs), len(x), 2))
    for a, (name, _) in enumerate(archs):
        y[a, :, :TARGETS[name][1]] = scaled[name][0]
    mask = [{k: np.ones((len(archs) * R,) + s, np.float32) for k, s in (("W", (i, o)), ("b", (o,)))}
            for i, o in zip(Population.of(sizes, R).padded[:-1], Population.of(sizes, R).padded[1:])]
    for a, (name, _) in enumerate(archs):
        if TARGETS[name][1] == 1:  # a scalar target: no edges into the second output
            mask[-1]["W"][a * R:(a + 1) * R, :, 1] = 0
            mask[-1]["b"][a * R:(a + 1) * R, 1] = 0
    result = nnlab.train(jax.random.fold_in(jax.random.key(seed), PART_KEY), C.standard_inputs(x[:, :n_in]).astype(np.float32),
                         np.repeat(y, R, axis=0).astype(np.float32), sizes=sizes, restarts=R,
                         steps=exp.narrow_steps, lr=exp.narrow_lr, hidden="relu", output="identity", mask=mask,
                         records=min(10, exp.narrow_steps))
    out = []
    for name in as_list(exp.narrow_targets):  # every width and restart of a target on its test grid at once
        nets = np.concatenate([np.arange(a * R, (a + 1) * R) for a, (t, _) in enumerate(archs) if t == name])
        params = jax.tree.map(lambda p: p[nets], result.params)
        grid, (_, mean, std) = test_grid(exp, name), scaled[name]
        k = TARGETS[name][1]
        seen = C.standard_inputs(grid[:, :n_in])
        outs, dead = NW.evaluate(params, seen)
        sup, l2 = C.errors(outs[:, :, :k] * std + mean, target_values(exp, name, grid))
        for j, m in enumerate(nets):
            out.append(dict(part="narrow", kind="trained", target=name, d=TARGETS[name][0], d_out=k,
                            width=int(result.sizes[m, 1]), depth=depth, restart=int(result.restart_ids[m]),
                            l2=float(l2[j]), sup=float(sup[j]), dead=bool(dead[j].any()),
                            dead_layers=int(dead[j].sum()), train_loss=float(result.loss[m]),  # standardized targets
                            diverged=bool(result.diverged[m])))
    return out


def _constructed(exp) -> list[dict]:
    """The width-(1 + d_out) interpolants (d = 1 targets) at every construction depth, in float32."""
    out = []
    for name in [t for t in as_list(exp.narrow_targets) if TARGETS[t][0] == 1]:
        grid = test_grid(exp, name)[:, :1]
        y = target_values(exp, name, grid)
        for depth in as_list(exp.narrow_construction_depths):
            params = NW.deep_interpolant(target_values(exp, name, NW.knots(depth)[:, None]))
            stacked = jax.tree.map(lambda a: np.asarray(a, np.float32)[None], params)
            sup, l2 = C.errors(C.outputs(stacked, grid, "relu"), y)
            out.append(dict(part="narrow", kind="construction", target=name, d=1, d_out=TARGETS[name][1],
                            width=1 + TARGETS[name][1], depth=depth, l2=float(l2[0]), sup=float(sup[0]),
                            bound=NW.interpolant_bound(exp.lipschitz, depth)))
        sup, l2 = NW.line_floor(y) if name == "loop" else NW.monotone_floor(y[:, 0])
        out.append(dict(part="narrow", kind="floor", target=name, d=1, d_out=TARGETS[name][1], width=1,
                        l2=l2, sup=sup))
    return out


def _constants(exp) -> list[dict]:
    """The error of the mean, the constant a dead net converges to under the squared loss (kind constant)."""
    out = []
    for name in as_list(exp.narrow_targets):
        y = target_values(exp, name, test_grid(exp, name))
        sup, l2 = C.errors(np.broadcast_to(y.mean(axis=0), y.shape)[None], y)
        out.append(dict(part="narrow", kind="constant", target=name, d=TARGETS[name][0], d_out=TARGETS[name][1],
                        l2=float(l2[0]), sup=float(sup[0])))
    return out


def rows(exp, seed: int, progress: bool) -> list[dict]:
    x = lattice(exp.narrow_samples)
    scaled = {name: C.standardize(target_values(exp, name, x)) for name in as_list(exp.narrow_targets)}
    out = []
    for depth in as_list(exp.narrow_depths):
        out += _trained(exp, seed, depth, x, scaled)
    return out + _constructed(exp) + _constants(exp)


def _by_depth(b: pd.DataFrame, column: str) -> list[dict]:
    return [{"target": t, "width": as_int(w)} | {as_int(D): v for D, v in zip(g.depth, g[column])}
            for (t, w), g in b.sort_values(["target", "width", "depth"]).groupby(["target", "width"], sort=False)]


def stuck(tr: pd.DataFrame, const: pd.DataFrame) -> pd.Series:
    """Per trained run: no better than a constant (L2 error >= 0.99 x the mean's), dead or not."""
    level = const.groupby("target").l2.first()
    return tr.l2 >= 0.99 * tr.target.map(level)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    tr, cons, floor = d[d.kind == "trained"], d[d.kind == "construction"], d[d.kind == "floor"]
    out, tables = [], {}
    if len(tr):
        b = C.best(tr, ["target", "width", "depth"]).groupby(["target", "width", "depth"], as_index=False)[["l2", "sup"]].mean()
        keys = ["target", "width", "depth"]
        dead = tr.assign(dead=tr.dead.astype(float), stuck=stuck(tr, d[d.kind == "constant"]).astype(float)) \
            .groupby(keys, as_index=False)[["dead", "stuck"]].mean()
        for _, r in b.merge(dead).iterrows():
            key = dict(part="narrow", target=r.target, width=as_int(r.width), depth=as_int(r.depth))
            out += [dict(key, quantity="L2 error, training found (best of restarts)", value=r.l2),
                    dict(key, quantity="sup error on the test grid, training found (best of restarts)", value=r.sup),
                    dict(key, quantity="fraction of restarts with a dead layer", value=r.dead),
                    dict(key, quantity="fraction of restarts no better than a constant (L2 >= 0.99 x the mean's)",
                         value=r.stuck)]
        verdict = []
        for (t, w), g in b.sort_values(["target", "width", "depth"]).groupby(["target", "width"], sort=False):
            row = {"target": t, "width": as_int(w)}
            for norm in ("l2", "sup"):
                first, best = g[norm].iloc[0], g[norm].min()
                row |= {f"{norm} D={as_int(g.depth.iloc[0])}": first, f"{norm} best": best,
                        f"{norm} best at D": as_int(g.depth.iloc[int(np.argmin(g[norm].values))]),
                        f"{norm} D={as_int(g.depth.iloc[-1])}": g[norm].iloc[-1]}
            last = dead[(dead.target == t) & (dead.width == w)].sort_values("depth").iloc[-1]
            row |= {"dead at deepest": last.dead, "no better than a constant at deepest": last.stuck}
            verdict.append(row)
        title = f"narrow: ReLU, training found (best of {exp.narrow_restarts} restarts, {exp.narrow_steps} GD steps)"
        tables |= {f"{title}: L2 error by depth": pd.DataFrame(_by_depth(b, "l2")),
                   f"{title}: sup error on the test grid by depth": pd.DataFrame(_by_depth(b, "sup")),
                   "narrow: fraction of restarts with a dead layer (constant output), by depth":
                       pd.DataFrame(_by_depth(dead, "dead")),
                   "narrow: fraction of restarts no better than a constant (dead or stuck), by depth":
                       pd.DataFrame(_by_depth(dead, "stuck")),
                   "narrow: does depth help? first depth, best depth, deepest (training found)": pd.DataFrame(verdict)}
    if len(cons):
        c = cons.groupby(["target", "width", "depth"], as_index=False)[["l2", "sup", "bound"]].first()
        for _, r in c.iterrows():
            out.append(dict(part="narrow", target=r.target, width=as_int(r.width), depth=as_int(r.depth),
                            quantity="sup error of the hand-built interpolant", value=r.sup, reference=r.bound,
                            note="reference: L / (2 (D + 1))"))
        tables["narrow: the hand-built interpolant (width 1 + d_out), depth alone: sup error (bound L/(2(D+1)))"] = \
            pd.DataFrame(_by_depth(c, "sup"))
    floors = floor.groupby("target", as_index=False)[["l2", "sup"]].first()
    for _, r in floors.iterrows():
        for norm in ("l2", "sup"):
            out.append(dict(part="narrow", target=r.target, width=1, quantity=f"{norm} error floor of width 1 "
                            "(any depth)", value=r[norm], note="monotone fit (bump1) / best line (loop), exact on the grid"))
    if len(floors):
        tables["narrow: what no width-1 net of any depth can beat on the test grid (bump1: best monotone fit; "
               "loop: best line)"] = floors.rename(columns={"l2": "L2 floor", "sup": "sup floor"})
    return out, tables


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    tr, cons, floor = d[d.kind == "trained"], d[d.kind == "construction"], d[d.kind == "floor"]
    names = [t for t in TARGETS if t in set(d.target)]
    if not names:
        return {}
    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 6.6), squeeze=False)
    b = C.best(tr, ["target", "width", "depth"]) if len(tr) else tr
    for j, name in enumerate(names):
        d_in, d_out = TARGETS[name]
        for i, norm in enumerate(["l2", "sup"]):
            ax = axes[i, j]
            widths = sorted(b[b.target == name].width.unique()) if len(b) else []
            for k, w in enumerate(widths):
                seed_band(ax, b[(b.target == name) & (b.width == w)], "depth", norm, positive=True, marker="o",
                          color=f"C{k}", label=f"width {as_int(w)} (d+{as_int(w - d_in)}), training found")
            c = cons[cons.target == name].groupby("depth")[norm].first()
            if len(c):
                ax.plot(c.index, c.values, "k--", lw=1.2, label=f"hand-built, width {1 + d_out}")
            f = floor[floor.target == name]
            if len(f):
                ax.axhline(f[norm].iloc[0], color="gray", ls=":", label="floor of width 1 (exact)")
            k0 = d[(d.kind == "constant") & (d.target == name)]
            if len(k0):
                ax.axhline(k0[norm].iloc[0], color="k", lw=0.6, alpha=0.5, label="the mean (a dead net's output)")
            C.powers_of_two(ax)
            ax.set(yscale="log", xlabel="depth (hidden layers)",
                   ylabel=f"{'L2' if norm == 'l2' else 'sup'} error" if j == 0 else None,
                   title=f"{name} (d = {d_in}, {d_out} output{'s' if d_out > 1 else ''})")
            if i == 0:
                ax.legend(fontsize=6)
    fig.suptitle("narrow ReLU nets: error vs depth (best of restarts)", fontsize=10)
    fig.tight_layout()
    figs = {"narrow": fig}
    if len(tr):
        fig2, axes2 = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
        for j, name in enumerate(names):
            g = tr[tr.target == name]
            g = g.assign(dead=g.dead.astype(float), stuck=stuck(g, d[d.kind == "constant"]).astype(float))
            for k, w in enumerate(sorted(g.width.unique())):
                seed_band(axes2[0, j], g[g.width == w], "depth", "dead", marker="o", color=f"C{k}",
                          label=f"width {as_int(w)}: a dead layer")
                seed_band(axes2[0, j], g[g.width == w], "depth", "stuck", ls="--", color=f"C{k}",
                          label=f"width {as_int(w)}: no better than a constant")
            C.powers_of_two(axes2[0, j])
            axes2[0, j].set(ylim=(-0.03, 1.03), xlabel="depth", title=name,
                            ylabel="fraction of runs" if j == 0 else None)
            if j == 0:
                axes2[0, j].legend(fontsize=6, ncol=2)
        fig2.tight_layout()
        figs["narrow_dead"] = fig2
    return figs
