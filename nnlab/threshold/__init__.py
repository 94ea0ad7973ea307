"""Threshold functions, and the least width of one-hidden-layer threshold nets.

A threshold function of n bits is h(x) = [w.x + b >= 0]; truth tables follow
``nnlab.boolean`` (bit i of f is f(x(i))). The package, one module per part:

* ``functions``: every threshold function of n <= 5 bits with integer weights
  (OEIS A000609) and their NPN classes (OEIS A001530);
* ``exact``: the proven least width of every function of n <= 4 bits, with a
  witness network each (``min_widths``, ``verify``);
* ``width2``: width 0, 1, 2 or >= 3 of every NPN class of n <= 5 bits
  (``width_at_most_two``), from the characterization proven there;
* ``networks``: threshold networks given by hidden truth tables, as nnlab params;
* ``counting``: counting lower bounds on the width that every function needs.

The NPN group itself (transforms, canonical forms, all classes of n <= 5 bits) is in
``nnlab.npn`` and ``nnlab.npn_classes``; ``generators``, ``apply_generator`` and
``npn_labels`` are re-exported here.
"""

from ..npn import apply_generator, generators, npn_labels
from .counting import (article_bound, counting_lower_bound, log2_cover, log2_network_functions,
                       threshold_count_bound)
from .exact import MAX_EXACT_N, Widths, min_widths, verify, witness_params
from .functions import (A000609, A001530, MAX_TABLE_N, MAX_WEIGHT, Thresholds, threshold_classes,
                        threshold_functions, threshold_index)
from .networks import network_functions, network_params
from .width2 import Width2, and_candidates, width2_by_pairs, width_at_most_two, width_counts, witnesses_hold

__all__ = [
    "apply_generator", "generators", "npn_labels",
    "article_bound", "counting_lower_bound", "log2_cover", "log2_network_functions", "threshold_count_bound",
    "MAX_EXACT_N", "Widths", "min_widths", "verify", "witness_params",
    "A000609", "A001530", "MAX_TABLE_N", "MAX_WEIGHT", "Thresholds", "threshold_classes",
    "threshold_functions", "threshold_index",
    "network_functions", "network_params",
    "Width2", "and_candidates", "width2_by_pairs", "width_at_most_two", "width_counts", "witnesses_hold",
]
