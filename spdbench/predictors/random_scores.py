"""The floor every predictor must beat: a random score per architecture."""

from __future__ import annotations

import numpy as np

from spdbench import hashing
from spdbench.predictors.base import Context, Predictor


class RandomPredictor(Predictor):
    """Random scores: a seeded hash of each architecture, so repeated queries agree."""

    name = "random"
    family = "baseline"
    description = "random scores from a seeded generator (the floor to beat)"
    uses_train_scores = False  # so its set-up costs no ground truth

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        pass  # learns nothing, by design

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        return hashing.uniform(context.space.keys(archs), self.seed)
