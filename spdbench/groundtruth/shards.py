"""Sharded ground truth: a seed range trained on its own, and shards merged into one file.

A shard is an ordinary cached-runs file holding some seeds of a generator config (its
`generator.config` records them). Trainers here train each seed on its own, so a seed's runs do
not depend on the shard it is in, and merging shards 0:2 and 2:4 gives the content (and content
checksum) of one run of seeds 0:4, up to the recorded wall-clock train times.

`merge_shards` refuses shards that cannot belong together: a damaged file, another config
(anything but the seeds: slopes, epochs, hyperparameters, data files, benchmark, metrics), or a
seed held twice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from spdbench import provenance
from spdbench.errors import ConfigError, DataFileError
from spdbench.oracles.cached_runs import CachedRuns, read_cached_runs


def parse_seeds(text: str | int) -> tuple[int, ...]:
    """'N' -> seeds 0..N-1 (a whole run); 'A:B' -> seeds A..B-1 (a shard)."""
    raw = str(text).strip()
    try:
        if ":" in raw:
            start_text, stop_text = raw.split(":")
            start, stop = int(start_text), int(stop_text)
        else:
            start, stop = 0, int(raw)
    except ValueError:
        raise ConfigError(
            f"cannot read seeds {raw!r}; use N (seeds 0..N-1) or A:B (seeds A..B-1)"
        ) from None
    if start < 0 or stop <= start:
        raise ConfigError(f"seeds {raw!r} name no seed; use N >= 1 or A:B with 0 <= A < B")
    return tuple(range(start, stop))


def is_shard(text: str | int) -> bool:
    """True for a seed range 'A:B' (a shard), False for a seed count 'N'."""
    return ":" in str(text)


def seed_label(seeds: tuple[int, ...] | list[int]) -> str:
    """'A:B' for a contiguous range, else the seeds comma-separated."""
    seeds = sorted(seeds)
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}:{seeds[-1] + 1}"
    return ",".join(map(str, seeds))


def _config_without_seeds(runs: CachedRuns) -> dict[str, Any]:
    return {k: v for k, v in runs.generator.get("config", {}).items() if k != "seeds"}


def _data_files(runs: CachedRuns) -> dict[str, Any]:
    files = runs.provenance.get("dataset_files", {})
    return {k: v.get("sha256") if isinstance(v, dict) else v for k, v in files.items()}


# What must agree between shards, each as (label, how to read it from a shard).
_AGREE = (
    ("benchmark", lambda r: r.benchmark),
    ("trainer", lambda r: r.generator.get("trainer")),
    ("generator config (all but seeds)", _config_without_seeds),
    ("dataset", lambda r: r.provenance.get("dataset")),
    ("dataset files", _data_files),
    ("space, metrics or default metric", lambda r: r.meaning_checksum()),
    ("metrics recorded", lambda r: sorted(r.metrics)),
    ("archs", lambda r: r.archs.tolist()),
    ("epochs", lambda r: r.epochs.tolist()),
    ("per-architecture facts", lambda r: {k: v.tolist() for k, v in sorted(r.arch_info.items())}),
)


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_shard(path: str | os.PathLike) -> CachedRuns:
    """A shard, checked (format, checksums) and holding a generator config with its seeds."""
    runs = read_cached_runs(path)
    config = runs.generator.get("config")
    if not isinstance(config, dict) or "seeds" not in config:
        raise ConfigError(
            f"{path} records no generator config with seeds: it is not a ground-truth shard "
            "(write shards with `spdbench groundtruth sigmoid-slope --seeds A:B`)"
        )
    if sorted(int(s) for s in config["seeds"]) != sorted(runs.seeds.tolist()):
        raise DataFileError(f"{path} records seeds {config['seeds']} but holds {runs.seeds}")
    if runs.seed_mean:
        raise ConfigError(f"{path} holds published seed means, which cannot be merged")
    return runs


def check_compatible(shards: list[tuple[str, CachedRuns]]) -> None:
    """A ConfigError (one line) unless every shard has the first's config and no seed is held
    by two shards."""
    if not shards:
        raise ConfigError("no shards to merge")
    first_name, first = shards[0]
    for name, runs in shards[1:]:
        for label, read in _AGREE:
            a, b = read(first), read(runs)
            if a != b:
                if isinstance(a, dict) and isinstance(b, dict):  # name the first differing key
                    key = next(k for k in sorted({*a, *b}, key=str) if a.get(k) != b.get(k))
                    label, a, b = f"{label}: {key}", a.get(key), b.get(key)
                raise ConfigError(
                    f"shards disagree on {label}: {first_name} has {_shown(a)}, "
                    f"{name} has {_shown(b)}; merge only shards of one config"
                )
    owner: dict[int, str] = {}
    for name, runs in shards:
        for seed in runs.seeds.tolist():
            if seed in owner:
                raise ConfigError(
                    f"seed {seed} is in both {owner[seed]} and {name}; merge shards with "
                    "disjoint seed ranges"
                )
            owner[seed] = name


def merge_runs(shards: list[tuple[str, CachedRuns]], *, command: str = "") -> CachedRuns:
    """One CachedRuns holding every shard's seeds in increasing order (shards checked)."""
    check_compatible(shards)
    first = shards[0][1]
    seeds = np.concatenate([r.seeds for _, r in shards]).astype(np.int64)
    order = np.argsort(seeds, kind="stable")

    def joined(get: Any) -> np.ndarray:
        return np.concatenate([get(r) for _, r in shards], axis=1)[:, order]

    config = {**first.generator["config"], "seeds": seeds[order].tolist()}
    parts = []
    for name, runs in shards:
        part = {
            "file": Path(name).name,
            "seeds": seed_label(runs.seeds.tolist()),
            "command": runs.generator.get("command", ""),
            "created": runs.generator.get("created", runs.created),
            "checksum": runs.content_checksum(),
            "device": runs.provenance.get("device"),
            "machine": runs.provenance.get("machine"),
        }
        if runs.versions != first.versions:
            part["versions"] = runs.versions
        parts.append(part)
    prov = dict(first.provenance)
    for key in ("device", "machine"):
        if any(p[key] != prov.get(key) for p in parts):
            prov[key] = "differs by shard, see shards"
    prov["shards"] = parts
    return CachedRuns(
        benchmark=first.benchmark,
        space=first.space,
        archs=first.archs,
        seeds=seeds[order],
        epochs=first.epochs,
        train_time=joined(lambda r: r.train_time),
        metrics={k: joined(lambda r, k=k: r.metrics[k]) for k in first.metrics},
        metric_info=dict(first.metric_info),
        default_metric=first.default_metric,
        description=re.sub(r"\b\d+ seeds\b", f"{len(seeds)} seeds", first.description),
        generator={
            **{k: v for k, v in first.generator.items() if k not in ("command", "created")},
            "config": config,
            "config_hash": provenance.config_hash(config),
            "command": command,
            "created": provenance.now(),
            "merged_from": len(shards),
        },
        provenance=prov,
        versions=first.versions,
        arch_info=dict(first.arch_info),
        arch_info_meta=dict(first.arch_info_meta),
    )


def merge_shards(paths: list[str | os.PathLike], *, command: str = "") -> CachedRuns:
    """Read, check and merge shard files (see `merge_runs`)."""
    if not paths:
        raise ConfigError("no shards to merge; name the shard files")
    names = [str(p) for p in paths]
    if len(set(map(os.path.realpath, names))) != len(names):
        raise ConfigError("a shard is named twice; name each shard file once")
    return merge_runs([(n, read_shard(n)) for n in names], command=command)
