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
    """The exact rows to draw: those without shortcuts when a table holds both kinds."""
    exact = df[df.part == "exact"]
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
              "article": dict(color="C4", ls=":", marker="^")}
    for bound, style in styles.items():
        d = theory[theory.bound == bound] if len(theory) else theory
        if len(d):
            seed_band(ax, d, "n", "width", bars=True, positive=True, label=BOUNDS[bound], **style)
    exact, label = _exact_rows(df)
    if len(exact):
        keys = ["seed", "n"] if "seed" in exact else ["n"]
        per_seed = exact.groupby(keys).min_width.agg(["max", "mean"]).reset_index()
        seed_band(ax, per_seed, "n", "max", bars=True, positive=True, color="C0", marker="s", lw=2.5,
                  label=f"exact minimum{label}, largest")
        seed_band(ax, per_seed, "n", "mean", bars=True, positive=True, color="C0", marker="s", ls="--", mfc="white",
                  label=f"exact minimum{label}, mean")
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
    exact, label = _exact_rows(df)
    exact = exact.copy()
    exact["min_width"] = exact.min_width.astype(int)
    if "seed" not in exact:
        exact["seed"] = 0
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ns = sorted(exact.n.unique())
    widths = list(range(exact.min_width.max() + 1))
    bar = 0.8 / len(ns)
    for i, n in enumerate(ns):
        d = exact[exact.n == n]
        counts = d.groupby("seed").min_width.value_counts().groupby("min_width").mean().reindex(widths, fill_value=0)
        share = counts / d.groupby("seed").size().mean()
        xs = np.array(widths) + (i - (len(ns) - 1) / 2) * bar
        ax.bar(xs, share.values, bar, label=f"n = {n}: {2 ** 2 ** n} functions", color=f"C{i}")
        for xv, s, c in zip(xs, share.values, counts.values):
            if s > 0:
                ax.annotate(f"{int(c)}", (xv, s), ha="center", va="bottom", fontsize=7, rotation=90,
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
    if parts & {"theory", "exact", "learned"}:
        figs["widths"] = _figure_widths(df)
    if "exact" in parts:
        figs["exact_histogram"] = _figure_histogram(df)
    if "learned" in parts:
        figs["learned_success"] = _figure_success(df)
    return figs
