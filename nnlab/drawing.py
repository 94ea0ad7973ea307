"""Drawing a network as the article does: neurons in layers, edges with their weights."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

COLOURS = {"input": "#7dc97d", "bias": "#7aa6e0", "output": "#e07a7a", "hidden": "#f2f2f2"}


def draw(graph, ax=None, labels: Mapping[Hashable, str] | None = None, weight_format: str = "{:.2f}"):
    """Draw the network: neurons by layer (inputs green, bias blue, outputs red),
    edges as arrows with their weights. ``labels`` adds text under neurons
    (e.g. their outputs). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Circle, FancyArrowPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(2.4 * len(graph.layers()) + 1, 4.5))
    pos = {}
    for l, layer in enumerate(graph.layers()):
        for k, name in enumerate(layer):
            pos[name] = (2.4 * l, 1.3 * ((len(layer) - 1) / 2 - k))
    radius = 0.28
    for (src, dst), w in graph.weights.items():
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        ax.add_patch(FancyArrowPatch(pos[src], pos[dst], arrowstyle="-|>", mutation_scale=12,
                                     shrinkA=radius * 72, shrinkB=radius * 72, color="0.35", lw=1))
        # The weight sits near the neuron the edge enters (it belongs to that neuron),
        # written along the edge so labels of edges into one neuron stay apart.
        t = 0.68
        angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), weight_format.format(float(w)), fontsize=8,
                ha="center", va="center", rotation=angle, rotation_mode="anchor", color="0.1",
                transform_rotates_text=True, bbox=dict(fc="white", ec="none", pad=0.3, alpha=0.9))
    for name, (x, y) in pos.items():
        neuron = graph.neurons[name]
        ax.add_patch(Circle((x, y), radius, fc=COLOURS[neuron.kind], ec="0.2", lw=1.2, zorder=3))
        text = str(name) if neuron.kind in ("input", "bias") else f"$f_{{{name}}}$"
        ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=4)
        if labels and name in labels:
            ax.text(x, y - radius - 0.1, labels[name], ha="center", va="top", fontsize=7, zorder=4)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
