"""Part 3, multiplication (the product of n inputs): a deep tree of 4-neuron gates
(``nnlab.multiply.product_tree``, 4 (n - 1) gate neurons plus carries) against single-hidden-layer
nets trained on the product, and the narrowest width whose best restart reaches each target
test error: what SGD found, an upper estimate of the least width. Every n, width and restart
trains in one ``nnlab.train`` call, a population of architectures [n, w, 1].

Then the constructions at matched error: the tree, the carry-free tree of 2- and 3-input
blocks (``product_tree23``, 4 (n - 1) neurons) and the explicit single hidden layer of 2^n
neurons (``shallow_product``), each swept over its input scale lambda and evaluated in float64
with numpy (and in float32 through ``nnlab.forward``): all reach any error by lowering lambda
until rounding takes over, so at matched error the counts are 4 (n - 1) + carries vs 2^n."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import multiply as MU
from nnlab import sign_products as SP
from experiments.plotting import seed_band
from experiments.schema import as_list
from experiments.deep_vs_flat.gate import float32_forward, float64_forward

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


CONSTRUCTIONS = {  # kind -> (label, builder)
    "tree_construction": ("tree of gates", lambda n, lam, exp: MU.product_tree(n, lam, exp.gate_activation,
                                                                                  exp.gate_bias)),
    "tree23_construction": ("tree of 2- and 3-input blocks",
                            lambda n, lam, exp: SP.product_tree23(n, lam, exp.gate_activation)),
    "shallow_construction": ("one hidden layer, 2^n construction",
                             lambda n, lam, exp: SP.shallow_product(n, lam, exp.gate_activation)),
}
COUNT_NS = range(2, 13)  # the neuron counts tabulated in the summary


def _construction_rows(exp, seed: int) -> list[dict]:
    """The three constructions for each n and lambda (kinds in ``CONSTRUCTIONS``): the normalised
    test MSE in float64 (numpy, ``test_error``) and through ``nnlab.forward`` in float32; the
    shallow one with the leading term of its expansion (``SP.shallow_error_mse``)."""
    ns = as_list(exp.product_n)
    x = np.random.default_rng([seed, 6]).uniform(-1, 1, size=(TEST_POINTS, max(ns)))
    sweeps = {"tree_construction": as_list(exp.product_tree_lambdas),
              "tree23_construction": as_list(exp.product_tree_lambdas),
              "shallow_construction": as_list(exp.product_shallow_lambdas)}
    out = []
    for n in ns:
        xn, target = x[:, :n], normalised_product(x, n)
        for kind, (label, build) in CONSTRUCTIONS.items():
            for lam in sorted(float(v) for v in sweeps[kind]):
                net = build(n, lam, exp)
                with np.errstate(all="ignore"):
                    out64 = float64_forward(net.params, xn, net.hidden)[:, 0] * 3.0 ** (n / 2)
                    out32 = float32_forward(net, xn) * 3.0 ** (n / 2)
                    e64, e32 = float(np.mean((out64 - target) ** 2)), float(np.mean((out32 - target) ** 2))
                row = dict(part="multiplication", kind=kind, net=label, n=n, lam=lam, neurons=net.neurons,
                           layers=len(net.sizes) - 1, sizes=[int(v) for v in net.sizes],
                           test_error=e64 if np.isfinite(e64) else np.inf,
                           test_error_f32=e32 if np.isfinite(e32) else np.inf)
                if kind == "shallow_construction":
                    bias = SP.best_bias_order(exp.gate_activation, n)
                    row |= dict(bias=bias, test_error_theory=SP.shallow_error_mse(n, exp.gate_activation, bias, lam))
                out.append(row)
    return out


def rows(exp, seed: int, progress: bool) -> list[dict]:
    return _tree_rows(exp, seed) + _construction_rows(exp, seed) + _shallow_rows(exp, seed)


def min_width(shallow: pd.DataFrame, target: float) -> float:
    """The narrowest width whose best restart reaches test error <= target (NaN: none)."""
    best = shallow.groupby("width").test_error.min()
    reached = best.index[best.values <= target]
    return float(reached.min()) if len(reached) else np.nan


def _ns(d: pd.DataFrame) -> list[int]:
    return sorted(int(n) for n in d[d.kind.isin(["tree", "shallow"])].n.dropna().unique())


def largest_lambda(c: pd.DataFrame, target: float) -> float:
    """The largest lambda of a construction's sweep whose float64 test error is <= target (NaN: none)."""
    ok = c[c.test_error <= target]
    return float(ok.lam.max()) if len(ok) else np.nan


def match_targets(exp) -> list[float]:
    """The target errors of the matched-error comparison, loosest first."""
    return sorted((float(t) for t in as_list(exp.product_match_targets)), reverse=True)


def _count_summary() -> list[dict]:
    """Hidden neurons of the trees for n = 2..12 (tidy rows): 4 (n - 1) gate neurons, the carries of
    the greedy tree, the carry-free tree of 2- and 3-input blocks, their layers, and 2^n."""
    out = []
    for n in COUNT_NS:
        gates, carries = 4 * (n - 1), MU.tree_carries(n)
        key = dict(part="multiplication", n=n)
        out += [dict(key, quantity="gate neurons of the tree of gates, 4(n-1)", value=gates),
                dict(key, quantity="carry neurons forced by strict layering in the tree of gates", value=carries,
                     note="sum over layers of (values mod 2); the fewest of any pairing schedule"),
                dict(key, quantity="hidden neurons of the tree of gates, 4(n-1) + carries", value=gates + carries,
                     reference=MU.tree_neurons(n)),
                dict(key, quantity="hidden layers of the tree of gates", value=int(np.ceil(np.log2(n)))),
                dict(key, quantity="hidden neurons of the tree of 2- and 3-input blocks (no carries)",
                     value=SP.tree23_neurons(n), reference=gates),
                dict(key, quantity="hidden layers of the tree of 2- and 3-input blocks",
                     value=len(SP.tree23_layers(n))),
                dict(key, quantity="hidden neurons of the one-hidden-layer construction, 2^n", value=2**n)]
    return out


SHORT = {"tree_construction": "tree", "tree23_construction": "2-3 tree", "shallow_construction": "2^n"}


def _construction_summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict[int, dict]]:
    """Tidy rows per n, target and construction: its neurons and the largest lambda of its sweep
    reaching the target in float64; per n and construction: the least float64 / float32 error of the
    sweep and the fitted slope. Also headline columns per n (strings "tree / 2-3 tree / 2^n")."""
    cons = d[d.kind.isin(list(CONSTRUCTIONS))]
    out, cols = [], {}
    act = exp.gate_activation
    for n in sorted(int(v) for v in cons.n.unique()):
        per = {kind: cons[(cons.n == n) & (cons.kind == kind)] for kind in CONSTRUCTIONS}
        per = {kind: c for kind, c in per.items() if len(c)}
        col = cols.setdefault(n, {})
        for target in match_targets(exp):
            lams = {}
            for kind, c in per.items():
                label = CONSTRUCTIONS[kind][0]
                lam, neurons = largest_lambda(c, target), int(c.neurons.iloc[0])
                lams[kind] = lam
                key = dict(part="multiplication", n=n, net=label, target=target)
                out += [dict(key, quantity="hidden neurons of the construction at matched error", value=neurons,
                             reference=2**n, note="reference: 2^n" + ("" if np.isfinite(lam) else
                                                                     "; target not reached in float64 on the sweep")),
                        dict(key, quantity="largest lambda of the sweep reaching the target test error (float64)",
                             value=lam)]
                if kind == "shallow_construction":
                    bias = SP.best_bias_order(act, n)
                    out[-1]["reference"] = float((target / SP.shallow_error_mse(n, act, bias, 1.0)) ** 0.25)
                    out[-1]["note"] = "reference: lambda from the leading term C_n^2 lam^4 (3n/7 + 9n(n-1)/25)"
            col[f"lambda for {target:g}: " + " / ".join(SHORT[k] for k in lams)] = " / ".join(
                f"{v:.2g}" if np.isfinite(v) else "-" for v in lams.values())
        least = {}
        for kind, c in per.items():
            key = dict(part="multiplication", n=n, net=CONSTRUCTIONS[kind][0])
            i64, i32 = c.test_error.idxmin(), c.test_error_f32.idxmin()
            least[kind] = float(c.test_error[i64])
            out += [dict(key, quantity="least test error over the lambda sweep, float64 (numpy)",
                         value=float(c.test_error[i64]), note=f"at lambda={c.lam[i64]:g}"),
                    dict(key, quantity="lambda of the least test error, float64", value=float(c.lam[i64])),
                    dict(key, quantity="least test error over the lambda sweep, float32 (nnlab.forward)",
                         value=float(c.test_error_f32[i32]), note=f"at lambda={c.lam[i32]:g}"),
                    dict(key, quantity="lambda of the least test error, float32", value=float(c.lam[i32]))]
            # slope on lambda <= 1/8 and above the sweep's least error: inside the Taylor regime and
            # clear of rounding (lambda above the argmin, error >= 100 x the least)
            ok = c[(c.lam <= 0.125) & (c.lam > c.lam[i64]) & (c.test_error >= 100 * c.test_error[i64])]
            if len(ok) >= 2:
                out.append(dict(key, quantity="slope of log test error vs log lambda (float64, lambda <= 1/8, "
                                "error >= 100 x the least)", value=float(np.polyfit(np.log(ok.lam),
                                                                                    np.log(ok.test_error), 1)[0]),
                                reference=4.0, note="MSE ~ lambda^4: relative error O(lambda^2)"))
        col["least float64 error: " + " / ".join(SHORT[k] for k in least)] = " / ".join(
            f"{v:.1e}" for v in least.values())
    return out, cols


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    out, head = [], []
    for n in _ns(d):
        row, key = {"n": n}, dict(part="multiplication", n=n)
        t = tree[tree.n == n]
        if len(t):
            neurons, error = int(t.neurons.iloc[0]), float(t.test_error.iloc[0])
            row |= {"tree neurons": neurons, "carries": MU.tree_carries(n), "2-3 tree neurons": SP.tree23_neurons(n),
                    "tree test error": error}
            out += [dict(key, quantity="hidden neurons of the deep tree of gates", value=neurons,
                         reference=4 * (n - 1) + MU.tree_carries(n),
                         note=f"layer sizes {t.sizes.iloc[0]}; reference: 4(n-1) + carries"),
                    dict(key, quantity="test error of the deep tree of gates (MSE / variance)", value=error,
                         note=f"gates at lambda={exp.product_lambda:g}, float32")]
        s = shallow[shallow.n == n]
        if len(s):
            widest = int(s.width.max())
            for target in targets(exp):
                w = min_width(s, target)
                row[f"shallow width, error <= {target:g}"] = w
                out.append(dict(key, quantity="narrowest width at which SGD reached the target test error "
                                "(upper estimate of the least width)",
                                target=target, value=w, reference=2**n,
                                note=(f"SGD did not reach it up to width {widest}; " if np.isnan(w) else "")
                                + "reference: 2^n"))
            best = float(s[s.width == widest].test_error.min())
            row |= {"2^n": 2**n, "widest tried": widest, "its best test error": best}
            out.append(dict(key, quantity="best test error SGD reached at the widest width tried",
                            width=widest, value=best))
        head.append(row)
    found, cols = _construction_summary(d, exp)
    out += found
    for row in head:
        row |= cols.get(row["n"], {})
    if head or found:
        out += _count_summary()
    if not head:
        return out, {}
    return out, {f"multiplication: the product of n inputs, deep trees vs one hidden layer: neurons of the built "
                 f"trees (gates: 4(n-1) + carries; 2- and 3-input blocks: 4(n-1)); narrowest width SGD trained "
                 f"({exp.product_hidden}, best of {exp.product_restarts} restarts, {exp.product_steps} steps: upper "
                 "estimates of the least width; NaN: SGD did not reach the target); the explicit constructions in "
                 "float64: largest lambda of the sweep reaching each matched error (-: not reached) and the least "
                 "error of the sweep; test error = MSE / variance of the product": pd.DataFrame(head)}


def _plot_neurons(ax, d: pd.DataFrame, exp) -> None:
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    ns = _ns(d)
    grid = np.linspace(min(ns), max(ns), 100)
    ax.plot(grid, 2.0**grid, "k-", lw=1, label="2^n: one hidden layer, constructed (any error)")
    ax.plot(grid, 4 * (grid - 1), "k:", lw=1, label="4(n-1): tree of 2-/3-input blocks, built")
    if len(tree):
        t = tree.groupby("n").neurons.first()
        ax.plot(t.index, t.values, "o-", color="C3", lw=2,
                label=f"tree of gates, built: 4(n-1) + carries (error <= {tree.test_error.max():.0e})")
    keys = ["seed", "n"] if "seed" in shallow else ["n"]
    for i, target in enumerate(targets(exp) if len(shallow) else []):
        per_seed = pd.DataFrame([dict(zip(keys, k if isinstance(k, tuple) else (k,)), width=min_width(g, target),
                                      widest=g.width.max()) for k, g in shallow.groupby(keys)])
        seed_band(ax, per_seed.dropna(subset=["width"]), "n", "width", bars=True, color=f"C{i}", marker="s",
                  label=f"one hidden layer, SGD upper estimate: error <= {target:g}")
        miss = per_seed[per_seed.width.isna()].groupby("n").widest.max()
        if len(miss):
            ax.plot(miss.index, miss.values, "^", color=f"C{i}", mfc="none", ms=9,
                    label=f"SGD did not reach {target:g} up to this width")
    ax.set(yscale="log", xlabel="n (number of inputs multiplied)", ylabel="hidden neurons",
           title="product of n inputs: deep vs one hidden layer")
    ax.set_xticks(ns)
    ticks = [2**k for k in range(1, int(np.log2(max(2.0 ** max(ns), 4 * max(ns)))) + 2)]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.legend(fontsize=6, loc="upper left", framealpha=0.9)


STYLES = {"tree_construction": dict(ls="-", marker="o"), "tree23_construction": dict(ls="-.", marker="^"),
          "shallow_construction": dict(ls="--", marker="s")}


def _plot_lambda(axes, d: pd.DataFrame, exp) -> list:
    """Test error vs lambda, log-log, per n (colour) and construction (line style) on two axes: float64
    (numpy) and float32 (nnlab.forward); thin gray: the shallow construction's leading term.
    Returns the legend handles and labels."""
    cons = d[d.kind.isin(list(CONSTRUCTIONS))]
    ns = sorted(int(v) for v in cons.n.unique())
    for ax, col, title in zip(axes, ["test_error", "test_error_f32"],
                              ["constructions in float64 (numpy)", "constructions in float32 (nnlab.forward)"]):
        for i, n in enumerate(ns):
            for kind, (label, _) in CONSTRUCTIONS.items():
                c = cons[(cons.n == n) & (cons.kind == kind)]
                if not len(c):
                    continue
                neurons = int(c.neurons.iloc[0])
                seed_band(ax, c, "lam", col, positive=True, color=f"C{i}", ms=3, lw=1.2, **STYLES[kind])
                if ax is axes[0]:
                    ax.plot([], [], color=f"C{i}", ms=3, lw=1.2, **STYLES[kind],
                            label=f"n={n}: {label}, {neurons} neurons")
                if kind == "shallow_construction" and ax is axes[0]:
                    th = c.groupby("lam").test_error_theory.first()
                    ax.plot(th.index, th.values, "-", color="0.6", lw=0.6, zorder=0,
                            label="2^n construction, leading term C_n^2 lam^4 (3n/7 + 9n(n-1)/25)" if i == 0 else None)
        for target in match_targets(exp):
            ax.axhline(target, color="0.8", lw=0.6, zorder=0)
        ax.set(xscale="log", yscale="log", xlabel="lambda (input scale of the neurons)", title=title)
        ax.set_ylim(1e-16, 10)
    axes[0].set_ylabel("test error (MSE / variance of the product)")
    return axes[0].get_legend_handles_labels()


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """One figure ("neurons"): hidden neurons vs n (the built trees, the narrowest widths SGD trained per
    target, upper estimates; 2^n and 4(n-1)); where the constructions' sweeps ran, beside it their test
    error vs lambda in float64 and float32 (gray lines: the matched-error targets)."""
    has_n, has_cons = bool(_ns(d)), bool(d.kind.isin(list(CONSTRUCTIONS)).any())
    if not (has_n or has_cons):
        return {}
    if not has_cons:
        fig, ax = plt.subplots(figsize=(6.2, 4.6))
        _plot_neurons(ax, d, exp)
        fig.tight_layout()
        return {"neurons": fig}
    fig = plt.figure(figsize=(17, 6.4))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1])
    ax0 = fig.add_subplot(grid[0])
    axes = [fig.add_subplot(grid[1]), None]
    axes[1] = fig.add_subplot(grid[2], sharey=axes[0])
    if has_n:
        _plot_neurons(ax0, d, exp)
    handles, labels = _plot_lambda(axes, d, exp)
    fig.legend(handles, labels, fontsize=6.5, loc="lower right", ncol=4, framealpha=0.9,
               bbox_to_anchor=(1.0, 0.0))
    fig.tight_layout(rect=(0, 0.03 * (len(labels) // 4 + 1), 1, 1))
    return {"neurons": fig}
