"""Experiment local_minima end to end at tiny sizes, plus the properties its design rests on."""

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

import experiments.run
import nnlab
from experiments import local_minima as M
from experiments.local_minima import training
from experiments.local_minima.restarts import nearest_level
from experiments.schema import ConfigError
from experiments.summary import Summary
from nnlab import landscape

CONF = Path(__file__).resolve().parents[1] / "conf" / "exp" / "local_minima.yaml"
FIGURES = {"success", "best_of_k", "loss_histogram", "stuck_points", "convergence", "stuck_trace"}
SMALL = ["exp.restarts=16", "exp.steps=240", "exp.checkpoints=4", "exp.widths=[3,2]", "exp.hidden=[sigmoid,relu]",
         "exp.grid_q=3"]


def test_config_keys_are_the_schema():
    keys = set(yaml.safe_load(CONF.read_text())) - {"name"}
    assert keys == set(M.SCHEMA)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir

    out = tmp_path_factory.mktemp("local_minima")
    with initialize_config_dir(config_dir=str(CONF.parents[1]), version_base="1.3"):
        cfg = compose("config", overrides=["+exp=local_minima", "progress=false", *SMALL])
    experiments.run.run(cfg, out, verbose=False)
    return cfg, out, pd.read_parquet(out / "results.parquet")


def _restart_rows(df):
    return df[(df.part == "restarts") & (df.kind == "restart")]


def test_one_row_per_restart_and_the_solved_count_per_checkpoint(small_run):
    cfg, out, df = small_run
    assert set(zip(df.part, df.kind)) == {("restarts", "restart"), ("restarts", "checkpoint"), ("restarts", "trace"),
                                          ("bruteforce", "grid")}
    runs = _restart_rows(df)
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
    assert df["exp.widths"].iloc[0].tolist() == [3, 2]  # the runner's config columns stay lists
    cps = df[df.kind == "checkpoint"]
    assert sorted(cps.step.unique()) == [0, 60, 120, 180, 240]
    last = cps[cps.step == 240].set_index(["hidden", "width"]).solved_count.sort_index()
    np.testing.assert_array_equal(last.values, runs.groupby(["hidden", "width"]).solved.sum().sort_index().values)
    brute = df[df.part == "bruteforce"]
    assert sorted(brute.hidden) == ["relu", "sigmoid"] and (brute.grid_networks == 3**9).all()
    trace = df[df.kind == "trace"].set_index(["hidden", "width", "restart", "step"])
    assert len(trace) == 16 * 2 * 2 * 5
    end = runs.set_index(["hidden", "width", "restart"])
    at_end = trace.xs(240, level="step").loc[end.index]
    np.testing.assert_array_equal(at_end.loss, end.final_loss)  # the trace ends where the run does
    np.testing.assert_allclose(trace.xs(120, level="step").loc[end.index].weight_norm, end.weight_norm_mid)
    assert runs[runs.hidden == "relu"].dead_units.notna().all() and runs[runs.hidden == "sigmoid"].dead_units.isna().all()
    relu = runs[runs.hidden == "relu"]
    assert ((relu.dead_units + relu.linear_units) <= relu.width).all()


def test_summary_counts_agree_with_the_rows(small_run):
    cfg, out, df = small_run
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["part", "quantity", "task", "n", "hidden", "width", "level", "value"]
    assert summary.value.dtype == float
    s = summary[summary.level.isna()].set_index(["part", "quantity", "hidden", "width"]).value
    runs = _restart_rows(df)
    for (hidden, width), g in runs.groupby(["hidden", "width"]):
        q = lambda k: s[("restarts", M.summary.QUANTITIES[k], hidden, width)]
        assert q("stuck") == (~g.solved.astype(bool)).sum()  # from the statuses, against the solved flags
        assert q("p_low95") <= q("p") == g.solved.mean() <= q("p_high95")
        assert q("bruteforce_log2_rounds") == 64 * ((2 + 1) * width + width + 1)
        stuck = g[g.status.isin(["local_min", "saddle_or_plateau"])]
        at_levels = summary[(summary.hidden == hidden) & (summary.width == width) & summary.level.notna()
                            & (summary.quantity == M.summary.AT_LEVEL)]
        assert at_levels.value.sum() + q("no_level") == len(stuck)
        for level, r in stuck.groupby("nearest_level"):
            lq = lambda k: summary[(summary.hidden == hidden) & (summary.width == width) & (summary.level == level)
                                   & (summary.quantity == M.summary.LEVEL_QUANTITIES[k])].value.item()
            assert lq("excess_end") == pytest.approx((r.final_loss - level).median())
            assert lq("norm_mid") == pytest.approx(r.weight_norm_mid.median())
            if hidden == "relu":
                assert lq("with_dead") == (r.dead_units > 0).sum()
        k2 = M.summary.best_of_quantities(2)
        solved = g.sort_values("restart").solved.astype(bool).values
        assert s[("restarts", k2["groups"], hidden, width)] == 8
        assert s[("restarts", k2["groups_solved"], hidden, width)] == (solved[::2] | solved[1::2]).sum()
    brute = s.loc["bruteforce"]
    assert brute[("networks on the grid (q^weights)", "sigmoid", 2)] == 3**9
    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_headline_is_success_by_activation_and_width(small_run):
    cfg, _, df = small_run
    summary = M.summarize(df, cfg.exp)
    success = next(t for title, t in summary.headline.items() if title.startswith("restarts: success"))
    assert success.columns.tolist() == ["task", "n", "hidden", "w = 2", "w = 3"]
    assert success.hidden.tolist() == ["sigmoid", "relu"]  # in the order of exp.hidden
    rate = _restart_rows(df).groupby(["hidden", "width"]).solved.mean().round(3)
    assert success.set_index("hidden").loc["relu", "w = 3"] == rate[("relu", 3)]


def test_figures_pool_seeds(small_run):
    cfg, _, df = small_run
    two = pd.concat([df, df.assign(seed=1)], ignore_index=True).assign(seed=lambda d: d.seed.fillna(0))
    figs = M.figures(two, cfg.exp)
    assert set(figs) == FIGURES
    for fig in figs.values():
        plt.close(fig)


def test_a_width_trains_the_same_alone_and_beside_another(small_run):
    """The key rule: restart i of width 2 starts from init_mlp(fold_in(fold_in(key, i), 0), [2, 2, 1]),
    and ends alone where it did beside width 3 (padded to 3 and masked)."""
    cfg, _, df = small_run
    beside = _restart_rows(df)
    beside = beside[(beside.width == 2) & (beside.hidden == "sigmoid")].sort_values("restart")
    key = jax.random.key(0)
    init = training.networks(cfg.exp, 2).initial_params(key, "uniform", 1.0)  # widths 2, 3: width 2 first
    one = nnlab.init_mlp(jax.random.fold_in(jax.random.fold_in(key, 5), 0), [2, 2, 1], "uniform", 1.0, jnp.float32)
    for layer, padded in zip(one, nnlab.population.unpad(jax.tree.map(lambda a: a[5], init), [2, 2, 1])):
        np.testing.assert_array_equal(layer["W"], padded["W"])
        np.testing.assert_array_equal(layer["b"], padded["b"])
    assert np.all(np.asarray(init[0]["W"][:16, :, 2]) == 0)  # the padded unit is zero
    alone = [{"W": init[0]["W"][:16, :, :2], "b": init[0]["b"][:16, :2]},
             {"W": init[1]["W"][:16, :2], "b": init[1]["b"][:16]}]
    x, y, _ = training.task_data("xor", 2, 0)
    s = training.train_in_stretches(cfg.exp, key, x, y, [2, 2, 1], 16, "sigmoid", alone)
    np.testing.assert_allclose(beside.final_loss, s.losses[-1], rtol=2e-5, atol=1e-7)
    np.testing.assert_array_equal(beside.solved, s.accuracy[-1] == 1)


def _exp(**overrides):
    base = yaml.safe_load(CONF.read_text())
    base.update(overrides)
    return OmegaConf.create(base)


@pytest.mark.parametrize("schedule", ["constant", "inverse_time", "inverse_sqrt"])
def test_training_in_stretches_equals_one_run(schedule):
    exp = _exp(schedule=schedule, steps=90, checkpoints=3, lr=2.0, t0=20.0, batch_size=None)
    x, y, _ = training.task_data("parity", 3, 0)
    x, y = x.astype(np.float64), y.astype(np.float64)
    init = nnlab.init_mlp(jax.random.key(1), [3, 4, 1], dtype=jnp.float64)
    init = jax.tree.map(lambda a: jnp.stack([a, 0.5 * a]), init)
    one = nnlab.train(jax.random.key(0), x, y, sizes=[3, 4, 1], restarts=2, steps=90, lr=2.0, schedule=schedule,
                      t0=20.0, init_params=init)
    s = training.train_in_stretches(exp, jax.random.key(0), x, y, [3, 4, 1], 2, "sigmoid", init)
    for a, b in zip(jax.tree.leaves(s.params), jax.tree.leaves(one.params)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.losses[-1], one.loss, rtol=1e-9)
    flat = np.concatenate([np.asarray(l).reshape(2, -1) for l in jax.tree.leaves(one.params)], axis=1)
    np.testing.assert_allclose(s.weight_norm[-1], np.linalg.norm(flat, axis=1), rtol=1e-12)


def test_nearest_level_needs_a_clear_match():
    levels = np.array([0, 1 / 8, 1 / 6, 1 / 4])
    got = nearest_level(np.array([0.1254, 0.1672, 0.2, np.nan, 1e-4]), levels)
    np.testing.assert_array_equal(got, [1 / 8, 1 / 6, np.nan, np.nan, 0])
    dense = np.array([0.0, 0.001, 0.002])  # gap/4 = 0.00025 sets the tolerance
    np.testing.assert_array_equal(nearest_level(np.array([0.0011, 0.0015]), dense), [0.001, np.nan])


def test_tasks():
    x, y, name = training.task_data("random", 3, 4)
    assert x.shape == (8, 3) and int(name, 16) == sum(int(v) << i for i, v in enumerate(y[:, 0]))
    x, y, _ = training.task_data("parity", 3, 0)
    np.testing.assert_array_equal(y[:, 0], [0, 1, 1, 0, 1, 0, 0, 1])
    x, y, name = training.task_data("article", 2, 0)
    assert x.shape == y.shape == (16, 1) and name == "bump" and y.max() <= 0.9


def _contract(exp) -> tuple[pd.DataFrame, Summary, dict]:
    """compute, then summarize and figures on its own output, as the runner calls them."""
    df = M.compute(exp, 0, False)
    assert "seed" not in df and not any(c.startswith("exp") for c in df)
    assert df.part.isin(M.PARTS).all() and df.kind.notna().all()
    summary = M.summarize(df, exp)
    assert isinstance(summary, Summary) and summary.headline and summary.table.value.dtype == float
    figs = M.figures(df, exp)
    for fig in figs.values():
        plt.close(fig)
    return df, summary, figs


def test_summarize_and_figures_take_computes_own_output():
    df, summary, figs = _contract(_exp(part="restarts", task="article", hidden="tanh", restarts=6, steps=40,
                                       checkpoints=2))
    runs = _restart_rows(df)
    assert len(runs) == 6 and (runs.n == 1).all() and runs.accuracy.isna().all() and (runs.weights == 12).all()
    assert (runs.solved == (runs.final_loss <= 1e-3)).all() and set(df.part) == {"restarts"}
    assert set(figs) == FIGURES
    rounds = summary.table.set_index("quantity").value[M.summary.QUANTITIES["bruteforce_log2_rounds"]]
    assert rounds == 64 * 12  # the article's count for its 12-weight network: 2^768
    df, summary, figs = _contract(_exp(part="bruteforce", hidden="sigmoid", grid_q=2, grid_range=1.0))
    assert figs == {} and df.grid_networks.tolist() == [2**9] and list(summary.headline)[0].startswith("bruteforce")


@pytest.mark.parametrize("override,message", [
    (["exp.steps=1001"], "exp.steps=1001: not a multiple of exp.checkpoints=10"),
    (["exp.batch_size=5"], "exp.batch_size=5: larger than the 4 training points"),
    (["exp.grid_q=1"], "exp.grid_q=1: not allowed"),
    (["exp.task=parity"], "exp.part=bruteforce with exp.task=parity"),
    (["exp.part=nonsense"], "exp.part=nonsense: not allowed"),
    (["exp.hidden=step"], "exp.hidden=step: not allowed"),
    (["exp.widths=[2,0]"], "exp.widths=[2,0]: not allowed"),
])
def test_bad_configs_give_one_line_errors(compose_exp, override, message):
    cfg = compose_exp("local_minima", *override)
    with pytest.raises(ConfigError) as err:
        experiments.run.validate(cfg)
    assert message in str(err.value) and "\n" not in str(err.value) and "allowed" in str(err.value)
    experiments.run.validate(compose_exp("local_minima", "exp.task=parity", "exp.part=restarts"))
