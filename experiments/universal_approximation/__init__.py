"""Universal approximation: one hidden layer approximates any Lipschitz function, at a price
exponential in the dimension; narrow deep ReLU nets approximate too, above a critical width.

Targets: sums of Gaussian bumps on [0, 1]^d with certified Lipschitz constant L in the max
norm (``nnlab.targets.bumps``), and for the narrow part also a closed curve in the plane
(``nnlab.targets.loop``). Errors are measured on midpoint grids of [0, 1]^d: sup (largest
pointwise error) and L2 (root mean square), in the targets' own units.

Parts (``exp.part``, a name or a list; every row has ``part`` and ``kind``):

* ``construction``: the textbook networks (Shalev-Shwartz and Ben-David 2014, section 20.3
  and exercise 20.1) built by ``nnlab.approximation`` for each d and eps: one hidden layer of
  thresholds (or steep sigmoids) for d = 1, two hidden layers (the cells) for d >= 2;
  hidden neurons against the theoretical (L/eps)^d, sup error verified on a grid.
* ``width``: single-hidden-layer sigmoid and ReLU nets trained on the same targets, d = 1, 2,
  3: L2 and sup error vs width, best of restarts, fitted slope, and the construction's
  neurons at the same sup error ("training found": never a statement of what a width can
  express).
* ``narrow``: ReLU nets of width d + e and depth 1..D_max on bump1, bump2 and loop: error vs
  depth, the fraction of runs with a dead layer, the hand-built width-(1 + d_out)
  interpolant (``nnlab.narrow``) whose error falls as L / (2 (D + 1)) with depth alone, and
  the exact floors of width 1.

One module per part, each with ``rows(exp, seed, progress)``, ``summary(d, exp)`` and
``figures(d, exp)``; common.py holds what they share. This module holds the schema and puts
them together (the contract: ``experiments/__init__.py``; docs/universal_approximation.md).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from experiments.schema import ConfigError, Field, as_list
from experiments.summary import Summary, tidy
from experiments.universal_approximation import construction, narrow, width

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures"]

PARTS = ("construction", "width", "narrow")

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    # targets
    "lipschitz": Field(float, positive=True, high=1e3, help="certified Lipschitz constant L of every target (max norm)"),
    "bumps": Field(int, low=1, high=64, help="Gaussian bumps per target"),
    "bump_width": Field(float, positive=True, high=10.0, help="bump widths rho in [w, 1.5 w], times sqrt(d)"),
    "target_seed": Field(int, low=0, help="which member of the family (not the run's seed)"),
    "test_points": Field(int, low=16, high=1 << 24, help="about this many test grid points in every dimension"),
    # construction
    "cons_d": Field(int, low=1, high=12, many=True, help="input dimensions of the constructions"),
    "cons_eps": Field(float, low=1e-6, high=1e3, many=True, help="sup errors to guarantee (each < L/2)"),
    "cons_hidden": Field(str, choices=("step", "sigmoid"), many=True, help="threshold units; sigmoid: d = 1 only"),
    "cons_tail": Field(float, positive=True, high=1.0, help="the steep sigmoids' tail, a fraction of L/(2n)"),
    "cons_grid": Field(int, low=2, high=1024, help="verification grid points per cell per axis (down to 2 if costly)"),
    "cons_max_work": Field(float, positive=True, help="grid points x neurons above which a net is counted, not built"),
    # width
    "width_d": Field(int, low=1, high=8, many=True),
    "widths": Field(int, low=1, high=1 << 16, many=True),
    "width_hidden": Field(str, choices=("sigmoid", "relu", "tanh"), many=True),
    "width_restarts": Field(int, low=1, high=100_000),
    "width_samples": Field(int, low=1, high=1_000_000, help="random training points in [0, 1]^max(width_d)"),
    "width_steps": Field(int, low=1, high=10_000_000, help="full-batch gradient descent steps"),
    "width_lr_sigmoid": Field(float, positive=True, high=1e3, help="base step size of sigmoid (and tanh) nets"),
    "width_lr_relu": Field(float, positive=True, high=1e3, help="base step size of ReLU nets"),
    "width_lr_width": Field(float, positive=True, high=1e6, help="lr(w) = base / (1 + w / this)"),
    # narrow
    "narrow_targets": Field(str, choices=tuple(narrow.TARGETS), many=True),
    "narrow_extra": Field(int, low=0, high=64, many=True, help="widths d + these"),
    "narrow_depths": Field(int, low=1, high=256, many=True, help="hidden layers; one nnlab.train call each"),
    "narrow_restarts": Field(int, low=1, high=100_000),
    "narrow_samples": Field(int, low=3, high=1_000_000, help="training points: a Fibonacci lattice of >= this many"),
    "narrow_steps": Field(int, low=1, high=10_000_000),
    "narrow_lr": Field(float, positive=True, high=1e3),
    "narrow_construction_depths": Field(int, low=1, high=100_000, many=True, help="depths of the hand-built nets"),
}


def check(exp) -> None:
    big = [e for e in as_list(exp.cons_eps) if not e < exp.lipschitz / 2]
    if big:
        raise ConfigError(f"exp.cons_eps={big[0]}: not below L/2 = {exp.lipschitz / 2:g} (a constant does as well); "
                          f"allowed: eps < exp.lipschitz / 2")
    if "sigmoid" in as_list(exp.cons_hidden) and 1 not in as_list(exp.cons_d):
        raise ConfigError("exp.cons_hidden=sigmoid: the steep-sigmoid construction is for d = 1, not in exp.cons_d; "
                          "allowed: add 1 to exp.cons_d, or cons_hidden=step")


MODULES = {"construction": construction, "width": width, "narrow": narrow}
KEYS = ["d", "eps", "hidden", "target", "width", "depth"]  # of the summary table


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    parts = [p for p in PARTS if p in as_list(exp.part)]
    return pd.DataFrame([row for p in parts for row in MODULES[p].rows(exp, seed, progress)])


def summarize(df: pd.DataFrame, exp) -> Summary:
    """One run's headline tables (per part) and the tidy table of every quantity."""
    rows, headline = [], {}
    for part in PARTS:
        if (df.part == part).any():
            found, tables = MODULES[part].summary(df[df.part == part], exp)
            rows += found
            headline |= tables
    return Summary(headline, tidy(rows, keys=KEYS))


def figures(df: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Each part's figures, by file name, from the rows of one seed or several."""
    figs = {}
    if (df.part == "construction").any():
        figs |= construction.figures(df[df.part == "construction"], exp, df[df.part == "width"])
    for part in ("width", "narrow"):
        if (df.part == part).any():
            figs |= MODULES[part].figures(df[df.part == part], exp)
    return figs
