"""Shared fixtures: a small synthetic oracle, a cached-runs file written from it, a CLI runner."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from spdbench.cli import main
from spdbench.io import sha256_file
from spdbench.oracles.cached_runs import write_cached_runs
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


@pytest.fixture
def data_dir(tmp_path: Path, runs_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with a manifest listing `runs_file` as benchmark `slopes-test`."""
    root = tmp_path / "data"
    root.mkdir()
    target = root / "slopes.h5"
    target.write_bytes(runs_file.read_bytes())
    manifest = {
        "schema": 1,
        "files": [
            {
                "name": "slopes-test",
                "file": "slopes.h5",
                "sha256": sha256_file(target),
                "bytes": target.stat().st_size,
                "description": "test table",
                "command": "pytest fixture",
                "holds": "41 slopes x 4 seeds x 10 epochs",
            }
        ],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("SPDBENCH_DATA", str(root))
    return root


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
