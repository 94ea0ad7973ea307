"""Test settings: float64 and strict rank promotion, switched on before any array exists."""

import os

import jax

# Runs started by the tests do not write JAX's compilation cache into the home directory
# (tests/test_jaxcache.py turns it on in a temporary directory).
os.environ.setdefault("NNLAB_JAX_CACHE", "off")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("nnlab", deadline=None, max_examples=40)
settings.load_profile("nnlab")


@pytest.fixture
def compose_exp():
    """compose_exp(name, *overrides) -> the composed config, as ``+exp=name`` would give."""
    from hydra import compose, initialize_config_dir
    from pathlib import Path

    conf = str(Path(__file__).resolve().parents[1] / "conf")

    def _compose(name, *overrides):
        with initialize_config_dir(config_dir=conf, version_base="1.3"):
            return compose("config", overrides=[f"+exp={name}", "progress=false", *overrides])

    return _compose
