"""The experiments: one module per claim, run through ``experiments.run``.

Each experiment module defines
  SCHEMA                          its ``exp.*`` keys (``experiments.schema.Field``)
  check(exp)                      checks across keys (optional), raising ConfigError
  compute(exp, seed, progress)    -> tidy pandas DataFrame, one row per observation
  summarize(df)                   -> the summary table (printed, summary.csv)
  figures(df)                     -> {name: matplotlib Figure}, drawn from the table
                                     alone (so ``analyze`` can redraw them, over seeds)
"""

import importlib
from types import ModuleType

EXPERIMENTS = ("article_example", "boolean_width", "deep_vs_flat", "local_minima")


def available() -> list[str]:
    """The experiments whose module exists in this checkout."""
    names = []
    for name in EXPERIMENTS:
        if importlib.util.find_spec(f"experiments.{name}") is not None:
            names.append(name)
    return names


def get(name: str) -> ModuleType:
    from .schema import ConfigError

    if name not in available():
        raise ConfigError(f"exp={name}: unknown experiment; allowed: {', '.join(available())}")
    return importlib.import_module(f"experiments.{name}")
