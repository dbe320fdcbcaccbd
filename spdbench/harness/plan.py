"""The resolved experiment plan: built once from a config file and command-line options, then
handed to the harness. It holds everything a run looks up (the benchmark's record and oracle,
the protocol, the predictor classes, the metric, the fidelity, the seed streams), so no job
looks a name up again and nothing is cached between calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spdbench import provenance
from spdbench.errors import ConfigError
from spdbench.harness.executors import LOCAL, ExecutorSpec
from spdbench.harness.protocols import Protocol, protocol_for
from spdbench.harness.run_records import records
from spdbench.oracles.base import Metric, Oracle
from spdbench.oracles.catalog import BenchmarkRecord, Catalog
from spdbench.params import (
    check_variants,
    check_variants_used,
    listed_variants,
    names_of,
    narrowed_from,
    resolve_variant,
    variant_of,
)
from spdbench.predictors.base import Predictor, resolve

MAX_SEEDS = 10_000  # replicates per run; more belongs in several runs
MAX_ARCHS = 1_000_000  # architectures in a train or test set

# Options that say how to run, not what to compute: not part of the config or its hash.
RUN_OPTIONS = ("out", "workers", "job_timeout", "executor", "scheduler", "dask_workers")
DEFAULT_JOB_TIMEOUT = 3600.0  # seconds of fit + predict before a job is failed


@dataclass(frozen=True)
class CompareConfig:
    """Everything that determines the numbers of a compare run (saved with the results)."""

    benchmark: str
    predictors: tuple[str, ...]
    seeds: int = 10
    train_sizes: tuple[int, ...] | None = None  # None: the protocol's default
    test_size: int | None = None  # None: the protocol's default
    protocol: str = "auto"  # a `spdbench.protocols` entry point, or the benchmark's default
    metric: str | None = None  # None: the benchmark's default metric
    fidelity: int | None = None  # None: the last recorded epoch
    # Query fidelities (epochs) for predictors that read partial curves of the architectures
    # they rank (NASLib's "vary fidelity"): those run once per value; None: their default.
    fidelities: tuple[int, ...] | None = None
    seed: int = 0
    # Named predictor settings: row name -> {"predictor": registered name (default: the row
    # name), hyperparameter: value, ...}; a listed predictor found here runs with them.
    variants: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("benchmark", "protocol"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key} must be a name, got {getattr(self, key)!r}")
        if self.metric is not None and not isinstance(self.metric, str):
            raise ConfigError(f"metric must be a name, got {self.metric!r}")
        if not all(isinstance(p, str) for p in self.predictors):
            raise ConfigError(f"predictors must be names, got {list(self.predictors)!r}")
        if not self.predictors:
            raise ConfigError("name at least one predictor (--predictors a,b,...)")
        if len(set(self.predictors)) != len(self.predictors):
            raise ConfigError(f"predictors are listed twice: {','.join(self.predictors)}")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise ConfigError(f"seeds must be between 1 and {MAX_SEEDS:,}, got {self.seeds}")
        if self.train_sizes is not None:
            if not self.train_sizes or min(self.train_sizes) < 2:
                raise ConfigError(
                    f"train sizes must be at least 2, got {','.join(map(str, self.train_sizes))}"
                )
            if len(set(self.train_sizes)) != len(self.train_sizes):
                raise ConfigError(f"train sizes are listed twice: {list(self.train_sizes)}")
            if max(self.train_sizes) > MAX_ARCHS:
                raise ConfigError(f"train sizes must be at most {MAX_ARCHS:,}")
        if self.fidelities is not None:
            if not self.fidelities or min(self.fidelities) < 1:
                raise ConfigError(f"fidelities must be epochs of at least 1, got {self.fidelities}")
            if len(set(self.fidelities)) != len(self.fidelities):
                raise ConfigError(f"fidelities are listed twice: {list(self.fidelities)}")
        if self.test_size is not None and not 2 <= self.test_size <= MAX_ARCHS:
            raise ConfigError(
                f"test size must be between 2 and {MAX_ARCHS:,}, got {self.test_size}"
            )
        check_variants(
            self.variants,
            "predictor",
            "variants",
            '[compare.variants.dish-long] predictor = "petri-dish", outer_steps = 400',
        )

    def predictor_of(self, name: str) -> tuple[str, dict[str, Any]]:
        """The registered predictor a listed name runs and the hyperparameters it sets."""
        return variant_of(self.variants, name, "predictor")

    def variant_hash(self, name: str) -> str:
        """Short hash of a listed name's settings ('' when it has none): part of its jobs'
        keys, so changing a variant's hyperparameters recomputes its rows."""
        return provenance.config_hash(self.variants[name])[:8] if name in self.variants else ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CompareConfig:
        """Build from a parsed config file or CLI options, with one-line errors."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(
                f"unknown config key(s) {', '.join(unknown)}; valid: "
                f"{', '.join(sorted(names | set(RUN_OPTIONS)))}"
            )
        data = dict(raw)
        try:
            for key in ("predictors", "train_sizes", "fidelities"):
                if isinstance(data.get(key), str):
                    data[key] = names_of(data[key])
                if data.get(key) is not None:
                    data[key] = tuple(data[key])
            if data.get("train_sizes") is not None:
                data["train_sizes"] = tuple(_as_int(v, "train_sizes") for v in data["train_sizes"])
            if data.get("fidelities") is not None:
                data["fidelities"] = tuple(_as_int(v, "fidelities") for v in data["fidelities"])
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
        if not self.variants:
            del d["variants"]  # configs without variants keep the hashes they always had
        if self.fidelities is None:
            del d["fidelities"]  # nor do configs without a fidelity grid change theirs
        else:
            d["fidelities"] = list(self.fidelities)
        return d

    def hash(self) -> str:
        return provenance.config_hash(self.to_dict())


def _as_int(value: Any, key: str) -> int:
    key = key.replace("_", " ")  # as the user reads it: train_sizes in TOML, --train-sizes
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    try:
        as_float = float(value)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if not as_float.is_integer():
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    return int(as_float)


def read_config_file(path: Path, table_name: str = "compare") -> dict[str, Any]:
    """The [compare] (or `table_name`) table of a TOML file (or its top level), keys with '-'
    read as '_'."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    table = raw.get(table_name, raw)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [{table_name}] must be a table")
    return {k.replace("-", "_"): v for k, v in table.items()}


def merge_options(
    file_values: dict[str, Any], options: dict[str, Any], explicit: Iterable[str]
) -> dict[str, Any]:
    """Config file values, overridden by command-line options given explicitly (or absent
    from the file); options left at None are dropped."""
    explicit = set(explicit)
    merged = dict(file_values)
    for key, value in options.items():
        if key in explicit or key not in merged:
            merged[key] = value
    return {k: v for k, v in merged.items() if v is not None}


@dataclass(frozen=True)
class Job:
    """One unit of work: one predictor on one train/test split."""

    predictor: str
    replicate: int
    train_size: int
    config_hash: str  # the run's whole config (recorded in the job's row)
    split_hash: str  # what fixes the job's numbers: the config without the predictor list
    variant: str = ""  # hash of the predictor's settings from the config's variants, if any
    query_fidelity: int | None = None  # the --fidelities epoch a partial-curve predictor reads

    @property
    def runner(self) -> str:
        """What runs the job (named in errors)."""
        return self.predictor

    @property
    def key(self) -> str:
        """The store's key: split hash / predictor[@variant] / replicate / train size, then
        /f<query fidelity> for jobs of a fidelity grid. It depends neither on the other
        predictors of the run nor on its other replicates and train sizes, so a rerun with
        fewer predictors, or more seeds or train sizes, reuses the jobs it shares."""
        who = f"{self.predictor}@{self.variant}" if self.variant else self.predictor
        key = f"{self.split_hash}/{who}/r{self.replicate}/n{self.train_size}"
        return key if self.query_fidelity is None else f"{key}/f{self.query_fidelity}"

    @property
    def legacy_key(self) -> str:
        """The key stores written before the split hash used (config hash in front)."""
        return f"{self.config_hash}/{self.predictor}/r{self.replicate}/n{self.train_size}"

    def stored_in(self, done: set[str]) -> bool:
        """Whether a store's finished keys (older split hashes replaced by today's, see
        `split_aliases`) hold this job, under its key or its legacy key."""
        return self.key in done or self.legacy_key in done


def split_hash(config: CompareConfig, having: tuple[str, ...], *, former: bool = False) -> str:
    """Hash of what fixes a job's numbers apart from its predictor, replicate and train size:
    the config without the predictor list, the number of seeds and the train sizes (a split
    and a predictor's seed derive from the master seed, the replicate and the train size
    alone), plus the per-architecture facts the splits keep to (zero-cost predictors restrict
    splits to scored architectures, so they change every predictor's split). The fidelity
    grid is in the job key instead: jobs outside it are shared with runs without one.
    `former`: the hash as stores before 2026-11-30 keyed jobs, with seeds and train sizes."""
    skip = ("predictors", "variants", "fidelities") + (() if former else ("seeds", "train_sizes"))
    fields = {k: v for k, v in config.to_dict().items() if k not in skip}
    return provenance.config_hash({**fields, "having": list(having)})


def jobs_of(
    config: CompareConfig,
    train_sizes: Iterable[int],
    having: tuple[str, ...],
    partial: Iterable[str] = (),
) -> list[Job]:
    """All jobs of a config, in a fixed order; the listed names in `partial` (predictors that
    read partial curves) run once per `config.fidelities` value, when the config has them."""
    h, s = config.hash(), split_hash(config, having)
    partial = set(partial)

    def grid(p: str) -> tuple[int | None, ...]:
        return config.fidelities if config.fidelities and p in partial else (None,)

    return [
        Job(p, r, n, h, s, config.variant_hash(p), q)
        for n in train_sizes
        for r in range(config.seeds)
        for p in config.predictors
        for q in grid(p)
    ]


def split_aliases(out: Path) -> dict[str, str]:
    """Split hashes older stores keyed jobs by (the config's seeds and train sizes in them,
    before 2026-11-30) -> today's, for the configs recorded in OUT/runs/, so that a rerun
    of such a config with more seeds or train sizes still finds the jobs they share."""
    aliases = {}
    for _, record in records(out):
        with contextlib.suppress(KeyError, TypeError, ConfigError):
            resolved = record["resolved"]
            if record.get("command") == "compare" and "having" in resolved:
                config = CompareConfig.from_dict(record["config"])
                having = tuple(resolved["having"])
                today = split_hash(config, having)
                aliases[split_hash(config, having, former=True)] = today
                # the hash the record names (former in records written before 2026-11-30)
                aliases.setdefault(resolved.get("split_hash") or today, today)
    return aliases


def current_key(key: str, aliases: dict[str, str]) -> str:
    """A stored job key with a former split hash (`split_aliases`) replaced by today's."""
    split, _, rest = key.partition("/")
    return f"{aliases[split]}/{rest}" if split in aliases else key


def select_jobs(
    rows: pd.DataFrame, jobs: list[Job], aliases: dict[str, str] | None = None
) -> pd.DataFrame:
    """The stored rows of `jobs`, in the order of `jobs` (so tables list the predictors as
    the config does, whatever order the jobs finished or were rerun in). A job's row is the
    one under its key, else under a key with a former split hash in `aliases`, else under its
    legacy key (older stores); see `one_row_per_job`."""
    if rows.empty:
        return rows
    rows = rows.reset_index(drop=True)
    current = {j.key: i for i, j in enumerate(jobs)}
    legacy = {j.legacy_key: i for i, j in enumerate(jobs)}
    keys = rows["job_key"]
    job = keys.map(current)
    kind = pd.Series(np.where(job.notna(), 0, 2), index=rows.index)
    if aliases:
        aliased = keys.map(lambda k: current_key(k, aliases)).map(current)
        kind = kind.where(job.notna() | aliased.isna(), 1)
        job = job.fillna(aliased)
    job = job.fillna(keys.map(legacy))
    return one_row_per_job(rows, job, kind)[0]


def one_row_per_job(
    rows: pd.DataFrame, job: pd.Series, kind: pd.Series
) -> tuple[pd.DataFrame, np.ndarray]:
    """The chosen row of each job, in job order, and its job index. `job`: each row's job
    index (NaN: none of these jobs); `kind`: how its key names the job (0 today's key, higher
    former ones). An ok row comes before a failed one (a job counts as done when any of its
    rows is ok, `ResultsStore.finished`), then the lower kind, then the last finished."""
    keep = job.notna()
    finished = rows["finished_at"] if "finished_at" in rows else pd.Series("", index=rows.index)
    failed = rows["status"].eq("failed") if "status" in rows else pd.Series(False, rows.index)
    order = {"failed": failed[keep], "kind": kind[keep], "finished": finished[keep]}
    chosen = (
        pd.DataFrame({"job": job[keep], **order})
        .sort_values([*order], ascending=[True, True, False], kind="stable")
        .drop_duplicates("job")
        .sort_values("job", kind="stable")
    )
    return rows.loc[chosen.index].reset_index(drop=True), chosen["job"].to_numpy(dtype=int)


def jobs_of_record(record: dict[str, Any]) -> list[Job] | None:
    """The jobs a run record (runs/<config-hash>.json) stands for; None for records written
    before they said (select those rows by config hash)."""
    resolved = record.get("resolved", {})
    if "having" not in resolved:
        return None
    config = CompareConfig.from_dict(record["config"])
    partial = resolved.get("partial", ())
    return jobs_of(config, resolved["train_sizes"], tuple(resolved["having"]), partial)


@dataclass(frozen=True)
class ComparePlan:
    """A compare config resolved against the catalog, checked, with its run options."""

    config: CompareConfig
    record: BenchmarkRecord
    oracle: Oracle
    protocol: Protocol
    predictors: dict[str, type[Predictor]]  # listed name -> class, in the config's order
    metric: Metric
    fidelity: int  # the recorded epoch ground truth is read at
    train_sizes: tuple[int, ...]
    having: tuple[str, ...]  # per-architecture facts some predictor replays
    out: Path
    workers: int
    job_timeout: float | None = DEFAULT_JOB_TIMEOUT  # None: no limit
    # listed name -> the __init__ keyword arguments it runs with (seed aside)
    params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    executor: ExecutorSpec = LOCAL  # where jobs run; results do not depend on it
    # listed names that read partial curves up to a query fidelity (run once per --fidelities)
    partial: tuple[str, ...] = ()
    # the spdbench source digest at planning time: rows name the code the run started with
    source: str = dataclasses.field(default_factory=lambda: provenance.source_digest())
    # the hash of the config file's whole config when -p ran only some of its predictors
    part_of: str | None = None

    def predictor_params(self, name: str) -> dict[str, Any]:
        """The `__init__` keyword arguments (seed aside) of a listed predictor."""
        if name in self.params:
            return dict(self.params[name])
        return _predictor_class(self.config, name)[1]

    @property
    def config_hash(self) -> str:
        return self.config.hash()

    def jobs(self) -> list[Job]:
        """All jobs, in a fixed order."""
        return jobs_of(self.config, self.train_sizes, self.having, self.partial)

    # ---- seed streams: every random choice derives from config.seed --------------------------
    def split(self, replicate: int, train_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The train and test architectures of a replicate (the same for every predictor)."""
        rng = np.random.default_rng([self.config.seed, replicate, train_size])
        return self.protocol.split(self.oracle, rng, train_size, self.config.test_size, self.having)

    def ground_truth_rng(self, replicate: int, train_size: int) -> np.random.Generator:
        """Draws which recorded run each training architecture reports."""
        return np.random.default_rng([self.config.seed, replicate, train_size, 1])

    def predictor_seed(self, replicate: int) -> int:
        """The seed handed to every predictor of a replicate."""
        state = np.random.SeedSequence([self.config.seed, replicate]).generate_state(1)[0]
        return int(state % (2**31))

    def record_json(self) -> dict[str, Any]:
        """What runs/<config-hash>.json records beside the results."""
        return {
            "command": "compare",
            "config": self.config.to_dict(),
            "config_hash": self.config_hash,
            "seed": self.config.seed,
            "resolved": {
                "protocol": self.protocol.name,
                "metric": self.metric.name,
                "fidelity": self.fidelity,
                "train_sizes": list(self.train_sizes),
                "having": list(self.having),
                "partial": list(self.partial),
                "split_hash": split_hash(self.config, self.having),
                "predictors": {
                    n: f"{c.__module__}:{c.__qualname__}" for n, c in self.predictors.items()
                },
                "predictor_params": {n: self.config.predictor_of(n)[1] for n in self.predictors},
            },
            **({"part_of": self.part_of} if self.part_of else {}),
            **provenance.run_stamp(self.oracle, self.source),
        }


def resolve_compare(
    options: dict[str, Any],
    *,
    config_file: Path | None = None,
    explicit: Iterable[str] = (),
    catalog: Catalog | None = None,
) -> ComparePlan:
    """The plan of a compare run from command-line `options` (those in `explicit` were given
    on the command line) and an optional TOML config file; fails on any bad name, metric,
    fidelity, protocol or size before any work starts."""
    file_values = read_config_file(config_file) if config_file else {}
    raw = merge_options(file_values, options, explicit)
    for key in ("benchmark", "predictors"):
        if not raw.get(key):
            what = "predictors" if key == "predictors" else "benchmarks"
            raise ConfigError(f"no {key} given: pass --{key} (see `spdbench {what} list`)")
    out, workers = raw.pop("out", None), raw.pop("workers", "auto")
    job_timeout = raw.pop("job_timeout", DEFAULT_JOB_TIMEOUT)
    executor = ExecutorSpec.from_options(
        raw.pop("executor", None), raw.pop("scheduler", None), raw.pop("dask_workers", None)
    )
    if isinstance(workers, str) and workers != "auto":
        workers = _as_int(workers, "workers")
    config = CompareConfig.from_dict(raw)  # checks every variant of the file
    if "predictors" in explicit:
        config = dataclasses.replace(
            config, variants=listed_variants(config.variants, config.predictors)
        )
    # a run of some of the file's predictors: the report shows the file's whole config once
    # that has run
    narrowed = ("predictors",) if "predictors" in explicit else ()
    whole = narrowed_from(config, CompareConfig.from_dict, raw, file_values, narrowed)
    plan = plan_compare(
        config,
        out=out,
        workers=workers,
        job_timeout=job_timeout,
        executor=executor,
        catalog=catalog,
    )
    return dataclasses.replace(plan, part_of=whole)


def plan_compare(
    config: CompareConfig,
    *,
    out: str | Path | None = None,
    workers: int | str = "auto",
    job_timeout: float | None = DEFAULT_JOB_TIMEOUT,
    executor: ExecutorSpec | None = None,
    catalog: Catalog | None = None,
) -> ComparePlan:
    """Resolve `config` against the catalog and check it (see `resolve_compare`)."""
    if workers != "auto" and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ConfigError(f"workers must be a positive integer or 'auto', got {workers!r}")
    if job_timeout is not None:
        try:
            job_timeout = float(job_timeout)
        except (TypeError, ValueError):
            raise ConfigError(f"job timeout must be seconds, got {job_timeout!r}") from None
        if not job_timeout > 0:
            raise ConfigError(f"job timeout must be positive, got {job_timeout!r}")
    catalog = catalog or Catalog()
    record, oracle = catalog.resolve(config.benchmark)
    resolved = {name: _predictor_class(config, name) for name in config.predictors}
    predictors = {name: cls for name, (cls, _) in resolved.items()}
    params = {name: kwargs for name, (_, kwargs) in resolved.items()}
    check_variants_used(config.variants, config.predictors, "predictors", "--predictors")
    for name, cls in predictors.items():
        missing = cls.missing_packages()
        if missing:
            raise ConfigError(
                f"predictor {name} needs {', '.join(missing)}, which is not installed: "
                + "; ".join(f"pip install {how}" for how in dict.fromkeys(missing.values()))
            )
        cls.check_benchmark(oracle)
        cls(**params[name]).check_settings(oracle)
    metric = oracle.metric(config.metric)
    fidelity = int(oracle.epochs[oracle.fidelity_index(config.fidelity)])
    partial = _check_query_fidelities(config, oracle, fidelity, predictors, params)
    having = tuple(sorted({n for cls in predictors.values() for n in cls.requires_arch_info}))
    for name in having:
        if name not in oracle.arch_info_names:
            users = [p for p, cls in predictors.items() if name in cls.requires_arch_info]
            recording = ", ".join(catalog.recording(name)) or "none installed"
            raise ConfigError(
                f"{', '.join(users)} {'replays' if len(users) == 1 else 'replay'} {name!r}, which "
                f"benchmark {oracle.name!r} does not record; benchmarks that record it: {recording}"
            )
    protocol = protocol_for(config.protocol, record.protocol)
    train_sizes = config.train_sizes or protocol.default_train_sizes
    protocol.check(oracle, train_sizes, config.test_size, having)
    if workers == "auto":
        workers = auto_workers(
            predictors.values(), config.seeds * len(train_sizes) * len(predictors)
        )
    out = Path(out) if out else Path("results") / f"compare-{Path(config.benchmark).stem}"
    _check_writable(out)
    return ComparePlan(
        config=config,
        record=record,
        oracle=oracle,
        protocol=protocol,
        predictors=predictors,
        params=params,
        metric=metric,
        fidelity=fidelity,
        train_sizes=tuple(train_sizes),
        having=having,
        out=out,
        workers=workers,
        job_timeout=job_timeout,
        executor=executor or ExecutorSpec(),
        partial=partial,
    )


def _check_query_fidelities(
    config: CompareConfig,
    oracle: Oracle,
    fidelity: int,
    predictors: dict[str, type[Predictor]],
    params: dict[str, dict[str, Any]],
) -> tuple[str, ...]:
    """The listed names that read partial curves to a query fidelity, after checking that each
    can read every one of `config.fidelities` (or its default); ConfigError otherwise."""
    partial = []
    for name, cls in predictors.items():
        predictor = cls(**params[name])
        reads = predictor.reads_query_fidelity()
        if reads:
            partial.append(name)
        for query in config.fidelities if reads and config.fidelities else (None,):
            predictor.check_query_fidelity(oracle, fidelity, query)
    if config.fidelities:
        if not partial:
            raise ConfigError(
                "--fidelities varies how far learning-curve predictors train the architectures "
                "they rank; none is listed (e.g. sotl, lce, fidelity-k)"
            )
        for query in config.fidelities:
            oracle.fidelity_index(query)  # one line when it is not recorded
    return tuple(partial)


def auto_workers(predictors: Iterable[type[Predictor]], jobs: int) -> int:
    """`--workers auto`: a process pool of one worker per CPU (at most one per job) when a
    predictor's jobs take seconds (`Predictor.parallel`), else in this process: a spawned
    worker imports numpy, pandas and torch again, which costs more than cheap jobs save."""
    if not any(cls.parallel for cls in predictors):
        return 1
    return max(1, min(os.cpu_count() or 1, jobs))


def _check_writable(out: Path, command: str = "compare") -> None:
    """Create the results folder now, so an unwritable one, or one holding another command's
    results (their rows do not mix), fails before any work starts."""
    for _, record in records(out):
        other = record.get("command")
        if other and other != command:
            raise ConfigError(
                f"{out} holds `spdbench {other}` results; give `spdbench {command}` a "
                "results folder of its own (--out)"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot write results to {out} ({exc.strerror or exc}); choose another --out"
        ) from exc


def _predictor_class(config: CompareConfig, name: str) -> tuple[type[Predictor], dict[str, Any]]:
    """The class a listed name runs and its `__init__` keyword arguments (seed aside)."""
    return resolve_variant(config.variants, name, "predictor", resolve)
