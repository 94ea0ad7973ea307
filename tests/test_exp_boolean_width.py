"""The boolean_width experiment end to end, at tiny sizes, through Hydra's compose API."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import experiments.boolean_width as E
from experiments.run import run, validate
from experiments.schema import ConfigError
from nnlab import boolean as B
from nnlab import threshold as T

CONF = Path(__file__).resolve().parents[1] / "conf" / "exp" / "boolean_width.yaml"


def test_config_keys_are_the_schema():
    config = yaml.safe_load(CONF.read_text())
    assert config.pop("name") == "boolean_width"
    assert set(config) == set(E.SCHEMA)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF.parents[1]), version_base="1.3"):
        cfg = compose("config", overrides=[
            "+exp=boolean_width", "progress=false", "exp.n=[2,3]", "exp.family=[all,parity,random]",
            "exp.functions=3", "exp.widths=[1,2,3]", "exp.restarts=3", "exp.steps=400", "exp.lr=8.0"])
    out = tmp_path_factory.mktemp("boolean_width")
    assert run(cfg, out) == out / "results.parquet"
    return out, pd.read_parquet(out / "results.parquet")


def test_default_run_writes_table_summary_and_three_figures(tiny_run):
    out, df = tiny_run
    assert set(df.part) == {"construction", "exact", "learned", "theory"}
    assert df["exp.n"].iloc[0].tolist() == [2, 3]  # config columns are typed: lists stay lists
    for name in ("widths", "exact_histogram", "learned_success"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["part", "quantity", "n", "family", "width", "value"]
    assert summary.value.dtype == float
    exact3 = summary[(summary.part == "exact") & (summary.n == 3) & (summary.width == 3)]
    assert exact3.set_index("quantity").value.to_dict() == {
        "functions of least width": 2, "NPN classes of least width": 1}  # parity and its complement


def test_construction_rows(tiny_run):
    _, df = tiny_run
    c = df[df.part == "construction"]
    assert c.correct.astype(bool).all()
    every3 = c[(c.n == 3) & (c.family == "all")]
    assert len(every3) == 256
    assert (every3.width == [bin(int(f, 16)).count("1") for f in every3.function]).all()


def test_exact_rows_match_the_library(tiny_run):
    _, df = tiny_run
    e = df[df.part == "exact"]
    for n in (2, 3):
        rows = e[e.n == n]
        assert len(rows) == 2 ** 2**n
        assert rows.proven.astype(bool).all() and rows.verified.astype(bool).all()
        by_function = dict(zip(rows.function, rows.min_width))
        assert by_function[B.to_hex(B.parity(n), n)] == n
        assert by_function[B.to_hex(B.majority(n), n)] == 1
        assert by_function[B.to_hex(0, n)] == 0
        np.testing.assert_array_equal(rows.min_width.to_numpy(), T.min_widths(n).width)


def test_learned_rows_and_the_direction_theory_allows(tiny_run):
    _, df = tiny_run
    lr = df[df.part == "learned"]
    functions = {2: 16 + 1 + 3, 3: 256 + 1 + 3}
    assert len(lr) == sum(functions.values()) * 3 * 3  # functions x widths x restarts
    assert set(lr.columns) >= {"family", "function", "width", "restart", "final_loss", "accuracy", "solved"}
    assert lr.final_loss.notna().all() and (lr.solved == (lr.accuracy == 1.0)).all()
    # one sigmoid unit still gives a threshold function of the inputs: nothing else is solved at width 1
    solved_at_1 = lr[(lr.width == 1) & lr.solved.astype(bool)]
    assert len(solved_at_1) and (solved_at_1.threshold_width <= 1).all()
    # most threshold functions are learned with one unit, and XOR with two
    xor = lr[(lr.n == 2) & (lr.function == B.to_hex(B.parity(2), 2))]
    assert xor[xor.width == 2].solved.any()


def test_theory_rows(tiny_run):
    _, df = tiny_run
    t = df[df.part == "theory"].set_index(["n", "bound"]).width
    assert t[(3, "construction")] == 8 and t[(3, "construction_smaller_side")] == 4
    assert t[(3, "counting")] == T.counting_lower_bound(3) <= 3


def test_headline_is_the_n_by_width_table(tiny_run, compose_exp):
    _, df = tiny_run
    summary = E.summarize(df, compose_exp("boolean_width").exp)
    exact = next(t for title, t in summary.headline.items() if title.startswith("exact"))
    assert exact.columns.tolist() == ["n", "functions", "width 0", "width 1", "width 2", "width 3", "mean", "proven"]
    assert exact.set_index("n").loc[3, ["width 0", "width 1", "width 2", "width 3"]].tolist() == [2, 102, 150, 2]


def test_figures_over_several_seeds(tiny_run):
    _, df = tiny_run
    two = pd.concat([df, df.assign(seed=1)], ignore_index=True)
    assert set(E.figures(two)) == {"widths", "exact_histogram", "learned_success"}


def test_n5_per_npn_class_in_shards_with_witnesses_that_verify_from_the_file(compose_exp, tmp_path):
    """One shard of the n = 5 classes: every class's least width with a witness network of that width;
    the stored witnesses re-check from the results file alone, and a corrupted one is caught."""
    from experiments import analyze
    from nnlab.npn_classes import npn_classes

    cfg = compose_exp("boolean_width", "exp.part=exact", "exp.n=5", "exp.shards=64", "exp.shard=5")
    run(cfg, tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert (df.kind == "class").all() and len(df) == len(npn_classes(5, 5, 64).rep)
    known = df[df.min_width.notna()]
    assert len(known) == len(df) and {2, 3, 4} <= set(known.min_width) <= {1, 2, 3, 4, 5}
    assert (known.min_width == known.width_upper).all() and (known.min_width == known.width_lower).all()
    assert known.verified.all() and (known.witness_hidden.map(len) == known.min_width).all()
    assert analyze.main([str(tmp_path), "--verify"]) == 0
    broken = df.copy()
    i = known.index[0]
    broken.at[i, "witness_out_b"] = broken.at[i, "witness_out_b"] + 5  # now a constant network
    broken.to_parquet(tmp_path / "results.parquet")
    checks = E.verify(broken.assign(exp="boolean_width"))
    assert checks.set_index("check").failed.iloc[0] == 1


def test_bad_configs_are_one_line_errors(compose_exp):
    cases = [
        (("exp.part=exact", "exp.n=6"), "exp.n=6"),
        (("exp.part=exact", "exp.n=5", "exp.shards=4", "exp.shard=4"), "exp.shard=4"),
        (("exp.part=[exact,theory]", "exp.n=5", "exp.shards=4"), "exp.shards=4"),
        (("exp.part=exact", "exp.n=5", "exp.shortcuts=true"), "exp.shortcuts=true"),
        (("exp.part=learned", "exp.n=9"), "exp.n=9"),
        (("exp.family=all", "exp.n=[3,4]"), "exp.family=all"),
        (("exp.functions=17", "exp.n=2"), "exp.functions=17"),
        (("exp.part=nonsense",), "exp.part"),
        (("exp.n=13",), "exp.n=13"),
        (("+exp.mode=exact",), "exp.mode: renamed to exp.part"),
    ]
    for overrides, key in cases:
        with pytest.raises(ConfigError, match=key) as err:
            validate(compose_exp("boolean_width", *overrides))
        assert "\n" not in str(err.value) and "allowed" in str(err.value)
    validate(compose_exp("boolean_width", "exp.part=exact", "exp.n=4", "exp.shortcuts=true"))
    validate(compose_exp("boolean_width", "exp.part=[construction,theory]", "exp.n=12"))
