"""What bounds the workloads that stay under 2x: single operations timed at their shapes.

    python -m experiments.bench.probes

- W3 (deep linear, 64 networks of 64 x 64 layers on 512 examples): the batched
  matrix product at those shapes, in the arrangements a training step can use,
  against one plain product of the same arithmetic: the ceiling for any program
  made of them;
- W2 (width 64 on 256 examples, 256 networks): the logistic of one step's hidden
  input sums (256 x 64 x 256 values) on its own, against the step;
- W5 (per-example SGD): a ``lax.scan`` of steps that each do almost nothing, the
  cost of a step of any program that runs its steps one after another.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.bench import timed


def seconds(fn, *args, repeats: int = 30) -> float:
    """Median wall time of the jitted ``fn(*args)``, compiled first."""
    compiled = jax.jit(fn)
    run = lambda: jax.block_until_ready(compiled(*args))
    run()
    return float(np.median([timed(run)[0] for _ in range(repeats)]))


def batched_products(R: int = 64, n: int = 64, N: int = 512) -> dict[str, float]:
    """GFLOP/s of R products (n x n) @ (n x N) in each arrangement, and of one (R n x n) @ (n x N)."""
    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.normal(size=(R, n, n)), jnp.float32)
    units_major = jnp.asarray(rng.normal(size=(R, n, N)), jnp.float32)  # nnlab "rows": (R, units, examples)
    examples_major = jnp.asarray(rng.normal(size=(R, N, n)), jnp.float32)  # (R, examples, units)
    flops = 2 * R * n * n * N
    forms = {
        "forward W^T a, (R, units, examples)": (lambda W, a: jnp.einsum("rij,rin->rjn", W, a), W, units_major),
        "forward a W, (R, examples, units)": (lambda W, a: jnp.einsum("rni,rij->rnj", a, W), W, examples_major),
        "weight gradient delta a^T, (R, units, examples)": (
            lambda d, a: jnp.einsum("rjn,rin->rji", d, a), units_major, units_major),
        "weight gradient a^T delta, (R, examples, units)": (
            lambda d, a: jnp.einsum("rnj,rni->rji", d, a), examples_major, examples_major),
        "one product (R n x n) @ (n x N), same arithmetic": (
            lambda W, a: W.reshape(R * n, n) @ a[0], W, units_major),
    }
    return {name: flops / seconds(fn, *args) / 1e9 for name, (fn, *args) in forms.items()}


def logistic_seconds(values: int = 256 * 64 * 256) -> float:
    """Seconds for ``jax.nn.sigmoid`` of ``values`` float32 numbers (read, evaluate, write)."""
    z = jnp.asarray(np.random.default_rng(0).normal(size=(values // 256, 256)), jnp.float32)
    return seconds(jax.nn.sigmoid, z)


def empty_step_seconds(steps: int = 1024, networks: int = 256, width: int = 16) -> float:
    """Seconds per step of a ``lax.scan`` whose step updates a (networks, width) array in a few tiny
    operations that depend on each other (a stand-in for a step too small to be worth running)."""
    def run(h):
        def step(h, t):
            h = jnp.tanh(h * 0.5 + t.astype(h.dtype) * 1e-3)
            return h - jnp.mean(h, axis=1, keepdims=True) * 1e-3, None
        return jax.lax.scan(step, h, jnp.arange(steps))[0]
    return seconds(run, jnp.ones((networks, width), jnp.float32), repeats=10) / steps


def main() -> None:
    devices = jax.local_devices()
    print(f"{len(devices)} {devices[0].platform} device(s), jax {jax.__version__}")
    print("W3: 64 products (64 x 64) @ (64 x 512), GFLOP/s")
    for name, rate in batched_products().items():
        print(f"  {name:52s} {rate:7.1f}")
    print(f"W2: logistic of 256 x 64 x 256 values: {1e3 * logistic_seconds():.2f} ms")
    print(f"W5: a scan step of 3 tiny dependent operations: {1e6 * empty_step_seconds():.1f} us")


if __name__ == "__main__":
    main()
