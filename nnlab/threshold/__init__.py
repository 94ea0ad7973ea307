"""Threshold functions, and the least width of one-hidden-layer threshold nets.

A threshold function of n bits is h(x) = [w.x + b >= 0]; truth tables follow
``nnlab.boolean`` (bit i of f is f(x(i))). The package, one module per part:

* ``functions``: every threshold function of n <= 5 bits with integer weights
  (OEIS A000609) and their NPN classes (OEIS A001530);
* ``exact``: the proven least width of every function of n <= 4 bits, with a
  witness network each (``min_widths``, ``verify``);
* ``width2``: width 0, 1, 2 or >= 3 of every NPN class of n <= 5 bits
  (``width_at_most_two``), from the characterization proven there;
* ``errors``: error sets, the chain lemma, and why hidden units may be taken with least
  error sets (``least_errors``), which makes the searches below exhaustive;
* ``width3``, ``width4``: width exactly 3, resp. 4, decided per class (``width_three``,
  ``width_four``), with witnesses;
* ``bounds``: upper bounds from label changes along a direction, lower bounds from
  bichromatic edges and hypercube slicing numbers;
* ``widths``: every stage in turn, the least width of every class (``class_widths``);
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
from .errors import flip_masks, least_errors, maximal_inside
from .width3 import KINDS3, OUTPUTS3, Width3, evaluate3, search3, width_three
from .width4 import NONDECOMPOSABLE4, OUTPUTS4, Width4, budget_search, search4, width_four
from .bounds import (SLICING_CITED, SLICING_VERIFIED, direction_bounds, direction_witness, direction_witnesses,
                     directions, edge_counts, edge_lower_bound, edge_sets, slicing_number)
from .widths import HOW, ClassWidths, class_widths, width_table, witness_functions

__all__ = [
    "apply_generator", "generators", "npn_labels",
    "article_bound", "counting_lower_bound", "log2_cover", "log2_network_functions", "threshold_count_bound",
    "MAX_EXACT_N", "Widths", "min_widths", "verify", "witness_params",
    "A000609", "A001530", "MAX_TABLE_N", "MAX_WEIGHT", "Thresholds", "threshold_classes",
    "threshold_functions", "threshold_index",
    "network_functions", "network_params",
    "Width2", "and_candidates", "width2_by_pairs", "width_at_most_two", "width_counts", "witnesses_hold",
    "flip_masks", "least_errors", "maximal_inside",
    "KINDS3", "OUTPUTS3", "Width3", "evaluate3", "search3", "width_three",
    "NONDECOMPOSABLE4", "OUTPUTS4", "Width4", "budget_search", "search4", "width_four",
    "SLICING_CITED", "SLICING_VERIFIED", "direction_bounds", "direction_witness", "direction_witnesses",
    "directions", "edge_counts", "edge_lower_bound", "edge_sets", "slicing_number",
    "HOW", "ClassWidths", "class_widths", "width_table", "witness_functions",
]
