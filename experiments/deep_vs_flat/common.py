"""Helpers shared by the parts of deep_vs_flat: errors, step labels, mean-and-range lines over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def relative_error(out, ref) -> float:
    return float(np.linalg.norm(np.asarray(out, np.float64) - ref) / np.linalg.norm(ref))


def fmt_steps(v: float) -> str:
    return "not reached" if not np.isfinite(v) else f"{int(v)}"


def seed_count(df: pd.DataFrame) -> int:
    """How many seeds the table holds (1 for a single run)."""
    return int(df.seed.nunique()) if "seed" in df else 1


def line_band(ax, d: pd.DataFrame, x: str, y: str, color, label=None, band=True, **kw):
    """Mean over seeds (and any other repeats) against x, with the min-max range shaded."""
    g = d.groupby(x)[y]
    mean = g.mean()
    ax.plot(mean.index, mean.values, color=color, label=label, **kw)
    if band and seed_count(d) > 1:
        ax.fill_between(mean.index, g.min().values, g.max().values, color=color, alpha=0.2, lw=0)

