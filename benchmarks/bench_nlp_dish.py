"""Speed of the Petri dish on NAS-Bench-NLP recurrent cells (issue 15, Sec. 4.2): the compiled
kernel (spdbench.spaces.nlp_kernel) side by side with the same dish as tensor ops, and the
slope dish as the baseline.

Prints, for the Table 4 setting (40 motif-networks per outer step, 50 inner steps, synthetic
data 20 x 10 x 10, hidden size 3):
- milliseconds per inner step (forward, backward and the outer backward through it),
- seconds per outer step and the projected fit time at 200 outer steps,
- prediction throughput (cells/s) over the 340 recorded cells and the time for all of them,
for the kernel and for tensor ops (their ratio: the kernel's speed-up), and the same for the
sigmoid-slope dish at Table 2 (60 x 250).

    python benchmarks/bench_nlp_dish.py [--outer 2] [--motifs 40] [--threads 2]

The fit runs on one thread (experiments run one job per core), and once more on --threads
threads (the kernel splits the networks between threads); prediction runs on --threads.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from bench_nb201_dish import outer_step_seconds, predict_cells_per_s  # the same timers

from spdbench.oracles.catalog import load_oracle
from spdbench.spaces.motif_settings import CELL_TABLE_4
from spdbench.spaces.slope import SlopeSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outer", type=int, default=2, help="outer steps timed")
    parser.add_argument("--motifs", type=int, default=40, help="motif-networks per outer step")
    parser.add_argument("--threads", type=int, default=2, help="threads for prediction")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    nlp, slope = load_oracle("nas-bench-nlp-wt2").space, SlopeSpace()
    cells = nlp.enumerate()
    inner = CELL_TABLE_4["inner_steps"]
    torch.set_num_threads(1)
    batch = cells[rng.choice(len(cells), args.motifs, replace=False)]
    fit = [outer_step_seconds(nlp, batch, {}, inner, args.outer, ops) for ops in (False, True)]
    fit.append(
        outer_step_seconds(slope, np.linspace(0.37, 1.5, 15)[:, None], {"hidden": 1}, 250, 2)
    )
    torch.set_num_threads(args.threads)
    threaded = outer_step_seconds(nlp, batch, {}, inner, args.outer)
    speed = [predict_cells_per_s(nlp, cells, {}, inner, ops) for ops in (False, True)]
    speed.append(
        predict_cells_per_s(slope, np.linspace(0.01, 2.0, len(cells))[:, None], {"hidden": 1}, 250)
    )
    rows = [
        (
            "fit: ms per inner step",
            [1000 * s / n for s, n in zip(fit, (inner, inner, 250), strict=True)],
        ),
        ("fit: s per outer step", fit),
        ("fit: projected s (200 x 50 | 60 x 250)", [200 * fit[0], 200 * fit[1], 60 * fit[2]]),
        ("predict: cells/s", speed),
        (f"predict: s for all {len(cells)} cells", [len(cells) / c for c in speed]),
    ]
    print(f"{'':40s} {'nlp kernel':>11s} {'tensor ops':>11s} {'speed-up':>9s} {'slope':>9s}")
    for name, (kernel, ops, base) in rows:
        up = ops / kernel if "cells/s" not in name else kernel / ops
        print(f"{name:40s} {kernel:11.3f} {ops:11.3f} {up:9.1f} {base:9.3f}")
    print(f"fit on {args.threads} threads: projected {200 * threaded:.1f} s with the kernel")


if __name__ == "__main__":
    main()
