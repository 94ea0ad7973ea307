"""Speed of ``nnlab.train`` against the best plain-JAX training loop written by hand.

    python -m experiments.bench            # all workloads, 3 alternating repeats
    python -m experiments.bench --quick    # reduced sizes, under a minute
    python -m experiments.bench --only W1,W4 --repeats 5

Three sides train the same networks (the same initial weights, from
``nnlab.population.init_population``, the same data, the same minibatch orders):
``nnlab`` (``nnlab.train``, the packed engine), ``vmap`` (``nnlab.train(...,
engine="vmap")``: nnlab's backprop written for one network, vmapped) and
``reference`` (``experiments.bench.reference``: what a skilled JAX user writes);
for a width sweep (W4) also ``padded`` (``nnlab.train(..., groups=1)``: every
width padded to the widest, as the reference does, where nnlab by default trains
the sweep in groups padded each to its own widest).
Each side is called once from cold caches (its compile time, from jax.monitoring),
then timed warm, alternating the order of the sides between repeats so that
machine noise hits all of them; the table gives medians over repeats and the range
of the per-repeat ratios. A width sweep (W4) is one program on every side.

Prints the table and writes it to ``results/bench/bench.csv`` (atomically).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import nnlab
from nnlab.population import Population, init_population, padding_mask
from experiments.bench.reference import reference_program
from experiments.bench.workloads import Workload, restart_steps, workload_flops, workloads
from experiments.results import ROOT, atomic_write

OUT = ROOT / "results" / "bench"
SIDES = ("nnlab", "vmap", "reference")
SWEEP_SIDES = SIDES + ("padded",)  # a width sweep also runs nnlab with every width padded to the widest
LABELS = {"nnlab": "nnlab packed", "vmap": "nnlab vmap", "padded": "nnlab packed, one group"}


def side_calls(w: Workload, key) -> dict:
    """A thunk per side running the workload; each returns the final losses (M,)."""
    sizes = w.architectures if w.widths else w.sizes
    common = dict(sizes=sizes, restarts=w.restarts, steps=w.steps, lr=w.lr, hidden=w.hidden, output=w.output,
                  batch_size=w.batch_size, records=w.records)
    pop = Population.of(sizes, w.restarts)
    init = init_population(key, pop)
    mask = padding_mask(pop) if pop.padding else None
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.asarray(pop.restart_ids))
    init, mask, keys = shard_networks((init, mask, keys))
    program = reference_program(w, masked=mask is not None)
    return {
        "nnlab": lambda: np.asarray(nnlab.train(key, w.x, w.y, **common).loss),
        "vmap": lambda: np.asarray(nnlab.train(key, w.x, w.y, engine="vmap", **common).loss),
        "reference": lambda: np.asarray(program(init, mask, keys, w.x, w.y, jnp.float32(w.lr))[1]),
        "padded": lambda: np.asarray(nnlab.train(key, w.x, w.y, groups=1, **common).loss),
    }


def shard_networks(tree):
    """Over several devices (GPUs, or ``XLA_FLAGS=--xla_force_host_platform_device_count=N``),
    spread the leading network axis of every array over all of them, as ``nnlab.train`` does, so
    that the reference's jit partitions its vmap the same way; unchanged on one device or when
    the networks do not divide evenly."""
    devices = jax.local_devices()
    leaves = jax.tree.leaves(tree)
    if len(devices) == 1 or any(a.shape[0] % len(devices) for a in leaves):
        return tree
    mesh = jax.sharding.Mesh(np.array(devices), ("networks",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("networks"))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)


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


def sgemm_peak(n: int, tries: int = 5) -> float:
    """GFLOP/s of the best of ``tries`` float32 (n, n) @ (n, n) products."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    matmul = jax.jit(lambda a, b: a @ b)
    matmul(a, a).block_until_ready()
    best = min(timed(lambda: matmul(a, a).block_until_ready())[0] for _ in range(tries))
    return 2 * n**3 / best / 1e9


def bench_workload(w: Workload, repeats: int, log=print) -> dict:
    """Compile time from one cold call per side, then ``repeats`` warm calls in rotating order."""
    names = SWEEP_SIDES if w.widths else SIDES
    sides = side_calls(w, jax.random.key(0))
    times, compiles, losses = {s: [] for s in names}, {}, {}
    jax.clear_caches()
    for s in names:
        _, compiles[s], losses[s] = timed(sides[s])
    for k in range(repeats):
        for s in names[k % len(names):] + names[:k % len(names)]:
            times[s].append(timed(sides[s])[0])
        log(f"  {w.name} repeat {k + 1}/{repeats}: " + ", ".join(f"{s} {times[s][-1]:.3f} s" for s in names))
    row = {"workload": w.name, "what": w.what, "networks": w.networks, "steps": w.steps, "records": w.records,
           "repeats": repeats}
    for s in names:
        t = statistics.median(times[s])
        row |= {f"{s}_s": t, f"{s}_restart_steps_per_s": restart_steps(w) / t,
                f"{s}_gflops": workload_flops(w) / t / 1e9, f"{s}_compile_s": compiles[s]}
    for name, fast, slow in (("ratio", "nnlab", "reference"), ("ratio_vmap", "vmap", "reference"),
                             ("packed_gain", "nnlab", "vmap"), ("ratio_padded", "padded", "reference"),
                             ("group_gain", "nnlab", "padded")):
        if fast not in names or slow not in names:
            continue
        ratios = [b / a for a, b in zip(times[fast], times[slow])]
        row |= {name: statistics.median(ratios), f"{name}_min": min(ratios), f"{name}_max": max(ratios)}
    for s in (s for s in names if s != "reference"):
        # compilation against the reference's (cold calls, one each)
        row[f"{s}_compile_ratio"] = compiles[s] / compiles["reference"] if compiles["reference"] > 0 else np.nan
        # NaN where either side is not finite: the sides must agree everywhere
        row[f"{s}_max_abs_loss_diff"] = float(np.max(np.abs(losses[s] - losses["reference"])))
    row |= {f"diverged_{s}": int(np.sum(~np.isfinite(losses[s]))) for s in names}
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
    """One line per workload and side: speed, the ratio to the reference, compile time, GFLOP/s."""
    lines = []
    for _, r in df.iterrows():
        for s, ratio in (("nnlab", "ratio"), ("vmap", "ratio_vmap"), ("padded", "ratio_padded"), ("reference", None)):
            if not np.isfinite(r.get(f"{s}_s", np.nan)):
                continue
            lines.append({
                "workload": r.workload, "side": LABELS.get(s, s),
                "rs/s": f"{r[f'{s}_restart_steps_per_s']:.3g}",
                "vs ref": f"{r[ratio]:.2f}x ({r[f'{ratio}_min']:.2f}-{r[f'{ratio}_max']:.2f})" if ratio else "1",
                "compile s": f"{r[f'{s}_compile_s']:.2f}" + (f" ({r[f'{s}_compile_ratio']:.1f}x)" if ratio else ""),
                "GFLOP/s": f"{r[f'{s}_gflops']:.2f}",
                "% peak": f"{100 * r[f'{s}_gflops'] / r.peak_gflops:.1f}",
            })
    return pd.DataFrame(lines).to_string(index=False)


def run(quick: bool = False, repeats: int | None = None, only: list[str] | None = None,
        out: Path | None = OUT, log=print) -> pd.DataFrame:
    """Run the benchmark; returns the table (one row per workload) and writes it to ``out``."""
    repeats = (2 if quick else 3) if repeats is None else repeats
    chosen = [w for w in workloads(quick) if not only or w.name in only]
    if only and len(chosen) != len(only):
        raise SystemExit(f"--only {','.join(only)}: unknown workload; allowed: W1, W2, W3, W4, W5")
    load_start = load_average()
    peak = sgemm_peak(1024 if quick else 2048)
    devices = jax.local_devices()
    log(f"machine: {cpu_model()}, {os.cpu_count()} cores, load {load_start:.2f}; "
        f"{len(devices)} {devices[0].platform} device(s) ({devices[0].device_kind}); "
        f"float32 SGEMM peak {peak:.1f} GFLOP/s")
    rows = []
    for w in chosen:
        log(f"{w.name}: {w.what}, {w.networks} networks, steps={w.steps}")
        rows.append(bench_workload(w, repeats, log))
    df = pd.DataFrame(rows)
    df["peak_gflops"] = peak
    df["cpu"], df["cores"] = cpu_model(), os.cpu_count()
    df["load_start"], df["load_end"] = load_start, load_average()
    df["platform"], df["devices"], df["device_kind"] = devices[0].platform, len(devices), devices[0].device_kind
    df["quick"], df["jax"] = quick, jax.__version__
    df["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    log(format_table(df))
    if out is not None:
        path = Path(out) / ("bench_quick.csv" if quick else "bench.csv")
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
        log(f"written: {path}")
    return df
