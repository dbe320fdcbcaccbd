"""What every run records beside its results: versions, machine, time."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("spdbench", "numpy", "scipy", "pandas", "pyarrow", "h5py", "torch")


def versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def row_versions(source: str) -> str:
    """The `versions` column of a results row (JSON): `versions()` plus the digest of the
    spdbench source the run was planned with (`source_digest`, taken once by the planning
    process, so every row of a run names the code it started with)."""
    return json.dumps({**versions(), "spdbench_source": source}, sort_keys=True)


@functools.cache
def source_digest() -> str:
    """Short SHA-256 over spdbench's .py files (relative paths and bytes, in sorted order),
    because its version number does not change with every edit: rows with different digests
    were made by different code. Editor lock and backup files (dot files, links to nowhere)
    are skipped."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith(".") or not path.is_file():
            continue
        with contextlib.suppress(OSError):  # deleted meanwhile: the digest is a fingerprint
            data = path.read_bytes()
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def machine() -> dict[str, Any]:
    """A short description of the machine a run executes on."""
    import os

    out: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
    }
    torch = sys.modules.get("torch")  # only when the run already uses it
    if torch is not None:
        # the SIMD path torch's CPU kernels take: rounding, and so a Petri dish's last digits,
        # can differ between paths even with the same seed and versions
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


def _cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def now() -> str:
    """Current UTC time, ISO-8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def config_hash(config: dict[str, Any]) -> str:
    """Short stable hash of a JSON-able config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_stamp(oracle: Any, source: str) -> dict[str, Any]:
    """What every run record says about its data and where and when it ran: the benchmark's
    description and checksum, the versions with the planned `source` digest (the one its rows
    record), the machine and the start time."""
    return {
        "benchmark": oracle.info(),
        "data_checksum": oracle.checksum,
        "versions": {**versions(), "spdbench_source": source},
        "machine": machine(),
        "started_at": now(),
    }


def checksum_text(value: str) -> str:
    """A data checksum for a report line; generated benchmarks (synthetic-*) have none."""
    return f"`{value}`" if value else "none (a generated benchmark: no data file)"
