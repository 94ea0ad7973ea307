"""Depth vs flattening: deep linear nets are one matrix, yet depth can be far cheaper
and changes how gradient descent learns.

Parts (``exp.part``, a name or a list; every row carries a ``part`` column):

* ``flatten``: random deep linear nets (identity activations, biases included)
  through ``nnlab.forward`` against their product matrix (``nnlab.linear.flatten``),
  in float32; parameter counts deep vs the one layer they flatten to.
* ``factorizations``: rank-k maps n -> k -> n (2nk weights vs n^2) and the
  Walsh-Hadamard transform as log2(n) butterfly layers (2n log2 n vs n^2),
  exact constructions checked against the dense matrix; then a butterfly-masked
  deep linear net and a dense one-layer net trained on the transform from data.
* ``multiplication``: the 4-neuron gate of Lin, Tegmark & Rolnick (2017), its
  error vs the input scale lambda (fitted log-log slope); the product of n inputs
  as a deep tree of gates (4(n-1) gate neurons plus carries) vs the narrowest single
  hidden layer that SGD trained to each target error (an upper estimate; every n, width
  and restart in one ``nnlab.train`` call, a population of architectures [n, w, 1]); and
  at matched error the explicit constructions, swept over lambda in float64: the tree,
  a carry-free tree of 2- and 3-input blocks (4(n-1)) and the 2^n-neuron single layer.
* ``dynamics``: full-batch GD on deep linear nets of depth 1..4 from a small,
  balanced init aligned with a linear teacher's modes, and from small random weights
  (``dyn_init``): simulated mode strengths against the closed form of Saxe et al.
  (2014) and the exact GD recursion; and the l4-loss regression of Arora, Cohen &
  Hazan (2018) on ``l4_problems`` problems, depth 1 vs 2 vs 3, each at its best step
  size from a grid, steps to reach the target loss and the speed-up over depth 1.
* ``matmul``: n x n matrix multiplication (n = 2^k) by nets of multiplication gates:
  the naive and Strassen's algorithm, each flat (one hidden layer) and deep (the
  recursion layer by layer); exact counts of gate neurons, all neurons, weights and
  layers beside the closed forms, errors vs A @ B per gate scale; and the least width
  of a square-unit net for 2 x 2 matrix multiplication, searched by training.

One module per finding, each with ``rows(exp, seed, progress)`` (its rows, every one
with ``part`` and ``kind``), ``summary(d, exp)`` (tidy rows and headline tables) and
``figures(d, exp)``: flatten.py, factorizations.py, gate.py and product.py
(multiplication), dynamics.py and l4.py (dynamics), matmul.py; common.py holds what they share.
This module holds the config schema and puts them together (the contract:
``experiments/__init__.py``).
"""

from __future__ import annotations


from nnlab import multiply as MU
from nnlab import square_search as SS
from experiments.deep_vs_flat import dynamics, factorizations, flatten, gate, l4, matmul, product
from experiments.schema import ConfigError, Field, as_list
from experiments.parts import Parts

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures"]

PARTS = ("flatten", "factorizations", "multiplication", "dynamics", "matmul")

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    # flatten
    "flatten_depths": Field(int, low=1, high=64, many=True, help="depths L of the random linear nets"),
    "flatten_max_width": Field(int, low=1, high=4096, help="layer widths drawn uniformly from 1..this"),
    "flatten_trials": Field(int, low=1, high=10_000, help="random nets per depth"),
    # factorizations
    "factor_n": Field(int, low=2, high=4096, many=True, help="sizes n (powers of two) of the exact constructions"),
    "factor_rank": Field(int, low=1, high=4096, many=True, help="ranks k of the n -> k -> n maps (k < n)"),
    "fit_n": Field(int, low=2, high=1024, help="size of the Hadamard transform fitted from data (power of two)"),
    "fit_samples": Field(int, low=1, high=1_000_000, many=True, help="training points (one compile per value)"),
    "fit_restarts": Field(int, low=1, high=100_000),
    "fit_steps": Field(int, low=1, high=10_000_000),
    "fit_lr": Field(float, positive=True, high=100.0),
    "fit_target": Field(float, positive=True, help="relative training loss that counts as fitted"),
    # multiplication
    "gate_activation": Field(str, choices=MU.GATE_ACTIVATIONS, help="the gates' neuron function"),
    "gate_bias": Field(float, nullable=True, help="operating point b; null: the b maximising |f''(b)|"),
    "gate_lambdas": Field(float, positive=True, many=True, help="input scales of the gate sweep"),
    "gate_fit_min": Field(float, positive=True, help="smallest lambda in the slope fit"),
    "gate_fit_max": Field(float, positive=True, help="largest lambda in the slope fit"),
    "product_n": Field(int, low=2, high=12, many=True, help="numbers of inputs multiplied"),
    "product_lambda": Field(float, low=1e-4, high=10.0, help="input scale of the deep tree's gates"),
    "product_hidden": Field(str, choices=("sigmoid", "tanh"), help="activation of the trained shallow nets"),
    "product_widths": Field(float, positive=True, high=16.0, many=True, help="shallow widths tried, as fractions of 2^n"),
    "product_restarts": Field(int, low=1, high=100_000),
    "product_samples": Field(int, low=2, high=1_000_000),
    "product_steps": Field(int, low=1, high=10_000_000),
    "product_batch_size": Field(int, low=1, nullable=True),
    "product_lr": Field(float, positive=True, help="constant step size at width <= 8; times 8/width above"),
    "product_target": Field(float, positive=True, many=True,
                            help="test errors (MSE / variance of the product) to reach; one shallow line each"),
    "product_tree_lambdas": Field(float, low=1e-6, high=10.0, many=True,
                                  help="input scales of the trees' sweep (gates, and 2- and 3-input blocks)"),
    "product_shallow_lambdas": Field(float, low=1e-6, high=10.0, many=True,
                                     help="input scales of the sweep of the 2^n-neuron one-hidden-layer construction"),
    "product_match_targets": Field(float, positive=True, many=True,
                                   help="test errors at which the constructions' neurons are compared (float64)"),
    # dynamics
    "dyn_depths": Field(int, low=1, high=16, many=True),
    "dyn_s": Field(float, positive=True, high=1e3, many=True, help="the teacher's singular values, one mode each"),
    "dyn_u0": Field(float, positive=True, high=1e3, many=True, help="initial strength of every mode"),
    "dyn_lr": Field(float, positive=True, many=True),
    "dyn_steps": Field(int, low=1, high=10_000_000),
    "dyn_records": Field(int, low=1, high=100_000, help="recorded steps (one call of nnlab.train each)"),
    "dyn_samples": Field(int, low=1, high=1_000_000, help="whitened training inputs (>= number of modes)"),
    "dyn_init": Field(str, choices=("aligned", "random"), many=True,
                      help="aligned, balanced start (the closed form is exact) and/or small random weights"),
    "l4_depths": Field(int, low=1, high=16, many=True),
    "l4_problems": Field(int, low=1, high=1000, help="regression problems (draws of features, weights, noise) per seed"),
    "l4_dim": Field(int, low=1, high=10_000),
    "l4_samples": Field(int, low=2, high=1_000_000),
    "l4_noise": Field(float, positive=True, help="std of the label noise (keeps the optimal loss > 0)"),
    "l4_condition": Field(float, low=1, high=1e6, help="ratio of the largest to the smallest feature scale"),
    "l4_init_norm": Field(float, positive=True, help="norm of the shared initial end-to-end weights"),
    "l4_lrs": Field(float, positive=True, many=True, help="step-size grid; each depth keeps its fastest"),
    "l4_steps": Field(int, low=1, high=10_000_000),
    "l4_records": Field(int, low=1, high=100_000),
    "l4_tol": Field(float, positive=True, high=1e3, help="target: loss <= (1 + tol) x optimal loss"),
    # matmul
    "matmul_n": Field(int, low=2, high=16, many=True, help="matrix sizes n (powers of two; dense tensors: n <= 16)"),
    "matmul_lambdas": Field(float, positive=True, many=True, help="gate scales; the error exponent is fitted over all"),
    "matmul_activation": Field(str, choices=MU.GATE_ACTIVATIONS, help="the gates' neuron function (at its best bias)"),
    "matmul_samples": Field(int, low=1, high=100_000, help="random matrix pairs per n (entries U(-1, 1))"),
    "square_widths": Field(int, low=1, high=64, many=True, help="widths r of the square-unit nets [8, r, 4] searched"),
    "square_restarts": Field(int, low=1, high=10_000, help="restarts per width"),
    "square_steps": Field(int, low=0, high=1_000_000, help="optimiser steps"),
    "square_method": Field(str, choices=SS.METHODS, help="lm (Levenberg-Marquardt), lbfgs or gd (step 0.01)"),
    "square_seed": Field(int, low=0, nullable=True, help="seed of the search; null: the run's seed"),
}


def _is_pow2(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


def check(exp) -> None:
    for n in as_list(exp.factor_n):
        if not _is_pow2(n):
            raise ConfigError(f"exp.factor_n={n}: not allowed; allowed: powers of two >= 2")
    if not _is_pow2(exp.fit_n):
        raise ConfigError(f"exp.fit_n={exp.fit_n}: not allowed; allowed: powers of two >= 2")
    if max(as_list(exp.factor_rank)) >= max(as_list(exp.factor_n)):
        raise ConfigError(f"exp.factor_rank={max(as_list(exp.factor_rank))}: not below every n; "
                          f"allowed: ranks k < max(exp.factor_n)={max(as_list(exp.factor_n))}")
    if not exp.gate_fit_min < exp.gate_fit_max:
        raise ConfigError(f"exp.gate_fit_min={exp.gate_fit_min}: not below exp.gate_fit_max={exp.gate_fit_max}; "
                          "allowed: gate_fit_min < gate_fit_max")
    inside = [v for v in as_list(exp.gate_lambdas) if exp.gate_fit_min <= v <= exp.gate_fit_max]
    if len(inside) < 2:
        raise ConfigError(f"exp.gate_lambdas: {len(inside)} values in [gate_fit_min, gate_fit_max]="
                          f"[{exp.gate_fit_min}, {exp.gate_fit_max}]; allowed: at least 2 there")
    if exp.gate_bias is not None and MU.derivatives(exp.gate_activation, exp.gate_bias)[2] == 0:
        raise ConfigError(f"exp.gate_bias={exp.gate_bias}: f''(b) = 0 for {exp.gate_activation}; "
                          "allowed: a bias where the second derivative is nonzero, or null")
    if exp.product_batch_size is not None and exp.product_batch_size > exp.product_samples:
        raise ConfigError(f"exp.product_batch_size={exp.product_batch_size}: larger than exp.product_samples="
                          f"{exp.product_samples}; allowed: null or 1..{exp.product_samples}")
    if exp.dyn_samples < len(as_list(exp.dyn_s)):
        raise ConfigError(f"exp.dyn_samples={exp.dyn_samples}: fewer than the {len(as_list(exp.dyn_s))} modes "
                          "of exp.dyn_s; allowed: >= number of modes (inputs are whitened)")
    if exp.dyn_records > exp.dyn_steps:
        raise ConfigError(f"exp.dyn_records={exp.dyn_records}: more than exp.dyn_steps={exp.dyn_steps}; "
                          f"allowed: 1..{exp.dyn_steps}")
    for n in as_list(exp.matmul_n):
        if not _is_pow2(n):
            raise ConfigError(f"exp.matmul_n={n}: not allowed; allowed: powers of two 2..16")
    if len(set(as_list(exp.matmul_lambdas))) < 2:
        raise ConfigError(f"exp.matmul_lambdas: {len(set(as_list(exp.matmul_lambdas)))} distinct value(s); "
                          "allowed: at least 2 (the error exponent is a fitted slope)")


MODULES = {"flatten": (flatten,), "factorizations": (factorizations,),
           "multiplication": (gate, product), "dynamics": (dynamics, l4), "matmul": (matmul,)}
KEYS = ["depth", "n", "k", "form", "net", "samples", "s", "u0", "lr", "target", "width"]  # of the summary table


RUN = Parts(PARTS, MODULES, KEYS)


compute, summarize, figures = RUN.compute, RUN.summarize, RUN.figures  # the contract (experiments.parts)
