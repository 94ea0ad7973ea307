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
from experiments.schema import as_list
from experiments.deep_vs_flat.common import fmt_steps, relative_error, seed_count


def _exact_rows(exp, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 2])
    rows = []
    for n in as_list(exp.factor_n):
        x = rng.normal(size=(64, n)).astype(np.float32)
        for k in as_list(exp.factor_rank):
            if k >= n:
                continue
            A = (rng.normal(size=(n, k)) / np.sqrt(n)).astype(np.float32)
            B = (rng.normal(size=(k, n)) / np.sqrt(k)).astype(np.float32)
            params = LI.low_rank_params(A, B)
            dense = A.astype(np.float64) @ B.astype(np.float64)
            out = nnlab.forward(params, x, "identity", "identity", LI.zero_bias_mask([n, k, n]))
            rows.append(dict(part="factorizations", kind="rank_k", n=n, k=k, layers=2,
                             weights_deep=LI.low_rank_weights(n, k), weights_flat=n * n,
                             rank=int(np.linalg.matrix_rank(dense)),
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


def _fit_rows(exp, seed: int, progress: bool) -> list[dict]:
    """Butterfly-masked deep net vs dense one-layer net, trained on y = x H / sqrt(n)."""
    n = exp.fit_n
    m = n.bit_length() - 1
    rng = np.random.default_rng([seed, 3])
    H = LI.hadamard(n) / np.sqrt(n)
    x_test = rng.normal(size=(2048, n))
    y_test = x_test @ H
    nets = {
        "butterfly": dict(sizes=[n] * (m + 1), mask=LI.zero_bias_mask([n] * (m + 1), LI.butterfly_masks(n)),
                          init_scale=2**-0.5),
        # near-zero init: GD then converges to the min-norm interpolant, the flat net's best case
        "dense": dict(sizes=[n, n], mask=LI.zero_bias_mask([n, n]), init_scale=1e-4),
    }
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
        weights = nnlab.count_weights([{"W": np.ones((i, o)), "b": np.ones(o)} for i, o in
                                       zip(net["sizes"][:-1], net["sizes"][1:])], net["mask"])
        for r in range(exp.fit_restarts):
            params = jax.tree.map(lambda a: np.asarray(a[r], np.float64), result.params)
            W = LI.flatten([{"W": p["W"] * mk["W"], "b": p["b"] * mk["b"]}
                            for p, mk in zip(params, net["mask"])])["W"]
            test_error = float(np.sum((x_test @ W - y_test) ** 2) / np.sum(y_test**2))
            reached = np.flatnonzero(history[r] <= exp.fit_target)
            rows.append(dict(part="factorizations", kind="fit", net=name, n=n, samples=N, restart=r,
                             layers=len(net["sizes"]) - 1, weights_deep=weights, weights_flat=n * n,
                             train_rel_loss=float(final[r]), test_rel_error=test_error,
                             steps_to_target=float(steps_at[reached[0]]) if reached.size else np.nan,
                             steps=exp.fit_steps, diverged=bool(result.diverged[r])))
            rows += [dict(part="factorizations", kind="fit_curve", net=name, n=n, samples=N, restart=r,
                          step=int(t), train_rel_loss=float(h)) for t, h in zip(steps_at, history[r])]
    return rows


def rows(exp, seed: int, progress: bool) -> pd.DataFrame:
    return pd.DataFrame(_exact_rows(exp, seed) + _fit_rows(exp, seed, progress))


def summary(d: pd.DataFrame) -> list[dict]:
    out = []
    exact = d[d.kind.isin(["rank_k", "butterfly"])]
    if len(exact):
        out.append(dict(part="factorizations", quantity="max relative error of the exact constructions (float32)",
                        value=exact.rel_error.max(), reference=float(np.finfo(np.float32).eps),
                        note=f"{len(exact)} nets: rank-k and butterfly, n in {sorted(exact.n.unique().astype(int).tolist())}"))
        for _, r in exact.sort_values(["kind", "n", "k"]).iterrows():
            label = (f"rank-{int(r.k)} map n={int(r.n)}: weights n->k->n (2nk) vs dense n^2" if r.kind == "rank_k"
                     else f"Walsh-Hadamard n={int(r.n)}: butterfly weights (2n log2 n) vs dense n^2")
            out.append(dict(part="factorizations", quantity=label, value=float(r.weights_deep),
                            reference=float(r.weights_flat), note=f"{int(r.layers)} layers"))
    fit = d[d.kind == "fit"]
    for (net, N), g in fit.groupby(["net", "samples"]):
        ok = g.train_rel_loss <= g.fit_target if "fit_target" in g else g.steps_to_target.notna()
        out.append(dict(
            part="factorizations",
            quantity=f"Hadamard n={int(g.n.iloc[0])} fitted from {int(N)} points by the {net} net: test error (median)",
            value=float(g.test_rel_error.median()), reference=float(max(0.0, 1 - N / g.n.iloc[0])) if net == "dense" else 0.0,
            note=(f"{int(g.weights_deep.iloc[0])} weights; best restart {g.test_rel_error.min():.1e}; "
                  f"{int(ok.sum())}/{len(g)} reach train loss target, median steps {fmt_steps(g.steps_to_target.median())}; "
                  "reference: " + ("1 - N/n, error of the min-norm fit" if net == "dense" else "exact"))))
    return out


def _figure_factorizations(d: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    ax = axes[0]
    exact = d[d.kind.isin(["rank_k", "butterfly"])]
    if len(exact):
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
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="weights", title="exact factorizations vs the flat matrix")
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    curves = d[d.kind == "fit_curve"]
    fit = d[d.kind == "fit"]
    colors = {"butterfly": "C3", "dense": "C0"}
    styles = {N: s for N, s in zip(sorted(fit.samples.unique()) if len(fit) else [], ["-", "--", ":", "-."] * 5)}
    for (net, N), g in curves.groupby(["net", "samples"]):
        runs = g.groupby(["seed", "restart"] if "seed" in g else ["restart"])
        for j, (_, run) in enumerate(runs):
            axes[1].plot(run.step, run.train_rel_loss, color=colors[net], ls=styles[N], lw=0.9, alpha=0.7,
                         label=f"{net}, {int(N)} points (one line per restart)" if j == 0 else None)
    if len(fit):
        axes[1].axhline(float(fit.fit_target.iloc[0]) if "fit_target" in fit else 1e-3, color="k", ls=":", lw=1,
                        label="target")
        n = int(fit.n.iloc[0])
        axes[1].set(yscale="log", xlabel="gradient-descent step", ylabel="training loss / loss of the zero map",
                    title=f"fitting the Hadamard transform, n={n}")
        axes[1].legend(fontsize=7)
        labels, data = [], []
        for (net, N), g in fit.groupby(["net", "samples"]):
            labels.append(f"{net}\n{int(g.weights_deep.iloc[0])} weights\n{int(N)} points")
            data.append(g.test_rel_error.clip(lower=1e-16).values)
        for i, vals in enumerate(data):
            net = labels[i].split("\n")[0]
            axes[2].scatter(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)), vals, color=colors[net], s=18)
        axes[2].set_xticks(range(len(labels)), labels, fontsize=8)
        axes[2].set(yscale="log", ylabel="test error ||f(x) - Hx||^2 / ||Hx||^2",
                    title="generalisation (one dot per restart" + (" and seed)" if seed_count(fit) > 1 else ")"))
        for N in sorted(fit.samples.unique()):
            if N < n:
                axes[2].axhline(1 - N / n, color="C0", lw=0.8, ls=":",
                                label=f"1 - N/n = {1 - N / n:g}: min-norm dense fit from N={int(N)}")
        axes[2].set_xlim(-0.6, len(labels) - 0.4)
        if axes[2].get_legend_handles_labels()[0]:
            axes[2].legend(fontsize=7, loc="center")
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame) -> dict[str, plt.Figure]:
    return {"factorizations": _figure_factorizations(d)}
