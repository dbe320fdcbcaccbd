"""The results store: one parquet table, one row per finished job, rewritten atomically.

A row is keyed by `job_key`, "<config hash>/<predictor>/r<replicate>/n<train size>" (the
config hash covers the benchmark, the master seed and every other setting). The
harness appends each job as it finishes, so an interrupted run loses nothing finished, and a
rerun of the same command skips the keys already present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from spdbench.errors import DataFileError
from spdbench.io import atomic_path

RESULTS_FILE = "results.parquet"


class ResultsStore:
    """A folder's results.parquet."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / RESULTS_FILE

    def read(self) -> pd.DataFrame:
        """All rows so far (an empty frame when nothing is stored)."""
        if not self.path.is_file():
            return pd.DataFrame()
        try:
            return pd.read_parquet(self.path)
        except Exception as exc:
            raise DataFileError(
                f"results store {self.path} is unreadable ({exc}); move it away to start afresh"
            ) from exc

    def finished(self) -> set[str]:
        """Keys of the jobs already stored."""
        df = self.read()
        return set(df["job_key"]) if "job_key" in df else set()

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add rows (replacing rows with the same job_key) in one atomic rewrite."""
        new = pd.DataFrame(list(rows))
        if new.empty:
            return
        old = self.read()
        if not old.empty:
            old = old[~old["job_key"].isin(new["job_key"])]
            new = pd.concat([old, new], ignore_index=True)
        with atomic_path(self.path) as tmp:
            new.to_parquet(tmp, index=False)
