"""Analyse results: ``python -m experiments.analyze DIR [--out OUT]``.

Loads one run or a whole multirun tree (any mix of experiments) into one tidy
DataFrame. Runs of one experiment are grouped by their swept keys (every exp
key whose value differs between runs; the seed is not one): each group's
figures are drawn from its runs together, pooling seeds and nothing else.
``--verify`` re-checks stored results from the files alone (each experiment's
``verify``, e.g. boolean_width's witness networks) and exits 1 if a check fails.
Prints each run's headline tables and writes, into OUT (default DIR/analysis):
``<exp>_summary.csv`` (every run's tidy summary, with its seed and swept keys
as columns) and ``<exp>/<swept values>/<figure>.png`` per group
(``<exp>/all/`` when nothing is swept). In a notebook: ``load_results(DIR)``.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

import experiments
from experiments.results import atomic_write, atomic_write_text, load_results, swept_keys
from experiments.summary import render

__all__ = ["load_results", "groups", "summaries", "main"]


def groups(runs: pd.DataFrame, configs: dict, pooled=()) -> list[tuple[dict, pd.DataFrame]]:
    """One experiment's runs grouped by swept keys: (swept values, rows of every seed) pairs.
    configs: each run directory's resolved config (``load_results(...).attrs["configs"]``);
    pooled: exp keys whose runs are shares of one result (e.g. shards), never split on."""
    keys = [k for k in swept_keys([configs[d] for d in runs.run_dir.unique()])
            if k[len("exp."):] not in pooled]
    value = lambda d, k: configs[d]["exp"][k[len("exp."):]]
    label = {d: tuple((k, value(d, k)) for k in keys) for d in runs.run_dir.unique()}
    out = {}
    for d in sorted(label, key=lambda d: str(label[d])):
        out.setdefault(label[d], []).append(d)
    return [(dict(lab), runs[runs.run_dir.isin(dirs)].reset_index(drop=True)) for lab, dirs in out.items()]


def _exp_config(configs: dict, runs: pd.DataFrame):
    """The exp config of these runs (the first run's: they differ at most in the seed)."""
    return OmegaConf.create(configs[runs.run_dir.iloc[0]]["exp"])


def summaries(df: pd.DataFrame, report=print) -> dict[str, pd.DataFrame]:
    """Each experiment's tidy summary, one block per run, seed and swept keys first."""
    out, configs = {}, df.attrs["configs"]
    for name, runs in df.groupby("exp", sort=True):
        module = experiments.get(name)
        blocks = []
        for swept, group in groups(runs, configs, getattr(module, "POOLED_KEYS", ())):
            for seed, run in group.groupby("seed", sort=True):  # one run, or the shares of one
                run = run.reset_index(drop=True)
                summary = module.summarize(run, _exp_config(configs, run))
                report(f"\n== {name}, seed {seed}" + "".join(f", {k}={v}" for k, v in swept.items()) + " ==")
                report(render(summary))
                blocks.append(summary.table.assign(seed=seed, **{k: str(v) for k, v in swept.items()}))
        table = pd.concat(blocks, ignore_index=True)
        front = ["seed"] + [c for c in table.columns if c.startswith("exp.")]
        out[name] = table[front + [c for c in table.columns if c not in front]]
    return out


def verify(df: pd.DataFrame) -> int:
    """Run each experiment's ``verify`` (where it has one) on its rows; print the checks.
    Returns 0 if every check passed, 1 if one failed, 2 if there was nothing to check."""
    tables = []
    for name, runs in df.groupby("exp", sort=True):
        module = experiments.get(name)
        if hasattr(module, "verify"):
            tables.append(module.verify(runs.reset_index(drop=True)).assign(exp=name))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if table.empty:
        print("error: nothing to verify in these results", file=sys.stderr)
        return 2
    print(table.to_string(index=False))
    failed = int(table.failed.sum())
    print(f"\n{len(table)} checks over {int(table.checked.sum())} items: "
          + ("all passed" if failed == 0 else f"{failed} failed"))
    return int(failed > 0)


def _folder(swept: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in swept.items()).replace("/", "_") or "all"


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(prog="python -m experiments.analyze", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a run directory, a multirun tree or a results.parquet")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default DIR/analysis)")
    parser.add_argument("--verify", action="store_true",
                        help="re-check the stored results (witness networks, bounds) instead; exit 1 if one fails")
    args = parser.parse_args(argv)
    if not args.dir.exists():
        print(f"error: {args.dir}: no such file or directory", file=sys.stderr)
        return 2
    df = load_results(args.dir)
    if df.empty:
        print(f"error: {args.dir}: no readable results.parquet found", file=sys.stderr)
        return 1
    if args.verify:
        return verify(df)
    out = args.out or (args.dir if args.dir.is_dir() else args.dir.parent) / "analysis"
    print(f"loaded {len(df)} rows from {df.run_dir.nunique()} run(s): " + ", ".join(
        f"{name} x{runs.run_dir.nunique()}" for name, runs in df.groupby("exp")))
    for name, table in summaries(df).items():
        atomic_write_text(out / f"{name}_summary.csv", table.to_csv(index=False))
    configs = df.attrs["configs"]
    for name, runs in df.groupby("exp", sort=True):
        module = experiments.get(name)
        for swept, group in groups(runs, configs, getattr(module, "POOLED_KEYS", ())):
            for fig_name, fig in module.figures(group, _exp_config(configs, group)).items():
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
                plt.close(fig)
                atomic_write(out / name / _folder(swept) / f"{fig_name}.png", lambda tmp: tmp.write_bytes(buf.getvalue()))
    print(f"\nwrote summaries and figures to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
