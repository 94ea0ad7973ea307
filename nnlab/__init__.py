"""nnlab: classic claims about neural networks, settled in JAX.

Networks are pure functions over parameter pytrees (``init_mlp``, ``forward``),
trained by hand-derived backpropagation (``loss_and_grad``) and SGD with many
restarts, and architectures of many sizes, in one compiled program (``train``,
``nnlab.population``). General feed-forward graphs, the
article's picture of a network, live in ``nnlab.graph``.
"""

from . import graph, population, targets
from .activations import ACTIVATIONS, Activation, get_activation
from .backprop import backward, loss_and_grad
from .losses import LOSSES, get_loss
from .mlp import apply_mask, count_weights, forward, forward_layers, init_mlp
from .population import Population
from .schedules import SCHEDULES, step_size
from .train import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "graph", "population", "targets", "Population",
    "ACTIVATIONS", "Activation", "get_activation",
    "backward", "loss_and_grad",
    "LOSSES", "get_loss",
    "apply_mask", "count_weights", "forward", "forward_layers", "init_mlp",
    "SCHEDULES", "step_size",
    "TrainResult", "train",
    "__version__",
]
