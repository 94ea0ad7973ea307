"""Figures of local_minima: success vs width, best of K restarts (measured on
disjoint groups), final-loss histograms by status, what the stuck runs are, stuck
fraction vs steps, and how the stuck runs' excess loss and weight norm move.

One panel (or line) per (task, n, hidden activation). The rows may hold several
seeds of one config (``experiments.analyze`` pools seeds and nothing else): curves
show the mean over seeds with the range over seeds (``seed_band``), histograms and
scatter plots pool the seeds' runs and say so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nnlab import stats
from experiments.local_minima.summary import STUCK, level_name
from experiments.plotting import seed_band, seed_count
from experiments.summary import per_seed

STATUS_COLOURS = {"solved": "#4daf4a", "local_min": "#e41a1c", "saddle_or_plateau": "#ff7f00", "diverged": "0.5"}


def _title(task: str, n: int, hidden: str) -> str:
    return task + (f" n={n}" if task in ("parity", "random") else "") + f", {hidden}"


def _pooled(df: pd.DataFrame) -> str:
    """', k seeds pooled' when the rows hold several seeds."""
    return f", {seed_count(df)} seeds pooled" if seed_count(df) > 1 else ""


def _panels(df: pd.DataFrame, kind: str = "restart"):
    """(title, rows) per panel: one per (task, n, hidden), in the order of the rows."""
    rows = df[(df.part == "restarts") & (df.kind == kind)]
    if kind == "restart":
        rows = rows.astype({"solved": bool, "solved_mid": bool})
    for (task, n, hidden), g in rows.groupby(["task", "n", "hidden"], sort=False):
        yield _title(task, n, hidden), g


def _tight(fig: plt.Figure) -> None:
    """tight_layout that leaves room for the suptitle (about 0.4 inch)."""
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))


def _panel_axes(n_panels: int, rows_per_panel: int, width: float, height: float, **kw):
    """A figure with up to 3 panels per row, each panel ``rows_per_panel`` axes tall.
    Returns (fig, axes) with axes[panel][row]; unused axes are hidden."""
    cols = min(3, n_panels)
    grid_rows = -(-n_panels // cols)
    fig, axes = plt.subplots(grid_rows * rows_per_panel, cols, figsize=(width * cols, height * grid_rows),
                             squeeze=False, **kw)
    panels = [[axes[(k // cols) * rows_per_panel + r][k % cols] for r in range(rows_per_panel)]
              for k in range(grid_rows * cols)]
    for unused in panels[n_panels:]:
        for ax in unused:
            ax.set_visible(False)
    return fig, panels[:n_panels]


def _success_figure(df: pd.DataFrame) -> plt.Figure:
    """Fraction of restarts solved vs width, a line per (task, n, hidden): one seed with
    95% Wilson intervals, several with the mean and range over seeds."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    several = seed_count(df) > 1
    for i, (title, g) in enumerate(_panels(df)):
        line = seed_band(ax, g.astype({"solved": float}), "width", "solved", bars=True, marker="o", color=f"C{i}",
                         label=title)
        if not several:
            by_width = g.groupby("width").solved
            wins, total = by_width.sum(), by_width.count()
            p, (low, high) = wins / total, stats.wilson_interval(wins.values, total.values)
            ax.errorbar(p.index, p.values, yerr=[p.values - low, high - p.values], fmt="none",
                        ecolor=line.get_color(), capsize=4)
    spread = " (mean, range over seeds)" if several else " (95% Wilson intervals)"
    ax.set(xscale="log", xlabel="hidden width (neurons)", ylabel="success probability p per restart",
           ylim=(-0.02, 1.02), title="success probability vs width" + spread)
    ticks = sorted(int(w) for w in df[(df.part == "restarts") & (df.kind == "restart")].width.unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="task, hidden activation", title_fontsize=8)
    _tight(fig)
    return fig


def _best_of_k_figure(df: pd.DataFrame) -> plt.Figure:
    """P(at least one of K restarts solves), measured: the restarts of each seed split into
    floor(R / K) disjoint groups of K (restart order), the fraction of groups with a solved
    restart (groups of all seeds pooled) with its 95% Wilson interval, against 1 - (1 - p)^K."""
    panels, pooled = list(_panels(df)), _pooled(df)
    fig, axes = _panel_axes(len(panels), 1, 4.6, 4.0)
    for (ax,), (title, g) in zip(axes, panels):
        widths = sorted(g.width.unique())
        for i, width in enumerate(widths):
            runs = [r.sort_values("restart").solved.values for _, r in per_seed(g[g.width == width])]
            R, p = min(len(r) for r in runs), np.mean(np.concatenate(runs))
            # K up to twice what 99.9% takes (there the curves sit at 1), at least 10 groups
            top = min(max(2, R // 10), 2 * stats.restarts_for_confidence(p, 0.999))
            ks = np.unique(np.geomspace(1, max(top, 2), 25).astype(int))
            counts = np.array([[stats.best_of_k_disjoint(r, k) for r in runs] for k in ks]).sum(axis=1)
            groups, wins = counts[:, 0], counts[:, 1]
            low, high = stats.wilson_interval(wins, groups)
            line = ax.plot(ks, wins / groups, marker=".", ms=4, lw=1.5, color=f"C{i}",
                           label=f"width {width}: measured (disjoint groups)")[0]
            ax.fill_between(ks, low, high, color=line.get_color(), alpha=0.2, lw=0)
            ax.plot(ks, stats.best_of_k_geometric(p, ks), "--", color="k", lw=0.8, zorder=3,
                    label="$1-(1-p)^K$, p = success fraction" if i == len(widths) - 1 else None)
        ax.set(xscale="log", xlabel="restarts K per group (keep the best)", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel("fraction of groups with a solved restart")
    fig.suptitle("best of K restarts, measured on floor(R/K) disjoint groups of K (band: 95% Wilson"
                 f"{pooled}), vs independent restarts $1-(1-p)^K$", fontsize=10)
    _tight(fig)
    return fig


def _histogram_figure(df: pd.DataFrame) -> plt.Figure:
    """Top: all final losses (log scale). Bottom: the unsolved runs only, on a linear scale,
    where they pile up at a few loss values (dotted: the levels of ``constant_output_levels``)."""
    panels, pooled = list(_panels(df)), _pooled(df)
    fig, axes = _panel_axes(len(panels), 2, 4.8, 6.6)
    statuses = list(STATUS_COLOURS)
    for (top, bottom), (title, g) in zip(axes, panels):
        losses = g.final_loss.where(np.isfinite(g.final_loss))
        low = max(float(np.nanmin(losses[losses > 0])) if (losses > 0).any() else 1e-8, 1e-12)
        high = max(float(np.nanmax(losses)) if losses.notna().any() else 1.0, low * 10) * 1.01
        data = [g.final_loss[g.status == s].clip(lower=low) for s in statuses]
        data[-1] = data[-1].fillna(high)  # diverged runs (NaN loss) at the right edge
        top.hist(data, bins=np.geomspace(low, high, 60), stacked=True, color=list(STATUS_COLOURS.values()),
                 label=[f"{s} ({len(d)})" for s, d in zip(statuses, data)])
        top.set(xscale="log", yscale="log", xlabel="final training loss", ylabel=f"restarts (all widths{pooled})",
                title=title)
        top.legend(fontsize=7, loc="upper center")
        stuck = g[g.status.isin(STUCK)]
        if stuck.empty:
            bottom.text(0.5, 0.5, "no stuck runs", transform=bottom.transAxes, ha="center")
        else:
            lo, hi = stuck.final_loss.min(), stuck.final_loss.max()
            pad = max(0.05 * (hi - lo), 0.01 * hi, 1e-6)
            bins = np.linspace(lo - pad, hi + pad, 80)
            bottom.hist([stuck.final_loss[stuck.status == s] for s in ("local_min", "saddle_or_plateau")], bins=bins,
                        stacked=True, color=[STATUS_COLOURS["local_min"], STATUS_COLOURS["saddle_or_plateau"]])
            near = (stuck.final_loss - stuck.nearest_level).abs() < 0.01
            for level in sorted(set(stuck.nearest_level[near])):
                count = int((near & (stuck.nearest_level == level)).sum())
                bottom.axvline(level, color="k", lw=0.7, ls=":")
                bottom.text(level, 0.97, f" {level_name(level)}\n {count} runs", transform=bottom.get_xaxis_transform(),
                            fontsize=7, va="top")
        bottom.set(xlabel="final training loss of the unsolved runs", ylabel=f"restarts (all widths{pooled})")
    fig.suptitle("final losses by end-point status; the stuck runs collect at the loss levels of outputs "
                 "constant on groups of points (dotted)", fontsize=10)
    _tight(fig)
    return fig


def _level_labels(g: pd.DataFrame) -> pd.Series:
    """Each run's plateau level as text ('1/8'), or 'other' when its loss is not near one."""
    near = (g.final_loss - g.nearest_level).abs() < 0.01
    return pd.Series([level_name(v) if ok else "other" for v, ok in zip(g.nearest_level, near)], index=g.index)


def _stuck_figure(df: pd.DataFrame, exp) -> plt.Figure:
    """Gradient norm and late loss decrease against the smallest Hessian eigenvalue, stuck runs only,
    with the tolerances of ``exp``."""
    from matplotlib.lines import Line2D

    panels, pooled = list(_panels(df)), _pooled(df)
    fig, axes = _panel_axes(len(panels), 2, 4.8, 7.0)
    floor = 1e-9
    markers = dict(zip(["1/8", "1/6", "1/4", "other"], "osD^"))
    for (top, bottom), (title, g) in zip(axes, panels):
        stuck = g[g.status.isin(STUCK)]
        levels = _level_labels(stuck)
        for (status, level), gs in stuck.groupby([stuck.status, levels]):
            style = dict(s=12, marker=markers.get(level, "v"), color=STATUS_COLOURS[status], alpha=0.55, lw=0)
            top.scatter(gs.min_hessian_eig, gs.grad_norm.clip(lower=floor), **style)
            bottom.scatter(gs.min_hessian_eig, gs.loss_drop.clip(lower=floor), **style)
        for ax in (top, bottom):
            ax.set_xscale("symlog", linthresh=1e-7)
            ax.set_yscale("log")
            ax.axvline(0, color="k", lw=0.6)
            ax.axvline(-exp.hess_tol, color="k", lw=0.6, ls=":")
            ax.grid(alpha=0.3)
        top.axhline(exp.grad_tol, color="k", lw=0.6, ls="--")
        bottom.axhline(exp.fall_tol, color="k", lw=0.6, ls="--")
        top.set(title=f"{title}: {len(stuck)} stuck of {len(g)}{pooled}", ylabel="gradient norm at the end")
        bottom.set(xlabel="smallest Hessian eigenvalue", ylabel=f"relative loss decrease, 2nd half (floor {floor:g})")
        handles = [Line2D([], [], marker="o", lw=0, color=STATUS_COLOURS[s],
                          label=f"{s} ({int((stuck.status == s).sum())})") for s in STUCK]
        handles += [Line2D([], [], marker=markers.get(l, "v"), lw=0, color="0.3",
                           label=(f"loss ~ {l}" if l != "other" else "other loss") + f" ({int((levels == l).sum())})")
                    for l in sorted(set(levels))]
        top.legend(handles=handles, fontsize=7, loc="best")
        if stuck.empty:
            top.text(0.5, 0.5, "no stuck runs", transform=top.transAxes, ha="center")
    fig.suptitle("what the stuck runs are (dashed: grad_tol and fall_tol; dotted: -hess_tol)", fontsize=10)
    _tight(fig)
    return fig


def _convergence_figure(df: pd.DataFrame) -> plt.Figure:
    """Fraction of restarts not solved after each stretch of training, a line per width."""
    panels = list(_panels(df, "checkpoint"))
    fig, axes = _panel_axes(len(panels), 1, 4.6, 3.8)
    for (ax,), (title, g) in zip(axes, panels):
        g = g.assign(stuck=(1 - g.solved_count / g.restarts_run).astype(float))
        for i, (width, gw) in enumerate(g.groupby("width")):
            seed_band(ax, gw, "step", "stuck", marker=".", color=f"C{i}", label=f"width {width}")
        ax.set(xlabel="SGD step", ylabel="fraction of restarts not solved", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("stuck fraction vs SGD steps: a flat end means more steps would not change it", fontsize=10)
    _tight(fig)
    return fig


def _trace_figure(df: pd.DataFrame) -> plt.Figure:
    """The stuck runs (local_min or saddle_or_plateau) at each plateau level, all widths:
    excess loss above the level (log) and weight norm after each stretch, median and
    interquartile band over the runs."""
    runs = df[(df.part == "restarts") & (df.kind == "restart")]
    stuck = runs[runs.status.isin(STUCK) & runs.nearest_level.notna()]
    keys = [c for c in ("run_dir", "seed", "task", "n", "hidden", "width", "restart") if c in df]
    trace = df[(df.part == "restarts") & (df.kind == "trace")]
    trace = trace[keys + ["step", "loss", "weight_norm"]].merge(stuck[keys + ["nearest_level"]], on=keys)
    trace = trace[trace.step > 0]  # log steps: from the first checkpoint on
    panels, pooled = list(_panels(df)), _pooled(df)
    fig, axes = _panel_axes(len(panels), 2, 4.8, 6.6, sharex="col")
    floor = 1e-10
    for (top, bottom), (title, g) in zip(axes, panels):
        task, n, hidden = g.task.iloc[0], g.n.iloc[0], g.hidden.iloc[0]
        t = trace[(trace.task == task) & (trace.n == n) & (trace.hidden == hidden)]
        for i, (level, lg) in enumerate(t.groupby("nearest_level")):
            count = len(lg[keys].drop_duplicates())
            q = lg.assign(excess=lg.loss - level).groupby("step")[["excess", "weight_norm"]].quantile([0.25, 0.5, 0.75])
            q = q.unstack()
            colour = f"C{i}"
            flat = (q["excess"][0.5] <= 0).iloc[-1]
            label = f"loss ~ {level_name(level)} ({count} runs{'; excess 0: at the floor' if flat else ''})"
            excess = q["excess"].clip(lower=floor)
            top.plot(excess.index, excess[0.5], marker=".", color=colour, label=label)
            top.fill_between(excess.index, excess[0.25], excess[0.75], color=colour, alpha=0.2, lw=0)
            norm = q["weight_norm"]
            bottom.plot(norm.index, norm[0.5], marker=".", color=colour, label=label)
            bottom.fill_between(norm.index, norm[0.25], norm[0.75], color=colour, alpha=0.2, lw=0)
            if i == 0 and not flat:  # a guide of slope -1: excess ~ 1/t
                steps = excess.index.values
                top.plot(steps, excess[0.5].iloc[-1] * steps[-1] / steps, ":", color="k", lw=0.8, label="~ 1/step")
        top.set(yscale="log", ylabel=f"loss - level (floor {floor:g})", title=f"{title}: stuck runs{pooled}")
        bottom.set(xlabel="SGD step (log)", ylabel="weight norm ||w||_2")
        ticks = np.unique(t.step)[[0, 1, len(np.unique(t.step)) // 2, -1]] if t.step.nunique() > 3 else np.unique(t.step)
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.grid(alpha=0.3)
        if t.empty:
            top.text(0.5, 0.5, "no stuck runs at a plateau level", transform=top.transAxes, ha="center")
        else:
            top.legend(fontsize=7, loc="best")
    fig.suptitle("the stuck runs at each plateau loss, all widths: excess loss and weight norm vs steps "
                 "(median, band: quartiles; from the first checkpoint)", fontsize=10)
    _tight(fig)
    return fig


def figures(df: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """The figures of the restarts part (none for a run of the brute-force grid alone)."""
    if not ((df.part == "restarts") & (df.kind == "restart")).any():
        return {}
    return {
        "success": _success_figure(df),
        "best_of_k": _best_of_k_figure(df),
        "loss_histogram": _histogram_figure(df),
        "stuck_points": _stuck_figure(df, exp),
        "convergence": _convergence_figure(df),
        **({"stuck_trace": _trace_figure(df)} if (df.kind == "trace").any() else {}),
    }
