"""An experiment made of parts, each part of modules with ``rows``, ``summary`` and ``figures``.

deep_vs_flat and depth_separation are built so: ``Parts`` runs the chosen parts' modules
and joins what they return into ``compute``'s table, one ``Summary`` and the figures.
A module has ``rows(exp, seed, progress) -> list[dict]``, ``summary(d, exp) -> (tidy rows,
{title: headline table})`` and ``figures(d, exp) -> {name: Figure}``, where ``d`` holds
the rows of its part.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from experiments.schema import as_list
from experiments.summary import Summary, tidy


def own_columns(d: pd.DataFrame) -> pd.DataFrame:
    """One part's rows without the columns only other parts fill, and with integer columns
    integers again (other parts' NaNs made them float in the whole table)."""
    d = d.dropna(axis=1, how="all").copy()
    for col in d.columns[d.dtypes == float]:
        if d[col].notna().all() and (d[col] % 1 == 0).all():
            d[col] = d[col].astype(int)
    return d


class Parts(NamedTuple):
    order: tuple[str, ...]  # the parts, in the order they run
    modules: dict  # part -> its modules
    keys: list[str]  # key columns of the tidy summary, in order
    clean_columns: bool = False  # hand each module only its part's own columns (``own_columns``)

    def compute(self, exp, seed: int, progress: bool) -> pd.DataFrame:
        """The rows of every chosen part (``exp.part``), each row with its ``part``."""
        chosen = [p for p in self.order if p in as_list(exp.part)]
        return pd.DataFrame([row for p in chosen for module in self.modules[p]
                             for row in module.rows(exp, seed, progress)])

    def by_module(self, df: pd.DataFrame):
        """(module, rows of its part) for every module whose part the rows hold."""
        pick = own_columns if self.clean_columns else (lambda d: d)
        return [(module, pick(df[df.part == part])) for part in self.order if (df.part == part).any()
                for module in self.modules[part]]

    def summarize(self, df: pd.DataFrame, exp) -> Summary:
        """One run's headline tables (per finding) and the tidy table of every quantity."""
        rows, headline = [], {}
        for module, d in self.by_module(df):
            found, tables = module.summary(d, exp)
            rows += found
            headline |= tables
        return Summary(headline, tidy(rows, keys=self.keys))

    def figures(self, df: pd.DataFrame, exp) -> dict:
        """Each part's figures, by file name, from the rows of one seed or several."""
        figs = {}
        for module, d in self.by_module(df):
            figs |= module.figures(d, exp)
        return figs
