"""Part 1, flatten: random deep linear nets through ``nnlab.forward`` against their product
matrix (``nnlab.linear.flatten``), in float32; parameter counts deep vs the one layer
they flatten to."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.schema import as_list
from experiments.deep_vs_flat.common import relative_error

EPS32 = float(np.finfo(np.float32).eps)


def _random_linear_net(rng: np.random.Generator, sizes) -> list:
    return [{"W": (rng.normal(size=(i, o)) / np.sqrt(i)).astype(np.float32),
             "b": rng.normal(size=o).astype(np.float32)} for i, o in zip(sizes[:-1], sizes[1:])]


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """One row per random net: depth, trial, widths (its layer sizes, a list), min_width,
    rank of the product, weights_deep, weights_flat, rel_error (forward vs product matrix)."""
    rng = np.random.default_rng([seed, 1])
    out = []
    jobs = [(d, t) for d in as_list(exp.flatten_depths) for t in range(exp.flatten_trials)]
    for depth, trial in tqdm(jobs, desc="flatten", disable=not progress):
        sizes = [int(v) for v in rng.integers(1, exp.flatten_max_width + 1, depth + 1)]
        params = _random_linear_net(rng, sizes)
        x = rng.normal(size=(64, sizes[0])).astype(np.float32)
        flat = LI.flatten(params)
        ref = x.astype(np.float64) @ flat["W"] + flat["b"][None, :]
        deep_out = nnlab.forward(params, x, "identity", "identity")
        one_layer = [{"W": flat["W"].astype(np.float32), "b": flat["b"].astype(np.float32)}]
        flat_out = nnlab.forward(one_layer, x, "identity", "identity")
        out.append(dict(
            part="flatten", kind="net", depth=depth, trial=trial, widths=sizes,
            min_width=min(sizes), rank=int(np.linalg.matrix_rank(flat["W"])),
            weights_deep=nnlab.count_weights(sizes), weights_flat=nnlab.count_weights([sizes[0], sizes[-1]]),
            rel_error=relative_error(deep_out, ref),
            rel_error_deep_vs_flat=relative_error(deep_out, np.asarray(flat_out, np.float64)),
        ))
    return out


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    """Per depth and over all depths: the largest error of the forward pass against the
    product matrix, how many products have the narrowest layer's rank, weights deep / flat."""
    d = d[d.kind == "net"]
    head, out = [], []
    for depth, g in [(int(k), g) for k, g in d.groupby("depth", sort=True)] + [("all", d)]:
        ratio = g.weights_deep / g.weights_flat
        same_rank = int((g["rank"] == g.min_width).sum())
        head.append({"depth": depth, "nets": len(g), "max relative error": g.rel_error.max(),
                     "rank = narrowest layer": same_rank, "deep / flat weights, median": ratio.median(),
                     "deep / flat, min": ratio.min(), "deep / flat, max": ratio.max()})
        key = dict(part="flatten", depth=np.nan if depth == "all" else depth)
        out += [dict(key, quantity="random nets", value=len(g)),
                dict(key, quantity="max relative error, deep net vs its product matrix (float32)",
                     value=g.rel_error.max(), reference=EPS32, note="reference: float32 machine epsilon"),
                dict(key, quantity="nets whose product has rank = narrowest layer", value=same_rank, reference=len(g)),
                dict(key, quantity="weights deep / weights of the flat layer, median", value=ratio.median(),
                     reference=1.0, note="depth adds weights, never expressive power"),
                dict(key, quantity="weights deep / weights of the flat layer, smallest", value=ratio.min()),
                dict(key, quantity="weights deep / weights of the flat layer, largest", value=ratio.max())]
    title = ("flatten: random deep linear nets (identity units, biases) vs the one affine layer they compute, "
             "float32; rank: nets whose product has the narrowest layer's rank; "
             "weights of the deep net / the flat layer")
    return out, {title: pd.DataFrame(head)}


def _figure_flatten(d: pd.DataFrame) -> plt.Figure:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.scatter(d.depth, d.rel_error, s=14, color="C0", alpha=0.7, label="one random net (weights and biases)")
    med = d.groupby("depth").rel_error.median()
    ax1.plot(med.index, med.values, color="C0", lw=1, label="median")
    ax1.axhline(EPS32, color="k", ls="--", lw=1, label="float32 machine epsilon")
    ax1.set(xlabel="depth L (layers of weights)", ylabel="relative error, forward vs product matrix", yscale="log",
            title="a deep linear net is one affine map")
    ax1.legend(fontsize=8)
    sc = ax2.scatter(d.weights_flat, d.weights_deep, c=d.depth, cmap="viridis", s=16)
    lim = [min(d.weights_flat.min(), d.weights_deep.min()) * 0.8,
           max(d.weights_flat.max(), d.weights_deep.max()) * 1.25]
    ax2.plot(lim, lim, "k--", lw=1, label="same number of weights")
    ax2.set(xscale="log", yscale="log", xlabel="weights of the flat layer (n_0 + 1) n_L",
            ylabel="weights of the deep net", title="parameter counts, deep vs flattened")
    fig.colorbar(sc, ax=ax2, label="depth L")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Error vs depth and weights deep vs flat: one dot per net (of every seed)."""
    return {"flatten": _figure_flatten(d[d.kind == "net"])}
