"""Part width: single-hidden-layer nets [d, w, 1] (sigmoid and ReLU, identity output) trained
by full-batch gradient descent on the same targets, L2 and sup error on a test grid against
width, best of restarts; beside them the neurons the threshold construction needs for the
same sup error. One ``nnlab.train`` call per activation and width group (every d, width and
restart of the group in one population, padded to its widest); the groups keep the padding
below 32x, so narrow nets do not pay for the widest."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import approximation as A
from nnlab.bilinear_net import error_exponent
from experiments.plotting import seed_band
from experiments.schema import as_list
from experiments.summary import as_int
from experiments.universal_approximation import common as C

PART_KEY = 2  # fold_in(key(seed), PART_KEY): the networks' keys; rng([seed, PART_KEY]): the training points
MAX_PADDING = 32  # a width group spans at most this ratio of widths


def groups(widths) -> list[list[int]]:
    """The widths, sorted, cut into groups whose widest is at most MAX_PADDING x the narrowest."""
    out = []
    for w in sorted(set(widths)):
        if out and w <= MAX_PADDING * out[-1][0]:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def step_size(exp, hidden: str, width: int) -> float:
    """lr(w) = base / (1 + w / width_lr_width): the output layer's curvature grows with the width."""
    base = exp.width_lr_sigmoid if hidden == "sigmoid" else exp.width_lr_relu
    return base / (1 + width / exp.width_lr_width)


def rows(exp, seed: int, progress: bool) -> list[dict]:
    ds, R = as_list(exp.width_d), exp.width_restarts
    n_in = max(ds)
    x = np.random.default_rng([seed, PART_KEY]).uniform(0, 1, size=(exp.width_samples, n_in))
    scaled = {d: C.standardize(C.target_fn(exp, d)(x)) for d in ds}  # (y', mean, std)
    tests = {d: A.grid_points(d, C.test_per_axis(exp, d)) for d in ds}
    key = jax.random.fold_in(jax.random.key(seed), PART_KEY)
    out = []
    for hidden in as_list(exp.width_hidden):
        for widths in groups(as_list(exp.widths)):
            archs = [(d, w) for d in ds for w in widths]
            y = np.stack([scaled[d][0] for d, _ in archs]).repeat(R, axis=0).astype(np.float32)  # (M, N, 1)
            lr = np.array([step_size(exp, hidden, w) for _, w in archs], np.float32).repeat(R)
            result = nnlab.train(key, C.standard_inputs(x).astype(np.float32), y, sizes=[[d, w, 1] for d, w in archs], restarts=R,
                                 steps=exp.width_steps, lr=lr, hidden=hidden, output="identity",
                                 records=min(10, exp.width_steps))
            dims = result.sizes[:, 0]
            for d in ds:  # every network of d inputs on the d-dimensional test grid (other columns zero)
                nets = np.flatnonzero(dims == d)
                x_test = np.zeros((len(tests[d]), n_in))
                x_test[:, :d] = C.standard_inputs(tests[d])
                _, mean, std = scaled[d]
                params = jax.tree.map(lambda a: a[nets], result.params)
                outs = C.outputs(params, x_test, hidden) * std + mean
                sup, l2 = C.errors(outs, C.target_fn(exp, d)(tests[d]))
                for j, m in enumerate(nets):
                    out.append(dict(part="width", kind="trained", hidden=hidden, d=int(d),
                                    width=int(result.sizes[m, 1]), restart=int(result.restart_ids[m]),
                                    lr=float(lr[m]), train_mse=float(result.loss[m]) * float(std[0] ** 2),
                                    l2=float(l2[j]), sup=float(sup[j]), diverged=bool(result.diverged[m])))
    return out


def falling_range(g: pd.DataFrame, column: str) -> pd.DataFrame:
    """The widths from 2 up to the width of the smallest error: where the error falls (beyond
    it, what training finds in the step budget stops improving)."""
    g = g.sort_values("width")
    top = g.width.iloc[int(np.argmin(g[column].values))]
    return g[(g.width >= 2) & (g.width <= top) & (g[column] > 0)]


def _slope(g: pd.DataFrame, column: str) -> tuple[float, int]:
    """(fitted slope of log error vs log width over ``falling_range``, its widest width);
    NaN with fewer than 2 widths there."""
    r = falling_range(g, column)
    top = int(r.width.max()) if len(r) else 0
    return (error_exponent(r.width, r[column]) if len(r) >= 2 else float("nan")), top


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    b = C.best(d, ["hidden", "d", "width"]).groupby(["hidden", "d", "width"], as_index=False)[["l2", "sup"]].mean()
    out, l2_rows, sup_rows, slope_rows = [], [], [], []
    L = exp.lipschitz
    for (hidden, dim), g in b.groupby(["hidden", "d"], sort=False):
        g = g.sort_values("width")
        key = dict(part="width", hidden=hidden, d=as_int(dim))
        for _, r in g.iterrows():
            need = C.construction_neurons(L, int(dim), r.sup)
            out += [dict(key, width=as_int(r.width), quantity="L2 error, training found (best of restarts)", value=r.l2),
                    dict(key, width=as_int(r.width), quantity="sup error on the test grid, training found "
                         "(best of restarts)", value=r.sup,
                         reference=need, note="reference: hidden neurons the construction needs for this sup error")]
        l2_rows.append({"hidden": hidden, "d": as_int(dim)} | {as_int(w): e for w, e in zip(g.width, g.l2)})
        sup_rows.append({"hidden": hidden, "d": as_int(dim)} | {as_int(w): e for w, e in zip(g.width, g.sup)})
        (s_l2, top_l2), (s_sup, top_sup) = _slope(g, "l2"), _slope(g, "sup")
        bestrow = g.loc[g.sup.idxmin()]
        need = C.construction_neurons(L, int(dim), bestrow.sup)
        out += [dict(key, quantity="fitted slope of log L2 error vs log width, widths 2 to the best", value=s_l2,
                     note=f"widths 2..{top_l2}"),
                dict(key, quantity="fitted slope of log sup error vs log width, widths 2 to the best", value=s_sup,
                     reference=-1 / dim, note=f"widths 2..{top_sup}; reference: -1/d, the construction's slope"),
                dict(key, width=as_int(bestrow.width), quantity="hidden neurons the construction needs for the best "
                     "sup error training found", value=need, note=f"training found it at width {as_int(bestrow.width)}")]
        slope_rows.append({"hidden": hidden, "d": as_int(dim), "slope L2": s_l2, "L2 fit widths": f"2..{top_l2}",
                           "slope sup": s_sup, "sup fit widths": f"2..{top_sup}", "construction slope": -1 / dim,
                           "best sup": bestrow.sup, "at width": as_int(bestrow.width),
                           "construction neurons for that sup": need})
    title = (f"width: one hidden layer, training found (best of {exp.width_restarts} restarts, "
             f"{exp.width_steps} full-batch GD steps on {exp.width_samples} points)")
    return out, {f"{title}: L2 error by width": pd.DataFrame(l2_rows),
                 f"{title}: sup error on the test grid by width": pd.DataFrame(sup_rows),
                 "width: fitted slopes of log error vs log width (widths 2 up to the best), and the threshold "
                 "construction's neurons for the best sup error training found": pd.DataFrame(slope_rows)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Error vs width per d (columns) and norm (rows): trained sigmoid and ReLU nets (best of
    restarts), and the construction's guaranteed sup error at the same number of neurons."""
    if d.empty:
        return {}
    ds = sorted(d.d.unique())
    fig, axes = plt.subplots(2, len(ds), figsize=(3.6 * len(ds), 6.4), squeeze=False, sharey="row")
    b = C.best(d, ["hidden", "d", "width"])
    widths = np.array(sorted(d.width.unique()), float)
    for j, dim in enumerate(ds):
        for i, norm in enumerate(["l2", "sup"]):
            ax = axes[i, j]
            for k, hidden in enumerate(sorted(b.hidden.unique())):
                seed_band(ax, b[(b.d == dim) & (b.hidden == hidden)], "width", norm, positive=True, marker="o",
                          color=f"C{k}", label=f"{hidden}, training found")
            if norm == "sup":
                grid = np.unique(np.geomspace(1, max(widths.max(), 4), 200).astype(int))
                ax.plot(grid, C.construction_sup(exp.lipschitz, int(dim), grid), "k--", lw=1,
                        label="threshold construction (guaranteed)")
            C.powers_of_two(ax)
            ax.set(yscale="log", title=f"d = {as_int(dim)}", xlabel="hidden neurons (width)",
                   ylabel=("L2 error" if norm == "l2" else "sup error (test grid)") if j == 0 else None)
            if i == 0 and j == 0 or i == 1 and j == 0:
                ax.legend(fontsize=7)
    fig.suptitle("one hidden layer: error vs width (best of restarts)", fontsize=10)
    fig.tight_layout()
    return {"width": fig}
