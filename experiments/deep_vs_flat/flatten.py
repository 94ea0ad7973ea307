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


def _random_linear_net(rng: np.random.Generator, sizes) -> list:
    return [{"W": (rng.normal(size=(i, o)) / np.sqrt(i)).astype(np.float32),
             "b": rng.normal(size=o).astype(np.float32)} for i, o in zip(sizes[:-1], sizes[1:])]


def rows(exp, seed: int, progress: bool) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 1])
    rows = []
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
        rows.append(dict(
            part="flatten", kind="net", depth=depth, trial=trial, widths="-".join(map(str, sizes)),
            min_width=min(sizes), rank=int(np.linalg.matrix_rank(flat["W"])),
            weights_deep=LI.deep_weights(sizes), weights_flat=LI.flat_weights(sizes),
            rel_error=relative_error(deep_out, ref),
            rel_error_deep_vs_flat=relative_error(deep_out, np.asarray(flat_out, np.float64)),
        ))
    return pd.DataFrame(rows)


def summary(d: pd.DataFrame) -> list[dict]:
    ratio = d.weights_deep / d.weights_flat
    return [
        dict(part="flatten", quantity="max relative error, deep net vs its product matrix (float32)",
             value=d.rel_error.max(), reference=float(np.finfo(np.float32).eps),
             note=f"{len(d)} random nets, depth {d.depth.min()}-{d.depth.max()}; reference: float32 eps"),
        dict(part="flatten", quantity="nets whose product has rank = narrowest layer",
             value=float((d["rank"] == d.min_width).mean()), reference=1.0, note="fraction of nets"),
        dict(part="flatten", quantity="weights deep / weights of the flat layer (median)",
             value=float(ratio.median()), reference=1.0,
             note=f"range {ratio.min():.2f}-{ratio.max():.1f}: depth adds weights, never expressive power"),
    ]


def _figure_flatten(d: pd.DataFrame) -> plt.Figure:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.scatter(d.depth, d.rel_error, s=14, color="C0", alpha=0.7, label="one random net (weights and biases)")
    med = d.groupby("depth").rel_error.median()
    ax1.plot(med.index, med.values, color="C0", lw=1, label="median")
    ax1.axhline(np.finfo(np.float32).eps, color="k", ls="--", lw=1, label="float32 machine epsilon")
    ax1.set(xlabel="depth L (layers of weights)", ylabel="relative error, forward vs product matrix", yscale="log",
            title="a deep linear net is one affine map")
    ax1.legend(fontsize=8)
    sc = ax2.scatter(d.weights_flat, d.weights_deep, c=d.depth, cmap="viridis", s=16)
    lim = [min(d.weights_flat.min(), d.weights_deep.min()) * 0.8, max(d.weights_flat.max(), d.weights_deep.max()) * 1.25]
    ax2.plot(lim, lim, "k--", lw=1, label="same number of weights")
    ax2.set(xscale="log", yscale="log", xlabel="weights of the flat layer (n_0 + 1) n_L",
            ylabel="weights of the deep net", title="parameter counts, deep vs flattened")
    fig.colorbar(sc, ax=ax2, label="depth L")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame) -> dict[str, plt.Figure]:
    return {"flatten": _figure_flatten(d)}
