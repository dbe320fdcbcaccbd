"""The Oracle interface: replay recorded training runs and their recorded cost.

An oracle holds, per architecture, seed and epoch, recorded metrics and training time. `query`
reduces them to what an experiment asks for:

- `fidelity`: an epoch among `oracle.epochs` (default: the last); metrics are read at that
  epoch and the cost is the training time summed over epochs up to it.
- `seed`: None averages metrics (and cost) over all recorded seeds, as tabular benchmarks
  report them; an int, or one int per architecture, replays that single recorded run.

Queries are free: each result carries its recorded training cost, and the object that wraps
the oracle where cost matters charges it (spdbench.simulation: `ChargedOracle`, what predictors
are handed, and `Simulation`, the multi-worker clock of search).

Besides training runs an oracle may hold per-architecture facts (`arch_info`: isomorphism
class, parameter count, recorded zero-cost proxy scores), NaN where not recorded.
"""

from __future__ import annotations

import dataclasses
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.spaces.base import SearchSpace

_SPLITS = {"train": "training", "valid": "validation", "test": "test"}
_KINDS = {"acc": (True, "accuracy"), "loss": (False, "cross-entropy")}


@dataclass(frozen=True)
class Metric:
    """A recorded metric and its direction."""

    name: str
    higher_is_better: bool
    description: str = ""
    unit: str = ""

    @classmethod
    def standard(cls, name: str, unit: str = "", description: str | None = None) -> Metric:
        """A metric named <split>_<kind>, split train/valid/test and kind acc/loss: its
        direction and (unless given) its description follow from the name."""
        split, _, kind = name.partition("_")
        if split not in _SPLITS or kind not in _KINDS:
            raise ValueError(f"{name!r} is not <train|valid|test>_<acc|loss>")
        higher, what = _KINDS[kind]
        return cls(name, higher, description or f"{_SPLITS[split]} {what}", unit)

    @property
    def sign(self) -> float:
        """+1 or -1: multiply values by it to get 'higher is better' scores."""
        return 1.0 if self.higher_is_better else -1.0


@dataclass(frozen=True)
class QueryResult:
    """What one `Oracle.query` returns; arrays have one row per queried architecture."""

    archs: np.ndarray
    fidelity: int
    seeds: np.ndarray | None  # per-architecture seed replayed, None = mean over seeds
    metrics: dict[str, np.ndarray]  # name -> (n,) value at `fidelity`
    cost: np.ndarray  # (n,) simulated seconds to train each architecture to `fidelity`
    epochs: np.ndarray  # epochs of the curve columns (recorded epochs up to `fidelity`)
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n, len(epochs))

    def __len__(self) -> int:
        return int(self.archs.shape[0])


class Oracle(ABC):
    """Answers architecture queries from recorded training runs; never trains anything."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    space: SearchSpace
    metrics: dict[str, Metric]
    default_metric: str
    epochs: np.ndarray  # recorded epochs (the fidelities), increasing
    seeds: np.ndarray  # recorded seed values
    checksum: str = ""  # content checksum of the data served ("" when computed on the fly)

    # ---- what subclasses provide ------------------------------------------------------------
    @abstractmethod
    def _records(
        self, g: np.ndarray, seeds: np.ndarray | None, k: int, curves: bool
    ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """Records of validated rows `g` at epoch index `k`.

        `seeds`: (n, s) seed values to replay, or None for the mean over all recorded seeds
        (an oracle may then return it directly with s = 1). Returns (values {metric: (n, s)},
        cost (n, s) = training seconds up to epoch k, curves {metric: (n, s, k+1)} or {}).
        """

    # ---- what subclasses may provide ---------------------------------------------------------
    @property
    def arch_info_names(self) -> dict[str, str]:
        """Per-architecture facts this oracle records: {name: description}."""
        return {}

    def _arch_info(self, g: np.ndarray, name: str) -> np.ndarray:
        raise NotImplementedError

    def recorded_runs(self, archs: Any, metric: str, fidelity: int | None = None) -> np.ndarray:
        """(n, n_seeds) mask: which seeds recorded `metric` at `fidelity` for each arch."""
        n = self.space.as_genotypes(archs).shape[0]
        return np.ones((n, len(self.seeds)), dtype=bool)

    @property
    def size(self) -> int | None:
        """How many architectures the oracle answers for (None: every one of an infinite space)."""
        return self.space.size

    def info(self) -> dict[str, Any]:
        """A JSON-able summary for `spdbench benchmarks list/info` and run records."""
        return {
            "name": self.name,
            "description": self.description,
            "space": self.space.name,
            "size": self.size,
            "fidelities": [int(e) for e in self.epochs],
            "seeds": len(self.seeds),
            "metrics": {
                m.name: ("higher" if m.higher_is_better else "lower") + " is better"
                for m in self.metrics.values()
            },
            "default_metric": self.default_metric,
            "arch_info": self.arch_info_names,
            "checksum": self.checksum,
        }

    # ---- queries -----------------------------------------------------------------------------
    def metric(self, name: str | None = None) -> Metric:
        """The Metric called `name` (default: `default_metric`)."""
        name = name or self.default_metric
        if name not in self.metrics:
            raise InvalidInputError(
                f"benchmark {self.name!r} has no metric {name!r}; it records: "
                f"{', '.join(self.metrics)}"
            )
        return self.metrics[name]

    def fidelity_index(self, fidelity: int | None) -> int:
        """Position of `fidelity` in `epochs` (None: the last)."""
        if fidelity is None:
            return len(self.epochs) - 1
        hits = np.flatnonzero(self.epochs == int(fidelity))
        if hits.size == 0:
            shown = ", ".join(str(int(e)) for e in self.epochs[:8])
            more = ", ..." if len(self.epochs) > 8 else ""
            raise InvalidInputError(
                f"benchmark {self.name!r} has no fidelity {fidelity}; recorded epochs: "
                f"{shown}{more}"
            )
        return int(hits[0])

    def _seed_matrix(self, n: int, seed: int | np.ndarray) -> np.ndarray:
        s = np.asarray(seed, dtype=np.int64)
        # one seed for all: check it once (np.isin over a million copies costs milliseconds)
        check = s.reshape(1) if s.ndim == 0 else s
        if s.ndim == 0:
            s = np.full(n, int(s))
        if s.shape != (n,):
            raise InvalidInputError(f"seed must be None, an int or {n} ints; got shape {s.shape}")
        unknown = ~np.isin(check, self.seeds)
        if unknown.any():
            raise InvalidInputError(
                f"benchmark {self.name!r} recorded seeds {self._seed_range()}; "
                f"seed {int(check[unknown][0])} was not recorded"
            )
        return s[:, None]

    def _seed_range(self) -> str:
        s = self.seeds
        if len(s) > 1 and np.array_equal(s, np.arange(s[0], s[0] + len(s))):
            return f"{int(s[0])}..{int(s[-1])}"
        return ", ".join(str(int(v)) for v in s)

    def query(
        self,
        archs: Any,
        fidelity: int | None = None,
        seed: int | np.ndarray | None = None,
        *,
        curves: bool = False,
    ) -> QueryResult:
        """Recorded metrics of `archs` at `fidelity` (see the module docstring)."""
        g = self.space.as_genotypes(archs, copy=False)  # read only: no copy of a valid array
        k = self.fidelity_index(fidelity)
        seeds = None if seed is None else self._seed_matrix(g.shape[0], seed)
        values, times, lc = self._records(g, seeds, k, curves)
        # one training run to epoch k, averaged over replayed seeds
        cost = times[:, 0] if times.shape[1] == 1 else times.mean(axis=1)
        return QueryResult(
            archs=g,
            fidelity=int(self.epochs[k]),
            seeds=None if seeds is None else seeds[:, 0].copy(),
            metrics={name: mean_over_seeds(v, copy=False) for name, v in values.items()},
            cost=cost,
            epochs=self.epochs[: k + 1].copy(),
            curves={name: mean_over_seeds(v, copy=False) for name, v in lc.items()},
        )

    def arch_info(self, archs: Any, name: str) -> np.ndarray:
        """(n,) recorded per-architecture fact `name` (NaN where not recorded); free of cost."""
        if name not in self.arch_info_names:
            known = ", ".join(self.arch_info_names) or "nothing"
            raise InvalidInputError(
                f"benchmark {self.name!r} records no per-architecture {name!r}; it records: {known}"
            )
        return self._arch_info(self.space.as_genotypes(archs), name)

    def scores(self, archs: Any, metric: str | None = None, **query: Any) -> np.ndarray:
        """Ground truth as 'higher is better' scores (the metric times its sign)."""
        m = self.metric(metric)
        return m.sign * self.query(archs, **query).metrics[m.name]

    def pool(self, having: tuple[str, ...] = ()) -> np.ndarray:
        """Every architecture the oracle answers for with all `having` arch_info recorded."""
        pool = self.enumerate()
        ok = np.ones(len(pool), dtype=bool)
        for name in having:
            ok &= ~np.isnan(self.arch_info(pool, name))
        return pool[ok]

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        *,
        unique: bool = True,
        having: tuple[str, ...] = (),
    ) -> np.ndarray:
        """`n` architectures the oracle answers for (distinct by default); `having` restricts
        them to those with every named `arch_info` recorded. An oracle that answers for its
        whole space samples the space; others draw from the architectures they hold."""
        if not having and self.size == self.space.size:
            return self.space.sample(n, rng, unique=unique)
        pool = self.pool(having)
        if unique and n > len(pool):
            which = f" with {', '.join(having)} recorded" if having else ""
            raise InvalidInputError(
                f"asked for {n} distinct architectures{which}; benchmark {self.name!r} has "
                f"{len(pool)}"
            )
        return pool[rng.choice(len(pool), size=n, replace=not unique)]

    def enumerate(self) -> np.ndarray:
        """Every architecture the oracle can answer for (finite spaces only)."""
        return self.space.enumerate()


def mean_over_seeds(v: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """Mean over the seed axis (axis 1), ignoring seeds that did not record a value; with one
    seed, `copy=False` returns a view (for arrays the caller owns)."""
    if v.shape[1] == 1:
        return v[:, 0].copy() if copy else v[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        return np.nanmean(v, axis=1)


def train_ground_truth(
    oracle: Oracle,
    train: np.ndarray,
    fidelity: int | None,
    metric: str,
    rng: np.random.Generator,
    curves: bool,
) -> QueryResult:
    """One recorded run per training architecture, its seed drawn at random among the runs
    that recorded `metric` at `fidelity`; the seed mean where the source holds no single run
    (e.g. NB201 test accuracy). Its cost is reported as set-up cost."""
    recorded = oracle.recorded_runs(train, metric, fidelity)
    if recorded.all():
        return oracle.query(
            train,
            fidelity,
            seed=rng.choice(oracle.seeds, size=len(train)),
            curves=curves,
        )
    count = recorded.sum(axis=1)
    # the j-th recorded run of each row, j uniform in 0..count-1
    j = np.floor(rng.random(len(train)) * np.maximum(count, 1)).astype(np.int64)
    col = np.argmax(np.cumsum(recorded, axis=1) > j[:, None], axis=1)
    has = count > 0
    mean = oracle.query(train, fidelity, curves=curves)
    if not has.any():
        return mean
    runs = oracle.query(train[has], fidelity, seed=oracle.seeds[col[has]], curves=curves)
    merged = dataclasses.replace(
        mean,
        metrics={k: _put(v, has, runs.metrics[k]) for k, v in mean.metrics.items()},
        cost=_put(mean.cost, has, runs.cost),
        curves={k: _put(v, has, runs.curves[k]) for k, v in mean.curves.items()},
        seeds=np.where(has, oracle.seeds[col], -1),
    )
    return merged


def _put(base: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = base.copy()
    out[mask] = values
    return out
