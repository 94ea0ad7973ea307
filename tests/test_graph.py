"""General feed-forward graphs: layering, neuron-by-neuron backprop, MLP form, drawing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnlab
from nnlab import graph as G


def test_article_network_has_the_twelve_edges_and_four_layers():
    net = G.article_network()
    assert sorted(net.edges) == sorted([(1, 3), (2, 3), (1, 4), (2, 4), (3, 6), (4, 6), (5, 6),
                                        (4, 7), (5, 7), (6, 9), (7, 9), (8, 9)])
    assert net.layers() == [[1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert net.outgoing(3) == [6] and net.outgoing(4) == [6, 7]
    assert net.of_kind("bias") == [2, 5, 8]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_neuron_by_neuron_evaluation_equals_the_masked_mlp(seed):
    net = G.article_network(key=jax.random.key(seed), activation="tanh")
    form = G.to_mlp(net)
    xs = jnp.linspace(-2, 2, 7)[:, None]
    out = nnlab.forward(form.params, xs, form.hidden, form.output, form.mask)
    for x, o in zip(xs[:, 0], out[:, 0]):
        np.testing.assert_allclose(G.evaluate(net, [x]).output[9], o, rtol=1e-12)


def test_edge_gradients_equal_jax_grad_and_the_mlp_backprop():
    net = G.article_network(key=jax.random.key(4))
    x, y = [0.3], [0.9]
    bp = G.backprop(net, x, y)
    oracle = jax.grad(lambda w: G.example_loss(net, x, y, w))(dict(net.weights))
    form = G.to_mlp(net)
    loss, grads = nnlab.loss_and_grad(form.params, jnp.array([x]), jnp.array([y]), form.hidden,
                                      form.output, mask=form.mask)
    by_mlp = form.edge_values(grads)
    np.testing.assert_allclose(bp.loss, loss, rtol=1e-12)
    for edge in net.edges:
        np.testing.assert_allclose(bp.grad[edge], oracle[edge], rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(bp.grad[edge], by_mlp[edge], rtol=1e-10, atol=1e-300)
    # neuron 4 feeds 6 and 7: its delta sums both paths (the article's advanced chain rule)
    a4 = bp.output[4]
    expected = (net.weights[(4, 6)] * bp.delta[6] + net.weights[(4, 7)] * bp.delta[7]) * a4 * (1 - a4)
    np.testing.assert_allclose(bp.delta[4], expected, rtol=1e-12)


def test_a_graph_that_skips_a_layer_names_the_offending_edge():
    net = G.Graph({"A": G.Neuron("input"), "B": G.Neuron("hidden"), "C": G.Neuron("output")},
                  {("A", "B"): 1.0, ("A", "C"): 1.0, ("B", "C"): 1.0})
    with pytest.raises(G.LayeringError, match="edge A->C goes from layer 0 to layer 2"):
        net.layers()


def test_cycles_and_edges_into_bias_neurons_are_rejected():
    with pytest.raises(G.LayeringError, match="cycle"):
        G.Graph({"a": G.Neuron("input"), "h": G.Neuron("hidden"), "k": G.Neuron("hidden")},
                {("a", "h"): 1.0, ("h", "k"): 1.0, ("k", "h"): 1.0}).layers()
    with pytest.raises(ValueError, match="bias neurons have no incoming edges"):
        G.Graph({"a": G.Neuron("input"), "b": G.Neuron("bias")}, {("a", "b"): 1.0})


def test_mlp_round_trip_keeps_weights():
    net = G.article_network(key=jax.random.key(9))
    form = G.to_mlp(net)
    assert form.sizes == [1, 2, 2, 1]
    assert nnlab.count_weights(form.params, form.mask) == 12
    back = G.from_mlp(form, net, form.params)
    assert back.weights == pytest.approx(net.weights)


def test_drawing_colours_inputs_bias_and_outputs():
    import matplotlib.pyplot as plt

    ax = G.draw(G.article_network())
    colours = {tuple(np.round(p.get_facecolor()[:3], 3)) for p in ax.patches if hasattr(p, "radius")}
    assert len(colours) == 4  # green input, blue bias, red output, plain hidden
    assert len([t for t in ax.texts if t.get_text().replace(".", "").replace("-", "").isdigit()]) >= 12
    plt.close(ax.figure)
