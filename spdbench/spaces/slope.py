"""The sigmoid-slope space of Rawal et al. 2020, Sec. 4.1: an architecture is the slope c of the
sigmoid 1/(1+exp(-c x)) used as nonlinearity. Continuous on [low, high], or a finite set of
recorded slopes (`values`) when it describes a table of cached runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spdbench.arrays import sorted_lookup
from spdbench.errors import ArchitectureError, InvalidInputError
from spdbench.spaces.base import SearchSpace

if TYPE_CHECKING:
    from spdbench.spaces.motifs import MotifNetworks

# Slopes are compared after rounding to this many decimals (recorded grids use steps of 0.05).
DECIMALS = 6


class SlopeSpace(SearchSpace):
    """Sigmoid slopes: a continuous interval or a finite grid of recorded values."""

    name = "sigmoid-slope"
    description = "slope c of the sigmoid nonlinearity 1/(1+exp(-c x)) (Rawal et al. 2020, 4.1)"
    dims = 1
    dtype = np.dtype(np.float64)

    def __init__(
        self,
        low: float = 0.01,
        high: float = 2.01,
        values: Sequence[float] | None = None,
        mutation_scale: float = 0.05,
    ) -> None:
        if values is not None:
            vals = np.unique(np.round(np.asarray(values, dtype=np.float64), DECIMALS))
            if vals.size == 0 or not np.isfinite(vals).all():
                raise InvalidInputError("a finite slope space needs at least one finite value")
            low, high = float(vals[0]), float(vals[-1])
            self.values: np.ndarray | None = vals
        else:
            self.values = None
        if not (np.isfinite(low) and np.isfinite(high) and low <= high):
            raise InvalidInputError(f"slope interval [{low}, {high}] is not a valid interval")
        self.low, self.high = float(low), float(high)
        self.mutation_scale = float(mutation_scale)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"mutation_scale": self.mutation_scale}
        if self.values is not None:
            cfg["values"] = [float(v) for v in self.values]
        else:
            cfg.update(low=self.low, high=self.high)
        return cfg

    @property
    def size(self) -> int | None:
        return None if self.values is None else int(self.values.size)

    @property
    def default_protocol(self) -> str:
        """A recorded grid of slopes is the paper's experiment (Sec. 4.1): train inside the
        interval, test outside; a continuous interval has no fixed test slopes."""
        return "generic" if self.values is None else "sigmoid-slope"

    def _round(self, g: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(g, dtype=np.float64), DECIMALS)

    def contains(self, g: np.ndarray) -> np.ndarray:
        c = self._round(g[:, 0])
        if self.values is None:
            return (
                np.isfinite(c)
                & (c >= round(self.low, DECIMALS))
                & (c <= round(self.high, DECIMALS))
            )
        return sorted_lookup(self.values, c)[0]

    def explain_outside(self, row: np.ndarray) -> str:
        if self.values is None:
            return f"slopes must be finite and lie in [{self.low:g}, {self.high:g}]"
        return (
            f"this benchmark recorded {self.values.size} slopes from {self.low:g} to "
            f"{self.high:g} (e.g. {', '.join(f'{v:g}' for v in self.values[:3])}, ...)"
        )

    def format(self, g: np.ndarray) -> list[str]:
        return [repr(float(c)) for c in self._round(np.asarray(g)[:, 0])]  # shortest exact text

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        try:
            vals = [float(t) for t in texts]
        except ValueError as exc:
            raise ArchitectureError(f"a sigmoid slope must be a number: {exc}") from exc
        return self.as_genotypes(vals)

    def encode(self, g: np.ndarray) -> np.ndarray:
        return np.asarray(g, dtype=np.float64)[:, :1].copy()

    def keys(self, g: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(g, dtype=np.float64)[:, 0] * 10**DECIMALS).astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator, *, unique: bool = False) -> np.ndarray:
        self._check_count(n, unique)
        if self.values is not None:
            return rng.choice(self.values, size=n, replace=not unique)[:, None]
        # Continuous draws are distinct with probability one; rounding makes ties vanishingly rare.
        return self._round(rng.uniform(self.low, self.high, size=n))[:, None]

    def mutate(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        g = self.as_genotypes(g)
        n = g.shape[0]
        if self.values is not None:
            # Move to a neighbouring recorded slope, 1 or more grid steps away (geometric).
            idx = np.searchsorted(self.values, self._round(g[:, 0]))
            step = rng.geometric(0.5, size=n) * rng.choice([-1, 1], size=n)
            new = np.abs(idx + step)  # reflect at the lower end
            last = self.values.size - 1
            new = np.where(new > last, 2 * last - new, new)
            new = np.clip(new, 0, last) if last > 0 else np.zeros_like(new)
            return self.values[new][:, None]
        width = self.high - self.low
        c = g[:, 0] + rng.normal(0.0, self.mutation_scale * width, size=n)
        c = np.where(c < self.low, 2 * self.low - c, c)  # reflect back into [low, high]
        c = np.where(c > self.high, 2 * self.high - c, c)
        return self._round(np.clip(c, self.low, self.high))[:, None]

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        a, b = self.as_genotypes(a), self.as_genotypes(b)
        if a.shape != b.shape:
            raise InvalidInputError(
                f"crossover needs equal numbers of parents: {a.shape} vs {b.shape}"
            )
        t = rng.uniform(size=a.shape[0])
        if self.values is not None:
            ia = np.searchsorted(self.values, self._round(a[:, 0]))
            ib = np.searchsorted(self.values, self._round(b[:, 0]))
            return self.values[np.rint(ia + t * (ib - ia)).astype(np.int64)][:, None]
        return self._round(a[:, 0] + t * (b[:, 0] - a[:, 0]))[:, None]

    def enumerate(self) -> np.ndarray:
        if self.values is None:
            return super().enumerate()
        return self.values[:, None].copy()

    def motif_networks(
        self,
        g: np.ndarray,
        *,
        hidden: int = 1,
        in_width: int = 10,
        out_width: int = 10,
        **_unused: int,
    ) -> MotifNetworks:
        """Sec. 4.1: each slope becomes an in_width -> hidden -> out_width network whose
        nonlinearity is the sigmoid with that slope (torch is imported only when needed)."""
        import torch

        from spdbench.spaces.slope_motifs import SigmoidMotifNetworks

        slopes = torch.as_tensor(self.as_genotypes(g)[:, 0])
        return SigmoidMotifNetworks(slopes, hidden=hidden, in_width=in_width, out_width=out_width)
