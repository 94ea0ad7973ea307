"""Depth separation: functions a deep relu net computes with a handful of neurons that a
shallow one cannot, hierarchical targets, and the linear pieces of random nets.

Parts (``exp.part``, a name or a list; every row carries ``part`` and ``kind``):

* ``sawtooth`` (Telgarsky 2015 arXiv:1509.08101; 2016 COLT): tent^k as k layers of 2
  relu units, verified exactly (pieces by ``nnlab.pieces.count_pieces``, values at every
  breakpoint); the provable lower bound and the attained upper bound on the L2 error of
  any shallow relu net of width w (``nnlab.sawtooth.best_pl_error`` at N = w + 1 and
  N = w pieces); the classification form (2^k alternating points); shallow nets trained
  on tent^k (one population call: every k, width and restart) as upper estimates; and
  SGD on the deep width-2 net from random weights (one call per depth): how often it
  finds tent^k. Modules sawtooth.py (exact), shallow.py, trainability.py.
* ``compositional`` (Mhaskar, Liao & Poggio 2017; Poggio et al. 2017): a binary-tree
  compositional target on [-1, 1]^d (``nnlab.compositional``) fitted at matched
  parameter counts by a shallow dense net, a deep net whose connections follow the tree
  (a mask) and a deep dense net; test error vs parameters, fitted slopes beside the
  theory's rates. Module compositional.py.
* ``regions`` (Hanin & Rolnick 2019): exact piece counts of random relu nets at
  initialisation by depth and width, beside the construction's 2^k. Module regions.py.

Each module has ``rows(exp, seed, progress)``, ``summary(d, exp)`` (tidy rows and
headline tables) and ``figures(d, exp)``; common.py holds what they share. This module
holds the config schema and puts them together (the contract: ``experiments/__init__.py``).
"""

from __future__ import annotations


from experiments.depth_separation import compositional, regions, sawtooth, shallow, trainability
from experiments.schema import ConfigError, Field, as_list
from experiments.parts import Parts

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures"]

PARTS = ("sawtooth", "compositional", "regions")

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    # sawtooth
    "verify_max_k": Field(int, low=1, high=22, help="verify the deep construction for k = 1..this"),
    "bound_k": Field(int, low=1, high=14, many=True, help="k of the lower-bound curves"),
    "bound_points": Field(int, low=2, high=200, help="log-spaced widths per bound curve"),
    "bound_targets": Field(float, low=0, high=1, many=True,
                           help="relative L2 errors for the least-width table (open interval (0, 1))"),
    "grid_per_piece": Field(int, low=1, high=1024, help="training grid: points per piece of tent^k"),
    "shallow_k": Field(int, low=1, high=12, many=True, nullable=True,
                       help="k fitted by the trained shallow nets; null: train none"),
    "shallow_widths": Field(int, low=1, high=4096, many=True),
    "shallow_restarts": Field(int, low=1, high=100_000),
    "shallow_steps": Field(int, low=1, high=10_000_000),
    "shallow_lr": Field(float, positive=True),
    "shallow_batch_size": Field(int, low=1, nullable=True),
    "deep_k": Field(int, low=1, high=16, many=True, nullable=True,
                    help="depths of the deep width-2 nets trained by SGD; null: train none"),
    "deep_restarts": Field(int, low=1, high=100_000),
    "deep_steps": Field(int, low=1, high=10_000_000),
    "deep_lr": Field(float, positive=True),
    "deep_batch_size": Field(int, low=1, nullable=True),
    "success_threshold": Field(float, positive=True, help="relative L2 error that counts as found"),
    # compositional
    "comp_dim": Field(int, choices=(4, 8, 16), help="input dimension d (a power of two)"),
    "comp_params": Field(int, low=10, high=10_000_000, many=True, help="target parameter counts"),
    "comp_nets": Field(str, choices=compositional.NETS, many=True),
    "comp_deep_layers": Field(int, low=2, high=16, help="hidden layers of the deep dense net"),
    "comp_samples": Field(int, low=1, high=10_000_000, help="training points"),
    "comp_test": Field(int, low=1, high=10_000_000, help="test points"),
    "comp_restarts": Field(int, low=1, high=100_000),
    "comp_lrs": Field(float, positive=True, high=1e3, many=True, help="every net trains at each step size"),
    "comp_steps": Field(int, low=1, high=10_000_000),
    "comp_batch_size": Field(int, low=1, nullable=True),
    "comp_smoothness": Field(float, positive=True, help="m of the theory's rates drawn beside the fits"),
    # regions
    "regions_depths": Field(int, low=1, high=64, many=True),
    "regions_widths": Field(int, low=1, high=1024, many=True),
    "regions_draws": Field(int, low=1, high=100_000, help="random nets per depth and width"),
    "regions_lo": Field(float, help="count pieces of the random nets on [regions_lo, regions_hi]"),
    "regions_hi": Field(float),
    "regions_init_scale": Field(float, positive=True, nullable=True,
                                help="std of the initial weights; null: 1/sqrt(fan_in)"),
}


def _batch(exp, key: str, points: int, where: str) -> None:
    size = exp[key]
    if size is not None and size > points:
        raise ConfigError(f"exp.{key}={size}: more than the {points} points of {where}; allowed: null or 1..{points}")


def check(exp) -> None:
    for t in as_list(exp.bound_targets):
        if not 0 < t < 1:
            raise ConfigError(f"exp.bound_targets={t}: not allowed; allowed: relative errors strictly between 0 and 1")
    if exp.shallow_k is not None:
        _batch(exp, "shallow_batch_size", 2 ** max(as_list(exp.shallow_k)) * exp.grid_per_piece + 1,
               "the shallow grid")
    if exp.deep_k is not None:
        _batch(exp, "deep_batch_size", 2 ** min(as_list(exp.deep_k)) * exp.grid_per_piece + 1,
               f"the grid of k={min(as_list(exp.deep_k))}")
    _batch(exp, "comp_batch_size", exp.comp_samples, "exp.comp_samples")
    if "compositional" in as_list(exp.part) and len(set(as_list(exp.comp_params))) < 2:
        raise ConfigError(f"exp.comp_params={exp.comp_params}: one parameter count gives no slope; "
                          "allowed: at least 2 distinct counts")
    if not exp.regions_lo < exp.regions_hi:
        raise ConfigError(f"exp.regions_lo={exp.regions_lo}: not below exp.regions_hi={exp.regions_hi}; "
                          "allowed: regions_lo < regions_hi")


MODULES = {"sawtooth": (sawtooth, shallow, trainability), "compositional": (compositional,), "regions": (regions,)}
KEYS = ["k", "width", "target", "net", "params", "depth"]  # of the summary table


RUN = Parts(PARTS, MODULES, KEYS, clean_columns=True)


compute, summarize, figures = RUN.compute, RUN.summarize, RUN.figures  # the contract (experiments.parts)
