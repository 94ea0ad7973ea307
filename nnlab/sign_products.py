"""Products from sign neurons: the single hidden layer of 2^n neurons that multiplies n
inputs (Lin, Tegmark & Rolnick 2017), and strictly layered trees of such blocks, as nnlab
params.

A k-input block has one neuron per sign vector s in {-1, 1}^k, f(b + lam s.x), read out
with weight prod(s) / (2^k lam^k f^(k)(b)): the Taylor terms of order < k cancel, order k
gives the product, and the error is O(lam^2) relative. k = 2 is the 4-neuron gate of
``nnlab.multiply``; k = n is the explicit single hidden layer (``shallow_product``); blocks
of 2 and 3 inputs make a tree with exactly 4 (n - 1) neurons and no carries
(``product_tree23``). The derivatives of any order that the read-out needs are computed
exactly (``derivative``).
"""

from __future__ import annotations

import numpy as np

from .multiply import GATE_ACTIVATIONS, ProductNet


def _derivative_polynomials(activation: str, order: int) -> list[list[int]]:
    """Integer coefficients (lowest degree first) of P_0, ..., P_order with f^(k)(z) = P_k(f(z)).

    logistic s: s' = s - s^2, so P_{k+1}(s) = P_k'(s) (s - s^2); tanh t: t' = 1 - t^2, so
    P_{k+1}(t) = P_k'(t) (1 - t^2). P_0 is the identity polynomial."""
    if activation not in GATE_ACTIVATIONS:
        raise ValueError(f"gate activation {activation!r} is unknown; allowed: {', '.join(GATE_ACTIVATIONS)}")
    chain = [0, 1, -1] if activation == "sigmoid" else [1, 0, -1]  # f' as a polynomial in f
    polys = [[0, 1]]
    for _ in range(order):
        p = polys[-1]
        dp = [i * c for i, c in enumerate(p)][1:] or [0]
        q = [0] * (len(dp) + len(chain) - 1)
        for i, a in enumerate(dp):
            for j, c in enumerate(chain):
                q[i + j] += a * c
        polys.append(q)
    return polys


def _exact_poly(coefficients: list[int], u: float) -> float:
    """The polynomial at the float u, evaluated in exact rationals and rounded once (the
    integer coefficients alternate and grow like k!, so float Horner would cancel)."""
    from fractions import Fraction

    x, total = Fraction(u), Fraction(0)
    for c in reversed(coefficients):
        total = total * x + c
    return float(total)


def _value(activation: str, z):
    z = np.asarray(z, np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * z)) if activation == "sigmoid" else np.tanh(z)


def derivative(activation: str, order: int, z):
    """f^(order)(z) of a gate activation, any order >= 0, float64 (shape of z).

    Exact in rationals from the float f(z) (``_derivative_polynomials``), so its only
    error is that of f(z) itself; orders 0-4 agree with ``nnlab.activations.series``."""
    p = _derivative_polynomials(activation, order)[order]
    u = _value(activation, z)
    return np.vectorize(lambda v: _exact_poly(p, float(v)), otypes=[np.float64])(u)[()]


def best_bias_order(activation: str, order: int) -> float:
    """The operating point b maximising |f^(order)(b)| (the larger b where +-b tie).

    d/db f^(k)(b) = f^(k+1)(b) = P_k'(f(b)) f'(b), so the maxima sit at roots of P_k' inside
    the range of f ((0, 1) logistic, (-1, 1) tanh), each polished by Newton's method in
    exact rationals. order 2 gives ``best_bias``."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    p = _derivative_polynomials(activation, order)[order]
    dp = [i * c for i, c in enumerate(p)][1:]
    ddp = [i * c for i, c in enumerate(dp)][1:] or [0]
    lo, hi = (0.0, 1.0) if activation == "sigmoid" else (-1.0, 1.0)
    candidates = []
    for r in np.roots(np.array(dp[::-1], np.float64)) if len(dp) > 1 else []:
        if abs(r.imag) > 1e-6 or not lo < r.real < hi:
            continue
        u = float(r.real)
        for _ in range(8):
            step = _exact_poly(dp, u) / (_exact_poly(ddp, u) or 1.0)
            u = min(max(u - step, lo + 1e-300), hi - 1e-16)
        candidates.append(u)
    if not candidates:  # order 1 of the logistic / tanh: f' peaks at the centre
        candidates = [0.5 if activation == "sigmoid" else 0.0]
    values = [abs(_exact_poly(p, u)) for u in candidates]
    best = max(values)
    u = max(u for u, v in zip(candidates, values) if v >= best * (1 - 1e-9))
    b = np.log(u / (1 - u)) if activation == "sigmoid" else np.arctanh(u)
    return float(b)


def shallow_error_coefficient(n: int, activation: str, bias: float) -> float:
    """C_n in ``shallow_product(n) - prod x = C_n lam^2 (prod x) (sum x_i^2) + O(lam^4)``:
    f^(n+2)(b) / (6 f^(n)(b)). n = 2 gives ``gate_error_coefficient``."""
    fn, fn2 = derivative(activation, n, bias), derivative(activation, n + 2, bias)
    if fn == 0:
        raise ValueError(f"f^({n})(b) = 0 for {activation} at b={bias}: no {n}-input product there")
    return float(fn2 / (6 * fn))


def shallow_error_mse(n: int, activation: str, bias: float, lam: float) -> float:
    """Leading term of the normalised MSE of ``shallow_product`` on U(-1, 1)^n:
    E[(C_n lam^2 prod x sum x_i^2)^2] / E[(prod x)^2] = C_n^2 lam^4 (3n/7 + 9n(n-1)/25)
    (E[x^2] = 1/3, E[x^4] = 1/5, E[x^6] = 1/7)."""
    C = shallow_error_coefficient(n, activation, bias)
    return float(C**2 * lam**4 * (3 * n / 7 + 9 * n * (n - 1) / 25))


def _block(k: int, lam: float, activation: str, bias: float | None):
    """One product block on k values: (A (k, h), a (h,), r (h,), c) with the block's hidden
    input sums ``values @ A + a`` and its output ``f(...) @ r + c``.

    k >= 2: the 2^k sign neurons of ``shallow_product``; k = 1: one carry neuron at b = 0
    in its linear regime (``f(lam x) ~ f(0) + f'(0) lam x``)."""
    if k == 1:
        f0, f1 = float(derivative(activation, 0, 0.0)), float(derivative(activation, 1, 0.0))
        return np.array([[lam]]), np.zeros(1), np.array([1.0 / (f1 * lam)]), -f0 / (f1 * lam)
    return _sign_block(k, lam, activation, bias)


def _sign_block(k: int, lam: float, activation: str, bias: float | None):
    """The 2^k sign neurons multiplying k values (k >= 1): (A (k, 2^k), a, r, 0) as ``_block``."""
    b = best_bias_order(activation, k) if bias is None else float(bias)
    fk = float(derivative(activation, k, b))
    if abs(fk) <= 1e-9 * abs(derivative(activation, k, best_bias_order(activation, k))):
        raise ValueError(f"f^({k})(b) = 0 (to rounding) for {activation} at b={b}: no {k}-input product there")
    j = np.arange(2**k)
    signs = 1 - 2 * ((j[None, :] >> np.arange(k)[:, None]) & 1)  # (k, 2^k): s_i of neuron j
    r = np.prod(signs, axis=0) / (2**k * lam**k * fk)
    return lam * signs.astype(np.float64), np.full(2**k, b), r, 0.0


def block_net(n: int, layers: list[list[int]], lam: float, activation: str = "sigmoid",
              bias: float | None = None) -> ProductNet:
    """A strictly layered net of product blocks: ``layers[l]`` lists the block sizes of hidden
    layer l (they sum to the number of values entering it; a block of size k >= 2 multiplies k
    consecutive values with 2^k neurons, size 1 carries one value). Each block's read-out folds
    into the next layer's weights. bias: operating point of every block of size >= 2 (None:
    each size its ``best_bias_order``)."""
    R, c = np.eye(n), np.zeros(n)  # current values = h_prev @ R + c
    params, sizes, v = [], [n], n
    for blocks in layers:
        if sum(blocks) != v or min(blocks) < 1:
            raise ValueError(f"blocks {blocks} do not partition the {v} values of this layer")
        parts = [_block(k, lam, activation, bias) for k in blocks]
        h = sum(len(p[1]) for p in parts)
        A, a = np.zeros((v, h)), np.zeros(h)
        R_next, c_next = np.zeros((h, len(blocks))), np.zeros(len(blocks))
        row = col = 0
        for i, (k, (Ak, ak, rk, ck)) in enumerate(zip(blocks, parts)):
            A[row:row + k, col:col + len(ak)] = Ak
            a[col:col + len(ak)] = ak
            R_next[col:col + len(ak), i] = rk
            c_next[i] = ck
            row, col = row + k, col + len(ak)
        params.append({"W": R @ A, "b": c @ A + a})
        sizes.append(h)
        R, c, v = R_next, c_next, len(blocks)
    if v != 1:
        raise ValueError(f"the layers end with {v} values, not 1")
    params.append({"W": R, "b": c})
    sizes.append(1)
    return ProductNet(params, tuple(sizes), activation, "identity")


def shallow_product(n: int, lam: float, activation: str = "sigmoid", bias: float | None = None) -> ProductNet:
    """The explicit single-hidden-layer product of Lin, Tegmark & Rolnick: [n, 2^n, 1].

        P(x) = sum_{s in {-1, 1}^n} (prod_i s_i) f(b + lam s.x) / (2^n lam^n f^(n)(b))

    Neuron j has input weights lam s (s_i = 1 - 2 bit_i(j)), bias b, output weight
    prod(s) / (2^n lam^n f^(n)(b)); the output bias is 0 (the signs sum to zero). Params:
    W (n, 2^n), b (2^n,), then W (2^n, 1), b (1,); float64. bias: b, by default
    ``best_bias_order(activation, n)``, the b maximising |f^(n)(b)| (which also minimises the
    rounding error, amplified by 1 / (lam^n |f^(n)(b)|)); sigmoid n = 2: ln(2 + sqrt 3).

    Error: Taylor-expanding f about b, sum_s prod(s) (s.x)^k keeps only monomials with every
    x_i to an odd power, so orders k < n vanish, k = n gives 2^n n! prod x, k = n + 1 vanishes
    (parity) and k = n + 2 gives the leading error
        P(x) - prod x = C_n lam^2 (prod x) (sum_i x_i^2) + O(lam^4),  C_n = f^(n+2)(b) / (6 f^(n)(b)),
    relative O(lam^2) (``shallow_error_coefficient``); n = 2 is the 4-neuron gate (same neurons,
    another order). In floating point the terms f(...) ~ f(b) cancel to 2^n lam^n f^(n)(b) prod x,
    so rounding adds ~ eps f(b) / (lam^n |f^(n)(b)|): the best error is ~ eps^(2/(n+2)).
    """
    if n < 1:
        raise ValueError(f"a product needs n >= 1 inputs, got {n}")
    A, a, r, _ = _sign_block(n, lam, activation, bias)
    params = [{"W": A, "b": a}, {"W": r[:, None], "b": np.zeros(1)}]
    return ProductNet(params, (n, 2**n, 1), activation, "identity")


def tree23_layers(n: int) -> list[list[int]]:
    """Block sizes per layer of ``product_tree23``: pairs, and one 3-input block where the
    number of values is odd (no carries); v_{l+1} = floor(v_l / 2), floor(log2 n) layers."""
    layers, v = [], n
    while v > 1:
        blocks = [2] * (v // 2 - 1) + [3 if v % 2 else 2]
        layers.append(blocks)
        v = len(blocks)
    return layers


def product_tree23(n: int, lam: float, activation: str = "sigmoid") -> ProductNet:
    """A tree of 2- and 3-input product blocks: 4 (n - 1) hidden neurons, no carries.

    A k-input block (the 2^k-neuron ``shallow_product``) merges k values for 2^k neurons, 4 per
    value removed for k = 2 and 3 (more for k >= 4: 2^k > 4 (k - 1)), so every tree of blocks
    has >= 4 (n - 1) neurons, and this one, with one 3-input block at each odd layer instead of a
    gate plus a carry, has exactly that in floor(log2 n) hidden layers (``product_tree``: 4 (n - 1)
    + ``tree_carries(n)`` in ceil(log2 n)). Each block runs at its own best bias (the b
    maximising |f''| or |f'''|); its error is O(lam^2) relative like the gates', but the 3-input
    block divides by lam^3 f'''(b), so rounding weighs more (float32: use lam >~ 0.1)."""
    if n < 2:
        raise ValueError(f"a product tree needs n >= 2 inputs, got {n}")
    return block_net(n, tree23_layers(n), lam, activation)


def tree23_neurons(n: int) -> int:
    """Hidden neurons of ``product_tree23(n)``: 4 (n - 1)."""
    return 4 * (n - 1)
