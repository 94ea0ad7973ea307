"""The benchmark runs (--quick) and reports finite, positive numbers; never a timed assertion."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd

from experiments import bench
from experiments.bench.workloads import flops_per_restart_step, workload_flops, workloads


def test_quick_benchmark_runs_and_writes_its_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.bench", "--quick", "--repeats", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nnlab packed" in done.stdout and "nnlab vmap" in done.stdout and "SGEMM peak" in done.stdout
    df = pd.read_csv(tmp_path / "bench_quick.csv")
    assert list(df.workload) == ["W1", "W2", "W3", "W4", "W5"]
    positive = [f"{s}_{q}" for s in bench.SIDES for q in ("restart_steps_per_s", "gflops", "s")]
    positive += ["ratio", "ratio_min", "ratio_max", "ratio_vmap", "packed_gain", "peak_gflops"]
    values = df[positive].to_numpy(float)
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    compile_times = df[[f"{s}_compile_s" for s in bench.SIDES]].to_numpy(float)
    assert np.all(np.isfinite(compile_times)) and np.all(compile_times >= 0)
    compile_ratios = df[["nnlab_compile_ratio", "vmap_compile_ratio"]].to_numpy(float)
    assert np.all(np.isfinite(compile_ratios)) and np.all(compile_ratios >= 0)
    # same networks, same data: every side trains to the same final losses (float32 rounding); a NaN on
    # either side makes the difference NaN and fails here
    diffs = df[["nnlab_max_abs_loss_diff", "vmap_max_abs_loss_diff"]].to_numpy(float)
    assert np.all(diffs < 1e-3)
    assert (df[[f"diverged_{s}" for s in bench.SIDES]] == 0).all().all()
    # the width sweep (W4) also runs nnlab with every width padded to the widest; no other workload does
    sweep = df.workload == "W4"
    padded = df.loc[sweep, ["padded_s", "ratio_padded", "group_gain"]].to_numpy(float)
    assert np.all(np.isfinite(padded)) and np.all(padded > 0)
    assert np.all(df.loc[sweep, "padded_compile_s"].to_numpy(float) >= 0)  # 0 where it is nnlab's own program
    assert np.all(df.loc[sweep, "padded_max_abs_loss_diff"].to_numpy(float) < 1e-3)
    assert df.loc[~sweep, "padded_s"].isna().all()
    assert "nnlab packed, one group" in done.stdout


def test_flop_count_by_hand():
    # n=4, width 8, 1 output, 16 examples: layer 1 forward + weight gradient (2 x 2*4*8),
    # layer 2 forward + delta back + weight gradient (3 x 2*8*1), per example
    assert flops_per_restart_step((4, 8, 1), 16) == 16 * (2 * 64 + 3 * 16)
    sweep = next(w for w in workloads(quick=True) if w.widths)
    assert sweep.architectures == [(5, h, 1) for h in sweep.widths]  # each width at its true size
    assert workload_flops(sweep) == sum(sweep.restarts * sweep.steps * flops_per_restart_step((5, h, 1), 32)
                                           for h in sweep.widths)


def test_on_two_devices_both_sides_shard_and_agree(tmp_path):
    """With two (host) devices the reference's networks are split over both, like nnlab's: the run
    reports 2 devices and every side still trains to the same losses."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-m", "experiments.bench", "--quick", "--repeats", "1", "--only", "W1,W4",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 cpu device(s)" in done.stdout
    df = pd.read_csv(tmp_path / "bench_quick.csv")
    assert (df.devices == 2).all() and (df.platform == "cpu").all()
    assert np.all(df[["nnlab_max_abs_loss_diff", "vmap_max_abs_loss_diff"]].to_numpy(float) < 1e-3)



def test_probes_time_their_operations_at_small_sizes():
    from experiments.bench import probes
    rates = probes.batched_products(R=4, n=8, N=16)
    assert len(rates) == 5 and all(np.isfinite(r) and r > 0 for r in rates.values())
    assert 0 < probes.logistic_seconds(values=256 * 16) < 1
    assert 0 < probes.empty_step_seconds(steps=8, networks=4, width=2) < 1
