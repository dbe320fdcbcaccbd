"""Ground truth for the sigmoid-slope experiment (Rawal et al. 2020, Sec. 4.1, App. A.2.1).

Protocol (Table 1): a 784-100-100-10 MLP whose hidden nonlinearity is 1/(1+exp(-c x)),
cross-entropy, Adam lr 0.01 with L2 1e-5, batch 50, 50 epochs; 50,000 training and 10,000
validation images from the training file (the first 50k / the last 10k), the test file as test
set, inputs scaled to [0, 1]; slopes 0.01..2.01 (41 values) x 20 seeds.

Every slope of a seed trains at once (`BatchedMLP` with one seed); seeds train one after
another, each with its own model and optimizer, so a seed's numbers do not depend on which other
seeds run with it (a seed range is a shard, `spdbench.groundtruth.shards`): seed s gives the
same bits in shard 0:5 and in shard s:s+1 on the same device, torch build and thread count.
(Batching seeds into one tensor does not: elementwise kernels split their work by the tensor's
size, so a seed's rounding changed with its batch-mates.) Seed s fixes the initial weights and
the minibatch order; every slope of a seed shares them, so slopes are compared under common
random numbers. Each epoch is checkpointed; an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spdbench import provenance
from spdbench.errors import ConfigError, DataFileError
from spdbench.groundtruth.batched_mlp import BatchedMLP, per_model_cross_entropy
from spdbench.groundtruth.idx import ImageDataset
from spdbench.io import atomic_path
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns, write_cached_runs
from spdbench.spaces.slope import SlopeSpace
from spdbench.torch_utils import resolve_device

# How a checkpoint lays out models: one model and optimizer per seed (older checkpoints, one
# tensor over all seeds, are refused).
CHECKPOINT_LAYOUT = "per-seed"
# The trainer's clock (a test replaces it to make recorded train times reproducible).
clock: Callable[[], float] = time.perf_counter

MAX_SLOPES = 10_000
PAPER_SLOPES = tuple(float(v) for v in np.round(np.arange(41) * 0.05 + 0.01, 2))
METRICS = {
    m.name: m
    for m in (
        Metric.standard("valid_acc", "%"),
        Metric.standard("test_acc", "%"),
        Metric.standard("valid_loss"),
        Metric.standard("test_loss"),
        Metric.standard(
            "train_loss", description="mean training cross-entropy over the epoch's minibatches"
        ),
    )
}


@dataclass(frozen=True)
class SigmoidSlopeConfig:
    """Hyperparameters of the ground-truth runs (defaults: the paper's protocol)."""

    slopes: tuple[float, ...] = PAPER_SLOPES
    seeds: tuple[int, ...] = tuple(range(20))
    epochs: int = 50
    hidden: int = 100
    lr: float = 0.01
    weight_decay: float = 1e-5
    batch_size: int = 50
    n_train: int = 50_000
    n_valid: int = 10_000
    eval_batch: int = 2_000

    def __post_init__(self) -> None:
        if not self.slopes or len(set(self.slopes)) != len(self.slopes) or min(self.slopes) <= 0:
            raise ConfigError("slopes must be distinct positive numbers")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("seeds must be distinct integers")
        for key in ("epochs", "hidden", "batch_size", "n_train", "n_valid", "eval_batch"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1")
        if self.n_train % self.batch_size:
            raise ConfigError(
                f"n_train ({self.n_train}) must be a multiple of batch_size ({self.batch_size})"
            )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["slopes"], d["seeds"] = list(self.slopes), list(self.seeds)
        return d

    def hash(self) -> str:
        return provenance.config_hash(self.to_dict())


def parse_slopes(text: str) -> tuple[float, ...]:
    """'START:STOP:STEP' (STOP included) or 'a,b,c' -> slopes rounded to 6 decimals."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError("need STEP > 0 and STOP >= START")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            if count > MAX_SLOPES:  # checked before allocating: 1e-12 steps would need TiBs
                raise ValueError(f"{count:,} slopes; at most {MAX_SLOPES:,}")
            values = start + step * np.arange(count)
        else:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError as exc:
        raise ConfigError(
            f"cannot read slopes {text!r} ({exc}); use START:STOP:STEP or a,b,c"
        ) from exc
    if len(values) > MAX_SLOPES:
        raise ConfigError(
            f"slopes {text!r} give {len(values):,} slopes; at most {MAX_SLOPES:,} (a coarser STEP?)"
        )
    return tuple(float(v) for v in np.round(values, 6))


def make_adam(params: Any, lr: float, weight_decay: float) -> torch.optim.Adam:
    """Adam with L2 penalty `weight_decay` (added to the gradient, as in the paper's 'L2 weight
    penalty'); the fused kernel when this torch has one (2x faster on CPU, same update rule)."""
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):  # older torch or an unsupported device
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


class SigmoidSlopeTrainer:
    """Trains every (slope, seed) model of a config, all slopes of a seed at once, seed after
    seed, and records per-epoch metrics."""

    def __init__(
        self, config: SigmoidSlopeConfig, dataset: ImageDataset, device: torch.device
    ) -> None:
        self.config, self.dataset, self.device = config, dataset, device
        n_file = len(dataset.train_images)
        if config.n_train + config.n_valid > n_file:
            raise DataFileError(
                f"{dataset.name} has {n_file} training images; n_train + n_valid = "
                f"{config.n_train + config.n_valid} do not fit"
            )
        images = torch.from_numpy(
            dataset.train_images.reshape(n_file, -1).astype(np.float32) / 255.0
        )
        labels = torch.from_numpy(dataset.train_labels.astype(np.int64))
        valid_end = config.n_train + config.n_valid
        self.x_train, self.y_train = (
            images[: config.n_train].to(device),
            labels[: config.n_train].to(device),
        )
        self.x_valid, self.y_valid = (
            images[config.n_train : valid_end].to(device),
            labels[config.n_train : valid_end].to(device),
        )
        test = dataset.test_images.reshape(len(dataset.test_images), -1).astype(np.float32) / 255.0
        self.x_test = torch.from_numpy(test).to(device)
        self.y_test = torch.from_numpy(dataset.test_labels.astype(np.int64)).to(device)
        s, c = len(config.seeds), len(config.slopes)
        self.models = [
            BatchedMLP(1, c, self.x_train.shape[1], config.hidden, 10).to(device)
            for _ in config.seeds
        ]
        for model, seed in zip(self.models, config.seeds, strict=True):
            model.init_like_linear([seed])
        self.optimizers = [
            make_adam(m.parameters(), config.lr, config.weight_decay) for m in self.models
        ]
        self.slopes = torch.tensor(config.slopes, dtype=torch.float32, device=device).view(
            1, c, 1, 1
        )
        self.epoch = 0
        shape = (c, s, config.epochs)
        self.records = {name: np.full(shape, np.nan) for name in METRICS}
        self.train_time = np.zeros(shape)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        """The motif: sigmoid with slope c, 1 / (1 + exp(-c z)), per variant."""
        return torch.sigmoid(self.slopes * z)

    def _order(self, seed: int, epoch: int) -> torch.Tensor:
        """Minibatch order of a seed in an epoch: (1, n_train), a function of (seed, epoch)."""
        perm = torch.randperm(
            self.config.n_train,
            generator=torch.Generator().manual_seed(int(seed) * 100_003 + epoch),
        )
        return perm[None, :].to(self.device)

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches of one seed's epoch."""
        return self.config.n_train // self.config.batch_size

    def train_epoch(self, on_steps: Callable[[int], None] | None = None) -> None:
        """One epoch of every model (seed after seed), then evaluation on the validation and
        test sets. `on_steps(k)` is called every few minibatches with the steps just done."""
        e = self.epoch
        c = len(self.config.slopes)
        for si, seed in enumerate(self.config.seeds):
            seconds, train_loss = self._train_seed(si, seed, on_steps)
            self.records["train_loss"][:, si, e] = train_loss
            for split, x, y in (
                ("valid", self.x_valid, self.y_valid),
                ("test", self.x_test, self.y_test),
            ):
                loss, acc = self.evaluate(self.models[si], x, y)
                self.records[f"{split}_loss"][:, si, e] = loss
                self.records[f"{split}_acc"][:, si, e] = acc
            # Recorded cost of one model-epoch: the seed's wall clock shared among its slopes.
            self.train_time[:, si, e] = seconds / c
        self.epoch += 1

    def _train_seed(
        self, si: int, seed: int, on_steps: Callable[[int], None] | None
    ) -> tuple[float, np.ndarray]:
        """One epoch of seed `seed`'s models: its training seconds and mean loss per slope."""
        cfg = self.config
        model, optimizer = self.models[si], self.optimizers[si]
        order = self._order(seed, self.epoch)
        self._sync()
        start = clock()
        loss_sum = torch.zeros(1, len(cfg.slopes), device=self.device)
        for i in range(0, cfg.n_train, cfg.batch_size):
            idx = order[:, i : i + cfg.batch_size]
            losses = per_model_cross_entropy(model(self.x_train[idx], self.act), self.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            loss_sum += losses.detach()
            step = i // cfg.batch_size + 1
            if on_steps and step % 50 == 0:
                on_steps(50)
        self._sync()
        seconds = clock() - start
        return seconds, (loss_sum[0] / self.steps_per_epoch).cpu().numpy()

    @torch.no_grad()
    def evaluate(
        self, model: BatchedMLP, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean cross-entropy and accuracy (%) of each slope of one seed's model: two (C,)
        arrays."""
        loss = 0.0
        correct = 0.0
        for i in range(0, len(x), self.config.eval_batch):
            xb, yb = x[i : i + self.config.eval_batch], y[i : i + self.config.eval_batch]
            logits = model(xb[None], self.act)
            yy = yb[None]
            loss = loss + per_model_cross_entropy(logits, yy) * len(yb)
            correct = correct + (logits.argmax(dim=3) == yy[:, None, :]).float().sum(dim=2)
        return (loss / len(x))[0].cpu().numpy(), (100.0 * correct / len(x))[0].cpu().numpy()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    # ---- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "config_hash": self.config.hash(),
            "layout": CHECKPOINT_LAYOUT,
            "epoch": self.epoch,
            "models": [{k: v.cpu() for k, v in m.state_dict().items()} for m in self.models],
            "optimizers": [o.state_dict() for o in self.optimizers],
            # tensors, not numpy arrays: the checkpoint then loads with weights_only=True
            "records": {
                k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.records.items()
            },
            "train_time": torch.from_numpy(np.ascontiguousarray(self.train_time)),
        }

    def save_checkpoint(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            torch.save(self.state(), tmp)

    def load_checkpoint(self, path: Path) -> bool:
        """Resume from `path` if it holds this config's state; False when there is none."""
        if not path.is_file():
            return False
        try:  # weights_only: a planted file cannot run code (tensors and plain types only)
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as exc:
            raise DataFileError(
                f"checkpoint {path} is unreadable or not a plain checkpoint "
                f"({type(exc).__name__}); delete it to start over"
            ) from exc
        if state.get("config_hash") != self.config.hash():
            raise ConfigError(
                f"checkpoint {path} belongs to a different configuration; delete it or use another --out"
            )
        if state.get("layout") != CHECKPOINT_LAYOUT:
            raise ConfigError(
                f"checkpoint {path} was written by an older spdbench (all seeds in one model); "
                "delete it to start over"
            )
        for model, saved in zip(self.models, state["models"], strict=True):
            model.load_state_dict(saved)
        for optimizer, saved in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        self.records = {k: v.cpu().numpy().copy() for k, v in state["records"].items()}
        self.train_time = state["train_time"].cpu().numpy().copy()
        self.epoch = state["epoch"]
        return True

    def to_cached_runs(self, benchmark: str, generator: dict[str, Any]) -> CachedRuns:
        cfg = self.config
        slopes = np.asarray(cfg.slopes, dtype=np.float64)
        return CachedRuns(
            benchmark=benchmark,
            space=SlopeSpace(values=slopes),
            archs=slopes[:, None],
            seeds=np.asarray(cfg.seeds, dtype=np.int64),
            epochs=np.arange(1, cfg.epochs + 1, dtype=np.int64),
            train_time=self.train_time,
            metrics={k: v.astype(np.float32) for k, v in self.records.items()},
            metric_info=dict(METRICS),
            default_metric="valid_acc",
            description=(
                f"{self.dataset.name} 784-100-100-10 sigmoid MLPs: {len(cfg.slopes)} slopes x "
                f"{len(cfg.seeds)} seeds x {cfg.epochs} epochs (Rawal et al. 2020, Sec. 4.1)"
            ),
            generator={**generator, "config": cfg.to_dict(), "config_hash": cfg.hash()},
            provenance={
                "dataset": self.dataset.name,
                "dataset_files": {
                    k: {"file": Path(v["path"]).name, "sha256": v["sha256"]}
                    for k, v in self.dataset.files.items()
                },
                "device": _device_name(self.device),
                "machine": provenance.machine(),
                "train_time": "wall-clock seconds of a seed's epoch (all its slopes at once) divided by its slopes",
                "split": f"train = first {cfg.n_train} of the training file, valid = next {cfg.n_valid}, test = test file",
                "common_random_numbers": "seed s fixes the initial weights and minibatch order of every slope",
                "seed_independence": "each seed trains alone (all its slopes at once): its numbers do not depend on the other seeds of the run",
                "citation": "Rawal, Lehman, Such, Clune, Stanley. Synthetic Petri Dish, 2020, Sec. 4.1",
            },
            versions=provenance.versions(),
        )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def train(
    config: SigmoidSlopeConfig,
    dataset: ImageDataset,
    checkpoint: Path,
    *,
    device: str = "auto",
    benchmark: str | None = None,
    command: str = "",
    on_epoch: Callable[[int, int], None] | None = None,
    on_steps: Callable[[int], None] | None = None,
) -> CachedRuns:
    """Train (or resume from `checkpoint`) every model, checkpointing each epoch; the runs in
    memory (the checkpoint stays until the caller has stored them)."""
    trainer = SigmoidSlopeTrainer(config, dataset, resolve_device(device))
    trainer.load_checkpoint(checkpoint)
    if on_epoch:
        on_epoch(trainer.epoch, config.epochs)
    while trainer.epoch < config.epochs:
        trainer.train_epoch(on_steps)
        trainer.save_checkpoint(checkpoint)
        if on_epoch:
            on_epoch(trainer.epoch, config.epochs)
    return trainer.to_cached_runs(
        benchmark or f"sigmoid-slope-{dataset.name}",
        {
            "command": command,
            "trainer": "spdbench.groundtruth.sigmoid_slope",
            "created": provenance.now(),
        },
    )


def checkpoint_path(out: Path) -> Path:
    """Where the run writing `out` checkpoints."""
    return out.with_name(out.name + ".ckpt")


def generate(
    config: SigmoidSlopeConfig,
    dataset: ImageDataset,
    out: Path,
    *,
    device: str = "auto",
    benchmark: str | None = None,
    command: str = "",
    on_epoch: Callable[[int, int], None] | None = None,
    on_steps: Callable[[int], None] | None = None,
) -> CachedRuns:
    """Train (or resume) every model, checkpointing each epoch, and write `out` atomically."""
    checkpoint = checkpoint_path(out)
    runs = train(
        config,
        dataset,
        checkpoint,
        device=device,
        benchmark=benchmark,
        command=command,
        on_epoch=on_epoch,
        on_steps=on_steps,
    )
    write_cached_runs(out, runs)
    checkpoint.unlink(missing_ok=True)
    return runs


def summary(runs: CachedRuns) -> str:
    """Where the mean validation accuracy peaks, in one line."""
    acc = np.nanmean(runs.metrics["valid_acc"][:, :, -1], axis=1)
    best = int(np.argmax(acc))
    return json.dumps(
        {"peak_slope": float(runs.archs[best, 0]), "peak_valid_acc": round(float(acc[best]), 3)}
    )
