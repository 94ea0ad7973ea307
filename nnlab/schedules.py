"""Step-size schedules: the factor multiplying the base step size at step t.

The article's SGD uses a step size that "usually decreases over the course of
the algorithm"; ``inverse_time`` and ``inverse_sqrt`` are the two classic ways.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

SCHEDULES = {
    "constant": lambda t, t0: jnp.ones_like(t),
    "inverse_time": lambda t, t0: 1 / (1 + t / t0),
    "inverse_sqrt": lambda t, t0: 1 / jnp.sqrt(1 + t / t0),
}


def step_size(schedule: str, lr: Array, t: Array, t0: Array) -> Array:
    """lr x factor(t): constant 1, inverse_time 1/(1 + t/t0), inverse_sqrt 1/sqrt(1 + t/t0)."""
    try:
        factor = SCHEDULES[schedule]
    except KeyError:
        raise ValueError(
            f"schedule {schedule!r} is unknown; allowed: {', '.join(SCHEDULES)}"
        ) from None
    return lr * factor(t, t0)
