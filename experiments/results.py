"""Writing and reading run results: atomic files, provenance, a loader over trees.

A finished run directory holds ``results.parquet`` (tidy rows, config values as
columns, provenance in the file's metadata), ``summary.csv``, ``config.yaml``
and PNG figures. Every file is written to a temporary name and renamed, and
``results.parquet`` is written last, so its presence marks a finished job and a
killed job never leaves a torn file.

A result is current (``result_status``) when its recorded config equals the job's
and its recorded ``code_hash`` equals ``code_hash(exp)`` now: a hash of the content of
the files the experiment's results depend on (``code_files``: nnlab/, the shared
modules of experiments/, the experiment's package and the packages it imports, its
configs). A job directory is worked on under ``job_lock``: one process at a time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from experiments.codehash import ROOT, code_files, code_hash  # noqa: F401  (re-exported)

RESULTS = "results.parquet"
META_KEY = b"nnlab"
LOCK = ".lock"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is removed if anything fails (a full disk: the half-written file
    goes, an older ``path`` stays as it was)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance(config: Mapping[str, Any], code: str | None = None) -> dict[str, Any]:
    """What produced a result: the resolved config, seed, code hash, versions, commit, device."""
    import jax
    import numpy as np

    import nnlab

    return {
        "config": dict(config),
        "seed": config.get("seed"),
        "code_hash": code or code_hash(config.get("exp", {}).get("name")),
        "nnlab_version": nnlab.__version__,
        "git_commit": _git_commit(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
    }


def config_column(key: str) -> str:
    """The column of exp key ``key`` in a results table: ``exp.<key>``, as it is overridden."""
    return f"exp.{key}"


def with_config_columns(df: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """The table with the run's config as typed columns: ``exp`` (its name), ``seed``
    and ``exp.<key>`` for every exp key (lists stay lists, null is None)."""
    columns = {"exp": config["exp"]["name"], "seed": config["seed"]}
    columns |= {config_column(k): v for k, v in config["exp"].items() if k != "name"}
    return df.assign(**{k: [v] * len(df) if isinstance(v, (list, tuple)) else v for k, v in columns.items()})


def write_parquet(path: Path, df: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[META_KEY] = json.dumps(meta, default=str).encode()
    table = table.replace_schema_metadata(metadata)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_meta(path: Path) -> dict[str, Any]:
    """The provenance stored in a results file (raises if the file is unreadable)."""
    metadata = pq.read_schema(path).metadata or {}
    if META_KEY not in metadata:
        raise ValueError("no nnlab metadata")
    return json.loads(metadata[META_KEY])


def result_status(out_dir: Path, config: Mapping[str, Any], code: str | None = None) -> tuple[str, str]:
    """("missing", ""), ("finished", "") or ("stale", why) for the results in ``out_dir``.

    Finished: a readable results file whose recorded config equals ``config`` and whose
    recorded code hash equals ``code`` (default: ``code_hash`` of its experiment now). Anything else
    there is stale: another config, other code, no code hash, an unreadable file."""
    path = Path(out_dir) / RESULTS
    if not path.exists():
        return "missing", ""
    try:
        pq.read_metadata(path)  # reads the footer: a torn file fails here
        meta = read_meta(path)
    except Exception as exc:
        return "stale", f"its {RESULTS} is unreadable ({_one_line(exc)})"
    if meta.get("config") != json.loads(json.dumps(dict(config), default=str)):
        return "stale", "its recorded config differs from this job's"
    code = code or code_hash(config.get("exp", {}).get("name"))
    recorded = meta.get("code_hash")
    if recorded is None:
        return "stale", "it records no code hash (written before resume compared code)"
    if recorded != code:
        return "stale", f"the code changed since it was computed (code {recorded}, now {code})"
    return "finished", ""


def config_matches(out_dir: Path, config: Mapping[str, Any]) -> bool:
    """True if ``out_dir`` holds a readable results file recording ``config`` (code aside)."""
    try:
        return read_meta(Path(out_dir) / RESULTS).get("config") == json.loads(json.dumps(dict(config), default=str))
    except Exception:
        return False


def is_finished(out_dir: Path, config: Mapping[str, Any], code: str | None = None) -> bool:
    """True if ``out_dir`` holds a readable results file for the same config and code."""
    return result_status(out_dir, config, code)[0] == "finished"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WriteError(OSError):
    """A job's directory or results could not be written (a full disk, a read-only directory)."""


@contextlib.contextmanager
def job_lock(out_dir: Path, waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock of a job directory (``out_dir/.lock``, ``fcntl.flock``): one process at
    a time checks, computes and writes a job. If another process holds it, call
    ``waiting(who)`` once and wait until it is released. The kernel releases the lock when
    its holder exits, however it exits (SIGKILL included), so a lock is never stale; the
    empty-ish file stays (deleting it would let two processes lock different files)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteError(f"could not create the lock file {out_dir / LOCK}: {_one_line(exc)}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                waiting(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):  # who holds it, for the message above; best effort
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_debris(out_dir: Path) -> None:
    """Remove temporary files of writers that died (``.NAME.tmp-PID``); call it holding the
    job's lock, when no other writer of this directory can be alive."""
    for path in Path(out_dir).glob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            path.unlink()


def check_writable(directory: Path) -> None:
    """Raise OSError unless a file can be written in ``directory`` (or, if it does not exist
    yet, in its nearest existing ancestor): a probe file is created, written, synced and
    removed; no directory is created."""
    target = Path(directory).absolute()
    while not target.exists():
        if target.parent == target:
            break
        target = target.parent
    if not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(target))
    probe = target / f".nnlab-write-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            data = memoryview(b"\0" * 4096)
            while data:  # a short write, then an error: how a disk that fills shows
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def write_run(
    out_dir: Path,
    df: pd.DataFrame,
    summary: pd.DataFrame,
    figures: Mapping[str, Any],
    config: Mapping[str, Any],
    code: str | None = None,
) -> None:
    """Write figures, summary, config, then the results table (the completion marker).

    df: the results with config columns (``with_config_columns``); code: the code hash
    recorded (default: ``code_hash`` of its experiment now)."""
    from omegaconf import OmegaConf

    out_dir = Path(out_dir)
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        atomic_write(out_dir / f"{name}.png", lambda tmp: tmp.write_bytes(buf.getvalue()))
    atomic_write_text(out_dir / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(dict(config))))
    write_parquet(out_dir / RESULTS, df, provenance(config, code))


def load_results(root: str | Path, report: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every results file under ``root`` (a run or a multirun tree) as one DataFrame.

    Adds a ``run_dir`` column. Unreadable files are reported (one line each, to
    stderr unless ``report`` is given), listed in ``df.attrs["skipped"]`` and skipped.
    """
    report = report or (lambda line: print(line, file=sys.stderr))
    root = Path(root)
    paths = [root] if root.is_file() else sorted(root.rglob(RESULTS))
    frames, skipped, configs = [], [], {}
    for path in paths:
        try:
            frame = pd.read_parquet(path)
            meta = read_meta(path)
        except Exception as exc:  # a torn or foreign file must not stop the analysis
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            skipped.append((str(path), reason))
            report(f"skipped unreadable results file {path}: {reason}")
            continue
        frames.append(frame.assign(run_dir=str(path.parent)))
        configs[str(path.parent)] = meta["config"]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    df.attrs["skipped"] = skipped
    df.attrs["configs"] = configs
    return df


def swept_keys(configs: list[Mapping[str, Any]]) -> list[str]:
    """The exp keys (``exp.<key>``) whose value differs between these run configs, seed aside."""
    flat = [{config_column(k): json.dumps(v) for k, v in c["exp"].items() if k != "name"} for c in configs]
    keys = sorted({k for f in flat for k in f})
    return [k for k in keys if len({f.get(k) for f in flat}) > 1]
