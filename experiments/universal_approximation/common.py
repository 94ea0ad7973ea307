"""What the parts of universal_approximation share: the targets of the config, test grids,
the outputs of many trained networks on a grid, best-of-restarts tables."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from matplotlib import ticker

import nnlab
from nnlab import approximation as A
from nnlab import targets as T


def bump(exp, d: int) -> T.BumpTarget:
    """The config's target on [0, 1]^d: a sum of bumps with certified Lipschitz constant exp.lipschitz."""
    return T.bumps(d, count=exp.bumps, lipschitz=exp.lipschitz, width=exp.bump_width, seed=exp.target_seed)


def target_fn(exp, d: int):
    """f for d inputs: x (N, >= d) -> (N,) float64 (reads the first d columns)."""
    t = bump(exp, d)
    return lambda x: T.bump_values(t, np.asarray(x)[:, :d])


def test_per_axis(exp, d: int) -> int:
    """Points per axis of the midpoint test grid in d dimensions: about exp.test_points in all."""
    return max(2, int(np.floor(exp.test_points ** (1 / d) + 1e-9)))


def lipschitz_estimate(t: T.BumpTarget, x) -> float:
    """max ||grad f||_1 over the points x: a lower bound of the best Lipschitz constant."""
    return float(np.abs(T.bump_gradients(t, x)).sum(axis=1).max())


@functools.partial(jax.jit, static_argnames=("hidden",))
def _outputs(params, x, hidden):
    return jax.lax.map(lambda p: nnlab.forward(p, x, hidden, "identity"), params)


def outputs(params, x, hidden: str) -> np.ndarray:
    """Outputs of M networks (params with leading axis M, padded) on x (P, n_in), in float32,
    one network at a time: (M, P, n_out) float64."""
    return np.asarray(_outputs(params, jnp.asarray(x, jnp.float32), hidden), np.float64)


def errors(out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sup, L2) of each network's outputs out (M, P, k) against y (P, k) or (P,) on a grid: (M,) each."""
    y = np.asarray(y, np.float64).reshape(out.shape[1], -1)
    e = np.sqrt(((out - y[None]) ** 2).sum(axis=2))  # (M, P): the Euclidean norm over outputs
    return e.max(axis=1), np.sqrt((e**2).mean(axis=1))


def standard_inputs(x) -> np.ndarray:
    """Points of [0, 1]^d as trained nets see them: (x - 1/2) sqrt(12), zero mean and unit
    variance per coordinate, the scale nnlab's initial weights (1/sqrt(fan_in)) assume. An
    affine map of the input, absorbed by the first layer: the nets' functions on [0, 1]^d
    form the same class."""
    return (np.asarray(x, np.float64) - 0.5) * np.sqrt(12.0)


def standardize(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y - mean) / std per output column, and the mean and std (training runs on the standardized
    targets; every error is reported in the target's own units)."""
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    mean, std = y.mean(axis=0), y.std(axis=0)
    return (y - mean) / std, mean, std


def best(df: pd.DataFrame, keys: list[str], columns=("l2", "sup")) -> pd.DataFrame:
    """The best (smallest) of each column over restarts, per seed and keys; each norm's own best."""
    keys = (["seed"] if "seed" in df else []) + keys
    return df.groupby(keys, as_index=False)[list(columns)].min()


def construction_sup(lipschitz: float, d: int, neurons) -> np.ndarray:
    """The guaranteed sup error L / (2n) of the threshold construction with at most ``neurons``
    hidden neurons (the largest n >= 2 that fits; NaN below the smallest construction)."""
    out = []
    for budget in np.atleast_1d(neurons):
        n = 1
        while A.neurons(d, n + 1) <= budget:
            n += 1
        out.append(A.step_bound(lipschitz, n) if n >= 2 else np.nan)
    return np.asarray(out)


def construction_neurons(lipschitz: float, d: int, eps: float) -> int:
    """Hidden neurons of the threshold construction that guarantees sup error <= eps."""
    return A.neurons(d, max(2, A.cells_per_axis(eps, lipschitz)))


def powers_of_two(ax) -> None:
    """A log x axis with ticks at powers of two, written as plain numbers."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
