"""Local minima and restarts: how often backprop gets stuck, what the stuck runs are,
and how many restarts it takes, against brute force.

Parts (``exp.part``, one or a list; every row has ``part`` and ``kind``):
  restarts    for each hidden activation, every width and restart in one population
              (``nnlab.train``), trained in ``checkpoints`` equal stretches (the
              schedule carried on exactly) and checked for success after each.
              Kind ``restart``, one row per network: task, n, width, hidden, restart,
              function, weights, final_loss, accuracy, solved, grad_norm,
              min_hessian_eig, max_hessian_eig, status, loss_mid, loss_drop,
              weight_norm, weight_norm_mid, solved_mid, first_solved_step,
              nearest_level, dead_units, linear_units (ReLU: hidden units whose
              input sum is <= 0, resp. > 0, at every training point; NA for other
              activations). Kind ``checkpoint``: solved_count of each (hidden,
              width) after each stretch (step), of restarts_run. Kind ``trace``:
              loss and weight_norm of every network (width, restart) after each
              stretch (step; step 0: the initial weights).
              Trained in ``exp.dtype`` (float64: JAX's x64 switched on for the
              part only; the initial weights are the float32 draws, converted).
  bruteforce  every 2-2-1 XOR network with weights on a grid of ``grid_q`` values
              (task xor). Kind ``grid``, one row per hidden activation: grid_q,
              grid_networks, grid_best_loss, grid_solved.

Restart i of width w starts from the key rule's weights (docs/design.md), the same
for every activation and whatever other widths train beside it.

End points (``nnlab.landscape.classify``): ``solved`` (boolean tasks: every output
within 0.5 of its target; article: final loss <= target_loss); else
``saddle_or_plateau`` if the smallest Hessian eigenvalue is clearly negative
(< -hess_tol max(1, |largest|)), the gradient norm exceeds grad_tol, or the loss
still fell by more than the fraction fall_tol over the second half of training;
else ``local_min``; ``diverged`` when nnlab.train flags the run (loss or weights
NaN/inf, or a weight beyond 1e6 in magnitude: what an absurd step size does to
sigmoid units).

Modules: training.py (tasks, networks, training in stretches), restarts.py (the
restarts part), summary.py (the tables), plots.py (the figures); this module holds
the schema, runs the parts and the brute-force grid.
"""

from __future__ import annotations

import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import bruteforce
from experiments.local_minima import restarts
from experiments.local_minima.plots import figures
from experiments.local_minima.summary import summarize
from experiments.local_minima.training import ARTICLE_POINTS, OUTPUT, task_data
from experiments.schema import ConfigError, Field, as_list

__all__ = ["SCHEMA", "check", "compute", "summarize", "figures"]

PARTS = ("restarts", "bruteforce")
TASKS = ("xor", "parity", "random", "article")
HIDDEN = ("sigmoid", "tanh", "relu")
MAX_BITS = 8

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    "task": Field(str, choices=TASKS, help="what the networks learn"),
    "n": Field(int, low=1, high=MAX_BITS, help="input bits of parity and random"),
    "widths": Field(int, low=1, high=128, many=True, help="restarts: hidden widths (boolean tasks)"),
    "hidden": Field(str, choices=HIDDEN, many=True, help="hidden activations"),
    "restarts": Field(int, low=1, high=1_000_000, help="restarts: trainings per activation and width"),
    "steps": Field(int, low=1, high=10_000_000, help="restarts: SGD steps per restart"),
    "lr": Field(float, positive=True, help="restarts: base step size"),
    "schedule": Field(str, choices=tuple(nnlab.SCHEDULES), help="restarts: step-size schedule"),
    "t0": Field(float, positive=True, help="restarts: decay time of the decreasing schedules"),
    "batch_size": Field(int, low=1, high=1_000_000, nullable=True, help="restarts: null for full batch"),
    "init": Field(str, choices=("uniform", "normal"), help="restarts: initial weight distribution"),
    "init_scale": Field(float, positive=True, nullable=True, help="restarts: its scale; null: 1/sqrt(fan-in)"),
    "loss": Field(str, choices=tuple(nnlab.LOSSES), help="training loss (both parts)"),
    "checkpoints": Field(int, low=2, high=1000, help="restarts: stretches of training, checked after each"),
    "grad_tol": Field(float, positive=True, help="restarts: stationary when ||gradient|| <= grad_tol"),
    "hess_tol": Field(float, positive=True, help="restarts: saddle tolerance on the smallest eigenvalue"),
    "fall_tol": Field(float, positive=True, help="restarts: still falling above this relative loss drop"),
    "dtype": Field(str, choices=("float32", "float64"), help="restarts: the float type they train in"),
    "target_loss": Field(float, positive=True, help="restarts, task article: solved at this loss"),
    "grid_q": Field(int, low=2, high=12, help="bruteforce: grid values per weight"),
    "grid_range": Field(float, positive=True, help="bruteforce: the grid spans [-grid_range, grid_range]"),
}


def check(exp) -> None:
    points = ARTICLE_POINTS if exp.task == "article" else 2 ** (2 if exp.task == "xor" else exp.n)
    if exp.batch_size is not None and exp.batch_size > points:
        raise ConfigError(f"exp.batch_size={exp.batch_size}: larger than the {points} training points of "
                          f"task {exp.task}; allowed: null or 1..{points}")
    if exp.steps % exp.checkpoints:
        raise ConfigError(f"exp.steps={exp.steps}: not a multiple of exp.checkpoints={exp.checkpoints}; "
                          f"allowed: a multiple of {exp.checkpoints}")
    if "bruteforce" in as_list(exp.part) and exp.task != "xor":
        raise ConfigError(f"exp.part=bruteforce with exp.task={exp.task}: the grid search is over the 2-2-1 "
                          "XOR network; allowed: exp.task=xor, or exp.part=restarts")


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    chosen = [p for p in PARTS if p in as_list(exp.part)]
    hiddens = list(dict.fromkeys(as_list(exp.hidden)))
    per_hidden = (exp.checkpoints + 1) * ("restarts" in chosen) + ("bruteforce" in chosen)
    with tqdm(total=len(hiddens) * per_hidden, desc="local_minima", disable=not progress) as bar:
        frames = [RUNS[part](exp, seed, hiddens, bar.update) for part in chosen]
    df = pd.concat(frames, ignore_index=True)
    integers = [c for c in ("n", "width", "restart", "weights", "step", "solved_count", "restarts_run",
                            "dead_units", "linear_units", "grid_q", "grid_networks", "grid_solved") if c in df]
    flags = [c for c in ("solved", "solved_mid") if c in df]
    return df.astype({**{c: "Int64" for c in integers}, **{c: "boolean" for c in flags}})


def bruteforce_rows(exp, seed: int, hiddens: list[str], update) -> pd.DataFrame:
    """Every 2-2-1 network with its 9 weights on the grid, on XOR, per hidden activation."""
    x, y, _ = task_data("xor", 2, seed)
    values = bruteforce.grid_values(exp.grid_q, exp.grid_range)
    out = []
    for hidden in hiddens:
        result = bruteforce.grid_search(x, y, 2, values, hidden, OUTPUT, exp.loss)
        update()
        out.append({"part": "bruteforce", "kind": "grid", "task": "xor", "n": 2, "width": 2, "hidden": hidden,
                    "weights": nnlab.count_weights([2, 2, 1]), "grid_q": exp.grid_q,
                    "grid_networks": result.networks, "grid_best_loss": result.best_loss,
                    "grid_solved": result.solved})
    return pd.DataFrame(out)


RUNS = {"restarts": restarts.rows, "bruteforce": bruteforce_rows}
