"""End to end: the universal_approximation experiment at tiny sizes, its contract (summarize and
figures on compute's own output), theory held against simulation in its rows, its config checks."""


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import experiments.run
from experiments import universal_approximation as E
from experiments.schema import ConfigError
from expcheck import assert_contract, assert_yaml_keys_are_the_schema, compose_tiny

TINY = [
    "exp.cons_d=[1,2,3]", "exp.cons_eps=[0.2,0.1]", "exp.cons_max_work=1e4", "exp.test_points=1024",
    "exp.width_d=[1,2]", "exp.widths=[1,2,4,64]", "exp.width_restarts=2", "exp.width_samples=32", "exp.width_steps=30",
    "exp.narrow_depths=[1,3]", "exp.narrow_extra=[0,1]", "exp.narrow_restarts=2", "exp.narrow_samples=21",
    "exp.narrow_steps=30", "exp.narrow_construction_depths=[1,2,4]",
]
FIGURES = {"neurons", "construction_error", "width", "narrow", "narrow_dead"}
HEADLINES = ["construction: neurons", "construction: the targets", "width: one hidden layer", "width: one hidden layer",
             "width: fitted slopes", "narrow: ReLU", "narrow: ReLU", "narrow: fraction", "narrow: fraction", "narrow: does depth help",
             "narrow: the hand-built", "narrow: what no width-1"]


def test_yaml_keys_are_the_schema():
    assert_yaml_keys_are_the_schema("universal_approximation", E.SCHEMA)


@pytest.fixture(scope="module")
def tiny_exp():
    return compose_tiny("universal_approximation", TINY)


@pytest.fixture(scope="module")
def computed(tiny_exp):
    """compute's own output for seed 0: no runner columns."""
    return E.compute(tiny_exp.exp, 0, False)


def test_summarize_and_figures_work_on_compute_output(computed, tiny_exp):
    summary = assert_contract(E, computed, tiny_exp.exp, HEADLINES, FIGURES)
    table = summary.table
    neurons = table[table.quantity == "hidden neurons of the construction"]
    assert neurons[(neurons.d == 3) & (neurons.eps == 0.1)].value.item() == 3 * 4 + 5**3


def test_construction_rows_keep_their_bounds(computed, tiny_exp):
    c = computed[(computed.part == "construction") & (computed.kind == "construction")]
    assert len(c) == 3 * 2 + 2  # d x eps threshold nets, and the steep-sigmoid ones of d = 1
    assert (c.n == np.ceil(tiny_exp.exp.lipschitz / (2 * c.eps) * np.where(c.hidden == "sigmoid", 1.1, 1.0) - 1e-12)).all()
    assert (c.theory_count == (1 / c.eps) ** c.d).all() and (c.bound <= c.eps + 1e-12).all()
    built = c[c.built.astype(bool)]
    counted = c[~c.built.astype(bool)]  # over cons_max_work even at 2 grid points per cell per axis: counted
    assert list(zip(counted.d, counted.eps)) == [(3, 0.1)] and counted.sup_error.isna().all()
    assert (built.grid_per_axis >= 2 * built.n).all()
    assert (built.sup_error <= built.bound + 1e-6).all()  # float32 nets against the float64 bound
    const = computed[(computed.part == "construction") & (computed.kind == "constant")]
    assert len(const) == 3 and (const.lipschitz_grid <= tiny_exp.exp.lipschitz).all()


def test_width_rows(computed, tiny_exp):
    w = computed[computed.part == "width"]
    assert len(w) == 2 * 4 * 2 * 2  # d x widths x activations x restarts
    assert set(w.hidden) == {"sigmoid", "relu"} and (w.l2 <= w.sup + 1e-12).all()
    assert w[["l2", "sup", "train_mse"]].notna().all().all()


def test_narrow_rows_and_the_width_one_floors(computed, tiny_exp):
    n = computed[computed.part == "narrow"]
    trained = n[n.kind == "trained"]
    assert len(trained) == 3 * 2 * 2 * 2  # targets x widths x depths x restarts
    assert sorted(trained[trained.target == "bump2"].width.unique()) == [2, 3]
    assert trained.dead.isin([True, False]).all() and (trained.dead == (trained.dead_layers > 0)).all()
    cons = n[n.kind == "construction"]
    assert (cons.sup <= cons.bound + 1e-6).all() and set(cons.width) == {2, 3}
    assert set(n[n.kind == "constant"].target) == {"bump1", "bump2", "loop"}
    floors = n[n.kind == "floor"].set_index("target")
    for target in ("bump1", "loop"):  # theory against simulation: no width-1 net beats its floor
        one = trained[(trained.target == target) & (trained.width == 1)]
        assert len(one) and (one.sup >= floors.loc[target, "sup"] - 1e-6).all()
        assert (one.l2 >= floors.loc[target, "l2"] - 1e-6).all()


def test_figures_over_two_seeds(computed, tiny_exp):
    two = pd.concat([computed.assign(seed=0), computed.assign(seed=1, l2=computed.l2 * 1.1)], ignore_index=True)
    figs = E.figures(two, tiny_exp.exp)
    assert set(figs) == FIGURES
    texts = [t.get_text() for t in figs["width"].axes[0].get_legend().get_texts()]
    assert any("range over 2 seeds" in t for t in texts)
    for fig in figs.values():
        plt.close(fig)


def test_run_writes_rows_summary_and_figures(tiny_exp, tmp_path):
    assert experiments.run.run(tiny_exp, tmp_path, verbose=False) is not None
    for fig in FIGURES:
        assert (tmp_path / f"{fig}.png").stat().st_size > 10_000
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary.part) == set(E.PARTS) and summary.value.dtype == float
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert list(df["exp.widths"].iloc[0]) == [1, 2, 4, 64]  # config columns are typed: lists stay lists


def test_one_part_alone(compose_exp, tmp_path):
    cfg = compose_exp("universal_approximation", "exp.part=construction", "exp.cons_d=[1,2]", "exp.cons_eps=[0.1]",
                      "exp.cons_hidden=[step]", "exp.test_points=256")
    experiments.run.run(cfg, tmp_path, verbose=False)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert set(df.part) == {"construction"} and len(df) == 4
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["construction_error.png", "neurons.png"]


@pytest.mark.parametrize("override, message", [
    ("exp.cons_eps=[0.1,0.6]", "exp.cons_eps=0.6"),
    ("exp.cons_d=[2,3]", "exp.cons_hidden=sigmoid"),
    ("exp.part=[width,nonsense]", "exp.part"),
    ("exp.width_hidden=[step]", "exp.width_hidden"),
    ("exp.narrow_targets=[circle]", "exp.narrow_targets"),
    ("exp.narrow_depths=[0]", "exp.narrow_depths"),
])
def test_bad_config_is_one_clear_line(compose_exp, tmp_path, override, message):
    cfg = compose_exp("universal_approximation", override)
    with pytest.raises(ConfigError, match="allowed") as info:
        experiments.run.run(cfg, tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "results.parquet").exists()
