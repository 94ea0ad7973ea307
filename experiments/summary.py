"""What an experiment's ``summarize`` returns: headline tables and one tidy table.

``Summary.headline``: a few small tables, each under a title, that a researcher
would paste into a paper (printed at the end of a run). ``Summary.table``: every
quantity the run measured, one row each, with numeric ``value`` (written to
``summary.csv``). Its columns: ``part`` (the sub-part, as in ``exp.part``),
``quantity`` (what was measured, in words), any key columns (n, width, ...),
``value`` and optionally ``reference`` (what theory says) and ``note``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

COLUMNS = ("part", "quantity", "value")


class Summary(NamedTuple):
    headline: dict[str, pd.DataFrame]  # title -> a small table
    table: pd.DataFrame  # tidy: part, quantity, [keys...], value, [reference, note]


def tidy(rows: list[dict], keys: list[str] = ()) -> pd.DataFrame:
    """The tidy table from rows of dicts: part, quantity, the key columns (``keys``
    first, in that order, then any others), value (numeric), reference, note."""
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    others = [c for c in table.columns if c not in COLUMNS + ("reference", "note") + tuple(keys)]
    keys = [k for k in keys if k in table] + others
    ordered = ["part", "quantity"] + keys + ["value"] + [c for c in ("reference", "note") if c in table]
    table = table[ordered]
    table["value"] = pd.to_numeric(table["value"]).astype(float)
    return table


def render(summary: Summary) -> str:
    """The headline tables as text, each under its title."""
    blocks = []
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 200):
        for title, table in summary.headline.items():
            blocks.append(f"{title}\n{table.to_string(index=False, float_format=_number)}")
    return "\n\n".join(blocks)


def _number(v: float) -> str:
    """A whole number in full (counts), anything else to 4 significant digits."""
    return f"{int(v)}" if np.isfinite(v) and float(v).is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def seeds(df: pd.DataFrame) -> list:
    """The seeds a table holds: [None] for one run's rows (``compute``'s own output)."""
    return sorted(df.seed.unique()) if "seed" in df else [None]


def per_seed(df: pd.DataFrame):
    """(seed, rows of that seed) pairs; one pair (None, df) for a single run."""
    return [(s, df if s is None else df[df.seed == s]) for s in seeds(df)]


def as_int(value) -> int | float:
    """An integer where the value is whole (counts read back as floats), else the float."""
    return int(value) if np.isfinite(value) and float(value).is_integer() else float(value)
