"""Running the jobs of compare and search that are not stored yet, and `--rerun NAMES`: run
stored jobs of some predictors or searchers again (after a change of their code), without
losing a stored row to a failed or interrupted rerun.

A job's new row replaces the stored one only when the job succeeds. The jobs still to redo
are kept in OUT/rerun-<config hash>-<names hash>.json while any is left, so the same command
started again resumes the rerun; after another change of the code (another source digest)
it starts over.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, Protocol

from spdbench import provenance
from spdbench.errors import ConfigError
from spdbench.harness.executors import Executor, run_jobs
from spdbench.harness.store import ResultsStore
from spdbench.io import write_json_atomic


class _Job(Protocol):
    key: str
    runner: str  # the listed name (a predictor's or a searcher's)

    def stored_in(self, done: set[str]) -> bool: ...


class _Plan(Protocol):
    out: Path
    config_hash: str
    source: str


def labels(listed: tuple[str, ...], value: str | None, option: str) -> tuple[str, ...]:
    """The names `--rerun` gives ("a,b" or "all"), each one of `listed` (the run's `option`,
    e.g. --predictors; a name also stands for its labels NAME[...], as petri-ga for
    petri-ga[knn]); one-line ConfigError otherwise."""
    if not value:
        return ()
    names = listed if value.strip() == "all" else tuple(n.strip() for n in value.split(","))
    expanded = {n: [x for x in listed if x == n or x.startswith(f"{n}[")] for n in names}
    unknown = [n for n, matches in expanded.items() if not matches]
    names = tuple(dict.fromkeys(x for matches in expanded.values() for x in matches))
    if unknown or not names:
        raise ConfigError(
            f"--rerun: {', '.join(unknown) or 'no name'} is not in {option} "
            f"({', '.join(listed)}); name some of them, or all"
        )
    return tuple(names)


def unstored(jobs: Iterable[_Job], done: set[str], names: Collection[str]) -> list[str]:
    """The names with no finished job among `jobs` stored in `done` (their jobs run as new)."""
    stored = {j.runner for j in jobs if j.stored_in(done)}
    return [name for name in names if name not in stored]


def marker(out: Path, config_hash: str, names: Collection[str]) -> Path:
    """The file listing the jobs an unfinished `--rerun` of `names` has left."""
    return out / f"rerun-{config_hash}-{provenance.config_hash(sorted(names))[:8]}.json"


def unfinished(results: Path, *config_hashes: str) -> list[str]:
    """Markdown lines for a report: each `--rerun` of these configs that stopped before
    redoing its jobs (their stored rows are still the old ones)."""
    lines = []
    paths = {p for h in config_hashes for p in results.glob(f"rerun-{h}-*.json")}
    for path in sorted(paths):
        try:
            saved = json.loads(path.read_text())
            names, pending = ", ".join(saved["predictors"]), len(saved["pending"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        lines.append(
            f"An unfinished `--rerun {names}` left {pending} job(s) with the rows they had "
            f"before it (`{path.name}`); run the same command again to finish it."
        )
    return [*lines, ""] if lines else []


class Reruns:
    """The stored jobs a `--rerun` still has to redo, kept in `marker` while any is left."""

    def __init__(self, path: Path, names: list[str], pending: set[str], source: str) -> None:
        self.path, self.names, self.pending, self.source = path, names, pending, source

    @classmethod
    def open(
        cls, plan: _Plan, jobs: Iterable[_Job], done: set[str], rerun: Collection[str]
    ) -> Reruns:
        names = sorted(set(rerun))
        path = marker(plan.out, plan.config_hash, names)
        if not names:
            return cls(path, names, set(), plan.source)
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
            saved = json.loads(path.read_text())
            # the same rerun of the same code, interrupted: resume it (after another change
            # of the code every job is redone)
            if saved["predictors"] == names and saved["source"] == plan.source:
                return cls(path, names, set(saved["pending"]), plan.source)
        pending = {j.key for j in jobs if j.runner in names and j.stored_in(done)}
        reruns = cls(path, names, pending, plan.source)
        reruns._save()
        return reruns

    def failed(self, row: dict[str, Any]) -> bool:
        """Whether `row` is a rerun whose predictor or searcher raised (its job stays pending:
        the stored row is kept)."""
        return row["job_key"] in self.pending and row.get("status") == "failed"

    def strike_off(self, row: dict[str, Any]) -> None:
        """`row`'s job is redone and stored."""
        if row["job_key"] in self.pending:
            self.pending.discard(row["job_key"])
            self._save()

    def _save(self) -> None:
        if self.pending:
            # "predictors" holds the rerun's names, searchers' too (the key markers have had)
            saved = {"predictors": self.names, "source": self.source}
            write_json_atomic(self.path, {**saved, "pending": sorted(self.pending)})
        else:
            self.path.unlink(missing_ok=True)


def run_unstored(
    plan: Any,
    store: ResultsStore,
    jobs: list[Any],
    done: set[str],
    run: Callable[[Any, Any], dict[str, Any]],
    *,
    rerun: Collection[str] = (),
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
) -> None:
    """Run `run(plan, job)` for every job not stored in `done`, and for the stored jobs of
    the `rerun` names, storing each row as soon as its job finishes (a rerun that raised
    leaves its stored row in place); the store is compacted at the end, interrupted or not.
    `on_start(total, already_done)` is called once, `on_done(row)` after each job."""
    redo = Reruns.open(plan, jobs, done, rerun)
    todo = [j for j in jobs if j.key in redo.pending or not j.stored_in(done)]
    if on_start:
        on_start(len(jobs), len(jobs) - len(todo))
    try:
        for row in run_jobs(plan, todo, run, executor):
            if not redo.failed(row):
                store.append([row])
                redo.strike_off(row)
            if on_done:
                on_done(row)
    finally:
        store.compact()
