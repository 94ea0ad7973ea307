"""The article's network: forward values, deltas and edge gradients, then training.

Part ``neurons``: every neuron's input sum, output and delta for one training
point (x, y); part ``edges``: every edge's weight and gradient, by neuron-by-
neuron backprop and by ``jax.grad``; parts ``restarts``, ``loss`` and ``fit``:
the same architecture trained by SGD on a 1-D target with many restarts.
"""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import graph as G
from experiments.schema import ConfigError, Field

SCHEMA = {
    "weights": Field(float, many=True, nullable=True),
    "hidden": Field(str, choices=tuple(a for a in nnlab.ACTIVATIONS if a != "step")),
    "output": Field(str, choices=tuple(a for a in nnlab.ACTIVATIONS if a != "step")),
    "x": Field(float),
    "y": Field(float),
    "target": Field(str, choices=("bump", "sine")),
    "points": Field(int, low=2, high=100_000),
    "restarts": Field(int, low=1, high=1_000_000),
    "steps": Field(int, low=1, high=10_000_000),
    "lr": Field(float, positive=True),
    "schedule": Field(str, choices=tuple(nnlab.SCHEDULES)),
    "batch_size": Field(int, low=1, nullable=True),
}

TARGETS = {
    "bump": lambda x: 0.1 + 0.8 * np.exp(-8 * x**2),
    "sine": lambda x: 0.5 + 0.4 * np.sin(np.pi * x),
}


def check(exp) -> None:
    if exp.weights is not None and len(exp.weights) != len(G.ARTICLE_EDGES):
        raise ConfigError(f"exp.weights: {len(exp.weights)} values; allowed: exactly "
                          f"{len(G.ARTICLE_EDGES)}, one per edge {list(G.ARTICLE_EDGES)}, or null")
    if exp.batch_size is not None and exp.batch_size > exp.points:
        raise ConfigError(f"exp.batch_size={exp.batch_size}: larger than exp.points={exp.points}; "
                          f"allowed: null or 1..{exp.points}")


def _network(exp, seed: int) -> G.Graph:
    weights = None if exp.weights is None else dict(zip(G.ARTICLE_EDGES, exp.weights))
    return G.article_network(weights, jax.random.key(seed), exp.hidden, exp.output)


def _one_point_rows(net: G.Graph, x: float, y: float) -> list[dict]:
    bp = G.backprop(net, [x], [y])
    by_autodiff = jax.grad(lambda w: G.example_loss(net, [x], [y], w))(dict(net.weights))
    layer_of = {n: l for l, layer in enumerate(net.layers()) for n in layer}
    rows = [
        dict(part="neurons", neuron=str(n), kind=neuron.kind, layer=layer_of[n],
             input_sum=float(bp.input_sum.get(n, np.nan)), output=float(bp.output[n]),
             delta=float(bp.delta.get(n, np.nan)), loss=float(bp.loss))
        for n, neuron in net.neurons.items()
    ]
    rows += [
        dict(part="edges", src=str(s), dst=str(d), weight=float(w), grad=float(bp.grad[(s, d)]),
             grad_autodiff=float(by_autodiff[(s, d)]))
        for (s, d), w in net.weights.items()
    ]
    return rows


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    net = _network(exp, seed)
    rows = _one_point_rows(net, exp.x, exp.y)

    form = G.to_mlp(net)
    xs = np.linspace(-1, 1, exp.points, dtype=np.float32)[:, None]
    ys = TARGETS[exp.target](xs).astype(np.float32)
    result = nnlab.train(
        jax.random.key(seed), xs, ys, sizes=form.sizes, restarts=exp.restarts, steps=exp.steps,
        lr=exp.lr, schedule=exp.schedule, hidden=form.hidden, output=form.output,
        batch_size=exp.batch_size, mask=form.mask, init_scale=1.0,
    )
    final = np.asarray(result.loss)
    rows += [dict(part="restarts", restart=r, final_loss=float(final[r]), diverged=bool(result.diverged[r]))
             for r in range(exp.restarts)]
    history = np.asarray(result.history)
    rows += [dict(part="loss", restart=r, step=int(t), loss=float(history[r, k]))
             for r in range(exp.restarts) for k, t in enumerate(np.asarray(result.history_steps))]
    best = int(np.nanargmin(np.where(np.isfinite(final), final, np.nan))) if np.isfinite(final).any() else 0
    best_params = jax.tree.map(lambda a: a[best], result.params)
    grid = np.linspace(-1, 1, 201, dtype=np.float32)[:, None]
    pred = np.asarray(nnlab.forward(best_params, grid, form.hidden, form.output, form.mask))[:, 0]
    rows += [dict(part="fit", restart=best, input=float(g), target=float(TARGETS[exp.target](g)), prediction=float(p))
             for g, p in zip(grid[:, 0], pred)]
    trained = G.from_mlp(form, net, best_params)
    rows += [dict(part="trained_edges", src=str(s), dst=str(d), weight=float(w))
             for (s, d), w in trained.weights.items()]
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    groups = df.groupby("seed") if "seed" in df else [(None, df)]
    out = []
    for seed, d in groups:
        neurons, edges, restarts = (d[d.part == p] for p in ("neurons", "edges", "restarts"))
        out.append({
            "seed": seed,
            "network_output": neurons.loc[neurons.neuron == "9", "output"].iloc[0],
            "point_loss": neurons.loss.iloc[0],
            "max_abs_grad_error_vs_jax_grad": (edges.grad - edges.grad_autodiff).abs().max(),
            "restarts": len(restarts),
            "best_final_loss": restarts.final_loss.min(),
            "median_final_loss": restarts.final_loss.median(),
            "diverged": int(restarts.diverged.sum()),
        })
    table = pd.DataFrame(out)
    return table.drop(columns="seed") if table.seed.isna().all() else table


def _graph_from_rows(edges: pd.DataFrame) -> G.Graph:
    base = G.article_network()
    return base.with_weights({(int(s), int(d)): w for s, d, w in zip(edges.src, edges.dst, edges.weight)})


def figures(df: pd.DataFrame) -> dict[str, plt.Figure]:
    first_seed = df.seed.min() if "seed" in df else None
    one = df if first_seed is None else df[df.seed == first_seed]
    figs = {}

    fig, axes = plt.subplots(2, 1, figsize=(8.5, 10))
    neurons = one[one.part == "neurons"]
    labels = {int(n): (f"a={o:.3f}" if np.isnan(dl) else f"a={o:.3f}\nδ={dl:.2e}")
              for n, o, dl in zip(neurons.neuron, neurons.output, neurons.delta)}
    G.draw(_graph_from_rows(one[one.part == "edges"]), ax=axes[0], labels=labels)
    point = one.x.iloc[0] if "x" in one else None
    axes[0].set_title("the article's network with its initial weights;\n"
                      + (f"outputs a and deltas δ for the training point x = {point:g}" if point is not None
                         else "outputs a and deltas δ for one training point"))
    G.draw(_graph_from_rows(one[one.part == "trained_edges"]), ax=axes[1])
    axes[1].set_title("the same network after training (best restart)")
    fig.tight_layout()
    figs["network"] = fig

    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    fit = df[df.part == "fit"]
    curve = fit.groupby("input").prediction.agg(["mean", "min", "max"])
    target = fit.groupby("input").target.first()
    ax_fit.plot(target.index, target.values, "k--", label="target")
    ax_fit.plot(curve.index, curve["mean"], color="C3", label="network (best restart)")
    if fit.seed.nunique() > 1:
        ax_fit.fill_between(curve.index, curve["min"], curve["max"], color="C3", alpha=0.25, label="range over seeds")
    ax_fit.set(xlabel="input x", ylabel="output", title="fit of the article's network")
    ax_fit.legend()
    loss = df[df.part == "loss"]
    per_step = loss.groupby("step").loss
    for q, style in ((0.5, "-"), (0.1, ":"), (0.9, ":")):
        ax_loss.plot(per_step.quantile(q).index, per_step.quantile(q).values, style, color="C0",
                     label=f"{int(q * 100)}th percentile over restarts" + (" and seeds" if loss.seed.nunique() > 1 else ""))
    best = loss.groupby(["seed", "restart"]).loss.last().groupby("seed").idxmin()
    for seed, (s, r) in best.items():
        b = loss[(loss.seed == s) & (loss.restart == r)]
        ax_loss.plot(b.step, b.loss, color="C3", lw=1, label="best restart" if seed == best.index[0] else None)
    ax_loss.set(xlabel="step", ylabel="training loss (mean squared error)", yscale="log", title="training loss")
    ax_loss.legend(fontsize=8)
    fig.tight_layout()
    figs["fit"] = fig
    return figs
