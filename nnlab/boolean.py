"""Boolean functions as truth tables, and the textbook one-hidden-layer network.

Convention (docs/design.md): input index i in [0, 2^n) has bits x_j = (i >> j) & 1,
j = 0..n-1, and a function f is the integer whose bit i is f(x(i)). Functions
are Python ints (n = 12 gives 4096-bit integers); ``bits`` and ``from_bits``
convert to and from arrays of 0/1.

The construction (``construction``): one hidden threshold unit per input a
with f(a) = 1, firing exactly at x = a (weights 2a_j - 1, bias -|a|), and an
output unit that is their OR (weights 1, bias -1). Its width is |f^{-1}(1)|,
at most 2^n; for f = 0 it has no hidden unit at all.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .mlp import Params, forward

MAX_N = 12  # 4096 inputs: the largest tables the experiments build
FAMILIES = ("parity", "majority", "random", "all")


def inputs(n: int) -> np.ndarray:
    """All inputs in index order. -> (2^n, n) uint8 with x[i, j] = (i >> j) & 1."""
    i = np.arange(2**n)
    return ((i[:, None] >> np.arange(n)[None, :]) & 1).astype(np.uint8)


def bits(f: int, n: int) -> np.ndarray:
    """The truth table of f as 0/1 values. -> (2^n,) uint8, entry i = f(x(i))."""
    raw = np.frombuffer(int(f).to_bytes((2**n + 7) // 8, "little"), np.uint8)
    return np.unpackbits(raw, bitorder="little")[: 2**n]


def from_bits(values) -> int:
    """The function whose value at input i is values[i] (any 0/1 sequence)."""
    packed = np.packbits(np.asarray(values, np.uint8), bitorder="little")
    return int.from_bytes(packed.tobytes(), "little")


def to_hex(f: int, n: int) -> str:
    """f as a fixed-width hex string, e.g. XOR of n = 2 is '0x6'."""
    return f"0x{int(f):0{max(1, 2**n // 4)}x}"


def parity(n: int) -> int:
    """1 iff an odd number of inputs are 1."""
    return from_bits(inputs(n).sum(axis=1) % 2)


def majority(n: int) -> int:
    """1 iff more than half of the inputs are 1 (a tie, n even, gives 0)."""
    return from_bits(2 * inputs(n).sum(axis=1) > n)


def random_functions(n: int, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` distinct functions drawn uniformly from all 2^(2^n)."""
    total = 2 ** (2**n)
    if count > total:
        raise ValueError(f"cannot draw {count} distinct functions of {n} bits; there are {total}")
    if n <= 5:  # fits int64: draw without replacement
        return [int(f) for f in rng.choice(total, size=count, replace=False)]
    out: dict[int, None] = {}
    while len(out) < count:
        out.setdefault(from_bits(rng.integers(0, 2, 2**n)), None)
    return list(out)


def family(name: str, n: int, count: int = 1, rng: np.random.Generator | None = None) -> list[int]:
    """The functions of a family: ``parity`` and ``majority`` (one each), ``random``
    (``count`` draws from ``rng``), ``all`` (every function, in increasing order)."""
    if name == "parity":
        return [parity(n)]
    if name == "majority":
        return [majority(n)]
    if name == "random":
        return random_functions(n, count, rng if rng is not None else np.random.default_rng(0))
    if name == "all":
        return list(range(2 ** (2**n)))
    raise ValueError(f"family {name!r} is unknown; allowed: {', '.join(FAMILIES)}")


def construction(f: int, n: int, universal: bool = False, dtype=jnp.float32) -> Params:
    """The textbook network for f: one hidden ``step`` unit per true input, output OR.

    Returns params for sizes [n, k, 1]: W1 (n, k), b1 (k,), W2 (k, 1), b2 (1,), with
    k = |f^{-1}(1)|. ``universal=True`` keeps all 2^n detector units (k = 2^n) and
    sets output weight f(a) on unit a: one architecture, every f by its weights.
    Use with ``forward(params, x, hidden="step", output="step")``.
    """
    values = bits(f, n).astype(bool)
    detected = inputs(n) if universal else inputs(n)[values]
    detected = detected.astype(np.int64)  # (k, n): the inputs a the hidden units detect
    k = detected.shape[0]
    W1 = (2 * detected - 1).T  # +1 where a_j = 1, -1 where a_j = 0
    b1 = -detected.sum(axis=1)  # w.x reaches |a| only at x = a
    W2 = values.astype(np.int64)[:, None] if universal else np.ones((k, 1), np.int64)
    return [
        {"W": jnp.asarray(W1.reshape(n, k), dtype), "b": jnp.asarray(b1, dtype)},
        {"W": jnp.asarray(W2, dtype), "b": jnp.full((1,), -1.0, dtype)},
    ]


def evaluate(params: Params, n: int, mask: Params | None = None) -> int:
    """The function a threshold network (``step`` hidden and output units) computes,
    from its output on all 2^n inputs (float32, exact for integer weights < 2^24)."""
    x = jnp.asarray(inputs(n), params[0]["W"].dtype)
    out = np.asarray(forward(params, x, hidden="step", output="step", mask=mask))[:, 0]
    return from_bits(out > 0.5)
