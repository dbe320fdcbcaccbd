"""`nb101-subset`: the NAS-Bench-101 cells of NASLib's zero-cost file (zc_nasbench101.json).

Each entry is keyed by a 56-tuple: the 7x7 adjacency matrix (row-major) then 7 op indices in
NASLib's order (input, output, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3); node 0 is the
input and node 6 the output in every entry. Keys are unpruned specs: the 500 entries are 292
distinct NB101 networks (after pruning, up to isomorphism; one network appears 55 times), and
entries of one network record up to 3 different validation accuracies, NB101's repeats. So
each network is one row; its distinct recorded accuracies (epoch 108) are its runs, in
increasing order (NB101's repeat indices are not recorded), NaN where fewer. Proxy scores
(stochastic, so they differ between entries of one network) are those of the entry whose
spec comes first in bit order; `naslib_entries` counts the entries. No training or proxy
time is recorded: queries cost 0 simulated seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spdbench.convert import sources, zero_cost
from spdbench.convert.toolkit import converted_runs
from spdbench.errors import DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.nb101 import N_BITS, NODES, NB101Space, packed_keys

REPEATS = 3  # NB101 trains every network 3 times per budget
NASLIB_FIRST_OP = 2  # NASLib op index of conv3x3-bn-relu; ours are 0..2 in the same order


def build(name: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """The NAS-Bench-101 networks of NASLib's zero-cost/zc_nasbench101.json."""
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
    specs = space.as_genotypes(
        np.concatenate([adj[:, iu[0], iu[1]], ops[:, 1:-1] - NASLIB_FIRST_OP], axis=1)
    )
    assert specs.shape[1] == N_BITS + NODES - 2
    val = np.array([entries[k]["val_accuracy"] for k in keys], dtype=np.float64)
    # One row per network (in key order); its representative is the spec first in bit order,
    # so the table does not depend on the JSON's order.
    order = np.argsort(packed_keys(specs), kind="stable")
    _, first, network = np.unique(space.keys(specs[order]), return_index=True, return_inverse=True)
    reps = order[first]
    entry_row = np.empty(len(keys), dtype=np.int64)
    entry_row[order] = network
    archs = specs[reps]
    runs = [np.unique(val[entry_row == r]) for r in range(len(reps))]
    if max(len(r) for r in runs) > REPEATS:
        raise DataFileError(f"{path}: a network records more than {REPEATS} accuracies")
    acc = np.full((len(reps), REPEATS), np.nan)
    for r, values in enumerate(runs):
        acc[r, : len(values)] = values
    columns = zero_cost.proxy_columns(entries, {keys[i]: r for r, i in enumerate(reps)}, len(reps))
    meta = zero_cost.proxy_meta(columns)
    entries_of = np.bincount(entry_row, minlength=len(reps)).astype(np.float64)
    return converted_runs(
        benchmark="nb101-subset",
        description=f"NAS-Bench-101: the {len(reps)} CIFAR-10 networks NASLib scored with zero-cost "
        "proxies",
        space=space,
        archs=archs,
        seeds=np.arange(REPEATS),
        epochs=np.array([108]),
        train_time=np.zeros((len(reps), REPEATS, 1)),
        metrics={"valid_acc": (acc[:, :, None], Metric.standard("valid_acc", "%"))},
        default_metric="valid_acc",
        arch_info={
            **{k: (v, meta[k]) for k, v in columns.items()},
            "naslib_entries": (
                entries_of,
                {"description": "entries of NASLib's file that are this network"},
            ),
        },
        source=f"NAS-Bench-101 ({len(reps)} networks in {len(keys)} entries of NASLib's "
        "zero-cost benchmark)",
        citation=sources.NB101_CITATION + "; zero-cost: " + sources.ZERO_COST_CITATION,
        files=[sources.ZC_NB101],
        cost_model="none recorded: queries cost 0 s",
    )
