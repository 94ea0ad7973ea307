"""article_example end to end through Hydra's compose API, at tiny sizes."""

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

import experiments.article_example as E
from experiments import run as runner
from experiments.results import RESULTS, read_meta
from nnlab import graph as G

CONF = Path(__file__).resolve().parents[1] / "conf" / "exp" / "article_example.yaml"
WEIGHTS = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1.0, 1.1, -1.2]
TINY = ("exp.steps=300", "exp.restarts=4", "exp.points=16")


def test_config_keys_are_the_schema():
    config = yaml.safe_load(CONF.read_text())
    assert config.pop("name") == "article_example"
    assert set(config) == set(E.SCHEMA)


def by_hand(weights, x):
    """The article's network with sigmoid units, evaluated neuron by neuron in numpy."""
    w = dict(zip(G.ARTICLE_EDGES, weights))
    s = lambda z: 1 / (1 + math.exp(-z))
    a3, a4 = s(w[1, 3] * x + w[2, 3]), s(w[1, 4] * x + w[2, 4])
    a6, a7 = s(w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6]), s(w[4, 7] * a4 + w[5, 7])
    return s(w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9])


def test_article_example_runs_and_its_gradients_agree(compose_exp, tmp_path):
    cfg = compose_exp("article_example", *TINY, f"exp.weights=[{','.join(map(str, WEIGHTS))}]")
    runner.run(cfg, tmp_path)
    df = pd.read_parquet(tmp_path / RESULTS)
    assert set(zip(df.part, df.kind)) == {("network", "neuron"), ("network", "edge"), ("training", "restart"),
                                          ("training", "loss"), ("training", "fit"), ("training", "trained_edge")}
    neurons, edges = df[df.kind == "neuron"], df[df.kind == "edge"]
    assert neurons.neuron.tolist() == list(range(1, 10))
    assert list(zip(edges.src, edges.dst)) == list(G.ARTICLE_EDGES)
    np.testing.assert_allclose(edges.weight, WEIGHTS, rtol=1e-6)
    np.testing.assert_allclose(edges.grad, edges.grad_autodiff, rtol=1e-5, atol=1e-9)
    # the network's output, and the loss of the point, against a hand evaluation
    out = neurons.loc[neurons.neuron == 9, "output"].item()
    assert out == pytest.approx(by_hand(WEIGHTS, cfg.exp.x), rel=1e-6)
    assert neurons.loss.iloc[0] == pytest.approx((out - cfg.exp.y) ** 2, rel=1e-6)
    # bias neurons output 1 and have no input sum; the input neuron passes x on unchanged
    assert (neurons[neurons.neuron_kind == "bias"].output == 1).all()
    assert neurons[neurons.neuron_kind == "bias"].input_sum.isna().all()
    assert neurons.loc[neurons.neuron == 1, "output"].item() == cfg.exp.x
    restarts = df[df.kind == "restart"]
    assert len(restarts) == 4 and (restarts.final_loss > 0).all() and not restarts.diverged.any()
    loss = df[df.kind == "loss"].groupby("restart").loss
    assert (loss.last() < loss.first()).all()  # every restart learned something
    fit = df[df.kind == "fit"]
    assert fit.restart.unique().tolist() == [restarts.restart[restarts.final_loss.idxmin()]]  # the best restart
    assert len(df[df.kind == "trained_edge"]) == 12
    for name in ("network", "fit"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary.columns[:2]) == ["part", "quantity"] and summary.value.dtype == float
    value = summary.set_index("quantity").value
    assert value["restarts"] == 4 and value["restarts diverged"] == 0
    assert value["best final training loss"] == pytest.approx(restarts.final_loss.min())
    assert value["network output"] == pytest.approx(out)
    assert read_meta(tmp_path / RESULTS)["config"]["exp"]["steps"] == 300
    assert df["exp.weights"].iloc[0].tolist() == WEIGHTS  # config columns are typed: lists stay lists
    # a second run of the same config is skipped
    assert runner.run(cfg, tmp_path) is None


@pytest.mark.parametrize("part", ["network", "training", "[network,training]"])
def test_summary_and_figures_work_on_compute_output_alone(compose_exp, part):
    exp = compose_exp("article_example", *TINY, "exp.steps=20", f"exp.part={part}").exp
    df = E.compute(exp, 0, False)
    assert not {"seed", "exp", "run_dir"} & set(df.columns) and not any(c.startswith("exp.") for c in df)
    summary = E.summarize(df, exp)
    assert set(summary.table.part) == set(df.part) == set(part.strip("[]").split(","))
    assert summary.table.value.dtype == float and summary.table.value.notna().all()
    (head, *rest) = summary.headline.values()
    assert len(head) == 1
    if "network" in part:
        assert head["max |backprop - jax.grad|"].item() <= 1e-6
        assert rest[0].neuron.tolist() == list(range(1, 10))
    if "training" in part:
        assert head["restarts"].item() == 4
    figures = E.figures(df, exp)
    assert set(figures) == ({"network", "fit"} if "training" in part else {"network"})
    several = E.figures(pd.concat([df.assign(seed=0), df.assign(seed=1)], ignore_index=True), exp)
    assert set(several) == set(figures)
    for fig in [*figures.values(), *several.values()]:
        plt.close(fig)


def test_bad_configs_are_one_line_errors(compose_exp):
    from experiments.schema import ConfigError

    cases = [(("exp.weights=[1,2]",), "exp.weights"), (("exp.weights=1.5",), "exp.weights"),
             (("exp.batch_size=17", "exp.points=16"), "exp.batch_size=17"), (("exp.part=neurons",), "exp.part")]
    for overrides, key in cases:
        with pytest.raises(ConfigError, match=key) as err:
            runner.validate(compose_exp("article_example", *overrides))
        assert "\n" not in str(err.value) and "allowed" in str(err.value)
    runner.validate(compose_exp("article_example", "exp.part=network", "exp.batch_size=1"))
