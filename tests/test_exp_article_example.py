"""article_example end to end through Hydra's compose API, at tiny sizes."""

import numpy as np
import pandas as pd

from experiments import run as runner
from experiments.results import RESULTS, read_meta


def test_article_example_runs_and_its_gradients_agree(compose_exp, tmp_path):
    cfg = compose_exp("article_example", "exp.steps=300", "exp.restarts=4", "exp.points=16",
                      "exp.weights=[0.1,-0.2,0.3,-0.4,0.5,-0.6,0.7,-0.8,0.9,-1.0,1.1,-1.2]")
    runner.run(cfg, tmp_path)
    df = pd.read_parquet(tmp_path / RESULTS)
    neurons, edges = df[df.part == "neurons"], df[df.part == "edges"]
    assert sorted(neurons.neuron.astype(int)) == list(range(1, 10))
    assert len(edges) == 12
    np.testing.assert_allclose(edges.weight, [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1.0, 1.1, -1.2],
                               rtol=1e-6)
    np.testing.assert_allclose(edges.grad, edges.grad_autodiff, rtol=1e-5, atol=1e-9)
    # bias neurons output 1 and have no input sum; the input neuron passes x on unchanged
    assert (neurons[neurons.kind == "bias"].output == 1).all()
    assert neurons[neurons.kind == "bias"].input_sum.isna().all()
    assert neurons.loc[neurons.neuron == "1", "output"].item() == cfg.exp.x
    restarts = df[df.part == "restarts"]
    assert len(restarts) == 4 and (restarts.final_loss > 0).all()
    loss = df[df.part == "loss"].groupby("restart").loss
    assert (loss.last() < loss.first()).all()  # every restart learned something
    for name in ("network", "fit"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary.restarts.item() == 4
    assert read_meta(tmp_path / RESULTS)["config"]["exp"]["steps"] == 300
    # a second run of the same config is skipped
    assert runner.run(cfg, tmp_path) is None
