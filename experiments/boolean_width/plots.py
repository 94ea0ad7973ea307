"""Figures of boolean_width: hidden units vs n (constructions, bounds, exact and learned
widths), the histogram of exact least widths, and the fraction of restarts solving vs width."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.boolean_width.parts import BOUNDS
from experiments.boolean_width.summary import learned_minimum
from experiments.plotting import seed_band

FAMILY_COLORS = {"parity": "C1", "majority": "C2", "random": "C5", "all": "C6"}


def _exact_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The exact rows to draw (they do not depend on the seed: the first seed's), those
    without shortcuts when a table holds both kinds."""
    exact = df[df.part == "exact"]
    if "seed" in exact and len(exact):
        exact = exact[exact.seed == exact.seed.min()]
    if "shortcuts" not in exact or not exact.shortcuts.astype(bool).any():
        return exact, " (threshold units)"
    plain = exact[~exact.shortcuts.astype(bool)]
    return (plain, " (threshold units)") if len(plain) else (exact, " (threshold units, shortcuts)")


def _figure_widths(df: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(9.5, 5))
    theory = df[df.part == "theory"]
    styles = {"construction": dict(color="k", ls="-", marker="o"),
              "construction_smaller_side": dict(color="0.55", ls="-", marker="o", ms=4),
              "counting": dict(color="C3", ls="--", marker="v"),
              "article": dict(color="C4", ls=":", marker="^"),
              "setiono": dict(color="C1", ls="-", marker="*", ms=10)}
    for bound, style in styles.items():
        d = theory[theory.bound == bound] if len(theory) else theory
        if len(d):
            seed_band(ax, d, "n", "width", bars=True, positive=True, label=BOUNDS[bound], **style)
    exact, label = _exact_rows(df)
    solved = [(n, g) for n, g in exact.groupby("n") if g.min_width.notna().all()]  # every width known
    if solved:
        largest = [(n, g.min_width.max()) for n, g in solved]
        mean = [(n, (g.functions * g.min_width).sum() / g.functions.sum()) for n, g in solved]
        ax.plot(*zip(*largest), color="C0", marker="s", lw=2.5, label=f"exact minimum{label}, largest")
        ax.plot(*zip(*mean), color="C0", marker="s", ls="--", mfc="white", label=f"exact minimum{label}, mean")
    learned = df[df.part == "learned"]
    if len(learned):
        best = learned_minimum(learned)
        for family, d in best.groupby("family", sort=True):
            many = d.groupby(["seed", "n"] if "seed" in d else ["n"]).size().max() > 1
            seed_band(ax, d, "n", "learned_width", bars=True, positive=True, color=FAMILY_COLORS.get(family),
                      marker="D", ls="-.", label=f"least width training found (sigmoid), {family}"
                      + (", mean over solved" if many else ""))
    ax.set_yscale("log", base=2)
    ax.set(xlabel="input bits n", ylabel="hidden units (log scale)",
           title="Hidden units needed for boolean functions of n bits")
    ax.set_xticks(sorted(int(n) for n in df.n.dropna().unique()))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def _figure_histogram(df: pd.DataFrame) -> plt.Figure:
    """Share of all functions of n bits by least width; functions whose width is only
    bounded below (n = 5: width >= 3) form a hatched bar at that bound."""
    exact, label = _exact_rows(df)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ns = sorted(exact.n.unique())
    width = exact.min_width.fillna(exact.width_lower).astype(int)
    widths = list(range(width.max() + 1))
    bar = 0.8 / len(ns)
    for i, n in enumerate(ns):
        d = exact[exact.n == n]
        known = d.min_width.notna()
        total = d.functions.sum()
        for rows, hatch in ((d[known], None), (d[~known], "//")):
            counts = rows.groupby(width[rows.index]).functions.sum().reindex(widths, fill_value=0)
            xs = np.array(widths) + (i - (len(ns) - 1) / 2) * bar
            keep = counts.values > 0
            ax.bar(xs[keep], counts.values[keep] / total, bar, color=f"C{i}", hatch=hatch,
                   label=(f"n = {n}: {total:,} functions" if hatch is None
                          else f"n = {n}: width >= this, not yet decided"))
            for xv, c in zip(xs[keep], counts.values[keep]):
                ax.annotate(f"{int(c):,}", (xv, c / total), ha="center", va="bottom", fontsize=7, rotation=90,
                            xytext=(0, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_ylim(top=8)
    ax.set_xticks(widths)
    ax.set(xlabel="least number of hidden threshold units", ylabel="fraction of all functions (log scale)",
           title=f"Exact minimal width{label} of every function of n bits (labels: counts)")
    ax.legend(fontsize=8, loc="upper right", ncol=len(ns))
    fig.tight_layout()
    return fig


def _figure_success(df: pd.DataFrame) -> plt.Figure:
    learned = df[df.part == "learned"]
    ns = sorted(learned.n.unique())
    cols = min(len(ns), 4)
    rows = -(-len(ns) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 1.6, 3.6 * rows), squeeze=False, sharey=True)
    families = sorted(learned.family.unique())
    for ax in axes.flat[len(ns):]:
        ax.set_visible(False)
    for ax, n in zip(axes.flat, ns):
        d = learned[learned.n == n]
        for family in families:
            f = d[d.family == family]
            color = FAMILY_COLORS.get(family)
            seed_band(ax, f.astype({"solved": float}), "width", "solved", bars=True, color=color, marker="o",
                      label=family)
            tw = f.threshold_width
            if len(f) and (tw >= 0).all() and family in ("parity", "majority"):
                ax.axvline(tw.iloc[0], color=color, ls=":", lw=1.5)
        ax.set(title=f"n = {n}", xlabel="hidden sigmoid units", ylim=(-0.03, 1.03))
        ax.set_xticks(sorted(int(w) for w in d.width.unique()))
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("fraction of restarts\nat 100% accuracy")
    axes[0][-1].legend(fontsize=8, title="family\n(dotted: threshold\nminimum)", title_fontsize=7,
                       loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def figures(df: pd.DataFrame, exp=None) -> dict[str, plt.Figure]:
    """Width vs n (all parts), the exact-width histogram, restarts solving vs width."""
    parts = set(df.part.unique())
    figs = {}
    exact = df[df.part == "exact"]
    if parts & {"theory", "learned"} or (len(exact) and exact.groupby("n").min_width.count().eq(
            exact.groupby("n").size()).any()):  # something to draw: a bound, a learned width or a solved n
        figs["widths"] = _figure_widths(df)
    if "exact" in parts:
        figs["exact_histogram"] = _figure_histogram(df)
    if "learned" in parts:
        figs["learned_success"] = _figure_success(df)
    return figs
