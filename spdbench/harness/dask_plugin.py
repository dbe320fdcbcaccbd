"""A Dask worker plugin (its own module: importing it imports distributed)."""

from __future__ import annotations

import os
from typing import Any

from distributed import WorkerPlugin

from spdbench.harness.executors import die_with_parent


class DieWithClient(WorkerPlugin):
    """For a local cluster a run started: its worker processes (restarted ones too) die with
    the client process, even when that is killed with SIGKILL."""

    def __init__(self, client_pid: int) -> None:
        self.client_pid = client_pid

    def setup(self, worker: Any) -> None:
        if os.getppid() == self.client_pid:  # a worker process the client's nanny started
            die_with_parent(self.client_pid)
