"""Oracle speed: load time of a cached-runs file and vectorized query throughput, against a
per-architecture dictionary lookup of the same numbers, side by side.

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
        f"{'benchmark':<30}{'load s':>8}{'seed':>6}{'vectorized q/s':>16}{'dict q/s':>12}{'ratio':>7}{'max RSS MB':>11}"
    )
    for name in names:
        t0 = time.perf_counter()
        oracle = load_oracle(name)
        load = time.perf_counter() - t0
        archs = oracle.sample(1_000_000, np.random.default_rng(0), unique=False)
        every = oracle.enumerate()
        for seed in (None, int(oracle.seeds[0])):
            t0 = time.perf_counter()
            oracle.query(archs, seed=seed, charge=False)
            vec = len(archs) / (time.perf_counter() - t0)
            # Baseline: a dict from architecture text to (all final metrics, cost), one lookup per
            # architecture, starting from the same genotype array (so making the keys is timed).
            r = oracle.query(every, seed=seed, charge=False)
            rows = zip(*r.metrics.values(), r.cost, strict=True)
            table = dict(zip(oracle.space.format(every), rows, strict=True))
            part = archs[:100_000]
            t0 = time.perf_counter()
            _ = [table[k] for k in oracle.space.format(part)]
            per = len(part) / (time.perf_counter() - t0)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            label = "mean" if seed is None else str(seed)
            print(
                f"{name:<30}{load:>8.3f}{label:>6}{vec:>16,.0f}{per:>12,.0f}{vec / per:>7.1f}{rss:>11.0f}"
            )


if __name__ == "__main__":
    main()
