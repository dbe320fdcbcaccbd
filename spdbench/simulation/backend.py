"""The simulation backend: W asynchronous workers replaying recorded training time.

One object owns cost accounting for a search. It wraps an oracle (duck-typed: this layer sits
below the oracles) and runs an ask/tell searcher on a simulated clock:

- W workers; a free worker takes the next suggestion at once, so asynchronous searchers see
  results in the temporal order they would arrive in (an event queue ordered by finish time,
  ties by start order), as syne-tune's simulator backend does;
- each evaluation costs its recorded training time at the fidelity it is trained to; a trial
  the searcher continues (an ASHA promotion) pays only the extra epochs;
- a searcher's own overhead (e.g. its predictor's recorded proxy compute time, or its measured
  fit/predict time when `charge_searcher_time`) delays the trials it suggests;
- budgets count finished evaluations or simulated seconds: no trial starts once the budget is
  spent, and a trial still running at the end of a time budget is not counted.

Oracle queries are free: the backend's event queue accounts for their recorded cost.
On a finite space the backend reads each needed fidelity of the whole table once, so an
evaluation is an index lookup and the event queue, not the oracle, sets the pace.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from spdbench.errors import ConfigError, SpdbenchError

MAX_TABLE = 2_000_000  # architectures: larger finite spaces are queried batch by batch
NEW_TRIAL = np.full(1, -1, dtype=np.int64)  # one new trial (read-only: never written to)
NEW_TRIAL.flags.writeable = False


class SearcherError(SpdbenchError):
    """A searcher raised or broke the ask/tell contract (its run fails alone)."""


@dataclass(frozen=True)
class Budget:
    """How much a search may spend: finished evaluations, or simulated seconds."""

    evaluations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.evaluations is None) == (self.seconds is None):
            raise ConfigError("a budget is a number of evaluations or of simulated seconds")
        if self.evaluations is not None and self.evaluations < 1:
            raise ConfigError(f"the budget must be positive, got {self.evaluations} evaluations")
        if self.seconds is not None and not (np.isfinite(self.seconds) and self.seconds > 0):
            raise ConfigError(f"the budget must be positive, got {self.seconds} seconds")

    @classmethod
    def parse(cls, text: str | int | float) -> Budget:
        """'300evals' / '300' (evaluations) or '12000s' (simulated seconds)."""
        raw = str(text).strip().lower().replace(" ", "")
        for suffix, kind in (("evals", "e"), ("eval", "e"), ("s", "s")):
            if raw.endswith(suffix):
                raw, unit = raw[: -len(suffix)], kind
                break
        else:
            unit = "e"
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"budget {text!r} is not like 300evals or 12000s (simulated seconds)"
            ) from None
        if unit == "s":
            return cls(seconds=value)
        if not value.is_integer():
            raise ConfigError(f"a budget of evaluations must be whole, got {text!r}")
        return cls(evaluations=int(value))

    def __str__(self) -> str:
        return f"{self.evaluations}evals" if self.evaluations is not None else f"{self.seconds:g}s"


@dataclass(frozen=True)
class Suggestion:
    """Up to n trials a searcher asks to run: rows of genotypes and the epoch to train each to;
    `trial` names an earlier trial to continue (-1: a new one), which pays only extra epochs."""

    archs: np.ndarray
    fidelity: np.ndarray
    trial: np.ndarray | None = None

    def __len__(self) -> int:
        return int(np.asarray(self.archs).shape[0])


@dataclass(frozen=True)
class Observation:
    """Finished trials (all with the same finish time), in the order they started."""

    trial: np.ndarray  # (k,) trial ids the backend gave (a continued trial keeps its id)
    archs: np.ndarray  # (k, dims)
    fidelity: np.ndarray  # (k,)
    scores: np.ndarray  # (k,) search metric, higher is better (-inf where not recorded)
    time: float  # simulated seconds at which they finished


class AskTell(Protocol):
    """What the backend drives (spdbench.search.Searcher implements it)."""

    name: str

    def ask(self, n: int) -> Suggestion: ...

    def tell(self, observation: Observation) -> None: ...

    def take_overhead(self) -> float: ...


@dataclass
class Trajectory:
    """Every finished evaluation of one search, in finishing order."""

    time: np.ndarray  # simulated seconds at finish
    start: np.ndarray  # simulated seconds at start
    worker: np.ndarray
    trial: np.ndarray
    archs: np.ndarray  # (n, dims)
    fidelity: np.ndarray
    score: np.ndarray  # search metric, higher is better
    report: np.ndarray  # report metric of the architecture, higher is better
    cost: np.ndarray  # simulated seconds charged (extra epochs only for continued trials)
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def incumbent(self) -> np.ndarray:
        """Index of the incumbent after each evaluation: the best search score so far (the
        first to reach it)."""
        n = len(self)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        s = np.where(np.isnan(self.score), -np.inf, self.score)
        best = np.maximum.accumulate(s)
        new = np.empty(n, dtype=bool)
        new[0] = True
        new[1:] = s[1:] > best[:-1]
        return np.maximum.accumulate(np.where(new, np.arange(n), 0))


class _Table:
    """The search and report scores and the cost of every architecture of a finite space, read
    once per fidelity; rows are found by dense index, else by sorted keys."""

    def __init__(self, oracle: Any, metric: Any, report_metric: Any, report_fidelity: int):
        self.oracle, self.metric = oracle, metric
        space = oracle.space
        self.pool = oracle.enumerate()
        dense = space.dense_index(self.pool)
        self.dense = dense is not None and np.array_equal(dense, np.arange(len(self.pool)))
        if not self.dense:
            keys = space.keys(self.pool)
            self.order = np.argsort(keys, kind="stable")
            self.sorted_keys = keys[self.order]
        self.by_fidelity: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        r = oracle.query(self.pool, report_fidelity).metrics[report_metric.name]
        self.report = report_metric.sign * r

    def rows(self, g: np.ndarray) -> np.ndarray:
        space = self.oracle.space
        if self.dense:
            return space.dense_index(g)
        keys = space.keys(g)
        pos = np.clip(np.searchsorted(self.sorted_keys, keys), 0, len(self.sorted_keys) - 1)
        found = self.sorted_keys[pos] == keys
        if not found.all():
            i = int(np.flatnonzero(~found)[0])
            raise SearcherError(
                f"architecture {space.format(g[i : i + 1])[0]!r} has no record in benchmark "
                f"{self.oracle.name!r}"
            )
        return self.order[pos]

    def lookup(self, rows: np.ndarray, fidelity: int) -> tuple[np.ndarray, np.ndarray]:
        if fidelity not in self.by_fidelity:
            q = self.oracle.query(self.pool, fidelity)
            score = self.metric.sign * q.metrics[self.metric.name]
            self.by_fidelity[fidelity] = (np.where(np.isnan(score), -np.inf, score), q.cost)
        score, cost = self.by_fidelity[fidelity]
        return score[rows], cost[rows]


class Simulation:
    """An oracle behind W simulated workers (see the module docstring).

    `metric` is what searchers see (at the fidelity they ask for); `report_metric` at
    `report_fidelity` is what the incumbent is judged by. Plain `query` calls are free.
    """

    def __init__(
        self,
        oracle: Any,
        *,
        workers: int = 1,
        metric: str | None = None,
        report_metric: str | None = None,
        report_fidelity: int | None = None,
        charge_searcher_time: bool = False,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
            raise ConfigError(f"simulated workers must be a positive integer, got {workers!r}")
        self.oracle = oracle
        self.workers = int(workers)
        self.metric = oracle.metric(metric)
        self.report_metric = oracle.metric(report_metric or self.metric.name)
        self.report_fidelity = int(oracle.epochs[oracle.fidelity_index(report_fidelity)])
        self.charge_searcher_time = charge_searcher_time
        self._recorded = frozenset(int(e) for e in oracle.epochs)
        size = oracle.size
        self._table = (
            _Table(oracle, self.metric, self.report_metric, self.report_fidelity)
            if size is not None and size <= MAX_TABLE
            else None
        )

    def query(self, archs: Any, fidelity: int | None = None, **kwargs: Any) -> Any:
        """The oracle's answer, free of charge (cost is accounted only by `run`)."""
        return self.oracle.query(archs, fidelity, **kwargs)

    @property
    def table_best(self) -> float:
        """Best report score (higher is better) over the finite table, NaN if infinite."""
        if self._table is None:
            return float("nan")
        return float(np.nanmax(self._table.report))

    # ---- the event loop ---------------------------------------------------------------------
    def _evaluate(self, g: np.ndarray, fidelity: np.ndarray) -> tuple[np.ndarray, ...]:
        """(search scores, cost to train to `fidelity`, report scores) of rows `g`."""
        if self._table is not None:
            rows = self._table.rows(g)
            fids = set(fidelity.tolist())  # few distinct fidelities: cheaper than np.unique
            if len(fids) == 1:
                score, cost = self._table.lookup(rows, fids.pop())
                return score, cost, self._table.report[rows]
            score = np.empty(len(g))
            cost = np.empty(len(g))
            for f in sorted(fids):
                at = fidelity == f
                score[at], cost[at] = self._table.lookup(rows[at], int(f))
            return score, cost, self._table.report[rows]
        score, cost = np.empty(len(g)), np.empty(len(g))
        for f in np.unique(fidelity):
            at = fidelity == f
            q = self.oracle.query(g[at], int(f))
            score[at] = self.metric.sign * q.metrics[self.metric.name]
            cost[at] = q.cost
        r = self.oracle.query(g, self.report_fidelity)
        score = np.where(np.isnan(score), -np.inf, score)
        return score, cost, self.report_metric.sign * r.metrics[self.report_metric.name]

    def _check(self, s: Any, n: int, trials: int, name: str) -> tuple[np.ndarray, ...]:
        if not isinstance(s, Suggestion):
            raise SearcherError(f"searcher {name!r}: ask must return a Suggestion, got {s!r}")
        space = self.oracle.space
        try:
            g = space.as_genotypes(s.archs)
        except SpdbenchError as exc:
            raise SearcherError(f"searcher {name!r} suggested {exc}") from exc
        k = g.shape[0]
        if k > n:
            raise SearcherError(f"searcher {name!r} was asked for {n} trials and suggested {k}")
        fid = np.asarray(s.fidelity, dtype=np.int64).reshape(-1)
        if fid.shape == (1,) and k != 1:
            fid = np.full(k, fid[0])
        if fid.shape != (k,):
            raise SearcherError(f"searcher {name!r} gave {fid.shape} fidelities for {k} trials")
        bad = [f for f in fid.tolist() if f not in self._recorded]
        if bad:
            raise SearcherError(
                f"searcher {name!r} asked for fidelity {bad[0]}, which benchmark "
                f"{self.oracle.name!r} does not record (epochs: "
                f"{', '.join(str(int(e)) for e in self.oracle.epochs[:8])})"
            )
        if s.trial is None:
            return g, fid, NEW_TRIAL if k == 1 else np.full(k, -1, dtype=np.int64)
        resume = np.asarray(s.trial, dtype=np.int64).reshape(k)
        if ((resume < -1) | (resume >= trials)).any():
            raise SearcherError(f"searcher {name!r} continued a trial that does not exist")
        return g, fid, resume

    def run(self, searcher: AskTell, budget: Budget) -> Trajectory:
        """Drive `searcher` until the budget is spent or it has nothing more to suggest."""
        W, max_evals = self.workers, budget.evaluations
        if max_evals is not None and max_evals < W:
            raise ConfigError(
                f"{W} simulated workers for a budget of {max_evals} evaluations: "
                "use at most as many workers as evaluations"
            )
        if not getattr(searcher, "adaptive", True):
            return self._run_open_loop(searcher, budget)
        return self._run_event_loop(searcher, budget)

    def _run_open_loop(self, searcher: AskTell, budget: Budget) -> Trajectory:
        """A searcher whose suggestions do not depend on results (random search): ask ahead in
        chunks, evaluate each chunk at once, and schedule it on the workers (the earliest free
        worker, lowest id first, takes the next trial: the event loop's order exactly); it is
        told nothing. The same trajectory as the event loop, without per-event Python work."""
        name = getattr(searcher, "name", type(searcher).__name__)
        W, max_evals, max_t = self.workers, budget.evaluations, budget.seconds
        free = [(0.0, w) for w in range(W)]  # (free at, worker): a heap
        parts: list[tuple[np.ndarray, ...]] = []
        started, overhead_s, stop = 0, 0.0, False
        while not stop:
            n = 4096 if max_evals is None else min(4096, max_evals - started)
            if n <= 0:
                break
            s = _call(name, searcher.ask, n)
            g, fid, resume = self._check(s, n, started, name)
            if (resume >= 0).any():
                raise SearcherError(f"searcher {name!r} is not adaptive and cannot continue trials")
            extra = float(_call(name, searcher.take_overhead))
            overhead_s += extra
            if not len(g):
                break
            score, cost, report = self._evaluate(g, fid)
            start = np.empty(len(g))
            worker = np.empty(len(g), dtype=np.int64)
            push, pop = heapq.heappush, heapq.heappop
            for j, c in enumerate(cost.tolist()):
                t, w = pop(free)
                t = max(t, extra)  # the searcher's overhead delays its chunk
                if max_t is not None and t >= max_t:
                    stop = True
                    push(free, (t, w))
                    break
                start[j], worker[j] = t, w
                push(free, (t + c, w))
            k = j if stop else len(g)
            parts.append((start[:k], worker[:k], g[:k], fid[:k], score[:k], report[:k], cost[:k]))
            started += k
            stop = stop or len(g) < n
        if not parts:
            return self._trajectory(*(np.empty(0),) * 9, overhead_s, 0)
        start, worker, g, fid, score, report, cost = (
            np.concatenate(p) for p in zip(*parts, strict=True)
        )
        finish = start + cost
        keep = np.ones(len(finish), dtype=bool) if max_t is None else finish <= max_t
        trial = np.arange(len(finish))
        order = np.lexsort((trial, finish))  # finishing order, ties in start order
        order = order[keep[order]]
        return self._trajectory(
            finish[order], start[order], worker[order], trial[order], g[order], fid[order],
            score[order], report[order], cost[order], overhead_s, len(finish),
        )  # fmt: skip

    def _trajectory(self, *arrays: Any) -> Trajectory:
        time_, start, worker, trial, g, fid, score, report, cost, overhead_s, trials = arrays
        dims = self.oracle.space.dims
        return Trajectory(
            time=np.asarray(time_, dtype=float),
            start=np.asarray(start, dtype=float),
            worker=np.asarray(worker, dtype=np.int64),
            trial=np.asarray(trial, dtype=np.int64),
            archs=np.asarray(g, dtype=self.oracle.space.dtype).reshape(-1, dims),
            fidelity=np.asarray(fid, dtype=np.int64),
            score=np.asarray(score, dtype=float),
            report=np.asarray(report, dtype=float),
            cost=np.asarray(cost, dtype=float),
            info={"searcher_overhead_s": overhead_s, "trials": trials, "workers": self.workers},
        )

    def _run_event_loop(self, searcher: AskTell, budget: Budget) -> Trajectory:
        """The general loop: one event at a time, results told as they arrive."""
        name = getattr(searcher, "name", type(searcher).__name__)
        W, max_evals, max_t = self.workers, budget.evaluations, budget.seconds
        dims = self.oracle.space.dims
        cap = max_evals or 1024
        rec_time, rec_start, rec_worker, rec_trial = (np.empty(cap) for _ in range(4))
        rec_fid, rec_score, rec_report, rec_cost = (np.empty(cap) for _ in range(4))
        rec_archs = np.empty((cap, dims), dtype=self.oracle.space.dtype)
        # per trial: genotype row, paid seconds, fidelity reached (grown as trials start)
        t_archs = np.empty((cap, dims), dtype=self.oracle.space.dtype)
        t_paid = np.zeros(cap)
        t_busy = np.zeros(cap, dtype=bool)
        # per running job (slot): trial, start, worker, fidelity, score, report, cost
        heap: list[tuple[float, int]] = []
        slots: dict[int, tuple[int, float, int, int, float, float, float]] = {}
        free_workers = list(range(W - 1, -1, -1))  # pop() gives the lowest id first
        now, seq, started, done, n_trials = 0.0, 0, 0, 0, 0
        overhead_s = 0.0
        waiting = False  # the searcher suggested nothing while workers were free

        def call(fn: Any, *args: Any) -> Any:
            return _call(name, fn, *args)

        while True:
            can_start = free_workers and (max_t is None or now < max_t)
            if max_evals is not None:
                can_start = can_start and started < max_evals
            if can_start and not waiting:
                n = len(free_workers)
                if max_evals is not None:
                    n = min(n, max_evals - started)
                t0 = time.perf_counter()
                s = call(searcher.ask, n)
                wall = time.perf_counter() - t0
                g, fid, resume = self._check(s, n, n_trials, name)
                k = len(g)
                extra = float(call(searcher.take_overhead))
                if self.charge_searcher_time:
                    extra += wall
                overhead_s += extra
                if k == 0:
                    waiting = True
                elif k == 1:  # the asynchronous common case, in Python scalars (same rules)
                    score, cost, report = self._evaluate(g, fid)
                    tid, c = int(resume[0]), float(cost[0])
                    if tid < 0:
                        tid, n_trials = n_trials, n_trials + 1
                        if n_trials > len(t_paid):
                            grow = 2 * len(t_paid)
                            t_archs = _grow(t_archs, grow)
                            t_paid, t_busy = _grow(t_paid, grow), _grow(t_busy, grow)
                        t_archs[tid] = g[0]
                    elif t_busy[tid]:
                        raise SearcherError(
                            f"searcher {name!r} continued a trial that is still running"
                        )
                    elif not np.array_equal(t_archs[tid], g[0]):
                        raise SearcherError(
                            f"searcher {name!r} continued a trial with another architecture"
                        )
                    paid = float(t_paid[tid])
                    charged1 = max(c - paid, 0.0)  # a promotion pays extra epochs
                    t_paid[tid], t_busy[tid] = max(paid, c), True
                    begin = now + extra
                    slots[seq] = (
                        tid, begin, free_workers.pop(), int(fid[0]),
                        float(score[0]), float(report[0]), charged1,
                    )  # fmt: skip
                    heapq.heappush(heap, (begin + charged1, seq))
                    seq += 1
                    started += 1
                    continue
                else:
                    score, cost, report = self._evaluate(g, fid)
                    new = resume < 0
                    ids = resume.copy()
                    ids[new] = n_trials + np.arange(int(new.sum()))
                    n_trials += int(new.sum())
                    if n_trials > len(t_paid):
                        grow = max(n_trials, 2 * len(t_paid))
                        t_archs = _grow(t_archs, grow)
                        t_paid, t_busy = _grow(t_paid, grow), _grow(t_busy, grow)
                    if t_busy[ids].any() or (k > 1 and len(set(ids.tolist())) < k):
                        raise SearcherError(
                            f"searcher {name!r} continued a trial that is still running"
                        )
                    t_archs[ids[new]] = g[new]
                    if (~new).any() and not np.array_equal(t_archs[ids[~new]], g[~new]):
                        raise SearcherError(
                            f"searcher {name!r} continued a trial with another architecture"
                        )
                    charged = np.maximum(cost - t_paid[ids], 0.0)  # a promotion pays extra epochs
                    t_paid[ids] = np.maximum(t_paid[ids], cost)
                    t_busy[ids] = True
                    begin = now + extra
                    finish = begin + charged
                    for j in range(k):
                        w = free_workers.pop()
                        slots[seq] = (
                            int(ids[j]), begin, w, int(fid[j]),
                            float(score[j]), float(report[j]), float(charged[j]),
                        )  # fmt: skip
                        heapq.heappush(heap, (float(finish[j]), seq))
                        seq += 1
                    started += k
                    continue  # fill the remaining free workers before time moves on
            if not heap:
                break
            t_next = heap[0][0]
            if max_t is not None and t_next > max_t:
                break  # every running trial finishes after the time budget
            batch = []
            while heap and heap[0][0] == t_next:
                batch.append(heapq.heappop(heap)[1])
            now = t_next
            waiting = False
            if done + len(batch) > len(rec_time):
                grow = max(done + len(batch), 2 * len(rec_time))
                rec_time, rec_start, rec_worker, rec_trial = (
                    _grow(a, grow) for a in (rec_time, rec_start, rec_worker, rec_trial)
                )
                rec_fid, rec_score, rec_report, rec_cost = (
                    _grow(a, grow) for a in (rec_fid, rec_score, rec_report, rec_cost)
                )
                rec_archs = _grow(rec_archs, grow)
            i0 = done
            for sq in batch:
                trial, begin, w, f, sc, rp, c = slots.pop(sq)
                rec_time[done], rec_start[done], rec_worker[done] = now, begin, w
                rec_trial[done], rec_fid[done], rec_score[done] = trial, f, sc
                rec_report[done], rec_cost[done] = rp, c
                free_workers.append(w)
                done += 1
            free_workers.sort(reverse=True)
            tr = rec_trial[i0:done].astype(np.int64)
            t_busy[tr] = False
            rec_archs[i0:done] = t_archs[tr]
            call(
                searcher.tell,
                Observation(
                    trial=tr,
                    archs=rec_archs[i0:done].copy(),
                    fidelity=rec_fid[i0:done].astype(np.int64),
                    scores=rec_score[i0:done].copy(),
                    time=now,
                ),
            )
        return self._trajectory(
            rec_time[:done], rec_start[:done], rec_worker[:done], rec_trial[:done],
            rec_archs[:done].copy(), rec_fid[:done], rec_score[:done], rec_report[:done],
            rec_cost[:done], overhead_s, n_trials,
        )  # fmt: skip


def _call(name: str, fn: Any, *args: Any) -> Any:
    """A searcher's method; its failure becomes a SearcherError naming it."""
    try:
        return fn(*args)
    except SearcherError:
        raise
    except SpdbenchError as exc:
        raise SearcherError(f"searcher {name!r} failed: {exc}") from exc
    except Exception as exc:
        raise SearcherError(f"searcher {name!r} raised {type(exc).__name__}: {exc}") from exc


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out
