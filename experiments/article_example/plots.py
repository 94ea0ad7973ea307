"""Figures of article_example: the network drawn with its numbers before and after
training, and the fit with the training loss."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nnlab import drawing
from nnlab import graph as G
from experiments.plotting import seed_band, seed_count
from experiments.summary import per_seed


def _graph(edges: pd.DataFrame, exp) -> G.Graph:
    """The article's network with the weights of these edge rows."""
    weights = {(int(s), int(d)): w for s, d, w in zip(edges.src, edges.dst, edges.weight)}
    return G.article_network(weights, activation=exp.hidden, output=exp.output)


def _figure_network(df: pd.DataFrame, exp) -> plt.Figure:
    """The network of one seed (the first) at the training point, and after training."""
    seed, one = per_seed(df)[0]
    of_seed = "" if seed_count(df) == 1 else f" (seed {seed}, the first of {seed_count(df)})"
    network, trained = one[one.kind == "edge"], one[one.kind == "trained_edge"]
    panels = [p for p in (network, trained) if len(p)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.5, 5 * len(panels)), squeeze=False)
    axes = list(axes[:, 0])
    if len(network):
        neurons = one[one.kind == "neuron"]
        labels = {int(n): f"a={o:.3f}" if np.isnan(d) else f"a={o:.3f}\nδ={d:.2e}"
                  for n, o, d in zip(neurons.neuron, neurons.output, neurons.delta)}
        ax = axes.pop(0)
        drawing.draw(_graph(network, exp), ax=ax, labels=labels)
        weights = "the given weights" if exp.weights is not None else "N(0, 1) weights from the seed"
        ax.set_title(f"the article's network{of_seed} with {weights};\noutputs a and deltas δ for the "
                     f"training point x = {exp.x:g}, y = {exp.y:g}")
    if len(trained):
        ax = axes.pop(0)
        drawing.draw(_graph(trained, exp), ax=ax)
        ax.set_title(f"the architecture after training{of_seed}: the best of {exp.restarts} restarts")
    fig.tight_layout()
    return fig


def _figure_fit(df: pd.DataFrame, exp) -> plt.Figure:
    """The best restart's fit (mean and range over seeds) and the loss along training."""
    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    fit = df[df.kind == "fit"]
    target = fit.groupby("input").target.first()
    ax_fit.plot(target.index, target.values, "k--", label=f"target ({exp.target})")
    seed_band(ax_fit, fit, "input", "prediction", color="C3", label="network (best restart)")
    ax_fit.set(xlabel="input x", ylabel="output", title="fit of the article's network")
    ax_fit.legend(fontsize=8)

    loss = df[df.kind == "loss"]
    over = "restarts" if seed_count(df) == 1 else f"restarts of {seed_count(df)} seeds"
    per_step = loss.groupby("step").loss
    for q, style in ((0.5, "-"), (0.1, ":"), (0.9, ":")):
        quantile = per_step.quantile(q)
        ax_loss.plot(quantile.index, quantile.values, style, color="C0", label=f"{int(q * 100)}th percentile over {over}")
    for i, (_, rows) in enumerate(per_seed(df)):
        best = rows[rows.kind == "fit"].restart.iloc[0]
        curve = rows[(rows.kind == "loss") & (rows.restart == best)]
        ax_loss.plot(curve.step, curve.loss, color="C3", lw=1,
                     label=None if i else "best restart" + ("" if seed_count(df) == 1 else " of each seed"))
    ax_loss.set(xlabel="step", ylabel="training loss (mean squared error)", yscale="log", title="training loss")
    ax_loss.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(df: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """``network`` (either part) and ``fit`` (part training)."""
    figs = {"network": _figure_network(df, exp)}
    if (df.part == "training").any():
        figs["fit"] = _figure_fit(df, exp)
    return figs
