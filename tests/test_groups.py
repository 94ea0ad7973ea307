"""A sweep over sizes trains in groups, each padded to its own largest sizes: the split is the cheapest,
and the networks are the same networks whatever the grouping."""

import itertools

import jax
import numpy as np
import pytest

import nnlab
from nnlab.population import Population, size_groups, work

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], np.float32)


def padded_work(groups) -> int:
    return sum(len(g.networks) * work(g.padded) for g in groups)


def cheapest_contiguous_split(pop: Population, k: int) -> int:
    """Brute force: every split of the architectures, sorted by work, into at most k runs."""
    archs = sorted({tuple(s) for s in pop.sizes.tolist()}, key=work)
    count = {a: int(np.sum(np.all(pop.sizes == a, axis=1))) for a in archs}
    best = np.inf
    for cuts in itertools.chain.from_iterable(itertools.combinations(range(1, len(archs)), c) for c in range(k)):
        runs = [archs[i:j] for i, j in zip((0,) + cuts, cuts + (len(archs),))]
        best = min(best, sum(sum(count[a] for a in run) * work(np.max(run, axis=0)) for run in runs))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_groups_are_the_cheapest_split_and_cover_every_network_once(seed, k):
    rng = np.random.default_rng(seed)
    archs = [[3, *rng.integers(1, 12, size=2), 1] for _ in range(rng.integers(2, 7))]
    pop = Population.of(archs, restarts=int(rng.integers(1, 4)))
    groups = size_groups(pop, k)
    assert 1 <= len(groups) <= k
    np.testing.assert_array_equal(np.sort(np.concatenate([g.networks for g in groups])), np.arange(len(pop.sizes)))
    for g in groups:
        assert g.padded == (3, *pop.sizes[g.networks].max(axis=0)[1:-1], 1)
    assert padded_work(groups) == cheapest_contiguous_split(pop, k)
    assert padded_work(size_groups(pop, 1)) == len(pop.sizes) * work(pop.padded)


def test_a_width_sweep_in_four_groups_does_a_third_less_arithmetic():
    pop = Population.of([[5, h, 1] for h in range(1, 33)], restarts=64)
    groups = size_groups(pop, "auto")  # no run length given: arithmetic is all that counts
    assert [g.padded[1] for g in groups] == [8, 16, 24, 32]
    assert padded_work(groups) / padded_work(size_groups(pop, 1)) == pytest.approx(288768 / 460800)
    # a short run is mostly compilation: "auto" keeps it in one group
    assert len(size_groups(pop, "auto", examples_seen=32 * 10)) == 1
    # restarts of one architecture are one group, whatever is allowed
    assert len(size_groups(Population.of([5, 7, 1], restarts=9), 4)) == 1


@pytest.mark.parametrize("layout", ["lanes", "rows"])
def test_grouped_networks_train_exactly_as_padded_together(layout):
    """Networks in a shuffled order (arch, restart_ids), each with its own targets, step size and mask:
    in 3 groups they end where they end padded to the largest, to float rounding (the programs differ in
    shape, so XLA may fuse a multiply-add differently: 1 ulp here and there after 200 steps)."""
    sizes = [[2, 1, 1], [2, 3, 1], [2, 6, 1], [2, 9, 1]]
    arch, ids = [3, 0, 2, 1, 0, 3, 2], [0, 4, 1, 2, 1, 5, 0]
    M = len(arch)
    rng = np.random.default_rng(1)
    ys = rng.integers(0, 2, size=(M, 4, 1)).astype(np.float32)
    mask = [{"W": (rng.random((M, 2, 9)) < 0.8).astype(np.float32), "b": np.ones((M, 9), np.float32)},
            {"W": np.ones((M, 9, 1), np.float32), "b": np.ones((M, 1), np.float32)}]
    kw = dict(sizes=sizes, arch=arch, restart_ids=ids, steps=200, lr=np.linspace(0.5, 3.0, M, dtype=np.float32),
              mask=mask, layout=layout)
    one = nnlab.train(jax.random.key(8), XOR_X, ys, groups=1, **kw)
    grouped = nnlab.train(jax.random.key(8), XOR_X, ys, groups=3, **kw)
    for p, q in zip(jax.tree.leaves(one.params), jax.tree.leaves(grouped.params)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one.history, grouped.history, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(one.loss, grouped.loss, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(grouped.sizes, np.asarray(sizes)[arch])
    assert np.all(np.asarray(grouped.params[0]["W"])[np.asarray(arch) == 0, :, 1:] == 0)  # padded units stay 0


def test_grouped_minibatches_and_the_vmap_engine_agree_with_one_group():
    sizes = [[2, w, 1] for w in (1, 2, 4, 8)]
    kw = dict(sizes=sizes, restarts=3, steps=120, lr=1.0, batch_size=2)
    for engine in ("packed", "vmap"):
        one = nnlab.train(jax.random.key(2), XOR_X, XOR_Y, engine=engine, groups=1, **kw)
        grouped = nnlab.train(jax.random.key(2), XOR_X, XOR_Y, engine=engine, groups=4, **kw)
        np.testing.assert_allclose(one.history, grouped.history, rtol=1e-5, atol=1e-7)
        for p, q in zip(jax.tree.leaves(one.params), jax.tree.leaves(grouped.params)):
            np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [0, -1, "four", 2.5, True])
def test_bad_groups_raise_a_clear_error(bad):
    with pytest.raises(ValueError, match="groups must be 'auto' or an int >= 1"):
        nnlab.train(jax.random.key(0), XOR_X, XOR_Y, sizes=[[2, 2, 1], [2, 3, 1]], steps=2, groups=bad)


def test_deeper_sweeps_over_inputs_and_widths_group_like_padded():
    """Two hidden layers, networks of 1 and 2 inputs (a 1-input net reads column 0): 3 groups as padded."""
    x = np.random.default_rng(3).normal(size=(6, 2)).astype(np.float32)
    y = np.tanh(x[:, :1] - x[:, 1:])
    sizes = [[1, 2, 3, 1], [2, 2, 2, 1], [2, 5, 4, 1], [1, 7, 7, 1]]
    kw = dict(sizes=sizes, restarts=2, steps=150, lr=0.2, hidden="tanh", output="identity")
    one = nnlab.train(jax.random.key(6), x, y, groups=1, **kw)
    grouped = nnlab.train(jax.random.key(6), x, y, groups=3, **kw)
    assert len(size_groups(Population.of(sizes, 2), 3)) == 3
    np.testing.assert_allclose(one.history, grouped.history, rtol=1e-5, atol=1e-7)
    for p, q in zip(jax.tree.leaves(one.params), jax.tree.leaves(grouped.params)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(grouped.params[0]["W"])[[0, 1, 6, 7], 1:] == 0)  # 1-input nets: column 1 unused
