"""The parts of boolean_width that build networks instead of training them:
construction, exact and theory. Each returns the part's rows for n bits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import boolean as B
from nnlab import parity as SP
from nnlab import population as P
from nnlab import threshold as T
from nnlab.npn_classes import npn_classes
from experiments.schema import as_list


def ns(exp) -> list[int]:
    return sorted({int(n) for n in as_list(exp.n)})


def functions(exp, n: int, seed: int) -> list[tuple[str, int]]:
    """(family, function) pairs of a run for n bits, in family order."""
    rng = np.random.default_rng([seed, n])
    return [(fam, f) for fam in as_list(exp.family) for f in B.family(fam, n, exp.functions, rng)]


def construction(exp, n: int, seed: int) -> pd.DataFrame:
    """Each construction, padded with zeros to width 2^n (one shape, one compiled program
    per n), run on all inputs; chunks keep the hidden activations <= 2^26 numbers."""
    x = jnp.asarray(B.inputs(n), jnp.float32)
    run = jax.jit(jax.vmap(lambda p: nnlab.forward(p, x, hidden="step", output="step")[:, 0]))
    pairs = functions(exp, n, seed)
    nets = [B.construction(f, n) for _, f in pairs]
    widths = [p[0]["W"].shape[1] for p in nets]
    chunk = max(1, 2**26 // 4**n)
    computed = []
    for start in range(0, len(nets), chunk):
        part = nets[start:start + chunk]
        part = part + [part[-1]] * (min(chunk, len(nets)) - len(part))  # a fixed chunk shape
        stacked = jax.tree.map(lambda *a: jnp.stack(a), *[P.pad(p, (n, 2**n, 1)) for p in part])
        computed += [B.from_bits(o > 0.5) for o in np.asarray(run(stacked))]
    return pd.DataFrame([dict(part="construction", n=n, family=family, function=B.to_hex(f, n), width=k,
                              correct=c == f) for (family, f), k, c in zip(pairs, widths, computed)])


def exact(exp, n: int, seed: int, progress: bool = False) -> pd.DataFrame:
    """n <= 4: one row per function, its proven least width; n = 5: one row per NPN class
    (``exact_classes``). Every row: ``functions`` (how many functions it stands for),
    ``width_lower`` and ``width_upper`` (equal where the least width is known)."""
    if n > T.MAX_EXACT_N:
        return exact_classes(exp, n, progress)
    widths = T.min_widths(n, bool(exp.shortcuts))
    verified = T.verify(widths)
    classes = T.npn_labels(n)
    F = np.arange(2 ** (2**n))
    return pd.DataFrame(dict(
        part="exact", kind="function", n=n, function=[B.to_hex(f, n) for f in F], functions=1,
        min_width=widths.width, width_lower=widths.width, width_upper=widths.width,
        proven=widths.proven, verified=verified, npn_class=[B.to_hex(c, n) for c in classes],
        shortcuts=bool(exp.shortcuts),
    ))


def exact_classes(exp, n: int, progress: bool = False) -> pd.DataFrame:
    """One row per NPN class of n bits (of shard exp.shard of exp.shards): its least truth
    table, its size, its least width (``nnlab.threshold.class_widths``: exhaustive searches
    for widths 2, 3 and 4; bounds ``width_lower <= width <= width_upper`` where a class is
    not decided) and the witness network of width ``width_upper`` (hidden units by truth
    table, integer output weights), checked on all inputs by ``nnlab.forward``."""
    classes = npn_classes(n, int(exp.shard), int(exp.shards))
    with tqdm(desc=f"exact n={n}: classes searched for widths 3 and 4", disable=not progress, mininterval=2) as bar:
        w = T.class_widths(n, classes, progress=bar.update)
    verified = T.witness_functions(n, w.hidden, w.out_w, w.out_b) == classes.rep
    decided = w.lower == w.upper
    used = w.hidden >= 0
    return pd.DataFrame(dict(
        part="exact", kind="class", n=n, npn_class=[B.to_hex(c, n) for c in classes.rep], functions=classes.size,
        min_width=pd.Series(np.where(decided, w.upper, np.nan)).astype("Int64"),
        width_lower=w.lower, width_upper=w.upper, proven=decided, verified=verified,
        witness_kind=np.asarray(T.HOW)[w.how], shortcuts=False, shard=int(exp.shard),
        witness_hidden=[[B.to_hex(h, n) for h in row[keep]] for row, keep in zip(w.hidden, used)],
        witness_out_w=[[int(o) for o in row[keep]] for row, keep in zip(w.out_w, used)],
        witness_out_b=w.out_b,
    ))


BOUNDS = {
    "construction": "construction: a unit per true input (2^n)",
    "construction_smaller_side": "construction on the smaller side (2^(n-1))",
    "counting": "counting lower bound",
    "article": "article's count, a heuristic (not a bound)",
    "setiono": "Setiono: floor(n/2)+1 sigmoid units (parity, built and verified)",
}


def setiono(n: int) -> dict:
    """Setiono's width for n-bit parity, with the witness network ``nnlab.parity.setiono_parity``
    run by ``nnlab.forward`` on all 2^n inputs (sigmoid units, output read at 1/2): in float64
    (``verified``, ``margin`` = min |output - 1/2|) and in float32, as the experiments run nets."""
    params = SP.setiono_parity(n)
    ok64, margin64 = SP.check(params, n, np.float64)
    ok32, margin32 = SP.check(params, n, np.float32)
    return dict(width=SP.setiono_width(n), verified=ok64, margin=margin64, verified_float32=ok32,
                margin_float32=margin32, output_weight_max=float(np.abs(params[1]["W"]).max()))


def theory(exp, n: int, seed: int) -> pd.DataFrame:
    """The bounds for n bits; the row of bound ``setiono`` also carries its witness's check."""
    widths = {"construction": 2**n, "construction_smaller_side": 2 ** (n - 1),
              "counting": T.counting_lower_bound(n), "article": T.article_bound(n)}
    rows = [dict(part="theory", n=n, bound=b, width=w) for b, w in widths.items()]
    return pd.DataFrame(rows + [dict(part="theory", n=n, bound="setiono", **setiono(n))])
