"""End to end: the depth_separation experiment at tiny sizes, its contract (summarize and
figures on compute's own output), the exact checks of its constructions and bounds, its
config checks and its analysis over seeds."""


import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import experiments.run
from experiments import analyze
from experiments import depth_separation as E
from experiments.depth_separation import common, compositional, regions, sawtooth
from experiments.results import load_results
from experiments.schema import ConfigError
from expcheck import assert_contract, assert_yaml_keys_are_the_schema, compose_tiny, run_seeds
from nnlab import sawtooth as ST
from nnlab.population import Population, init_population, unpad

TINY = [
    "exp.verify_max_k=6", "exp.bound_k=[3,6]", "exp.bound_points=4", "exp.bound_targets=[0.5]",
    "exp.grid_per_piece=4", "exp.shallow_k=[2,3]", "exp.shallow_widths=[2,4]", "exp.shallow_restarts=2",
    "exp.shallow_steps=300", "exp.shallow_batch_size=8", "exp.deep_k=[2]", "exp.deep_restarts=4",
    "exp.deep_steps=200", "exp.deep_batch_size=8",
    "exp.comp_dim=4", "exp.comp_params=[40,120]", "exp.comp_samples=256", "exp.comp_test=128",
    "exp.comp_lrs=[0.05]", "exp.comp_steps=100", "exp.comp_batch_size=16", "exp.comp_deep_layers=2",
    "exp.regions_depths=[1,3]", "exp.regions_widths=[3,5]", "exp.regions_draws=3",
]
FIGURES = {"bound", "classification", "trainability", "compositional", "regions"}
HEADLINES = ["sawtooth: t^k as k layers", "sawtooth: any shallow relu net", "sawtooth: shallow relu nets trained",
             "sawtooth: SGD on the deep width-2 net", "compositional: test error", "compositional: fitted",
             "regions: linear pieces", "regions: growth"]


def test_yaml_keys_are_the_schema():
    assert_yaml_keys_are_the_schema("depth_separation", E.SCHEMA)


@pytest.fixture(scope="module")
def tiny_exp():
    return compose_tiny("depth_separation", TINY)


@pytest.fixture(scope="module")
def computed(tiny_exp):
    """compute's own output for seed 0: no runner columns."""
    return E.compute(tiny_exp.exp, 0, False)


@pytest.fixture(scope="module")
def tiny_run(tiny_exp, tmp_path_factory):
    """Two seeds of the tiny config through the runner, each in its own run directory."""
    return run_seeds(tiny_exp, tmp_path_factory.mktemp("depth_separation"))


def test_summarize_and_figures_work_on_compute_output(computed, tiny_exp):
    assert_contract(E, computed, tiny_exp.exp, HEADLINES, FIGURES)


def test_the_construction_is_exact(computed):
    c = computed[(computed.part == "sawtooth") & (computed.kind == "construction")].sort_values("k")
    assert list(c.k) == list(range(1, 7))
    assert (c.pieces == 2**c.k).all() and (c.regions == 2**c.k).all() and c.breakpoints_dyadic.all()
    assert (c.max_error_breakpoints == 0).all() and (c.max_error_forward32 == 0).all()
    assert (c.class_errors == 0).all() and (c.class_points == 2**c.k).all()
    assert (c.hidden_units == 2 * c.k).all() and list(c.weights) == [6 * k + 1 for k in range(1, 7)]
    assert (c.max_error_offgrid32 <= 2.0**c.k * 2**-23).all()  # float32 input rounding times slope 2^k


def test_bounds_rows_against_the_library_and_a_scan_of_every_width(computed):
    b = computed[computed.kind == "bound"]
    for k, g in b.groupby("k"):
        w = g.width.to_numpy()
        direct = ST.best_pl_error(int(k), w + 1)
        np.testing.assert_allclose(g.lower, direct.lower, rtol=1e-12)
        np.testing.assert_allclose(g.upper, ST.best_pl_error(int(k), w).upper, rtol=1e-12)
        assert (g.lower <= g.upper + 1e-12).all() and (np.diff(g.sort_values("width").lower) <= 1e-12).all()
        assert set(w) >= {2 * k, 2**k - 1} and g[g.width == 2**k - 1].lower.iloc[0] == 0
    # k = 3: the least widths (bisection) against best_pl_error at every width (the bounds
    # themselves are held against brute force in tests/test_sawtooth.py)
    lower, upper = sawtooth.bounds(3)
    e = ST.best_pl_error(3, np.arange(1, 9))
    for target in (0.9, 0.5, 0.2, 0.01):
        lower_ok = [w for w in range(1, 8) if e.lower[w] / common.BEST_CONSTANT <= target]
        upper_ok = [w for w in range(1, 9) if e.upper[w - 1] / common.BEST_CONSTANT <= target]
        assert sawtooth.least_widths(3, target, lower, upper) == (min(lower_ok), min(upper_ok))
    assert computed[computed.kind == "bound_width"].width_lower.le(
        computed[computed.kind == "bound_width"].width_upper).all()


def test_trained_nets_are_read_exactly_and_never_beat_the_bound(computed):
    s = computed[computed.kind == "shallow"]
    assert len(s) == 2 * 2 * 2 and (s.pieces <= s.width + 1).all()
    assert (s.rel_error >= s.lower_rel - 1e-9).all()  # no trained net below the provable bound
    assert (s.class_errors >= s.min_class_errors).all()
    d = computed[computed.kind == "deep_sgd"]
    assert sorted(d.k.unique()) == [2] and len(d) == 4 and (d.success == (d.rel_error <= 0.1)).all()


@pytest.mark.parametrize("k, N", [(2, 3), (3, 5), (4, 7)])
def test_exact_fit_reads_a_known_net(k, N):
    """A PL function through pl_to_relu, moved to the nets' input u = 2x - 1 and output - 1/2."""
    knots, values = ST.pl_construction(k, N)
    got = common.exact_fit(ST.pl_to_relu(2 * knots - 1, values - 0.5), k)
    assert got["l2_error"] == pytest.approx(ST.pl_error(knots, values, k), rel=1e-9)
    assert got["pieces"] == len(knots) - 1 <= N
    knots, values = ST.classification_construction(k, N)
    got = common.exact_fit(ST.pl_to_relu(2 * knots - 1, values - 0.5), k)
    assert got["class_errors"] == ST.min_classification_errors(k, N)


def test_random_nets_cut_from_deeper_draws_are_the_nets_drawn_at_that_depth():
    key = jax.random.key(5)
    deep = Population.of([[1, 3, 3, 3, 3, 1], [1, 5, 5, 5, 5, 1]], restarts=2)
    shallow = Population.of([[1, 3, 3, 1], [1, 5, 5, 1]], restarts=2)
    a = jax.tree.map(np.asarray, init_population(key, deep))
    b = jax.tree.map(np.asarray, init_population(key, shallow))
    for m in range(4):
        cut = regions.cut(unpad([{n: v[m] for n, v in layer.items()} for layer in a], deep.sizes[m]), 2)
        direct = unpad([{n: v[m] for n, v in layer.items()} for layer in b], shallow.sizes[m])
        for x, y in zip(jax.tree.leaves(cut), jax.tree.leaves(direct)):
            np.testing.assert_array_equal(x, y)


def test_compositional_rows(computed, tiny_exp):
    f = computed[computed.kind == "fit"]
    assert set(f.net) == set(compositional.NETS) and not f.diverged.any()
    for net, g in f.groupby("net"):
        assert len(g) == 2 and (g.params == [compositional.weights_of(net, w, tiny_exp.exp) for w in g.width]).all()
        assert g.params.between(20, 240).all()
    tree = f[f.net == "tree"]
    assert list(tree.params) == [2 * 3 * w + w * (2 * w + 1) + w + 1 for w in tree.width]  # d = 4
    assert (tree.units == 3 * tree.width).all()
    assert (f.test_error == np.sqrt(f.test_mse)).all()


def test_region_rows_count_exactly(computed):
    r = computed[computed.part == "regions"]
    random = r[r.kind == "random"]
    assert len(random) == 2 * 2 * 3 and (random.pieces <= random.regions).all()
    assert (random[random.depth == 1].regions <= random[random.depth == 1].width + 1).all()
    c = r[r.kind == "construction"]
    assert list(c.pieces) == [2, 8]


def test_run_writes_rows_summary_and_figures(tiny_run):
    run = tiny_run / "seed0"
    for fig in FIGURES:
        assert (run / f"{fig}.png").stat().st_size > 10_000
    summary = pd.read_csv(run / "summary.csv")
    assert set(summary.part) == set(E.PARTS) and summary.value.dtype == float
    df = pd.read_parquet(run / "results.parquet")
    assert list(df["exp.comp_params"].iloc[0]) == [40, 120]  # config columns are typed: lists stay lists
    assert list(df[df.kind == "fit"].sizes.iloc[0]) == [4, 7, 1]


def test_analysis_over_seeds(tiny_run, tiny_exp):
    df = load_results(tiny_run)
    assert sorted(df.seed.unique()) == [0, 1]
    tables = analyze.summaries(df, report=lambda line: None)
    assert sorted(tables["depth_separation"].seed.unique()) == [0, 1]
    figs = E.figures(df, tiny_exp.exp)
    assert set(figs) == FIGURES
    for fig in figs.values():
        plt.close(fig)


@pytest.mark.parametrize("override, message", [
    ("exp.bound_targets=[1.0]", "exp.bound_targets=1.0"),
    ("exp.shallow_batch_size=5000", "exp.shallow_batch_size=5000"),
    ("exp.deep_batch_size=100", "exp.deep_batch_size=100"),
    ("exp.comp_batch_size=999999", "exp.comp_batch_size=999999"),
    ("exp.comp_params=[300]", "exp.comp_params"),
    ("exp.regions_lo=2.0", "exp.regions_lo=2.0"),
    ("exp.comp_dim=6", "exp.comp_dim"),
    ("exp.part=[sawtooth,nonsense]", "exp.part"),
    ("exp.comp_nets=[wide]", "exp.comp_nets"),
])
def test_bad_config_is_one_clear_line(compose_exp, tmp_path, override, message):
    cfg = compose_exp("depth_separation", override)
    with pytest.raises(ConfigError, match="allowed") as info:
        experiments.run.run(cfg, tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "results.parquet").exists()
