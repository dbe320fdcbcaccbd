"""GA variation for Algorithm 1 (Rawal et al. 2020, Sec. 4.2 and App. A.3.3): each motif is a
fixed-size string of numbers; every position mutates with probability 0.05 and two random
parents are crossed over at one random point with probability 0.3.

- Categorical spaces (NB201, NAS-Bench-Macro): the string is the genotype; a mutated position
  takes another option.
- Recorded cells (NAS-Bench-NLP): only recorded cells can be evaluated, so the string is the
  cell's feature vector (op counts, nodes, hidden states); a mutated position takes that
  position's value from a random recorded cell, and each child becomes the recorded cell
  nearest to it (standardized features) among those not yet evaluated.
- Other spaces (NB101 graphs, slopes): the space's own crossover (with probability 0.3) and
  mutation (with probability 1 - 0.95^dims, the chance that some position would change).
"""

from __future__ import annotations

import numpy as np

from spdbench.spaces.base import SearchSpace
from spdbench.spaces.categorical import CategoricalSpace
from spdbench.spaces.recorded import RecordedCellSpace


def _one_point(a: np.ndarray, b: np.ndarray, cross: np.ndarray, rng: np.random.Generator):
    """Children: `a`, with the tail from `b` after a random cut where `cross` is set."""
    d = a.shape[1]
    cut = rng.integers(1, d, size=len(a)) if d > 1 else np.ones(len(a), dtype=np.int64)
    tail = (np.arange(d)[None, :] >= cut[:, None]) & cross[:, None]
    return np.where(tail, b, a)


def ga_children(
    space: SearchSpace,
    parents: np.ndarray,
    m: int,
    rng: np.random.Generator,
    *,
    mutation_rate: float = 0.05,
    crossover_rate: float = 0.3,
    pool: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """`m` children of the elite `parents` (rows); for recorded-cell spaces, recorded cells
    from `pool` whose keys are not in `exclude`."""
    a = parents[rng.integers(0, len(parents), size=m)]
    b = parents[rng.integers(0, len(parents), size=m)]
    cross = rng.random(m) < crossover_rate
    if isinstance(space, CategoricalSpace):
        child = _one_point(a, b, cross, rng)
        flip = rng.random(child.shape) < mutation_rate
        shift = rng.integers(1, space.choices, size=child.shape)
        return np.where(flip, (child + shift) % space.choices, child)
    if isinstance(space, RecordedCellSpace) and pool is not None:
        return _recorded_children(space, a, b, cross, rng, mutation_rate, pool, exclude)
    child = a.copy()
    if cross.any():
        child[cross] = space.crossover(a[cross], b[cross], rng)
    mutate = rng.random(m) < 1.0 - (1.0 - mutation_rate) ** space.dims
    if mutate.any():
        child[mutate] = space.mutate(child[mutate], rng)
    return child


def _recorded_children(
    space: RecordedCellSpace,
    a: np.ndarray,
    b: np.ndarray,
    cross: np.ndarray,
    rng: np.random.Generator,
    rate: float,
    pool: np.ndarray,
    exclude: np.ndarray | None,
) -> np.ndarray:
    fa, fb = space.encode(a), space.encode(b)
    child = _one_point(fa, fb, cross, rng)
    donors = space.encode(pool)[rng.integers(0, len(pool), size=child.shape[0])]
    child = np.where(rng.random(child.shape) < rate, donors, child)
    # nearest recorded cell not yet evaluated, in standardized features
    feats = space.encode(pool)
    mu, sd = feats.mean(0), feats.std(0) + 1e-12
    dist = ((((child - mu) / sd)[:, None, :] - ((feats - mu) / sd)[None, :, :]) ** 2).sum(-1)
    if exclude is not None and len(exclude):
        dist[:, np.isin(space.keys(pool), exclude)] = np.inf
    dist += 1e-9 * rng.random(dist.shape)  # ties at random
    nearest = np.argmin(dist, axis=1)
    ok = np.isfinite(dist[np.arange(len(child)), nearest])
    return pool[nearest[ok]]
