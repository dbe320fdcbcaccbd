"""Ground-truth training throughput: slopes of a seed batched vs one model at a time, side by side.

    python benchmarks/bench_groundtruth.py [--device cpu|cuda] [--seeds 5] [--steps 20]

Both sides run the same code (SigmoidSlopeTrainer; the loop uses one slope and one seed per
trainer) on the same minibatches, and only training steps are timed. Throughput is reported in
model-epochs per second of the paper's protocol (50,000 images, batch 50 = 1,000 steps/epoch).
Uses Fashion-MNIST/MNIST when installed, else random images of the same shape.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from spdbench.errors import DataFileError
from spdbench.groundtruth import idx
from spdbench.groundtruth.sigmoid_slope import PAPER_SLOPES, SigmoidSlopeConfig, SigmoidSlopeTrainer
from spdbench.torch_utils import resolve_device

STEPS_PER_EPOCH = 1000  # 50,000 images / batch 50


def dataset() -> idx.ImageDataset:
    try:
        return idx.load_dataset()
    except DataFileError:
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, (60_000, 28, 28), dtype=np.uint8)
        lab = rng.integers(0, 10, 60_000).astype(np.uint8)
        return idx.ImageDataset("random", img, lab, img[:10_000], lab[:10_000], {})


def model_steps_per_second(
    config: SigmoidSlopeConfig, ds: idx.ImageDataset, device: torch.device
) -> float:
    trainer = SigmoidSlopeTrainer(config, ds, device)
    trainer.train_epoch()  # warm-up (allocations, kernel selection)
    trainer.train_epoch()
    seconds = trainer.train_time[:, :, 1].sum()  # per-model shares add up to the epoch's time
    return len(config.slopes) * len(config.seeds) * trainer.steps_per_epoch / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds per slope in the batched run (41 slopes)"
    )
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per run")
    parser.add_argument("--loop-models", type=int, default=6, help="models timed one at a time")
    args = parser.parse_args()
    device = resolve_device(args.device)
    ds = dataset()
    common = dict(epochs=2, n_train=50 * args.steps, n_valid=50, eval_batch=50)
    batched = SigmoidSlopeConfig(slopes=PAPER_SLOPES, seeds=tuple(range(args.seeds)), **common)
    t0 = time.perf_counter()
    rate_batched = model_steps_per_second(batched, ds, device)
    picks = np.linspace(0, len(PAPER_SLOPES) - 1, args.loop_models).astype(int)
    rates = [
        model_steps_per_second(
            SigmoidSlopeConfig(slopes=(PAPER_SLOPES[i],), seeds=(0,), **common), ds, device
        )
        for i in picks
    ]
    rate_loop = len(rates) / sum(1 / r for r in rates)  # models trained back to back
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu, {torch.get_num_threads()} threads"
    )
    print(
        f"device: {name}; dataset: {ds.name}; torch {torch.__version__}; {time.perf_counter() - t0:.0f} s"
    )
    print(f"{'mode':<28}{'models':>8}{'model-epochs/s':>18}")
    print(
        f"{'batched (slopes at once)':<28}{len(PAPER_SLOPES) * args.seeds:>8}{rate_batched / STEPS_PER_EPOCH:>18.3f}"
    )
    print(f"{'one model at a time':<28}{1:>8}{rate_loop / STEPS_PER_EPOCH:>18.3f}")
    print(f"speed-up batched / loop: {rate_batched / rate_loop:.1f}x")


if __name__ == "__main__":
    main()
