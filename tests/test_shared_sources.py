"""The shipped converted benchmarks equal a fresh conversion of ../shared/data, and reproduce
the source numbers exactly (skipped where ../shared is absent, as on a user's clone)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spdbench.oracles.cached_runs import read_cached_runs
from spdbench.oracles.catalog import Catalog, shipped_dir

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not (SHARED / "README.md").is_file(), reason="../shared/data is not beside this checkout"
)


def _sha(values) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f8").tobytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(Catalog().convertible(shipped=True)))
def test_shipped_file_equals_a_fresh_conversion(name):
    shipped = read_cached_runs(shipped_dir() / f"{name}.h5")
    assert Catalog().build(name, SHARED).content_checksum() == shipped.content_checksum()


@pytest.mark.parametrize(
    ("dataset", "prefix"),
    [("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet16-120", "imagenet")],
)
def test_nb201_columns_match_the_sources(dataset, prefix):
    runs = read_cached_runs(shipped_dir() / f"nb201-{dataset}.h5")
    iso = pd.read_csv(SHARED / "nb201/nats-tss-test-200ep-with-isomorphism.csv")
    cells = iso["ArchitectureString"].tolist()
    assert runs.space.format(runs.archs) == cells
    blob = json.loads((SHARED / f"nb201/nb201-200ep-{dataset}.json").read_text())
    for key, column in (("val_acc_200", "valid_acc"), ("test_acc_200", "test_acc")):
        source = np.array([blob[c][key] for c in cells])
        assert _sha(runs.seed_mean[column][:, 1]) == _sha(source)  # whole column, bit for bit
    ep12 = pd.read_csv(SHARED / "nb201/nb201-12ep-valid-test.csv")
    assert _sha(runs.seed_mean["valid_acc"][:, 0]) == _sha(ep12[f"{prefix}-val"])
    assert _sha(runs.seed_mean["test_acc"][:, 0]) == _sha(ep12[f"{prefix}-test"])
    # spot checks of single runs: the first rows of the per-seed table are cell 0's runs
    seed = pd.read_csv(SHARED / "nb201/per-seed-valid-loss-runtime.csv", nrows=6)
    first = runs.metrics["valid_acc"][0, :, 1]
    k = int(np.isfinite(first).sum())
    assert np.array_equal(first[:k], 100.0 - seed[f"{prefix}_loss"].to_numpy()[:k])
    assert np.isclose(runs.train_time[0, 0].sum(), seed[f"{prefix}_runtime"].iloc[0], rtol=1e-14)
    # isomorphic cells (same canonical string) share their class, others do not
    codes = pd.factorize(iso["UniqueString"])[0]
    cls = runs.arch_info["iso_class"]
    assert len(np.unique(np.c_[codes, cls], axis=0)) == len(np.unique(codes)) == 6466


def test_nb201_zero_cost_scores_match_naslib():
    runs = read_cached_runs(shipped_dir() / "nb201-cifar10.h5")
    zc = json.loads((SHARED / "zero-cost/zc_nasbench201.json").read_text())["cifar10"]
    key = "(0, 2, 3, 2, 3, 1)"  # NASLib: edges 01,02,03,12,13,23; ops skip,none,3x3,1x1,pool
    cell = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"
    row = runs.space.format(runs.archs).index(cell)
    assert runs.arch_info["zc_synflow"][row] == zc[key]["synflow"]["score"]
    assert runs.arch_info["zc_synflow_time"][row] == zc[key]["synflow"]["time"]
    # the params proxy equals the recorded parameter size: the op/edge mapping is right
    scored = ~np.isnan(runs.arch_info["zc_params"])
    same = np.isclose(runs.arch_info["zc_params"][scored], runs.arch_info["params_mb"][scored])
    assert same.mean() > 0.98


def test_macro_matches_the_source():
    runs = read_cached_runs(shipped_dir() / "nas-bench-macro.h5")
    blob = json.loads((SHARED / "nas-bench-macro/nas-bench-macro_cifar10.json").read_text())
    keys = runs.space.format(runs.archs)
    assert sorted(blob) == keys
    assert _sha(runs.seed_mean["test_acc"][:, 0]) == _sha([blob[k]["mean_acc"] for k in keys])
    assert _sha(runs.metrics["test_acc"][:, :, 0]) == _sha([blob[k]["test_acc"] for k in keys])
    assert _sha(runs.arch_info["flops"]) == _sha([blob[k]["flops"] for k in keys])
