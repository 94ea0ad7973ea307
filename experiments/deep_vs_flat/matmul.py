"""Part 5, matmul: the article's claim that fast matrix multiplication makes deep nets
cheaper than shallow ones, tested exactly.

Multiplying n x n matrices A, B (both inputs, n = 2^k) is bilinear: every product of a
bilinear algorithm (``nnlab.bilinear``) is one 4-neuron multiplication gate. Four forms
(``nnlab.bilinear_net``): ``naive_flat`` (n^3 products, one hidden layer), ``naive_deep``
(the 2 x 2 schoolbook recursion layer by layer), ``strassen_flat`` (7^k products folded
into one hidden layer) and ``strassen_deep`` (Strassen's recursion: sum layers, gates,
recombining layers). Rows: exact counts of each built net beside the closed forms
(``bilinear.formula_counts``); the error against A @ B on random matrices per gate scale
lambda, in float64 by the numpy forward pass over the nets' edge lists
(``bilinear_net.evaluate(..., backend="numpy")``: the nets of n = 16 are too large to
hold as dense nnlab params), beside the gate theory's leading term; and the least width
of a one-hidden-layer net of square units z^2 for 2 x 2 matrix multiplication, searched
by training (``nnlab.square_search``), with the found net verified on fresh matrices and
in exact rationals (``nnlab.square_net``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

from nnlab import bilinear as BL
from nnlab import bilinear_net as BN
from nnlab import square_net as SN
from nnlab import square_search as SS
from experiments.plotting import seed_band
from experiments.schema import as_list

FORMS = ("naive_flat", "naive_deep", "strassen_flat", "strassen_deep")
COSTS = ("gate_neurons", "hidden_neurons", "weights", "weight_layers")
TOL = 1e-6  # relative error that counts as exact in the square search (float64)
FRESH_PAIRS, FRESH_SCALE = 1000, 10.0  # fresh N(0, 1) x 10 matrix pairs for the found square net
DENOMINATOR = 12  # "simple rationals": denominators <= 12

L7, L12 = np.log2(7), np.log2(12)
# leading terms c n^e of bilinear.formula_counts (n = 2^k: 7^k = n^log2 7, 12^k = n^log2 12)
ASYMPTOTIC = {
    "naive_flat": {"gate_neurons": (4, 3.0), "hidden_neurons": (4, 3.0), "weights": (16, 3.0)},
    "naive_deep": {"gate_neurons": (4, 3.0), "hidden_neurons": (10, 3.0), "weights": (22, 3.0)},
    "strassen_flat": {"gate_neurons": (4, L7), "hidden_neurons": (4, L7), "weights": (12, L12)},
    "strassen_deep": {"gate_neurons": (4, L7), "hidden_neurons": (11, L7), "weights": (28, L7)},
}
STYLE = {"naive_flat": ("C0", "o", "-"), "naive_deep": ("C0", "x", "--"),
         "strassen_flat": ("C3", "s", "-"), "strassen_deep": ("C3", "^", "--")}


def algorithm(form: str, n: int) -> BL.Bilinear:
    """The bilinear algorithm a form computes (the deep forms: their recursion composed)."""
    k = n.bit_length() - 1
    if form == "naive_flat":
        return BL.naive(n)
    if form == "strassen_flat":
        return BL.strassen(k)
    return BL.compose(*levels(form, n))


def levels(form: str, n: int) -> list:
    """The levels of a deep form's recursion, outermost first."""
    return [BL.naive(2) if form == "naive_deep" else BL.strassen(1)] * (n.bit_length() - 1)


def network(form: str, n: int, lam: float, activation: str, alg: BL.Bilinear | None = None) -> BN.BilinearNet:
    """The gate net of ``form`` for n x n matrices (alg: the flat forms' algorithm, if built)."""
    if form.endswith("_deep"):
        return BN.deep_network(levels(form, n), lam, activation)
    return BN.flat_network(alg if alg is not None else algorithm(form, n), lam, activation)


def _net_rows(exp, seed: int, progress: bool) -> list[dict]:
    """Per (form, n): one counts row (kind counts); per (form, n, lambda): one error row (kind error)."""
    out, lams = [], sorted(float(v) for v in as_list(exp.matmul_lambdas))
    jobs = [(n, form) for n in sorted(set(as_list(exp.matmul_n))) for form in FORMS]
    for n, form in tqdm(jobs, desc="matmul nets", disable=not progress):
        A, B = np.random.default_rng([seed, 8, n]).uniform(-1, 1, size=(2, exp.matmul_samples, n, n))
        C = A @ B
        alg = algorithm(form, n)
        for i, lam in enumerate(lams):
            net = network(form, n, lam, exp.matmul_activation, alg)
            if i == 0:
                counts, formula = net.counts(), BL.formula_counts(form, n)
                out.append(dict(part="matmul", kind="counts", form=form, n=n, k=n.bit_length() - 1,
                                products=alg.rank, **counts, **{f"{c}_formula": formula[c] for c in COSTS}))
            err = BN.evaluate(net, A, B, backend="numpy") - C
            pred = BN.predicted_error(alg, A, B, lam, exp.matmul_activation)
            out.append(dict(part="matmul", kind="error", form=form, n=n, lam=lam, activation=exp.matmul_activation,
                            samples=exp.matmul_samples, max_error=float(np.abs(err).max()),
                            rel_error=float(np.linalg.norm(err) / np.linalg.norm(C)),
                            max_error_leading=float(np.abs(pred).max()),
                            leading_term_miss=float(np.abs(err - pred).max() / np.abs(pred).max())))
    return out


def _exact_residual(params: list) -> float:
    """Largest |coefficient of the net's polynomial - that of vec(A B)|, computed in exact
    rationals from the float weights (0: the float net is exact)."""
    diff = [np.asarray(a - b, dtype=object).ravel() for a, b in zip(SN.net_polynomial(params),
                                                                      SN.target_polynomial(2))]
    return float(max(abs(v) for d in diff for v in d))


def verify(params: list, seed: int) -> dict:
    """A square net [8, r, 4] checked: relative error on fresh matrices (N(0, 1) x 10, through
    nnlab.forward in float64), the exact residual of its float weights, and whether its
    weights, each unit scaled to largest |input weight| 1, round to fractions with
    denominators <= 12 that multiply exactly (``square_net.is_exact``)."""
    A, B = np.random.default_rng([seed, 9]).normal(size=(2, FRESH_PAIRS, 2, 2)) * FRESH_SCALE
    normal = SN.normalize_units(params)
    rounded = SN.rationalize(normal, DENOMINATOR)
    weights = np.concatenate([np.ravel(layer["W"]) for layer in normal])
    simple = np.concatenate([np.ravel(layer["W"]) for layer in rounded]).astype(float)
    return dict(width=int(params[0]["W"].shape[1]), fresh_error=SN.relative_error(params, A, B),
                exact_residual=_exact_residual(params), rounds_exactly=bool(SN.is_exact(rounded)),
                near_simple=int(np.sum(np.abs(weights - simple) < 1e-9)), weights=int(weights.size))


def _square_rows(exp, seed: int) -> list[dict]:
    """Per width and restart of the search (kind square); the best net of the least width
    reaching TOL and Strassen's 14-unit construction, verified (kind square_net)."""
    sseed = seed if exp.square_seed is None else int(exp.square_seed)
    results = SS.search(widths=tuple(sorted(set(as_list(exp.square_widths)))), restarts=exp.square_restarts,
                        steps=exp.square_steps, seed=sseed, method=exp.square_method, tol=TOL)
    key = dict(part="matmul", method=exp.square_method, steps=exp.square_steps, search_seed=sseed)
    out = [dict(key, kind="square", width=res.width, restart=i, rel_error=float(res.errors[i]),
                exact=bool(res.errors[i] < TOL), max_weight=float(res.max_weights[i]))
           for res in results for i in range(res.restarts)]
    found = [res for res in results if res.best_error < TOL]
    if found:
        res = found[0]
        out.append(dict(key, kind="square_net", net="found by training", restart=int(np.argmin(res.errors)),
                        **verify(res.best_params, seed)))
    construction = SN.square_net_from_bilinear(BL.strassen(1))
    out.append(dict(part="matmul", kind="square_net", net="Strassen, two squares per product",
                    **verify(construction, seed)))
    return out


def rows(exp, seed: int, progress: bool) -> list[dict]:
    return _net_rows(exp, seed, progress) + _square_rows(exp, seed)


# ----------------------------------------------------------------------------- summary


def exponent(errors: pd.DataFrame, y: str = "max_error") -> float:
    """Fitted slope of log error vs log lambda; NaN with fewer than two lambdas."""
    g = errors.groupby("lam")[y].mean()
    return BN.error_exponent(g.index, g.values) if len(g) > 1 and (g.values > 0).all() else float("nan")


def _counts_summary(counts: pd.DataFrame, errors: pd.DataFrame, out: list) -> pd.DataFrame:
    head = []
    for (n, form), c in counts.groupby(["n", "form"], sort=False):
        c, e = c.iloc[0], errors[(errors.n == n) & (errors.form == form)]
        agree = all(c[cost] == c[f"{cost}_formula"] for cost in COSTS)
        slope = exponent(e)
        lo = e[e.lam == e.lam.min()]
        row = {"n": int(n), "form": form, "products": int(c.products), "gate neurons": int(c.gate_neurons),
               "all hidden neurons": int(c.hidden_neurons), "weights": int(c.weights),
               "weight layers": int(c.weight_layers), "nonlinear layers": int(c.nonlinear_layers),
               "= closed forms": "yes" if agree else "NO", "error exponent": slope,
               f"rel. error at lambda={e.lam.min():g}": float(lo.rel_error.mean())}
        head.append(row)
        key = dict(part="matmul", n=int(n), form=form)
        names = {"gate_neurons": "gate (nonlinear) neurons", "hidden_neurons": "hidden neurons (gates and identity)",
                 "weights": "weights: nonzero edges incl. bias edges", "weight_layers": "weight layers (depth)"}
        out += [dict(key, quantity=names[cost], value=c[cost], reference=c[f"{cost}_formula"],
                     note="reference: closed form, nnlab.bilinear.formula_counts") for cost in COSTS]
        out += [dict(key, quantity="nonlinear hidden layers", value=c.nonlinear_layers, reference=1),
                dict(key, quantity="error exponent: slope of log max error vs log lambda (float64)", value=slope,
                     reference=2.0, note=f"lambda in [{e.lam.min():g}, {e.lam.max():g}], "
                                         f"{int(e.samples.iloc[0])} random pairs, entries U(-1, 1)"),
                dict(key, quantity="max error at the smallest lambda", value=float(lo.max_error.mean()),
                     reference=float(lo.max_error_leading.mean()),
                     note="reference: the gates' leading term C lambda^2 x y (x^2 + y^2), recombined"),
                dict(key, quantity="relative error at the smallest lambda", value=float(lo.rel_error.mean()))]
    return pd.DataFrame(head)


WHY = {"gate_neurons": "set by the algorithm (7^k vs 8^k products)",
       "weights": "flattening multiplies Strassen's shared sums out into every gate's fan-in",
       "hidden_neurons": "the deep forms' sum and recombining layers are identity neurons",
       "weight_layers": "2k + 2 layers, all linear but the gate layer"}
COST_NAMES = {"gate_neurons": "gate (nonlinear) neurons", "weights": "weights (nonzero edges)",
              "hidden_neurons": "all hidden neurons", "weight_layers": "weight layers"}


def _claim(counts: pd.DataFrame, out: list) -> tuple[str, pd.DataFrame]:
    """The article's claim as the counts show it: per cost, every form at the largest n run,
    the least n from which each Strassen form costs less than naive_flat (closed forms,
    checked against the built nets for the n run, k <= 20), and whether depth reduces it."""
    n = int(counts.n.max())
    at = counts[counts.n == n].groupby("form").first()
    rows = []
    for cost in COSTS:
        row = {"cost": COST_NAMES[cost], "n": n}
        row |= {form: int(at.loc[form, cost]) for form in FORMS if form in at.index}
        for form in ("strassen_deep", "strassen_flat"):
            c = BL.crossover(cost, form)
            row[f"{form} < naive_flat from n"] = "never" if c is None else c
            out.append(dict(part="matmul", quantity=f"least n from which {form} has fewer {cost} than naive_flat",
                            form=form, value=np.nan if c is None else c,
                            note="closed forms, n = 2^k, k <= 20 (checked against the built nets for the n run); "
                                 "NaN: never"))
        deep, flat = (int(at.loc[f, cost]) if f in at.index else BL.formula_counts(f, n)[cost]
                      for f in ("strassen_deep", "strassen_flat"))
        effect = "reduces" if deep < flat else "keeps" if deep == flat else "adds to"
        row["depth (Strassen deep vs flat)"] = f"{effect}: {WHY[cost]}"
        rows.append(row | {"effect": effect})
    table = pd.DataFrame(rows)
    nonlinear = sorted(set(counts.nonlinear_layers.astype(int)))
    by = {e: [COST_NAMES[c] for c, e2 in zip(COSTS, table.effect) if e2 == e] for e in ("reduces", "keeps", "adds to")}
    statement = ("every form has " + ("exactly one nonlinear layer" if nonlinear == [1] else
                                      f"{' or '.join(map(str, nonlinear))} nonlinear layers") + "; depth "
                 + "; ".join(f"{e} {', '.join(c) if c else 'nothing'}" for e, c in by.items()))
    return statement, table.drop(columns="effect")


def least_width(square: pd.DataFrame) -> float:
    """The least width at which a restart reached TOL (NaN: none)."""
    found = square[square.exact.astype(bool)]
    return float(found.width.min()) if len(found) else np.nan


def _square_summary(square: pd.DataFrame, nets: pd.DataFrame, out: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    head = []
    for width, g in square.groupby("width", sort=True):
        best = g.loc[g.rel_error.idxmin()]
        row = {"width": int(width), "restarts": len(g), f"exact (< {TOL:g})": int(g.exact.sum()),
               "best relative error": float(g.rel_error.min()), "median": float(g.rel_error.median()),
               "largest |weight| of the best": float(best.max_weight)}
        head.append(row)
        key = dict(part="matmul", width=int(width))
        out += [dict(key, quantity="square search: restarts", value=len(g)),
                dict(key, quantity=f"square search: restarts reaching relative error < {TOL:g} (fresh matrices)",
                     value=row[f"exact (< {TOL:g})"]),
                dict(key, quantity="square search: best relative error (fresh matrices)",
                     value=row["best relative error"], reference=TOL),
                dict(key, quantity="square search: median relative error", value=row["median"]),
                dict(key, quantity="square search: largest |weight| of the best net (units scaled to max |w| = 1)",
                     value=row["largest |weight| of the best"])]
    out.append(dict(part="matmul", quantity="square search: least width reaching the tolerance (an upper bound)",
                    value=least_width(square), reference=SN.LOWER_BOUND,
                    note=f"reference: the proven lower bound (nnlab.square_net); construction: {SN.UPPER_BOUND}"))
    checks = []
    for _, r in nets.iterrows():
        checks.append({"net": r.net, "width": int(r.width),
                       f"rel. error, {FRESH_PAIRS} fresh pairs x {FRESH_SCALE:g}": r.fresh_error,
                       "exact residual of its float weights": r.exact_residual,
                       f"weights near k/d, d <= {DENOMINATOR}": f"{int(r.near_simple)} of {int(r.weights)}",
                       "rounded: exact in rationals": "yes" if r.rounds_exactly else "no"})
        key = dict(part="matmul", net=r.net, width=int(r.width))
        out += [dict(key, quantity="square net: relative error on fresh matrices (nnlab.forward, float64)",
                     value=r.fresh_error, reference=TOL),
                dict(key, quantity="square net: largest |coefficient - target| of its polynomial, exact rationals",
                     value=r.exact_residual, reference=0.0),
                dict(key, quantity=f"square net: rounded to denominators <= {DENOMINATOR}, exact (1) or not (0)",
                     value=float(bool(r.rounds_exactly)))]
    return pd.DataFrame(head), pd.DataFrame(checks)


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    out, head = [], {}
    counts, errors = d[d.kind == "counts"], d[d.kind == "error"]
    if len(counts):
        head["matmul: n x n matrix multiplication by nets of 4-neuron gates, exact counts per form (closed forms "
             f"beside them in summary.csv); error vs A @ B in float64 ({exp.matmul_activation} gates, exponent "
             "fitted over lambda)"] = _counts_summary(counts, errors, out)
        statement, table = _claim(counts, out)
        head[f"matmul: the article's claim, settled by the counts: {statement} (crossovers from the closed "
             "forms)"] = table
    square, nets = d[d.kind == "square"], d[d.kind == "square_net"]
    if len(square):
        table, checks = _square_summary(square, nets, out)
        least = least_width(square)
        head[f"matmul: least width r of a square-unit net [8, r, 4] for 2 x 2 matrix multiplication, by training "
             f"({exp.square_method}, {exp.square_steps} steps, float64): an UPPER bound "
             f"{'r <= %d' % least if np.isfinite(least) else '(none reached)'}, not a proof; proven "
             f"r >= {SN.LOWER_BOUND} (nnlab.square_net), construction r = {SN.UPPER_BOUND}"] = table
        head["matmul: the square nets verified (exact residual: computed in rationals from the float weights)"] = \
            checks
    return out, head


# ----------------------------------------------------------------------------- figures


def _figure_counts(counts: pd.DataFrame) -> plt.Figure:
    c = counts.groupby(["form", "n"], as_index=False).first()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    grid = np.geomspace(2, 4 * c.n.max(), 60)
    ks = np.arange(1, 11)
    titles = {"gate_neurons": "gate (nonlinear) neurons", "weights": "weights (nonzero edges)"}
    for ax, cost in zip(axes[:2], ("gate_neurons", "weights")):
        for form in FORMS:
            color, marker, ls = STYLE[form]
            coef, e = ASYMPTOTIC[form][cost]
            ax.plot(grid, coef * grid**e, color=color, ls=ls, lw=0.8, alpha=0.6)
            g = c[c.form == form]
            ax.plot(g.n, g[cost], marker=marker, color=color, ls="none", ms=7 if marker != "x" else 8,
                    mfc="none" if form.endswith("deep") else color,
                    label=f"{form}: built (lines: {coef} n^{e:.2f})")
        ax.set(xscale="log", yscale="log", xlabel="n (matrices n x n)", ylabel=titles[cost], title=titles[cost])
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    ax = axes[2]
    for form in FORMS[1:]:
        color, marker, ls = STYLE[form]
        for cost, style in (("weights", "-"), ("hidden_neurons", ":")):
            ratio = [BL.formula_counts(form, 2**k)[cost] / BL.formula_counts("naive_flat", 2**k)[cost] for k in ks]
            ax.plot(2.0**ks, ratio, color=color, ls=style, marker=marker, ms=4, mfc="none",
                    label=f"{form}, {'weights' if cost == 'weights' else 'all hidden neurons'}")
    ax.axhline(1, color="k", lw=0.8)
    cw = BL.crossover("weights", "strassen_deep")
    if cw:
        ax.axvline(cw, color="C3", ls="--", lw=0.8)
        ax.annotate(f"deep Strassen: fewer weights from n = {cw}", (cw, 1), (cw * 1.1, 1.8), fontsize=7, color="C3")
    ax.set(xscale="log", yscale="log", xlabel="n (closed forms, checked on the built nets)",
           ylabel="cost / cost of naive_flat", title="against the flat schoolbook net")
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _figure_error(errors: pd.DataFrame, exp) -> plt.Figure:
    ns = sorted(int(n) for n in errors.n.unique())
    fig, axes = plt.subplots(1, len(ns), figsize=(3.8 * len(ns) + 0.6, 4.0), squeeze=False, sharey=True)
    for ax, n in zip(axes[0], ns):
        e = errors[errors.n == n]
        for form in FORMS:
            color, marker, _ = STYLE[form]
            g = e[e.form == form]
            if not len(g):
                continue
            seed_band(ax, g, "lam", "max_error", label=f"{form} (slope {exponent(g):.3f})", color=color,
                      marker=marker, ls="none", mfc="none" if form.endswith("deep") else color)
            if form.endswith("flat"):
                seed_band(ax, g, "lam", "max_error_leading", color=color, ls="-", lw=0.8,
                          label=f"leading term, {form.split('_')[0]}")
        ax.set(xscale="log", yscale="log", xlabel="gate scale lambda", title=f"n = {n}")
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("max |net(A, B) - A B| (float64)")
    fig.suptitle(f"matrix product by {exp.matmul_activation} gates: error vs lambda (deep and flat forms of one "
                 "algorithm compute the same function)", fontsize=9)
    fig.tight_layout()
    return fig


def _figure_square(square: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.2, 4.5))
    err = square.rel_error.clip(lower=1e-17)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(square))
    ax.scatter(square.width + jitter, err, s=12, color="C0", alpha=0.5, label="one restart (fresh matrices)")
    keys = (["seed"] if "seed" in square else []) + ["width"]
    best = square.groupby(keys).rel_error.min().clip(lower=1e-17).reset_index()
    seed_band(ax, best, "width", "rel_error", bars=True, color="C3", marker="o", label="best restart")
    ax.axhline(TOL, color="k", ls="--", lw=1, label=f"tolerance {TOL:g}")
    if square.width.min() < SN.LOWER_BOUND:
        ax.axvspan(square.width.min() - 0.5, SN.LOWER_BOUND - 0.5, color="gray", alpha=0.15,
                   label=f"proven impossible (r < {SN.LOWER_BOUND})")
    ax.axvline(SN.UPPER_BOUND, color="C2", ls=":", lw=1, label=f"exact construction (Strassen), r = {SN.UPPER_BOUND}")
    ax.set(yscale="log", xlabel="width r (square units)", ylabel="relative error ||net - AB|| / ||AB||",
           title="least square-unit width for 2 x 2 matrix multiplication")
    ax.set_xticks(sorted(square.width.unique()))
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Counts vs n with the asymptotic formulas, error vs lambda per form and n, square-search
    error vs width."""
    figs = {}
    if (d.kind == "counts").any():
        figs["matmul_counts"] = _figure_counts(d[d.kind == "counts"])
    if (d.kind == "error").any():
        figs["matmul_error"] = _figure_error(d[d.kind == "error"], exp)
    if (d.kind == "square").any():
        figs["matmul_square"] = _figure_square(d[d.kind == "square"])
    return figs
