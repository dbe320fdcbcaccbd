"""Speed of the Petri dish on NAS-Bench-NLP recurrent cells (issue 15, Sec. 4.2), side by side
with the slope dish.

Prints, for the Table 4 setting (40 motif-networks per outer step, 50 inner steps, synthetic
data 20 x 10 x 10, hidden size 3):
- milliseconds per inner step (forward, backward and the outer backward through it),
- seconds per outer step and the projected fit time at 200 outer steps,
- prediction throughput (cells/s) over the 340 recorded cells and the time for all of them,
and the same for the sigmoid-slope dish at Table 2 (60 x 250) as the baseline ratio.

    python benchmarks/bench_nlp_dish.py [--outer 2] [--motifs 40] [--threads 2]
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
    parser.add_argument("--threads", type=int, default=2, help="torch threads for prediction")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    nlp, slope = load_oracle("nas-bench-nlp-wt2").space, SlopeSpace()
    cells = nlp.enumerate()
    t4 = CELL_TABLE_4
    inner = t4["inner_steps"]
    torch.set_num_threads(1)  # the dish fits on one thread (tiny tensors)
    batch = cells[rng.choice(len(cells), args.motifs, replace=False)]
    s_cell = outer_step_seconds(nlp, batch, {}, inner, args.outer)
    s_slope = outer_step_seconds(
        slope, np.linspace(0.37, 1.5, 15)[:, None], {"hidden": 1}, 250, args.outer
    )
    rows = [
        ("fit: ms per inner step", 1000 * s_cell / inner, 1000 * s_slope / 250),
        ("fit: s per outer step", s_cell, s_slope),
        ("fit: projected s (200 x 50 | 60 x 250)", 200 * s_cell, 60 * s_slope),
    ]
    torch.set_num_threads(args.threads)
    c_cell = predict_cells_per_s(nlp, cells, {}, inner)
    c_slope = predict_cells_per_s(
        slope, np.linspace(0.01, 2.0, len(cells))[:, None], {"hidden": 1}, 250
    )
    rows.append(("predict: cells/s", c_cell, c_slope))
    rows.append(
        (f"predict: s for all {len(cells)} cells", len(cells) / c_cell, len(cells) / c_slope)
    )
    print(f"{'':44s} {'nlp cells':>12s} {'slope (baseline)':>17s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:44s} {a:12.3f} {b:17.3f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
