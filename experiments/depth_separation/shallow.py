"""Part sawtooth, trained shallow nets: one hidden layer of w relu units fitted to tent^k by
SGD on a fine grid of [0, 1], every k, width and restart in one ``nnlab.train`` call (a
population of architectures [1, w, 1], one target per network). Each trained net is read
exactly (``count_pieces`` and ``sawtooth.pl_error``): its pieces (at most w + 1) and its
L2 error, which the theory brackets: at least ``best_pl_error(k, w + 1).lower`` for every
net of width w, at most ``best_pl_error(k, w).upper`` for the best one. What training
reaches is an upper estimate of the best width-w net ("training found"), never a bound."""

from __future__ import annotations

import numpy as np
import pandas as pd

import nnlab
from nnlab import sawtooth as ST
from experiments.depth_separation.common import SHALLOW, exact_fit, key, sawtooth_grid, sawtooth_target
from experiments.depth_separation.sawtooth import bounds
from experiments.schema import as_list


def rows(exp, seed: int, progress: bool) -> list[dict]:
    if exp.shallow_k is None:
        return []
    ks, widths, R = as_list(exp.shallow_k), as_list(exp.shallow_widths), exp.shallow_restarts
    x, u = sawtooth_grid(max(ks), exp.grid_per_piece)
    archs = [[1, w, 1] for k in ks for w in widths]
    y = np.stack([sawtooth_target(x, k) for k in ks for _ in widths]).repeat(R, axis=0)  # (M, N, 1)
    result = nnlab.train(key(seed, SHALLOW), u, y, sizes=archs, restarts=R, steps=exp.shallow_steps,
                         lr=exp.shallow_lr, hidden="relu", output="identity", batch_size=exp.shallow_batch_size,
                         records=10)
    bracket = {k: bounds(k) for k in ks}
    out = []
    for m, ((_, w, _), r) in enumerate(zip(result.sizes, result.restart_ids)):
        k = ks[m // (len(widths) * R)]
        fit = exact_fit(result.network(m), k) if not result.diverged[m] else dict(rel_error=np.nan)
        out.append(dict(part="sawtooth", kind="shallow", k=k, width=int(w), restart=int(r), **fit,
                        lower_rel=float(bracket[k][0](w)), upper_rel=float(bracket[k][1](w)),
                        min_class_errors=ST.min_classification_errors(k, int(w) + 1),
                        train_loss=float(result.loss[m]), diverged=bool(result.diverged[m])))
    return out


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    s = d[d.kind == "shallow"]
    if s.empty:
        return [], {}
    out, head = [], []
    for (k, w), g in s.groupby(["k", "width"]):
        best = g.loc[g.rel_error.idxmin()] if g.rel_error.notna().any() else None
        closed = np.nan if best is None else (1 - best.rel_error) / (1 - best.upper_rel)
        found = closed >= 1 - exp.success_threshold
        row = {"k": k, "width": w, "lower bound (any net)": g.lower_rel.iloc[0],
               "attained (upper bound)": g.upper_rel.iloc[0],
               "training found: best": np.nan if best is None else best.rel_error,
               "median": g.rel_error.median(), "gap closed": closed,
               "its pieces": np.nan if best is None else best.pieces,
               "w + 1": w + 1, "alternating points wrong: best": g.class_errors.min(),
               "least possible": g.min_class_errors.iloc[0],
               "verdict": "training found it" if found else "training did not find it"}
        head.append(row)
        key = dict(part="sawtooth", k=int(k), width=int(w))
        out += [dict(key, quantity="trained shallow net: best relative L2 error over restarts (training found)",
                     value=row["training found: best"], reference=row["attained (upper bound)"],
                     note=f"{row['verdict']} (closed {closed:.3g} of the gap from the best constant to the "
                          f"attained error; found: >= {1 - exp.success_threshold:g}); lower bound "
                          f"{row['lower bound (any net)']:.4g}; reference: attained"),
                dict(key, quantity="trained shallow net: median relative L2 error over restarts", value=row["median"]),
                dict(key, quantity="trained shallow nets below the provable lower bound",
                     value=int((g.rel_error < g.lower_rel).sum()), reference=0, note="reference: none can be"),
                dict(key, quantity="trained shallow net: alternating points misclassified, best restart",
                     value=row["alternating points wrong: best"], reference=row["least possible"],
                     note="reference: min_classification_errors(k, w + 1)")]
    title = (f"sawtooth: shallow relu nets trained on t^k (SGD, best of {exp.shallow_restarts} restarts), "
             "relative L2 error; training only estimates the best net from above")
    return out, {title: pd.DataFrame(head)}


def figures(d: pd.DataFrame, exp) -> dict:
    return {}  # drawn with the bound (sawtooth.py)
