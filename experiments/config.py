"""A job's config: its directory name, its resolved values, its checks, the code it runs.

Shared by the plan (``experiments.plan``, before Hydra starts) and the runner
(``experiments.run``, inside each job).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

import experiments
from experiments.codehash import code_hash
from experiments.schema import ConfigError, check_config

CONF = str(Path(__file__).resolve().parents[1] / "conf")
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
    out = {}
    for key in cfg:
        if key != "hydra":
            value = cfg[key]
            out[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return out


def validate(cfg: DictConfig):
    """Check the composed config; returns the experiment module."""
    return checked(cfg)[0]


def checked(cfg: DictConfig):
    """Check the composed config; returns the experiment module and the resolved config."""
    if "exp" not in cfg or cfg.exp is None:
        raise ConfigError(f"exp: no experiment chosen; allowed: +exp=NAME with NAME one of {', '.join(experiments.available())}")
    try:
        config = resolved(cfg)
    except Exception as exc:  # an interpolation that does not resolve
        raise ConfigError(f"cannot resolve the config: {one_line(exc)}; allowed: plain values") from None
    if not isinstance(config.get("exp"), dict):
        raise ConfigError(f"exp={config.get('exp')!r}: not an experiment; allowed: +exp=NAME")
    module = experiments.get(config["exp"].get("name"))
    check_config(module, module.__name__.split(".")[-1], config["exp"], config)
    if hasattr(module, "check"):
        module.check(cfg.exp)
    return module, config


_CODE: dict[str, str] = {}


def code_at_start(exp: str) -> str:
    """The code hash of ``exp`` when this process first ran one of its jobs: the code this
    process imported (a later edit does not change what it runs, so it must not change what
    it records; the next rerun finds the edit and the result stale)."""
    if exp not in _CODE:
        _CODE[exp] = code_hash(exp)
    return _CODE[exp]


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and its message with whitespace collapsed."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
