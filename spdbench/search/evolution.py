"""Regularized evolution (Real et al. 2019, Algorithm 1; aging evolution): a population of P
architectures; each child mutates the best of S sampled members; the oldest member dies.

Asynchronous as in the paper: a free worker gets a child of the current population at once.
Tournament members are drawn with replacement, as in Real et al.'s Algorithm 1. Defaults
P = 10, S = 3 follow the NAS-Bench-201 / NATS-Bench search scripts (Dong & Yang 2020;
AutoDL-Projects scripts-search/NAS-Bench-201-algos/R-EA.sh: --ea_population 10
--ea_sample_size 3 --time_budget 12000)."""

from __future__ import annotations

import numpy as np

from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion, check_positive
from spdbench.search.random_search import draw_unseen


class RegularizedEvolution(Searcher):
    """Aging evolution: tournament of `sample_size` from a `population`, oldest removed."""

    name = "regularized-evolution"
    description = "regularized (aging) evolution, Real et al. 2019"

    def __init__(self, population: int = 10, sample_size: int = 3, seed: int = 0) -> None:
        self.population = population
        self.sample_size = sample_size
        self.seed = seed

    def _setup(self, context: SearchContext) -> None:
        check_positive(self.name, population=self.population, sample_size=self.sample_size)
        self.asked_ = 0
        self.pop_g_ = np.empty((0, context.space.dims), dtype=context.space.dtype)
        self.pop_s_ = np.empty(0)
        # the initial population: P distinct random architectures
        self.init_ = draw_unseen(context, self.population, set(), self.rng_)

    def ask(self, n: int) -> Suggestion:
        k0 = min(n, max(0, len(self.init_) - self.asked_))
        first = self.init_[self.asked_ : self.asked_ + k0]
        self.asked_ += k0
        m = n - k0 if len(self.pop_s_) else 0  # children need a member that has finished
        if m == 0:
            return self._suggest(first)
        size = len(self.pop_s_)
        members = self.rng_.integers(0, size, size=(m, self.sample_size))  # best of S wins
        parent = members[np.arange(m), np.argmax(self.pop_s_[members], axis=1)]
        children = self.context_.mutate(self.pop_g_[parent])
        return self._suggest(np.concatenate([first, children]))

    def tell(self, observation: Observation) -> None:
        P = self.population
        self.pop_g_ = np.concatenate([self.pop_g_, observation.archs])[-P:]
        self.pop_s_ = np.concatenate([self.pop_s_, observation.scores])[-P:]
