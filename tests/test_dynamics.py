"""The dynamics part of deep_vs_flat at tiny sizes: the small random (unaligned) start against the
aligned one and the closed form of Saxe et al. (2014), and the l4 regression of Arora et al.
(2018) over several problems."""

import jax
import numpy as np
import pandas as pd
import pytest

from nnlab import linear as LI
from experiments.deep_vs_flat import dynamics, l4
from expcheck import compose_tiny

DYN = ["exp.part=dynamics", "exp.dyn_depths=[1,2,3]", "exp.dyn_s=[2.0,1.0]", "exp.dyn_steps=1200",
       "exp.dyn_records=24", "exp.dyn_lr=0.005", "exp.dyn_u0=0.01", "exp.dyn_samples=8",
       "exp.dyn_init=[aligned,random]"]
L4 = ["exp.part=dynamics", "exp.l4_depths=[1,2]", "exp.l4_problems=3", "exp.l4_dim=4", "exp.l4_samples=32",
      "exp.l4_condition=2.0", "exp.l4_noise=0.3", "exp.l4_lrs=[0.005,0.01,0.02,0.04]", "exp.l4_steps=2000",
      "exp.l4_records=40"]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_random_init_scale_gives_rms_mode_strength_u0(depth):
    d, u0 = 3, 0.01
    sigma = LI.random_init_scale(u0, d, depth)
    rng = np.random.default_rng(depth)
    layers = rng.normal(scale=sigma, size=(20_000, depth, d, d))
    W = layers[:, 0]
    for l in range(1, depth):
        W = W @ layers[:, l]
    V, U = LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d)
    u = np.einsum("ia,mij,ja->ma", V, W, U)
    assert np.sqrt(np.mean(u**2)) == pytest.approx(u0, rel=0.05)


def test_random_init_follows_the_key_rule():
    """Restart i's random start is init_mlp's draw from fold_in(fold_in(key(seed), i), 0), rescaled."""
    import nnlab

    sizes = [3, 3, 3]
    a, b = dynamics.random_init(5, 2, sizes, 0.01), dynamics.random_init(5, 2, sizes, 0.04)
    ref = nnlab.init_mlp(jax.random.fold_in(jax.random.fold_in(jax.random.key(5), 2), 0), sizes)
    for la, lb, lr in zip(a, b, ref):
        assert not la["b"].any()
        np.testing.assert_allclose(la["W"] / np.abs(la["W"]).max(), lb["W"] / np.abs(lb["W"]).max(), rtol=1e-6)
        np.testing.assert_allclose(la["W"] / np.abs(la["W"]).max(), np.asarray(lr["W"]) / np.abs(lr["W"]).max(),
                                   rtol=1e-6)
    assert not np.allclose(a[0]["W"], dynamics.random_init(5, 3, sizes, 0.01)[0]["W"])


@pytest.fixture(scope="module")
def dyn_rows():
    exp = compose_tiny("deep_vs_flat", DYN).exp
    return exp, pd.DataFrame(dynamics.rows(exp, 0, False))


def test_random_start_reaches_the_closed_forms_final_values(dyn_rows):
    _, df = dyn_rows
    modes = df[df.kind == "mode"]
    assert set(modes.init) == {"aligned", "random"} and len(modes) == 2 * 3 * 2 * 25
    rand = modes[modes.init == "random"]
    start = rand[rand.step == 0]
    assert (start.u_sim.abs() < 0.1).all() and (start.u_sim - start.u0).abs().max() > 1e-4  # small, not u0 exactly
    end = rand[rand.step == rand.step.max()]
    np.testing.assert_allclose(end.u_sim, end.s, rtol=0.02)
    two = end[end.depth <= 2]
    np.testing.assert_allclose(two.u_sim, two.u_theory, rtol=0.02)  # the closed form's final value, s
    assert not rand.diverged.any()


def test_aligned_start_still_matches_the_closed_form(dyn_rows):
    _, df = dyn_rows
    aligned = df[(df.kind == "mode") & (df.init == "aligned")]
    assert ((aligned.u_sim - aligned.u_gd).abs() / aligned.s).max() < 1e-4
    two = aligned[aligned.depth == 2]
    assert ((two.u_sim - two.u_theory).abs() / two.s).max() < 0.05  # O(lr): GD steps vs gradient flow
    assert (aligned[aligned.step == 0].u_sim - 0.01).abs().max() < 1e-6


def test_dynamics_summary_has_both_starts_and_the_shift(dyn_rows):
    exp, df = dyn_rows
    rows, head = dynamics.summary(df, exp)
    table = pd.DataFrame(rows)
    (title, frame), = head.items()
    assert set(frame.init) == {"aligned", "random"} and len(frame) == 6
    shift = table[table.quantity.str.startswith("stage-time shift")]
    assert set(shift.init) == {"random"} and len(shift) == 3 * 2
    closed = table[table.quantity.str.startswith("max |u_sim - u_closed_form|")]
    assert set(zip(closed.init, closed.depth)) == {(i, d) for i in ("aligned", "random") for d in (1, 2)}
    assert np.isfinite(closed.value).all()
    shaped = table[table.quantity.str.startswith("max |u_sim - u_GD_recursion(t - shift)|")]
    aligned = shaped[shaped.init == "aligned"]
    assert len(aligned) == 3 and (aligned.value < 1e-4).all()  # no shift needed for the aligned start
    figs = dynamics.figures(df, exp)
    assert set(figs) == {"dynamics", "dynamics_random"}
    import matplotlib.pyplot as plt
    for f in figs.values():
        plt.close(f)


def test_half_time_and_shift():
    steps = np.array([0, 10, 20, 30])
    assert dynamics.half_time(steps, np.array([0.0, 0.2, 0.8, 1.0]), 1.0) == pytest.approx(15.0)
    assert np.isnan(dynamics.half_time(steps, np.zeros(4), 1.0))
    gd = LI.gd_mode_trajectory(1.0, 0.01, 2, 0.01, 2000)
    at = np.arange(0, 1001, 25)
    moved = gd[np.clip(at - 137, 0, None)]  # the same curve, 137 steps later
    np.testing.assert_allclose(dynamics.shifted_reference(gd, at, moved, 1.0), moved, atol=1e-12)


@pytest.fixture(scope="module")
def l4_rows():
    exp = compose_tiny("deep_vs_flat", L4).exp
    return exp, pd.DataFrame(l4.rows(exp, 0, False))


def test_l4_speedup_rows_for_every_problem_and_depth(l4_rows):
    exp, df = l4_rows
    runs = df[df.kind == "l4"]
    assert len(runs) == 3 * 2 * 4 and sorted(runs.problem.unique()) == [0, 1, 2]
    assert runs.groupby("problem").optimal_loss.first().nunique() == 3  # three different problems
    rows, head = l4.summary(df, exp)
    table = pd.DataFrame(rows)
    steps = table[table.quantity.str.startswith("l4 regression: steps to loss")]
    assert set(zip(steps.problem, steps.depth)) == {(p, d) for p in range(3) for d in (1, 2)}
    assert np.isfinite(steps[steps.depth == 1].value).all()  # depth 1 reaches the target: its steps are recorded
    speed = table[table.quantity.str.startswith("l4 regression: speed-up over depth 1 (")]
    assert len(speed) == 6 and (speed[speed.depth == 1].value == 1).all()
    ranges = table[table.quantity.str.contains("over the 3 problems")]
    assert len(ranges) == 2 and set(ranges.depth) == {2}
    lo, hi = sorted(ranges.value)
    assert (lo, hi) == pytest.approx((speed[speed.depth == 2].value.min(), speed[speed.depth == 2].value.max()))
    assert 0 < lo <= hi
    (title, frame), = head.items()
    assert "depth 2:" in title and len(frame) == 6
    figs = l4.figures(df, exp)
    import matplotlib.pyplot as plt
    assert set(figs) == {"l4"}
    for f in figs.values():
        plt.close(f)


def test_l4_problem_zero_is_the_earlier_single_problem(l4_rows):
    exp, _ = l4_rows
    rng = np.random.default_rng([0, 7])
    d = exp.l4_dim
    x = rng.normal(size=(exp.l4_samples, d)) * np.geomspace(1.0, 1.0 / exp.l4_condition, d)[None, :]
    x0, _, _ = l4.problem(exp, 0, 0)
    np.testing.assert_array_equal(x0, x)
    assert not np.allclose(l4.problem(exp, 0, 1)[0], x)
