"""JAX's persistent compilation cache: a directory per machine type, an off switch, corrupted entries recompiled."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from experiments import jaxcache

TINY = ["+exp=article_example", "exp.steps=50", "exp.restarts=2", "exp.points=8", "progress=false"]


def run_tiny(tmp_path: Path, cache, name: str, *extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, NNLAB_JAX_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-m", "experiments.run", *TINY, *extra, f"hydra.run.dir={tmp_path / name}"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def rows(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path / "results.parquet")


def test_directory_names_the_machine_and_the_switch_turns_it_off(monkeypatch, tmp_path):
    monkeypatch.setenv(jaxcache.ENV, str(tmp_path))
    path = jaxcache.cache_dir()
    assert path.parent == tmp_path and "jax" in path.name and "jaxlib" in path.name
    monkeypatch.setenv(jaxcache.ENV, "off")
    assert jaxcache.cache_dir() is None
    monkeypatch.delenv(jaxcache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jaxcache.cache_dir().parent == tmp_path / "xdg" / "nnlab" / "jax"


def test_second_run_reads_the_cache_and_a_corrupted_entry_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    run_tiny(tmp_path, cache, "first")
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries, "the first run wrote no cache entry"
    run_tiny(tmp_path, cache, "second")
    for entry in entries:  # a job killed while writing: garbage where a program should be
        entry.write_bytes(b"not a compiled program")
    third = run_tiny(tmp_path, cache, "third")
    assert "Error reading persistent compilation cache" in third.stderr
    first, second, again = (rows(tmp_path / n) for n in ("first", "second", "third"))
    pd.testing.assert_frame_equal(first, second)  # bit-identical results, cached or not
    pd.testing.assert_frame_equal(first, again)
    off = run_tiny(tmp_path, "off", "off")
    assert "Error reading" not in off.stderr
    pd.testing.assert_frame_equal(first, rows(tmp_path / "off"))
