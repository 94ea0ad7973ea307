"""Part 3, multiplication (the product of n inputs): a deep tree of 4-neuron gates
(``nnlab.multiply.product_tree``, about 4n neurons) against single-hidden-layer nets
trained on the product, and the narrowest width whose best restart reaches each target
test error (the theorem's bound for one hidden layer: 2^n). Every n, width and restart
trains in one ``nnlab.train`` call, a population of architectures [n, w, 1]."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import multiply as MU
from experiments.plotting import seed_band
from experiments.schema import as_list
from experiments.deep_vs_flat.gate import float32_forward

TEST_POINTS = 4096


def normalised_product(x: np.ndarray, n: int) -> np.ndarray:
    """The product of the first n columns of x (N, >= n) over its standard deviation
    on [-1, 1]^n (E[prod^2] = 3^-n): (N,) float64, so a mean squared error is relative."""
    return np.prod(np.asarray(x[:, :n], np.float64), axis=1) * 3.0 ** (n / 2)


def shallow_widths(n: int, fractions) -> list[int]:
    """The hidden widths tried for n inputs: the fractions of 2^n, rounded, distinct."""
    return sorted({max(1, int(round(f * 2**n))) for f in fractions})


def targets(exp) -> list[float]:
    """The target test errors, loosest first."""
    return sorted((float(t) for t in as_list(exp.product_target)), reverse=True)


def _tree_rows(exp, seed: int) -> list[dict]:
    """The deep tree of gates for each n (kind tree): neurons, layer sizes, test error."""
    rng = np.random.default_rng([seed, 4])
    rows = []
    for n in as_list(exp.product_n):
        net = MU.product_tree(n, exp.product_lambda, exp.gate_activation, exp.gate_bias)
        x = rng.uniform(-1, 1, size=(TEST_POINTS, n))
        out = float32_forward(net, x)
        error = out * 3.0 ** (n / 2) - normalised_product(x, n)
        rows.append(dict(part="multiplication", kind="tree", n=n, neurons=net.neurons, layers=len(net.sizes) - 1,
                         sizes=[int(s) for s in net.sizes], lam=exp.product_lambda,
                         test_error=float(np.mean(error**2)), max_error=float(np.abs(out - np.prod(x, axis=1)).max()),
                         neurons_theory_4n=4 * n, neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def _shallow_rows(exp, seed: int) -> list[dict]:
    """Single-hidden-layer nets [n, w, 1] (kind shallow), every n, width and restart in one
    population: x holds max(n) columns and a net of n inputs reads the first n. Targets are
    the normalised products, so the loss is the relative error; lr shrinks as 8/w above w = 8."""
    ns = as_list(exp.product_n)
    rng = np.random.default_rng([seed, 5])
    x = rng.uniform(-1, 1, size=(exp.product_samples, max(ns))).astype(np.float32)
    x_test = rng.uniform(-1, 1, size=(TEST_POINTS, max(ns)))
    archs = [[n, w, 1] for n in ns for w in shallow_widths(n, as_list(exp.product_widths))]
    R = exp.product_restarts
    y = np.stack([normalised_product(x, n) for n, _, _ in archs]).repeat(R, axis=0)[:, :, None]  # (M, N, 1)
    lr = np.array([exp.product_lr * min(1.0, 8.0 / w) for _, w, _ in archs], np.float32).repeat(R)
    result = nnlab.train(jax.random.fold_in(jax.random.key(seed), 5), x, y.astype(np.float32), sizes=archs,
                         restarts=R, steps=exp.product_steps, lr=lr, hidden=exp.product_hidden, output="identity",
                         batch_size=exp.product_batch_size, init_scale=1.0, records=min(20, exp.product_steps))
    # padded units and inputs have no edges: the padded nets compute what the true ones do
    test = jnp.asarray(x_test, jnp.float32)
    out = np.asarray(jax.jit(jax.vmap(lambda p: nnlab.forward(p, test, exp.product_hidden, "identity")[:, 0]))(
        result.params), np.float64)
    rows = []
    for m, ((n, w, _), r) in enumerate(zip(result.sizes, result.restart_ids)):
        rows.append(dict(part="multiplication", kind="shallow", n=int(n), width=int(w), restart=int(r), neurons=int(w),
                         train_error=float(result.loss[m]),
                         test_error=float(np.mean((out[m] - normalised_product(x_test, n)) ** 2)),
                         diverged=bool(result.diverged[m]), neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def rows(exp, seed: int, progress: bool) -> list[dict]:
    return _tree_rows(exp, seed) + _shallow_rows(exp, seed)


def min_width(shallow: pd.DataFrame, target: float) -> float:
    """The narrowest width whose best restart reaches test error <= target (NaN: none)."""
    best = shallow.groupby("width").test_error.min()
    reached = best.index[best.values <= target]
    return float(reached.min()) if len(reached) else np.nan


def _ns(d: pd.DataFrame) -> list[int]:
    return sorted(int(n) for n in d[d.kind.isin(["tree", "shallow"])].n.dropna().unique())


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    out, head = [], []
    for n in _ns(d):
        row, key = {"n": n}, dict(part="multiplication", n=n)
        t = tree[tree.n == n]
        if len(t):
            neurons, error = int(t.neurons.iloc[0]), float(t.test_error.iloc[0])
            row |= {"tree neurons": neurons, "4n": 4 * n, "tree test error": error}
            out += [dict(key, quantity="hidden neurons of the deep tree of gates", value=neurons, reference=4 * n,
                         note=f"layer sizes {t.sizes.iloc[0]}; reference: 4n"),
                    dict(key, quantity="test error of the deep tree of gates (MSE / variance)", value=error,
                         note=f"gates at lambda={exp.product_lambda:g}")]
        s = shallow[shallow.n == n]
        if len(s):
            widest = int(s.width.max())
            for target in targets(exp):
                w = min_width(s, target)
                row[f"shallow width, error <= {target:g}"] = w
                out.append(dict(key, quantity="narrowest trained single hidden layer reaching the target test error",
                                target=target, value=w, reference=2**n,
                                note=(f"not reached up to width {widest}; " if np.isnan(w) else "") + "reference: 2^n"))
            best = float(s[s.width == widest].test_error.min())
            row |= {"2^n": 2**n, "widest tried": widest, "its best test error": best}
            out.append(dict(key, quantity="best test error of the single hidden layer at the widest width tried",
                            width=widest, value=best))
        head.append(row)
    if not head:
        return [], {}
    return out, {f"multiplication: the product of n inputs, deep tree of gates vs one trained hidden layer "
                 f"({exp.product_hidden}, best of {exp.product_restarts} restarts; NaN: not reached); "
                 "test error = MSE / variance of the product": pd.DataFrame(head)}


def _figure_neurons(d: pd.DataFrame, exp) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    ns = _ns(d)
    grid = np.linspace(min(ns), max(ns), 100)
    ax.plot(grid, 2.0**grid, "k-", lw=1, label="2^n: one hidden layer, Lin-Tegmark-Rolnick bound")
    ax.plot(grid, 4 * grid, "k:", lw=1, label="4n: tree of 4-neuron gates")
    if len(tree):
        t = tree.groupby("n").neurons.first()
        ax.plot(t.index, t.values, "o-", color="C3", lw=2,
                label=f"deep tree of gates, built (test error <= {tree.test_error.max():.0e})")
    keys = ["seed", "n"] if "seed" in shallow else ["n"]
    for i, target in enumerate(targets(exp) if len(shallow) else []):
        per_seed = pd.DataFrame([dict(zip(keys, k if isinstance(k, tuple) else (k,)), width=min_width(g, target),
                                      widest=g.width.max()) for k, g in shallow.groupby(keys)])
        seed_band(ax, per_seed.dropna(subset=["width"]), "n", "width", bars=True, color=f"C{i}", marker="s",
                  label=f"one hidden layer, trained: narrowest reaching test error <= {target:g}")
        miss = per_seed[per_seed.width.isna()].groupby("n").widest.max()
        if len(miss):
            ax.plot(miss.index, miss.values, "^", color=f"C{i}", mfc="none", ms=9,
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


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Hidden neurons vs n: the tree, the trained single layer per target, 2^n and 4n."""
    return {"neurons": _figure_neurons(d, exp)} if _ns(d) else {}
