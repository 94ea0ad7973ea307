"""Helpers shared by the parts of deep_vs_flat: relative errors, the first step at which a
target is reached, and hand-built initial weights stacked over networks."""

from __future__ import annotations

import jax
import numpy as np


def relative_error(out, ref) -> float:
    """||out - ref|| / ||ref|| (Frobenius), in float64."""
    return float(np.linalg.norm(np.asarray(out, np.float64) - ref) / np.linalg.norm(ref))


def first_step(steps, reached) -> float:
    """The first of ``steps`` (K,) at which ``reached`` (K,) bool holds; NaN if never."""
    hits = np.flatnonzero(np.asarray(reached, bool))
    return float(np.asarray(steps)[hits[0]]) if hits.size else np.nan


def stack(params_list) -> list:
    """Params of M networks of the same sizes (a list of M params) as one float32 pytree
    with leading axis M: the ``init_params`` of ``nnlab.train``."""
    return jax.tree.map(lambda *a: np.stack(a).astype(np.float32), *params_list)
