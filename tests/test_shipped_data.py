"""The cached runs shipped in data/ are intact and say what the README says."""

import json
from pathlib import Path

import numpy as np

from spdbench.io import sha256_file
from spdbench.oracles.catalog import load_oracle

DATA = Path(__file__).resolve().parents[1] / "data"


def test_manifest_checksums_match_the_files():
    manifest = json.loads((DATA / "manifest.json").read_text())
    assert manifest["files"], "data/manifest.json lists no files"
    for entry in manifest["files"]:
        path = DATA / entry["file"]
        assert path.stat().st_size == entry["bytes"] and sha256_file(path) == entry["sha256"], (
            entry["name"]
        )


def test_sigmoid_slope_ground_truth(monkeypatch):
    monkeypatch.setenv("SPDBENCH_DATA", str(DATA))
    oracle = load_oracle("sigmoid-slope-fashion-mnist")
    runs = oracle.runs
    assert runs.metrics["valid_acc"].shape == (41, 5, 20)
    assert runs.provenance["dataset"] == "fashion-mnist"
    assert set(runs.provenance["dataset_files"]) == {
        "train_images",
        "train_labels",
        "test_images",
        "test_labels",
    }
    slopes = oracle.enumerate()
    acc = oracle.query(slopes, charge=False).metrics["valid_acc"]
    assert slopes[np.argmax(acc), 0] == 0.36  # the peak the README reports
    assert acc[0] < 15  # slope 0.01 stays near chance
    curve = oracle.query([[0.36]], curves=True, charge=False).curves["train_loss"][0]
    assert curve[-1] < curve[0]
    assert (oracle.query(slopes, charge=False).cost > 0).all()
