"""Random orders of the examples, one per restart: ``jax.random.permutation``, faster.

``jax.random.permutation(key, n)`` draws 32 random bits per element and sorts
the elements by them (a stable two-operand sort; one round for n <= 1625). On
CPU that sort is several times slower than sorting the bits alone, and for
per-example SGD it is most of the training time. ``permutations`` returns the
same orders, bit for bit: it sorts the bits alone, finds each element's rank by
binary search, and falls back to the stable two-operand sort when two bits of a
row are equal (where ranks by value alone would be ambiguous).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def _rounds(n: int) -> int:
    """Sorting rounds ``jax.random.permutation`` uses for n elements."""
    return int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))


def argsort_rows(bits: Array) -> Array:
    """Stable argsort of each row of ``bits`` (R, n) uint32 -> (R, n) int32."""
    R, n = bits.shape
    order = jnp.sort(bits, axis=1)
    rank = jax.vmap(lambda row, b: jnp.searchsorted(row, b, side="left", method="scan_unrolled"))(order, bits)
    index = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (R, n))
    by_rank = jnp.zeros((R, n), jnp.int32).at[jnp.arange(R)[:, None], rank].set(index)
    stable = lambda: jax.lax.sort_key_val(bits, index, dimension=1)[1]
    return jax.lax.cond(jnp.any(order[:, 1:] == order[:, :-1]), stable, lambda: by_rank)


def permutations(keys: Array, n: int) -> Array:
    """``jax.random.permutation(k, n)`` for each of the R keys -> (R, n) int32."""
    if _rounds(n) != 1:
        return jax.vmap(lambda k: jax.random.permutation(k, n))(keys).astype(jnp.int32)
    bits = jax.vmap(lambda k: jax.random.bits(jax.random.split(k)[1], (n,), jnp.uint32))(keys)
    return argsort_rows(bits)
