"""Run one experiment: ``python -m experiments.run +exp=NAME [overrides]``; ``-m`` sweeps.

``run(cfg, out_dir)`` does the work for a composed config and is what tests
call through Hydra's compose API; ``main`` is the thin ``@hydra.main`` wrapper.
Command-line overrides are checked before Hydra starts (every value of a
sweep), the composed config again at the start of each job.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import shutil
import sys
from pathlib import Path


import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

import experiments
from experiments import jaxcache
from experiments.results import RESULTS, is_finished, with_config_columns, write_run
from experiments.schema import TOP_SCHEMA, ConfigError, check_config, check_key
from experiments.summary import render

MAX_JOB_DIR = 120  # characters; well under the 255 most file systems allow


def job_dir_name(overrides: str) -> str:
    """A job directory name from Hydra's ``override_dirname``: readable and deterministic.

    Short override lists are used as they are ("exp.n=3,seed=1"); long ones, or
    ones with a path separator, keep a readable prefix and end in a hash of the
    whole list, so that every distinct config still gets its own directory.
    """
    if not overrides:
        return "default"
    if len(overrides) <= MAX_JOB_DIR and "/" not in overrides:
        return overrides
    digest = hashlib.sha1(overrides.encode()).hexdigest()[:12]
    return f"{overrides[: MAX_JOB_DIR - 13].replace('/', '_')}-{digest}"


OmegaConf.register_new_resolver("jobdir", job_dir_name, replace=True)


def resolved(cfg: DictConfig) -> dict:
    """The job's config without Hydra's own section, as plain containers."""
    return {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"}


def validate(cfg: DictConfig):
    """Check the composed config; returns the experiment module."""
    if "exp" not in cfg or cfg.exp is None:
        raise ConfigError(f"exp: no experiment chosen; allowed: +exp=NAME with NAME one of {', '.join(experiments.available())}")
    config = resolved(cfg)
    module = experiments.get(config["exp"].get("name"))
    check_config(module, module.__name__.split(".")[-1], config["exp"], config)
    if hasattr(module, "check"):
        module.check(cfg.exp)
    return module


def run(cfg: DictConfig, out_dir: str | Path, verbose: bool = True) -> Path | None:
    """Validate, skip if finished, compute, summarize, draw and write atomically;
    unless ``verbose`` is False (the jobs of a sweep), print the summary table,
    or why the job was skipped.

    Returns the results path, or None when the job was already finished.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module = validate(cfg)
    out_dir = Path(out_dir)
    config = resolved(cfg)
    if not cfg.get("force", False) and is_finished(out_dir, config):
        if verbose:
            print(f"skip: {out_dir} already has results for this config (force=true to rerun)")
        return None
    df = module.compute(cfg.exp, int(cfg.seed), bool(cfg.get("progress", True)))
    summary = module.summarize(df, cfg.exp)
    figures = module.figures(df, cfg.exp)
    try:
        write_run(out_dir, with_config_columns(df, config), summary.table, figures, config)
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
        leftovers = [p for p in out_dir.iterdir() if p.name != ".hydra" and p.suffix != ".log"]
        if not leftovers:
            shutil.rmtree(out_dir, ignore_errors=True)


CONF = str(Path(__file__).resolve().parents[1] / "conf")


@hydra.main(version_base="1.3", config_path=CONF, config_name="config")
def main(cfg: DictConfig) -> str:
    """Hydra's entry point; returns "done" or "skipped" (shown by the job-end callback).

    A single run prints its summary table; the jobs of a sweep print only the
    callback's line each (their tables are in summary.csv, and
    ``python -m experiments.analyze`` prints them side by side).
    """
    jaxcache.enable()
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    single = hydra_cfg.mode != RunMode.MULTIRUN
    try:
        return "skipped" if _interruptible(run, cfg, out_dir, single) is None else "done"
    except ConfigError as exc:
        _remove_if_empty(out_dir)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


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


def check_overrides(argv: list[str]) -> None:
    """Check command-line overrides (each value of a sweep) before Hydra runs anything."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = [a for a in argv if "=" in a and not a.startswith("-")]
    try:
        overrides = OverridesParser.create().parse_overrides(args)
    except Exception as exc:
        raise ConfigError(f"cannot parse overrides: {str(exc).splitlines()[0]}") from None
    values = {o.key_or_group: list(o.sweep_iterator()) if o.is_sweep_override() else [o.value()]
              for o in overrides if not o.is_delete()}
    names = values.get("exp", [])
    if not names:
        raise ConfigError(f"exp: no experiment chosen; allowed: +exp=NAME with NAME one of {', '.join(experiments.available())}")
    modules = {name: experiments.get(name) for name in names}
    for key, vals in values.items():
        if key.startswith("hydra") or key == "exp":
            continue
        if key.startswith("exp."):
            sub = key[4:]
            for name, module in modules.items():
                check_key(name, module, sub)
                for v in vals:
                    module.SCHEMA[sub].check(key, v)
        elif key in TOP_SCHEMA:
            for v in vals:
                TOP_SCHEMA[key].check(key, v)
        else:
            raise ConfigError(f"{key}: unknown key; allowed: exp.<key>, {', '.join(TOP_SCHEMA)}, hydra.*")


def cli() -> None:
    try:
        check_overrides(sys.argv[1:])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    main()


if __name__ == "__main__":
    cli()
