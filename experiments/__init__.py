"""The experiments: one module (or package) per claim, run through ``experiments.run``.

The contract (docs/design.md). Each experiment defines
  SCHEMA                          its ``exp.*`` keys (``experiments.schema.Field``); the key
                                  ``part`` names its sub-parts, one name or a list
  RENAMED                         old key -> new key (optional): the old key is an error naming the new
  check(exp)                      checks across keys (optional), raising ConfigError
  compute(exp, seed, progress)    -> tidy DataFrame, one row per observation; every row has
                                     ``part`` (and ``kind`` where a part has rows of several kinds)
  summarize(df, exp)              -> ``experiments.summary.Summary``: headline tables (printed)
                                     and the tidy table of every quantity (summary.csv)
  figures(df, exp)                -> {name: matplotlib Figure}
``summarize`` works on one run's rows and ``figures`` on the rows of one or several
seeds of the same config; both get that config's ``exp`` and work on ``compute``'s own
output: the runner adds ``exp``, ``seed`` and ``exp.<key>`` columns only to the
results file, and ``analyze`` draws one set of figures per combination of swept keys.
"""

import importlib
from types import ModuleType

EXPERIMENTS = ("article_example", "boolean_width", "deep_vs_flat", "local_minima", "universal_approximation", "depth_separation")


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
