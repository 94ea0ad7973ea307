"""Statistics of restarts: success probability, best-of-K, cost to the first success.

Restart outcomes are a boolean array ``solved`` (R,). With s = sum(solved):

- ``wilson_interval(s, R)``: the 95% Wilson score interval for p.
- ``best_of_k_geometric(p, ks)``: 1 - (1 - p)^K, the chance that at least one of
  K independent restarts solves.
- ``best_of_k_subsets(s, R, ks)``: the same chance for K restarts drawn without
  replacement from the R that were run, exactly: 1 - C(R - s, K) / C(R, K).
- ``first_success_positions(solved, draws, rng)``: how many restarts, taken in
  a random order, it took to reach the first success, resampled; its empirical
  CDF is the resampled best-of-K curve, and its mean tends to (R + 1) / (s + 1).
  Resampled from one pool of runs, that curve equals 1 - C(R - s, K) / C(R, K)
  (about 1 - (1 - p)^K) by construction: it cannot test independence.
- ``best_of_k_disjoint(solved, K)``: the measured best-of-K: the R restarts split
  into floor(R / K) disjoint groups of K, and how many groups hold a success (each
  group a trial of its own, so the Wilson interval applies to their fraction).
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson_interval(successes, trials, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (low, high) for a success probability; works on arrays.

    The interval is the set of p with |s/n - p| <= z sqrt(p (1 - p) / n). trials > 0.
    """
    s, n = np.asarray(successes, float), np.asarray(trials, float)
    phat = s / n
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2))
    # at s = 0 (s = n) the lower (upper) end is exactly 0 (1); rounding would miss it by ~1e-17
    low = np.where(s == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(s == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def best_of_k_geometric(p, ks) -> np.ndarray:
    """P(at least one of K independent restarts solves) = 1 - (1 - p)^K, for each K in ks."""
    return 1.0 - (1.0 - float(p)) ** np.asarray(ks, float)


def best_of_k_subsets(successes: int, trials: int, ks) -> np.ndarray:
    """P(at least one success among K of the ``trials`` restarts, drawn without replacement)
    = 1 - C(trials - successes, K) / C(trials, K), exactly (in log space), for each K <= trials."""
    ks = np.asarray(ks, int)
    if np.any(ks < 0) or np.any(ks > trials):
        raise ValueError(f"K must be in 0..{trials}")
    failures = trials - successes

    def log_choose(n, k):
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    none = [0.0 if k > failures else math.exp(log_choose(failures, k) - log_choose(trials, k)) for k in ks]
    return 1.0 - np.array(none)


def first_success_positions(solved, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws,) number of restarts taken, in a random order of the R that were run, up to
    and including the first success; R + 1 where none of the R succeeded."""
    solved = np.asarray(solved, bool)
    R = len(solved)
    if not solved.any():
        return np.full(draws, R + 1)
    # A random order is a random key per restart, sorted; the first success comes after
    # every failure whose key is below the smallest key of a success.
    keys = rng.random((draws, R))
    first_key = keys[:, solved].min(axis=1)
    return 1 + np.sum(keys[:, ~solved] < first_key[:, None], axis=1)


def best_of_k_resampled(solved, ks, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Empirical P(at least one of K restarts solves): the fraction of ``draws`` random
    orders of the restarts whose first success comes within the first K. ks <= R."""
    positions = first_success_positions(solved, draws, rng)
    return np.mean(positions[None, :] <= np.asarray(ks)[:, None], axis=1)


def best_of_k_disjoint(solved, k: int) -> tuple[int, int]:
    """(groups, groups with at least one success): restarts [0, K), [K, 2K), ... of
    ``solved`` (R,), floor(R / K) disjoint groups; the last R mod K restarts are left out.
    1 <= K <= R."""
    solved = np.asarray(solved, bool)
    k = int(k)
    if not 1 <= k <= len(solved):
        raise ValueError(f"K={k}: must be in 1..{len(solved)}")
    groups = len(solved) // k
    return groups, int(solved[: groups * k].reshape(groups, k).any(axis=1).sum())


def restarts_for_confidence(p, confidence: float = 0.99) -> float:
    """Smallest K with 1 - (1 - p)^K >= confidence (inf for p = 0, 1 for p = 1)."""
    p = float(p)
    if p <= 0:
        return math.inf
    if p >= 1:
        return 1.0
    return float(math.ceil(math.log1p(-confidence) / math.log1p(-p) - 1e-12))


def expected_steps_to_success(p, steps: int, mean_solve_step=None) -> float:
    """Expected SGD steps until the first solved restart, restarts run one after another.

    Each failed restart costs ``steps``; the number of failures before the first success
    is geometric with mean (1 - p) / p. The successful restart costs ``steps`` too, or
    ``mean_solve_step`` if training stops as soon as a restart is solved.
    Returns steps / p by default; inf for p = 0.
    """
    p = float(p)
    if p <= 0:
        return math.inf
    last = steps if mean_solve_step is None else float(mean_solve_step)
    return (1 - p) / p * steps + last
