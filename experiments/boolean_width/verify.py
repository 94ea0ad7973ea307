"""Re-check boolean_width results from their files alone: ``python -m experiments.analyze DIR --verify``.

For every NPN class of n = 5 with its witness network (hidden units by truth table,
integer output weights), the network is rebuilt with the integer weights of
``nnlab.threshold.threshold_functions`` and run by ``nnlab.forward`` with step units on
all 32 inputs: it must compute the class's least table. Each stored table must be the
least of its class (``nnlab.npn_classes.canonical``), and when every shard is present
the class sizes must add up to 2^32.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnlab import threshold as T
from nnlab.npn_classes import canonical


def verify(df: pd.DataFrame, exp=None) -> pd.DataFrame:
    """One row per check: what, n, checked, failed."""
    out = []
    for n, g in df[(df.part == "exact") & (df.get("kind") == "class")].groupby("n"):
        n = int(n)
        reps = np.array([int(h, 16) for h in g.npn_class], np.int64)
        small = g.width_upper.notna().to_numpy()
        K = int(g.width_upper.max())
        hidden = np.full((small.sum(), K), -1, np.int64)
        out_w = np.zeros((small.sum(), K), np.int64)
        for i, (hs, ws) in enumerate(zip(g.witness_hidden[small], g.witness_out_w[small])):
            hidden[i, :len(hs)] = [int(h, 16) for h in hs]
            out_w[i, :len(ws)] = ws
        computed = T.witness_functions(n, hidden, out_w, g.witness_out_b[small].to_numpy(np.int64))
        widths = (hidden >= 0).sum(1)
        out.append(dict(check="witness network computes its class (nnlab.forward, step units)", n=n,
                        checked=int(small.sum()), failed=int((computed != reps[small]).sum())))
        out.append(dict(check="witness width equals the stored least width", n=n, checked=int(small.sum()),
                        failed=int((widths != g.width_upper[small].to_numpy(int)).sum())))
        lower, upper = g.width_lower.to_numpy(int), g.width_upper.to_numpy(int)
        out.append(dict(check="width_lower <= width_upper, equal where the least width is stated", n=n,
                        checked=len(reps), failed=int(((lower > upper) | (g.min_width.notna().to_numpy()
                                                                          & (lower != upper))).sum())))
        out.append(dict(check="stored table is the least of its NPN class", n=n, checked=len(reps),
                        failed=int((canonical(reps, n) != reps).sum())))
        shards = int(g["exp.shards"].iloc[0]) if "exp.shards" in g else 1
        if "shard" not in g or g.shard.nunique() == shards:
            out.append(dict(check="class sizes add up to all 2^(2^n) functions", n=n, checked=1,
                            failed=int(g.functions.sum() != 2 ** (2**n))))
    return pd.DataFrame(out, columns=["check", "n", "checked", "failed"])
