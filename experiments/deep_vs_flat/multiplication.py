"""Part 3, multiplication: the 4-neuron gate of Lin, Tegmark & Rolnick (2017), its error
vs the input scale lambda (fitted log-log slope); the product of n inputs as a deep
tree of gates vs the narrowest single hidden layer that reaches the target error when
trained (widths and restarts of every n in one compiled program, padded by masks)."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import multiply as MU
from experiments.schema import as_list
from experiments.deep_vs_flat.common import line_band, seed_count


def _np_forward(params, x, act: str):
    """float64 evaluation of a product net (hidden ``act``, identity output)."""
    out = x
    for layer in params[:-1]:
        out = MU.derivatives(act, out @ layer["W"] + layer["b"][None, :])[0]
    return out @ params[-1]["W"] + params[-1]["b"][None, :]


def _slope(lams, errors) -> float:
    lams, errors = np.asarray(lams, float), np.asarray(errors, float)
    ok = np.isfinite(errors) & (errors > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lams[ok]), np.log(errors[ok]), 1)[0])


def _gate_rows(exp) -> list[dict]:
    act = exp.gate_activation
    bias = MU.best_bias(act) if exp.gate_bias is None else float(exp.gate_bias)
    C = MU.gate_error_coefficient(act, bias)
    g = np.linspace(-1, 1, 41)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    target = grid[:, 0] * grid[:, 1]
    rows = []
    for lam in sorted(as_list(exp.gate_lambdas)):
        net = MU.gate(lam, act, bias)
        params32 = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in net.params]
        out32 = np.asarray(nnlab.forward(params32, grid.astype(np.float32), net.hidden, net.output), np.float64)[:, 0]
        out64 = _np_forward(net.params, grid, act)[:, 0]
        rows.append(dict(part="multiplication", kind="gate", activation=act, bias=bias, lam=lam,
                         max_error=float(np.abs(out32 - target).max()),
                         max_error_f64=float(np.abs(out64 - target).max()),
                         rms_error_f64=float(np.sqrt(np.mean((out64 - target) ** 2))),
                         max_error_theory=2 * abs(C) * lam**2,
                         in_fit=bool(exp.gate_fit_min <= lam <= exp.gate_fit_max)))
    return rows


def _tree_rows(exp, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 4])
    rows = []
    for n in as_list(exp.product_n):
        net = MU.product_tree(n, exp.product_lambda, exp.gate_activation, exp.gate_bias)
        x = rng.uniform(-1, 1, size=(4096, n))
        target = np.prod(x, axis=1)
        params32 = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in net.params]
        out = np.asarray(nnlab.forward(params32, x.astype(np.float32), net.hidden, net.output), np.float64)[:, 0]
        rows.append(dict(part="multiplication", kind="tree", n=n, neurons=net.neurons,
                         layers=len(net.sizes) - 1, sizes="-".join(map(str, net.sizes)), lam=exp.product_lambda,
                         test_error=float(np.mean((out - target) ** 2) * 3.0**n),
                         max_error=float(np.abs(out - target).max()),
                         neurons_theory_4n=4 * n, neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def _shallow_widths(n: int, fractions) -> list[int]:
    return sorted({max(1, int(round(f * 2**n))) for f in fractions})


def _shallow_rows(exp, seed: int) -> list[dict]:
    """One hidden layer, every (n, width, restart) in one compiled program.

    Inputs are padded to max n and hidden layers to the max width; per-restart
    masks remove the padding. Targets are the products normalised to unit
    variance (E[prod^2] = 3^-n on [-1, 1]^n), so the loss is the relative error.
    """
    ns = as_list(exp.product_n)
    n_max = max(ns)
    rng = np.random.default_rng([seed, 5])
    x = rng.uniform(-1, 1, size=(exp.product_samples, n_max)).astype(np.float32)
    x_test = rng.uniform(-1, 1, size=(4096, n_max))
    jobs = [(n, w, r) for n in ns for w in _shallow_widths(n, as_list(exp.product_widths))
            for r in range(exp.product_restarts)]
    R, W = len(jobs), max(w for _, w, _ in jobs)
    mask = [{"W": np.zeros((R, n_max, W), np.float32), "b": np.zeros((R, W), np.float32)},
            {"W": np.zeros((R, W, 1), np.float32), "b": np.ones((R, 1), np.float32)}]
    y = np.zeros((R, exp.product_samples, 1), np.float32)
    for i, (n, w, _) in enumerate(jobs):
        mask[0]["W"][i, :n, :w] = 1
        mask[0]["b"][i, :w] = 1
        mask[1]["W"][i, :w] = 1
        y[i, :, 0] = np.prod(x[:, :n].astype(np.float64), axis=1) * 3.0 ** (n / 2)
    lr = np.array([exp.product_lr * min(1.0, 8.0 / w) for _, w, _ in jobs], np.float32)
    result = nnlab.train(jax.random.fold_in(jax.random.key(seed), 5), x, y, sizes=[n_max, W, 1], restarts=R,
                         steps=exp.product_steps, lr=lr,
                         hidden=exp.product_hidden, output="identity", batch_size=exp.product_batch_size,
                         mask=mask, init_scale=1.0, records=min(20, exp.product_steps))
    params = jax.tree.map(np.asarray, result.params)
    rows = []
    for i, (n, w, r) in enumerate(jobs):
        p = [{k: layer[k][i] * mk[k][i] for k in ("W", "b")} for layer, mk in zip(params, mask)]
        out = np.asarray(nnlab.forward(p, x_test.astype(np.float32), exp.product_hidden, "identity"), np.float64)[:, 0]
        target = np.prod(x_test[:, :n], axis=1) * 3.0 ** (n / 2)
        rows.append(dict(part="multiplication", kind="shallow", n=n, width=w, restart=r, neurons=w,
                         train_error=float(result.loss[i]), test_error=float(np.mean((out - target) ** 2)),
                         diverged=bool(result.diverged[i]), neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def rows(exp, seed: int, progress: bool) -> pd.DataFrame:
    steps = tqdm(total=3, desc="multiplication", disable=not progress)
    rows = _gate_rows(exp)
    steps.update()
    rows += _tree_rows(exp, seed)
    steps.update()
    rows += _shallow_rows(exp, seed)
    steps.update()
    steps.close()
    return pd.DataFrame(rows)


def _min_width(shallow: pd.DataFrame, target: float) -> float:
    best = shallow.groupby("width").test_error.min()
    reached = best.index[best.values <= target]
    return float(reached.min()) if len(reached) else np.nan


def summary(d: pd.DataFrame) -> list[dict]:
    targets = sorted({float(v) for v in str(d.product_target.iloc[0]).split(",")}, reverse=True) \
        if "product_target" in d else [0.1]
    out = []
    gate = d[d.kind == "gate"]
    if len(gate):
        fit = gate[gate.in_fit.astype(bool)]
        C = MU.gate_error_coefficient(gate.activation.iloc[0], float(gate.bias.iloc[0]))
        span = f"lambda in [{fit.lam.min():g}, {fit.lam.max():g}]"
        out += [
            dict(part="multiplication", quantity="gate error exponent: slope of log max error vs log lambda (float64)",
                 value=_slope(fit.lam, fit.max_error_f64), reference=2.0,
                 note=f"{gate.activation.iloc[0]} gate at b={float(gate.bias.iloc[0]):.3f}, {span}"),
            dict(part="multiplication", quantity="same slope, net evaluated in float32 by nnlab.forward",
                 value=_slope(fit.lam, fit.max_error), reference=2.0,
                 note="float32 rounding adds ~eps/lambda^2 below lambda ~ 0.05"),
            dict(part="multiplication", quantity="gate max error / lambda^2 at the smallest fitted lambda (float64)",
                 value=float(fit.max_error_f64.iloc[0] / fit.lam.iloc[0] ** 2), reference=2 * abs(C),
                 note=f"theory: 2|C|, C = f''''(b) / (6 f''(b)) = {C:.4f}"),
        ]
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    for n in sorted(set(tree.n.dropna().astype(int)) | set(shallow.n.dropna().astype(int))):
        t = tree[tree.n == n]
        if len(t):
            out.append(dict(part="multiplication", quantity=f"n={n}: hidden neurons of the deep tree of gates",
                            value=float(t.neurons.iloc[0]), reference=float(4 * n),
                            note=f"layers {t.sizes.iloc[0]}, test error {t.test_error.iloc[0]:.1e} at lambda={t.lam.iloc[0]:g}; reference: 4n"))
        s = shallow[shallow.n == n]
        for target in targets if len(s) else []:
            w = _min_width(s, target)
            best = s.groupby("width").test_error.min()
            out.append(dict(part="multiplication",
                            quantity=f"n={n}: narrowest single hidden layer reaching test error <= {target:g}",
                            value=w, reference=float(2**n),
                            note=("not reached up to width " + str(int(best.index.max())) if np.isnan(w) else
                                  f"best test error {best.loc[w]:.3f}") + f"; best at widest ({int(best.index.max())}): "
                                 f"{best.iloc[-1]:.3f}; reference: 2^n"))
    return out


def _figure_gate(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.8, 4.3))
    gate = d[d.kind == "gate"]
    act, bias = gate.activation.iloc[0], float(gate.bias.iloc[0])
    fit = gate[gate.in_fit.astype(bool)]
    slope64, slope32 = _slope(fit.lam, fit.max_error_f64), _slope(fit.lam, fit.max_error)
    line_band(ax, gate, "lam", "max_error_f64", "C0", label=f"gate in float64 (fitted slope {slope64:.3f})",
               marker="o", ls="none")
    line_band(ax, gate, "lam", "max_error", "C1", label=f"nnlab.forward, float32 (slope {slope32:.2f})",
               marker="x", ls="none")
    lam = np.geomspace(gate.lam.min(), gate.lam.max(), 50)
    C = MU.gate_error_coefficient(act, bias)
    ax.plot(lam, 2 * abs(C) * lam**2, "k--", lw=1, label=f"theory 2|C| lambda^2, C = f''''/(6f'') = {C:.3f}")
    f = MU.derivatives(act, bias)
    ax.plot(lam, np.finfo(np.float32).eps * abs(float(f[0])) / (abs(float(f[2])) * lam**2), color="C1", ls="-.", lw=0.8,
            label="float32 rounding scale eps f(b) / (|f''(b)| lambda^2)")
    ax.axvspan(fit.lam.min(), fit.lam.max(), color="gray", alpha=0.1, label="fit range")
    ax.set_ylim(0.5 * min(gate.max_error_f64.min(), gate.max_error.min()), 2 * gate.max_error.max())
    ax.set(xscale="log", yscale="log", xlabel="input scale lambda",
           ylabel="max |m(x, y) - xy| on [-1, 1]^2",
           title=f"4-neuron multiplication gate ({act}, b = {bias:.3f})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _figure_neurons(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    ns = sorted(set(tree.n.dropna().astype(int)) | set(shallow.n.dropna().astype(int)))
    grid = np.linspace(min(ns), max(ns), 100)
    ax.plot(grid, 2.0**grid, "k-", lw=1, label="2^n: one hidden layer, Lin-Tegmark-Rolnick bound")
    ax.plot(grid, 4 * grid, "k:", lw=1, label="4n: tree of 4-neuron gates")
    if len(tree):
        t = tree.groupby("n").neurons.first()
        ax.plot(t.index, t.values, "o-", color="C3", lw=2,
                label=f"deep tree of gates, built (test error <= {tree.test_error.max():.0e})")
    targets = sorted({float(v) for v in str(d.product_target.iloc[0]).split(",")}, reverse=True) \
        if "product_target" in d else [0.1]
    for i, target in enumerate(targets if len(shallow) else []):
        color = f"C{i}"
        rows = []
        for (n, seed), g in shallow.groupby(["n", "seed"] if "seed" in shallow else ["n", "n"]):
            w = _min_width(g, target)
            rows.append((n, w, g.width.max()))
        r = pd.DataFrame(rows, columns=["n", "w", "wmax"])
        ok = r[r.w.notna()]
        if len(ok):
            mean = ok.groupby("n").w.mean()
            ax.plot(mean.index, mean.values, "s-", color=color,
                    label=f"one hidden layer, trained: narrowest reaching test error <= {target:g}"
                    + (" (mean over seeds reaching it; bar: range)" if seed_count(shallow) > 1 else ""))
            if seed_count(shallow) > 1:
                ax.vlines(mean.index, ok.groupby("n").w.min(), ok.groupby("n").w.max(), color=color, lw=2, alpha=0.4)
        miss = r[r.w.isna()].groupby("n").wmax.max()
        if len(miss):
            ax.plot(miss.index, miss.values, "^", color=color, mfc="none", ms=9,
                    label=f"not reached up to this width (target {target:g})")
    ax.set(yscale="log", xlabel="n (number of inputs multiplied)", ylabel="hidden neurons",
           title="product of n inputs: deep vs one hidden layer")
    ax.set_xticks(ns)
    ticks = [2**k for k in range(1, int(np.log2(max(2.0 ** max(ns), 4 * max(ns)))) + 2)]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame) -> dict[str, plt.Figure]:
    figs = {}
    if (d.kind == "gate").any():
        figs["gate"] = _figure_gate(d)
    if d.kind.isin(["tree", "shallow"]).any():
        figs["neurons"] = _figure_neurons(d)
    return figs
