"""Which stored search runs belong to a plan: its job keys, and the keys older stores gave the
same runs.

A run's key is "<run hash>/<searcher>[<predictor>][@<variant>]/r<replicate>"
(`experiment.SearchJob.key`). Before 2026-11-30 the run hash also held the predictor list and
the number of seeds, and a searcher with a single predictor was keyed without it; the run
records in OUT/runs/ name those configs, so their runs are found under today's keys
(`run_aliases`, `current_key`) instead of running again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from spdbench.errors import SpdbenchError
from spdbench.harness.plan import one_row_per_job
from spdbench.harness.run_records import records
from spdbench.params import names_of

# former run hash -> (today's, the single predictor its config named or "", the searchers
# listed there that take a predictor)
Aliases = dict[str, tuple[str, str, frozenset[str]]]


def run_aliases(out: Path) -> Aliases:
    """Former run hashes of the search configs recorded in OUT/runs/ -> today's hash, and the
    predictor and searchers whose runs were keyed without it."""
    # experiment imports this module
    from spdbench.search.experiment import SearchConfig, searcher_class

    aliases: Aliases = {}
    for _, record in records(out):
        with contextlib.suppress(KeyError, TypeError, SpdbenchError):
            if record.get("command") != "search":
                continue
            config = SearchConfig.from_dict(record["config"])
            today = config.run_hash()
            names = names_of(config.predictor)
            single = names[0] if len(names) == 1 else ""
            registered = {
                n: config.searcher_variants.get(n, {}).get("searcher", n) for n in config.searchers
            }
            takers = frozenset(
                n for n, r in registered.items() if "predictor" in searcher_class(r).param_names()
            )
            for former in (config.run_hash(former=True), record["resolved"].get("run_hash")):
                if former and former != today:
                    aliases.setdefault(former, (today, single, takers))
    return aliases


def current_key(key: str, aliases: Aliases) -> str:
    """A stored run key under today's run hash; a searcher that ran with its config's single
    predictor gains it (today's keys name the predictor a run was given)."""
    run_hash, _, rest = key.partition("/")
    if run_hash not in aliases:
        return key
    today, single, takers = aliases[run_hash]
    who, _, replicate = rest.rpartition("/")
    base, at, variant = who.partition("@")
    if single and base in takers:
        base = f"{base}[{single}]"
    return f"{today}/{base}{at}{variant}/{replicate}"


def finished_keys(finished: Iterable[str], aliases: Aliases) -> set[str]:
    """The keys of finished runs, older stores' under today's keys."""
    return {current_key(k, aliases) for k in finished}


def rows_of_jobs(
    rows: pd.DataFrame,
    keys: list[str],
    aliases: Aliases | None = None,
    labels: list[str] | None = None,
) -> pd.DataFrame:
    """The stored rows of the given job keys, in that order: a job's row is the one under its
    key, else under a former key of the same run (`aliases`); see `plan.one_row_per_job`.
    `labels` (one per key): the searcher labels to show, as a run stored under another config
    names its searcher as that config did (petri-ga alone, for petri-ga[knn])."""
    if rows.empty:
        return rows
    rows = rows.reset_index(drop=True)
    rank = {k: i for i, k in enumerate(keys)}
    job = rows["job_key"].map(rank)
    kind = pd.Series(np.where(job.notna(), 0, 1), index=rows.index)
    if aliases:
        job = job.fillna(rows["job_key"].map(lambda k: current_key(k, aliases)).map(rank))
    shown, chosen = one_row_per_job(rows, job, kind)
    if labels is not None:
        shown["searcher"] = [labels[i] for i in chosen]
    return shown
