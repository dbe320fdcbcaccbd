"""The search experiment: searchers x seeds on one benchmark, on the simulation backend.

A job is one searcher on one replicate (seed). It runs the searcher against a `Simulation`
of the benchmark (W simulated workers, recorded training time, a budget) and stores one row
holding its whole trajectory (one entry per finished evaluation: simulated time, evaluation
count, architecture, fidelity, search metric, and the report metric of the incumbent); the
results store, resume, process pool and run record are compare's (`spdbench.harness`).
`evaluations(rows)` expands the rows to one row per evaluation.

Protocols (`protocol_defaults`): NB201 searches the validation accuracy at 12 epochs, pays the
recorded 12-epoch training time and reports the 200-epoch test accuracy of the incumbent, with
a budget of 12,000 simulated seconds (NAS-Bench-201's search scripts, AutoDL-Projects
scripts-search/NAS-Bench-201-algos/R-EA.sh: --time_budget 12000; NATS-Bench's
exps/NATS-algos/*.py use hp '12' and 20,000 s by default). Multi-fidelity searchers (ASHA,
Hyperband) train up to the last recorded epoch, each rung read at its own epoch. NAS-Bench-NLP
(Sec. 4.2 / Fig. 3 of Rawal et al. 2020): validation loss at 50 epochs, test loss reported,
100 ground-truth evaluations. Elsewhere: the benchmark's default metric at its last epoch, the
test metric of the same kind where recorded, 100 evaluations.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
import warnings
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spdbench import plugins, provenance
from spdbench.errors import ConfigError, SpdbenchError, shorten
from spdbench.harness import reruns
from spdbench.harness.executors import LOCAL, Executor, ExecutorSpec
from spdbench.harness.plan import (
    MAX_SEEDS,
    _as_int,
    _check_writable,
    merge_options,
    read_config_file,
)
from spdbench.harness.store import ResultsStore
from spdbench.io import write_json_atomic
from spdbench.oracles.base import Metric, Oracle
from spdbench.oracles.catalog import BenchmarkRecord, Catalog
from spdbench.params import (
    check_variants,
    check_variants_used,
    listed_variants,
    names_of,
    narrowed_from,
    resolve_variant,
)
from spdbench.predictors.base import resolve
from spdbench.search import stored
from spdbench.search.base import SearchContext, Searcher
from spdbench.simulation.backend import Budget, Simulation

RUN_OPTIONS = ("out", "workers", "executor", "scheduler", "dask_workers")


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines the numbers of a search run (saved with the results)."""

    benchmark: str
    searchers: tuple[str, ...]
    predictor: str | None = None  # petri-ga's predictor (None: the searcher's default)
    seeds: int = 10
    budget: str | None = None  # "300evals" / "12000s"; None: the protocol's
    workers_sim: int = 1
    metric: str | None = None  # searched metric; None: the protocol's
    fidelity: int | None = None  # epoch the searched metric is read at; None: the protocol's
    report_metric: str | None = None
    report_fidelity: int | None = None
    charge_predictor_time: bool = False  # charge measured searcher/predictor wall time
    seed: int = 0
    # Named settings, as compare's variants: listed searcher -> {"searcher": registered name
    # (default: the listed name), hyperparameter: value, ...}; and a name `predictor` lists ->
    # {"predictor": registered name, hyperparameter: value, ...} (petri-ga's predictor_params).
    searcher_variants: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    predictor_variants: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.benchmark, str) or not self.benchmark:
            raise ConfigError(
                "no benchmark given: pass --benchmark (see `spdbench benchmarks list`)"
            )
        if not self.searchers or not all(isinstance(s, str) for s in self.searchers):
            raise ConfigError("name at least one searcher (--searchers a,b,...)")
        if len(set(self.searchers)) != len(self.searchers):
            raise ConfigError(f"searchers are listed twice: {','.join(self.searchers)}")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise ConfigError(f"seeds must be between 1 and {MAX_SEEDS:,}, got {self.seeds}")
        if not isinstance(self.workers_sim, int) or self.workers_sim < 1:
            raise ConfigError(f"simulated workers must be at least 1, got {self.workers_sim}")
        if self.budget is not None:
            Budget.parse(self.budget)
        check_variants(
            self.searcher_variants,
            "searcher",
            "searcher_variants",
            '[search.searcher_variants.re-50] searcher = "regularized-evolution", population = 50',
        )
        check_variants(
            self.predictor_variants,
            "predictor",
            "predictor_variants",
            '[search.predictor_variants.dish-short] predictor = "petri-dish", outer_steps = 20',
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SearchConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(
                f"unknown config key(s) {', '.join(unknown)}; valid: "
                f"{', '.join(sorted(names | set(RUN_OPTIONS)))}"
            )
        data = dict(raw)
        if isinstance(data.get("searchers"), str):
            data["searchers"] = names_of(data["searchers"])
        if data.get("searchers") is not None:
            data["searchers"] = tuple(data["searchers"])
        if isinstance(data.get("predictor"), list | tuple):  # TOML list: as on the command line
            data["predictor"] = ",".join(str(p) for p in data["predictor"])
        if data.get("predictor") is not None and not isinstance(data["predictor"], str):
            raise ConfigError(
                f"predictor must be a name or a list of names, got {data['predictor']!r}"
            )
        for key in ("seeds", "seed", "fidelity", "report_fidelity", "workers_sim"):
            if data.get(key) is not None:
                data[key] = _as_int(data[key], key)
        if data.get("budget") is not None:
            data["budget"] = str(Budget.parse(data["budget"]))
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"incomplete or malformed search config: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["searchers"] = list(self.searchers)
        for key in ("searcher_variants", "predictor_variants"):
            if not d[key]:
                del d[key]  # configs without variants keep the hashes they always had
        return d

    def hash(self) -> str:
        return provenance.config_hash(self.to_dict())

    def run_hash(self, *, former: bool = False) -> str:
        """The config without the searcher and predictor lists, the number of seeds and the
        variants: a run's numbers depend on its own searcher, predictor and variant settings
        (in its key) and on its replicate's seed (from the master seed and the replicate), not
        on what else runs beside it, so adding searchers, predictors or seeds reuses every
        stored run. `former`: the hash as stores before 2026-11-30 keyed runs, with the
        predictor list and the number of seeds."""
        skip = ("searchers", "searcher_variants", "predictor_variants")
        skip += () if former else ("predictor", "seeds")
        return provenance.config_hash({k: v for k, v in self.to_dict().items() if k not in skip})

    def variant_hash(self, searcher: str, predictor: str | None = None) -> str:
        """Short hash of the variant settings a listed searcher runs with, with its predictor's
        ('' when neither is a variant): part of its jobs' keys, so that changing a variant's
        hyperparameters reruns the runs that use it, and only those."""
        used = {
            "searcher": self.searcher_variants.get(searcher),
            "predictor": self.predictor_variants.get(predictor or ""),
        }
        used = {k: v for k, v in used.items() if v is not None}
        return provenance.config_hash(used)[:8] if used else ""


@dataclass(frozen=True)
class SearchJob:
    """One searcher on one replicate."""

    searcher: str  # its label: petri-ga[knn] when petri-ga is given the predictor knn
    replicate: int
    config_hash: str
    run_hash: str
    variant: str = ""  # hash of its variant settings (`SearchConfig.variant_hash`), if any

    @property
    def runner(self) -> str:
        return self.searcher

    @property
    def key(self) -> str:
        """run hash / searcher[@variant] / replicate (as compare's job keys); the label names
        the predictor a searcher was given (petri-ga[knn])."""
        who = f"{self.searcher}@{self.variant}" if self.variant else self.searcher
        return f"{self.run_hash}/{who}/r{self.replicate}"

    def stored_in(self, done: set[str]) -> bool:
        return self.key in done


def protocol_defaults(oracle: Oracle) -> dict[str, Any]:
    """Search metric and fidelity, report metric and fidelity, and budget of a benchmark."""
    last = int(oracle.epochs[-1])
    name = oracle.name
    if name.startswith(("nb201-", "nats-tss-")) and "valid_acc" in oracle.metrics:
        fid = 12 if 12 in oracle.epochs else last
        report = "test_acc" if "test_acc" in oracle.metrics else "valid_acc"
        return dict(metric="valid_acc", fidelity=fid, report_metric=report, report_fidelity=last,
                    budget="12000s")  # fmt: skip
    metric = oracle.metric()
    kind = metric.name.partition("_")[2]
    report = f"test_{kind}" if f"test_{kind}" in oracle.metrics else metric.name
    return dict(metric=metric.name, fidelity=last, report_metric=report, report_fidelity=last,
                budget="100evals")  # fmt: skip


@dataclass(frozen=True)
class SearchPlan:
    """A search config resolved against the catalog and checked."""

    config: SearchConfig
    record: BenchmarkRecord
    oracle: Oracle
    searchers: dict[str, type[Searcher]]
    params: dict[str, dict[str, Any]]  # per searcher, besides the seed
    metric: Metric
    fidelity: int
    report_metric: Metric
    report_fidelity: int
    budget: Budget
    out: Path
    workers: int
    executor: ExecutorSpec = LOCAL  # where jobs run; results do not depend on it
    # per searcher label, the hash of the variant settings it runs with ('' for none)
    variants: dict[str, str] = dataclasses.field(default_factory=dict)
    # the spdbench source digest at planning time: rows name the code the run started with
    source: str = dataclasses.field(default_factory=lambda: provenance.source_digest())
    # the hash of the config file's whole config when --searchers or --predictor ran part of it
    part_of: str | None = None

    @property
    def config_hash(self) -> str:
        return self.config.hash()

    def jobs(self) -> list[SearchJob]:
        """Searcher runs (a searcher given predictors runs once per predictor, labelled
        `petri-ga[knn]`) x replicates, in a fixed order."""
        h, r = self.config.hash(), self.config.run_hash()
        return [
            SearchJob(s, rep, h, r, self.variants.get(s, ""))
            for rep in range(self.config.seeds)
            for s in self.searchers
        ]

    def searcher_seed(self, replicate: int) -> int:
        state = np.random.SeedSequence([self.config.seed, replicate]).generate_state(1)[0]
        return int(state % (2**31))

    def simulation(self) -> Simulation:
        return Simulation(
            self.oracle,
            workers=self.config.workers_sim,
            metric=self.metric.name,
            report_metric=self.report_metric.name,
            report_fidelity=self.report_fidelity,
            charge_searcher_time=self.config.charge_predictor_time,
        )

    def record_json(self) -> dict[str, Any]:
        return {
            "command": "search",
            "config": self.config.to_dict(),
            "config_hash": self.config_hash,
            "seed": self.config.seed,
            "resolved": {
                "metric": self.metric.name,
                "fidelity": self.fidelity,
                "report_metric": self.report_metric.name,
                "report_fidelity": self.report_fidelity,
                "budget": str(self.budget),
                "run_hash": self.config.run_hash(),
                "jobs": [j.key for j in self.jobs()],
                "job_labels": [j.searcher for j in self.jobs()],
                "searchers": {
                    n: f"{c.__module__}:{c.__qualname__}" for n, c in self.searchers.items()
                },
                "params": self.params,
            },
            **({"part_of": self.part_of} if self.part_of else {}),
            **provenance.run_stamp(self.oracle, self.source),
        }


def resolve_search(
    options: dict[str, Any],
    *,
    config_file: Path | None = None,
    explicit: Iterable[str] = (),
    catalog: Catalog | None = None,
) -> SearchPlan:
    """The plan of a search run from command-line options and an optional TOML file
    ([search] table); fails on any bad name, metric, fidelity or budget before work starts."""
    file_values = read_config_file(config_file, "search") if config_file else {}
    raw = merge_options(file_values, options, explicit)
    out, workers = raw.pop("out", None), raw.pop("workers", 1)
    executor = ExecutorSpec.from_options(
        raw.pop("executor", None), raw.pop("scheduler", None), raw.pop("dask_workers", None)
    )
    if not raw.get("searchers"):
        raise ConfigError("no searchers given: pass --searchers (see `spdbench searchers list`)")
    config = SearchConfig.from_dict(raw)  # checks every variant of the file
    picked = {
        variants: listed_variants(getattr(config, variants), getattr(config, listed))
        for listed, variants in (
            ("searchers", "searcher_variants"),
            ("predictor", "predictor_variants"),
        )
        if listed in explicit
    }
    config = dataclasses.replace(config, **picked)
    plan = plan_search(config, out=out, workers=workers, executor=executor, catalog=catalog)
    # a run of some of the file's searchers or predictors: the report shows the file's whole
    # config once that has run
    narrowed = [k for k in ("searchers", "predictor") if k in explicit]
    whole = narrowed_from(config, SearchConfig.from_dict, raw, file_values, narrowed)
    return dataclasses.replace(plan, part_of=whole)


def plan_search(
    config: SearchConfig,
    *,
    out: str | Path | None = None,
    workers: int | str = 1,
    executor: ExecutorSpec | None = None,
    catalog: Catalog | None = None,
) -> SearchPlan:
    """Resolve `config` against the catalog and check it."""
    workers = _as_int(workers, "workers")
    if workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers}")
    catalog = catalog or Catalog()
    record, oracle = catalog.resolve(config.benchmark)
    resolved = {
        name: resolve_variant(config.searcher_variants, name, "searcher", _searcher_settings)
        for name in config.searchers
    }
    check_variants_used(config.searcher_variants, config.searchers, "searchers", "--searchers")
    predictors = names_of(config.predictor)
    # an unknown name or hyperparameter fails even where no searcher uses it
    predictor_params = {
        p: resolve_variant(config.predictor_variants, p, "predictor", _predictor_settings)
        for p in predictors
    }
    check_variants_used(config.predictor_variants, predictors, "predictor", "--predictor")
    defaults = protocol_defaults(oracle)
    metric = oracle.metric(config.metric or defaults["metric"])
    fidelity = int(oracle.epochs[oracle.fidelity_index(config.fidelity or defaults["fidelity"])])
    report_metric = oracle.metric(config.report_metric or defaults["report_metric"])
    report_fidelity = int(
        oracle.epochs[oracle.fidelity_index(config.report_fidelity or defaults["report_fidelity"])]
    )
    budget = Budget.parse(config.budget or defaults["budget"])
    if budget.evaluations is not None and config.workers_sim > budget.evaluations:
        raise ConfigError(
            f"{config.workers_sim} simulated workers for a budget of {budget.evaluations} "
            "evaluations: use at most as many workers as evaluations"
        )
    searchers: dict[str, type[Searcher]] = {}
    params: dict[str, dict[str, Any]] = {}
    variants: dict[str, str] = {}
    for name, (cls, settings) in resolved.items():
        choices: list[str | None] = [None]
        if predictors and "predictor" in cls.param_names():
            choices = list(predictors)
        for p in choices:
            label = f"{name}[{p}]" if p else name
            kwargs = {**settings, **(predictor_params[p] if p else {})}
            cls.check_benchmark(oracle, {**_defaults(cls), **kwargs})
            needs = cls.requires_arch_info({**_defaults(cls), **kwargs})
            if needs and oracle.size is None:
                raise ConfigError(
                    f"{label} needs {', '.join(needs)} per architecture, which benchmark "
                    f"{config.benchmark!r} cannot list over its unbounded space"
                )
            pool_size = len(oracle.pool(needs)) if needs else oracle.size
            # a multi-fidelity searcher evaluates an architecture once per recorded fidelity
            most = (
                None
                if pool_size is None
                else pool_size * (len(oracle.epochs) if cls.multi_fidelity else 1)
            )
            if None not in (budget.evaluations, most) and budget.evaluations > most:
                raise ConfigError(
                    f"{label} can make {most} evaluations of the {pool_size} architectures of "
                    f"{config.benchmark!r}"
                    f"{' that record ' + ', '.join(needs) if needs else ''}, fewer than the "
                    f"budget of {budget.evaluations}: lower --budget"
                )
            searchers[label], params[label] = cls, kwargs
            variants[label] = config.variant_hash(name, p)
    out = Path(out) if out else Path("results") / f"search-{Path(config.benchmark).stem}"
    _check_writable(out, "search")
    return SearchPlan(
        config, record, oracle, searchers, params, metric, fidelity, report_metric,
        report_fidelity, budget, out, workers, executor or ExecutorSpec(), variants,
    )  # fmt: skip


def _searcher_settings(name: str, settings: dict[str, Any]) -> tuple[type[Searcher], dict]:
    """The class of a registered searcher and the hyperparameters a variant sets, checked
    (its predictor comes from the `predictor` option, one way for every searcher)."""
    cls = searcher_class(name)
    settings = cls.settable(settings)
    taken = [k for k in ("predictor", "predictor_params") if k in settings]
    if taken:
        raise ConfigError(
            f"set {' and '.join(taken)} of {name} with the predictor option (hyperparameters "
            "in [search.predictor_variants.NAME]), not in a searcher variant"
        )
    return cls, settings


def _predictor_settings(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments that make a searcher run the registered predictor `name` with
    `settings` (checked now: an unknown hyperparameter fails before any work starts)."""
    resolve(name, settings)
    return {"predictor": name, "predictor_params": settings} if settings else {"predictor": name}


def _defaults(cls: type[Searcher]) -> dict[str, Any]:
    sig = inspect.signature(cls.__init__)
    return {
        k: v.default for k, v in sig.parameters.items() if v.default is not inspect.Parameter.empty
    }


def searcher_class(name: str) -> type[Searcher]:
    cls = plugins.load("searcher", name)
    if not (isinstance(cls, type) and issubclass(cls, Searcher)):
        raise ConfigError(f"searcher plugin {name!r} is not a spdbench Searcher subclass")
    return cls


def search_context(
    plan: SearchPlan, cls: type[Searcher], replicate: int, params: dict[str, Any]
) -> SearchContext:
    """What one searcher sees in one replicate (its generator derives from the master seed);
    its pool is the architectures that record every fact it needs (e.g. petri-ga with a
    replayed zero-cost proxy: the cells with a recorded score)."""
    oracle = plan.oracle
    top = int(oracle.epochs[-1]) if cls.multi_fidelity else plan.fidelity
    having = cls.requires_arch_info({**_defaults(cls), **params})
    pool = oracle.pool(having) if oracle.size is not None else None
    return SearchContext(
        space=oracle.space,
        fidelities=oracle.epochs.copy(),
        fidelity=top,
        rng=np.random.default_rng([plan.config.seed, replicate, 17]),
        pool=pool,
        oracle=oracle,
        metric=plan.metric.name,
    )


def run_job(plan: SearchPlan, job: SearchJob) -> dict[str, Any]:
    """One searcher on one replicate: its trajectory as one row (a failed row if it raised)."""
    oracle = plan.oracle
    cls = plan.searchers[job.searcher]
    seed = plan.searcher_seed(job.replicate)
    common = {
        "job_key": job.key,
        "config_hash": job.config_hash,
        "benchmark": plan.config.benchmark,
        "data_checksum": oracle.checksum,
        "searcher": job.searcher,
        "replicate": job.replicate,
        "seed": seed,
        "metric": plan.metric.name,
        "fidelity": plan.fidelity,
        "report_metric": plan.report_metric.name,
        "report_fidelity": plan.report_fidelity,
        "budget": str(plan.budget),
        "workers_sim": plan.config.workers_sim,
        "versions": provenance.row_versions(plan.source),
    }
    t0 = time.perf_counter()
    try:
        searcher = cls(**plan.params[job.searcher], seed=seed)
        searcher.setup(search_context(plan, cls, job.replicate, plan.params[job.searcher]))
        sim = plan.simulation()
        traj = sim.run(searcher, plan.budget)
    except SpdbenchError as exc:  # the searcher's failure (or bad settings): it fails alone
        return {
            **common,
            "status": "failed",
            "error": shorten(str(exc)),
            "finished_at": provenance.now(),
        }
    wall = time.perf_counter() - t0
    inc = traj.incumbent()
    rep_sign, sign = plan.report_metric.sign, plan.metric.sign
    best = sim.table_best
    inc_report = traj.report[inc]
    return {
        **common,
        "searcher_params": json.dumps(searcher.get_params(), sort_keys=True, default=str),
        "status": "ok",
        "error": "",
        "evaluations": len(traj),
        "sim_time": traj.time.tolist(),
        "start_time": traj.start.tolist(),
        "worker": traj.worker.tolist(),
        "trial": traj.trial.tolist(),
        "archs": oracle.space.format(traj.archs),
        "eval_fidelity": traj.fidelity.tolist(),
        "search_value": (sign * traj.score).tolist(),  # in the metric's units
        "incumbent_report": (rep_sign * inc_report).tolist(),
        "regret": (best - inc_report).tolist(),
        "final_report": float(rep_sign * inc_report[-1]) if len(traj) else float("nan"),
        "final_regret": float(best - inc_report[-1]) if len(traj) else float("nan"),
        "final_sim_time": float(traj.time[-1]) if len(traj) else 0.0,
        "table_best": float(rep_sign * best),
        "searcher_overhead_s": float(traj.info["searcher_overhead_s"]),
        "predictor_s": float(getattr(searcher, "predictor_s_", 0.0)),
        "wall_s": wall,
        "finished_at": provenance.now(),
    }


def unstored_reruns(plan: SearchPlan, names: Collection[str]) -> list[str]:
    """The searcher labels of `names` with no finished run stored (a rerun runs them anew)."""
    finished = ResultsStore(plan.out).finished()
    return reruns.unstored(
        plan.jobs(), stored.finished_keys(finished, stored.run_aliases(plan.out)), names
    )


def run_search(
    plan: SearchPlan,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
    rerun: Collection[str] = (),
) -> pd.DataFrame:
    """Run every job of `plan` not yet stored; returns this config's rows (finished jobs are
    stored one by one, so an interrupted run keeps them and a rerun resumes). `rerun` names
    searcher labels whose stored runs run again (`harness.reruns`: a new row replaces the
    stored one only when its run succeeds; the same command resumes an interrupted rerun)."""
    store = ResultsStore(plan.out)
    write_json_atomic(plan.out / "runs" / f"{plan.config_hash}.json", plan.record_json())
    jobs = plan.jobs()
    aliases = stored.run_aliases(plan.out)
    reruns.run_unstored(
        plan,
        store,
        jobs,
        stored.finished_keys(store.finished(), aliases),
        run_job,
        rerun=rerun,
        on_start=on_start,
        on_done=on_done,
        executor=executor,
    )
    keys, labels = [j.key for j in jobs], [j.searcher for j in jobs]
    return stored.rows_of_jobs(store.read(), keys, aliases, labels)


TRAJECTORY = (
    "sim_time", "start_time", "worker", "trial", "archs", "eval_fidelity", "search_value",
    "incumbent_report", "regret",
)  # fmt: skip


def evaluations(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluation (searcher, seed, simulated time, evaluation count, architecture,
    fidelity, search metric, the incumbent's report metric and regret) from job rows."""
    ok = rows[rows["status"] == "ok"] if "status" in rows else rows
    if ok.empty:
        return pd.DataFrame(columns=["searcher", "replicate", "evaluation", *TRAJECTORY])
    out = ok[["searcher", "replicate", "seed", *TRAJECTORY]].explode(list(TRAJECTORY))
    out["evaluation"] = out.groupby(["searcher", "replicate"]).cumcount() + 1
    for col in ("sim_time", "start_time", "search_value", "incumbent_report", "regret"):
        out[col] = out[col].astype(float)
    for col in ("worker", "trial", "eval_fidelity"):
        out[col] = out[col].astype(np.int64)
    return out.reset_index(drop=True)


def failed(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["status"] == "failed"] if "status" in rows else rows.iloc[0:0]


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Final report metric per searcher: mean, std (NAS-Bench-201's table), 95% bootstrap
    interval over seeds, and the mean number of evaluations and simulated time."""
    records = []
    ok = rows.drop(index=failed(rows).index)
    for name, grp in ok.groupby("searcher", sort=False):
        v = grp["final_report"].to_numpy(dtype=float)
        lo, hi = bootstrap_ci(v[None, :])
        records.append(
            {
                "searcher": name,
                "runs": len(grp),
                "final_mean": float(np.nanmean(v)),
                "final_std": float(np.nanstd(v, ddof=1)) if len(v) > 1 else float("nan"),
                "ci_low": float(lo[0]),
                "ci_high": float(hi[0]),
                "regret_mean": _mean(grp["final_regret"].to_numpy(dtype=float)),
                "evaluations": float(grp["evaluations"].mean()),
                "sim_time": float(grp["final_sim_time"].mean()),
                "wall_s": float(grp["wall_s"].mean()),
            }
        )
    return pd.DataFrame.from_records(records)


def _mean(v: np.ndarray) -> float:
    """Mean ignoring NaN; NaN (quietly) when all are (no regret on infinite spaces)."""
    v = v[~np.isnan(v)]
    return float(v.mean()) if len(v) else float("nan")


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean over seeds, per row of `values`
    (points x seeds; NaN ignored), vectorized over rows and resamples."""
    v = np.asarray(values, dtype=float)
    n = v.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points stay NaN
        means = np.nanmean(v[:, idx], axis=2)  # (points, n_boot)
        a = (1 - confidence) / 2
        return np.nanquantile(means, a, axis=1), np.nanquantile(means, 1 - a, axis=1)
