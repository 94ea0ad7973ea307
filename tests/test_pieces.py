"""The exact piece counter (nnlab.pieces) against hand counts and against dense sampling
of the network through nnlab.forward."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlab
from nnlab.pieces import count_pieces


def net(*layers):
    """params from (W, b) pairs given as nested lists."""
    return [{"W": np.array(W, np.float64), "b": np.array(b, np.float64)} for W, b in layers]


RELU = net(([[1.0]], [0.0]), ([[1.0]], [0.0]))  # relu(x)
ABS = net(([[1.0, -1.0]], [0.0, 0.0]), ([[1.0], [1.0]], [0.0]))  # relu(x) + relu(-x) = |x|
IDENT = net(([[1.0, -1.0]], [0.0, 0.0]), ([[1.0], [-1.0]], [0.0]))  # relu(x) - relu(-x) = x
CANCEL = net(([[1.0, 1.0]], [0.0, 0.0]), ([[1.0], [-1.0]], [0.0]))  # relu(x) - relu(x) = 0


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize(
    "params, lo, hi, regions, pieces, breaks",
    [
        (RELU, -1, 1, 2, 2, [0]),
        (RELU, 0.5, 1, 1, 1, []),
        (RELU, -1, -0.5, 1, 1, []),
        (ABS, -1, 1, 2, 2, [0]),
        (ABS, -1, 3, 2, 2, [0]),
        (IDENT, -1, 1, 2, 1, []),  # two patterns, one affine map
        (CANCEL, -1, 1, 2, 1, []),
        # two units switching at the same point: one boundary, both outputs kink there
        (net(([[1.0, 2.0]], [-0.5, -1.0]), ([[1.0], [1.0]], [0.0])), 0, 1, 2, 2, [0.5]),
        # all units off on the interval
        (net(([[1.0, -1.0]], [-2.0, -2.0]), ([[3.0], [1.0]], [0.5])), -1, 1, 1, 1, []),
        # two outputs: the pieces of the pair are the union of the kinks
        (net(([[1.0, 1.0]], [0.0, -0.5]), ([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])), -1, 1, 3, 3, [0, 0.5]),
        # hat function relu(relu(x) - 2 relu(x - 1/2)) on [0, 1]: kinks at 1/2 only... and 0 is an end
        (net(([[1.0, 1.0]], [0.0, -0.5]), ([[1.0], [-2.0]], [0.0]), ([[1.0]], [0.0])), 0, 1, 2, 2, [0.5]),
        # |x| - 1/2 through a second relu layer: kinks at 0 and +-1/2
        (net(([[1.0, -1.0]], [0.0, 0.0]), ([[1.0], [1.0]], [-0.5]), ([[1.0]], [0.0])), -1, 1, 4, 3, [-0.5, 0.5]),
    ],
)
def test_hand_counted_cases(params, lo, hi, regions, pieces, breaks, exact):
    r = count_pieces(params, lo, hi, exact=exact)
    assert (r.regions, r.pieces) == (regions, pieces)
    assert [float(b) for b in r.breakpoints] == breaks


def test_touching_zero_inserts_nothing_and_a_dead_unit_is_flat():
    # layer 2 sees z = |x| >= 0: relu(z) = |x| keeps the kink at 0, relu(-z) = 0 is flat
    up = net(([[1.0, -1.0]], [0.0, 0.0]), ([[1.0], [1.0]], [0.0]), ([[1.0]], [0.0]))
    down = net(([[1.0, -1.0]], [0.0, 0.0]), ([[-1.0], [-1.0]], [0.0]), ([[1.0]], [0.0]))
    for exact in (False, True):
        a, b = count_pieces(up, -1, 1, exact=exact), count_pieces(down, -1, 1, exact=exact)
        assert (a.regions, a.pieces, b.regions, b.pieces) == (2, 2, 2, 1)
        assert len(a.points) == 3  # no zero crossing was inserted


def test_identity_hidden_layers_give_one_affine_piece():
    params = net(([[1.0, -2.0]], [0.3, 0.1]), ([[1.0], [1.0]], [0.0]))
    assert count_pieces(params, -5, 5, hidden="identity")[:2] == (1, 1)
    mixed = net(([[1.0, -1.0]], [0.0, 0.0]), ([[1.0], [1.0]], [-1.0]), ([[2.0]], [0.0]))
    r = count_pieces(mixed, -2, 2, hidden=["relu", "identity"])
    assert (r.regions, r.pieces) == (2, 2)  # |x| - 1 kinks only at 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="one real input"):
        count_pieces(net(([[1.0], [1.0]], [0.0]), ([[1.0]], [0.0])))
    with pytest.raises(ValueError, match="piecewise linear"):
        count_pieces(RELU, hidden="sigmoid")
    with pytest.raises(ValueError, match="lo < hi"):
        count_pieces(RELU, 1, 1)
    with pytest.raises(ValueError, match="hidden lists"):
        count_pieces(RELU, hidden=["relu", "relu"])


@settings(max_examples=30)
@given(st.lists(st.integers(-40, 40), min_size=1, max_size=8, unique=True), st.integers(0, 2**16), st.booleans())
def test_one_hidden_layer_of_w_units_has_w_plus_one_pieces(knots, seed, flip):
    """Units with distinct kinks inside (lo, hi) and nonzero output weights: exactly w + 1
    pieces, kinks where placed; whatever the weights, at most w + 1."""
    rng = np.random.default_rng(seed)
    t = np.array(knots) / 16.0  # in (-2.5, 2.5)
    sign = np.where(rng.random(t.size) < 0.5, -1.0, 1.0) if flip else np.ones(t.size)
    out = rng.choice([-3.0, -1.5, -0.5, 0.5, 1.25, 2.0], size=(t.size, 1))
    params = [{"W": sign[None, :], "b": -sign * t}, {"W": out, "b": np.array([0.25])}]
    r = count_pieces(params, -3, 3, exact=True)
    assert r.pieces == r.regions == t.size + 1
    assert [float(b) for b in r.breakpoints] == sorted(t)
    wild = [{"W": rng.normal(size=(1, t.size)), "b": rng.normal(size=t.size)},
            {"W": rng.normal(size=(t.size, 2)), "b": rng.normal(size=2)}]
    assert count_pieces(wild, -3, 3).pieces <= t.size + 1


def random_net(seed, widths):
    rng = np.random.default_rng(seed)
    sizes = [1, *widths, 1]
    return [{"W": rng.normal(size=(a, b)) * (1.5 / np.sqrt(a)), "b": rng.normal(size=b)}
            for a, b in zip(sizes[:-1], sizes[1:])]


def sampled_kinks(f, lo, hi, n):
    """Kinks seen on a grid of n + 1 points: windows (g_i, g_{i+2}) whose midpoint leaves
    the chord by more than rounding, counted greedily with disjoint interiors. Each
    such window holds a kink, so the count never exceeds the true number."""
    g = np.linspace(lo, hi, n + 1)
    y = f(g)
    dev = np.abs(y[1:-1] - (y[:-2] + y[2:]) / 2).max(axis=1)
    tol = 1e-9 * (1 + np.abs(y).max())
    count, last = 0, -2
    for i in np.flatnonzero(dev > tol):
        if i >= last + 2:
            count, last = count + 1, i
    return count, tol


@settings(max_examples=25)
@given(st.integers(0, 2**20), st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_random_nets_against_dense_sampling(seed, widths):
    params = random_net(seed, widths)
    lo, hi = -2.0, 2.0
    exact = count_pieces(params, lo, hi, exact=True)
    fast = count_pieces(params, lo, hi)
    assert (fast.regions, fast.pieces) == (exact.regions, exact.pieces)
    assert exact.pieces <= exact.regions
    np.testing.assert_allclose(fast.breakpoints, [float(b) for b in exact.breakpoints], rtol=0, atol=1e-9)
    # the tracked values are the network's outputs at the tracked points
    pts = np.asarray(fast.points, np.float64)[:, None]
    np.testing.assert_allclose(np.asarray(nnlab.forward(params, pts, hidden="relu", output="identity")),
                               fast.values, rtol=1e-9, atol=1e-9)

    def f(x):
        return np.asarray(nnlab.forward(params, x[:, None], hidden="relu", output="identity"))

    # sound: sampling never sees more kinks than there are
    count, tol = sampled_kinks(f, lo, hi, 4000)
    assert count <= exact.pieces - 1
    # and sees all of them once the grid is fine enough: every gap (between kinks and the ends)
    # longer than 3 cells and every slope jump visible: |jump| h / 4 > 10 tol
    b = np.array([lo, *[float(v) for v in exact.breakpoints], hi])
    h = min(np.diff(b).min() / 3.5, (hi - lo) / 400)
    n = int(np.ceil((hi - lo) / h))
    slopes = np.array(exact.slopes, dtype=np.float64)[np.asarray(exact.points[1:] > exact.points[:-1])]
    jumps = np.abs(np.diff(slopes, axis=0)).max(axis=1)
    jumps = jumps[jumps > 0]
    if n <= 200_000 and (jumps.size == 0 or jumps.min() * (hi - lo) / n / 4 > 10 * tol):
        assert sampled_kinks(f, lo, hi, n)[0] == exact.pieces - 1


def test_exact_mode_is_rational_and_float_mode_close():
    # relu(3x - 1) - relu(-5x + 2) - relu(x) on [-1, 1]: kinks at 0, 1/3 and 2/5
    params = net(([[3.0, -5.0, 1.0]], [-1.0, 2.0, 0.0]), ([[1.0], [-1.0], [-1.0]], [0.0]))
    e, f = count_pieces(params, -1, 1, exact=True), count_pieces(params, -1, 1)
    assert list(e.breakpoints) == [Fraction(0), Fraction(1, 3), Fraction(2, 5)]
    assert all(isinstance(v, Fraction) for v in e.points)
    np.testing.assert_allclose(f.breakpoints, [0, 1 / 3, 2 / 5], rtol=0, atol=1e-15)
    assert (e.regions, e.pieces) == (f.regions, f.pieces) == (4, 4)
