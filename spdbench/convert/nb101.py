"""`nb101-subset`: the 500 NAS-Bench-101 cells of NASLib's zero-cost file (zc_nasbench101.json).

Each entry is keyed by a 56-tuple: the 7x7 adjacency matrix (row-major) then 7 op indices in
NASLib's order (input, output, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3); node 0 is the
input and node 6 the output in every entry. It records one CIFAR-10 validation accuracy per
cell after 108 epochs (stored as the one run, seed 0) and zero-cost proxy scores without
compute times. No training time is recorded: queries cost 0 simulated seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spdbench.convert import sources, zero_cost
from spdbench.errors import DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.nb101 import N_BITS, NODES, NB101Space

NASLIB_FIRST_OP = 2  # NASLib op index of conv3x3-bn-relu; ours are 0..2 in the same order
CITATION = (
    "Ying, Klein, Real, Christiansen, Murphy & Hutter, NAS-Bench-101: Towards Reproducible "
    "Neural Architecture Search, ICML 2019"
)


def build_nb101_subset(source: Path, *, verify: bool = True) -> CachedRuns:
    path = sources.ZC_NB101.locate(source, verify=verify)
    try:
        entries = sources.read_json(path)["nasbench101"]["cifar10"]
    except (KeyError, TypeError) as exc:
        raise DataFileError(f"{path} lacks ['nasbench101']['cifar10']") from exc
    keys = list(entries)
    raw = np.array([zero_cost.parse_key(k) for k in keys], dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != NODES * NODES + NODES:
        raise DataFileError(f"{path}: NB101 keys must be 56-tuples (7x7 adjacency + 7 ops)")
    adj = raw[:, : NODES * NODES].reshape(-1, NODES, NODES)
    ops = raw[:, NODES * NODES :]
    iu = np.triu_indices(NODES, k=1)
    if np.tril(adj).any() or (ops[:, 0] != 0).any() or (ops[:, -1] != 1).any():
        raise DataFileError(f"{path}: a key is not an upper-triangular cell from input to output")
    space = NB101Space()
    archs = space.as_genotypes(
        np.concatenate([adj[:, iu[0], iu[1]], ops[:, 1:-1] - NASLIB_FIRST_OP], axis=1)
    )
    assert archs.shape[1] == N_BITS + NODES - 2
    val = np.array([entries[k]["val_accuracy"] for k in keys], dtype=np.float64)
    order = np.argsort(space.keys(archs), kind="stable")  # a fixed order independent of JSON
    archs, val = archs[order], val[order]
    rows = {keys[i]: r for r, i in enumerate(order)}
    columns = zero_cost.proxy_columns(entries, rows, len(keys))
    return CachedRuns(
        benchmark="nb101-subset",
        description="NAS-Bench-101: the 500 CIFAR-10 cells NASLib scored with zero-cost proxies",
        space=space,
        archs=archs,
        seeds=np.array([0]),
        epochs=np.array([108]),
        train_time=np.zeros((len(keys), 1, 1)),
        metrics={"valid_acc": val[:, None, None]},
        metric_info={"valid_acc": Metric("valid_acc", True, "validation accuracy", "%")},
        default_metric="valid_acc",
        arch_info=columns,
        arch_info_meta=zero_cost.proxy_meta(columns),
        generator={"command": "spdbench data convert nb101-subset --source SHARED_DATA"},
        provenance={
            "source": "NAS-Bench-101 (500 cells via NASLib's zero-cost benchmark)",
            "citation": CITATION + "; zero-cost: " + sources.ZERO_COST_CITATION,
            "files": [sources.ZC_NB101.record()],
            "cost_model": "none recorded: queries cost 0 s",
        },
        created=sources.CREATED,
    )
