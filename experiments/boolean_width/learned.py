"""The learned part of boolean_width: sigmoid nets trained on every function, width and
restart, all in one ``nnlab.train`` call (a population of architectures [n, w, 1])."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import nnlab
from nnlab import boolean as B
from nnlab import threshold as T
from experiments.boolean_width.parts import functions, ns
from experiments.schema import as_list

MAX_N = 8


def rows(exp, seed: int) -> pd.DataFrame:
    """Every n, function, width and restart in one compiled training program.

    Network (n, function, width w, restart r) is the architecture [n, w, 1] with restart
    id r: the same initial weights for every function (``nnlab.population``). All train
    on the inputs of n_max bits; a net of n bits reads the first n (the low bits), so
    each n-bit input appears 2^(n_max - n) times and the mean loss is that of n bits.
    """
    n_list, widths, R = ns(exp), sorted({int(w) for w in as_list(exp.widths)}), exp.restarts
    n_max = max(n_list)
    x = B.inputs(n_max).astype(np.float32)
    points = np.arange(2**n_max)
    archs = [[n, w, 1] for n in n_list for w in widths]
    runs, targets = [], []
    for n in n_list:
        exact = T.min_widths(n).width if n <= T.MAX_EXACT_N else None
        for family, f in functions(exp, n, seed):
            targets.append(B.bits(f, n)[points % 2**n])
            for w, r in itertools.product(widths, range(R)):
                runs.append(dict(part="learned", n=n, family=family, function=B.to_hex(f, n), width=w, restart=r,
                                 threshold_width=int(exact[f]) if exact is not None else -1,
                                 target=len(targets) - 1, arch=archs.index([n, w, 1])))
    df = pd.DataFrame(runs)
    y = np.stack(targets).astype(np.float32)[df.target.to_numpy()][:, :, None]  # (runs, 2^n_max, 1)
    result = nnlab.train(jax.random.key(seed), x, y, sizes=archs, arch=df.arch.to_numpy(),
                         restart_ids=df.restart.to_numpy(), steps=exp.steps, lr=exp.lr, hidden="sigmoid",
                         output="sigmoid", loss="squared", records=10)
    # padded units have no edges: the padded nets compute what the true ones do
    out = np.asarray(jax.jit(jax.vmap(lambda p: nnlab.forward(p, jnp.asarray(x), "sigmoid", "sigmoid")[:, 0]))(
        result.params))
    accuracy = ((out >= 0.5) == (y[:, :, 0] > 0.5)).mean(axis=1)
    df["final_loss"] = np.asarray(result.loss, np.float64)
    df["diverged"] = np.asarray(result.diverged)
    df["accuracy"] = np.where(df.diverged, np.nan, accuracy)
    df["solved"] = ~df.diverged & (accuracy == 1.0)
    return df.drop(columns=["target", "arch"])
