"""Conformance checks any searcher, ours or a plugin's, must pass (like `check_predictor`).

    from spdbench.search.checks import check_searcher
    check_searcher(MySearcher)      # runs every check, reports every broken rule at once

Each check runs the searcher on the simulation backend (a small synthetic oracle by default,
3 simulated workers), where the backend itself enforces most of the ask/tell contract.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from spdbench.oracles.base import Oracle
from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.search.base import SearchContext, Searcher
from spdbench.simulation.backend import Budget, Simulation, Trajectory


class _Setup:
    def __init__(self, cls: type[Searcher], oracle: Oracle | None, params: dict, budget: int):
        self.cls, self.params, self.budget = cls, dict(params), budget
        self.oracle = oracle or SyntheticSlopeOracle(n_seeds=3, n_epochs=12)

    def run(self, seed: int = 0, workers: int = 3) -> Trajectory:
        o = self.oracle
        searcher = self.cls(**{**self.params, "seed": seed})
        # as `spdbench search` does: a searcher that needs recorded facts (petri-ga with a
        # replayed zero-cost proxy) searches the architectures that record them
        having = self.cls.requires_arch_info(searcher.get_params())
        searcher.setup(
            SearchContext(
                space=o.space,
                fidelities=o.epochs,
                fidelity=int(o.epochs[-1]),
                rng=np.random.default_rng(seed),
                pool=o.pool(having) if o.size is not None else None,
                oracle=o,
                metric=o.default_metric,
            )
        )
        return Simulation(o, workers=workers).run(searcher, Budget(evaluations=self.budget))


def check_class_attributes(s: _Setup) -> None:
    assert isinstance(s.cls, type) and issubclass(s.cls, Searcher), (
        f"{s.cls!r} must subclass spdbench.search.Searcher"
    )
    assert s.cls.name and s.cls.description, "a searcher needs `name` and `description`"
    assert "seed" in s.cls.param_names(), f"{s.cls.__name__}.__init__ must accept `seed`"


def check_init_stores_params(s: _Setup) -> None:
    got = s.cls(**s.params).get_params()
    assert s.cls(**got).get_params() == got, "__init__ must store its parameters unchanged"


def check_runs_on_workers(s: _Setup) -> None:
    t = s.run(workers=3)  # the backend raises on suggestions outside the space, too many, ...
    assert len(t) == s.budget, f"spent {len(t)} of {s.budget} evaluations on a large space"


def check_runs_on_one_worker(s: _Setup) -> None:
    t = s.run(workers=1)
    assert len(t) == s.budget, f"spent {len(t)} of {s.budget} evaluations on one worker"


def check_deterministic_under_seed(s: _Setup) -> None:
    a, b = s.run(seed=3), s.run(seed=3)
    assert np.array_equal(a.archs, b.archs) and np.array_equal(a.time, b.time), (
        "same seed, different trajectories"
    )


def check_picklable(s: _Setup) -> None:
    searcher = s.cls(**s.params)
    pickle.loads(pickle.dumps(searcher))
    copy.deepcopy(searcher)


CHECKS: tuple[Callable[[_Setup], None], ...] = (
    check_class_attributes,
    check_init_stores_params,
    check_runs_on_workers,
    check_runs_on_one_worker,
    check_deterministic_under_seed,
    check_picklable,
)


def check_searcher(
    cls: type[Searcher],
    oracle: Oracle | None = None,
    *,
    params: dict[str, Any] | None = None,
    budget: int = 30,
) -> dict[str, str]:
    """Run every check on `cls`; raises one AssertionError listing every broken rule.
    Returns {check: "passed"}."""
    setup = _Setup(cls, oracle, params or {}, budget)
    outcome, failures = {}, []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check(setup)
            outcome[name] = "passed"
        except Exception as exc:
            outcome[name] = "failed"
            failures.append(
                f"{name}: {exc}"
                if isinstance(exc, AssertionError)
                else f"{name}: {type(exc).__name__}: {exc}"
            )
    if failures:
        raise AssertionError(
            f"{getattr(cls, '__name__', cls)} breaks {len(failures)} rule(s) of the Searcher "
            "contract:\n  " + "\n  ".join(failures)
        )
    return outcome
