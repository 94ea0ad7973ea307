"""The plan: every job of a command line composed and checked before Hydra starts.

The plan must see exactly the jobs Hydra will run (their configs and directories): it is
held against Hydra's own multirun, with a task function that records what each job got.
A bad combination of a sweep stops it with one line naming the job, exit code 2 and
nothing written; a big sweep is planned in seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig

from experiments import run as runner

SWEEPS = [
    ["+exp=article_example", "exp.x=0.1,0.2", "seed=0,1"],
    ["+exp=article_example", "seed=range(0,3)", "exp.lr=choice(1,2.5)", "exp.hidden=sigmoid,tanh"],
    ["+exp=article_example,local_minima", "exp.lr=1,2", "exp.batch_size=null,1"],
    ["+exp=boolean_width", "exp.n=2,[2,3]", "exp.part=theory,[construction,theory]", "exp.n=3,[3,4]"],  # a key twice
    ["+exp=boolean_width", "exp.widths=[1,2],[3]", "++exp.lr=2", "seed=4"],
    ["+exp=local_minima", "exp.hidden=[sigmoid],[sigmoid,tanh]", "exp.steps=40,80", "exp.checkpoints=2"],
    ["+exp=local_minima", "exp.part=restarts", "exp.task='xor','parity'", "exp.hidden='tanh'"],  # quoted values
    ["+exp=article_example", "exp.weights=null,[1,2,3,4,5,6,7,8,9,10,11,12]", "exp.y=0.25"],
    ["+exp=article_example", "seed=1,2", "hydra.job.config.override_dirname.kv_sep=:"],
    ["+exp=article_example", "seed=1,2", "hydra.sweep.subdir=${exp.name}-${hydra.job.num}-${seed}"],
    ["+exp=glob(*_example)", "exp.x=1,2"],
    ["+exp=deep_vs_flat", "exp.part=flatten,[flatten,dynamics]", "exp.fit_steps=range(1,3)"],
]


def hydras_own_jobs(argv: list[str], sweep_dir: Path, config_dir: Path | None = None,
                    config_name: str = "config") -> list[tuple[int, dict, Path]]:
    """(num, resolved config, output dir) of every job of Hydra's own multirun of ``argv``."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery
    from hydra.core.global_hydra import GlobalHydra

    seen = []

    def task(cfg):
        hydra_cfg = HydraConfig.get()
        seen.append((hydra_cfg.job.num, runner.resolved(cfg), Path(hydra_cfg.runtime.output_dir)))

    search_path = create_config_search_path(runner.CONF)
    if config_dir is not None:
        search_path.prepend("command-line", f"file://{config_dir}", anchor=SearchPathQuery(provider="schema"))
    hydra = Hydra.create_main_hydra2("run", search_path)
    try:
        hydra.multirun(config_name, task, [*argv, f"hydra.sweep.dir={sweep_dir}", "hydra.mode=MULTIRUN"])
    finally:
        GlobalHydra.instance().clear()
    return sorted(seen, key=lambda job: job[0])


def same_jobs(plan, expected):
    assert len(plan.jobs) == len(expected) > 1
    for job, (num, config, out_dir) in zip(plan.jobs, expected):
        assert job.num == num and job.config == config and job.out_dir.absolute() == out_dir, (job, num, config, out_dir)


@pytest.mark.parametrize("argv", SWEEPS, ids=[" ".join(a) for a in SWEEPS])
def test_the_plan_has_hydras_own_jobs_configs_and_directories(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = runner.plan(["-m", *argv, f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    same_jobs(plan, hydras_own_jobs(argv, tmp_path / "sweep"))


def test_the_plan_reads_the_sweepers_params_and_another_primary_config(tmp_path, monkeypatch):
    """--config-dir and --config-name as for Hydra; hydra.sweeper.params sweeps too."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mine.yaml").write_text(
        "defaults:\n  - config\n  - _self_\nhydra:\n  sweeper:\n    params:\n      seed: 5,6\n      exp.x: 0.25,0.5\n")
    monkeypatch.chdir(tmp_path)
    argv = ["+exp=article_example", "exp.y=0.5"]
    plan = runner.plan(["-m", "--config-dir", "conf", "--config-name", "mine", *argv, f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    same_jobs(plan, hydras_own_jobs(argv, tmp_path / "sweep", tmp_path / "conf", "mine"))
    assert len(plan.jobs) == 4


def test_a_single_run_plan_has_hydras_config_and_directory(tmp_path, monkeypatch, compose_exp):
    monkeypatch.chdir(tmp_path)
    plan = runner.plan(["+exp=boolean_width", "exp.n=[2,3]", "seed=5"])
    [job] = plan.jobs
    assert not plan.multirun and plan.root == job.out_dir == Path("results/boolean_width/exp.n=[2,3],seed=5")
    assert job.config == runner.resolved(compose_exp("boolean_width", "exp.n=[2,3]", "seed=5", "progress=true"))


BAD_COMBINATIONS = [
    # (argv, the message's start, the job it names)
    (["+exp=local_minima", "exp.steps=1000,1001", "exp.checkpoints=10"], "exp.steps=1001: not a multiple",
     "[job 1] of 2: +exp=local_minima exp.steps=1001 exp.checkpoints=10"),
    (["+exp=boolean_width", "exp.part=exact", "exp.n=3,6"], "exp.n=6: too large for part exact",
     "[job 1] of 2: +exp=boolean_width exp.part=exact exp.n=6"),
    (["+exp=article_example", "exp.points=4,16", "exp.batch_size=8", "seed=0,1"], "exp.batch_size=8: larger than exp.points=4",
     "[job 0] of 4: +exp=article_example exp.points=4 exp.batch_size=8 seed=0"),
    (["+exp=boolean_width", "exp.shard=0,1,2", "exp.shards=2", "exp.part=exact", "exp.n=5"], "exp.shard=2: not below",
     "[job 2] of 3"),
]


@pytest.mark.parametrize("argv, start, job", BAD_COMBINATIONS, ids=[" ".join(a) for a, _, _ in BAD_COMBINATIONS])
def test_one_bad_combination_stops_the_sweep_with_one_line_naming_it_and_nothing_written(
        argv, start, job, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["experiments.run", "-m", *argv, "progress=false"])
    with pytest.raises(SystemExit) as exit_:
        runner.cli()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {start}") and "allowed" in err[0] and f"(in {job}" in err[0], err[0]
    assert err[0].endswith("no job was started)")
    assert not list(tmp_path.iterdir()), "no multirun.yaml, no job directory"


def test_a_big_sweep_is_planned_in_seconds_composing_once_per_choice_of_groups(tmp_path, monkeypatch):
    """1,000 jobs: Hydra composes the defaults list once per experiment; each job's values are
    applied by Hydra's own function (no copy of the config) and every job is checked."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    monkeypatch.chdir(tmp_path)
    calls = []
    real = ConfigLoaderImpl.load_configuration
    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    checked = []
    import experiments.boolean_width as B
    real_check = B.check
    monkeypatch.setattr(B, "check", lambda exp: checked.append(1) or real_check(exp))
    runner.plan(["-m", "+exp=boolean_width", "seed=0"])  # imports and warms up
    calls.clear(), checked.clear()
    start = time.perf_counter()
    plan = runner.plan(["-m", "+exp=boolean_width,article_example", "seed=range(0,100)", "exp.lr=1,2,3,4,5"])
    seconds = time.perf_counter() - start
    assert len(plan.jobs) == 1000 and len({job.out_dir for job in plan.jobs}) == 1000
    assert len(calls) == 1 + 2  # the sweep's own config, then one per experiment
    assert len(checked) == 5  # boolean_width's check, once per distinct exp config (seeds share it)
    assert seconds < 30, seconds  # about 1 s on a laptop core; generous for a busy CI machine
    assert not list(tmp_path.iterdir())


def test_the_plan_is_hydras_when_hydra_mode_multirun_is_set_in_an_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = runner.plan(["+exp=article_example", "seed=0,1", "hydra.mode=MULTIRUN"])
    assert plan.multirun and [job.config["seed"] for job in plan.jobs] == [0, 1]
