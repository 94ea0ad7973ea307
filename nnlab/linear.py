"""Deep linear networks: what they flatten to, what depth saves, how depth learns.

Networks are nnlab params (row convention: ``out = x @ W + b``) evaluated with
identity activations. Three kinds of facts live here, each exact:

* Flattening: a deep linear net is one affine map (``flatten``); parameter
  counts of the deep net and of the single layer it flattens to.
* Factorizations cheaper than the flat matrix: a rank-k map n -> k -> n
  (2nk weights instead of n^2) and the Walsh-Hadamard transform as log2(n)
  sparse butterfly layers (2n log2 n nonzero weights instead of n^2).
* Learning dynamics (Saxe, McClelland & Ganguli 2014): with whitened inputs
  and weights balanced and aligned with the teacher's singular modes, each mode
  strength u (the product of the layers' strengths c, u = c^L) evolves on its own.
  For nnlab's squared loss (mean over the batch of the summed squares, no 1/2)
  one full-batch step of size lr on every layer is exactly
  ``c <- c + 2 lr c^(L-1) (s - c^L)``, whose continuous-time limit is
  ``tau du/dt = L u^(2 - 2/L) (s - u)`` with ``tau = 1 / (2 lr)`` steps
  (Saxe et al. write tau = 1/lambda for a loss with a 1/2, the same thing).
  Depth 1: ``u = s + (u0 - s) exp(-t/tau)``; depth 2 (their eq. for the
  hidden-layer net): ``u = s / (1 + (s/u0 - 1) exp(-2 s t / tau))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Params = list  # [{"W": (fan_in, fan_out), "b": (fan_out,)}]


# ----------------------------------------------------------------------------- flattening


def flatten(params: Params) -> dict:
    """The single affine layer a net with identity activations computes.

    params: L layers ``{"W": (n_{l-1}, n_l), "b": (n_l,)}`` (numpy or jax arrays).
    Returns ``{"W": (n_0, n_L), "b": (n_L,)}`` with ``W = W_1 W_2 ... W_L`` and
    ``b = (...((b_1 W_2 + b_2) W_3 + b_3)...) W_L + b_L``, in float64.
    """
    W = np.asarray(params[0]["W"], np.float64)
    b = np.asarray(params[0]["b"], np.float64)
    for layer in params[1:]:
        Wl = np.asarray(layer["W"], np.float64)
        W, b = W @ Wl, b @ Wl + np.asarray(layer["b"], np.float64)
    return {"W": W, "b": b}


# ----------------------------------------------------------------------------- factorizations


def zero_bias_mask(sizes: Sequence[int], weight_masks: Sequence[np.ndarray] | None = None) -> Params:
    """0/1 mask removing every bias edge; weights kept (or masked by ``weight_masks``)."""
    return [
        {"W": np.ones((i, o), np.float32) if weight_masks is None else np.asarray(weight_masks[l], np.float32),
         "b": np.zeros((o,), np.float32)}
        for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]


def low_rank_params(A: np.ndarray, B: np.ndarray) -> Params:
    """The rank-k map ``x -> x @ A @ B`` as the net n -> k -> n (no biases).

    A: (n, k), B: (k, n). Its 2nk weights replace the n^2 of ``A @ B``.
    """
    return [{"W": np.asarray(A), "b": np.zeros(A.shape[1])}, {"W": np.asarray(B), "b": np.zeros(B.shape[1])}]


def low_rank_weights(n: int, k: int) -> int:
    """Weights of the n -> k -> n factorization: 2nk."""
    return 2 * n * k


def _log2(n: int) -> int:
    m = int(n).bit_length() - 1
    if n < 2 or 2**m != n:
        raise ValueError(f"n must be a power of two >= 2, got {n}")
    return m


def hadamard(n: int) -> np.ndarray:
    """Sylvester's Walsh-Hadamard matrix, (n, n) entries +-1: ``H[i, j] = (-1)^popcount(i & j)``."""
    _log2(n)
    i = np.arange(n)
    bits = np.bitwise_and(i[:, None], i[None, :])
    parity = np.zeros_like(bits)
    while bits.any():
        parity ^= bits & 1
        bits >>= 1
    return (1 - 2 * parity).astype(np.float64)


def butterfly_masks(n: int) -> list[np.ndarray]:
    """The log2(n) butterfly patterns, each (n, n) 0/1 with 2n ones.

    Layer k connects neuron i to neurons i and i XOR 2^k (indices differing at most in bit k).
    """
    i = np.arange(n)
    diff = np.bitwise_xor(i[:, None], i[None, :])
    return [((diff == 0) | (diff == 2**k)).astype(np.float64) for k in range(_log2(n))]


def butterfly_factors(n: int) -> list[np.ndarray]:
    """Sparse factors F_0 ... F_{m-1} (m = log2 n) with ``F_0 @ F_1 @ ... = hadamard(n)``.

    F_k acts on bit k alone as the 2x2 Hadamard [[1, 1], [1, -1]]: entry (i, j) is
    nonzero iff i, j differ at most in bit k, and -1 iff both have bit k set.
    """
    i = np.arange(n)
    factors = []
    for k, mask in enumerate(butterfly_masks(n)):
        both = ((i[:, None] >> k) & 1) & ((i[None, :] >> k) & 1)
        factors.append(mask * (1 - 2 * both))
    return factors


def butterfly_params(n: int, normalized: bool = True) -> Params:
    """The Walsh-Hadamard transform as log2(n) butterfly layers (no biases).

    normalized: scale every factor by 1/sqrt(2), so the net computes the
    orthogonal ``hadamard(n) / sqrt(n)``.
    """
    scale = 2**-0.5 if normalized else 1.0
    return [{"W": scale * F, "b": np.zeros(n)} for F in butterfly_factors(n)]


def butterfly_weights(n: int) -> int:
    """Nonzero weights of the butterfly factorization: 2n log2 n."""
    return 2 * n * _log2(n)


# ----------------------------------------------------------------------------- dynamics (Saxe et al. 2014)


def whitened_inputs(rng: np.random.Generator, samples: int, dim: int) -> np.ndarray:
    """x: (samples, dim) with ``x.T @ x / samples = I`` exactly (samples >= dim)."""
    if samples < dim:
        raise ValueError(f"whitening needs samples >= dim, got {samples} < {dim}")
    q, _ = np.linalg.qr(rng.normal(size=(samples, dim)))
    return q * np.sqrt(samples)


def random_orthogonal(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-random (dim, dim) orthogonal matrix."""
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))[None, :]


def teacher(V: np.ndarray, s: Sequence[float], U: np.ndarray) -> np.ndarray:
    """T = V diag(s) U^T: input direction V[:, a] maps to s[a] U[:, a] (``x @ T``)."""
    return V @ np.diag(np.asarray(s, np.float64)) @ U.T


def aligned_balanced_params(V: np.ndarray, U: np.ndarray, u0: Sequence[float], depth: int) -> Params:
    """Depth-L linear net (width = number of modes, no biases) with mode strengths u0.

    Every layer carries strength c = u0^(1/L) on each mode:
    W_1 = V diag(c), W_l = diag(c) for 1 < l < L, W_L = diag(c) U^T (W_1 = V diag(u0) U^T
    when L = 1), so the product is V diag(u0) U^T and the layers are balanced
    (W_l^T W_l = W_{l+1} W_{l+1}^T).
    """
    c = np.asarray(u0, np.float64) ** (1.0 / depth)
    if depth == 1:
        return [{"W": V @ np.diag(c) @ U.T, "b": np.zeros(U.shape[0])}]
    layers = [V @ np.diag(c)] + [np.diag(c)] * (depth - 2) + [np.diag(c) @ U.T]
    return [{"W": W, "b": np.zeros(W.shape[1])} for W in layers]


def random_init_scale(u0: float, dim: int, depth: int) -> float:
    """Std sigma of i.i.d. normal (dim, dim) layers that gives every mode strength an RMS of u0.

    For unit vectors v, r and L independent layers with N(0, sigma^2) entries,
    ``E (v^T W_1 ... W_L r)^2 = dim^(L-1) sigma^(2L)``; so
    ``sigma = (u0^2 / dim^(L-1))^(1/(2L))``. Such a start is small but neither aligned with
    the teacher's modes nor exactly balanced (W_l^T W_l - W_{l+1} W_{l+1}^T = O(sigma^2)).
    """
    return float((u0**2 / dim ** (depth - 1)) ** (1.0 / (2 * depth)))


def mode_strengths(params: Params, V: np.ndarray, U: np.ndarray) -> np.ndarray:
    """u_a = V[:, a]^T (W_1 ... W_L) U[:, a] for every mode a: (modes,)."""
    W = flatten(params)["W"]
    return np.einsum("ia,ij,ja->a", V, W, U)


def gd_mode_trajectory(s: float, u0: float, depth: int, lr: float, steps: int) -> np.ndarray:
    """Exact full-batch GD on one decoupled mode: u at steps 0..steps, (steps + 1,), float64.

    Per-layer strength c = u0^(1/L) follows ``c <- c + 2 lr c^(L-1) (s - c^L)``.
    """
    c = float(u0) ** (1.0 / depth)
    out = np.empty(steps + 1)
    for t in range(steps + 1):
        out[t] = c**depth
        c = c + 2 * lr * c ** (depth - 1) * (s - c**depth)
    return out


def mode_rate(u, s, depth: int):
    """Right-hand side of ``tau du/dt = L u^(2 - 2/L) (s - u)`` (gradient flow, balanced)."""
    return depth * np.abs(u) ** (2.0 - 2.0 / depth) * (s - u)


def saxe_mode(t, s: float, u0: float, tau: float, depth: int = 2):
    """Closed-form mode strength u(t) under gradient flow, depth 1 or 2.

    Depth 2 (Saxe et al. 2014): ``u = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)``,
    written as the logistic ``s / (1 + (s/u0 - 1) e^{-2st/tau})``.
    Depth 1: ``u = s + (u0 - s) e^{-t/tau}``. t in steps, tau = 1/(2 lr).
    """
    t = np.asarray(t, np.float64)
    if depth == 1:
        return s + (u0 - s) * np.exp(-t / tau)
    if depth == 2:
        return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * t / tau))
    raise ValueError(f"closed form known here for depth 1 and 2, got depth={depth}")


def saxe_learning_time(s: float, u0: float, tau: float, fraction: float = 0.5) -> float:
    """Time for a depth-2 mode to go from u0 to ``fraction * s``: (tau / 2s) ln(f (s - u0) / (u0 (1 - f)))."""
    return tau / (2.0 * s) * np.log(fraction * (s - u0) / (u0 * (1.0 - fraction)))


# ----------------------------------------------------------------------------- Arora, Cohen & Hazan (2018)


def end_to_end_step(w: np.ndarray, grad: np.ndarray, depth: int, lr: float) -> np.ndarray:
    """First-order end-to-end update of a balanced depth-N linear net with one output.

    w, grad: (d,), the end-to-end weight vector and the loss gradient with respect
    to it. Arora, Cohen & Hazan (2018), Theorem 1 for a row vector:
    ``w <- w - lr ||w||^(2 - 2/N) (grad + (N - 1) (w . grad) w / ||w||^2)``.
    Depth changes GD on w into a preconditioned method (an adaptive step along w).
    """
    norm2 = float(w @ w)
    if depth == 1:
        return w - lr * grad
    if norm2 == 0.0:  # the origin is a stationary point of every deeper net
        return w.copy()
    along = (w @ grad) / norm2 * w
    return w - lr * norm2 ** (1.0 - 1.0 / depth) * (grad + (depth - 1) * along)


def balanced_vector_params(w0: np.ndarray, depth: int) -> Params:
    """Depth-N net d -> 1 -> ... -> 1 (no biases) with end-to-end weights w0, balanced.

    W_1 = w0 / ||w0|| * ||w0||^(1/N) (d, 1); W_l = [[||w0||^(1/N)]] for l > 1.
    """
    w0 = np.asarray(w0, np.float64)
    norm = float(np.linalg.norm(w0))
    if depth == 1:
        return [{"W": w0[:, None], "b": np.zeros(1)}]
    c = norm ** (1.0 / depth)
    return [{"W": (w0 / norm * c)[:, None], "b": np.zeros(1)}] + [
        {"W": np.full((1, 1), c), "b": np.zeros(1)} for _ in range(depth - 1)
    ]
