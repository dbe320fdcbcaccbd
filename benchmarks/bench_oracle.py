"""Oracle speed: load time of a cached-runs file and vectorized query throughput (1,000,000
random architectures, all metrics and the cost), side by side with two baselines:

- numpy: the limit from the same genotype array, for spaces with a dense index (NB201, Macro,
  NATS sizes): compute the index (one small matrix product) and gather one metric from a
  table laid out by it;
- dict: a per-architecture dictionary lookup of the same numbers, keyed by architecture text.

    python benchmarks/bench_oracle.py [BENCHMARK]   (default: every benchmark with a
    cached-runs file in the catalog)
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from spdbench.oracles.catalog import Catalog, load_oracle


def main() -> None:
    names = sys.argv[1:] or [r.name for r in Catalog() if r.file]
    if not names:
        sys.exit("no cached-runs benchmarks in the catalog; name one or a .h5 path")
    # Load time is measured after the imports, which a process pays once.
    print(
        f"{'benchmark':<30}{'load s':>8}{'seed':>6}{'vectorized q/s':>16}{'numpy q/s':>14}"
        f"{'numpy/ours':>11}{'dict q/s':>12}{'ours/dict':>10}{'max RSS MB':>11}"
    )
    for name in names:
        t0 = time.perf_counter()
        oracle = load_oracle(name)
        load = time.perf_counter() - t0
        archs = oracle.sample(1_000_000, np.random.default_rng(0), unique=False)
        every = oracle.enumerate()
        for seed in (None, int(oracle.seeds[0])):
            oracle.query(archs[:10], seed=seed)  # lazy per-epoch tables
            best = np.inf
            for _ in range(3):
                t0 = time.perf_counter()
                oracle.query(archs, seed=seed)
                best = min(best, time.perf_counter() - t0)
            vec = len(archs) / best
            # Baseline: a dict from architecture text to (all final metrics, cost), one lookup per
            # architecture, starting from the same genotype array (so making the keys is timed).
            r = oracle.query(every, seed=seed)
            rows = zip(*r.metrics.values(), r.cost, strict=True)
            table = dict(zip(oracle.space.format(every), rows, strict=True))
            part = archs[:100_000]
            t0 = time.perf_counter()
            _ = [table[k] for k in oracle.space.format(part)]
            per = len(part) / (time.perf_counter() - t0)
            limit = _numpy_limit(oracle, every, archs, seed)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            label = "mean" if seed is None else str(seed)
            lim = f"{limit:>14,.0f}{limit / vec:>11.1f}" if limit else f"{'-':>14}{'-':>11}"
            print(
                f"{name:<30}{load:>8.3f}{label:>6}{vec:>16,.0f}{lim}{per:>12,.0f}{vec / per:>10.1f}{rss:>11.0f}"
            )


def _numpy_limit(oracle, every: np.ndarray, archs: np.ndarray, seed: int | None) -> float | None:
    """Queries per second of numpy computing the dense index and gathering one metric."""
    space = oracle.space
    if space.dense_index(every[:1]) is None:
        return None
    values = np.empty(space.size)
    values[space.dense_index(every)] = oracle.query(every, seed=seed).metrics[oracle.default_metric]
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        values[space.dense_index(archs)]
        best = min(best, time.perf_counter() - t0)
    return len(archs) / best


if __name__ == "__main__":
    main()
