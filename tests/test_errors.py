"""Bad input, bugs, resume, interruption and reproducibility, through the command line.

Every user mistake must give exit code 2, one line on stderr naming the key,
and no files, also for any job of a sweep. Experiments add their own bad inputs to
BAD_INPUTS. (The fuzzer is tests/test_fuzz.py, the whole-sweep plan
tests/test_plan.py, disks, locks and SIGKILL tests/test_faults.py.)
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import experiments
from experiments import config as config_module
from experiments import run as runner
from experiments.config import code_at_start
from experiments.results import RESULTS, read_meta
from experiments.schema import ConfigError

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
    (["+exp=article_example", "seed=4294967296"], "seed"),  # key(2**32) == key(0) without 64-bit mode
    (["+exp=article_example", "seed=9223372036854775808"], "seed"),  # overflows in jax.random.key
    (["+exp=article_example", "seed=1.5"], "seed"),
    (["+exp=article_example", "exp.weights=[0.5]"], "exp.weights"),
    (["+exp=article_example", "exp.weights=[1,2,3,4,5,6,7,8,9,10,11,nan]"], "exp.weights"),
    (["+exp=article_example", "exp.x=1000000000000000000000000000000"], "exp.x"),  # beyond int64: write 1e30
    (["+exp=article_example", "exp.x=[0.5]"], "exp.x"),
    (["+exp=article_example", "exp.x=''"], "exp.x"),
    (["+exp=article_example", "exp.points=[8]"], "exp.points"),
    (["+exp=article_example", "exp.batch_size=100001"], "exp.batch_size"),
    (["-m", "+exp=article_example", "seed=range(0,0)"], "seed=range(0,0): sweeps over no value"),
    (["-m", "+exp=article_example", "exp.points=4,16", "exp.batch_size=8"], "exp.batch_size=8: larger"),
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
    (["+exp=boolean_width", "exp.functions=[2]"], "exp.functions"),
    (["+exp=boolean_width", "exp.n=[2,[3]]"], "exp.n"),
    (["-m", "+exp=boolean_width", "exp.part=exact", "exp.n=3,6"], "exp.n=6: too large"),
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
    (["+exp=local_minima", "exp.batch_size=10000000"], "exp.batch_size"),
    (["-m", "+exp=local_minima", "exp.steps=1000,1001", "exp.checkpoints=10"], "exp.steps=1001: not a multiple"),
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


# Ctrl-C reaches a process whose SIGINT is at its default. A test run started in the background of a
# non-interactive shell (`cmd &`) has SIGINT ignored (POSIX), and every process it starts inherits that:
# so the job is started through exec with SIGINT back at its default, as from a terminal.
AS_FROM_A_TERMINAL = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.argv[1], sys.argv[1:])"]


def _cli(tmp_path, *overrides, **kw):
    cmd = [*AS_FROM_A_TERMINAL, sys.executable, "-m", "experiments.run", "+exp=article_example", "exp.points=8",
           "progress=false", f"hydra.run.dir={tmp_path / 'run'}", *overrides]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_sigint_stops_with_one_line_leaves_no_torn_file_and_rerun_finishes(tmp_path):
    proc = _cli(tmp_path, "exp.steps=10000000", "exp.restarts=4")  # ~25 s: the signal comes well inside
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


# ---------------------------------------------------------------- types, shapes, ranges


def test_fields_check_types_shapes_and_ranges():
    from experiments.schema import INT_RANGE, ConfigError, Field

    weights = Field(float, list_only=True, length=3, nullable=True)
    weights.check("w", [1, 2.5, -3])
    weights.check("w", None)
    for bad in (0.5, [], [1, 2], [1, 2, 3, 4], [1, 2, float("nan")], [1, 2, "3"], [1, 2, [3]], [1, 2, True], "1,2,3"):
        with pytest.raises(ConfigError, match=r"^w=.*allowed: a list of 3 finite numbers, or null$"):
            weights.check("w", bad)
    widths = Field(int, low=1, high=64, many=True)
    widths.check("n", 3), widths.check("n", [1, 64])
    for bad in (0, 65, 2.0, True, [1, 65], [[1]], {"a": 1}, "3", None):
        with pytest.raises(ConfigError, match="allowed: integers 1..64, or a list of them"):
            widths.check("n", bad)
    number = Field(float)
    number.check("x", 1e308), number.check("x", INT_RANGE[1]), number.check("x", -5)
    for bad in (float("inf"), float("nan"), INT_RANGE[1] + 1, 10**400, [0.5], "0.5", False):
        with pytest.raises(ConfigError, match="allowed: finite numbers$"):
            number.check("x", bad)
    unbounded = Field(int, low=1)
    unbounded.check("k", INT_RANGE[1])
    with pytest.raises(ConfigError, match="allowed: integers 1..9223372036854775807"):
        unbounded.check("k", INT_RANGE[1] + 1)
    with pytest.raises(ConfigError) as error:  # a value is shown on one short line
        Field(str, choices=("a",)).check("s", "line\nbreak " + "x" * 500)
    assert "\n" not in str(error.value) and len(str(error.value)) < 200


def test_a_number_where_a_list_is_expected_is_refused_by_the_schema(in_tmp, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["experiments.run", "+exp=article_example", "exp.weights=0.5"])
    with pytest.raises(SystemExit):
        runner.cli()
    assert capsys.readouterr().err.strip() == (
        "error: exp.weights=0.5: not allowed; allowed: a list of 12 finite numbers, or null")


def test_every_int_of_every_schema_is_bounded_and_list_only_keys_have_lists_by_default(compose_exp):
    """No integer beyond int64 reaches an experiment; a key that needs a list gets a list."""
    from omegaconf import OmegaConf

    from experiments.schema import INT_RANGE, TOP_SCHEMA

    for name in experiments.available():
        exp = OmegaConf.to_container(compose_exp(name).exp)
        for key, field in experiments.get(name).SCHEMA.items():
            if field.list_only and exp[key] is not None:
                assert isinstance(exp[key], list), (name, key)
            if field.type is int:
                with pytest.raises(ConfigError):
                    field.check(key, INT_RANGE[1] + 1)
    assert TOP_SCHEMA["seed"].high == 2**32 - 1


def test_the_seed_range_is_what_jax_random_key_tells_apart():
    """Seeds 0..2**32-1: jax.random.key accepts each and gives each its own key, with or
    without 64-bit mode (experiments run without it: there 2**32 would be the key of 0)."""
    import jax

    from experiments.schema import SEED_MAX

    for x64 in (False, True):
        with jax.enable_x64(x64):
            data = lambda seed: jax.random.key_data(jax.random.key(seed)).tolist()
            assert data(SEED_MAX) != data(0) and data(SEED_MAX) != data(SEED_MAX - 1)
            assert (data(SEED_MAX + 1) == data(0)) is not x64
            with pytest.raises(OverflowError):
                jax.random.key(2**63)


# ---------------------------------------------------------------- a bug inside a job


def _buggy(monkeypatch, bad_seed: int):
    import experiments.local_minima as M

    real = M.compute

    def compute(exp, seed, progress):
        if seed == bad_seed:
            raise TypeError("unsupported operand\nsecond line")
        return real(exp, seed, progress)

    monkeypatch.setattr(M, "compute", compute)


GRID = ["+exp=local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]", "progress=false"]


def test_a_bug_in_a_run_is_one_line_naming_it_and_its_log_the_traceback_in_the_log(in_tmp, monkeypatch, capsys):
    _buggy(monkeypatch, bad_seed=3)
    monkeypatch.setattr(sys, "argv", ["experiments.run", *GRID, "seed=3"])
    with pytest.raises(SystemExit) as exit_:
        runner.cli()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 1 and len(err) == 1, err
    job = "local_minima exp.grid_q=2,exp.hidden=[sigmoid],exp.part=bruteforce,seed=3"
    assert err[0].startswith(f"error: {job} failed: unexpected TypeError: unsupported operand second line (a bug)")
    log = Path(err[0].rsplit("traceback in ", 1)[1])
    assert log.parent == in_tmp / "results" / "local_minima" / job.split(" ")[1]
    assert "Traceback (most recent call last)" in log.read_text() and "raise TypeError" in log.read_text()
    assert not list(in_tmp.rglob(RESULTS))


def test_a_bug_in_one_job_of_a_sweep_fails_that_job_only_and_the_sweep_exits_1(in_tmp, monkeypatch, capsys):
    _buggy(monkeypatch, bad_seed=1)
    monkeypatch.setattr(sys, "argv", ["experiments.run", "-m", *GRID, "seed=0,1,2"])
    with pytest.raises(SystemExit) as exit_:
        runner.cli()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 1
    failed = [line for line in err if line.startswith("[job 1] failed")]
    assert len(failed) == 1 and ": unexpected TypeError: unsupported operand second line (a bug); traceback in " in failed[0]
    assert "raise TypeError" in Path(failed[0].rsplit("traceback in ", 1)[1]).read_text()
    assert len([line for line in err if "] done " in line]) == 2
    assert err[-1].startswith("error: 1 of 3 jobs have no results: job 1 (")
    assert sorted(p.parent.name[-6:] for p in in_tmp.rglob(RESULTS)) == ["seed=0", "seed=2"]


# ---------------------------------------------------------------- resume knows the code


def test_resume_skips_only_results_of_the_same_config_and_code(tmp_path, compose_exp, monkeypatch, capsys):
    from experiments.results import result_status

    cfg = compose_exp("local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]")
    path = runner.run(cfg, tmp_path, verbose=False)
    meta = read_meta(path)
    stamp = path.stat().st_mtime_ns
    assert meta["code_hash"] == code_at_start("local_minima")
    assert runner.run(cfg, tmp_path, verbose=False) is None and path.stat().st_mtime_ns == stamp  # skipped

    monkeypatch.setitem(config_module._CODE, "local_minima", "0123456789abcdef")  # the code changed
    assert runner.run(cfg, tmp_path, verbose=False, label="[job 4]") == path
    err = capsys.readouterr().err
    assert f"[job 4] stale: the code changed since it was computed (code {meta['code_hash']}, now 0123456789abcdef); " \
           "running it again" in err
    assert path.stat().st_mtime_ns != stamp and read_meta(path)["code_hash"] == "0123456789abcdef"
    assert runner.run(cfg, tmp_path, verbose=False) is None  # current again

    config = runner.resolved(cfg)
    assert result_status(tmp_path, config, "0123456789abcdef") == ("finished", "")
    assert result_status(tmp_path, dict(config, seed=1), "0123456789abcdef")[0] == "stale"
    old = read_meta(path)
    del old["code_hash"]  # a result written before resume compared code
    from experiments.results import write_parquet
    write_parquet(path, pd.read_parquet(path), old)
    assert result_status(tmp_path, config, "0123456789abcdef") == (
        "stale", "it records no code hash (written before resume compared code)")


def test_a_stale_result_is_removed_before_it_is_computed_again(tmp_path, compose_exp, monkeypatch):
    """If the rerun fails, no stale result is left to be mistaken for a current one."""
    import experiments.local_minima as M

    cfg = compose_exp("local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]")
    runner.run(cfg, tmp_path, verbose=False)
    monkeypatch.setitem(config_module._CODE, "local_minima", "0123456789abcdef")
    monkeypatch.setattr(M, "compute", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        runner.run(cfg, tmp_path, verbose=False)
    assert not (tmp_path / RESULTS).exists()


def test_a_sweep_reports_stale_jobs_and_reruns_them_or_refuses(in_tmp, monkeypatch, capsys):
    sweep = ["experiments.run", "-m", *GRID, "seed=0,1"]
    monkeypatch.setattr(sys, "argv", sweep)
    runner.cli()
    files = sorted(in_tmp.rglob(RESULTS))
    stamps = [f.stat().st_mtime_ns for f in files]
    capsys.readouterr()
    monkeypatch.setitem(config_module._CODE, "local_minima", "0123456789abcdef")
    monkeypatch.setattr(sys, "argv", [*sweep, "--refuse-stale"])
    with pytest.raises(SystemExit) as exit_:
        runner.cli()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(err) == 1
    assert err[0].startswith("error: --refuse-stale: job 0 (+exp=local_minima ") and "the code changed" in err[0]
    assert [f.stat().st_mtime_ns for f in files] == stamps  # nothing was rerun
    monkeypatch.setattr(sys, "argv", sweep)
    runner.cli()
    err = capsys.readouterr().err
    for num in (0, 1):
        assert f"[job {num}] stale: the code changed since it was computed" in err and f"[job {num}] done " in err
    assert all(f.stat().st_mtime_ns != s for f, s in zip(files, stamps))


def test_the_code_hash_follows_content_of_the_experiments_own_code(tmp_path):
    """Content, not times; nnlab/, the shared modules of experiments/, the experiment's
    package, the packages it imports, its configs; not other experiments, caches, hidden files."""
    from experiments.results import ROOT, code_hash

    for top in ("nnlab", "experiments", "conf"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    name = "article_example"
    other = next(n for n in experiments.available() if n != name)
    first = code_hash(name, tmp_path)
    assert first == code_hash(name, tmp_path) and len(first) == 16

    def changed(path: Path, text: str = "\n# edited\n") -> bool:
        before = code_hash(name, tmp_path)
        with open(path, "a") as f:
            f.write(text)
        return code_hash(name, tmp_path) != before

    os.utime(tmp_path / "nnlab" / "mlp.py", (0, 0))  # a date only
    assert code_hash(name, tmp_path) == first
    (tmp_path / "nnlab" / "__pycache__").mkdir(exist_ok=True)
    assert not changed(tmp_path / "nnlab" / "__pycache__" / "mlp.cpython-311.pyc")
    assert not changed(tmp_path / "experiments" / name / ".__init__.py.swp")
    assert not changed(tmp_path / "experiments" / other / "__init__.py")
    assert not changed(tmp_path / "conf" / "exp" / f"{other}.yaml")
    assert not changed(tmp_path / "conf" / "hydra" / "launcher" / "parallel.yaml")
    assert not changed(tmp_path / "experiments" / "__init__.py")  # the list of experiments
    assert changed(tmp_path / "nnlab" / "mlp.py")
    assert changed(tmp_path / "nnlab" / "new_module.py")
    assert changed(tmp_path / "experiments" / "results.py")
    assert changed(tmp_path / "experiments" / name / "summary.py")
    assert changed(tmp_path / "conf" / "config.yaml")
    assert changed(tmp_path / "conf" / "exp" / f"{name}.yaml")
    # once the experiment imports another one's package, that package is its code too
    assert changed(tmp_path / "experiments" / name / "plots.py", f"\nfrom experiments.{other} import summary\n")
    assert changed(tmp_path / "experiments" / other / "__init__.py")
    assert code_hash(None, tmp_path) != code_hash(name, tmp_path)
