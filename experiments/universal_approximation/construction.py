"""Part construction: the textbook networks, built by code (``nnlab.approximation``), for each
dimension d and target error eps: n = ceil(L / (2 eps)) cells per axis, one hidden layer of
thresholds (and of steep sigmoids) for d = 1, two hidden layers of thresholds (the cells) for
d >= 2. Each is evaluated through ``nnlab.forward`` in float32 on a midpoint grid of
``cons_grid`` points per cell per axis (more where that gives fewer than 2^16 points; fewer,
down to 2, where grid points x hidden neurons would pass ``cons_max_work``); beyond that it is
counted, not built. Rows: kind construction (one per d, eps,
hidden) and kind constant (the best constant, zero neurons, per d)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import approximation as A
from experiments.schema import as_list
from experiments.summary import as_int
from experiments.universal_approximation import common as C

MIN_GRID = 1 << 16  # verification grids hold at least this many points (finer cells in low d)


def _evaluate(params, hidden: str, f, d: int, per_axis: int, width: int) -> tuple[float, float]:
    """(grid sup, grid L2) of a construction through nnlab.forward in float32, in chunks
    of at most 2^24 / width points (the widest layer's activations)."""
    p32 = [{k: np.asarray(v, np.float32) for k, v in layer.items()} for layer in params]
    net = lambda x: np.asarray(nnlab.forward(p32, x.astype(np.float32), hidden, "identity"), np.float64)[:, 0]
    return A.grid_errors(net, f, d, per_axis, chunk=max(1024, (1 << 24) // width))


def _one(exp, d: int, eps: float, hidden: str, f) -> dict:
    L = exp.lipschitz
    n = A.cells_per_axis(eps / (1 + exp.cons_tail) if hidden == "sigmoid" else eps, L)
    neurons, cells = A.neurons(d, n), n**d
    m = max(exp.cons_grid, int(np.floor(MIN_GRID ** (1 / d) / n)))
    while m > 2 and (n * m) ** d * neurons > exp.cons_max_work:  # a coarser grid, down to 2 points per cell
        m -= 1
    per_axis = n * m
    built = per_axis**d * neurons <= exp.cons_max_work
    row = dict(part="construction", kind="construction", d=d, eps=eps, hidden=hidden, n=n, cells=cells,
               hidden_layers=A.hidden_layers(d), neurons=neurons, theory_count=(L / eps) ** d,
               bound=A.bound(L, d, n, hidden, exp.cons_tail), lipschitz=L, built=built,
               grid_per_axis=per_axis if built else np.nan, sup_error=np.nan, l2_error=np.nan, certified_sup=np.nan)
    if built:
        params, act = A.construct(f, d, n, hidden, exp.cons_tail)
        sup, l2 = _evaluate(params, act, f, d, per_axis, max(p["W"].shape[1] for p in params))
        # a threshold construction is constant on each cell: the grid misses at most L / (2 per_axis)
        certified = sup + A.grid_slack(L, per_axis) if hidden == "step" else np.nan
        row |= dict(sup_error=sup, l2_error=l2, certified_sup=certified)
    return row


def rows(exp, seed: int, progress: bool) -> list[dict]:
    out = []
    for d in as_list(exp.cons_d):
        f = C.target_fn(exp, d)
        x = A.grid_points(d, C.test_per_axis(exp, d))
        y = f(x)
        out.append(dict(part="construction", kind="constant", d=d, neurons=0, sup_error=(y.max() - y.min()) / 2,
                        l2_error=float(y.std()), lipschitz=exp.lipschitz,
                        lipschitz_grid=C.lipschitz_estimate(C.bump(exp, d), x)))
        for eps in as_list(exp.cons_eps):
            for hidden in as_list(exp.cons_hidden):
                if hidden == "step" or d == 1:  # the steep-sigmoid version is the one-layer net of d = 1
                    out.append(_one(exp, d, eps, hidden, f))
    return out


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    cons, const = d[d.kind == "construction"], d[d.kind == "constant"]
    out, head = [], []
    for _, r in cons.sort_values(["hidden", "eps", "d"], ascending=[False, False, True]).iterrows():
        key = dict(part="construction", d=as_int(r.d), eps=r.eps, hidden=r.hidden)
        out += [dict(key, quantity="hidden neurons of the construction", value=r.neurons, reference=r.theory_count,
                     note=f"{as_int(r.n)} cells per axis, {as_int(r.hidden_layers)} hidden layer(s); reference: (L/eps)^d"),
                dict(key, quantity="sup error bound of the construction", value=r.bound, reference=r.eps)]
        if r.built:
            out += [dict(key, quantity="sup error of the construction on the grid", value=r.sup_error, reference=r.bound,
                         note=f"grid of {as_int(r.grid_per_axis)} points per axis; reference: the bound"),
                    dict(key, quantity="L2 error of the construction on the grid", value=r.l2_error)]
        head.append({"d": as_int(r.d), "eps": r.eps, "hidden": r.hidden, "cells/axis": as_int(r.n),
                     "layers": as_int(r.hidden_layers), "neurons": as_int(r.neurons), "(L/eps)^d": r.theory_count,
                     "bound": r.bound, "grid sup": r.sup_error, "sup <=": r.certified_sup, "L2": r.l2_error})
    for _, r in const.iterrows():
        out += [dict(part="construction", d=as_int(r.d), quantity="sup error of the best constant (zero neurons)",
                     value=r.sup_error),
                dict(part="construction", d=as_int(r.d), quantity="grid estimate of the Lipschitz constant "
                     "(max ||grad f||_1, a lower bound)", value=r.lipschitz_grid, reference=r.lipschitz,
                     note="reference: the certified L the construction uses")]
    tables = {}
    if head:
        tables["construction: neurons of the textbook construction vs d and eps (threshold units; d = 1 also steep "
               f"sigmoids); L = {exp.lipschitz:g}; grid sup: measured on the verification grid, 'sup <=' adds the "
               "grid slack L/(2 x points per axis) (certified, threshold nets); NaN: counted, not built"] = pd.DataFrame(head)
    if len(const):
        tables["construction: the targets (sums of bumps) and the best constant"] = pd.DataFrame(
            {"d": const.d.map(as_int), "sup error of the best constant": const.sup_error,
             "L certified": const.lipschitz, "L grid estimate": const.lipschitz_grid})
    return out, tables


def _figure_neurons(d: pd.DataFrame, exp, trained: pd.DataFrame) -> plt.Figure:
    """Hidden neurons vs d at each eps (log scale): built/counted constructions, (L/eps)^d, trained."""
    fig, ax = plt.subplots(figsize=(7.2, 5.2))
    cons = d[(d.kind == "construction") & (d.hidden == "step")]
    ds = sorted(cons.d.unique())
    grid = np.linspace(min(ds), max(ds), 50)
    epss = sorted(cons.eps.unique(), reverse=True)
    for i, eps in enumerate(epss):
        c = cons[cons.eps == eps].groupby("d").first()
        color, shift = f"C{i}", 0.08 * (i - (len(epss) - 1) / 2)  # trained markers side by side
        ax.plot(grid, (exp.lipschitz / eps) ** grid, ":", color=color, lw=1)
        ax.plot(c.index, c.neurons, "-", color=color, lw=1.5, label=f"eps = {eps:g}: construction (dotted: (L/eps)^d)")
        ax.plot(c.index[c.built.astype(bool)], c.neurons[c.built.astype(bool)], "o", color=color)
        ax.plot(c.index[~c.built.astype(bool)], c.neurons[~c.built.astype(bool)], "o", mfc="none", color=color)
        if len(trained):
            reached = _narrowest_trained(trained, eps)
            if len(reached):
                ax.plot(reached.d + shift, reached.width, "s", color=color, ms=7, mec="k",
                        label=f"eps = {eps:g}: training found (narrowest width, one hidden layer)")
            missed = sorted(set(trained.d) - set(reached.d))
            if missed:
                ax.plot(np.asarray(missed) + shift, [trained.width.max()] * len(missed), "^", color=color, ms=8, mfc="none",
                        label=f"eps = {eps:g}: not found by training up to width {as_int(trained.width.max())}")
    ax.set(yscale="log", xlabel="input dimension d", ylabel="hidden neurons",
           title=f"sup error <= eps on [0,1]^d, L = {exp.lipschitz:g}\n(filled: built and verified; open: counted)")
    ax.set_xticks(ds)
    ax.legend(fontsize=6, loc="upper left", framealpha=0.9)
    fig.tight_layout()
    return fig


def _narrowest_trained(trained: pd.DataFrame, eps: float) -> pd.DataFrame:
    """Per d (and seed): the narrowest trained width (either activation, best restart) with grid sup <= eps."""
    b = C.best(trained, ["d", "hidden", "width"])
    keys = (["seed"] if "seed" in b else []) + ["d"]
    hit = b[b.sup <= eps].groupby(keys, as_index=False).width.min()
    return hit.groupby("d", as_index=False).width.mean()


def _figure_errors(d: pd.DataFrame, exp) -> plt.Figure:
    """Sup error vs hidden neurons per d: measured (built) against the bound L / (2n)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    cons = d[(d.kind == "construction") & (d.hidden == "step")]
    for i, dim in enumerate(sorted(cons.d.unique())):
        c = cons[cons.d == dim].sort_values("neurons")
        ax.plot(c.neurons, c.bound, "--", color=f"C{i}", lw=1)
        b = c[c.built.astype(bool)]
        ax.plot(b.neurons, b.sup_error, "o-", color=f"C{i}", label=f"d = {dim}: measured sup (dashed: bound L/2n)")
    sig = d[(d.kind == "construction") & (d.hidden == "sigmoid") & d.built.astype(bool)].sort_values("neurons")
    if len(sig):
        ax.plot(sig.neurons, sig.sup_error, "x:", color="k", label="d = 1, steep sigmoids: measured sup")
    ax.set(xscale="log", yscale="log", xlabel="hidden neurons", ylabel="sup error",
           title="the construction: error vs neurons (slope -1/d)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame, exp, trained: pd.DataFrame) -> dict[str, plt.Figure]:
    if not (d.kind == "construction").any():
        return {}
    return {"neurons": _figure_neurons(d, exp, trained), "construction_error": _figure_errors(d, exp)}
