"""End to end: the deep_vs_flat experiment at tiny sizes, its contract (summarize and figures
on compute's own output), its config checks and its analysis over seeds."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

import experiments.run
from experiments import analyze
from experiments import deep_vs_flat as E
from experiments.results import load_results
from experiments.schema import ConfigError

TINY = [
    "exp.flatten_depths=[1,3]", "exp.flatten_trials=2", "exp.flatten_max_width=6",
    "exp.factor_n=[4,8]", "exp.factor_rank=[1]", "exp.fit_n=8", "exp.fit_samples=[4]", "exp.fit_restarts=2",
    "exp.fit_steps=300",
    "exp.gate_lambdas=[0.03125,0.0625,0.125,0.25]", "exp.gate_fit_min=0.05", "exp.gate_fit_max=0.3",
    "exp.product_n=[2,3]", "exp.product_widths=[0.5,1.0]", "exp.product_restarts=2", "exp.product_samples=128",
    "exp.product_steps=200", "exp.product_batch_size=32", "exp.product_target=[0.5,0.1]",
    "exp.dyn_depths=[1,2,3]", "exp.dyn_s=[2.0,1.0]", "exp.dyn_steps=600", "exp.dyn_records=20", "exp.dyn_lr=0.005",
    "exp.dyn_u0=0.01", "exp.dyn_samples=8",
    "exp.l4_depths=[1,2]", "exp.l4_dim=4", "exp.l4_samples=32", "exp.l4_lrs=[0.001,0.01]", "exp.l4_steps=200",
    "exp.l4_records=10",
]
FIGURES = {"flatten", "factorizations", "gate", "neurons", "dynamics", "l4"}
HEADLINES = ["flatten", "factorizations: weights", "factorizations: the Hadamard", "multiplication: the 4-neuron",
             "multiplication: the product", "dynamics", "l4"]


def test_yaml_keys_are_the_schema():
    conf = yaml.safe_load((Path(__file__).resolve().parents[1] / "conf/exp/deep_vs_flat.yaml").read_text())
    assert conf["name"] == "deep_vs_flat"
    assert set(conf) - {"name"} == set(E.SCHEMA)


@pytest.fixture(scope="module")
def tiny_exp():
    from hydra import compose, initialize_config_dir

    conf = str(Path(__file__).resolve().parents[1] / "conf")
    with initialize_config_dir(config_dir=conf, version_base="1.3"):
        return compose("config", overrides=["+exp=deep_vs_flat", "progress=false", *TINY])


@pytest.fixture(scope="module")
def computed(tiny_exp):
    """compute's own output for seed 0: no runner columns."""
    return E.compute(tiny_exp.exp, 0, False)


@pytest.fixture(scope="module")
def tiny_run(tiny_exp, tmp_path_factory):
    """Two seeds of the tiny config through the runner, each in its own run directory."""
    root = tmp_path_factory.mktemp("deep_vs_flat")
    for seed in (0, 1):
        cfg = tiny_exp.copy()
        cfg.seed = seed
        assert experiments.run.run(cfg, root / f"seed{seed}", verbose=False) is not None
    return root


def test_summarize_and_figures_work_on_compute_output(computed, tiny_exp):
    assert not {"seed", "exp", "run_dir"} & set(computed.columns)
    assert not [c for c in computed.columns if c.startswith("exp.")]
    assert set(computed.part) == set(E.PARTS) and computed.kind.notna().all()
    summary = E.summarize(computed, tiny_exp.exp)
    assert [next(t for t in summary.headline if t.startswith(h)) for h in HEADLINES]
    assert len(summary.headline) == len(HEADLINES)
    table = summary.table
    assert list(table.columns[:2]) == ["part", "quantity"] and table.value.dtype == float
    assert set(table.part) == set(E.PARTS)
    product = next(t for title, t in summary.headline.items() if title.startswith("multiplication: the product"))
    assert product.n.tolist() == [2, 3] and product["tree neurons"].tolist() == [4, 9]
    assert {"shallow width, error <= 0.5", "shallow width, error <= 0.1"} <= set(product.columns)
    tree = table[table.quantity == "hidden neurons of the deep tree of gates"]
    assert tree.set_index("n").value.to_dict() == {2: 4.0, 3: 9.0}
    figs = E.figures(computed, tiny_exp.exp)
    assert set(figs) == FIGURES
    for fig in figs.values():
        plt.close(fig)


def test_rows_of_every_part(computed, tiny_exp):
    df = computed
    flat = df[df.part == "flatten"]
    assert len(flat) == 4 and flat.rel_error.max() < 1e-6
    assert (flat["rank"] == flat.min_width).all()
    assert all(isinstance(w, list) and len(w) == d + 1 for w, d in zip(flat.widths, flat.depth))

    fac = df[df.part == "factorizations"]
    exact = fac[fac.kind.isin(["rank_k", "butterfly"])]
    assert exact.rel_error.max() < 1e-6
    assert (exact.weights_deep == exact.weights_theory).all()
    bf = exact[exact.kind == "butterfly"]
    assert (bf.factor_product_error == 0).all()
    assert list(bf.weights_deep) == [2 * n * int(np.log2(n)) for n in bf.n]
    fit = fac[fac.kind == "fit"]
    assert sorted(fit.net.unique()) == ["butterfly", "dense"] and len(fit) == 4
    assert {"weights_deep", "test_rel_error", "steps_to_target"} <= set(fit.columns)
    dense = fit[fit.net == "dense"]
    assert np.allclose(dense.test_rel_error, 1 - 4 / 8, atol=0.1)  # min-norm fit from 4 of 8 dimensions

    mult = df[df.part == "multiplication"]
    tree = mult[mult.kind == "tree"].sort_values("n")
    assert list(tree.neurons) == [4, 9] and tree.test_error.max() < 1e-3
    assert tree.sizes.iloc[0] == [2, 4, 1]
    shallow = mult[mult.kind == "shallow"]
    assert shallow.groupby("n").width.unique().map(sorted).to_dict() == {2: [2, 4], 3: [4, 8]}
    assert sorted(shallow.restart.unique()) == [0, 1] and len(shallow) == 4 * 2
    assert shallow.test_error.notna().all() and not shallow.diverged.any()

    dyn = df[df.part == "dynamics"]
    modes = dyn[dyn.kind == "mode"]
    assert {"depth", "s", "u0", "lr", "step", "u_sim", "u_theory"} <= set(modes.columns)
    assert len(modes) == 3 * 2 * 21  # depths x modes x (records + 1)
    two = modes[modes.depth == 2]
    assert ((two.u_sim - two.u_theory).abs() / two.s).max() < 0.05
    assert ((modes.u_sim - modes.u_gd).abs() / modes.s).max() < 1e-4
    assert modes[modes.depth == 3].u_theory.isna().all()
    l4 = dyn[dyn.kind == "l4"]
    assert len(l4) == 4 and set(l4.depth) == {1, 2}


def test_gate_slope_is_two(computed, tiny_exp):
    table = E.summarize(computed, tiny_exp.exp).table
    slope = table[table.quantity.str.startswith("gate error exponent: slope")].value.iloc[0]
    assert slope == pytest.approx(2.0, abs=0.05)


def test_run_writes_rows_summary_and_figures(tiny_run):
    run = tiny_run / "seed0"
    for fig in FIGURES:
        assert (run / f"{fig}.png").stat().st_size > 10_000
    summary = pd.read_csv(run / "summary.csv")
    assert set(summary.part) == set(E.PARTS) and summary.value.dtype == float
    df = pd.read_parquet(run / "results.parquet")
    assert list(df["exp.product_target"].iloc[0]) == [0.5, 0.1]  # config columns are typed: lists stay lists


def test_analysis_over_seeds(tiny_run, tiny_exp):
    df = load_results(tiny_run)
    assert sorted(df.seed.unique()) == [0, 1]
    tables = analyze.summaries(df, report=lambda line: None)
    assert sorted(tables["deep_vs_flat"].seed.unique()) == [0, 1]
    figs = E.figures(df, tiny_exp.exp)
    assert set(figs) == FIGURES
    loss_axes = figs["dynamics"].axes[0]
    assert any("range over 2 seeds" in t.get_text() for t in loss_axes.get_legend().get_texts())
    for fig in figs.values():
        plt.close(fig)


def test_one_part_alone(compose_exp, tmp_path):
    cfg = compose_exp("deep_vs_flat", "exp.part=flatten", "exp.flatten_depths=[2]", "exp.flatten_trials=1")
    experiments.run.run(cfg, tmp_path, verbose=False)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert set(df.part) == {"flatten"} and len(df) == 1
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["flatten.png"]


@pytest.mark.parametrize("override, message", [
    ("exp.factor_n=[12]", "exp.factor_n=12"),
    ("exp.fit_n=6", "exp.fit_n=6"),
    ("exp.factor_rank=[300]", "exp.factor_rank=300"),
    ("exp.gate_fit_min=0.9", "exp.gate_fit_min=0.9"),
    ("exp.gate_bias=0.0", "exp.gate_bias=0.0"),
    ("exp.product_batch_size=5000", "exp.product_batch_size=5000"),
    ("exp.dyn_samples=2", "exp.dyn_samples=2"),
    ("exp.dyn_records=9000", "exp.dyn_records=9000"),
    ("exp.part=[flatten,nonsense]", "exp.part"),
    ("exp.gate_activation=relu", "exp.gate_activation"),
])
def test_bad_config_is_one_clear_line(compose_exp, tmp_path, override, message):
    cfg = compose_exp("deep_vs_flat", override)
    with pytest.raises(ConfigError, match="allowed") as info:
        experiments.run.run(cfg, tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "results.parquet").exists()
