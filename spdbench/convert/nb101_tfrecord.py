"""`nb101` / `nb101-108`: NAS-Bench-101 from its official TFRecord files, without TensorFlow.

Each record (Ying et al. 2019; the layout `nasbench/api.py` reads) is the JSON list
[module hash, epochs, adjacency as a '0'/'1' string of d*d, ops comma-separated, base64
ModelMetrics]. ModelMetrics (`model_metrics.proto`): 1 evaluation_data (repeated
EvaluationData: 1 current_epoch, 2 training_time, 3 train_accuracy, 4 validation_accuracy,
5 test_accuracy, all doubles; 6 checkpoint_path), 2 trainable_parameters, 3 total_time. Each
run has evaluations at step 0, halfway and the end; like `NASBench.query` we keep the end.
There are 3 records (the repeats) per network and budget: 4, 12, 36 and 108 epochs in
nasbench_full.tfrecord, 108 in nasbench_only108.tfrecord.

Records hold pruned cells (d <= 7 nodes); they are padded to the 7-node `nb101` genotype with
the output at node 6 and isolated nodes in between, which the space prunes again. The four
budgets are separate trainings (each with its own schedule); the cost of budget k is that
run's recorded training time, so `train_time` holds the increments between budgets (clipped
at 0 where a shorter budget took longer, counted in the provenance).
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spdbench.convert import sources
from spdbench.convert.tfrecord import iter_records, proto_fields
from spdbench.convert.toolkit import converted_runs, fill_missing_run_times
from spdbench.errors import DataFileError, UnknownNameError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.progress import byte_progress
from spdbench.spaces.nb101 import N_BITS, NODES, OPS, NB101Space

FINAL_EVALUATION = 2  # evaluation_data[2]: the end of training
# metric -> EvaluationData field; the training time (field 2) is read as the cost
FIELDS = {"train_acc": 3, "valid_acc": 4, "test_acc": 5}
TIME_FIELD = 2
MAX_REPEATS = 3
_OP_INDEX = {op: i for i, op in enumerate(OPS)}


RELEASES = {"nb101": sources.NB101_FULL, "nb101-108": sources.NB101_ONLY108}


def build(name: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """NAS-Bench-101 from nasbench_full.tfrecord (nb101) or nasbench_only108.tfrecord (nb101-108)."""
    if name not in RELEASES:
        raise UnknownNameError(
            f"no converter for {name!r}; this one converts {', '.join(RELEASES)}"
        )
    return _build(name, RELEASES[name], source, verify)


def _final_evaluation(raw: str) -> tuple[list[float], int]:
    """(train, valid, test accuracy, training time) at the end of the run, and parameters."""
    evaluations, params = [], 0
    for field, value in proto_fields(base64.b64decode(raw, validate=True)):
        if field == 1:
            evaluations.append(dict(proto_fields(value)))
        elif field == 2:
            params = value
    final = evaluations[FINAL_EVALUATION]  # proto2 optional doubles default to 0.0
    return [final.get(f, 0.0) for f in (*FIELDS.values(), TIME_FIELD)], params


@dataclass
class _Records:
    specs: list[tuple[str, str]]  # (adjacency, ops) of each network, in order of appearance
    params: np.ndarray  # (networks,)
    row: np.ndarray  # (records,) network of each record
    epochs: np.ndarray  # (records,)
    values: np.ndarray  # (records, 4): FIELDS then the training time


def _read(path: Path) -> _Records:
    rows: dict[str, int] = {}
    specs: list[tuple[str, str]] = []
    params: list[int] = []
    rec_row, rec_epochs, values = array("q"), array("q"), array("d")
    with byte_progress(path, f"reading {path.name}") as advance:
        for i, record in enumerate(iter_records(path, on_progress=advance)):
            try:
                module_hash, epochs, adjacency, ops, metrics = json.loads(record)
                final, n_params = _final_evaluation(metrics)
            except (ValueError, TypeError, IndexError) as exc:
                raise DataFileError(
                    f"{path}: record {i:,} is not a NAS-Bench-101 record ({exc}); "
                    "download the file again"
                ) from exc
            row = rows.get(module_hash)
            if row is None:
                row = rows[module_hash] = len(specs)
                specs.append((adjacency, ops))
                params.append(n_params)
            rec_row.append(row)
            rec_epochs.append(int(epochs))
            values.extend(final)
    if not specs:
        raise DataFileError(f"{path} holds no records; download it again")
    return _Records(
        specs,
        np.asarray(params, dtype=np.float64),
        np.frombuffer(rec_row, dtype=np.int64),
        np.frombuffer(rec_epochs, dtype=np.int64),
        np.frombuffer(values, dtype=np.float64).reshape(-1, len(FIELDS) + 1),
    )


def _genotypes(path: Path, specs: list[tuple[str, str]]) -> np.ndarray:
    """Pruned d-node specs padded to 7-node genotypes (output at node 6)."""
    out = np.zeros((len(specs), N_BITS + NODES - 2), dtype=np.int64)
    iu = np.triu_indices(NODES, k=1)
    by_size: dict[int, list[int]] = {}
    for r, (adjacency, _) in enumerate(specs):
        by_size.setdefault(math.isqrt(len(adjacency)), []).append(r)
    for d, members in by_size.items():
        text = "".join(specs[r][0] for r in members).encode()
        ops = [specs[r][1].split(",") for r in members]
        if len(text) != len(members) * d * d or d < 2 or d > NODES:
            raise DataFileError(f"{path}: an adjacency string is not d*d bits with d <= {NODES}")
        small = (np.frombuffer(text, dtype=np.uint8) - ord("0")).reshape(-1, d, d)
        if small.max() > 1 or any(len(o) != d or o[0] != "input" or o[-1] != "output" for o in ops):
            raise DataFileError(f"{path}: a record is not an NB101 cell (input ... output)")
        try:
            middle = np.array([[_OP_INDEX[op] for op in o[1:-1]] for o in ops], dtype=np.int64)
        except KeyError as exc:
            raise DataFileError(f"{path}: unknown NB101 operation {exc}") from exc
        node = np.r_[np.arange(d - 1), NODES - 1]  # padded position of each node
        full = np.zeros((len(members), NODES, NODES), dtype=np.int64)
        full[:, node[:, None], node[None, :]] = small
        out[members, :N_BITS] = full[:, iu[0], iu[1]]
        out[members, N_BITS : N_BITS + d - 2] = middle.reshape(len(members), d - 2)
    return out


def _build(name: str, src: sources.SourceFile, source: Path, verify: bool) -> CachedRuns:
    path = src.locate(source, verify=verify)
    records = _read(path)
    specs, rec_row, values = records.specs, records.row, records.values
    space = NB101Space()
    archs = _genotypes(path, specs)
    if not space.contains(archs).all():
        raise DataFileError(f"{path}: a recorded cell lies outside the NB101 space")
    epochs, budget = np.unique(records.epochs, return_inverse=True)
    # repeat index = order of the records of one (network, budget) in the file
    group = rec_row * len(epochs) + budget
    order = np.argsort(group, kind="stable")
    starts = np.r_[True, group[order][1:] != group[order][:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    repeat = np.empty_like(order)
    repeat[order] = np.arange(len(order)) - first
    if repeat.max() >= MAX_REPEATS:
        raise DataFileError(f"{path}: a network has more than {MAX_REPEATS} runs of one budget")
    shape = (len(specs), int(repeat.max()) + 1, len(epochs))
    table = np.full((len(FIELDS) + 1, *shape), np.nan)
    table[:, rec_row, repeat, budget] = values.T
    run_time = fill_missing_run_times(table[-1])
    cumulative = np.fmax.accumulate(run_time, axis=2)
    clipped = int((cumulative != run_time).sum())
    descriptions = {
        "train_acc": "accuracy on 10,000 training images",
        "valid_acc": "validation accuracy (10,000 images)",
        "test_acc": "CIFAR-10 test accuracy",
    }
    return converted_runs(
        benchmark=name,
        description=(
            f"NAS-Bench-101 (CIFAR-10): {len(specs):,} networks, {shape[1]} runs at "
            f"{', '.join(map(str, epochs))} epochs, from {src.path}"
        ),
        space=space,
        archs=archs,
        seeds=np.arange(shape[1]),
        epochs=epochs,
        train_time=np.diff(cumulative, axis=2, prepend=0.0),
        metrics={
            m: (table[i], Metric.standard(m, "fraction", descriptions[m]))
            for i, m in enumerate(FIELDS)
        },
        default_metric="valid_acc",
        arch_info={
            "params": (records.params, {"description": "trainable parameters", "unit": "count"})
        },
        command=f"spdbench data convert {name} --source DIR_WITH_{src.path}",
        source=f"NAS-Bench-101 ({src.path})",
        citation=sources.NB101_CITATION,
        files=[src],
        runs="seed = repeat index (order of the records in the file)",
        cost_model=(
            "recorded training time of each run (final_training_time); budgets are "
            f"separate runs; {clipped} budget costs raised to the shorter budget's"
        ),
    )
