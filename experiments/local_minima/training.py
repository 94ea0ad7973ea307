"""Tasks, networks and training in stretches for local_minima.

The networks of a run are one ``nnlab`` population: every width (architecture
[n_in, w, 1]) with ``exp.restarts`` restarts, architecture-major, padded to the
widest and masked by ``nnlab.train``. Restart i of width w starts from the key
rule's weights (docs/design.md): ``init_mlp(fold_in(fold_in(key(seed), i), 0),
[n_in, w, 1])``, the same whatever other widths train beside it and for every
hidden activation. The article task is the one architecture of
``nnlab.graph.to_mlp(article_network())``, its missing edges masked.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import nnlab
from nnlab import boolean as B
from nnlab import graph as G
from nnlab import targets
from nnlab.mlp import Params
from nnlab.population import Population, init_population, padding_mask
from experiments.schema import as_list

OUTPUT = "sigmoid"
ARTICLE_POINTS = 16
ARTICLE_WIDTH = 2  # the article's hidden layers hold 2 neurons each
DTYPES = {"float32": np.float32, "float64": np.float64}


def precision(exp):
    """The context the restarts train and are examined in: JAX's float64 switched on
    (``jax.enable_x64``, for the call only) when exp.dtype is float64; nothing for float32."""
    return jax.enable_x64(True) if exp.dtype == "float64" else contextlib.nullcontext()


def task_data(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Training set (x (N, n_in), y (N, 1), float32) and a name for the target function.

    xor: parity of 2 bits; parity: of n bits; random: a function of n bits drawn from
    (seed, n); article: the bump ``nnlab.targets.curve("bump")`` at 16 points of [-1, 1].
    """
    if task == "article":
        x = targets.grid(ARTICLE_POINTS)
        return x, targets.curve("bump", x), "bump"
    bits = 2 if task == "xor" else n
    if task == "random":
        f = B.from_bits(np.random.default_rng([seed, n]).integers(0, 2, 2**n))
        name = B.to_hex(f, n)
    else:
        f, name = B.parity(bits), "parity"
    return B.inputs(bits).astype(np.float32), B.bits(f, bits)[:, None].astype(np.float32), name


class Networks(NamedTuple):
    """The architectures of a task, each trained ``restarts`` times (architecture-major)."""

    sizes: list[list[int]]  # A architectures of equal depth, as ``nnlab.train`` takes them
    widths: list[int]  # (A,) the hidden width each is listed under
    mask: Params | None  # the edges the task keeps (the article's), shared; None: fully connected
    weights: list[int]  # (A,) edges of each architecture, bias edges included
    restarts: int

    @property
    def population(self) -> Population:
        return Population.of(self.sizes, self.restarts)

    def initial_params(self, key: jax.Array, init: str, scale: float | None, dtype=np.float32) -> Params:
        """The key rule's initial weights of every network, padded, masked; leading axis M.
        Drawn in float32 and converted (exactly) to ``dtype``: a float64 run starts from
        the float32 run's weights (float64 needs ``precision``'s context)."""
        params = init_population(key, self.population, init, scale, jnp.float32)
        params = jax.tree.map(lambda p: p.astype(dtype), params)
        if self.mask is None:
            return params
        return jax.tree.map(lambda p, m: p * jnp.asarray(m, p.dtype)[None], params, self.mask)

    def edges(self) -> Params | None:
        """0/1 mask of the real edges (shared or leading axis M), None where all are:
        what ``nnlab.landscape.curvature`` leaves out of the spectrum."""
        if self.mask is not None:  # one architecture: nothing padded
            return self.mask
        pop = self.population
        return padding_mask(pop) if pop.padding else None


def networks(exp, n_in: int) -> Networks:
    """Every width of ``exp.widths`` as [n_in, w, 1]; the article's network for task article."""
    if exp.task == "article":
        form = G.to_mlp(G.article_network(output=OUTPUT))
        return Networks([form.sizes], [ARTICLE_WIDTH], form.mask, [nnlab.count_weights(form.params, form.mask)],
                        int(exp.restarts))
    sizes = [[n_in, w, 1] for w in sorted({int(w) for w in as_list(exp.widths)})]
    return Networks(sizes, [s[1] for s in sizes], None, [nnlab.count_weights(s) for s in sizes], int(exp.restarts))


def continued_schedule(schedule: str, lr: float, t0: float, start: int) -> tuple[float, float]:
    """(lr', t0') such that step t of a new run is step start + t of the original schedule."""
    if schedule == "constant":
        return lr, t0
    if schedule == "inverse_time":  # lr t0 / (t0 + start + t)
        return lr * t0 / (t0 + start), t0 + start
    if schedule == "inverse_sqrt":  # lr sqrt(t0 / (t0 + start + t))
        return lr * np.sqrt(t0 / (t0 + start)), t0 + start
    raise ValueError(f"schedule {schedule!r} cannot be continued")


def accuracy(params: Params, x, y, hidden: str) -> np.ndarray:
    """(M,) fraction of training points whose output is within 0.5 of its target.
    params: leading axis M, padded and masked edges exactly 0 (as ``nnlab.train`` returns them)."""
    out = _outputs(params, jnp.asarray(x, jax.tree.leaves(params)[0].dtype), hidden)
    return np.mean(np.abs(np.asarray(out) - y[None]) < 0.5, axis=(1, 2))


@jax.jit
def _weight_norms(params: Params) -> jax.Array:
    """(M,) ||w||_2 of each network (padded and masked edges are 0)."""
    return jnp.sqrt(sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in jax.tree.leaves(params)))


_outputs = jax.jit(jax.vmap(lambda p, x, hidden: nnlab.forward(p, x, hidden, OUTPUT), in_axes=(0, None, None)),
                   static_argnames="hidden")


class Stretches(NamedTuple):
    """M networks trained in C stretches of L steps."""

    params: Params  # final weights, leading axis M
    losses: np.ndarray  # (C + 1, M) training loss at steps 0, L, 2L, ..., C L
    accuracy: np.ndarray  # (C + 1, M) fraction of points within 0.5 of the target, same steps
    weight_norm: np.ndarray  # (C + 1, M) ||w||_2, same steps
    diverged: np.ndarray  # (M,) nnlab.train's flag in any stretch: loss or weights NaN/inf, or weights blown up


def train_in_stretches(exp, key, x, y, sizes, restarts: int, hidden: str, init: Params,
                       mask: Params | None = None, on_stretch=None) -> Stretches:
    """Train the population ``sizes`` x ``restarts`` (as ``nnlab.train`` takes them) from
    ``init`` (leading axis M) for exp.steps steps in exp.checkpoints equal stretches of L
    steps, recording every network after each.

    The schedule continues exactly across stretches (``continued_schedule``). The weights
    come from ``init``; the key only sets minibatch orders, fresh in every stretch:
    stretch c trains with ``fold_in(key, c)``. mask: the task's edges, shared.
    """
    C, L = exp.checkpoints, exp.steps // exp.checkpoints
    params = init
    losses, accs, norms = [], [accuracy(init, x, y, hidden)], [np.asarray(_weight_norms(init))]
    diverged = np.zeros(len(accs[0]), bool)
    for c in range(C):
        lr, t0 = continued_schedule(exp.schedule, float(exp.lr), float(exp.t0), c * L)
        result = nnlab.train(
            jax.random.fold_in(key, c), x, y, sizes=sizes, restarts=restarts, steps=L,
            lr=np.asarray(lr, x.dtype), schedule=exp.schedule, hidden=hidden, output=OUTPUT, loss=exp.loss,
            batch_size=exp.batch_size, t0=np.asarray(t0, x.dtype), records=1, mask=mask, init_params=params,
        )
        if c == 0:
            losses.append(np.asarray(result.history[:, 0]))
        params = result.params
        diverged |= np.asarray(result.diverged)
        losses.append(np.asarray(result.loss))
        accs.append(accuracy(params, x, y, hidden))
        norms.append(np.asarray(_weight_norms(params)))
        if on_stretch is not None:
            on_stretch()
    return Stretches(params, np.stack(losses), np.stack(accs), np.stack(norms), diverged)
