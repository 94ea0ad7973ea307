"""Config checks: every key of an experiment's config, its type and allowed values.

Each experiment module declares ``SCHEMA = {key: Field(...)}`` for its
``exp.*`` keys. ``check_config`` checks a composed config; ``experiments.run``
checks every value on the command line, then composes the config of every job
of a sweep and checks each (``check_config`` and the experiment's ``check``)
before anything is written, so a typo stops a sweep before any job runs. A
failed check raises ``ConfigError`` whose message is one line naming the key,
the bad value and what is allowed.

Every value has a type, a shape and a range: integers are within the field's
bounds and never beyond int64 (``INT_RANGE``; also where a number is expected:
1e30 is a number, 10**30 written out is refused), numbers are finite, strings are
one of the field's choices, a list is accepted only where the field says so
(``many``: one value or a list; ``list_only``: a list, of ``length`` items if
given), and null only where ``nullable``.
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
    low, high: inclusive bounds (numbers; integers are always within int64).
    positive: > 0 (floats).
    many: one value or a non-empty list of values (each value checked).
    list_only: a non-empty list only, never a single value (each value checked).
    length: the exact number of items of a list (with many or list_only).
    nullable: null is allowed.
    """

    type: type
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    positive: bool = False
    many: bool = False
    list_only: bool = False
    length: int | None = None
    nullable: bool = False
    help: str = ""

    def __post_init__(self):
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"Field type must be one of {list(_TYPE_NAMES)}, not {self.type!r}")
        if self.length is not None and not (self.many or self.list_only):
            raise TypeError("Field(length=...) needs many=True or list_only=True")

    def allowed(self) -> str:
        text = self._allowed_item()
        if self.list_only:
            count = f"{self.length} " if self.length is not None else ""
            text = f"a list of {count}{text}"
        elif self.many:
            count = f" of {self.length}" if self.length is not None else ""
            text += f", or a list{count} of them"
        if self.nullable:
            text += ", or null"
        return text

    def _allowed_item(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        if self.type not in (int, float):
            return _TYPE_NAMES[self.type]
        kind = "integers" if self.type is int else "finite numbers"
        high = self.high if self.high is not None or self.type is float else INT_RANGE[1]
        if self.positive:
            bounds = ["> 0"] + ([f"<= {high}"] if high is not None else [])
        elif self.low is not None and high is not None:
            bounds = [f"{self.low}..{high}"]
        else:
            bounds = ([f">= {self.low}"] if self.low is not None else []) + (
                [f"<= {high}"] if high is not None else [])
        return " ".join([kind, " and ".join(bounds)]).strip()

    def check(self, key: str, value: Any) -> None:
        """Raise ConfigError unless ``value`` is allowed for ``key``."""
        if value is None:
            if self.nullable:
                return
            self._fail(key, value)
        is_list = isinstance(value, Sequence) and not isinstance(value, str)
        if (self.many or self.list_only) and is_list:
            if len(value) == 0:
                raise ConfigError(f"{key}=[]: empty list; allowed: {self.allowed()}")
            if self.length is not None and len(value) != self.length:
                raise ConfigError(f"{key}={_show(value)}: {len(value)} value(s); allowed: {self.allowed()}")
            for item in value:
                self._check_one(key, item, value)
            return
        if self.list_only:
            self._fail(key, value)
        self._check_one(key, value, value)

    def _check_one(self, key: str, item: Any, shown: Any) -> None:
        if self.type is bool:
            ok = isinstance(item, bool)
        elif self.type is int:
            ok = isinstance(item, int) and not isinstance(item, bool) and INT_RANGE[0] <= item <= INT_RANGE[1]
        elif self.type is float:
            ok = (isinstance(item, float) and math.isfinite(item)) or (
                isinstance(item, int) and not isinstance(item, bool) and INT_RANGE[0] <= item <= INT_RANGE[1])
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


INT_RANGE = (-(2**63), 2**63 - 1)  # every integer value, whatever the field's own bounds
SHOW_MAX = 60  # characters of a value shown in a message


def _show(value: Any) -> str:
    """A value as one short line (as it would be typed), for an error message."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(_show(v) for v in value) + "]"
    elif isinstance(value, str):
        text = value if value.isprintable() and value.strip() == value and value else repr(value)
    else:
        text = str(value)
    return text if len(text) <= SHOW_MAX else text[: SHOW_MAX - 3] + "..."


# jax.random.key takes any integer up to 2**63 - 1 (larger ones overflow), but unless
# 64-bit mode is on (experiments run without it) it keeps only the low 32 bits: seeds
# 2**32 and 0 would give the same key. Every seed in 0..2**32 - 1 gives its own key.
SEED_MAX = 2**32 - 1

# Keys at the top level of conf/config.yaml (besides ``exp`` and ``hydra``).
TOP_SCHEMA: dict[str, Field] = {
    "seed": Field(int, low=0, high=SEED_MAX, help="root random seed; restart i uses fold_in(key(seed), i)"),
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
