"""The run records of a results folder (runs/<config-hash>.json, one per config run there),
and which config a report of the folder shows."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def read_record(results: Path, config_hash: str) -> dict[str, Any] | None:
    """The run record of a config, None when it is missing or unreadable."""
    try:
        record = json.loads((results / "runs" / f"{config_hash}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def records(results: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(config hash, record) of every readable run record of a results folder, by hash."""
    for path in sorted((results / "runs").glob("*.json")):
        record = read_record(results, path.stem)
        if record is not None:
            yield path.stem, record


def latest_record(results: Path, command: str | None = None) -> str | None:
    """The config hash of the most recently started run (of `command`, if given); runs that
    started in the same second by their record's modification time."""
    started = []
    for config_hash, record in records(results):
        if command is None or record.get("command") == command:
            with contextlib.suppress(OSError):
                mtime = (results / "runs" / f"{config_hash}.json").stat().st_mtime_ns
                started.append((str(record.get("started_at", "")), mtime, config_hash))
    return max(started)[2] if started else None


def parts_of(
    results: Path, config_hash: str, job_keys: Callable[[dict[str, Any]], set[str] | None]
) -> list[str]:
    """The configs of the runs here that ran part of `config_hash`: those whose report shows
    it (`whole_config`)."""
    return [
        part
        for part, _ in records(results)
        if part != config_hash and whole_config(results, part, job_keys) == config_hash
    ]


def whole_config(
    results: Path, config_hash: str, job_keys: Callable[[dict[str, Any]], set[str] | None]
) -> str:
    """The config file's whole config when `config_hash` ran only part of it (`-p`,
    `--searchers`, `--predictor`; its record's `part_of`) and that whole config's run record
    here holds every job of this run (by `job_keys`); else `config_hash` itself. So the
    report after a partial rerun still shows the whole config's jobs, the rerun ones new."""
    record = read_record(results, config_hash)
    whole = record.get("part_of") if record else None
    whole_record = read_record(results, whole) if isinstance(whole, str) else None
    if record is None or whole_record is None:
        return config_hash
    part, every = job_keys(record), job_keys(whole_record)
    return whole if part is not None and every is not None and part <= every else config_hash
