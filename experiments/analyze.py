"""Analyse results: ``python -m experiments.analyze DIR [--out OUT]``.

Loads one run or a whole multirun tree (any mix of experiments) into one tidy
DataFrame, prints each experiment's summary per run with the sweep parameters
as columns, and redraws each experiment's figures from all its runs together
(aggregated over seeds). Writes ``<exp>_summary.csv`` and ``<exp>_<figure>.png``
into OUT (default DIR/analysis). In a notebook: ``load_results(DIR)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import experiments
from experiments.results import atomic_write, atomic_write_text, load_results, sweep_columns

__all__ = ["load_results", "summaries", "main"]


def summaries(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each experiment's summary, one block of rows per run, sweep parameters first."""
    out = {}
    for name, runs in df.groupby("exp", sort=True):
        runs = runs.copy()
        runs.attrs = df.attrs
        module = experiments.get(name)
        sweep = sweep_columns(runs)
        blocks = []
        for run_dir, run in runs.groupby("run_dir", sort=True):
            table = module.summarize(run.reset_index(drop=True))
            for col in reversed(sweep):
                if col not in table.columns:
                    table.insert(0, col, run[col].iloc[0])
            blocks.append(table)
        out[name] = pd.concat(blocks, ignore_index=True)
    return out


def main(argv: list[str] | None = None) -> int:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(prog="python -m experiments.analyze", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a run directory, a multirun tree or a results.parquet")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default DIR/analysis)")
    args = parser.parse_args(argv)
    if not args.dir.exists():
        print(f"error: {args.dir}: no such file or directory", file=sys.stderr)
        return 2
    df = load_results(args.dir)
    if df.empty:
        print(f"error: {args.dir}: no readable results.parquet found", file=sys.stderr)
        return 1
    out = args.out or (args.dir if args.dir.is_dir() else args.dir.parent) / "analysis"
    n_runs = df.run_dir.nunique()
    print(f"loaded {len(df)} rows from {n_runs} run(s): " + ", ".join(
        f"{name} x{runs.run_dir.nunique()}" for name, runs in df.groupby("exp")))
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        for name, table in summaries(df).items():
            print(f"\n== {name} ==")
            print(table.to_string(index=False))
            atomic_write_text(out / f"{name}_summary.csv", table.to_csv(index=False))
    for name, runs in df.groupby("exp", sort=True):
        runs = runs.reset_index(drop=True)
        for fig_name, fig in experiments.get(name).figures(runs).items():
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
            plt.close(fig)
            atomic_write(out / f"{name}_{fig_name}.png", lambda tmp: tmp.write_bytes(buf.getvalue()))
    print(f"\nwrote summaries and figures to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
