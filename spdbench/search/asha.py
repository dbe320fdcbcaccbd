"""Multi-fidelity search over the recorded epochs: asynchronous successive halving (ASHA, Li et
al. 2020, "A System for Massively Parallel Hyperparameter Tuning", Algorithm 2) and
synchronous Hyperband brackets (Li et al. 2018).

Rungs are recorded epochs: r, then the first recorded epoch >= eta times the previous, and the
search fidelity as the top rung (NB201: 12 and 200; NAS-Bench-NLP: 1, 4, 16, 50 for eta = 4).
A promoted trial continues its run and pays only the extra epochs (the backend charges the
difference of recorded training time)."""

from __future__ import annotations

import math

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion
from spdbench.search.random_search import draw_unseen


def rungs(epochs: np.ndarray, top: int, eta: int, min_epochs: int | None = None) -> list[int]:
    """Recorded epochs r, r*eta, r*eta^2, ... (each the first recorded one at or above), ending
    with `top`."""
    if eta < 2:
        raise InvalidInputError(f"eta must be at least 2, got {eta}")
    epochs = np.asarray(epochs)
    epochs = epochs[epochs <= top]
    r = int(epochs[0]) if min_epochs is None else int(min_epochs)
    out = []
    while True:
        hit = epochs[epochs >= r]
        if hit.size == 0 or hit[0] >= top:
            break
        out.append(int(hit[0]))
        r = int(hit[0]) * eta
    return [*out, int(top)]


class ASHASearch(Searcher):
    """Asynchronous successive halving: promote as soon as a rung allows, else start a new
    random trial at the lowest rung."""

    name = "asha"
    description = "asynchronous successive halving over recorded epochs, Li et al. 2020"
    multi_fidelity = True

    def __init__(self, eta: int = 4, min_epochs: int | None = None, seed: int = 0) -> None:
        self.eta = eta  # Li & Talwalkar 2019, Sec. 4: eta = 4
        self.min_epochs = min_epochs
        self.seed = seed

    def _setup(self, context: SearchContext) -> None:
        self.rungs_ = rungs(context.fidelities, context.fidelity, self.eta, self.min_epochs)
        k = len(self.rungs_)
        # per rung: trial ids, scores, archs of finished jobs; promoted trials
        self.trials_: list[list[int]] = [[] for _ in range(k)]
        self.scores_: list[list[float]] = [[] for _ in range(k)]
        self.archs_: dict[int, np.ndarray] = {}
        self.promoted_: list[set[int]] = [set() for _ in range(k)]
        self.seen_: set[int] = set()

    def _promotable(self, k: int) -> int | None:
        """A trial in the top 1/eta of rung k not yet promoted (the best such), or None."""
        n = len(self.trials_[k]) // self.eta
        if n == 0:
            return None
        order = np.argsort(-np.asarray(self.scores_[k]), kind="stable")[:n]
        for i in order.tolist():
            t = self.trials_[k][i]
            if t not in self.promoted_[k]:
                return t
        return None

    def ask(self, n: int) -> Suggestion:
        archs, fids, trials = [], [], []
        for _ in range(n):
            for k in range(len(self.rungs_) - 2, -1, -1):  # the highest rung first
                t = self._promotable(k)
                if t is not None:
                    self.promoted_[k].add(t)
                    archs.append(self.archs_[t])
                    fids.append(self.rungs_[k + 1])
                    trials.append(t)
                    break
            else:
                new = draw_unseen(self.context_, 1, self.seen_, self.rng_)
                if not len(new):
                    break
                self.seen_.add(int(self.context_.space.keys(new)[0]))
                archs.append(new)
                fids.append(self.rungs_[0])
                trials.append(-1)
        if not archs:
            return self._none()
        return Suggestion(np.concatenate(archs), np.array(fids), np.array(trials))

    def tell(self, observation: Observation) -> None:
        for i, t in enumerate(observation.trial.tolist()):
            k = self.rungs_.index(int(observation.fidelity[i]))
            self.trials_[k].append(t)
            self.scores_[k].append(float(observation.scores[i]))
            self.archs_[t] = observation.archs[i : i + 1]


class HyperbandSearch(Searcher):
    """Synchronous Hyperband: brackets of successive halving, each rung waits for all its
    trials before the top 1/eta go on."""

    name = "hyperband"
    description = "synchronous Hyperband brackets over recorded epochs, Li et al. 2018"
    multi_fidelity = True

    def __init__(self, eta: int = 4, min_epochs: int | None = None, seed: int = 0) -> None:
        self.eta = eta
        self.min_epochs = min_epochs
        self.seed = seed

    def _setup(self, context: SearchContext) -> None:
        self.rungs_ = rungs(context.fidelities, context.fidelity, self.eta, self.min_epochs)
        self.s_max_ = len(self.rungs_) - 1
        self.bracket_ = self.s_max_ + 1  # the next call starts bracket s_max
        self.seen_: set[int] = set()
        self._start_bracket()

    def _start_bracket(self) -> None:
        self.bracket_ = self.bracket_ - 1 if self.bracket_ > 0 else self.s_max_
        s = self.bracket_
        n = math.ceil((self.s_max_ + 1) / (s + 1) * self.eta**s)
        self.level_ = self.s_max_ - s  # rung index this bracket starts at
        self.queue_ = draw_unseen(self.context_, n, self.seen_, self.rng_)
        self.seen_ |= set(self.context_.space.keys(self.queue_).tolist())
        self.queue_trials_ = np.full(len(self.queue_), -1)
        self.waiting_ = 0
        self.results_: list[tuple[int, np.ndarray, float]] = []

    def ask(self, n: int) -> Suggestion:
        if not len(self.queue_) and not self.waiting_:
            return self._none()  # the pool is used up
        take = min(n, len(self.queue_))
        archs, trials = self.queue_[:take], self.queue_trials_[:take]
        self.queue_, self.queue_trials_ = self.queue_[take:], self.queue_trials_[take:]
        self.waiting_ += take
        return Suggestion(archs, np.full(take, self.rungs_[self.level_]), trials)

    def tell(self, observation: Observation) -> None:
        for i, t in enumerate(observation.trial.tolist()):
            self.results_.append((t, observation.archs[i : i + 1], float(observation.scores[i])))
        self.waiting_ -= len(observation.trial)
        if self.waiting_ or len(self.queue_):
            return
        # the rung is complete: promote the top 1/eta, or start the next bracket
        if self.level_ + 1 >= len(self.rungs_):
            self._start_bracket()
            return
        keep = max(1, len(self.results_) // self.eta)
        order = np.argsort(-np.array([r[2] for r in self.results_]), kind="stable")[:keep]
        chosen = [self.results_[i] for i in order.tolist()]
        self.level_ += 1
        self.queue_ = np.concatenate([c[1] for c in chosen])
        self.queue_trials_ = np.array([c[0] for c in chosen])
        self.results_ = []
