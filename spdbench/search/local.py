"""Local search (White et al. 2021, "Exploring the loss landscape in NAS", Algorithm 1):
from a random architecture, evaluate its whole neighbourhood (architectures at edit distance
one), move to the best neighbour if it improves on the current one, else restart at a random
architecture not yet evaluated (best improvement, random restarts). Architectures already
evaluated are not trained again: their known score counts."""

from __future__ import annotations

import numpy as np

from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion, neighbours
from spdbench.search.random_search import draw_unseen


class LocalSearch(Searcher):
    """Best-improvement hill climbing over the neighbourhood, with random restarts."""

    name = "local-search"
    description = "local search with random restarts, White et al. 2021"

    def __init__(self, neighbourhood: int = 20, seed: int = 0) -> None:
        self.neighbourhood = neighbourhood  # random neighbours on non-categorical spaces
        self.seed = seed

    def _setup(self, context: SearchContext) -> None:
        self.known_: dict[int, float] = {}
        self.center_: tuple[np.ndarray, float] | None = None
        self.start_key_: int | None = None  # a restart that has not finished yet
        self.queue_ = np.empty((0, context.space.dims), dtype=context.space.dtype)
        self.pending_: set[int] = set()
        self.best_nb_: tuple[np.ndarray, float] | None = None

    def _key(self, g: np.ndarray) -> np.ndarray:
        return self.context_.space.keys(g)

    def ask(self, n: int) -> Suggestion:
        if self.center_ is None:
            if self.start_key_ is not None:
                return self._none()
            start = draw_unseen(self.context_, 1, set(self.known_), self.rng_)
            if not len(start):
                return self._none()  # every architecture evaluated
            self.start_key_ = int(self._key(start)[0])
            return self._suggest(start)
        take, self.queue_ = self.queue_[:n], self.queue_[n:]
        self.pending_ |= set(self._key(take).tolist())
        return self._suggest(take)

    def tell(self, observation: Observation) -> None:
        keys = self._key(observation.archs).tolist()
        for i, key in enumerate(keys):
            score = float(observation.scores[i])
            self.known_[key] = score
            g = observation.archs[i : i + 1]
            if key == self.start_key_:
                self.start_key_ = None
                self._move_to(g, score)
            elif key in self.pending_:
                self.pending_.discard(key)
                if self.best_nb_ is None or score > self.best_nb_[1]:
                    self.best_nb_ = (g, score)
        self._decide()

    def _move_to(self, g: np.ndarray, score: float) -> None:
        """Make `g` the centre: queue its neighbours not yet evaluated; known ones compete."""
        self.center_ = (g, score)
        nb = neighbours(self.context_.space, g, self.rng_, self.neighbourhood)
        nb = nb[self.context_.recorded(nb)]
        nb = nb[self.rng_.permutation(len(nb))]
        keys = self._key(nb)
        known = np.array([k in self.known_ for k in keys.tolist()], dtype=bool)
        self.best_nb_ = None
        if known.any():
            scores = np.array([self.known_[k] for k in keys[known].tolist()])
            j = int(np.argmax(scores))
            self.best_nb_ = (nb[known][j : j + 1], float(scores[j]))
        self.queue_ = nb[~known]
        self.pending_ = set()

    def _decide(self) -> None:
        """Once the whole neighbourhood is known: move to the best neighbour or restart."""
        while self.center_ is not None and not len(self.queue_) and not self.pending_:
            best = self.best_nb_
            if best is not None and best[1] > self.center_[1]:
                self._move_to(*best)
            else:
                self.center_ = None  # a local optimum: restart at random
