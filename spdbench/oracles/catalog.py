"""The benchmark catalog: one record per benchmark, read by listing, conversion, compare,
error messages and reports alike.

A benchmark is known from one of three places, merged by name (earlier wins):

1. the user data folder (`$SPDBENCH_DATA`, else the platform's user data directory, e.g.
   ~/.local/share/spdbench): benchmarks a user converted or generated;
2. the shipped folder, `spdbench/data/` inside the installed package (package data found
   through importlib.resources, so a wheel install has it too);
3. oracle plugins (entry point group `spdbench.oracles`), e.g. `synthetic-slope`.

A folder of cached runs holds them as .h5 files and their records in `catalog.json`::

    {"schema": 2, "benchmarks": [{"name", "file", "sha256", "bytes", "description",
      "command", "holds", "space", "protocol", "metrics", "default_metric", "fidelities",
      "seeds", "size", "arch_info", "source"}, ...]}

Converters (entry point group `spdbench.converters`, one per benchmark name) make a
benchmark known before it is converted: its record says how to convert it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from spdbench import plugins
from spdbench.errors import ChecksumError, DataFileError, UnknownNameError, did_you_mean, shorten
from spdbench.io import sha256_file, write_json_atomic
from spdbench.oracles.base import Metric, Oracle
from spdbench.oracles.cached_runs import CachedRuns, CachedRunsOracle, write_cached_runs
from spdbench.spaces.base import SearchSpace

CATALOG_FILE = "catalog.json"
CATALOG_SCHEMA = 2
Origin = Literal["user", "shipped", "plugin", "convertible"]


def shipped_dir() -> Path:
    """The folder of benchmarks shipped inside the installed package."""
    return Path(str(resources.files("spdbench") / "data"))


def user_dir() -> Path:
    """Where converted and generated benchmarks go: $SPDBENCH_DATA, else the user data dir."""
    env = os.environ.get("SPDBENCH_DATA")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("spdbench", appauthor=False))


@dataclass(frozen=True)
class BenchmarkRecord:
    """Everything spdbench knows about one benchmark without opening its data."""

    name: str
    description: str = ""
    file: str | None = None  # the cached-runs file in `folder` (None: plugin or not converted)
    sha256: str | None = None
    bytes: int | None = None
    command: str = ""  # the command that (re)generates or converts it
    holds: str = ""  # one line: archs x runs x epochs, metrics, per-arch facts
    space: str | None = None
    protocol: str = "generic"  # the split rule `--protocol auto` picks
    metrics: dict[str, bool] = field(default_factory=dict)  # name -> higher is better
    default_metric: str | None = None
    fidelities: tuple[int, ...] = ()
    seeds: int | None = None
    size: int | None = None  # None: every architecture of an infinite space
    arch_info: tuple[str, ...] = ()  # per-architecture facts recorded (zero-cost scores, ...)
    source: str = ""
    # where the record came from; not stored
    origin: Origin = "shipped"
    folder: Path | None = None
    converter: bool = False  # `spdbench data convert NAME` can (re)build it

    STORED = (
        "name", "description", "file", "sha256", "bytes", "command", "holds", "space",
        "protocol", "metrics", "default_metric", "fidelities", "seeds", "size", "arch_info",
        "source",
    )  # fmt: skip

    @property
    def path(self) -> Path | None:
        """The cached-runs file, or None for plugins and benchmarks not converted yet."""
        return None if self.file is None or self.folder is None else self.folder / self.file

    @property
    def available(self) -> bool:
        return self.origin != "convertible"

    def records(self, arch_info: str) -> bool:
        """Whether the benchmark records the per-architecture fact `arch_info`."""
        return arch_info in self.arch_info

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.STORED}
        out["fidelities"], out["arch_info"] = list(self.fidelities), list(self.arch_info)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any], origin: Origin, folder: Path) -> BenchmarkRecord:
        unknown = set(raw) - set(cls.STORED)
        if unknown:
            raise TypeError(f"unknown field(s) {', '.join(sorted(unknown))}")
        file = raw.get("file")
        if file is not None and (
            not isinstance(file, str) or Path(file).name != file or file in ("", ".", "..")
        ):
            raise ValueError(
                f"file {file!r} of {raw.get('name')!r} is not a plain file name in the folder"
            )
        data = dict(raw)
        data["fidelities"] = tuple(int(e) for e in data.get("fidelities", ()))
        data["arch_info"] = tuple(data.get("arch_info", ()))
        return cls(**data, origin=origin, folder=folder)

    @classmethod
    def describe(cls, oracle: Oracle, **fields: Any) -> BenchmarkRecord:
        """The record of a loaded oracle (capabilities read through the Oracle interface)."""
        return cls._of(
            oracle.name, oracle.description, oracle.space, oracle.metrics, oracle.default_metric,
            oracle.epochs, len(oracle.seeds), oracle.size, list(oracle.arch_info_names),
            oracle.info().get("source", ""), fields,
        )  # fmt: skip

    @classmethod
    def describe_runs(cls, runs: CachedRuns, **fields: Any) -> BenchmarkRecord:
        """The record of cached runs, as `describe` gives for the oracle that serves them."""
        return cls._of(
            runs.benchmark, runs.description, runs.space, runs.metric_info, runs.default_metric,
            runs.epochs, len(runs.seeds), len(runs.archs), sorted(runs.arch_info), runs.source,
            fields,
        )  # fmt: skip

    @classmethod
    def _of(
        cls, name: str, description: str, space: SearchSpace, metrics: dict[str, Metric],
        default_metric: str, epochs: Any, seeds: int, size: int | None, arch_info: list[str],
        source: str, fields: dict[str, Any],
    ) -> BenchmarkRecord:  # fmt: skip
        return cls(
            name=name,
            description=description,
            space=space.name,
            protocol=space.default_protocol,
            metrics={m.name: m.higher_is_better for m in metrics.values()},
            default_metric=default_metric,
            fidelities=tuple(int(e) for e in epochs),
            seeds=seeds,
            size=size,
            arch_info=tuple(arch_info),
            source=source,
            **fields,
        )


def read_catalog_file(folder: Path, origin: Origin) -> dict[str, BenchmarkRecord]:
    """Records of `folder`/catalog.json by name ({} when the folder has none)."""
    path = Path(folder) / CATALOG_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
        if raw.get("schema") != CATALOG_SCHEMA:
            raise ValueError(f"schema {raw.get('schema')!r}, expected {CATALOG_SCHEMA}")
        records = [BenchmarkRecord.from_json(r, origin, Path(folder)) for r in raw["benchmarks"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataFileError(
            f"{path} is not a valid spdbench catalog ({exc}); move it away or fix it"
        ) from exc
    return {r.name: r for r in records}


def write_catalog_entry(record: BenchmarkRecord, folder: Path) -> None:
    """Add or replace `record` in `folder`/catalog.json (atomically)."""
    records = read_catalog_file(folder, "user")
    records[record.name] = record
    write_json_atomic(
        Path(folder) / CATALOG_FILE,
        {
            "schema": CATALOG_SCHEMA,
            "benchmarks": [records[k].to_json() for k in sorted(records)],
        },
    )


class Catalog:
    """Every benchmark spdbench knows, by name (built fresh, from small files and entry points)."""

    def __init__(self, user: Path | None = None, shipped: Path | None = None) -> None:
        self.user_dir = Path(user) if user is not None else user_dir()
        self.shipped_dir = Path(shipped) if shipped is not None else shipped_dir()
        converters = set(plugins.names("converter"))
        found: dict[str, BenchmarkRecord] = {}
        for name in plugins.names("oracle"):
            found[name] = BenchmarkRecord(name, origin="plugin", command="(oracle plugin)")
        shipped = read_catalog_file(self.shipped_dir, "shipped")
        self.shipped_names = sorted(shipped)
        found.update(shipped)
        if self.user_dir.resolve() != self.shipped_dir.resolve():
            found.update(read_catalog_file(self.user_dir, "user"))
        for name in converters - set(found):
            found[name] = BenchmarkRecord(
                name, command=f"spdbench data convert {name} --source DIR", origin="convertible"
            )
        self._records = {
            k: dataclasses.replace(r, converter=k in converters) for k, r in sorted(found.items())
        }

    def __iter__(self) -> Iterator[BenchmarkRecord]:
        return iter(self._records.values())

    def __contains__(self, name: str) -> bool:
        return name in self._records

    def names(self, *, available: bool = True) -> list[str]:
        """Names of benchmarks ready to use (`available=False`: also those to convert first)."""
        return [r.name for r in self if r.available or not available]

    def get(self, name: str) -> BenchmarkRecord:
        """The record called `name`; UnknownNameError listing the known ones."""
        if name not in self._records:
            hint = did_you_mean(name, self.names(available=False))
            missing = (
                f"; your data folder {self.user_dir} does not exist (check $SPDBENCH_DATA)"
                if not self.user_dir.is_dir() and not hint
                else ""
            )
            raise UnknownNameError(
                f"unknown benchmark {shorten(repr(name), 80)}{hint}; available: "
                f"{', '.join(self.names()) or '(none)'} (or a path to a cached-runs .h5 file; "
                f"`spdbench benchmarks list --all` also shows those you can convert){missing}"
            )
        return self._records[name]

    def recording(self, arch_info: str) -> list[str]:
        """Available benchmarks that record the per-architecture fact `arch_info`."""
        return [r.name for r in self if r.available and r.records(arch_info)]

    def resolve(self, name: str) -> tuple[BenchmarkRecord, Oracle]:
        """The record and oracle of a catalog name or of a path to a cached-runs .h5 file."""
        if name not in self._records and (name.endswith((".h5", ".hdf5")) or os.sep in name):
            oracle = CachedRunsOracle.from_file(name)
            path = Path(name)
            return BenchmarkRecord.describe(
                oracle, file=path.name, origin="user", folder=path.parent
            ), oracle
        record = self.get(name)
        if record.origin == "convertible":
            raise DataFileError(
                f"benchmark {name!r} is not converted yet: run `{record.command}` "
                f"({converter_summary(name)})"
            )
        if record.origin == "plugin":
            oracle = plugins.load("oracle", name)()
            return BenchmarkRecord.describe(oracle, origin="plugin", command=record.command), oracle
        return record, _open_file(record)

    def convertible(self, *, shipped: bool = False) -> list[str]:
        """Benchmarks a converter can (re)build; `shipped=True`: only those spdbench ships."""
        return [
            r.name for r in self if r.converter and (r.name in self.shipped_names or not shipped)
        ]

    def converter(self, name: str) -> Callable[..., CachedRuns]:
        """The converter of benchmark `name` (see spdbench.convert.toolkit)."""
        if name not in self._records or not self._records[name].converter:
            raise UnknownNameError(
                f"no converter for {name!r}; available: {', '.join(self.convertible())}"
            )
        return plugins.load("converter", name)

    def build(self, name: str, source: Path, *, verify: bool = True, **options: Any) -> CachedRuns:
        """Convert benchmark `name` from its upstream files below `source` (`options` go to its
        converter, e.g. workers=2 for NATS-Bench)."""
        return self.converter(name)(name, Path(source), verify=verify, **options)

    def load(self, name: str) -> Oracle:
        """The oracle of a catalog name or of a path to a cached-runs .h5 file."""
        return self.resolve(name)[1]


def _open_file(record: BenchmarkRecord) -> Oracle:
    path = record.path
    assert path is not None and record.sha256 is not None
    how = f"restore it ({'reinstall spdbench' if record.origin == 'shipped' else 'from a backup'}) or regenerate it: {record.command}"
    if not path.is_file():
        raise DataFileError(
            f"benchmark {record.name!r} needs {path} ({record.bytes} bytes, sha256 "
            f"{record.sha256[:12]}...), which is missing; {how}"
        )
    actual = sha256_file(path)
    if actual != record.sha256:
        raise ChecksumError(
            f"{path} does not match the catalog (sha256 {actual[:12]}... instead of "
            f"{record.sha256[:12]}...); {how}"
        )
    return CachedRunsOracle.from_file(path)


def converter_summary(name: str) -> str:
    """The first line of the converter's docstring: which upstream files it reads."""
    doc = (plugins.load("converter", name).__doc__ or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else f"converts {name}"


def load_oracle(name: str) -> Oracle:
    """The oracle of a benchmark name or a cached-runs .h5 path (a fresh catalog lookup)."""
    return Catalog().load(name)


def save_benchmark(
    runs: CachedRuns, path: Path, *, command: str, holds: str | None = None
) -> BenchmarkRecord:
    """Write `runs` atomically to `path` and record it in that folder's catalog.json."""
    write_cached_runs(path, runs)
    return register_benchmark(runs, path, command=command, holds=holds)


def register_benchmark(
    runs: CachedRuns, path: Path, *, command: str, holds: str | None = None
) -> BenchmarkRecord:
    """Record the cached-runs file `path` (holding `runs`) in its folder's catalog.json."""
    path = Path(path)
    record = BenchmarkRecord.describe_runs(
        runs,
        file=path.name,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        command=command,
        holds=holds or runs.summary(),
        origin="user",
        folder=path.parent,
    )
    write_catalog_entry(record, path.parent)
    return record
