"""Sweeps end to end: parallel (joblib) multirun, resume, submitit_local, the loader.

The launcher plugins come with the ``launchers`` extra, which the README's test
command installs: without them these tests fail (they do not skip).
"""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments import analyze
from experiments.results import RESULTS, load_results
from experiments.run import MAX_JOB_DIR, job_dir_name

TINY = ["+exp=article_example", "exp.steps=20", "exp.restarts=2", "exp.points=8", "progress=false"]


def sweep(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "experiments.run", "-m", *TINY, *overrides,
           f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    env = dict(os.environ, HYDRA_FULL_ERROR="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def require_launcher(plugin: str) -> None:
    """Fail, naming the extra to install, unless the Hydra launcher plugin is importable."""
    try:
        importlib.import_module(f"hydra_plugins.{plugin}")
    except ImportError as exc:
        pytest.fail(f"{plugin} is missing ({exc}): install the launchers extra, "
                    "pip install -e '.[test,launchers]'")


def job_lines(done, status):
    return [line for line in done.stderr.splitlines() if line.startswith("[job") and f"] {status} " in line]


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory):
    require_launcher("hydra_joblib_launcher")
    tmp = tmp_path_factory.mktemp("sweep")
    first = sweep(tmp, "exp.x=0.1,0.2", "seed=0,1", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    return tmp, first


def test_parallel_sweep_writes_one_result_per_job_in_named_directories(joblib_sweep):
    tmp, first = joblib_sweep
    files = sorted((tmp / "multirun").rglob(RESULTS))
    assert len(files) == 4
    names = {f.parent.name for f in files}
    fixed = "exp.points=8,exp.restarts=2,exp.steps=20"
    assert names == {f"{fixed},exp.x={x},seed={s}" for x in (0.1, 0.2) for s in (0, 1)}
    assert len(job_lines(first, "done")) == 4
    # one line per job; the summary tables stay in the files, not interleaved on the terminal
    assert "best final loss" not in first.stdout and "wrote" not in first.stdout


def test_rerun_skips_finished_jobs_and_redoes_only_missing_ones(joblib_sweep):
    tmp, _ = joblib_sweep
    files = sorted((tmp / "multirun").rglob(RESULTS))
    stamps = {f: f.stat().st_mtime_ns for f in files}
    again = sweep(tmp, "exp.x=0.1,0.2", "seed=0,1", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    assert len(job_lines(again, "skipped")) == 4 and not job_lines(again, "done")
    assert all(f.stat().st_mtime_ns == stamps[f] for f in files)

    files[0].unlink()
    (files[1].parent / f".{RESULTS}.tmp-12345").write_bytes(b"torn")  # debris of a killed job is ignored
    once = sweep(tmp, "exp.x=0.1,0.2", "seed=0,1", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    assert len(job_lines(once, "done")) == 1 and len(job_lines(once, "skipped")) == 3
    assert files[0].exists()
    assert all(f.stat().st_mtime_ns == stamps[f] for f in files[1:])


def test_loader_and_analyze_over_the_sweep(joblib_sweep, capsys):
    tmp, _ = joblib_sweep
    df = load_results(tmp / "multirun")
    assert df.run_dir.nunique() == 4
    assert {"exp", "seed", "exp.x", "exp.steps", "run_dir"} <= set(df.columns)
    assert sorted(df.groupby("run_dir")[["exp.x", "seed"]].first().itertuples(index=False)) == [
        (0.1, 0), (0.1, 1), (0.2, 0), (0.2, 1)]
    # figures pool the seeds of one swept value, never two values of exp.x
    groups = analyze.groups(df, df.attrs["configs"])
    assert [(swept, sorted(g.seed.unique()), sorted(g["exp.x"].unique())) for swept, g in groups] == [
        ({"exp.x": 0.1}, [0, 1], [0.1]), ({"exp.x": 0.2}, [0, 1], [0.2])]

    assert analyze.main([str(tmp / "multirun"), "--out", str(tmp / "analysis")]) == 0
    assert "== article_example, seed 1, exp.x=0.2 ==" in capsys.readouterr().out
    # <out>/<exp>_summary.csv: every run's tidy summary, seed and swept keys first
    summary = pd.read_csv(tmp / "analysis" / "article_example_summary.csv")
    assert list(summary.columns[:4]) == ["seed", "exp.x", "part", "quantity"] and summary.value.dtype == float
    for run_dir, run in df.groupby("run_dir"):
        seed, x = run.seed.iloc[0], run["exp.x"].iloc[0]
        own = pd.read_csv(Path(run_dir) / "summary.csv")
        block = summary[(summary.seed == seed) & (summary["exp.x"] == x)]
        assert block.quantity.tolist() == own.quantity.tolist() and block.value.tolist() == own.value.tolist()
    value = summary.set_index(["seed", "exp.x", "quantity"]).value
    for seed in (0, 1):  # the point moved, the training did not
        assert value[seed, 0.1, "network output"] != value[seed, 0.2, "network output"]
        assert value[seed, 0.1, "best final training loss"] == value[seed, 0.2, "best final training loss"]
    # <out>/<exp>/<swept values>/<figure>.png: one set of figures per value of exp.x
    figures = sorted(p.relative_to(tmp / "analysis").as_posix() for p in (tmp / "analysis").rglob("*.png"))
    assert figures == [f"article_example/exp.x={x}/{name}.png" for x in (0.1, 0.2) for name in ("fit", "network")]
    assert all((tmp / "analysis" / f).stat().st_size > 10_000 for f in figures)


def test_analyze_draws_unswept_runs_into_all(joblib_sweep, tmp_path):
    tmp, _ = joblib_sweep
    one_x = [f.parent for f in (tmp / "multirun").rglob(RESULTS) if "exp.x=0.1" in f.parent.name]
    for run_dir in one_x:
        shutil.copytree(run_dir, tmp_path / "tree" / run_dir.name)
    assert analyze.main([str(tmp_path / "tree"), "--out", str(tmp_path / "analysis")]) == 0
    assert sorted(p.name for p in (tmp_path / "analysis" / "article_example" / "all").iterdir()) == [
        "fit.png", "network.png"]
    summary = pd.read_csv(tmp_path / "analysis" / "article_example_summary.csv")
    assert summary.columns[0] == "seed" and "exp.x" not in summary and sorted(summary.seed.unique()) == [0, 1]


def test_corrupt_results_file_is_reported_and_skipped(joblib_sweep, tmp_path):
    tmp, _ = joblib_sweep
    tree = tmp_path / "copy"
    shutil.copytree(tmp / "multirun", tree)
    bad = sorted(tree.rglob(RESULTS))[0]
    bad.write_bytes(bad.read_bytes()[:100])
    lines = []
    df = load_results(tree, report=lines.append)
    assert df.run_dir.nunique() == 3
    assert len(lines) == 1 and str(bad) in lines[0]
    assert df.attrs["skipped"][0][0] == str(bad)


def test_submitit_local_sweep_completes(tmp_path):
    require_launcher("hydra_submitit_launcher")
    sweep(tmp_path, "seed=0,1", "hydra/launcher=slurm_local")
    assert len(list((tmp_path / "multirun").rglob(RESULTS))) == 2


def test_job_dir_names_stay_short_distinct_and_deterministic():
    short = "exp.n=3,seed=1"
    assert job_dir_name(short) == short and job_dir_name("") == "default"
    long_a = "exp.widths=[" + ",".join(map(str, range(1, 80))) + "]"
    long_b = long_a.replace("[1,", "[2,")
    names = {job_dir_name(o) for o in (long_a, long_b, "exp.file=a/b", "exp.file=a_b")}
    assert len(names) == 4 and all(len(n) <= MAX_JOB_DIR and "/" not in n for n in names)
    assert job_dir_name(long_a) == job_dir_name(long_a) and job_dir_name(long_a).startswith("exp.widths=[1,2,3")


def test_long_override_list_runs_in_a_hashed_directory(tmp_path):
    # (the name is deterministic, see above, so a rerun finds the job like any other)
    weights = "exp.weights=[" + ",".join(repr(round(0.123456789 * (i + 1), 9)) for i in range(12)) + "]"
    first = sweep(tmp_path, weights, "exp.y=0.75", "seed=3")
    files = list((tmp_path / "multirun").rglob(RESULTS))
    assert len(files) == 1 and len(job_lines(first, "done")) == 1
    overrides = f"exp.points=8,exp.restarts=2,exp.steps=20,{weights},exp.y=0.75,seed=3"
    assert files[0].parent.name == job_dir_name(overrides) != overrides
