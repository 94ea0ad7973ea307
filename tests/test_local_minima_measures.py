"""local_minima's measurements: dead and always-active ReLU units, best of K on disjoint
groups, training in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from experiments import local_minima as M
from experiments.local_minima import training
from nnlab import landscape, stats
from test_exp_local_minima import CONF

XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)


def _exp(**overrides):
    base = yaml.safe_load(CONF.read_text())
    base.update(overrides)
    return OmegaConf.create(base)


def _stack(*nets):
    return jax.tree.map(lambda *a: np.stack(a), *nets)


def test_dead_and_linear_units_of_hand_built_relu_nets():
    # unit input sums at (0,0), (0,1), (1,0), (1,1):
    #   u0 = -1 - x1 - x2  : -1 -2 -2 -3  dead
    #   u1 = 0.5 + x1      : .5 .5 1.5 1.5 always active (linear)
    #   u2 = x1 - x2       : 0 -1 1 0     neither
    #   u3 = x1 + x2       : 0 1 1 2      neither (0 at (0,0): not > 0)
    W = np.array([[0, 1, 1, 1], [-1, 0, -1, 1]], float)  # W[i, j]: input i -> unit j
    W[0, 0] = -1
    b = np.array([-1, 0.5, 0, 0])
    out = {"W": np.ones((4, 1)), "b": np.zeros(1)}
    net_a = [{"W": W, "b": b}, out]
    net_b = [{"W": -W, "b": -b}, out]  # u0 always active, u1 dead, u2 neither, u3: 0 -1 -1 -2 dead
    dead, linear = landscape.unit_activity(_stack(net_a, net_b), XOR, "relu")
    np.testing.assert_array_equal(dead, [1, 2])
    np.testing.assert_array_equal(linear, [1, 1])
    # a padded unit (no incoming edge in the mask) is not counted, whatever its sums
    mask = _stack([{"W": np.ones((2, 4)), "b": np.ones(4)}, {"W": np.ones((4, 1)), "b": np.ones(1)}],
                  [{"W": np.c_[np.ones((2, 3)), np.zeros(2)], "b": np.r_[np.ones(3), 0]},
                   {"W": np.ones((4, 1)), "b": np.ones(1)}])
    dead, linear = landscape.unit_activity(_stack(net_a, net_b), XOR, "relu", mask)
    np.testing.assert_array_equal(dead, [1, 1])
    np.testing.assert_array_equal(linear, [1, 1])


def test_unit_activity_reads_deeper_layers_through_the_activation():
    # layer 1: one unit relu(x1 - 5) = 0 everywhere (dead); layer 2: v = 2 * h + 1 > 0 (linear), w = -h (dead: 0)
    net = [{"W": np.array([[1.0], [0.0]]), "b": np.array([-5.0])},
           {"W": np.array([[2.0, -1.0]]), "b": np.array([1.0, 0.0])},
           {"W": np.ones((2, 1)), "b": np.zeros(1)}]
    dead, linear = landscape.unit_activity(_stack(net), XOR, "relu")
    assert (dead[0], linear[0]) == (2, 1)


def test_relu_runs_record_their_unit_counts():
    """compute's dead_units / linear_units equal unit_activity on the trained weights, per run."""
    exp = _exp(part="restarts", hidden=["relu"], widths=[2, 3], restarts=12, steps=40, checkpoints=2)
    df = M.compute(exp, 0, False)
    runs = df[df.kind == "restart"].sort_values(["width", "restart"])
    x, y, _ = training.task_data("xor", 2, 0)
    nets = training.networks(exp, 2)
    key = jax.random.key(0)
    s = training.train_in_stretches(exp, key, x, y, nets.sizes, nets.restarts, "relu",
                                    nets.initial_params(key, exp.init, exp.init_scale), nets.mask)
    dead, linear = landscape.unit_activity(s.params, x, "relu", nets.edges())
    np.testing.assert_array_equal(runs.dead_units.astype(int), dead)
    np.testing.assert_array_equal(runs.linear_units.astype(int), linear)
    assert (dead + linear <= runs.width.values).all() and dead.sum() > 0  # xor: some relu units die


def test_best_of_k_on_disjoint_groups():
    solved = np.array([0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0], bool)
    assert stats.best_of_k_disjoint(solved, 1) == (11, 3)
    assert stats.best_of_k_disjoint(solved, 2) == (5, 3)  # [00] [10] [00] [01] [10], the last 0 left out
    assert stats.best_of_k_disjoint(solved, 3) == (3, 2)  # [001] [000] [011]
    assert stats.best_of_k_disjoint(solved, 4) == (2, 2)  # [0010] [0001], the last 3 left out
    assert stats.best_of_k_disjoint(solved, 5) == (2, 2)  # [00100] [00110]
    late = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    assert stats.best_of_k_disjoint(late, 4) == (2, 1)  # [1000] [0000]: the success at restart 9 left out
    assert stats.best_of_k_disjoint(late, 5) == (2, 2)
    assert stats.best_of_k_disjoint(solved, 11) == (1, 1)
    assert stats.best_of_k_disjoint(np.zeros(10, bool), 5) == (2, 0)
    for k in (0, 12):
        with pytest.raises(ValueError):
            stats.best_of_k_disjoint(solved, k)


def test_disjoint_groups_see_what_resampling_cannot():
    """Runs whose successes come in clumps (not independent restarts): the disjoint groups
    fall below 1 - (1 - p)^K, the curve resampled from the pool does not."""
    solved = np.repeat(np.arange(100) % 2 == 0, 10)  # p = 1/2, in blocks of 10
    groups, wins = stats.best_of_k_disjoint(solved, 10)
    low, high = stats.wilson_interval(wins, groups)
    assert wins / groups == 0.5 and high < stats.best_of_k_geometric(0.5, [10])[0]
    resampled = stats.best_of_k_resampled(solved, [10], 2000, np.random.default_rng(0))[0]
    assert resampled > 0.99


def test_summary_best_of_k_rows_match_the_groups():
    runs = pd.DataFrame({"restart": np.arange(20)[::-1], "solved": np.arange(20) % 7 == 0})
    out = M.summary.best_of_k(runs, ks=(1, 5, 10, 30))
    assert set(out) == {1, 5, 10}  # no K above the restarts
    # restart order: solved at 0, 7, 14 -> groups of 5: [0-4] [5-9] [10-14] [15-19] -> 3 of 4
    assert (out[5]["groups"], out[5]["groups_solved"]) == (4, 3)
    assert out[1]["fraction"] == 3 / 20 and out[10]["geometric"] == pytest.approx(1 - (17 / 20) ** 10)
    assert out[5]["low95"] <= 0.75 <= out[5]["high95"]


def test_float64_run_trains_in_float64_from_the_float32_weights():
    """exp.dtype float64 gives float64 weights and losses even with JAX's x64 off (as outside the
    tests), starting from the float32 draws converted exactly."""
    exp = _exp(part="restarts", hidden=["sigmoid"], widths=[2], restarts=8, steps=40, checkpoints=2, dtype="float64")
    with jax.enable_x64(False):
        nets = training.networks(exp, 2)
        init32 = nets.initial_params(jax.random.key(0), "uniform", 1.0)
        assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(init32))
        with training.precision(exp):
            x, y, _ = training.task_data("xor", 2, 0)
            init = nets.initial_params(jax.random.key(0), "uniform", 1.0, np.float64)
            s = training.train_in_stretches(exp, jax.random.key(0), x.astype(np.float64), y.astype(np.float64),
                                            nets.sizes, 8, "sigmoid", init)
        assert jnp.asarray(1.0).dtype == jnp.float32  # x64 is off again after the context
    assert all(a.dtype == jnp.float64 for a in jax.tree.leaves(s.params))
    assert s.losses.dtype == np.float64 and s.weight_norm.dtype == np.float64
    for a32, a64 in zip(jax.tree.leaves(init32), jax.tree.leaves(init)):
        np.testing.assert_array_equal(np.asarray(a32, np.float64), a64)  # the same start, converted exactly
    losses = s.losses[-1]
    assert not np.array_equal(losses.astype(np.float32).astype(np.float64), losses)  # not float32 numbers
    assert np.all(losses < s.losses[0])


def test_float64_rows_hold_float64_numbers():
    """Through compute, with JAX's x64 off: the final losses are not float32 numbers."""
    with jax.enable_x64(False):
        df = M.compute(_exp(part="restarts", hidden=["relu"], widths=[2], restarts=4, steps=40, checkpoints=2,
                            dtype="float64"), 0, False)
        losses = df[df.kind == "restart"].final_loss.values
        assert not np.array_equal(losses.astype(np.float32).astype(np.float64), losses)
