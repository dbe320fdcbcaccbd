"""A plain (non-editable) install is as complete as the source tree: built as a wheel,
installed into a fresh virtual environment and run from another folder, spdbench lists the
shipped benchmarks and runs compare on one (they were missing when the data folder was found
relative to the source tree)."""

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = json.loads((ROOT / "spdbench/data/catalog.json").read_text())["benchmarks"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the spdbench wheel; its dependencies come from this environment
    (a .pth file), so the test needs no network. Returns (bin folder, environment)."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "dist"), str(ROOT)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = (work / "dist").glob("spdbench-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    # after the install: pip must not see this environment's (editable) spdbench as installed
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "SPDBENCH_DATA": str(work / "user")}
    return env_dir / "bin", env, work


def _run(installed, *args):
    bin_dir, env, work = installed
    return subprocess.run(
        [str(bin_dir / "spdbench"), *args], cwd=work, env=env, capture_output=True, text=True
    )


def test_the_wheel_carries_the_shipped_benchmarks(installed):
    bin_dir, env, work = installed
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import spdbench; print(spdbench.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(bin_dir.parent) in where and str(ROOT) not in where  # the installed copy
    listed = _run(installed, "benchmarks", "list")
    assert listed.returncode == 0, listed.stderr
    for record in SHIPPED:
        assert record["name"] in listed.stdout
    path = _run(installed, "data", "path")
    assert f"shipped: {bin_dir.parent}" in path.stdout


def test_compare_runs_from_another_folder(installed):
    _, _, work = installed
    ran = _run(
        installed, "compare", "-b", "nb201-cifar10", "-p", "zc-synflow,random", "--seeds", "1",
        "--train-sizes", "10", "--workers", "1", "--out", "out",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (work / "out" / "results.parquet").is_file() and "zc-synflow" in ran.stdout
