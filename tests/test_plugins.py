"""A third-party predictor package is discovered through its entry point and runs unchanged."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from spdbench import plugins
from spdbench.errors import UnknownNameError
from spdbench.testing import check_predictor

PLUGIN_SRC = Path(__file__).parent / "plugins" / "spdbench_tiny"


def _install_entry_point_dist(target: Path) -> Path:
    """Lay the example package out as an installed distribution (module + dist-info)."""
    meta = tomllib.loads((PLUGIN_SRC / "pyproject.toml").read_text())["project"]
    target.mkdir(parents=True, exist_ok=True)
    (target / "spdbench_tiny.py").write_text((PLUGIN_SRC / "spdbench_tiny.py").read_text())
    info = target / f"spdbench_tiny-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    lines = []
    for group, eps in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return target


@pytest.fixture
def tiny_plugin(tmp_path, monkeypatch):
    site = _install_entry_point_dist(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("spdbench_tiny", None)


def test_plugin_is_discovered_and_passes_the_contract(tiny_plugin):
    assert "tiny-linear" in plugins.names("predictor")
    cls = plugins.load("predictor", "tiny-linear")
    assert cls.__module__ == "spdbench_tiny"
    check_predictor(cls)
    info = {i.name: i for i in plugins.describe("predictor")}["tiny-linear"]
    assert info.distribution == "spdbench-tiny" and "example plugin" in info.description


def test_plugin_runs_through_the_cli_without_changing_spdbench(tiny_plugin, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(tiny_plugin)}
    listed = subprocess.run(
        [sys.executable, "-m", "spdbench.cli", "predictors", "list"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0 and "tiny-linear" in listed.stdout
    out = tmp_path / "results"
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "spdbench.cli",
            "compare",
            "-b",
            "synthetic-slope",
            "-p",
            "tiny-linear,random",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert "tiny-linear" in ran.stdout and (out / "results.parquet").is_file()


def test_unknown_plugin_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"installed: .*knn.*random"):
        plugins.load("predictor", "gpt")


def test_broken_plugin_import_is_a_clear_error(tmp_path, monkeypatch):
    site = _install_entry_point_dist(tmp_path / "site")
    (site / "spdbench_tiny.py").write_text("raise ImportError('needs a missing dependency')\n")
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("spdbench_tiny", None)
    with pytest.raises(
        Exception, match="failed to import: ImportError: needs a missing dependency"
    ):
        plugins.load("predictor", "tiny-linear")
    assert {i.name: i for i in plugins.describe("predictor")}["tiny-linear"].error
