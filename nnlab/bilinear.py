"""Bilinear algorithms for n x n matrix multiplication, and their exact operation counts.

A bilinear algorithm with r products is three tensors (U, V, W), each (r, n^2):

    m_t = (U_t . vec A) (V_t . vec B),    vec C = sum_t m_t W_t    (t = 0 .. r-1)

with ``vec`` row-major (entry (i, j) at index i n + j). The naive algorithm has
r = n^3; Strassen's (1969, "Gaussian elimination is not optimal", Numerische
Mathematik 13) multiplies 2 x 2 matrices with 7, and 7 is the least for 2 x 2
(Winograd 1971, Hopcroft & Kerr 1971). Applied recursively to n = 2^k it uses
7^k products: ``compose`` is that recursion for any list of algorithms (block
level 1 outermost), the tensor (Kronecker) product of the algorithms.

The networks built from these tensors live in ``nnlab.bilinear_net``; this
module also holds the closed-form counts of those networks, derived by hand
(see the docstrings), which the tests hold against the networks' exact counts.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MAX_ENTRIES = 2**22  # entries of one dense (r, n^2) tensor: 32 MiB in float64


def _check_size(r: int, n: int, name: str) -> None:
    if r * n * n > MAX_ENTRIES:
        raise ValueError(f"{name}: tensors of {r} x {n * n} entries are too large to hold densely "
                         f"(limit {MAX_ENTRIES}); formula_counts gives the counts of larger n")


class Bilinear(NamedTuple):
    """A bilinear algorithm: U, V, W each (rank, n^2), float64 with small integer entries."""

    U: np.ndarray
    V: np.ndarray
    W: np.ndarray
    n: int
    name: str

    @property
    def rank(self) -> int:
        """Number of products r."""
        return int(self.U.shape[0])

    @property
    def nnz(self) -> tuple[int, int, int]:
        """Nonzero entries of (U, V, W)."""
        return tuple(int(np.count_nonzero(T)) for T in (self.U, self.V, self.W))


def naive(n: int) -> Bilinear:
    """The schoolbook algorithm: products A[i, k] B[k, j] (t = (i n + k) n + j) added into C[i, j].
    Dense tensors (n^3, n^2): n <= 16."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _check_size(n**3, n, f"naive({n})")
    i, k, j = (a.ravel() for a in np.meshgrid(*[np.arange(n)] * 3, indexing="ij"))
    t = np.arange(n**3)
    U, V, W = (np.zeros((n**3, n * n)) for _ in range(3))
    U[t, i * n + k] = 1
    V[t, k * n + j] = 1
    W[t, i * n + j] = 1
    return Bilinear(U, V, W, n, f"naive{n}")


# Strassen (1969), with A = [[A11, A12], [A21, A22]] (vec index 0, 1, 2, 3):
# M1 = (A11 + A22)(B11 + B22)   M2 = (A21 + A22) B11   M3 = A11 (B12 - B22)
# M4 = A22 (B21 - B11)          M5 = (A11 + A12) B22   M6 = (A21 - A11)(B11 + B12)
# M7 = (A12 - A22)(B21 + B22)
# C11 = M1 + M4 - M5 + M7   C12 = M3 + M5   C21 = M2 + M4   C22 = M1 - M2 + M3 + M6
_STRASSEN_U = [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [-1, 0, 1, 0], [0, 1, 0, -1]]
_STRASSEN_V = [[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
_STRASSEN_W = [[1, 0, 0, 1], [0, 0, 1, -1], [0, 1, 0, 1], [1, 0, 1, 0], [-1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]


def strassen(k: int = 1) -> Bilinear:
    """Strassen's algorithm applied k times: n = 2^k, 7^k products (k = 0: the 1 x 1 product).
    Dense tensors (7^k, 4^k): k <= 4."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    base = Bilinear(*(np.array(T, np.float64) for T in (_STRASSEN_U, _STRASSEN_V, _STRASSEN_W)), 2, "strassen2")
    return compose(*[base] * k) if k else naive(1)


def compose(*algorithms: Bilinear) -> Bilinear:
    """The recursion: split A, B, C into p_1 x p_1 blocks and multiply the blocks with the rest.

    Product index t = (s_1, ..., s_k) in mixed radix (s_1 most significant); entry
    (a q + i, b q + j) of an n = p q matrix is entry (i, j) of block (a, b). Each
    tensor is the Kronecker product of the levels' tensors in this index order,
    so n = prod p_j, r = prod r_j and nnz(U) = prod nnz(U_j) (likewise V, W).
    """
    if not algorithms:
        raise ValueError("compose needs at least one algorithm")
    out = algorithms[0]
    for inner in algorithms[1:]:
        p, q, r1, r2 = out.n, inner.n, out.rank, inner.rank
        _check_size(r1 * r2, p * q, f"compose({out.name}, {inner.name})")

        def kron(P, Q):
            T = np.einsum("sab,tij->staibj", P.reshape(r1, p, p), Q.reshape(r2, q, q))
            return T.reshape(r1 * r2, (p * q) ** 2)

        out = Bilinear(kron(out.U, inner.U), kron(out.V, inner.V), kron(out.W, inner.W), p * q,
                       f"{out.name}*{inner.name}")
    return out


def multiply(alg: Bilinear, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """C by the algorithm's products. A, B: (batch, n, n) -> (batch, n, n), float64."""
    x, y = factors(alg, A, B)
    return ((x * y) @ alg.W).reshape(np.shape(A))


def factors(alg: Bilinear, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The factors of every product: (U . vec A, V . vec B), each (batch, r)."""
    batch = np.shape(A)[0]
    a = np.asarray(A, np.float64).reshape(batch, -1)
    b = np.asarray(B, np.float64).reshape(batch, -1)
    return a @ alg.U.T, b @ alg.V.T


def matmul_tensor(n: int) -> np.ndarray:
    """T[(i,k), (k,j), (i,j)] = 1: the n x n matrix multiplication tensor, (n^2, n^2, n^2)."""
    T = np.zeros((n * n,) * 3)
    for i in range(n):
        for k in range(n):
            for j in range(n):
                T[i * n + k, k * n + j, i * n + j] = 1
    return T


def is_exact(alg: Bilinear) -> bool:
    """Brent's equations: sum_t U[t, a] V[t, b] W[t, c] == T[a, b, c] for all a, b, c (exact in
    float64 for integer tensors of moderate size)."""
    return bool(np.array_equal(np.einsum("ta,tb,tc->abc", alg.U, alg.V, alg.W), matmul_tensor(alg.n)))


# ----------------------------------------------------------------------------- counts in closed form
#
# Networks (nnlab.bilinear_net), with the 4-neuron gate of nnlab.multiply for each product:
#
# flat (one hidden layer of 4r gate neurons): each gate neuron has an edge from every
#   input its two factors read plus a bias edge; each sends one edge per output its
#   product enters: weights = 4 (nnz U + nnz V) + 4 r + 4 nnz W.
# deep (levels p_j, r_j; R_j = r_1...r_j subproblems of size m_j = p_{j+1}...p_k after level j):
#   sum layer j       2 R_j m_j^2 identity neurons,  R_{j-1} (nnz U_j + nnz V_j) m_j^2 edges
#   gate layer        4 R_k neurons,                 3 per neuron (two factors + bias)
#   product layer     R_k identity neurons,          4 per product
#   recombine j       R_{j-1} m_{j-1}^2 neurons,    R_{j-1} nnz W_j m_j^2 edges (j = k .. 1; j = 1 is the output)
#   weight layers 2k + 2, hidden layers 2k + 1 of which one is nonlinear.


def flat_counts(alg: Bilinear) -> dict:
    """Counts of ``bilinear_net.flat_network(alg)`` from the tensors' sizes."""
    u, v, w = alg.nnz
    r = alg.rank
    return dict(gate_neurons=4 * r, hidden_neurons=4 * r, weights=4 * (u + v) + 4 * r + 4 * w,
                weight_layers=2, nonlinear_layers=1)


def deep_counts(levels: list[Bilinear]) -> dict:
    """Counts of ``bilinear_net.deep_network(levels)`` from the levels' sizes."""
    k = len(levels)
    R = np.cumprod([1] + [a.rank for a in levels]).tolist()  # R_0 .. R_k
    m = [int(np.prod([a.n for a in levels[j:]])) for j in range(k + 1)]  # m_0 .. m_k
    hidden = sum(2 * R[j] * m[j] ** 2 for j in range(1, k + 1)) + 5 * R[k] + sum(R[j] * m[j] ** 2 for j in range(1, k))
    weights = sum(R[j - 1] * sum(levels[j - 1].nnz) * m[j] ** 2 for j in range(1, k + 1)) + 16 * R[k]
    return dict(gate_neurons=4 * R[k], hidden_neurons=hidden, weights=weights,
                weight_layers=2 * k + 2, nonlinear_layers=1)


def formula_counts(form: str, n: int) -> dict:
    """Closed forms in n = 2^k for ``form`` in naive_flat, strassen_flat, strassen_deep, naive_deep.

    naive_flat     gates 4 n^3,   weights 16 n^3                      (nnz U = nnz V = nnz W = n^3)
    strassen_flat  gates 4 7^k,   weights 12 * 12^k + 4 * 7^k         (nnz = 12^k each: Theta(n^3.585))
    strassen_deep  gates 4 7^k,   weights 28 * 7^k - 12 n^2,          hidden 11 * 7^k - 7 n^2
    naive_deep     gates 4 8^k,   weights 22 * 8^k - 6 n^2,           hidden 10 * 8^k - 6 n^2  (2x2 naive recursively)
    Sums of geometric series: sum_{j=1..k} r^(j-1) 4^(k-j) = (r^k - 4^k) / (r - 4).
    """
    k = int(n).bit_length() - 1
    if n < 2 or 2**k != n:
        raise ValueError(f"n must be a power of two >= 2, got {n}")
    if form == "naive_flat":
        return dict(gate_neurons=4 * n**3, hidden_neurons=4 * n**3, weights=16 * n**3, weight_layers=2)
    if form == "strassen_flat":
        return dict(gate_neurons=4 * 7**k, hidden_neurons=4 * 7**k, weights=12 * 12**k + 4 * 7**k, weight_layers=2)
    if form == "strassen_deep":
        return dict(gate_neurons=4 * 7**k, hidden_neurons=11 * 7**k - 7 * n**2, weights=28 * 7**k - 12 * n**2,
                    weight_layers=2 * k + 2)
    if form == "naive_deep":
        return dict(gate_neurons=4 * 8**k, hidden_neurons=10 * 8**k - 6 * n**2, weights=22 * 8**k - 6 * n**2,
                    weight_layers=2 * k + 2)
    raise ValueError(f"form {form!r} is unknown; allowed: naive_flat, strassen_flat, strassen_deep, naive_deep")


def crossover(cost: str, form: str, reference: str = "naive_flat", k_max: int = 20) -> int | None:
    """Least n = 2^k (k <= k_max) from which ``form`` costs less than ``reference`` for every
    larger k up to k_max, in ``cost`` (a key of ``formula_counts``); None if never."""
    below = [formula_counts(form, 2**k)[cost] < formula_counts(reference, 2**k)[cost] for k in range(1, k_max + 1)]
    for k in range(1, k_max + 1):
        if all(below[k - 1:]):
            return 2**k
    return None
