"""Part regions (Hanin & Rolnick 2019, ICML "Complexity of linear regions in deep networks"):
the exact number of linear pieces (``nnlab.pieces.count_pieces``) of random relu nets of
one input at initialisation (nnlab's initial weights, ``nnlab.population``; the nets of
each depth are the first layers of the same deepest draws, ``cut``), by depth and width,
against the sawtooth construction's 2^k with 2 units per layer. The typical count grows
with the number of neurons, not exponentially with depth; the maximum does."""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nnlab import sawtooth as ST
from nnlab.pieces import count_pieces
from nnlab.population import Population, init_population, unpad
from experiments.depth_separation.common import REGIONS, float64, key
from experiments.schema import as_list

QUANTILES = (0.1, 0.5, 0.9)


def cut(net, depth: int) -> list:
    """The first ``depth`` hidden layers of a deeper net, and the first unit of the next layer
    as the output. By the key rule (docs/design.md) a weight depends on its key, layer and
    neuron only, not on the sizes, so this is exactly the net nnlab draws at that depth."""
    return net[:depth] + [{"W": net[depth]["W"][:, :1], "b": net[depth]["b"][:1]}]


def random_nets(exp, seed: int):
    """(depth, width, draw, net) for every depth, width and draw: one population of the
    deepest nets (one compiled draw), cut at each depth."""
    widths, depths = as_list(exp.regions_widths), as_list(exp.regions_depths)
    pop = Population.of([[1] + [w] * max(depths) + [1] for w in widths], restarts=exp.regions_draws)
    params = jax.tree.map(np.asarray, init_population(key(seed, REGIONS), pop, scale=exp.regions_init_scale))
    for m, (sizes, draw) in enumerate(zip(pop.sizes, pop.restart_ids)):
        net = float64(unpad([{n: a[m] for n, a in layer.items()} for layer in params], sizes))
        for depth in depths:
            yield depth, int(sizes[1]), int(draw), cut(net, depth)


def rows(exp, seed: int, progress: bool) -> list[dict]:
    out = []
    for depth, width, draw, net in random_nets(exp, seed):
        p = count_pieces(net, exp.regions_lo, exp.regions_hi)
        out.append(dict(part="regions", kind="random", depth=depth, width=width, draw=draw, neurons=depth * width,
                        regions=p.regions, pieces=p.pieces))
    for depth in as_list(exp.regions_depths):
        p = count_pieces(ST.tent_network(depth), 0.0, 1.0)
        out.append(dict(part="regions", kind="construction", depth=depth, width=2, neurons=2 * depth,
                        regions=p.regions, pieces=p.pieces))
    return out


def _quantiles(r: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of the pieces over the draws (of every seed the rows hold) per (depth, width)."""
    q = r.groupby(["depth", "width"]).pieces.quantile(list(QUANTILES)).unstack()
    q.columns = ["q10", "median", "q90"]
    return q.reset_index().assign(neurons=lambda t: t.depth * t.width)


def _fit(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) > 1 else np.nan


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    r, c = d[d.kind == "random"], d[d.kind == "construction"].set_index("depth")
    if r.empty:
        return [], {}
    q = _quantiles(r)
    table = q.pivot(index="depth", columns="width", values="median")
    table.columns = [f"width {w}: median" for w in table.columns]
    spread = q.pivot(index="depth", columns="width", values="q90") - q.pivot(index="depth", columns="width",
                                                                            values="q10")
    table["widest: q90 - q10"] = spread.iloc[:, -1]
    table["construction, 2 units/layer"] = c.pieces.reindex(table.index)
    table = table.reset_index()
    exponent = _fit(q.neurons, q["median"])
    out = [dict(part="regions", quantity="fitted exponent b of median pieces ~ neurons^b (all depths and widths)",
                value=exponent, reference=1.0, note="Hanin & Rolnick 2019: proportional to the neurons")]
    fits = [{"fit": "median pieces ~ neurons^b, all cells", "value": exponent, "reference": 1.0}]
    for w, g in q.groupby("width"):
        per_layer = float(np.polyfit(g.depth, np.log2(g["median"]), 1)[0]) if len(g) > 1 else np.nan
        fits.append({"fit": f"width {w}: log2 pieces gained per layer", "value": per_layer, "reference": 1.0})
        out.append(dict(part="regions", width=int(w), quantity="random nets: log2 of median pieces gained per layer",
                        value=per_layer, reference=1.0, note="reference: the construction, 1 bit per layer"))
    for _, row in q.iterrows():
        key_ = dict(part="regions", depth=int(row.depth), width=int(row.width))
        out += [dict(key_, quantity="random nets at initialisation: median pieces", value=row["median"],
                     reference=float(c.pieces.get(row.depth, np.nan)), note="reference: the construction (2^depth)"),
                dict(key_, quantity="random nets at initialisation: median pieces per neuron",
                     value=row["median"] / row.neurons)]
    for depth, row in c.iterrows():
        out.append(dict(part="regions", depth=int(depth), width=2, quantity="construction: pieces (exact count)",
                        value=row.pieces, reference=2**int(depth)))
    title = (f"regions: linear pieces on [{exp.regions_lo:g}, {exp.regions_hi:g}] of random relu nets at "
             f"initialisation ({exp.regions_draws} draws each; exact counts) vs the sawtooth construction on [0, 1]")
    return out, {title: table, "regions: growth (Hanin & Rolnick 2019 vs Telgarsky's construction)": pd.DataFrame(fits)}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    r, c = d[d.kind == "random"], d[d.kind == "construction"].drop_duplicates("depth").sort_values("depth")
    if r.empty:
        return {}
    q = _quantiles(r)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6))
    for i, (w, g) in enumerate(q.groupby("width")):
        ax.plot(g.depth, g["median"], "o-", color=f"C{i}", ms=4, label=f"random, width {w}: median")
        ax.fill_between(g.depth, g.q10, g.q90, color=f"C{i}", alpha=0.2, lw=0)
        bx.plot(g.neurons, g["median"], "o-", color=f"C{i}", ms=4, label=f"random, width {w} (depth varies)")
        bx.fill_between(g.neurons, g.q10, g.q90, color=f"C{i}", alpha=0.2, lw=0)
    ax.plot(c.depth, c.pieces, "ks--", label="sawtooth construction, 2 units per layer: 2^depth")
    bx.plot(c.neurons, c.pieces, "ks--", label="sawtooth construction")
    n = np.geomspace(max(1, q.neurons.min()), q.neurons.max(), 20)
    bx.plot(n, n, "k:", lw=1, label="pieces = neurons")
    ax.set(yscale="log", xlabel="depth (hidden layers)", ylabel="linear pieces (exact count)",
           title="typical (random init, band: 10-90% of draws) vs constructed")
    bx.set(xscale="log", yscale="log", xlabel="hidden neurons", ylabel="linear pieces",
           title="random nets: pieces grow with the neurons (Hanin & Rolnick)")
    ax.set_ylim(top=max(q.q90.max(), c.pieces.max()) * 2)
    bx.set_ylim(top=max(q.q90.max(), c[c.neurons <= q.neurons.max()].pieces.max()) * 2)
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    fig.tight_layout()
    return {"regions": fig}
