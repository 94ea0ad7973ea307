"""How wide must one hidden layer be to implement a boolean function of n bits?

Parts (``exp.part``, one or a list; every row has a ``part`` column):
  construction  the textbook network (one ``step`` unit per true input, output OR),
                run on all 2^n inputs. Rows: n, family, function, width, correct.
  exact         the proven least width of every function of n <= 4 bits for threshold
                units (``nnlab.threshold.min_widths``), each with a witness network
                run on all inputs (kind function: n, function, min_width, proven, verified,
                npn_class); for n = 5, per NPN class (kind class: npn_class, functions,
                min_width, width_lower, width_upper, the witness network), splittable
                into shards (exp.shard of exp.shards).
  learned       sigmoid nets trained by ``nnlab.train`` (squared loss, full batch) at
                every width; solved = 100% accuracy at output threshold 1/2. Rows: n,
                family, function, width, restart, final_loss, accuracy, solved, diverged,
                threshold_width (the exact minimum, n <= 4).
  theory        construction width, counting lower bound, the article's count, and
                Setiono's floor(n/2) + 1 sigmoid units for parity (``nnlab.parity``), its
                witness network run on all 2^n inputs. Rows: n, bound, width; the setiono
                row also verified, margin (float64), verified_float32, margin_float32
                (margin: min |output - 1/2|), output_weight_max.
Functions are hex truth tables (``nnlab.boolean.to_hex``). Random functions of n
bits are drawn from seed and n, so every part of a run sees the same ones.

Modules: parts.py (construction, exact, theory), learned.py (training), summary.py
(the tables), plots.py (the figures); this module holds the schema and runs the parts.
"""

from __future__ import annotations

import pandas as pd
from tqdm import tqdm

from nnlab import boolean as B
from nnlab import threshold as T
from experiments.boolean_width import learned, parts
from experiments.boolean_width.plots import figures
from experiments.boolean_width.summary import summarize
from experiments.boolean_width.verify import verify
from experiments.schema import ConfigError, Field, as_list

__all__ = ["SCHEMA", "RENAMED", "POOLED_KEYS", "check", "compute", "summarize", "figures", "verify"]

PARTS = ("construction", "exact", "learned", "theory")
MAX_N = {"construction": B.MAX_N, "exact": T.MAX_TABLE_N, "learned": learned.MAX_N, "theory": B.MAX_N}
ALL_MAX_N = 3  # family "all": every function, n <= 3

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    "n": Field(int, low=1, high=B.MAX_N, many=True, help="input bits"),
    "family": Field(str, choices=B.FAMILIES, many=True, help="functions for construction and learned"),
    "functions": Field(int, low=1, high=10_000, help="random functions per n"),
    "widths": Field(int, low=1, high=64, many=True, help="learned: hidden widths"),
    "restarts": Field(int, low=1, high=10_000, help="learned: trainings per function and width"),
    "steps": Field(int, low=1, high=1_000_000, help="learned: full-batch gradient steps"),
    "lr": Field(float, positive=True, help="learned: step size"),
    "shortcuts": Field(bool, help="exact: allow input-to-output edges (n <= 4)"),
    "shard": Field(int, low=0, high=1023, help="exact, n = 5: which share of the NPN classes this job computes"),
    "shards": Field(int, low=1, high=1024, help="exact, n = 5: how many shares the classes are split into"),
}
POOLED_KEYS = ("shard",)  # runs that differ only in these are shares of one result (analyze merges them)
RENAMED = {"mode": "part"}


def check(exp) -> None:
    chosen, ns = as_list(exp.part), parts.ns(exp)
    for part in chosen:
        if max(ns) > MAX_N[part]:
            raise ConfigError(f"exp.n={max(ns)}: too large for part {part}; allowed: n <= {MAX_N[part]}")
    if not exp.shard < exp.shards:
        raise ConfigError(f"exp.shard={exp.shard}: not below exp.shards={exp.shards}; allowed: 0..{exp.shards - 1}")
    if exp.shards > 1 and (set(chosen) != {"exact"} or ns != [T.MAX_TABLE_N]):
        raise ConfigError(f"exp.shards={exp.shards}: shards split the NPN classes of n = {T.MAX_TABLE_N}; "
                          f"allowed: exp.shards=1, or exp.part=exact with exp.n={T.MAX_TABLE_N}")
    if "exact" in chosen and exp.shortcuts and max(ns) > T.MAX_EXACT_N:
        raise ConfigError(f"exp.shortcuts=true with exp.n={max(ns)}: input-to-output edges are searched for "
                          f"n <= {T.MAX_EXACT_N}; allowed: exp.shortcuts=false, or exp.n <= {T.MAX_EXACT_N}")
    families = as_list(exp.family)
    uses_family = {"construction", "learned"} & set(chosen)
    if uses_family and "all" in families and max(ns) > ALL_MAX_N:
        raise ConfigError(f"exp.family=all with exp.n={max(ns)}: every function is only enumerated "
                          f"for n <= {ALL_MAX_N}; allowed: parity, majority, random")
    if uses_family and "random" in families and exp.functions > 2 ** (2 ** min(ns)):
        raise ConfigError(f"exp.functions={exp.functions}: more than the {2 ** (2 ** min(ns))} functions "
                          f"of n={min(ns)} bits; allowed: 1..{2 ** (2 ** min(ns))}")


RUNS = {"construction": parts.construction, "exact": parts.exact, "theory": parts.theory}


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    chosen = [p for p in PARTS if p in as_list(exp.part)]
    units = [(p, n) for p in chosen if p != "learned" for n in parts.ns(exp)] + [("learned", None)] * (
        "learned" in chosen)
    frames = []
    for part, n in tqdm(units, desc="boolean_width", disable=not progress):
        if part == "learned":
            frames.append(learned.rows(exp, seed))
        else:
            frames.append(parts.exact(exp, n, seed, progress) if part == "exact" else RUNS[part](exp, n, seed))
    df = pd.concat(frames, ignore_index=True)
    integers = [c for c in ("n", "width", "restart", "min_width", "threshold_width") if c in df]
    return df.astype({c: "Int64" for c in integers})  # integers, missing where a part has no such column
