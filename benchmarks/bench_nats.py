"""NATS-Bench: our converted oracle against the official `nats_bench` API, side by side, on a
small fast-mode directory written in the upstream format (tests/upstream_files.py).

    python benchmarks/bench_nats.py [N_ARCHS]   (default 100)

Times: building the API and loading every architecture (fast mode) vs loading our converted
file; queries of the final valid accuracy and cost of one seed: `get_more_info` per
architecture vs one vectorized `oracle.query`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nats_bench
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from upstream_files import write_nats_directory

from spdbench.oracles.cached_runs import CachedRunsOracle, write_cached_runs
from spdbench.oracles.catalog import Catalog


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        directory = write_nats_directory(root, "tss", n=n)
        t0 = time.perf_counter()
        runs = Catalog().build("nats-tss-cifar100", root, workers=1, trust_pickles=True)
        convert_s = time.perf_counter() - t0
        write_cached_runs(root / "nats.h5", runs)

        t0 = time.perf_counter()
        api = nats_bench.create(str(directory), "tss", fast_mode=True, verbose=False)
        for i in range(n):  # fast mode reads an architecture's file on first use
            api.get_more_info(i, "cifar100", hp="200", is_random=777)
        api_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        oracle = CachedRunsOracle.from_file(root / "nats.h5")
        our_load = time.perf_counter() - t0

        rng = np.random.default_rng(0)
        index = rng.integers(0, n, 1_000_000)
        archs = oracle.space.parse([api.arch(i) for i in range(n)])[index]
        t0 = time.perf_counter()
        q = oracle.query(archs, seed=777)
        ours = len(index) / (time.perf_counter() - t0)
        part = index[:20_000]
        t0 = time.perf_counter()
        theirs = [api.get_more_info(int(i), "cifar100", hp="200", is_random=777) for i in part]
        api_rate = len(part) / (time.perf_counter() - t0)
        same = all(q.metrics["valid_acc"][k] == t["valid-accuracy"] for k, t in enumerate(theirs))
    print(f"{n} architectures, cifar100, hp 200, seed 777 (one run, 200 epochs each)")
    print(f"convert (one pass through nats_bench):   {convert_s:8.2f} s")
    print(
        f"load:  nats_bench fast mode, all archs  {api_load:8.3f} s | ours {our_load:.3f} s"
        f"  ({api_load / our_load:.0f}x)"
    )
    print(
        f"query: nats_bench get_more_info {api_rate:12,.0f}/s | ours {ours:,.0f}/s"
        f"  ({ours / api_rate:.0f}x); identical values: {same}"
    )


if __name__ == "__main__":
    main()
