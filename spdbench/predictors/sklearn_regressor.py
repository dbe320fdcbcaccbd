"""Any scikit-learn regressor as a predictor: `-p sklearn:<dotted.path>`, e.g.
`sklearn:sklearn.ensemble.ExtraTreesRegressor`, with its parameters from the compare config::

    [compare.variants.extra-trees]
    predictor = "sklearn:sklearn.ensemble.ExtraTreesRegressor"
    n_estimators = 200
    encoding = "path"        # the predictor's own setting; every other key goes to the model

The path must import, name a scikit-learn regressor (`sklearn.base.is_regressor`), and every
parameter must be one the regressor's `get_params` knows; otherwise planning fails in one line.
A regressor with a `random_state` gets the job's seed unless the config sets it.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

import numpy as np

from spdbench.errors import ConfigError
from spdbench.predictors.model_based import RegressorPredictor

PREFIX = "sklearn"
EXAMPLE = "sklearn:sklearn.ensemble.ExtraTreesRegressor"


def regressor_class(path: str) -> type:
    """The regressor class at a dotted path; ConfigError (one line) if it does not import or is
    not a scikit-learn regressor."""
    module, _, attr = path.rpartition(".")
    label = f"{PREFIX}:{path}"
    if not module or not attr:
        raise ConfigError(f"{label}: write a dotted path to a regressor class, e.g. {EXAMPLE}")
    try:
        imported = importlib.import_module(module)
    except Exception as exc:  # ImportError, or whatever the module raises while importing
        raise ConfigError(
            f"{label}: cannot import module {module!r} ({type(exc).__name__}: {exc})"
        ) from exc
    if not hasattr(imported, attr):
        raise ConfigError(f"{label}: module {module!r} has no attribute {attr!r}")
    cls = getattr(imported, attr)
    if isinstance(cls, types.ModuleType):
        raise ConfigError(f"{label} is a module; name a regressor class in it ({label}.<Class>)")
    from sklearn.base import is_regressor

    instance = None
    if isinstance(cls, type) and hasattr(cls, "fit") and hasattr(cls, "predict"):
        try:
            instance = cls()
        except Exception as exc:  # the config's parameters are plain values, set after this
            raise ConfigError(
                f"{label} cannot be built without arguments ({type(exc).__name__}: {exc}); "
                "name a regressor whose parameters all have defaults"
            ) from exc
    if instance is None or not is_regressor(instance):
        raise ConfigError(
            f"{label} is not a scikit-learn regressor (a class with fit/predict whose "
            f"sklearn.base.is_regressor is true), e.g. {EXAMPLE}"
        )
    return cls


class SklearnRegressor(RegressorPredictor):
    """A scikit-learn regressor named by its dotted path, on the space's encoding."""

    name = "sklearn"
    description = (
        "any scikit-learn regressor on the encoding: -p sklearn:<dotted.path>, parameters from "
        "the config's [compare.variants.NAME]"
    )
    preferred_encodings = ("onehot", "adjacency")

    def __init__(
        self,
        estimator: str = "sklearn.ensemble.ExtraTreesRegressor",
        params: dict[str, Any] | None = None,
        encoding: str | None = None,
        seed: int = 0,
    ) -> None:
        self.estimator = estimator
        self.params = params
        self.encoding = encoding
        self.seed = seed

    @classmethod
    def configure(cls, argument: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        """`sklearn:<dotted.path>`: every setting but `encoding` is a parameter of the model."""
        if not argument:
            raise ConfigError(f"name the regressor after 'sklearn:', e.g. -p {EXAMPLE}")
        model = regressor_class(argument)
        own = {k: settings.pop(k) for k in ("encoding",) if k in settings}
        valid = sorted(model().get_params(deep=False))
        unknown = sorted(set(settings) - set(valid))
        if unknown:
            raise ConfigError(
                f"{PREFIX}:{argument} has no parameter {', '.join(unknown)}; valid: "
                f"{', '.join(valid) or '(none)'}, and encoding"
            )
        return {"estimator": argument, "params": settings or None, **own}

    def _make_model(self, x: np.ndarray) -> Any:
        model = regressor_class(self.estimator)(**(self.params or {}))
        if "random_state" in model.get_params(deep=False) and "random_state" not in (
            self.params or {}
        ):
            model.set_params(random_state=self.seed)
        return model
