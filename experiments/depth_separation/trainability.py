"""Part sawtooth, expressivity is not trainability: the deep net of k layers of 2 relu
units computes tent^k exactly (``nnlab.sawtooth.tent_network``), but does SGD find it
from random weights? For each k one ``nnlab.train`` call (a population must have equal
depth) of ``deep_restarts`` nets [1, 2, ..., 2, 1] fitted to tent^k on a fine grid; each
trained net read exactly (its pieces, its L2 error). Found: relative L2 error (over the
best constant's 1/sqrt(12)) at most ``success_threshold``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import stats
from experiments.depth_separation.common import DEEP_SGD, exact_fit, key, sawtooth_grid, sawtooth_target
from experiments.plotting import seed_band
from experiments.schema import as_list


def rows(exp, seed: int, progress: bool) -> list[dict]:
    if exp.deep_k is None:
        return []
    out = []
    for k in as_list(exp.deep_k):
        x, u = sawtooth_grid(k, exp.grid_per_piece)
        result = nnlab.train(key(seed, DEEP_SGD), u, sawtooth_target(x, k), sizes=[1] + [2] * k + [1],
                             restarts=exp.deep_restarts, steps=exp.deep_steps, lr=exp.deep_lr, hidden="relu",
                             output="identity", batch_size=exp.deep_batch_size, records=10)
        for m, r in enumerate(result.restart_ids):
            fit = exact_fit(result.network(m), k) if not result.diverged[m] else dict(rel_error=np.nan)
            out.append(dict(part="sawtooth", kind="deep_sgd", k=k, restart=int(r), hidden_units=2 * k, **fit,
                            success=bool(fit["rel_error"] <= exp.success_threshold), pieces_theory=2**k,
                            train_loss=float(result.loss[m]), diverged=bool(result.diverged[m])))
    return out


def _per_k(g: pd.DataFrame) -> dict:
    found, total = int(g.success.sum()), len(g)
    low, high = stats.wilson_interval(found, total)
    return dict(restarts=total, found=found, fraction=found / total, low95=float(low), high95=float(high),
                best=g.rel_error.min(), median=g.rel_error.median(), most_pieces=g.pieces.max(),
                diverged=int(g.diverged.sum()))


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    s = d[d.kind == "deep_sgd"]
    if s.empty:
        return [], {}
    out, head = [], []
    for k, g in s.groupby("k"):
        q = _per_k(g)
        head.append({"k": k, "units": 2 * k, "construction's error": 0.0, "restarts": q["restarts"],
                     "training found it": q["found"], "fraction": q["fraction"],
                     "95% interval": f"[{q['low95']:.3f}, {q['high95']:.3f}]", "best error": q["best"],
                     "median error": q["median"], "most pieces found": q["most_pieces"], "2^k": 2**k})
        key = dict(part="sawtooth", k=int(k))
        out += [dict(key, quantity="deep width-2 net: fraction of SGD restarts that found t^k", value=q["fraction"],
                     reference=1.0, note=f"{q['found']} of {q['restarts']}; 95% Wilson interval "
                                         f"[{q['low95']:.3f}, {q['high95']:.3f}]; reference: the construction exists"),
                dict(key, quantity="deep width-2 net: best relative L2 error over SGD restarts", value=q["best"],
                     reference=0.0),
                dict(key, quantity="deep width-2 net: median relative L2 error over SGD restarts", value=q["median"]),
                dict(key, quantity="deep width-2 net: most pieces of a trained net", value=q["most_pieces"],
                     reference=2**k)]
    title = (f"sawtooth: SGD on the deep width-2 net from random weights (found: relative L2 error <= "
             f"{exp.success_threshold:g}); expressivity is not trainability")
    return out, {title: pd.DataFrame(head)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    s = d[d.kind == "deep_sgd"]
    if s.empty:
        return {}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.4))
    keys = (["seed"] if "seed" in s else []) + ["k"]
    per = s.groupby(keys).success.mean().reset_index()
    ks = sorted(s.k.unique())
    ax.plot(ks, np.ones(len(ks)), "k--", lw=1, label="the construction exists (error 0): expressivity")
    seed_band(ax, per, "k", "success", bars=True, marker="o", color="C3", label="SGD from random weights found it")
    q = pd.DataFrame([_per_k(g) | {"k": k} for k, g in s.groupby("k")])
    ax.errorbar(q.k, q.fraction, yerr=[q.fraction - q.low95, q.high95 - q.fraction], fmt="none", ecolor="grey",
                capsize=3, lw=1, label="95% Wilson interval (all restarts pooled)")
    ax.set(xlabel="k (hidden layers of 2 relu units)", ylabel="fraction of restarts",
           title=f"deep width-2 nets trained on t^k ({exp.deep_restarts} restarts per k)", ylim=(-0.03, 1.08))
    ax.set_xticks(ks)
    ax.legend(fontsize=7)
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(s))
    bx.plot(s.k + jitter, s.rel_error.clip(lower=1e-7), ".", alpha=0.4, color="C0", ms=4)
    bx.axhline(exp.success_threshold, color="C3", ls="--", lw=1, label=f"found: <= {exp.success_threshold:g}")
    bx.axhline(1.0, color="grey", ls=":", lw=1, label="the best constant, 1/2")
    bx.set(yscale="log", xlabel="k", ylabel="L2 error / best constant's (each restart)",
           title="where SGD ends (the construction: 0)")
    bx.set_xticks(ks)
    bx.legend(fontsize=7)
    fig.tight_layout()
    return {"trainability": fig}
