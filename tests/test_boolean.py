"""Truth tables, families and the textbook construction, checked on every input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlab import boolean as B
from nnlab import forward


def test_input_convention_bit_j_of_index_i():
    x = B.inputs(3)
    assert x.shape == (8, 3)
    assert x[6].tolist() == [0, 1, 1]  # 6 = 0b110: x_0 = 0, x_1 = 1, x_2 = 1
    for i in range(8):
        assert sum(int(b) << j for j, b in enumerate(x[i])) == i


@given(st.integers(1, 7), st.data())
def test_bits_and_from_bits_round_trip(n, data):
    f = data.draw(st.integers(0, 2 ** (2**n) - 1))
    values = B.bits(f, n)
    assert values.shape == (2**n,) and set(np.unique(values)) <= {0, 1}
    assert all(values[i] == (f >> i) & 1 for i in range(2**n))
    assert B.from_bits(values) == f


def test_named_functions_match_their_definitions():
    assert B.parity(2) == 0b0110  # XOR
    assert B.majority(3) == 0b11101000  # true at 3, 5, 6, 7
    assert B.to_hex(B.parity(4), 4) == "0x6996"
    for n in range(1, 7):
        weight = B.inputs(n).sum(axis=1)
        np.testing.assert_array_equal(B.bits(B.parity(n), n), weight % 2)
        np.testing.assert_array_equal(B.bits(B.majority(n), n), 2 * weight > n)


def test_families_and_random_draws():
    rng = np.random.default_rng(3)
    drawn = B.random_functions(3, 50, rng)
    assert len(set(drawn)) == 50 and all(0 <= f < 256 for f in drawn)
    assert B.random_functions(3, 50, np.random.default_rng(3)) == drawn
    assert sorted(B.random_functions(2, 16, rng)) == list(range(16))  # all of them, no repeats
    big = B.random_functions(10, 3, rng)
    assert len(set(big)) == 3 and all(0 <= f < 2**1024 for f in big)
    assert B.family("all", 2) == list(range(16))
    assert B.family("parity", 5) == [B.parity(5)]
    with pytest.raises(ValueError, match="distinct"):
        B.random_functions(2, 17, rng)
    with pytest.raises(ValueError, match="allowed"):
        B.family("xor", 2)


def _padded(params, width):
    """Construction params padded with idle units to a fixed width (one compiled program)."""
    (W1, b1), (W2, b2) = ((np.asarray(p["W"]), np.asarray(p["b"])) for p in params)
    pad = width - W1.shape[1]
    return [{"W": np.pad(W1, ((0, 0), (0, pad))), "b": np.pad(b1, (0, pad), constant_values=-1)},
            {"W": np.pad(W2, ((0, pad), (0, 0))), "b": b2}]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_construction_is_exact_for_every_function(n):
    fs = list(range(2 ** (2**n)))
    nets = [B.construction(f, n) for f in fs]
    assert [p[0]["W"].shape[1] for p in nets] == [bin(f).count("1") for f in fs]  # one unit per true input
    stacked = jax.tree.map(lambda *a: np.stack(a), *[_padded(p, 2**n) for p in nets])
    x = jnp.asarray(B.inputs(n), jnp.float32)
    out = jax.jit(jax.vmap(lambda p: forward(p, x, hidden="step", output="step")[:, 0]))(stacked)
    assert [B.from_bits(o > 0.5) for o in np.asarray(out)] == fs


def test_universal_architecture_computes_each_function_by_its_output_weights():
    n = 3
    universal = [B.construction(f, n, universal=True) for f in (0, B.parity(3), 255)]
    for f, params in zip((0, B.parity(3), 255), universal):
        assert params[0]["W"].shape == (n, 2**n)
        np.testing.assert_array_equal(params[0]["W"], universal[0][0]["W"])  # same hidden layer
        assert B.evaluate(params, n) == f


def test_construction_up_to_twelve_bits():
    n = 12
    f = B.parity(n)
    params = B.construction(f, n)
    assert params[0]["W"].shape == (n, 2 ** (n - 1))
    assert B.evaluate(params, n) == f
    g = B.random_functions(n, 1, np.random.default_rng(0))[0]
    assert B.evaluate(B.construction(g, n), n) == g


@pytest.mark.parametrize("n", range(1, 13))
def test_parity_with_input_to_output_edges_needs_at_most_half_the_units(n):
    """[sum x - 2 sum_{j <= n/2} [sum x >= 2j] >= 1/2]: floor(n/2) threshold units and the inputs."""
    x = B.inputs(n).astype(np.int64)
    s = x.sum(axis=1)
    hidden = np.stack([(x @ np.ones(n, np.int64) - 2 * j >= 0) for j in range(1, n // 2 + 1)], axis=1) \
        if n >= 2 else np.zeros((2**n, 0), bool)
    out = (s - 2 * hidden.sum(axis=1) - 0.5 >= 0)
    assert B.from_bits(out) == B.parity(n)
