"""The compare experiment: ranking quality and cost of predictors on one benchmark.

Jobs are benchmark x predictor x replicate x train size. Within a replicate and train size all
predictors see the same train and test architectures (a paired comparison). Ground truth:

- train scores: one recorded training run per architecture (a seed drawn per architecture),
  as a NAS practitioner would obtain them; their recorded cost is the predictor's set-up cost;
- test truth: the mean over all recorded seeds, the best estimate of true performance.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from spdbench import plugins
from spdbench.errors import ConfigError, InvalidInputError
from spdbench.harness import provenance
from spdbench.harness.metrics import mean_ci, ranking_metrics
from spdbench.harness.protocols import Protocol, protocol_for
from spdbench.harness.store import ResultsStore
from spdbench.io import write_json_atomic
from spdbench.oracles.base import Oracle, train_ground_truth
from spdbench.oracles.catalog import load_oracle
from spdbench.predictors.base import Context, Predictor
from spdbench.torch_utils import torch_threads


@dataclass(frozen=True)
class CompareConfig:
    """Everything that determines the numbers of a compare run (saved with the results)."""

    benchmark: str
    predictors: tuple[str, ...]
    seeds: int = 10
    train_sizes: tuple[int, ...] | None = None  # None: the protocol's default
    test_size: int | None = None  # None: the protocol's default
    protocol: str = "auto"  # see spdbench.harness.protocols
    metric: str | None = None  # None: the benchmark's default metric
    fidelity: int | None = None  # None: the last recorded epoch
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.predictors:
            raise ConfigError("name at least one predictor (--predictors a,b,...)")
        if len(set(self.predictors)) != len(self.predictors):
            raise ConfigError(f"predictors are listed twice: {','.join(self.predictors)}")
        if self.seeds < 1:
            raise ConfigError(f"seeds must be at least 1, got {self.seeds}")
        if self.train_sizes is not None and (not self.train_sizes or min(self.train_sizes) < 2):
            raise ConfigError(f"train sizes must be at least 2, got {self.train_sizes}")
        if self.test_size is not None and self.test_size < 2:
            raise ConfigError(f"test size must be at least 2, got {self.test_size}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CompareConfig:
        """Build from a parsed config file or CLI options, with one-line errors."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(
                f"unknown config key(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}"
            )
        data = dict(raw)
        try:
            for key in ("predictors", "train_sizes"):
                if isinstance(data.get(key), str):
                    data[key] = [p.strip() for p in data[key].split(",") if p.strip()]
                if key in data:
                    data[key] = tuple(data[key])
            if data.get("train_sizes") is not None:
                data["train_sizes"] = tuple(_as_int(v, "train_sizes") for v in data["train_sizes"])
            for key in ("seeds", "seed", "test_size", "fidelity"):
                if data.get(key) is not None:
                    data[key] = _as_int(data[key], key)
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"incomplete or malformed compare config: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["predictors"] = list(self.predictors)
        d["train_sizes"] = None if self.train_sizes is None else list(self.train_sizes)
        return d

    def hash(self) -> str:
        return provenance.config_hash(self.to_dict())


def _as_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    try:
        as_float = float(value)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if not as_float.is_integer():
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    return int(as_float)


@dataclass(frozen=True)
class Job:
    """One unit of work: one predictor on one train/test split."""

    predictor: str
    replicate: int
    train_size: int
    config_hash: str = field(default="")

    @property
    def key(self) -> str:
        return f"{self.config_hash}/{self.predictor}/r{self.replicate}/n{self.train_size}"


def expand_jobs(config: CompareConfig, protocol: Protocol) -> list[Job]:
    """All jobs of a config, in a fixed order."""
    h = config.hash()
    sizes = config.train_sizes or protocol.default_train_sizes
    return [Job(p, r, n, h) for n in sizes for r in range(config.seeds) for p in config.predictors]


def check_config(config: CompareConfig, oracle: Oracle) -> Protocol:
    """Fail before any work when names, metric, fidelity or sizes do not fit the benchmark."""
    for name in config.predictors:
        cls = plugins.load("predictor", name)
        if not (isinstance(cls, type) and issubclass(cls, Predictor)):
            raise ConfigError(f"predictor plugin {name!r} is not a spdbench Predictor subclass")
    oracle.metric(config.metric)
    oracle.fidelity_index(config.fidelity)
    having = required_arch_info(config)
    for name in having:
        if name not in oracle.arch_info_names:
            users = [p for p in config.predictors if name in _requires(p)]
            raise ConfigError(
                f"{', '.join(users)} replay(s) {name!r}, which benchmark {oracle.name!r} does "
                f"not record; benchmarks with zero-cost scores: nb201-*"
            )
    protocol = protocol_for(config.protocol, oracle)
    protocol.check(
        oracle, config.train_sizes or protocol.default_train_sizes, config.test_size, having
    )
    return protocol


def required_arch_info(config: CompareConfig) -> tuple[str, ...]:
    """Per-architecture facts some predictor replays; splits keep to archs that record them."""
    return tuple(sorted({n for p in config.predictors for n in _requires(p)}))


def _requires(predictor: str) -> tuple[str, ...]:
    return plugins.load("predictor", predictor).requires_arch_info


def prepare(config: CompareConfig) -> tuple[Oracle, Protocol]:
    """Load the benchmark and check the config against it (cached per process)."""
    oracle = _oracle(config.benchmark)
    return oracle, check_config(config, oracle)


def split(
    config: CompareConfig, oracle: Oracle, protocol: Protocol, replicate: int, train_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The train and test architectures of a replicate (same for every predictor)."""
    rng = np.random.default_rng([config.seed, replicate, train_size])
    return protocol.split(oracle, rng, train_size, config.test_size, required_arch_info(config))


def predictor_seed(config: CompareConfig, replicate: int) -> int:
    """The seed handed to every predictor of a replicate."""
    return int(np.random.SeedSequence([config.seed, replicate]).generate_state(1)[0] % (2**31))


_ORACLES: dict[str, Oracle] = {}


def _oracle(name: str) -> Oracle:
    if name not in _ORACLES:
        _ORACLES[name] = load_oracle(name)
    return _ORACLES[name]


def run_job(config: CompareConfig, job: Job) -> dict[str, Any]:
    """Run one job (on one torch thread, so the numbers do not depend on --workers)."""
    with torch_threads(1):
        return _run_job(config, job)


def _run_job(config: CompareConfig, job: Job) -> dict[str, Any]:
    oracle = _oracle(config.benchmark)
    metric = oracle.metric(config.metric)
    protocol = protocol_for(config.protocol, oracle)
    train, test = split(config, oracle, protocol, job.replicate, job.train_size)
    rng = np.random.default_rng([config.seed, job.replicate, job.train_size, 1])

    cls = plugins.load("predictor", job.predictor)
    seed = predictor_seed(config, job.replicate)
    predictor: Predictor = cls(seed=seed) if "seed" in cls.param_names() else cls()

    gt = train_ground_truth(oracle, train, config.fidelity, metric.name, rng, "curves" in cls.needs)
    train_scores = metric.sign * gt.metrics[metric.name]
    truth = metric.sign * oracle.query(test, config.fidelity, charge=False).metrics[metric.name]
    context = Context.for_predictor(cls, oracle, metric.name, gt)

    sim0 = oracle.clock.seconds
    t0 = time.perf_counter()
    predictor.fit(train, train_scores, context)
    fit_s = time.perf_counter() - t0
    sim1 = oracle.clock.seconds
    t1 = time.perf_counter()
    predicted = predictor.predict(test, context)
    predict_s = time.perf_counter() - t1
    sim2 = oracle.clock.seconds

    gt_cost = float(gt.cost.sum()) if cls.uses_train_scores else 0.0
    row: dict[str, Any] = {
        "job_key": job.key,
        "config_hash": job.config_hash,
        "benchmark": config.benchmark,
        "data_checksum": oracle.checksum,
        "metric": metric.name,
        "fidelity": gt.fidelity,
        "protocol": protocol.name,
        "predictor": job.predictor,
        "predictor_params": json.dumps(predictor.get_params(), sort_keys=True, default=str),
        "replicate": job.replicate,
        "seed": seed,
        "train_size": len(train),
        "test_size": len(test),
        **ranking_metrics(truth, predicted),
        **protocol.extra_metrics(test, truth, predicted),
        "train_gt_sim_s": gt_cost,
        "fit_sim_s": sim1 - sim0,
        "fit_s": fit_s,
        "init_time_s": gt_cost + (sim1 - sim0) + fit_s,
        "predict_s": predict_s,
        "predict_sim_s": sim2 - sim1,
        "query_time_s": (predict_s + (sim2 - sim1)) / len(test),
        "train_archs": oracle.space.format(train),
        "test_archs": oracle.space.format(test),
        "truth": truth.tolist(),
        "predictions": predicted.tolist(),
        "versions": json.dumps(provenance.versions(), sort_keys=True),
        "finished_at": provenance.now(),
    }
    return row


def _worker_init() -> None:
    torch.set_num_threads(1)


def run_compare(
    config: CompareConfig,
    out: str | Path,
    *,
    workers: int = 1,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every job not yet in `out`'s results store; returns this config's rows.

    `on_start(total, already_done)` is called once, `on_done(row)` after each finished job.
    """
    if workers < 1:
        raise InvalidInputError(f"workers must be at least 1, got {workers}")
    oracle, protocol = prepare(config)
    store = ResultsStore(out)
    write_json_atomic(
        Path(out) / "runs" / f"{config.hash()}.json",
        {
            "command": "compare",
            "config": config.to_dict(),
            "config_hash": config.hash(),
            "seed": config.seed,
            "benchmark": oracle.info(),
            "data_checksum": oracle.checksum,
            "versions": provenance.versions(),
            "machine": provenance.machine(),
            "started_at": provenance.now(),
        },
    )
    jobs = expand_jobs(config, protocol)
    done = store.finished()
    todo = [j for j in jobs if j.key not in done]
    if on_start:
        on_start(len(jobs), len(jobs) - len(todo))
    for row in _execute(config, todo, workers):
        store.append([row])
        if on_done:
            on_done(row)
    df = store.read()
    return df[df["config_hash"] == config.hash()].reset_index(drop=True)


def _execute(config: CompareConfig, jobs: list[Job], workers: int) -> Iterable[dict[str, Any]]:
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(config, job)
        return
    ctx = get_context("spawn")  # fork after torch threads start can deadlock
    with ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=ctx, initializer=_worker_init
    ) as pool:
        futures = [pool.submit(run_job, config, job) for job in jobs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


SUMMARY_METRICS = (
    "kendall_tau",
    "spearman",
    "top_k_precision",
    "regret",
    "init_time_s",
    "query_time_s",
)


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval half-width per predictor and train size."""
    records = []
    for (predictor, n), grp in rows.groupby(["predictor", "train_size"], sort=False):
        rec: dict[str, Any] = {"predictor": predictor, "train_size": int(n), "runs": len(grp)}
        for m in SUMMARY_METRICS:
            rec[m], rec[f"{m}_ci"] = mean_ci(grp[m].to_numpy())
        records.append(rec)
    return pd.DataFrame.from_records(records)
