"""JAX's persistent compilation cache, on by default, one directory per machine type.

Most of a short run is XLA compiling its programs, and every run of a config (and
every job of a sweep) compiles the same ones. With the cache a second run reuses
them. An entry is only good for the CPU it was compiled for (XLA targets the host's
instruction set) and for the jax and jaxlib that compiled it, so the directory is
named after all of them: a home directory shared by cluster nodes with different
CPUs keeps their programs apart. A corrupted entry (a job killed while writing it)
is reported by JAX as a warning and compiled again.

Switch: ``NNLAB_JAX_CACHE=off`` turns it off; ``NNLAB_JAX_CACHE=DIR`` puts it under
DIR; the default is ``$XDG_CACHE_HOME/nnlab/jax`` (``~/.cache/nnlab/jax``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
from pathlib import Path

ENV = "NNLAB_JAX_CACHE"
MIN_COMPILE_SECONDS = 0.2  # programs that compile faster are not worth a file


def machine_key() -> str:
    """The machine type: CPU model and instruction-set flags, jax/jaxlib versions, platform."""
    import jax
    import jaxlib

    model, flags = platform.machine(), ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.*)$", info, re.M).group(1)
        flags = re.search(r"^flags\s*:\s*(.*)$", info, re.M).group(1)
    except (OSError, AttributeError):
        pass
    digest = hashlib.sha1(f"{model}|{flags}|{os.environ.get('JAX_PLATFORMS', '')}".encode()).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9]+", "-", model).strip("-")[:40] or platform.machine()
    return f"{name}-{digest}-jax{jax.__version__}-jaxlib{jaxlib.__version__}"


def cache_dir() -> Path | None:
    """Where this machine's cache lives, or None when ``NNLAB_JAX_CACHE=off``."""
    setting = os.environ.get(ENV, "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    root = Path(setting) if setting else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnlab" / "jax"
    return root / machine_key()


def enable() -> Path | None:
    """Turn the cache on (before the first compilation); returns its directory, or None."""
    import jax

    path = cache_dir()
    if path is None:
        return None
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return path
