"""Spaces of fixed-length choices: each of `dims` positions takes one of `choices` options.

NAS-Bench-201 cells (6 edges x 5 operations) and NAS-Bench-Macro networks (8 layers x 3
blocks) are such spaces. A genotype row holds the option index of every position; the
mixed-radix number of the row (`index`) is its key, so table lookups are exact.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from spdbench.spaces.base import SearchSpace


class CategoricalSpace(SearchSpace):
    """Base class; subclasses set `dims`, `options` and the text format."""

    dtype = np.dtype(np.int64)
    options: tuple[str, ...] = ()
    encodings = ("onehot",)

    @property
    def choices(self) -> int:
        return len(self.options)

    def config(self) -> dict[str, Any]:
        return {}

    @property
    def size(self) -> int:
        return self.choices**self.dims

    def contains(self, g: np.ndarray) -> np.ndarray:
        return ((g >= 0) & (g < self.choices)).all(axis=1)

    def all_inside(self, g: np.ndarray) -> bool:
        if g.size <= 64:  # one architecture at a time (a search's event loop): no reductions
            return all(0 <= v < self.choices for v in g.ravel().tolist())
        return bool(g.min() >= 0 and g.max() < self.choices)  # no temporaries

    def dense_index(self, g: np.ndarray) -> np.ndarray:
        return self.index(g)

    def explain_outside(self, row: np.ndarray) -> str:
        return f"every position takes an option index in 0..{self.choices - 1}"

    # ---- indices ---------------------------------------------------------------------------
    @functools.cached_property
    def _radix(self) -> np.ndarray:
        """Place value of each position (position 0 most significant), computed once: the
        search event loop indexes one architecture at a time."""
        return self.choices ** np.arange(self.dims - 1, -1, -1, dtype=np.int64)

    def index(self, g: np.ndarray) -> np.ndarray:
        """Mixed-radix number of each row."""
        return np.asarray(g, dtype=np.int64) @ self._radix

    def from_index(self, idx: np.ndarray) -> np.ndarray:
        """Rows from their mixed-radix numbers."""
        return (np.asarray(idx, dtype=np.int64)[:, None] // self._radix) % self.choices

    def keys(self, g: np.ndarray) -> np.ndarray:
        return self.index(g)

    def encode(self, g: np.ndarray) -> np.ndarray:
        """One-hot features (the "onehot" encoding)."""
        return self.encode_onehot(g)

    def encode_onehot(self, g: np.ndarray) -> np.ndarray:
        """One-hot of each position's option, (n, dims * choices): position-major, so column
        ``p * choices + o`` is 1 when position p takes option o."""
        n = g.shape[0]
        out = np.zeros((n, self.dims, self.choices))
        out[np.arange(n)[:, None], np.arange(self.dims)[None, :], g] = 1.0
        return out.reshape(n, -1)

    # ---- sampling and variation ------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, *, unique: bool = False) -> np.ndarray:
        self._check_count(n, unique)
        if unique:
            return self.from_index(rng.choice(self.size, size=n, replace=False))
        return rng.integers(0, self.choices, size=(n, self.dims))

    def mutate(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Change the option of one random position of each row to a different option."""
        g = self.as_genotypes(g)
        n = g.shape[0]
        pos = rng.integers(0, self.dims, size=n)
        shift = rng.integers(1, self.choices, size=n)
        rows = np.arange(n)
        g[rows, pos] = (g[rows, pos] + shift) % self.choices
        return g

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform crossover: each position from either parent with probability 1/2."""
        a, b = self.as_genotypes(a), self.as_genotypes(b)
        return np.where(rng.random(a.shape) < 0.5, a, b)

    def enumerate(self) -> np.ndarray:
        return self.from_index(np.arange(self.size))
