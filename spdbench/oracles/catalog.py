"""Finding benchmarks by name: registered oracle plugins, the data/ manifest, or a file path.

Shipped cached runs live in the data folder (the repository's data/, or $SPDBENCH_DATA) and
are listed in its manifest.json::

    {"schema": 1, "files": [{"name": ..., "file": ..., "sha256": ..., "bytes": ...,
                             "description": ..., "command": ..., "holds": ...}]}
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spdbench import plugins
from spdbench.errors import ChecksumError, DataFileError, UnknownNameError
from spdbench.io import sha256_file, write_json_atomic
from spdbench.oracles.base import Oracle
from spdbench.oracles.cached_runs import CachedRuns, CachedRunsOracle, write_cached_runs

MANIFEST = "manifest.json"


def data_dir() -> Path:
    """$SPDBENCH_DATA if set, else the data/ folder of the source tree spdbench runs from."""
    env = os.environ.get("SPDBENCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class ManifestEntry:
    """One shipped cached-runs file."""

    name: str
    file: str
    sha256: str
    bytes: int
    description: str = ""
    command: str = ""
    holds: str = ""

    def path(self, root: Path) -> Path:
        return root / self.file


def read_manifest(root: Path | None = None) -> dict[str, ManifestEntry]:
    """Entries of `root`/manifest.json by name ({} when there is no manifest)."""
    root = root or data_dir()
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
        entries = [ManifestEntry(**e) for e in raw["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFileError(f"{path} is not a valid data manifest: {exc}") from exc
    return {e.name: e for e in entries}


def register_file(entry: ManifestEntry, root: Path | None = None) -> None:
    """Add or replace `entry` in `root`/manifest.json (atomically)."""
    root = root or data_dir()
    entries = read_manifest(root)
    entries[entry.name] = entry
    write_json_atomic(
        root / MANIFEST,
        {
            "schema": 1,
            "files": [
                dataclasses.asdict(e) for e in sorted(entries.values(), key=lambda e: e.name)
            ],
        },
    )


def benchmark_names() -> list[str]:
    """Registered oracle plugins and shipped cached runs."""
    return sorted(set(plugins.names("oracle")) | set(read_manifest()))


def load_oracle(name: str, **options: Any) -> Oracle:
    """An oracle by plugin name, manifest name, or path to a cached-runs .h5 file."""
    if name in plugins.names("oracle"):
        cls = plugins.load("oracle", name)
        return cls(**options)
    manifest = read_manifest()
    if name in manifest:
        entry = manifest[name]
        path = entry.path(data_dir())
        if not path.is_file():
            raise DataFileError(
                f"benchmark {name!r} needs {path} ({entry.bytes} bytes, sha256 {entry.sha256[:12]}...), "
                f"which is missing; restore it from the repository or regenerate it: {entry.command}"
            )
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise ChecksumError(
                f"{path} does not match the manifest (sha256 {actual[:12]}... instead of "
                f"{entry.sha256[:12]}...); restore it from the repository or regenerate it: "
                f"{entry.command}"
            )
        return CachedRunsOracle.from_file(path)
    if name.endswith((".h5", ".hdf5")) or os.sep in name:
        return CachedRunsOracle.from_file(name)
    valid = ", ".join(benchmark_names()) or "(none)"
    raise UnknownNameError(
        f"unknown benchmark {name!r}; available: {valid} (or a path to a cached-runs .h5 file)"
    )


def save_benchmark(runs: CachedRuns, path: Path, *, command: str, holds: str) -> ManifestEntry:
    """Write `runs` atomically to `path` and `register_benchmark` it."""
    write_cached_runs(path, runs)
    return register_benchmark(runs, path, command=command, holds=holds)


def register_benchmark(runs: CachedRuns, path: Path, *, command: str, holds: str) -> ManifestEntry:
    """The manifest entry of the cached-runs file `path`; added to the manifest when `path`
    lies in the data folder."""
    path = Path(path)
    entry = ManifestEntry(
        name=runs.benchmark,
        file=path.name,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        description=runs.description,
        command=command,
        holds=holds,
    )
    if in_data_dir(path):
        register_file(entry)
    return entry


def in_data_dir(path: Path) -> bool:
    """Whether `path` lies directly in the data folder (and so belongs in its manifest)."""
    return Path(path).resolve().parent == data_dir().resolve()
