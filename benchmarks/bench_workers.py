"""When a process pool pays: the same compare in this process (1 worker) and in a pool of one
worker per CPU, side by side, for cheap jobs (random, knn) and expensive ones (the Petri
dish), and what `--workers auto` picks for each.

    python benchmarks/bench_workers.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from spdbench.harness.compare import run_compare
from spdbench.harness.plan import CompareConfig, plan_compare

CASES = {
    "cheap: random,knn on sigmoid-slope, 6 seeds": CompareConfig(
        "sigmoid-slope-fashion-mnist", ("random", "knn"), seeds=6
    ),
    "cheap: random on nb201-cifar10, 20 seeds": CompareConfig(
        "nb201-cifar10", ("random",), seeds=20, train_sizes=(50,)
    ),
    "expensive: petri-dish on sigmoid-slope, 4 seeds": CompareConfig(
        "sigmoid-slope-fashion-mnist", ("petri-dish",), seeds=4
    ),
}


def wall(config: CompareConfig, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_compare(plan_compare(config, out=Path(out), workers=workers))
        return time.perf_counter() - t0


def main() -> None:
    cpus = os.cpu_count() or 1
    print(f"{'case':<52}{'1 worker s':>11}{f'{cpus} workers s':>13}{'pool/inline':>12}{'auto':>6}")
    for label, config in CASES.items():
        inline, pooled = wall(config, 1), wall(config, cpus)
        auto = plan_compare(config).workers
        print(f"{label:<52}{inline:>11.1f}{pooled:>13.1f}{pooled / inline:>12.2f}{auto:>6}")


if __name__ == "__main__":
    main()
