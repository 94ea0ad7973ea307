"""Part 3, multiplication (the gate): the 4-neuron gate of Lin, Tegmark & Rolnick (2017),
its error on [-1, 1]^2 vs the input scale lambda, in float64 and through ``nnlab.forward``
in float32, and the fitted log-log slope against the l^2 of theory."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import nnlab
from nnlab import multiply as MU
from experiments.plotting import seed_band
from experiments.schema import as_list


def float64_forward(params, x, act: str):
    """float64 evaluation of a product net (hidden ``act``, identity output): x (N, n) -> (N, 1)."""
    out = x
    for layer in params[:-1]:
        out = MU.derivatives(act, out @ layer["W"] + layer["b"][None, :])[0]
    return out @ params[-1]["W"] + params[-1]["b"][None, :]


def float32_forward(net: MU.ProductNet, x) -> np.ndarray:
    """A product net through ``nnlab.forward`` in float32: x (N, n) -> (N,) float64."""
    params32 = [{k: v.astype(np.float32) for k, v in layer.items()} for layer in net.params]
    return np.asarray(nnlab.forward(params32, np.asarray(x, np.float32), net.hidden, net.output), np.float64)[:, 0]


def slope(lams, errors) -> float:
    """Slope of log error vs log lambda (least squares); NaN with fewer than 2 positive errors."""
    lams, errors = np.asarray(lams, float), np.asarray(errors, float)
    ok = np.isfinite(errors) & (errors > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lams[ok]), np.log(errors[ok]), 1)[0])


def _bias(exp) -> float:
    return MU.best_bias(exp.gate_activation) if exp.gate_bias is None else float(exp.gate_bias)


def rows(exp, seed: int, progress: bool) -> list[dict]:
    """One row (kind gate) per lambda: max error float32 and float64, rms error, theory 2|C| l^2."""
    act, bias = exp.gate_activation, _bias(exp)
    C = MU.gate_error_coefficient(act, bias)
    g = np.linspace(-1, 1, 41)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    target = grid[:, 0] * grid[:, 1]
    out = []
    for lam in sorted(as_list(exp.gate_lambdas)):
        net = MU.gate(lam, act, bias)
        out32 = float32_forward(net, grid)
        out64 = float64_forward(net.params, grid, act)[:, 0]
        out.append(dict(part="multiplication", kind="gate", activation=act, bias=bias, lam=lam,
                        max_error=float(np.abs(out32 - target).max()),
                        max_error_f64=float(np.abs(out64 - target).max()),
                        rms_error_f64=float(np.sqrt(np.mean((out64 - target) ** 2))),
                        max_error_theory=2 * abs(C) * lam**2,
                        in_fit=bool(exp.gate_fit_min <= lam <= exp.gate_fit_max)))
    return out


def summary(d: pd.DataFrame, exp) -> tuple[list[dict], dict]:
    gate = d[d.kind == "gate"]
    if not len(gate):
        return [], {}
    fit = gate[gate.in_fit.astype(bool)].sort_values("lam")
    act, bias = exp.gate_activation, _bias(exp)
    C = MU.gate_error_coefficient(act, bias)
    values = {"slope, float64": slope(fit.lam, fit.max_error_f64), "slope, float32": slope(fit.lam, fit.max_error),
              "error / lambda^2": float(fit.max_error_f64.iloc[0] / fit.lam.iloc[0] ** 2), "2|C|": 2 * abs(C)}
    note = f"{act} gate at b={bias:.3f}, lambda in [{fit.lam.min():g}, {fit.lam.max():g}]"
    out = [
        dict(part="multiplication", quantity="gate error exponent: slope of log max error vs log lambda (float64)",
             value=values["slope, float64"], reference=2.0, note=note),
        dict(part="multiplication", quantity="gate error exponent, net evaluated in float32 by nnlab.forward",
             value=values["slope, float32"], reference=2.0, note="float32 rounding adds ~eps/lambda^2 at small lambda"),
        dict(part="multiplication", quantity="gate max error / lambda^2 at the smallest fitted lambda (float64)",
             value=values["error / lambda^2"], reference=values["2|C|"],
             note=f"theory: 2|C|, C = f''''(b) / (6 f''(b)) = {C:.4f}"),
    ]
    head = pd.DataFrame([{"activation": act, "b": round(bias, 4), "lambda from": fit.lam.min(),
                          "lambda to": fit.lam.max(), **values}])
    return out, {"multiplication: the 4-neuron gate, max error on [-1, 1]^2 ~ lambda^slope (theory: slope 2; "
                 "error / lambda^2 at the smallest fitted lambda vs 2|C|)": head}


def figures(d: pd.DataFrame, exp) -> dict[str, plt.Figure]:
    """Max error vs lambda: float64, float32 through nnlab.forward, theory, float32 rounding."""
    gate = d[d.kind == "gate"]
    if not len(gate):
        return {}
    fig, ax = plt.subplots(figsize=(5.8, 4.3))
    act, bias = exp.gate_activation, _bias(exp)
    fit = gate[gate.in_fit.astype(bool)]
    slope64, slope32 = slope(fit.lam, fit.max_error_f64), slope(fit.lam, fit.max_error)
    seed_band(ax, gate, "lam", "max_error_f64", label=f"gate in float64 (fitted slope {slope64:.3f})",
              color="C0", marker="o", ls="none")
    seed_band(ax, gate, "lam", "max_error", label=f"nnlab.forward, float32 (slope {slope32:.2f})",
              color="C1", marker="x", ls="none")
    lam = np.geomspace(gate.lam.min(), gate.lam.max(), 50)
    C = MU.gate_error_coefficient(act, bias)
    ax.plot(lam, 2 * abs(C) * lam**2, "k--", lw=1, label=f"theory 2|C| lambda^2, C = f''''/(6f'') = {C:.3f}")
    f = MU.derivatives(act, bias)
    ax.plot(lam, np.finfo(np.float32).eps * abs(float(f[0])) / (abs(float(f[2])) * lam**2), color="C1", ls="-.",
            lw=0.8, label="float32 rounding scale eps f(b) / (|f''(b)| lambda^2)")
    ax.axvspan(fit.lam.min(), fit.lam.max(), color="gray", alpha=0.1, label="fit range")
    ax.set_ylim(0.5 * min(gate.max_error_f64.min(), gate.max_error.min()), 2 * gate.max_error.max())
    ax.set(xscale="log", yscale="log", xlabel="input scale lambda", ylabel="max |m(x, y) - xy| on [-1, 1]^2",
           title=f"4-neuron multiplication gate ({act}, b = {bias:.3f})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"gate": fig}
