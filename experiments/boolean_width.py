"""How wide must one hidden layer be to implement a boolean function of n bits?

Modes (``exp.mode``, one or a list):
  construction  the textbook network (one ``step`` unit per true input, output OR),
                run on all 2^n inputs. Rows: n, family, function, width, correct.
  exact         the proven least width of every function of n <= 4 bits for threshold
                units (``nnlab.threshold.min_widths``), each with a witness network
                run on all inputs. Rows: n, function, min_width, proven, verified, npn_class.
  learned       sigmoid nets trained by ``nnlab.train`` (squared loss, full batch) at
                every width; solved = 100% accuracy at output threshold 1/2. Rows: n,
                family, function, width, restart, final_loss, accuracy, solved, diverged,
                threshold_width (the exact minimum, n <= 4).
  theory        construction width, counting lower bound, the article's counting
                argument. Rows: n, bound, width.
Functions are hex truth tables (``nnlab.boolean.to_hex``). Random functions of n
bits are drawn from seed and n, so every mode of a run sees the same ones.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import boolean as B
from nnlab import threshold as T
from experiments.schema import ConfigError, Field, as_list

MODES = ("construction", "exact", "learned", "theory")
MAX_N = {"construction": B.MAX_N, "exact": T.MAX_EXACT_N, "learned": 8, "theory": B.MAX_N}
ALL_MAX_N = 3  # family "all": every function, n <= 3

SCHEMA = {
    "mode": Field(str, choices=MODES, many=True, help="which parts to run"),
    "n": Field(int, low=1, high=B.MAX_N, many=True, help="input bits"),
    "family": Field(str, choices=B.FAMILIES, many=True, help="functions for construction and learned"),
    "functions": Field(int, low=1, high=10_000, help="random functions per n"),
    "widths": Field(int, low=1, high=64, many=True, help="learned: hidden widths"),
    "restarts": Field(int, low=1, high=10_000, help="learned: trainings per function and width"),
    "steps": Field(int, low=1, high=1_000_000, help="learned: full-batch gradient steps"),
    "lr": Field(float, positive=True, help="learned: step size"),
    "shortcuts": Field(bool, help="exact: allow input-to-output edges"),
}

BOUNDS = {
    "construction": "construction: a unit per true input (2^n)",
    "construction_smaller_side": "construction on the smaller side (2^(n-1))",
    "counting": "counting lower bound",
    "article": "article's count (100 values/weight)",
}


def _ns(exp) -> list[int]:
    return sorted({int(n) for n in as_list(exp.n)})


def check(exp) -> None:
    modes, ns = as_list(exp.mode), _ns(exp)
    for mode in modes:
        if max(ns) > MAX_N[mode]:
            raise ConfigError(f"exp.n={max(ns)}: too large for mode {mode}; allowed: n <= {MAX_N[mode]}")
    families = as_list(exp.family)
    uses_family = {"construction", "learned"} & set(modes)
    if uses_family and "all" in families and max(ns) > ALL_MAX_N:
        raise ConfigError(f"exp.family=all with exp.n={max(ns)}: every function is only enumerated "
                          f"for n <= {ALL_MAX_N}; allowed: parity, majority, random")
    if uses_family and "random" in families and exp.functions > 2 ** (2 ** min(ns)):
        raise ConfigError(f"exp.functions={exp.functions}: more than the {2 ** (2 ** min(ns))} functions "
                          f"of n={min(ns)} bits; allowed: 1..{2 ** (2 ** min(ns))}")


# ---------------------------------------------------------------- the four modes

def _functions(exp, n: int, seed: int) -> list[tuple[str, int]]:
    """(family, function) pairs of a run for n bits, in family order."""
    rng = np.random.default_rng([seed, n])
    return [(fam, f) for fam in as_list(exp.family) for f in B.family(fam, n, exp.functions, rng)]


def _construction(exp, n: int, seed: int) -> pd.DataFrame:
    """Each construction, padded with idle units to width 2^n (one shape, one compiled
    program per n), run on all inputs; chunks keep the hidden activations <= 2^26 numbers."""
    x = jnp.asarray(B.inputs(n), jnp.float32)
    run = jax.jit(jax.vmap(lambda p: nnlab.forward(p, x, hidden="step", output="step")[:, 0]))
    pairs = _functions(exp, n, seed)
    nets = [B.construction(f, n) for _, f in pairs]
    widths = [p[0]["W"].shape[1] for p in nets]
    chunk = max(1, 2**26 // 4**n)
    computed = []
    for start in range(0, len(nets), chunk):
        part = nets[start:start + chunk]
        part = part + [part[-1]] * (min(chunk, len(nets)) - len(part))  # a fixed chunk shape
        stacked = [{key: np.stack([_pad_units(p, 2**n)[layer][key] for p in part]) for key in ("W", "b")}
                   for layer in range(2)]
        computed += [B.from_bits(o > 0.5) for o in np.asarray(run(stacked))]
    return pd.DataFrame([dict(mode="construction", n=n, family=family, function=B.to_hex(f, n), width=k,
                              correct=c == f) for (family, f), k, c in zip(pairs, widths, computed)])


def _pad_units(params, width: int) -> list[dict]:
    """Params with idle hidden units (no input, bias -1, output weight 0) up to ``width``."""
    (W1, b1), (W2, b2) = ((np.asarray(p["W"]), np.asarray(p["b"])) for p in params)
    pad = width - W1.shape[1]
    return [{"W": np.pad(W1, ((0, 0), (0, pad))), "b": np.pad(b1, (0, pad), constant_values=-1)},
            {"W": np.pad(W2, ((0, pad), (0, 0))), "b": b2}]


def _exact(exp, n: int, seed: int) -> pd.DataFrame:
    widths = T.min_widths(n, bool(exp.shortcuts))
    verified = T.verify(widths)
    classes = T.npn_labels(n)
    F = np.arange(2 ** (2**n))
    return pd.DataFrame(dict(
        mode="exact", n=n, function=[B.to_hex(f, n) for f in F], min_width=widths.width,
        proven=widths.proven, verified=verified, npn_class=[B.to_hex(c, n) for c in classes],
    ))


def _theory(exp, n: int, seed: int) -> pd.DataFrame:
    widths = {"construction": 2**n, "construction_smaller_side": 2 ** (n - 1),
              "counting": T.counting_lower_bound(n), "article": T.article_bound(n)}
    return pd.DataFrame([dict(mode="theory", n=n, bound=b, width=w) for b, w in widths.items()])


def _initial_params(seed: int, n_in: int, width_max: int, widths: np.ndarray, restarts: np.ndarray):
    """Initial weights of each run: hidden unit j of restart r from the key
    fold_in(fold_in(key(seed), r), j + 1), so a net of width w is the first w units of
    the same draw for every function, width list and n; N(0, 1/fan_in) as init_mlp."""
    root = jax.random.key(seed)

    def one_restart(r):
        key = jax.random.fold_in(root, r)
        units = jax.vmap(lambda j: jax.random.normal(jax.random.fold_in(key, j + 1), (n_in + 2,)))(jnp.arange(width_max))
        return units, jax.random.normal(jax.random.fold_in(key, 0), ())

    units, out_b = jax.vmap(one_restart)(jnp.arange(int(restarts.max()) + 1))
    units, out_b = np.asarray(units)[restarts], np.asarray(out_b)[restarts]  # (runs, width_max, n_in + 2)
    scale = 1 / np.sqrt(widths)[:, None]
    params = [{"W": units[:, :, :n_in].transpose(0, 2, 1) / np.sqrt(n_in), "b": units[:, :, n_in] / np.sqrt(n_in)},
              {"W": (units[:, :, n_in + 1] * scale)[:, :, None], "b": out_b[:, None] * scale}]
    return jax.tree.map(lambda a: np.asarray(a, np.float32), params)


def _learned_all(exp, seed: int) -> pd.DataFrame:
    """Every n, function, width and restart in one compiled training program.

    Runs for n bits use the inputs of n_max bits with the weights from inputs
    x_n..x_{n_max-1} masked out: each n-bit input appears 2^(n_max - n) times, so the
    mean loss and its gradient are those of the n-bit problem.
    """
    ns, widths, R = _ns(exp), sorted({int(w) for w in as_list(exp.widths)}), exp.restarts
    n_max, w_max = max(ns), max(widths)
    x = B.inputs(n_max).astype(np.float32)
    points = np.arange(2**n_max)
    runs, targets = [], []
    for n in ns:
        exact = T.min_widths(n).width if n <= T.MAX_EXACT_N else None
        for family, f in _functions(exp, n, seed):
            targets.append(B.bits(f, n)[points % 2**n])
            for w, r in itertools.product(widths, range(R)):
                runs.append(dict(mode="learned", n=n, family=family, function=B.to_hex(f, n), width=w, restart=r,
                                 threshold_width=int(exact[f]) if exact is not None else -1,
                                 target=len(targets) - 1))
    df = pd.DataFrame(runs)
    width, n_of, restart = df.width.to_numpy(), df.n.to_numpy(), df.restart.to_numpy()
    unit = (np.arange(w_max)[None, :] < width[:, None]).astype(np.float32)  # (runs, w_max)
    inp = (np.arange(n_max)[None, :] < n_of[:, None]).astype(np.float32)  # (runs, n_max)
    mask = [{"W": inp[:, :, None] * unit[:, None, :], "b": unit},
            {"W": unit[:, :, None], "b": np.ones((len(df), 1), np.float32)}]
    init = _initial_params(seed, n_max, w_max, width, restart)
    live = np.sqrt(n_max / n_of).astype(np.float32)  # N(0, 1/n) on the n live inputs
    init[0]["W"], init[0]["b"] = init[0]["W"] * live[:, None, None], init[0]["b"] * live[:, None]
    y = np.stack(targets).astype(np.float32)[df.target.to_numpy()][:, :, None]  # (runs, 2^n_max, 1)
    result = nnlab.train(jax.random.key(seed), x, y, sizes=[n_max, w_max, 1], restarts=len(df),
                         steps=exp.steps, lr=exp.lr, hidden="sigmoid", output="sigmoid", loss="squared",
                         mask=mask, init_params=init, records=10)
    out = np.asarray(jax.jit(jax.vmap(lambda p, m: nnlab.forward(p, jnp.asarray(x), "sigmoid", "sigmoid", m)[:, 0]))(
        result.params, mask))
    accuracy = ((out >= 0.5) == (y[:, :, 0] > 0.5)).mean(axis=1)
    df["final_loss"] = np.asarray(result.loss, np.float64)
    df["diverged"] = np.asarray(result.diverged)
    df["accuracy"] = np.where(df.diverged, np.nan, accuracy)
    df["solved"] = ~df.diverged & (accuracy == 1.0)
    return df.drop(columns="target")


MODE_RUNS = {"construction": _construction, "exact": _exact, "theory": _theory}


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    modes = [m for m in MODES if m in as_list(exp.mode)]
    units = [(m, n) for m in modes if m != "learned" for n in _ns(exp)] + [("learned", None)] * ("learned" in modes)
    frames = []
    for mode, n in tqdm(units, desc="boolean_width", disable=not progress):
        frames.append(_learned_all(exp, seed) if mode == "learned" else MODE_RUNS[mode](exp, n, seed))
    df = pd.concat(frames, ignore_index=True)
    integers = [c for c in ("n", "width", "restart", "min_width", "threshold_width") if c in df]
    return df.astype({c: "Int64" for c in integers})  # integers, missing where a mode has no such column


# ---------------------------------------------------------------- summary

def _learned_minimum(learned: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, n, family, function): the least width any restart solved (NaN: none)."""
    keys = [k for k in ("seed", "n", "family", "function") if k in learned]
    solved_widths = learned[learned.solved].groupby(keys).width.min()
    table = learned.groupby(keys).threshold_width.first().astype(float).to_frame()
    table["learned_width"] = solved_widths.reindex(table.index).astype(float)
    table["largest_width_tried"] = learned.groupby(keys).width.max()
    return table.reset_index()


def _stat(rows, mode, n, family, statistic, value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    elif isinstance(value, (float, np.floating)):
        value = round(float(value), 3)
    rows.append(dict(mode=mode, n=int(n), family=family, statistic=statistic, value=value))


def _summary_one(df: pd.DataFrame) -> list[dict]:
    rows: list[dict] = []
    part = {m: df[df["mode"] == m] for m in MODES}
    groups = lambda mode, keys: part[mode].groupby(keys, sort=True) if len(part[mode]) else []
    for (n, family), d in groups("construction", ["n", "family"]):
        _stat(rows, "construction", n, family, "functions correct on all inputs", f"{int(d.correct.sum())}/{len(d)}")
        _stat(rows, "construction", n, family, "width, largest", d.width.max())
        _stat(rows, "construction", n, family, "width, mean", d.width.mean())
    for n, d in groups("exact", "n"):
        shortcuts = ", with shortcuts" if "shortcuts" in d and bool(d.shortcuts.iloc[0]) else ""
        for w, count in d.min_width.astype(int).value_counts().sort_index().items():
            classes = d[d.min_width == w].npn_class.nunique()
            _stat(rows, "exact", n, "all", f"functions of min width {w}{shortcuts} (NPN classes)", f"{count} ({classes})")
        _stat(rows, "exact", n, "all", "min width, mean", d.min_width.mean())
        _stat(rows, "exact", n, "all", "min width, largest", d.min_width.max())
        _stat(rows, "exact", n, "all", "proven / witnesses verified", f"{int(d.proven.sum())}/{int(d.verified.sum())} of {len(d)}")
    learned = part["learned"]
    if len(learned):
        best = _learned_minimum(learned)
        for (n, family), d in best.groupby(["n", "family"], sort=True):
            lw = d.learned_width
            _stat(rows, "learned", n, family, "functions", len(d))
            _stat(rows, "learned", n, family, "learned min width, mean over solved functions", lw.mean())
            _stat(rows, "learned", n, family, "learned min width, largest", lw.max())
            _stat(rows, "learned", n, family, "unsolved at every width tried", int(lw.isna().sum()))
            # Compare where the threshold minimum is known and within the widths tried;
            # a function no restart solved needs more than the largest width tried.
            tried = learned[(learned.n == n) & (learned.family == family)].width
            c = d[(d.threshold_width >= tried.min()) & (d.threshold_width <= tried.max())]
            if len(c):
                lw, tw = c.learned_width.fillna(np.inf), c.threshold_width
                _stat(rows, "learned", n, family, "threshold min width, mean", d.threshold_width.mean())
                _stat(rows, "learned", n, family, "compared with threshold min (within widths tried)", len(c))
                _stat(rows, "learned", n, family, "sigmoid needs fewer units than threshold", int((lw < tw).sum()))
                _stat(rows, "learned", n, family, "sigmoid needs as many", int((lw == tw).sum()))
                _stat(rows, "learned", n, family, "sigmoid needs more (or none solved)", int((lw > tw).sum()))
            d_runs = learned[(learned.n == n) & (learned.family == family)]
            rate = d_runs.groupby("width").solved.mean()
            _stat(rows, "learned", n, family, "restarts solving, by width",
                  ", ".join(f"{int(w)}:{r:.2f}" for w, r in rate.items()))
            _stat(rows, "learned", n, family, "diverged runs", int(d_runs.diverged.sum()))
    for n, d in groups("theory", "n"):
        for bound, w in zip(d.bound, d.width):
            _stat(rows, "theory", n, "-", BOUNDS.get(bound, bound), int(w))
    return rows


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """A long table: mode, n, family, statistic, value (and seed with several seeds)."""
    seeds = sorted(df.seed.unique()) if "seed" in df else [None]
    frames = []
    for seed in seeds:
        rows = _summary_one(df if seed is None else df[df.seed == seed])
        frame = pd.DataFrame(rows, columns=["mode", "n", "family", "statistic", "value"])
        if len(seeds) > 1:
            frame.insert(0, "seed", seed)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- figures

FAMILY_COLORS = {"parity": "C1", "majority": "C2", "random": "C5", "all": "C6"}


def _seed_spread(ax, table: pd.DataFrame, x: str, y: str, log: bool = False, **style):
    """Mean over seeds as a line, min..max over seeds as error bars (several seeds).
    On a log axis, values <= 0 are left out."""
    g = table.groupby(x)[y].agg(["mean", "min", "max"]).dropna()
    if log:
        g = g[g["mean"] > 0]
    if g.empty:
        return
    line = ax.plot(g.index, g["mean"], **style)[0]
    if (g["max"] > g["min"]).any():
        ax.errorbar(g.index, g["mean"], yerr=[g["mean"] - g["min"], g["max"] - g["mean"]], fmt="none",
                    ecolor=line.get_color(), capsize=3, lw=1)


def _exact_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The exact rows to draw: those without shortcuts when a table holds both kinds."""
    exact = df[df["mode"] == "exact"]
    if "shortcuts" not in exact or not exact.shortcuts.astype(bool).any():
        return exact, " (threshold units)"
    plain = exact[~exact.shortcuts.astype(bool)]
    return (plain, " (threshold units)") if len(plain) else (exact, " (threshold units, shortcuts)")


def _figure_widths(df: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(9.5, 5))
    theory = df[df["mode"] == "theory"]
    styles = {"construction": dict(color="k", ls="-", marker="o"),
              "construction_smaller_side": dict(color="0.55", ls="-", marker="o", ms=4),
              "counting": dict(color="C3", ls="--", marker="v"),
              "article": dict(color="C4", ls=":", marker="^")}
    for bound, style in styles.items():
        d = theory[theory.bound == bound] if len(theory) else theory
        if len(d):
            _seed_spread(ax, d, "n", "width", log=True, label=BOUNDS[bound], **style)
    exact, label = _exact_rows(df)
    if len(exact):
        keys = ["seed", "n"] if "seed" in exact else ["n"]
        per_seed = exact.groupby(keys).min_width.agg(["max", "mean"]).reset_index()
        _seed_spread(ax, per_seed, "n", "max", log=True, color="C0", marker="s", lw=2.5,
                     label=f"exact minimum{label}, largest")
        _seed_spread(ax, per_seed, "n", "mean", log=True, color="C0", marker="s", ls="--", mfc="white",
                     label=f"exact minimum{label}, mean")
    learned = df[df["mode"] == "learned"]
    if len(learned):
        best = _learned_minimum(learned)
        for family, d in best.groupby("family", sort=True):
            keys = ["seed", "n"] if "seed" in d else ["n"]
            per_seed = d.groupby(keys).learned_width.mean().reset_index()
            many = d.groupby(keys).size().max() > 1
            _seed_spread(ax, per_seed, "n", "learned_width", log=True, color=FAMILY_COLORS.get(family), marker="D",
                         ls="-.", label=f"learned (sigmoid), {family}" + (", mean over solved" if many else ""))
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
    learned = df[df["mode"] == "learned"]
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
            keys = ["seed", "width"] if "seed" in f else ["width"]
            rate = f.groupby(keys).solved.mean().reset_index()
            color = FAMILY_COLORS.get(family)
            _seed_spread(ax, rate, "width", "solved", color=color, marker="o", label=family)
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


def figures(df: pd.DataFrame) -> dict[str, plt.Figure]:
    modes = set(df["mode"].unique())
    figs = {}
    if modes & {"theory", "exact", "learned"}:
        figs["widths"] = _figure_widths(df)
    if "exact" in modes:
        figs["exact_histogram"] = _figure_histogram(df)
    if "learned" in modes:
        figs["learned_success"] = _figure_success(df)
    return figs
