"""Plotting helpers shared by the experiments: a mean over seeds with its range.

Figures pool seeds and nothing else: ``experiments.analyze`` draws one set of
figures per combination of swept keys, so the range shown is the spread over
seeds alone.
"""

from __future__ import annotations

import pandas as pd


def seed_count(df: pd.DataFrame) -> int:
    """How many seeds the rows hold (1 for one run's rows)."""
    return int(df.seed.nunique()) if "seed" in df else 1


def seed_band(ax, df: pd.DataFrame, x: str, y: str, *, bars: bool = False, positive: bool = False,
              label: str | None = None, **style):
    """Plot y against x: the mean over seeds as a line, the range over seeds as a band
    (or error bars with ``bars``) when there are several seeds.

    Rows of one seed and one x are averaged first (e.g. several restarts).
    positive: leave out values <= 0 (for log axes). Returns the line, or None.
    """
    keys = (["seed"] if "seed" in df else []) + [x]
    per_seed = df.groupby(keys)[y].mean().reset_index()
    g = per_seed.groupby(x)[y].agg(["mean", "min", "max"]).dropna()
    if positive:
        g = g[g["mean"] > 0]
    if g.empty:
        return None
    several = seed_count(df) > 1
    if several and label:
        label = f"{label} (mean, range over {seed_count(df)} seeds)"
    line = ax.plot(g.index, g["mean"], label=label, **style)[0]
    if several and (g["max"] > g["min"]).any():
        if bars:
            ax.errorbar(g.index, g["mean"], yerr=[g["mean"] - g["min"], g["max"] - g["mean"]], fmt="none",
                        ecolor=line.get_color(), capsize=3, lw=1)
        else:
            ax.fill_between(g.index, g["min"], g["max"], color=line.get_color(), alpha=0.2, lw=0)
    return line
