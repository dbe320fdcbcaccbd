"""Simulation overhead of `spdbench search`, ratios side by side in one run:

- random search on nb201-cifar10 (4 simulated workers): simulated evaluations per second of
  the backend (open loop: asks ahead, schedules on the workers) and of the general event loop
  (one event at a time, results told as they arrive), against the oracle alone (one
  vectorized query of the same architectures, and one query per architecture);
- regularized evolution, 10 seeds x 1,000 evaluations, 4 simulated workers: wall seconds
  (target: under 5 s on 2 cores), in this process and on a pool of one process per CPU
  (`spdbench search --workers`).

    python benchmarks/bench_search.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from spdbench.oracles.catalog import load_oracle
from spdbench.search.base import SearchContext
from spdbench.search.evolution import RegularizedEvolution
from spdbench.search.experiment import SearchConfig, plan_search, run_search
from spdbench.search.random_search import RandomSearch
from spdbench.simulation.backend import Budget, Simulation


class EventLoopRandom(RandomSearch):
    adaptive = True  # forces the general event loop


def rate(oracle, cls, n: int, workers: int = 4, repeats: int = 3) -> float:
    sim = Simulation(oracle, workers=workers, metric="valid_acc", report_metric="test_acc")
    best = np.inf
    for r in range(repeats):
        s = cls()
        s.setup(SearchContext(oracle.space, oracle.epochs, 12, np.random.default_rng(r),
                              pool=oracle.enumerate()))  # fmt: skip
        t0 = time.perf_counter()
        t = sim.run(s, Budget(evaluations=n))
        best = min(best, time.perf_counter() - t0)
    return len(t) / best


def main() -> None:
    oracle = load_oracle("nb201-cifar10")
    pool = oracle.enumerate()
    n = len(pool)
    t0 = time.perf_counter()
    oracle.query(pool, 12)
    vectorized = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(2000):
        oracle.query(pool[i : i + 1], 12)
    single = 2000 / (time.perf_counter() - t0)
    open_loop = rate(oracle, RandomSearch, n)
    event_loop = rate(oracle, EventLoopRandom, 5000)
    print("random search on nb201-cifar10, 4 simulated workers (evaluations per second)")
    print(f"  oracle alone, one vectorized query     {vectorized:>12,.0f}")
    print(f"  oracle alone, one query per arch       {single:>12,.0f}")
    print(f"  backend, open loop ({n} evals)      {open_loop:>12,.0f}"
          f"   ({open_loop / vectorized:.2f} x vectorized oracle)")  # fmt: skip
    print(f"  backend, event loop (5000 evals)       {event_loop:>12,.0f}"
          f"   ({event_loop / single:.2f} x per-arch oracle)")  # fmt: skip
    re_rate = rate(oracle, RegularizedEvolution, 1000)
    print(f"  regularized evolution (event loop)     {re_rate:>12,.0f}")

    config = SearchConfig("nb201-cifar10", ("regularized-evolution",), seeds=10,
                          budget="1000evals", workers_sim=4)  # fmt: skip
    cpus = os.cpu_count() or 1
    print("regularized evolution, 10 seeds x 1000 evaluations (wall s, with store and report rows)")
    for workers in sorted({1, cpus}):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            rows = run_search(plan_search(config, out=Path(out), workers=workers))
            wall = time.perf_counter() - t0
        assert len(rows) == 10 and (rows["evaluations"] == 1000).all()
        print(f"  --workers {workers}: {wall:6.2f} s  (target < 5 s)")


if __name__ == "__main__":
    main()
