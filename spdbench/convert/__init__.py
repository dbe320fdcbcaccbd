"""Converters: upstream benchmark files -> spdbench cached-runs files (`spdbench data convert`).

Each converter reads the files of one benchmark from a source folder, checks their size and
sha256, and returns CachedRuns. Shipped benchmarks read the shared/data layout (e.g.
SOURCE/nb201/...); file adapters read the official files users download (e.g.
SOURCE/nasbench_full.tfrecord).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from spdbench.errors import UnknownNameError
from spdbench.oracles.base import mean_over_seeds
from spdbench.oracles.cached_runs import CachedRuns

Converter = Callable[..., CachedRuns]


def converters() -> dict[str, Converter]:
    """Benchmark name -> function(source, verify=True) building its cached runs."""
    return {**shipped_converters(), **file_adapters()}


def shipped_converters() -> dict[str, Converter]:
    """Benchmarks shipped in data/, converted from files in the shared/data layout."""
    from spdbench.convert.macro import build_macro
    from spdbench.convert.nb101 import build_nb101_subset
    from spdbench.convert.nb201 import DATASETS, build_nb201
    from spdbench.convert.nlp import build_nlp

    out: dict[str, Converter] = {f"nb201-{d}": partial(build_nb201, d) for d in DATASETS}
    out["nas-bench-macro"] = build_macro
    out["nb101-subset"] = build_nb101_subset
    out["nas-bench-nlp-wt2"] = build_nlp
    return out


def file_adapters() -> dict[str, Converter]:
    """Benchmarks users convert from the official files they have (too big to ship)."""
    from spdbench.convert import nats
    from spdbench.convert.nb101_tfrecord import build_nb101, build_nb101_108

    return {"nb101": build_nb101, "nb101-108": build_nb101_108, **nats.adapters()}


def converter(name: str) -> Converter:
    """The converter of benchmark `name`; UnknownNameError listing the known ones."""
    table = converters()
    if name not in table:
        raise UnknownNameError(f"no converter for {name!r}; available: {', '.join(sorted(table))}")
    return table[name]


def build(name: str, source: Path, *, verify: bool = True, **options: Any) -> CachedRuns:
    """The cached runs of benchmark `name` converted from `source` (`options` go to its
    converter, e.g. workers=2 for NATS-Bench)."""
    return converter(name)(Path(source), verify=verify, **options)


def fill_missing_run_times(time: np.ndarray) -> np.ndarray:
    """Training times (archs, runs, epochs) with each unrecorded (NaN) run costing the mean of
    the architecture's recorded runs at that epoch, and 0 where none is recorded."""
    return np.nan_to_num(np.where(np.isnan(time), mean_over_seeds(time)[:, None, :], time))


def holds(runs: CachedRuns) -> str:
    """A one-line summary of what a converted file holds (for the manifest)."""
    n, s, _ = runs.metrics[runs.default_metric].shape
    facts = sorted(k for k in runs.arch_info if not k.startswith("zc_"))
    proxies = [k for k in runs.arch_info if k.startswith("zc_") and not k.endswith("_time")]
    if proxies:
        facts.append(f"{len(proxies)} zero-cost proxies")
    info = f"; per-arch {', '.join(facts)}" if facts else ""
    return (
        f"{n} archs x {s} runs x epochs {', '.join(str(int(x)) for x in runs.epochs)}; "
        f"metrics {', '.join(runs.metrics)}{info}"
    )
