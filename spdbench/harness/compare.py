"""The compare experiment: ranking quality and cost of predictors on one benchmark.

Jobs are benchmark x predictor x replicate x train size. Within a replicate and train size all
predictors see the same train and test architectures (a paired comparison). Ground truth:

- train scores: one recorded training run per architecture (a seed drawn per architecture),
  as a NAS practitioner would obtain them; their recorded cost is the predictor's set-up cost;
- test truth: the mean over all recorded seeds, the best estimate of true performance.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any, TypeVar

import pandas as pd

from spdbench import provenance
from spdbench.errors import PredictorContractError, shorten
from spdbench.harness import reruns
from spdbench.harness.executors import Executor
from spdbench.harness.metrics import mean_ci, ranking_metrics
from spdbench.harness.plan import ComparePlan, Job, current_key, select_jobs, split_aliases
from spdbench.harness.store import ResultsStore
from spdbench.io import write_json_atomic
from spdbench.oracles.base import train_ground_truth
from spdbench.predictors.base import Context, Predictor
from spdbench.simulation.clock import SimulatedClock
from spdbench.torch_utils import torch_loaded, torch_threads


def run_job(plan: ComparePlan, job: Job) -> dict[str, Any]:
    """Run one job (on one torch thread, so the numbers do not depend on --workers)."""
    with torch_threads(1) if torch_loaded() else contextlib.nullcontext():
        return _run_job(plan, job)


def _run_job(plan: ComparePlan, job: Job) -> dict[str, Any]:
    oracle, metric, fidelity = plan.oracle, plan.metric, plan.fidelity
    train, test = plan.split(job.replicate, job.train_size)
    cls = plan.predictors[job.predictor]
    seed = plan.predictor_seed(job.replicate)
    rng = plan.ground_truth_rng(job.replicate, job.train_size)
    gt = train_ground_truth(oracle, train, fidelity, metric.name, rng, "curves" in cls.needs)
    train_scores = metric.sign * gt.metrics[metric.name]
    truth = oracle.scores(test, metric.name, fidelity=fidelity)
    context = Context.for_predictor(cls, oracle, metric.name, gt, job.query_fidelity)
    clock = context.oracle.clock if context.oracle is not None else SimulatedClock()
    common = {
        "job_key": job.key,
        "config_hash": job.config_hash,
        "benchmark": plan.config.benchmark,
        "data_checksum": oracle.checksum,
        "metric": metric.name,
        "fidelity": gt.fidelity,
        "protocol": plan.protocol.name,
        "predictor": job.predictor,
        **({} if job.query_fidelity is None else {"query_fidelity": job.query_fidelity}),
    }

    def fit_predict() -> tuple[Predictor, Any, float, float, float, float, float, str]:
        params = plan.predictor_params(job.predictor)
        if "seed" in cls.param_names():
            params = {**params, "seed": seed}
        predictor: Predictor = cls(**params)
        sim0 = clock.seconds
        t0 = time.perf_counter()
        predictor.fit(train, train_scores, context)
        fit_s = time.perf_counter() - t0
        sim1 = clock.seconds
        t1 = time.perf_counter()
        predicted = predictor.predict(test, context)
        predict_s = time.perf_counter() - t1
        info = predictor.fitted_info()
        if not isinstance(info, dict):
            raise PredictorContractError(
                f"{job.predictor}.fitted_info() returned {type(info).__name__}, not a dict"
            )
        info = json.dumps(info, default=str)
        return predictor, predicted, fit_s, predict_s, sim0, sim1, clock.seconds, info

    try:
        predictor, predicted, fit_s, predict_s, sim0, sim1, sim2, info = call_with_limit(
            plan.job_timeout, fit_predict
        )
    except Exception as exc:  # the predictor's failure, not spdbench's: its job fails alone
        return {
            **common,
            "replicate": job.replicate,
            "seed": seed,
            "train_size": len(train),
            "test_size": len(test),
            "status": "failed",
            "error": shorten(f"{type(exc).__name__}: {exc}"),
            "versions": provenance.row_versions(plan.source),
            "finished_at": provenance.now(),
        }

    gt_cost = float(gt.cost.sum()) if cls.uses_train_scores else 0.0
    return {
        **common,
        "predictor_params": json.dumps(predictor.get_params(), sort_keys=True, default=str),
        "fitted_info": info,
        "replicate": job.replicate,
        "seed": seed,
        "train_size": len(train),
        "test_size": len(test),
        **ranking_metrics(truth, predicted),
        **plan.protocol.extra_metrics(test, truth, predicted),
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
        "versions": provenance.row_versions(plan.source),
        "finished_at": provenance.now(),
        "status": "ok",
        "error": "",
    }


class JobTimeoutError(Exception):
    """A predictor spent longer than the job timeout on one job's fit and predict."""


def _timeout_message(seconds: float) -> str:
    # wall-clock: a slow fit on a shared machine hits it as a hung one does
    return (
        f"timed out after {seconds:g} s (if it is only slow, raise --job-timeout or the "
        "config's job_timeout and run again)"
    )


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise JobTimeoutError inside the block after `seconds` (a SIGALRM timer: it interrupts
    Python code and sleeps, not a single long native call; Unix main thread only)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise JobTimeoutError(_timeout_message(seconds))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


T = TypeVar("T")
STOP_GRACE_S = 1.0  # after a timeout, how long a job thread gets to stop before it is left


def call_with_limit(seconds: float | None, fn: Callable[[], T]) -> T:
    """`fn()`, raising JobTimeoutError after `seconds`. In the main thread (this process, a
    pool worker) a SIGALRM timer; in another thread (a Dask worker's) `fn` runs in a thread of
    its own, which gets JobTimeoutError raised inside it when time is up: like the timer, this
    stops Python code, not a single long native call or a sleep, and such a thread is left
    to finish in the background while the job is reported as timed out."""
    if not seconds:
        return fn()
    if threading.current_thread() is threading.main_thread() or not hasattr(
        ctypes.pythonapi, "PyThreadState_SetAsyncExc"
    ):
        with _time_limit(seconds):
            return fn()
    outcome: dict[str, Any] = {}
    torch_used = torch_loaded()

    def target() -> None:
        try:
            with torch_threads(1) if torch_used else contextlib.nullcontext():
                outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="spdbench-job", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident or 0), ctypes.py_object(JobTimeoutError)
        )
        thread.join(STOP_GRACE_S)
        raise JobTimeoutError(_timeout_message(seconds))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def failed_jobs(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of jobs whose predictor raised (stores written before there were failed rows
    have no status column: none failed)."""
    if "status" not in rows:
        return rows.iloc[0:0]
    return rows[rows["status"] == "failed"]


def run_compare(
    plan: ComparePlan,
    *,
    rerun: Collection[str] = (),
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Run every job of `plan` not yet in its results store; returns this config's rows.

    `rerun` names predictors (labels as in the config) whose stored jobs run again: a new row
    replaces the stored one only when its job succeeds, so a rerun stopped half-way, or one
    whose predictor now raises, loses no stored row; the same rerun started again resumes
    (OUT/rerun-<config hash>-<predictor set>.json lists the jobs still to redo).
    `on_start(total, already_done)` is called once, `on_done(row)` after each finished job;
    jobs run on `executor` (`executors.open_executor`), else on one opened for this call from
    `plan.executor`.
    """
    store = ResultsStore(plan.out)
    write_json_atomic(plan.out / "runs" / f"{plan.config_hash}.json", plan.record_json())
    jobs = plan.jobs()
    aliases = split_aliases(plan.out)
    reruns.run_unstored(
        plan,
        store,
        cheap_first(plan, jobs),
        _finished(store, aliases),
        run_job,
        rerun=rerun,
        on_start=on_start,
        on_done=on_done,
        executor=executor,
    )
    return select_jobs(store.read(), jobs, aliases)


def cheap_first(plan: ComparePlan, jobs: list[Job]) -> list[Job]:
    """The jobs of predictors whose jobs take seconds (`Predictor.parallel`: the Petri dish)
    after all the others, each group in plan order: the cheap rows are stored at once, so an
    interrupted run has kept them and a partial report already has every baseline."""
    return sorted(jobs, key=lambda job: plan.predictors[job.predictor].parallel)


def _finished(store: ResultsStore, aliases: dict[str, str]) -> set[str]:
    """Keys of the finished jobs in `store`, older stores' split hashes replaced by today's."""
    return {current_key(key, aliases) for key in store.finished()}


def unstored_reruns(plan: ComparePlan, labels: Collection[str]) -> list[str]:
    """The `--rerun` predictors with no finished job stored in this run's splits (a changed
    config, or other listed zero-cost proxies, draw other splits: their jobs run as new ones)."""
    done = _finished(ResultsStore(plan.out), split_aliases(plan.out))
    return reruns.unstored(plan.jobs(), done, labels)


SUMMARY_METRICS = (
    "kendall_tau",
    "spearman",
    "top_k_precision",
    "regret",
    "init_time_s",
    "query_time_s",
)


def predictor_label(row: Any) -> str:
    """A summary row's predictor, with the query epoch it read where a fidelity grid ran."""
    q = row.get("query_fidelity") if hasattr(row, "get") else None
    return str(row["predictor"]) if q is None or pd.isna(q) else f"{row['predictor']} @{int(q)}"


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval half-width per predictor and train size, and per query fidelity
    where a fidelity grid ran (failed jobs left out)."""
    records = []
    rows = rows.drop(index=failed_jobs(rows).index)
    grid = "query_fidelity" in rows and rows["query_fidelity"].notna().any()
    keys = ["predictor", "train_size", *(["query_fidelity"] if grid else [])]
    for key, grp in rows.groupby(keys, sort=False, dropna=False):
        predictor, n = key[0], key[1]
        rec: dict[str, Any] = {"predictor": predictor, "train_size": int(n), "runs": len(grp)}
        if grid:
            rec["query_fidelity"] = None if pd.isna(key[2]) else int(key[2])
        for m in SUMMARY_METRICS:
            rec[m], rec[f"{m}_ci"] = mean_ci(grp[m].to_numpy())
        records.append(rec)
    return pd.DataFrame.from_records(records)
