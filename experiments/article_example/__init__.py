"""The article's network: forward values, deltas and edge gradients, then training.

Parts (``exp.part``, one or a list; every row has ``part`` and ``kind``):
  network   one training point (exp.x, exp.y) through the article's network with
            the weights ``exp.weights`` (or N(0, 1) draws from the seed). Rows of
            kind ``neuron``: neuron, neuron_kind (input, bias, hidden, output), layer,
            input_sum, output, delta, loss (of the point); kind ``edge``: src, dst,
            weight, grad (backprop neuron by neuron), grad_autodiff (``jax.grad``).
  training  the same architecture (neuron 3 feeds only neuron 6) trained by
            ``nnlab.train`` on a 1-D target (``nnlab.targets``) with exp.restarts
            restarts from N(0, 1) weights. Kinds: ``restart`` (restart, final_loss,
            diverged), ``loss`` (restart, step, loss), ``fit`` (the best restart's
            prediction: restart, input, target, prediction), ``trained_edge`` (the best
            restart's weights: src, dst, weight).

Modules: summary.py (the tables), plots.py (the figures); this module holds the
schema and computes the rows.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

import nnlab
from nnlab import graph as G
from nnlab import targets
from experiments.article_example.plots import figures
from experiments.article_example.summary import summarize
from experiments.schema import ConfigError, Field, as_list

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures"]

PARTS = ("network", "training")
FUNCTIONS = tuple(a for a in nnlab.ACTIVATIONS if a != "step")  # backprop needs a derivative
INTEGERS = ("neuron", "layer", "src", "dst", "restart", "step")

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="network: one point forward and backward; "
                                                       "training: restarts on a 1-D target"),
    "weights": Field(float, list_only=True, length=len(G.ARTICLE_EDGES), nullable=True,
                     help="network: one weight per edge of nnlab.graph.ARTICLE_EDGES, or null for N(0,1) draws"),
    "hidden": Field(str, choices=FUNCTIONS, help="function of neurons 3, 4, 6, 7"),
    "output": Field(str, choices=FUNCTIONS, help="function of neuron 9"),
    "x": Field(float, help="network: the training point's input"),
    "y": Field(float, help="network: the training point's target"),
    "target": Field(str, choices=tuple(targets.CURVES), help="training: the curve fitted on [-1, 1]"),
    "points": Field(int, low=2, high=100_000, help="training: evenly spaced inputs on [-1, 1]"),
    "restarts": Field(int, low=1, high=1_000_000, help="training: independent trainings"),
    "steps": Field(int, low=1, high=10_000_000, help="training: SGD steps"),
    "lr": Field(float, positive=True, help="training: step size"),
    "schedule": Field(str, choices=tuple(nnlab.SCHEDULES), help="training: step size schedule"),
    "batch_size": Field(int, low=1, high=100_000, nullable=True,
                        help="training: null for full batch, 1 for per-example SGD"),
}


def check(exp) -> None:
    edges = len(G.ARTICLE_EDGES)
    if exp.weights is not None and (isinstance(exp.weights, (int, float)) or len(exp.weights) != edges):
        raise ConfigError(f"exp.weights: {len(as_list(exp.weights))} value(s); allowed: exactly {edges}, "
                          f"one per edge {list(G.ARTICLE_EDGES)}, or null")
    if exp.batch_size is not None and exp.batch_size > exp.points:
        raise ConfigError(f"exp.batch_size={exp.batch_size}: larger than exp.points={exp.points}; "
                          f"allowed: null or 1..{exp.points}")


def network(exp, seed: int) -> G.Graph:
    """The article's network with the run's functions and the weights ``exp.weights``
    (N(0, 1) draws from the seed when null)."""
    weights = None if exp.weights is None else dict(zip(G.ARTICLE_EDGES, exp.weights))
    return G.article_network(weights, jax.random.key(seed), exp.hidden, exp.output)


def network_rows(exp, net: G.Graph, seed: int) -> pd.DataFrame:
    """Every neuron's input sum, output and delta and every edge's gradient, by hand and by
    ``jax.grad``, for the training point (exp.x, exp.y)."""
    bp = G.backprop(net, [exp.x], [exp.y])
    by_autodiff = jax.grad(lambda w: G.example_loss(net, [exp.x], [exp.y], w))(dict(net.weights))
    layer_of = {n: l for l, layer in enumerate(net.layers()) for n in layer}
    neurons = [dict(kind="neuron", neuron=n, neuron_kind=neuron.kind, layer=layer_of[n],
                    input_sum=float(bp.input_sum.get(n, np.nan)), output=float(bp.output[n]),
                    delta=float(bp.delta.get(n, np.nan)), loss=float(bp.loss))
               for n, neuron in net.neurons.items()]
    edges = [dict(kind="edge", src=s, dst=d, weight=float(w), grad=float(bp.grad[(s, d)]),
                  grad_autodiff=float(by_autodiff[(s, d)]))
             for (s, d), w in net.weights.items()]
    return pd.DataFrame(neurons + edges).assign(part="network")


def training_rows(exp, net: G.Graph, seed: int) -> pd.DataFrame:
    """The architecture of ``net`` trained on the target curve; the best restart's fit and weights."""
    form = G.to_mlp(net)
    x = targets.grid(exp.points)
    result = nnlab.train(
        jax.random.key(seed), x, targets.curve(exp.target, x), sizes=form.sizes, restarts=exp.restarts,
        steps=exp.steps, lr=exp.lr, schedule=exp.schedule, hidden=form.hidden, output=form.output,
        batch_size=exp.batch_size, mask=form.mask, init_scale=1.0,
    )
    final, history = np.asarray(result.loss), np.asarray(result.history)
    rows = [dict(kind="restart", restart=r, final_loss=float(final[r]), diverged=bool(result.diverged[r]))
            for r in range(exp.restarts)]
    rows += [dict(kind="loss", restart=r, step=int(t), loss=float(history[r, k]))
             for r in range(exp.restarts) for k, t in enumerate(np.asarray(result.history_steps))]
    best = int(np.nanargmin(np.where(np.isfinite(final), final, np.nan))) if np.isfinite(final).any() else 0
    params = result.network(best)
    grid = targets.grid(201)
    prediction = np.asarray(nnlab.forward(params, grid, form.hidden, form.output))[:, 0]
    rows += [dict(kind="fit", restart=best, input=float(g), target=float(t), prediction=float(p))
             for g, t, p in zip(grid[:, 0], targets.curve(exp.target, grid)[:, 0], prediction)]
    rows += [dict(kind="trained_edge", restart=best, src=s, dst=d, weight=float(w))
             for (s, d), w in G.from_mlp(form, net, params).weights.items()]
    return pd.DataFrame(rows).assign(part="training")


ROWS = {"network": network_rows, "training": training_rows}


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    net = network(exp, seed)
    chosen = as_list(exp.part)
    df = pd.concat([ROWS[p](exp, net, seed) for p in PARTS if p in chosen], ignore_index=True)
    df = df[["part", "kind"] + [c for c in df.columns if c not in ("part", "kind")]]
    types = {c: "Int64" for c in INTEGERS} | {"diverged": "boolean"}  # missing where a kind has no such column
    return df.astype({c: t for c, t in types.items() if c in df})
