"""Experiment local_minima end to end at tiny sizes, plus the properties its design rests on."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

import experiments.run
from experiments import local_minima as M
from experiments.local_minima.summary import scientific
from experiments.schema import ConfigError
from nnlab import landscape

CONF = Path(__file__).resolve().parents[1] / "conf" / "exp" / "local_minima.yaml"


def test_config_keys_are_the_schema():
    keys = set(yaml.safe_load(CONF.read_text())) - {"name"}
    assert keys == set(M.SCHEMA)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir

    out = tmp_path_factory.mktemp("local_minima")
    with initialize_config_dir(config_dir=str(CONF.parents[1]), version_base="1.3"):
        cfg = compose("config", overrides=["+exp=local_minima", "progress=false", "exp.restarts=16", "exp.steps=240",
                                           "exp.checkpoints=4", "exp.widths=[3,2]", "exp.hidden=[sigmoid,relu]",
                                           "exp.grid_q=3"])
    experiments.run.run(cfg, out)
    return cfg, out, pd.read_parquet(out / "results.parquet")


def test_one_row_per_restart_with_the_issue_columns(small_run):
    cfg, out, df = small_run
    runs = df[df.part == "restart"]
    for col in ["task", "n", "width", "hidden", "restart", "final_loss", "accuracy", "solved", "grad_norm",
                "min_hessian_eig", "status"]:
        assert col in runs
    assert len(runs) == 16 * 2 * 2
    for _, g in runs.groupby(["hidden", "width"]):
        assert sorted(g.restart) == list(range(16))
    assert set(runs.status) <= set(landscape.STATUSES)
    assert (runs.solved == (runs.accuracy == 1)).all()
    assert ((runs.status == "solved") == runs.solved).all()
    assert np.isfinite(runs.final_loss).all() and (runs.n == 2).all()
    cps = df[df.part == "checkpoint"]
    assert sorted(cps.step.unique()) == [0, 60, 120, 180, 240]
    last = cps[cps.step == 240].set_index(["hidden", "width"]).solved_count.sort_index()
    np.testing.assert_array_equal(last.values, runs.groupby(["hidden", "width"]).solved.sum().sort_index().values)
    brute = df[df.part == "bruteforce"]
    assert sorted(brute.hidden) == ["relu", "sigmoid"] and (brute.grid_networks == 3**9).all()


def test_summary_and_figures_are_written(small_run):
    cfg, out, df = small_run
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4
    assert {"p", "p_low95", "p_high95", "stuck_mid", "stuck", "local_min", "saddle_or_plateau", "stuck_levels",
            "steps_to_success", "bruteforce_64bit_rounds"} <= set(summary.columns)
    assert (summary.p_low95 <= summary.p).all() and (summary.p <= summary.p_high95).all()
    s = summary.set_index(["hidden", "width"])
    np.testing.assert_allclose(s.stuck + s.p, 1)
    np.testing.assert_allclose(s.local_min + s.saddle_or_plateau + s.diverged, s.stuck)
    assert s.loc[("sigmoid", 2), "bruteforce_64bit_rounds"] == pytest.approx(2.0**576, rel=1e-3)  # 2^(64 x 9)
    assert s.loc[("sigmoid", 2), "grid_networks"] == 3**9 and np.isnan(s.loc[("sigmoid", 3), "grid_networks"])
    for name in ["success", "best_of_k", "loss_histogram", "stuck_points", "convergence"]:
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_figures_and_summary_aggregate_over_seeds(small_run):
    _, _, df = small_run
    many = pd.concat([df.assign(seed=0, run_dir="a"), df.assign(seed=1, run_dir="b")], ignore_index=True)
    summary = M.summarize(many)
    assert len(summary) == 8 and set(summary.seed) == {0, 1}
    figs = M.figures(many)
    assert set(figs) == {"success", "best_of_k", "loss_histogram", "stuck_points", "convergence"}
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def _exp(**overrides):
    base = yaml.safe_load(CONF.read_text())
    base.update(overrides)
    return OmegaConf.create(base)


def test_padded_masked_run_equals_the_unpadded_run(small_run):
    """Width 2 padded to width 3 and masked (in the small run) trains exactly like a
    width-2 net from the same weights."""
    cfg, _, df = small_run
    exp, R, widths = cfg.exp, 16, [2, 3]
    padded = df[(df.part == "restart") & (df.width == 2) & (df.hidden == "sigmoid")].sort_values("restart")
    x, y, _ = M.task_data("xor", 2, 0)
    width_of, ids = np.repeat(widths, R), np.tile(np.arange(R), 2)
    mask = jax.tree.map(lambda *m: jnp.asarray(np.repeat(np.stack(m), R, axis=0)),
                        *[M.padded_mask(2, w, 3) for w in widths])
    fan_ins = np.stack([np.full(2 * R, 2), width_of], axis=1)
    init = M.initial_params(0, [2, 3, 1], width_of, ids, M.init_scales(1.0, fan_ins), mask, "uniform")
    assert np.all(np.asarray(init[0]["W"][:R, :, 2]) == 0)  # the padded unit starts at zero
    small = [{"W": init[0]["W"][:R, :, :2], "b": init[0]["b"][:R, :2]},
             {"W": init[1]["W"][:R, :2], "b": init[1]["b"][:R]}]
    _, losses, accs, _, _ = M.train_in_stretches(exp, 0, x, y, [2, 2, 1], "sigmoid", small, None, np.arange(R), False)
    np.testing.assert_allclose(padded.final_loss, losses[-1], rtol=2e-5, atol=1e-7)
    np.testing.assert_array_equal(padded.solved, accs[-1] == 1)


@pytest.mark.parametrize("schedule", ["constant", "inverse_time", "inverse_sqrt"])
def test_training_in_stretches_equals_one_run(schedule):
    import nnlab

    exp = _exp(schedule=schedule, steps=90, checkpoints=3, lr=2.0, t0=20.0, batch_size=None)
    x, y, _ = M.task_data("parity", 3, 0)
    x, y = x.astype(np.float64), y.astype(np.float64)
    init = nnlab.init_mlp(jax.random.key(1), [3, 4, 1], dtype=jnp.float64)
    init = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a]), init)
    one = nnlab.train(jax.random.key(0), x, y, sizes=[3, 4, 1], restarts=2, steps=90, lr=2.0, schedule=schedule,
                      t0=20.0, init_params=init)
    params, losses, _, norms, _ = M.train_in_stretches(exp, 0, x, y, [3, 4, 1], "sigmoid", init, None, np.arange(2), False)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(one.params)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(losses[-1], one.loss, rtol=1e-9)
    flat = np.concatenate([np.asarray(l).reshape(2, -1) for l in jax.tree.leaves(one.params)], axis=1)
    np.testing.assert_allclose(norms[-1], np.linalg.norm(flat, axis=1), rtol=1e-12)


def test_nearest_level_needs_a_clear_match():
    levels = np.array([0, 1 / 8, 1 / 6, 1 / 4])
    got = M.nearest_level(np.array([0.1254, 0.1672, 0.2, np.nan, 1e-4]), levels)
    np.testing.assert_array_equal(got, [1 / 8, 1 / 6, np.nan, np.nan, 0])
    dense = np.array([0.0, 0.001, 0.002])  # gap/4 = 0.00025 sets the tolerance
    np.testing.assert_array_equal(M.nearest_level(np.array([0.0011, 0.0015]), dense), [0.001, np.nan])


def test_other_tasks():
    x, y, name = M.task_data("random", 3, 4)
    assert x.shape == (8, 3) and int(name, 16) == sum(int(v) << i for i, v in enumerate(y[:, 0]))
    x, y, _ = M.task_data("parity", 3, 0)
    np.testing.assert_array_equal(y[:, 0], [0, 1, 1, 0, 1, 0, 0, 1])
    df = M.compute(_exp(task="article", hidden="tanh", restarts=6, steps=40, checkpoints=2, grid_q=3), 0, False)
    runs = df[df.part == "restart"]
    assert len(runs) == 6 and (runs.n == 1).all() and runs.accuracy.isna().all() and (runs.weights == 12).all()
    assert (runs.solved == (runs.final_loss <= 1e-3)).all() and "bruteforce" not in set(df.part)
    summary = M.summarize(df.assign(steps=40, hess_tol=1e-6, fall_tol=1e-6))
    assert summary.bruteforce_64bit_rounds.iloc[0] == scientific(2**768)


@pytest.mark.parametrize("override,message", [
    ("exp.steps=1001", "exp.steps=1001: not a multiple of exp.checkpoints=10"),
    ("exp.batch_size=5", "exp.batch_size=5: larger than the 4 training points"),
    ("exp.grid_q=1", "exp.grid_q=1"),
    ("exp.hidden=step", "exp.hidden=step: not allowed"),
    ("exp.widths=[2,0]", "exp.widths=[2,0]: not allowed"),
])
def test_bad_configs_give_one_line_errors(compose_exp, override, message):
    cfg = compose_exp("local_minima", override)
    with pytest.raises(ConfigError) as err:
        experiments.run.validate(cfg)
    assert message in str(err.value) and "\n" not in str(err.value)
