"""Random search (Li & Talwalkar 2019's baseline): architectures drawn uniformly, without
replacement on finite spaces (a permutation of the benchmark's architectures)."""

from __future__ import annotations

import numpy as np

from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion


class RandomSearch(Searcher):
    """Uniform draws; on a finite space each architecture at most once."""

    name = "random"
    description = "random search, without replacement on finite spaces"
    adaptive = False  # suggestions do not depend on results: the backend may ask ahead

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _setup(self, context: SearchContext) -> None:
        self.next_ = 0
        self.order_ = None if context.pool is None else context.rng.permutation(len(context.pool))

    def ask(self, n: int) -> Suggestion:
        ctx = self.context_
        if self.order_ is None:
            return self._suggest(ctx.space.sample(n, self.rng_))
        take = self.order_[self.next_ : self.next_ + n]
        self.next_ += len(take)
        return self._suggest(ctx.pool[take])

    def tell(self, observation: Observation) -> None:
        pass  # non-adaptive


def draw_unseen(
    context: SearchContext, n: int, seen: set[int], rng: np.random.Generator
) -> np.ndarray:
    """Up to `n` distinct architectures not in `seen` (keys); fewer when the pool runs out."""
    space = context.space
    if context.pool is None:
        return space.sample(n, rng, unique=False)
    pool = context.pool
    order = rng.permutation(len(pool))[: n + len(seen)]
    cand = pool[order]
    if seen:
        keep = ~np.isin(space.keys(cand), np.fromiter(seen, dtype=np.int64, count=len(seen)))
        cand = cand[keep]
    return cand[:n]
