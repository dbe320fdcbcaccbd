"""The Searcher contract: ask / tell, driven by the simulation backend.

- `__init__` only stores hyperparameters (keyword arguments with defaults, one of them `seed`).
- `setup(context)` is called once before the first `ask`: the search space, the recorded
  fidelities, the fidelity to search at, the architectures the benchmark answers for (finite
  spaces) and a seeded generator. A searcher never reads ground truth itself.
- `ask(n)` returns a `Suggestion` of at most n trials (rows of genotypes, an epoch each, and
  optionally the id of an earlier trial to continue, paying only the extra epochs); it may
  return none while it waits for results (synchronous methods).
- `tell(observation)` receives finished trials in the order they finish, with their search
  scores (higher is better) and the trial ids the backend assigned.

A searcher that outside packages register under the `spdbench.searchers` entry point runs in
`spdbench search` as the built-ins do; `spdbench.search.check_searcher` checks the contract.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.params import Parameterized
from spdbench.simulation.backend import Observation, Suggestion
from spdbench.spaces.base import SearchSpace
from spdbench.spaces.categorical import CategoricalSpace

__all__ = ["Observation", "SearchContext", "Searcher", "Suggestion"]


@dataclass
class SearchContext:
    """What a searcher may know: the space, fidelities and a seeded generator."""

    space: SearchSpace
    fidelities: np.ndarray  # recorded epochs, increasing
    fidelity: int  # the epoch the search metric is read at (the top fidelity to train to)
    rng: np.random.Generator
    pool: np.ndarray | None = None  # the architectures the benchmark answers for (finite)
    # Handed only to predictors that declare "oracle" (replayed zero-cost proxies read their
    # recorded scores and charge the recorded compute time); searchers never query it.
    oracle: Any = None
    metric: str | None = None
    _pool_keys: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        subset = self.pool is not None and len(self.pool) != self.space.size
        self._pool_keys = np.sort(self.space.keys(self.pool)) if subset else None

    def recorded(self, g: np.ndarray) -> np.ndarray:
        """Which rows the benchmark answers for (all of them unless it records a subset)."""
        if self._pool_keys is None:
            return np.ones(len(g), dtype=bool)
        return np.isin(self.space.keys(g), self._pool_keys)

    def mutate(self, g: np.ndarray, tries: int = 10) -> np.ndarray:
        """`space.mutate`, redrawn where a child is not recorded (a benchmark that records a
        subset of its space); a child still outside after `tries` is a random recorded one."""
        child = self.space.mutate(g, self.rng)
        bad = ~self.recorded(child)
        for _ in range(tries):
            if not bad.any():
                return child
            child[bad] = self.space.mutate(g[bad], self.rng)
            bad = ~self.recorded(child)
        if bad.any():
            child[bad] = self.pool[self.rng.integers(0, len(self.pool), size=int(bad.sum()))]
        return child

    @property
    def multi_fidelities(self) -> np.ndarray:
        """The recorded epochs up to the search fidelity (the rungs multi-fidelity methods use)."""
        return self.fidelities[self.fidelities <= self.fidelity]


class Searcher(Parameterized, ABC):
    """Base class of search strategies (ask / tell)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    multi_fidelity: ClassVar[bool] = False  # trains trials to several fidelities
    # False for searchers whose suggestions do not depend on results (random search): the
    # backend then asks ahead in large chunks and tells them nothing.
    adaptive: ClassVar[bool] = True

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    @classmethod
    def check_benchmark(cls, oracle: Any, params: dict[str, Any]) -> None:
        """Raise ConfigError when the searcher cannot run on `oracle` with `params` (called
        once when a search is planned)."""
        return

    @classmethod
    def requires_arch_info(cls, params: dict[str, Any]) -> tuple[str, ...]:
        """Per-architecture facts (oracle `arch_info`) the searcher needs with `params`; on a
        benchmark that records them for only some architectures, it searches among those."""
        return ()

    # ---- the contract ---------------------------------------------------------------------------
    def setup(self, context: SearchContext) -> None:
        """Called once before the first ask."""
        self.context_ = context
        self.rng_ = context.rng
        self._overhead = 0.0
        self._setup(context)

    def _setup(self, context: SearchContext) -> None:
        """Hook for subclasses."""

    @abstractmethod
    def ask(self, n: int) -> Suggestion:
        """Up to `n` trials to start now (possibly none)."""

    @abstractmethod
    def tell(self, observation: Observation) -> None:
        """Results of finished trials."""

    def take_overhead(self) -> float:
        """Simulated seconds the searcher spent since the last call (e.g. a predictor's
        recorded proxy compute time); the backend delays the suggested trials by it."""
        spent, self._overhead = getattr(self, "_overhead", 0.0), 0.0
        return spent

    # ---- helpers for subclasses -------------------------------------------------------------
    def _suggest(self, archs: np.ndarray, fidelity: int | None = None) -> Suggestion:
        f = self.context_.fidelity if fidelity is None else fidelity
        return Suggestion(archs=archs, fidelity=np.full(len(archs), f, dtype=np.int64))

    def _none(self) -> Suggestion:
        space = self.context_.space
        return Suggestion(np.empty((0, space.dims), dtype=space.dtype), np.empty(0, np.int64))


def check_positive(name: str, **values: float) -> None:
    """InvalidInputError naming the first hyperparameter that is not positive."""
    for key, value in values.items():
        if not value > 0:
            raise InvalidInputError(f"{name} needs {key} > 0, got {value!r}")


def neighbours(space: SearchSpace, g: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    """The neighbourhood of one architecture `g` (1, dims): every one-position change on a
    categorical space (White et al. 2021: edit distance 1), else `k` random mutations, distinct."""
    if isinstance(space, CategoricalSpace):
        d, c = space.dims, space.choices
        pos = np.repeat(np.arange(d), c - 1)
        shift = np.tile(np.arange(1, c), d)
        out = np.repeat(g, len(pos), axis=0)
        out[np.arange(len(pos)), pos] = (out[np.arange(len(pos)), pos] + shift) % c
        return out
    out = space.mutate(np.repeat(g, k, axis=0), rng)
    _, first = np.unique(space.keys(out), return_index=True)
    keep = out[np.sort(first)]
    return keep[space.keys(keep) != space.keys(g)[0]]
