"""Synthetic Petri Dish speed: the batched super-network against one motif-network at a time.

    python benchmarks/bench_petri_dish.py [--device cpu|cuda] [--threads N]

1. The Fig. 1 setting: fit on 15 training slopes (outer x inner steps of 20x200 and 60x250),
   then predict 41 slopes; wall-clock of fit and predict, with the compiled inner loop
   (`slope_kernel`, CPU) and with autograd through the unrolled loop (the baseline) side by side.
2. One outer step (forward + backward) three ways: the compiled kernel, autograd batched over
   the motifs, and autograd one motif at a time (a Python loop over motifs).
3. Prediction throughput for 10,000 motifs (motifs/s), batched vs one at a time (sampled).
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from spdbench.predictors import Context
from spdbench.predictors.inner_loop import inner_valid_loss, unrolled_valid_loss
from spdbench.predictors.petri_dish import PetriDish, outer_loss
from spdbench.spaces.slope import SlopeSpace
from spdbench.spaces.slope_motifs import SigmoidMotifNetworks

SLOPES = np.round(np.arange(41) * 0.05 + 0.01, 2)[:, None]


def fig1_data() -> tuple[np.ndarray, np.ndarray]:
    from spdbench.oracles.synthetic import SyntheticSlopeOracle

    oracle = SyntheticSlopeOracle()
    inside = SLOPES[(SLOPES[:, 0] >= 0.37) & (SLOPES[:, 0] <= 1.5)]
    train = inside[np.random.default_rng(0).choice(len(inside), 15, replace=False)]
    return train, oracle.scores(train)


def outer_step_seconds(nets, theta0, x, labels, truth, inner_steps: int, how: str) -> float:
    """Best of 2 (one-by-one: of 1) outer steps, `how` in kernel, batched, one-by-one."""
    times = []
    for _ in range(1 if how == "one-by-one" else 2):
        xt, xv = x.clone().requires_grad_(), x.clone().requires_grad_()
        args = (theta0, xt, xv, labels, inner_steps, 0.01, 1e-5)
        t0 = time.perf_counter()
        if how == "kernel":
            losses = inner_valid_loss(nets, *args)
        elif how == "batched":
            losses = unrolled_valid_loss(nets, *args)
        else:
            subsets = (nets.subset(torch.tensor([i])) for i in range(len(nets)))
            losses = torch.cat([unrolled_valid_loss(one, *args) for one in subsets])
        outer_loss(losses, truth).backward()
        times.append(time.perf_counter() - t0)
    return min(times)


@contextlib.contextmanager
def without_kernel():
    """The dish as it ran before the compiled kernel: autograd through the unrolled loop."""
    kernel = SigmoidMotifNetworks.kernel
    SigmoidMotifNetworks.kernel = lambda self: None
    try:
        yield
    finally:
        SigmoidMotifNetworks.kernel = kernel


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads [default: 1, as compare runs every job; on tiny tensors more "
        "threads time erratically, 0.2 s to 3 s for one outer step]",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    name = (
        torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else f"cpu, {torch.get_num_threads()} threads"
    )
    print(f"device: {name}; torch {torch.__version__}")
    space = SlopeSpace()
    ctx = Context(space=space)
    train, scores = fig1_data()

    print("\n1. Fig. 1 setting: 15 training motifs, predict 41 slopes")
    print(f"{'outer x inner':<16}{'inner loop':<12}{'fit s':>8}{'predict s':>11}{'total s':>9}")
    t0 = time.perf_counter()
    PetriDish(outer_steps=1, inner_steps=2, device=args.device).fit(train, scores, ctx)
    print(
        f"(first call in this process, compiling or loading the kernel: {time.perf_counter() - t0:.2f} s)"
    )
    for outer, inner in ((20, 200), (60, 250)):
        totals = []
        for label in ("kernel", "autograd") if dev.type == "cpu" else ("autograd",):
            with without_kernel() if label == "autograd" else contextlib.nullcontext():
                p = PetriDish(outer_steps=outer, inner_steps=inner, device=args.device)
                t0 = time.perf_counter()
                p.fit(train, scores, ctx)
                t1 = time.perf_counter()
                p.predict(SLOPES, ctx)
                t2 = time.perf_counter()
            totals.append(t2 - t0)
            print(
                f"{f'{outer} x {inner}':<16}{label:<12}{t1 - t0:>8.2f}{t2 - t1:>11.3f}{t2 - t0:>9.2f}"
            )
        if len(totals) == 2:
            print(f"{'':<16}{'speed-up':<12}{totals[1] / totals[0]:>28.1f}x")

    print("\n2. one outer step (15 motifs, 250 inner steps, forward + backward)")
    nets = space.motif_networks(train)
    if dev.type != "cpu":
        nets.slopes = nets.slopes.to(dev)
    gen = torch.Generator().manual_seed(0)
    theta0 = nets.init_params(gen, 1.0, torch.float32).to(dev)
    x = torch.randn(20, 10, generator=gen).to(dev)
    labels = (torch.rand(20, 10, generator=gen) < 0.5).float().to(dev)
    truth = torch.as_tensor(-scores, dtype=torch.float32, device=dev)
    hows = ("kernel", "batched", "one-by-one") if dev.type == "cpu" else ("batched", "one-by-one")
    times = {how: outer_step_seconds(nets, theta0, x, labels, truth, 250, how) for how in hows}
    names = {
        "kernel": "compiled kernel",
        "batched": "autograd, batched",
        "one-by-one": "autograd, one at a time",
    }
    for how, seconds in times.items():
        print(f"{names[how]:<26}{seconds:>8.3f} s {times['one-by-one'] / seconds:>7.1f}x")

    print("\n3. prediction throughput (250 inner steps)")
    p = PetriDish(outer_steps=2, inner_steps=250, device=args.device).fit(train, scores, ctx)
    many = space.sample(10_000, np.random.default_rng(1))
    t0 = time.perf_counter()
    p.predict(many, ctx)
    rate = len(many) / (time.perf_counter() - t0)
    few = many[:50]
    t0 = time.perf_counter()
    for row in few:
        p.predict(row[None, :], ctx)
    rate_loop = len(few) / (time.perf_counter() - t0)
    print(
        f"{'batched':<16}{rate:>12,.0f} motifs/s (10,000 motifs)\n{'one at a time':<16}{rate_loop:>12,.0f} motifs/s (50 sampled)"
    )
    print(f"speed-up: {rate / rate_loop:.0f}x")


if __name__ == "__main__":
    main()
