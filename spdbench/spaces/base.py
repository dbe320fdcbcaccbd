"""The SearchSpace interface.

Architectures travel through spdbench as *genotype arrays*: a 2-D numpy array with one row per
architecture (shape ``(n, space.dims)``, dtype ``space.dtype``). Every operation is vectorized
over rows. A space knows how to

- check and coerce input (`as_genotypes`), raising `ArchitectureError` for rows outside it,
- turn rows into text and back (`format` / `parse`) for the CLI and reports,
- turn rows into float features for predictors (`encode`), and into the named encodings it
  offers (`encodings`, `encode_as`; e.g. "onehot", "adjacency", "path"),
- give each row a canonical int64 key (`keys`) so oracles can look rows up in tables,
- sample, mutate, cross over (seeded) and enumerate when finite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from spdbench import hashing
from spdbench.errors import ArchitectureError, ConfigError, InvalidInputError

# The name every space answers: its own `encode`.
FEATURES = "features"


class SearchSpace(ABC):
    """A space of architectures with vectorized encode/sample/mutate/crossover."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    dims: int = 1
    dtype: np.dtype = np.dtype(np.float64)
    # Named encodings beyond `encode` ("features"); each is computed by a method
    # `encode_<name>` (dashes read as underscores), vectorized over rows.
    encodings: ClassVar[tuple[str, ...]] = ()

    # ---- identity -------------------------------------------------------------------------
    @abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-serialisable keyword arguments that rebuild this space (`name` excluded)."""

    @property
    @abstractmethod
    def size(self) -> int | None:
        """Number of architectures, or None when the space is infinite."""

    @property
    def default_protocol(self) -> str:
        """The split rule `compare --protocol auto` uses on benchmarks of this space."""
        return "generic"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.config() == other.config()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.config().items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"

    # ---- checking ---------------------------------------------------------------------------
    def as_genotypes(self, archs: Any, *, copy: bool = True) -> np.ndarray:
        """Coerce `archs` to a validated ``(n, dims)`` genotype array: a new array, or with
        `copy=False` the input itself when it already is one (for read-only hot paths)."""
        try:
            g = np.array(archs, dtype=self.dtype) if copy else np.asarray(archs, dtype=self.dtype)
        except (TypeError, ValueError) as exc:
            raise ArchitectureError(
                f"cannot read architectures for space {self.name!r}: {exc}"
            ) from exc
        if g.ndim == 1 and self.dims == 1:
            g = g[:, None]
        if g.ndim != 2 or g.shape[1] != self.dims:
            raise ArchitectureError(
                f"architectures for space {self.name!r} must have shape (n, {self.dims}); "
                f"got {tuple(g.shape)}"
            )
        if not self.all_inside(g):
            i = int(np.flatnonzero(~self.contains(g))[0])
            raise ArchitectureError(
                f"architecture {self.format(g[i : i + 1])[0]!r} (row {i}) is outside space "
                f"{self.name!r}: {self.explain_outside(g[i])}"
            )
        return g

    def all_inside(self, g: np.ndarray) -> bool:
        """Whether every row lies in the space (spaces may answer faster than `contains`)."""
        return bool(self.contains(g).all())

    def dense_index(self, g: np.ndarray) -> np.ndarray | None:
        """A distinct number in [0, size) per architecture where the space has one cheaply
        (None otherwise); tables over small spaces index rows by it directly."""
        return None

    @abstractmethod
    def contains(self, g: np.ndarray) -> np.ndarray:
        """Boolean mask: which rows of an ``(n, dims)`` array lie in the space."""

    def explain_outside(self, row: np.ndarray) -> str:
        """Why a row is outside the space, in words a user can act on."""
        return "not a valid architecture"

    # ---- text and features ------------------------------------------------------------------
    @abstractmethod
    def format(self, g: np.ndarray) -> list[str]:
        """One string per row; `parse(format(g))` gives `g` back."""

    @abstractmethod
    def parse(self, texts: Sequence[str]) -> np.ndarray:
        """Rows from their strings (validated); ArchitectureError on anything unreadable."""

    @abstractmethod
    def encode(self, g: np.ndarray) -> np.ndarray:
        """Float features ``(n, f)`` for feature-based predictors."""

    def offered_encodings(self) -> tuple[str, ...]:
        """Every encoding name `encode_as` accepts: "features" (`encode`) and `encodings`."""
        return (FEATURES, *(e for e in self.encodings if e != FEATURES))

    def check_encoding(self, name: str) -> None:
        """ConfigError naming the offered encodings unless `name` is one of them."""
        if name not in self.offered_encodings():
            raise ConfigError(
                f"space {self.name!r} offers no encoding {name!r}; it offers: "
                f"{', '.join(self.offered_encodings())}"
            )

    def encode_as(self, g: np.ndarray, name: str) -> np.ndarray:
        """Float features ``(n, f)`` of rows `g` in the named encoding (`offered_encodings`)."""
        self.check_encoding(name)
        if name == FEATURES:
            return self.encode(g)
        return np.asarray(getattr(self, "encode_" + name.replace("-", "_"))(g), dtype=np.float64)

    def keys(self, g: np.ndarray) -> np.ndarray:
        """A canonical int64 key per row: equal rows, equal keys (used for table lookups)."""
        g = np.ascontiguousarray(g)
        cols = [g[:, j].astype(np.int64) for j in range(g.shape[1])]
        return hashing.combine(*cols).view(np.int64)

    def exact_keys(self, g: np.ndarray) -> np.ndarray | None:
        """Cheap int64 keys of rows as written, for spaces whose `keys` merge distinct rows
        (isomorphic cells): a table tries these first and computes `keys` only for misses.
        None where `keys` are exact already."""
        return None

    # ---- sampling and variation -------------------------------------------------------------
    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator, *, unique: bool = False) -> np.ndarray:
        """`n` rows drawn at random; distinct rows when `unique`."""

    @abstractmethod
    def mutate(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random mutation of each row, staying inside the space."""

    @abstractmethod
    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One child per pair of rows of `a` and `b`, inside the space."""

    @property
    def has_motif_networks(self) -> bool:
        """Whether this space builds motif-networks (the Petri dish can run on it)."""
        return type(self).motif_networks is not SearchSpace.motif_networks

    def motif_networks(self, g: np.ndarray, **options: Any) -> Any:
        """The motif-networks of rows `g` for the Synthetic Petri Dish (spaces that support it)."""
        raise InvalidInputError(
            f"space {self.name!r} has no motif-network builder, so the Petri dish cannot run on it"
        )

    def motif_form(self, g: np.ndarray) -> np.ndarray:
        """Rows whose motif-networks train to the same loss (the same function of parameters
        and input) map to the same row, so the dish predicts each form once; by default every
        row is its own form."""
        return g

    def motif_defaults(self) -> dict[str, Any]:
        """The Petri dish hyperparameters the paper sets for motifs of this space (the dish
        falls back to Table 2 for the rest)."""
        return {}

    def motif_grid(self) -> dict[str, list[Any]]:
        """The grid App. A.1's hyperparameter selection searches for motifs of this space by
        default ({}: the dish's Table 2 grid)."""
        return {}

    def enumerate(self) -> np.ndarray:
        """Every architecture of a finite space, in a fixed order."""
        raise InvalidInputError(f"space {self.name!r} is infinite and cannot be enumerated")

    def _check_count(self, n: int, unique: bool) -> None:
        if n < 0:
            raise InvalidInputError(f"cannot sample a negative number of architectures ({n})")
        if unique and self.size is not None and n > self.size:
            raise InvalidInputError(
                f"asked for {n} distinct architectures but space {self.name!r} holds {self.size}"
            )
