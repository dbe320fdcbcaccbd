"""`nats-tss-*` / `nats-sss-*`: NATS-Bench (Dong et al., TPAMI 2021) from the fast-mode benchmark
directory users download, read through the official `nats_bench` package.

The directory (e.g. NATS-tss-v1_0-3ffb9-simple/) holds meta.pickle.pbz2 (the architecture
strings, `meta_archs`) and one NNNNNN.pickle.pbz2 per architecture: {hp: ArchResults state},
hp being the training schedule ("12"/"200" epochs in the topology space, "01"/"12"/"90" in the
size space). An ArchResults holds one ResultsCount per (dataset, seed) with per-epoch train
loss/accuracy/time and per-epoch evaluations on named sets. We keep, like NATS-Bench's
`get_more_info`: valid = "x-valid" and test = "ori-test" on cifar10-valid, test = "ori-test"
on cifar10 (trained on train+valid, no validation set), valid = "x-valid" and test = "x-test"
on cifar100 and ImageNet16-120. Every seed and every epoch is kept (epoch k = after k epochs);
the cost is the recorded training time of each epoch. A run the benchmark lacks is NaN and
costs the mean of the architecture's recorded runs.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from spdbench.convert import sources
from spdbench.convert.toolkit import benchmark_suffix, converted_runs, fill_missing_run_times
from spdbench.errors import ConfigError, DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.progress import progress_bar
from spdbench.spaces.base import SearchSpace
from spdbench.spaces.nats_size import NATSSizeSpace
from spdbench.spaces.nb201 import NB201Space


@dataclass(frozen=True)
class NATSRelease:
    tag: str  # tss | sss
    directory: str
    full_hp: str  # the full training schedule; "12" is offered too
    size: int


RELEASES = {
    "tss": NATSRelease("tss", "NATS-tss-v1_0-3ffb9-simple", "200", 15625),
    "sss": NATSRelease("sss", "NATS-sss-v1_0-50262-simple", "90", 32768),
}
ORIGIN = "the NATS-Bench release (github.com/D-X-Y/NATS-Bench, fast-mode *-simple archive)"
# our dataset name -> (NATS-Bench name, set read as valid, set read as test)
DATASETS = {
    "cifar10-valid": ("cifar10-valid", "x-valid", "ori-test"),
    "cifar10": ("cifar10", None, "ori-test"),
    "cifar100": ("cifar100", "x-valid", "x-test"),
    "imagenet16-120": ("ImageNet16-120", "x-valid", "x-test"),
}
METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
COSTS = ("params", "flops", "latency")


def names() -> dict[str, tuple[str, str, str]]:
    """nats-<tss|sss>-<dataset> (full schedule) and ...-hp12 (the 12-epoch schedule), each
    with its (tag, dataset, schedule)."""
    return {
        _name(tag, dataset, hp): (tag, dataset, hp)
        for tag, release in RELEASES.items()
        for dataset in DATASETS
        for hp in (release.full_hp, "12")
    }


def build(
    name: str,
    source: Path,
    *,
    verify: bool = True,
    workers: int = 0,
    trust_pickles: bool = False,
) -> CachedRuns:
    """NATS-Bench TSS/SSS from the fast-mode folder NATS-{tss,sss}-v1_0-*-simple/ (nats_bench)."""
    tag, dataset, hp = names()[benchmark_suffix(name, "", names())]
    return build_nats(
        tag, dataset, hp, source, verify=verify, workers=workers, trust_pickles=trust_pickles
    )


def _name(tag: str, dataset: str, hp: str) -> str:
    return f"nats-{tag}-{dataset}" + ("" if hp == RELEASES[tag].full_hp else f"-hp{hp}")


def locate(release: NATSRelease, source: Path) -> Path:
    """The fast-mode directory below `source`, with every architecture file present."""
    root = Path(source) / release.directory
    want = (
        f"{release.directory}/ with meta.pickle.pbz2 and {release.size:,} files "
        f"000000.pickle.pbz2 ... {release.size - 1:06d}.pickle.pbz2 from {ORIGIN}"
    )
    if not (root / "meta.pickle.pbz2").is_file():
        raise DataFileError(f"missing NATS-Bench directory {root}: expected {want}")
    return root


def _arch_files(root: Path, n: int) -> list[Path]:
    names = set(os.listdir(root))
    files = []
    for i in range(n):
        name = f"{i:06d}.pickle.pbz2"
        if name not in names:
            missing = sum(f"{j:06d}.pickle.pbz2" not in names for j in range(n))
            raise DataFileError(
                f"{root} lacks {name} and {missing - 1:,} more of {n:,} architecture files: the "
                f"download or extraction is partial; extract the *-simple archive again from {ORIGIN}"
            )
        files.append(root / name)
    return files


Record = tuple[dict[int, np.ndarray], dict[str, float | None]]  # runs by seed, compute costs


def _read_chunk(
    files: list[Path], dataset: str, hp: str, sets: tuple[str | None, str]
) -> list[Record]:
    """Per architecture file: {seed: (epochs, 7) array of METRICS and the epoch's training
    time} and the compute costs (COSTS) on `dataset`; runs in worker processes."""
    from nats_bench import ArchResults, pickle_load

    out = []
    for path in files:
        try:
            per_hp = pickle_load(str(path))
            results = ArchResults.create_from_state_dict(per_hp[hp])
            runs = results.query(dataset)  # {seed: ResultsCount}
            costs = results.get_compute_costs(dataset)
        except KeyError as exc:
            raise DataFileError(
                f"{path} has no {exc} results (schedule {hp!r}, dataset {dataset!r})"
            ) from exc
        except Exception as exc:  # bz2/pickle raise many types on damaged files
            raise DataFileError(
                f"{path} is not a readable NATS-Bench file ({type(exc).__name__}: {exc}); "
                f"extract it again from {ORIGIN}"
            ) from exc
        out.append(({seed: _curves(run, sets) for seed, run in runs.items()}, costs))
    return out


def _curves(run, sets: tuple[str | None, str]) -> np.ndarray:
    """(epochs, 7): METRICS per epoch and the epoch's recorded training time (NaN if absent)."""
    epochs = run.get_total_epoch()
    out = np.full((epochs, len(METRICS) + 1), np.nan)
    for e in range(epochs):
        out[e, 0] = run.train_losses.get(e, np.nan)
        out[e, 1] = run.train_acc1es.get(e, np.nan)
        for column, name in ((2, sets[0]), (4, sets[1])):
            if name is not None:
                key = f"{name}@{e}"
                out[e, column] = run.eval_losses.get(key, np.nan)
                out[e, column + 1] = run.eval_acc1es.get(key, np.nan)
        if run.train_times is not None:
            out[e, -1] = run.train_times.get(e, np.nan)
    return out


def build_nats(
    tag: str,
    dataset: str,
    hp: str,
    source: Path,
    *,
    verify: bool = True,
    workers: int = 0,
    trust_pickles: bool = False,
) -> CachedRuns:
    """The cached runs of one dataset and schedule of NATS-Bench's `tag` space. NATS-Bench
    publishes no per-file checksums, so `verify` checks only that every file is present and
    readable (always done)."""
    import nats_bench

    release = RELEASES[tag]
    name = _name(tag, dataset, hp)
    root = locate(release, source)
    if not trust_pickles:  # the official API unpickles every file: it can run any code
        raise ConfigError(
            f"NATS-Bench files are Python pickles, which run code when loaded; convert {root} "
            "only if it comes from the official release, and say so with --trust-pickles"
        )
    api = nats_bench.create(str(root), tag, fast_mode=True, verbose=False)
    meta_archs = [api.arch(i) for i in range(len(api))]
    space: SearchSpace = NB201Space() if tag == "tss" else NATSSizeSpace()
    archs = space.parse(meta_archs)
    files = _arch_files(root, len(archs))
    nats_dataset, *sets = DATASETS[dataset]
    chunks = [files[i : i + 64] for i in range(0, len(files), 64)]
    workers = workers or min(os.cpu_count() or 1, len(chunks))
    records: list[Record] = []
    read = partial(_read_chunk, dataset=nats_dataset, hp=hp, sets=tuple(sets))
    with (
        progress_bar() as bar,
        ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool,
    ):
        task = bar.add_task(f"reading {root.name} ({nats_dataset}, hp {hp})", total=len(files))
        for part in (pool.map if pool else map)(read, chunks):
            records.extend(part)
            bar.advance(task, len(part))
    return _assemble(name, release, dataset, hp, space, archs, records, api, root)


def _assemble(
    name: str,
    release: NATSRelease,
    dataset: str,
    hp: str,
    space: SearchSpace,
    archs: np.ndarray,
    records: list[Record],
    api: Any,
    root: Path,
) -> CachedRuns:
    seeds = np.array(sorted({s for runs, _ in records for s in runs}), dtype=np.int64)
    n_epochs = max(c.shape[0] for runs, _ in records for c in runs.values())
    table = np.full((len(archs), len(seeds), n_epochs, len(METRICS) + 1), np.nan)
    column = {int(s): i for i, s in enumerate(seeds)}
    for row, (runs, _) in enumerate(records):
        for seed, curves in runs.items():
            table[row, column[seed], : curves.shape[0]] = curves
    time = fill_missing_run_times(table[..., -1])
    costs = {
        c: np.array([np.nan if r[1].get(c) is None else r[1][c] for r in records], dtype=float)
        for c in COSTS
    }
    if not np.isfinite(costs["latency"]).any():
        del costs["latency"]
    info_meta = {
        "params": {"description": "parameters (NATS-Bench get_compute_costs)", "unit": "MB"},
        "flops": {"description": "FLOPs (NATS-Bench get_compute_costs)", "unit": "M"},
        "latency": {"description": "recorded inference latency", "unit": "s"},
    }
    if release.tag == "tss":  # cells with the same NATS-Bench unique string share a class
        unique = [api.get_unique_str(i) for i in range(len(archs))]
        costs["iso_class"] = np.unique(unique, return_inverse=True)[1].astype(np.float64)
        info_meta["iso_class"] = {"description": "isomorphism class (NATS-Bench get_unique_str)"}
    recorded = [i for i, m in enumerate(METRICS) if not np.isnan(table[..., i]).all()]
    unit = {"loss": "", "acc": "%"}
    source = f"NATS-Bench {release.tag.upper()} ({root.name}, {DATASETS[dataset][0]}, hp {hp})"
    return converted_runs(
        benchmark=name,
        description=f"{source}: {len(archs):,} archs x {len(seeds)} seeds x {n_epochs} epochs",
        space=space,
        archs=archs,
        seeds=seeds,
        epochs=np.arange(1, n_epochs + 1),
        train_time=time,
        metrics={
            METRICS[i]: (table[..., i], Metric.standard(METRICS[i], unit[METRICS[i].split("_")[1]]))
            for i in recorded
        },
        default_metric="valid_acc" if "valid_acc" in [METRICS[i] for i in recorded] else "test_acc",
        arch_info={k: (v, info_meta[k]) for k, v in costs.items()},
        command=f"spdbench data convert {name} --source DIR_WITH_{root.name}",
        source=source,
        citation=sources.NB201_CITATION,
        files=[{"directory": root.name, "architectures": len(archs), "origin": ORIGIN}],
        runs="seed = the NATS-Bench seed; NaN where a seed was not run",
        cost_model="recorded training time of each epoch (train_times); a missing run "
        "costs the mean of the architecture's recorded runs",
    )
