"""A third-party predictor: least-squares on the space's encoding, plus a quadratic term."""

import numpy as np

from spdbench.predictors import Context, Predictor


class LinearPredictor(Predictor):
    """Quadratic least-squares regression on the feature encoding."""

    name = "tiny-linear"
    description = "quadratic least squares on the encoding (example plugin)"

    def __init__(self, ridge: float = 1e-6, seed: int = 0) -> None:
        self.ridge = ridge
        self.seed = seed

    def _features(self, archs: np.ndarray, context: Context) -> np.ndarray:
        x = context.space.encode(archs)
        return np.hstack([np.ones((len(x), 1)), x, x**2])

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        a = self._features(archs, context)
        self.coef_ = np.linalg.solve(a.T @ a + self.ridge * np.eye(a.shape[1]), a.T @ scores)

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        return self._features(archs, context) @ self.coef_
