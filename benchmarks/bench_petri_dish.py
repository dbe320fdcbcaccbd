"""Synthetic Petri Dish speed: the batched super-network against one motif-network at a time.

    python benchmarks/bench_petri_dish.py [--device cpu|cuda] [--threads N]

1. The Fig. 1 setting: fit on 15 training slopes (outer x inner steps of 20x200 and 60x250),
   then predict 41 slopes; wall-clock of fit and predict.
2. The same outer step computed one motif at a time (identical math, a Python loop over
   motifs), timed over a few outer steps: the batching ratio.
3. Prediction throughput for 10,000 motifs (motifs/s), batched vs one at a time (sampled).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from spdbench.predictors import Context
from spdbench.predictors.petri_dish import PetriDish, inner_valid_loss, outer_loss
from spdbench.spaces.slope import SlopeSpace

SLOPES = np.round(np.arange(41) * 0.05 + 0.01, 2)[:, None]


def fig1_data() -> tuple[np.ndarray, np.ndarray]:
    from spdbench.oracles.synthetic import SyntheticSlopeOracle

    oracle = SyntheticSlopeOracle()
    inside = SLOPES[(SLOPES[:, 0] >= 0.37) & (SLOPES[:, 0] <= 1.5)]
    train = inside[np.random.default_rng(0).choice(len(inside), 15, replace=False)]
    return train, oracle.scores(train)


def outer_step_seconds(
    nets, theta0, x, labels, truth, inner_steps: int, one_by_one: bool, repeats: int = 2
) -> float:
    times = []
    for _ in range(repeats):
        xt, xv = x.clone().requires_grad_(), x.clone().requires_grad_()
        t0 = time.perf_counter()
        if one_by_one:
            losses = torch.cat(
                [
                    inner_valid_loss(
                        nets.subset(torch.tensor([i])),
                        theta0,
                        xt,
                        xv,
                        labels,
                        inner_steps,
                        0.01,
                        1e-5,
                    )
                    for i in range(len(nets))
                ]
            )
        else:
            losses = inner_valid_loss(nets, theta0, xt, xv, labels, inner_steps, 0.01, 1e-5)
        outer_loss(losses, truth).backward()
        times.append(time.perf_counter() - t0)
    return min(times)


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
    print(f"{'outer x inner':<16}{'fit s':>10}{'predict s':>12}{'total s':>10}")
    for outer, inner in ((20, 200), (60, 250)):
        p = PetriDish(outer_steps=outer, inner_steps=inner, device=args.device)
        t0 = time.perf_counter()
        p.fit(train, scores, ctx)
        t1 = time.perf_counter()
        p.predict(SLOPES, ctx)
        t2 = time.perf_counter()
        print(f"{f'{outer} x {inner}':<16}{t1 - t0:>10.2f}{t2 - t1:>12.3f}{t2 - t0:>10.2f}")

    print("\n2. one outer step (15 motifs, 250 inner steps, forward + backward)")
    nets = space.motif_networks(train)
    if dev.type != "cpu":
        nets.slopes = nets.slopes.to(dev)
    gen = torch.Generator().manual_seed(0)
    theta0 = nets.init_params(gen, 1.0, torch.float32).to(dev)
    x = torch.randn(20, 10, generator=gen).to(dev)
    labels = (torch.rand(20, 10, generator=gen) < 0.5).float().to(dev)
    truth = torch.as_tensor(-scores, dtype=torch.float32, device=dev)
    batched = outer_step_seconds(nets, theta0, x, labels, truth, 250, one_by_one=False)
    looped = outer_step_seconds(nets, theta0, x, labels, truth, 250, one_by_one=True, repeats=1)
    print(
        f"{'batched':<16}{batched:>10.3f} s\n{'one at a time':<16}{looped:>10.3f} s\nspeed-up: {looped / batched:.1f}x"
    )

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
