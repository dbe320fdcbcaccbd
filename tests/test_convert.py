"""Converters reproduce their sources exactly; bad sources fail with one clear line."""

import json

import numpy as np
import pytest
from upstream_files import write_macro_source, write_nb201_sources

from spdbench.convert.nb201 import build_nb201
from spdbench.errors import ChecksumError, DataFileError, UnknownNameError
from spdbench.oracles.cached_runs import CachedRunsOracle, read_cached_runs, write_cached_runs
from spdbench.oracles.catalog import Catalog


@pytest.fixture
def nb201_source(tmp_path):
    root = tmp_path / "shared-data"
    return root, write_nb201_sources(root)


def test_nb201_conversion_reproduces_every_source_number(nb201_source, tmp_path):
    root, truth = nb201_source
    path = tmp_path / "nb201-cifar100.h5"
    write_cached_runs(path, build_nb201("cifar100", root, verify=False))
    oracle = CachedRunsOracle.from_file(path)
    archs = truth["archs"]
    assert np.array_equal(oracle.runs.archs, archs)  # NATS order kept
    val200, test200 = truth["cifar100-200"]
    q200 = oracle.query(archs, 200)
    assert np.array_equal(q200.metrics["valid_acc"], val200)
    assert np.array_equal(q200.metrics["test_acc"], test200)
    q12 = oracle.query(archs, 12)
    assert np.array_equal(q12.metrics["valid_acc"], truth["12"]["cifar100-val"])
    assert np.array_equal(q12.metrics["test_acc"], truth["12"]["cifar100-test"])
    # single runs: 100 - recorded loss, in file order, NaN for cells with 2 runs
    runs = oracle.runs.metrics["valid_acc"][:, :, 1]
    recorded = runs[~np.isnan(runs)]
    assert np.array_equal(recorded, 100.0 - np.array(truth["loss"]["cifar100"]))
    assert np.array_equal((~np.isnan(runs)).sum(axis=1), truth["runs"])
    assert np.isnan(oracle.runs.metrics["valid_acc"][:, :, 0]).all()
    # cost: the cifar100 runtime column (3x the base runtime in this fixture); 12 epochs = 12/200
    runtime = truth["runtime"] * 3
    assert np.allclose(q200.cost, runtime, rtol=1e-12)
    assert np.allclose(q12.cost, runtime * 12 / 200, rtol=1e-12)
    assert np.array_equal(oracle.arch_info(archs, "params_mb"), truth["size"] + 2e-3)
    iso = oracle.arch_info(archs, "iso_class")
    assert np.array_equal(iso[0::2], iso[1::2]) and len(np.unique(iso)) == len(archs) // 2


def test_nb201_zero_cost_keys_map_to_our_cells(nb201_source, tmp_path):
    root, truth = nb201_source
    runs = build_nb201("imagenet16-120", root, verify=False)
    synflow = runs.arch_info["zc_synflow"]
    n = len(truth["archs"])
    expected = np.full(n, np.nan)
    expected[0::2] = np.arange(0, n, 2) * 10 + len("synflow")
    assert np.array_equal(synflow, expected, equal_nan=True)
    assert np.array_equal(runs.arch_info["zc_synflow_time"][0::2], 0.5 + np.arange(0, n, 2))
    assert "zc_snip" not in runs.arch_info  # not recorded in this source


def test_compare_draws_only_recorded_runs(nb201_source, tmp_path):
    from spdbench.oracles.base import train_ground_truth

    root, truth = nb201_source
    oracle = CachedRunsOracle(build_nb201("cifar10", root, verify=False))
    archs = truth["archs"]
    gt = train_ground_truth(oracle, archs, 200, "valid_acc", np.random.default_rng(0), False)
    assert np.isfinite(gt.metrics["valid_acc"]).all()
    runs = oracle.runs.metrics["valid_acc"][:, :, 1]
    assert np.array_equal(gt.metrics["valid_acc"], runs[np.arange(len(archs)), gt.seeds])
    # no single runs at 12 epochs: the published mean
    gt12 = train_ground_truth(oracle, archs, 12, "valid_acc", np.random.default_rng(0), False)
    assert np.array_equal(gt12.metrics["valid_acc"], truth["12"]["cifar10-val"])


def test_macro_conversion_and_equivalent_networks(tmp_path):
    root = tmp_path / "src"
    blob = write_macro_source(root)
    runs = Catalog().build("nas-bench-macro", root, verify=False)
    oracle = CachedRunsOracle(runs)
    keys = ["02012100", "22222222", "10201020"]
    q = oracle.query(oracle.space.parse(keys))
    assert q.metrics["test_acc"].tolist() == [blob[k]["mean_acc"] for k in keys]
    one = oracle.query(oracle.space.parse(keys), seed=2)
    assert one.metrics["test_acc"].tolist() == [blob[k]["test_acc"][2] for k in keys]
    # 10201020 trains as 10210020: same class, same numbers
    a, b = oracle.space.parse(["10201020", "10210020"])
    assert oracle.arch_info([a, b], "iso_class")[0] == oracle.arch_info([a, b], "iso_class")[1]
    assert len(np.unique(runs.arch_info["iso_class"])) == 3969


def test_missing_partial_and_altered_sources(tmp_path, nb201_source):
    root, _ = nb201_source
    with pytest.raises(
        DataFileError, match=r"missing source file .*nas-bench-macro_cifar10.json.*1,178,821 bytes"
    ):
        Catalog().build("nas-bench-macro", root)
    with pytest.raises(DataFileError, match="is partial or a different release"):
        Catalog().build("nb201-cifar10", root)  # tiny files: wrong size
    from spdbench.convert import sources

    spec = sources.SourceFile("x.json", 2, "0" * 64, "somewhere")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ChecksumError, match=r"does not match the expected x\.json"):
        spec.locate(tmp_path)
    with pytest.raises(UnknownNameError, match="no converter for 'nb999'"):
        Catalog().build("nb999", root)
    # a truncated per-seed table no longer groups into one run per cell
    table = root / "nb201/per-seed-valid-loss-runtime.csv"
    table.write_text("\n".join(table.read_text().splitlines()[:5]) + "\n")
    with pytest.raises(DataFileError, match="rows group into"):
        build_nb201("cifar10", root, verify=False)


def test_convert_cli_writes_registers_and_rebuilds_identically(tmp_path, cli, monkeypatch):
    root = tmp_path / "src"
    write_macro_source(root)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    from spdbench.convert import sources

    monkeypatch.setattr(sources.SourceFile, "locate", lambda self, r, verify=True: r / self.path)
    res = cli("data", "convert", "nas-bench-macro", "--source", str(root))
    assert res.code == 0, res.err
    catalog = json.loads((data / "catalog.json").read_text())
    assert [e["name"] for e in catalog["benchmarks"]] == ["nas-bench-macro"]
    first = (data / "nas-bench-macro.h5").read_bytes()
    assert cli("data", "convert", "nas-bench-macro", "--source", str(root)).code == 0
    assert (data / "nas-bench-macro.h5").read_bytes() == first  # deterministic bytes
    assert read_cached_runs(data / "nas-bench-macro.h5").benchmark == "nas-bench-macro"
    bad = cli("data", "convert", "nb999", "--source", str(root))
    assert bad.code == 2 and "no converter for 'nb999'" in bad.err


def test_convert_needs_a_source_folder(cli, monkeypatch):
    monkeypatch.delenv("SPDBENCH_SOURCE", raising=False)
    r = cli("data", "convert", "nas-bench-macro")
    assert r.code == 2 and "pass --source DIR" in r.err
