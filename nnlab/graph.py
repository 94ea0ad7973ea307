"""General feed-forward networks, neuron by neuron, as the article draws them.

A ``Graph`` has neurons of four kinds (``input``, ``bias``, ``hidden``,
``output``), each hidden and output neuron with its own function, and directed
edges with weights. Input neurons pass their value on unchanged; bias neurons
always send 1. ``evaluate`` and ``backprop`` work one neuron at a time and keep
every neuron's input sum, output and delta and every edge's gradient, so a
reader can check the article's numbers by hand. ``to_mlp`` turns a layered
graph into masked MLP parameters for the fast batched code; ``draw`` (from
``nnlab.drawing``) pictures it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .activations import get_activation
from .drawing import draw  # noqa: F401  (graph.draw pictures a Graph)
from .losses import get_loss
from .mlp import Params

Name = Hashable
Edge = tuple[Name, Name]
KINDS = ("input", "bias", "hidden", "output")


class LayeringError(ValueError):
    """The graph cannot be divided into layers with edges only to the next layer."""


@dataclass(frozen=True)
class Neuron:
    kind: str
    activation: str = "sigmoid"  # ignored for input and bias neurons

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"neuron kind {self.kind!r} is unknown; allowed: {', '.join(KINDS)}")
        if self.kind in ("hidden", "output"):
            get_activation(self.activation)


@dataclass(frozen=True)
class Graph:
    """Neurons by name (in insertion order) and edge weights by (source, target)."""

    neurons: Mapping[Name, Neuron]
    weights: Mapping[Edge, float] = field(default_factory=dict)

    def __post_init__(self):
        for src, dst in self.weights:
            for end in (src, dst):
                if end not in self.neurons:
                    raise ValueError(f"edge {src}->{dst}: neuron {end} does not exist")
            if self.neurons[dst].kind in ("input", "bias"):
                raise ValueError(
                    f"edge {src}->{dst}: {self.neurons[dst].kind} neurons have no incoming edges"
                )

    @property
    def edges(self) -> list[Edge]:
        return list(self.weights)

    def of_kind(self, *kinds: str) -> list[Name]:
        return [n for n, neuron in self.neurons.items() if neuron.kind in kinds]

    def incoming(self, name: Name) -> list[Name]:
        """The set the article calls the in-neighbours of ``name``."""
        return [src for src, dst in self.weights if dst == name]

    def outgoing(self, name: Name) -> list[Name]:
        return [dst for src, dst in self.weights if src == name]

    def with_weights(self, weights: Mapping[Edge, float]) -> Graph:
        """The same architecture with new weights on the same edges."""
        if set(weights) != set(self.weights):
            raise ValueError("with_weights needs a weight for exactly the graph's edges")
        return Graph(self.neurons, {e: weights[e] for e in self.weights})

    def layers(self) -> list[list[Name]]:
        """The layering: a list of layers, each a list of neuron names.

        Every edge goes from one layer to the next; a bias neuron sits in the
        layer before the neurons it feeds. Raises ``LayeringError`` naming an
        offending edge if there is no such division (or a cycle).
        """
        depth: dict[Name, int] = {}
        for name in _topological_order(self):
            kind = self.neurons[name].kind
            if kind == "bias":
                continue
            preds = [p for p in self.incoming(name) if self.neurons[p].kind != "bias"]
            depth[name] = 0 if kind == "input" else max((depth[p] + 1 for p in preds), default=1)
        for src, dst in self.edges:
            if src in depth and depth[dst] != depth[src] + 1:
                raise LayeringError(
                    f"graph is not layered: edge {src}->{dst} goes from layer "
                    f"{depth[src]} to layer {depth[dst]}; edges may only enter the next layer"
                )
        for name in self.of_kind("bias"):
            targets = self.outgoing(name)
            levels = sorted({depth[t] for t in targets}) or [1]
            if len(levels) > 1:
                far = next(t for t in targets if depth[t] == levels[-1])
                raise LayeringError(
                    f"graph is not layered: bias neuron {name} feeds layers {levels}; "
                    f"edge {name}->{far} must enter the same layer as its other edges"
                )
            depth[name] = levels[0] - 1
        layers: list[list[Name]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for name in self.neurons:
            layers[depth[name]].append(name)
        return layers


def _topological_order(graph: Graph) -> list[Name]:
    """Neurons ordered so every edge goes forward; raises on a cycle."""
    remaining = {n: len(graph.incoming(n)) for n in graph.neurons}
    order = [n for n, k in remaining.items() if k == 0]
    for name in order:  # the list grows as neurons become free
        for dst in graph.outgoing(name):
            remaining[dst] -= 1
            if remaining[dst] == 0:
                order.append(dst)
    if len(order) < len(graph.neurons):
        stuck = next(n for n in graph.neurons if n not in set(order))
        raise LayeringError(f"graph is not feed-forward: a cycle passes through neuron {stuck}")
    return order


class Evaluation(NamedTuple):
    """Every neuron's input sum (not for input/bias neurons) and output."""

    input_sum: dict[Name, jax.Array]
    output: dict[Name, jax.Array]


class Backprop(NamedTuple):
    """The loss on one example, the evaluation, every neuron's delta dL/dz and every edge's gradient."""

    loss: jax.Array
    input_sum: dict[Name, jax.Array]
    output: dict[Name, jax.Array]
    delta: dict[Name, jax.Array]
    grad: dict[Edge, jax.Array]


def evaluate(graph: Graph, x: Sequence[float], weights: Mapping[Edge, float] | None = None) -> Evaluation:
    """Evaluate on one input, layer by layer, one neuron at a time.

    x: one value per input neuron, in the graph's order. ``weights`` (default
    the graph's) may be traced values, so ``jax.grad`` can differentiate this.
    """
    weights = graph.weights if weights is None else weights
    inputs = graph.of_kind("input")
    if len(x) != len(inputs):
        raise ValueError(f"x has {len(x)} values for {len(inputs)} input neurons")
    input_sum, output = {}, {}
    for layer in graph.layers():
        for name in layer:
            neuron = graph.neurons[name]
            if neuron.kind == "input":
                output[name] = jnp.asarray(x[inputs.index(name)], dtype=float)
            elif neuron.kind == "bias":
                output[name] = jnp.asarray(1.0)
            else:
                z = sum(weights[(src, name)] * output[src] for src in graph.incoming(name))
                input_sum[name] = jnp.asarray(z, dtype=float)
                output[name] = get_activation(neuron.activation).fn(input_sum[name])
    return Evaluation(input_sum, output)


SQUARED = get_loss("squared", "identity")  # its value reads only outputs and targets


def _outputs_row(values: Mapping[Name, jax.Array], names: list[Name]) -> jax.Array:
    """One example's values of the output neurons, as a (1, n_out) batch."""
    return jnp.stack([jnp.asarray(values[n], dtype=float) for n in names])[None]


def example_loss(graph: Graph, x, y, weights=None) -> jax.Array:
    """Squared error of one example (``nnlab.losses``, a batch of one): sum over
    output neurons of (output - y)^2."""
    ev = evaluate(graph, x, weights)
    outputs = graph.of_kind("output")
    return SQUARED.value(_outputs_row(ev.input_sum, outputs), _outputs_row(ev.output, outputs), jnp.asarray([y], float))


def backprop(graph: Graph, x: Sequence[float], y: Sequence[float]) -> Backprop:
    """Backpropagation on one example (x, y), neuron by neuron, in three steps.

    The loss is the squared error ``example_loss``; y has one value per output neuron.
    """
    ev = evaluate(graph, x)
    outputs = graph.of_kind("output")
    if len(y) != len(outputs):
        raise ValueError(f"y has {len(y)} values for {len(outputs)} output neurons")
    delta: dict[Name, jax.Array] = {}

    def derivative(name):
        f = get_activation(graph.neurons[name].activation)
        return f.grad(ev.input_sum[name], ev.output[name])

    # Step 1: the output neurons, dL/dz = dL/da * f'(z), from the loss (nnlab.losses).
    for name, target in zip(outputs, y):
        z, a, t = (jnp.reshape(jnp.asarray(v, dtype=float), (1, 1)) for v in (ev.input_sum[name], ev.output[name], target))
        delta[name] = SQUARED.delta(z, a, t, graph.neurons[name].activation)[0, 0]
    # Step 2: every earlier layer from the one after it, by the chain rule summed
    # over the edges leaving each neuron.
    for layer in reversed(graph.layers()[1:-1]):
        for name in layer:
            if graph.neurons[name].kind in ("hidden", "output") and name not in delta:
                back = sum(graph.weights[(name, k)] * delta[k] for k in graph.outgoing(name))
                delta[name] = back * derivative(name)
    # Step 3: each edge's gradient is the delta it enters times the output it leaves.
    grad = {(src, dst): delta[dst] * ev.output[src] for src, dst in graph.edges}
    loss = SQUARED.value(_outputs_row(ev.input_sum, outputs), _outputs_row(ev.output, outputs), jnp.asarray([y], float))
    return Backprop(loss, ev.input_sum, ev.output, delta, grad)


class MLPForm(NamedTuple):
    """A layered graph as masked MLP parameters (see ``nnlab.mlp``).

    units[l]: names of the non-bias neurons of layer l, in the order of the
    columns of W (rows of the next W). mask: 1 where the graph has the edge.
    """

    params: Params
    mask: Params
    hidden: tuple[str, ...]
    output: str
    units: list[list[Name]]
    biases: list[Name | None]

    @property
    def sizes(self) -> list[int]:
        return [len(u) for u in self.units]

    def edge_values(self, tree: Params) -> dict[Edge, jax.Array]:
        """Read a params-shaped tree (weights, gradients) back as values per edge."""
        values = {}
        for l, layer in enumerate(tree):
            for j, dst in enumerate(self.units[l + 1]):
                for i, src in enumerate(self.units[l]):
                    if self.mask[l]["W"][i, j]:
                        values[(src, dst)] = layer["W"][i, j]
                if self.mask[l]["b"][j]:
                    values[(self.biases[l], dst)] = layer["b"][j]
        return values


def to_mlp(graph: Graph) -> MLPForm:
    """Masked MLP parameters computing exactly what the graph computes.

    Needs a layered graph with inputs in layer 0, outputs only in the last
    layer, at most one bias neuron and one activation per layer.
    """
    layers = graph.layers()
    kinds = [[graph.neurons[n].kind for n in layer] for layer in layers]
    if any(k not in ("input", "bias") for k in kinds[0]):
        raise ValueError("to_mlp: the first layer may hold only input and bias neurons")
    if any(k != "output" for k in kinds[-1] if k != "bias") or any(
        "output" in k for k in kinds[:-1]
    ):
        raise ValueError("to_mlp: output neurons must form the last layer")
    units = [[n for n in layer if graph.neurons[n].kind != "bias"] for layer in layers]
    biases = []
    for l, layer in enumerate(layers[:-1]):
        found = [n for n in layer if graph.neurons[n].kind == "bias"]
        if len(found) > 1:
            raise ValueError(f"to_mlp: layer {l} has {len(found)} bias neurons, at most 1 allowed")
        biases.append(found[0] if found else None)
    activations = []
    for l, layer_units in enumerate(units[1:], start=1):
        names = {graph.neurons[n].activation for n in layer_units}
        if len(names) != 1:
            raise ValueError(f"to_mlp: layer {l} mixes activations {sorted(names)}; one per layer")
        activations.append(names.pop())
    params, mask = [], []
    for l in range(len(layers) - 1):
        src_index = {n: i for i, n in enumerate(units[l])}
        W = [[0.0] * len(units[l + 1]) for _ in units[l]]
        M = [[0.0] * len(units[l + 1]) for _ in units[l]]
        b, mb = [0.0] * len(units[l + 1]), [0.0] * len(units[l + 1])
        for j, dst in enumerate(units[l + 1]):
            for src in graph.incoming(dst):
                if src == biases[l]:
                    b[j], mb[j] = graph.weights[(src, dst)], 1.0
                else:
                    i = src_index[src]
                    W[i][j], M[i][j] = graph.weights[(src, dst)], 1.0
        params.append({"W": jnp.asarray(W, dtype=float), "b": jnp.asarray(b, dtype=float)})
        mask.append({"W": jnp.asarray(M, dtype=float), "b": jnp.asarray(mb, dtype=float)})
    return MLPForm(params, mask, tuple(activations[:-1]), activations[-1], units, biases)


def from_mlp(form: MLPForm, graph: Graph, params: Params) -> Graph:
    """The graph with its weights replaced by those in ``params`` (e.g. after training)."""
    return graph.with_weights({e: float(v) for e, v in form.edge_values(params).items()})


ARTICLE_EDGES: tuple[Edge, ...] = (
    (1, 3), (2, 3), (1, 4), (2, 4),
    (3, 6), (4, 6), (5, 6), (4, 7), (5, 7),
    (6, 9), (7, 9), (8, 9),
)


def article_network(
    weights: Mapping[Edge, float] | None = None,
    key: jax.Array | None = None,
    activation: str = "sigmoid",
    output: str = "sigmoid",
) -> Graph:
    """The article's running example: 9 neurons, 12 edges, two hidden layers.

    Input neuron 1 and bias neuron 2 feed hidden neurons 3 and 4; 3, 4 and bias 5
    feed hidden 6 and 7 (3 feeds only 6, 4 feeds both); 6, 7 and bias 8 feed
    output 9. Weights are ``weights``, or N(0, 1) draws from ``key`` (default key 0).
    """
    neurons = {
        1: Neuron("input"), 2: Neuron("bias"),
        3: Neuron("hidden", activation), 4: Neuron("hidden", activation), 5: Neuron("bias"),
        6: Neuron("hidden", activation), 7: Neuron("hidden", activation), 8: Neuron("bias"),
        9: Neuron("output", output),
    }
    if weights is None:
        key = jax.random.key(0) if key is None else key
        draws = jax.random.normal(key, (len(ARTICLE_EDGES),))
        weights = {e: float(w) for e, w in zip(ARTICLE_EDGES, draws)}
    return Graph(neurons, {e: float(weights[e]) for e in ARTICLE_EDGES})
