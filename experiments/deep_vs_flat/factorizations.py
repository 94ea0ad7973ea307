"""Part 2, factorizations: rank-k maps n -> k -> n (2nk weights vs n^2) and the
Walsh-Hadamard transform as log2(n) butterfly layers (2n log2 n vs n^2), exact
constructions checked against the dense matrix; then a butterfly-masked deep linear
net and a dense one-layer net trained on the transform from data."""

from __future__ import annotations

import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from experiments.plotting import seed_count
from experiments.schema import as_list
from experiments.deep_vs_flat.common import first_step, relative_error


def _exact_rows(exp, seed: int) -> list[dict]:
    """Rank-k nets (kind rank_k) and butterfly nets (kind butterfly) against the dense matrix."""
    rng = np.random.default_rng([seed, 2])
    rows = []
    for n in as_list(exp.factor_n):
        x = rng.normal(size=(64, n)).astype(np.float32)
        for k in as_list(exp.factor_rank):
            if k >= n:
                continue
            A = (rng.normal(size=(n, k)) / np.sqrt(n)).astype(np.float32)
            B = (rng.normal(size=(k, n)) / np.sqrt(k)).astype(np.float32)
            params, mask = LI.low_rank_params(A, B), LI.zero_bias_mask([n, k, n])
            dense = A.astype(np.float64) @ B.astype(np.float64)
            out = nnlab.forward(params, x, "identity", "identity", mask)
            rows.append(dict(part="factorizations", kind="rank_k", n=n, k=k, layers=2,
                             weights_deep=nnlab.count_weights(params, mask), weights_flat=n * n,
                             weights_theory=LI.low_rank_weights(n, k), rank=int(np.linalg.matrix_rank(dense)),
                             rel_error=relative_error(out, x.astype(np.float64) @ dense)))
        params = [{k_: v.astype(np.float32) for k_, v in layer.items()} for layer in LI.butterfly_params(n)]
        masks = LI.zero_bias_mask([n] * (len(params) + 1), LI.butterfly_masks(n))
        out = nnlab.forward(params, x, "identity", "identity", masks)
        dense = LI.hadamard(n) / np.sqrt(n)
        product = functools.reduce(np.matmul, LI.butterfly_factors(n))
        rows.append(dict(part="factorizations", kind="butterfly", n=n, layers=len(params),
                         weights_deep=nnlab.count_weights(params, masks), weights_flat=n * n,
                         weights_theory=LI.butterfly_weights(n),
                         factor_product_error=float(np.abs(product - LI.hadamard(n)).max()),
                         rel_error=relative_error(out, x.astype(np.float64) @ dense)))
    return rows


def _nets(n: int) -> dict:
    """The two nets fitted to the Hadamard transform of size n: layer sizes, mask, init scale."""
    deep = [n] * (n.bit_length())  # log2(n) butterfly layers
    return {
        "butterfly": dict(sizes=deep, mask=LI.zero_bias_mask(deep, LI.butterfly_masks(n)), init_scale=2**-0.5),
        # near-zero init: GD then converges to the min-norm interpolant, the flat net's best case
        "dense": dict(sizes=[n, n], mask=LI.zero_bias_mask([n, n]), init_scale=1e-4),
    }


def _fit_rows(exp, seed: int, progress: bool) -> list[dict]:
    """Butterfly-masked deep net vs dense one-layer net, trained on y = x H / sqrt(n): one
    row per restart (kind fit) and its recorded training losses (kind fit_curve)."""
    n = exp.fit_n
    rng = np.random.default_rng([seed, 3])
    H = LI.hadamard(n) / np.sqrt(n)
    x_test = rng.normal(size=(2048, n))
    y_test = x_test @ H
    nets = _nets(n)
    rows = []
    jobs = [(N, name) for N in as_list(exp.fit_samples) for name in nets]
    for N, name in tqdm(jobs, desc="factorizations: fit", disable=not progress):
        x = rng.normal(size=(N, n)).astype(np.float32)
        y = (x.astype(np.float64) @ H).astype(np.float32)
        net = nets[name]
        result = nnlab.train(jax.random.fold_in(jax.random.key(seed), 3), x, y, sizes=net["sizes"],
                             restarts=exp.fit_restarts, steps=exp.fit_steps, lr=exp.fit_lr,
                             hidden="identity", output="identity", mask=net["mask"],
                             init_scale=net["init_scale"], records=min(100, exp.fit_steps))
        scale = float(np.mean(np.sum(y.astype(np.float64) ** 2, axis=1)))  # loss of the zero map
        history = np.asarray(result.history, np.float64) / scale
        steps_at = np.asarray(result.history_steps)
        final = np.asarray(result.loss, np.float64) / scale
        for r in range(exp.fit_restarts):
            W = LI.flatten(result.network(r))["W"]  # masked edges come back as 0
            rows.append(dict(part="factorizations", kind="fit", net=name, n=n, samples=N, restart=r,
                             layers=len(net["sizes"]) - 1, weights_deep=nnlab.count_weights(net["sizes"], net["mask"]),
                             weights_flat=n * n, train_rel_loss=float(final[r]),
                             test_rel_error=float(np.sum((x_test @ W - y_test) ** 2) / np.sum(y_test**2)),
                             steps_to_target=first_step(steps_at, history[r] <= exp.fit_target),
                             diverged=bool(result.diverged[r])))
            rows += [dict(part="factorizations", kind="fit_curve", net=name, n=n, samples=N, restart=r,
                          step=int(t), train_rel_loss=float(h)) for t, h in zip(steps_at, history[r])]
    return rows


def rows(exp, seed: int, progress: bool) -> list[dict]:
    return _exact_rows(exp, seed) + _fit_rows(exp, seed, progress)


def _exact_summary(exact: pd.DataFrame, out: list) -> pd.DataFrame:
    """Weights of each construction against the dense n^2; one headline row per n."""
    head = []
    for n, g in exact.groupby("n", sort=True):
        row = {"n": int(n), "dense n^2": int(n) ** 2, "butterfly layers": int(g[g.kind == "butterfly"].layers.iloc[0])}
        for _, r in g.sort_values(["kind", "k"]).iterrows():
            name = "butterfly" if r.kind == "butterfly" else f"rank {int(r.k)}"
            row[f"{name} weights"] = int(r.weights_deep)
            quantity = ("Walsh-Hadamard as butterfly layers: nonzero weights" if r.kind == "butterfly"
                        else "rank-k map n -> k -> n: weights")
            out.append(dict(part="factorizations", quantity=quantity, n=n, k=r.get("k", np.nan),
                            value=r.weights_deep, reference=r.weights_flat,
                            note=f"{int(r.layers)} layers; reference: dense n^2"))
        row["max relative error"] = g.rel_error.max()
        head.append(row)
    out.append(dict(part="factorizations", quantity="max relative error of the exact constructions (float32)",
                    value=exact.rel_error.max(), reference=float(np.finfo(np.float32).eps),
                    note="rank-k and butterfly nets vs the dense matrix; reference: float32 eps"))
    return pd.DataFrame(head)


def _fit_summary(fit: pd.DataFrame, exp, out: list) -> pd.DataFrame:
    """Per net and number of points: weights, restarts fitted, steps, test error."""
    head = []
    for (net, N), g in fit.groupby(["net", "samples"], sort=True):
        n = int(g.n.iloc[0])
        min_norm = max(0.0, 1 - N / n) if net == "dense" else 0.0
        values = {"weights": int(g.weights_deep.iloc[0]), "layers": int(g.layers.iloc[0]), "restarts": len(g),
                  "fitted": int((g.train_rel_loss <= exp.fit_target).sum()),
                  "steps to target, median": g.steps_to_target.median(),
                  "test error, median": g.test_rel_error.median(), "test error, best": g.test_rel_error.min(),
                  "reference test error": min_norm}
        head.append({"net": net, "points": int(N), **values})
        key = dict(part="factorizations", n=n, net=net, samples=N)
        out += [dict(key, quantity="weights of the fitted net", value=values["weights"], reference=n * n),
                dict(key, quantity="restarts reaching the training loss target", value=values["fitted"],
                     reference=len(g)),
                dict(key, quantity="steps to the training loss target, median over restarts",
                     value=values["steps to target, median"]),
                dict(key, quantity="test error, median over restarts", value=values["test error, median"],
                     reference=min_norm, note="reference: " + ("1 - N/n, error of the min-norm fit" if net == "dense"
                                                               else "exact")),
                dict(key, quantity="test error, best restart", value=values["test error, best"], reference=min_norm)]
    return pd.DataFrame(head)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    out, headline = [], {}
    exact = d[d.kind.isin(["rank_k", "butterfly"])]
    if len(exact):
        headline["factorizations: weights of exact constructions (float32, checked against the dense matrix)"] = \
            _exact_summary(exact, out)
    fit = d[d.kind == "fit"]
    if len(fit):
        headline[f"factorizations: the Hadamard transform of size {int(fit.n.iloc[0])} trained from data; fitted: "
                 f"restarts reaching training loss {exp.fit_target:g}; test error on fresh points (reference: "
                 "0 for the butterfly, 1 - N/n of the min-norm fit for the dense net)"] = \
            _fit_summary(fit, exp, out)
    return out, headline


def _axes_weights(ax, exact: pd.DataFrame) -> None:
    ns = np.unique(exact.n.astype(int))
    grid = np.geomspace(ns.min(), ns.max(), 50)
    ax.plot(grid, grid**2, "k-", lw=1.5, label="dense matrix n^2")
    ax.plot(grid, 2 * grid * np.log2(grid), "C3-", lw=1, label="butterfly 2n log2 n")
    bf = exact[exact.kind == "butterfly"].groupby("n").weights_deep.first()
    ax.plot(bf.index, bf.values, "C3o", label="butterfly net (nonzero weights, verified exact)")
    for i, (k, g) in enumerate(exact[exact.kind == "rank_k"].groupby("k")):
        ax.plot(grid, 2 * grid * k, color=f"C{i}", ls=":", lw=1)
        w = g.groupby("n").weights_deep.first()
        ax.plot(w.index, w.values, "s", color=f"C{i}", label=f"rank-{int(k)} net n->k->n (2nk)")
    ax.set(yscale="log", xlabel="n", ylabel="weights", title="exact factorizations vs the flat matrix")
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=7)


COLORS = {"butterfly": "C3", "dense": "C0"}


def _axes_curves(ax, curves: pd.DataFrame, fit: pd.DataFrame, exp) -> None:
    styles = {N: s for N, s in zip(sorted(fit.samples.unique()), ["-", "--", ":", "-."] * 5)}
    for (net, N), g in curves.groupby(["net", "samples"]):
        for j, (_, run) in enumerate(g.groupby(["seed", "restart"] if "seed" in g else ["restart"])):
            ax.plot(run.step, run.train_rel_loss, color=COLORS[net], ls=styles[N], lw=0.9, alpha=0.7,
                    label=f"{net}, {int(N)} points (one line per restart)" if j == 0 else None)
    ax.axhline(exp.fit_target, color="k", ls=":", lw=1, label="target")
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="training loss / loss of the zero map",
           title=f"fitting the Hadamard transform, n={int(fit.n.iloc[0])}")
    ax.legend(fontsize=7)


def _axes_test_errors(ax, fit: pd.DataFrame) -> None:
    n = int(fit.n.iloc[0])
    groups = list(fit.groupby(["net", "samples"]))
    for i, ((net, N), g) in enumerate(groups):
        vals = g.test_rel_error.clip(lower=1e-16).values
        ax.scatter(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)), vals, color=COLORS[net], s=18)
    ax.set_xticks(range(len(groups)), [f"{net}\n{int(g.weights_deep.iloc[0])} weights\n{int(N)} points"
                                       for (net, N), g in groups], fontsize=8)
    ax.set(yscale="log", ylabel="test error ||f(x) - Hx||^2 / ||Hx||^2",
           title="generalisation (one dot per restart" + (" and seed)" if seed_count(fit) > 1 else ")"))
    for N in sorted(fit.samples.unique()):
        if N < n:
            ax.axhline(1 - N / n, color="C0", lw=0.8, ls=":",
                       label=f"1 - N/n = {1 - N / n:g}: min-norm dense fit from N={int(N)}")
    ax.set_xlim(-0.6, len(groups) - 0.4)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="center")


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Weights of the exact constructions, training curves of the fits, their test errors."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    exact, fit = d[d.kind.isin(["rank_k", "butterfly"])], d[d.kind == "fit"]
    if len(exact):
        _axes_weights(axes[0], exact)
    if len(fit):
        _axes_curves(axes[1], d[d.kind == "fit_curve"], fit, exp)
        _axes_test_errors(axes[2], fit)
    fig.tight_layout()
    return {"factorizations": fig}
