"""Sigmoid-slope ground truth on tiny IDX files written here (gzip and raw)."""

import gzip
import json

import numpy as np
import pytest
import torch

from spdbench.errors import ConfigError, DataFileError
from spdbench.groundtruth import idx
from spdbench.groundtruth.sigmoid_slope import (
    SigmoidSlopeConfig,
    SigmoidSlopeTrainer,
    generate,
    parse_slopes,
)
from spdbench.oracles.cached_runs import CachedRunsOracle, read_cached_runs


def _write_dataset(root, *, compress=True, n_train=600, n_test=60, side=6, seed=0):
    """A learnable toy dataset: pixels 3k..3k+2 light up for label k."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, side, side)).astype(np.uint8)
        flat = images.reshape(n, -1)
        for j in range(3):
            flat[np.arange(n), 3 * labels + j] = 255
        idx.write_idx(root / f"{split}-images-idx3-ubyte{suffix}", images)
        idx.write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return root


def _config(**kw):
    base = dict(
        slopes=(0.05, 0.5, 1.5),
        seeds=(0, 1),
        epochs=3,
        hidden=8,
        n_train=200,
        n_valid=100,
        batch_size=20,
        eval_batch=64,
    )
    return SigmoidSlopeConfig(**{**base, **kw})


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_gzip_and_raw(tmp_path, compress):
    root = _write_dataset(tmp_path / "d", compress=compress)
    ds = idx.load_dataset(root, "toy")
    assert ds.train_images.shape == (600, 6, 6) and ds.test_labels.shape == (60,)
    assert ds.name == "toy" and set(ds.files) == set(idx.FILES)
    assert all(len(f["sha256"]) == 64 for f in ds.files.values())


def test_idx_errors(tmp_path):
    with pytest.raises(DataFileError, match="apt-get install dataset-fashion-mnist"):
        idx.load_dataset(tmp_path)
    root = _write_dataset(tmp_path / "d")
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-7]))
    with pytest.raises(DataFileError, match="truncated or corrupt"):
        idx.read_idx(path)
    path.write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DataFileError, match="not an IDX file"):
        idx.read_idx(path)


def test_parse_slopes():
    assert parse_slopes("0.01:2.01:0.05")[-1] == 2.01 and len(parse_slopes("0.01:2.01:0.05")) == 41
    assert parse_slopes("0.1, 0.2") == (0.1, 0.2)
    with pytest.raises(ConfigError, match="START:STOP:STEP"):
        parse_slopes("steep")


def test_batched_training_equals_one_model_at_a_time(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    cfg = _config(epochs=2)
    batched = SigmoidSlopeTrainer(cfg, ds, torch.device("cpu"))
    for _ in range(cfg.epochs):
        batched.train_epoch()
    for ci, slope in enumerate(cfg.slopes):
        for si, seed in enumerate(cfg.seeds):
            alone = SigmoidSlopeTrainer(
                _config(epochs=2, slopes=(slope,), seeds=(seed,)), ds, torch.device("cpu")
            )
            for _ in range(cfg.epochs):
                alone.train_epoch()
            for name in ("train_loss", "valid_loss", "test_loss"):
                np.testing.assert_allclose(
                    batched.records[name][ci, si], alone.records[name][0, 0], rtol=1e-4, atol=1e-5
                )


def test_training_learns_and_slope_matters(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    trainer = SigmoidSlopeTrainer(_config(epochs=5, n_train=500), ds, torch.device("cpu"))
    for _ in range(5):
        trainer.train_epoch()
    loss = trainer.records["train_loss"]
    assert (loss[:, :, -1] < loss[:, :, 0]).all()  # every model learns
    acc = trainer.records["valid_acc"][:, :, -1].mean(axis=1)
    assert acc.max() > 50 and acc[0] < acc.max()  # a tiny slope learns worse


def test_generate_resumes_after_interruption_with_identical_numbers(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    cfg = _config()
    full = generate(cfg, ds, tmp_path / "full.h5", device="cpu")

    out = tmp_path / "resumed.h5"

    def stop_after_first(epoch, total):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(cfg, ds, out, device="cpu", on_epoch=stop_after_first)
    assert not out.exists() and out.with_name(out.name + ".ckpt").is_file()
    seen = []
    generate(cfg, ds, out, device="cpu", on_epoch=lambda e, t: seen.append(e))
    assert seen[0] == 1  # resumed after the finished epoch
    assert not out.with_name(out.name + ".ckpt").exists()
    resumed = read_cached_runs(out)
    for name in full.metrics:
        np.testing.assert_array_equal(resumed.metrics[name], full.metrics[name])


def test_checkpoint_of_another_config_is_refused(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    out = tmp_path / "x.h5"

    def stop(epoch, total):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(_config(), ds, out, device="cpu", on_epoch=stop)
    with pytest.raises(ConfigError, match="different configuration"):
        generate(_config(epochs=5), ds, out, device="cpu")


def test_cli_writes_registers_and_serves_the_runs(cli, tmp_path, monkeypatch):
    root = _write_dataset(tmp_path / "toy-mnist")
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    r = cli(
        "groundtruth",
        "sigmoid-slope",
        "--data",
        str(root),
        "--slopes",
        "0.1,0.6,1.2",
        "--seeds",
        "2",
        "--epochs",
        "2",
        "--n-train",
        "200",
        "--n-valid",
        "100",
    )
    assert r.code == 0, r.err
    (entry,) = json.loads((data / "catalog.json").read_text())["benchmarks"]
    assert entry["name"] == "sigmoid-slope-mnist" and "--seeds 2" in entry["command"]
    assert entry["protocol"] == "sigmoid-slope" and entry["fidelities"] == [1, 2]
    runs = read_cached_runs(data / entry["file"])
    assert runs.metrics["valid_acc"].shape == (3, 2, 2)
    assert runs.provenance["dataset"] == "mnist" and runs.generator["config"]["epochs"] == 2
    assert runs.provenance["dataset_files"]["train_images"]["sha256"]
    oracle = CachedRunsOracle.from_file(data / entry["file"])
    assert oracle.query([[0.6]], fidelity=2).cost[0] > 0
    listed = cli("benchmarks", "list")
    assert "sigmoid-slope-mnist" in listed.out


def test_cli_without_data_says_how_to_get_it(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "SEARCH_PATHS", (str(tmp_path / "nowhere"),))
    r = cli("groundtruth", "sigmoid-slope", "--epochs", "1")
    assert r.code == 2 and "apt-get install dataset-fashion-mnist" in r.err


def test_cuda_requested_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    with pytest.raises(ConfigError, match="no CUDA device"):
        generate(_config(), ds, tmp_path / "x.h5", device="cuda")


def test_groundtruth_curve_figure(cli, tmp_path, data_dir):
    out = tmp_path / "reports"
    r = cli("figures", "groundtruth-curve", "slopes-test", "--out", str(out))
    assert r.code == 0, r.err
    png, md = out / "slopes-test.png", out / "slopes-test.md"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = md.read_text()
    assert "Regenerate: `spdbench figures groundtruth-curve slopes-test" in text
    # the synthetic ground truth peaks near 0.23; the reported peak must be a recorded slope near it
    peak = float(text.split("Peak: **")[1].split("**")[0])
    assert 0.1 <= peak <= 0.5


class _Planted:
    """A pickle that runs code when unpickled: writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_checkpoint_runs_no_code(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    out = tmp_path / "x.h5"
    marker = tmp_path / "pwned"
    torch.save(
        {"config_hash": _config().hash(), "payload": _Planted(marker)}, out.with_name("x.h5.ckpt")
    )
    with pytest.raises(DataFileError, match="not a plain checkpoint"):
        generate(_config(), ds, out, device="cpu")
    assert not marker.exists()
