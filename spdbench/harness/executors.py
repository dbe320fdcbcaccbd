"""Executors: where a harness's jobs run (`--executor`).

- `local` (the default): in this process (`--workers 1`) or on a local process pool;
- `dask`: on a `distributed` cluster, an existing one (`--scheduler ADDRESS`) or a
  `LocalCluster` of `--dask-workers N` worker processes started for the run.

Either way the caller gets one row per job in the order jobs finish, and only the caller
writes the results store. A job is `run(plan, job)`, a module-level function (compare's or
search's `run_job`) that turns a predictor's or searcher's failure into a failed row; the plan
travels to each worker process once (pool initializer, or a task result each Dask worker
fetches once), never with every job.

On Dask, a worker process that dies mid-job (killed, out of memory) has its job rerun by the
scheduler on another worker; a job that kills every worker it lands on is reported once the
scheduler gives up on it (`distributed.scheduler.allowed-failures`), after every other job.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from spdbench.errors import ConfigError, JobsFailedError, shorten
from spdbench.torch_utils import torch_loaded, torch_threads, warm_up_torch

RunFn = Callable[[Any, Any], dict[str, Any]]

EXECUTORS = ("local", "dask")
DASK_MISSING = (
    "--executor dask needs dask.distributed, which is not installed: "
    "pip install 'spdbench[dask]' (or pip install 'dask[distributed]')"
)
CONNECT_TIMEOUT_S = 10.0  # to reach a --scheduler, and for it to have a worker
RESCUE_TRIES = 2  # submissions of a job whose workers died before the run reports it
# A local cluster's scheduler: one job per worker thread at a time (none queued on a worker,
# where a crash of the job before it would count against it too).
# distributed's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also pins glibc's
# mmap threshold at 128 kB: every tensor above it is mapped and unmapped at each step, and the
# ground-truth trainer ran 1.5x slower on such a worker (page faults) than in a plain process.
# Local clusters start workers with the rest of distributed's environment, without it.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1,
        "MKL_NUM_THREADS": 1,
        "OPENBLAS_NUM_THREADS": 1,
    },
}


@dataclass(frozen=True)
class ExecutorSpec:
    """Where jobs run: `local`, or `dask` on a scheduler address or a local cluster of N
    worker processes (one thread each). A run option: results never depend on it."""

    kind: str = "local"
    scheduler: str | None = None
    dask_workers: int | None = None

    @classmethod
    def from_options(
        cls,
        executor: str | None = None,
        scheduler: str | None = None,
        dask_workers: int | str | None = None,
    ) -> ExecutorSpec:
        """Checked options (a ConfigError a user can act on for any bad combination; for
        `dask`, a clear one when dask.distributed is not installed)."""
        kind = executor or "local"
        if kind not in EXECUTORS:
            raise ConfigError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
        if kind == "local":
            if scheduler or dask_workers is not None:
                given = "--scheduler" if scheduler else "--dask-workers"
                raise ConfigError(f"{given} needs --executor dask")
            return cls()
        if importlib.util.find_spec("distributed") is None:
            raise ConfigError(DASK_MISSING)
        if scheduler is not None and not (isinstance(scheduler, str) and scheduler.strip()):
            raise ConfigError(
                f"scheduler must be an address like tcp://host:8786, got {scheduler!r}"
            )
        if scheduler and dask_workers is not None:
            raise ConfigError(
                "pass either --scheduler (an existing cluster) or --dask-workers (a local one)"
            )
        if dask_workers is not None:
            try:
                if isinstance(dask_workers, bool | float):
                    raise ValueError
                dask_workers = int(dask_workers)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"dask workers must be a positive integer, got {dask_workers!r}"
                ) from None
            if dask_workers < 1:
                raise ConfigError(f"dask workers must be a positive integer, got {dask_workers}")
        elif not scheduler:
            dask_workers = os.cpu_count() or 1
        return cls("dask", scheduler.strip() if scheduler else None, dask_workers)

    def describe(self) -> str:
        if self.kind == "local":
            return "local"
        if self.scheduler:
            return f"dask at {self.scheduler}"
        return f"dask, a local cluster of {self.dask_workers} worker process(es)"


LOCAL = ExecutorSpec()


@dataclass(frozen=True)
class Executor:
    """An opened executor (`open_executor`): a Dask client, or nothing to hold for local."""

    spec: ExecutorSpec
    client: Any = None

    def map(self, plan: Any, jobs: list[Any], run: RunFn) -> Iterator[dict[str, Any]]:
        """Rows of `run(plan, job)` for every job, in the order they finish."""
        if self.client is None:
            yield from _local_rows(plan, jobs, run)
        else:
            yield from _dask_rows(self.client, plan, jobs, run)


@contextlib.contextmanager
def open_executor(spec: ExecutorSpec) -> Iterator[Executor]:
    """What `spec` names, ready for one run: for Dask, connected to its scheduler (or with a
    local cluster started) and its workers checked, so that an unreachable scheduler fails
    before any job runs (a ConfigError, one line)."""
    if spec.kind != "dask":
        yield Executor(spec)
        return
    with _dask_client(spec) as client:
        _check_workers(client, spec)
        yield Executor(spec, client)


def run_jobs(
    plan: Any, jobs: list[Any], run: RunFn, executor: Executor | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of `run(plan, job)` for every job, in the order they finish, on `executor`, or
    else on one opened from `plan.executor` for these jobs (local when the plan has none)."""
    if executor is not None:
        yield from executor.map(plan, jobs, run)
    elif jobs:
        with open_executor(getattr(plan, "executor", None) or LOCAL) as opened:
            yield from opened.map(plan, jobs, run)


# ---- shared by every worker process ---------------------------------------------------------
def prepare_process(plan: Any) -> None:
    """Once per process, before its first timed job: when the plan's predictors use torch
    (their modules imported it), pay torch's one-time costs now, and each predictor's own
    (`Predictor.warm_up`: compiling or loading a kernel), so that `fit_s` and `predict_s` do
    not depend on which job a process happens to run first."""
    if torch_loaded():
        import torch

        torch.set_num_threads(1)
        with torch_threads(1):
            warm_up_torch()
    oracle = getattr(plan, "oracle", None)
    for cls in getattr(plan, "predictors", {}).values():
        with contextlib.suppress(Exception):  # a warm-up must not fail a run
            cls.warm_up(oracle)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies, even by SIGKILL, so that no
    worker (and, its pipes closing, no resource tracker) outlives a killed run (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(1)


# ---- local: this process or a process pool --------------------------------------------------
# A pool worker receives the plan once, through the pool initializer, instead of with every
# job (the oracle it holds can be megabytes).
_worker_plan: Any = None
_worker_fn: RunFn | None = None


def _worker_init(plan: Any, parent: int, run: RunFn) -> None:
    global _worker_plan, _worker_fn
    die_with_parent(parent)
    _worker_plan = plan  # unpickling it imports the predictors' modules (and torch, if used)
    _worker_fn = run
    prepare_process(plan)


def _worker_run(job: Any) -> dict[str, Any]:
    assert _worker_plan is not None and _worker_fn is not None, "worker started without a plan"
    return _worker_fn(_worker_plan, job)


def _local_rows(plan: Any, jobs: list[Any], run: RunFn) -> Iterable[dict[str, Any]]:
    """In this process (`plan.workers` 1) or on a process pool."""
    if not jobs:
        return
    if plan.workers == 1 or len(jobs) == 1:
        prepare_process(plan)
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
            # Ctrl-C (or the caller stopping early): end the running jobs too instead of
            # waiting for them, since a fit can take an hour. Only this process stores rows, so
            # nothing half-written is left, and a rerun runs those jobs again.
            running = list((getattr(pool, "_processes", None) or {}).values())  # private
            pool.shutdown(wait=False, cancel_futures=True)  # forgets its processes
            for process in running:
                process.terminate()
            raise


# ---- dask ------------------------------------------------------------------------------------
_dask_lock = threading.Lock()  # one job at a time per worker process (see _dask_run)
_dask_prepared = False


def _dask_run(plan: Any, job: Any, run: RunFn) -> dict[str, Any]:
    """A job on a Dask worker. Jobs of one process take turns even on a worker with several
    threads: a job sets torch's (process-wide) thread count and times its fit and predict, which
    a concurrent job would distort."""
    global _dask_prepared
    with _dask_lock:
        if not _dask_prepared:
            prepare_process(plan)
            _dask_prepared = True
        return run(plan, job)


def _identity(value: Any) -> Any:
    return value


def _probe() -> str:
    """Run on every worker before any job: its spdbench version."""
    import spdbench

    return spdbench.__version__


def _dask_rows(client: Any, plan: Any, jobs: list[Any], run: RunFn) -> Iterator[dict[str, Any]]:
    if not jobs:
        return
    import distributed

    # The plan goes to the cluster once, as a task's result rather than scattered data: a
    # worker fetches it once from a peer, and should every worker holding it die, the
    # scheduler recomputes it instead of forgetting the jobs that need it. A large plan (the
    # ground truth's images, ~50 MB) is sent this once by design: distributed's advice to
    # load it differently would only alarm the user.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        plan_f = client.submit(_identity, plan, pure=False)

    def submit(job: Any) -> Any:
        priority = getattr(job, "priority", 0)  # e.g. a partly trained ground-truth shard
        return client.submit(_dask_run, plan_f, job, run, pure=False, retries=0, priority=priority)

    futures = {submit(job): job for job in jobs}
    tries = dict.fromkeys([job.key for job in jobs], 1)
    died: list[Any] = []
    rescue: list[Any] = []
    try:
        pending = distributed.as_completed(futures, loop=client.loop)
        for fut in pending:
            job = futures.pop(fut)
            try:
                row = fut.result()
            except (distributed.KilledWorker, CancelledError):
                # The scheduler gave up on it; it may only have waited on workers another job
                # ended: more tries, once the others are done and alone on the cluster (so the
                # culprit's own retry cannot end them too), tell a bystander from the culprit.
                rescue.append(job)
                continue
            fut.release()
            yield row
        for job in rescue:
            while True:
                tries[job.key] += 1
                fut = submit(job)
                futures[fut] = job
                try:
                    row = fut.result()
                except (distributed.KilledWorker, CancelledError):
                    futures.pop(fut)
                    if tries[job.key] >= RESCUE_TRIES:
                        died.append(job)
                        break
                    continue
                futures.pop(fut)
                fut.release()
                yield row
                break
    finally:
        client.cancel([*futures, plan_f], force=True)
    if died:
        names = ", ".join(sorted({job.runner for job in died}))
        raise JobsFailedError(
            f"{len(died)} job(s) of {names} ended every Dask worker process they ran on (a "
            "crash in native code, os._exit, or running out of memory); every other job is "
            "stored: rerun without the culprit, or with --executor local --workers 1 to see it"
        )


@contextlib.contextmanager
def _dask_client(spec: ExecutorSpec) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if spec.scheduler:
        try:
            client = Client(spec.scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {spec.scheduler!r} "
                f"({shorten(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)}); "
                "start it (`dask scheduler`) or fix --scheduler"
            ) from None
        with client:
            yield client
        return
    import dask

    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),
        LocalCluster(
            n_workers=spec.dask_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):  # its worker processes end with this process, even by SIGKILL (the test says so)
        yield client


def _check_workers(client: Any, spec: ExecutorSpec) -> None:
    """A ConfigError unless the cluster has a worker and every worker runs this spdbench."""
    import spdbench

    where = f"the Dask scheduler at {spec.scheduler}" if spec.scheduler else "the local cluster"
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError):
        raise ConfigError(
            f"{where} has no workers (waited {CONNECT_TIMEOUT_S:g} s); start some "
            "(`dask worker ADDRESS --nthreads 1`)"
        ) from None
    try:
        versions = client.run(_probe)
    except Exception as exc:
        raise ConfigError(
            f"workers of {where} cannot run spdbench ({type(exc).__name__}: "
            f"{shorten(str(exc), 200)}); install spdbench {spdbench.__version__} on every worker"
        ) from None
    other = {addr: v for addr, v in versions.items() if v != spdbench.__version__}
    if other:
        addr, v = next(iter(other.items()))
        raise ConfigError(
            f"worker {addr} of {where} runs spdbench {v}, this client {spdbench.__version__}; "
            "install the same version everywhere"
        )
