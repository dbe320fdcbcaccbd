"""The results store: one row per finished job, appended in constant time.

A results folder holds

    results.parquet      the compacted table (every job merged so far)
    jobs/<key>.parquet   one small file per job finished since the last compaction
                         (<key>.failed.parquet where the predictor raised: a rerun retries it)

`append` writes one job file atomically: its cost does not grow with the store, and writers
never touch each other's files, so several processes can append to one folder at once.
`compact` (run at the end of every compare) merges the job files into results.parquet under
a file lock and deletes only the files it merged. `read` returns both as one table, a job file
winning over the compacted row of the same key (a rerun replaces a row).

A row is keyed by `job_key` (compare: "<split hash>/<predictor>[@variant]/r<replicate>/n<train
size>", see `plan.Job.key`; search: "<run hash>/<searcher>/r<replicate>"); the job file's
name is the key, URL-quoted, so the finished keys are known without reading any job file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spdbench.errors import DataFileError
from spdbench.io import atomic_path

RESULTS_FILE = "results.parquet"
JOBS_DIR = "jobs"
LOCK_FILE = ".results.lock"
COLUMNS_KEY = b"spdbench.columns"
FAILED_SUFFIX = ".failed.parquet"  # a job whose predictor raised; a rerun retries it


# Values a stored metric can take; anything else is damage, never a result.
RANGES = {
    "kendall_tau": (-1.0, 1.0), "spearman": (-1.0, 1.0), "pearson": (-1.0, 1.0),
    "kendall_tau_left": (-1.0, 1.0), "top_k_precision": (0.0, 1.0), "regret": (0.0, np.inf),
    "fit_s": (0.0, np.inf), "predict_s": (0.0, np.inf), "init_time_s": (0.0, np.inf),
    "query_time_s": (0.0, np.inf), "train_gt_sim_s": (0.0, np.inf),
}  # fmt: skip


def _identity(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None when it is gone: an atomic replace changes both."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def check_ranges(table: pd.DataFrame, where: Path) -> None:
    """DataFileError naming the first stored value outside its metric's range."""
    for column, (low, high) in RANGES.items():
        if column not in table:
            continue
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isnan(values) & ((values < low) | (values > high))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFileError(
                f"results in {where} are damaged: {column} = {float(values[i])} for job "
                f"{table['job_key'].iloc[i]!r} lies outside [{low}, {high}]; move the results "
                "folder's damaged file away or rerun into a new --out"
            )


def _write(table: pd.DataFrame, path: Path) -> None:
    """Parquet with page checksums (they catch flipped bits in the values) and the column
    names recorded in the footer (a flipped bit in a name is caught too)."""
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {**(arrow.schema.metadata or {}), COLUMNS_KEY: json.dumps(arrow.column_names)}
    pq.write_table(arrow.replace_schema_metadata(metadata), path, write_page_checksum=True)


class ResultsStore:
    """A results folder: compacted results.parquet plus per-job files."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / RESULTS_FILE
        self.jobs = self.root / JOBS_DIR

    # ---- writing ----------------------------------------------------------------------------
    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Store each row as its own job file (atomically; a row with a stored key replaces it)."""
        for row in rows:
            key, failed = row["job_key"], row.get("status") == "failed"
            with atomic_path(self._job_file(key, failed)) as tmp:
                _write(pd.DataFrame([row]), tmp)
            if not failed:  # a retried job that now succeeds replaces its failure
                self._job_file(key, True).unlink(missing_ok=True)

    def compact(self) -> int:
        """Merge the job files into results.parquet; returns how many were merged."""
        with self._lock():
            parts = self._job_files()
            if not parts:
                return 0
            seen = {p: _identity(p) for p in parts}
            table = self._merge(self._read_compacted(), [self._read_file(p) for p in parts])
            with atomic_path(self.path) as tmp:
                _write(table, tmp)
            for p in parts:
                # a job file another process replaced meanwhile (a rerun of the same key) is
                # newer than what was merged: it stays for the next compaction
                if _identity(p) == seen[p]:
                    p.unlink(missing_ok=True)
            return len(parts)

    # ---- reading ----------------------------------------------------------------------------
    def read(self) -> pd.DataFrame:
        """All rows so far as one table (an empty frame when nothing is stored)."""
        with self._lock(shared=True):  # a compaction does not move rows under our feet
            parts = [self._read_file(p) for p in self._job_files()]
            table = self._merge(self._read_compacted(), parts)
        check_ranges(table, self.root)
        return table

    def finished(self) -> set[str]:
        """Keys of the jobs stored as done; failed jobs are not, so a rerun retries them
        (reads file names and the compacted key and status columns only)."""
        with self._lock(shared=True):
            status = {}
            if self.path.is_file():
                names = pq.read_schema(self.path).names
                table = self._read_file(self.path, [c for c in ("job_key", "status") if c in names])
                ok = table["status"] != "failed" if "status" in table else [True] * len(table)
                status = dict(zip(table["job_key"], ok, strict=True))
            for p in self._job_files():  # newer than the compacted rows, in finishing order
                failed = p.name.endswith(FAILED_SUFFIX)
                name = p.name.removesuffix(FAILED_SUFFIX if failed else ".parquet")
                status[unquote(name)] = not failed
            return {key for key, ok in status.items() if ok}

    # ---- helpers ----------------------------------------------------------------------------
    def _job_file(self, key: str, failed: bool = False) -> Path:
        return self.jobs / f"{quote(key, safe='')}{FAILED_SUFFIX if failed else '.parquet'}"

    def _job_files(self) -> list[Path]:
        if not self.jobs.is_dir():
            return []
        stamped = []
        for p in self.jobs.iterdir():
            if p.name.endswith(".parquet"):
                with contextlib.suppress(FileNotFoundError):  # replaced by a rerun meanwhile
                    stamped.append((p.stat().st_mtime_ns, p.name, p))
        return [p for *_, p in sorted(stamped)]  # in the order the jobs finished

    def _read_compacted(self) -> pd.DataFrame:
        return self._read_file(self.path) if self.path.is_file() else pd.DataFrame()

    @staticmethod
    def _read_file(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
        try:
            table = pq.read_table(path, columns=columns, page_checksum_verification=True)
            recorded = (table.schema.metadata or {}).get(COLUMNS_KEY)
            if (
                recorded is not None
                and columns is None
                and json.loads(recorded) != table.column_names
            ):
                raise ValueError("its column names differ from those recorded when it was written")
            if "job_key" not in table.column_names:
                raise ValueError("it has no job_key column: it is not a spdbench results file")
            return table.to_pandas()
        except Exception as exc:
            raise DataFileError(
                f"results file {path} is unreadable ({type(exc).__name__}: {exc}); move that "
                "file away (the other results stay) and rerun to recompute its jobs"
            ) from exc

    @staticmethod
    def _merge(compacted: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
        parts = [p for p in parts if not p.empty]
        if not parts:
            return compacted
        new = pd.concat(parts, ignore_index=True).drop_duplicates("job_key", keep="last")
        if not compacted.empty:
            compacted = compacted[~compacted["job_key"].isin(new["job_key"])]
            new = pd.concat([compacted, new], ignore_index=True)
        return new

    @contextlib.contextmanager
    def _lock(self, shared: bool = False) -> Iterator[None]:
        """Readers share the lock; a compaction holds it alone. Appends need none."""
        if not self.root.is_dir():
            if shared:  # nothing stored yet: nothing to protect
                yield
                return
            self.root.mkdir(parents=True)
        with open(self.root / LOCK_FILE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
