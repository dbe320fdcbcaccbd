"""Faults a careless colleague or a crash brings: killed runs, concurrent runs on one folder.
Each test runs real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spdbench.harness.store import ResultsStore


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_compare_leaves_no_process_behind(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-m", "spdbench.cli", "compare", "-b", "synthetic-slope", "-p",
         "petri-dish", "--seeds", "4", "--workers", "2", "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 3:  # 2 workers + resource tracker
        time.sleep(0.2)
        workers = _children(run.pid)
    assert len(workers) >= 2, "compare started no worker processes"
    time.sleep(1.0)  # let the workers pass their initializer
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "processes outlived the killed compare"


def test_two_runs_on_one_folder_keep_every_row(tmp_path):
    out = tmp_path / "both"
    args = [sys.executable, "-m", "spdbench.cli", "compare", "-b", "synthetic-slope", "-p",
            "random,knn", "--seeds", "15", "--test-size", "30", "--workers", "1", "--out", str(out)]  # fmt: skip
    runs = [
        subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)
    ]
    errors = [r.communicate()[1].decode() for r in runs]
    assert [r.returncode for r in runs] == [0, 0], errors
    rows = ResultsStore(out).read()
    assert len(rows) == 30 and rows["job_key"].is_unique
