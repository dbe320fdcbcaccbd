"""Results-store append cost: 10,000 tiny jobs appended one at a time, the cost per append
along the way, against the previous store (read the whole table, concatenate, rewrite it)
run side by side on its first jobs.

    python benchmarks/bench_store.py [JOBS]   (default 10000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from spdbench.harness.store import ResultsStore
from spdbench.io import atomic_path


def row(i: int) -> dict:
    return {"job_key": f"c/p{i % 7}/r{i}/n20", "config_hash": "c", "kendall_tau": i / 1e4,
            "predictions": [0.1] * 50, "truth": [0.2] * 50}  # fmt: skip


def rewrite_append(path: Path, r: dict) -> None:
    """The store before: every append reads, concatenates and rewrites the whole table."""
    new = pd.DataFrame([r])
    if path.is_file():
        old = pd.read_parquet(path)
        new = pd.concat([old[~old["job_key"].isin(new["job_key"])], new], ignore_index=True)
    with atomic_path(path) as tmp:
        new.to_parquet(tmp, index=False)


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    baseline_jobs = min(jobs, 2_000)  # the old store is quadratic: stop it early
    window = max(1, jobs // 10)
    with tempfile.TemporaryDirectory() as tmp:
        store, old = ResultsStore(Path(tmp) / "new"), Path(tmp) / "old" / "results.parquet"
        print(f"{'jobs':>12}{'append ms (store)':>20}{'append ms (rewrite)':>22}{'ratio':>8}")
        t_new = t_old = 0.0
        for i in range(jobs):
            t0 = time.perf_counter()
            store.append([row(i)])
            t_new += time.perf_counter() - t0
            if i < baseline_jobs:
                t0 = time.perf_counter()
                rewrite_append(old, row(i))
                t_old += time.perf_counter() - t0
            if (i + 1) % window == 0:
                a = t_new / window * 1e3
                if i < baseline_jobs:
                    b = t_old / window * 1e3
                    print(f"{i + 1 - window:>5}-{i + 1:<6}{a:>20.2f}{b:>22.2f}{b / a:>8.1f}")
                else:
                    print(f"{i + 1 - window:>5}-{i + 1:<6}{a:>20.2f}{'':>22}{'':>8}")
                t_new = t_old = 0.0
        t0 = time.perf_counter()
        merged = store.compact()
        compact_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = len(store.read())
        read_s = time.perf_counter() - t0
        print(
            f"compaction of {merged} job files: {compact_s:.1f} s; read of {n} rows after it: {read_s:.2f} s"
        )


if __name__ == "__main__":
    main()
