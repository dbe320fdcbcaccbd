"""Model-based predictors (White et al. 2021): a regression model from an architecture
encoding to its score, fitted on the training architectures. The models come from
scikit-learn, XGBoost and LightGBM; this module only chooses the encoding, scales the targets,
seeds the model and keeps it on one thread.

Each predictor takes `encoding` (None: the first of `preferred_encodings` the space offers,
else the space's own "features"); asking for one the space lacks is a ConfigError when the
experiment is planned.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from spdbench.oracles.base import Oracle
from spdbench.predictors.base import Context, Predictor
from spdbench.spaces.base import FEATURES, SearchSpace

BOOST_EXTRA = "'spdbench[boost]'"


class EncodedPredictor(Predictor):
    """Base of predictors that learn on a named encoding of the space (`encoding`)."""

    family = "model-based"
    # Tried in order; the first the space offers is the default encoding.
    preferred_encodings: ClassVar[tuple[str, ...]] = ("onehot", "adjacency")

    encoding: str | None
    seed: int

    @classmethod
    def requirements(cls) -> list[str]:
        prefs = "/".join(cls.preferred_encodings)
        return [f"encoding ({prefs}, else the space's features)", *super().requirements()]

    def encoding_for(self, space: SearchSpace) -> str:
        """The encoding used on `space`: `encoding`, checked, or the preferred default."""
        if self.encoding is not None:
            space.check_encoding(self.encoding)
            return self.encoding
        offered = space.offered_encodings()
        return next((e for e in self.preferred_encodings if e in offered), FEATURES)

    def check_settings(self, oracle: Oracle) -> None:
        self.encoding_for(oracle.space)

    def _features(self, archs: np.ndarray, space: SearchSpace) -> np.ndarray:
        return space.encode_as(archs, self.encoding_)


class RegressorPredictor(EncodedPredictor):
    """Base of predictors that wrap a scikit-learn-style regressor (fit / predict on arrays).
    Targets are standardized for fitting and mapped back for prediction."""

    @abstractmethod
    def _make_model(self, x: np.ndarray) -> Any:
        """A fresh, seeded, single-threaded regressor for features `x`."""

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        self.encoding_ = self.encoding_for(context.space)
        x = self._features(archs, context.space)
        std = scores.std()
        self.y_mean_, self.y_scale_ = float(scores.mean()), float(std) if std > 0 else 1.0
        self.model_ = self._make_model(x)
        self.model_.fit(x, (scores - self.y_mean_) / self.y_scale_)

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        pred = np.asarray(self.model_.predict(self._features(archs, context.space)))
        return pred.astype(np.float64).reshape(-1) * self.y_scale_ + self.y_mean_


class GaussianProcess(RegressorPredictor):
    """Gaussian process regression (scikit-learn) with kernel hyperparameters fitted by
    marginal likelihood. On binary encodings (one-hot, adjacency, path) a Matérn kernel with
    one length scale is a kernel of the Hamming distance; on real-valued features it has one
    length scale per (standardized) feature. A white-noise term models seed noise."""

    name = "gp"
    description = "Gaussian process on the encoding, kernel fitted by marginal likelihood"

    def __init__(
        self,
        encoding: str | None = None,
        nu: float = 2.5,
        restarts: int = 2,
        seed: int = 0,
    ) -> None:
        self.encoding = encoding
        self.nu = nu
        self.restarts = restarts
        self.seed = seed

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():  # a length scale at its bound is an answer, not a fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            super()._fit(archs, scores, context)

    def _make_model(self, x: np.ndarray) -> Any:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        binary = bool(np.isin(x, (0.0, 1.0)).all())
        scale = np.sqrt(max(x.shape[1], 1)) if binary else np.ones(x.shape[1])
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=scale, length_scale_bounds=(1e-2, 1e3), nu=self.nu
        ) + WhiteKernel(0.1, (1e-6, 1e1))
        gp = GaussianProcessRegressor(
            kernel=kernel, n_restarts_optimizer=self.restarts, random_state=self.seed
        )
        return gp if binary else make_pipeline(StandardScaler(), gp)


class RandomForest(RegressorPredictor):
    """Random forest regression (scikit-learn)."""

    name = "random-forest"
    description = "random forest regression on the encoding (scikit-learn)"

    def __init__(
        self,
        encoding: str | None = None,
        n_estimators: int = 100,
        max_features: float = 0.5,
        min_samples_leaf: int = 1,
        seed: int = 0,
    ) -> None:
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.seed = seed

    def _make_model(self, x: np.ndarray) -> Any:
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.seed,
            n_jobs=1,
        )


class XGBoost(RegressorPredictor):
    """Gradient-boosted trees (XGBoost, histogram method, one thread)."""

    name = "xgboost"
    description = "gradient-boosted trees on the encoding (XGBoost)"
    packages: ClassVar[dict[str, str]] = {"xgboost": BOOST_EXTRA}

    def __init__(
        self,
        encoding: str | None = None,
        n_estimators: int = 200,
        max_depth: int = 6,
        learning_rate: float = 0.1,
        subsample: float = 0.9,
        colsample_bytree: float = 0.9,
        seed: int = 0,
    ) -> None:
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.seed = seed

    def _make_model(self, x: np.ndarray) -> Any:
        from xgboost import XGBRegressor

        return XGBRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            tree_method="hist",
            random_state=self.seed,
            n_jobs=1,
        )


class LightGBM(RegressorPredictor):
    """Gradient-boosted trees (LightGBM, deterministic mode, one thread). A leaf may hold as few
    as 2 architectures: with LightGBM's default of 20, a model fitted on 10-40 cells cannot
    split and predicts a constant."""

    name = "lightgbm"
    description = "gradient-boosted trees on the encoding (LightGBM)"
    packages: ClassVar[dict[str, str]] = {"lightgbm": BOOST_EXTRA}

    def __init__(
        self,
        encoding: str | None = None,
        n_estimators: int = 200,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        min_child_samples: int = 2,
        colsample_bytree: float = 0.9,
        seed: int = 0,
    ) -> None:
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.seed = seed

    def _make_model(self, x: np.ndarray) -> Any:
        from lightgbm import LGBMRegressor

        return LGBMRegressor(
            n_estimators=self.n_estimators,
            num_leaves=self.num_leaves,
            learning_rate=self.learning_rate,
            min_child_samples=self.min_child_samples,
            min_data_in_bin=1,
            colsample_bytree=self.colsample_bytree,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )
