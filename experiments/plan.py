"""The plan: every job of a command line, composed and checked before Hydra starts.

``plan(argv)`` checks every value of every override, expands a sweep into its jobs by
Hydra's own override parser and basic-sweeper rules (comma lists, range, choice, glob,
``hydra.sweeper.params``), composes every job's config and checks it (the schema, then the
experiment's ``check``). ``experiments.run.cli`` stops on the first problem with one line
and exit code 2, before anything is written.
"""

from __future__ import annotations

import contextlib
import copy
import os
from dataclasses import dataclass
from pathlib import Path

from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

import experiments
from experiments.config import CONF, checked, code_at_start
from experiments.results import config_matches, result_status
from experiments.schema import TOP_SCHEMA, ConfigError, check_key

REFUSE_STALE = "--refuse-stale"  # our flag (not Hydra's): stop if a finished job is stale



@dataclass
class Job:
    num: int                # Hydra's job number ([job N])
    overrides: list[str]    # the job's own overrides
    config: dict            # its resolved config (no hydra section)
    out_dir: Path | None    # its directory (None if the directory pattern cannot be resolved here)

    @property
    def label(self) -> str:
        return " ".join(self.overrides)


@dataclass
class Plan:
    multirun: bool
    jobs: list[Job]
    root: Path              # the sweep directory, or the single run's directory


def one_line_text(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _compose_error(exc: Exception) -> ConfigError:
    """A Hydra composition error as one line."""
    text = one_line_text(exc)
    cause = exc.__cause__
    if cause is not None and one_line_text(cause) and one_line_text(cause) not in text:
        text += f" ({one_line_text(cause)})"
    return ConfigError(f"cannot compose the config: {text or type(exc).__name__}")


def _parse_args(argv: list[str]):
    """Hydra's own command-line parser, its errors as ConfigError."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str):
        raise ConfigError(f"command line: {message}; allowed: python -m experiments.run [-m] +exp=NAME key=value ...")

    parser.error = error
    return parser.parse_args(argv)


def _config_loader(args):
    """The config loader Hydra's main would build for these arguments."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_automatic_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    config_path = args.config_path if args.config_path is not None else CONF
    search_path = create_automatic_config_search_path(__file__, None, config_path)
    if args.config_dir is not None:
        config_dir = os.path.abspath(args.config_dir)
        if not os.path.isdir(config_dir):
            raise ConfigError(f"--config-dir {config_dir}: not a directory; allowed: a directory of configs")
        search_path.prepend(provider="command-line", path=f"file://{config_dir}",
                            anchor=SearchPathQuery(provider="schema"))
    return ConfigLoaderImpl(config_search_path=search_path)


def _values(override) -> list:
    """Every value an override sets: one, or each value of a sweep."""
    if override.is_sweep_override():
        try:
            values = list(override.sweep_iterator(transformer=type(override)._convert_value))  # 'a' -> a
        except Exception as exc:
            raise ConfigError(f"{override.input_line}: {one_line_text(exc)}; allowed: a comma list, "
                              "range(), choice() or glob()") from None
        if not values:
            raise ConfigError(f"{override.input_line}: sweeps over no value; allowed: at least one value")
        return values
    return [override.value()]


def check_values(overrides) -> None:
    """Check each value of each parsed override on its own (every value of a sweep): the
    experiment's SCHEMA for exp.*, TOP_SCHEMA for the top-level keys; unknown keys."""
    names = [v for o in overrides if o.key_or_group == "exp" and not o.is_delete() for v in _values(o)]
    modules = {name: experiments.get(name) for name in names}  # an unknown name raises here
    for o in overrides:
        key = o.key_or_group
        if o.is_delete() or o.package is not None or key.startswith("hydra") or key == "exp":
            continue
        if key.startswith("exp."):
            sub = key[4:]
            for name, module in modules.items():
                check_key(name, module, sub)
                for v in _values(o):
                    module.SCHEMA[sub].check(key, v)
        elif key in TOP_SCHEMA:
            for v in _values(o):
                TOP_SCHEMA[key].check(key, v)
        else:
            raise ConfigError(f"{key}: unknown key; allowed: exp.<key>, {', '.join(TOP_SCHEMA)}, hydra.*")


class _DirPattern:
    """The job directory pattern (``hydra.sweep.subdir``) resolved for one job after another:
    one small config per base, in which only what changed from the last job is set (creating
    a config is slow, setting a value is not)."""

    def __init__(self, template, job_name: str):
        self.template, self.job_name = template, job_name
        self.node, self.keys, self.last = None, None, None

    @staticmethod
    def _scalars(config: dict) -> dict:
        values = {k: v for k, v in config.items() if not isinstance(v, (dict, list))}
        values["exp"] = {k: v for k, v in config["exp"].items() if not isinstance(v, (dict, list))}
        return values

    def __call__(self, config: dict, override_dirname: str, num: int) -> Path | None:
        if self.template is None:
            return None
        values = self._scalars(config)
        keys = (tuple(values), tuple(values["exp"]))
        job = {"override_dirname": override_dirname, "num": num, "name": self.job_name}
        if self.node is None or keys != self.keys:
            self.node = OmegaConf.create(dict(values, hydra={"job": job}, _nnlab_dir=self.template))
            self.keys, self.last = keys, values
        else:
            for key, value in values.items():
                if key != "exp" and self.last[key] != value:
                    self.node[key] = value
            for key, value in values["exp"].items():
                if self.last["exp"][key] != value:
                    self.node.exp[key] = value
            self.node.hydra.job.override_dirname = override_dirname
            self.node.hydra.job.num = num
            self.last = values
        try:
            return Path(str(self.node["_nnlab_dir"]))
        except Exception:  # a pattern over more than plain values: resolve it on the whole config
            try:
                full = OmegaConf.create(dict(config, hydra={"job": job}, _nnlab_dir=self.template))
                return Path(str(full["_nnlab_dir"]))
            except Exception:
                return None


def plan(argv: list[str]) -> Plan | None:
    """Compose and check every job of this command line; raise ConfigError (one line) at the
    first problem. None for Hydra's informational commands (--help, --cfg, --info, ...)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = _parse_args(argv)
    if args.help or args.hydra_help or args.cfg or args.info or args.shell_completion:
        return None
    config_name = args.config_name or "config"
    loader = _config_loader(args)
    parser = OverridesParser.create(config_loader=loader)
    try:
        parsed = parser.parse_overrides(args.overrides)
    except Exception as exc:
        raise ConfigError(f"cannot parse overrides: {one_line_text(exc)}") from None
    check_values(parsed)

    def compose(overrides: list[str], mode: RunMode, validate_sweeps: bool = True) -> DictConfig:
        try:
            return loader.load_configuration(config_name, list(overrides), mode,
                                             validate_sweep_overrides=validate_sweeps)
        except ConfigError:
            raise
        except Exception as exc:
            raise _compose_error(exc) from None

    multirun, cfg = args.multirun, None
    if not multirun:  # hydra.mode=MULTIRUN in a config or an override also means a sweep, as for Hydra
        try:
            cfg = compose(args.overrides, RunMode.RUN)
            multirun = cfg.hydra.mode == RunMode.MULTIRUN
        except ConfigError:
            sweep = compose(args.overrides, RunMode.MULTIRUN, validate_sweeps=False)
            if sweep.hydra.mode != RunMode.MULTIRUN:
                raise
            multirun = True
    if not multirun:
        config = checked(cfg)[1]
        try:
            out_dir = Path(str(cfg.hydra.run.dir))
        except Exception as exc:
            raise _compose_error(exc) from None
        return Plan(False, [Job(0, list(args.overrides), config, out_dir)], out_dir)

    master = compose(args.overrides, RunMode.MULTIRUN)
    sweeper = master.hydra.sweeper
    try:
        sweep_dir = Path(str(master.hydra.sweep.dir))
    except Exception as exc:
        raise _compose_error(exc) from None
    if sweeper.get("_target_") != f"{BasicSweeper.__module__}.{BasicSweeper.__name__}":
        return Plan(True, [], sweep_dir)  # another sweeper expands its own jobs: not checked here
    params = OmegaConf.to_container(sweeper, resolve=True).get("params") or {}  # as Hydra instantiates it
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += OmegaConf.to_container(master.hydra.overrides.task, resolve=False)  # as Hydra's multirun
    try:
        swept = parser.parse_overrides(arguments)
        check_values(swept)
        batches = BasicSweeper.split_arguments(swept, sweeper.get("max_batch_size"))
    except ConfigError:
        raise
    except Exception as exc:
        raise _compose_error(exc) from None
    lists = [job for batch in batches for job in batch]
    if not lists:
        raise ConfigError("the sweep has no job; allowed: at least one value for every swept key")
    hydra_overrides = OmegaConf.to_container(master.hydra.overrides.hydra, resolve=False)
    dirname = master.hydra.job.config.override_dirname
    subdir = OmegaConf.to_container(master.hydra.sweep, resolve=False).get("subdir")
    repo = loader.repository
    job_dir = _DirPattern(subdir, master.hydra.job.name)
    parsed_once: dict[str, object] = {}
    bases: dict[tuple, tuple[DictConfig, set]] = {}
    composed: dict[tuple, dict] = {}
    jobs = []
    for num, overrides in enumerate(lists):
        try:
            items = [parsed_once[s] if s in parsed_once else parsed_once.setdefault(s, parser.parse_overrides([s])[0])
                     for s in overrides]
            ConfigLoaderImpl.validate_sweep_overrides_legal(items, RunMode.RUN, from_shell=True)
            # A job's config is Hydra's: the defaults list (config groups, hydra's keys)
            # composed in full, once per distinct choice of groups, then the job's value
            # overrides applied in order by Hydra's own function. Jobs that differ only in
            # plain top-level values (seed=3) share that composition: those values are set
            # on its resolved copy and checked against TOP_SCHEMA.
            groups = tuple(s for s, o in zip(overrides, items) if _is_structural(o, repo))
            if groups not in bases:
                base = compose(hydra_overrides + list(groups), RunMode.RUN)
                with open_dict(base):
                    del base["hydra"]
                plain = "${" not in repr(OmegaConf.to_container(base, resolve=False))  # no interpolation
                bases[groups] = (base, _plain_top_keys(base) if plain else set(), plain)
            base, plain_top, plain = bases[groups]
            values = [o for o in items if not _is_structural(o, repo)]
            touched = {o.key_or_group for o in values if not _is_plain_set(o)}
            top = [o for o in values if _is_plain_set(o) and o.key_or_group in plain_top - touched]
            rest = [o for o in values if o not in top]
            key = (groups, tuple(o.input_line for o in rest))
            if key not in composed:
                with _applied(base, rest, undo=plain) as cfg:
                    composed[key] = checked(cfg)[1]
            config = composed[key]
            top_values = {o.key_or_group: o.value() for o in top}
            for k, v in top_values.items():
                if k in TOP_SCHEMA:
                    TOP_SCHEMA[k].check(k, v)
            config = dict(config, **top_values)
        except Exception as exc:
            text = one_line_text(exc if isinstance(exc, ConfigError) else _compose_error(exc))
            raise ConfigError(f"{text} (in [job {num}] of {len(lists)}: {' '.join(overrides)}; "
                              "no job was started)") from None
        name = get_overrides_dirname(items, list(dirname.exclude_keys), dirname.item_sep, dirname.kv_sep)
        where = job_dir(config, name, num)
        jobs.append(Job(num, list(overrides), config, sweep_dir / where if where is not None else None))
    return Plan(True, jobs, sweep_dir)


@contextlib.contextmanager
def _applied(base: DictConfig, overrides: list, undo: bool):
    """``base`` with Hydra's value overrides applied (``_apply_overrides_to_config``, as in
    Hydra's own composition). Plain ``key=value`` overrides of existing values are applied to
    ``base`` itself and undone afterwards (copying a large config costs milliseconds) when
    ``undo`` (a base without interpolations); anything else (+key, ~key, dicts, new keys)
    to a deep copy."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    old = {}
    for o in (overrides if undo else [None]):
        if o is None:
            break
        if o.is_add() or o.is_force_add() or o.is_delete() or isinstance(o.value(), dict):
            break
        node = OmegaConf.select(base, o.key_or_group, throw_on_missing=False, default=_MISSING)
        if node is _MISSING or isinstance(node, DictConfig):
            break
        old.setdefault(o.key_or_group, OmegaConf.to_container(node) if isinstance(node, ListConfig) else node)
    else:
        try:
            ConfigLoaderImpl._apply_overrides_to_config(overrides, base)
            yield base
        finally:
            for key, value in old.items():
                OmegaConf.update(base, key, value, merge=False)
        return
    cfg = copy.deepcopy(base)
    ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)
    yield cfg


_MISSING = object()


def _plain_top_keys(base: DictConfig) -> set:
    """Top-level keys holding a plain value (no container) in a composed config without
    interpolations: setting one changes nothing else."""
    return {k for k, v in OmegaConf.to_container(base, resolve=False).items() if not isinstance(v, (dict, list))}


def _is_plain_set(override) -> bool:
    """key=value: not +key, ++key, ~key, and not a dict value (which Hydra merges)."""
    return not (override.is_add() or override.is_force_add() or override.is_delete()
                or isinstance(override.value(), (dict, list)))


def _is_structural(override, repo) -> bool:
    """Whether Hydra applies this override through the defaults list (a config group, a
    package, hydra's own keys) rather than as a value on the composed config."""
    if override.is_hydra_override() or override.package is not None:
        return True
    return repo.group_exists(override.key_or_group) and not isinstance(override.value(), dict)


def check_stale(jobs: list[Job]) -> None:
    """--refuse-stale: raise ConfigError if a job's results exist but are stale."""
    for job in jobs:
        if job.out_dir is None or job.config.get("force"):
            continue
        name = job.config["exp"]["name"]
        code = code_at_start(name)
        status, why = result_status(job.out_dir, job.config, code)
        if status == "stale":
            raise ConfigError(f"{REFUSE_STALE}: job {job.num} ({job.label}) has stale results in {job.out_dir}: "
                              f"{why}; nothing was run; allowed: rerun without {REFUSE_STALE} to compute "
                              "it again, or move that directory away")


def unfinished(jobs: list[Job]) -> list[Job]:
    """The jobs without a readable results file for their config (after a sweep)."""
    return [job for job in jobs if job.out_dir is not None and not config_matches(job.out_dir, job.config)]

