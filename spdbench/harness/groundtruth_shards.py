"""Sigmoid-slope ground truth as executor jobs: one job per seed group (`--shard-size K`).

Each job trains its seeds on a worker (checkpointing each epoch beside its shard file, so a
worker that dies resumes from its last epoch when the job is rerun on the same filesystem) and
returns the runs; only the client writes: each shard file as its job finishes, then the merged
file. A rerun skips seed groups whose shard file is already written, so an interrupted client
loses only the groups in flight. Because each seed trains on its own, the merged runs equal
those of one run of all the seeds, whatever the shard size and wherever the jobs ran (on one
kind of device and torch build).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spdbench.errors import ConfigError, SpdbenchError
from spdbench.groundtruth.idx import ImageDataset
from spdbench.groundtruth.shards import check_compatible, merge_runs, read_shard, seed_label
from spdbench.groundtruth.sigmoid_slope import SigmoidSlopeConfig, checkpoint_path, train
from spdbench.harness.executors import LOCAL, Executor, ExecutorSpec
from spdbench.oracles.cached_runs import CachedRuns, write_cached_runs


@dataclass(frozen=True)
class ShardJob:
    """The seeds one job trains."""

    seeds: tuple[int, ...]
    priority: int = 0  # higher starts first (1: a checkpoint of an earlier run is waiting)

    @property
    def key(self) -> str:
        return f"seeds-{self.seeds[0]}-{self.seeds[-1] + 1}"

    @property
    def runner(self) -> str:
        return f"seeds {seed_label(self.seeds)}"


@dataclass(frozen=True)
class ShardPlan:
    """Everything a worker needs to train any seed group of `config`."""

    config: SigmoidSlopeConfig
    dataset: ImageDataset
    folder: Path  # shard files (written by the client) and checkpoints (by the workers)
    benchmark: str
    command: str  # the command that regenerates a shard, "{seeds}" standing for 'A:B'
    device: str = "auto"
    executor: ExecutorSpec = LOCAL

    def shard_path(self, job: ShardJob) -> Path:
        return self.folder / f"{self.benchmark}.{job.key}.h5"


def shard_jobs(seeds: tuple[int, ...], size: int) -> list[ShardJob]:
    """Consecutive groups of `size` seeds (the last may be smaller)."""
    if size < 1:
        raise ConfigError(f"shard size must be at least 1, got {size}")
    return [ShardJob(tuple(seeds[i : i + size])) for i in range(0, len(seeds), size)]


def run_shard(plan: ShardPlan, job: ShardJob) -> dict[str, Any]:
    """Train one seed group (on a worker); its runs come back to the client."""
    checkpoint = checkpoint_path(plan.shard_path(job))
    runs = train(
        replace(plan.config, seeds=job.seeds),
        plan.dataset,
        checkpoint,
        device=plan.device,
        benchmark=plan.benchmark,
        command=plan.command.replace("{seeds}", seed_label(job.seeds)),
    )
    return {"key": job.key, "runs": runs}


def _finished(plan: ShardPlan, job: ShardJob) -> CachedRuns | None:
    """The runs of a shard file an earlier run wrote, or None when there is none."""
    path = plan.shard_path(job)
    if not path.is_file():
        return None
    try:
        runs = read_shard(path)
    except SpdbenchError as exc:
        raise ConfigError(f"{exc}; delete {path} to train those seeds again") from None
    if runs.generator.get("config") != replace(plan.config, seeds=job.seeds).to_dict():
        raise ConfigError(
            f"{path} holds seeds of another configuration; delete it or write elsewhere (--out)"
        )
    return runs


def resume_order(plan: ShardPlan, jobs: list[ShardJob]) -> list[ShardJob]:
    """`jobs` with the groups an interrupted run left partly trained (a checkpoint on disk)
    first and at a higher priority, so their epochs are used before fresh seeds start; the
    others in their order."""
    ranked = [
        replace(job, priority=int(checkpoint_path(plan.shard_path(job)).is_file())) for job in jobs
    ]
    return sorted(ranked, key=lambda job: -job.priority)


def generate_sharded(
    plan: ShardPlan,
    jobs: list[ShardJob],
    *,
    command: str,
    executor: Executor | None = None,
    on_shard: Callable[[ShardJob, bool], None] | None = None,
) -> CachedRuns:
    """Train every seed group not yet on disk on a Dask `executor` (else here, one after
    another), write each shard file as it comes back, and return the shards merged (seeds in
    order); groups with a checkpoint go first. `on_shard(job, reused)` after each group. Dask
    workers train with one torch thread each; a seed's bits can depend on the thread count,
    never on its shard."""
    done: dict[str, tuple[str, CachedRuns]] = {}
    todo = []
    for job in jobs:
        runs = _finished(plan, job)
        if runs is None:
            todo.append(job)
        else:
            done[job.key] = (str(plan.shard_path(job)), runs)
            if on_shard:
                on_shard(job, True)
    todo = resume_order(plan, todo)
    by_key = {job.key: job for job in jobs}
    if executor is not None and executor.client is not None:
        rows: Iterable[dict[str, Any]] = executor.map(plan, todo, run_shard)
    else:  # local: one group after another in this process, with its torch threads
        rows = (run_shard(plan, job) for job in todo)
    for row in rows:
        job = by_key[row["key"]]
        path = plan.shard_path(job)
        write_cached_runs(path, row["runs"])
        checkpoint_path(path).unlink(missing_ok=True)
        done[job.key] = (str(path), row["runs"])
        if on_shard:
            on_shard(job, False)
    shards = [done[job.key] for job in jobs]
    check_compatible(shards)
    return merge_runs(shards, command=command)
