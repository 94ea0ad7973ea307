"""Part sawtooth, the exact side (Telgarsky 2015 arXiv:1509.08101; 2016 COLT "Benefits of
depth in neural networks"): tent^k as k layers of 2 relu units, verified exactly; the
least L2 error of any continuous N-piece function against tent^k (a provable lower bound
and an attained upper bound, ``nnlab.sawtooth.best_pl_error``), which bounds every
shallow relu net of width w (at most w + 1 pieces); the classification form on the 2^k
alternating points. The figures also show the trained nets of ``shallow.py``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import sawtooth as ST
from nnlab.pieces import count_pieces
from experiments.depth_separation.common import BEST_CONSTANT, CHECK_POINTS, rng
from experiments.schema import as_list

BREAKPOINTS = 4097  # breakpoints j / 2^k checked through the float32 forward pass: all of them up to k = 12
OFF_GRID = 4096  # random points of [0, 1] where the float32 forward pass is compared with tent^k


def _forward32(params, x) -> np.ndarray:
    """The net on x (n,) through ``nnlab.forward`` in float32, as float64 (n,)."""
    p32 = [{name: np.asarray(a, np.float32) for name, a in layer.items()} for layer in params]
    return np.asarray(nnlab.forward(p32, np.asarray(x, np.float32)[:, None], "relu", "identity"), np.float64)[:, 0]


def _construction_rows(exp, seed: int) -> list[dict]:
    """Per k: the exact counter's pieces, points and values (every breakpoint), and a float32
    forward pass at BREAKPOINTS breakpoints (all, or a random sample: one shape for every k)
    and at OFF_GRID random points; the alternating points among them labelled by [net >= 1/2]."""
    g = rng(seed, CHECK_POINTS)
    x_off = g.uniform(0, 1, OFF_GRID)
    rows = []
    for k in range(1, exp.verify_max_k + 1):
        net, L = ST.tent_network(k), 2**k
        p = count_pieces(net, 0.0, 1.0)  # float64: exact here, every quantity a dyadic rational
        j = np.arange(L + 1)
        on_grid = p.points.shape == j.shape and bool(np.array_equal(p.points, j / L))
        checked = np.resize(j, BREAKPOINTS) if L < BREAKPOINTS else np.sort(g.choice(L + 1, BREAKPOINTS, False))
        out = _forward32(net, np.concatenate([checked / L, x_off]))
        at, off = out[:BREAKPOINTS], out[BREAKPOINTS:]
        alternating = checked < L  # the alternating points i / 2^k, i < 2^k, among those checked
        wrong = np.unique(checked[alternating & ((at >= 0.5) != (checked % 2 == 1))])
        rows.append(dict(
            part="sawtooth", kind="construction", k=k, hidden_units=2 * k, weights=nnlab.count_weights(net),
            pieces=p.pieces, regions=p.regions, pieces_theory=L, breakpoints_dyadic=on_grid,
            max_error_breakpoints=float(np.abs(p.values[:, 0] - j % 2).max()) if on_grid else np.nan,
            breakpoints_forward32=min(L + 1, BREAKPOINTS),
            max_error_forward32=float(np.abs(at - checked % 2).max()),
            max_error_offgrid32=float(np.abs(off - ST.tent_power(x_off, k)).max()),
            class_points=int(np.unique(checked[alternating]).size), class_errors=int(wrong.size)))
    return rows


def bound_widths(k: int, points: int) -> list[int]:
    """Widths w of the bound curve: ``points`` log-spaced in 1 .. 2^k, plus 2k (the deep
    net's units), 2^k - 2 (zero classification errors possible), 2^k - 1 (zero error
    possible) and 2^k (zero error attained)."""
    top = 2**k
    grid = np.unique(np.round(np.geomspace(1, top, points)).astype(int))
    return sorted({int(w) for w in grid} | {min(2 * k, top), max(top - 2, 1), top - 1, top})


def _bisect(top: int, reached) -> int:
    """The least w in 1 .. top with reached(w), given reached(top), by bisection."""
    lo, hi = 0, top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reached(mid) else (mid, hi)
    return hi


def bounds(k: int):
    """(lower, upper): ``best_pl_error`` of tent^k over the best constant's, as functions of
    the width w: ``lower(w)`` at N = w + 1 pieces (every shallow relu net of width w is at
    least this far off), ``upper(w)`` at N = w (the best one is at most this far off). For
    k <= ``DP_MAX_K`` one call gives every N (the dynamic program computes all at once);
    beyond, one call per width asked."""
    table = ST.best_pl_error(k, np.arange(1, 2**k + 1)) if k <= ST.DP_MAX_K else None

    def lower(w):
        w = np.minimum(w, 2**k - 1)  # from N = 2^k pieces on the error is 0
        return (table.lower[w] if table is not None else ST.best_pl_error(k, w + 1).lower) / BEST_CONSTANT

    def upper(w):
        w = np.minimum(w, 2**k)
        return (table.upper[w - 1] if table is not None else ST.best_pl_error(k, w).upper) / BEST_CONSTANT

    return lower, upper


def least_widths(k: int, target: float, lower, upper) -> tuple[int, int]:
    """For relative L2 error ``target``, by bisection: w_low with lower(w_low - 1) > target
    (the least error is nonincreasing in N and at least ``lower``, so no shallow relu net
    narrower than w_low reaches the target, even where the bound is not monotone), and
    w_up with upper(w_up) <= target (a net of that width reaches it: ``pl_to_relu`` of
    ``pl_construction``). lower, upper: from ``bounds(k)``."""
    return _bisect(2**k - 1, lambda w: lower(w) <= target), _bisect(2**k, lambda w: upper(w) <= target)


def _bound_rows(exp) -> list[dict]:
    rows = []
    for k in as_list(exp.bound_k):
        w = np.array(bound_widths(k, exp.bound_points))
        lower_of, upper_of = bounds(k)
        lower, upper = lower_of(w), upper_of(w)
        method = "dp" if k <= ST.DP_MAX_K else "lp"
        for i, width in enumerate(w):
            rows.append(dict(part="sawtooth", kind="bound", k=k, width=int(width), pieces_max=int(width) + 1,
                             lower_rel=float(lower[i]), upper_rel=float(upper[i]),
                             lower=float(lower[i] * BEST_CONSTANT), upper=float(upper[i] * BEST_CONSTANT),
                             sup_error=0.5 * float(width + 1 < 2**k), method=method, deep_units=2 * k,
                             min_class_errors=ST.min_classification_errors(k, int(width) + 1), points=2**k))
        for target in as_list(exp.bound_targets):
            w_low, w_up = least_widths(k, target, lower_of, upper_of)
            rows.append(dict(part="sawtooth", kind="bound_width", k=k, target=float(target), width_lower=w_low,
                             width_upper=w_up, deep_units=2 * k))
    return rows


def rows(exp, seed: int, progress: bool) -> list[dict]:
    return _construction_rows(exp, seed) + _bound_rows(exp)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    out, head = [], {}
    c = d[d.kind == "construction"].sort_values("k")
    if len(c):
        table = pd.DataFrame({"k": c.k, "hidden units": c.hidden_units, "weights": c.weights,
                              "pieces (exact count)": c.pieces, "2^k": c.pieces_theory,
                              "max |net - t^k| at j/2^k (float64)": c.max_error_breakpoints,
                              "same, float32 forward": c.max_error_forward32,
                              "float32 off the grid": c.max_error_offgrid32,
                              "alternating points wrong": c.class_errors})
        head["sawtooth: t^k as k layers of 2 relu units, verified exactly (Telgarsky 2015, 2016)"] = table
        for _, r in c.iterrows():
            key = dict(part="sawtooth", k=int(r.k))
            out += [dict(key, quantity="pieces of the deep net, exact count", value=r.pieces, reference=r.pieces_theory,
                         note="count_pieces on [0, 1]; reference: 2^k"),
                    dict(key, quantity="max |net - t^k| at the breakpoints j/2^k (exact counter)",
                         value=r.max_error_breakpoints, reference=0.0),
                    dict(key, quantity="max |net - t^k| at j/2^k, float32 forward", value=r.max_error_forward32,
                         reference=0.0),
                    dict(key, quantity="max |net - t^k| at random points, float32 forward", value=r.max_error_offgrid32,
                         note="rounding times slopes of 2^k")]
    b, bw = d[d.kind == "bound"], d[d.kind == "bound_width"]
    if len(b):
        rows_ = []
        for k, g in b.groupby("k"):
            at = g[g.width == min(2 * k, 2**k)].iloc[0]
            row = {"k": k, "deep units": 2 * k, "deep error": 0.0, "shallow width 2k: lower": at.lower_rel,
                   "upper": at.upper_rel}
            for _, t in bw[bw.k == k].iterrows():
                row[f"least width for error <= {t.target:g}: at least"] = t.width_lower
                row[f"least width for error <= {t.target:g}: at most"] = t.width_upper
                out += [dict(part="sawtooth", k=int(k), target=t.target, value=t.width_lower,
                             quantity="least shallow width reaching the relative L2 error: at least (lower bound)"),
                        dict(part="sawtooth", k=int(k), target=t.target, value=t.width_upper,
                             quantity="least shallow width reaching the relative L2 error: at most (construction)")]
            row |= {"zero error: width at least": 2**k - 1, "suffices": 2**k,
                    "classification: errors at width 2k, at least": at.min_class_errors,
                    "zero errors: width at least": max(2**k - 2, 1)}
            rows_.append(row)
            out += [dict(part="sawtooth", k=int(k), width=int(at.width), value=at.lower_rel,
                         quantity="relative L2 error of any shallow relu net of width 2k: lower bound",
                         note="best_pl_error(k, 2k + 1).lower x sqrt(12); the deep net: 0 with 2k units"),
                    dict(part="sawtooth", k=int(k), width=int(at.width), value=at.upper_rel,
                         quantity="relative L2 error of the best shallow relu net of width 2k: upper bound"),
                    dict(part="sawtooth", k=int(k), width=int(at.width), value=at.min_class_errors,
                         reference=0, quantity="alternating points misclassified by any shallow net of width 2k",
                         note="min_classification_errors(k, 2k + 1); reference: the deep net")]
        head["sawtooth: any shallow relu net of width w vs the deep net of 2k units; L2 error over [0, 1] "
             "relative to the best constant's 1/sqrt(12) (lower: provable, upper: attained)"] = pd.DataFrame(rows_)
    return out, head


def _band(ax, g, x, low, high, **style):
    ax.fill_between(g[x], g[low], g[high], lw=0, alpha=0.25, **style)


def _figure_bound(d: pd.DataFrame, exp) -> plt.Figure:
    b, sh = d[d.kind == "bound"], d[d.kind == "shallow"]
    fig, axes = plt.subplots(1, 2 if len(sh) else 1, figsize=(12.5 if len(sh) else 6.5, 5.6), squeeze=False)
    ax = axes[0, 0]
    ks = sorted(b.k.unique())
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(ks)))
    for color, k in zip(colors, ks):
        g = b[b.k == k].drop_duplicates("width").sort_values("width")
        ax.plot(g.width, g.lower_rel, "-", color=color, lw=1.6, label=f"k={k}")
        ax.plot(g.width, g.upper_rel, ":", color=color, lw=1)
        ax.plot([2 * k], [0.0], "o", color=color, ms=6, mec="k")
    ax.plot([], [], "k-", label="shallow, any width-w net: lower bound (N = w+1 pieces)")
    ax.plot([], [], "k:", label="shallow: attained (upper bound, N = w pieces)")
    ax.plot([], [], "o", color="grey", mec="k", label="deep: k layers x 2 units, error 0 (at 2k units)")
    ax.set(xscale="log", xlabel="hidden units w", ylabel="L2 error / L2 error of the best constant",
           title="tent^k: one hidden layer vs depth (Telgarsky)", ylim=(-0.04, 1.04))
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    if len(sh):
        ax = axes[0, 1]
        for i, (k, g) in enumerate(sh.groupby("k")):
            color = f"C{i}"
            per = g.groupby("width").agg(best=("rel_error", "min"), lower=("lower_rel", "first"),
                                         upper=("upper_rel", "first")).reset_index()
            _band(ax, per, "width", "lower", "upper", color=color)
            ax.plot(per.width, per.lower, "-", color=color, lw=1, label=f"k={k}: provable bracket of the best net")
            ax.plot(g.width, g.rel_error, ".", color=color, alpha=0.35, ms=4)
            ax.plot(per.width, per.best, "s-", color=color, mfc="none",
                    label=f"k={k}: training found (best of {exp.shallow_restarts}; dots: each restart)")
        ax.set(xscale="log", xlabel="hidden units w", ylabel="L2 error / best constant's",
               title="trained shallow relu nets against the bound", ylim=(-0.04, 1.1))
        widths = sorted(int(w) for w in sh.width.unique())
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    return fig


def _figure_classification(d: pd.DataFrame, exp) -> plt.Figure:
    b, sh = d[d.kind == "bound"], d[d.kind == "shallow"]
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    trained = sorted(int(k) for k in sh.k.unique())
    ks = sorted({int(k) for k in b.k.unique()} | set(trained))
    colors = dict(zip(ks, plt.cm.viridis(np.linspace(0, 0.9, len(ks))))) | {k: f"C{i}" for i, k in enumerate(trained)}
    for k in ks:
        w = np.arange(1, 2**k)  # the closed form at every width (the rows hold it on the bound's grid)
        ax.plot(w, [ST.min_classification_errors(k, n + 1) / 2**k for n in w], color=colors[k], lw=1.4,
                label=f"k={k}: any shallow net, least errors")
        if (b.k == k).any():
            ax.plot([2 * k], [0.0], "o", color=colors[k], mec="k", ms=6)
    for k, g in sh.groupby("k"):
        best = g.groupby("width").class_errors.min() / 2**k
        ax.plot(best.index, best.values, "s--", mfc="none", color=colors[int(k)], lw=1,
                label=f"k={k}: trained shallow nets, training found (best of {exp.shallow_restarts})")
    ax.plot([], [], "o", color="grey", mec="k", label="deep net, 2k units: 0 errors")
    ax.set(xscale="log", xlabel="hidden units w", ylabel="fraction of the 2^k alternating points misclassified",
           title="classification form (Telgarsky): least errors of any width-w shallow net")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    if not (d.kind == "bound").any():
        return {}
    return {"bound": _figure_bound(d, exp), "classification": _figure_classification(d, exp)}
