"""What every converter shares, so that a converter only reads its upstream files.

A converter is a function registered under the `spdbench.converters` entry point group, one
entry per benchmark name::

    def build(name: str, source: Path, *, verify: bool = True, **options) -> CachedRuns

It locates its files below `source` (checked with `SourceFile.locate`), reads them, and returns
`converted_runs(...)`. `spdbench data convert NAME` writes the result and records it in the
catalog.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spdbench.convert.sources import SourceFile
from spdbench.errors import UnknownNameError
from spdbench.oracles.base import Metric, mean_over_seeds
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.base import SearchSpace

# Fixed, so that converting the same sources again gives the same file bytes.
CREATED = "2026-11-24 (converted; see provenance)"


def converted_runs(
    *,
    benchmark: str,
    description: str,
    space: SearchSpace,
    archs: np.ndarray,
    seeds: np.ndarray,
    epochs: np.ndarray,
    train_time: np.ndarray,
    metrics: dict[str, tuple[np.ndarray, Metric]],
    default_metric: str,
    source: str,
    citation: str,
    files: list[SourceFile] | list[dict[str, Any]],
    cost_model: str,
    command: str | None = None,
    seed_mean: dict[str, np.ndarray] | None = None,
    arch_info: dict[str, tuple[np.ndarray, dict[str, str]]] | None = None,
    **provenance: str,
) -> CachedRuns:
    """Cached runs with the provenance every converted benchmark records.

    `metrics`: name -> ((archs, runs, epochs) values, Metric); `arch_info`: name -> ((archs,)
    values, {"description", "unit"}); `provenance`: further notes (e.g. `runs`, what a run
    index means), recorded between the files and the cost model. `command` defaults to
    `spdbench data convert BENCHMARK --source SHARED_DATA`.
    """
    arch_info = arch_info or {}
    return CachedRuns(
        benchmark=benchmark,
        description=description,
        space=space,
        archs=archs,
        seeds=np.asarray(seeds),
        epochs=np.asarray(epochs),
        train_time=train_time,
        metrics={k: v for k, (v, _) in metrics.items()},
        metric_info={k: m for k, (_, m) in metrics.items()},
        default_metric=default_metric,
        seed_mean=dict(seed_mean or {}),
        arch_info={k: v for k, (v, _) in arch_info.items()},
        arch_info_meta={k: meta for k, (_, meta) in arch_info.items()},
        generator={"command": command or f"spdbench data convert {benchmark} --source SHARED_DATA"},
        provenance={
            "source": source,
            "citation": citation,
            "files": [f.record() if isinstance(f, SourceFile) else f for f in files],
            **provenance,
            "cost_model": cost_model,
        },
        created=CREATED,
    )


def fill_missing_run_times(time: np.ndarray) -> np.ndarray:
    """Training times (archs, runs, epochs) with each unrecorded (NaN) run costing the mean of
    the architecture's recorded runs at that epoch, and 0 where none is recorded."""
    return np.nan_to_num(np.where(np.isnan(time), mean_over_seeds(time)[:, None, :], time))


def benchmark_suffix(name: str, prefix: str, known: dict[str, Any] | tuple[str, ...]) -> str:
    """The part of `name` after `prefix`, checked against the known ones (for converters that
    serve a family of benchmarks, e.g. nb201-<dataset>)."""
    suffix = name.removeprefix(prefix)
    if not name.startswith(prefix) or suffix not in known:
        raise UnknownNameError(
            f"no converter for {name!r}; this one converts {', '.join(prefix + k for k in known)}"
        )
    return suffix
