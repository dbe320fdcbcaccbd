"""The oracle a predictor is handed: the one-worker, sequential form of the simulation.

Oracle queries are free. Where cost matters, a `ChargedOracle` wraps the oracle: every query a
predictor makes through it (ASHA's rungs, a learning-curve predictor's partial runs, a replayed
zero-cost proxy's recorded compute time) is charged to its own `clock`, one evaluation after
another, and the harness reads that clock around fit and predict. Search charges evaluations on
the multi-worker event queue of `Simulation` instead (spdbench.simulation.backend).

It answers everything an Oracle does, so predictors and third-party plugins call `query`,
`scores`, `arch_info` and `clock.charge` on it as they would on an oracle that kept a clock.
"""

from __future__ import annotations

from typing import Any

from spdbench.simulation.clock import SimulatedClock


class ChargedOracle:
    """`oracle`'s answers, each query's recorded training cost charged to `clock` (the oracle
    is duck-typed: simulation sits below the oracles)."""

    def __init__(self, oracle: Any, clock: SimulatedClock | None = None) -> None:
        if isinstance(oracle, ChargedOracle):
            oracle = oracle.oracle
        self.oracle = oracle
        self.clock = SimulatedClock() if clock is None else clock

    def query(
        self,
        archs: Any,
        fidelity: int | None = None,
        seed: Any = None,
        *,
        curves: bool = False,
        charge: bool = True,
    ) -> Any:
        """`Oracle.query`, its cost charged to `clock` unless `charge=False` (for a caller that
        charges only part of it, as ASHA charges a promoted trial only its extra epochs)."""
        result = self.oracle.query(archs, fidelity, seed, curves=curves)
        if charge:
            self.clock.charge(result.cost, evaluations=len(result))
        return result

    def scores(self, archs: Any, metric: str | None = None, **query: Any) -> Any:
        """Ground truth as 'higher is better' scores, charged as `query` is."""
        m = self.oracle.metric(metric)
        return m.sign * self.query(archs, **query).metrics[m.name]

    def __getattr__(self, name: str) -> Any:
        # everything else (space, epochs, seeds, metrics, arch_info, sample, ...) is the oracle's
        # not `oracle` itself (unset while unpickling: no recursion), nor special methods, which
        # copy and pickle look up on the instance: they must see this class's, not the oracle's
        if name == "oracle" or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)
        return getattr(self.oracle, name)

    def __repr__(self) -> str:
        return f"ChargedOracle({self.oracle!r}, {self.clock!r})"
