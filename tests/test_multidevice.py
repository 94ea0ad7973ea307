"""Restarts are sharded over all local devices (two forced CPU devices here)."""

import json
import os
import subprocess
import sys

import jax
import numpy as np

import nnlab

SCRIPT = """
import json, jax, numpy as np, nnlab
SWEEP = [[2, 1, 1], [2, 3, 1], [2, 6, 1]]
x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
y = np.array([[0], [1], [1], [0]], np.float32)
r = nnlab.train(jax.random.key(3), x, y, sizes=[2, 3, 1], restarts=5, steps=300, lr=2.0)
shardings = {str(d) for leaf in jax.tree.leaves(r.params) for d in leaf.sharding.device_set}
sweep = nnlab.train(jax.random.key(3), x, y, sizes=SWEEP, restarts=3, steps=300, lr=2.0, groups=3)
print(json.dumps({"devices": jax.local_device_count(), "loss": np.asarray(r.loss).tolist(),
                  "used": len(shardings), "sweep": np.asarray(sweep.loss).tolist(),
                  "sweep_W": np.asarray(sweep.params[0]["W"]).tolist()}))
"""
SWEEP = [[2, 1, 1], [2, 3, 1], [2, 6, 1]]  # the same as in SCRIPT


def test_restarts_shard_over_two_devices_with_the_same_results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2 and out["used"] == 2
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    single = nnlab.train(jax.random.key(3), x, y, sizes=[2, 3, 1], restarts=5, steps=300, lr=2.0)
    assert len(out["loss"]) == 5  # 5 restarts padded to 6 for two devices, then trimmed
    np.testing.assert_allclose(out["loss"], np.asarray(single.loss), rtol=1e-4, atol=1e-6)
    # a sweep in 3 groups of 3 networks: each group split 2 + 1 over the devices (its last network repeated)
    sweep = nnlab.train(jax.random.key(3), x, y, sizes=SWEEP, restarts=3, steps=300, lr=2.0, groups=1)
    np.testing.assert_allclose(out["sweep"], np.asarray(sweep.loss), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["sweep_W"], np.asarray(sweep.params[0]["W"]), rtol=1e-4, atol=1e-5)
