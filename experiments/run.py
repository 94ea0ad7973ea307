"""Run one experiment: ``python -m experiments.run +exp=NAME [overrides]``; ``-m`` sweeps.

``cli`` (the command line) plans the whole run before Hydra starts (``plan``): it
checks every value of every override, expands a sweep into its jobs by Hydra's own
override parser and basic-sweeper rules (comma lists, range, choice, glob,
``hydra.sweeper.params``), composes every job's config and checks it (the schema,
then the experiment's ``check``), and checks that the results directory can be
written. Any problem is one line on stderr and exit code 2, and nothing is written.
Then Hydra runs the jobs: each calls ``run(cfg, out_dir)``, which tests call
through Hydra's compose API; ``main`` is the thin ``@hydra.main`` wrapper.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import shutil
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from experiments import jaxcache
from experiments.config import (  # noqa: F401  (MAX_JOB_DIR, job_dir_name, resolved, validate: the runner's names)
    CONF, MAX_JOB_DIR, checked, code_at_start, job_dir_name, one_line, resolved, validate,
)
from experiments.plan import REFUSE_STALE, check_stale, one_line_text, plan, unfinished  # noqa: F401
from experiments.results import (
    LOCK, RESULTS, WriteError, check_writable, job_lock, remove_debris, result_status, with_config_columns, write_run,
)
from experiments.schema import ConfigError
from experiments.summary import render
def run(cfg: DictConfig, out_dir: str | Path, verbose: bool = True, label: str = "") -> Path | None:
    """Validate, skip if finished, compute, summarize, draw and write atomically;
    unless ``verbose`` is False (the jobs of a sweep), print the summary table,
    or why the job was skipped.

    The job directory is locked while it is checked, computed and written (one process
    at a time: a second one waits, then finds the result). A result is finished when its
    config and the code hash match (``results.result_status``); a stale one is reported
    (``<label> stale: why``), removed and computed again. ``label``: the job's name in
    those lines ("[job 3]").

    Returns the results path, or None when the job was already finished.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module, config = checked(cfg)
    out_dir = Path(out_dir)
    prefix = f"{label} " if label else ""

    def waiting(holder: str) -> None:
        print(f"{prefix}waiting: {holder} is running this job ({out_dir})", file=sys.stderr, flush=True)

    with job_lock(out_dir, waiting):
        code = code_at_start(config["exp"]["name"])
        status, why = result_status(out_dir, config, code)
        if status == "finished" and not cfg.get("force", False):
            if verbose:
                print(f"skip: {out_dir} already has results for this config and code (force=true to rerun)")
            return None
        if status == "stale":
            print(f"{prefix}stale: {why}; running it again", file=sys.stderr, flush=True)
            try:
                (out_dir / RESULTS).unlink(missing_ok=True)  # a failed rerun must not leave the stale result
            except OSError as exc:
                raise WriteError(f"could not remove the stale {out_dir / RESULTS}: {one_line(exc)}") from exc
        remove_debris(out_dir)
        df = module.compute(cfg.exp, int(cfg.seed), bool(cfg.get("progress", True)))
        summary = module.summarize(df, cfg.exp)
        figures = module.figures(df, cfg.exp)
        table = with_config_columns(df, config)
        try:
            write_run(out_dir, table, summary.table, figures, config, code)
        except OSError as exc:
            raise WriteError(f"could not write its results to {out_dir}: {one_line(exc)}; "
                             f"no {RESULTS} was written") from exc
        finally:
            for fig in figures.values():
                plt.close(fig)
    if verbose:
        print(render(summary))
        print(f"\nwrote {out_dir / RESULTS}; every quantity measured: {out_dir / 'summary.csv'} "
              f"({len(summary.table)} rows)")
    return out_dir / RESULTS


def _remove_if_empty(out_dir: Path) -> None:
    """Remove a job directory that holds nothing but Hydra's own files."""
    if out_dir.is_dir() and not (out_dir / RESULTS).exists():
        leftovers = [p for p in out_dir.iterdir() if p.name not in (".hydra", LOCK) and p.suffix != ".log"]
        if not leftovers:
            shutil.rmtree(out_dir, ignore_errors=True)


def _log_file(out_dir: Path) -> Path:
    """The job's log file: the file Hydra's job logging writes, else <out_dir>/run.log."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return out_dir / "run.log"


def _report_failure(exc: Exception, out_dir: Path) -> str:
    """Write the traceback to the job's log file; return the one-line reason."""
    log = _log_file(out_dir)
    try:
        with open(log, "a") as f:
            f.write("nnlab: the job failed:\n" + "".join(traceback.format_exception(exc)))
        where = f"traceback in {log}"
    except OSError as write_exc:
        where = f"the traceback could not be written to {log} ({one_line(write_exc)})"
    if isinstance(exc, WriteError):
        return f"{exc}; {where}"
    return f"unexpected {one_line(exc)} (a bug); {where}"




@hydra.main(version_base="1.3", config_path=CONF, config_name="config")
def main(cfg: DictConfig) -> str:
    """Hydra's entry point; returns "done", "skipped" or "failed: <why>" (shown by the
    job-end callback).

    A single run prints its summary table; the jobs of a sweep print only the
    callback's line each (their tables are in summary.csv, and
    ``python -m experiments.analyze`` prints them side by side). A job that fails
    writes its traceback to its log file: a single run then exits with code 1 and
    one line; a sweep goes on with its other jobs and ``cli`` exits with code 1.
    """
    jaxcache.enable()
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    single = hydra_cfg.mode != RunMode.MULTIRUN
    label = "" if single else f"[job {hydra_cfg.job.get('num', 0)}]"
    try:
        return "skipped" if _interruptible(run, cfg, out_dir, single, label) is None else "done"
    except ConfigError as exc:
        _remove_if_empty(out_dir)
        print(f"error: {one_line_text(exc)}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        reason = _report_failure(exc, out_dir)
        if not single:
            return f"failed: {reason}"
        name = f"{cfg.exp.name} {hydra_cfg.job.override_dirname or 'default'}"
        print(f"error: {name} failed: {reason}", file=sys.stderr, flush=True)
        sys.exit(1)


def _interruptible(fn, *args):
    """Call ``fn(*args)`` in a worker thread so that Ctrl-C stops the job at once.

    A compiled XLA computation cannot be interrupted from Python and would hold
    the signal back until it ends; waiting on it from here can be. On Ctrl-C the
    process exits at once with code 130: every file is written by rename, so
    nothing is torn, finished jobs keep their results and a rerun continues.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(fn, *args)
        try:
            return future.result()
        except KeyboardInterrupt:
            print("\ninterrupted: finished jobs keep their results; rerun the same command to continue",
                  file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(130)


def cli() -> None:
    argv = sys.argv[1:]
    refuse_stale = REFUSE_STALE in argv
    argv = [a for a in argv if a != REFUSE_STALE]
    try:
        the_plan = plan(argv)
        if the_plan is not None:
            try:
                check_writable(the_plan.root)
            except OSError as exc:
                raise ConfigError(f"results directory {the_plan.root}: cannot write there ({one_line(exc)}); "
                                  "nothing was run; allowed: a writable directory "
                                  "(hydra.run.dir=DIR, or hydra.sweep.dir=DIR with -m)") from None
            if refuse_stale:
                check_stale(the_plan.jobs)
    except ConfigError as exc:
        print(f"error: {one_line_text(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.argv[1:] = argv
    if the_plan is not None and the_plan.jobs and the_plan.multirun:
        with _without_hydras_second_check():
            main()
    else:
        main()
    if the_plan is not None and the_plan.multirun:
        missing = unfinished(the_plan.jobs)
        if missing:
            names = ", ".join(f"job {j.num} ({j.label})" for j in missing[:3]) + (", ..." if len(missing) > 3 else "")
            print(f"error: {len(missing)} of {len(the_plan.jobs)} jobs have no results: {names}; "
                  "their [job N] lines above say why, their log files hold the tracebacks", file=sys.stderr)
            sys.exit(1)


@contextlib.contextmanager
def _without_hydras_second_check():
    """The plan has composed and checked every job of the sweep; Hydra's basic sweeper would
    compose each one again before launching (tens of ms a job), so it skips that here."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    BasicSweeper.validate_batch_is_legal = lambda self, batch: None
    try:
        yield
    finally:
        del BasicSweeper.validate_batch_is_legal  # the inherited check again


if __name__ == "__main__":
    cli()
