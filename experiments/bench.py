"""Speed of ``nnlab.train`` against the best plain-JAX training loop written by hand.

    python -m experiments.bench            # all workloads, 3 alternating repeats
    python -m experiments.bench --quick    # reduced sizes, under a minute
    python -m experiments.bench --only W1,W4 --repeats 5

The reference (``reference_program``) is what a skilled JAX user writes:
``jax.jit(jax.vmap(train_one))`` with ``jax.grad`` of the loss inside a
``lax.scan``, plain SGD, the same initial weights (``nnlab.init_mlp`` on the same
keys, or the same given arrays) and the same data, the same shuffles for
minibatches. It returns the final weights and final loss only; nnlab also
records ``records`` losses along the way. Both run in float32 in this process,
alternating (ABAB, then BABA, ...) so that machine noise hits both; the table
gives medians over repeats. Compile time is the first call's time minus the
median warm call. W4 (a width sweep) is timed as a whole sweep from cold caches,
compilation included: the reference jits one program per width, nnlab trains all
widths in one call, padded to the widest and masked per restart.

Prints the table and writes it to ``results/bench/bench.csv`` (atomically).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import nnlab
from experiments.results import ROOT, atomic_write

OUT = ROOT / "results" / "bench"


# ---------------------------------------------------------------- workloads

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
    widths: tuple[int, ...] = ()  # a width sweep: hidden width of sizes[1] for each group of restarts


def all_inputs(n: int) -> np.ndarray:
    """Every input of n bits, (2^n, n): row i has bits x_j = (i >> j) & 1."""
    i = np.arange(2**n)
    return ((i[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float32)


def parity(x: np.ndarray) -> np.ndarray:
    return (x.sum(axis=1, keepdims=True) % 2).astype(np.float32)


def workloads(quick: bool) -> list[Workload]:
    """The standard workloads (reduced sizes with ``quick``)."""
    q = (lambda full, small: small) if quick else (lambda full, small: full)
    rng = np.random.default_rng(0)
    x4, x5, x8 = all_inputs(4), all_inputs(5), all_inputs(8)
    n3 = q(512, 128)
    x3 = rng.normal(size=(n3, 16)).astype(np.float32)
    teacher = rng.normal(size=(16, 16)).astype(np.float32) / 4
    w4_widths = tuple(range(1, q(32, 3) + 1))
    return [
        Workload("W1", "n=4 parity, width 8, full batch", x4, parity(x4), (4, 8, 1),
                 q(1024, 256), q(2000, 200), lr=2.0),
        Workload("W2", "n=8 parity, width 64, full batch", x8, parity(x8), (8, 64, 1),
                 q(256, 32), q(1000, 50), lr=1.0),
        Workload("W3", f"deep linear 16-64-64-64-16, {n3} examples", x3, x3 @ teacher,
                 (16, 64, 64, 64, 16), q(64, 8), q(1000, 50), lr=0.01, hidden="identity", output="identity"),
        Workload("W4", f"5-bit parity, widths 1..{w4_widths[-1]} swept, compile included", x5, parity(x5),
                 (5, w4_widths[-1], 1), q(64, 8), q(2000, 200), lr=2.0, widths=w4_widths),
        Workload("W5", "n=8 parity, width 16, per-example SGD (batch 1), 4 epochs", x8, parity(x8),
                 (8, 16, 1), q(256, 32), 4 * 256, lr=0.5, batch_size=1, records=4),
    ]


def flops_per_restart_step(sizes, batch: int) -> float:
    """Useful float operations of one SGD step of one network: per example and layer,
    2 fan_in fan_out each for the forward product, the weight gradient and (after the
    first layer) the delta sent back."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    return float(batch * sum(2 * i * o * (2 if l == 0 else 3) for l, (i, o) in enumerate(layers)))


def workload_flops(w: Workload) -> float:
    batch = w.x.shape[0] if w.batch_size is None else w.batch_size
    if w.widths:
        return sum(w.restarts * w.steps * flops_per_restart_step((w.sizes[0], h, w.sizes[-1]), batch)
                   for h in w.widths)
    return w.restarts * w.steps * flops_per_restart_step(w.sizes, batch)


def restart_steps(w: Workload) -> int:
    return w.restarts * w.steps * max(1, len(w.widths))


# ---------------------------------------------------------------- the reference

ACTIVATION = {"sigmoid": jax.nn.sigmoid, "identity": lambda z: z}


def reference_loss(params, x, y, hidden: str, output: str):
    """Mean over examples of the summed squared error; x: (N, n_in), y: (N, n_out)."""
    h = x
    for l, layer in enumerate(params):
        h = ACTIVATION[output if l == len(params) - 1 else hidden](h @ layer["W"] + layer["b"][None, :])
    return jnp.sum((h - y) ** 2) / x.shape[0]


def reference_program(w: Workload, sizes):
    """jit(vmap(train_one)): train_one(key or params, x, y, lr) -> (params, final loss)."""
    grad = jax.grad(reference_loss)
    n = w.x.shape[0]

    def sgd(params, xb, yb, lr):
        g = grad(params, xb, yb, w.hidden, w.output)
        return jax.tree.map(lambda p, d: p - lr * d, params, g)

    def train_one(start, x, y, lr):
        if isinstance(start, list):  # given initial weights
            params = start
        else:  # a restart key, as nnlab.train uses it
            params = nnlab.init_mlp(jax.random.fold_in(start, 0), sizes, dtype=x.dtype)
        if w.batch_size is None:
            params, _ = jax.lax.scan(lambda p, _: (sgd(p, x, y, lr), None), params, None, length=w.steps)
        else:
            shuffle_key = jax.random.fold_in(start, 1)

            def epoch(p, e):
                order = jax.random.permutation(jax.random.fold_in(shuffle_key, e), n)
                batches = order[: n // w.batch_size * w.batch_size].reshape(-1, w.batch_size)
                p, _ = jax.lax.scan(lambda p, idx: (sgd(p, x[idx], y[idx], lr), None), p, batches)
                return p, None

            params, _ = jax.lax.scan(epoch, params, jnp.arange(w.steps // (n // w.batch_size)))
        return params, reference_loss(params, x, y, w.hidden, w.output)

    return jax.jit(jax.vmap(train_one, in_axes=(0, None, None, None)))


# ---------------------------------------------------------------- one timed call each

def sweep_init(w: Workload, seed: int = 0) -> list[list[dict]]:
    """Initial weights of the width sweep, drawn once (numpy) so both sides start equal:
    N(0, 1/fan_in) per layer with each restart's true width as the hidden fan-in."""
    rng = np.random.default_rng(seed)
    n_in, n_out, R = w.sizes[0], w.sizes[-1], w.restarts
    inits = []
    for h in w.widths:
        inits.append([
            {"W": rng.normal(size=(R, n_in, h)).astype(np.float32) / np.sqrt(n_in),
             "b": rng.normal(size=(R, h)).astype(np.float32) / np.sqrt(n_in)},
            {"W": rng.normal(size=(R, h, n_out)).astype(np.float32) / np.sqrt(h),
             "b": rng.normal(size=(R, n_out)).astype(np.float32) / np.sqrt(h)},
        ])
    return inits


def padded_sweep(w: Workload, inits):
    """All widths padded to the widest: initial weights and 0/1 masks, leaves (widths x R, ...)."""
    n_in, H, n_out, R = w.sizes[0], w.sizes[1], w.sizes[-1], w.restarts
    params, masks = [], []
    for h, init in zip(w.widths, inits):
        p = [{"W": np.zeros((R, n_in, H), np.float32), "b": np.zeros((R, H), np.float32)},
             {"W": np.zeros((R, H, n_out), np.float32), "b": init[1]["b"]}]
        p[0]["W"][:, :, :h], p[0]["b"][:, :h], p[1]["W"][:, :h] = init[0]["W"], init[0]["b"], init[1]["W"]
        m = [{"W": np.zeros((R, n_in, H), np.float32), "b": np.zeros((R, H), np.float32)},
             {"W": np.zeros((R, H, n_out), np.float32), "b": np.ones((R, n_out), np.float32)}]
        m[0]["W"][:, :, :h], m[0]["b"][:, :h], m[1]["W"][:, :h] = 1, 1, 1
        params.append(p)
        masks.append(m)
    stack = lambda trees: jax.tree.map(lambda *a: np.concatenate(a), *trees)
    return stack(params), stack(masks)


def nnlab_call(w: Workload, key):
    """A thunk running the workload through nnlab.train; returns final losses (flat)."""
    common = dict(lr=w.lr, hidden=w.hidden, output=w.output, batch_size=w.batch_size, records=w.records)
    if w.widths:
        inits = sweep_init(w)

        def run():
            params, mask = padded_sweep(w, inits)
            r = nnlab.train(key, w.x, w.y, sizes=w.sizes, restarts=len(w.widths) * w.restarts, steps=w.steps,
                            mask=mask, init_params=params, **common)
            return np.asarray(r.loss)
        return run

    def run():
        r = nnlab.train(key, w.x, w.y, sizes=w.sizes, restarts=w.restarts, steps=w.steps, **common)
        return np.asarray(r.loss)
    return run


def reference_call(w: Workload, key):
    """A thunk running the workload through the hand-written reference; returns final losses."""
    lr = jnp.float32(w.lr)
    if w.widths:
        inits = sweep_init(w)

        programs = [reference_program(w, (w.sizes[0], h, w.sizes[-1])) for h in w.widths]

        def run():  # one compiled program per width (compiled on first use, cached after)
            losses = [np.asarray(program(jax.tree.map(jnp.asarray, init), w.x, w.y, lr)[1])
                      for program, init in zip(programs, inits)]
            return np.concatenate(losses)
        return run

    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(w.restarts))
    program = reference_program(w, w.sizes)

    def run():
        return np.asarray(program(keys, w.x, w.y, lr)[1])
    return run


COMPILE_EVENTS = (  # what jax reports while it traces, lowers and compiles a program
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compiling = [0.0]


def _count_compile_time(event: str, seconds: float, **_) -> None:
    if event in COMPILE_EVENTS:
        _compiling[0] += seconds


jax.monitoring.register_event_duration_secs_listener(_count_compile_time)


def timed(run) -> tuple[float, float, np.ndarray]:
    """(wall seconds, of which compiling, run's output)."""
    _compiling[0] = 0.0
    start = time.perf_counter()
    out = run()  # returns numpy: the computation has finished
    return time.perf_counter() - start, _compiling[0], out


# ---------------------------------------------------------------- the benchmark

def sgemm_peak(n: int, tries: int = 5) -> float:
    """GFLOP/s of the best of ``tries`` float32 (n, n) @ (n, n) products."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    matmul = jax.jit(lambda a, b: a @ b)
    matmul(a, a).block_until_ready()
    best = min(timed(lambda: matmul(a, a).block_until_ready())[0] for _ in range(tries))
    return 2 * n**3 / best / 1e9


def bench_workload(w: Workload, repeats: int, log=print) -> dict:
    """Time both sides: ``repeats`` alternating calls; compile times from the cold calls."""
    key = jax.random.key(0)
    sides = {"nnlab": nnlab_call(w, key), "reference": reference_call(w, key)}
    order = list(sides)
    times, compiles, losses = {s: [] for s in sides}, {s: [] for s in sides}, {}
    alternate = lambda k: order if k % 2 == 0 else order[::-1]
    if not w.widths:  # one cold call each, for the compile time; the timed calls are warm
        jax.clear_caches()  # nnlab's programs are cached across calls; the reference's is new
        for s in order:
            _, c, losses[s] = timed(sides[s])
            compiles[s].append(c)
    for k in range(repeats):
        for s in alternate(k):
            if w.widths:  # every timed call is a whole sweep from cold caches
                jax.clear_caches()
            t, c, out = timed(sides[s])
            times[s].append(t)
            losses.setdefault(s, out)
            if w.widths:
                compiles[s].append(c)
        log(f"  {w.name} {'sweep' if w.widths else 'repeat'} {k + 1}/{repeats}: "
            + ", ".join(f"{s} {times[s][-1]:.3f} s" for s in order))
    n_rs, flops = restart_steps(w), workload_flops(w)
    row = {"workload": w.name, "what": w.what, "restarts": w.restarts * max(1, len(w.widths)),
           "steps": w.steps, "records": w.records, "repeats": repeats,
           "timed": "whole sweep, compile included" if w.widths else "warm call"}
    for s in order:
        t = statistics.median(times[s])
        row[f"{s}_s"] = t
        row[f"{s}_restart_steps_per_s"] = n_rs / t
        row[f"{s}_gflops"] = flops / t / 1e9
        row[f"{s}_compile_s"] = statistics.median(compiles[s])
    ratios = [r / n for n, r in zip(times["nnlab"], times["reference"])]
    row["ratio"] = statistics.median(ratios)
    row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
    both = np.isfinite(losses["nnlab"]) & np.isfinite(losses["reference"])
    row["max_abs_loss_diff"] = float(np.max(np.abs(losses["nnlab"][both] - losses["reference"][both]), initial=0))
    row["diverged_nnlab"], row["diverged_reference"] = int(np.sum(~np.isfinite(losses["nnlab"]))), int(
        np.sum(~np.isfinite(losses["reference"])))
    return row


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def format_table(df: pd.DataFrame) -> str:
    cols = {
        "workload": "workload", "restarts": "R", "steps": "steps",
        "nnlab_restart_steps_per_s": "nnlab rs/s", "reference_restart_steps_per_s": "ref rs/s",
        "ratio": "nnlab/ref", "ratio_range": "range", "nnlab_compile_s": "nnlab compile s",
        "reference_compile_s": "ref compile s", "nnlab_gflops": "nnlab GFLOP/s",
        "reference_gflops": "ref GFLOP/s", "nnlab_peak_pct": "nnlab % peak", "reference_peak_pct": "ref % peak",
    }
    t = df.copy()
    t["ratio_range"] = [f"{a:.2f}-{b:.2f}" for a, b in zip(t.ratio_min, t.ratio_max)]
    t["nnlab_peak_pct"] = 100 * t.nnlab_gflops / t.peak_gflops
    t["reference_peak_pct"] = 100 * t.reference_gflops / t.peak_gflops
    t = t[list(cols)].rename(columns=cols)
    fmt = {"nnlab rs/s": "{:.3g}", "ref rs/s": "{:.3g}", "nnlab/ref": "{:.2f}x", "nnlab compile s": "{:.2f}",
           "ref compile s": "{:.2f}", "nnlab GFLOP/s": "{:.2f}", "ref GFLOP/s": "{:.2f}", "nnlab % peak": "{:.1f}",
           "ref % peak": "{:.1f}"}
    for c, f in fmt.items():
        t[c] = [f.format(v) for v in t[c]]
    return t.to_string(index=False)


def run(quick: bool = False, repeats: int | None = None, only: list[str] | None = None,
        out: Path | None = OUT, log=print) -> pd.DataFrame:
    """Run the benchmark; returns the table (one row per workload) and writes it to ``out``."""
    repeats = (2 if quick else 3) if repeats is None else repeats
    chosen = [w for w in workloads(quick) if not only or w.name in only]
    if only and len(chosen) != len(only):
        raise SystemExit(f"--only {','.join(only)}: unknown workload; allowed: W1, W2, W3, W4, W5")
    load_start = load_average()
    peak = sgemm_peak(1024 if quick else 2048)
    log(f"machine: {cpu_model()}, {os.cpu_count()} cores, load {load_start:.2f}; "
        f"float32 SGEMM peak {peak:.1f} GFLOP/s")
    rows = []
    for w in chosen:
        log(f"{w.name}: {w.what}, R={w.restarts}, steps={w.steps}")
        rows.append(bench_workload(w, repeats, log))
    df = pd.DataFrame(rows)
    df["peak_gflops"] = peak
    df["cpu"], df["cores"] = cpu_model(), os.cpu_count()
    df["load_start"], df["load_end"] = load_start, load_average()
    df["quick"], df["jax"] = quick, jax.__version__
    df["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    log(format_table(df))
    if out is not None:
        path = Path(out) / ("bench_quick.csv" if quick else "bench.csv")
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
        log(f"written: {path}")
    return df


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under a minute")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 3; quick 2)")
    parser.add_argument("--only", default=None, help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--out", default=str(OUT), help="directory for bench.csv")
    args = parser.parse_args(argv)
    only = [s.strip().upper() for s in args.only.split(",")] if args.only else None
    run(args.quick, args.repeats, only, Path(args.out))


if __name__ == "__main__":
    main()
