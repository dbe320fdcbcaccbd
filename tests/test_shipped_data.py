"""The cached runs shipped in data/ are intact and say what the README says."""

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from spdbench.io import sha256_file
from spdbench.oracles.cached_runs import read_cached_runs
from spdbench.oracles.catalog import BenchmarkRecord, Catalog, load_oracle, shipped_dir

DATA = shipped_dir()


def test_catalog_checksums_and_capabilities_match_the_files():
    records = json.loads((DATA / "catalog.json").read_text())["benchmarks"]
    assert records, "spdbench/data/catalog.json lists no benchmarks"
    for raw in records:
        path = DATA / raw["file"]
        assert path.stat().st_size == raw["bytes"] and sha256_file(path) == raw["sha256"], raw[
            "name"
        ]
        # what the catalog says a benchmark records is what its file records
        record = BenchmarkRecord.from_json(raw, "shipped", DATA)
        described = BenchmarkRecord.describe_runs(
            read_cached_runs(path),
            **{k: raw[k] for k in ("file", "sha256", "bytes", "command", "holds")},
            folder=DATA,
        )
        assert record == described, raw["name"]
    assert {r.name for r in Catalog() if r.origin == "shipped"} == {r["name"] for r in records}


def test_sigmoid_slope_ground_truth(monkeypatch):
    oracle = load_oracle("sigmoid-slope-fashion-mnist")
    runs = oracle.runs
    assert runs.metrics["valid_acc"].shape == (41, 8, 50)  # 8 of the paper's 20 seeds so far
    assert runs.provenance["dataset"] == "fashion-mnist"
    assert set(runs.provenance["dataset_files"]) == {
        "train_images",
        "train_labels",
        "test_images",
        "test_labels",
    }
    slopes = oracle.enumerate()
    acc = oracle.query(slopes).metrics["valid_acc"]
    assert slopes[np.argmax(acc), 0] == 0.31  # the peak the README reports
    assert acc[0] < 15  # slope 0.01 stays near chance
    curve = oracle.query([[0.31]], curves=True).curves["train_loss"][0]
    assert curve[-1] < curve[0]
    assert (oracle.query(slopes).cost > 0).all()


NB201 = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120")


@pytest.mark.parametrize(
    ("name", "best_test"),
    [("nb201-cifar10", 94.37), ("nb201-cifar100", 73.51), ("nb201-imagenet16-120", 47.31)],
)
def test_nb201_benchmarks(monkeypatch, name, best_test):
    oracle = load_oracle(name)
    cells = oracle.enumerate()
    assert len(cells) == 15625 and oracle.size == 15625
    q = oracle.query(cells, 200)
    assert round(float(q.metrics["test_acc"].max()), 2) == best_test  # as in the NB201 paper
    assert len(np.unique(oracle.arch_info(cells, "iso_class"))) == 6466
    # cost model: positive, 12 epochs cheaper than 200, grows with parameter size
    q12 = oracle.query(cells, 12)
    assert (q12.cost > 0).all() and (q12.cost < q.cost).all()
    assert spearmanr(q.cost, oracle.arch_info(cells, "params_mb"))[0] > 0.5
    # 2 or 3 recorded single runs of validation accuracy at 200 epochs, none at 12
    runs = oracle.recorded_runs(cells, "valid_acc", 200).sum(axis=1)
    assert set(np.unique(runs)) == {2, 3}
    assert not oracle.recorded_runs(cells, "valid_acc", 12).any()
    scored = ~np.isnan(oracle.arch_info(cells, "zc_synflow"))
    assert 700 < scored.sum() < 730


def test_nas_bench_macro(monkeypatch):
    oracle = load_oracle("nas-bench-macro")
    archs = oracle.enumerate()
    assert len(archs) == 6561
    runs = oracle.runs.metrics["test_acc"][:, :, 0]
    assert np.isfinite(runs).all() and runs.shape == (6561, 3)
    # the benchmark trains one network per equivalence class: records agree within a class
    iso = oracle.arch_info(archs, "iso_class")
    mean = oracle.query(archs).metrics["test_acc"]
    order = np.argsort(iso, kind="stable")
    same = iso[order][1:] == iso[order][:-1]
    assert np.array_equal(mean[order][1:][same], mean[order][:-1][same])


def test_nb101_subset(monkeypatch):
    oracle = load_oracle("nb101-subset")
    cells = oracle.enumerate()
    # NASLib's 500 entries are 292 distinct NB101 networks; one row each
    assert len(cells) == 292 and oracle.space.contains(cells).all()
    assert len(np.unique(oracle.space.keys(cells))) == 292
    assert oracle.arch_info(cells, "naslib_entries").sum() == 500
    acc = oracle.query(cells).metrics["valid_acc"]
    assert 70 < acc.min() < acc.max() < 95
    assert np.isfinite(oracle.arch_info(cells, "zc_synflow")).all()


def test_nas_bench_nlp(monkeypatch):
    oracle = load_oracle("nas-bench-nlp-wt2")
    cells = oracle.enumerate()
    assert len(cells) == 340  # 345 logs: 4 diverged, one cell trained twice
    q = oracle.query(cells, 50, curves=True)
    assert q.curves["valid_loss"].shape == (340, 50) and np.isfinite(q.curves["valid_loss"]).all()
    assert (q.cost > 0).all() and (q.cost > oracle.query(cells, 10).cost).all()
