"""The summary of article_example: the article's numbers at one point, and what training reached."""

from __future__ import annotations

import pandas as pd

from experiments.summary import Summary, as_int, tidy

KEYS = ["neuron", "src", "dst"]


def _network(d: pd.DataFrame, rows: list) -> dict:
    """The one-point quantities; every neuron's and edge's numbers go to ``rows``."""
    neurons, edges = d[d.kind == "neuron"], d[d.kind == "edge"]
    values = {
        "output": neurons.loc[neurons.neuron_kind == "output", "output"].iloc[0],
        "loss at the point": neurons.loss.iloc[0],
        "max |backprop - jax.grad|": (edges.grad - edges.grad_autodiff).abs().max(),
    }
    names = {"output": "network output", "loss at the point": "squared loss at the point",
             "max |backprop - jax.grad|": "largest |backprop by hand - jax.grad| over the edges"}
    rows += [dict(part="network", quantity=names[q], value=v) for q, v in values.items()]
    for column in ("input_sum", "output", "delta"):
        rows += [dict(part="network", quantity=f"neuron {column.replace('_', ' ')}", neuron=n, value=v)
                 for n, v in zip(neurons.neuron, neurons[column]) if pd.notna(v)]
    rows += [dict(part="network", quantity="edge weight", src=s, dst=t, value=w)
             for s, t, w in zip(edges.src, edges.dst, edges.weight)]
    rows += [dict(part="network", quantity="edge gradient, backprop by hand", src=s, dst=t, value=g,
                  reference=a, note="reference: jax.grad")
             for s, t, g, a in zip(edges.src, edges.dst, edges.grad, edges.grad_autodiff)]
    return values


def _training(d: pd.DataFrame, rows: list) -> dict:
    """What the restarts reached; the best restart's weights go to ``rows``."""
    restarts, trained = d[d.kind == "restart"], d[d.kind == "trained_edge"]
    values = {
        "restarts": len(restarts),
        "best final loss": restarts.final_loss.min(),
        "median final loss": restarts.final_loss.median(),
        "diverged": int(restarts.diverged.astype(bool).sum()),
    }
    names = {"restarts": "restarts", "best final loss": "best final training loss",
             "median final loss": "median final training loss", "diverged": "restarts diverged"}
    rows += [dict(part="training", quantity=names[q], value=v) for q, v in values.items()]
    rows += [dict(part="training", quantity="edge weight after training, best restart", src=s, dst=t, value=w)
             for s, t, w in zip(trained.src, trained.dst, trained.weight)]
    return values


def neuron_table(d: pd.DataFrame) -> pd.DataFrame:
    """Every neuron's input sum, output and delta: the article's table."""
    neurons = d[d.kind == "neuron"]
    return pd.DataFrame({"neuron": neurons.neuron.astype(int), "kind": neurons.neuron_kind,
                         "layer": neurons.layer.astype(int), "input sum": neurons.input_sum,
                         "output": neurons.output, "delta": neurons.delta}).reset_index(drop=True)


def summarize(df: pd.DataFrame, exp) -> Summary:
    """Headlines: one row with the output, the loss and the gradient check at the point and
    what training reached; every neuron's input sum, output and delta. The tidy table
    holds these and every edge's weight and gradient, before and after training."""
    rows, numbers, titles = [], {}, []
    network, training = (df[df.part == p] for p in ("network", "training"))
    if len(network):
        numbers |= _network(network, rows)
        titles.append(f"the article's network at the training point x = {exp.x:g}, y = {exp.y:g}")
    if len(training):
        numbers |= _training(training, rows)
        titles.append(f"trained on the {exp.target} ({exp.points} points, {exp.steps} steps of lr {exp.lr:g}, "
                      f"{exp.schedule}, batch {exp.batch_size or 'full'})")
    headline = {"; ".join(titles): pd.DataFrame([{k: as_int(v) for k, v in numbers.items()}])}
    if len(network):
        headline["every neuron's input sum, output and delta (backprop neuron by neuron)"] = neuron_table(network)
    table = tidy(rows, keys=KEYS)
    return Summary(headline, table.astype({k: "Int64" for k in KEYS if k in table}))
