"""k-nearest-neighbour regression on the space's feature encoding."""

from __future__ import annotations

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.predictors.base import Context, Predictor


class KNNPredictor(Predictor):
    """Inverse-distance weighted mean score of the k nearest training architectures."""

    name = "knn"
    family = "model-based"
    description = "k-nearest-neighbour regression on the space's feature encoding"

    def __init__(self, k: int = 3, seed: int = 0) -> None:
        self.k = k
        self.seed = seed

    @classmethod
    def requirements(cls) -> list[str]:
        return ["encoding (the space's features)", *super().requirements()]

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        if self.k < 1:
            raise InvalidInputError(f"knn needs k >= 1, got {self.k}")
        x = context.space.encode(archs)
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.x_ = (x - self.mean_) / self.scale_
        self.y_ = scores.copy()

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        x = (context.space.encode(archs) - self.mean_) / self.scale_
        d = np.sqrt(((x[:, None, :] - self.x_[None, :, :]) ** 2).sum(axis=2))  # (m, n)
        k = min(self.k, self.x_.shape[0])
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        dist = np.take_along_axis(d, nearest, axis=1)
        w = 1.0 / np.maximum(dist, 1e-12)
        return (w * self.y_[nearest]).sum(axis=1) / w.sum(axis=1)
