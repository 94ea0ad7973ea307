"""The explicit single-hidden-layer product (nnlab.sign_products.shallow_product), derivatives of any
order, the carries of the tree of gates and the carry-free tree of 2- and 3-input blocks; float64."""

import jax
import numpy as np
import pytest

import nnlab
from nnlab import multiply as MU
from nnlab import sign_products as SP

EPS = np.finfo(np.float64).eps


def run(net, x):
    return np.asarray(nnlab.forward(net.params, x, net.hidden, net.output))[:, 0]


def points(n, count=400, seed=0):
    return np.random.default_rng([seed, n]).uniform(-1, 1, size=(count, n))


def bounds(n, lam, act="sigmoid"):
    """(truncation, rounding) bounds on |P(x) - prod x| over [-1, 1]^n, from theory.

    truncation: |C_n| lam^2 |prod x| sum x_i^2 <= |C_n| lam^2 n, times (1 + a lam^2) for the next
    order (``next_order``). rounding: each of the 2^n terms f(b + lam s.x) carries an error of a few
    eps (|f| + |z f'|) <= eps (1 + |b| + n lam) (|f|, |f'| <= 1), amplified by the output weights
    1 / (2^n lam^n |f^(n)(b)|); the factor 2^n more covers the summation of 2^n terms."""
    b = SP.best_bias_order(act, n)
    C = SP.shallow_error_coefficient(n, act, b)
    trunc = abs(C) * lam**2 * n * (1 + next_order(n, act) * lam**2)
    rounding = 2**n * 4 * EPS * (1 + abs(b) + n * lam) / (lam**n * abs(SP.derivative(act, n, b)))
    return trunc, rounding


def next_order(n, act="sigmoid"):
    """a with |relative size of the O(lam^4) term against the O(lam^2) one| <= a lam^2 on [-1, 1]^n.

    The k = n + 4 Taylor order gives lam^4 f^(n+4)/f^(n) prod x (sum x_i^4 / 120 + sum_{i<j}
    x_i^2 x_j^2 / 36); over the leading lam^2 f^(n+2)/(6 f^(n)) prod x sum x_i^2 that is at most
    |f^(n+4) / f^(n+2)| (sum x_i^2) / 12 <= |f^(n+4) / f^(n+2)| n / 12."""
    b = SP.best_bias_order(act, n)
    return abs(SP.derivative(act, n + 4, b) / SP.derivative(act, n + 2, b)) * n / 12


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_exactly_two_to_the_n_neurons(n):
    net = SP.shallow_product(n, 0.1)
    assert net.sizes == (n, 2**n, 1) and net.neurons == 2**n == MU.shallow_neurons_bound(n)
    assert net.params[0]["W"].shape == (n, 2**n) and net.params[0]["b"].shape == (2**n,)
    assert net.params[1]["W"].shape == (2**n, 1) and net.params[1]["b"].shape == (1,)
    # every sign vector once; output bias 0 (the signs sum to zero)
    signs = np.sign(net.params[0]["W"]).T
    assert len({tuple(s) for s in signs}) == 2**n
    assert net.params[1]["b"][0] == 0 and abs(net.params[1]["W"].sum()) < 1e-9 * np.abs(net.params[1]["W"]).sum()


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
def test_derivatives_of_any_order(activation):
    z = np.array([-2.0, -0.3, 0.0, 0.7, 1.9])
    np.testing.assert_allclose([SP.derivative(activation, k, z) for k in range(5)], MU.series(activation, z),
                               rtol=1e-12, atol=1e-14)
    f = nnlab.get_activation(activation).fn
    chain = [f]
    for _ in range(6):
        chain.append(jax.grad(chain[-1]))
    np.testing.assert_allclose([SP.derivative(activation, k, 0.4) for k in range(7)],
                               [float(g(0.4)) for g in chain], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
def test_best_bias_maximises_the_nth_derivative(activation):
    assert SP.best_bias_order(activation, 2) == pytest.approx(MU.best_bias(activation), rel=1e-12)
    z = np.linspace(-6, 6, 1201)
    for n in range(1, 8):
        b = SP.best_bias_order(activation, n)
        grid = np.abs(SP.derivative(activation, n, z))
        assert abs(SP.derivative(activation, n, b)) >= grid.max() * (1 - 1e-12)
        assert abs(b - z[np.argmax(grid)]) <= 0.01 + 2 * abs(b) * (n % 2 == 0)  # the peak (or its mirror -b)
        assert b >= 0  # of +-b, the larger


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_agrees_with_the_product_at_small_lambda(n):
    """At the lambda balancing the truncation and rounding bounds, |P - prod| is within them."""
    lams = np.geomspace(1e-3, 0.5, 60)
    lam = lams[np.argmin([sum(bounds(n, v)) for v in lams])]
    x = points(n)
    err = np.abs(run(SP.shallow_product(n, lam), x) - np.prod(x, axis=1)).max()
    assert err <= sum(bounds(n, lam))
    assert sum(bounds(n, lam)) < 1e-2  # a meaningful agreement, up to n = 6 in float64


def _theory_lambdas(n, act="sigmoid"):
    """Three lambdas a factor sqrt(2) apart, the largest where the next order is <= 5% of the leading
    error (at n = 6 rounding, ~ lam^-(n+2) relative, leaves no wider window)."""
    return min(0.25, np.sqrt(0.05 / next_order(n, act))) / 2.0 ** (np.arange(3) / 2)


@pytest.mark.parametrize("activation", MU.GATE_ACTIVATIONS)
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_error_falls_as_lambda_squared_with_the_predicted_constant(n, activation):
    """Pointwise, (P - prod x) / (C_n lam^2 prod x sum x^2) = 1 + r with |r| <= a lam^2 + rounding /
    |leading term|; the fitted slope of log max error vs log lambda is 2 within the same budget."""
    b = SP.best_bias_order(activation, n)
    C, a = SP.shallow_error_coefficient(n, activation, b), next_order(n, activation)
    x = points(n, 300)
    x = x[np.abs(np.prod(x, axis=1)) > 3.0 ** (-n / 2) / 10]  # away from the zeros of the error
    lead = np.prod(x, axis=1) * np.sum(x**2, axis=1)
    lams = _theory_lambdas(n, activation)
    worst, budget = [], []
    for lam in lams:
        err = run(SP.shallow_product(n, lam, activation), x) - np.prod(x, axis=1)
        _, rounding = bounds(n, lam, activation)
        r = err / (C * lam**2 * lead) - 1
        assert np.all(np.abs(r) <= a * lam**2 + rounding / (abs(C) * lam**2 * np.abs(lead)))
        worst.append(np.abs(err).max())
        budget.append(a * lam**2 + rounding / (abs(C) * lam**2 * np.abs(lead).max()))
    assert max(budget) < 0.5, "no room between the next order and rounding"
    slope = np.polyfit(np.log(lams), np.log(worst), 1)[0]
    # each max error is |C| lam^2 max|lead| (1 + r), |r| <= budget; the least-squares slope over three
    # points spaced h = ln sqrt(2) weighs ln(1 + r) by -1/(2h), 0, 1/(2h), and |ln(1 + r)| <= 2|r|
    h = np.log(lams[0] / lams[1])
    assert slope == pytest.approx(2.0, abs=(2 * budget[0] + 2 * budget[-1]) / (2 * h))


def test_two_inputs_is_the_four_neuron_gate():
    """n = 2: the same four neurons (input weights, bias, output weight) as the gate, in another order."""
    for act in MU.GATE_ACTIVATIONS:
        s, g = SP.shallow_product(2, 0.05, act), MU.gate(0.05, act)
        assert s.sizes == g.sizes == (2, 4, 1)

        def neurons(net):
            cols = np.vstack([net.params[0]["W"], net.params[0]["b"][None], net.params[1]["W"].T]).T
            return cols[np.lexsort(cols.T[::-1])]

        np.testing.assert_allclose(neurons(s), neurons(g), rtol=1e-13)
        assert s.params[1]["b"][0] == g.params[1]["b"][0] == 0
        x = points(2)
        np.testing.assert_allclose(run(s, x), run(g, x), rtol=1e-12, atol=1e-13)
    assert SP.shallow_error_coefficient(2, "sigmoid", MU.best_bias("sigmoid")) == pytest.approx(
        MU.gate_error_coefficient("sigmoid", MU.best_bias("sigmoid")), rel=1e-12)


def test_leading_error_predicts_the_normalised_mse():
    n, lam = 4, 0.05
    x = np.random.default_rng(3).uniform(-1, 1, size=(20000, n))
    out = run(SP.shallow_product(n, lam), x)
    mse = np.mean((out - np.prod(x, axis=1)) ** 2) * 3.0**n
    b = SP.best_bias_order("sigmoid", n)
    assert mse == pytest.approx(SP.shallow_error_mse(n, "sigmoid", b, lam), rel=0.05)  # sampling + next order


def test_bias_with_a_zero_derivative_is_refused():
    with pytest.raises(ValueError, match=r"f\^\(2\)"):
        SP.shallow_product(2, 0.1, "sigmoid", bias=0.0)
    with pytest.raises(ValueError, match=r"f\^\(4\)"):
        SP.shallow_product(4, 0.1, "tanh", bias=0.0)  # even derivatives of an odd function
    # tanh''' = (1 - t^2)(6 t^2 - 2) vanishes at t = 1/sqrt(3), to rounding
    with pytest.raises(ValueError, match=r"f\^\(3\)"):
        SP.shallow_product(3, 0.1, "tanh", bias=float(np.arctanh(1 / np.sqrt(3))))


def _min_carries(v, memo={1: 0}):
    """The fewest carries of any strictly layered tree of 2-input gates reducing v values to one:
    a layer with p >= 1 gates and v - 2p carries passes on v - p values (p = 0 only adds carries)."""
    if v not in memo:
        memo[v] = min(v - 2 * p + _min_carries(v - p) for p in range(1, v // 2 + 1))
    return memo[v]


def test_tree_carries_are_the_fewest_of_any_pairing_schedule():
    assert [MU.tree_carries(n) for n in range(2, 13)] == [0, 1, 0, 2, 1, 1, 0, 3, 2, 2, 1]
    for n in range(2, 80):
        assert MU.tree_carries(n) == _min_carries(n)
        assert MU.tree_neurons(n) == 4 * (n - 1) + MU.tree_carries(n)
        v, c = n, 0
        while v > 1:
            c, v = c + v % 2, (v + 1) // 2
        assert MU.tree_carries(n) == c


@pytest.mark.parametrize("n", range(2, 13))
def test_carry_free_tree_of_two_and_three_input_blocks(n):
    net = SP.product_tree23(n, 0.01)
    assert net.neurons == SP.tree23_neurons(n) == 4 * (n - 1) <= MU.tree_neurons(n)
    assert len(net.sizes) - 2 == int(np.floor(np.log2(n)))
    assert all(sum(blocks) == v for blocks, v in zip(SP.tree23_layers(n), net.sizes[:1] + tuple(
        len(b) for b in SP.tree23_layers(n))))
    x = points(n, 300)
    errs = [np.abs(run(SP.product_tree23(n, lam), x) - np.prod(x, axis=1)).max() for lam in (0.04, 0.02)]
    assert errs[1] < 1e-3
    # O(lambda^2), as the gates (at smaller lambda, n = 7 and 11 meet rounding: two 3-input blocks in a
    # row divide by (lam^3 f''')^2)
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)


def test_block_sizes_cost_at_least_four_per_value_removed():
    """A k-input block costs 2^k neurons and removes k - 1 values: 4 per value for k = 2, 3 and more
    above, so no tree of blocks beats 4 (n - 1); the carry-free tree meets it."""
    assert all(2**k >= 4 * (k - 1) for k in range(2, 20))
    assert [k for k in range(2, 20) if 2**k == 4 * (k - 1)] == [2, 3]
    for n in range(2, 6):
        assert SP.block_net(n, [[n]], 0.1).neurons == 2**n
        assert SP.block_net(n, [[2] + [1] * (n - 2 - i) for i in range(n - 1)], 0.1).neurons == \
            4 * (n - 1) + (n - 2) * (n - 1) // 2  # one gate a layer, the rest carried
