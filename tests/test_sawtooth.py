"""The sawtooth t^k (nnlab.sawtooth): the deep construction verified exactly, the shallow
bounds against brute force and against arbitrary N-piece functions, the classification
count against enumeration."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlab
from nnlab import sawtooth as ST
from nnlab.pieces import count_pieces


def forward(params, x):
    return np.asarray(nnlab.forward(params, np.asarray(x, np.float64)[:, None], hidden="relu", output="identity"))[:, 0]


def test_tent_is_two_relus_and_powers_compose():
    x = np.linspace(0, 1, 4097)
    np.testing.assert_array_equal(ST.tent(x), 2 * np.maximum(x, 0) - 4 * np.maximum(x - 0.5, 0))
    np.testing.assert_array_equal(ST.tent_power(x, 0), x)
    np.testing.assert_array_equal(ST.tent_power(x, 3), ST.tent(ST.tent(ST.tent(x))))
    with pytest.raises(ValueError):
        ST.tent_network(0)


@pytest.mark.parametrize("k", [1, 2, 3, 6, 9, 13, 17, 20])
def test_tent_network_computes_the_sawtooth_exactly(k):
    params = ST.tent_network(k)
    assert [p["W"].shape for p in params] == [(1, 2)] + [(2, 2)] * (k - 1) + [(2, 1)]
    L, j = 2**k, np.arange(2**k + 1)
    r = count_pieces(params, 0, 1)
    assert r.pieces == r.regions == L
    np.testing.assert_array_equal(r.points, j / L)  # every tracked point is j / 2^k
    np.testing.assert_array_equal(r.breakpoints, j[1:-1] / L)
    np.testing.assert_array_equal(r.values[:, 0], j % 2)  # t^k(j / 2^k) = j mod 2
    np.testing.assert_array_equal(r.slopes[:, 0], np.where(j[:-1] % 2 == 0, L, -L))
    if k <= 9:  # the same in rational arithmetic
        e = count_pieces(params, 0, 1, exact=True)
        assert (e.pieces, e.regions) == (L, L) and [float(v) for v in e.points] == list(j / L)
    # through nnlab.forward, at every breakpoint and every midpoint
    x = np.concatenate([j / L, (j[:-1] + 0.5) / L])
    out = forward(params, x)
    np.testing.assert_array_equal(out, np.concatenate([j % 2, np.full(L, 0.5)]))
    np.testing.assert_array_equal(out, ST.tent_power(x, k))


def test_tent_network_agrees_with_tent_power_off_the_grid():
    x = np.random.default_rng(0).uniform(0, 1, 1000)
    for k in (1, 4, 10):
        np.testing.assert_allclose(forward(ST.tent_network(k), x), ST.tent_power(x, k), atol=2.0**k * 1e-15)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_classification_count_against_all_label_sequences(k):
    x, y = ST.alternating_points(k)
    M = x.size
    np.testing.assert_array_equal(ST.tent_power(x, k), y)  # the deep net labels every point right
    pred = np.array(list(itertools.product([0, 1], repeat=M)))
    changes = np.count_nonzero(pred[:, 1:] != pred[:, :-1], axis=1)
    errors = np.count_nonzero(pred != y, axis=1)
    for N in range(1, M + 2):
        best = errors[changes <= N].min()  # a continuous N-piece g realises exactly these
        assert ST.min_classification_errors(k, N) == best
        knots, values = ST.classification_construction(k, N)
        assert len(knots) - 1 <= N and np.all(np.diff(knots) > 0)
        assert np.count_nonzero((np.interp(x, knots, values) >= 0.5) != y) == best
    n = max(M - 2, 1)
    g = ST.pl_to_relu(*ST.classification_construction(k, n))  # through a shallow relu net too
    assert count_pieces(g, 0, 1, exact=True).pieces == n
    assert np.count_nonzero((forward(g, x) >= 0.5) != y) == ST.min_classification_errors(k, n) == (k > 1)
    assert np.count_nonzero((forward(ST.tent_network(k), x) >= 0.5) != y) == 0


@settings(max_examples=40)
@given(st.integers(1, 12), st.integers(0, 2**20))
def test_an_n_piece_function_changes_its_prediction_at_most_n_times(N, seed):
    rng = np.random.default_rng(seed)
    knots = np.concatenate([[0.0], np.sort(rng.uniform(0, 1, N - 1)), [1.0]])
    values = rng.uniform(0, 1, N + 1)
    if seed % 3 == 0:
        values[rng.integers(0, N + 1)] = 0.5  # a knot exactly on the threshold
    x = np.sort(np.concatenate([rng.uniform(0, 1, 3000), knots]))
    pred = np.interp(x, knots, values) >= 0.5
    assert np.count_nonzero(pred[1:] != pred[:-1]) <= N


def test_sup_error_and_the_exact_ends():
    for k in (2, 5, 9):
        L = 2**k
        r = ST.best_pl_error(k, np.array([1, 2, L - 1, L, L + 3]))
        np.testing.assert_array_equal(r.sup, [0.5, 0.5, 0.5, 0, 0])
        np.testing.assert_allclose(r.lower[0], 1 / np.sqrt(12), rtol=1e-9)  # the best line: 1/2
        np.testing.assert_allclose(r.upper[0], 1 / np.sqrt(12), rtol=1e-12)
        np.testing.assert_array_equal(r.lower[3:], 0)
        np.testing.assert_array_equal(r.upper[3:], 0)
    one = ST.best_pl_error(3, 2)
    assert isinstance(one.lower, float) and one.lower <= one.upper
    with pytest.raises(ValueError, match="unknown"):
        ST.best_pl_error(3, 1, method="exact")
    with pytest.raises(ValueError, match="use 'lp'"):
        ST.best_pl_error(12, 5, method="dp")
    with pytest.raises(ValueError, match=">= 1"):
        ST.best_pl_error(3, 0)


def exact_sq_error(knots, values, k):
    """int_0^1 (g - t^k)^2 for the PL g through (knots, values): both are linear between
    merged breakpoints, where the integral of a squared line is exact."""
    L = 2**k
    x = np.union1d(knots, np.arange(L + 1) / L)
    d = np.interp(x, knots, values) - ST.tent_power(x, k)
    return float(np.sum(np.diff(x) * (d[:-1] ** 2 + d[:-1] * d[1:] + d[1:] ** 2) / 3))


def ls_values(knots, k):
    """Least-squares values at the knots: hat-function normal equations, exact integrals."""
    L, n = 2**k, len(knots)
    x = np.union1d(knots, np.arange(L + 1) / L)
    f, h = ST.tent_power(x, k), np.diff(x)
    G, r = np.zeros((n, n)), np.zeros(n)
    for i in range(n):
        phi = np.interp(x, knots, np.eye(n)[i])
        r[i] = np.sum(h * (2 * f[:-1] * phi[:-1] + f[:-1] * phi[1:] + f[1:] * phi[:-1] + 2 * f[1:] * phi[1:]) / 6)
    w = np.diff(knots)
    G[np.arange(n - 1), np.arange(1, n)] = G[np.arange(1, n), np.arange(n - 1)] = w / 6
    G[np.arange(n), np.arange(n)] = np.concatenate([w, [0]]) / 3 + np.concatenate([[0], w]) / 3
    return np.linalg.solve(G, r)


def brute_force(k, N):
    """Least squared error of a continuous N-piece function (N = 2, 3): every knot set on
    a grid of 1/(16 2^k), least-squares values, then the best ones refined 3 times on a
    4x finer grid around themselves."""
    grid = np.arange(1, 16 * 2**k) / (16 * 2**k)
    sets = [(a,) for a in grid] if N == 2 else [(a, b) for a, b in itertools.combinations(grid, 2)]

    def err(inner):
        knots = np.array([0.0, *inner, 1.0])
        return exact_sq_error(knots, ls_values(knots, k), k)

    scored = sorted((err(s), s) for s in sets)[:6]
    step = grid[0]
    for _ in range(3):
        step /= 4
        scored = sorted(min((err(tuple(np.array(s) + step * np.array(d))), tuple(np.array(s) + step * np.array(d)))
                            for d in itertools.product(range(-3, 4), repeat=N - 1)) for _, s in scored)
    return scored[0][0]


@pytest.mark.parametrize("k, N", [(2, 2), (2, 3), (3, 2), (3, 3)])
def test_bounds_bracket_the_brute_force_optimum(k, N):
    r = ST.best_pl_error(k, N)
    brute = brute_force(k, N)
    assert r.lower**2 <= brute  # provable: must hold however coarse the brute force
    assert r.lower**2 >= 0.85 * brute  # near-exact: within 15% in squared error (8% in L2) here
    assert r.upper**2 <= brute * (1 + 1e-9)  # the construction is the optimum in these cases
    assert brute <= r.upper**2 * (1 + 1e-4)


@settings(max_examples=20)
@given(st.sampled_from([3, 4, 5, 7, 9]), st.floats(0.05, 0.98), st.integers(0, 2**20), st.booleans())
def test_no_n_piece_function_beats_the_lower_bound(k, frac, seed, near):
    """Least-squares fits on random knots, or the construction with its knots and values
    jiggled: all have error >= lower."""
    L = 2**k
    N = max(2, int(frac * L))
    rng = np.random.default_rng(seed)
    if near:
        knots, values = ST.pl_construction(k, N)
        knots = knots.copy()
        knots[1:-1] = np.sort(np.clip(knots[1:-1] + rng.normal(0, 0.1 / L, knots.size - 2), 1e-9, 1 - 1e-9))
        values = ls_values(knots, k) + rng.normal(0, 1e-3, knots.size)
    else:
        knots = np.concatenate([[0.0], np.sort(rng.uniform(0, 1, N - 1)), [1.0]])
        values = ls_values(knots, k)
    bound = ST.best_pl_error(k, N)
    err = exact_sq_error(knots, values, k)
    assert bound.lower**2 <= err
    assert abs(ST.pl_error(knots, values, k) ** 2 - err) <= 1e-12 + 1e-9 * err  # closed form == merged sum


@pytest.mark.parametrize("k", [4, 5, 7, 10])
def test_lower_below_upper_both_nonincreasing_and_close(k):
    L = 2**k
    Ns = np.unique(np.linspace(1, L + 1, 40).astype(int))
    r = ST.best_pl_error(k, Ns)
    assert np.all(r.lower <= r.upper)
    assert np.all(np.diff(r.lower) <= 0) and np.all(np.diff(r.upper) <= 1e-15)
    far = Ns <= L - 8  # the periodic LP (k > 5) is looser within a few pieces of 2^k
    assert np.all(r.lower[far] >= 0.9 * r.upper[far])


@pytest.mark.parametrize("k, N", [(3, 5), (5, 2), (5, 20), (7, 100), (8, 255)])
def test_the_construction_has_n_pieces_and_the_stated_error(k, N):
    knots, values = ST.pl_construction(k, N)
    g = ST.pl_to_relu(knots, values)
    assert count_pieces(g, 0, 1, exact=k <= 5).pieces <= N
    x = (np.arange(2**18) + 0.5) / 2**18  # midpoint rule on 2^18 cells: an independent estimate
    err = np.mean((forward(g, x) - ST.tent_power(x, k)) ** 2)
    np.testing.assert_allclose(err, ST.best_pl_error(k, N).upper ** 2, rtol=1e-4)
    np.testing.assert_allclose(forward(g, knots), values, rtol=0, atol=1e-9)
