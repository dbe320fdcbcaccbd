"""A finite space of recorded cells, known only by id (NAS-Bench-NLP's recurrent cells).

Nothing outside the recorded set can be queried, so variation stays inside it: mutation
moves to the recorded cell nearest in feature space (ties and repeats broken at random among
the 3 nearest), crossover picks either parent. Features (op counts of the cell graph) come
with the space's config, so predictors can encode cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spdbench.arrays import sorted_lookup
from spdbench.errors import ArchitectureError, InvalidInputError, shorten
from spdbench.spaces.base import SearchSpace


class RecordedCellSpace(SearchSpace):
    name = "recorded-cells"
    description = "a finite set of recorded cells, addressed by id (e.g. NAS-Bench-NLP)"
    dims = 1
    dtype = np.dtype(np.int64)

    def __init__(
        self,
        ids: Sequence[int],
        features: Sequence[Sequence[float]],
        feature_names: Sequence[str] = (),
        prefix: str = "cell-",
    ) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.features = np.asarray(features, dtype=np.float64).reshape(len(self.ids), -1)
        if len(np.unique(self.ids)) != len(self.ids) or not len(self.ids):
            raise InvalidInputError("a recorded-cell space needs distinct ids")
        self.feature_names = list(feature_names)
        self.prefix = prefix
        self._order = np.argsort(self.ids)
        # standardized features: the metric mutation moves in
        self._z = (self.features - self.features.mean(0)) / (self.features.std(0) + 1e-12)

    def config(self) -> dict[str, Any]:
        return {
            "ids": self.ids.tolist(),
            "features": self.features.tolist(),
            "feature_names": self.feature_names,
            "prefix": self.prefix,
        }

    @property
    def size(self) -> int:
        return len(self.ids)

    def _pos(self, g: np.ndarray) -> np.ndarray:
        return self._order[sorted_lookup(self.ids[self._order], g[:, 0])[1]]

    def contains(self, g: np.ndarray) -> np.ndarray:
        return self.ids[self._pos(g)] == g[:, 0]

    def explain_outside(self, row: np.ndarray) -> str:
        return f"only the {self.size} recorded cells exist (`spdbench benchmarks info` lists them)"

    def format(self, g: np.ndarray) -> list[str]:
        return [f"{self.prefix}{int(v)}" for v in np.asarray(g)[:, 0]]

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for text in texts:
            t = text.strip().removeprefix(self.prefix)
            if not t.lstrip("-").isdigit() or len(t) > 18:  # int64 holds 18 digits safely
                raise ArchitectureError(
                    f"{shorten(repr(text), 60)} is not a cell id like {self.prefix}{self.ids[0]}"
                )
            out.append(int(t))
        return self.as_genotypes(np.array(out, dtype=np.int64)[:, None])

    def encode(self, g: np.ndarray) -> np.ndarray:
        return self.features[self._pos(g)]

    def sample(self, n: int, rng: np.random.Generator, *, unique: bool = False) -> np.ndarray:
        self._check_count(n, unique)
        return self.ids[rng.choice(self.size, size=n, replace=not unique)][:, None]

    def mutate(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        g = self.as_genotypes(g)
        pos = self._pos(g)
        dist = ((self._z[pos][:, None, :] - self._z[None, :, :]) ** 2).sum(-1)
        dist[np.arange(len(g)), pos] = np.inf  # a mutation moves
        k = min(3, self.size - 1)
        nearest = np.argsort(dist + 1e-9 * rng.random(dist.shape), axis=1)[:, :k]
        pick = nearest[np.arange(len(g)), rng.integers(0, k, size=len(g))]
        return self.ids[pick][:, None]

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        a, b = self.as_genotypes(a), self.as_genotypes(b)
        return np.where(rng.random((len(a), 1)) < 0.5, a, b)

    def enumerate(self) -> np.ndarray:
        return np.sort(self.ids)[:, None]
