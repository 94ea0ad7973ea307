"""The experiment contract (docs/design.md), for every experiment: summarize and figures work on
compute's own output, with the run's exp config and no column the runner adds."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import experiments
from experiments.summary import COLUMNS, Summary

TINY = {
    "article_example": ["exp.steps=20", "exp.restarts=2", "exp.points=8"],
    "boolean_width": ["exp.n=[2,3]", "exp.functions=2", "exp.widths=[1,2]", "exp.restarts=2", "exp.steps=20"],
    "deep_vs_flat": [
        "exp.flatten_depths=[1,2]", "exp.flatten_trials=1", "exp.flatten_max_width=4",
        "exp.factor_n=[4]", "exp.factor_rank=[1]", "exp.fit_n=4", "exp.fit_samples=[4]", "exp.fit_restarts=1",
        "exp.fit_steps=20", "exp.gate_lambdas=[0.0625,0.125,0.25]", "exp.gate_fit_min=0.05", "exp.gate_fit_max=0.3",
        "exp.product_n=[2]", "exp.product_widths=[1.0]", "exp.product_restarts=1", "exp.product_samples=32",
        "exp.product_steps=20", "exp.product_batch_size=8", "exp.product_target=[0.5]",
        "exp.dyn_depths=[1,2]", "exp.dyn_s=[2.0,1.0]", "exp.dyn_steps=40", "exp.dyn_records=4", "exp.dyn_samples=4",
        "exp.l4_depths=[1,2]", "exp.l4_dim=3", "exp.l4_samples=16", "exp.l4_lrs=[0.01]", "exp.l4_steps=40",
        "exp.l4_records=4", "exp.matmul_n=[2]", "exp.matmul_lambdas=[0.001,0.002]", "exp.matmul_samples=2",
        "exp.square_widths=[7]", "exp.square_restarts=2", "exp.square_steps=3"],
    "universal_approximation": [
        "exp.cons_d=[1,2]", "exp.cons_eps=[0.2]", "exp.test_points=256", "exp.width_d=[1]", "exp.widths=[2]",
        "exp.width_hidden=[relu]", "exp.width_restarts=1", "exp.width_samples=8", "exp.width_steps=5",
        "exp.narrow_targets=[bump1,loop]", "exp.narrow_depths=[1]", "exp.narrow_extra=[0]", "exp.narrow_restarts=1",
        "exp.narrow_samples=8", "exp.narrow_steps=5", "exp.narrow_construction_depths=[1]"],
    "depth_separation": [
        "exp.verify_max_k=3", "exp.bound_k=[3]", "exp.bound_points=3", "exp.bound_targets=[0.5]",
        "exp.grid_per_piece=2", "exp.shallow_k=null", "exp.deep_k=null", "exp.comp_dim=4",
        "exp.comp_params=[30,60]", "exp.comp_nets=[shallow]", "exp.comp_samples=64", "exp.comp_test=32",
        "exp.comp_lrs=[0.05]", "exp.comp_steps=20", "exp.comp_batch_size=16",
        "exp.regions_depths=[1,2]", "exp.regions_widths=[3]", "exp.regions_draws=2"],
    "local_minima": ["exp.widths=[2,3]", "exp.hidden=[sigmoid]", "exp.restarts=4", "exp.steps=40",
                     "exp.checkpoints=2", "exp.grid_q=2"],
}


def test_every_experiment_has_a_tiny_config_here():
    assert set(TINY) == set(experiments.available())


@pytest.mark.parametrize("name", sorted(TINY))
def test_summarize_and_figures_work_on_computes_own_output(name, compose_exp):
    module = experiments.get(name)
    exp = compose_exp(name, *TINY[name]).exp
    df = module.compute(exp, 0, False)
    assert not {"exp", "seed", "run_dir"} & set(df.columns) and not any(c.startswith("exp.") for c in df.columns)
    assert set(df.part) <= set(exp.part if not isinstance(exp.part, str) else [exp.part])
    summary = module.summarize(df, exp)
    assert isinstance(summary, Summary) and summary.headline
    assert all(isinstance(t, pd.DataFrame) and len(t) for t in summary.headline.values())
    table = summary.table
    assert list(table.columns[:2]) == ["part", "quantity"] and set(COLUMNS) <= set(table.columns)
    assert table.value.dtype == float and len(table) > 0
    assert set(table.part) <= set(df.part)
    figures = module.figures(df, exp)
    assert figures and all(isinstance(f, plt.Figure) for f in figures.values())
    for f in figures.values():
        plt.close(f)
