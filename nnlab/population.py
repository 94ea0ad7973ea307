"""A population: many networks of different layer sizes, trained as one.

A sweep over architectures is a list of networks, each an architecture (its
layer sizes, all of the same depth) and a restart id. They train together in
one compiled program: every network is stored padded to the largest size of
each layer, and a 0/1 mask per network removes the padded units and inputs, so
a padded network computes exactly what the network of its true sizes computes.

The key rule (docs/design.md): network (architecture, restart i) starts from
the key ``fold_in(key, i)``, its weights drawn at its true fan-in by
``init_mlp``, whose draws do not depend on the layer sizes. So its initial
weights (and its minibatch orders) are the same whether it trains alone or
beside any other networks.

Inputs: x has as many columns as the widest input layer; a network with n_in
inputs reads the first n_in columns. All networks have the same outputs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .mlp import Params, init_scales, neuron_draws, params_from_draws

Array = jax.Array


def architectures(sizes) -> list[tuple[int, ...]]:
    """``sizes`` as a list of architectures: one list of ints, or a list of such lists."""
    if len(sizes) and all(isinstance(s, (int, np.integer)) for s in sizes):
        return [tuple(int(s) for s in sizes)]
    archs = [tuple(int(s) for s in a) for a in sizes]
    if not archs or len({len(a) for a in archs}) != 1:
        raise ValueError(f"sizes must be one architecture or a list of architectures of equal depth, got {sizes}")
    return archs


class Population(NamedTuple):
    """M networks: their true layer sizes, restart ids and the padded sizes."""

    sizes: np.ndarray  # (M, L + 1) int: the true layer sizes of each network
    restart_ids: np.ndarray  # (M,) int: network m starts from fold_in(key, restart_ids[m])
    padded: tuple[int, ...]  # (L + 1,): the largest size of each layer

    @property
    def padding(self) -> bool:
        """True when some network is smaller than the padded sizes."""
        return bool(np.any(self.sizes != np.asarray(self.padded)))

    @classmethod
    def of(cls, sizes, restarts: int = 1, restart_ids=None, arch=None) -> Population:
        """The networks of a training call.

        sizes: one architecture ``[n_in, ..., n_out]`` or a list of A of them.
        Without ``arch``: every architecture with every restart id (``restart_ids``,
        default ``arange(restarts)``), architecture-major: network a * R + i is
        restart i of architecture a. With ``arch`` (M,): network m has architecture
        ``sizes[arch[m]]`` and restart id ``restart_ids[m]`` (any list of networks).
        """
        archs = architectures(sizes)
        for a in archs:
            if len(a) < 2 or min(a) < 1:
                raise ValueError(f"an architecture lists at least 2 layers of >= 1 neuron, got {list(a)}")
        if len({a[-1] for a in archs}) != 1:
            raise ValueError(f"every architecture needs the same outputs, got {sorted({a[-1] for a in archs})}")
        ids = np.arange(int(restarts)) if restart_ids is None else np.asarray(restart_ids, np.int64).reshape(-1)
        if arch is None:
            arch = np.repeat(np.arange(len(archs)), len(ids))
            ids = np.tile(ids, len(archs))
        else:
            arch = np.asarray(arch, np.int64).reshape(-1)
            if arch.shape != ids.shape:
                raise ValueError(f"arch and restart_ids must list the same networks, got {arch.shape} and {ids.shape}")
            if arch.size and not (0 <= arch.min() and arch.max() < len(archs)):
                raise ValueError(f"arch holds indices into {len(archs)} architectures, got {arch.min()}..{arch.max()}")
        if ids.size == 0:
            raise ValueError("a population needs at least one network")
        table = np.asarray(archs, np.int64)[arch]
        return cls(table, ids, tuple(int(s) for s in table.max(axis=0)))


def padding_mask(pop: Population, dtype=jnp.float32) -> Params:
    """0/1 mask of every network's real edges at the padded sizes, leading axis M:
    layer l: W (M, padded[l], padded[l+1]), b (M, padded[l+1])."""
    return jax.tree.map(jnp.asarray, _padding_mask(pop, dtype))


def _padding_mask(pop: Population, dtype) -> list[dict]:
    units = [np.arange(p)[None, :] < pop.sizes[:, l:l + 1] for l, p in enumerate(pop.padded)]
    return [{"W": (src[:, :, None] & dst[:, None, :]).astype(dtype), "b": dst.astype(dtype)}
            for src, dst in zip(units[:-1], units[1:])]


def init_population(key: Array, pop: Population, init: str = "normal", scale: float | None = None,
                    dtype=jnp.float32) -> Params:
    """Initial weights of every network, padded with zeros; leading axis M.

    Network m is ``init_mlp(fold_in(fold_in(key, restart_ids[m]), 0), sizes[m])``,
    padded: its weights do not depend on the other networks.
    """
    scales = np.stack([init_scales(s, scale) for s in pop.sizes])  # (M, layers), at the true sizes
    drawn = _draw(key, jnp.asarray(pop.restart_ids), pop.padded, init, jnp.dtype(dtype))
    params = params_from_draws(drawn, pop.padded, scales)
    if pop.padding:
        params = [{k: v * m[k] for k, v in layer.items()} for layer, m in zip(params, _padding_mask(pop, dtype))]
    return jax.tree.map(jnp.asarray, params)


@functools.partial(jax.jit, static_argnames=("padded", "init", "dtype"))
def _draw(key, restart_ids, padded, init, dtype):
    """init_mlp's unit-scale neuron draws at the padded sizes, (M, neurons, max fan_in + 1)."""
    one = lambda i: neuron_draws(jax.random.fold_in(jax.random.fold_in(key, i), 0), padded, init, dtype)
    return jax.vmap(one)(restart_ids)


def unpad(params: Params, sizes: Sequence[int]) -> Params:
    """One network's params cut from the padded sizes down to its true ``sizes``."""
    return [{"W": layer["W"][:a, :b], "b": layer["b"][:b]} for layer, a, b in zip(params, sizes[:-1], sizes[1:])]


def pad(params: Params, padded: Sequence[int]) -> Params:
    """One network's params padded with zeros up to the layer sizes ``padded`` (the
    inverse of ``unpad``): the padded units have no edges, so they change no output."""
    out = []
    for layer, a, b in zip(params, padded[:-1], padded[1:]):
        W, bias = jnp.asarray(layer["W"]), jnp.asarray(layer["b"])
        out.append({"W": jnp.pad(W, ((0, a - W.shape[0]), (0, b - W.shape[1]))), "b": jnp.pad(bias, (0, b - bias.shape[0]))})
    return out


# ---------------------------------------------------------------- groups: a sweep padded group by group

# groups="auto": at most MAX_GROUPS, one more only where it cuts the padded work by MIN_SAVING of it and by
# GROUP_COST edge-examples (~0.2 s of arithmetic on the 2-core CPU measured, where a group adds ~0.6 s of
# compilation, paid once with the persistent cache)
MAX_GROUPS = 4
MIN_SAVING = 0.05
GROUP_COST = 1e9


class Group(NamedTuple):
    """Networks that train padded to the same sizes: their indices and those sizes."""

    networks: np.ndarray  # (m,) int: indices into the population, ascending
    padded: tuple[int, ...]  # (L + 1,): the inputs and outputs of the population, the largest hidden sizes of the group


def work(sizes) -> int:
    """Edges of a network of layer ``sizes``, bias neurons' included: its arithmetic per example, up to a factor."""
    return int(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


def size_groups(pop: Population, groups: int | str = "auto", examples_seen: float = np.inf) -> list[Group]:
    """The networks split into groups, each padded only to its own largest hidden sizes.

    A width sweep 1..32 padded to 32 does 1.9x the arithmetic of the true widths; in
    groups of contiguous widths by work it does 1.21x. The split minimises the
    total padded work ``sum(networks x work(padded))`` for each number of groups
    (dynamic programming over the architectures sorted by work). ``groups``: an int
    k, the best split into at most k groups (1: all padded to the largest); "auto",
    at most ``MAX_GROUPS``, a group added only while it cuts that total by
    ``MIN_SAVING`` of it and, times ``examples_seen`` (examples per step x steps),
    by ``GROUP_COST``: a short run is mostly compilation, which every group adds
    to. Groups are ordered by work; one architecture (restarts only) is one group.
    """
    auto = isinstance(groups, str) and groups == "auto"
    if not auto and not (isinstance(groups, (int, np.integer)) and not isinstance(groups, bool) and groups >= 1):
        raise ValueError(f"groups must be 'auto' or an int >= 1, got {groups!r}")
    most = MAX_GROUPS if auto else int(groups)
    sizes = pop.sizes.copy()
    sizes[:, 0], sizes[:, -1] = pop.padded[0], pop.padded[-1]  # every group reads all inputs, writes all outputs
    archs, which, counts = np.unique(sizes, axis=0, return_inverse=True, return_counts=True)
    which = which.reshape(-1)
    order = np.argsort([work(a) for a in archs], kind="stable")
    archs, counts = archs[order], counts[order]
    U = len(archs)
    cost = np.full((U, U), np.inf)  # cost[i, j]: archs i..j in one group
    for i in range(U):
        padded = np.maximum.accumulate(archs[i:], axis=0)
        cost[i, i:] = np.cumsum(counts[i:]) * np.array([work(p) for p in padded])
    best, start = [cost[0]], [np.zeros(U, int)]  # best[k - 1][j]: archs 0..j in exactly k groups,
    for _ in range(1, min(most, U)):  # the last of them starting at arch start[k - 1][j]
        prev, here, first = best[-1], np.full(U, np.inf), np.zeros(U, int)
        for j in range(1, U):
            totals = prev[:j] + cost[1:j + 1, j]  # archs 0..i-1 as before, archs i..j one group
            first[j] = 1 + int(np.argmin(totals))
            here[j] = totals[first[j] - 1]
        best.append(here)
        start.append(first)
    k = 1
    while k < len(best) and best[k][-1] < best[k - 1][-1] and (not auto or (
            best[k][-1] <= (1 - MIN_SAVING) * best[k - 1][-1]
            and (best[k - 1][-1] - best[k][-1]) * examples_seen >= GROUP_COST)):
        k += 1
    bounds, j = [], U - 1
    for level in range(k - 1, -1, -1):
        i = int(start[level][j])
        bounds.append((i, j))
        j = i - 1
    rank = np.empty(U, int)
    rank[order] = np.arange(U)
    groups = []
    for i, j in reversed(bounds):
        networks = np.flatnonzero((rank[which] >= i) & (rank[which] <= j))
        hidden = tuple(int(s) for s in pop.sizes[networks].max(axis=0)[1:-1])
        groups.append(Group(networks, (pop.padded[0],) + hidden + (pop.padded[-1],)))
    return groups
