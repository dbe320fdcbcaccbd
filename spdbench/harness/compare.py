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
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

import pandas as pd

from spdbench import provenance
from spdbench.errors import JobsFailedError, shorten
from spdbench.harness.metrics import mean_ci, ranking_metrics
from spdbench.harness.plan import ComparePlan, Job, select_jobs
from spdbench.harness.store import ResultsStore
from spdbench.io import write_json_atomic
from spdbench.oracles.base import train_ground_truth
from spdbench.predictors.base import Context, Predictor
from spdbench.torch_utils import torch_loaded, torch_threads, warm_up_torch


def run_job(plan: ComparePlan, job: Job) -> dict[str, Any]:
    """Run one job (on one torch thread, so the numbers do not depend on --workers)."""
    with torch_threads(1) if torch_loaded() else contextlib.nullcontext():
        return _run_job(plan, job)


def prepare_process() -> None:
    """Once per process, before its first timed job: when the plan's predictors use torch
    (their modules imported it), pay torch's one-time costs now, so that `fit_s` and
    `predict_s` do not depend on which job a process happens to run first."""
    if torch_loaded():
        with torch_threads(1):
            warm_up_torch()


def _run_job(plan: ComparePlan, job: Job) -> dict[str, Any]:
    oracle, metric, fidelity = plan.oracle, plan.metric, plan.fidelity
    train, test = plan.split(job.replicate, job.train_size)
    cls = plan.predictors[job.predictor]
    seed = plan.predictor_seed(job.replicate)
    rng = plan.ground_truth_rng(job.replicate, job.train_size)
    gt = train_ground_truth(oracle, train, fidelity, metric.name, rng, "curves" in cls.needs)
    train_scores = metric.sign * gt.metrics[metric.name]
    truth = oracle.scores(test, metric.name, fidelity=fidelity, charge=False)
    context = Context.for_predictor(cls, oracle, metric.name, gt, job.query_fidelity)
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
    try:
        with _time_limit(plan.job_timeout):
            params = plan.predictor_params(job.predictor)
            if "seed" in cls.param_names():
                params = {**params, "seed": seed}
            predictor: Predictor = cls(**params)
            sim0 = oracle.clock.seconds
            t0 = time.perf_counter()
            predictor.fit(train, train_scores, context)
            fit_s = time.perf_counter() - t0
            sim1 = oracle.clock.seconds
            t1 = time.perf_counter()
            predicted = predictor.predict(test, context)
            predict_s = time.perf_counter() - t1
            sim2 = oracle.clock.seconds
    except Exception as exc:  # the predictor's failure, not spdbench's: its job fails alone
        return {
            **common,
            "replicate": job.replicate,
            "seed": seed,
            "train_size": len(train),
            "test_size": len(test),
            "status": "failed",
            "error": shorten(f"{type(exc).__name__}: {exc}"),
            "versions": json.dumps(provenance.versions(), sort_keys=True),
            "finished_at": provenance.now(),
        }

    gt_cost = float(gt.cost.sum()) if cls.uses_train_scores else 0.0
    return {
        **common,
        "predictor_params": json.dumps(predictor.get_params(), sort_keys=True, default=str),
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
        "versions": json.dumps(provenance.versions(), sort_keys=True),
        "finished_at": provenance.now(),
        "status": "ok",
        "error": "",
    }


class JobTimeoutError(Exception):
    """A predictor spent longer than the job timeout on one job's fit and predict."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise JobTimeoutError inside the block after `seconds` (a SIGALRM timer: it interrupts
    Python code and sleeps, not a single long native call; Unix main thread only)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise JobTimeoutError(f"timed out after {seconds:g} s (--job-timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def failed_jobs(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of jobs whose predictor raised (stores written before there were failed rows
    have no status column: none failed)."""
    if "status" not in rows:
        return rows.iloc[0:0]
    return rows[rows["status"] == "failed"]


def run_compare(
    plan: ComparePlan,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every job of `plan` not yet in its results store; returns this config's rows.

    `on_start(total, already_done)` is called once, `on_done(row)` after each finished job.
    """
    store = ResultsStore(plan.out)
    write_json_atomic(plan.out / "runs" / f"{plan.config_hash}.json", plan.record_json())
    jobs = plan.jobs()
    done = store.finished()
    todo = [j for j in jobs if j.key not in done and j.legacy_key not in done]
    if on_start:
        on_start(len(jobs), len(jobs) - len(todo))
    try:
        for row in _execute(plan, todo):
            store.append([row])
            if on_done:
                on_done(row)
    finally:
        store.compact()
    return select_jobs(store.read(), jobs)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies, even by SIGKILL, so that no
    worker (and, its pipes closing, no resource tracker) outlives a killed compare (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(1)


# A worker process receives the plan once, through the pool initializer, instead of with
# every job (the oracle it holds can be megabytes); `run` is the job function (compare's
# `run_job` or search's), a module-level function so that it pickles by name.
_worker_plan: Any = None
_worker_fn: Callable[[Any, Any], dict[str, Any]] | None = None


def _worker_init(plan: Any, parent: int, run: Callable[[Any, Any], dict[str, Any]]) -> None:
    global _worker_plan, _worker_fn
    die_with_parent(parent)
    _worker_plan = plan  # unpickling it imports the predictors' modules (and torch, if used)
    _worker_fn = run
    if torch_loaded():
        import torch

        torch.set_num_threads(1)
    prepare_process()


def _worker_run(job: Any) -> dict[str, Any]:
    assert _worker_plan is not None and _worker_fn is not None, "worker started without a plan"
    return _worker_fn(_worker_plan, job)


def _execute(
    plan: Any, jobs: list[Any], run: Callable[[Any, Any], dict[str, Any]] | None = None
) -> Iterable[dict[str, Any]]:
    """Rows of `run(plan, job)` (default: compare's `run_job`) for every job, in this process
    (`plan.workers` 1) or on a process pool, in the order they finish."""
    if not jobs:
        return
    run = run or run_job
    if plan.workers == 1 or len(jobs) == 1:
        prepare_process()
        for job in jobs:
            yield run(plan, job)
        return
    ctx = get_context("spawn")  # fork after torch threads start can deadlock
    with ProcessPoolExecutor(
        min(plan.workers, len(jobs)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(plan, os.getpid(), run),
    ) as pool:
        futures = {pool.submit(_worker_run, job): job for job in jobs}
        pending = set(futures)
        try:
            for fut in as_completed(futures):
                row = fut.result()
                pending.discard(fut)
                yield row
        except BrokenProcessPool as exc:
            unfinished = sorted({futures[f].runner for f in pending})
            raise JobsFailedError(
                "a worker process died (a predictor ended its process, e.g. with os._exit or a "
                f"crash in native code) while running jobs of {', '.join(unfinished)}; every "
                "finished job is stored: rerun without the culprit, or with --workers 1 to see it"
            ) from exc
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
