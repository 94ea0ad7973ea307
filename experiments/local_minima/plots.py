"""Figures of local_minima: success vs width, best of K restarts, final-loss
histograms by status, what the stuck runs are, stuck fraction vs steps.
One panel per (task, n, hidden activation) and swept variant."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nnlab import stats
from experiments.local_minima.summary import level_name, swept_variants

STATUS_COLOURS = {"solved": "#4daf4a", "local_min": "#e41a1c", "saddle_or_plateau": "#ff7f00", "diverged": "0.5"}


def _title(rec: dict, variants: list[str]) -> str:
    title = f"{rec['task']}" + (f" n={rec['n']}" if rec["task"] in ("parity", "random") else "") + f", {rec['hidden']}"
    return title + "".join(f", {k}={rec[k]}" for k in variants)


def _panels(df: pd.DataFrame, part: str = "restart"):
    """(title, rows) per panel: one per (task, n, hidden) and swept variant."""
    rows = df[df.part == part]
    if part == "restart":
        rows = rows.astype({"solved": bool, "solved_mid": bool})
    variants = swept_variants(df)
    keys = variants + ["task", "n", "hidden"]
    for key, g in rows.groupby(keys, sort=False):
        yield _title(dict(zip(keys, key)), variants), g


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
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    many = df.seed.nunique() > 1 if "seed" in df else False
    for i, (title, g) in enumerate(_panels(df)):
        per_seed = g.groupby(["seed", "width"] if "seed" in g else ["width"]).solved.agg(["sum", "count"]).reset_index()
        by_width = per_seed.groupby("width")
        widths = np.array(sorted(per_seed.width.unique()))
        if many:
            frac = per_seed.assign(p=per_seed["sum"] / per_seed["count"]).groupby("width").p
            mean, low, high = frac.mean().values, frac.min().values, frac.max().values
        else:
            s, n = by_width["sum"].sum().values, by_width["count"].sum().values
            mean = s / n
            low, high = stats.wilson_interval(s, n)
        ax.errorbar(widths, mean, yerr=[mean - low, high - mean], marker="o", capsize=4, color=f"C{i}", label=title)
    ax.set(xscale="log", xlabel="hidden width (neurons)", ylabel="success probability p per restart",
           ylim=(-0.02, 1.02),
           title="success probability vs width" + (" (mean, range over seeds)" if many else " (95% Wilson intervals)"))
    ticks = sorted(df[df.part == "restart"].width.unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="task, hidden activation", title_fontsize=8)
    _tight(fig)
    return fig


def _best_of_k_figure(df: pd.DataFrame) -> plt.Figure:
    panels = list(_panels(df))
    fig, axes = _panel_axes(len(panels), 1, 4.6, 4.0)
    for (ax,), (title, g) in zip(axes, panels):
        for i, (width, gw) in enumerate(g.groupby("width")):
            curves, ps = [], []
            for s, gs in (gw.groupby("seed") if "seed" in gw else [(0, gw)]):
                ks = np.unique(np.geomspace(1, len(gs), 60).astype(int))
                rng = np.random.default_rng(int(s))
                curves.append(stats.best_of_k_resampled(gs.solved.values, ks, 4000, rng))
                ps.append(gs.solved.mean())
            n_min = min(len(c) for c in curves)
            curves = np.array([c[:n_min] for c in curves])
            ks = ks[:n_min]
            ax.plot(ks, curves.mean(axis=0), color=f"C{i}", lw=2, label=f"width {width}: resampled")
            if len(curves) > 1:
                ax.fill_between(ks, curves.min(axis=0), curves.max(axis=0), color=f"C{i}", alpha=0.2)
            ax.plot(ks, stats.best_of_k_geometric(np.mean(ps), ks), "--", color="k", lw=0.8, zorder=3,
                    label="$1-(1-p)^K$, p = success fraction" if i == len(g.width.unique()) - 1 else None)
        ax.set(xscale="log", xlabel="restarts K (keep the best)", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel("P(at least one of K restarts solves)")
    fig.suptitle("best of K restarts: resampled from the runs vs independent restarts", fontsize=10)
    _tight(fig)
    return fig


def _histogram_figure(df: pd.DataFrame) -> plt.Figure:
    """Top: all final losses (log scale). Bottom: the unsolved runs only, on a linear scale,
    where they pile up at a few loss values (dotted: the levels of ``constant_output_levels``)."""
    panels = list(_panels(df))
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
        top.set(xscale="log", yscale="log", xlabel="final training loss", ylabel="restarts (all widths)", title=title)
        top.legend(fontsize=7, loc="upper center")
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
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
        bottom.set(xlabel="final training loss of the unsolved runs", ylabel="restarts (all widths)")
    fig.suptitle("final losses by end-point status; the stuck runs collect at the loss levels of outputs "
                 "constant on groups of points (dotted)", fontsize=10)
    _tight(fig)
    return fig


def _level_labels(g: pd.DataFrame) -> pd.Series:
    """Each run's plateau level as text ('1/8'), or 'other' when its loss is not near one."""
    near = (g.final_loss - g.nearest_level).abs() < 0.01
    return pd.Series([level_name(v) if ok else "other" for v, ok in zip(g.nearest_level, near)], index=g.index)


def _stuck_figure(df: pd.DataFrame) -> plt.Figure:
    """Gradient norm and late loss decrease against the smallest Hessian eigenvalue, stuck runs only."""
    from matplotlib.lines import Line2D

    panels = list(_panels(df))
    fig, axes = _panel_axes(len(panels), 2, 4.8, 7.0)
    runs = df[df.part == "restart"]
    tol = {k: (runs[k].iloc[0] if k in runs else None) for k in ("grad_tol", "hess_tol", "fall_tol")}
    floor = 1e-9
    markers = dict(zip(["1/8", "1/6", "1/4", "other"], "osD^"))
    for (top, bottom), (title, g) in zip(axes, panels):
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        levels = _level_labels(stuck)
        for (status, level), gs in stuck.groupby([stuck.status, levels]):
            style = dict(s=12, marker=markers.get(level, "v"), color=STATUS_COLOURS[status], alpha=0.55, lw=0)
            top.scatter(gs.min_hessian_eig, gs.grad_norm.clip(lower=floor), **style)
            bottom.scatter(gs.min_hessian_eig, gs.loss_drop.clip(lower=floor), **style)
        for ax in (top, bottom):
            ax.set_xscale("symlog", linthresh=1e-7)
            ax.set_yscale("log")
            ax.axvline(0, color="k", lw=0.6)
            if tol["hess_tol"] is not None:
                ax.axvline(-tol["hess_tol"], color="k", lw=0.6, ls=":")
            ax.grid(alpha=0.3)
        if tol["grad_tol"] is not None:
            top.axhline(tol["grad_tol"], color="k", lw=0.6, ls="--")
        if tol["fall_tol"] is not None:
            bottom.axhline(tol["fall_tol"], color="k", lw=0.6, ls="--")
        top.set(title=f"{title}: {len(stuck)} stuck of {len(g)}", ylabel="gradient norm at the end")
        bottom.set(xlabel="smallest Hessian eigenvalue", ylabel=f"relative loss decrease, 2nd half (floor {floor:g})")
        handles = [Line2D([], [], marker="o", lw=0, color=STATUS_COLOURS[s], label=f"{s} ({int((stuck.status == s).sum())})")
                   for s in ("local_min", "saddle_or_plateau")]
        handles += [Line2D([], [], marker=markers.get(l, "v"), lw=0, color="0.3", label=f"loss ~ {l} ({int((levels == l).sum())})"
                           if l != "other" else f"other loss ({int((levels == l).sum())})") for l in sorted(set(levels))]
        top.legend(handles=handles, fontsize=7, loc="best")
        if stuck.empty:
            top.text(0.5, 0.5, "no stuck runs", transform=top.transAxes, ha="center")
    fig.suptitle("what the stuck runs are (dashed: grad_tol and fall_tol; dotted: -hess_tol)", fontsize=10)
    _tight(fig)
    return fig


def _convergence_figure(df: pd.DataFrame) -> plt.Figure:
    panels = list(_panels(df, "checkpoint"))
    fig, axes = _panel_axes(len(panels), 1, 4.6, 3.8)
    for (ax,), (title, g) in zip(axes, panels):
        for i, (width, gw) in enumerate(g.groupby("width")):
            frac = (1 - gw.solved_count / gw.restarts_run).groupby(gw.step)
            ax.plot(frac.mean().index, frac.mean().values, marker=".", color=f"C{i}", label=f"width {width}")
            if "seed" in gw and gw.seed.nunique() > 1:
                ax.fill_between(frac.min().index, frac.min().values, frac.max().values, color=f"C{i}", alpha=0.2)
        ax.set(xlabel="SGD step", ylabel="fraction of restarts not solved", title=title, ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("stuck fraction vs SGD steps: a flat end means more steps would not change it", fontsize=10)
    _tight(fig)
    return fig


def figures(df: pd.DataFrame) -> dict[str, plt.Figure]:
    return {
        "success": _success_figure(df),
        "best_of_k": _best_of_k_figure(df),
        "loss_histogram": _histogram_figure(df),
        "stuck_points": _stuck_figure(df),
        "convergence": _convergence_figure(df),
    }
