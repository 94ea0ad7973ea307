"""The summary table of local_minima: success probability with its Wilson interval,
what the stuck runs are, restarts and steps to success, brute force's cost."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from nnlab import bruteforce, stats
from experiments.results import sweep_columns


def nearest_level(losses: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The plateau level each loss is near (within min(0.01, a quarter of the smallest gap
    between levels)), NaN where none is."""
    if len(levels) == 0:
        return np.full(len(losses), np.nan)
    tol = min(0.01, np.min(np.diff(levels)) / 4) if len(levels) > 1 else 0.01
    gap = np.abs(losses[:, None] - levels[None, :])
    near = levels[np.argmin(np.where(np.isnan(gap), np.inf, gap), axis=1)]
    return np.where(np.abs(losses - near) <= tol, near, np.nan)


def swept_variants(df: pd.DataFrame) -> list[str]:
    """Config columns swept across the runs in ``df`` (besides seed), that split the analysis."""
    if "run_dir" not in df:
        return []
    # the brute-force grid does not touch the restarts
    return [c for c in sweep_columns(df) if c not in ("seed", "hidden", "widths", "task", "n", "grid_q", "grid_range")]


def level_name(value: float) -> str:
    frac = Fraction(value).limit_denominator(64)
    return str(frac) if abs(float(frac) - value) < 1e-9 else f"{value:.4g}"


def _stuck_levels(group: pd.DataFrame, top: int = 3) -> str:
    """The loss values where the unsolved, finite runs collect, most common first."""
    stuck = group[group.status.isin(["local_min", "saddle_or_plateau"])]
    if stuck.empty:
        return ""
    labels = [f"~{level_name(level)}" if abs(loss - level) < 0.01 else f"{loss:.3g}"  # NaN level: not near
              for loss, level in zip(stuck.final_loss, stuck.nearest_level)]
    counts = pd.Series(labels).value_counts()
    return ", ".join(f"{k} x{v}" for k, v in counts.head(top).items())


def scientific(value: int) -> str:
    """An exact integer too large for a float, as 'd.ddde+N'."""
    digits = str(value)
    return f"{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"


def _fraction(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else np.nan


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    runs = df[df.part == "restart"].astype({"solved": bool, "solved_mid": bool})
    brute = df[df.part == "bruteforce"]
    keys = ["seed"] * ("seed" in df and df.seed.nunique() > 1) + swept_variants(df) + ["task", "n", "hidden", "width"]
    out = []
    for key, g in runs.groupby(keys, sort=True):
        rec = dict(zip(keys, key))
        total, solved = len(g), int(g.solved.sum())
        p = solved / total
        lo, hi = stats.wilson_interval(solved, total)
        steps = int(g.steps.iloc[0])
        tol = {k: float(g[k].iloc[0]) for k in ("hess_tol", "fall_tol")}
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        mean_solve = g.first_solved_step[g.solved].mean() if solved else np.nan
        rec.update({
            "restarts": total, "solved": solved, "p": p, "p_low95": float(lo), "p_high95": float(hi),
            "stuck_mid": 1 - g.solved_mid.mean(), "stuck": 1 - p,
            "local_min": (g.status == "local_min").mean(),
            "saddle_or_plateau": (g.status == "saddle_or_plateau").mean(),
            "diverged": (g.status == "diverged").mean(),
            "stuck_levels": _stuck_levels(g),
            "stuck_negative_curvature": _fraction(stuck.min_hessian_eig < -tol["hess_tol"] * np.maximum(1, stuck.max_hessian_eig.abs())),
            "stuck_loss_falling": _fraction(stuck.loss_drop > tol["fall_tol"]),
            "stuck_grad_norm_median": stuck.grad_norm.median(),
            "stuck_min_eig_median": stuck.min_hessian_eig.median(),
            "stuck_weight_growth_median": (stuck.weight_norm / stuck.weight_norm_mid - 1).median(),
            "steps_to_success": stats.expected_steps_to_success(p, steps),
            "steps_to_success_early_stop": stats.expected_steps_to_success(p, steps, mean_solve),
            "restarts_for_99pct": stats.restarts_for_confidence(p, 0.99),
            "weights": int(g.weights.iloc[0]),
            "bruteforce_64bit_rounds": scientific(bruteforce.article_rounds(int(g.weights.iloc[0]))),
        })
        b = brute[(brute.hidden == rec["hidden"]) & (brute.width == rec["width"]) & (brute.task == rec["task"])]
        if "seed" in rec:
            b = b[b.seed == rec["seed"]]
        if len(b):
            rec.update({"grid_networks": b.grid_networks.iloc[0], "grid_best_loss": b.grid_best_loss.iloc[0],
                        "grid_solved_fraction": b.grid_solved.iloc[0] / b.grid_networks.iloc[0]})
        out.append(rec)
    return pd.DataFrame(out)


# ---------------------------------------------------------------- figures
