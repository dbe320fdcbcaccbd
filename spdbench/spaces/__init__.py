"""Search spaces; `space_from_config` rebuilds one from what a cached-runs file records."""

from __future__ import annotations

from typing import Any

from spdbench import plugins
from spdbench.errors import DataFileError
from spdbench.spaces.base import SearchSpace

__all__ = ["SearchSpace", "space_from_config"]


def space_from_config(name: str, config: dict[str, Any]) -> SearchSpace:
    """Instantiate the registered space `name` with the recorded keyword arguments."""
    cls = plugins.load("space", name)
    try:
        return cls(**config)
    except TypeError as exc:
        raise DataFileError(f"space {name!r} cannot be rebuilt from {config!r}: {exc}") from exc
