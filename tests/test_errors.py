"""Bad input, interruption and reproducibility, through the command line.

Every user mistake must give exit code 2, one line on stderr naming the key,
and no files. Experiments add their own bad inputs to BAD_INPUTS.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import experiments
from experiments import run as runner
from experiments.results import RESULTS, read_meta

# (argv, key the message must name)
BAD_INPUTS = [
    (["+exp=article_example", "exp.lr=-1"], "exp.lr"),
    (["+exp=article_example", "exp.lr=nan"], "exp.lr"),
    (["+exp=article_example", "exp.lr=inf"], "exp.lr"),
    (["+exp=article_example", "exp.steps=0"], "exp.steps"),
    (["+exp=article_example", "exp.steps=ten"], "exp.steps"),
    (["+exp=article_example", "exp.restarts=0"], "exp.restarts"),
    (["+exp=article_example", "exp.hidden=softsign"], "exp.hidden"),
    (["+exp=article_example", "exp.output=step"], "exp.output"),
    (["+exp=article_example", "exp.schedule=cosine"], "exp.schedule"),
    (["+exp=article_example", "exp.target=square"], "exp.target"),
    (["+exp=article_example", "exp.points=1"], "exp.points"),
    (["+exp=article_example", "exp.batch_size=1000"], "exp.batch_size"),
    (["+exp=article_example", "exp.weights=[1,2]"], "exp.weights"),
    (["+exp=article_example", "exp.weights=1.5"], "exp.weights"),
    (["+exp=article_example", "exp.part=neurons"], "exp.part"),
    (["+exp=article_example", "exp.part=[network,fit]"], "exp.part"),
    (["+exp=article_example", "exp.foo=1"], "exp.foo"),
    (["+exp=article_example", "+exp.foo=1"], "exp.foo"),
    (["+exp=article_example", "seed=-1"], "seed"),
    (["+exp=article_example", "seed=abc"], "seed"),
    (["+exp=article_example", "force=maybe"], "force"),
    (["+exp=article_example", "colour=blue"], "colour"),
    (["+exp=nonexistent"], "exp"),
    ([], "exp"),
    (["-m", "+exp=article_example", "exp.lr=0.1,-5"], "exp.lr"),
    (["+exp=boolean_width", "exp.part=exact", "exp.n=6"], "exp.n"),
    (["+exp=boolean_width", "exp.n=0"], "exp.n"),
    (["+exp=boolean_width", "exp.part=guess"], "exp.part"),
    (["+exp=boolean_width", "exp.mode=exact"], "exp.mode: renamed to exp.part"),
    (["+exp=boolean_width", "exp.family=xor"], "exp.family"),
    (["+exp=boolean_width", "exp.widths=[0,2]"], "exp.widths"),
    (["+exp=boolean_width", "exp.lr=0"], "exp.lr"),
    (["+exp=boolean_width", "exp.nn=3"], "exp.nn"),
    (["-m", "+exp=boolean_width", "exp.restarts=4,0"], "exp.restarts"),
    (["+exp=deep_vs_flat", "exp.part=depth"], "exp.part"),
    (["+exp=deep_vs_flat", "exp.dyn_lr=-0.1"], "exp.dyn_lr"),
    (["+exp=deep_vs_flat", "exp.gate_activation=relu"], "exp.gate_activation"),
    (["+exp=deep_vs_flat", "exp.factor_n=[12]"], "exp.factor_n"),
    (["+exp=local_minima", "exp.task=and"], "exp.task"),
    (["+exp=local_minima", "exp.hidden=softplus"], "exp.hidden"),
    (["+exp=local_minima", "exp.loss=hinge"], "exp.loss"),
    (["+exp=local_minima", "exp.schedule=cosine"], "exp.schedule"),
    (["+exp=local_minima", "exp.init=xavier"], "exp.init"),
    (["+exp=local_minima", "exp.restarts=0"], "exp.restarts"),
    (["+exp=local_minima", "exp.lr=.inf"], "exp.lr"),
]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv, key", BAD_INPUTS, ids=[" ".join(a) or "no-args" for a, _ in BAD_INPUTS])
def test_bad_input_gives_one_line_naming_the_key_and_writes_nothing(argv, key, in_tmp, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["experiments.run", *argv, "progress=false"])
    with pytest.raises(SystemExit) as exit_:
        runner.cli()
    assert exit_.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {key}") and "allowed" in err[0], err[0]
    assert not [p for p in in_tmp.rglob("*") if p.is_file()], "files were written"


def test_every_experiment_config_matches_its_schema(compose_exp):
    from omegaconf import OmegaConf

    for name in experiments.available():
        exp = OmegaConf.to_container(compose_exp(name).exp)
        assert set(exp) - {"name"} == set(experiments.get(name).SCHEMA), name
        runner.validate(compose_exp(name))  # the defaults are valid


def _cli(tmp_path, *overrides, **kw):
    cmd = [sys.executable, "-m", "experiments.run", "+exp=article_example", "exp.points=8",
           "progress=false", f"hydra.run.dir={tmp_path / 'run'}", *overrides]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_sigint_stops_with_one_line_leaves_no_torn_file_and_rerun_finishes(tmp_path):
    proc = _cli(tmp_path, "exp.steps=3000000", "exp.restarts=4")
    started = tmp_path / "run" / ".hydra" / "config.yaml"  # Hydra writes it as the job starts
    deadline = time.monotonic() + 180
    while not started.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the job did not start"
        time.sleep(0.2)
    time.sleep(3)  # inside the job: compiling or well inside the long training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and err.strip().splitlines()[-1].startswith("interrupted")
    assert not (tmp_path / "run" / RESULTS).exists()
    assert not list((tmp_path / "run").glob(".*.tmp-*"))
    proc = _cli(tmp_path, "exp.steps=30", "exp.restarts=4")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    assert (tmp_path / "run" / RESULTS).exists()


def test_same_seed_gives_bit_identical_tables_and_records_provenance(tmp_path, compose_exp):
    tables = []
    for i in range(2):
        cfg = compose_exp("article_example", "exp.steps=50", "exp.restarts=3", "exp.points=8", "seed=11")
        runner.run(cfg, tmp_path / f"r{i}")
        tables.append(pd.read_parquet(tmp_path / f"r{i}" / RESULTS))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    meta = read_meta(tmp_path / "r0" / RESULTS)
    assert meta["seed"] == 11 and meta["config"]["exp"]["steps"] == 50
    assert {"nnlab_version", "jax_version", "numpy_version", "git_commit"} <= set(meta)
    other = compose_exp("article_example", "exp.steps=50", "exp.restarts=3", "exp.points=8", "seed=12")
    runner.run(other, tmp_path / "r2")
    assert not pd.read_parquet(tmp_path / "r2" / RESULTS).equals(tables[0])


def test_a_failed_write_leaves_no_results_file(tmp_path, compose_exp, monkeypatch):
    import pyarrow.parquet as pq

    def broken(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    cfg = compose_exp("article_example", "exp.steps=5", "exp.restarts=1", "exp.points=8")
    with pytest.raises(OSError, match="disk full"):
        runner.run(cfg, tmp_path)
    assert not (tmp_path / RESULTS).exists()
    assert not list(tmp_path.glob(".*.tmp-*"))


KILL_WHILE_WRITING = """
import sys, time
import pandas as pd, pyarrow.parquet as pq
from experiments import results

def half_then_hang(table, where, **kw):
    open(where, "wb").write(b"PAR1 only the first half")
    print("writing", flush=True)
    time.sleep(600)

pq.write_table = half_then_hang
results.write_parquet(sys.argv[1], pd.DataFrame({"a": [1, 2]}), {"config": {}})
"""


@pytest.mark.parametrize("had_old_results", [False, True])
def test_sigkill_while_writing_leaves_no_torn_results_file(tmp_path, had_old_results):
    from experiments.results import is_finished, load_results, write_parquet

    path = tmp_path / RESULTS
    if had_old_results:
        write_parquet(path, pd.DataFrame({"a": [0]}), {"config": {"old": True}})
    proc = subprocess.Popen([sys.executable, "-c", KILL_WHILE_WRITING, str(path)],
                            stdout=subprocess.PIPE, text=True)
    with proc.stdout:
        assert proc.stdout.readline().strip() == "writing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert list(tmp_path.glob(f".{RESULTS}.tmp-*")), "the half-written file was the temporary one"
    if had_old_results:
        assert read_meta(path)["config"] == {"old": True}  # the old complete file is intact
        assert pd.read_parquet(path).a.tolist() == [0]
    else:
        assert not path.exists()
        assert not is_finished(tmp_path, {"old": True})
        assert load_results(tmp_path, report=lambda line: None).empty


def test_a_sweep_with_one_absurd_step_size_finishes_with_its_restarts_marked_diverged(tmp_path):
    small = ["+exp=local_minima", "exp.hidden=sigmoid", "exp.widths=[2]", "exp.restarts=16", "exp.steps=200",
             "exp.checkpoints=2", "exp.part=restarts", "progress=false"]
    cmd = [sys.executable, "-m", "experiments.run", "-m", *small, "exp.lr=4,1e30", f"hydra.sweep.dir={tmp_path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs, diverged = {}, {}
    for path in tmp_path.rglob(RESULTS):
        df = pd.read_parquet(path)
        lr = float(df["exp.lr"].iloc[0])
        summary = pd.read_csv(path.parent / "summary.csv")
        runs[lr] = df[df.kind == "restart"]
        diverged[lr] = summary.loc[summary.quantity == "restarts diverged", "value"].tolist()
    assert sorted(runs) == [4.0, 1e30]
    assert (runs[1e30].status == "diverged").all() and len(runs[1e30]) == 16
    assert not (runs[4.0].status == "diverged").any() and len(runs[4.0]) == 16
    assert diverged == {1e30: [16.0], 4.0: [0.0]}  # one width: one count each
