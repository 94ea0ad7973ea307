"""The benchmark runs (--quick) and reports finite, positive numbers; never a timed assertion."""

import subprocess
import sys

import numpy as np
import pandas as pd

from experiments import bench


def test_quick_benchmark_runs_and_writes_its_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.bench", "--quick", "--repeats", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nnlab/ref" in done.stdout and "SGEMM peak" in done.stdout
    df = pd.read_csv(tmp_path / "bench_quick.csv")
    assert list(df.workload) == ["W1", "W2", "W3", "W4", "W5"]
    positive = ["nnlab_restart_steps_per_s", "reference_restart_steps_per_s", "ratio", "ratio_min", "ratio_max",
                "nnlab_gflops", "reference_gflops", "peak_gflops", "nnlab_s", "reference_s"]
    values = df[positive].to_numpy(float)
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    compile_times = df[["nnlab_compile_s", "reference_compile_s"]].to_numpy(float)
    assert np.all(np.isfinite(compile_times)) and np.all(compile_times >= 0)
    # same networks, same data: the two sides agree on the final losses (float32 rounding)
    assert np.all(df.max_abs_loss_diff < 1e-3)


def test_flop_count_by_hand():
    # n=4, width 8, 1 output, 16 examples: layer 1 forward + weight gradient (2 x 2*4*8),
    # layer 2 forward + delta back + weight gradient (3 x 2*8*1), per example
    assert bench.flops_per_restart_step((4, 8, 1), 16) == 16 * (2 * 64 + 3 * 16)


def test_padded_sweep_masks_each_width():
    w = next(w for w in bench.workloads(quick=True) if w.widths)
    params, mask = bench.padded_sweep(w, bench.sweep_init(w))
    live = mask[0]["b"].sum(axis=1)  # hidden units of each restart
    np.testing.assert_array_equal(live, np.repeat(w.widths, w.restarts))
    assert np.all(params[0]["W"][mask[0]["W"] == 0] == 0)
