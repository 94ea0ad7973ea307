"""The summary of local_minima: success probability per activation and width, what the
stuck runs are, what restarts cost against brute force, and the grid search.

``summarize(df, exp)`` works on one run's rows (``compute``'s output). The tidy table
has one row per quantity and (task, n, hidden, width), plus ``level`` for the stuck runs
at each plateau loss: their count, their median excess loss above the level and weight
norm at T/2 and T, and (ReLU) their dead and always-active hidden units. Best of K
restarts is measured on disjoint groups of K restarts (``BEST_OF``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from nnlab import stats
from experiments.summary import Summary, tidy

KEYS = ["task", "n", "hidden", "width"]
STUCK = ("local_min", "saddle_or_plateau")  # the stuck runs whose end point is finite

QUANTITIES = {  # short name -> the quantity's words in summary.csv
    "restarts": "restarts",
    "solved": "restarts solved",
    "p": "success probability p per restart (fraction solved)",
    "p_low95": "p, 95% Wilson interval, low end",
    "p_high95": "p, 95% Wilson interval, high end",
    "stuck_mid": "fraction not solved at mid-training",
    "stuck": "restarts stuck (end-point status other than solved)",
    "local_min": "restarts ending at a local_min",
    "saddle_or_plateau": "restarts ending at a saddle_or_plateau",
    "diverged": "restarts diverged",
    "no_level": "local_min or saddle_or_plateau runs at no plateau loss level",
    "negative_curvature": "local_min or saddle_or_plateau runs with a clearly negative Hessian eigenvalue",
    "loss_falling": "local_min or saddle_or_plateau runs whose loss still fell over the second half",
    "grad_norm_median": "local_min or saddle_or_plateau runs: median gradient norm",
    "min_eig_median": "local_min or saddle_or_plateau runs: median smallest Hessian eigenvalue",
    "weight_growth_median": "local_min or saddle_or_plateau runs: median weight-norm growth over the second half",
    "steps_to_success": "expected SGD steps to the first solved restart, each restart running all steps",
    "steps_to_success_early_stop": "expected SGD steps to the first solved restart, a restart stopping when solved",
    "restarts_for_99pct": "restarts for a 99% chance that one solves, 1 - (1 - p)^K >= 0.99",
    "weights": "weights of the network (edges, bias edges included)",
    "bruteforce_log2_rounds": "log2 of the rounds of brute force over 64-bit weights (64 x weights)",
}
AT_LEVEL = "local_min or saddle_or_plateau runs at this plateau loss level"
LEVEL_QUANTITIES = {  # per plateau level: short name -> words (the runs: local_min or saddle_or_plateau there)
    "excess_mid": "runs at this level: median excess loss above the level at T/2 (mid-training)",
    "excess_end": "runs at this level: median excess loss above the level at T (the end)",
    "norm_mid": "runs at this level: median weight norm at T/2",
    "norm_end": "runs at this level: median weight norm at T",
    "with_dead": "runs at this level (relu): with at least one dead hidden unit (input sum <= 0 at every point)",
    "all_dead": "runs at this level (relu): every hidden unit dead",
    "dead_or_linear": "runs at this level (relu): every hidden unit dead or always active (input sum > 0 at every point)",
    "dead_median": "runs at this level (relu): median number of dead hidden units",
    "linear_median": "runs at this level (relu): median number of always-active hidden units",
}
BEST_OF = (1, 2, 3, 5, 10)  # K of the best-of-K rows, measured on floor(R / K) disjoint groups of K restarts


def best_of_quantities(k: int) -> dict[str, str]:
    """The best-of-K quantities of one K: short name -> words."""
    what = f"best of {k} restarts, {k} disjoint restarts per group"
    return {"groups": f"{what}: groups", "groups_solved": f"{what}: groups with a solved restart",
            "fraction": f"{what}: fraction of groups with a solved restart",
            "low95": f"{what}: fraction, 95% Wilson interval, low end",
            "high95": f"{what}: fraction, 95% Wilson interval, high end",
            "geometric": f"best of {k} restarts: 1 - (1 - p)^{k}, p = fraction of all restarts solved"}


def level_name(value: float) -> str:
    """A plateau level as a fraction ('1/8') where it is one, else 4 digits."""
    frac = Fraction(value).limit_denominator(64)
    return str(frac) if abs(float(frac) - value) < 1e-9 else f"{value:.4g}"


def restart_quantities(g: pd.DataFrame, exp) -> tuple[dict, dict]:
    """The quantities of one (task, n, hidden, width)'s restart rows, by short name
    (``QUANTITIES``), and the count of stuck finite runs at each plateau level."""
    solved = g.solved.astype(bool)
    total, wins = len(g), int(solved.sum())
    p = wins / total
    low, high = stats.wilson_interval(wins, total)
    stuck = g[g.status.isin(STUCK)]
    negative = stuck.min_hessian_eig < -exp.hess_tol * np.maximum(1, stuck.max_hessian_eig.abs())
    mean_solve = g.first_solved_step[solved].mean() if wins else np.nan
    weights = int(g.weights.iloc[0])
    q = {
        "restarts": total, "solved": wins, "p": p, "p_low95": float(low), "p_high95": float(high),
        "stuck_mid": 1 - g.solved_mid.astype(bool).mean(), "stuck": int((g.status != "solved").sum()),
        **{s: int((g.status == s).sum()) for s in ("local_min", "saddle_or_plateau", "diverged")},
        "no_level": int(stuck.nearest_level.isna().sum()),
        "negative_curvature": int(negative.sum()),
        "loss_falling": int((stuck.loss_drop > exp.fall_tol).sum()),
        "grad_norm_median": stuck.grad_norm.median(),
        "min_eig_median": stuck.min_hessian_eig.median(),
        "weight_growth_median": (stuck.weight_norm / stuck.weight_norm_mid - 1).median(),
        "steps_to_success": stats.expected_steps_to_success(p, exp.steps),
        "steps_to_success_early_stop": stats.expected_steps_to_success(p, exp.steps, mean_solve),
        "restarts_for_99pct": stats.restarts_for_confidence(p, 0.99),
        "weights": weights, "bruteforce_log2_rounds": 64 * weights,
    }
    return q, stuck.nearest_level.dropna().value_counts().sort_index().to_dict()


def level_quantities(g: pd.DataFrame) -> dict[float, dict]:
    """Per plateau level of the stuck finite runs of one (task, n, hidden, width): the
    quantities of ``LEVEL_QUANTITIES`` (the ReLU ones only where dead_units is recorded)."""
    stuck = g[g.status.isin(STUCK) & g.nearest_level.notna()]
    out = {}
    for level, r in stuck.groupby("nearest_level"):
        q = {"excess_mid": (r.loss_mid - level).median(), "excess_end": (r.final_loss - level).median(),
             "norm_mid": r.weight_norm_mid.median(), "norm_end": r.weight_norm.median()}
        if "dead_units" in r and r.dead_units.notna().all():
            dead, linear = r.dead_units.astype(int), r.linear_units.astype(int)
            q |= {"with_dead": int((dead > 0).sum()), "all_dead": int((dead == r.width).sum()),
                  "dead_or_linear": int((dead + linear == r.width).sum()), "dead_median": float(dead.median()),
                  "linear_median": float(linear.median())}
        out[float(level)] = q
    return out


def best_of_k(g: pd.DataFrame, ks=BEST_OF) -> dict[int, dict]:
    """Per K (<= the restarts): the restarts of one (task, n, hidden, width), in restart
    order, split into disjoint groups of K; groups with a solved restart, their fraction with
    its 95% Wilson interval, and 1 - (1 - p)^K for comparison (``best_of_quantities``)."""
    solved = g.sort_values("restart").solved.astype(bool).values
    p = solved.mean()
    out = {}
    for k in (k for k in ks if k <= len(solved)):
        groups, wins = stats.best_of_k_disjoint(solved, k)
        low, high = stats.wilson_interval(wins, groups)
        out[k] = {"groups": groups, "groups_solved": wins, "fraction": wins / groups, "low95": float(low),
                  "high95": float(high), "geometric": float(stats.best_of_k_geometric(p, [k])[0])}
    return out


def _restarts(runs: pd.DataFrame, exp, rows: list) -> dict[str, pd.DataFrame]:
    """The tidy rows of the restarts part (added to ``rows``), and its headline tables."""
    per_net, per_level, per_k = [], [], []
    for key, g in runs.groupby(KEYS, sort=False):  # in the run's order: hidden as in exp.hidden
        keys = dict(zip(KEYS, key))
        q, levels = restart_quantities(g, exp)
        rows += [dict(part="restarts", quantity=QUANTITIES[k], **keys, value=v) for k, v in q.items()]
        rows += [dict(part="restarts", quantity=AT_LEVEL, **keys, level=lv, value=c) for lv, c in levels.items()]
        for lv, lq in level_quantities(g).items():
            rows += [dict(part="restarts", quantity=LEVEL_QUANTITIES[k], **keys, level=lv, value=v)
                     for k, v in lq.items()]
            per_level.append({**keys, "level": level_name(lv), "runs": levels[lv], **lq})
        for k, kq in best_of_k(g).items():
            words = best_of_quantities(k)
            rows += [dict(part="restarts", quantity=words[name], **keys, value=v) for name, v in kq.items()]
            per_k.append({**keys, "K": k, **kq})
        per_net.append({**keys, **q, **{f"at {level_name(lv)}": c for lv, c in levels.items()}})
    return _restart_headlines(pd.DataFrame(per_net), exp) | _level_headlines(pd.DataFrame(per_level), exp) | \
        _best_of_headline(pd.DataFrame(per_k), pd.DataFrame(per_net), exp)


def _level_headlines(table: pd.DataFrame, exp) -> dict[str, pd.DataFrame]:
    """table: one row per (task, n, hidden, width, level) of stuck runs -> how their excess
    loss and weight norm moved from T/2 to T; for ReLU, their dead and always-active units."""
    if table.empty:
        return {}
    mid, end = exp.steps // exp.checkpoints * (exp.checkpoints // 2), exp.steps
    out = {}
    trend = table[KEYS + ["level", "runs", "excess_mid", "excess_end", "norm_mid", "norm_end"]]
    out[f"restarts: the stuck runs at each plateau level: median excess loss above the level and median weight "
        f"norm at step {mid} (T/2) and {end} (T)"] = trend.rename(columns={
            "excess_mid": f"excess loss @{mid}", "excess_end": f"excess loss @{end}",
            "norm_mid": f"weight norm @{mid}", "norm_end": f"weight norm @{end}"})
    if "with_dead" in table:
        relu = table[table.with_dead.notna()]
        if len(relu):
            out["restarts: the stuck relu runs at each plateau level by their hidden units at the end: dead (input "
                "sum <= 0 at every training point), always active (> 0 at every point: linear there)"] = \
                relu[KEYS + ["level", "runs", "with_dead", "all_dead", "dead_or_linear", "dead_median",
                             "linear_median"]].astype({c: int for c in ("with_dead", "all_dead", "dead_or_linear")}
                                                      ).rename(columns={
                    "with_dead": "with a dead unit", "all_dead": "all dead", "dead_or_linear": "all dead or linear",
                    "dead_median": "dead (median)", "linear_median": "linear (median)"})
    return out


def _best_of_headline(per_k: pd.DataFrame, per_net: pd.DataFrame, exp) -> dict[str, pd.DataFrame]:
    """The measured best of K (disjoint groups) of every (task, n, hidden, width) with a
    stuck run, against 1 - (1 - p)^K: the fraction per K, and for how many K the 95%
    Wilson interval holds 1 - (1 - p)^K."""
    if per_k.empty:
        return {}
    stuck = per_net.loc[per_net.stuck > 0, KEYS]
    per_k = per_k.merge(stuck, on=KEYS)
    if per_k.empty:
        return {}
    table = per_k.pivot(index=KEYS, columns="K", values="fraction").round(3)
    table.columns = [f"K = {k}" for k in table.columns]
    inside = (per_k.low95 <= per_k.geometric) & (per_k.geometric <= per_k.high95)
    held = per_k.assign(inside=inside).groupby(KEYS).inside.agg(lambda v: f"{int(v.sum())} of {len(v)}")
    table = table.join(held.rename("1-(1-p)^K in the 95% interval")).reindex(pd.MultiIndex.from_frame(stuck))
    return {f"restarts: best of K measured: the {exp.restarts} restarts split into disjoint groups of K, the fraction "
            "of groups with a solved restart (rows with a stuck run)": table.reset_index()}


def _restart_headlines(table: pd.DataFrame, exp) -> dict[str, pd.DataFrame]:
    """table: one row per (task, n, hidden, width), the quantities by short name and
    ``at <level>`` counts. -> p by activation x width, the stuck runs, the cost."""
    in_order = pd.MultiIndex.from_frame(table[["task", "n", "hidden"]].drop_duplicates())
    success = table.pivot(index=["task", "n", "hidden"], columns="width", values="p").reindex(in_order).round(3)
    success.columns = [f"w = {w}" for w in success.columns]
    headline = {f"restarts: success probability p per restart (fraction of {exp.restarts} restarts solved), "
                "by hidden activation and width": success.reset_index()}
    at = sorted((c for c in table if c.startswith("at ")), key=lambda c: float(Fraction(c[3:])))
    stuck = table[table.stuck > 0][KEYS + ["restarts", "stuck", "local_min", "saddle_or_plateau", "diverged"]
                                  + at + ["no_level", "negative_curvature", "loss_falling"]]
    if len(stuck):
        headline["restarts: the stuck runs: end-point status; of the local_min and saddle_or_plateau runs, how "
                 "many sit at each plateau loss (outputs constant on groups of points), have a clearly negative "
                 "Hessian eigenvalue, or still lose loss"] = stuck.fillna({c: 0 for c in at}).astype(
            {c: int for c in at}).rename(columns={"no_level": "at no level", "negative_curvature": "negative curvature",
                                                  "loss_falling": "loss falling"})
    cost = table[KEYS + ["p", "restarts_for_99pct", "steps_to_success", "steps_to_success_early_stop", "weights",
                         "bruteforce_log2_rounds"]]
    whole = lambda v: int(round(v)) if np.isfinite(v) else v  # whole steps (inf: no restart solved)
    steps = {c: cost[c].map(whole).astype(object) for c in ("steps_to_success", "steps_to_success_early_stop")}
    headline["restarts: what they cost: restarts for 99% success, expected SGD steps to the first success "
             "(without, with early stopping), against brute force over 64-bit weights (log2 of its rounds)"] = \
        cost.round({"p": 3}).assign(**steps).rename(columns={
            "restarts_for_99pct": "restarts for 99%", "steps_to_success": "steps",
            "steps_to_success_early_stop": "steps, early stop", "bruteforce_log2_rounds": "brute force: log2 rounds"})
    return headline


def _bruteforce(grid: pd.DataFrame, exp, rows: list) -> pd.DataFrame:
    """The tidy rows of the brute-force grid, and its headline table."""
    table = grid[["task", "n", "hidden", "width", "weights", "grid_networks", "grid_best_loss", "grid_solved"]].copy()
    table["grid_solved_fraction"] = table.grid_solved / table.grid_networks
    for r in table.itertuples():
        keys = dict(task=r.task, n=r.n, hidden=r.hidden, width=r.width)
        values = {"grid values per weight q": exp.grid_q, "grid half-range": exp.grid_range,
                  "networks on the grid (q^weights)": r.grid_networks,
                  "best training loss on the grid": r.grid_best_loss,
                  "grid networks solving (every output within 0.5)": r.grid_solved,
                  "fraction of grid networks solving": r.grid_solved_fraction}
        rows += [dict(part="bruteforce", quantity=k, **keys, value=v) for k, v in values.items()]
    return table.drop(columns=["task", "n", "width"]).rename(columns={
        "grid_networks": "networks", "grid_best_loss": "best loss", "grid_solved": "solving",
        "grid_solved_fraction": "solving fraction"})


def summarize(df: pd.DataFrame, exp) -> Summary:
    """Headlines: p by activation x width, the stuck runs, the cost of restarts, the grid
    search; the tidy table holds every quantity (``QUANTITIES``)."""
    rows, headline = [], {}
    runs = df[(df.part == "restarts") & (df.kind == "restart")]
    if len(runs):
        headline |= _restarts(runs, exp, rows)
    grid = df[(df.part == "bruteforce") & (df.kind == "grid")]
    if len(grid):
        title = (f"bruteforce: every 2-2-1 XOR network with its weights on {exp.grid_q} values in "
                 f"[-{exp.grid_range:g}, {exp.grid_range:g}], on all 4 points")
        headline[title] = _bruteforce(grid, exp, rows)
    return Summary(headline, tidy(rows, keys=KEYS + ["level"]))
