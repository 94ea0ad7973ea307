"""The relaxation behind the sawtooth lower bound (nnlab.sawtooth_bound): closed-form
integrals against quadrature, constrained line fits against sampled lines, Karp against
enumerated cycles, the linear program below the dynamic program."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlab import sawtooth_bound as SB

intervals = st.tuples(st.floats(0, 20), st.floats(0.01, 12))


def merged(a, b, n=1):
    """Points of [a, b] with every integer inside: f is linear between them."""
    x = np.union1d([a, b], np.arange(np.ceil(a), np.floor(b) + 1))
    return np.sort(np.concatenate([x, np.linspace(a, b, n + 1)]))


def simpson(a, b):
    """(int 1, int u, int u^2, int f, int u f, int f^2) over [a, b], u = x - a: Simpson's rule
    on the pieces where f is linear, exact for these polynomials of degree <= 2."""
    x = merged(a, b)
    h, mid = np.diff(x), (x[:-1] + x[1:]) / 2
    out = []
    for g in (lambda t: np.ones_like(t), lambda t: t - a, lambda t: (t - a) ** 2,
              SB.wave, lambda t: (t - a) * SB.wave(t), lambda t: SB.wave(t) ** 2):
        out.append(np.sum(h * (g(x[:-1]) + 4 * g(mid) + g(x[1:])) / 6))
    return out


@settings(max_examples=60)
@given(intervals)
def test_moments_are_exact_integrals(ab):
    a, b = ab[0], ab[0] + ab[1]
    np.testing.assert_allclose(SB.moments(a, b), simpson(a, b)[3:], rtol=1e-10, atol=1e-10)


@settings(max_examples=60)
@given(intervals)
def test_run_cost_is_the_least_squares_line(ab):
    a, b = ab[0], ab[0] + ab[1]
    I0, I1, I2, F0, F1, F2 = simpson(a, b)
    coef = np.linalg.solve([[I0, I1], [I1, I2]], [F0, F1])  # normal equations of the integral
    assert SB.run_cost(a, b) == pytest.approx(F2 - coef @ [F0, F1], rel=1e-7, abs=1e-11)
    assert SB.run_cost(a, a) == 0.0
    assert SB.run_cost(2.0, 3.0) < 1e-15 and SB.run_cost(0.0, 2.0) == pytest.approx(1 / 6)


@settings(max_examples=40)
@given(st.floats(0, 6), st.floats(0.05, 4), st.floats(-0.5, 1.3), st.floats(0.01, 0.4),
       st.floats(-0.5, 1.3), st.floats(0.01, 0.4), st.integers(0, 2))
def test_line_fit_is_the_least_cost_of_lines_meeting_the_constraints(a, h, lo1, w1, lo2, w2, which):
    """The feasible lines are those through a point of (cell, bin) at each constrained end:
    none of a fine sample of them costs less than line_fit, and the best costs about as much."""
    b, d = a + h, 0.125
    start = (lo1, lo1 + w1) if which != 2 else None
    end = (lo2, lo2 + w2) if which != 1 else None
    best = SB.line_fit(a, b, d, start, end)
    free = np.linspace(-1.5, 2.5, 161)
    x1, y1 = (np.linspace(a - d, a, 9), np.linspace(*start, 17)) if start else (np.array([a]), free)
    x2, y2 = (np.linspace(b, b + d, 9), np.linspace(*end, 17)) if end else (np.array([b]), free)
    X1, Y1, X2, Y2 = np.meshgrid(x1, y1, x2, y2, indexing="ij")
    slope = (Y2 - Y1) / (X2 - X1)
    u, v = Y1 + slope * (a - X1), Y1 + slope * (b - X1)  # the line's values at a and b
    F0, F1, F2 = SB.moments(a, b)
    gB = F1 / h
    cost = F2 - 2 * ((F0 - gB) * u + gB * v) + h * (u * u + u * v + v * v) / 3
    assert best <= cost.min() + 1e-12
    assert best >= cost.min() - 0.01 * h - 0.05 * h * (w1 + w2)
    if start is None and end is None:
        assert best == pytest.approx(SB.run_cost(a, b), abs=1e-12)


def test_karp_against_enumerated_cycles():
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 4, 5):
        W = rng.normal(size=(n, n))
        W[rng.random((n, n)) < 0.3] = np.inf
        np.fill_diagonal(W, rng.normal(size=n) + 0.5)
        best = np.inf
        for r in range(1, n + 1):
            for cyc in itertools.permutations(range(n), r):
                w = sum(W[cyc[i], cyc[(i + 1) % r]] for i in range(r))
                best = min(best, w / r)
        assert SB._karp(W) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("L", [4, 8, 16, 32])
def test_the_linear_program_is_below_the_dynamic_program(L):
    dp = SB.dp_lower_bound(L, L)
    lp = SB.lp_lower_bound(L, np.arange(2, L + 1))
    assert np.all(lp <= dp[1:] + 1e-12)
    assert np.all(np.diff(dp) <= 0) and dp[0] == pytest.approx(L / 12) and dp[-1] == pytest.approx(0, abs=1e-12)
    assert lp[-2] > 0  # still positive one piece short of L


def test_the_tables_refuse_what_they_cannot_cover():
    with pytest.raises(ValueError, match="cover runs"):
        SB.dp_lower_bound(4096, 3)
