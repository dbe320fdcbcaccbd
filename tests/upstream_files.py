"""Tiny benchmark sources written in the exact upstream formats (shared/data layout)."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np

from spdbench.spaces.nb201 import NB201Space

ZC_PROXIES_NB201 = ("flops", "params", "synflow", "nwot", "jacov")


def write_nb201_sources(
    root: Path, n_cells: int = 12, seed: int = 0, proxies: tuple[str, ...] = ZC_PROXIES_NB201
) -> dict:
    """The five NB201 source files for `n_cells` cells; returns the values written.

    The real files hold all 15,625 cells; converters only require the files to agree on the
    cells and their order, so a slice in the same layout exercises every code path."""
    rng = np.random.default_rng(seed)
    space = NB201Space()
    archs = space.sample(n_cells, rng, unique=True)
    strings = space.format(archs)
    (root / "nb201").mkdir(parents=True)
    (root / "zero-cost").mkdir(parents=True)
    runs = rng.integers(2, 4, size=n_cells)  # 2 or 3 runs per cell, as upstream
    truth: dict = {"archs": archs, "strings": strings, "runs": runs}
    # isomorphism: pairs of cells share a canonical string
    unique = [f"canon{i // 2}" for i in range(n_cells)]
    truth["unique"] = unique
    iso_rows = [
        "CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,ArchitectureString,UniqueString"
    ]
    for s, u in zip(strings, unique, strict=True):
        iso_rows.append(f"{rng.uniform(10, 95)},{rng.uniform(1, 73)},{rng.uniform(1, 47)},{s},{u}")
    (root / "nb201/nats-tss-test-200ep-with-isomorphism.csv").write_text("\n".join(iso_rows) + "\n")

    for ds in ("cifar10", "cifar100", "imagenet16-120"):
        val, test = rng.uniform(10, 92, n_cells), rng.uniform(10, 95, n_cells)
        truth[f"{ds}-200"] = (val, test)
        blob = {
            s: {"val_acc_200": float(v), "test_acc_200": float(t), "rank": i + 1}
            for i, (s, v, t) in enumerate(zip(strings, val, test, strict=True))
        }
        (root / f"nb201/nb201-200ep-{ds}.json").write_text(json.dumps(blob))

    cols = [
        "cifar10-test",
        "cifar10-val",
        "cifar100-test",
        "cifar100-val",
        "imagenet-test",
        "imagenet-val",
    ]
    v12 = rng.uniform(10, 90, size=(n_cells, len(cols)))
    truth["12"] = dict(zip(cols, v12.T, strict=True))
    lines = ["arch,cellstr," + ",".join(cols)]
    for i, s in enumerate(strings):
        lines.append(f"{i},{s}," + ",".join(repr(float(x)) for x in v12[i]))
    (root / "nb201/nb201-12ep-valid-test.csv").write_text("\n".join(lines) + "\n")

    header = []
    for p in ("imagenet", "cifar10", "cifar100"):
        header += [f"{p}_loss", f"{p}_runtime", f"{p}_size_in_mb"]
    lines = [",".join(header)]
    runtime = rng.uniform(500, 3500, n_cells)
    size = rng.uniform(0.07, 1.5, n_cells)
    truth["runtime"], truth["size"] = runtime, size
    loss = {}
    for i in range(n_cells):
        for _ in range(runs[i]):
            row = []
            for k, p in enumerate(("imagenet", "cifar10", "cifar100")):
                value = float(rng.uniform(5, 90))
                loss.setdefault(p, []).append(value)
                row += [
                    repr(float(value)),
                    repr(float(runtime[i] * (k + 1))),
                    repr(float(size[i] + k * 1e-3)),
                ]
            lines.append(",".join(row))
    truth["loss"] = loss
    (root / "nb201/per-seed-valid-loss-runtime.csv").write_text("\n".join(lines) + "\n")

    # NASLib zero-cost file: edges (0-1, 0-2, 0-3, 1-2, 1-3, 2-3), ops (skip, none, 3x3, 1x1, pool)
    ours_to_naslib = np.array([1, 0, 3, 2, 4])
    zc = {}
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        entries = {}
        for i in range(0, n_cells, 2):  # half of the cells have proxies
            ops = ours_to_naslib[archs[i][[0, 1, 3, 2, 4, 5]]]
            key = "(" + ", ".join(str(int(o)) for o in ops) + ")"
            entry = {"idx": str(1000 + i), "arch": key, "val_accuracy": 50.0}
            for p in proxies:
                entry[p] = {"score": float(i * 10 + len(p)), "time": 0.5 + i}
            entries[key] = entry
        zc[ds] = entries
    (root / "zero-cost/zc_nasbench201.json").write_text(json.dumps(zc))
    return truth


def write_macro_source(root: Path) -> dict:
    """nas-bench-macro_cifar10.json for every architecture (the converter needs them all)."""
    from spdbench.spaces.macro import MacroSpace

    space = MacroSpace()
    archs = space.enumerate()
    canon = space.index(space.canonical(archs))
    rng = np.random.default_rng(1)
    _, inverse = np.unique(canon, return_inverse=True)
    per_class = rng.uniform(80, 93, size=(inverse.max() + 1, 3))
    blob = {}
    for key, cls in zip(space.format(archs), inverse, strict=True):
        accs = per_class[cls].tolist()
        blob[key] = {
            "test_acc": accs,
            "mean_acc": float(np.mean(accs)),
            "std": float(np.std(accs)),
            "params": int(1e5 + cls),
            "flops": int(1e7 + cls),
        }
    (root / "nas-bench-macro").mkdir(parents=True)
    (root / "nas-bench-macro/nas-bench-macro_cifar10.json").write_text(json.dumps(blob))
    return blob


# ---- NAS-Bench-101 TFRecord (nasbench/api.py reads it; model_metrics.proto) -----------------
def _crc32c_masked(data: bytes) -> int:
    import google_crc32c

    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_frame(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC-32C of the length, data, masked CRC-32C of the data."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", _crc32c_masked(length))
        + data
        + struct.pack("<I", _crc32c_masked(data))
    )


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb_double(field: int, value: float) -> bytes:
    return _pb_varint(field << 3 | 1) + struct.pack("<d", value)


def _pb_bytes(field: int, value: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(value)) + value


def model_metrics(
    evaluations: list[tuple[float, float, float, float, float]], params: int
) -> bytes:
    """A serialized nasbench.ModelMetrics: EvaluationData (current_epoch, training_time,
    train/validation/test accuracy, checkpoint_path), trainable_parameters, total_time."""
    out = b""
    for epoch, time, train, valid, test in evaluations:
        data = b"".join(
            _pb_double(f, v) for f, v in enumerate((epoch, time, train, valid, test), start=1)
        )
        out += _pb_bytes(1, data + _pb_bytes(6, f"/tmp/model.ckpt-{int(epoch)}".encode()))
    return out + _pb_varint(2 << 3 | 0) + _pb_varint(params) + _pb_double(3, 1234.5)


# Pruned NB101 cells (adjacency, ops) as the file stores them, 7, 5 and 3 nodes.
NB101_CELLS = (
    (
        [
            [0, 1, 1, 1, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        [
            "input",
            "conv1x1-bn-relu",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "maxpool3x3",
            "output",
        ],
    ),
    (
        [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"],
    ),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]),
)


def write_nasbench_tfrecord(
    path: Path, budgets: tuple[int, ...] = (4, 12, 36, 108), seed: int = 0
) -> dict:
    """NB101_CELLS x budgets x 3 repeats as nasbench_*.tfrecord records; returns what was
    written: {(cell, budget, repeat): (train, valid, test accuracy, training time)}."""
    rng = np.random.default_rng(seed)
    written, frames = {}, []
    for repeat in range(3):  # the real files interleave; order of records defines the repeat
        for c, (adjacency, ops) in enumerate(NB101_CELLS):
            for budget in budgets:
                train, valid, test = rng.uniform(0.5, 1.0, 3)
                time = budget * (100 + 10 * c) + rng.uniform(0, 5)
                halfway = (budget / 2, time / 2, train / 2, valid / 2, test / 2)
                final = (float(budget), time, train, valid, test)
                metrics = model_metrics([(0, 0, 0.1, 0.1, 0.1), halfway, final], 1000 + c)
                record = [
                    f"{c:032x}",
                    budget,
                    "".join(str(v) for row in adjacency for v in row),
                    ",".join(ops),
                    base64.b64encode(metrics).decode(),
                ]
                frames.append(tfrecord_frame(json.dumps(record).encode()))
                written[c, budget, repeat] = (train, valid, test, time)
    path.write_bytes(b"".join(frames))
    return written


# ---- NATS-Bench fast-mode directory (written with the nats_bench package's own classes) ------
NATS_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}


def nats_arch_strings(tag: str, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    if tag == "tss":
        ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
        cells = {tuple(rng.integers(0, 5, 6)) for _ in range(4 * n)}
        t = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|"
        return [t.format(*(ops[i] for i in c)) for c in sorted(cells)[:n]]
    nets = {tuple(rng.integers(1, 9, 5) * 8) for _ in range(4 * n)}
    return [":".join(str(c) for c in net) for net in sorted(nets)[:n]]


def write_nats_directory(root: Path, tag: str, n: int = 6, seed: int = 0) -> Path:
    """A fast-mode NATS-Bench directory (meta.pickle.pbz2 + NNNNNN.pickle.pbz2) of `n` archs;
    arch 0 lacks seed 999 of the full schedule."""
    from nats_bench import ArchResults, ResultsCount, pickle_save

    name = {"tss": "NATS-tss-v1_0-3ffb9-simple", "sss": "NATS-sss-v1_0-50262-simple"}[tag]
    hps = {"tss": {"12": (111,), "200": (777, 888, 999)}, "sss": {"12": (111,), "90": (777, 888)}}
    directory = root / name
    directory.mkdir(parents=True)
    archs = nats_arch_strings(tag, n, seed)
    rng = np.random.default_rng(seed + 1)
    pickle_save({"meta_archs": archs, "avaliable_hps": list(hps[tag])}, directory / "meta.pickle")
    for index, arch in enumerate(archs):
        per_hp = {}
        for hp, seeds in hps[tag].items():
            epochs = int(hp)
            results = ArchResults(index, arch)
            for dataset, sets in NATS_SETS.items():
                for s in seeds:
                    if index == 0 and s == 999:
                        continue
                    params, flop = 0.1 + 0.01 * index, 10.0 + index
                    config = {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": arch}
                    run = ResultsCount(
                        dataset,
                        None,
                        None,
                        None,
                        params,
                        flop,
                        config,
                        s,
                        epochs,
                        [0.001 * (index + 1)],
                    )
                    run.update_train_info(
                        {e: float(rng.uniform(10, 100)) for e in range(epochs)},
                        {e: float(rng.uniform(10, 100)) for e in range(epochs)},
                        {e: float(rng.uniform(0, 3)) for e in range(epochs)},
                        {e: float(rng.uniform(5, 15)) for e in range(epochs)},
                    )
                    keys = [f"{x}@{e}" for x in sets for e in range(epochs)]
                    run.update_eval(
                        {k: float(rng.uniform(10, 100)) for k in keys},
                        {k: float(rng.uniform(0, 3)) for k in keys},
                        {k: float(rng.uniform(0.5, 1)) for k in keys},
                    )
                    results.update(dataset, s, run)
            per_hp[hp] = results.state_dict()
        pickle_save(per_hp, directory / f"{index:06d}.pickle")
    return directory
