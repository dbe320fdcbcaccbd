"""The cached-runs format (HDF5) and the oracle that replays it.

One file per benchmark. Schema version 3 (version 2 files lack `meaning_checksum`, version 1
files also the optional groups /seed_mean and /arch_info; both are read unchanged)::

    /                      attributes (all strings; JSON where noted)
        format             "spdbench-cached-runs"
        schema_version     3 (int)
        benchmark          benchmark name, e.g. "sigmoid-slope-fmnist"
        description        one line
        space              JSON {"name": registered space name, "config": {...kwargs}}
        metrics            JSON {metric: {"higher_is_better": bool, "description": str, "unit": str}}
        default_metric     name of the metric experiments rank by
        generator          JSON: the config that produced the runs (command, hyperparameters, ...)
        provenance         JSON: dataset name and file checksums, device, seeds, citation, ...
        versions           JSON: package versions of the generator
        created            ISO-8601 UTC time
        checksum           "sha256:<hex>" of the content (see `content_checksum`)
        meaning_checksum   "sha256:<hex>" of the attributes that change results (schema 3;
                           see `meaning_checksum`)
    /archs                 (n_archs, dims)            genotypes of the space, unique rows
    /seeds                 (n_seeds,) int64           seed of each run
    /epochs                (n_epochs,) int64          recorded epochs (fidelities), increasing
    /train_time            (n_archs, n_seeds, n_epochs) float64, seconds of training between the
                           previous recorded epoch and this one (cost to epoch k = cumsum)
    /metrics/<name>        (n_archs, n_seeds, n_epochs) float, NaN where not recorded
    /seed_mean/<name>      optional (n_archs, n_epochs) float64: the seed mean as the source
                           published it (it may average runs that /metrics does not hold);
                           queries without a seed return it instead of the mean of /metrics
    /arch_info/<name>      optional (n_archs,) float64, NaN where not recorded: per-architecture
                           facts that are not training runs (isomorphism class, parameters,
                           zero-cost proxy scores and their compute time); described by the
                           attribute `arch_info` = JSON {name: {"description", "unit"}}

The content checksum covers every dataset (name, dtype, shape, bytes) in a fixed order, so it
does not change with HDF5 chunking or compression, and detects edited or damaged values.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from spdbench.arrays import sorted_lookup
from spdbench.errors import (
    ArchitectureError,
    ChecksumError,
    DataFileError,
    SchemaVersionError,
)
from spdbench.io import atomic_path
from spdbench.oracles.base import Metric, Oracle, mean_over_seeds
from spdbench.spaces import SearchSpace, space_from_config

FORMAT = "spdbench-cached-runs"
DENSE_MAX = 1 << 24  # spaces up to this size get a direct genotype -> row table
SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


@dataclass
class CachedRuns:
    """The in-memory content of a cached-runs file."""

    benchmark: str
    space: SearchSpace
    archs: np.ndarray
    seeds: np.ndarray
    epochs: np.ndarray
    train_time: np.ndarray
    metrics: dict[str, np.ndarray]
    metric_info: dict[str, Metric]
    default_metric: str
    description: str = ""
    generator: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    seed_mean: dict[str, np.ndarray] = field(default_factory=dict)
    arch_info: dict[str, np.ndarray] = field(default_factory=dict)
    arch_info_meta: dict[str, dict[str, str]] = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every dataset by its path in the file, in checksum order."""
        out = {
            "archs": self.archs,
            "seeds": self.seeds,
            "epochs": self.epochs,
            "train_time": self.train_time,
        }
        out.update({f"metrics/{k}": self.metrics[k] for k in sorted(self.metrics)})
        out.update({f"seed_mean/{k}": self.seed_mean[k] for k in sorted(self.seed_mean)})
        out.update({f"arch_info/{k}": self.arch_info[k] for k in sorted(self.arch_info)})
        return out

    @property
    def source(self) -> str:
        """Where the runs come from, in a few words (from the provenance)."""
        return self.provenance.get("source") or self.provenance.get("dataset", "")

    def summary(self) -> str:
        """One line: archs x runs x epochs, metrics and per-architecture facts."""
        n, s, _ = self.metrics[self.default_metric].shape
        facts = sorted(k for k in self.arch_info if not k.startswith("zc_"))
        proxies = [k for k in self.arch_info if k.startswith("zc_") and not k.endswith("_time")]
        if proxies:
            facts.append(f"{len(proxies)} zero-cost proxies")
        info = f"; per-arch {', '.join(facts)}" if facts else ""
        return (
            f"{n} archs x {s} runs x epochs {', '.join(str(int(x)) for x in self.epochs)}; "
            f"metrics {', '.join(self.metrics)}{info}"
        )

    def content_checksum(self) -> str:
        """sha256 over each dataset's name, dtype, shape and little-endian C-order bytes."""
        digest = hashlib.sha256()
        for name, arr in self.arrays().items():
            a = np.ascontiguousarray(arr)
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            digest.update(f"{name}|{a.dtype.str}|{a.shape}\n".encode())
            digest.update(a.tobytes())
        return "sha256:" + digest.hexdigest()

    def meaning_checksum(self) -> str:
        """sha256 over the attributes that change results: the benchmark name, the space and
        its configuration, each metric's direction and unit, the default metric."""
        meaning = {
            "benchmark": self.benchmark,
            "space": {"name": self.space.name, "config": self.space.config()},
            "metrics": {
                k: [m.higher_is_better, m.unit] for k, m in sorted(self.metric_info.items())
            },
            "default_metric": self.default_metric,
        }
        blob = json.dumps(meaning, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()

    def validate(self) -> None:
        """Shapes and contents consistent with the schema; raises DataFileError."""
        n, s, e = len(self.archs), len(self.seeds), len(self.epochs)
        shape = (n, s, e)
        problems = []
        if self.archs.ndim != 2 or self.archs.shape[1] != self.space.dims:
            problems.append(f"archs has shape {self.archs.shape}, expected (n, {self.space.dims})")
        if self.train_time.shape != shape:
            problems.append(f"train_time has shape {self.train_time.shape}, expected {shape}")
        for name, v in self.metrics.items():
            if v.shape != shape:
                problems.append(f"metric {name} has shape {v.shape}, expected {shape}")
        for name, v in self.seed_mean.items():
            if name not in self.metrics:
                problems.append(f"seed_mean {name} has no metric of that name")
            elif v.shape != (n, e):
                problems.append(f"seed_mean {name} has shape {v.shape}, expected {(n, e)}")
        for name, v in self.arch_info.items():
            if v.shape != (n,):
                problems.append(f"arch_info {name} has shape {v.shape}, expected ({n},)")
        if set(self.metrics) != set(self.metric_info):
            problems.append("metric datasets and metric attributes name different metrics")
        if self.default_metric not in self.metrics:
            problems.append(f"default metric {self.default_metric!r} is not recorded")
        if e and not np.all(np.diff(self.epochs) > 0):
            problems.append("epochs are not strictly increasing")
        if len(np.unique(self.seeds)) != s:
            problems.append("seeds are not unique")
        if not problems and n:
            if not self.space.contains(self.archs).all():
                problems.append("some archs lie outside the recorded space")
            elif len(np.unique(self.space.keys(self.archs))) != n:
                problems.append("archs are not unique")
        if not problems and (~np.isfinite(self.train_time) | (self.train_time < 0)).any():
            problems.append("train_time has negative or non-finite entries")
        if problems:
            raise DataFileError(
                f"cached runs {self.benchmark!r} are inconsistent: {'; '.join(problems)}"
            )


def write_cached_runs(path: str | os.PathLike, runs: CachedRuns) -> str:
    """Validate and write `runs` atomically to `path`; returns the content checksum."""
    runs.validate()
    checksum = runs.content_checksum()
    attrs = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "benchmark": runs.benchmark,
        "description": runs.description,
        "space": json.dumps({"name": runs.space.name, "config": runs.space.config()}),
        "metrics": json.dumps(
            {
                k: {
                    "higher_is_better": m.higher_is_better,
                    "description": m.description,
                    "unit": m.unit,
                }
                for k, m in runs.metric_info.items()
            }
        ),
        "default_metric": runs.default_metric,
        "generator": json.dumps(runs.generator, default=str),
        "provenance": json.dumps(runs.provenance, default=str),
        "versions": json.dumps(runs.versions, default=str),
        "created": runs.created or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "checksum": checksum,
        "meaning_checksum": runs.meaning_checksum(),
        "arch_info": json.dumps(
            {k: runs.arch_info_meta.get(k, {}) for k in sorted(runs.arch_info)}
        ),
    }
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        for name, arr in runs.arrays().items():
            opts = {"compression": "gzip", "shuffle": True} if arr.size > 4096 else {}
            f.create_dataset(name, data=arr, **opts)
    return checksum


def read_cached_runs(path: str | os.PathLike, *, verify: bool = True) -> CachedRuns:
    """Load a cached-runs file, checking format, schema version and (by default) checksum."""
    return _read_verified(path, verify)[0]


def _read_verified(path: str | os.PathLike, verify: bool) -> tuple[CachedRuns, str | None]:
    """The runs of a file and, when verified, their content checksum (computed once)."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(
            f"cached-runs file {path} does not exist; generate it with `spdbench groundtruth` "
            "or convert it with `spdbench data convert`"
        )
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
            if attrs.get("format") != FORMAT:
                raise DataFileError(
                    f"{path} is an HDF5 file but not spdbench cached runs "
                    f"(format attribute {attrs.get('format')!r})"
                )
            version = int(attrs.get("schema_version", -1))
            if version not in READABLE_VERSIONS:
                raise SchemaVersionError(
                    f"{path} has cached-runs schema version {version}; this spdbench reads "
                    f"versions {', '.join(map(str, READABLE_VERSIONS))}: upgrade spdbench or "
                    "regenerate the file"
                )
            missing = [
                k for k in ("archs", "seeds", "epochs", "train_time", "metrics") if k not in f
            ]
            if missing:
                raise DataFileError(f"{path} lacks dataset(s) {', '.join(missing)}; regenerate it")
            space_attr = json.loads(attrs["space"])
            metric_attr = json.loads(attrs["metrics"])
            runs = CachedRuns(
                benchmark=attrs["benchmark"],
                space=space_from_config(space_attr["name"], space_attr.get("config", {})),
                archs=f["archs"][()],
                seeds=f["seeds"][()],
                epochs=f["epochs"][()],
                train_time=f["train_time"][()],
                metrics={k: f[f"metrics/{k}"][()] for k in f["metrics"]},
                metric_info={
                    k: Metric(
                        k, bool(v["higher_is_better"]), v.get("description", ""), v.get("unit", "")
                    )
                    for k, v in metric_attr.items()
                },
                default_metric=attrs["default_metric"],
                description=attrs.get("description", ""),
                generator=json.loads(attrs.get("generator", "{}")),
                provenance=json.loads(attrs.get("provenance", "{}")),
                versions=json.loads(attrs.get("versions", "{}")),
                created=attrs.get("created", ""),
                seed_mean=_group(f, "seed_mean"),
                arch_info=_group(f, "arch_info"),
                arch_info_meta=json.loads(attrs.get("arch_info", "{}")),
            )
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # h5py: all of them
        if isinstance(exc, DataFileError):
            raise
        raise DataFileError(
            f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            "regenerate it (or reinstall spdbench, for a shipped benchmark)"
        ) from exc
    runs.validate()
    actual = None
    if verify:
        actual = runs.content_checksum()
        if actual != attrs.get("checksum"):
            raise ChecksumError(
                f"{path} content checksum {actual} does not match the recorded "
                f"{attrs.get('checksum')}: the file was modified or damaged; regenerate it"
            )
        recorded = attrs.get("meaning_checksum")  # schema 3; older files do not record it
        if (recorded is not None or version >= 3) and recorded != runs.meaning_checksum():
            raise ChecksumError(
                f"{path}: its attributes that change results (metric directions, units, space, "
                "default metric) were modified or damaged; regenerate it"
            )
    return runs, actual


def _group(f: h5py.File, name: str) -> dict[str, np.ndarray]:
    return {k: f[f"{name}/{k}"][()] for k in f[name]} if name in f else {}


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


class CachedRunsOracle(Oracle):
    """Serves a cached-runs file (or in-memory CachedRuns) through the Oracle interface."""

    description = "replays a cached-runs HDF5 file"

    def __init__(
        self, runs: CachedRuns, *, path: str | None = None, checksum: str | None = None
    ) -> None:
        super().__init__()
        self.runs = runs
        self.path = path
        self.name = runs.benchmark  # type: ignore[misc]
        self.description = runs.description or self.description  # type: ignore[misc]
        self.space = runs.space
        self.metrics = dict(runs.metric_info)
        self.default_metric = runs.default_metric
        self.epochs = np.asarray(runs.epochs, dtype=np.int64)
        self.seeds = np.asarray(runs.seeds, dtype=np.int64)
        self.checksum = checksum or runs.content_checksum()  # given: verified when read
        # Training time up to each epoch; seed means are computed on first use.
        self._cum_time = np.cumsum(runs.train_time, axis=2)
        self._means: tuple[dict[str, np.ndarray], np.ndarray] | None = None
        self._epochs_flat: dict[int, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        keys = self.space.keys(runs.archs)
        self._order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[self._order]
        exact = self.space.exact_keys(runs.archs)  # the recorded specs, found without `keys`
        self._exact = None if exact is None else (np.argsort(exact), np.sort(exact))
        # Small spaces with a dense index (NB201, Macro, NATS sizes): one gather finds a row.
        self._dense: np.ndarray | None = None
        index = self.space.dense_index(runs.archs)
        if index is not None and self.space.size is not None and self.space.size <= DENSE_MAX:
            self._dense = np.full(self.space.size, -1, dtype=np.intp)
            self._dense[index] = np.arange(len(index))

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, verify: bool = True) -> CachedRunsOracle:
        """Load and validate a cached-runs file."""
        runs, checksum = _read_verified(path, verify)
        return cls(runs, path=str(path), checksum=checksum)

    def rows(self, g: np.ndarray) -> np.ndarray:
        """Row index of each genotype in the table (they are validated against the space)."""
        if self._dense is not None:
            out = self._dense[self.space.dense_index(g)]
            if out.size and out.min() < 0:  # raises, naming the first architecture without runs
                missing = out < 0
                self._canonical_rows(g[missing], np.flatnonzero(missing))
            return out
        if self._exact is not None:
            order, sorted_exact = self._exact
            hit, pos = sorted_lookup(sorted_exact, self.space.exact_keys(g))
            out = order[pos]
            if not hit.all():
                out[~hit] = self._canonical_rows(g[~hit], np.flatnonzero(~hit))
            return out
        return self._canonical_rows(g, np.arange(len(g)))

    def _canonical_rows(self, g: np.ndarray, where: np.ndarray) -> np.ndarray:
        hit, pos = sorted_lookup(self._sorted_keys, self.space.keys(g))
        if not hit.all():
            i = int(np.flatnonzero(~hit)[0])
            raise ArchitectureError(
                f"architecture {self.space.format(g[i : i + 1])[0]!r} (row {where[i]}) lies in "
                f"space {self.space.name!r} but benchmark {self.name!r} has no recorded runs for it"
            )
        return self._order[pos]

    def _records(
        self, g: np.ndarray, seeds: np.ndarray | None, k: int, curves: bool
    ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        rows = self.rows(g)
        if seeds is None:  # the seed mean, precomputed once: one 1-D gather per metric
            means, cum = self._seed_means()
            values = {name: v[k][rows][:, None] for name, v in means.items()}
            lc = (
                {name: v[: k + 1, rows].T[:, None, :] for name, v in means.items()}
                if curves
                else {}
            )
            return values, cum[k][rows][:, None], lc
        r = rows[:, None]
        c = (
            np.searchsorted(self.seeds, seeds)
            if _is_sorted(self.seeds)
            else _index_of(self.seeds, seeds)
        )
        if curves:
            values = {name: v[r, c, k] for name, v in self.runs.metrics.items()}
            lc = {name: v[r, c, : k + 1] for name, v in self.runs.metrics.items()}
            return values, self._cum_time[r, c, k], lc
        # one epoch: a 1-D gather from that epoch's (archs x seeds) values, laid out flat
        flat = r * len(self.seeds) + c
        metrics, cum = self._epoch_table(k)
        return {name: v[flat] for name, v in metrics.items()}, cum[flat], {}

    def _epoch_table(self, k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every run's metrics and cumulative cost at epoch k, flat (archs * seeds), cached."""
        if k not in self._epochs_flat:
            self._epochs_flat[k] = (
                {n: np.ascontiguousarray(v[:, :, k]).ravel() for n, v in self.runs.metrics.items()},
                np.ascontiguousarray(self._cum_time[:, :, k]).ravel(),
            )
        return self._epochs_flat[k]

    def _seed_means(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Seed means of every metric and of the cumulative cost, laid out (epochs, archs) so
        that one epoch's values are contiguous."""
        if self._means is None:
            means = {
                name: self.runs.seed_mean[name]
                if name in self.runs.seed_mean
                else mean_over_seeds(v)
                for name, v in self.runs.metrics.items()
            }
            self._means = (
                {name: np.ascontiguousarray(v.T) for name, v in means.items()},
                np.ascontiguousarray(self._cum_time.mean(axis=1).T),
            )
        return self._means

    @property
    def arch_info_names(self) -> dict[str, str]:
        return {
            k: self.runs.arch_info_meta.get(k, {}).get("description", "")
            for k in sorted(self.runs.arch_info)
        }

    def _arch_info(self, g: np.ndarray, name: str) -> np.ndarray:
        return self.runs.arch_info[name][self.rows(g)]

    def recorded_runs(self, archs: Any, metric: str, fidelity: int | None = None) -> np.ndarray:
        g = self.space.as_genotypes(archs)
        k = self.fidelity_index(fidelity)
        return ~np.isnan(self.runs.metrics[self.metric(metric).name][self.rows(g), :, k])

    @property
    def covers_space(self) -> bool:
        """True when the table records every architecture of its (finite) space."""
        return self.space.size == len(self.runs.archs)

    @property
    def size(self) -> int | None:
        return len(self.runs.archs)

    def enumerate(self) -> np.ndarray:
        return self.space.enumerate() if self.covers_space else self.runs.archs.copy()

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(path=self.path, generator=self.runs.generator.get("command", ""))
        out["source"] = self.runs.source
        return out


def _is_sorted(a: np.ndarray) -> bool:
    return bool(np.all(a[:-1] < a[1:]))


def _index_of(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    order = np.argsort(values)
    return order[np.searchsorted(values[order], wanted)]
