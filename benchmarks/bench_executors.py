"""What the Dask executor costs per job, against the local executor: many tiny jobs (the random
predictor on sigmoid-slope), run through each executor at 1 and 2 workers.

Per-job cost is the slope between a run of 100 and one of 500 jobs, so that fixed costs (a
process pool spawning its workers, shipping the plan) fall out; they are shown apart, as is
the start of a Dask LocalCluster (paid once per `--dask-workers` run, not per job). Only the
executor is timed (the client's results-store appends are the same on every path).

    python benchmarks/bench_executors.py [--small 100] [--large 500] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from spdbench.harness.compare import run_job
from spdbench.harness.executors import LOCAL_CLUSTER_CONFIG, ExecutorSpec, open_executor
from spdbench.harness.plan import CompareConfig, plan_compare

BENCHMARK = "sigmoid-slope-fashion-mnist"


def timed(n: int, out: Path, workers: int, spec: ExecutorSpec) -> float:
    """Seconds to run `n` random-predictor jobs on an opened executor (rows consumed)."""
    config = CompareConfig(BENCHMARK, ("random",), seeds=n)
    plan = plan_compare(config, out=out, workers=workers, executor=spec)
    jobs = plan.jobs()
    with open_executor(spec) as executor:
        t0 = time.perf_counter()
        rows = list(executor.map(plan, jobs, run_job))
        seconds = time.perf_counter() - t0
    assert len(rows) == n and all(r["status"] == "ok" for r in rows)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    import dask
    from distributed import LocalCluster

    results: dict[str, tuple[float, float, float]] = {}
    extra: dict[str, str] = {}
    with TemporaryDirectory() as tmp:
        out = Path(tmp)

        def measure(label: str, workers: int, spec: ExecutorSpec) -> None:
            timed(10, out, workers, spec)  # warm up: imports, a worker's first job
            small = min(timed(args.small, out, workers, spec) for _ in range(args.repeats))
            large = min(timed(args.large, out, workers, spec) for _ in range(args.repeats))
            results[label] = (small, large, (large - small) / (args.large - args.small))

        measure("local, 1 (in this process)", 1, ExecutorSpec())  # --workers 1: no pool
        measure("local pool, 2 workers", 2, ExecutorSpec())
        for w in (1, 2):
            t0 = time.perf_counter()
            with (
                dask.config.set(LOCAL_CLUSTER_CONFIG),
                LocalCluster(
                    n_workers=w,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                ) as cluster,
            ):
                extra[f"dask, {w} worker(s)"] = f"cluster start {time.perf_counter() - t0:.1f} s"
                measure(f"dask, {w} worker(s)", 1, ExecutorSpec("dask", cluster.scheduler_address))

    base = results["local, 1 (in this process)"][2]
    print(f"{args.small} and {args.large} random-predictor jobs on {BENCHMARK}")
    head = f"{'executor':<26}{'t small s':>10}{'t large s':>10}{'ms/job':>8}{'jobs/s':>8}"
    print(f"{head}{'x in-process':>14}{'overhead ms/job':>17}  note")
    for label, (small, large, per_job) in results.items():
        print(
            f"{label:<26}{small:>10.2f}{large:>10.2f}{per_job * 1e3:>8.2f}{1 / per_job:>8.0f}"
            f"{per_job / base:>14.2f}{(per_job - base) * 1e3:>17.2f}  {extra.get(label, '')}"
        )


if __name__ == "__main__":
    main()
