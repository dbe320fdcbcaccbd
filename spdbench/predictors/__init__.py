"""Performance predictors; each is a plugin registered under `spdbench.predictors`."""

from spdbench.predictors.base import Context, Predictor

__all__ = ["Context", "Predictor"]
