"""Speed of the Petri dish on NAS-Bench-201 cells (issue 15), side by side with the slope dish.

Prints, for the Table 4 setting (40 motif-networks per outer step, 50 inner steps):
- seconds per outer step and the projected fit time at 200 outer steps (tensor ops on one
  thread), beside the sigmoid-slope dish at Table 2 (60 x 250) as the baseline ratio;
- prediction throughput over a timed slice of the 9,445 motif forms of the 15,625 cells (the
  dish trains each form once) with the compiled kernel (spdbench.spaces.nb201_kernel) and
  with the tensor ops side by side, projected to all cells.

    python benchmarks/bench_nb201_dish.py [--outer 5] [--cells 2000] [--threads 2] [--nb101]

With --nb101 the cells are nb101-subset's 292 recorded NAS-Bench-101 cells instead (motif C,
hidden 3: C = 12 channels; no kernel there).
"""

from __future__ import annotations

import argparse
import time
from math import nan

import numpy as np
import torch

from spdbench.oracles.catalog import load_oracle
from spdbench.predictors.petri_dish import inner_valid_loss, outer_loss
from spdbench.spaces.motif_settings import CELL_TABLE_4
from spdbench.spaces.nb201 import NB201Space
from spdbench.spaces.slope import SlopeSpace


def _networks(space, archs, options, tensor_ops):
    """The motif-networks; with `tensor_ops`, without their compiled kernel (if any)."""
    nets = space.motif_networks(archs, **options)
    if tensor_ops:
        nets.kernel = lambda: None
    return nets


def outer_step_seconds(space, archs, options, steps, outer, tensor_ops=False) -> float:
    nets = _networks(space, archs, options, tensor_ops)
    gen = torch.Generator().manual_seed(0)
    theta0 = nets.init_params(gen, 1.0, torch.float32)
    x = torch.randn(20, *nets.input_shape, generator=gen)
    labels = (torch.rand(20, *nets.label_shape, generator=gen) < 0.5).float()
    xt, xv = x.clone().requires_grad_(), x.clone().requires_grad_()
    truth = torch.randn(len(archs))

    def step() -> None:
        loss = outer_loss(inner_valid_loss(nets, theta0, xt, xv, labels, steps, 0.01, 1e-5), truth)
        loss.backward()

    step()  # untimed: loads the slope space's compiled kernel (once per process)
    t0 = time.perf_counter()
    for _ in range(outer):
        step()
    return (time.perf_counter() - t0) / outer


def predict_cells_per_s(space, archs, options, steps, tensor_ops=False) -> float:
    nets = _networks(space, archs, options, tensor_ops)
    gen = torch.Generator().manual_seed(0)
    theta0 = nets.init_params(gen, 1.0, torch.float32)
    x = torch.randn(20, *nets.input_shape, generator=gen)
    labels = (torch.rand(20, *nets.label_shape, generator=gen) < 0.5).float()
    t0 = time.perf_counter()
    with torch.no_grad():
        inner_valid_loss(nets, theta0, x, x, labels, steps, 0.01, 1e-5)
    return len(archs) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outer", type=int, default=5, help="outer steps timed")
    parser.add_argument("--cells", type=int, default=2000, help="motif forms timed for prediction")
    parser.add_argument("--threads", type=int, default=2, help="threads for prediction")
    parser.add_argument("--nb101", action="store_true", help="NAS-Bench-101 cells instead")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    slope = SlopeSpace()
    if args.nb101:
        oracle = load_oracle("nb101-subset")
        space, cells, label = oracle.space, oracle.pool(), "nb101 cells"
    else:
        space, label = NB201Space(), "nb201 cells"
        cells = space.enumerate()
    cells = cells[rng.permutation(len(cells))]  # a mix of every op on every edge
    t4 = CELL_TABLE_4
    torch.set_num_threads(1)  # the dish fits on one thread (tiny tensors)
    s_cell = outer_step_seconds(
        space, cells[rng.choice(len(cells), 40, replace=False)], {}, t4["inner_steps"], args.outer
    )
    s_slope = outer_step_seconds(
        slope, np.linspace(0.37, 1.5, 15)[:, None], {"hidden": 1}, 250, args.outer
    )
    print(f"fit, tensor ops on one thread  {label:>12s} {'slope (baseline)':>17s} {'ratio':>7s}")
    for name, a, b in (
        ("s per outer step", s_cell, s_slope),
        ("projected s (200 x 50 | 60 x 250)", 200 * s_cell, 60 * s_slope),
    ):
        print(f"{name:38s} {a:8.3f} {b:17.3f} {a / b:7.2f}")

    # the dish predicts each motif form once (SearchSpace.motif_form)
    forms = np.unique(space.motif_form(cells), axis=0)
    timed = forms[rng.permutation(len(forms))[: args.cells]]
    torch.set_num_threads(args.threads)
    has_kernel = space.motif_networks(timed[:1]).kernel() is not None
    if has_kernel:  # untimed: compiles or loads the kernel (once per install / process)
        predict_cells_per_s(space, timed[:2], {}, 1)
    cpu0 = time.process_time()
    ops = predict_cells_per_s(space, timed, {}, t4["inner_steps"], tensor_ops=True)
    cpu1 = time.process_time()
    kernel = predict_cells_per_s(space, timed, {}, t4["inner_steps"]) if has_kernel else ops
    cpu2 = time.process_time()
    kernel_cpu = cpu2 - cpu1 if has_kernel else cpu1 - cpu0
    c_slope = predict_cells_per_s(
        slope, np.linspace(0.01, 2.0, args.cells)[:, None], {"hidden": 1}, 250
    )
    n_all = len(space.enumerate()) if not args.nb101 else len(cells)
    print(
        f"\npredict on {args.threads} threads, {len(timed):,} of {len(forms):,} motif forms "
        f"({n_all:,} cells)"
    )
    print(f"{'':38s} {'kernel':>8s} {'tensor ops':>11s} {'speed-up':>9s} {'slope':>9s}")
    for name, k, o, b in (
        ("motif forms/s", kernel, ops, c_slope),
        ("projected s for all cells", len(forms) / kernel, len(forms) / ops, 15625 / c_slope),
        (
            "cells/s over all cells",
            n_all / (len(forms) / kernel),
            n_all / (len(forms) / ops),
            c_slope,
        ),
        # CPU time of all threads: what one core gives, however busy the machine is
        ("motif forms per CPU second", len(timed) / kernel_cpu, len(timed) / (cpu1 - cpu0), nan),
    ):
        up = k / o if name != "projected s for all cells" else o / k
        print(f"{name:38s} {k:8.1f} {o:11.1f} {up:9.2f} {b:9.1f}")
    if not has_kernel:
        print("(this space has no prediction kernel: both columns are tensor ops)")


if __name__ == "__main__":
    main()
