"""Faults: a read-only or full results directory, two processes on one sweep, SIGKILL
during a sweep then a rerun, a lock whose holder was killed. Nothing is ever torn: a job
has one complete results file or none, and a rerun finishes what is missing."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments import config as config_module
from experiments import run as runner
from experiments.results import LOCK, RESULTS, config_matches, job_lock, load_results, read_meta

ROOT = Path(__file__).resolve().parents[1]
# cheap jobs: the network part of article_example (no training) and bruteforce at q = 2
NETWORK = ["+exp=article_example", "exp.part=network", "progress=false"]
GRID = ["+exp=local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]", "progress=false"]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "experiments.run", *args]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


LIMITED = """
import resource, runpy, sys
size = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
sys.argv[0] = "experiments.run"
runpy.run_module("experiments.run", run_name="__main__", alter_sys=True)
"""


def limited(size: int, *args: str) -> list[str]:
    """The command line in a process whose writes beyond ``size`` bytes fail with EFBIG, as
    on a disk that is full (Python ignores SIGXFSZ, so a write returns an error instead of
    killing the process; a write that crosses the limit is short, then the next one fails)."""
    return [sys.executable, "-c", LIMITED, str(size), *args]


# ---------------------------------------------------------------- read-only, full disk


def test_a_read_only_results_directory_stops_before_any_work_in_process(tmp_path, monkeypatch, capsys):
    """Writes under the directory fail with EROFS (simulated at the os level, also for root)."""
    readonly = tmp_path / "ro"
    readonly.mkdir()

    def refuse(path):
        if str(Path(os.fspath(path)).absolute()).startswith(str(readonly)):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))

    real_open, real_mkdir, real_builtin_open = os.open, os.mkdir, open
    monkeypatch.setattr(os, "open", lambda path, flags, *a, **k: (
        refuse(path) if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) else None) or real_open(path, flags, *a, **k))
    monkeypatch.setattr(os, "mkdir", lambda path, *a, **k: refuse(path) or real_mkdir(path, *a, **k))
    monkeypatch.setattr("builtins.open", lambda path, mode="r", *a, **k: (
        refuse(path) if isinstance(path, (str, os.PathLike)) and set(mode) & set("wax+") else None)
        or real_builtin_open(path, mode, *a, **k))
    for argv in ([*NETWORK, f"hydra.run.dir={readonly}/run"], ["-m", *NETWORK, "seed=0,1", f"hydra.sweep.dir={readonly}/sweep"]):
        monkeypatch.setattr(sys, "argv", ["experiments.run", *argv])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            runner.cli()
        err = lines(capsys.readouterr().err)
        assert exit_.value.code == 2 and len(err) == 1, err
        assert err[0].startswith(f"error: results directory {readonly}") and "Read-only file system" in err[0]
        assert not list(readonly.iterdir())


def _real_read_only_dir(path: Path):
    """A directory that this process cannot write, by chmod (not root) or a read-only tmpfs
    (root with mount rights); None if neither is possible here."""
    path.mkdir()
    path.chmod(0o555)
    probe = path / "probe"
    try:
        probe.write_text("x")
    except OSError:
        return contextlib.nullcontext(path)
    probe.unlink()
    path.chmod(0o755)
    if shutil.which("mount") and subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                                                capture_output=True).returncode == 0:
        @contextlib.contextmanager
        def mounted():
            try:
                yield path
            finally:
                subprocess.run(["umount", str(path)], capture_output=True)
        return mounted()
    return None


def test_a_read_only_results_directory_stops_before_any_work_as_a_process(tmp_path):
    context = _real_read_only_dir(tmp_path / "ro")
    if context is None:
        pytest.skip("no way to make a read-only directory here (root without mount rights)")
    with context as readonly:
        done = subprocess.run(command(*NETWORK, f"hydra.run.dir={readonly}/run"), capture_output=True, text=True,
                              timeout=300, env=env())
        err = lines(done.stderr)
        assert done.returncode == 2 and len(err) == 1, done.stderr[-2000:]
        assert err[0].startswith(f"error: results directory {readonly}/run: cannot write there")
        assert not list(readonly.iterdir())


def test_a_full_disk_before_the_run_stops_it_with_one_line_and_no_file(tmp_path):
    done = subprocess.run(limited(1000, *GRID, f"hydra.run.dir={tmp_path}/run"), capture_output=True, text=True,
                          timeout=300, env=env())
    err = lines(done.stderr)
    assert done.returncode == 2 and len(err) == 1, done.stderr[-2000:]
    assert err[0].startswith(f"error: results directory {tmp_path}/run: cannot write there") and "large" in err[0]
    assert not list(tmp_path.iterdir())


def test_a_disk_that_fills_while_results_are_written_fails_cleanly_and_a_rerun_finishes(tmp_path, monkeypatch):
    """Hydra's own small files fit, the job's figure does not: it fails halfway through
    writing it. One line naming the job and its log, exit 1, no results file, no temporary
    file; a finished job beside it keeps its result; the rerun computes only the missing job.
    (A results file cut short is in test_errors.py: test_a_failed_write_leaves_no_results_file.)"""
    sweep = ["-m", *NETWORK, "seed=0,1", f"hydra.sweep.dir={tmp_path}"]
    monkeypatch.setattr(sys, "argv", ["experiments.run", "-m", *NETWORK, "seed=0", f"hydra.sweep.dir={tmp_path}"])
    monkeypatch.setattr(config_module, "_CODE", {})  # the code hash of the files now, as the processes below see them
    runner.cli()  # job 0 of the sweep, in this process
    [finished] = list(tmp_path.rglob(RESULTS))
    stamp = finished.stat().st_mtime_ns
    full = subprocess.run(limited(8000, *sweep), capture_output=True, text=True, timeout=300, env=env())
    assert full.returncode == 1, full.stderr[-2000:]
    failed = [line for line in lines(full.stderr) if line.startswith("[job 1] failed")]
    assert len(failed) == 1 and "could not write its results" in failed[0] and "File too large" in failed[0]
    log = Path(failed[0].rsplit("traceback in ", 1)[1])
    assert log.is_file() and "OSError" in log.read_text()
    assert lines(full.stderr)[-1].startswith("error: 1 of 2 jobs have no results: job 1 ")
    assert list(tmp_path.rglob(RESULTS)) == [finished] and finished.stat().st_mtime_ns == stamp
    assert not list(tmp_path.rglob(".*.tmp-*"))
    again = subprocess.run(command(*sweep), capture_output=True, text=True, timeout=300, env=env())
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(list(tmp_path.rglob(RESULTS))) == 2 and finished.stat().st_mtime_ns == stamp


# ---------------------------------------------------------------- concurrency, SIGKILL, locks


def one_result_per_job(sweep_dir: Path, jobs: int) -> list[Path]:
    """Every job directory holds exactly one complete results file for its config."""
    results = sorted(sweep_dir.rglob(RESULTS))
    assert len(results) == jobs == len({p.parent for p in results})
    for path in results:
        meta = read_meta(path)
        assert config_matches(path.parent, meta["config"]) and len(pd.read_parquet(path)) > 0
    assert not list(sweep_dir.rglob(".*.tmp-*"))
    assert load_results(sweep_dir, report=lambda line: pytest.fail(line)).run_dir.nunique() == jobs
    return results


def test_two_processes_running_the_same_sweep_compute_each_job_once(tmp_path):
    sweep = command("-m", *NETWORK, "seed=0,1,2", f"hydra.sweep.dir={tmp_path}")
    procs = [subprocess.Popen(sweep, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    one_result_per_job(tmp_path, 3)
    job_lines = [line for _, err in outputs for line in lines(err) if line.startswith("[job")]
    done = [line for line in job_lines if "] done " in line]
    skipped = [line for line in job_lines if "] skipped " in line]
    assert len(done) == 3 and len(skipped) == 3, job_lines  # each job computed by one process only
    assert sorted(line.split("]")[0] for line in done) == ["[job 0", "[job 1", "[job 2"]


def test_sigkill_during_a_sweep_then_a_rerun_leaves_one_complete_result_per_job(tmp_path):
    sweep = command("-m", *NETWORK, "seed=range(0,6)", f"hydra.sweep.dir={tmp_path}")
    proc = subprocess.Popen(sweep, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while not list(tmp_path.rglob(RESULTS)):
        assert proc.poll() is None and time.monotonic() < deadline, "no job finished"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # while the next job runs
    proc.wait(timeout=60)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob(RESULTS)}
    assert 1 <= len(before) < 6
    rerun = subprocess.run(sweep, capture_output=True, text=True, timeout=300, env=env())
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    one_result_per_job(tmp_path, 6)
    assert all(p.stat().st_mtime_ns == before[p] for p in before)  # finished jobs were kept, not redone
    assert len([line for line in lines(rerun.stderr) if "] skipped " in line]) == len(before)
    assert len([line for line in lines(rerun.stderr) if "] done " in line]) == 6 - len(before)


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, b"pid %d on test" % os.getpid(), 0)
print("locked", flush=True)
time.sleep(600)
"""


def test_a_job_waits_for_the_lock_and_a_killed_holder_leaves_no_stale_lock(tmp_path, compose_exp, capsys):
    out_dir = tmp_path / "job"
    out_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out_dir / LOCK)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    cfg = compose_exp("local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]")
    finished = []
    worker = threading.Thread(target=lambda: finished.append(runner.run(cfg, out_dir, verbose=False, label="[job 7]")))
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive() and not (out_dir / RESULTS).exists()  # waiting on the holder
    holder.send_signal(signal.SIGKILL)  # dies holding the lock: the kernel releases it
    holder.wait(timeout=60)
    holder.stdout.close()
    worker.join(timeout=120)
    assert not worker.is_alive() and finished == [out_dir / RESULTS]
    err = capsys.readouterr().err
    assert f"[job 7] waiting: pid {holder.pid} on test is running this job ({out_dir})" in err
    assert read_meta(out_dir / RESULTS)["config"]["exp"]["grid_q"] == 2


def test_the_lock_is_exclusive_between_open_files(tmp_path):
    """flock locks one open file description: a second open of the lock (another process, or
    this one) cannot take it while the first holds it."""
    with job_lock(tmp_path):
        fd = os.open(tmp_path / LOCK, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(tmp_path / LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on leaving
    finally:
        os.close(fd)


def test_a_job_removes_the_temporary_files_of_a_writer_that_died(tmp_path, compose_exp):
    cfg = compose_exp("local_minima", "exp.part=bruteforce", "exp.grid_q=2", "exp.hidden=[sigmoid]")
    debris = [tmp_path / f".{RESULTS}.tmp-99999", tmp_path / ".summary.csv.tmp-99998"]
    for path in debris:
        path.write_bytes(b"PAR1 half")
    runner.run(cfg, tmp_path, verbose=False)
    assert not any(path.exists() for path in debris) and (tmp_path / RESULTS).is_file()
