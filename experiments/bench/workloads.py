"""The benchmark's workloads W1-W5 and their arithmetic (useful float operations)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnlab import boolean as B


@dataclass(frozen=True)
class Workload:
    """One benchmark case. x: (N, n_in) float32; y: (N, n_out) float32."""

    name: str
    what: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    sizes: tuple[int, ...]
    restarts: int
    steps: int
    lr: float
    hidden: str = "sigmoid"
    output: str = "sigmoid"
    batch_size: int | None = None
    records: int = 100
    widths: tuple[int, ...] = ()  # a width sweep: the hidden width of each architecture, `restarts` each

    @property
    def architectures(self) -> list[tuple[int, ...]]:
        """The layer sizes trained: one architecture, or one per width of a sweep."""
        if not self.widths:
            return [self.sizes]
        return [(self.sizes[0], h, self.sizes[-1]) for h in self.widths]

    @property
    def networks(self) -> int:
        return self.restarts * len(self.architectures)


def boolean_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every input of n bits and its parity, float32: (2^n, n), (2^n, 1)."""
    return B.inputs(n).astype(np.float32), B.bits(B.parity(n), n)[:, None].astype(np.float32)


def workloads(quick: bool) -> list[Workload]:
    """The standard workloads (reduced sizes with ``quick``)."""
    q = (lambda full, small: small) if quick else (lambda full, small: full)
    rng = np.random.default_rng(0)
    (x4, y4), (x5, y5), (x8, y8) = boolean_data(4), boolean_data(5), boolean_data(8)
    n3 = q(512, 128)
    x3 = rng.normal(size=(n3, 16)).astype(np.float32)
    teacher = rng.normal(size=(16, 16)).astype(np.float32) / 4
    w4_widths = tuple(range(1, q(32, 3) + 1))
    return [
        Workload("W1", "n=4 parity, width 8, full batch", x4, y4, (4, 8, 1), q(1024, 256), q(2000, 200), lr=2.0),
        Workload("W2", "n=8 parity, width 64, full batch", x8, y8, (8, 64, 1), q(256, 32), q(1000, 50), lr=1.0),
        Workload("W3", f"deep linear 16-64-64-64-16, {n3} examples", x3, x3 @ teacher,
                 (16, 64, 64, 64, 16), q(64, 8), q(1000, 50), lr=0.01, hidden="identity", output="identity"),
        Workload("W4", f"5-bit parity, widths 1..{w4_widths[-1]} swept, {q(64, 8)} restarts each", x5, y5,
                 (5, w4_widths[-1], 1), q(64, 8), q(2000, 200), lr=2.0, widths=w4_widths),
        Workload("W5", "n=8 parity, width 16, per-example SGD (batch 1), 4 epochs", x8, y8,
                 (8, 16, 1), q(256, 32), 4 * 256, lr=0.5, batch_size=1, records=4),
    ]


def flops_per_restart_step(sizes, batch: int) -> float:
    """Useful float operations of one SGD step of one network: per example and layer,
    2 fan_in fan_out each for the forward product, the weight gradient and (after the
    first layer) the delta sent back."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    return float(batch * sum(2 * i * o * (2 if l == 0 else 3) for l, (i, o) in enumerate(layers)))


def workload_flops(w: Workload) -> float:
    """Useful operations of the whole workload (a sweep counts each network at its true width)."""
    batch = w.x.shape[0] if w.batch_size is None else w.batch_size
    return sum(w.restarts * w.steps * flops_per_restart_step(a, batch) for a in w.architectures)


def restart_steps(w: Workload) -> int:
    return w.networks * w.steps
