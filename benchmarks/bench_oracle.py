"""Oracle speed: load time of a cached-runs file and vectorized query throughput, against a
per-architecture dictionary lookup of the same numbers, side by side.

    python benchmarks/bench_oracle.py [BENCHMARK]   (default: every file in data/manifest.json)
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from spdbench.oracles.catalog import load_oracle, read_manifest


def main() -> None:
    names = sys.argv[1:] or sorted(read_manifest())
    if not names:
        sys.exit("no cached-runs benchmarks in data/manifest.json; name one or a .h5 path")
    print(
        f"{'benchmark':<32}{'load s':>8}{'queries/s vectorized':>22}{'queries/s dict':>16}{'ratio':>8}{'max RSS MB':>12}"
    )
    for name in names:
        t0 = time.perf_counter()
        oracle = load_oracle(name)
        load = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        archs = oracle.sample(1_000_000, rng, unique=False)
        t0 = time.perf_counter()
        oracle.query(archs, charge=False, seed=int(oracle.seeds[0]))
        vec = len(archs) / (time.perf_counter() - t0)
        # The baseline: a dict from architecture text to its final metric, one lookup per query.
        final = oracle.query(oracle.enumerate(), charge=False, seed=int(oracle.seeds[0])).metrics[
            oracle.default_metric
        ]
        table = dict(zip(oracle.space.format(oracle.enumerate()), final, strict=True))
        keys = oracle.space.format(archs[:100_000])
        t0 = time.perf_counter()
        _ = [table[k] for k in keys]
        per = len(keys) / (time.perf_counter() - t0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name:<32}{load:>8.3f}{vec:>22,.0f}{per:>16,.0f}{vec / per:>8.1f}{rss:>12.0f}")


if __name__ == "__main__":
    main()
