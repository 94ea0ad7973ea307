"""The summary of boolean_width: headline tables per part and the tidy table of every quantity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.boolean_width.parts import BOUNDS
from experiments.summary import Summary, tidy
from nnlab import parity as SP
from nnlab import threshold as T


def learned_minimum(learned: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, n, family, function): the least width any restart solved (NaN: none did)."""
    keys = [k for k in ("seed", "n", "family", "function") if k in learned]
    solved_widths = learned[learned.solved.astype(bool)].groupby(keys).width.min()
    table = learned.groupby(keys).threshold_width.first().astype(float).to_frame()
    table["learned_width"] = solved_widths.reindex(table.index).astype(float)
    table["largest_width_tried"] = learned.groupby(keys).width.max()
    return table.reset_index()


def _construction(d: pd.DataFrame, rows: list, heads: list) -> None:
    for (n, family), g in d.groupby(["n", "family"], sort=True):
        values = {"functions": len(g), "correct on all inputs": int(g.correct.sum()),
                  "width, largest": g.width.max(), "width, mean": g.width.mean()}
        rows += [dict(part="construction", quantity=q, n=n, family=family, value=v) for q, v in values.items()]
        heads.append(dict(n=n, family=family, **values))


def _exact(d: pd.DataFrame, rows: list) -> pd.DataFrame:
    """Functions (and NPN classes) by least width, per n; rows stand for ``functions``
    functions each (one for n <= 4, a whole NPN class for n = 5). Where only a lower
    bound is known, the functions are counted as open at ``width_lower`` or more."""
    head = []
    for n, g in d.groupby("n", sort=True):
        known = g[g.min_width.notna()]
        width = known.min_width.astype(int)
        counts, classes = known.groupby(width).functions.sum(), known.groupby(width).npn_class.nunique()
        for w in counts.index:
            rows.append(dict(part="exact", quantity="functions of least width", n=n, width=w, value=counts[w]))
            rows.append(dict(part="exact", quantity="NPN classes of least width", n=n, width=w, value=classes[w]))
        still = g[g.min_width.isna()]
        for w, c in still.groupby("width_lower"):
            rows.append(dict(part="exact", quantity="functions of least width at least this (open)", n=n, width=w,
                             value=c.functions.sum()))
            rows.append(dict(part="exact", quantity="NPN classes of least width at least this (open)", n=n,
                             width=w, value=c.npn_class.nunique()))
        total = g.functions.sum()
        mean = (known.functions * width).sum() / total if still.empty else np.nan
        whole = {"functions": total, "least width, mean": mean,
                 "least width, largest": width.max() if still.empty else np.nan,
                 "functions with a proven least width": known[known.proven.astype(bool)].functions.sum(),
                 "functions whose witness network was verified": g[g.verified.astype(bool)].functions.sum()}
        rows += [dict(part="exact", quantity=q, n=n, value=v) for q, v in whole.items()]
        row = {"n": n, "functions": total, **{f"width {w}": c for w, c in counts.items()}}
        if len(still):
            row[f"width >= {int(still.width_lower.min())} (open)"] = still.functions.sum()
        head.append(row | {"mean": round(mean, 3), "proven": whole["functions with a proven least width"]})
    table = pd.DataFrame(head)
    widths = sorted((c for c in table if c.startswith("width ") and c[6:].isdigit()), key=lambda c: int(c[6:]))
    opened = [c for c in table if c.endswith("(open)")]
    return table[["n", "functions"] + widths + opened + ["mean", "proven"]].fillna(
        {c: 0 for c in widths + opened}).astype({c: "int64" for c in widths + opened})


def _learned(d: pd.DataFrame, rows: list) -> pd.DataFrame:
    best = learned_minimum(d)
    head = []
    for (n, family), g in best.groupby(["n", "family"], sort=True):
        runs = d[(d.n == n) & (d.family == family)]
        lw, tw = g.learned_width.fillna(np.inf), g.threshold_width
        known = tw >= 0  # the exact minimum is known (n <= 4) ...
        inside = known & (tw >= runs.width.min()) & (tw <= runs.width.max())  # ... and among the widths tried
        values = {
            "functions": len(g),
            "functions training solved at some width": int(g.learned_width.notna().sum()),
            "least width training found, mean over solved": g.learned_width.mean(),
            "least width training found, largest": g.learned_width.max(),
            "exact least width (threshold units), mean": tw[known].mean() if known.any() else np.nan,
            "functions compared with the exact width": int(inside.sum()),
            "training found fewer units than the exact (threshold) width": int((lw < tw)[inside].sum()),
            "training found the exact width": int((lw == tw)[inside].sum()),
            "training found no solution at the exact width": int((lw > tw)[inside].sum()),
            "diverged runs": int(runs.diverged.sum()),
        }
        rows += [dict(part="learned", quantity=q, n=n, family=family, value=v) for q, v in values.items()]
        for w, rate in runs.groupby("width").solved.mean().items():
            rows.append(dict(part="learned", quantity="fraction of restarts solving", n=n, family=family, width=w,
                             value=rate))
        head.append({"n": n, "family": family, "functions": len(g),
                     "solved": values["functions training solved at some width"],
                     "found width, mean": round(values["least width training found, mean over solved"], 3),
                     "exact width, mean": round(values["exact least width (threshold units), mean"], 3),
                     "fewer": values["training found fewer units than the exact (threshold) width"],
                     "same": values["training found the exact width"],
                     "not found at exact": values["training found no solution at the exact width"]})
    return pd.DataFrame(head)


def _setiono(theory: pd.DataFrame, learned: pd.DataFrame, rows: list) -> pd.DataFrame:
    """Setiono's width for n-bit parity against the threshold minimum (n, proven for
    n <= 5) and against training: per n of the theory rows (with the witness's check) and
    of the learned parity rows (the least width some restart solved, and the fraction of
    restarts solving at Setiono's width where it was tried)."""
    built = theory[theory.bound == "setiono"] if len(theory) and "bound" in theory else theory.iloc[:0]
    parity = learned[learned.family == "parity"] if len(learned) else learned
    ns = sorted({int(n) for n in built.n} | {int(n) for n in parity.n})
    head = []
    for n in ns:
        k = SP.setiono_width(n)
        row = {"n": n, "Setiono width": k, "threshold minimum": n if n <= T.MAX_TABLE_N else np.nan}
        values = {"Setiono's width floor(n/2)+1 (sigmoid units, parity)": k}
        b = built[built.n == n]
        if len(b):
            b = b.iloc[0]
            row |= {"verified (float64)": bool(b.verified), "margin (float64)": b.margin,
                    "0.4 - margin": SP.MARGIN - b.margin, "verified (float32)": bool(b.verified_float32),
                    "margin (float32)": b.margin_float32}
            values |= {"Setiono witness: correct on all inputs (float64)": int(bool(b.verified)),
                       "Setiono witness: min |output - 1/2| over all inputs (float64)": b.margin,
                       "Setiono witness: correct on all inputs (float32)": int(bool(b.verified_float32)),
                       "Setiono witness: min |output - 1/2| over all inputs (float32)": b.margin_float32,
                       "Setiono witness: largest output weight |v|": b.output_weight_max}
        g = parity[parity.n == n]
        if len(g):
            solved = g[g.solved.astype(bool)]
            found = float(solved.width.min()) if len(solved) else np.nan
            at_k = g[g.width == k]
            rate = float(at_k.solved.mean()) if len(at_k) else np.nan
            row |= {"training found": found, "restarts solving at Setiono width": rate,
                    "training reached Setiono": bool(found <= k) if np.isfinite(found) else False}
            values |= {"least width training found (parity)": found,
                       "fraction of restarts solving at Setiono's width (parity)": rate,
                       "training reached Setiono's width (parity)": int(np.isfinite(found) and found <= k)}
        rows += [dict(part="theory" if q.startswith("Setiono") else "learned", quantity=q, n=n, family="parity",
                      value=v) for q, v in values.items()]
        head.append(row)
    return pd.DataFrame(head)


def summarize(df: pd.DataFrame, exp=None) -> Summary:
    """Headlines: the exact least widths (n x width counts), what training found against
    them, the constructions and the bounds; the tidy table holds every count."""
    rows, headline = [], {}
    part = {p: df[df.part == p] for p in ("construction", "exact", "learned", "theory")}
    if len(part["exact"]):
        shortcuts = bool(part["exact"].shortcuts.iloc[0])
        title = "exact: functions of n bits by least hidden width (threshold units, proven by exhaustive search"
        headline[title + (", with input-to-output edges)" if shortcuts else ")")] = _exact(part["exact"], rows)
    if len(part["learned"]):
        headline["learned: least width at which training (sigmoid units, restarts) solved each function; "
                 "an upper estimate, compared with the exact width"] = _learned(part["learned"], rows)
    if len(part["construction"]):
        heads: list = []
        _construction(part["construction"], rows, heads)
        headline["construction: one step unit per true input, verified on all inputs"] = pd.DataFrame(heads)
    if len(part["theory"]):
        t = part["theory"]
        rows += [dict(part="theory", quantity=BOUNDS[b], n=n, value=w) for n, b, w in zip(t.n, t.bound, t.width)]
        bounds = [b for b in BOUNDS if b in set(t.bound)]
        table = t.pivot(index="n", columns="bound", values="width")[bounds].reset_index()
        headline["theory: hidden units (construction, counting lower bound, the article's heuristic count, "
                 "Setiono's sigmoid units for parity)"] = \
            table.rename(columns={"construction_smaller_side": "smaller side"})
    if (len(part["theory"]) and (part["theory"].bound == "setiono").any()) or (
            len(part["learned"]) and (part["learned"].family == "parity").any()):
        headline["parity: Setiono's floor(n/2)+1 sigmoid units (witness run on all inputs; margin = min "
                 "|output - 1/2|) vs n threshold units vs the least width training found"] = \
            _setiono(part["theory"], part["learned"], rows)
    return Summary(headline, tidy(rows, keys=["n", "family", "width"]))
