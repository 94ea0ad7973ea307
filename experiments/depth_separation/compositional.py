"""Part compositional (Mhaskar, Liao & Poggio 2017, AAAI "When and why are deep networks
better than shallow ones?"; Poggio et al. 2017, "Why and when can deep-but-not-shallow
networks avoid the curse of dimensionality"): a binary-tree compositional target on
[-1, 1]^d (``nnlab.compositional``, two-variable constituents) fitted at matched
parameter counts by a shallow dense relu net [d, w, 1], a deep net whose connections
follow the tree (``tree_mask``: per node n relu units reading their children's units)
and a deep dense relu net [d, w, ..., w, 1]. Each net trains at every step size of ``comp_lrs``
and ``comp_restarts`` times, the best test error kept; one ``nnlab.train`` call per
kind of net (a population has one depth), all sizes in it. Test error: root mean
squared error over the target's standard deviation, on fresh points."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import compositional as C
from nnlab.population import pad
from experiments.depth_separation.common import COMP_DATA, COMP_DEEP, COMP_SHALLOW, COMP_TREE, key, outputs, rng
from experiments.plotting import seed_band
from experiments.schema import as_list

NETS = ("shallow", "tree", "deep")
STREAMS = {"shallow": COMP_SHALLOW, "tree": COMP_TREE, "deep": COMP_DEEP}


def sizes_of(net: str, width: int, exp) -> list[int]:
    d = exp.comp_dim
    if net == "tree":
        return C.tree_sizes(d, width)
    return [d] + [width] * (1 if net == "shallow" else exp.comp_deep_layers) + [1]


def weights_of(net: str, width: int, exp) -> int:
    return C.tree_weights(exp.comp_dim, width) if net == "tree" else nnlab.count_weights(sizes_of(net, width, exp))


def widths_for(net: str, exp) -> list[int]:
    """Per target parameter count, the width (tree: units per node) whose count is nearest on a log scale."""
    out = set()
    for target in as_list(exp.comp_params):
        w, best = 1, None
        while best is None or weights_of(net, w, exp) <= 2 * target:
            gap = abs(np.log(weights_of(net, w, exp) / target))
            best = (gap, w) if best is None or gap < best[0] else best
            w += 1
        out.add(best[1])
    return sorted(out)


def _data(exp, seed: int):
    """Training and test points on [-1, 1]^d and the target, standardised by the training set."""
    g = rng(seed, COMP_DATA)
    coefficients = C.tree_coefficients(g, exp.comp_dim)
    x = g.uniform(-1, 1, (exp.comp_samples, exp.comp_dim))
    x_test = g.uniform(-1, 1, (exp.comp_test, exp.comp_dim))
    f, f_test = C.tree_function(x, coefficients), C.tree_function(x_test, coefficients)
    mean, std = f.mean(), f.std()
    return x.astype(np.float32), ((f - mean) / std).astype(np.float32)[:, None], x_test, (f_test - mean) / std


def _train(net: str, exp, seed: int, data) -> list[dict]:
    x, y, x_test, y_test = data
    widths, lrs, R = widths_for(net, exp), as_list(exp.comp_lrs), exp.comp_restarts
    archs = [sizes_of(net, w, exp) for w in widths]
    arch = np.repeat(np.arange(len(archs)), len(lrs) * R)  # architecture-major, then step size, then restart
    lr = np.tile(np.repeat(np.asarray(lrs, np.float32), R), len(archs))
    restart = np.tile(np.arange(R), len(archs) * len(lrs))
    mask = None
    if net == "tree":
        padded = np.max(archs, axis=0)
        masks = [pad(C.tree_mask(exp.comp_dim, w), padded) for w in widths]
        mask = jax.tree.map(lambda *m: jnp.stack(m)[arch], *masks)
    result = nnlab.train(key(seed, STREAMS[net]), x, y, sizes=archs, arch=arch, restart_ids=restart, lr=lr,
                         steps=exp.comp_steps, hidden="relu", output="identity", batch_size=exp.comp_batch_size,
                         mask=mask, records=10)
    test_mse = np.mean((outputs(result, x_test, "relu") - y_test[None, :]) ** 2, axis=1)
    rows = []
    for m in range(len(arch)):
        w = widths[arch[m]]
        units = C.tree_units(exp.comp_dim, w) if net == "tree" else sum(archs[arch[m]][1:-1])
        ok = not result.diverged[m]
        rows.append(dict(part="compositional", kind="fit", net=net, width=w, params=weights_of(net, w, exp),
                         units=units, restart=int(restart[m]), lr=float(lr[m]), sizes=[int(s) for s in archs[arch[m]]],
                         train_mse=float(result.loss[m]) if ok else np.nan,
                         test_mse=float(test_mse[m]) if ok else np.nan,
                         test_error=float(np.sqrt(test_mse[m])) if ok else np.nan, diverged=bool(result.diverged[m])))
    return rows


def rows(exp, seed: int, progress: bool) -> list[dict]:
    data = _data(exp, seed)
    return [row for net in NETS if net in as_list(exp.comp_nets) for row in _train(net, exp, seed, data)]


AXES = {"params": "parameters (edges, biases included)", "units": "hidden relu units"}


def theory_slope(net: str, exp, axis: str) -> float:
    """The exponent of eps in the theorems' rates for smoothness m, against ``axis``: shallow
    N ~ eps^(-d/m) units, and params ~ units, so eps ~ N^(-m/d) ~ P^(-m/d); tree N ~ (d - 1)
    eps^(-2/m) units, so eps ~ N^(-m/2); the tree net here has params ~ 6 n^2 at d = 8 (n
    units per node), so eps ~ P^(-m/4). None is stated for a deep dense net (NaN)."""
    m, d = exp.comp_smoothness, exp.comp_dim
    return {"shallow": -m / d, "tree": -m / 2 if axis == "units" else -m / 4}.get(net, np.nan)


def best_per_size(f: pd.DataFrame) -> pd.DataFrame:
    """Best test error per (net, params): over restarts and step sizes."""
    keys = (["seed"] if "seed" in f else []) + ["net", "params"]
    return f.groupby(keys).agg(test_error=("test_error", "min"), width=("width", "first"),
                               units=("units", "first"), diverged=("diverged", "sum")).reset_index()


def slope(best: pd.DataFrame, axis: str = "params") -> float:
    """Least-squares slope of log test error against log ``axis`` (params or units)."""
    ok = best.test_error > 0
    if ok.sum() < 2:
        return np.nan
    return float(np.polyfit(np.log(best[axis][ok]), np.log(best.test_error[ok]), 1)[0])


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    f = d[d.kind == "fit"]
    if f.empty:
        return [], {}
    best = best_per_size(f)
    out, fits, table = [], [], []
    for net in [n for n in NETS if (best.net == n).any()]:
        b = best[best.net == net].sort_values("params")
        m = f"m={exp.comp_smoothness:g}"
        row = {"net": net, "params": f"{b.params.min()}..{b.params.max()}",
               "error at fewest": b.test_error.iloc[0], "error at most": b.test_error.iloc[-1]}
        for axis in AXES:
            s, t = slope(b, axis), theory_slope(net, exp, axis)
            row |= {f"slope vs {axis}: fitted": s, f"vs {axis}: theorem ({m})": t}
            out.append(dict(part="compositional", net=net, quantity=f"fitted slope of log test error vs log {axis}",
                            value=s, reference=t, note=f"over {len(b)} sizes; reference: the theorems' rate "
                                                       f"({m}, d = {exp.comp_dim}); NaN where none is stated"))
        fits.append(row)
        for _, r in b.iterrows():
            table.append({"net": net, "width": r.width, "params": r.params, "relu units": r.units,
                          "test error": r.test_error, "diverged": r.diverged})
            out.append(dict(part="compositional", net=net, params=int(r.params), width=int(r.width),
                            quantity="best test error (RMS / std of the target) over restarts and step sizes",
                            value=r.test_error))
    n_runs = len(as_list(exp.comp_lrs)) * exp.comp_restarts
    return out, {
        f"compositional: test error (RMS / std) vs parameters, d = {exp.comp_dim}, best of {n_runs} runs "
        "(step sizes x restarts)": pd.DataFrame(table).sort_values(["params", "net"]),
        "compositional: fitted log-log slopes vs the theory (Mhaskar, Liao & Poggio 2017; Poggio et al. 2017)":
            pd.DataFrame(fits)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    f = d[d.kind == "fit"]
    if f.empty:
        return {}
    best = best_per_size(f)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, axis in zip(axes, AXES):
        for i, net in enumerate(n for n in NETS if (best.net == n).any()):
            b = best[best.net == net]
            label = {"shallow": "shallow dense [d, w, 1]", "tree": "deep, connections follow the tree",
                     "deep": f"deep dense, {exp.comp_deep_layers} hidden layers"}[net]
            seed_band(ax, b, axis, "test_error", positive=True, marker="os^"[i], color=f"C{i}",
                      label=f"{label}: slope {slope(b, axis):.2f}")
            t = theory_slope(net, exp, axis)
            if np.isfinite(t):
                x0 = b[axis].min()
                e0 = b[b[axis] == x0].test_error.mean()
                grid = np.geomspace(x0, b[axis].max(), 20)
                ax.plot(grid, e0 * (grid / x0) ** t, ":", color=f"C{i}", lw=1.2,
                        label=f"theorem's rate, {net}: slope {t:.2f} (m = {exp.comp_smoothness:g})")
        ax.set(xscale="log", yscale="log", xlabel=AXES[axis], ylabel="test error (RMS / std of the target)",
               title=f"binary-tree compositional target on [-1, 1]^{exp.comp_dim}: vs {axis}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return {"compositional": fig}
