"""A synthetic oracle: an analytic function of the sigmoid slope with seeded noise.

Shaped like the ground truth of Rawal et al. 2020 (Fig. 1): accuracy collapses for small
slopes, peaks near c = 0.23 and declines slowly to the right. Every value is a deterministic
function of (slope, seed, epoch), so the oracle is infinite yet reproducible, and it is fast
enough for tests and the quick-start job. It is *not* real training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spdbench import hashing
from spdbench.oracles.base import Metric, Oracle
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.slope import SlopeSpace

CHANCE = 10.0  # percent, 10 classes


def true_accuracy(c: np.ndarray) -> np.ndarray:
    """Noise-free converged validation accuracy (percent) as a function of slope c."""
    c = np.asarray(c, dtype=np.float64)
    rise = 1.0 - np.exp(-((c / 0.062) ** 1.5))  # sharp falloff left of the peak
    return CHANCE + 88.0 * rise - 3.0 * c  # slow decline right of it


def _time_constant(c: np.ndarray) -> np.ndarray:
    """Epochs to get 63% of the way to convergence: fast everywhere except at tiny slopes, so
    early epochs already rank slopes much like the last one (as in the real MNIST runs)."""
    return np.clip(0.3 + 0.02 / np.maximum(c, 1e-3), 0.3, 40.0)


class SyntheticSlopeOracle(Oracle):
    """Synthetic sigmoid-slope benchmark (analytic, seeded noise; for tests and demos)."""

    name = "synthetic-slope"
    description = (
        "analytic sigmoid-slope curve with seeded noise and learning curves (not real data)"
    )

    def __init__(
        self,
        n_seeds: int = 20,
        n_epochs: int = 50,
        noise: float = 0.3,
        epoch_seconds: float = 2.5,
        low: float = 0.01,
        high: float = 2.01,
    ) -> None:
        super().__init__()
        self.space = SlopeSpace(low=low, high=high)
        self.seeds = np.arange(int(n_seeds), dtype=np.int64)
        self.epochs = np.arange(1, int(n_epochs) + 1, dtype=np.int64)
        self.noise = float(noise)
        self.epoch_seconds = float(epoch_seconds)
        self.metrics = {
            "valid_acc": Metric.standard("valid_acc", "%"),
            "test_acc": Metric.standard("test_acc", "%"),
            "valid_loss": Metric.standard("valid_loss"),
            "train_loss": Metric.standard("train_loss"),
        }
        self.default_metric = "valid_acc"

    def _curves(
        self, g: np.ndarray, seeds: np.ndarray, n_epochs: int
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every metric and the per-epoch training time for epochs 1..n_epochs: (n, s, n_epochs)."""
        c = g[:, 0][:, None, None]
        key = self.space.keys(g)[:, None, None]
        s = seeds[:, :, None]
        epochs = self.epochs[None, None, :n_epochs]
        e = epochs.astype(np.float64)
        run_noise = self.noise * hashing.normal(key, s, 0)  # one offset per training run
        step_noise = 0.3 * self.noise * hashing.normal(key, s, epochs, 1)
        target = true_accuracy(c) + run_noise
        progress = 1.0 - np.exp(-e / _time_constant(c))
        valid_acc = np.clip(CHANCE + (target - CHANCE) * progress + step_noise, 0.0, 100.0)
        test_noise = 0.5 * self.noise * hashing.normal(key, s, epochs, 2)
        test_acc = np.clip(valid_acc - 0.2 + test_noise, 0.0, 100.0)
        valid_loss = -np.log(np.clip(valid_acc, 1.0, 99.9) / 100.0) * 1.3
        train_loss = 0.9 * valid_loss * (1.0 - 0.002 * e)
        jitter = 1.0 + 0.05 * hashing.normal(key, s, epochs, 3)
        seconds = self.epoch_seconds * np.clip(jitter, 0.5, 1.5)
        values = {
            "valid_acc": valid_acc,
            "test_acc": test_acc,
            "valid_loss": valid_loss,
            "train_loss": train_loss,
        }
        return values, np.broadcast_to(seconds, valid_acc.shape)

    def _records(
        self, g: np.ndarray, seeds: np.ndarray | None, k: int, curves: bool
    ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        if seeds is None:
            seeds = np.broadcast_to(self.seeds, (len(g), len(self.seeds)))
        values, seconds = self._curves(g, seeds, k + 1)
        final = {name: v[:, :, k] for name, v in values.items()}
        return final, seconds.sum(axis=2), values if curves else {}

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["source"] = "analytic function (spdbench.oracles.synthetic)"
        return out

    def to_cached_runs(self, archs: Any, benchmark: str = "synthetic-slope-table") -> CachedRuns:
        """Materialise the runs of `archs` as a table (tests and demos of the file format)."""
        g = self.space.as_genotypes(archs)
        values, seconds = self._curves(
            g, np.broadcast_to(self.seeds, (len(g), len(self.seeds))), len(self.epochs)
        )
        return CachedRuns(
            benchmark=benchmark,
            space=SlopeSpace(values=g[:, 0]),
            archs=g,
            seeds=self.seeds.copy(),
            epochs=self.epochs.copy(),
            train_time=np.ascontiguousarray(seconds),
            metrics={k: v.astype(np.float32) for k, v in values.items()},
            metric_info=dict(self.metrics),
            default_metric=self.default_metric,
            description=f"{self.description}, materialised at {len(g)} slopes",
            generator={
                "oracle": self.name,
                "noise": self.noise,
                "epoch_seconds": self.epoch_seconds,
            },
            provenance={"source": "synthetic"},
        )
