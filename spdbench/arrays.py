"""Vectorized lookups shared by spaces and oracles."""

from __future__ import annotations

import numpy as np


def sorted_lookup(sorted_values: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found, position) of each wanted value in a sorted, non-empty array; where a value is
    missing its position is a valid index (clipped), so callers can gather and then mask."""
    pos = np.clip(np.searchsorted(sorted_values, wanted), 0, len(sorted_values) - 1)
    return sorted_values[pos] == wanted, pos
