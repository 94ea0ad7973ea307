"""Config checks: every key of an experiment's config, its type and allowed values.

Each experiment module declares ``SCHEMA = {key: Field(...)}`` for its
``exp.*`` keys. ``check_config`` checks a composed config; ``check_overrides``
checks command-line overrides (every value of a sweep) before Hydra starts, so
a typo stops a sweep before any job runs. A failed check raises ``ConfigError``
whose message is one line naming the key, the bad value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A user error in the config: one line, shown without a traceback."""


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class Field:
    """What one config key accepts.

    type: int, float, bool or str. choices: the allowed values (str fields).
    low, high: inclusive bounds (numbers). positive: > 0 (floats).
    many: a list of values is accepted too (each value checked).
    nullable: null is allowed.
    """

    type: type
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    positive: bool = False
    many: bool = False
    nullable: bool = False
    help: str = ""

    def allowed(self) -> str:
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.type in (int, float):
            kind = "integers" if self.type is int else "finite numbers"
            if self.positive:
                text = f"{kind} > 0"
            elif self.low is not None and self.high is not None:
                text = f"{kind} {self.low}..{self.high}"
            elif self.low is not None:
                text = f"{kind} >= {self.low}"
            elif self.high is not None:
                text = f"{kind} <= {self.high}"
            else:
                text = kind
        else:
            text = _TYPE_NAMES[self.type]
        if self.many:
            text += ", or a list of them"
        if self.nullable:
            text += ", or null"
        return text

    def check(self, key: str, value: Any) -> None:
        """Raise ConfigError unless ``value`` is allowed for ``key``."""
        if value is None:
            if self.nullable:
                return
            self._fail(key, value)
        if self.many and isinstance(value, Sequence) and not isinstance(value, str):
            if len(value) == 0:
                raise ConfigError(f"{key}=[]: empty list; allowed: {self.allowed()}")
            for item in value:
                self._check_one(key, item, value)
            return
        self._check_one(key, value, value)

    def _check_one(self, key: str, item: Any, shown: Any) -> None:
        if self.type is bool:
            ok = isinstance(item, bool)
        elif self.type is int:
            ok = isinstance(item, int) and not isinstance(item, bool)
        elif self.type is float:
            ok = isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
        else:
            ok = isinstance(item, str)
        if ok and self.choices is not None:
            ok = item in self.choices
        if ok and self.type in (int, float):
            ok = (
                (not self.positive or item > 0)
                and (self.low is None or item >= self.low)
                and (self.high is None or item <= self.high)
            )
        if not ok:
            self._fail(key, shown)

    def _fail(self, key: str, value: Any):
        raise ConfigError(f"{key}={_show(value)}: not allowed; allowed: {self.allowed()}")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)


# Keys at the top level of conf/config.yaml (besides ``exp`` and ``hydra``).
TOP_SCHEMA: dict[str, Field] = {
    "seed": Field(int, low=0, help="root random seed; restart i uses fold_in(key(seed), i)"),
    "force": Field(bool, help="rerun even if this job's results exist"),
    "progress": Field(bool, help="show progress bars"),
}


def as_list(value) -> list:
    """A config value that may be one item or a list, as a list."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def check_key(exp_name: str, module, key: str) -> None:
    """Raise ConfigError unless ``key`` is an exp key of the experiment ``module`` (its
    ``SCHEMA``); a key the experiment renamed (its ``RENAMED``) names the new key."""
    if key == "name" or key in module.SCHEMA:
        return
    new = getattr(module, "RENAMED", {}).get(key)
    if new is not None:
        raise ConfigError(f"exp.{key}: renamed to exp.{new} in experiment {exp_name}; "
                          f"allowed: exp.{new}={module.SCHEMA[new].allowed()}")
    raise ConfigError(f"exp.{key}: unknown key for experiment {exp_name}; allowed keys: {', '.join(module.SCHEMA)}")


def check_config(module, exp_name: str, exp: Mapping[str, Any], top: Mapping[str, Any]) -> None:
    """Check every key and value of a composed config (plain containers) against the
    experiment ``module``'s SCHEMA."""
    schema = module.SCHEMA
    for key in exp:
        check_key(exp_name, module, key)
    for key, field in schema.items():
        if key not in exp:
            raise ConfigError(f"exp.{key}: missing for experiment {exp_name}; allowed: {field.allowed()}")
        field.check(f"exp.{key}", exp[key])
    for key, field in TOP_SCHEMA.items():
        if key in top:
            field.check(key, top[key])
