"""Hyperparameters read from `__init__` (the scikit-learn convention), shared by predictors
and searchers, so a plugin class declares its settings once, as keyword arguments."""

from __future__ import annotations

import inspect
from typing import Any


class Parameterized:
    """`param_names`, `get_params` and a repr built from the `__init__` signature."""

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the hyperparameters, read from the `__init__` signature."""
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to `__init__`."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
