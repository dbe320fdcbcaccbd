"""Shared fixtures: a small synthetic oracle, a cached-runs file written from it, a CLI runner."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from spdbench.cli import main
from spdbench.oracles.cached_runs import read_cached_runs, write_cached_runs
from spdbench.oracles.catalog import register_benchmark
from spdbench.oracles.synthetic import SyntheticSlopeOracle

SLOPES = np.round(np.arange(0.01, 2.02, 0.05), 2)  # the paper's default grid, 41 slopes


@pytest.fixture
def synthetic() -> SyntheticSlopeOracle:
    return SyntheticSlopeOracle(n_seeds=4, n_epochs=10)


@pytest.fixture
def runs_file(tmp_path: Path, synthetic: SyntheticSlopeOracle) -> Path:
    path = tmp_path / "slopes.h5"
    write_cached_runs(path, synthetic.to_cached_runs(SLOPES, benchmark="slopes-test"))
    return path


@pytest.fixture(autouse=True)
def user_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty user data folder and working directory: none reads or
    writes the real data folder, and default output folders (results/) land in a temp dir."""
    root = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("SPDBENCH_DATA", str(root))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    return root


@pytest.fixture
def data_dir(user_data: Path, runs_file: Path) -> Path:
    """The user data folder with `runs_file` recorded in its catalog as `slopes-test`."""
    target = user_data / "slopes.h5"
    target.write_bytes(runs_file.read_bytes())
    register_benchmark(read_cached_runs(target), target, command="pytest fixture")
    return user_data


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run `spdbench ARGS` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def python() -> str:
    return sys.executable
