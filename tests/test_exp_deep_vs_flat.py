"""End to end: the deep_vs_flat experiment at tiny sizes, its contract (summarize and figures
on compute's own output), its config checks and its analysis over seeds."""


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import experiments.run
from nnlab import bilinear as BL
from nnlab import bilinear_net as BN
from nnlab import multiply as MU
from experiments import analyze
from experiments import deep_vs_flat as E
from experiments.deep_vs_flat import matmul
from experiments.deep_vs_flat.gate import float64_forward
from experiments.results import load_results
from experiments.schema import ConfigError
from expcheck import assert_contract, assert_yaml_keys_are_the_schema, compose_tiny, run_seeds

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
    "exp.matmul_n=[2]", "exp.matmul_lambdas=[0.001,0.002]", "exp.matmul_samples=2", "exp.square_widths=[7]",
    "exp.square_restarts=2", "exp.square_steps=3",
]
FIGURES = {"flatten", "factorizations", "gate", "neurons", "dynamics", "dynamics_random", "l4", "matmul_counts",
           "matmul_error", "matmul_square"}
HEADLINES = ["flatten", "factorizations: weights", "factorizations: the Hadamard", "multiplication: the 4-neuron",
             "multiplication: the product", "dynamics", "l4", "matmul: n x n", "matmul: the article's claim",
             "matmul: least width", "matmul: the square nets"]


def test_yaml_keys_are_the_schema():
    assert_yaml_keys_are_the_schema("deep_vs_flat", E.SCHEMA)


@pytest.fixture(scope="module")
def tiny_exp():
    return compose_tiny("deep_vs_flat", TINY)


@pytest.fixture(scope="module")
def computed(tiny_exp):
    """compute's own output for seed 0: no runner columns."""
    return E.compute(tiny_exp.exp, 0, False)


@pytest.fixture(scope="module")
def tiny_run(tiny_exp, tmp_path_factory):
    """Two seeds of the tiny config through the runner, each in its own run directory."""
    return run_seeds(tiny_exp, tmp_path_factory.mktemp("deep_vs_flat"))


def test_summarize_and_figures_work_on_compute_output(computed, tiny_exp):
    summary = assert_contract(E, computed, tiny_exp.exp, HEADLINES, FIGURES)
    table = summary.table
    product = next(t for title, t in summary.headline.items() if title.startswith("multiplication: the product"))
    assert product.n.tolist() == [2, 3] and product["tree neurons"].tolist() == [4, 9]
    assert {"shallow width, error <= 0.5", "shallow width, error <= 0.1"} <= set(product.columns)
    tree = table[table.quantity == "hidden neurons of the deep tree of gates"]
    assert tree.set_index("n").value.to_dict() == {2: 4.0, 3: 9.0}


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
    assert len(modes) == 2 * 3 * 2 * 21  # inits (aligned, random) x depths x modes x (records + 1)
    aligned = modes[modes.init == "aligned"]
    two = aligned[aligned.depth == 2]
    assert ((two.u_sim - two.u_theory).abs() / two.s).max() < 0.05
    assert ((aligned.u_sim - aligned.u_gd).abs() / aligned.s).max() < 1e-4
    assert modes[modes.depth == 3].u_theory.isna().all()
    l4 = dyn[dyn.kind == "l4"]
    assert len(l4) == 3 * 4 and set(l4.depth) == {1, 2} and set(l4.problem) == {0, 1, 2}  # l4_problems: 3


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
    ("exp.matmul_n=[2,6]", "exp.matmul_n=6"),
    ("exp.matmul_n=[32]", "exp.matmul_n=[32]"),
    ("exp.matmul_lambdas=[0.01,0.01]", "exp.matmul_lambdas"),
    ("exp.square_method=adam", "exp.square_method"),
    ("exp.gate_activation=relu", "exp.gate_activation"),
])
def test_bad_config_is_one_clear_line(compose_exp, tmp_path, override, message):
    cfg = compose_exp("deep_vs_flat", override)
    with pytest.raises(ConfigError, match="allowed") as info:
        experiments.run.run(cfg, tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "results.parquet").exists()


# ----------------------------------------------------------------------------- matmul


def test_matmul_nets_compute_their_gates_exactly():
    """n = 2 and 4, every form: the net's output is sum_t W_t m(U_t a, V_t b), m the 4-neuron gate
    evaluated on its own (an identity: only float64 rounding differs), and its error against A @ B
    is the gates' leading term C lambda^2 x y (x^2 + y^2) to O(lambda^4)."""
    for n in (2, 4):
        A, B = np.random.default_rng(n).uniform(-1, 1, size=(2, 5, n, n))
        for form in matmul.FORMS:
            alg = matmul.algorithm(form, n)
            assert BL.is_exact(alg), form  # Brent's equations, exact in integers
            for lam in (4e-3, 1.6e-2):
                rounding = 1e-13 / lam**2  # ~100 x eps f(b) / (f''(b) lambda^2): the read-out's gain amplifies it
                net = matmul.network(form, n, lam, "sigmoid")
                out = BN.evaluate(net, A, B, backend="numpy")
                x, y = BL.factors(alg, A, B)
                m = float64_forward(MU.gate(lam).params, np.stack([x.ravel(), y.ravel()], 1), "sigmoid")
                by_gates = (m.reshape(x.shape) @ alg.W).reshape(A.shape)
                assert np.abs(out - by_gates).max() < rounding, (form, n, lam)
                err, lead = out - A @ B, BN.predicted_error(alg, A, B, lam)
                assert np.abs(err - lead).max() < 5 * lam**2 * np.abs(lead).max() + rounding, (form, n, lam)


def test_matmul_counts_are_the_closed_forms(computed):
    counts = computed[(computed.part == "matmul") & (computed.kind == "counts")].set_index("form")
    assert sorted(counts.index) == sorted(matmul.FORMS) and set(counts.n) == {2}
    for cost in matmul.COSTS:
        assert (counts[cost] == counts[f"{cost}_formula"]).all(), cost
    # by hand at n = 2: a gate neuron has 2 input edges and a bias edge, sends 4 x (outputs its product enters)
    assert counts.loc["naive_flat", ["gate_neurons", "weights"]].tolist() == [32, 8 * 4 * 3 + 8 * 4]
    assert counts.loc["strassen_flat", ["gate_neurons", "weights"]].tolist() == [28, 4 * (12 + 12) + 4 * 7 + 4 * 12]
    # deep: sums (nnz U + nnz V edges), gates (3 edges each), products (4 each), recombining (nnz W)
    assert counts.loc["strassen_deep", ["hidden_neurons", "weights", "weight_layers"]].tolist() == \
        [14 + 28 + 7, 24 + 28 * 3 + 28 + 12, 4]
    assert (counts.nonlinear_layers == 1).all() and (counts.products == [8, 8, 7, 7]).all()


def test_matmul_asymptotic_formulas_are_the_leading_terms():
    n = 2**20
    for form, costs in matmul.ASYMPTOTIC.items():
        for cost, (coef, e) in costs.items():
            assert BL.formula_counts(form, n)[cost] / (coef * n**e) == pytest.approx(1, abs=1e-3), (form, cost)
    assert BL.crossover("weights", "strassen_deep") == 16 and BL.crossover("weights", "strassen_flat") is None
    assert BL.crossover("gate_neurons", "strassen_flat") == 2 and BL.crossover("hidden_neurons", "strassen_deep") == 256


def test_matmul_summary_states_the_claim(computed, tiny_exp):
    summary = E.summarize(computed, tiny_exp.exp)
    title, claim = next((t, v) for t, v in summary.headline.items() if t.startswith("matmul: the article's claim"))
    assert "depth reduces weights (nonzero edges); keeps gate (nonlinear) neurons" in title
    claim = claim.set_index("cost")
    assert claim.loc["weights (nonzero edges)", "strassen_deep < naive_flat from n"] == 16
    assert claim.loc["weights (nonzero edges)", "strassen_flat < naive_flat from n"] == "never"
    assert claim.loc["gate (nonlinear) neurons", "strassen_flat"] == claim.loc["gate (nonlinear) neurons",
                                                                              "strassen_deep"] == 28
    errors = summary.table[summary.table.quantity.str.startswith("error exponent")]
    assert len(errors) == 4 and np.allclose(errors.value, 2.0, atol=0.01)
    nets = next(v for t, v in summary.headline.items() if t.startswith("matmul: the square nets"))
    assert nets.net.tolist() == ["Strassen, two squares per product"]  # nothing found at width 7
    assert nets["rounded: exact in rationals"].tolist() == ["yes"]


def test_matmul_part_alone_finds_and_verifies_width_fourteen(compose_exp, tmp_path):
    cfg = compose_exp("deep_vs_flat", "exp.part=matmul", "exp.matmul_n=[2,4]", "exp.matmul_lambdas=[0.001,0.002]",
                      "exp.matmul_samples=2", "exp.square_widths=[7,14]", "exp.square_restarts=4",
                      "exp.square_steps=100", "exp.square_seed=0")
    experiments.run.run(cfg, tmp_path, verbose=False)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert set(df.part) == {"matmul"}
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["matmul_counts.png", "matmul_error.png",
                                                              "matmul_square.png"]
    square = df[df.kind == "square"]
    assert len(square) == 8 and (square.search_seed == 0).all()
    assert not square[square.width == 7].exact.any() and square[square.width == 7].rel_error.min() > 0.1
    assert square[square.width == 14].exact.any() and matmul.least_width(square) == 14
    found = df[(df.kind == "square_net") & (df.net == "found by training")].iloc[0]
    assert found.width == 14 and found.fresh_error < 1e-6 and found.exact_residual < 1e-12
    summary = pd.read_csv(tmp_path / "summary.csv")
    least = summary[summary.quantity.str.startswith("square search: least width")]
    assert least.value.tolist() == [14.0] and least.reference.tolist() == [10.0]
