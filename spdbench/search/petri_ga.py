"""Algorithm 1 of Rawal et al. 2020 (Synthetic Petri Dish): a predictor-guided GA.

Warm start: `warm_start` (40) random architectures are evaluated. Then each iteration
(Sec. 4.2, App. A.3.3): the predictor is fit on everything evaluated so far; an elitist GA
over the top `parents` (20) evaluated generates `candidates` (M = 100) new architectures
(per-position mutation 0.05, one-point crossover 0.3, see `variation`); the predictor ranks
them and only the top `top_k` (K = 20) are evaluated. Iterations are synchronous, as in the
paper: the next batch is generated once the whole previous one is evaluated.

Any registered predictor works (`predictor="petri-dish"`, "nn-surrogate", "knn", "zc-nwot",
...); with "random" it is the plain GA control. The predictor's wall time is measured (the
backend charges it when asked to); a replayed proxy's recorded compute time is charged always.
A replayed proxy has scores only where the benchmark recorded them (NB201: 724 of 15,625 cells),
so with one petri-ga searches among those cells (its regret is still against the best cell of
the whole table).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.predictors.base import Context, Predictor, resolve
from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion, check_positive
from spdbench.search.random_search import draw_unseen
from spdbench.search.variation import ga_children
from spdbench.simulation.charged import ChargedOracle

MAX_ROUNDS = 20  # rounds of children generated to find M new distinct architectures


def predictor_class(name: str) -> type[Predictor]:
    """The predictor a listed name (`knn`, `sklearn:<dotted.path>`) runs, checked to learn
    from (arch, score) pairs."""
    cls, _ = resolve(name)
    if "curves" in cls.needs:
        raise ConfigError(
            f"predictor {name!r} needs learning curves, which petri-ga does not record"
        )
    return cls


class PetriGA(Searcher):
    """Algorithm 1: warm start, then predictor-filtered elitist GA batches."""

    name = "petri-ga"
    description = "Algorithm 1 of Rawal et al. 2020: a GA whose children a predictor filters"

    def __init__(
        self,
        predictor: str = "petri-dish",
        warm_start: int = 40,
        candidates: int = 100,
        top_k: int = 20,
        parents: int = 20,
        mutation_rate: float = 0.05,
        crossover_rate: float = 0.3,
        predictor_params: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.predictor = predictor
        self.warm_start = warm_start
        self.candidates = candidates
        self.top_k = top_k
        self.parents = parents
        self.mutation_rate = mutation_rate
        self.crossover_rate = crossover_rate
        self.predictor_params = predictor_params
        self.seed = seed

    @classmethod
    def check_benchmark(cls, oracle: Any, params: dict[str, Any]) -> None:
        name = params.get("predictor", "petri-dish")
        pred = predictor_class(name)
        pred.check_benchmark(oracle)
        pred(**resolve(name, params.get("predictor_params"))[1]).check_settings(oracle)
        missing = [n for n in pred.requires_arch_info if n not in oracle.arch_info_names]
        if missing:
            raise ConfigError(
                f"predictor {pred.name!r} replays {', '.join(missing)}, which benchmark "
                f"{oracle.name!r} does not record"
            )

    @classmethod
    def requires_arch_info(cls, params: dict[str, Any]) -> tuple[str, ...]:
        # a replayed zero-cost proxy ranks only the cells it has a recorded score for
        return tuple(predictor_class(params.get("predictor", "petri-dish")).requires_arch_info)

    def _setup(self, context: SearchContext) -> None:
        check_positive(
            self.name,
            warm_start=self.warm_start,
            candidates=self.candidates,
            top_k=self.top_k,
            parents=self.parents,
        )
        if self.top_k > self.candidates:
            raise InvalidInputError("petri-ga needs top_k <= candidates (K << M)")
        self.cls_ = predictor_class(self.predictor)
        self.predictor_kwargs_ = resolve(self.predictor, self.predictor_params)[1]
        self.queue_ = draw_unseen(context, self.warm_start, set(), self.rng_)
        self.pending_ = 0
        self.iteration_ = 0
        self.x_ = np.empty((0, context.space.dims), dtype=context.space.dtype)
        self.y_ = np.empty(0)
        self.predictor_s_ = 0.0  # measured fit + predict seconds

    def ask(self, n: int) -> Suggestion:
        if not len(self.queue_) and not self.pending_:
            self.queue_ = self._next_batch()
        take, self.queue_ = self.queue_[:n], self.queue_[n:]
        self.pending_ += len(take)
        return self._suggest(take)

    def tell(self, observation: Observation) -> None:
        self.x_ = np.concatenate([self.x_, observation.archs])
        self.y_ = np.concatenate([self.y_, observation.scores])
        self.pending_ -= len(observation.trial)

    # ---- one iteration of Algorithm 1 ----------------------------------------------------------
    def _next_batch(self) -> np.ndarray:
        ctx, rng = self.context_, self.rng_
        space = ctx.space
        finite = np.isfinite(self.y_)
        x, y = self.x_[finite], self.y_[finite]
        if not len(x):
            return draw_unseen(ctx, self.top_k, self._seen(), rng)
        elite = x[np.argsort(-y, kind="stable")[: self.parents]]
        new = self._candidates(elite)
        if not len(new):
            return new
        self.iteration_ += 1
        if len(new) <= self.top_k or len(np.unique(y)) < 2:
            return new[: self.top_k]
        cls = self.cls_
        params = dict(self.predictor_kwargs_)
        if "seed" in cls.param_names():
            params["seed"] = int(rng.integers(2**31))
        predictor = cls(**params)
        context = Context(
            space=space,
            # a fresh clock per fit: what it charges is this generation's overhead
            oracle=ChargedOracle(ctx.oracle) if "oracle" in cls.needs else None,
            metric=ctx.metric,
            fidelity=ctx.fidelity,
        )
        t0 = time.perf_counter()
        predicted = predictor.fit(x, y, context).predict(new, context)
        self.predictor_s_ += time.perf_counter() - t0
        if context.oracle is not None:  # recorded cost the predictor charged (proxy time)
            self._overhead += context.oracle.clock.seconds
        return new[np.argsort(-predicted, kind="stable")[: self.top_k]]

    def _seen(self) -> set[int]:
        return set(self.context_.space.keys(self.x_).tolist())

    def _candidates(self, elite: np.ndarray) -> np.ndarray:
        """M distinct architectures not yet evaluated, from the GA (topped up at random where
        the GA keeps producing evaluated ones)."""
        ctx, rng, space = self.context_, self.rng_, self.context_.space
        seen = space.keys(self.x_)
        out = np.empty((0, space.dims), dtype=space.dtype)
        for _ in range(MAX_ROUNDS):
            exclude = np.concatenate([seen, space.keys(out)])
            kids = ga_children(
                space,
                elite,
                2 * self.candidates,
                rng,
                mutation_rate=self.mutation_rate,
                crossover_rate=self.crossover_rate,
                pool=ctx.pool,
                exclude=exclude,
            )
            if ctx.pool is not None:  # finite: only architectures the benchmark answers for
                kids = kids[space.contains(kids) & ctx.recorded(kids)]
            keys = space.keys(kids)
            _, first = np.unique(keys, return_index=True)
            first = np.sort(first)
            kids, keys = kids[first], keys[first]
            out = np.concatenate([out, kids[~np.isin(keys, exclude)]])[: self.candidates]
            if len(out) >= self.candidates:
                break
        if len(out) < self.candidates:
            exclude = set(np.concatenate([seen, space.keys(out)]).tolist())
            out = np.concatenate([out, draw_unseen(ctx, self.candidates - len(out), exclude, rng)])
        return out
