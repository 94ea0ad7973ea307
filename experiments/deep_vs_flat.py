"""Depth vs flattening: deep linear nets are one matrix, yet depth can be far cheaper
and changes how gradient descent learns.

Parts (``exp.part``, a name or a list; every row carries a ``part`` column):

* ``flatten``: random deep linear nets (identity activations, biases included)
  through ``nnlab.forward`` against their product matrix (``nnlab.linear.flatten``),
  in float32; parameter counts deep vs the one layer they flatten to.
* ``factorizations``: rank-k maps n -> k -> n (2nk weights vs n^2) and the
  Walsh-Hadamard transform as log2(n) butterfly layers (2n log2 n vs n^2),
  exact constructions checked against the dense matrix; then a butterfly-masked
  deep linear net and a dense one-layer net trained on the transform from data.
* ``multiplication``: the 4-neuron gate of Lin, Tegmark & Rolnick (2017), its
  error vs the input scale lambda (fitted log-log slope); the product of n
  inputs as a deep tree of gates vs the narrowest single hidden layer that
  reaches the target error when trained (widths and restarts of every n in one
  compiled program, padded by masks).
* ``dynamics``: full-batch GD on deep linear nets of depth 1..4 from a small,
  balanced init aligned with a linear teacher's modes: simulated mode strengths
  against the closed form of Saxe et al. (2014) and the exact GD recursion; and the
  l4-loss regression of Arora, Cohen & Hazan (2018), depth 1 vs 2 vs 3, each at
  its best step size from a grid, steps to reach the target loss.
"""

from __future__ import annotations

import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

import nnlab
from nnlab import linear as LI
from nnlab import multiply as MU
from experiments.schema import ConfigError, Field, as_list

PARTS = ("flatten", "factorizations", "multiplication", "dynamics")

SCHEMA = {
    "part": Field(str, choices=PARTS, many=True, help="which parts to run"),
    # flatten
    "flatten_depths": Field(int, low=1, high=64, many=True, help="depths L of the random linear nets"),
    "flatten_max_width": Field(int, low=1, high=4096, help="layer widths drawn uniformly from 1..this"),
    "flatten_trials": Field(int, low=1, high=10_000, help="random nets per depth"),
    # factorizations
    "factor_n": Field(int, low=2, high=4096, many=True, help="sizes n (powers of two) of the exact constructions"),
    "factor_rank": Field(int, low=1, high=4096, many=True, help="ranks k of the n -> k -> n maps (k < n)"),
    "fit_n": Field(int, low=2, high=1024, help="size of the Hadamard transform fitted from data (power of two)"),
    "fit_samples": Field(int, low=1, high=1_000_000, many=True, help="training points (one compile per value)"),
    "fit_restarts": Field(int, low=1, high=100_000),
    "fit_steps": Field(int, low=1, high=10_000_000),
    "fit_lr": Field(float, positive=True),
    "fit_target": Field(float, positive=True, help="relative training loss that counts as fitted"),
    # multiplication
    "gate_activation": Field(str, choices=MU.GATE_ACTIVATIONS, help="the gates' neuron function"),
    "gate_bias": Field(float, nullable=True, help="operating point b; null: the b maximising |f''(b)|"),
    "gate_lambdas": Field(float, positive=True, many=True, help="input scales of the gate sweep"),
    "gate_fit_min": Field(float, positive=True, help="smallest lambda in the slope fit"),
    "gate_fit_max": Field(float, positive=True, help="largest lambda in the slope fit"),
    "product_n": Field(int, low=2, high=12, many=True, help="numbers of inputs multiplied"),
    "product_lambda": Field(float, positive=True, help="input scale of the deep tree's gates"),
    "product_hidden": Field(str, choices=("sigmoid", "tanh"), help="activation of the trained shallow nets"),
    "product_widths": Field(float, positive=True, many=True, help="shallow widths tried, as fractions of 2^n"),
    "product_restarts": Field(int, low=1, high=100_000),
    "product_samples": Field(int, low=2, high=1_000_000),
    "product_steps": Field(int, low=1, high=10_000_000),
    "product_batch_size": Field(int, low=1, nullable=True),
    "product_lr": Field(float, positive=True, help="constant step size at width <= 8; times 8/width above"),
    "product_target": Field(float, positive=True, many=True,
                            help="test errors (MSE / variance of the product) to reach; one shallow line each"),
    # dynamics
    "dyn_depths": Field(int, low=1, high=16, many=True),
    "dyn_s": Field(float, positive=True, many=True, help="the teacher's singular values, one mode each"),
    "dyn_u0": Field(float, positive=True, many=True, help="initial strength of every mode"),
    "dyn_lr": Field(float, positive=True, many=True),
    "dyn_steps": Field(int, low=1, high=10_000_000),
    "dyn_records": Field(int, low=1, high=100_000, help="recorded steps (one call of nnlab.train each)"),
    "dyn_samples": Field(int, low=1, high=1_000_000, help="whitened training inputs (>= number of modes)"),
    "l4_depths": Field(int, low=1, high=16, many=True),
    "l4_dim": Field(int, low=1, high=10_000),
    "l4_samples": Field(int, low=2, high=1_000_000),
    "l4_noise": Field(float, positive=True, help="std of the label noise (keeps the optimal loss > 0)"),
    "l4_condition": Field(float, low=1, help="ratio of the largest to the smallest feature scale"),
    "l4_init_norm": Field(float, positive=True, help="norm of the shared initial end-to-end weights"),
    "l4_lrs": Field(float, positive=True, many=True, help="step-size grid; each depth keeps its fastest"),
    "l4_steps": Field(int, low=1, high=10_000_000),
    "l4_records": Field(int, low=1, high=100_000),
    "l4_tol": Field(float, positive=True, help="target: loss <= (1 + tol) x optimal loss"),
}


def _is_pow2(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


def check(exp) -> None:
    for n in as_list(exp.factor_n):
        if not _is_pow2(n):
            raise ConfigError(f"exp.factor_n={n}: not allowed; allowed: powers of two >= 2")
    if not _is_pow2(exp.fit_n):
        raise ConfigError(f"exp.fit_n={exp.fit_n}: not allowed; allowed: powers of two >= 2")
    if max(as_list(exp.factor_rank)) >= max(as_list(exp.factor_n)):
        raise ConfigError(f"exp.factor_rank={max(as_list(exp.factor_rank))}: not below every n; "
                          f"allowed: ranks k < max(exp.factor_n)={max(as_list(exp.factor_n))}")
    if not exp.gate_fit_min < exp.gate_fit_max:
        raise ConfigError(f"exp.gate_fit_min={exp.gate_fit_min}: not below exp.gate_fit_max={exp.gate_fit_max}; "
                          "allowed: gate_fit_min < gate_fit_max")
    inside = [v for v in as_list(exp.gate_lambdas) if exp.gate_fit_min <= v <= exp.gate_fit_max]
    if len(inside) < 2:
        raise ConfigError(f"exp.gate_lambdas: {len(inside)} values in [gate_fit_min, gate_fit_max]="
                          f"[{exp.gate_fit_min}, {exp.gate_fit_max}]; allowed: at least 2 there")
    if exp.gate_bias is not None and MU.derivatives(exp.gate_activation, exp.gate_bias)[2] == 0:
        raise ConfigError(f"exp.gate_bias={exp.gate_bias}: f''(b) = 0 for {exp.gate_activation}; "
                          "allowed: a bias where the second derivative is nonzero, or null")
    if exp.product_batch_size is not None and exp.product_batch_size > exp.product_samples:
        raise ConfigError(f"exp.product_batch_size={exp.product_batch_size}: larger than exp.product_samples="
                          f"{exp.product_samples}; allowed: null or 1..{exp.product_samples}")
    if exp.dyn_samples < len(as_list(exp.dyn_s)):
        raise ConfigError(f"exp.dyn_samples={exp.dyn_samples}: fewer than the {len(as_list(exp.dyn_s))} modes "
                          "of exp.dyn_s; allowed: >= number of modes (inputs are whitened)")
    if exp.dyn_records > exp.dyn_steps:
        raise ConfigError(f"exp.dyn_records={exp.dyn_records}: more than exp.dyn_steps={exp.dyn_steps}; "
                          f"allowed: 1..{exp.dyn_steps}")


# ============================================================================ part 1: flatten


def _random_linear_net(rng: np.random.Generator, sizes) -> list:
    return [{"W": (rng.normal(size=(i, o)) / np.sqrt(i)).astype(np.float32),
             "b": rng.normal(size=o).astype(np.float32)} for i, o in zip(sizes[:-1], sizes[1:])]


def _relative_error(out, ref) -> float:
    return float(np.linalg.norm(np.asarray(out, np.float64) - ref) / np.linalg.norm(ref))


def flatten_part(exp, seed: int, progress: bool) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 1])
    rows = []
    jobs = [(d, t) for d in as_list(exp.flatten_depths) for t in range(exp.flatten_trials)]
    for depth, trial in tqdm(jobs, desc="flatten", disable=not progress):
        sizes = [int(v) for v in rng.integers(1, exp.flatten_max_width + 1, depth + 1)]
        params = _random_linear_net(rng, sizes)
        x = rng.normal(size=(64, sizes[0])).astype(np.float32)
        flat = LI.flatten(params)
        ref = x.astype(np.float64) @ flat["W"] + flat["b"][None, :]
        deep_out = nnlab.forward(params, x, "identity", "identity")
        one_layer = [{"W": flat["W"].astype(np.float32), "b": flat["b"].astype(np.float32)}]
        flat_out = nnlab.forward(one_layer, x, "identity", "identity")
        rows.append(dict(
            part="flatten", kind="net", depth=depth, trial=trial, widths="-".join(map(str, sizes)),
            min_width=min(sizes), rank=int(np.linalg.matrix_rank(flat["W"])),
            weights_deep=LI.deep_weights(sizes), weights_flat=LI.flat_weights(sizes),
            rel_error=_relative_error(deep_out, ref),
            rel_error_deep_vs_flat=_relative_error(deep_out, np.asarray(flat_out, np.float64)),
        ))
    return pd.DataFrame(rows)


# ============================================================================ part 2: factorizations


def _exact_rows(exp, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 2])
    rows = []
    for n in as_list(exp.factor_n):
        x = rng.normal(size=(64, n)).astype(np.float32)
        for k in as_list(exp.factor_rank):
            if k >= n:
                continue
            A = (rng.normal(size=(n, k)) / np.sqrt(n)).astype(np.float32)
            B = (rng.normal(size=(k, n)) / np.sqrt(k)).astype(np.float32)
            params = LI.low_rank_params(A, B)
            dense = A.astype(np.float64) @ B.astype(np.float64)
            out = nnlab.forward(params, x, "identity", "identity", LI.zero_bias_mask([n, k, n]))
            rows.append(dict(part="factorizations", kind="rank_k", n=n, k=k, layers=2,
                             weights_deep=LI.low_rank_weights(n, k), weights_flat=n * n,
                             rank=int(np.linalg.matrix_rank(dense)),
                             rel_error=_relative_error(out, x.astype(np.float64) @ dense)))
        params = [{k_: v.astype(np.float32) for k_, v in layer.items()} for layer in LI.butterfly_params(n)]
        masks = LI.zero_bias_mask([n] * (len(params) + 1), LI.butterfly_masks(n))
        out = nnlab.forward(params, x, "identity", "identity", masks)
        dense = LI.hadamard(n) / np.sqrt(n)
        product = functools.reduce(np.matmul, LI.butterfly_factors(n))
        rows.append(dict(part="factorizations", kind="butterfly", n=n, layers=len(params),
                         weights_deep=nnlab.count_weights(params, masks), weights_flat=n * n,
                         weights_theory=LI.butterfly_weights(n),
                         factor_product_error=float(np.abs(product - LI.hadamard(n)).max()),
                         rel_error=_relative_error(out, x.astype(np.float64) @ dense)))
    return rows


def _fit_rows(exp, seed: int, progress: bool) -> list[dict]:
    """Butterfly-masked deep net vs dense one-layer net, trained on y = x H / sqrt(n)."""
    n = exp.fit_n
    m = n.bit_length() - 1
    rng = np.random.default_rng([seed, 3])
    H = LI.hadamard(n) / np.sqrt(n)
    x_test = rng.normal(size=(2048, n))
    y_test = x_test @ H
    nets = {
        "butterfly": dict(sizes=[n] * (m + 1), mask=LI.zero_bias_mask([n] * (m + 1), LI.butterfly_masks(n)),
                          init_scale=2**-0.5),
        # near-zero init: GD then converges to the min-norm interpolant, the flat net's best case
        "dense": dict(sizes=[n, n], mask=LI.zero_bias_mask([n, n]), init_scale=1e-4),
    }
    rows = []
    jobs = [(N, name) for N in as_list(exp.fit_samples) for name in nets]
    for N, name in tqdm(jobs, desc="factorizations: fit", disable=not progress):
        x = rng.normal(size=(N, n)).astype(np.float32)
        y = (x.astype(np.float64) @ H).astype(np.float32)
        net = nets[name]
        result = nnlab.train(jax.random.fold_in(jax.random.key(seed), 3), x, y, sizes=net["sizes"],
                             restarts=exp.fit_restarts, steps=exp.fit_steps, lr=exp.fit_lr,
                             hidden="identity", output="identity", mask=net["mask"],
                             init_scale=net["init_scale"], records=min(100, exp.fit_steps))
        scale = float(np.mean(np.sum(y.astype(np.float64) ** 2, axis=1)))  # loss of the zero map
        history = np.asarray(result.history, np.float64) / scale
        steps_at = np.asarray(result.history_steps)
        final = np.asarray(result.loss, np.float64) / scale
        weights = nnlab.count_weights([{"W": np.ones((i, o)), "b": np.ones(o)} for i, o in
                                       zip(net["sizes"][:-1], net["sizes"][1:])], net["mask"])
        for r in range(exp.fit_restarts):
            params = jax.tree.map(lambda a: np.asarray(a[r], np.float64), result.params)
            W = LI.flatten([{"W": p["W"] * mk["W"], "b": p["b"] * mk["b"]}
                            for p, mk in zip(params, net["mask"])])["W"]
            test_error = float(np.sum((x_test @ W - y_test) ** 2) / np.sum(y_test**2))
            reached = np.flatnonzero(history[r] <= exp.fit_target)
            rows.append(dict(part="factorizations", kind="fit", net=name, n=n, samples=N, restart=r,
                             layers=len(net["sizes"]) - 1, weights_deep=weights, weights_flat=n * n,
                             train_rel_loss=float(final[r]), test_rel_error=test_error,
                             steps_to_target=float(steps_at[reached[0]]) if reached.size else np.nan,
                             steps=exp.fit_steps, diverged=bool(result.diverged[r])))
            rows += [dict(part="factorizations", kind="fit_curve", net=name, n=n, samples=N, restart=r,
                          step=int(t), train_rel_loss=float(h)) for t, h in zip(steps_at, history[r])]
    return rows


def factorizations_part(exp, seed: int, progress: bool) -> pd.DataFrame:
    return pd.DataFrame(_exact_rows(exp, seed) + _fit_rows(exp, seed, progress))


# ============================================================================ part 3: multiplication


def _np_forward(params, x, act: str):
    """float64 evaluation of a product net (hidden ``act``, identity output)."""
    out = x
    for layer in params[:-1]:
        out = MU.derivatives(act, out @ layer["W"] + layer["b"][None, :])[0]
    return out @ params[-1]["W"] + params[-1]["b"][None, :]


def _slope(lams, errors) -> float:
    lams, errors = np.asarray(lams, float), np.asarray(errors, float)
    ok = np.isfinite(errors) & (errors > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lams[ok]), np.log(errors[ok]), 1)[0])


def _gate_rows(exp) -> list[dict]:
    act = exp.gate_activation
    bias = MU.best_bias(act) if exp.gate_bias is None else float(exp.gate_bias)
    C = MU.gate_error_coefficient(act, bias)
    g = np.linspace(-1, 1, 41)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    target = grid[:, 0] * grid[:, 1]
    rows = []
    for lam in sorted(as_list(exp.gate_lambdas)):
        net = MU.gate(lam, act, bias)
        params32 = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in net.params]
        out32 = np.asarray(nnlab.forward(params32, grid.astype(np.float32), net.hidden, net.output), np.float64)[:, 0]
        out64 = _np_forward(net.params, grid, act)[:, 0]
        rows.append(dict(part="multiplication", kind="gate", activation=act, bias=bias, lam=lam,
                         max_error=float(np.abs(out32 - target).max()),
                         max_error_f64=float(np.abs(out64 - target).max()),
                         rms_error_f64=float(np.sqrt(np.mean((out64 - target) ** 2))),
                         max_error_theory=2 * abs(C) * lam**2,
                         in_fit=bool(exp.gate_fit_min <= lam <= exp.gate_fit_max)))
    return rows


def _tree_rows(exp, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 4])
    rows = []
    for n in as_list(exp.product_n):
        net = MU.product_tree(n, exp.product_lambda, exp.gate_activation, exp.gate_bias)
        x = rng.uniform(-1, 1, size=(4096, n))
        target = np.prod(x, axis=1)
        params32 = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in net.params]
        out = np.asarray(nnlab.forward(params32, x.astype(np.float32), net.hidden, net.output), np.float64)[:, 0]
        rows.append(dict(part="multiplication", kind="tree", n=n, neurons=net.neurons,
                         layers=len(net.sizes) - 1, sizes="-".join(map(str, net.sizes)), lam=exp.product_lambda,
                         test_error=float(np.mean((out - target) ** 2) * 3.0**n),
                         max_error=float(np.abs(out - target).max()),
                         neurons_theory_4n=4 * n, neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def _shallow_widths(n: int, fractions) -> list[int]:
    return sorted({max(1, int(round(f * 2**n))) for f in fractions})


def _shallow_rows(exp, seed: int) -> list[dict]:
    """One hidden layer, every (n, width, restart) in one compiled program.

    Inputs are padded to max n and hidden layers to the max width; per-restart
    masks remove the padding. Targets are the products normalised to unit
    variance (E[prod^2] = 3^-n on [-1, 1]^n), so the loss is the relative error.
    """
    ns = as_list(exp.product_n)
    n_max = max(ns)
    rng = np.random.default_rng([seed, 5])
    x = rng.uniform(-1, 1, size=(exp.product_samples, n_max)).astype(np.float32)
    x_test = rng.uniform(-1, 1, size=(4096, n_max))
    jobs = [(n, w, r) for n in ns for w in _shallow_widths(n, as_list(exp.product_widths))
            for r in range(exp.product_restarts)]
    R, W = len(jobs), max(w for _, w, _ in jobs)
    mask = [{"W": np.zeros((R, n_max, W), np.float32), "b": np.zeros((R, W), np.float32)},
            {"W": np.zeros((R, W, 1), np.float32), "b": np.ones((R, 1), np.float32)}]
    y = np.zeros((R, exp.product_samples, 1), np.float32)
    for i, (n, w, _) in enumerate(jobs):
        mask[0]["W"][i, :n, :w] = 1
        mask[0]["b"][i, :w] = 1
        mask[1]["W"][i, :w] = 1
        y[i, :, 0] = np.prod(x[:, :n].astype(np.float64), axis=1) * 3.0 ** (n / 2)
    lr = np.array([exp.product_lr * min(1.0, 8.0 / w) for _, w, _ in jobs], np.float32)
    result = nnlab.train(jax.random.fold_in(jax.random.key(seed), 5), x, y, sizes=[n_max, W, 1], restarts=R,
                         steps=exp.product_steps, lr=lr,
                         hidden=exp.product_hidden, output="identity", batch_size=exp.product_batch_size,
                         mask=mask, init_scale=1.0, records=min(20, exp.product_steps))
    params = jax.tree.map(np.asarray, result.params)
    rows = []
    for i, (n, w, r) in enumerate(jobs):
        p = [{k: layer[k][i] * mk[k][i] for k in ("W", "b")} for layer, mk in zip(params, mask)]
        out = np.asarray(nnlab.forward(p, x_test.astype(np.float32), exp.product_hidden, "identity"), np.float64)[:, 0]
        target = np.prod(x_test[:, :n], axis=1) * 3.0 ** (n / 2)
        rows.append(dict(part="multiplication", kind="shallow", n=n, width=w, restart=r, neurons=w,
                         train_error=float(result.loss[i]), test_error=float(np.mean((out - target) ** 2)),
                         diverged=bool(result.diverged[i]), neurons_theory_2n=MU.shallow_neurons_bound(n)))
    return rows


def multiplication_part(exp, seed: int, progress: bool) -> pd.DataFrame:
    steps = tqdm(total=3, desc="multiplication", disable=not progress)
    rows = _gate_rows(exp)
    steps.update()
    rows += _tree_rows(exp, seed)
    steps.update()
    rows += _shallow_rows(exp, seed)
    steps.update()
    steps.close()
    return pd.DataFrame(rows)


# ============================================================================ part 4: dynamics


def _stack(params_list) -> list:
    """Restart-stacked float32 params from a list of per-restart params."""
    return jax.tree.map(lambda *a: np.stack(a).astype(np.float32), *params_list)


def _saxe_rows(exp, seed: int, progress: bool) -> list[dict]:
    s = np.asarray(as_list(exp.dyn_s), np.float64)
    d = len(s)
    rng = np.random.default_rng([seed, 6])
    V, U = LI.random_orthogonal(rng, d), LI.random_orthogonal(rng, d)
    x = LI.whitened_inputs(rng, exp.dyn_samples, d)
    y = (x @ LI.teacher(V, s, U)).astype(np.float32)
    x = x.astype(np.float32)
    combos = [(u0, lr) for u0 in as_list(exp.dyn_u0) for lr in as_list(exp.dyn_lr)]
    lrs = np.array([lr for _, lr in combos], np.float32)
    chunk = exp.dyn_steps // exp.dyn_records
    steps_at = np.arange(exp.dyn_records + 1) * chunk
    rows = []
    for depth in tqdm(as_list(exp.dyn_depths), desc="dynamics: depths", disable=not progress):
        sizes = [d] * (depth + 1)
        params = _stack([LI.aligned_balanced_params(V, U, np.full(d, u0), depth) for u0, _ in combos])
        mask = LI.zero_bias_mask(sizes)
        u_sim = np.zeros((len(combos), exp.dyn_records + 1, d))
        loss = np.zeros((len(combos), exp.dyn_records + 1))
        diverged = np.zeros(len(combos), bool)
        for k in range(exp.dyn_records + 1):
            for i in range(len(combos)):
                u_sim[i, k] = LI.mode_strengths(jax.tree.map(lambda a: a[i], params), V, U)
            if k == exp.dyn_records:
                loss[:, k] = np.asarray(result.loss)
                break
            result = nnlab.train(jax.random.key(seed), x, y, sizes=sizes, restarts=len(combos), steps=chunk,
                                 lr=lrs, hidden="identity", output="identity", mask=mask,
                                 init_params=params, records=1)
            loss[:, k] = np.asarray(result.history)[:, 0]
            diverged |= np.asarray(result.diverged)
            params = jax.tree.map(np.asarray, result.params)
        for i, (u0, lr) in enumerate(combos):
            tau = 1.0 / (2.0 * lr)
            for a in range(d):
                u_gd = LI.gd_mode_trajectory(s[a], u0, depth, lr, exp.dyn_steps)[steps_at]
                u_theory = LI.saxe_mode(steps_at, s[a], u0, tau, depth) if depth <= 2 else np.full(len(steps_at), np.nan)
                rows += [dict(part="dynamics", kind="mode", depth=depth, mode=a, s=float(s[a]), u0=u0, lr=lr,
                              step=int(t), u_sim=float(us), u_theory=float(ut), u_gd=float(ug),
                              diverged=bool(diverged[i]))
                         for t, us, ut, ug in zip(steps_at, u_sim[i, :, a], u_theory, u_gd)]
            u_gd_all = np.stack([LI.gd_mode_trajectory(s[a], u0, depth, lr, exp.dyn_steps)[steps_at] for a in range(d)])
            loss_gd = np.sum((s[:, None] - u_gd_all) ** 2, axis=0)  # whitened, aligned: ||W - T||_F^2
            rows += [dict(part="dynamics", kind="loss", depth=depth, u0=u0, lr=lr, step=int(t), loss=float(l_),
                          loss_gd=float(lg), diverged=bool(diverged[i]))
                     for t, l_, lg in zip(steps_at, loss[i], loss_gd)]
    return rows


def _l4_optimum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimiser of mean (x w - y)^4 by Newton's method (convex), float64."""
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    for _ in range(100):
        r = x @ w - y
        grad = 4 * x.T @ r**3 / len(y)
        hess = 12 * (x * (r**2)[:, None]).T @ x / len(y)
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.abs(step).max() < 1e-13 * (1 + np.abs(w).max()):
            break
    return w, float(np.mean((x @ w - y) ** 4))


def _l4_rows(exp, seed: int, progress: bool) -> list[dict]:
    rng = np.random.default_rng([seed, 7])
    d = exp.l4_dim
    scales = np.geomspace(1.0, 1.0 / exp.l4_condition, d)
    x = rng.normal(size=(exp.l4_samples, d)) * scales[None, :]
    w_star = rng.normal(size=d)
    y = x @ w_star + exp.l4_noise * rng.normal(size=exp.l4_samples)
    _, best = _l4_optimum(x, y)
    w0 = rng.normal(size=d)
    w0 *= exp.l4_init_norm / np.linalg.norm(w0)
    lrs = np.asarray(sorted(as_list(exp.l4_lrs)), np.float32)
    rows = []
    for depth in tqdm(as_list(exp.l4_depths), desc="dynamics: l4", disable=not progress):
        sizes = [d] + [1] * depth
        init = _stack([LI.balanced_vector_params(w0, depth)] * len(lrs))
        result = nnlab.train(jax.random.key(seed), x.astype(np.float32), y[:, None].astype(np.float32),
                             sizes=sizes, restarts=len(lrs), steps=exp.l4_steps, lr=lrs, hidden="identity",
                             output="identity", loss="l4", mask=LI.zero_bias_mask(sizes), init_params=init,
                             records=exp.l4_records)
        history = np.asarray(result.history, np.float64)
        steps_at = np.asarray(result.history_steps)
        final = np.asarray(result.loss, np.float64)
        target = (1 + exp.l4_tol) * best
        for i, lr in enumerate(lrs):
            curve = np.append(history[i], final[i])
            at = np.append(steps_at, exp.l4_steps)
            reached = np.flatnonzero(curve <= target)
            rows.append(dict(part="dynamics", kind="l4", depth=depth, lr=float(lr), optimal_loss=best,
                             target_loss=target, final_loss=float(final[i]),
                             steps_to_target=float(at[reached[0]]) if reached.size else np.nan,
                             diverged=bool(result.diverged[i])))
            rows += [dict(part="dynamics", kind="l4_curve", depth=depth, lr=float(lr), step=int(t),
                          loss=float(v), optimal_loss=best) for t, v in zip(at, curve)]
    return rows


def dynamics_part(exp, seed: int, progress: bool) -> pd.DataFrame:
    return pd.DataFrame(_saxe_rows(exp, seed, progress) + _l4_rows(exp, seed, progress))


PART_FUNCTIONS = {"flatten": flatten_part, "factorizations": factorizations_part,
                  "multiplication": multiplication_part, "dynamics": dynamics_part}


def compute(exp, seed: int, progress: bool) -> pd.DataFrame:
    parts = [p for p in PARTS if p in as_list(exp.part)]
    frames = [PART_FUNCTIONS[p](exp, seed, progress) for p in parts]
    return pd.concat(frames, ignore_index=True)


# ============================================================================ summary


def _fmt_steps(v: float) -> str:
    return "not reached" if not np.isfinite(v) else f"{int(v)}"


def _summary_flatten(d: pd.DataFrame) -> list[dict]:
    ratio = d.weights_deep / d.weights_flat
    return [
        dict(part="flatten", quantity="max relative error, deep net vs its product matrix (float32)",
             value=d.rel_error.max(), reference=float(np.finfo(np.float32).eps),
             note=f"{len(d)} random nets, depth {d.depth.min()}-{d.depth.max()}; reference: float32 eps"),
        dict(part="flatten", quantity="nets whose product has rank = narrowest layer",
             value=float((d["rank"] == d.min_width).mean()), reference=1.0, note="fraction of nets"),
        dict(part="flatten", quantity="weights deep / weights of the flat layer (median)",
             value=float(ratio.median()), reference=1.0,
             note=f"range {ratio.min():.2f}-{ratio.max():.1f}: depth adds weights, never expressive power"),
    ]


def _summary_factorizations(d: pd.DataFrame) -> list[dict]:
    out = []
    exact = d[d.kind.isin(["rank_k", "butterfly"])]
    if len(exact):
        out.append(dict(part="factorizations", quantity="max relative error of the exact constructions (float32)",
                        value=exact.rel_error.max(), reference=float(np.finfo(np.float32).eps),
                        note=f"{len(exact)} nets: rank-k and butterfly, n in {sorted(exact.n.unique().astype(int).tolist())}"))
        for _, r in exact.sort_values(["kind", "n", "k"]).iterrows():
            label = (f"rank-{int(r.k)} map n={int(r.n)}: weights n->k->n (2nk) vs dense n^2" if r.kind == "rank_k"
                     else f"Walsh-Hadamard n={int(r.n)}: butterfly weights (2n log2 n) vs dense n^2")
            out.append(dict(part="factorizations", quantity=label, value=float(r.weights_deep),
                            reference=float(r.weights_flat), note=f"{int(r.layers)} layers"))
    fit = d[d.kind == "fit"]
    for (net, N), g in fit.groupby(["net", "samples"]):
        ok = g.train_rel_loss <= g.fit_target if "fit_target" in g else g.steps_to_target.notna()
        out.append(dict(
            part="factorizations",
            quantity=f"Hadamard n={int(g.n.iloc[0])} fitted from {int(N)} points by the {net} net: test error (median)",
            value=float(g.test_rel_error.median()), reference=float(max(0.0, 1 - N / g.n.iloc[0])) if net == "dense" else 0.0,
            note=(f"{int(g.weights_deep.iloc[0])} weights; best restart {g.test_rel_error.min():.1e}; "
                  f"{int(ok.sum())}/{len(g)} reach train loss target, median steps {_fmt_steps(g.steps_to_target.median())}; "
                  "reference: " + ("1 - N/n, error of the min-norm fit" if net == "dense" else "exact"))))
    return out


def _min_width(shallow: pd.DataFrame, target: float) -> float:
    best = shallow.groupby("width").test_error.min()
    reached = best.index[best.values <= target]
    return float(reached.min()) if len(reached) else np.nan


def _summary_multiplication(d: pd.DataFrame, targets) -> list[dict]:
    out = []
    gate = d[d.kind == "gate"]
    if len(gate):
        fit = gate[gate.in_fit.astype(bool)]
        C = MU.gate_error_coefficient(gate.activation.iloc[0], float(gate.bias.iloc[0]))
        span = f"lambda in [{fit.lam.min():g}, {fit.lam.max():g}]"
        out += [
            dict(part="multiplication", quantity="gate error exponent: slope of log max error vs log lambda (float64)",
                 value=_slope(fit.lam, fit.max_error_f64), reference=2.0,
                 note=f"{gate.activation.iloc[0]} gate at b={float(gate.bias.iloc[0]):.3f}, {span}"),
            dict(part="multiplication", quantity="same slope, net evaluated in float32 by nnlab.forward",
                 value=_slope(fit.lam, fit.max_error), reference=2.0,
                 note="float32 rounding adds ~eps/lambda^2 below lambda ~ 0.05"),
            dict(part="multiplication", quantity="gate max error / lambda^2 at the smallest fitted lambda (float64)",
                 value=float(fit.max_error_f64.iloc[0] / fit.lam.iloc[0] ** 2), reference=2 * abs(C),
                 note=f"theory: 2|C|, C = f''''(b) / (6 f''(b)) = {C:.4f}"),
        ]
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    for n in sorted(set(tree.n.dropna().astype(int)) | set(shallow.n.dropna().astype(int))):
        t = tree[tree.n == n]
        if len(t):
            out.append(dict(part="multiplication", quantity=f"n={n}: hidden neurons of the deep tree of gates",
                            value=float(t.neurons.iloc[0]), reference=float(4 * n),
                            note=f"layers {t.sizes.iloc[0]}, test error {t.test_error.iloc[0]:.1e} at lambda={t.lam.iloc[0]:g}; reference: 4n"))
        s = shallow[shallow.n == n]
        for target in targets if len(s) else []:
            w = _min_width(s, target)
            best = s.groupby("width").test_error.min()
            out.append(dict(part="multiplication",
                            quantity=f"n={n}: narrowest single hidden layer reaching test error <= {target:g}",
                            value=w, reference=float(2**n),
                            note=("not reached up to width " + str(int(best.index.max())) if np.isnan(w) else
                                  f"best test error {best.loc[w]:.3f}") + f"; best at widest ({int(best.index.max())}): "
                                 f"{best.iloc[-1]:.3f}; reference: 2^n"))
    return out


def _summary_dynamics(d: pd.DataFrame) -> list[dict]:
    out = []
    modes = d[d.kind == "mode"]
    if len(modes):
        dev_theory = (modes.u_sim - modes.u_theory).abs() / modes.s
        dev_gd = (modes.u_sim - modes.u_gd).abs() / modes.s
        for depth in sorted(modes.depth.unique()):
            m = modes.depth == depth
            if dev_theory[m].notna().any():
                lrs = ", ".join(f"{v:g}" for v in sorted(modes[m].lr.unique()))
                out.append(dict(part="dynamics",
                                quantity=f"depth {int(depth)}: max |u_sim - u_closed_form| / s (Saxe et al. 2014)",
                                value=float(dev_theory[m].max()), reference=0.0,
                                note=f"lr {lrs}, tau = 1/(2 lr) steps; gradient flow vs GD steps"))
        out.append(dict(part="dynamics", quantity="max |u_sim - u_exact_GD_recursion| / s, all depths",
                        value=float(dev_gd.max()), reference=0.0, note="float32 simulation vs float64 recursion"))
        for (depth, u0, lr), g in modes.groupby(["depth", "u0", "lr"]):
            half = {s: g[(g.s == s) & (g.u_sim >= s / 2)].step.min() for s in sorted(g.s.unique())}
            t_weak, t_strong = half[min(half)], half[max(half)]
            out.append(dict(part="dynamics",
                            quantity=f"depth {int(depth)}: steps to u = s/2, weakest / strongest mode",
                            value=float(t_weak / t_strong) if t_strong > 0 else np.nan, reference=max(half) / min(half),
                            note="; ".join(f"s={s:g}: {_fmt_steps(t)}" for s, t in half.items())
                                 + f" (u0={u0:g}, lr={lr:g}); reference: s_max/s_min"))
    l4 = d[d.kind == "l4"]
    if len(l4):
        best = {}
        for depth, g in l4.groupby("depth"):
            reached = g[g.steps_to_target.notna()]
            div = int(g.diverged.astype(bool).sum())
            if len(reached):
                i = reached.steps_to_target.idxmin()
                note = f"best lr {reached.lr[i]:g} of {len(g)} ({div} diverged)"
                if reached.lr[i] == g.lr.max():
                    note += ", at the top of the grid: extend exp.l4_lrs"
                best[depth] = (float(reached.steps_to_target[i]), note)
            else:
                ok = g[g.final_loss.notna()]
                note = f"not reached in {int(d.l4_steps.iloc[0]) if 'l4_steps' in d else '?'} steps"
                if len(ok):
                    i = ok.final_loss.idxmin()
                    note += f"; lowest final loss {ok.final_loss[i] / ok.optimal_loss[i]:.2f} x optimum at lr {ok.lr[i]:g}"
                best[depth] = (np.nan, note + f" ({div} of {len(g)} step sizes diverged)")
        base = best.get(1, (np.nan, ""))[0]
        for depth, (steps, note) in best.items():
            out.append(dict(part="dynamics",
                            quantity=f"l4 regression, depth {int(depth)}: steps to loss <= (1 + tol) x optimum",
                            value=steps, reference=base, note=note + "; reference: depth 1"))
    return out


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    groups = df.groupby("seed") if "seed" in df else [(None, df)]
    out = []
    for seed, d in groups:
        targets = sorted({float(v) for v in str(d.product_target.iloc[0]).split(",")}, reverse=True) \
            if "product_target" in d else [0.1]
        rows = []
        if (d.part == "flatten").any():
            rows += _summary_flatten(d[d.part == "flatten"])
        if (d.part == "factorizations").any():
            rows += _summary_factorizations(d[d.part == "factorizations"])
        if (d.part == "multiplication").any():
            rows += _summary_multiplication(d[d.part == "multiplication"], targets)
        if (d.part == "dynamics").any():
            rows += _summary_dynamics(d[d.part == "dynamics"])
        out += [dict(seed=seed, **r) for r in rows]
    table = pd.DataFrame(out)
    return table.drop(columns="seed") if table.seed.isna().all() else table


# ============================================================================ figures


def _seeds(df: pd.DataFrame) -> int:
    return int(df.seed.nunique()) if "seed" in df else 1


def _line_band(ax, d: pd.DataFrame, x: str, y: str, color, label=None, band=True, **kw):
    """Mean over seeds (and any other repeats) against x, with the min-max range shaded."""
    g = d.groupby(x)[y]
    mean = g.mean()
    ax.plot(mean.index, mean.values, color=color, label=label, **kw)
    if band and _seeds(d) > 1:
        ax.fill_between(mean.index, g.min().values, g.max().values, color=color, alpha=0.2, lw=0)


def _figure_flatten(d: pd.DataFrame) -> plt.Figure:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.scatter(d.depth, d.rel_error, s=14, color="C0", alpha=0.7, label="one random net (weights and biases)")
    med = d.groupby("depth").rel_error.median()
    ax1.plot(med.index, med.values, color="C0", lw=1, label="median")
    ax1.axhline(np.finfo(np.float32).eps, color="k", ls="--", lw=1, label="float32 machine epsilon")
    ax1.set(xlabel="depth L (layers of weights)", ylabel="relative error, forward vs product matrix", yscale="log",
            title="a deep linear net is one affine map")
    ax1.legend(fontsize=8)
    sc = ax2.scatter(d.weights_flat, d.weights_deep, c=d.depth, cmap="viridis", s=16)
    lim = [min(d.weights_flat.min(), d.weights_deep.min()) * 0.8, max(d.weights_flat.max(), d.weights_deep.max()) * 1.25]
    ax2.plot(lim, lim, "k--", lw=1, label="same number of weights")
    ax2.set(xscale="log", yscale="log", xlabel="weights of the flat layer (n_0 + 1) n_L",
            ylabel="weights of the deep net", title="parameter counts, deep vs flattened")
    fig.colorbar(sc, ax=ax2, label="depth L")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _figure_factorizations(d: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    ax = axes[0]
    exact = d[d.kind.isin(["rank_k", "butterfly"])]
    if len(exact):
        ns = np.unique(exact.n.astype(int))
        grid = np.geomspace(ns.min(), ns.max(), 50)
        ax.plot(grid, grid**2, "k-", lw=1.5, label="dense matrix n^2")
        ax.plot(grid, 2 * grid * np.log2(grid), "C3-", lw=1, label="butterfly 2n log2 n")
        bf = exact[exact.kind == "butterfly"].groupby("n").weights_deep.first()
        ax.plot(bf.index, bf.values, "C3o", label="butterfly net (nonzero weights, verified exact)")
        for i, (k, g) in enumerate(exact[exact.kind == "rank_k"].groupby("k")):
            ax.plot(grid, 2 * grid * k, color=f"C{i}", ls=":", lw=1)
            w = g.groupby("n").weights_deep.first()
            ax.plot(w.index, w.values, "s", color=f"C{i}", label=f"rank-{int(k)} net n->k->n (2nk)")
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="weights", title="exact factorizations vs the flat matrix")
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    curves = d[d.kind == "fit_curve"]
    fit = d[d.kind == "fit"]
    colors = {"butterfly": "C3", "dense": "C0"}
    styles = {N: s for N, s in zip(sorted(fit.samples.unique()) if len(fit) else [], ["-", "--", ":", "-."] * 5)}
    for (net, N), g in curves.groupby(["net", "samples"]):
        runs = g.groupby(["seed", "restart"] if "seed" in g else ["restart"])
        for j, (_, run) in enumerate(runs):
            axes[1].plot(run.step, run.train_rel_loss, color=colors[net], ls=styles[N], lw=0.9, alpha=0.7,
                         label=f"{net}, {int(N)} points (one line per restart)" if j == 0 else None)
    if len(fit):
        axes[1].axhline(float(fit.fit_target.iloc[0]) if "fit_target" in fit else 1e-3, color="k", ls=":", lw=1,
                        label="target")
        n = int(fit.n.iloc[0])
        axes[1].set(yscale="log", xlabel="gradient-descent step", ylabel="training loss / loss of the zero map",
                    title=f"fitting the Hadamard transform, n={n}")
        axes[1].legend(fontsize=7)
        labels, data = [], []
        for (net, N), g in fit.groupby(["net", "samples"]):
            labels.append(f"{net}\n{int(g.weights_deep.iloc[0])} weights\n{int(N)} points")
            data.append(g.test_rel_error.clip(lower=1e-16).values)
        for i, vals in enumerate(data):
            net = labels[i].split("\n")[0]
            axes[2].scatter(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)), vals, color=colors[net], s=18)
        axes[2].set_xticks(range(len(labels)), labels, fontsize=8)
        axes[2].set(yscale="log", ylabel="test error ||f(x) - Hx||^2 / ||Hx||^2",
                    title="generalisation (one dot per restart" + (" and seed)" if _seeds(fit) > 1 else ")"))
        for N in sorted(fit.samples.unique()):
            if N < n:
                axes[2].axhline(1 - N / n, color="C0", lw=0.8, ls=":",
                                label=f"1 - N/n = {1 - N / n:g}: min-norm dense fit from N={int(N)}")
        axes[2].set_xlim(-0.6, len(labels) - 0.4)
        if axes[2].get_legend_handles_labels()[0]:
            axes[2].legend(fontsize=7, loc="center")
    fig.tight_layout()
    return fig


def _figure_gate(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.8, 4.3))
    gate = d[d.kind == "gate"]
    act, bias = gate.activation.iloc[0], float(gate.bias.iloc[0])
    fit = gate[gate.in_fit.astype(bool)]
    slope64, slope32 = _slope(fit.lam, fit.max_error_f64), _slope(fit.lam, fit.max_error)
    _line_band(ax, gate, "lam", "max_error_f64", "C0", label=f"gate in float64 (fitted slope {slope64:.3f})",
               marker="o", ls="none")
    _line_band(ax, gate, "lam", "max_error", "C1", label=f"nnlab.forward, float32 (slope {slope32:.2f})",
               marker="x", ls="none")
    lam = np.geomspace(gate.lam.min(), gate.lam.max(), 50)
    C = MU.gate_error_coefficient(act, bias)
    ax.plot(lam, 2 * abs(C) * lam**2, "k--", lw=1, label=f"theory 2|C| lambda^2, C = f''''/(6f'') = {C:.3f}")
    f = MU.derivatives(act, bias)
    ax.plot(lam, np.finfo(np.float32).eps * abs(float(f[0])) / (abs(float(f[2])) * lam**2), color="C1", ls="-.", lw=0.8,
            label="float32 rounding scale eps f(b) / (|f''(b)| lambda^2)")
    ax.axvspan(fit.lam.min(), fit.lam.max(), color="gray", alpha=0.1, label="fit range")
    ax.set_ylim(0.5 * min(gate.max_error_f64.min(), gate.max_error.min()), 2 * gate.max_error.max())
    ax.set(xscale="log", yscale="log", xlabel="input scale lambda",
           ylabel="max |m(x, y) - xy| on [-1, 1]^2",
           title=f"4-neuron multiplication gate ({act}, b = {bias:.3f})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _figure_neurons(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    tree, shallow = d[d.kind == "tree"], d[d.kind == "shallow"]
    ns = sorted(set(tree.n.dropna().astype(int)) | set(shallow.n.dropna().astype(int)))
    grid = np.linspace(min(ns), max(ns), 100)
    ax.plot(grid, 2.0**grid, "k-", lw=1, label="2^n: one hidden layer, Lin-Tegmark-Rolnick bound")
    ax.plot(grid, 4 * grid, "k:", lw=1, label="4n: tree of 4-neuron gates")
    if len(tree):
        t = tree.groupby("n").neurons.first()
        ax.plot(t.index, t.values, "o-", color="C3", lw=2,
                label=f"deep tree of gates, built (test error <= {tree.test_error.max():.0e})")
    targets = sorted({float(v) for v in str(d.product_target.iloc[0]).split(",")}, reverse=True) \
        if "product_target" in d else [0.1]
    for i, target in enumerate(targets if len(shallow) else []):
        color = f"C{i}"
        rows = []
        for (n, seed), g in shallow.groupby(["n", "seed"] if "seed" in shallow else ["n", "n"]):
            w = _min_width(g, target)
            rows.append((n, w, g.width.max()))
        r = pd.DataFrame(rows, columns=["n", "w", "wmax"])
        ok = r[r.w.notna()]
        if len(ok):
            mean = ok.groupby("n").w.mean()
            ax.plot(mean.index, mean.values, "s-", color=color,
                    label=f"one hidden layer, trained: narrowest reaching test error <= {target:g}"
                    + (" (mean over seeds reaching it; bar: range)" if _seeds(shallow) > 1 else ""))
            if _seeds(shallow) > 1:
                ax.vlines(mean.index, ok.groupby("n").w.min(), ok.groupby("n").w.max(), color=color, lw=2, alpha=0.4)
        miss = r[r.w.isna()].groupby("n").wmax.max()
        if len(miss):
            ax.plot(miss.index, miss.values, "^", color=color, mfc="none", ms=9,
                    label=f"not reached up to this width (target {target:g})")
    ax.set(yscale="log", xlabel="n (number of inputs multiplied)", ylabel="hidden neurons",
           title="product of n inputs: deep vs one hidden layer")
    ax.set_xticks(ns)
    ticks = [2**k for k in range(1, int(np.log2(max(2.0 ** max(ns), 4 * max(ns)))) + 2)]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    fig.tight_layout()
    return fig


def _figure_dynamics(d: pd.DataFrame) -> plt.Figure:
    from matplotlib.lines import Line2D

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    loss, modes = d[d.kind == "loss"], d[d.kind == "mode"]
    u0, lr = sorted(modes.u0.unique())[0], sorted(modes.lr.unique())[0]
    loss = loss[(loss.u0 == u0) & (loss.lr == lr)]
    modes = modes[(modes.u0 == u0) & (modes.lr == lr)]
    s_values = sorted(modes.s.unique(), reverse=True)
    start = float(loss.loss.max())
    for k in range(1, len(s_values)):  # loss once the k strongest modes are learned
        ax1.axhline(sum(v**2 for v in s_values[k:]), color="gray", lw=0.6, ls="--",
                    label="plateaus: strongest modes learned, weaker ones not" if k == 1 else None)
    for i, (depth, g) in enumerate(loss.groupby("depth")):
        _line_band(ax1, g, "step", "loss", f"C{i}", label=f"depth {int(depth)}" + (" (flat)" if depth == 1 else ""))
        gd = g.groupby("step").loss_gd.mean()
        ax1.plot(gd.index, gd.values, color="k", lw=0.7, ls=":", label="exact GD recursion" if i == 0 else None)
    ax1.set_ylim(start * 1e-4, start * 2)
    ax1.set(yscale="log", xlabel="gradient-descent step", ylabel="training loss ||W - T||_F^2",
            title=f"loss by depth: teacher s = {', '.join(f'{v:g}' for v in s_values)} (u0={u0:g}, lr={lr:g})")
    ax1.legend(fontsize=8)
    deeper = [int(v) for v in sorted(modes.depth.unique()) if v > 2]
    for i, s in enumerate(s_values):
        for depth, marker in ((1, "^"), (2, "o")):
            g = modes[(modes.depth == depth) & (modes.s == s)]
            if len(g):
                sim = g.groupby("step").u_sim.mean()
                ax2.plot(sim.index, sim.values, ls="none", marker=marker, ms=3, color=f"C{i}", alpha=0.8)
                theory = g.groupby("step").u_theory.mean()
                ax2.plot(theory.index, theory.values, color=f"C{i}", lw=1.2, ls="-" if depth == 2 else ":")
        for depth in deeper:
            g = modes[(modes.depth == depth) & (modes.s == s)].groupby("step").u_sim.mean()
            ax2.plot(g.index, g.values, color=f"C{i}", lw=0.9, ls="--", alpha=0.7)
    handles = [Line2D([], [], color=f"C{i}", lw=4, label=f"mode s = {s:g}") for i, s in enumerate(s_values)]
    handles += [Line2D([], [], color="k", marker="^", ls=":", ms=4, label="depth 1: simulated, closed form"),
                Line2D([], [], color="k", marker="o", ls="-", ms=4, label="depth 2: simulated, closed form (Saxe et al.)")]
    if deeper:
        handles.append(Line2D([], [], color="k", ls="--", label="depth " + ", ".join(map(str, deeper)) + ": simulated"))
    ax2.legend(handles=handles, fontsize=8, loc="center right")
    ax2.set(xlabel="gradient-descent step", ylabel="mode strength u(t) = v_a^T W_L...W_1 u_a",
            title="mode strengths vs closed form (tau = 1/(2 lr) steps)")
    fig.tight_layout()
    return fig


def _figure_l4(d: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 4.5))
    l4, curves = d[d.kind == "l4"], d[d.kind == "l4_curve"]
    for i, (depth, g) in enumerate(l4.groupby("depth")):
        reached = g[g.steps_to_target.notna()]
        pool = reached if len(reached) else g[~g.diverged.astype(bool)]
        if not len(pool):
            continue
        # the step size that reaches the target first (else the lowest final loss), per seed
        keys = pool.groupby("seed" if "seed" in pool else "depth").apply(
            lambda h: h.lr.loc[(h.steps_to_target if len(reached) else h.final_loss).idxmin()], include_groups=False)
        sel = curves[(curves.depth == depth)]
        if "seed" in sel:
            sel = sel[[lr_ == keys.get(seed_, np.nan) for lr_, seed_ in zip(sel.lr, sel.seed)]]
        else:
            sel = sel[sel.lr == keys.iloc[0]]
        sel = sel.assign(excess=(sel.loss - sel.optimal_loss) / sel.optimal_loss)
        lrs = ", ".join(f"{v:g}" for v in sorted(set(keys.values)))
        _line_band(ax, sel, "step", "excess", f"C{i}", label=f"depth {int(depth)} (best lr {lrs})")
    if len(l4):
        ax.axhline(float(l4.target_loss.iloc[0] / l4.optimal_loss.iloc[0] - 1), color="k", ls=":", lw=1, label="target")
    ax.set(yscale="log", xlabel="gradient-descent step", ylabel="(loss - optimum) / optimum",
           title="l4 linear regression: depth as an accelerator")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(df: pd.DataFrame) -> dict[str, plt.Figure]:
    figs = {}
    parts = set(df.part)
    if "flatten" in parts:
        figs["flatten"] = _figure_flatten(df[df.part == "flatten"])
    if "factorizations" in parts:
        figs["factorizations"] = _figure_factorizations(df[df.part == "factorizations"])
    if "multiplication" in parts:
        d = df[df.part == "multiplication"]
        if (d.kind == "gate").any():
            figs["gate"] = _figure_gate(d)
        if d.kind.isin(["tree", "shallow"]).any():
            figs["neurons"] = _figure_neurons(d)
    if "dynamics" in parts:
        d = df[df.part == "dynamics"]
        if (d.kind == "mode").any():
            figs["dynamics"] = _figure_dynamics(d)
        if (d.kind == "l4").any():
            figs["l4"] = _figure_l4(d)
    return figs
